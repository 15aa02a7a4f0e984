//! Secrets at rest: data-source settings (passwords inside connection URLs) are sealed with
//! XChaCha20-Poly1305 under a key derived from the server key before they reach the store.
//!
//! The sealed form is `v1.` + base64url(24-byte random nonce ‖ ciphertext ‖ tag). A database
//! leak alone reveals no credential; a sealed value altered in the database fails to open
//! instead of connecting somewhere else. The purpose string is bound as associated data.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::keys::SubKey;

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Not something [`Sealer::seal`] produced.
    #[error("the sealed value is malformed")]
    Malformed,
    /// Wrong key, wrong purpose, or altered.
    #[error("the sealed value cannot be opened with this server key")]
    Rejected,
}

/// Seals and opens values for one purpose.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    purpose: &'static str,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

const PREFIX: &str = "v1.";

impl Sealer {
    /// A sealer using `key` (derive it from the server key for `purpose`).
    pub fn new(key: &SubKey, purpose: &'static str) -> Self {
        let cipher = XChaCha20Poly1305::new_from_slice(key.bytes()).expect("a 32-byte key");
        Self { cipher, purpose }
    }

    /// Encrypts `plaintext`.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let nonce_bytes = crate::secret::random_bytes::<24>();
        let nonce = XNonce::from(nonce_bytes);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: self.purpose.as_bytes(),
                },
            )
            .expect("encryption of an in-memory buffer succeeds");
        let mut out = Vec::with_capacity(24 + ciphertext.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts what [`Sealer::seal`] produced with the same key and purpose.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(SealError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if bytes.len() < 24 + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| SealError::Malformed)?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: self.purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ServerKey;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_purpose() {
        let key = ServerKey::generate();
        let sealer = Sealer::new(&key.derive("ds"), "ds");
        let sealed = sealer.seal(b"postgres://u:hunter2@db/x");
        assert!(sealed.starts_with("v1.") && !sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            sealer.seal(b"postgres://u:hunter2@db/x"),
            "random nonces"
        );
        assert_eq!(sealer.open(&sealed).unwrap(), b"postgres://u:hunter2@db/x");
        let other_key = Sealer::new(&ServerKey::generate().derive("ds"), "ds");
        assert_eq!(other_key.open(&sealed), Err(SealError::Rejected));
        let other_purpose = Sealer::new(&key.derive("ds"), "other");
        assert_eq!(other_purpose.open(&sealed), Err(SealError::Rejected));
    }

    #[test]
    fn an_altered_sealed_value_is_rejected() {
        let sealer = Sealer::new(&ServerKey::generate().derive("ds"), "ds");
        let sealed = sealer.seal(b"secret");
        let mut chars: Vec<char> = sealed.chars().collect();
        let last = chars.len() - 1;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        let altered: String = chars.into_iter().collect();
        assert!(sealer.open(&altered).is_err());
        assert_eq!(sealer.open("plain text"), Err(SealError::Malformed));
        assert_eq!(sealer.open("v1.AAAA"), Err(SealError::Malformed));
    }
}
