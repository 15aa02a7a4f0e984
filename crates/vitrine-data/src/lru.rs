//! A small least-recently-used map bounded by entries and by bytes, for caches of things that
//! are computed cheaply enough not to need single flight (drawn cards, built dashboard
//! contexts). [`crate::cache::ResultCache`] keeps its own accounting because its entries are
//! weighed only once their query has answered.
//!
//! Why our own and not a crate: it is ~100 lines over `HashMap` + `BTreeMap` (use order), the
//! weights are ours to define, and the counters (`entries`, `bytes`, `evictions`) feed
//! `/metrics` directly. Every operation is O(log n) under one mutex.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`WeightedLru`] holds and has dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LruStats {
    /// Lookups that found an entry.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Entries dropped to stay within the bounds.
    pub evictions: u64,
    /// Entries now.
    pub entries: u64,
    /// The weight of the entries now (about their heap bytes).
    pub bytes: u64,
}

struct Entry<V> {
    value: V,
    weight: u64,
    tick: u64,
}

struct Inner<K, V> {
    map: HashMap<K, Entry<V>>,
    /// Use order: tick → key. The first is the least recently used.
    order: BTreeMap<u64, K>,
    tick: u64,
    bytes: u64,
}

/// A map of at most `max_entries` entries weighing at most `max_bytes` together; past either,
/// the least recently used go. An entry heavier than `max_bytes` alone is not kept.
pub struct WeightedLru<K, V> {
    max_entries: usize,
    max_bytes: u64,
    inner: Mutex<Inner<K, V>>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl<K, V> std::fmt::Debug for WeightedLru<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightedLru")
            .field("max_entries", &self.max_entries)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> WeightedLru<K, V> {
    /// The weight the entries may have together.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// An empty map bounded by `max_entries` (at least 1) and `max_bytes`.
    pub fn new(max_entries: usize, max_bytes: u64) -> Self {
        WeightedLru {
            max_entries: max_entries.max(1),
            max_bytes,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
                bytes: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value under `key` (a clone: keep values cheap to clone, such as an `Arc`), now the
    /// most recently used.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut inner = self.lock();
        inner.tick += 1;
        let tick = inner.tick;
        let Some(entry) = inner.map.get_mut(key) else {
            drop(inner);
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let old = std::mem::replace(&mut entry.tick, tick);
        let value = entry.value.clone();
        if let Some(k) = inner.order.remove(&old) {
            inner.order.insert(tick, k);
        }
        drop(inner);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(value)
    }

    /// Keeps `value` under `key` (replacing what was there) with this weight, then drops the
    /// least recently used entries until within both bounds.
    pub fn insert(&self, key: K, value: V, weight: usize) {
        let weight = weight as u64;
        let mut inner = self.lock();
        if let Some(old) = inner.map.remove(&key) {
            inner.order.remove(&old.tick);
            inner.bytes -= old.weight;
        }
        if weight > self.max_bytes {
            self.evictions.fetch_add(1, Ordering::Relaxed);
            return;
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.order.insert(tick, key.clone());
        inner.map.insert(
            key,
            Entry {
                value,
                weight,
                tick,
            },
        );
        inner.bytes += weight;
        let mut evicted = 0;
        while inner.map.len() > self.max_entries || inner.bytes > self.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(gone) = inner.map.remove(&oldest) {
                inner.bytes -= gone.weight;
                evicted += 1;
            }
        }
        drop(inner);
        self.evictions.fetch_add(evicted, Ordering::Relaxed);
    }

    /// Drops every entry for which `keep` says no (not counted as evictions).
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        let mut inner = self.lock();
        let gone: Vec<(K, u64, u64)> = inner
            .map
            .iter()
            .filter(|(k, e)| !keep(k, &e.value))
            .map(|(k, e)| (k.clone(), e.tick, e.weight))
            .collect();
        for (k, tick, weight) in gone {
            inner.map.remove(&k);
            inner.order.remove(&tick);
            inner.bytes -= weight;
        }
    }

    /// Hits, misses and evictions since it was made; entries and bytes now.
    pub fn stats(&self) -> LruStats {
        let (entries, bytes) = {
            let inner = self.lock();
            (inner.map.len() as u64, inner.bytes)
        };
        LruStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries,
            bytes,
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_its_byte_bound_the_least_recently_used_go_first() {
        let lru = WeightedLru::new(100, 1_000);
        lru.insert("a", 1, 400);
        lru.insert("b", 2, 400);
        assert_eq!(lru.get(&"a"), Some(1), "a is now the most recently used");
        lru.insert("c", 3, 400);
        assert_eq!(lru.get(&"b"), None, "b was the least recently used");
        assert_eq!(lru.get(&"a"), Some(1));
        assert_eq!(lru.get(&"c"), Some(3));
        let stats = lru.stats();
        assert_eq!(
            (stats.entries, stats.bytes, stats.evictions),
            (2, 800, 1),
            "{stats:?}"
        );
    }

    #[test]
    fn past_its_entry_bound_the_oldest_goes() {
        let lru = WeightedLru::new(2, u64::MAX);
        for (i, k) in ["a", "b", "c"].into_iter().enumerate() {
            lru.insert(k, i, 1);
        }
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.get(&"a"), None);
        assert_eq!(lru.stats().evictions, 1);
    }

    #[test]
    fn an_entry_heavier_than_the_bound_is_not_kept_and_replacing_counts_once() {
        let lru = WeightedLru::new(10, 1_000);
        lru.insert("a", 1, 300);
        lru.insert("a", 2, 500);
        assert_eq!(lru.stats().bytes, 500, "the replaced weight is given back");
        lru.insert("huge", 3, 5_000);
        assert_eq!(lru.get(&"huge"), None);
        assert_eq!(lru.get(&"a"), Some(2), "nothing else was pushed out for it");
        lru.retain(|_, v| *v != 2);
        assert_eq!((lru.stats().entries, lru.stats().bytes), (0, 0));
    }

    #[test]
    fn many_inserts_never_exceed_the_bounds() {
        let lru = WeightedLru::new(50, 10_000);
        for i in 0..10_000u64 {
            lru.insert(i, i, (i % 700) as usize);
            let s = lru.stats();
            assert!(s.bytes <= 10_000 && s.entries <= 50, "{s:?}");
        }
    }
}
