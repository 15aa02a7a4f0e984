//! Fixtures: a table of orders in a fresh, uniquely named place in each database.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};
use vitrine_data::{DataSource, DataSourceConfig, DataSourceOptions, Dialect};

/// Which database a story runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
    MySql,
}

impl Db {
    pub fn dialect(self) -> Dialect {
        match self {
            Db::Sqlite => Dialect::Sqlite,
            Db::Postgres => Dialect::Postgres,
            Db::MySql => Dialect::MySql,
        }
    }

    fn env(self) -> Option<&'static str> {
        match self {
            Db::Sqlite => None,
            Db::Postgres => Some("VITRINE_TEST_POSTGRES_URL"),
            Db::MySql => Some("VITRINE_TEST_MYSQL_URL"),
        }
    }

    /// The server URL, or `None` (after a loud SKIPPED line) when it is not configured.
    pub fn url(self, test: &str) -> Option<String> {
        let var = self.env()?;
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                if std::env::var("VITRINE_REQUIRE_SERVICES").as_deref() == Ok("1") {
                    panic!("{test}: {var} is not set but VITRINE_REQUIRE_SERVICES=1");
                }
                // Written to the real stderr, past the test harness's capture, so it is seen.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "\nSKIPPED: {test} on {self:?} — set {var} (e.g. {}) to run it",
                    match self {
                        Db::Postgres => "postgres://postgres@127.0.0.1:5432/test",
                        _ => "mysql://root@127.0.0.1:3306/test",
                    }
                );
                None
            }
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test (in this run or a parallel one) uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() % 100_000)
            .unwrap_or(0)
    )
}

enum Admin {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        pool: PgPool,
        schema: String,
    },
    MySql {
        pool: MySqlPool,
        tables: Vec<String>,
    },
}

/// An `orders` table with seven rows, a read-only [`DataSource`] over it, and a writable
/// admin handle to set things up and check that nothing was written.
pub struct Fixture {
    pub db: Db,
    /// The qualified, quoted table name to use in dataset SQL.
    pub orders: String,
    admin: Admin,
    url: Option<String>,
    cleaned: bool,
}

pub const ROWS: &str = "
  (1, 'EU',   'pro',   120.50, TRUE,  '2025-12-31 23:30:00', 1),
  (2, 'EU',   'basic',  20.00, FALSE, '2026-01-05 10:00:00', 2),
  (3, 'US',   'pro',   200.00, TRUE,  '2026-02-14 12:00:00', 1),
  (4, 'US',   'pro',    80.25, TRUE,  '2026-03-31 08:00:00', 3),
  (5, 'APAC', 'basic',  15.00, TRUE,  '2026-04-01 09:00:00', 2),
  (6, 'EU',   'pro',    99.75, FALSE, '2026-11-22 18:00:00', 3),
  (7, 'US',   'basic',  10.00, TRUE,  '2026-11-23 07:15:00', 1)";

