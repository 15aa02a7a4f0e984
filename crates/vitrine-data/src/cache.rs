//! The result cache: one query per widget, filter state and rule set per refresh interval,
//! however many people are watching.
//!
//! - **Key**: the widget's identity, the *effective* filter values (relative dates already
//!   resolved, so "last 7 days" moves at midnight) and the row-level rules ([`CacheKey`]).
//!   Callers should make the widget identity change when the definition changes (for example
//!   `dashboard-id/widget-id@revision`), so an edit is never hidden behind an old result.
//! - **Life**: a result is fresh for the dashboard's refresh interval, measured with the
//!   injected [`Clock`].
//! - **Single flight**: concurrent misses for one key share one run. The first caller runs the
//!   query inside a `tokio::sync::OnceCell`; the others wait on the same cell. If the runner is
//!   cancelled, a waiter takes over, and errors are handed to every waiter but never kept.
//! - **Bounded by entries and by bytes**: past `capacity` entries or `max_bytes` (each result
//!   weighed once, when it arrives, by the weigher given to [`ResultCache::with_max_bytes`])
//!   the least recently used entries are evicted, and counted ([`CacheStats::evictions`]).
//! - **Counted**: every call is a hit or a miss ([`CacheStats`]). A miss is a call that ran
//!   the query itself; a call answered by a fresh entry *or by sharing another caller's run*
//!   (single flight) is a hit, because it cost the data source nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use vitrine_core::clock::Clock;
use vitrine_core::dashboard::{EffectiveFilter, RowLevelRule};

use crate::error::DataError;

/// What an entry costs besides its key and value: the slot, its map entry, the `Arc`.
const SLOT_OVERHEAD: usize = 160;

/// What identifies one cached result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of `widget` (an identity that changes when its definition does) under these
    /// effective filter values and row-level rules.
    pub fn new(widget: &str, filters: &[EffectiveFilter], rules: &[RowLevelRule]) -> Self {
        #[derive(Serialize)]
        struct Parts<'a> {
            widget: &'a str,
            filters: &'a [EffectiveFilter],
            rules: &'a [RowLevelRule],
        }
        // Plain data with string keys: serialising cannot fail.
        let text = serde_json::to_string(&Parts {
            widget,
            filters,
            rules,
        })
        .unwrap_or_else(|_| widget.to_string());
        CacheKey(text)
    }

    /// The canonical text of the key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value from the cache.
#[derive(Debug, Clone)]
pub struct Cached<T> {
    /// The result.
    pub value: Arc<T>,
    /// When it was computed (by the cache's clock).
    pub computed_at: OffsetDateTime,
    /// True when this very call ran the query (a miss it led); false for a hit or a shared
    /// flight.
    pub ran: bool,
}

type Outcome<T> = Result<(Arc<T>, OffsetDateTime), DataError>;

struct Slot<T> {
    cell: OnceCell<Outcome<T>>,
    /// Last use (a tick of [`Inner::seq`]): the least recently used is evicted first.
    used: AtomicU64,
    /// What the result weighs, once it arrived and was counted (0 until then).
    weight: AtomicU64,
}

struct Inner<T> {
    map: HashMap<CacheKey, Arc<Slot<T>>>,
    seq: u64,
    /// The sum of the counted weights in `map`.
    bytes: u64,
    /// Bumped whenever an entry is added, replaced, evicted or dropped: while it stands still,
    /// every entry is the one that was there (see [`ResultCache::generation`]).
    generation: u64,
}

impl<T> Inner<T> {
    fn remove(&mut self, key: &CacheKey) {
        if let Some(slot) = self.map.remove(key) {
            self.generation += 1;
            self.bytes = self
                .bytes
                .saturating_sub(slot.weight.load(Ordering::Relaxed));
        }
    }

    /// Evicts least recently used entries (never `keep`) until within both bounds; returns
    /// how many went.
    fn evict(&mut self, capacity: usize, max_bytes: u64, keep: &CacheKey) -> u64 {
        let mut evicted = 0;
        while self.map.len() > capacity || self.bytes > max_bytes {
            let Some(oldest) = self
                .map
                .iter()
                .filter(|(k, _)| *k != keep)
                .min_by_key(|(_, s)| s.used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.remove(&oldest);
            evicted += 1;
        }
        evicted
    }
}

/// How often a [`ResultCache`] answered without running, since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Calls answered by a fresh entry or by sharing another caller's run (single flight).
    pub hits: u64,
    /// Calls that ran the query themselves (whether it then succeeded or failed).
    pub misses: u64,
    /// Entries dropped to stay within the cache's bounds (entries or bytes).
    pub evictions: u64,
    /// Entries now (fresh, stale or in flight).
    pub entries: u64,
    /// The weight of the results now held, by the cache's weigher (about their heap bytes).
    pub bytes: u64,
}

