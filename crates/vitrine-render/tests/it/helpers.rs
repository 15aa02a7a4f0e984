//! Fixtures, a snapshot helper and a well-formedness check.

use std::path::PathBuf;
use vitrine_core::result::{Column, ColumnType, NumberFormat, ResultTable, Value};
use vitrine_render::time::{civil_from_days, days_from_civil};

pub fn col(name: &str, kind: ColumnType) -> Column {
    Column {
        name: name.to_string(),
        kind,
    }
}

pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

pub fn usd() -> NumberFormat {
    NumberFormat::Currency {
        currency: "USD".into(),
    }
}

/// ISO date `days` after 2026-01-01.
pub fn day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days_from_civil(2026, 1, 1) + days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The first of the month, `i` months after December 2025.
pub fn month(i: i64) -> String {
    let m0 = 11 + i; // December 2025 is month index 11 of 2025
    format!("{:04}-{:02}-01", 2025 + m0 / 12, m0 % 12 + 1)
}

/// A deterministic wobble in [0, 1).
pub fn wobble(i: i64, seed: i64) -> f64 {
    let x = ((i * 7919 + seed * 104_729) % 1000 + 1000) % 1000;
    x as f64 / 1000.0
}

/// Monthly recurring revenue by plan over twelve months.
pub fn revenue_by_plan() -> ResultTable {
    let plans = [
        ("Starter", 18_000.0),
        ("Pro", 42_000.0),
        ("Enterprise", 65_000.0),
    ];
    let mut rows = Vec::new();
    for i in 0..12 {
        for (p, (name, base)) in plans.iter().enumerate() {
            let v = base * (1.0 + 0.045 * i as f64) + 2_500.0 * wobble(i, p as i64);
            rows.push(vec![
                text(&month(i)),
                text(name),
                Value::Float((v * 100.0).round() / 100.0),
            ]);
        }
    }
    ResultTable {
        columns: vec![
            col("month", ColumnType::Date),
            col("plan", ColumnType::Text),
            col("revenue", ColumnType::Number),
        ],
        rows,
        truncated: false,
    }
}

/// Daily sign-ups over 60 days.
pub fn signups_daily() -> ResultTable {
    let rows = (0..60)
        .map(|i| {
            let weekly = if i % 7 == 5 || i % 7 == 6 { 0.6 } else { 1.0 };
            let v = ((120.0 + 1.8 * i as f64) * weekly + 30.0 * wobble(i, 3)).round() as i64;
            vec![text(&day(i)), Value::Int(v)]
        })
        .collect();
    ResultTable {
        columns: vec![
            col("day", ColumnType::Date),
            col("signups", ColumnType::Integer),
        ],
        rows,
        truncated: false,
    }
}

/// Revenue by region.
pub fn revenue_by_region() -> ResultTable {
    let regions = [
        ("North America", 412_530.0),
        ("Europe", 356_210.5),
        ("Asia Pacific", 198_400.0),
        ("Latin America", 87_320.0),
        ("Middle East & Africa", 41_250.0),
    ];
    ResultTable {
        columns: vec![
            col("region", ColumnType::Text),
            col("revenue", ColumnType::Number),
        ],
        rows: regions
            .iter()
            .map(|(r, v)| vec![text(r), Value::Float(*v)])
            .collect(),
        truncated: false,
    }
}

/// Customers, for tables.
pub fn customers(n: usize) -> ResultTable {
    let names = [
        "Acme Corp",
        "Globex",
        "Initech",
        "Umbrella",
        "Hooli",
        "Vandelay Industries",
        "Stark & Wayne",
        "Wonka",
        "Tyrell",
        "Cyberdyne Systems",
    ];
    let plans = ["Starter", "Pro", "Enterprise"];
    let regions = ["Europe", "North America", "Asia Pacific"];
    let rows = (0..n as i64)
        .map(|i| {
            let name = format!("{} {}", names[(i % 10) as usize], i / 10 + 1);
            let plan = plans[(i % 3) as usize];
            vec![
                Value::Int(1000 + i),
                text(&name),
                text(plan),
                text(regions[((i / 2) % 3) as usize]),
                Value::Float(((99.0 + 1_400.0 * wobble(i, 9)) * 100.0).round() / 100.0),
                Value::Int(3 + (wobble(i, 4) * 120.0) as i64),
                Value::Float(wobble(i, 5) * 0.35),
                text(&format!(
                    "{}T{:02}:{:02}:00Z",
                    day(300 + i % 20),
                    i % 24,
                    (i * 7) % 60
                )),
            ]
        })
        .collect();
    ResultTable {
        columns: vec![
            col("customer_id", ColumnType::Integer),
            col("customer", ColumnType::Text),
            col("plan", ColumnType::Text),
            col("region", ColumnType::Text),
            col("mrr", ColumnType::Number),
            col("seats", ColumnType::Integer),
            col("churn_risk", ColumnType::Number),
            col("last_seen", ColumnType::Timestamp),
        ],
        rows,
        truncated: false,
    }
}

/// Parses `svg` as XML and checks the root's accessibility attributes.
pub fn well_formed(svg: &str) -> roxmltree::Document<'_> {
    let doc =
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("ill-formed SVG: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert!(root.attribute("viewBox").is_some(), "no viewBox");
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(root.attribute("preserveAspectRatio"), Some("xMidYMid meet"));
    assert_eq!(
        root.attribute("font-family"),
        Some("DejaVu Sans, sans-serif")
    );
    let first = root.first_element_child().expect("a first child");
    assert_eq!(
        first.tag_name().name(),
        "title",
        "the first child is the <title>"
    );
    for bad in ["NaN", "inf\"", "Infinity"] {
        assert!(!svg.contains(bad), "{bad} in output");
    }
    doc
}

/// The texts of the `<text>` elements under `<g class="{class}">`.
pub fn texts_in(doc: &roxmltree::Document<'_>, class: &str) -> Vec<(f64, f64, String)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some(class))
        .flat_map(|g| g.descendants().filter(|n| n.has_tag_name("text")))
        .map(|t| {
            let num = |a: &str| {
                t.attribute(a)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            (num("x"), num("y"), t.text().unwrap_or("").to_string())
        })
        .collect()
}

/// Compares `actual` with `tests/snapshots/{name}.svg`; with
/// `UPDATE_SNAPSHOTS=1` rewrites the file instead.
pub fn assert_snapshot(name: &str, actual: &str) {
    well_formed(actual);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let path = dir.join(format!("{name}.svg"));
    let new = dir.join(format!("{name}.svg.new"));
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, actual).unwrap();
        let _ = std::fs::remove_file(&new);
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: run `UPDATE_SNAPSHOTS=1 cargo test -p vitrine-render` to create it",
            path.display()
        )
    });
    if expected != actual {
        std::fs::write(&new, actual).unwrap();
        let at = expected
            .bytes()
            .zip(actual.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        let from = at.saturating_sub(60);
        let snip = |s: &str| {
            s.get(from..(at + 60).min(s.len()))
                .unwrap_or("")
                .to_string()
        };
        panic!(
            "snapshot {name} differs at byte {at}:\n  expected …{}…\n  actual   …{}…\nThe new output is in {}; diff it, and if the change is intended run with UPDATE_SNAPSHOTS=1.",
            snip(&expected),
            snip(actual),
            new.display()
        );
    }
}
