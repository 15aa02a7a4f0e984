//! # vitrine-data — running datasets against data sources
//!
//! The data path of DESIGN §4, from a saved widget to a [`ResultTable`]:
//!
//! ```text
//! Widget + effective filters + row-level rules
//!     → compile (per dialect)     → CompiledQuery { sql, params, columns }
//!     → ResultCache (single flight, refresh interval)
//!     → DataSource::run (read-only, timeout, row cap) → ResultTable
//! ```
//!
//! A short tour of the design choices:
//!
//! - [`compile()`] turns a structured [`WidgetQuery`](vitrine_core::dashboard::WidgetQuery) into
//!   one statement `SELECT … FROM (<dataset sql>) AS d WHERE … GROUP BY … ORDER BY … LIMIT …`.
//!   Outsiders never contribute SQL text: identifiers come from the saved definition and must
//!   be columns of the dataset, and are quoted per dialect; every value is a typed bound
//!   [`Param`]. A value that cannot be of the column's type matches nothing.
//! - [`dataset`] checks a dataset's SQL with `sqlparser` when it is saved: exactly one
//!   read-only query. That gives the author a clear message; the real guarantee is the second
//!   wall, [`source`]: the database itself keeps every connection read-only (SQLite read-only
//!   handle + `query_only`, PostgreSQL and MySQL read-only transactions), so a write hidden in a
//!   function call fails at run time.
//! - [`source::DataSource`] uses one concrete sqlx driver per database, never `Any` (which
//!   mis-decodes SQLite booleans and dates), and maps each driver's values to the same
//!   [`Value`](vitrine_core::result::Value)s ([`value`]): numerics as floats, dates and
//!   timestamps as ISO text, booleans as booleans.
//! - [`DataError`] has a stable client-facing kind (`timeout`, `row_cap`, `query_failed`,
//!   `unavailable`, `invalid_definition`, `invalid_input`) and a separate detail for logs; its
//!   `Display` never contains SQL or driver text, so a renderer cannot leak it by accident.
//! - [`clause`] reads Superset-style RLS clauses (`tenant_id = 42 AND region IN ('EU')`) into
//!   structured row-level rules with a real SQL parser, refusing anything that is not a
//!   column compared with values; the clause text itself never reaches a query.
//! - [`location`] turns what an editor types as a data source's location into a
//!   [`DataSourceConfig`] the server's policy allows: SQLite files only inside configured
//!   folders and never Vitrine's own store, database URLs without sockets or file-reading
//!   parameters; [`redacted_display`] shows a location without its password, by
//!   [`redact::redact_url`], which a config's `Debug` uses too.
//! - [`cache::ResultCache`] keys results by widget, effective filter values and rules, keeps
//!   them for the dashboard's refresh interval (clock-injected) and runs concurrent misses
//!   once: a viral public link costs one query per widget per interval. It is bounded by
//!   entries and by bytes; [`lru::WeightedLru`] is the same bound for caches that need no
//!   single flight (drawn cards, dashboard contexts).
#![forbid(unsafe_code)]

pub mod cache;
pub mod clause;
pub mod compile;
pub mod dataset;
pub mod dialect;
pub mod error;
pub mod location;
pub mod lru;
pub mod redact;
pub mod source;
pub mod value;

pub use cache::{CacheKey, CacheStats, Cached, ResultCache};
pub use clause::{ClauseError, check_rule_columns, parse_rule_clause, render_rule_clause};
pub use compile::{
    CompiledQuery, Dialect, KpiQueries, Param, WidgetQueries, compile, compile_distinct_values,
    compile_kpi, compile_widget,
};
pub use dataset::{Dataset, DatasetRejection, check_dataset_sql};
pub use error::{DataError, DataErrorKind};
pub use location::{LocationError, LocationPolicy, parse_location, redacted_display, sqlite_file};
pub use lru::{LruStats, WeightedLru};
pub use redact::redact_url;
pub use source::{DataSource, DataSourceConfig, DataSourceOptions, RowCapPolicy, WidgetData};
pub use vitrine_core::result::ResultTable;
