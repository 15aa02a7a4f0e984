//! Invitation accept tokens.
//!
//! Like share-link tokens, an invitation row stores **no secret**: the accept token is
//! `inv_` + base64url(invitation id ‖ tag), with tag = HMAC-SHA256(the server key's
//! `invitation` sub-key, "invitation" ‖ id ‖ generation ‖ address) truncated to 16 bytes. The
//! token is bound to the invited address (another address's invitation with the same id never
//! matches), a resend bumps the generation (the old token dies), and a forged token is refused
//! after a constant-time comparison without trusting anything it says. Whether the invitation
//! is still pending (not accepted, revoked or expired) is the store's to say.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::keys::SubKey;

/// The token prefix.
pub const TOKEN_PREFIX: &str = "inv_";
const ID_BYTES: usize = 8;
const TAG_BYTES: usize = 16;

/// An accept token. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken(String);

impl InvitationToken {
    /// The token's text, for the accept URL.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InvitationToken(<redacted>)")
    }
}

fn tag(key: &SubKey, id: i64, generation: i64, email: &str) -> [u8; 32] {
    key.sign(&[
        b"invitation",
        &id.to_be_bytes(),
        &generation.to_be_bytes(),
        email.as_bytes(),
    ])
}

/// The token of invitation `id` at `generation`, for `email`.
pub fn issue_token(key: &SubKey, id: i64, generation: i64, email: &str) -> InvitationToken {
    let mut bytes = Vec::with_capacity(ID_BYTES + TAG_BYTES);
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(&tag(key, id, generation, email)[..TAG_BYTES]);
    InvitationToken(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// A token split into the invitation id it claims and its tag; nothing is trusted yet.
#[derive(Debug, Clone, Copy)]
pub struct ClaimedInvitation {
    /// The invitation it claims to be.
    pub id: i64,
    tag: [u8; TAG_BYTES],
}

/// Splits a token; `None` when it is not one.
pub fn parse_token(text: &str) -> Option<ClaimedInvitation> {
    let body = text.strip_prefix(TOKEN_PREFIX)?;
    if body.len() != 32 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(body).ok()?;
    if bytes.len() != ID_BYTES + TAG_BYTES {
        return None;
    }
    let id = i64::from_be_bytes(bytes[..ID_BYTES].try_into().ok()?);
    let tag = bytes[ID_BYTES..].try_into().ok()?;
    Some(ClaimedInvitation { id, tag })
}

impl ClaimedInvitation {
    /// Whether the tag is right for the invitation's current generation and address
    /// (constant time).
    pub fn verify(&self, key: &SubKey, generation: i64, email: &str) -> bool {
        key.verify(
            &[
                b"invitation",
                &self.id.to_be_bytes(),
                &generation.to_be_bytes(),
                email.as_bytes(),
            ],
            &self.tag,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServerKey;

    #[test]
    fn a_token_verifies_for_its_generation_and_address_only() {
        let key = ServerKey::generate().derive("invitation");
        let token = issue_token(&key, 42, 0, "a@x.test");
        assert!(token.expose().starts_with("inv_"));
        let claimed = parse_token(token.expose()).unwrap();
        assert_eq!(claimed.id, 42);
        assert!(claimed.verify(&key, 0, "a@x.test"));
        assert!(!claimed.verify(&key, 1, "a@x.test"), "a resend kills it");
        assert!(!claimed.verify(&key, 0, "b@x.test"), "bound to the address");
        let other = ServerKey::generate().derive("invitation");
        assert!(!claimed.verify(&other, 0, "a@x.test"));
    }

    #[test]
    fn garbage_is_not_a_token() {
        for text in [
            "",
            "inv_",
            "inv_abc",
            "shr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "inv_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(parse_token(text).is_none(), "{text}");
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let key = ServerKey::generate().derive("invitation");
        let token = issue_token(&key, 1, 0, "a@x.test");
        assert!(!format!("{token:?}").contains("inv_"));
    }
}
