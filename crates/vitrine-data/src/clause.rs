//! Superset-style row-level security clauses → structured [`RowLevelRule`]s.
//!
//! Teams moving from Apache Superset bring RLS "clauses": SQL text such as
//! `tenant_id = '42' AND region IN ('EMEA', 'APAC')` that Superset pastes into every query.
//! Vitrine never pastes SQL text (DESIGN §3, §5a): [`parse_rule_clause`] reads such a clause
//! with a real SQL parser and accepts exactly the part that *is* a structured rule:
//!
//! - comparisons of **one plain column** (optionally quoted: `"tenant id"`, `` `tenant` ``)
//!   with **literals** (strings, numbers, `TRUE` / `FALSE`, negative numbers): `=`, `!=` /
//!   `<>`, `<`, `<=`, `>`, `>=`, `IN (…)`, `NOT IN (…)`, `BETWEEN … AND …`; a literal on the
//!   left is fine (`'42' = tenant_id`, `5 < x` becomes `x > 5`);
//! - joined by `AND`, with parentheses around the whole clause or around terms.
//!
//! Everything else is refused with a message that names the part: `OR` (a rule set is a
//! conjunction; an `OR` could widen what a tenant sees), `NOT` other than `NOT IN`,
//! subqueries, functions, casts and typed literals, two columns compared, arithmetic, `LIKE`,
//! `IS NULL`, `NULL`, comments, semicolons, placeholders, an empty clause. Comments are also
//! looked for in the raw text, even inside quotes: the parser drops comments, and a rule set
//! that someone tried to comment out is better refused than half-read.
//!
//! [`render_rule_clause`] writes rules back as a clause that parses to the same rules, and
//! [`check_rule_columns`] checks rules against a dataset's columns when they are saved.

use std::fmt;

use sqlparser::ast::{BinaryOperator, Expr, InTarget, UnaryOperator, Value};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::ALL_KEYWORDS;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
use vitrine_core::dashboard::{RowLevelRule, RuleOp, Scalar};
use vitrine_core::result::{Column, ColumnType};

use crate::compile::to_param;

/// The longest clause read, in bytes (a thousand `IN` values fit comfortably).
pub const MAX_CLAUSE_LEN: usize = 64 * 1024;

/// How deeply the parser may nest; a clause is flat, so this only stops pathological input.
const RECURSION_LIMIT: usize = 32;

/// Why a clause could not become rules. The message names the unsupported part; it is for
/// the rule's author (an owner or an API client), never shown to outsiders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClauseError {
    message: String,
}

impl ClauseError {
    fn new(message: impl Into<String>) -> Self {
        ClauseError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ClauseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClauseError {}

/// `expr` as SQL, shortened for a message.
fn quoted(expr: &impl fmt::Display) -> String {
    let text = expr.to_string();
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!("`{short}`")
}

/// Reads a Superset-style RLS clause into rules that all must hold. See the module
/// documentation for what is accepted.
pub fn parse_rule_clause(clause: &str) -> Result<Vec<RowLevelRule>, ClauseError> {
    if clause.len() > MAX_CLAUSE_LEN {
        return Err(ClauseError::new(format!(
            "the clause is longer than {MAX_CLAUSE_LEN} bytes"
        )));
    }
    if clause.trim().is_empty() {
        return Err(ClauseError::new(
            "the clause is empty: write a condition such as tenant_id = 42",
        ));
    }
    // The parser drops comments, so look at the raw text too (even inside quotes).
    for marker in ["--", "/*", "*/"] {
        if clause.contains(marker) {
            return Err(ClauseError::new(format!(
                "comments (`--`, `/* */`) are not allowed in a clause, not even inside a value (found `{marker}`)"
            )));
        }
    }
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, clause)
        .tokenize_with_location()
        .map_err(|e| ClauseError::new(format!("the clause does not parse: {e}")))?;
    for t in &tokens {
        match &t.token {
            Token::Whitespace(
                Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_),
            ) => return Err(ClauseError::new("comments are not allowed in a clause")),
            Token::SemiColon => {
                return Err(ClauseError::new(
                    "semicolons are not allowed: a clause is one condition, not statements",
                ));
            }
            Token::Placeholder(p) => {
                return Err(ClauseError::new(format!(
                    "placeholders (`{p}`) are not allowed: write the value itself"
                )));
            }
            _ => {}
        }
    }
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens);
    let expr = parser
        .parse_expr()
        .map_err(|e| ClauseError::new(format!("the clause does not parse: {e}")))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(ClauseError::new(format!(
            "unexpected `{}` after the condition: a clause is one condition (join terms with AND)",
            next.token
        )));
    }
    let mut rules = Vec::new();
    conjunction(&expr, &mut rules)?;
    Ok(rules)
}

