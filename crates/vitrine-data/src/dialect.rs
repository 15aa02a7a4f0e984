//! SQL dialects: how each database quotes identifiers, writes placeholders and time buckets.
//! The compiler writes every statement through these, and the dataset checker parses with them.

use serde::Serialize;
use vitrine_core::dashboard::TimeBucket;

/// A SQL dialect: how to quote, how to write placeholders and time buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// SQLite: `"x"`, `?`.
    Sqlite,
    /// PostgreSQL: `"x"`, `$1`.
    Postgres,
    /// MySQL / MariaDB: `` `x` ``, `?`.
    MySql,
}

impl Dialect {
    /// Quotes an identifier: `"a""b"` (SQLite, PostgreSQL) or `` `a``b` `` (MySQL).
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::Sqlite | Dialect::Postgres => format!("\"{}\"", ident.replace('"', "\"\"")),
            Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
        }
    }

    /// The placeholder of the `n`-th parameter (1-based).
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite | Dialect::MySql => "?".to_string(),
        }
    }

    pub(crate) fn bucket(self, bucket: TimeBucket, col: &str) -> String {
        use TimeBucket::*;
        match (self, bucket) {
            (Dialect::Sqlite, Day) => format!("date({col})"),
            (Dialect::Sqlite, Week) => format!(
                "date({col}, '-' || ((CAST(strftime('%w', {col}) AS INTEGER) + 6) % 7) || ' days')"
            ),
            (Dialect::Sqlite, Month) => format!("date({col}, 'start of month')"),
            (Dialect::Sqlite, Quarter) => format!(
                "date({col}, 'start of month', '-' || ((CAST(strftime('%m', {col}) AS INTEGER) - 1) % 3) || ' months')"
            ),
            (Dialect::Sqlite, Year) => format!("date({col}, 'start of year')"),
            (Dialect::Postgres, b) => {
                let unit = match b {
                    Day => "day",
                    Week => "week",
                    Month => "month",
                    Quarter => "quarter",
                    Year => "year",
                };
                format!("CAST(date_trunc('{unit}', {col}) AS DATE)")
            }
            (Dialect::MySql, Day) => format!("DATE({col})"),
            (Dialect::MySql, Week) => format!("DATE_SUB(DATE({col}), INTERVAL WEEKDAY({col}) DAY)"),
            (Dialect::MySql, Month) => {
                format!("DATE_SUB(DATE({col}), INTERVAL (DAYOFMONTH({col}) - 1) DAY)")
            }
            (Dialect::MySql, Quarter) => {
                format!("(MAKEDATE(YEAR({col}), 1) + INTERVAL (QUARTER({col}) - 1) QUARTER)")
            }
            (Dialect::MySql, Year) => format!("MAKEDATE(YEAR({col}), 1)"),
        }
    }
}
