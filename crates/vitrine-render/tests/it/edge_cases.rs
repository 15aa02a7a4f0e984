//! Empty tables, single rows, gaps, non-finite numbers, many and long labels.

use crate::helpers::*;
use vitrine_core::result::{ColumnType, NumberFormat, ResultTable, Value};
use vitrine_render::font::text_width;
use vitrine_render::*;

const KINDS: [ChartKind; 6] = [
    ChartKind::Kpi,
    ChartKind::Line,
    ChartKind::Area,
    ChartKind::Bar,
    ChartKind::Pie,
    ChartKind::Table,
];

fn spec(kind: ChartKind) -> ChartSpec {
    ChartSpec::new(kind, "Sign-ups")
        .dimension("day")
        .measure(Measure::new("signups"))
}

#[test]
fn an_empty_table_shows_no_data_for_every_kind() {
    let empty = ResultTable {
        rows: vec![],
        ..signups_daily()
    };
    for kind in KINDS {
        let out = render_svg(&spec(kind), &empty);
        let doc = well_formed(&out);
        let texts = texts_in(&doc, "vt-empty");
        assert_eq!(texts.len(), 1, "{kind:?}");
        assert_eq!(texts[0].2, "No data");
    }
    // A table without even columns.
    let out = render_svg(
        &ChartSpec::new(ChartKind::Table, "t"),
        &ResultTable::default(),
    );
    assert!(out.contains("No data"));
}

#[test]
fn one_row_renders_for_every_kind() {
    let one = ResultTable {
        rows: signups_daily().rows[..1].to_vec(),
        ..signups_daily()
    };
    for kind in KINDS {
        let out = render_svg(&spec(kind), &one);
        well_formed(&out);
        assert!(!out.contains("No data"), "{kind:?}");
    }
    // A lone point on a line is drawn as a dot.
    let out = render_svg(&spec(ChartKind::Line), &one);
    assert!(out.contains("<circle"));
}

#[test]
fn nulls_and_non_finite_values_are_gaps() {
    let mut t = signups_daily();
    t.rows.truncate(10);
    t.columns[1].kind = ColumnType::Number;
    t.rows[3][1] = Value::Null;
    t.rows[6][1] = Value::Float(f64::NAN);
    t.rows[7][1] = Value::Float(f64::INFINITY);
    t.rows[8][1] = Value::Float(f64::NEG_INFINITY);
    t.rows[2][0] = Value::Null;
    for kind in KINDS {
        well_formed(&render_svg(&spec(kind), &t));
    }
    // The line breaks at the gaps: three runs, three "M" commands.
    let out = render_svg(&spec(ChartKind::Line), &t);
    let doc = well_formed(&out);
    let line = doc
        .descendants()
        .find(|n| n.has_tag_name("path") && n.attribute("fill") == Some("none"))
        .unwrap();
    let d = line.attribute("d").unwrap();
    assert!(d.matches('M').count() >= 2, "{d}");
    // Nothing at all to draw is the empty state.
    let mut all_null = t.clone();
    for r in &mut all_null.rows {
        r[1] = Value::Null;
    }
    for kind in KINDS {
        if kind == ChartKind::Table {
            continue;
        }
        assert!(
            render_svg(&spec(kind), &all_null).contains("No data"),
            "{kind:?}"
        );
    }
}

#[test]
fn an_unknown_column_is_a_polite_error() {
    let s = ChartSpec::new(ChartKind::Bar, "t")
        .dimension("nope")
        .measure(Measure::new("signups"));
    assert_eq!(
        s.validate(&signups_daily()),
        Err(SpecError::UnknownColumn("nope".into()))
    );
    let out = render_svg(&s, &signups_daily());
    well_formed(&out);
    assert!(out.contains("do not match its data"));
    assert!(!out.contains("nope"), "the column name is not shown");
}

fn many_categories(n: usize) -> ResultTable {
    ResultTable {
        columns: vec![
            col("customer", ColumnType::Text),
            col("tickets", ColumnType::Integer),
        ],
        rows: (0..n as i64)
            .map(|i| {
                vec![
                    text(&format!("Customer number {i}")),
                    Value::Int(10 + (i * 37) % 90),
                ]
            })
            .collect(),
        truncated: false,
    }
}