/// Collects the terms of `a AND (b AND c)`.
fn conjunction(expr: &Expr, rules: &mut Vec<RowLevelRule>) -> Result<(), ClauseError> {
    match expr {
        Expr::Nested(inner) => conjunction(inner, rules),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjunction(left, rules)?;
            conjunction(right, rules)
        }
        other => {
            rules.push(term(other)?);
            Ok(())
        }
    }
}

/// One comparison.
fn term(expr: &Expr) -> Result<RowLevelRule, ClauseError> {
    let rule = |column: String, op: RuleOp, values: Vec<Scalar>| {
        RowLevelRule::new(column, op, values)
            .map_err(|e| ClauseError::new(format!("{}: {e}", quoted(expr))))
    };
    match expr {
        Expr::Nested(inner) => term(inner),
        Expr::BinaryOp { left, op, right } => {
            let op_of = |op: &BinaryOperator| match op {
                BinaryOperator::Eq => Some(RuleOp::Eq),
                BinaryOperator::NotEq => Some(RuleOp::Ne),
                BinaryOperator::Lt => Some(RuleOp::Lt),
                BinaryOperator::LtEq => Some(RuleOp::Lte),
                BinaryOperator::Gt => Some(RuleOp::Gt),
                BinaryOperator::GtEq => Some(RuleOp::Gte),
                _ => None,
            };
            let Some(rule_op) = op_of(op) else {
                return Err(unsupported_operator(op, expr));
            };
            match (column_of(left), column_of(right)) {
                (Some(a), Some(b)) => Err(ClauseError::new(format!(
                    "{} compares two columns (`{a}` and `{b}`): compare one column with a value",
                    quoted(expr)
                ))),
                (Some(column), None) => rule(column, rule_op, vec![literal(right)?]),
                (None, Some(column)) => {
                    // `'42' = tenant_id`, `5 < x`: the value came first.
                    let flipped = rule_op.flipped().unwrap_or(rule_op);
                    rule(column, flipped, vec![literal(left)?])
                }
                (None, None) => {
                    // Name the problem on the side that is not a value, if any.
                    literal(left)?;
                    literal(right)?;
                    Err(ClauseError::new(format!(
                        "{} compares two values: a rule compares one column with a value",
                        quoted(expr)
                    )))
                }
            }
        }
        Expr::In {
            expr: subject,
            target,
            negated,
            ..
        } => {
            let column = require_column(subject)?;
            let list = match target {
                InTarget::List(list) => list,
                InTarget::Subquery(_) => {
                    return Err(ClauseError::new(format!(
                        "subqueries are not supported: {}",
                        quoted(expr)
                    )));
                }
                InTarget::Unnest(_) | InTarget::Table { .. } => {
                    return Err(ClauseError::new(format!(
                        "`IN` takes a list of values here: {}",
                        quoted(expr)
                    )));
                }
            };
            let values = list.iter().map(literal).collect::<Result<Vec<_>, _>>()?;
            let op = if *negated { RuleOp::NotIn } else { RuleOp::In };
            rule(column, op, values)
        }
        Expr::Between {
            expr: subject,
            negated,
            low,
            high,
        } => {
            if *negated {
                return Err(ClauseError::new(format!(
                    "`NOT BETWEEN` is not supported: {} (a rule set keeps rows inside ranges)",
                    quoted(expr)
                )));
            }
            let column = require_column(subject)?;
            rule(column, RuleOp::Between, vec![literal(low)?, literal(high)?])
        }
        other => Err(unsupported(other)),
    }
}

/// The column named by a plain (optionally quoted) identifier.
fn column_of(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(ident.value.clone()),
        Expr::Nested(inner) => column_of(inner),
        _ => None,
    }
}

