//! Data sources: pooled, read-only connections to customers' databases, with a statement
//! timeout and a row cap.
//!
//! Read-only is enforced by each database, not by us:
//! - **SQLite** files are opened read-only (`SQLITE_OPEN_READONLY`) with `PRAGMA query_only`.
//! - **PostgreSQL** sessions start with `default_transaction_read_only=on`, and every statement
//!   runs inside `BEGIN READ ONLY` with `SET LOCAL statement_timeout` (a query could call
//!   `set_config` to relax session defaults; it cannot relax a read-only transaction that has
//!   already started).
//! - **MySQL / MariaDB** sessions are `SET SESSION TRANSACTION READ ONLY` and every statement
//!   runs inside `START TRANSACTION READ ONLY`.
//!
//! Timeouts are enforced by the database where it can (`statement_timeout`,
//! `max_execution_time` / MariaDB's `max_statement_time`, an SQLite progress handler that
//! interrupts the statement at its deadline) and by a tokio timeout around everything, a little
//! later, as a backstop that also covers waiting for a connection.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, Postgres};
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{
    AssertSqlSafe, Column as _, Connection, Executor, Row, SqlSafeStr, Statement as _, TypeInfo,
};
use vitrine_core::result::{Column, ColumnType, ResultTable, Value};

use crate::compile::{CompiledQuery, Dialect, Param, WidgetQueries};
use crate::error::{DataError, DataErrorKind};
use crate::redact::redact_url;
use crate::value::{coerce, decode_mysql, decode_pg, decode_sqlite, sqlite_infer};

/// The default per-statement timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default row cap.
pub const DEFAULT_ROW_CAP: usize = 10_000;
/// How much later than the database's own timeout the tokio backstop fires.
const BACKSTOP: Duration = Duration::from_secs(2);

/// Where a data source lives. Serialised by the store (encrypted at rest); `Debug` redacts
/// passwords in URLs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataSourceConfig {
    /// An SQLite database file (opened read-only; it must exist).
    Sqlite {
        /// The file.
        path: PathBuf,
    },
    /// A PostgreSQL server: `postgres://user:password@host:5432/db?sslmode=require`.
    Postgres {
        /// The connection URL.
        url: String,
    },
    /// A MySQL or MariaDB server: `mysql://user:password@host:3306/db`.
    MySql {
        /// The connection URL.
        url: String,
    },
}

impl DataSourceConfig {
    /// The SQL dialect of this source.
    pub fn dialect(&self) -> Dialect {
        match self {
            DataSourceConfig::Sqlite { .. } => Dialect::Sqlite,
            DataSourceConfig::Postgres { .. } => Dialect::Postgres,
            DataSourceConfig::MySql { .. } => Dialect::MySql,
        }
    }
}

/// Shows a server URL as [`redact_url`] does, without the user-info password and without
/// `password=` parameters: a logged config must not leak one.
impl fmt::Debug for DataSourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSourceConfig::Sqlite { path } => {
                f.debug_struct("Sqlite").field("path", path).finish()
            }
            DataSourceConfig::Postgres { url } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .finish(),
            DataSourceConfig::MySql { url } => f
                .debug_struct("MySql")
                .field("url", &redact_url(url))
                .finish(),
        }
    }
}

/// What a widget shows, as fetched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum WidgetData {
    /// Rows for a line, area, bar, pie or table widget.
    Table(ResultTable),
    /// A KPI: the value, the previous period's value (for the change) and the sparkline.
    Kpi {
        /// The measure's column (name and type, for formatting).
        column: Option<Column>,
        /// The current value (`Null` when no row matched).
        value: Value,
        /// The previous period's value; `None` when there is nothing to compare with.
        previous: Option<Value>,
        /// The measure per time bucket, oldest first.
        sparkline: Option<ResultTable>,
    },
}

impl WidgetData {
    /// About the heap bytes this result holds (what the result cache's byte bound counts).
    pub fn heap_bytes(&self) -> usize {
        match self {
            WidgetData::Table(table) => table_bytes(table),
            WidgetData::Kpi {
                column,
                value,
                previous,
                sparkline,
            } => {
                column.as_ref().map_or(0, |c| c.name.len())
                    + value_bytes(value)
                    + previous.as_ref().map_or(0, value_bytes)
                    + sparkline.as_ref().map_or(0, table_bytes)
            }
        }
    }
}

