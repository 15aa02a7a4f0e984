//! The live page's table fragment and Markdown.

use crate::helpers::*;
use vitrine_render::*;

fn spec() -> ChartSpec {
    ChartSpec::new(ChartKind::Table, "Customers")
        .measure(Measure::new("mrr").label("MRR").format(usd()))
}

fn cells(html: &str, col: usize) -> Vec<String> {
    html.split("<tr>")
        .skip(2)
        .filter_map(|row| {
            row.split("<td")
                .nth(col + 1)
                .and_then(|c| c.split('>').nth(1))
                .and_then(|c| c.split('<').next())
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn pages_hold_page_size_rows_and_a_pager() {
    let t = customers(60);
    let view = TableView {
        page: 2,
        page_size: 25,
        sort: None,
    };
    let html = render_table_html(&spec(), &t, &view);
    assert_eq!(html.matches("<tr>").count(), 1 + 25);
    assert!(html.contains(r#"data-page="2" data-pages="3""#));
    assert!(html.contains("26–50 of 60"));
    assert_eq!(cells(&html, 0)[0], "1025");
    // Past the end: the last page.
    let html = render_table_html(
        &spec(),
        &t,
        &TableView {
            page: 99,
            ..view.clone()
        },
    );
    assert!(html.contains("51–60 of 60"));
    assert!(html.contains(r#"data-page="3" disabled>Next"#));
}

#[test]
fn sorting_is_server_side_with_nulls_last() {
    let mut t = customers(30);
    t.rows[4][4] = vitrine_core::result::Value::Null;
    let view = TableView {
        page: 1,
        page_size: 50,
        sort: Some(TableSort {
            column: "mrr".into(),
            descending: true,
        }),
    };
    let html = render_table_html(&spec(), &t, &view);
    let mrr = cells(&html, 4);
    assert_eq!(mrr.last().map(String::as_str), Some("—"));
    let values: Vec<f64> = mrr[..mrr.len() - 1]
        .iter()
        .map(|s| s.trim_start_matches('$').replace(',', "").parse().unwrap())
        .collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    assert!(html.contains(r#"aria-sort="descending"><button type="button" data-sort-column="mrr" data-sort-dir="asc">MRR"#));
    // Numbers carry their raw value for the client.
    assert!(html.contains(r#"class="vt-num" data-value=""#));
}

#[test]
fn an_empty_table_says_so() {
    let html = render_table_html(&spec(), &customers(0), &TableView::default());
    assert!(html.contains("No data"));
}

#[test]
fn markdown_renders_common_blocks() {
    let html = render_markdown_html(
        "# Title\n\nSome **bold** and *em* and `code`.\n\n- a\n- b\n\n| x | y |\n|---|--:|\n| 1 | 2 |",
    );
    assert!(html.contains("<h1>Title</h1>"));
    assert!(html.contains("<strong>bold</strong>"));
    assert!(html.contains("<em>em</em>"));
    assert!(html.contains("<code>code</code>"));
    assert!(html.contains("<ul><li>a</li>"));
    assert!(
        html.contains(r#"<th style="text-align:right">y</th>"#),
        "{html}"
    );
    assert!(html.contains("<tbody><tr><td>1</td>"), "{html}");
}
