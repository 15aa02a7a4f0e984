//! Password attempts under a throttle that holds under concurrency and across instances.
//!
//! An attempt — a member's log-in, an outsider's unlock — is **reserved in the store before
//! its password is hashed** ([`vitrine_store::AttemptStore::reserve_attempt`]): in one
//! serialised transaction the store counts the unsuccessful attempts of every scope (client
//! address, account, link) in the window and records a pending one only if each is under its
//! limit. Thirty simultaneous wrong passwords from one address therefore cannot all pass a
//! limit of five: the sixth reservation already sees five pending attempts. The attempt is then
//! marked failed or succeeded ([`attempt`] does the whole dance), or removed when it was never
//! evaluated (the hashing queue was full).
//!
//! Client addresses are counted by [`client_scope`]: a keyed hash of the address, or of the
//! /64 prefix of an IPv6 address ([`vitrine_core::net::throttle_prefix`]), so one subscriber
//! cannot multiply its guesses by walking its own prefix. The store keeps only keyed hashes.

use std::future::Future;
use std::net::IpAddr;

use base64::Engine as _;
use time::OffsetDateTime;
use vitrine_store::{AttemptLimit, AttemptOutcome, Reservation};

use crate::{App, Error};

/// What an attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt<T> {
    /// A limit is reached: not evaluated; a retry may be evaluated after this many seconds.
    Throttled {
        /// Seconds until every refusing limit allows an attempt again.
        retry_after: u64,
    },
    /// Evaluated: the password is wrong.
    Wrong,
    /// Evaluated: the password is right, and what the check found.
    Right(T),
}

/// Reserves an attempt under `limits`, runs `check` (the password check: `Some` when the
/// password is right) only when it was granted, and records the outcome. An error from `check`
/// (a full hashing queue, a store failure) removes the reservation — the attempt was never
/// evaluated — and is returned.
pub async fn attempt<T, F, Fut>(
    app: &App,
    limits: &[AttemptLimit],
    check: F,
) -> Result<Attempt<T>, Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<T>, Error>>,
{
    let now = app.now();
    let id = match app.store.reserve_attempt(limits, now).await? {
        Reservation::Granted(id) => id,
        Reservation::Refused { scope, retry_at } => {
            tracing::debug!(%scope, %retry_at, "password attempt throttled");
            return Ok(Attempt::Throttled {
                retry_after: seconds_until(now, retry_at),
            });
        }
    };
    match check().await {
        Ok(Some(found)) => {
            app.store
                .finish_attempt(id, AttemptOutcome::Succeeded)
                .await?;
            Ok(Attempt::Right(found))
        }
        Ok(None) => {
            app.store.finish_attempt(id, AttemptOutcome::Failed).await?;
            Ok(Attempt::Wrong)
        }
        Err(error) => {
            if let Err(cleanup) = app
                .store
                .finish_attempt(id, AttemptOutcome::Abandoned)
                .await
            {
                tracing::warn!(%cleanup, "could not remove an attempt that was never evaluated");
            }
            Err(error)
        }
    }
}

/// Charges one use of something limited that is not a password — a one-time code sent — to
/// `limits`: reserved like an attempt and recorded at once as one that keeps counting for its
/// window. `Err` holds the seconds until a limit allows another.
pub async fn charge(app: &App, limits: &[AttemptLimit]) -> Result<Result<(), u64>, Error> {
    let now = app.now();
    match app.store.reserve_attempt(limits, now).await? {
        Reservation::Granted(id) => {
            app.store.finish_attempt(id, AttemptOutcome::Failed).await?;
            Ok(Ok(()))
        }
        Reservation::Refused { retry_at, .. } => Ok(Err(seconds_until(now, retry_at))),
    }
}

/// Whole seconds from `now` until `at`, rounded up, at least 1 (a `Retry-After` value).
pub fn seconds_until(now: OffsetDateTime, at: OffsetDateTime) -> u64 {
    let millis = (at - now).whole_milliseconds().max(0);
    u64::try_from(millis.div_euclid(1000) + i128::from(millis % 1000 != 0))
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The name a throttle counts a client address under: a keyed hash of the IPv4 address or of
/// the IPv6 /64 (distinct from [`crate::accounts::client_key`], which keys the exact address
/// for the access log).
pub fn client_scope(app: &App, ip: Option<IpAddr>) -> String {
    let text = ip.map_or_else(
        || "unknown".to_owned(),
        |ip| vitrine_core::net::throttle_prefix(ip).to_string(),
    );
    keyed(app, "throttle-client", &text)
}

/// A keyed hash of `text` for the purpose `label`, as throttles store it.
pub fn keyed(app: &App, label: &str, text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        &app.keys
            .client_address
            .sign(&[label.as_bytes(), text.as_bytes()])[..16],
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let now = datetime!(2026-11-23 12:00:00 UTC);
        assert_eq!(seconds_until(now, now + time::Duration::minutes(5)), 300);
        assert_eq!(
            seconds_until(now, now + time::Duration::milliseconds(1_001)),
            2
        );
        assert_eq!(
            seconds_until(now, now + time::Duration::milliseconds(10)),
            1
        );
        assert_eq!(seconds_until(now, now - time::Duration::seconds(3)), 1);
    }
}
