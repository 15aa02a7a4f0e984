//! What one outsider may cost: caps per share link and per client address on open live streams
//! and on *new* filter views per minute.
//!
//! A public link is a warehouse query waiting to happen: every distinct filter view an outsider
//! asks for that the result cache does not hold yet runs the dashboard's queries. One visitor
//! typing into a filter, or a script walking every value, must not turn into a query per
//! keystroke. So each instance remembers which views of each link it has served lately (for
//! the dashboard's refresh interval, while their results are cached) and charges only views it
//! has not: at most `link_new_views_per_minute` per link and `client_new_views_per_minute` per
//! client address in any sliding minute. A view already served is free and always answered
//! (the cached view); a new one past a cap gets a polite "try again shortly" with the seconds
//! until the minute frees up. Live streams are counted while open, per link and per client.
//!
//! These limits are **per instance** (in memory, cheap, exact under concurrency: one lock per
//! map) — their purpose is to bound the cost each instance incurs, which is a per-instance
//! quantity. Refusals are counted in `/metrics` (`vitrine_outsider_limited_total`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

/// The instance's default caps (`limits.*` in the configuration); a link's access policy can
/// override each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Open live streams per link.
    pub link_live_viewers: u32,
    /// Open live streams per client address.
    pub client_live_viewers: u32,
    /// New filter views per link per minute.
    pub link_new_views_per_minute: u32,
    /// New filter views per client address per minute.
    pub client_new_views_per_minute: u32,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            // One instance held 10,000 open viewers of one link (docs/performance.md): a link
            // may use the whole instance's `live.max_streams`.
            link_live_viewers: 10_000,
            client_live_viewers: 10,
            link_new_views_per_minute: 300,
            client_new_views_per_minute: 30,
        }
    }
}

/// Which cap refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Open live streams on the link.
    LinkStreams,
    /// Open live streams from the client.
    ClientStreams,
    /// New views on the link this minute.
    LinkViews,
    /// New views from the client this minute.
    ClientViews,
}

impl Limit {
    /// Every limit, in the order `/metrics` lists them.
    pub const ALL: [Limit; 4] = [
        Limit::LinkStreams,
        Limit::ClientStreams,
        Limit::LinkViews,
        Limit::ClientViews,
    ];

    /// Its label value in `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::LinkStreams => "link_streams",
            Limit::ClientStreams => "client_streams",
            Limit::LinkViews => "link_views",
            Limit::ClientViews => "client_views",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A refusal: which cap, and how long until a retry may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// The cap that refused.
    pub limit: Limit,
    /// Seconds until a retry may succeed (at least 1).
    pub retry_after: u64,
}

/// Remembered views: when each view of a link was last served, and the new views charged to
/// each link and client in the last minute.
#[derive(Default)]
struct Views {
    seen: HashMap<(String, u64), OffsetDateTime>,
    charged: HashMap<String, VecDeque<OffsetDateTime>>,
}

/// How many remembered views an instance keeps at most; past it the oldest half is dropped
/// (they then count as new again, which only errs on the side of charging).
const MAX_SEEN: usize = 100_000;

/// The per-instance cost caps for outsiders. One per instance, in [`crate::App`].
pub struct OutsiderLimits {
    caps: Caps,
    streams: Mutex<HashMap<String, u32>>,
    views: Mutex<Views>,
    refused: [AtomicU64; 4],
}

impl std::fmt::Debug for OutsiderLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutsiderLimits")
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A link's own caps where its access policy sets them, the instance's otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkCaps {
    /// See [`Caps::link_live_viewers`].
    pub link_live_viewers: u32,
    /// See [`Caps::client_live_viewers`].
    pub client_live_viewers: u32,
    /// See [`Caps::link_new_views_per_minute`].
    pub link_new_views_per_minute: u32,
    /// See [`Caps::client_new_views_per_minute`].
    pub client_new_views_per_minute: u32,
}

