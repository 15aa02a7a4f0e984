//! The live-update hub of one instance: who is watching what, and the change bus.
//!
//! [`LiveHub`] holds plain machinery with no service behind it — the refreshers' and link
//! guards' channels, the bus on which changes reach the guards, the count of open streams —
//! so that [`crate::App`] can own it. The tasks that fill the channels are
//! [`crate::live`]'s: one refresher per watched view, one guard per watched share link.
//!
//! - A refresher publishes a [`Snapshot`] of a view (a [`Target`]) on a `watch` channel;
//!   every stream of that view subscribes to the same channel.
//! - A guard publishes a [`LinkState`]: open, revoked (and why) or "reload".
//! - **Changes** reach the guards through an in-process broadcast ([`LiveHub::publish`]), and
//!   through the store's change feed (PostgreSQL `LISTEN/NOTIFY`) from every other instance on
//!   the database ([`LiveHub::run_feed`]).
//! - **Streams** are the front door's: `vitrine-server` frames snapshots and verdicts as
//!   Server-Sent Events; [`LiveHub::open_stream`] counts them against `live.max_streams`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use vitrine_core::id::{DashboardId, WorkspaceId};

use crate::dashboards::{Restrictions, ViewState, WidgetOutput};

/// What changed, as the guards hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubChange {
    /// One share link (by id).
    Link(String),
    /// A workspace (suspension, policy, an API key revoked).
    Workspace(WorkspaceId),
    /// An embedding (by embed id): changed, disabled, deleted, or grants of it revoked.
    Embedding(String),
    /// Anything: a notification may have been missed.
    All,
}

impl HubChange {
    fn payload(&self) -> String {
        match self {
            HubChange::Link(id) => format!("link:{id}"),
            HubChange::Workspace(id) => format!("workspace:{id}"),
            HubChange::Embedding(id) => format!("embedding:{id}"),
            HubChange::All => "all".to_owned(),
        }
    }

