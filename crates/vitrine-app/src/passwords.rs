//! Argon2id password hashing under a concurrency cap.
//!
//! Hashing is deliberately expensive (19 MiB, two passes: OWASP's Argon2id baseline), so it
//! runs on the blocking pool behind a semaphore: a flood of login attempts queues instead of
//! occupying every core. Unknown accounts are verified against a dummy hash so response
//! time does not reveal whether an e-mail address has an account.

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;
use vitrine_core::secret::Password;

/// Hashes and verifies passwords.
#[derive(Debug)]
pub struct PasswordHasher {
    permits: Semaphore,
    dummy_hash: String,
}

impl PasswordHasher {
    /// A hasher running at most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Self {
        let dummy_hash = hash_now(&Password::new("vitrine-dummy-password"))
            .expect("hashing a constant succeeds");
        Self {
            permits: Semaphore::new(concurrency.max(1)),
            dummy_hash,
        }
    }

    /// The PHC string for `password`.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `phc`; with `None`, spends the same time and says no.
    pub async fn verify(&self, password: &Password, phc: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let password = password.clone();
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.dummy_hash).to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), phc.as_str())
                .is_ok()
        })
        .await?;
        Ok(known && matches)
    }
}

fn hash_now(password: &Password) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let hasher = PasswordHasher::new(1);
        let password = Password::new("correct horse battery");
        let a = hasher.hash(&password).await.unwrap();
        let b = hasher.hash(&password).await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(!a.contains("correct horse"));
        assert!(hasher.verify(&password, Some(&a)).await.unwrap());
        assert!(
            !hasher
                .verify(&Password::new("wrong"), Some(&a))
                .await
                .unwrap()
        );
        assert!(!hasher.verify(&password, None).await.unwrap());
        assert!(
            !hasher
                .verify(&password, Some("not a phc string"))
                .await
                .unwrap()
        );
    }
}
