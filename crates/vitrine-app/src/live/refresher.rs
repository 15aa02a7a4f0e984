//! One refresher per watched view: runs the dashboard on its interval while anyone listens and
//! publishes what every widget shows now.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use vitrine_core::dashboard::RowLevelRule;
use vitrine_core::id::{DashboardId, WorkspaceId};

use super::{LiveHub, lock};
use crate::dashboards::{DashboardContext, ViewState, WidgetOutput, card_html};
use crate::state::AppState;

/// After the interval, a little slack so the cached results are due when the refresher asks
/// (it then finds them expired and runs each query once, rather than a moment early).
const SLACK: Duration = Duration::from_millis(200);

/// What a refresher runs: one dashboard revision under one view.
#[derive(Debug, Clone)]
pub struct Target {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The dashboard.
    pub dashboard_id: DashboardId,
    /// The revision the page shows; another one means the page must reload.
    pub revision: i64,
    /// The view (filters, tables, theme, tooltips).
    pub view: ViewState,
    /// Row-level rules.
    pub rules: Vec<RowLevelRule>,
    /// Only this widget (a single-widget share link).
    pub only_widget: Option<String>,
}

impl Target {
    /// Viewers of equal targets share one refresher.
    fn key(&self) -> String {
        format!(
            "{}/{}@{}|{:?}|{:?}|{:?}",
            self.workspace_id,
            self.dashboard_id,
            self.revision,
            self.only_widget,
            self.view,
            self.rules
        )
    }
}

/// One widget as the live page receives it.
#[derive(Debug, Clone)]
pub struct LiveWidget {
    /// The widget id.
    pub id: String,
    /// The hash of its data (what the card's `data-hash` holds).
    pub hash: u64,
    /// The `widget` event's data: `{"id": …, "html": …}` (the card's inner HTML).
    pub event: Arc<str>,
}

/// What every widget of a view shows now.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// False until the first run finished.
    pub ready: bool,
    /// The dashboard changed (edited, deleted): pages must reload.
    pub reload: bool,
    /// The widgets, in document order.
    pub widgets: Vec<LiveWidget>,
    /// When the oldest shown result was fetched: `17:42:05 UTC`.
    pub refreshed_label: String,
}

impl Snapshot {
    fn of(outputs: &[WidgetOutput], refreshed_label: String) -> Self {
        let widgets = outputs
            .iter()
            .map(|o| LiveWidget {
                id: o.widget_id.clone(),
                hash: o.data_hash,
                event: serde_json::json!({ "id": o.widget_id, "html": card_html(o) })
                    .to_string()
                    .into(),
            })
            .collect();
        Snapshot {
            ready: true,
            reload: false,
            widgets,
            refreshed_label,
        }
    }

    fn same_as(&self, other: &Snapshot) -> bool {
        self.ready == other.ready
            && self.reload == other.reload
            && self.refreshed_label == other.refreshed_label
            && self.widgets.len() == other.widgets.len()
            && self
                .widgets
                .iter()
                .zip(&other.widgets)
                .all(|(a, b)| a.id == b.id && a.hash == b.hash)
    }
}

impl LiveHub {
    /// Subscribes to the refresher of `target`, starting one when nobody watches it yet.
    pub fn watch_view(
        self: &Arc<Self>,
        state: &AppState,
        target: Target,
    ) -> watch::Receiver<Arc<Snapshot>> {
        let key = target.key();
        let mut refreshers = lock(&self.refreshers);
        if let Some(tx) = refreshers.get(&key) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(Arc::new(Snapshot::default()));
        refreshers.insert(key.clone(), tx.clone());
        drop(refreshers);
        tokio::spawn(run(state.clone(), self.clone(), key, target, tx));
        rx
    }

    /// Removes a refresher nobody watches any more; false (keep going) when a viewer arrived
    /// meanwhile. Checked under the map's lock, so a new viewer either finds the running
    /// refresher or starts a new one.
    fn retire(&self, key: &str, tx: &watch::Sender<Arc<Snapshot>>) -> bool {
        let mut refreshers = lock(&self.refreshers);
        if tx.receiver_count() > 0 {
            return false;
        }
        if refreshers.get(key).is_some_and(|t| t.same_channel(tx)) {
            refreshers.remove(key);
        }
        true
    }
}

async fn run(
    state: AppState,
    hub: Arc<LiveHub>,
    key: String,
    target: Target,
    tx: watch::Sender<Arc<Snapshot>>,
) {
    let mut shutdown = hub.shutdown_signal();
    let mut poke = hub.poke.subscribe();
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

impl LiveHub {
    fn retire_now(&self, key: &str, tx: &watch::Sender<Arc<Snapshot>>) {
        let mut refreshers = lock(&self.refreshers);
        if refreshers.get(key).is_some_and(|t| t.same_channel(tx)) {
            refreshers.remove(key);
        }
    }
}

/// Runs the target once and publishes the result when it differs. `None` when the pages must
/// reload (the dashboard changed or went away); else the dashboard's refresh interval.
async fn refresh_once(
    state: &AppState,
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
            &target.rules,
            target.only_widget.as_deref(),
        )
        .await;
    let oldest = outputs
        .iter()
        .filter_map(|o| o.computed_at)
        .min()
        .unwrap_or_else(|| state.now());
    let next = Snapshot::of(&outputs, crate::dashboards::clock_label(oldest));
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
async fn load(
    state: &AppState,
    target: &Target,
) -> Result<Option<Arc<DashboardContext>>, crate::error::AppError> {
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
