//! Results → CSV for downloads: RFC 4180, UTF-8, safe to open in a spreadsheet.
//!
//! - **Shape**: a header row of column names, then one record per row; records end with CRLF;
//!   a field is quoted when it holds a comma, a quote, CR or LF (quotes doubled), else written
//!   bare. The writing itself is the `csv` crate's (the same crate the tests parse with), so
//!   quoting and escaping are not ours to get wrong; it also writes a record whose only field
//!   is empty as `""`, so a one-column row holding NULL is not an empty line that readers
//!   skip.
//! - **No byte-order mark.** RFC 4180 and every CSV parser read plain UTF-8; a BOM only helps
//!   old Excel guess the encoding, and it becomes a stray `\u{feff}` in the first column name
//!   for everything else (`csv` in Python, `read_csv` in R, databases' `COPY`).
//! - **Formula injection** (OWASP "CSV Injection"): a *text* cell that starts with `=`, `+`,
//!   `-`, `@`, a tab or a carriage return would be evaluated by a spreadsheet, so it gets a
//!   leading `'` (which spreadsheets hide and treat as "this is text"). Numbers are written
//!   raw: `-12.5` in a number column is data, not a formula. Column names are neutralised
//!   the same way (they come from SQL aliases, which a data source's owner controls).
//! - **Values**: NULL is an empty field; booleans `true` / `false`; integers as is; floats in
//!   Rust's shortest round-trip form, non-finite ones empty; dates and timestamps as the ISO
//!   8601 text the data layer already gives them.

use std::borrow::Cow;

use ::csv::{QuoteStyle, Terminator, WriterBuilder};
use vitrine_core::result::{ResultTable, Value};

/// Renders `table` as CSV bytes (UTF-8, CRLF, a header row, no BOM).
pub fn render_csv(table: &ResultTable) -> Vec<u8> {
    // Writing to a `Vec` cannot fail, and every record has one field per column; should the
    // `csv` crate ever refuse anyway, an empty download is better than a crash.
    write(table).unwrap_or_default()
}

fn write(table: &ResultTable) -> Result<Vec<u8>, ::csv::Error> {
    let mut out = WriterBuilder::new()
        .terminator(Terminator::CRLF)
        .quote_style(QuoteStyle::Necessary)
        .has_headers(false)
        .from_writer(Vec::with_capacity(64 * (table.rows.len() + 1)));
    out.write_record(
        table
            .columns
            .iter()
            .map(|c| neutralised(&c.name).into_owned()),
    )?;
    let mut record: Vec<Cow<'_, str>> = Vec::with_capacity(table.columns.len());
    for row in &table.rows {
        record.clear();
        for (i, column) in table.columns.iter().enumerate() {
            record.push(match row.get(i).unwrap_or(&Value::Null) {
                Value::Null => Cow::Borrowed(""),
                Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
                Value::Int(n) => Cow::Owned(n.to_string()),
                Value::Float(f) if f.is_finite() => Cow::Owned(f.to_string()),
                Value::Float(_) => Cow::Borrowed(""),
                // Some drivers hand decimals over as text: a number column's numeric text is
                // a number, written raw like one.
                Value::Text(t) if column.kind.is_numeric() && is_plain_number(t) => {
                    Cow::Borrowed(t.as_str())
                }
                Value::Text(t) => neutralised(t),
            });
        }
        out.write_record(record.iter().map(|f| f.as_bytes()))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// Whether a text cell would start a formula in a spreadsheet.
pub fn is_formula_like(s: &str) -> bool {
    matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// `-12.5`, `3`, `1e6`: what a number column may carry as text. Anything else in a number
/// column is treated as text (and neutralised when it needs to be).
fn is_plain_number(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// A text cell as written: with a leading `'` when a spreadsheet would take it for a formula
/// (the `csv` writer then quotes it if it needs quotes).
fn neutralised(s: &str) -> Cow<'_, str> {
    if is_formula_like(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}