fn value_bytes(value: &vitrine_core::result::Value) -> usize {
    std::mem::size_of::<vitrine_core::result::Value>()
        + match value {
            vitrine_core::result::Value::Text(t) => t.capacity(),
            _ => 0,
        }
}

fn table_bytes(table: &ResultTable) -> usize {
    let columns: usize = table
        .columns
        .iter()
        .map(|c| std::mem::size_of_val(c) + c.name.capacity())
        .sum();
    let rows: usize = table
        .rows
        .iter()
        .map(|row| std::mem::size_of::<Vec<()>>() + row.iter().map(value_bytes).sum::<usize>())
        .sum();
    columns + rows
}

/// What to do when a result has more rows than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowCapPolicy {
    /// Keep the first `row_cap` rows and set [`ResultTable::truncated`].
    #[default]
    Truncate,
    /// Fail with [`DataErrorKind::RowCap`].
    Fail,
}

/// Limits of a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSourceOptions {
    /// Per-statement timeout (default 10 s).
    pub statement_timeout: Duration,
    /// At most this many rows per result (default 10,000).
    pub row_cap: usize,
    /// Truncate or fail past the cap.
    pub row_cap_policy: RowCapPolicy,
    /// Pool size.
    pub max_connections: u32,
}

impl Default for DataSourceOptions {
    fn default() -> Self {
        DataSourceOptions {
            statement_timeout: DEFAULT_TIMEOUT,
            row_cap: DEFAULT_ROW_CAP,
            row_cap_policy: RowCapPolicy::Truncate,
            max_connections: 4,
        }
    }
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// A connected (lazily: connections are made on first use) read-only data source.
#[derive(Debug, Clone)]
pub struct DataSource {
    pool: Pool,
    options: DataSourceOptions,
}

fn invalid_url(e: sqlx::Error) -> DataError {
    // The URL (with its password) must not reach the detail either: only the error's kind.
    let kind = match e {
        sqlx::Error::Configuration(_) => "configuration",
        _ => "other",
    };
    DataError::invalid(format!("the connection URL is not valid ({kind} error)"))
}

impl DataSource {
    /// Prepares the pool; no connection is made until the first query or
    /// [`DataSource::test_connection`], so a server starts even when a warehouse is down.
    pub fn open(config: &DataSourceConfig, options: DataSourceOptions) -> Result<Self, DataError> {
        let timeout_ms = options.statement_timeout.as_millis().max(1);
        let acquire = options.statement_timeout + BACKSTOP;
        let pool = match config {
            DataSourceConfig::Sqlite { path } => {
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .read_only(true)
                    .create_if_missing(false)
                    .pragma("query_only", "ON")
                    .busy_timeout(options.statement_timeout);
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(options.max_connections)
                        .acquire_timeout(acquire)
                        .connect_lazy_with(opts),
                )
            }
            DataSourceConfig::Postgres { url } => {
                let opts = PgConnectOptions::from_str(url)
                    .map_err(invalid_url)?
                    .application_name("vitrine")
                    .options([
                        ("default_transaction_read_only", "on".to_string()),
                        ("statement_timeout", timeout_ms.to_string()),
                        ("TimeZone", "UTC".to_string()),
                    ]);
                Pool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(options.max_connections)
                        .acquire_timeout(acquire)
                        .connect_lazy_with(opts),
                )
            }
            DataSourceConfig::MySql { url } => {
                let opts = MySqlConnectOptions::from_str(url)
                    .map_err(invalid_url)?
                    .timezone(Some("+00:00".to_string()));
                let timeout_ms = timeout_ms as u64;
                Pool::MySql(
                    MySqlPoolOptions::new()
                        .max_connections(options.max_connections)
                        .acquire_timeout(acquire)
                        .after_connect(move |conn, _meta| {
                            Box::pin(async move {
                                let version: String = sqlx::query_scalar("SELECT VERSION()")
                                    .fetch_one(&mut *conn)
                                    .await?;
                                // MariaDB names the timeout differently, in seconds.
                                let timeout = if version.contains("MariaDB") {
                                    format!(
                                        "SET SESSION max_statement_time = {}",
                                        timeout_ms as f64 / 1000.0
                                    )
                                } else {
                                    format!("SET SESSION max_execution_time = {timeout_ms}")
                                };
                                conn.execute(AssertSqlSafe(timeout)).await?;
                                conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                                Ok(())
                            })
                        })
                        .connect_lazy_with(opts),
                )
            }
        };
        Ok(DataSource { pool, options })
    }

    /// The dialect to compile for.
    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::MySql(_) => Dialect::MySql,
        }
    }

    /// The limits.
    pub fn options(&self) -> DataSourceOptions {
        self.options
    }

    /// Connects and runs `SELECT 1`: the "test connection" button.
    pub async fn test_connection(&self) -> Result<(), DataError> {
        let probe = CompiledQuery {
            dialect: self.dialect(),
            sql: "SELECT 1 AS ok".to_string(),
            params: Vec::new(),
            columns: vec![Column {
                name: "ok".into(),
                kind: ColumnType::Integer,
            }],
        };
        let table = self.run(&probe).await?;
        match table.rows.first().and_then(|r| r.first()) {
            Some(Value::Int(1)) => Ok(()),
            other => Err(DataError::new(
                DataErrorKind::Unavailable,
                format!("test query returned {other:?}"),
            )),
        }
    }

    /// Runs a compiled statement, read-only, under the timeout and the row cap. Values are
    /// coerced to the statement's declared column types, so every dialect gives the same
    /// [`Value`]s.
    pub async fn run(&self, query: &CompiledQuery) -> Result<ResultTable, DataError> {
        if query.dialect != self.dialect() {
            return Err(DataError::invalid(format!(
                "a {:?} statement cannot run on a {:?} source",
                query.dialect,
                self.dialect()
            )));
        }
        let table = self
            .with_deadline(self.fetch(&query.sql, &query.params, Some(&query.columns)))
            .await?;
        if table.truncated && self.options.row_cap_policy == RowCapPolicy::Fail {
            return Err(DataError::new(
                DataErrorKind::RowCap,
                format!("more than {} rows", self.options.row_cap),
            ));
        }
        Ok(table)
    }

    /// Runs everything a widget needs: one statement, or a KPI's three (concurrently).
    pub async fn run_widget(&self, queries: &WidgetQueries) -> Result<WidgetData, DataError> {
        match queries {
            WidgetQueries::Single { query } => Ok(WidgetData::Table(self.run(query).await?)),
            WidgetQueries::Kpi(k) => {
                let first_cell = |t: ResultTable| {
                    t.rows
                        .into_iter()
                        .next()
                        .and_then(|r| r.into_iter().next())
                        .unwrap_or(Value::Null)
                };
                let previous = async {
                    match &k.previous {
                        Some(q) => self.run(q).await.map(|t| Some(first_cell(t))),
                        None => Ok(None),
                    }
                };
                let sparkline = async {
                    match &k.sparkline {
                        Some(q) => self.run(q).await.map(Some),
                        None => Ok(None),
                    }
                };
                let (current, previous, sparkline) =
                    tokio::try_join!(self.run(&k.current), previous, sparkline)?;
                let column = k.current.columns.first().cloned();
                Ok(WidgetData::Kpi {
                    column,
                    value: first_cell(current),
                    previous,
                    sparkline,
                })
            }
        }
    }

    /// Discovers a dataset's columns and their types. `sql` must have passed
    /// [`crate::check_dataset_sql`]. Types come from the driver's description of the statement;
    /// where SQLite cannot say (expressions have no declared type) they are inferred from up to
    /// 100 rows. Duplicate column names are refused: widgets name columns.
    pub async fn discover_columns(&self, sql: &str) -> Result<Vec<Column>, DataError> {
        let sql = crate::check_dataset_sql(self.dialect(), sql)?;
        let columns = self.with_deadline(self.describe(&sql)).await?;
        let mut seen = std::collections::HashSet::new();
        for c in &columns {
            if !seen.insert(c.name.as_str()) {
                return Err(DataError::invalid(format!(
                    "two columns are called `{}`; give them distinct aliases",
                    c.name
                )));
            }
        }
        Ok(columns)
    }

    async fn with_deadline<T>(
        &self,
        fut: impl Future<Output = Result<T, DataError>>,
    ) -> Result<T, DataError> {
        let limit = self.options.statement_timeout + BACKSTOP;
        match tokio::time::timeout(limit, fut).await {
            Ok(r) => r,
            Err(_) => Err(DataError::new(
                DataErrorKind::Timeout,
                format!("no answer within {limit:?} (backstop)"),
            )),
        }
    }

    async fn describe(&self, sql: &str) -> Result<Vec<Column>, DataError> {
        let dialect = self.dialect();
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(|e| unavailable(dialect, e))?;
                arm_sqlite(&mut conn, self.options.statement_timeout).await?;
                let stmt = conn
                    .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
                    .await
                    .map_err(|e| map_err(dialect, e))?;
                let declared: Vec<(String, Option<ColumnType>)> = stmt
                    .columns()
                    .iter()
                    .map(|c| {
                        (
                            c.name().to_string(),
                            map_type(dialect, c.type_info().name()),
                        )
                    })
                    .collect();
                drop(stmt);
                if declared.iter().all(|(_, t)| t.is_some()) {
                    return Ok(finish(declared));
                }
                let sample = format!("SELECT * FROM ({sql}) AS d LIMIT 100");
                let rows: Vec<SqliteRow> = sqlx::query(AssertSqlSafe(sample))
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(|e| map_err(dialect, e))?;
                let inferred = declared
                    .into_iter()
                    .enumerate()
                    .map(|(i, (name, t))| (name, t.or_else(|| sqlite_infer(&rows, i))))
                    .collect();
                Ok(finish(inferred))
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await.map_err(|e| unavailable(dialect, e))?;
                let stmt = conn
                    .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
                    .await
                    .map_err(|e| map_err(dialect, e))?;
                Ok(finish(
                    stmt.columns()
                        .iter()
                        .map(|c| {
                            (
                                c.name().to_string(),
                                map_type(dialect, c.type_info().name()),
                            )
                        })
                        .collect(),
                ))
            }
            Pool::MySql(pool) => {
                let mut conn = pool.acquire().await.map_err(|e| unavailable(dialect, e))?;
                let stmt = conn
                    .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
                    .await
                    .map_err(|e| map_err(dialect, e))?;
                Ok(finish(
                    stmt.columns()
                        .iter()
                        .map(|c| {
                            (
                                c.name().to_string(),
                                map_type(dialect, c.type_info().name()),
                            )
                        })
                        .collect(),
                ))
            }
        }
    }

    async fn fetch(
        &self,
        sql: &str,
        params: &[Param],
        expected: Option<&[Column]>,
    ) -> Result<ResultTable, DataError> {
        let dialect = self.dialect();
        let cap = self.options.row_cap;
        let err = |e| map_err(dialect, e);
        let mut table = ResultTable::default();
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(|e| unavailable(dialect, e))?;
                arm_sqlite(&mut conn, self.options.statement_timeout).await?;
                let mut q = sqlx::query::<Sqlite>(AssertSqlSafe(sql.to_string()));
                for p in params {
                    q = match p {
                        Param::Bool(b) => q.bind(*b),
                        Param::Int(i) => q.bind(*i),
                        Param::Float(f) => q.bind(*f),
                        Param::Text(s) => q.bind(s.clone()),
                        Param::Date(d) => q.bind(crate::value::iso_date(*d)),
                    };
                }
                let mut rows = q.fetch(&mut *conn);
                while let Some(row) = rows.try_next().await.map_err(err)? {
                    if table.columns.is_empty() {
                        table.columns = columns_of(&row, expected, dialect);
                    }
                    if table.rows.len() == cap {
                        table.truncated = true;
                        break;
                    }
                    table
                        .rows
                        .push(decode_row(&row, &table.columns, decode_sqlite));
                }
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await.map_err(|e| unavailable(dialect, e))?;
                let mut tx = conn.begin_with("BEGIN READ ONLY").await.map_err(err)?;
                let ms = self.options.statement_timeout.as_millis().max(1);
                tx.execute(AssertSqlSafe(format!("SET LOCAL statement_timeout = {ms}")))
                    .await
                    .map_err(err)?;
                let mut q = sqlx::query::<Postgres>(AssertSqlSafe(sql.to_string()));
                for p in params {
                    q = match p {
                        Param::Bool(b) => q.bind(*b),
                        Param::Int(i) => q.bind(*i),
                        Param::Float(f) => q.bind(*f),
                        Param::Text(s) => q.bind(s.clone()),
                        Param::Date(d) => q.bind(*d),
                    };
                }
                {
                    let mut rows = q.fetch(&mut *tx);
                    while let Some(row) = rows.try_next().await.map_err(err)? {
                        if table.columns.is_empty() {
                            table.columns = columns_of(&row, expected, dialect);
                        }
                        if table.rows.len() == cap {
                            table.truncated = true;
                            break;
                        }
                        table.rows.push(decode_row(&row, &table.columns, decode_pg));
                    }
                }
                tx.rollback().await.map_err(err)?;
            }
            Pool::MySql(pool) => {
                let mut conn = pool.acquire().await.map_err(|e| unavailable(dialect, e))?;
                let mut tx = conn
                    .begin_with("START TRANSACTION READ ONLY")
                    .await
                    .map_err(err)?;
                let mut q = sqlx::query::<MySql>(AssertSqlSafe(sql.to_string()));
                for p in params {
                    q = match p {
                        Param::Bool(b) => q.bind(*b),
                        Param::Int(i) => q.bind(*i),
                        Param::Float(f) => q.bind(*f),
                        Param::Text(s) => q.bind(s.clone()),
                        Param::Date(d) => q.bind(*d),
                    };
                }
                {
                    let mut rows = q.fetch(&mut *tx);
                    while let Some(row) = rows.try_next().await.map_err(err)? {
                        if table.columns.is_empty() {
                            table.columns = columns_of(&row, expected, dialect);
                        }
                        if table.rows.len() == cap {
                            table.truncated = true;
                            break;
                        }
                        table
                            .rows
                            .push(decode_row(&row, &table.columns, decode_mysql));
                    }
                }
                tx.rollback().await.map_err(err)?;
            }
        }
        if table.columns.is_empty()
            && let Some(cols) = expected
        {
            table.columns = cols.to_vec();
        }
        Ok(table)
    }
}