    fn parse(payload: &str) -> Option<HubChange> {
        if let Some(id) = payload.strip_prefix("link:") {
            return Some(HubChange::Link(id.to_owned()));
        }
        if let Some(id) = payload.strip_prefix("embedding:") {
            return Some(HubChange::Embedding(id.to_owned()));
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
/// of open streams. One per instance, in [`crate::App`].
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

    /// Link guard tasks running now.
    pub fn guards(&self) -> usize {
        lock(&self.guards).len()
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
    pub async fn publish(&self, store: &dyn vitrine_store::Store, change: HubChange) {
        let _ = self.changes.send(change.clone());
        if let Err(error) = store.publish_change(&change.payload()).await {
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

    pub(crate) fn subscribe_changes(&self) -> broadcast::Receiver<HubChange> {
        self.changes.subscribe()
    }

    /// Turns true when the hub shuts down: open streams end so the pages reconnect elsewhere.
    /// A signal taken after the shutdown reports it as a change too, so a stream or refresher
    /// that starts during shutdown (its request was being handled) ends at once instead of
    /// holding the server open.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        let mut signal = self.shutdown.subscribe();
        if *signal.borrow() {
            signal.mark_changed();
        }
        signal
    }

    /// Counts a stream as open while the returned guard lives; `None` when this instance already
    /// holds `max_streams` (the page should poll instead).
    pub fn open_stream(self: &Arc<Self>) -> Option<OpenStream> {
        let now = self.open_streams.fetch_add(1, Ordering::SeqCst) + 1;
        let open = OpenStream { hub: self.clone() };
        (usize::try_from(now).unwrap_or(0) <= self.limits.max_streams).then_some(open)
    }
}

/// What joining a refresher's or guard's channel came to.
pub(crate) enum Joined<T> {
    /// One runs already: a subscription to it.
    Running(watch::Receiver<T>),
    /// None ran: a new channel, registered; the caller starts its task with the sender.
    Started(watch::Sender<T>, watch::Receiver<T>),
}

impl LiveHub {
    /// The refresher channel of `key`: a subscription when one runs, or a new channel the
    /// caller must start a refresher for (registered under the map's lock, so two viewers
    /// arriving together share one refresher).
    pub(crate) fn refresher_channel(&self, key: &str) -> Joined<Arc<Snapshot>> {
        let mut refreshers = lock(&self.refreshers);
        if let Some(tx) = refreshers.get(key) {
            return Joined::Running(tx.subscribe());
        }
        let (tx, rx) = watch::channel(Arc::new(Snapshot::default()));
        refreshers.insert(key.to_owned(), tx.clone());
        Joined::Started(tx, rx)
    }

    /// Removes a refresher nobody watches any more; false (keep going) when a viewer arrived
    /// meanwhile. Checked under the map's lock, so a new viewer either finds the running
    /// refresher or starts a new one.
    pub(crate) fn retire(&self, key: &str, tx: &watch::Sender<Arc<Snapshot>>) -> bool {
        let mut refreshers = lock(&self.refreshers);
        if tx.receiver_count() > 0 {
            return false;
        }
        if refreshers.get(key).is_some_and(|t| t.same_channel(tx)) {
            refreshers.remove(key);
        }
        true
    }

    /// Removes a refresher that stops whether or not anyone watches (reload, shutdown).
    pub(crate) fn retire_now(&self, key: &str, tx: &watch::Sender<Arc<Snapshot>>) {
        let mut refreshers = lock(&self.refreshers);
        if refreshers.get(key).is_some_and(|t| t.same_channel(tx)) {
            refreshers.remove(key);
        }
    }

    /// The guard channel of `key`, like [`LiveHub::refresher_channel`].
    pub(crate) fn guard_channel(&self, key: &str) -> Joined<LinkState> {
        let mut guards = lock(&self.guards);
        if let Some(tx) = guards.get(key) {
            return Joined::Running(tx.subscribe());
        }
        let (tx, rx) = watch::channel(LinkState::Open);
        guards.insert(key.to_owned(), tx.clone());
        Joined::Started(tx, rx)
    }

    /// Removes a guard that stopped.
    pub(crate) fn drop_guard(&self, key: &str, tx: &watch::Sender<LinkState>) {
        let mut guards = lock(&self.guards);
        if guards.get(key).is_some_and(|t| t.same_channel(tx)) {
            guards.remove(key);
        }
    }

    /// Wakes when [`LiveHub::refresh_now`] is called.
    pub(crate) fn pokes(&self) -> watch::Receiver<u64> {
        self.poke.subscribe()
    }

    /// The removal of refresher `key` (channel `tx`) from the hub, for its task to own.
    pub(crate) fn refresher_entry(
        self: &Arc<Self>,
        key: &str,
        tx: &watch::Sender<Arc<Snapshot>>,
    ) -> Entry<Arc<Snapshot>> {
        Entry {
            hub: self.clone(),
            key: key.to_owned(),
            tx: tx.clone(),
            map: |hub| &hub.refreshers,
        }
    }

    /// The removal of guard `key` (channel `tx`) from the hub, for its task to own.
    pub(crate) fn guard_entry(
        self: &Arc<Self>,
        key: &str,
        tx: &watch::Sender<LinkState>,
    ) -> Entry<LinkState> {
        Entry {
            hub: self.clone(),
            key: key.to_owned(),
            tx: tx.clone(),
            map: |hub| &hub.guards,
        }
    }
}

/// A refresher's or a link guard's place in the hub, removed when this is dropped. Its task
/// owns it from before it is spawned, so the entry goes however the task ends — it returns,
/// panics or is aborted. An entry left behind would keep its channel open (its streams would
/// hang instead of reconnecting) and the map would grow with every view ever watched.
pub(crate) struct Entry<T: 'static> {
    hub: Arc<LiveHub>,
    key: String,
    tx: watch::Sender<T>,
    map: fn(&LiveHub) -> &Registry<T>,
}

/// Channels by key: the hub's refreshers or its link guards.
type Registry<T> = Mutex<HashMap<String, watch::Sender<T>>>;

impl<T> std::fmt::Debug for Entry<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("key", &self.key).finish()
    }
}

impl<T> Drop for Entry<T> {
    fn drop(&mut self) {
        let mut map = lock((self.map)(&self.hub));
        // Only this task's channel: a newer task may have taken the key over.
        if map.get(&self.key).is_some_and(|t| t.same_channel(&self.tx)) {
            map.remove(&self.key);
        }
    }
}

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
    /// What restricts the viewer's queries.
    pub restrictions: Restrictions,
    /// Only this widget (a single-widget share link).
    pub only_widget: Option<String>,
}

