//! The server key and what is derived from it.
//!
//! One 32-byte secret per installation (shared by every instance) signs share-link tokens,
//! unlock cookies and CSRF cookies, and derives the key that encrypts data-source credentials.
//! Each purpose gets its own sub-key, `HMAC-SHA256(server key, "vitrine/" ‖ purpose)`, so a
//! value signed for one purpose is never valid for another.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Why a configured server key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ServerKeyError {
    /// Not URL-safe base64.
    #[error("the server key is not URL-safe base64 (generate one with `vitrine gen-key`)")]
    Encoding,
    /// Decoded to something other than 32 bytes.
    #[error("the server key must be 32 bytes (43 base64 characters), found {0} bytes")]
    Length(usize),
}

/// The installation's root secret. `Debug` is redacted.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl ServerKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(crate::secret::random_bytes::<32>())
    }

    /// Parses the configured text form: 32 bytes as URL-safe base64 without padding
    /// (surrounding whitespace, as in a key file with a trailing newline, is ignored).
    pub fn parse(text: &str) -> Result<Self, ServerKeyError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| ServerKeyError::Encoding)?;
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| ServerKeyError::Length(bytes.len()))?;
        Ok(Self(array))
    }

    /// The text form, for writing the key file. Handle with care.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The sub-key for one purpose.
    pub fn derive(&self, purpose: &str) -> SubKey {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"vitrine/");
        mac.update(purpose.as_bytes());
        SubKey(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

/// A key for one purpose, derived from the [`ServerKey`].
#[derive(Clone)]
pub struct SubKey([u8; 32]);

impl SubKey {
    /// HMAC-SHA256 of the concatenated parts, each length-prefixed so that
    /// `("ab", "c")` and `("a", "bc")` differ.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.mac(parts).finalize().into_bytes().into()
    }

    /// Constant-time check of a tag (any prefix length of at least 16 bytes).
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        if tag.len() < 16 || tag.len() > 32 {
            return false;
        }
        self.mac(parts).verify_truncated_left(tag).is_ok()
    }

    /// The raw key bytes, for a cipher that needs them.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }
}

impl std::fmt::Debug for SubKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_its_text_form() {
        let key = ServerKey::generate();
        let again = ServerKey::parse(&format!("{}\n", key.to_text())).unwrap();
        assert_eq!(key.derive("x").bytes(), again.derive("x").bytes());
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert_eq!(
            ServerKey::parse("not base64!").unwrap_err(),
            ServerKeyError::Encoding
        );
        assert_eq!(
            ServerKey::parse("AAAA").unwrap_err(),
            ServerKeyError::Length(3)
        );
    }

    #[test]
    fn sub_keys_for_different_purposes_differ() {
        let key = ServerKey::generate();
        assert_ne!(key.derive("a").bytes(), key.derive("b").bytes());
        let tag = key.derive("a").sign(&[b"msg"]);
        assert!(key.derive("a").verify(&[b"msg"], &tag[..16]));
        assert!(!key.derive("b").verify(&[b"msg"], &tag[..16]));
        assert!(!key.derive("a").verify(&[b"ms", b"g"], &tag));
        assert!(!key.derive("a").verify(&[b"msg"], &tag[..8]));
    }

    #[test]
    fn the_key_is_redacted_in_debug() {
        let key = ServerKey::generate();
        assert!(!format!("{key:?}").contains(&key.to_text()));
    }
}
