//! Datasets: one read-only query, checked with a real SQL parser when it is saved.
//!
//! Parsing is the first of two walls. It rejects what is visibly not a read-only query — a
//! `DELETE`, DDL, two statements, `SELECT … INTO`, `FOR UPDATE`, a data-modifying CTE,
//! placeholders — with a message that helps the author. It cannot see what a function call
//! does (`nextval`, a user function that writes), so the second wall is the connection itself,
//! which the database keeps read-only ([`crate::source`]).

use std::fmt;

use sqlparser::ast::{Query, SetExpr, Statement, TableFactor};
use sqlparser::dialect::{
    Dialect as ParserDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect,
};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
use vitrine_core::result::Column;

use crate::dialect::Dialect;
use crate::error::DataError;

/// The longest dataset SQL accepted, in bytes.
pub const MAX_DATASET_SQL: usize = 100_000;

/// Why a dataset's SQL was refused. The message is for the dataset's author (an owner), and
/// may quote the parser; it is never shown to outsiders ([`DataError`] is what they see).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRejection {
    message: String,
}

impl DatasetRejection {
    fn new(message: impl Into<String>) -> Self {
        DatasetRejection {
            message: message.into(),
        }
    }

    /// The message for the author.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DatasetRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DatasetRejection {}

impl From<DatasetRejection> for DataError {
    fn from(r: DatasetRejection) -> Self {
        DataError::invalid(format!("dataset rejected: {}", r.message))
    }
}

fn parser_dialect(d: Dialect) -> Box<dyn ParserDialect> {
    match d {
        Dialect::Sqlite => Box::new(SQLiteDialect {}),
        Dialect::Postgres => Box::new(PostgreSqlDialect {}),
        Dialect::MySql => Box::new(MySqlDialect {}),
    }
}

const ONE_QUERY: &str =
    "a dataset must be exactly one read-only query (SELECT, WITH … SELECT or VALUES)";

/// Checks that `sql` is exactly one read-only query in `dialect` and returns it ready to be
/// wrapped as a subquery: trailing semicolons and trailing comments removed.
pub fn check_dataset_sql(dialect: Dialect, sql: &str) -> Result<String, DatasetRejection> {
    if sql.len() > MAX_DATASET_SQL {
        return Err(DatasetRejection::new(format!(
            "the query is longer than {MAX_DATASET_SQL} bytes"
        )));
    }
    let pd = parser_dialect(dialect);
    let statements = Parser::parse_sql(pd.as_ref(), sql)
        .map_err(|e| DatasetRejection::new(format!("the query does not parse: {e}")))?;
    let stmt = match statements.as_slice() {
        [] => return Err(DatasetRejection::new("the query is empty")),
        [one] => one,
        more => {
            return Err(DatasetRejection::new(format!(
                "{ONE_QUERY}; found {} statements",
                more.len()
            )));
        }
    };
    if !matches!(stmt, Statement::Query(_)) {
        return Err(DatasetRejection::new(format!(
            "{ONE_QUERY}; this is {}",
            describe(stmt)
        )));
    }
    if let Statement::Query(q) = stmt {
        check_query(q).map_err(|msg| DatasetRejection::new(format!("{ONE_QUERY}; {msg}")))?;
    }
    let tokens = Tokenizer::new(pd.as_ref(), sql)
        .tokenize_with_location()
        .map_err(|e| DatasetRejection::new(format!("the query does not parse: {e}")))?;
    if tokens
        .iter()
        .any(|t| matches!(t.token, Token::Placeholder(_)))
    {
        return Err(DatasetRejection::new(
            "parameters (`?`, `$1`) are not allowed in a dataset: use dashboard filters instead",
        ));
    }
    Ok(trim_tail(sql, &tokens))
}

/// "a DELETE statement", "a schema change (CREATE)" — from the statement's own first keyword,
/// which is stable across parser versions.
fn describe(stmt: &Statement) -> String {
    let text = stmt.to_string();
    let word = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    match word.as_str() {
        "CREATE" | "DROP" | "ALTER" | "TRUNCATE" | "RENAME" | "COMMENT" => {
            format!("a schema change ({word})")
        }
        "" => "not a query".to_string(),
        w => format!("a {w} statement"),
    }
}

/// Walks the query: CTEs, set operations, derived tables. (Subqueries inside expressions are
/// not walked: what they could do — a lock, a write — the read-only connection refuses.)
fn check_query(q: &Query) -> Result<(), String> {
    if !q.locks.is_empty() {
        return Err("locking clauses (FOR UPDATE / FOR SHARE) are not allowed".into());
    }
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            check_query(&cte.query)?;
        }
    }
    check_set_expr(&q.body)
}

fn check_set_expr(body: &SetExpr) -> Result<(), String> {
    match body {
        SetExpr::Select(s) => {
            if s.into.is_some() {
                return Err("SELECT … INTO is not allowed".into());
            }
            for t in &s.from {
                check_factor(&t.relation)?;
                for j in &t.joins {
                    check_factor(&j.relation)?;
                }
            }
            Ok(())
        }
        SetExpr::Query(q) => check_query(q),
        SetExpr::SetOperation { left, right, .. } => {
            check_set_expr(left)?;
            check_set_expr(right)
        }
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
            Err(format!(
                "it contains {}; data-modifying statements are not allowed, not even in a WITH clause",
                describe(s)
            ))
        }
        _ => Ok(()),
    }
}

