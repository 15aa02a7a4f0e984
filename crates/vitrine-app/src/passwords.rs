//! Argon2id password hashing under a concurrency cap, in two lanes, with a bounded wait.
//!
//! Hashing is deliberately expensive (19 MiB, two passes: OWASP's Argon2id baseline), so it
//! runs on the blocking pool behind semaphores: a flood of attempts cannot occupy every core.
//!
//! - **Two lanes.** Members (log-ins, password changes, new link passwords) and outsiders
//!   (share-link unlocks) have separate permits (`auth.hash_concurrency`,
//!   `auth.outsider_hash_concurrency`), so a flood of unlock posts can never delay a member's
//!   log-in.
//! - **A bounded wait.** A check waits at most `auth.hash_wait_seconds` for a permit, then is
//!   answered [`Error::Busy`] (503 with `Retry-After`) instead of queueing without end.
//! - **The permit travels with the work.** It is held by the blocking task itself, so a client
//!   that hangs up mid-hash does not free a slot while the hash still runs.
//!
//! Unknown accounts are verified against a dummy hash so response time does not reveal whether
//! an e-mail address has an account.

use std::sync::Arc;
use std::time::Duration;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use vitrine_core::secret::Password;

use crate::Error;

/// Who a password check is for: each lane has its own permits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Members: log-ins, password changes, setting a link's password.
    Members,
    /// Outsiders: share-link unlocks.
    Outsiders,
}

/// The hasher's limits.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    /// Members' hashes at once.
    pub members: usize,
    /// Outsiders' hashes at once.
    pub outsiders: usize,
    /// The longest wait for a permit before [`Error::Busy`].
    pub wait: Duration,
}

impl Default for HashLimits {
    fn default() -> Self {
        Self {
            members: 2,
            outsiders: 1,
            wait: Duration::from_secs(5),
        }
    }
}

/// Hashes and verifies passwords.
#[derive(Debug)]
pub struct PasswordHasher {
    members: Arc<Semaphore>,
    outsiders: Arc<Semaphore>,
    wait: Duration,
    dummy_hash: String,
}

impl PasswordHasher {
    /// A hasher with these limits (a lane of 0 is taken as 1).
    pub fn new(limits: HashLimits) -> Self {
        let dummy_hash = hash_now(&Password::new("vitrine-dummy-password"))
            .expect("hashing a constant succeeds");
        Self {
            members: Arc::new(Semaphore::new(limits.members.max(1))),
            outsiders: Arc::new(Semaphore::new(limits.outsiders.max(1))),
            wait: limits.wait,
            dummy_hash,
        }
    }

    /// The PHC string for `password` (members' lane).
    pub async fn hash(&self, password: &Password) -> Result<String, Error> {
        let permit = self.permit(Lane::Members).await?;
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_now(&password)
        })
        .await
        .map_err(anyhow::Error::from)?
        .map_err(Error::Internal)
    }

    /// Whether `password` matches `phc`, in the members' lane; with `None`, spends the same
    /// time and says no.
    pub async fn verify(&self, password: &Password, phc: Option<&str>) -> Result<bool, Error> {
        self.verify_in(Lane::Members, password, phc).await
    }

    /// [`PasswordHasher::verify`] in `lane`.
    pub async fn verify_in(
        &self,
        lane: Lane,
        password: &Password,
        phc: Option<&str>,
    ) -> Result<bool, Error> {
        let permit = self.permit(lane).await?;
        let password = password.clone();
        let known = phc.is_some();
        let phc = phc.unwrap_or(&self.dummy_hash).to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            Argon2::default()
                .verify_password(password.expose().as_bytes(), phc.as_str())
                .is_ok()
        })
        .await
        .map_err(anyhow::Error::from)?;
        Ok(known && matches)
    }

    /// A permit of `lane`, waited for at most the configured time.
    async fn permit(&self, lane: Lane) -> Result<OwnedSemaphorePermit, Error> {
        let permits = match lane {
            Lane::Members => &self.members,
            Lane::Outsiders => &self.outsiders,
        };
        match tokio::time::timeout(self.wait, permits.clone().acquire_owned()).await {
            Ok(permit) => permit.map_err(|e| Error::Internal(e.into())),
            Err(_) => Err(Error::Busy {
                retry_after: self.wait.as_secs().max(1),
            }),
        }
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

    fn limits(wait_ms: u64) -> HashLimits {
        HashLimits {
            members: 1,
            outsiders: 1,
            wait: Duration::from_millis(wait_ms),
        }
    }

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let hasher = PasswordHasher::new(limits(5_000));
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
        assert!(
            hasher
                .verify_in(Lane::Outsiders, &password, Some(&a))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_outsiders_lane_does_not_delay_members_and_answers_busy() {
        let hasher = PasswordHasher::new(limits(50));
        let phc = hasher
            .hash(&Password::new("correct horse battery"))
            .await
            .unwrap();
        // Every outsider permit is taken (a flood of unlock posts being hashed).
        let flood = hasher
            .outsiders
            .clone()
            .acquire_many_owned(1)
            .await
            .unwrap();
        let member = hasher
            .verify(&Password::new("correct horse battery"), Some(&phc))
            .await;
        assert!(
            member.unwrap(),
            "a member's log-in does not queue behind outsiders"
        );
        let outsider = hasher
            .verify_in(Lane::Outsiders, &Password::new("guess"), Some(&phc))
            .await;
        assert!(
            matches!(outsider, Err(Error::Busy { retry_after: 1 })),
            "a bounded wait, then busy: {outsider:?}"
        );
        drop(flood);
        assert!(
            !hasher
                .verify_in(Lane::Outsiders, &Password::new("guess"), Some(&phc))
                .await
                .unwrap()
        );
        // And the other way round.
        let members = hasher.members.clone().acquire_many_owned(1).await.unwrap();
        assert!(matches!(
            hasher.hash(&Password::new("another password")).await,
            Err(Error::Busy { .. })
        ));
        drop(members);
    }
}
