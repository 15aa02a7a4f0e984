//! One snapshot per widget kind (and the main variants), light and dark.

use crate::helpers::*;
use vitrine_core::result::{ColumnType, NumberFormat, ResultTable, Value};
use vitrine_render::*;

fn opts() -> ChartOptions {
    ChartOptions::default()
}

#[test]
fn kpi() {
    let spec = ChartSpec::new(ChartKind::Kpi, "Monthly recurring revenue")
        .dimension("month")
        .measure(Measure::new("revenue").label("MRR").format(usd()))
        .size(320.0, 180.0);
    let table = revenue_by_plan();
    // One plan's series: the KPI takes the latest month and the one before.
    let enterprise = ResultTable {
        rows: table
            .rows
            .iter()
            .filter(|r| r[1] == text("Enterprise"))
            .cloned()
            .collect(),
        ..table
    };
    let svg = render_svg(&spec, &enterprise);
    assert!(svg.contains("▲"), "revenue grew: {svg}");
    assert_snapshot("kpi", &svg);
}

#[test]
fn kpi_lower_is_better_dark() {
    let table = ResultTable {
        columns: vec![
            col("value", ColumnType::Number),
            col("previous", ColumnType::Number),
        ],
        rows: vec![vec![Value::Float(3_725.0), Value::Float(3_100.0)]],
        truncated: false,
    };
    let spec = ChartSpec::new(ChartKind::Kpi, "Median time to first response")
        .measure(Measure::new("value").format(NumberFormat::Duration))
        .options(ChartOptions {
            comparison: Some("previous".into()),
            higher_is_better: false,
            ..opts()
        })
        .theme(Theme::Dark)
        .size(320.0, 140.0);
    let svg = render_svg(&spec, &table);
    assert!(svg.contains("1h 2m"));
    assert!(svg.contains("▲ 20%"), "{svg}");
    // Up is bad here: the dark theme's "bad" colour.
    assert!(svg.contains(Theme::Dark.palette().bad));
    assert_snapshot("kpi_dark", &svg);
}

#[test]
fn line_over_time() {
    let spec = ChartSpec::new(ChartKind::Line, "Daily sign-ups")
        .dimension("day")
        .measure(Measure::new("signups").label("Sign-ups"))
        .size(640.0, 300.0);
    assert_snapshot("line", &render_svg(&spec, &signups_daily()));
}

#[test]
fn line_with_series_dark() {
    let spec = ChartSpec::new(ChartKind::Line, "MRR by plan")
        .dimension("month")
        .series("plan")
        .measure(Measure::new("revenue").format(usd()))
        .theme(Theme::Dark)
        .size(640.0, 300.0);
    assert_snapshot("line_series_dark", &render_svg(&spec, &revenue_by_plan()));
}

#[test]
fn area_stacked() {
    let spec = ChartSpec::new(ChartKind::Area, "MRR by plan (stacked)")
        .dimension("month")
        .series("plan")
        .measure(Measure::new("revenue").format(usd()))
        .options(ChartOptions {
            stacking: Stacking::Stacked,
            ..opts()
        })
        .size(640.0, 300.0);
    assert_snapshot("area_stacked", &render_svg(&spec, &revenue_by_plan()));
}

#[test]
fn area_single() {
    let spec = ChartSpec::new(ChartKind::Area, "Daily sign-ups")
        .dimension("day")
        .measure(Measure::new("signups"))
        .size(480.0, 240.0);
    assert_snapshot("area", &render_svg(&spec, &signups_daily()));
}

#[test]
fn bar_vertical() {
    let spec = ChartSpec::new(ChartKind::Bar, "Revenue by region")
        .dimension("region")
        .measure(Measure::new("revenue").format(usd()))
        .size(640.0, 300.0);
    let svg = render_svg(&spec, &revenue_by_region());
    // Five wide bars: every value label fits.
    let doc = well_formed(&svg);
    assert_eq!(texts_in(&doc, "vt-values").len(), 5);
    assert_snapshot("bar", &svg);
}

#[test]
fn bar_stacked() {
    let spec = ChartSpec::new(ChartKind::Bar, "MRR by plan and month")
        .dimension("month")
        .series("plan")
        .measure(Measure::new("revenue").format(usd()))
        .options(ChartOptions {
            stacking: Stacking::Stacked,
            ..opts()
        })
        .size(640.0, 320.0);
    assert_snapshot("bar_stacked", &render_svg(&spec, &revenue_by_plan()));
}

#[test]
fn bar_grouped() {
    let table = revenue_by_plan();
    let last_four = ResultTable {
        rows: table.rows[24..].to_vec(),
        ..table
    };
    let spec = ChartSpec::new(ChartKind::Bar, "MRR by plan, last four months")
        .dimension("month")
        .series("plan")
        .measure(Measure::new("revenue").format(usd()))
        .size(640.0, 300.0);
    assert_snapshot("bar_grouped", &render_svg(&spec, &last_four));
}