/// Installs an SQLite progress handler that interrupts the statement at its deadline. It is
/// re-armed before every use of a connection, so an old deadline never outlives its query.
async fn arm_sqlite(
    conn: &mut sqlx::pool::PoolConnection<Sqlite>,
    timeout: Duration,
) -> Result<(), DataError> {
    let deadline = Instant::now() + timeout;
    let mut handle = conn
        .lock_handle()
        .await
        .map_err(|e| map_err(Dialect::Sqlite, e))?;
    handle.set_progress_handler(1_000, move || Instant::now() < deadline);
    drop(handle);
    // Belt and braces: the file is opened read-only anyway, but `query_only` is re-asserted in
    // case anything ever switched it off on this pooled connection.
    conn.execute("PRAGMA query_only = ON")
        .await
        .map_err(|e| map_err(Dialect::Sqlite, e))?;
    Ok(())
}

fn finish(cols: Vec<(String, Option<ColumnType>)>) -> Vec<Column> {
    cols.into_iter()
        .map(|(name, kind)| Column {
            name,
            kind: kind.unwrap_or(ColumnType::Text),
        })
        .collect()
}

fn columns_of<R: Row>(row: &R, expected: Option<&[Column]>, dialect: Dialect) -> Vec<Column> {
    match expected {
        Some(cols) if cols.len() == row.columns().len() => cols.to_vec(),
        _ => row
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_string(),
                kind: map_type(dialect, c.type_info().name()).unwrap_or(ColumnType::Text),
            })
            .collect(),
    }
}

