//! One refresher per watched view: runs the dashboard on its interval while anyone listens and
//! publishes what every widget shows now.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::dashboards::{DashboardContext, clock_label};
use crate::hub::{Joined, LiveHub, Snapshot, Target};
use crate::{App, Error};

/// After the interval, a little slack so the cached results are due when the refresher asks
/// (it then finds them expired and runs each query once, rather than a moment early).
const SLACK: Duration = Duration::from_millis(200);

/// Subscribes to the refresher of `target`, starting one when nobody watches it yet.
pub fn watch_view(app: &App, target: Target) -> watch::Receiver<Arc<Snapshot>> {
    let key = target.key();
    match app.live.refresher_channel(&key) {
        Joined::Running(rx) => rx,
        Joined::Started(tx, rx) => {
            // Owned by the task from before it starts: its entry goes however it ends.
            let entry = app.live.refresher_entry(&key, &tx);
            let refresher = run(app.clone(), app.live.clone(), key, target, tx);
            tokio::spawn(async move {
                let _entry = entry;
                refresher.await;
            });
            rx
        }
    }
}

async fn run(
    state: App,
    hub: Arc<LiveHub>,
    key: String,
    target: Target,
    tx: watch::Sender<Arc<Snapshot>>,
) {
    let mut shutdown = hub.shutdown_signal();
    let mut poke = hub.pokes();
    loop {
        let interval = match refresh_once(&state, &target, &tx).await {
            Some(interval) => interval,
            None => {
                // Reload sent (or the dashboard is gone): this refresher's view is over.
                hub.retire_now(&key, &tx);
                return;
            }
        };
        tokio::select! {
            () = tokio::time::sleep(interval + SLACK) => {}
            _ = poke.changed() => {}
            () = tx.closed() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            hub.retire_now(&key, &tx);
            return;
        }
        if hub.retire(&key, &tx) {
            return;
        }
    }
}

/// Runs the target once and publishes the result when it differs. `None` when the pages must
/// reload (the dashboard changed or went away); else the dashboard's refresh interval.
async fn refresh_once(
    state: &App,
    target: &Target,
    tx: &watch::Sender<Arc<Snapshot>>,
) -> Option<Duration> {
    let ctx = match load(state, target).await {
        Ok(Some(ctx)) => ctx,
        Ok(None) => {
            tx.send_replace(Arc::new(Snapshot {
                ready: true,
                reload: true,
                ..Snapshot::default()
            }));
            return None;
        }
        Err(error) => {
            // The store is briefly unreachable: keep what the pages show, try again later.
            tracing::warn!(%error, dashboard = %target.dashboard_id, "live refresh could not load the dashboard");
            return Some(Duration::from_secs(5));
        }
    };
    let outputs = state
        .runner
        .run_view(
            &ctx,
            &target.view,
            &target.restrictions,
            target.only_widget.as_deref(),
        )
        .await;
    let oldest = outputs
        .iter()
        .filter_map(|o| o.computed_at)
        .min()
        .unwrap_or_else(|| state.now());
    let next = Snapshot::of(outputs, clock_label(oldest));
    tx.send_if_modified(|current| {
        if current.same_as(&next) {
            false
        } else {
            *current = Arc::new(next);
            true
        }
    });
    Some(Duration::from_secs(u64::from(
        ctx.document.refresh_seconds.max(1),
    )))
}

/// The dashboard at the target's revision, or `None` when it changed or is gone.
async fn load(state: &App, target: &Target) -> Result<Option<Arc<DashboardContext>>, Error> {
    let Some(record) = state
        .store
        .dashboard(target.workspace_id, target.dashboard_id)
        .await?
    else {
        return Ok(None);
    };
    if record.revision != target.revision {
        return Ok(None);
    }
    Ok(Some(
        crate::content::dashboard_context(state, &record).await?,
    ))
}