#[test]
fn bar_horizontal() {
    let spec = ChartSpec::new(ChartKind::Bar, "Revenue by region")
        .dimension("region")
        .measure(Measure::new("revenue").format(usd()))
        .options(ChartOptions {
            orientation: Orientation::Horizontal,
            ..opts()
        })
        .size(560.0, 260.0);
    assert_snapshot("bar_horizontal", &render_svg(&spec, &revenue_by_region()));
}

#[test]
fn pie() {
    let spec = ChartSpec::new(ChartKind::Pie, "Revenue share by region")
        .dimension("region")
        .measure(Measure::new("revenue").format(usd()))
        .size(520.0, 260.0);
    assert_snapshot("pie", &render_svg(&spec, &revenue_by_region()));
}

#[test]
fn pie_narrow_dark() {
    let spec = ChartSpec::new(ChartKind::Pie, "Revenue share by region")
        .dimension("region")
        .measure(Measure::new("revenue").format(usd()))
        .theme(Theme::Dark)
        .size(300.0, 340.0);
    assert_snapshot("pie_dark", &render_svg(&spec, &revenue_by_region()));
}

#[test]
fn table() {
    let spec = ChartSpec::new(ChartKind::Table, "Customers")
        .measure(Measure::new("mrr").label("MRR").format(usd()))
        .measure(
            Measure::new("churn_risk")
                .label("Churn risk")
                .format(NumberFormat::Percent),
        )
        .size(900.0, 320.0);
    let svg = render_svg(&spec, &customers(40));
    assert!(svg.contains("Showing 8 of 40 rows"), "{svg}");
    assert_snapshot("table", &svg);
}

#[test]
fn text_widget() {
    let spec = ChartSpec::new(ChartKind::Table, "About this dashboard").size(480.0, 240.0);
    let md = "## Revenue\n\nNumbers are **net of refunds** and refresh every five minutes. See the [glossary](https://example.com/glossary).\n\n- MRR: monthly recurring revenue\n- Churn: cancelled subscriptions\n\n1. First\n2. Second";
    assert_snapshot("text", &render_text_svg(&spec, md));
}

#[test]
fn empty_and_error_states() {
    let spec = ChartSpec::new(ChartKind::Line, "Daily sign-ups")
        .dimension("day")
        .measure(Measure::new("signups"))
        .size(480.0, 240.0);
    let empty = ResultTable {
        rows: vec![],
        ..signups_daily()
    };
    assert_snapshot("empty", &render_svg(&spec, &empty));
    assert_snapshot(
        "error",
        &render_error_svg(
            &spec,
            "This widget took too long to load. Try a shorter date range, or ask the dashboard owner.",
        ),
    );
}

#[test]
fn bar_two_hundred_categories() {
    let table = ResultTable {
        columns: vec![
            col("customer", ColumnType::Text),
            col("tickets", ColumnType::Integer),
        ],
        rows: (0..200i64)
            .map(|i| {
                vec![
                    text(&format!("Customer account {i}")),
                    Value::Int(10 + (i * 37) % 90),
                ]
            })
            .collect(),
        truncated: false,
    };
    let spec = ChartSpec::new(ChartKind::Bar, "Support tickets by customer")
        .dimension("customer")
        .measure(Measure::new("tickets").label("Tickets"))
        .size(800.0, 360.0);
    assert_snapshot("bar_200", &render_svg(&spec, &table));
}

#[test]
fn bar_horizontal_stacked_with_negatives() {
    let table = ResultTable {
        columns: vec![
            col("team", ColumnType::Text),
            col("kind", ColumnType::Text),
            col("net", ColumnType::Number),
        ],
        rows: [
            ("Sales", "New", 420.0),
            ("Sales", "Expansion", 180.0),
            ("Sales", "Churn", -140.0),
            ("Customer success", "New", 90.0),
            ("Customer success", "Expansion", 310.0),
            ("Customer success", "Churn", -60.0),
            ("Partners", "New", 150.0),
            ("Partners", "Expansion", 40.0),
            ("Partners", "Churn", -210.0),
        ]
        .iter()
        .map(|(t, k, v)| vec![text(t), text(k), Value::Float(*v)])
        .collect(),
        truncated: false,
    };
    let spec = ChartSpec::new(ChartKind::Bar, "Net new MRR by team")
        .dimension("team")
        .series("kind")
        .measure(Measure::new("net").format(usd()))
        .options(ChartOptions {
            orientation: Orientation::Horizontal,
            stacking: Stacking::Stacked,
            ..opts()
        })
        .size(560.0, 240.0);
    assert_snapshot("bar_horizontal_stacked", &render_svg(&spec, &table));
}

#[test]
fn line_with_gaps_and_labels() {
    let mut table = signups_daily();
    table.rows.truncate(14);
    table.rows[5][1] = Value::Null;
    table.rows[9][1] = Value::Null;
    table.rows[10][1] = Value::Null;
    let spec = ChartSpec::new(ChartKind::Line, "Sign-ups, two weeks")
        .dimension("day")
        .measure(Measure::new("signups"))
        .options(ChartOptions {
            value_labels: ValueLabels::Always,
            ..opts()
        })
        .size(640.0, 260.0);
    assert_snapshot("line_gaps", &render_svg(&spec, &table));
}
