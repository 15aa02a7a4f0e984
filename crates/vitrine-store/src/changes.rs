//! The change feed: how one instance tells the others sharing its database that a share link
//! or a workspace changed, so that open live streams can close within a second everywhere.
//!
//! On PostgreSQL this is `NOTIFY` / `LISTEN` on one channel ([`CHANNEL`]); notifications are
//! transient (a listener that was disconnected misses them), so a listener reports the gap
//! ([`Change::Resync`]) and callers keep a periodic re-check as a safety net. SQLite serves one
//! instance, whose in-process bus is enough: there it has no feed.

use sqlx::postgres::PgListener;

use crate::StoreResult;

/// The PostgreSQL channel changes travel on.
pub const CHANNEL: &str = "vitrine_changes";

/// What a listener heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A payload another instance (or this one) published.
    Payload(String),
    /// The connection dropped and was re-established: anything may have been missed.
    Resync,
}

/// Listens to the change feed of a PostgreSQL store.
#[derive(Debug)]
pub struct ChangeListener {
    listener: PgListener,
    lost: bool,
}

impl ChangeListener {
    pub(crate) async fn connect(pool: &sqlx::PgPool) -> StoreResult<Self> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Self {
            listener,
            lost: false,
        })
    }

    /// The next change. After a lost connection (re-established by the driver on the next
    /// call) this returns [`Change::Resync`] once. Errors when the database cannot be reached
    /// again; callers retry after a pause.
    pub async fn recv(&mut self) -> StoreResult<Change> {
        if std::mem::take(&mut self.lost) {
            return Ok(Change::Resync);
        }
        match self.listener.try_recv().await? {
            Some(notification) => Ok(Change::Payload(notification.payload().to_owned())),
            None => {
                // The connection was lost; the driver reconnects on the next call.
                self.lost = true;
                Ok(Change::Resync)
            }
        }
    }
}
