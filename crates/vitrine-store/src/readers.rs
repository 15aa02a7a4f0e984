//! Connections of their own for the hottest read, the outsider gate (one per request of every
//! share link, embedded page and stream; DESIGN §5 forbids caching it).
//!
//! A pooled connection costs more than its query: on the way back into sqlx's pool it is
//! pinged from a task spawned for the purpose — on SQLite a second hand-off to the
//! connection's thread, on PostgreSQL a second round trip to the server — and the pool's
//! acquire takes a permit and an idle connection under locks. [`Readers`] keeps a few
//! connections beside the pool, opened with the pool's own options on first use; a read takes
//! one that is free, or waits for one. A connection whose query
//! failed or was abandoned mid-way (the request went away) is closed rather than reused, and
//! the next read opens a new one; a kept connection the database closed meanwhile (a restart,
//! a terminated session) is replaced within the read, as the pool's test before acquire would.
//! Each read is its own statement outside any transaction, so it
//! sees every write committed before it began, as a pooled read does. The store's `close`
//! closes them with the pool.

use sqlx::{ConnectOptions as _, Database, Executor, FromRow, IntoArguments, Pool};
use tokio::sync::Semaphore;

/// Connections kept beside each store's pool for the outsider gate's read.
pub(crate) const GATE_CONNECTIONS: usize = 2;

/// A few connections outside the pool, for one hot read; see the module documentation.
pub(crate) struct Readers<DB: Database> {
    pool: Pool<DB>,
    /// One permit per connection: a read holds one while it uses a connection.
    permits: Semaphore,
    /// The connections open and not in use.
    idle: std::sync::Mutex<Vec<DB::Connection>>,
    /// How many connections at most (the permits there are).
    count: usize,
}

impl<DB: Database> std::fmt::Debug for Readers<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl<DB> Readers<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    /// The outsider gate's readers beside `pool`: [`GATE_CONNECTIONS`] of them.
    pub(crate) fn beside(pool: &Pool<DB>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self::new(pool.clone(), GATE_CONNECTIONS))
    }

    /// At most `count` connections (at least one), opened like `pool`'s when first needed.
    pub(crate) fn new(pool: Pool<DB>, count: usize) -> Self {
        Self {
            pool,
            permits: Semaphore::new(count.max(1)),
            idle: std::sync::Mutex::new(Vec::new()),
            count: count.max(1),
        }
    }

    /// The row `sql` (one `$1` / `?` parameter) returns for `id`, if any.
    pub(crate) async fn fetch_optional<O>(
        &self,
        sql: &'static str,
        id: &str,
    ) -> Result<Option<O>, sqlx::Error>
    where
        O: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        // Held only here while in use: dropped, not put back, if this read fails or is
        // abandoned mid-way.
        let kept = self.idle().pop();
        let reused = kept.is_some();
        let mut connection = match kept {
            Some(connection) => connection,
            None => self.pool.connect_options().connect().await?,
        };
        let row = match Self::read(&mut connection, sql, id).await {
            Ok(row) => row,
            // A kept connection that the database or the network closed meanwhile (a restart,
            // an idle timeout): once more on a new one, as the pool's test before acquire does.
            Err(error) if reused && connection_lost(&error) => {
                drop(connection);
                connection = self.pool.connect_options().connect().await?;
                Self::read(&mut connection, sql, id).await?
            }
            Err(error) => return Err(error),
        };
        self.idle().push(connection);
        Ok(row)
    }

    async fn read<O>(
        connection: &mut DB::Connection,
        sql: &'static str,
        id: &str,
    ) -> Result<Option<O>, sqlx::Error>
    where
        O: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
    {
        sqlx::query_as::<DB, O>(sql)
            .bind(id)
            .fetch_optional(connection)
            .await
    }

    /// Refuses further reads, waits for those under way, and closes every connection (the
    /// store's `close`, with the pool's).
    pub(crate) async fn close(&self) {
        let count = u32::try_from(self.count).unwrap_or(u32::MAX);
        // Every permit back means no read is under way; then no new one may start.
        if let Ok(all) = self.permits.acquire_many(count).await {
            all.forget();
        }
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle());
        for connection in idle {
            let _ = sqlx::Connection::close(connection).await;
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<DB::Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `error` says the connection is gone rather than the read wrong: an I/O or protocol
/// failure, SQLite's connection thread gone, or PostgreSQL's session ended by the server
/// (SQLSTATE class 57P, operator intervention — a shutdown or a terminated backend) or a
/// connection exception (class 08).
fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error
            .code()
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_sees_every_write_committed_before_it_and_survives_a_failed_one() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display());
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .connect(&url)
            .await
            .unwrap();
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES ('a', 0)")
            .execute(&pool)
            .await
            .unwrap();
        let readers = Readers::new(pool.clone(), 2);
        let read = || readers.fetch_optional::<(i64,)>("SELECT v FROM t WHERE id = $1", "a");
        // Several rounds, so that both connections are in use and reused.
        for v in 1..=20_i64 {
            sqlx::query("UPDATE t SET v = $1 WHERE id = 'a'")
                .bind(v)
                .execute(&pool)
                .await
                .unwrap();
            let (first, second) = tokio::join!(read(), read());
            assert_eq!(first.unwrap(), Some((v,)), "no read sees an older value");
            assert_eq!(second.unwrap(), Some((v,)));
        }
        assert_eq!(
            readers
                .fetch_optional::<(i64,)>("SELECT v FROM t WHERE id = $1", "b")
                .await
                .unwrap(),
            None
        );
        // A failed read closes its connection; the next read opens another.
        assert!(
            readers
                .fetch_optional::<(i64,)>("SELECT v FROM missing WHERE id = $1", "a")
                .await
                .is_err()
        );
        assert_eq!(read().await.unwrap(), Some((20,)));
        assert!(readers.idle().len() <= 2, "never more than its connections");

        // Closed with the store: its connections go, and no read starts after.
        readers.close().await;
        assert!(readers.idle().is_empty());
        assert!(matches!(read().await, Err(sqlx::Error::PoolClosed)));
    }

    #[tokio::test]
    async fn a_kept_connection_the_database_closed_is_replaced_without_failing_a_read() {
        let Ok(url) = std::env::var("VITRINE_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("VITRINE_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "VITRINE_TEST_POSTGRES_URL is required (VITRINE_REQUIRE_SERVICES=1)"
            );
            eprintln!("SKIPPED: set VITRINE_TEST_POSTGRES_URL to run this test on PostgreSQL");
            return;
        };
        let name = format!("vitrine-readers-{}", std::process::id());
        let options = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .unwrap()
            .application_name(&name);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap();
        let readers = Readers::new(pool.clone(), 1);
        let read = || readers.fetch_optional::<(i64,)>("SELECT 7::BIGINT WHERE $1 = 'a'", "a");
        assert_eq!(read().await.unwrap(), Some((7,)));
        // The database ends the reader's session (as a restart or an idle timeout would).
        let ended: Vec<(bool,)> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&name)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(
            ended.iter().any(|(ended,)| *ended),
            "the reader's session ended"
        );
        assert_eq!(
            read().await.unwrap(),
            Some((7,)),
            "read on a new connection"
        );
        assert_eq!(read().await.unwrap(), Some((7,)));
        readers.close().await;
    }
}
