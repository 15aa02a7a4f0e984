//! The embedded default store: one SQLite file in WAL mode.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// Vitrine's store on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The outsider gate's connections (`crate::readers`).
    gate: std::sync::Arc<crate::readers::Readers<Sqlite>>,
    /// The gate's read on the calling thread (`crate::here`); `None` for an in-memory database.
    here: Option<std::sync::Arc<crate::here::Here>>,
}

/// Each connection's page cache, in KiB (negative: SQLite's unit for a size). SQLite's default
/// is 2,000 KiB per connection, up to 20 MiB for the pool and the gate's readers; the store's
/// hot pages (links, sessions, the log's newest pages) fit in far less, and the operating
/// system caches the file. Measured: 7 MiB less resident memory after the load command's
/// distinct views (docs/performance.md).
const PAGE_CACHE_KIB: &str = "-512";

impl SqliteStore {
    /// SQLite binds `?` placeholders by position; numbered ones are looked up by name, one list
    /// scan each (see `analytics::values_placeholders`).
    pub(crate) const NUMBERED_PLACEHOLDERS: bool = false;

    /// Opens (creating if missing) the database at a `sqlite:` URL, in WAL mode with foreign
    /// keys on and a busy timeout, so concurrent writers wait instead of failing.
    pub async fn connect(url: &str) -> crate::StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", PAGE_CACHE_KIB);
        let file = options.get_filename().to_owned();
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let gate = crate::readers::Readers::beside(&pool);
        // After the pool's first connection created the file (and made it WAL).
        let here = crate::here::Here::of(&file, PAGE_CACHE_KIB).map(std::sync::Arc::new);
        Ok(Self { pool, gate, here })
    }

    /// The gate's row, read on this thread when the file can be read at once (`crate::here`).
    pub(crate) fn gate_here(
        &self,
        sql: &str,
        id: &str,
    ) -> Option<Option<crate::model::LinkGateRow>> {
        self.here
            .as_ref()?
            .fetch_optional(sql, id, crate::model::LinkGateRow::from_rusqlite)
    }

    /// The pool, for tests that read rows directly.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction, begun `IMMEDIATE` so it holds the write lock from its first
    /// statement instead of failing on upgrade.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Serialises reservations on `scope`: nothing to do, since a write transaction (begun
    /// `IMMEDIATE`) already holds the database's one write lock.
    async fn lock_scope(
        _tx: &mut Transaction<'static, Sqlite>,
        _scope: &str,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::Store for SqliteStore {
    fn backend(&self) -> crate::Backend {
        crate::Backend::Sqlite
    }

    async fn migrate(&self) -> crate::StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> crate::StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        if let Some(here) = &self.here {
            here.close();
        }
        self.gate.close().await;
        self.pool.close().await;
    }

    /// One instance per SQLite file: the server's in-process bus carries its changes.
    async fn publish_change(&self, _payload: &str) -> crate::StoreResult<()> {
        Ok(())
    }

    async fn listen_changes(&self) -> crate::StoreResult<Option<crate::ChangeListener>> {
        Ok(None)
    }
}

mod traits {
    crate::sql::impl_store_traits!(super::SqliteStore);
}

mod analytics_traits {
    crate::analytics::impl_analytics!(super::SqliteStore);
}

mod outbox_traits {
    crate::outbox::impl_outbox_store!(super::SqliteStore);
}

mod invitation_traits {
    crate::invitations::impl_invitation_store!(super::SqliteStore);
}

mod audience_traits {
    crate::audience::impl_audience_store!(super::SqliteStore);
}

mod report_traits {
    crate::reports::impl_report_store!(super::SqliteStore);
}

mod embed_traits {
    crate::embed::impl_embed_store!(super::SqliteStore);
}

mod view_code_traits {
    crate::view_codes::impl_view_code_store!(super::SqliteStore);
}