fn require_column(expr: &Expr) -> Result<String, ClauseError> {
    column_of(expr).ok_or_else(|| match expr {
        Expr::Value(_) => ClauseError::new(format!(
            "{} is a value where a column was expected",
            quoted(expr)
        )),
        other => unsupported(other),
    })
}

/// A literal: a string, a number (optionally negative), `TRUE` or `FALSE`.
fn literal(expr: &Expr) -> Result<Scalar, ClauseError> {
    match expr {
        Expr::Nested(inner) => literal(inner),
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Ok(Scalar::Text(s.clone())),
            Value::Number(n, false) => number(n, false, expr),
            Value::Boolean(b) => Ok(Scalar::Bool(*b)),
            Value::Null => Err(ClauseError::new(
                "`NULL` is not a value a rule can compare with (`IS NULL` is not supported either)",
            )),
            Value::Placeholder(p) => Err(ClauseError::new(format!(
                "placeholders (`{p}`) are not allowed: write the value itself"
            ))),
            _ => Err(ClauseError::new(format!(
                "{} is not a plain value: use 'single quotes' for text",
                quoted(expr)
            ))),
        },
        Expr::UnaryOp {
            op: op @ (UnaryOperator::Minus | UnaryOperator::Plus),
            expr: inner,
        } => match inner.as_ref() {
            Expr::Value(v) => match &v.value {
                Value::Number(n, false) => number(n, *op == UnaryOperator::Minus, expr),
                _ => Err(ClauseError::new(format!(
                    "arithmetic is not supported: {}",
                    quoted(expr)
                ))),
            },
            _ => Err(ClauseError::new(format!(
                "arithmetic is not supported: {}",
                quoted(expr)
            ))),
        },
        Expr::Identifier(ident) => Err(ClauseError::new(format!(
            "`{}` is a column where a value was expected (text goes in 'single quotes')",
            ident.value
        ))),
        other => Err(unsupported(other)),
    }
}

/// `42` → Int, `10.5` / `1e3` → Float; a whole number that does not fit 64 bits is refused
/// rather than rounded (a rounded tenant id would be another tenant's).
fn number(text: &str, negative: bool, expr: &Expr) -> Result<Scalar, ClauseError> {
    let signed = if negative {
        format!("-{text}")
    } else {
        text.to_string()
    };
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return signed.parse::<i64>().map(Scalar::Int).map_err(|_| {
            ClauseError::new(format!(
                "{} is too large for a whole number (64 bits)",
                quoted(expr)
            ))
        });
    }
    match signed.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Scalar::Float(f)),
        _ => Err(ClauseError::new(format!(
            "{} is not a number a rule can use",
            quoted(expr)
        ))),
    }
}

fn unsupported_operator(op: &BinaryOperator, expr: &Expr) -> ClauseError {
    match op {
        BinaryOperator::Or => ClauseError::new(format!(
            "`OR` is not supported: {} (every rule must hold; give the audience one rule per condition, or an IN list)",
            quoted(expr)
        )),
        BinaryOperator::Plus
        | BinaryOperator::Minus
        | BinaryOperator::Multiply
        | BinaryOperator::Divide
        | BinaryOperator::Modulo
        | BinaryOperator::StringConcat => {
            ClauseError::new(format!("arithmetic is not supported: {}", quoted(expr)))
        }
        other => ClauseError::new(format!(
            "the operator `{other}` is not supported in {}",
            quoted(expr)
        )),
    }
}

/// The message for anything that is not a comparison of a column with values.
fn unsupported(expr: &Expr) -> ClauseError {
    let what = match expr {
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            ..
        } => "`NOT` is not supported (only `NOT IN`)",
        Expr::UnaryOp { .. } => "this operator is not supported",
        Expr::BinaryOp {
            op: BinaryOperator::Or,
            ..
        } => "`OR` is not supported",
        Expr::BinaryOp { .. } => "arithmetic and other operators are not supported",
        Expr::Subquery(_) | Expr::Exists { .. } => "subqueries are not supported",
        Expr::Function(_) => "functions are not supported",
        Expr::Cast { .. } | Expr::Convert { .. } => "casts are not supported",
        Expr::TypedString(_) => "typed literals (`DATE '…'`) are not supported: write '2026-11-23'",
        Expr::Like { .. } | Expr::ILike { .. } | Expr::SimilarTo { .. } | Expr::RLike { .. } => {
            "`LIKE` and pattern matching are not supported"
        }
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsNotTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_)
        | Expr::IsDistinctFrom(..)
        | Expr::IsNotDistinctFrom(..) => "`IS NULL` and other `IS` tests are not supported",
        Expr::CompoundIdentifier(_) => {
            "qualified names (`t.x`) are not supported: name the dataset's column alone"
        }
        Expr::Case { .. } => "`CASE` is not supported",
        Expr::Identifier(_) => "a column alone is not a condition: compare it with a value",
        Expr::Value(_) => "a value alone is not a condition",
        _ => "this expression is not supported",
    };
    ClauseError::new(format!("{what}: {}", quoted(expr)))
}