impl Fixture {
    /// Creates the table, or returns `None` when the database is not configured.
    pub async fn new(db: Db, test: &str) -> Option<Fixture> {
        let url = match db {
            Db::Sqlite => None,
            _ => Some(db.url(test)?),
        };
        let fixture = match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("warehouse.db");
                let mut conn = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .connect()
                    .await
                    .unwrap();
                conn.execute(
                    "CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT, plan TEXT, amount REAL, \
                     active BOOLEAN, ordered_at DATETIME, customer_id INTEGER)",
                )
                .await
                .unwrap();
                conn.execute(AssertSqlSafe(format!("INSERT INTO orders VALUES {ROWS}")))
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                Fixture {
                    db,
                    orders: "orders".into(),
                    admin: Admin::Sqlite { _dir: dir, path },
                    url,
                    cleaned: false,
                }
            }
            Db::Postgres => {
                let opts = PgConnectOptions::from_str(url.as_deref().unwrap()).unwrap();
                let pool = PgPoolOptions::new()
                    .max_connections(2)
                    .connect_with(opts)
                    .await
                    .unwrap();
                let schema = unique("vt");
                pool.execute(AssertSqlSafe(format!(
                    "CREATE SCHEMA {schema}; CREATE TABLE {schema}.orders (id int PRIMARY KEY, \
                     region text, plan text, amount numeric(12,2), active boolean, \
                     ordered_at timestamp, customer_id int); \
                     INSERT INTO {schema}.orders VALUES {ROWS}"
                )))
                .await
                .unwrap();
                Fixture {
                    db,
                    orders: format!("{schema}.orders"),
                    admin: Admin::Postgres { pool, schema },
                    url,
                    cleaned: false,
                }
            }
            Db::MySql => {
                let opts = MySqlConnectOptions::from_str(url.as_deref().unwrap()).unwrap();
                let pool = MySqlPoolOptions::new()
                    .max_connections(2)
                    .connect_with(opts)
                    .await
                    .unwrap();
                let table = unique("vt_orders");
                pool.execute(AssertSqlSafe(format!(
                    "CREATE TABLE {table} (id INT PRIMARY KEY, region VARCHAR(20), \
                     plan VARCHAR(20), amount DECIMAL(12,2), active BOOLEAN, ordered_at DATETIME, \
                     customer_id INT)"
                )))
                .await
                .unwrap();
                pool.execute(AssertSqlSafe(format!("INSERT INTO {table} VALUES {ROWS}")))
                    .await
                    .unwrap();
                Fixture {
                    db,
                    orders: table.clone(),
                    admin: Admin::MySql {
                        pool,
                        tables: vec![table],
                    },
                    url,
                    cleaned: false,
                }
            }
        };
        Some(fixture)
    }

    pub fn config(&self) -> DataSourceConfig {
        match (&self.admin, &self.url) {
            (Admin::Sqlite { path, .. }, _) => DataSourceConfig::Sqlite { path: path.clone() },
            (Admin::Postgres { .. }, Some(url)) => DataSourceConfig::Postgres { url: url.clone() },
            (Admin::MySql { .. }, Some(url)) => DataSourceConfig::MySql { url: url.clone() },
            _ => unreachable!("server fixtures have a URL"),
        }
    }

    /// A read-only source with these limits.
    pub fn source(&self, options: DataSourceOptions) -> DataSource {
        DataSource::open(&self.config(), options).unwrap()
    }

    /// A read-only source with a short timeout.
    pub fn default_source(&self) -> DataSource {
        self.source(DataSourceOptions {
            statement_timeout: Duration::from_secs(2),
            ..DataSourceOptions::default()
        })
    }

    /// Runs `sql` with the writable admin handle.
    pub async fn admin(&mut self, sql: &str) {
        match &mut self.admin {
            Admin::Sqlite { path, .. } => {
                let mut conn = SqliteConnectOptions::new()
                    .filename(&*path)
                    .connect()
                    .await
                    .unwrap();
                conn.execute(AssertSqlSafe(sql.to_string())).await.unwrap();
                conn.close().await.unwrap();
            }
            Admin::Postgres { pool, .. } => {
                pool.execute(AssertSqlSafe(sql.to_string())).await.unwrap();
            }
            Admin::MySql { pool, .. } => {
                pool.execute(AssertSqlSafe(sql.to_string())).await.unwrap();
            }
        }
    }

    /// Remembers a MySQL object to drop at cleanup (`FUNCTION x` / `TABLE x`).
    pub fn drop_later(&mut self, what: &str) {
        if let Admin::MySql { tables, .. } = &mut self.admin {
            tables.push(what.to_string());
        }
    }

    /// The number of rows in the orders table, through the writable handle.
    pub async fn count_orders(&self) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {}", self.orders);
        match &self.admin {
            Admin::Sqlite { path, .. } => {
                let mut conn = SqliteConnectOptions::new()
                    .filename(path)
                    .connect()
                    .await
                    .unwrap();
                let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                n
            }
            Admin::Postgres { pool, .. } => sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap(),
            Admin::MySql { pool, .. } => sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }

    /// Drops what the fixture created.
    pub async fn cleanup(mut self) {
        self.drop_objects().await;
    }

    async fn drop_objects(&mut self) {
        if std::mem::replace(&mut self.cleaned, true) {
            return;
        }
        match &self.admin {
            Admin::Sqlite { .. } => {}
            Admin::Postgres { pool, schema } => {
                pool.execute(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .await
                    .unwrap();
                pool.close().await;
            }
            Admin::MySql { pool, tables } => {
                for t in tables.iter().rev() {
                    let stmt = if t.contains(' ') {
                        format!("DROP {t}")
                    } else {
                        format!("DROP TABLE {t}")
                    };
                    pool.execute(AssertSqlSafe(stmt)).await.unwrap();
                }
                pool.close().await;
            }
        }
    }
}

impl Drop for Fixture {
    /// A failed assertion must not leave tables behind: clean up on the way out of a panic too
    /// (the stories run on the multi-threaded runtime, where blocking here is allowed).
    fn drop(&mut self) {
        if self.cleaned || matches!(self.admin, Admin::Sqlite { .. }) {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            tokio::task::block_in_place(|| handle.block_on(self.drop_objects()));
        }
    }
}
