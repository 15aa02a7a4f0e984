//! Live viewers: Server-Sent Events that keep an open dashboard current and close the moment
//! its share link stops working.
//!
//! - **Refreshers** ([`refresher`]): one task per (dashboard revision, view, row-level rules,
//!   widget) that anyone on this instance is watching. It runs the dashboard through the
//!   [`Runner`](crate::dashboards::Runner) at the dashboard's refresh interval — the result
//!   cache and its single flight make that one warehouse query per widget per interval,
//!   however many viewers listen — and publishes a [`Snapshot`] on a `watch` channel. Each
//!   stream diffs snapshots against what its page already shows (the page sends its widgets'
//!   data hashes when it connects), so only widgets whose data changed travel, and a
//!   reconnect resumes exactly where the page is. The task ends when its last viewer leaves.
//! - **Link guards** ([`guard`]): one task per share link being watched. It re-reads the link
//!   when a change is announced for it or its workspace, checks the expiry against the
//!   injected clock every second, and re-reads the link every `live.recheck_seconds` anyway
//!   (the safety net for a lost notification). When the link stops opening it tells every
//!   stream of the link why (`disabled`, `expired`, `rotated`, `deleted`, `password`,
//!   `suspended`); when its settings change it asks the pages to reload.
//! - **Changes** reach the guards through an in-process broadcast, and through the store's
//!   change feed (PostgreSQL `LISTEN/NOTIFY`) from every other instance on the database: see
//!   [`LiveHub::publish`] and [`LiveHub::run_feed`].
//! - **Streams** ([`stream`]): the SSE response; the owner's dashboard page and the outsider
//!   router both build theirs here.

pub mod guard;
pub mod refresher;
pub mod stream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use vitrine_core::id::WorkspaceId;

pub use guard::LinkState;
pub use refresher::{Snapshot, Target};
pub use stream::{LinkWatch, LiveStreamParams, live_response, revoked_response};

use crate::state::AppState;

/// What changed, as the guards hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubChange {
    /// One share link (by id).
    Link(String),
    /// A workspace (suspension, policy).
    Workspace(WorkspaceId),
    /// Anything: a notification may have been missed.
    All,
}

impl HubChange {
    fn payload(&self) -> String {
        match self {
            HubChange::Link(id) => format!("link:{id}"),
            HubChange::Workspace(id) => format!("workspace:{id}"),
            HubChange::All => "all".to_owned(),
        }
    }

    fn parse(payload: &str) -> Option<HubChange> {
        if let Some(id) = payload.strip_prefix("link:") {
            return Some(HubChange::Link(id.to_owned()));
        }
        if let Some(id) = payload.strip_prefix("workspace:") {
            return id.parse().ok().map(HubChange::Workspace);
        }
        (payload == "all").then_some(HubChange::All)
    }
}

/// The limits of live streams.
#[derive(Debug, Clone, Copy)]
pub struct LiveLimits {
    /// Every link guard re-reads its link this often even without a notification.
    pub recheck: Duration,
    /// A comment line keeps idle streams open through proxies this often.
    pub keepalive: Duration,
    /// At most this many open streams on this instance; past it, pages poll instead.
    pub max_streams: usize,
}

impl Default for LiveLimits {
    fn default() -> Self {
        Self {
            recheck: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            max_streams: 10_000,
        }
    }
}

/// The live-update hub of one instance: refreshers, link guards, the change bus and the count
/// of open streams. One per server, in [`AppState`].
pub struct LiveHub {
    limits: LiveLimits,
    refreshers: Mutex<HashMap<String, watch::Sender<Arc<Snapshot>>>>,
    guards: Mutex<HashMap<String, watch::Sender<LinkState>>>,
    changes: broadcast::Sender<HubChange>,
    poke: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
    open_streams: AtomicI64,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub")
            .field("limits", &self.limits)
            .field("open_streams", &self.open_streams())
            .field("refreshers", &self.refreshers())
            .field("guards", &lock(&self.guards).len())
            .finish()
    }
}

