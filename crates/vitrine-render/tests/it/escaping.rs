//! Every piece of text that reaches the output is escaped, for every kind.

use crate::helpers::*;
use vitrine_core::result::{ColumnType, ResultTable, Value};
use vitrine_render::*;

const SCRIPT: &str = "<script>alert(1)</script>";
const QUOTES: &str = r#"Tom & "Jerry" <'s>"#;

fn hostile_table() -> ResultTable {
    ResultTable {
        columns: vec![
            col("category", ColumnType::Text),
            col("series", ColumnType::Text),
            col("value", ColumnType::Number),
        ],
        rows: vec![
            vec![text(SCRIPT), text(QUOTES), Value::Float(10.0)],
            vec![text(SCRIPT), text("B"), Value::Float(5.0)],
            vec![text("Safe"), text(QUOTES), Value::Float(7.0)],
            vec![text("Safe"), text("B"), Value::Float(3.0)],
        ],
        truncated: false,
    }
}

fn spec(kind: ChartKind) -> ChartSpec {
    ChartSpec::new(kind, format!("Title {SCRIPT}"))
        .dimension("category")
        .series("series")
        .measure(Measure::new("value").label(format!("Label {QUOTES}")))
        .size(900.0, 400.0)
}

/// No live markup from the data, and the escaped forms are present.
fn assert_escaped(out: &str) {
    assert!(!out.contains("<script"), "unescaped script in:\n{out}");
    assert!(!out.contains(r#""Jerry""#), "unescaped quotes in:\n{out}");
    assert!(!out.contains("Tom & "), "unescaped ampersand in:\n{out}");
    assert!(
        out.contains("&lt;script&gt;"),
        "escaped script missing in:\n{out}"
    );
}

#[test]
fn every_chart_kind_escapes_categories_series_and_titles() {
    for kind in [
        ChartKind::Kpi,
        ChartKind::Line,
        ChartKind::Area,
        ChartKind::Bar,
        ChartKind::Pie,
        ChartKind::Table,
    ] {
        let out = render_svg(&spec(kind), &hostile_table());
        well_formed(&out);
        assert_escaped(&out);
        if matches!(kind, ChartKind::Line | ChartKind::Area | ChartKind::Bar) {
            // The series name reaches the legend, decoded back to the original.
            let doc = well_formed(&out);
            let legend = texts_in(&doc, "vt-legend");
            assert!(
                legend.iter().any(|(_, _, t)| t == QUOTES),
                "{kind:?}: {legend:?}"
            );
            assert!(out.contains("Tom &amp; &quot;Jerry&quot; &lt;&#39;s&gt;"));
        }
    }
}

#[test]
fn horizontal_bars_and_category_labels_are_escaped() {
    let mut s = spec(ChartKind::Bar);
    s.series = None;
    s.options.orientation = Orientation::Horizontal;
    let out = render_svg(&s, &hostile_table());
    let doc = well_formed(&out);
    assert_escaped(&out);
    let labels = texts_in(&doc, "vt-y-labels");
    assert!(labels.iter().any(|(_, _, t)| t == SCRIPT), "{labels:?}");
}

#[test]
fn pie_legend_is_escaped() {
    let mut s = spec(ChartKind::Pie);
    s.series = None;
    let out = render_svg(&s, &hostile_table());
    let doc = well_formed(&out);
    let legend = texts_in(&doc, "vt-legend");
    assert!(legend.iter().any(|(_, _, t)| t == SCRIPT), "{legend:?}");
}

#[test]
fn error_text_is_escaped() {
    let out = render_error_svg(
        &spec(ChartKind::Line),
        r#"Could not load <img src=x onerror="alert(1)"> & more"#,
    );
    well_formed(&out);
    assert!(!out.contains("<img"));
    assert!(out.contains("&lt;img"));
    assert!(out.contains("&amp; more"));
}

#[test]
fn text_that_is_not_xml_does_not_break_the_svg() {
    let table = ResultTable {
        columns: vec![col("c", ColumnType::Text), col("v", ColumnType::Integer)],
        rows: vec![
            vec![text("nul\u{0}bell\u{7}esc\u{1b}"), Value::Int(1)],
            vec![text("]]> <!-- --> <?xml ?>"), Value::Int(2)],
        ],
        truncated: false,
    };
    for kind in [
        ChartKind::Bar,
        ChartKind::Pie,
        ChartKind::Table,
        ChartKind::Line,
    ] {
        let s = ChartSpec::new(kind, "t\u{0}")
            .dimension("c")
            .measure(Measure::new("v"));
        well_formed(&render_svg(&s, &table));
    }
}

#[test]
fn table_html_escapes_headers_cells_and_attributes() {
    let mut s = spec(ChartKind::Table);
    s.measures = vec![Measure::new("value").label(SCRIPT)];
    let mut table = hostile_table();
    table.columns[1].name = r#"x" onclick="alert(1)"#.to_string();
    let out = render_table_html(&s, &table, &TableView::default());
    assert!(!out.contains("<script"), "{out}");
    assert!(!out.contains(r#"" onclick=""#), "{out}");
    assert!(out.contains("data-sort-column=\"x&quot; onclick=&quot;alert(1)\""));
    assert!(out.contains("Tom &amp; &quot;Jerry&quot;"));
}

#[test]
fn markdown_neutralises_html_and_script_links() {
    let md = "Hello <script>alert(1)</script>\n\n<div onclick=\"x()\">block</div>\n\n[click](javascript:alert(1)) [ok](https://example.com \"t\\\"x\") [rel](/d/1)\n\n![img](javascript:alert(2)) [enc](&#106;avascript:alert(3)) <a href=\"javascript:alert(4)\">raw</a>";
    let out = render_markdown_html(md);
    assert!(!out.contains("<script"), "{out}");
    assert!(!out.contains("<div onclick"), "{out}");
    assert!(!out.contains("<a href=\"javascript"), "{out}");
    assert!(!out.to_lowercase().contains("href=\"javascript"), "{out}");
    assert!(out.contains("&lt;script&gt;"));
    assert!(out.contains(r#"<a href="https://example.com" title="t&quot;x" rel="noopener noreferrer nofollow" target="_blank">ok</a>"#), "{out}");
    assert!(out.contains(r#"<a href="/d/1""#));
    // The text of a dropped link stays.
    assert!(out.contains("click"));
    assert!(out.contains("enc"));
}

#[test]
fn text_widget_svg_escapes_markdown_and_raw_html() {
    let s = ChartSpec::new(ChartKind::Table, SCRIPT).size(400.0, 200.0);
    let out = render_text_svg(
        &s,
        &format!("# {SCRIPT}\n\n{QUOTES} <b onclick=\"x\">bold</b>"),
    );
    well_formed(&out);
    assert_escaped(&out);
    assert!(!out.contains("<b "));
}
