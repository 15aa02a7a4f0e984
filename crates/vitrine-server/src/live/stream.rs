//! The Server-Sent Events response of a live dashboard page.
//!
//! Events (each `data` is JSON):
//! - `widget` `{"id", "html"}`: a card's new inner HTML, only for widgets whose data differs
//!   from what the page has;
//! - `refreshed` `{"at"}`: the "Refreshed at" line;
//! - `reload` `{}`: the dashboard or the link's settings changed; the page reloads;
//! - `revoked` `{"reason", "contact"}`: the share link stopped working (the last event), or
//!   the cookie the stream was admitted with expired (reason `session`: the page says "Session
//!   expired … reload the page", which then asks for the password or the e-mail address
//!   again).
//!
//! The page says what it shows when it connects: one `h.<widget>=<data hash>` parameter per
//! card, beside the view's own parameters. A reconnect therefore resumes exactly: only what
//! changed meanwhile is sent.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use tokio::sync::watch;
use vitrine_core::clock::Clock;

use vitrine_app::App;
use vitrine_app::hub::{LinkState, OpenStream, Snapshot, Target};

use crate::dashboards::card_html;

/// The page's reconnect delay, in milliseconds (the browser's `EventSource` honours it).
const RETRY_MS: u64 = 3_000;

/// What the live URL's query carries besides the view: the data hashes the page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveStreamParams {
    /// Widget id → the data hash its card shows.
    pub known: HashMap<String, u64>,
}

impl LiveStreamParams {
    /// Splits a live URL's query into the view's query (everything else, in order) and the
    /// page's `h.<widget>` hashes. Malformed hashes are ignored (the widget is then sent).
    pub fn split(query: &str) -> (String, LiveStreamParams) {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let mut known = HashMap::new();
        let mut rest = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            match name.strip_prefix("h.") {
                Some(id) if known.len() < 500 => {
                    if let Ok(hash) = value.parse::<u64>() {
                        known.insert(id.to_owned(), hash);
                    }
                }
                Some(_) => {}
                None => rest.push((name, value)),
            }
        }
        let view = serde_urlencoded::to_string(&rest).unwrap_or_default();
        (view, LiveStreamParams { known })
    }
}

/// A share link's side of a stream: its guard and what to tell the page when it dies.
#[derive(Debug)]
pub struct LinkWatch {
    /// The guard's state.
    pub state: watch::Receiver<LinkState>,
    /// The workspace's contact line, shown with "no longer active".
    pub contact: String,
    /// Keeps the stream counted against the link's live-viewer caps while it is open.
    pub permit: Option<vitrine_app::limits::StreamPermit>,
    /// When the earliest credential the stream was opened with (unlock cookie, viewer cookie,
    /// view pass) stops working: the stream ends then with `revoked` (`session`), by the
    /// app's clock. The link's guard is shared by every stream of the link, so this bound is
    /// the stream's own.
    pub deadline: Option<OffsetDateTime>,
}

/// How often a stream with a deadline compares it with the app's clock (a comparison, no
/// I/O), as the link guard does with the link's expiry.
const DEADLINE_TICK: std::time::Duration = std::time::Duration::from_millis(250);

/// The reason a stream gives when the cookie it was admitted with expired.
pub const SESSION_ENDED: &str = "session";

