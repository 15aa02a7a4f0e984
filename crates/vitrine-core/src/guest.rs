//! Guest tokens: what a host application's backend mints to embed one dashboard.
//!
//! DESIGN §5b, as pure functions. A guest token names a **grant** kept in the store (the
//! embedding, the row-level rules, the host's user, the expiry, the API key that minted it);
//! it carries no claim of its own. Its text is `gst_` + base64url(grant id ‖ tag), 47
//! characters, with tag = HMAC-SHA256(the server key's `guest-grant` sub-key, grant id)
//! truncated to 16 bytes: a leaked database reveals no working token, a forged one is refused
//! after a constant-time comparison, and everything that decides (expiry, revocation, the
//! minting key still being live) is read from the store on every request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Duration, OffsetDateTime};

use crate::keys::SubKey;

/// The token prefix.
pub const TOKEN_PREFIX: &str = "gst_";
/// Bytes of the random grant id.
pub const GRANT_ID_BYTES: usize = 16;
const TAG_BYTES: usize = 16;
/// A token's lifetime when the request does not ask for one.
pub const DEFAULT_LIFETIME: Duration = Duration::seconds(300);
/// The shortest lifetime a token may ask for.
pub const MIN_LIFETIME: Duration = Duration::seconds(5);

/// A grant's random id (not secret on its own).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrantId(pub [u8; GRANT_ID_BYTES]);

impl GrantId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(crate::secret::random_bytes::<GRANT_ID_BYTES>())
    }

    /// 22 characters of base64url (API paths, the store).
    pub fn to_text(self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses [`GrantId::to_text`].
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 22 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

impl std::fmt::Debug for GrantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrantId({})", self.to_text())
    }
}

/// A guest token. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct GuestToken(String);

impl GuestToken {
    /// The token's text, for the minting response only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for GuestToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuestToken(<redacted>)")
    }
}

/// The token of grant `id`.
pub fn issue_token(key: &SubKey, id: GrantId) -> GuestToken {
    let tag = key.sign(&[b"guest-grant", &id.0]);
    let mut bytes = Vec::with_capacity(GRANT_ID_BYTES + TAG_BYTES);
    bytes.extend_from_slice(&id.0);
    bytes.extend_from_slice(&tag[..TAG_BYTES]);
    GuestToken(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The grant a well-formed, correctly tagged token names; `None` for anything else (checked
/// in constant time, before anything is looked up).
pub fn verify_token(key: &SubKey, text: &str) -> Option<GrantId> {
    let body = text.strip_prefix(TOKEN_PREFIX)?;
    if body.len() != 43 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(body).ok()?;
    if bytes.len() != GRANT_ID_BYTES + TAG_BYTES {
        return None;
    }
    let id = GrantId(bytes[..GRANT_ID_BYTES].try_into().ok()?);
    key.verify(&[b"guest-grant", &id.0], &bytes[GRANT_ID_BYTES..])
        .then_some(id)
}

/// Why a grant does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRefusal {
    /// Past its expiry.
    Expired,
    /// Revoked one by one or with its embedding's other grants.
    Revoked,
    /// The API key that minted it was revoked or removed.
    KeyRevoked,
    /// Its embedding is disabled.
    EmbeddingDisabled,
}

impl GrantRefusal {
    /// The access-event outcome.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantRefusal::Expired => "expired",
            GrantRefusal::Revoked => "revoked",
            GrantRefusal::KeyRevoked => "key_revoked",
            GrantRefusal::EmbeddingDisabled => "disabled",
        }
    }
}

/// What decides whether a grant opens now.
#[derive(Debug, Clone, Copy)]
pub struct GrantStatus {
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// The minting key is still live (or it was minted by a member's session).
    pub key_live: bool,
    /// Its embedding is enabled.
    pub embedding_enabled: bool,
}

impl GrantStatus {
    /// `Ok` when the grant opens at `now`; fails closed on the expiry instant itself.
    pub fn accessible(&self, now: OffsetDateTime) -> Result<(), GrantRefusal> {
        if self.revoked_at.is_some() {
            Err(GrantRefusal::Revoked)
        } else if !self.key_live {
            Err(GrantRefusal::KeyRevoked)
        } else if !self.embedding_enabled {
            Err(GrantRefusal::EmbeddingDisabled)
        } else if now >= self.expires_at {
            Err(GrantRefusal::Expired)
        } else {
            Ok(())
        }
    }
}

/// A fresh embed id: a random UUID (version 4), unrelated to the dashboard's id.
pub fn new_embed_id() -> String {
    let mut b = crate::secret::random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Whether `text` is shaped like [`new_embed_id`] (checked before any lookup).
pub fn is_embed_id(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServerKey;

    fn key() -> SubKey {
        ServerKey::generate().derive("guest-grant")
    }

    #[test]
    fn a_token_names_its_grant_and_is_short() {
        let key = key();
        let id = GrantId::generate();
        let token = issue_token(&key, id);
        assert!(token.expose().len() < 200);
        assert_eq!(token.expose().len(), 47);
        assert_eq!(verify_token(&key, token.expose()), Some(id));
        assert!(!format!("{token:?}").contains(token.expose()));
        assert_eq!(GrantId::parse(&id.to_text()), Some(id));
    }

    #[test]
    fn a_forged_or_foreign_token_is_refused() {
        let key = key();
        let token = issue_token(&key, GrantId::generate());
        let text = token.expose();
        assert!(verify_token(&ServerKey::generate().derive("guest-grant"), text).is_none());
        for i in 4..text.len() {
            let mut chars: Vec<char> = text.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let forged: String = chars.into_iter().collect();
            assert!(verify_token(&key, &forged).is_none(), "position {i}");
        }
        for junk in ["", "gst_", "shr_AAAA", &format!("{text}A")] {
            assert!(verify_token(&key, junk).is_none());
        }
    }

    #[test]
    fn a_grant_fails_closed_at_expiry_revocation_and_with_its_key() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let live = GrantStatus {
            expires_at: now + Duration::seconds(1),
            revoked_at: None,
            key_live: true,
            embedding_enabled: true,
        };
        assert!(live.accessible(now).is_ok());
        assert_eq!(
            live.accessible(now + Duration::seconds(1)),
            Err(GrantRefusal::Expired)
        );
        let revoked = GrantStatus {
            revoked_at: Some(now),
            ..live
        };
        assert_eq!(revoked.accessible(now), Err(GrantRefusal::Revoked));
        let keyless = GrantStatus {
            key_live: false,
            ..live
        };
        assert_eq!(keyless.accessible(now), Err(GrantRefusal::KeyRevoked));
    }

    #[test]
    fn embed_ids_are_random_uuids() {
        let a = new_embed_id();
        assert!(is_embed_id(&a), "{a}");
        assert_ne!(a, new_embed_id());
        assert!(!is_embed_id("42") && !is_embed_id(&a.to_uppercase()));
    }
}