fn check_factor(f: &TableFactor) -> Result<(), String> {
    match f {
        TableFactor::Derived { subquery, .. } => check_query(subquery),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            check_factor(&table_with_joins.relation)?;
            for j in &table_with_joins.joins {
                check_factor(&j.relation)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The text up to the last significant token: no trailing `;`, whitespace or comments (a
/// trailing `-- comment` would otherwise swallow the `) AS d` the compiler appends).
fn trim_tail(sql: &str, tokens: &[TokenWithSpan]) -> String {
    let insignificant =
        |t: &Token| matches!(t, Token::Whitespace(_) | Token::SemiColon | Token::EOF);
    let Some(last) = tokens.iter().rposition(|t| !insignificant(&t.token)) else {
        return String::new();
    };
    let Some(next) = tokens.get(last + 1) else {
        return sql.trim().to_string();
    };
    let loc = next.span.start;
    let offset = sql
        .split_inclusive('\n')
        .take(loc.line.saturating_sub(1) as usize)
        .map(str::len)
        .sum::<usize>();
    let line_start = &sql[offset..];
    let cut = offset
        + line_start
            .char_indices()
            .nth(loc.column.saturating_sub(1) as usize)
            .map(|(i, _)| i)
            .unwrap_or(line_start.len());
    sql[..cut].trim().to_string()
}

/// A dataset ready to be compiled against: its slug, its checked SQL and its columns.
///
/// Only [`Dataset::new`] builds one, so the compiler never wraps SQL that was not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    slug: String,
    sql: String,
    columns: Vec<Column>,
}

impl Dataset {
    /// Checks `sql` for `dialect` ([`check_dataset_sql`]) and wraps it with its columns (as
    /// discovered when it was saved).
    pub fn new(
        dialect: Dialect,
        slug: impl Into<String>,
        sql: &str,
        columns: Vec<Column>,
    ) -> Result<Self, DatasetRejection> {
        Ok(Dataset {
            slug: slug.into(),
            sql: check_dataset_sql(dialect, sql)?,
            columns,
        })
    }

    /// The slug widgets use to name it.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The checked SQL, without trailing semicolons or comments.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Its columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(d: Dialect, sql: &str) -> String {
        check_dataset_sql(d, sql).unwrap_err().message().to_string()
    }

    #[test]
    fn a_plain_select_a_cte_and_values_are_accepted() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            assert_eq!(
                check_dataset_sql(d, "SELECT a FROM t;").unwrap(),
                "SELECT a FROM t"
            );
            check_dataset_sql(d, "WITH x AS (SELECT 1 AS a) SELECT a FROM x").unwrap();
            check_dataset_sql(d, "SELECT a FROM t UNION ALL SELECT b FROM u").unwrap();
        }
        check_dataset_sql(Dialect::Postgres, "VALUES (1, 'a'), (2, 'b')").unwrap();
    }

    #[test]
    fn trailing_semicolons_and_comments_are_cut_so_the_query_can_be_wrapped() {
        let sql = "SELECT a -- the a\nFROM t ; -- done\n";
        assert_eq!(
            check_dataset_sql(Dialect::Sqlite, sql).unwrap(),
            "SELECT a -- the a\nFROM t"
        );
        assert_eq!(
            check_dataset_sql(Dialect::Postgres, "SELECT 'é' AS x /* c */").unwrap(),
            "SELECT 'é' AS x"
        );
    }

    #[test]
    fn writes_ddl_and_several_statements_are_refused_with_a_clear_message() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            assert!(rejected(d, "DELETE FROM t").contains("DELETE statement"));
            assert!(rejected(d, "UPDATE t SET a = 1").contains("UPDATE statement"));
            assert!(rejected(d, "INSERT INTO t VALUES (1)").contains("INSERT statement"));
            assert!(rejected(d, "DROP TABLE t").contains("schema change (DROP)"));
            assert!(rejected(d, "CREATE TABLE x (a INT)").contains("schema change (CREATE)"));
            assert!(rejected(d, "SELECT 1; SELECT 2").contains("2 statements"));
            assert!(rejected(d, "SELECT 1; DELETE FROM t").contains("2 statements"));
            assert!(rejected(d, "").contains("empty"));
        }
    }

    #[test]
    fn a_write_hidden_in_a_cte_into_or_a_lock_is_refused() {
        let m = rejected(
            Dialect::Postgres,
            "WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone",
        );
        assert!(m.contains("read-only"), "{m}");
        assert!(rejected(Dialect::Postgres, "SELECT * INTO copy FROM t").contains("INTO"));
        assert!(rejected(Dialect::Postgres, "SELECT * FROM t FOR UPDATE").contains("locking"));
        assert!(rejected(Dialect::MySql, "SELECT * FROM t FOR UPDATE").contains("locking"));
    }

    #[test]
    fn placeholders_in_a_dataset_are_refused() {
        assert!(rejected(Dialect::Sqlite, "SELECT * FROM t WHERE a = ?").contains("parameters"));
        assert!(rejected(Dialect::Postgres, "SELECT * FROM t WHERE a = $1").contains("parameters"));
    }

    #[test]
    fn a_syntax_error_says_it_does_not_parse() {
        assert!(rejected(Dialect::Sqlite, "SELEC a FROM t").contains("does not parse"));
    }
}