#[test]
fn two_hundred_categories_are_thinned_and_rotated_without_overlap() {
    let s = ChartSpec::new(ChartKind::Bar, "Tickets by customer")
        .dimension("customer")
        .measure(Measure::new("tickets"))
        .size(800.0, 360.0);
    let out = render_svg(&s, &many_categories(200));
    let doc = well_formed(&out);
    let labels = texts_in(&doc, "vt-x-labels");
    assert!(
        labels.len() < 200 && labels.len() >= 20,
        "{} labels",
        labels.len()
    );
    // Rotated 45°: neighbours need about 1.25 line heights of horizontal pitch.
    let rotated = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter(|n| {
            n.attribute("transform")
                .is_some_and(|t| t.starts_with("rotate(-45"))
        })
        .count();
    assert_eq!(rotated, labels.len());
    for pair in labels.windows(2) {
        assert!(
            pair[1].0 - pair[0].0 >= 11.0 * 1.25 / std::f64::consts::FRAC_1_SQRT_2 - 0.2,
            "{pair:?}"
        );
    }
    // Too many bars for value labels.
    assert!(texts_in(&doc, "vt-values").is_empty());
    // Every bar is still drawn.
    let bars = doc.descendants().filter(|n| n.has_tag_name("path")).count();
    assert_eq!(bars, 200);
}

#[test]
fn two_hundred_days_on_a_line_keep_horizontal_labels_apart() {
    let t = ResultTable {
        columns: vec![col("day", ColumnType::Date), col("v", ColumnType::Integer)],
        rows: (0..200)
            .map(|i| vec![text(&day(i)), Value::Int(i)])
            .collect(),
        truncated: false,
    };
    let s = ChartSpec::new(ChartKind::Line, "Daily")
        .dimension("day")
        .measure(Measure::new("v"))
        .size(640.0, 300.0);
    let out = render_svg(&s, &t);
    let doc = well_formed(&out);
    let labels = texts_in(&doc, "vt-x-labels");
    assert!(labels.len() >= 4 && labels.len() < 20, "{labels:?}");
    for pair in labels.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let half = (text_width(&a.2, 11.0, false) + text_width(&b.2, 11.0, false)) / 2.0;
        assert!(b.0 - a.0 >= half + 8.0 - 0.2, "{pair:?} overlap");
    }
    assert!(labels[0].2.starts_with("Jan"), "{labels:?}");
}

#[test]
fn very_long_labels_are_truncated_with_an_ellipsis() {
    let long =
        "Enterprise customers in the Northern European region, excluding resellers and partners";
    let t = ResultTable {
        columns: vec![
            col("segment", ColumnType::Text),
            col("v", ColumnType::Integer),
        ],
        rows: vec![
            vec![text(long), Value::Int(10)],
            vec![text("Short"), Value::Int(20)],
            vec![text(&long.replace("Northern", "Southern")), Value::Int(15)],
        ],
        truncated: false,
    };
    for orientation in [Orientation::Vertical, Orientation::Horizontal] {
        let s = ChartSpec::new(ChartKind::Bar, long)
            .dimension("segment")
            .series("segment")
            .measure(Measure::new("v"))
            .options(ChartOptions {
                orientation,
                ..ChartOptions::default()
            })
            .size(480.0, 260.0);
        let out = render_svg(&s, &t);
        let doc = well_formed(&out);
        let class = if orientation == Orientation::Vertical {
            "vt-x-labels"
        } else {
            "vt-y-labels"
        };
        let labels = texts_in(&doc, class);
        assert_eq!(labels.len(), 3, "{orientation:?}");
        assert!(labels[0].2.ends_with('…'), "{labels:?}");
        assert_eq!(labels[1].2, "Short");
        assert!(text_width(&labels[0].2, 11.0, false) <= 200.0);
        // The legend and the title are truncated too.
        assert!(
            texts_in(&doc, "vt-legend")
                .iter()
                .any(|l| l.2.ends_with('…'))
        );
        let title = texts_in(&doc, "vt-title");
        assert!(title[0].2.ends_with('…'));
        assert!(text_width(&title[0].2, 14.0, true) <= 480.0 - 32.0);
        // The full title is still the accessible name.
        assert_eq!(
            doc.root_element().first_element_child().unwrap().text(),
            Some(long)
        );
    }
}

