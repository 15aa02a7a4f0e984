//! One guard per watched share link: closes its streams the moment the link stops opening.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};
use vitrine_core::id::WorkspaceId;
use vitrine_store::LinkRecord;

use crate::hub::{HubChange, Joined, LinkState, LiveHub};
use crate::{App, Error};

/// How often a guard compares the link's expiry with the clock (a comparison, no I/O): well
/// inside the one second an expired link's streams have to close.
pub(crate) const EXPIRY_TICK: Duration = Duration::from_millis(250);

/// The link as the streams opened it.
#[derive(Debug, Clone)]
struct Watched {
    id: String,
    workspace_id: WorkspaceId,
    generation: i64,
    epoch: i64,
    settings: String,
    expires_at: Option<OffsetDateTime>,
}

impl Watched {
    fn of(link: &LinkRecord) -> Self {
        Self {
            id: link.id.clone(),
            workspace_id: link.workspace_id,
            generation: link.generation,
            epoch: link.epoch,
            settings: link.settings.clone(),
            expires_at: link.expires_at,
        }
    }

    /// Streams that opened the same state of the link share a guard; a stream opened after a
    /// rotation, a password change or a settings change gets a fresh one.
    fn key(&self) -> String {
        let mut h = DefaultHasher::new();
        self.settings.hash(&mut h);
        format!(
            "{}#{}#{}#{:x}",
            self.id,
            self.generation,
            self.epoch,
            h.finish()
        )
    }
}

/// Subscribes to the guard of `link` (as this request opened it), starting one when none
/// runs for that state of the link.
pub fn watch_link(app: &App, link: &LinkRecord) -> watch::Receiver<LinkState> {
    let watched = Watched::of(link);
    let key = watched.key();
    match app.live.guard_channel(&key) {
        Joined::Running(rx) => rx,
        Joined::Started(tx, rx) => {
            // Subscribe before the task starts, so no change published from now on is missed.
            let changes = app.live.subscribe_changes();
            // Owned by the task from before it starts: its entry goes however it ends.
            let entry = app.live.guard_entry(&key, &tx);
            let guard = run(app.clone(), app.live.clone(), key, watched, tx, changes);
            tokio::spawn(async move {
                let _entry = entry;
                guard.await;
            });
            rx
        }
    }
}

async fn run(
    state: App,
    hub: Arc<LiveHub>,
    key: String,
    mut watched: Watched,
    tx: watch::Sender<LinkState>,
    mut changes: broadcast::Receiver<HubChange>,
) {
    let mut shutdown = hub.shutdown_signal();
    let mut tick = tokio::time::interval(EXPIRY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let recheck = hub.limits().recheck.max(EXPIRY_TICK);
    let mut last_check = tokio::time::Instant::now();
    let verdict = loop {
        let check = tokio::select! {
            received = changes.recv() => match received {
                Ok(HubChange::Link(id)) => id == watched.id,
                Ok(HubChange::Workspace(id)) => id == watched.workspace_id,
                Ok(HubChange::Embedding(_)) => false,
                Ok(HubChange::All) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => false,
            },
            _ = tick.tick() => {
                if watched.expires_at.is_some_and(|at| at <= state.now()) {
                    break LinkState::Revoked("expired");
                }
                last_check.elapsed() >= recheck
            }
            () = tx.closed() => {
                hub.drop_guard(&key, &tx);
                return;
            }
            _ = shutdown.changed() => {
                hub.drop_guard(&key, &tx);
                return;
            }
        };
        if !check {
            continue;
        }
        last_check = tokio::time::Instant::now();
        match verdict(&state, &mut watched).await {
            Ok(LinkState::Open) => {}
            Ok(other) => break other,
            Err(error) => {
                // The store is briefly unreachable: the streams stay; the next check decides.
                tracing::warn!(%error, "live link guard could not re-read its link");
            }
        }
    };
    tx.send_replace(verdict);
    hub.drop_guard(&key, &tx);
}

/// Re-reads the link and decides what its open streams must do. An extended (or shortened)
/// expiry, or a state change that leaves the link open without a password (enable after a
/// disable the streams never saw), just updates what the guard watches.
async fn verdict(state: &App, watched: &mut Watched) -> Result<LinkState, Error> {
    let Some(link) = state.store.link(&watched.id).await? else {
        return Ok(LinkState::Revoked("deleted"));
    };
    if link.deleted_at.is_some() {
        return Ok(LinkState::Revoked("deleted"));
    }
    if link.generation != watched.generation {
        return Ok(LinkState::Revoked("rotated"));
    }
    let Some(workspace) = state.store.workspace(link.workspace_id).await? else {
        return Ok(LinkState::Revoked("deleted"));
    };
    if let Err(reason) = link.status(&workspace).accessible(state.now()) {
        return Ok(LinkState::Revoked(reason.as_str()));
    }
    if link.epoch != watched.epoch {
        if link.password_hash.is_some() {
            // The unlock cookie the stream opened with died with the old epoch.
            return Ok(LinkState::Revoked("password"));
        }
        watched.epoch = link.epoch;
    }
    if link.settings != watched.settings {
        return Ok(LinkState::Reload);
    }
    watched.expires_at = link.expires_at;
    Ok(LinkState::Open)
}