fn decode_row<R: Row>(row: &R, columns: &[Column], decode: fn(&R, usize) -> Value) -> Vec<Value> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| coerce(decode(row, i), c.kind))
        .collect()
}

/// Maps a driver's type name to a [`ColumnType`]; `None` when the driver cannot tell (an SQLite
/// expression) or the type is unknown.
pub fn map_type(dialect: Dialect, name: &str) -> Option<ColumnType> {
    let n = name.to_ascii_uppercase();
    let n = n.trim_end_matches(" UNSIGNED");
    use ColumnType::*;
    match dialect {
        Dialect::Sqlite => match n {
            "INTEGER" | "INT" | "BIGINT" => Some(Integer),
            "REAL" | "NUMERIC" | "FLOAT" | "DOUBLE" => Some(Number),
            "TEXT" | "BLOB" => Some(Text),
            "BOOLEAN" => Some(Boolean),
            "DATE" => Some(Date),
            "DATETIME" | "TIMESTAMP" => Some(Timestamp),
            _ => None,
        },
        Dialect::Postgres => Some(match n {
            "BOOL" => Boolean,
            "INT2" | "INT4" | "INT8" | "OID" => Integer,
            "FLOAT4" | "FLOAT8" | "NUMERIC" | "MONEY" => Number,
            "DATE" => Date,
            "TIMESTAMP" | "TIMESTAMPTZ" => Timestamp,
            _ => Text,
        }),
        Dialect::MySql => Some(match n {
            "BOOLEAN" => Boolean,
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => Integer,
            "FLOAT" | "DOUBLE" | "DECIMAL" => Number,
            "DATE" => Date,
            "DATETIME" | "TIMESTAMP" => Timestamp,
            _ => Text,
        }),
    }
}