/// The SSE response for `target`: `503` with `Retry-After` when this instance already holds
/// `live.max_streams` streams (the page then polls instead).
pub fn live_response(
    state: &App,
    target: Target,
    link: Option<LinkWatch>,
    params: LiveStreamParams,
) -> Response {
    let hub = &state.live;
    let Some(open) = hub.open_stream() else {
        let mut response =
            (StatusCode::SERVICE_UNAVAILABLE, "too many live viewers").into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return response;
    };
    let deadline_tick = link.as_ref().and_then(|l| l.deadline).map(|_| {
        let mut tick = tokio::time::interval(DEADLINE_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        tick
    });
    let stream = LiveStream {
        views: vitrine_app::live::watch_view(state, target),
        clock: state.clock.clone(),
        deadline_tick,
        link,
        known: params.known,
        label: String::new(),
        pending: VecDeque::from([
            Event::default().retry(std::time::Duration::from_millis(RETRY_MS))
        ]),
        finished: false,
        first: true,
        shutdown: hub.shutdown_signal(),
        _open: open,
        _counted: state.metrics.open_stream(),
    };
    let events = futures_util::stream::unfold(stream, LiveStream::step);
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(hub.limits().keepalive))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Proxies such as nginx must pass events through as they come.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Why a stream woke up.
enum Woke {
    View(bool),
    Link(bool, LinkState),
    Deadline,
    Shutdown,
}

/// A stream that only says the link no longer opens (`revoked` with `reason`), for a page
/// that reconnects after its link stopped working.
pub fn revoked_response(reason: &'static str, contact: &str) -> Response {
    let events = [
        Event::default().retry(std::time::Duration::from_millis(RETRY_MS)),
        revoked_event(reason, contact),
    ];
    let stream = futures_util::stream::iter(events.map(Ok::<_, Infallible>));
    let mut response = Sse::new(stream).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn revoked_event(reason: &str, contact: &str) -> Event {
    Event::default()
        .event("revoked")
        .data(serde_json::json!({ "reason": reason, "contact": contact }).to_string())
}

struct LiveStream {
    views: watch::Receiver<Arc<Snapshot>>,
    /// The app's clock, for the link's deadline.
    clock: Arc<dyn Clock>,
    /// Ticks while the stream has a deadline.
    deadline_tick: Option<tokio::time::Interval>,
    link: Option<LinkWatch>,
    known: HashMap<String, u64>,
    label: String,
    pending: VecDeque<Event>,
    finished: bool,
    first: bool,
    shutdown: watch::Receiver<bool>,
    _open: OpenStream,
    _counted: vitrine_app::metrics::OpenStream,
}

impl LiveStream {
    async fn step(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.finished {
                return None;
            }
            if std::mem::take(&mut self.first) {
                if let Some(link) = &mut self.link {
                    let now = *link.state.borrow_and_update();
                    self.on_link(now);
                }
                if !self.finished {
                    self.check_deadline();
                }
                if !self.finished {
                    let snapshot = self.views.borrow_and_update().clone();
                    self.on_snapshot(&snapshot);
                }
                continue;
            }
            let woke = {
                let LiveStream {
                    views,
                    link,
                    shutdown,
                    deadline_tick,
                    ..
                } = &mut self;
                let deadline = async {
                    match deadline_tick {
                        Some(tick) => {
                            tick.tick().await;
                        }
                        None => std::future::pending().await,
                    }
                };
                let link_changed = async {
                    match link {
                        Some(link) => {
                            let alive = link.state.changed().await.is_ok();
                            (alive, *link.state.borrow_and_update())
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    changed = views.changed() => Woke::View(changed.is_ok()),
                    (alive, now) = link_changed => Woke::Link(alive, now),
                    () = deadline => Woke::Deadline,
                    _ = shutdown.changed() => Woke::Shutdown,
                }
            };
            match woke {
                Woke::View(alive) => {
                    let snapshot = self.views.borrow_and_update().clone();
                    if alive || snapshot.reload {
                        self.on_snapshot(&snapshot);
                    }
                    if !alive {
                        // The refresher stopped (shutdown): the page reconnects.
                        self.finished = true;
                    }
                }
                Woke::Link(alive, now) => {
                    self.on_link(now);
                    if !alive {
                        // The guard stopped without a verdict (shutdown): the page reconnects
                        // and the link is checked again.
                        self.finished = true;
                    }
                }
                Woke::Deadline => self.check_deadline(),
                Woke::Shutdown => self.finished = true,
            }
        }
    }

    /// Ends the stream with `revoked` (`session`) once the app's clock reaches the deadline of
    /// the credential it was admitted with.
    fn check_deadline(&mut self) {
        let Some(link) = &self.link else {
            return;
        };
        if link.deadline.is_some_and(|at| at <= self.clock.now()) {
            self.pending
                .push_back(revoked_event(SESSION_ENDED, &link.contact));
            self.finished = true;
        }
    }

    fn on_link(&mut self, now: LinkState) {
        match now {
            LinkState::Open => {}
            LinkState::Revoked(reason) => {
                let contact = self
                    .link
                    .as_ref()
                    .map(|l| l.contact.clone())
                    .unwrap_or_default();
                self.pending.push_back(revoked_event(reason, &contact));
                self.finished = true;
            }
            LinkState::Reload => {
                self.pending
                    .push_back(Event::default().event("reload").data("{}"));
                self.finished = true;
            }
        }
    }

    fn on_snapshot(&mut self, snapshot: &Snapshot) {
        if !snapshot.ready {
            return;
        }
        if snapshot.reload {
            self.pending
                .push_back(Event::default().event("reload").data("{}"));
            self.finished = true;
            return;
        }
        for widget in &snapshot.widgets {
            if self.known.get(&widget.id) != Some(&widget.hash) {
                self.known.insert(widget.id.clone(), widget.hash);
                let data = widget.event(|output| {
                    serde_json::json!({ "id": output.widget_id, "html": card_html(output) })
                        .to_string()
                });
                self.pending
                    .push_back(Event::default().event("widget").data(&*data));
            }
        }
        if snapshot.refreshed_label != self.label {
            self.label.clone_from(&snapshot.refreshed_label);
            self.pending.push_back(
                Event::default()
                    .event("refreshed")
                    .data(serde_json::json!({ "at": self.label }).to_string()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_hashes_are_split_from_the_view() {
        let (view, params) =
            LiveStreamParams::split("f.region=EU&h.revenue=42&t.orders.page=2&h.bad=x&theme=dark");
        assert_eq!(view, "f.region=EU&t.orders.page=2&theme=dark");
        assert_eq!(params.known.len(), 1);
        assert_eq!(params.known["revenue"], 42);
    }
}
