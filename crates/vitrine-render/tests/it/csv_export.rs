//! CSV downloads: RFC 4180 through a real parser, and formula cells neutralised.

use crate::helpers::{col, customers, text};
use vitrine_core::result::{ColumnType, ResultTable, Value};
use vitrine_render::render_csv;

fn parse(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    reader
        .records()
        .map(|r| r.expect("valid CSV").iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn awkward_text_round_trips_through_a_csv_parser() {
    let awkward = [
        "plain",
        "with, comma",
        "with \"quotes\"",
        "two\r\nlines",
        "line\nfeed",
        "Zürich – 東京 ✓",
        "",
        " padded ",
    ];
    let table = ResultTable {
        columns: vec![
            col("label", ColumnType::Text),
            col("n", ColumnType::Integer),
        ],
        rows: awkward
            .iter()
            .enumerate()
            .map(|(i, s)| vec![text(s), Value::Int(i as i64)])
            .collect(),
        truncated: false,
    };
    let bytes = render_csv(&table);
    let s = std::str::from_utf8(&bytes).expect("UTF-8");
    assert!(!s.starts_with('\u{feff}'), "no BOM");
    assert!(
        s.starts_with("label,n\r\n"),
        "a header row ending in CRLF: {s:?}"
    );
    let rows = parse(&bytes);
    assert_eq!(rows.len(), awkward.len() + 1);
    assert_eq!(rows[0], ["label", "n"]);
    for (i, expected) in awkward.iter().enumerate() {
        assert_eq!(rows[i + 1], [expected.to_string(), i.to_string()]);
    }
}

#[test]
fn every_record_ends_with_crlf_and_bare_fields_are_not_quoted() {
    let bytes = render_csv(&customers(3));
    let s = String::from_utf8(bytes).expect("UTF-8");
    assert!(s.ends_with("\r\n"));
    assert_eq!(s.matches("\r\n").count(), 4);
    assert_eq!(s.replace("\r\n", "").matches('\n').count(), 0);
    assert!(s.contains("\r\n1000,Acme Corp 1,Starter,Europe,"), "{s}");
}

#[test]
fn text_cells_that_would_start_a_formula_are_neutralised() {
    let cells = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\tTab",
        "\rReturn",
        "a=b",
    ];
    let table = ResultTable {
        columns: vec![col("cell", ColumnType::Text)],
        rows: cells.iter().map(|c| vec![text(c)]).collect(),
        truncated: false,
    };
    let rows = parse(&render_csv(&table));
    let got: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        got,
        [
            "'=HYPERLINK(\"http://evil.example\",\"x\")",
            "'+1+1",
            "'-2+3",
            "'@SUM(A1)",
            "'\tTab",
            "'\rReturn",
            "a=b",
        ]
    );
}

#[test]
fn numbers_are_data_and_written_raw() {
    let table = ResultTable {
        columns: vec![
            col("delta", ColumnType::Number),
            col("count", ColumnType::Integer),
            col("decimal_as_text", ColumnType::Number),
            col("not_a_number", ColumnType::Number),
        ],
        rows: vec![
            vec![
                Value::Float(-12.5),
                Value::Int(-3),
                text("-0.25"),
                text("-1+cmd"),
            ],
            vec![
                Value::Float(f64::NAN),
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        ],
        truncated: false,
    };
    let rows = parse(&render_csv(&table));
    assert_eq!(rows[1], ["-12.5", "-3", "-0.25", "'-1+cmd"]);
    assert_eq!(rows[2], ["", "", "", ""], "NULL and NaN are empty fields");
}

#[test]
fn dates_booleans_and_column_names() {
    let table = ResultTable {
        columns: vec![
            col("day", ColumnType::Date),
            col("at", ColumnType::Timestamp),
            col("ok", ColumnType::Boolean),
            col("=bad name", ColumnType::Text),
        ],
        rows: vec![vec![
            text("2026-11-23"),
            text("2026-11-23T14:05:00Z"),
            Value::Bool(true),
            Value::Null,
        ]],
        truncated: false,
    };
    let rows = parse(&render_csv(&table));
    assert_eq!(rows[0], ["day", "at", "ok", "'=bad name"]);
    assert_eq!(rows[1], ["2026-11-23", "2026-11-23T14:05:00Z", "true", ""]);
}

#[test]
fn a_one_column_row_holding_null_is_a_quoted_empty_field_not_a_lost_line() {
    let table = ResultTable {
        columns: vec![col("note", ColumnType::Text)],
        rows: vec![vec![Value::Null], vec![text("x")], vec![text("")]],
        truncated: false,
    };
    let bytes = render_csv(&table);
    assert_eq!(bytes, b"note\r\n\"\"\r\nx\r\n\"\"\r\n");
    let rows = parse(&bytes);
    assert_eq!(rows, [["note"], [""], ["x"], [""]]);
}