/// Failing to get a connection (refused, unknown host, bad password, missing file) means the
/// source is unavailable, whatever the driver calls it.
fn unavailable(dialect: Dialect, e: sqlx::Error) -> DataError {
    let mapped = map_err(dialect, e);
    match mapped.kind() {
        DataErrorKind::Timeout => mapped,
        _ => DataError::new(DataErrorKind::Unavailable, mapped.detail()),
    }
}

/// The one place driver errors become [`DataError`]s.
fn map_err(dialect: Dialect, e: sqlx::Error) -> DataError {
    let detail = e.to_string();
    let kind = match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let timed_out = match dialect {
                Dialect::Postgres => code == "57014",
                Dialect::MySql => {
                    let number = db
                        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                        .map(|m| m.number())
                        .unwrap_or(0);
                    matches!(number, 3024 | 1969 | 1317)
                }
                // SQLITE_INTERRUPT, raised by the progress handler at the deadline.
                Dialect::Sqlite => code == "9" || db.message().contains("interrupted"),
            };
            if timed_out {
                DataErrorKind::Timeout
            } else {
                DataErrorKind::QueryFailed
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Configuration(_) => DataErrorKind::Unavailable,
        _ => DataErrorKind::QueryFailed,
    };
    DataError::new(kind, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_config_never_shows_the_password() {
        let c = DataSourceConfig::Postgres {
            url: "postgres://app:s3cr3t@db.internal:5432/sales?sslmode=require".into(),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("app:***@db.internal:5432/sales"), "{shown}");
        // A password in the query, even one holding an `@` that once passed for user info.
        for url in [
            "postgres://app@db/sales?password=s3cr3t",
            "postgres://db/sales?password=s3cr3t@x",
            "mysql://root@db/shop?sslmode=required&password=s3cr3t",
        ] {
            let c = DataSourceConfig::Postgres { url: url.into() };
            let shown = format!("{c:?}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }

    #[test]
    fn driver_types_map_to_column_types() {
        assert_eq!(
            map_type(Dialect::Postgres, "NUMERIC"),
            Some(ColumnType::Number)
        );
        assert_eq!(
            map_type(Dialect::Postgres, "TIMESTAMPTZ"),
            Some(ColumnType::Timestamp)
        );
        assert_eq!(
            map_type(Dialect::MySql, "BIGINT UNSIGNED"),
            Some(ColumnType::Integer)
        );
        assert_eq!(
            map_type(Dialect::MySql, "BOOLEAN"),
            Some(ColumnType::Boolean)
        );
        assert_eq!(map_type(Dialect::Sqlite, "NULL"), None);
        assert_eq!(
            map_type(Dialect::Sqlite, "DATETIME"),
            Some(ColumnType::Timestamp)
        );
    }
}