impl LiveHub {
    /// A hub with these limits.
    pub fn new(limits: LiveLimits) -> Self {
        Self {
            limits,
            refreshers: Mutex::new(HashMap::new()),
            guards: Mutex::new(HashMap::new()),
            changes: broadcast::channel(1024).0,
            poke: watch::channel(0).0,
            shutdown: watch::channel(false).0,
            open_streams: AtomicI64::new(0),
        }
    }

    /// Its limits.
    pub fn limits(&self) -> LiveLimits {
        self.limits
    }

    /// Streams open on this instance now.
    pub fn open_streams(&self) -> i64 {
        self.open_streams.load(Ordering::SeqCst)
    }

    /// Refresher tasks running now.
    pub fn refreshers(&self) -> usize {
        lock(&self.refreshers).len()
    }

    /// Wakes every refresher now instead of at its next interval (tests; an owner's "refresh
    /// now"). The result cache still decides whether the warehouse is asked.
    pub fn refresh_now(&self) {
        self.poke.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Ends every open stream (graceful shutdown: the pages reconnect, to another instance).
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Announces a change to this instance's guards and, through the store's change feed, to
    /// every other instance on the database. A failed notification is logged, not returned:
    /// the owner's action has happened, and the guards' periodic re-check is the safety net.
    pub async fn publish(&self, state: &AppState, change: HubChange) {
        let _ = self.changes.send(change.clone());
        if let Err(error) = state.store.publish_change(&change.payload()).await {
            tracing::warn!(%error, "could not notify other instances of a change");
        }
    }

    /// Forwards the store's change feed (other instances' changes) to this instance's guards
    /// until the hub shuts down. Returns at once when the store has no feed (SQLite).
    pub async fn run_feed(self: Arc<Self>, store: Arc<dyn vitrine_store::Store>) {
        let mut shutdown = self.shutdown.subscribe();
        let mut listener = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let current = match &mut listener {
                Some(l) => l,
                None => match store.listen_changes().await {
                    Ok(Some(l)) => {
                        // Anything may have happened while nobody listened.
                        let _ = self.changes.send(HubChange::All);
                        listener.insert(l)
                    }
                    Ok(None) => return,
                    Err(error) => {
                        tracing::warn!(%error, "cannot listen to the change feed; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(2)) => {}
                            _ = shutdown.changed() => {}
                        }
                        continue;
                    }
                },
            };
            tokio::select! {
                received = current.recv() => match received {
                    Ok(vitrine_store::Change::Payload(payload)) => {
                        if let Some(change) = HubChange::parse(&payload) {
                            let _ = self.changes.send(change);
                        }
                    }
                    Ok(vitrine_store::Change::Resync) => {
                        let _ = self.changes.send(HubChange::All);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "the change feed failed; reconnecting");
                        listener = None;
                    }
                },
                _ = shutdown.changed() => return,
            }
        }
    }

    fn subscribe_changes(&self) -> broadcast::Receiver<HubChange> {
        self.changes.subscribe()
    }

    fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    fn stream_opened(self: &Arc<Self>) -> Option<OpenStream> {
        let now = self.open_streams.fetch_add(1, Ordering::SeqCst) + 1;
        let open = OpenStream { hub: self.clone() };
        (usize::try_from(now).unwrap_or(0) <= self.limits.max_streams).then_some(open)
    }
}

/// Counts one open stream while it lives.
struct OpenStream {
    hub: Arc<LiveHub>,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.hub.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_travel_as_payloads_and_back() {
        for change in [
            HubChange::Link("AbC-_9".into()),
            HubChange::Workspace(WorkspaceId(7)),
            HubChange::All,
        ] {
            assert_eq!(HubChange::parse(&change.payload()), Some(change));
        }
        assert_eq!(HubChange::parse("workspace:x"), None);
        assert_eq!(HubChange::parse("drop table"), None);
    }
}