/// Writes `rules` as a clause that [`parse_rule_clause`] reads back as the same rules:
/// `"tenant_id" = 42 AND region IN ('EMEA', 'APAC')`. A rule's `dataset` is not part of a
/// clause (set it again with [`RowLevelRule::for_dataset`]), and a text value containing a
/// comment marker (`--`, `/*`, `*/`) renders but is refused when read back. No rules render as
/// the empty string.
pub fn render_rule_clause(rules: &[RowLevelRule]) -> String {
    let terms: Vec<String> = rules
        .iter()
        .map(|r| {
            let col = render_ident(&r.column);
            let values: Vec<String> = r.values.iter().map(render_literal).collect();
            match r.op {
                RuleOp::In | RuleOp::NotIn => {
                    let not = if r.op == RuleOp::NotIn { "NOT " } else { "" };
                    format!("{col} {not}IN ({})", values.join(", "))
                }
                RuleOp::Between => format!(
                    "{col} BETWEEN {} AND {}",
                    values.first().map_or("NULL", String::as_str),
                    values.get(1).map_or("NULL", String::as_str)
                ),
                op => {
                    let sym = if op == RuleOp::Ne { "<>" } else { op.as_str() };
                    format!(
                        "{col} {sym} {}",
                        values.first().map_or("NULL", String::as_str)
                    )
                }
            }
        })
        .collect();
    terms.join(" AND ")
}

/// A bare name when it is a plain lower-case identifier and not a keyword, else `"quoted"`.
fn render_ident(name: &str) -> String {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !ALL_KEYWORDS.contains(&name.to_ascii_uppercase().as_str());
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn render_literal(v: &Scalar) -> String {
    match v {
        Scalar::Bool(true) => "TRUE".into(),
        Scalar::Bool(false) => "FALSE".into(),
        Scalar::Int(i) => i.to_string(),
        // `{:?}` always has a `.` or an exponent (`1.0`, `1e20`), so it reads back as a float,
        // and is Rust's shortest form that round-trips.
        Scalar::Float(f) => format!("{f:?}"),
        Scalar::Text(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

/// Checks rules against the columns of the dataset they will restrict: every column must
/// exist (the message names it, and suggests a name that differs only in case), and every
/// value must be of the column's type — a value that cannot be (text for an integer column,
/// `'2026-11-23 10:00'` for a date) would silently match nothing.
pub fn check_rule_columns(rules: &[RowLevelRule], columns: &[Column]) -> Result<(), String> {
    for r in rules {
        let Some(col) = columns.iter().find(|c| c.name == r.column) else {
            let hint = columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&r.column))
                .map(|c| format!(" (did you mean `{}`?)", c.name))
                .unwrap_or_default();
            return Err(format!(
                "unknown column `{}`{hint}: the dataset's columns are {}",
                r.column,
                columns
                    .iter()
                    .take(30)
                    .map(|c| format!("`{}`", c.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        for v in &r.values {
            if to_param(v, col.kind).is_none() {
                return Err(format!(
                    "the value {} cannot be compared with `{}`, which holds {}",
                    render_literal(v),
                    col.name,
                    kind_words(col.kind)
                ));
            }
        }
    }
    Ok(())
}

fn kind_words(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Integer => "whole numbers",
        ColumnType::Number => "numbers",
        ColumnType::Text => "text",
        ColumnType::Boolean => "true / false",
        ColumnType::Date => "dates (write them as '2026-11-23')",
        ColumnType::Timestamp => "timestamps (compare them with dates written as '2026-11-23')",
    }
}