#[test]
fn many_series_are_merged_into_other() {
    let t = ResultTable {
        columns: vec![
            col("m", ColumnType::Date),
            col("s", ColumnType::Text),
            col("v", ColumnType::Integer),
        ],
        rows: (0..12)
            .flat_map(|s| (0..3).map(move |m| (s, m)))
            .map(|(s, m)| {
                vec![
                    text(&month(m)),
                    text(&format!("Series {s}")),
                    Value::Int(100 - s * 5),
                ]
            })
            .collect(),
        truncated: false,
    };
    let s = ChartSpec::new(ChartKind::Line, "t")
        .dimension("m")
        .series("s")
        .measure(Measure::new("v"))
        .size(900.0, 300.0);
    let out = render_svg(&s, &t);
    let doc = well_formed(&out);
    let legend: Vec<String> = texts_in(&doc, "vt-legend")
        .into_iter()
        .map(|l| l.2)
        .collect();
    assert_eq!(legend.len(), 7, "{legend:?}");
    assert_eq!(legend[0], "Series 0");
    assert_eq!(legend[6], "Other");
}

#[test]
fn legends_wrap_on_narrow_cards() {
    let s = ChartSpec::new(ChartKind::Bar, "MRR")
        .dimension("month")
        .series("plan")
        .measure(Measure::new("revenue"))
        .size(200.0, 240.0);
    let out = render_svg(&s, &revenue_by_plan());
    let doc = well_formed(&out);
    let legend = texts_in(&doc, "vt-legend");
    let rows: std::collections::BTreeSet<i64> = legend.iter().map(|l| l.1 as i64).collect();
    assert!(rows.len() >= 2, "{legend:?}");
    for l in &legend {
        assert!(
            l.0 + text_width(&l.2, 12.0, false) <= 200.0 - 10.0 + 0.5,
            "{l:?}"
        );
    }
}

#[test]
fn negative_values_hang_below_the_zero_line() {
    let t = ResultTable {
        columns: vec![
            col("q", ColumnType::Text),
            col("profit", ColumnType::Number),
        ],
        rows: vec![
            vec![text("Q1"), Value::Float(-1200.0)],
            vec![text("Q2"), Value::Float(800.0)],
            vec![text("Q3"), Value::Float(-300.0)],
        ],
        truncated: false,
    };
    let s = ChartSpec::new(ChartKind::Bar, "Profit")
        .dimension("q")
        .measure(Measure::new("profit").format(usd()));
    let out = render_svg(&s, &t);
    let doc = well_formed(&out);
    let grid = texts_in(&doc, "vt-grid");
    assert!(grid.iter().any(|g| g.2.starts_with("-$")), "{grid:?}");
    assert!(grid.iter().any(|g| g.2 == "$0"), "{grid:?}");
}

#[test]
fn percent_and_duration_measures_format_their_axes() {
    let t = ResultTable {
        columns: vec![col("d", ColumnType::Date), col("r", ColumnType::Number)],
        rows: (0..5)
            .map(|i| vec![text(&day(i)), Value::Float(0.02 * i as f64)])
            .collect(),
        truncated: false,
    };
    let s = ChartSpec::new(ChartKind::Line, "Churn")
        .dimension("d")
        .measure(Measure::new("r").format(NumberFormat::Percent));
    let out = render_svg(&s, &t);
    assert!(out.contains(">8%<"), "{out}");
}

#[test]
fn output_is_deterministic() {
    let s = ChartSpec::new(ChartKind::Bar, "MRR")
        .dimension("month")
        .series("plan")
        .measure(Measure::new("revenue"));
    let a = render_svg(&s, &revenue_by_plan());
    let b = render_svg(&s, &revenue_by_plan());
    assert_eq!(a, b);
}

