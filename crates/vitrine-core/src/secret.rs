//! Secrets as types: their `Debug` never shows the value, and the only way to store one is
//! through its [`SecretToken::digest`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Fills `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::fill(&mut bytes);
    bytes
}

/// `N` random bytes as URL-safe base64 without padding.
pub fn random_token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// Lower-case hex SHA-256 of `input`. Used to store high-entropy secrets (session tokens,
/// API keys): they cannot be brute-forced, so a fast hash is the right tool, and it lets the
/// store look the row up by digest.
pub fn sha256_hex(input: &[u8]) -> String {
    let digest = Sha256::digest(input);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// A high-entropy bearer secret (a session cookie value, an API key, a CSRF token).
///
/// `Debug` and `Display` are redacted; read the value only with [`SecretToken::expose`] where
/// it must leave the process (a `Set-Cookie` header, the one-time display of an API key).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// A new random token of 32 bytes of entropy, with an optional visible prefix.
    pub fn generate(prefix: &str) -> Self {
        Self(format!("{prefix}{}", random_token::<32>()))
    }

    /// Wraps a value received from a client.
    pub fn from_client(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call sites are few and deliberate.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps instead of the secret.
    pub fn digest(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    /// Constant-time equality with another secret.
    pub fn ct_eq(&self, other: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        self.0.len() == other.len() && bool::from(self.0.as_bytes().ct_eq(other.as_bytes()))
    }
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

/// A password typed by a person; redacted in `Debug`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password as received (for verification; no policy is applied).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The password's bytes, for the hasher.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The first 16 bytes of HMAC-SHA256(`key`, length-prefixed `parts`), as lower-case hex: a
/// keyed hash that cannot be recomputed, nor linked to another key's, once `key` is gone
/// (unique-visitor counting hashes a client with a daily key that is then discarded).
pub fn keyed_hash_hex(key: &[u8], parts: &[&[u8]]) -> String {
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(32);
    for byte in &tag[..16] {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_hash_depends_on_its_key_and_cannot_be_shifted_between_parts() {
        let a = keyed_hash_hex(b"day-1", &[b"client", b"desktop"]);
        assert_eq!(a.len(), 32);
        assert_eq!(a, keyed_hash_hex(b"day-1", &[b"client", b"desktop"]));
        assert_ne!(a, keyed_hash_hex(b"day-2", &[b"client", b"desktop"]));
        assert_ne!(a, keyed_hash_hex(b"day-1", &[b"clientd", b"esktop"]));
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let token = SecretToken::generate("vtk_");
        let shown = format!("{token:?}");
        assert!(!shown.contains(token.expose()));
        assert!(shown.contains("redacted"));
        assert!(!format!("{:?}", Password::new("hunter2hunter2")).contains("hunter2"));
    }

    #[test]
    fn generated_tokens_are_distinct_and_prefixed() {
        let a = SecretToken::generate("p_");
        let b = SecretToken::generate("p_");
        assert_ne!(a, b);
        assert!(a.expose().starts_with("p_"));
        assert_eq!(a.expose().len(), 2 + 43);
    }

    #[test]
    fn digests_are_stable_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let t = SecretToken::from_client("x");
        assert!(t.ct_eq("x"));
        assert!(!t.ct_eq("y"));
        assert!(!t.ct_eq("xx"));
    }
}