impl OutsiderLimits {
    /// Limits with these default caps.
    pub fn new(caps: Caps) -> Self {
        OutsiderLimits {
            caps,
            streams: Mutex::new(HashMap::new()),
            views: Mutex::new(Views::default()),
            refused: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// The instance's default caps.
    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// Requests refused by each cap since start, for `/metrics`.
    pub fn refused(&self, limit: Limit) -> u64 {
        self.refused[limit.index()].load(Ordering::Relaxed)
    }

    fn refuse(&self, limit: Limit, retry_after: u64) -> Limited {
        self.refused[limit.index()].fetch_add(1, Ordering::Relaxed);
        Limited {
            limit,
            retry_after: retry_after.max(1),
        }
    }

    /// Admits one request for the view `view` (a hash of its filter values) of `link` by
    /// `client`. A view served within `remember` (the dashboard's refresh interval: its
    /// results are still cached) is free; a new one is charged to the link and the client for
    /// a minute, and refused past either cap.
    pub fn admit_view(
        &self,
        (link, client): (&str, &str),
        view: u64,
        caps: LinkCaps,
        remember: Duration,
        now: OffsetDateTime,
    ) -> Result<(), Limited> {
        let mut views = lock(&self.views);
        let key = (link.to_owned(), view);
        if views.seen.get(&key).is_some_and(|at| now - *at < remember) {
            views.seen.insert(key, now);
            return Ok(());
        }
        let minute_ago = now - Duration::MINUTE;
        let link_key = format!("l:{link}");
        let client_key = format!("c:{link}:{client}");
        for (k, cap, limit) in [
            (&link_key, caps.link_new_views_per_minute, Limit::LinkViews),
            (
                &client_key,
                caps.client_new_views_per_minute,
                Limit::ClientViews,
            ),
        ] {
            let window = views.charged.entry(k.clone()).or_default();
            while window.front().is_some_and(|at| *at <= minute_ago) {
                window.pop_front();
            }
            if window.len() >= cap as usize {
                let frees_at = window.front().map_or(now, |at| *at + Duration::MINUTE);
                let wait = (frees_at - now).whole_seconds().max(1).unsigned_abs();
                drop(views);
                return Err(self.refuse(limit, wait));
            }
        }
        for k in [link_key, client_key] {
            views.charged.entry(k).or_default().push_back(now);
        }
        if views.seen.len() >= MAX_SEEN {
            let mut ages: Vec<OffsetDateTime> = views.seen.values().copied().collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            views.seen.retain(|_, at| *at > cutoff);
            views
                .charged
                .retain(|_, w| w.back().is_some_and(|at| *at > minute_ago));
        }
        views.seen.insert(key, now);
        Ok(())
    }

    /// Counts one open live stream of `link` by `client` while the permit lives; refused past
    /// either cap (the page then polls instead).
    pub fn open_stream(
        self: &Arc<Self>,
        (link, client): (&str, &str),
        caps: LinkCaps,
    ) -> Result<StreamPermit, Limited> {
        let link_key = format!("l:{link}");
        let client_key = format!("c:{link}:{client}");
        let mut streams = lock(&self.streams);
        for (k, cap, limit) in [
            (&link_key, caps.link_live_viewers, Limit::LinkStreams),
            (&client_key, caps.client_live_viewers, Limit::ClientStreams),
        ] {
            if streams.get(k).copied().unwrap_or(0) >= cap {
                drop(streams);
                return Err(self.refuse(limit, 30));
            }
        }
        for k in [&link_key, &client_key] {
            *streams.entry(k.clone()).or_default() += 1;
        }
        Ok(StreamPermit {
            limits: self.clone(),
            keys: [link_key, client_key],
        })
    }

    /// Open streams counted for `link` now (tests, the owner's page).
    pub fn open_streams_of(&self, link: &str) -> u32 {
        lock(&self.streams)
            .get(&format!("l:{link}"))
            .copied()
            .unwrap_or(0)
    }
}

/// One open live stream, counted until dropped.
#[derive(Debug)]
pub struct StreamPermit {
    limits: Arc<OutsiderLimits>,
    keys: [String; 2],
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut streams = lock(&self.limits.streams);
        for k in &self.keys {
            if let Some(n) = streams.get_mut(k) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    streams.remove(k);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn caps(views_link: u32, views_client: u32) -> LinkCaps {
        LinkCaps {
            link_live_viewers: 3,
            client_live_viewers: 2,
            link_new_views_per_minute: views_link,
            client_new_views_per_minute: views_client,
        }
    }

    #[test]
    fn a_view_already_served_is_free_and_new_ones_are_charged_per_client_and_per_link() {
        let limits = OutsiderLimits::new(Caps::default());
        let remember = Duration::seconds(30);
        let c = caps(3, 2);
        assert!(limits.admit_view(("l", "a"), 1, c, remember, T0).is_ok());
        assert!(limits.admit_view(("l", "a"), 2, c, remember, T0).is_ok());
        let refused = limits
            .admit_view(("l", "a"), 3, c, remember, T0)
            .unwrap_err();
        assert_eq!(refused.limit, Limit::ClientViews);
        assert_eq!(refused.retry_after, 60);
        // The cached views are still answered.
        assert!(limits.admit_view(("l", "a"), 1, c, remember, T0).is_ok());
        // Another client may, until the link's cap.
        assert!(limits.admit_view(("l", "b"), 3, c, remember, T0).is_ok());
        let refused = limits
            .admit_view(("l", "b"), 4, c, remember, T0)
            .unwrap_err();
        assert_eq!(refused.limit, Limit::LinkViews);
        // A minute later the windows are free again.
        let later = T0 + Duration::seconds(61);
        assert!(limits.admit_view(("l", "a"), 5, c, remember, later).is_ok());
        assert_eq!(limits.refused(Limit::ClientViews), 1);
        assert_eq!(limits.refused(Limit::LinkViews), 1);
    }

    #[test]
    fn a_remembered_view_counts_as_new_once_its_results_expired() {
        let limits = OutsiderLimits::new(Caps::default());
        let c = caps(10, 10);
        limits
            .admit_view(("l", "a"), 1, c, Duration::seconds(30), T0)
            .unwrap();
        limits
            .admit_view(
                ("l", "a"),
                1,
                c,
                Duration::seconds(30),
                T0 + Duration::seconds(31),
            )
            .unwrap();
        assert_eq!(lock(&limits.views).charged["l:l"].len(), 2);
    }

    #[test]
    fn streams_are_counted_while_open_per_link_and_per_client() {
        let limits = Arc::new(OutsiderLimits::new(Caps::default()));
        let c = caps(1, 1);
        let a1 = limits.open_stream(("l", "a"), c).unwrap();
        let a2 = limits.open_stream(("l", "a"), c).unwrap();
        assert_eq!(
            limits.open_stream(("l", "a"), c).unwrap_err().limit,
            Limit::ClientStreams
        );
        let b1 = limits.open_stream(("l", "b"), c).unwrap();
        assert_eq!(
            limits.open_stream(("l", "c"), c).unwrap_err().limit,
            Limit::LinkStreams
        );
        drop(a1);
        let c1 = limits.open_stream(("l", "c"), c).unwrap();
        assert_eq!(limits.open_streams_of("l"), 3);
        drop((a2, b1, c1));
        assert_eq!(limits.open_streams_of("l"), 0);
        assert!(lock(&limits.streams).is_empty(), "nothing left behind");
    }

    #[test]
    fn simultaneous_new_views_never_exceed_the_cap() {
        let limits = Arc::new(OutsiderLimits::new(Caps::default()));
        let c = caps(1000, 7);
        let admitted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..40)
                .map(|i| {
                    let limits = limits.clone();
                    s.spawn(move || {
                        limits
                            .admit_view(("l", "a"), i, c, Duration::seconds(30), T0)
                            .is_ok()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(admitted, 7);
    }
}