#[test]
fn fixed_sizing_writes_pixel_dimensions() {
    let mut s = spec(ChartKind::Line).size(300.0, 200.0);
    s.options.sizing = Sizing::Fixed;
    let out = render_svg(&s, &signups_daily());
    assert!(out.contains(r#"width="300" height="200""#));
    let out = render_svg(&spec(ChartKind::Line), &signups_daily());
    assert!(out.contains(r#"width="100%" height="100%""#));
}

fn kpi_table(values: &[Option<f64>]) -> ResultTable {
    ResultTable {
        columns: vec![col("month", ColumnType::Date), col("v", ColumnType::Number)],
        rows: values
            .iter()
            .enumerate()
            .map(|(i, v)| vec![text(&month(i as i64)), v.map_or(Value::Null, Value::Float)])
            .collect(),
        truncated: false,
    }
}

fn kpi_spec() -> ChartSpec {
    ChartSpec::new(ChartKind::Kpi, "Revenue")
        .dimension("month")
        .measure(Measure::new("v").format(usd()))
        .size(300.0, 160.0)
}

#[test]
fn a_kpi_compares_with_the_last_value_before_a_gap() {
    let out = render_svg(
        &kpi_spec(),
        &kpi_table(&[Some(100.0), Some(80.0), None, Some(100.0)]),
    );
    let doc = well_formed(&out);
    let change: Vec<String> = texts_in(&doc, "vt-kpi-change")
        .into_iter()
        .map(|t| t.2)
        .collect();
    assert_eq!(change, ["▲ 25%", "vs $80"]);
    assert!(out.contains(Theme::Light.palette().good));
    // A fall is bad news when higher is better.
    let out = render_svg(&kpi_spec(), &kpi_table(&[Some(100.0), Some(90.0)]));
    let doc = well_formed(&out);
    assert_eq!(texts_in(&doc, "vt-kpi-change")[0].2, "▼ 10%");
    assert!(out.contains(Theme::Light.palette().bad));
}

#[test]
fn a_kpi_without_a_usable_previous_value_shows_no_percentage() {
    // Previous period was zero: no percentage, only the comparison.
    let out = render_svg(&kpi_spec(), &kpi_table(&[Some(0.0), Some(50.0)]));
    let doc = well_formed(&out);
    let change: Vec<String> = texts_in(&doc, "vt-kpi-change")
        .into_iter()
        .map(|t| t.2)
        .collect();
    assert_eq!(change, ["vs $0"]);
    // One value: no change line at all.
    let out = render_svg(&kpi_spec(), &kpi_table(&[Some(50.0)]));
    let doc = well_formed(&out);
    assert!(texts_in(&doc, "vt-kpi-change").is_empty());
    assert_eq!(texts_in(&doc, "vt-kpi-value")[0].2, "$50.00");
}

#[test]
fn a_big_kpi_value_goes_compact_on_a_small_card() {
    let s = kpi_spec().size(160.0, 120.0);
    let out = render_svg(&s, &kpi_table(&[Some(1_234_567_890.12)]));
    let doc = well_formed(&out);
    let v = &texts_in(&doc, "vt-kpi-value")[0];
    assert_eq!(v.2, "$1.2B");
}

#[test]
fn tooltips_can_be_left_out_for_exports() {
    let mut s = ChartSpec::new(ChartKind::Bar, "MRR")
        .dimension("month")
        .series("plan")
        .measure(Measure::new("revenue").format(usd()));
    let with = render_svg(&s, &revenue_by_plan());
    assert_eq!(with.matches("<title>").count(), 1 + 36);
    assert!(with.contains("<title>Dec 2025 · Starter: $"));
    s.options.tooltips = false;
    let without = render_svg(&s, &revenue_by_plan());
    assert_eq!(without.matches("<title>").count(), 1);
    assert!(without.len() < with.len());
    well_formed(&without);
}