/// A bounded, clock-driven, single-flight cache of query results.
pub struct ResultCache<T> {
    clock: Arc<dyn Clock>,
    capacity: usize,
    max_bytes: u64,
    weigh: fn(&T) -> usize,
    inner: Mutex<Inner<T>>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl<T: Send + Sync + 'static> std::fmt::Debug for ResultCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T: Send + Sync + 'static> ResultCache<T> {
    /// An empty cache holding at most `capacity` (at least 1) results.
    pub fn new(clock: Arc<dyn Clock>, capacity: usize) -> Self {
        ResultCache {
            clock,
            capacity: capacity.max(1),
            max_bytes: u64::MAX,
            weigh: |_| 0,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                seq: 0,
                bytes: 0,
                generation: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// The same cache, also bounded to `max_bytes` as `weigh` counts each result (about the
    /// heap bytes it holds; counted once, when it arrives). A single result heavier than the
    /// bound is still handed to its callers, then evicted by the next arrival.
    pub fn with_max_bytes(mut self, max_bytes: u64, weigh: fn(&T) -> usize) -> Self {
        self.max_bytes = max_bytes;
        self.weigh = weigh;
        self
    }

    /// Hits, misses and evictions since the cache was made; entries and bytes now.
    pub fn stats(&self) -> CacheStats {
        let (entries, bytes) = {
            let inner = self.lock();
            (inner.map.len() as u64, inner.bytes)
        };
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries,
            bytes,
        }
    }

    /// The number of entries (fresh, stale or in flight).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.map.clear();
        inner.bytes = 0;
        inner.generation += 1;
    }

    /// A number that changes whenever an entry is added, replaced, evicted or dropped. Two
    /// equal readings mean no entry changed in between, so what was read from the cache then
    /// is what it would answer now, until one of those entries outlives its ttl: a caller can
    /// keep something it derived from entries (a page) as long as the reading stays the same
    /// and the entries are fresh.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fresh value for `key`, or the result of `run` — run at most once for all the
    /// concurrent callers that miss on `key`. A value stays fresh for `ttl`.
    pub async fn get_or_run<F, Fut>(
        &self,
        key: CacheKey,
        ttl: Duration,
        run: F,
    ) -> Result<Cached<T>, DataError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, DataError>>,
    {
        let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX);
        let slot = {
            let mut inner = self.lock();
            let now = self.clock.now();
            inner.seq += 1;
            let tick = inner.seq;
            let usable = inner.map.get(&key).filter(|slot| match slot.cell.get() {
                None => true,
                // Checked: a ttl of "forever" must not overflow the calendar.
                Some(Ok((_, at))) => at.checked_add(ttl).is_none_or(|until| now < until),
                Some(Err(_)) => false,
            });
            match usable {
                Some(slot) => {
                    slot.used.store(tick, Ordering::Relaxed);
                    slot.clone()
                }
                None => {
                    let slot = Arc::new(Slot {
                        cell: OnceCell::new(),
                        used: AtomicU64::new(tick),
                        weight: AtomicU64::new(0),
                    });
                    inner.remove(&key);
                    inner.map.insert(key.clone(), slot.clone());
                    inner.generation += 1;
                    let evicted = inner.evict(self.capacity, self.max_bytes, &key);
                    self.evictions.fetch_add(evicted, Ordering::Relaxed);
                    slot
                }
            }
        };
        let ran = AtomicBool::new(false);
        let outcome = slot
            .cell
            .get_or_init(|| async {
                ran.store(true, Ordering::Relaxed);
                run().await.map(|v| (Arc::new(v), self.clock.now()))
            })
            .await;
        let ran = ran.load(Ordering::Relaxed);
        let counter = if ran { &self.misses } else { &self.hits };
        counter.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok((value, at)) => {
                if ran {
                    self.count_weight(&key, &slot, value);
                }
                Ok(Cached {
                    value: value.clone(),
                    computed_at: *at,
                    ran,
                })
            }
            Err(e) => {
                let mut inner = self.lock();
                if inner.map.get(&key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                    inner.remove(&key);
                }
                Err(e.clone())
            }
        }
    }

    /// Counts a result that just arrived against the byte bound (while its slot is still the
    /// key's), then evicts what the bound no longer holds.
    fn count_weight(&self, key: &CacheKey, slot: &Arc<Slot<T>>, value: &T) {
        let weight = ((self.weigh)(value) + key.0.len() + SLOT_OVERHEAD) as u64;
        let mut inner = self.lock();
        if inner.map.get(key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            slot.weight.store(weight, Ordering::Relaxed);
            inner.bytes += weight;
            let evicted = inner.evict(self.capacity, self.max_bytes, key);
            self.evictions.fetch_add(evicted, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use time::macros::datetime;
    use vitrine_core::clock::ManualClock;

    use super::*;
    use crate::error::DataErrorKind;

    fn cache(capacity: usize) -> (Arc<ManualClock>, Arc<ResultCache<u32>>) {
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
        let cache = Arc::new(ResultCache::new(clock.clone() as Arc<dyn Clock>, capacity));
        (clock, cache)
    }

    fn key(w: &str) -> CacheKey {
        CacheKey::new(w, &[], &[])
    }

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_for_one_key_run_the_query_once() {
        let (_clock, cache) = cache(10);
        let runs = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(tokio::sync::Barrier::new(32));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (cache, runs, barrier) = (cache.clone(), runs.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    cache
                        .get_or_run(key("w"), TTL, || async {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(7)
                        })
                        .await
                        .map(|c| (*c.value, c.ran))
                })
            })
            .collect();
        let mut leaders = 0;
        for t in tasks {
            let (v, ran) = t.await.unwrap().unwrap();
            assert_eq!(v, 7);
            leaders += usize::from(ran);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(leaders, 1);
        assert_eq!(
            cache.stats(),
            CacheStats {
                hits: 31,
                misses: 1,
                entries: 1,
                bytes: cache.stats().bytes,
                evictions: 0,
            },
            "waiters that shared the run are hits"
        );
    }

    #[tokio::test]
    async fn the_generation_moves_when_an_entry_changes_and_only_then() {
        let (clock, cache) = cache(2);
        let get = |w: &'static str| cache.get_or_run(key(w), TTL, || async { Ok(1) });
        let start = cache.generation();
        get("a").await.unwrap();
        let added = cache.generation();
        assert!(added > start, "added");
        get("a").await.unwrap();
        assert_eq!(cache.generation(), added, "a hit changes nothing");
        clock.advance(time::Duration::seconds(61));
        get("a").await.unwrap();
        let replaced = cache.generation();
        assert!(replaced > added, "a stale entry replaced");
        get("b").await.unwrap();
        let both = cache.generation();
        get("c").await.unwrap();
        assert!(cache.generation() > both + 1, "added and evicted");
        let failed = cache.generation();
        let _ = cache
            .get_or_run(key("d"), TTL, || async {
                Err::<u32, _>(DataError::new(DataErrorKind::Timeout, "slow"))
            })
            .await;
        assert!(cache.generation() > failed, "a failure is dropped");
        let cleared = cache.generation();
        cache.clear();
        assert!(cache.generation() > cleared, "cleared");
    }

    #[tokio::test]
    async fn a_ttl_longer_than_the_calendar_keeps_a_result_without_overflowing() {
        let (clock, cache) = cache(10);
        let runs = AtomicUsize::new(0);
        let get = || {
            cache.get_or_run(key("w"), Duration::MAX, || async {
                Ok(runs.fetch_add(1, Ordering::SeqCst) as u32)
            })
        };
        assert_eq!(*get().await.unwrap().value, 0);
        clock.advance(time::Duration::days(365 * 100));
        assert_eq!(*get().await.unwrap().value, 0);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_result_is_fresh_for_the_ttl_then_runs_again() {
        let (clock, cache) = cache(10);
        let runs = AtomicUsize::new(0);
        let get = || {
            cache.get_or_run(key("w"), TTL, || async {
                Ok(runs.fetch_add(1, Ordering::SeqCst) as u32)
            })
        };
        assert_eq!(*get().await.unwrap().value, 0);
        clock.advance(time::Duration::seconds(59));
        assert_eq!(*get().await.unwrap().value, 0);
        clock.advance(time::Duration::seconds(1));
        assert_eq!(*get().await.unwrap().value, 1);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (1, 2));
    }

    #[tokio::test]
    async fn different_filter_values_or_rules_are_different_entries() {
        use vitrine_core::dashboard::{RuleOp, Scalar};
        let rule = RowLevelRule::new("customer_id", RuleOp::Eq, vec![Scalar::Int(1)]).unwrap();
        let other = RowLevelRule::new("customer_id", RuleOp::Eq, vec![Scalar::Int(2)]).unwrap();
        assert_ne!(
            CacheKey::new("w", &[], std::slice::from_ref(&rule)),
            CacheKey::new("w", &[], std::slice::from_ref(&other))
        );
        assert_ne!(CacheKey::new("w", &[], &[]), CacheKey::new("v", &[], &[]));
        assert_eq!(
            CacheKey::new("w", &[], std::slice::from_ref(&rule)),
            CacheKey::new("w", &[], &[rule])
        );
    }

    #[tokio::test]
    async fn errors_reach_every_waiter_but_are_not_kept() {
        let (_clock, cache) = cache(10);
        let e = cache
            .get_or_run(key("w"), TTL, || async {
                Err(DataError::new(DataErrorKind::Timeout, "slow"))
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), DataErrorKind::Timeout);
        assert!(cache.is_empty());
        let ok = cache
            .get_or_run(key("w"), TTL, || async { Ok(3) })
            .await
            .unwrap();
        assert!(ok.ran);
        let stats = cache.stats();
        assert_eq!(
            (stats.hits, stats.misses),
            (0, 2),
            "a failed run is still a miss"
        );
    }

    #[tokio::test]
    async fn past_its_byte_bound_the_least_recently_used_results_are_evicted() {
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
        let weight = |v: &u32| *v as usize * 1_000;
        // Each entry weighs its value × 1,000 plus its key and the slot's overhead.
        let cache = ResultCache::new(clock as Arc<dyn Clock>, 100).with_max_bytes(3_900, weight);
        let put = |w: &'static str, v: u32| {
            let cache = &cache;
            async move {
                cache
                    .get_or_run(key(w), TTL, || async move { Ok(v) })
                    .await
                    .unwrap()
            }
        };
        put("a", 1).await;
        put("b", 1).await;
        put("c", 1).await;
        assert_eq!(cache.len(), 3);
        let held = cache.stats().bytes;
        assert!((3_000..=3_900).contains(&held), "{held}");
        // "a" is used again: "b" is now the least recently used.
        assert!(!put("a", 9).await.ran);
        // A result of 2,000 pushes out "b", then "c".
        put("d", 2).await;
        let stats = cache.stats();
        assert!(stats.bytes <= 3_900, "{stats:?}");
        assert_eq!(stats.evictions, 2, "{stats:?}");
        assert_eq!(stats.entries, 2);
        assert!(!put("a", 9).await.ran, "the recently used entry stayed");
        assert!(put("b", 1).await.ran, "the least recently used went first");
    }

    #[tokio::test]
    async fn a_result_heavier_than_the_bound_is_answered_and_not_kept() {
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
        let cache = ResultCache::new(clock as Arc<dyn Clock>, 100)
            .with_max_bytes(500, |v: &u32| *v as usize);
        let got = cache
            .get_or_run(key("big"), TTL, || async { Ok(10_000) })
            .await
            .unwrap();
        assert_eq!(*got.value, 10_000);
        // It is the only entry: kept until the next arrival makes room.
        cache
            .get_or_run(key("small"), TTL, || async { Ok(1) })
            .await
            .unwrap();
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.evictions), (1, 1), "{stats:?}");
        assert!(stats.bytes <= 500);
    }

    #[tokio::test]
    async fn clearing_and_failures_give_their_bytes_back() {
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 10:00 UTC)));
        let cache = ResultCache::new(clock as Arc<dyn Clock>, 100)
            .with_max_bytes(1 << 20, |v: &u32| *v as usize);
        cache
            .get_or_run(key("a"), TTL, || async { Ok(100) })
            .await
            .unwrap();
        assert!(cache.stats().bytes >= 100);
        cache.clear();
        assert_eq!(cache.stats().bytes, 0);
        let _ = cache
            .get_or_run(key("b"), TTL, || async {
                Err(DataError::new(DataErrorKind::Timeout, "slow"))
            })
            .await;
        assert_eq!((cache.stats().bytes, cache.stats().entries), (0, 0));
    }

    #[tokio::test]
    async fn past_its_capacity_the_cache_evicts_the_oldest_entry() {
        let (_clock, cache) = cache(2);
        for w in ["a", "b", "c"] {
            cache
                .get_or_run(key(w), TTL, || async { Ok(1) })
                .await
                .unwrap();
        }
        assert_eq!(cache.len(), 2);
        let again = cache
            .get_or_run(key("a"), TTL, || async { Ok(2) })
            .await
            .unwrap();
        assert!(again.ran, "the oldest entry was evicted");
        let kept = cache
            .get_or_run(key("c"), TTL, || async { Ok(3) })
            .await
            .unwrap();
        assert!(!kept.ran);
    }
}
