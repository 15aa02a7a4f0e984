//! Keeping what Vitrine records to size: the access log is kept `access.retention_days`
//! (default 400), identified links' one-time codes until they expire, the password throttles'
//! attempts a day (longer than any window they count
//! over), expired sessions not at all, a finished day's unique-visitor key and hashes not at all
//! (see `vitrine_store::AnalyticsStore`); the daily analytics rollups for good.
//!
//! [`spawn`] runs [`prune`] at once and then every [`PRUNE_EVERY`] in the background (`vitrine
//! serve` and `vitrine demo` start it with the server). What is old is decided by the injected
//! clock, so tests move time instead of waiting for it. Several instances on one database may
//! all prune: deleting what is already gone is harmless.

use std::time::Duration;

use tokio::sync::watch;

use crate::{App, Error};

/// How often the background task prunes.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Attempts are kept at least this long: longer than any throttle window they are counted in.
const ATTEMPTS_KEPT: time::Duration = time::Duration::days(1);

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Access events older than the retention period.
    pub access_events: u64,
    /// Password attempts older than a day.
    pub attempts: u64,
    /// Expired sessions.
    pub sessions: u64,
    /// Unique-visitor day keys discarded (a finished day's, even if no one visited since).
    pub visitor_keys: u64,
    /// Identified links' one-time codes past their expiry.
    pub view_codes: u64,
}

/// Deletes, as of the injected clock's now, access events older than `access.retention_days`,
/// attempts older than a day (or the log-in window, if longer), expired sessions, and the
/// unique-visitor keys and hash sets of finished days. The analytics rollups are kept for good.
pub async fn prune(app: &App) -> Result<Pruned, Error> {
    let now = app.now();
    let retention = time::Duration::days(i64::from(app.config.access.retention_days));
    let window = time::Duration::minutes(i64::from(app.config.auth.failure_window_minutes));
    Ok(Pruned {
        access_events: app.store.prune_access_events(now - retention).await?,
        attempts: app
            .store
            .purge_attempts(now - ATTEMPTS_KEPT.max(window))
            .await?,
        sessions: app.store.purge_expired_sessions(now).await?,
        visitor_keys: app
            .store
            .discard_visitor_days(vitrine_store::utc_day(now))
            .await?,
        view_codes: app.store.purge_view_codes(now).await?,
    })
}

/// The background pruning task; it stops when this is dropped.
#[derive(Debug)]
pub struct Pruner {
    task: tokio::task::JoinHandle<()>,
    passes: watch::Receiver<u64>,
}

impl Pruner {
    /// Counts the finished passes (successful or not); changes after each.
    pub fn passes(&self) -> watch::Receiver<u64> {
        self.passes.clone()
    }
}

impl Drop for Pruner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts pruning now and then every `every`. A failed pass (the store briefly unreachable)
/// is logged and the next one tries again.
pub fn spawn(app: App, every: Duration) -> Pruner {
    let (done, passes) = watch::channel(0u64);
    let task = tokio::spawn(async move {
        loop {
            match prune(&app).await {
                Ok(pruned) if pruned != Pruned::default() => {
                    tracing::info!(
                        access_events = pruned.access_events,
                        attempts = pruned.attempts,
                        sessions = pruned.sessions,
                        visitor_keys = pruned.visitor_keys,
                        "pruned old records"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "could not prune old records"),
            }
            done.send_modify(|n| *n += 1);
            tokio::time::sleep(every).await;
        }
    });
    Pruner { task, passes }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::datetime;
    use vitrine_core::clock::ManualClock;
    use vitrine_core::keys::ServerKey;
    use vitrine_store::{AccessEvent, AttemptLimit, Reservation};

    use super::*;

    const NOW: time::OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn event(at: time::OffsetDateTime) -> AccessEvent {
        AccessEvent {
            workspace_id: None,
            link_id: Some("L".into()),
            at,
            outcome: "ok".into(),
            country: None,
            client_class: "desktop".into(),
            client: "c".into(),
            viewer: None,
        }
    }

    async fn events(app: &App) -> Vec<time::OffsetDateTime> {
        let mut at: Vec<_> = app
            .store
            .access_events("L", 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.at)
            .collect();
        at.sort();
        at
    }

    /// Waits until the task has finished `n` passes.
    async fn passes(pruner: &Pruner, n: u64) {
        let mut passes = pruner.passes();
        tokio::time::timeout(Duration::from_secs(10), passes.wait_for(|done| *done >= n))
            .await
            .expect("the pruner runs")
            .unwrap();
    }

    #[tokio::test]
    async fn the_background_task_prunes_what_the_clock_says_is_old() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vitrine.db").display());
        let store = vitrine_store::open(&url).await.unwrap();
        let clock = Arc::new(ManualClock::new(NOW));
        let app = App::new(
            store,
            clock.clone(),
            crate::Config::default(),
            ServerKey::generate(),
        );
        let days = |n| NOW - time::Duration::days(n);
        for at in [days(401), days(399), days(1), NOW] {
            app.store.record_access(&event(at)).await.unwrap();
        }
        let limit = AttemptLimit {
            scope: "s".into(),
            max: 10,
            window: time::Duration::minutes(15),
            pace: None,
        };
        for at in [days(2), NOW] {
            let granted = app
                .store
                .reserve_attempt(std::slice::from_ref(&limit), at)
                .await
                .unwrap();
            assert!(matches!(granted, Reservation::Granted(_)));
        }

        // The first pass runs at once.
        let pruner = spawn(app.clone(), Duration::from_millis(20));
        passes(&pruner, 1).await;
        assert_eq!(
            events(&app).await,
            [days(399), days(1), NOW],
            "400 days kept"
        );
        assert_eq!(app.store.count_attempts("s", days(3)).await.unwrap(), 1);

        // Two days later by the injected clock, the next passes take what has aged out.
        clock.advance(time::Duration::days(2));
        let seen = *pruner.passes().borrow();
        passes(&pruner, seen + 2).await;
        assert_eq!(events(&app).await, [days(1), NOW]);
        assert_eq!(app.store.count_attempts("s", days(3)).await.unwrap(), 0);
        drop(pruner);
        let totals = app.store.access_totals("L").await.unwrap().unwrap();
        assert_eq!(totals.views, 4, "the rollups outlive the raw events");
        assert_eq!(totals.first_view_at, Some(days(401)));

        assert_eq!(
            prune(&app).await.unwrap(),
            Pruned::default(),
            "nothing more to delete"
        );
    }
}
