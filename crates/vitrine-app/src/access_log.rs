//! Plain page views written to the access log in batches (group commit).
//!
//! Every outsider page view is an access event, and each event is a write transaction with its
//! rollups ([`vitrine_store::AccessEventStore::record_access`]). Written one by one, a popular
//! link spends most of a view's time waiting for the store's one write lock. Here a view's
//! event is handed to one writer task, which gathers events for at most [`WINDOW`] or
//! [`MAX_BATCH`] events, whichever comes first, and writes them in one transaction
//! ([`vitrine_store::AccessEventStore::record_accesses`]).
//!
//! What is **not** batched, on purpose: everything a decision reads back. A refusal, a wrong
//! password, an unlock, a download are written before the request is answered, as before;
//! the password throttle reserves its attempts in the store synchronously
//! ([`crate::attempts`]); a link with a view limit counts the view in one atomic statement
//! before it is admitted. Only the `ok` event of an admitted view waits for the batch — no
//! count that limits anyone depends on it.
//!
//! An event written directly (a refusal, a download) first flushes the views queued before it,
//! so on one instance the log's order is the order the server answered in, even where two
//! events share a millisecond.
//!
//! Reads of the log on this instance ([`crate::analytics`], the links' statistics and event
//! lists) call [`AccessLog::flush`] first, so an owner never misses a view this instance
//! already answered. Shutdown flushes too; a crash loses at most one window of view events
//! (never a refusal, never a count a limit depends on). When the queue is full or the writer
//! is gone (its runtime shut down), an event is written directly, as before.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use vitrine_store::{AccessEvent, Store};

/// The longest an event waits for others before its batch is written.
pub const WINDOW: Duration = Duration::from_millis(50);
/// The most events written in one transaction.
pub const MAX_BATCH: usize = 256;
/// Events queued for the writer at most; past it, events are written directly.
const QUEUE: usize = 16_384;

enum Message {
    Event(AccessEvent),
    Flush(oneshot::Sender<()>),
}

/// Counters of the batcher, for `/metrics` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessLogStats {
    /// Batches written (transactions).
    pub batches: u64,
    /// Events written in batches.
    pub batched_events: u64,
    /// Events written directly because the queue was full or the writer gone.
    pub direct_events: u64,
    /// Events lost because their batch failed to write (logged).
    pub failed_events: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    batched_events: AtomicU64,
    direct_events: AtomicU64,
    failed_events: AtomicU64,
}

/// The batching access-log writer. One per [`crate::App`]; its task starts with the first
/// event (inside whichever Tokio runtime records it).
pub struct AccessLog {
    store: Arc<dyn Store>,
    sender: OnceLock<mpsc::Sender<Message>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl AccessLog {
    /// A writer for `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        AccessLog {
            store,
            sender: OnceLock::new(),
            counters: Arc::new(Counters::default()),
        }
    }

    /// What it has written so far.
    pub fn stats(&self) -> AccessLogStats {
        let c = &self.counters;
        AccessLogStats {
            batches: c.batches.load(Ordering::Relaxed),
            batched_events: c.batched_events.load(Ordering::Relaxed),
            direct_events: c.direct_events.load(Ordering::Relaxed),
            failed_events: c.failed_events.load(Ordering::Relaxed),
        }
    }

    fn sender(&self) -> &mpsc::Sender<Message> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_batches(self.store.clone(), rx, self.counters.clone()));
            tx
        })
    }

    /// Queues a plain view event for the next batch; written directly when the queue is full
    /// or its writer is gone.
    pub async fn record_view(&self, event: AccessEvent) -> Result<(), vitrine_store::StoreError> {
        let event = match self.sender().try_send(Message::Event(event)) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Full(Message::Event(e)))
            | Err(mpsc::error::TrySendError::Closed(Message::Event(e))) => e,
            Err(_) => return Ok(()),
        };
        self.counters.direct_events.fetch_add(1, Ordering::Relaxed);
        self.store.record_access(&event).await
    }

    /// Writes every event queued so far and returns once they are committed (or failed).
    pub async fn flush(&self) {
        let Some(sender) = self.sender.get() else {
            return;
        };
        let (done, wait) = oneshot::channel();
        if sender.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// The writer: takes the first event, gathers more until the window closes, the batch is
/// full or a flush is asked for, writes them in one transaction, and answers the flushes.
async fn write_batches(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Message>,
    counters: Arc<Counters>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut flushed = Vec::new();
    while let Some(first) = rx.recv().await {
        match first {
            Message::Event(e) => batch.push(e),
            Message::Flush(done) => flushed.push(done),
        }
        if flushed.is_empty() {
            let deadline = tokio::time::Instant::now() + WINDOW;
            while batch.len() < MAX_BATCH {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(Message::Event(e))) => batch.push(e),
                    Ok(Some(Message::Flush(done))) => {
                        flushed.push(done);
                        break;
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        }
        if !batch.is_empty() {
            let n = batch.len() as u64;
            match store.record_accesses(&batch).await {
                Ok(()) => {
                    counters.batches.fetch_add(1, Ordering::Relaxed);
                    counters.batched_events.fetch_add(n, Ordering::Relaxed);
                }
                Err(error) => {
                    counters.failed_events.fetch_add(n, Ordering::Relaxed);
                    tracing::error!(%error, events = n, "could not write a batch of access events");
                }
            }
            batch.clear();
        }
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn view(i: usize) -> AccessEvent {
        AccessEvent {
            workspace_id: None,
            link_id: Some("L".into()),
            at: datetime!(2026-11-30 10:00 UTC),
            outcome: "ok".into(),
            country: None,
            client_class: "desktop".into(),
            client: format!("c{i}"),
            viewer: None,
        }
    }

    async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vitrine.db").display());
        let store = vitrine_store::open(&url).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn views_are_written_in_batches_and_a_flush_waits_for_them() {
        let (_dir, store) = store().await;
        let log = AccessLog::new(store.clone());
        for i in 0..600 {
            log.record_view(view(i)).await.unwrap();
        }
        log.flush().await;
        assert_eq!(store.access_events("L", 1_000).await.unwrap().len(), 600);
        let stats = log.stats();
        assert_eq!(stats.batched_events, 600, "{stats:?}");
        assert!(
            stats.batches >= 3 && stats.batches < 600,
            "at most {MAX_BATCH} per batch, fewer batches than events: {stats:?}"
        );
    }

    #[tokio::test]
    async fn an_event_is_written_after_the_window_without_a_flush() {
        let (_dir, store) = store().await;
        let log = AccessLog::new(store.clone());
        log.record_view(view(0)).await.unwrap();
        // Nothing else comes: the writer writes it on its own once the window closes.
        for _ in 0..500 {
            if log.stats().batched_events == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(log.stats().batched_events, 1);
        assert_eq!(store.access_events("L", 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_flush_with_nothing_queued_returns() {
        let (_dir, store) = store().await;
        let log = AccessLog::new(store);
        log.flush().await;
        log.record_view(view(1)).await.unwrap();
        log.flush().await;
        log.flush().await;
        assert_eq!(log.stats().batched_events, 1);
    }
}