impl Target {
    /// Viewers of equal targets share one refresher.
    pub(crate) fn key(&self) -> String {
        format!(
            "{}/{}@{}|{:?}|{:?}|{:?}",
            self.workspace_id,
            self.dashboard_id,
            self.revision,
            self.only_widget,
            self.view,
            self.restrictions
        )
    }
}

/// One widget as the live page receives it.
#[derive(Debug)]
pub struct LiveWidget {
    /// The widget id.
    pub id: String,
    /// The hash of its data (what the card's `data-hash` holds).
    pub hash: u64,
    /// What the widget shows now.
    pub output: WidgetOutput,
    /// The `widget` event's data, encoded once per snapshot by the first stream that sends it.
    event: OnceLock<Arc<str>>,
}

impl LiveWidget {
    /// The `widget` event's data. The front door knows how a card is written (its markup);
    /// `encode` runs once per snapshot, and every stream sending this widget shares the text,
    /// so a thousand viewers cost one encoding.
    pub fn event(&self, encode: impl FnOnce(&WidgetOutput) -> String) -> Arc<str> {
        self.event
            .get_or_init(|| Arc::from(encode(&self.output)))
            .clone()
    }
}

/// What every widget of a view shows now.
#[derive(Debug, Default)]
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
    pub(crate) fn of(outputs: Vec<WidgetOutput>, refreshed_label: String) -> Self {
        let widgets = outputs
            .into_iter()
            .map(|o| LiveWidget {
                id: o.widget_id.clone(),
                hash: o.data_hash,
                output: o,
                event: OnceLock::new(),
            })
            .collect();
        Snapshot {
            ready: true,
            reload: false,
            widgets,
            refreshed_label,
        }
    }

    pub(crate) fn same_as(&self, other: &Snapshot) -> bool {
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

/// What the streams of a link hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// The link opens.
    Open,
    /// The link stopped opening; why, as the page is told: `disabled`, `expired`, `rotated`,
    /// `deleted`, `password` (changed or added: the viewer must enter it) or `suspended`.
    Revoked(&'static str),
    /// The link's settings changed (filters, display): pages reload to pick them up.
    Reload,
}

/// Counts one open stream while it lives.
#[derive(Debug)]
pub struct OpenStream {
    hub: Arc<LiveHub>,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.hub.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
            HubChange::Embedding("0d6f3a2e-9b1c-4c1e-8f7a-2b3c4d5e6f70".into()),
            HubChange::All,
        ] {
            assert_eq!(HubChange::parse(&change.payload()), Some(change));
        }
        assert_eq!(HubChange::parse("workspace:x"), None);
        assert_eq!(HubChange::parse("drop table"), None);
    }

    #[tokio::test]
    async fn a_shutdown_signal_taken_after_the_shutdown_still_fires() {
        let hub = LiveHub::new(LiveLimits::default());
        let mut before = hub.shutdown_signal();
        hub.shut_down();
        let mut after = hub.shutdown_signal();
        for signal in [&mut before, &mut after] {
            tokio::time::timeout(Duration::from_secs(5), signal.changed())
                .await
                .expect("the shutdown is seen")
                .unwrap();
            assert!(*signal.borrow());
        }
    }
}
