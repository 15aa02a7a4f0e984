//! Results → CSV for downloads: RFC 4180, UTF-8, safe to open in a spreadsheet.
//!
//! - **Shape**: a header row of column names, then one record per row; records end with CRLF;
//!   a field is quoted when it holds a comma, a quote, CR or LF (quotes doubled), else written
//!   bare.
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

use vitrine_core::result::{ResultTable, Value};

/// Renders `table` as CSV bytes (UTF-8, CRLF, a header row, no BOM).
pub fn render_csv(table: &ResultTable) -> Vec<u8> {
    let mut out = String::with_capacity(64 * (table.rows.len() + 1));
    for (i, column) in table.columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_text(&mut out, &column.name);
    }
    out.push_str("\r\n");
    for row in &table.rows {
        for (i, column) in table.columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match row.get(i).unwrap_or(&Value::Null) {
                Value::Null => {}
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Int(n) => out.push_str(&n.to_string()),
                Value::Float(f) if f.is_finite() => out.push_str(&f.to_string()),
                Value::Float(_) => {}
                // Some drivers hand decimals over as text: a number column's numeric text is
                // a number, written raw like one.
                Value::Text(t) if column.kind.is_numeric() && is_plain_number(t) => {
                    out.push_str(t);
                }
                Value::Text(t) => push_text(&mut out, t),
            }
        }
        out.push_str("\r\n");
    }
    out.into_bytes()
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

fn push_text(out: &mut String, s: &str) {
    let neutralise = is_formula_like(s);
    let quote = s.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if neutralise {
        out.push('\'');
    }
    if quote {
        for c in s.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}
