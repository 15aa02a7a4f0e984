//! What an outsider's phone pays: the bytes a first and a repeat view of a share link transfer
//! (the browser's own Resource Timing), the size chart text is drawn at on a 390 px screen,
//! and a multi-select filter a finger can use. Sizes, not timings: this is a test.

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::TestApp;

/// A first view of a share link may transfer this much at most (HTML, CSS, JS, fonts).
const FIRST_VIEW_BUDGET: f64 = 120.0 * 1024.0;
/// A repeat view (assets cached) this much.
const REPEAT_VIEW_BUDGET: f64 = 20.0 * 1024.0;

/// A board like the demo's: KPIs, a line, an area, a bar, a pie, a table and text, with a
/// multi-select, a select and a date filter.
const BOARD: &str = r#"version: 1
title: Board pack
description: Revenue and customers, as the board sees them.
status: published
filters:
  - {id: region, label: Region, kind: multi_select, columns: {orders: region}}
  - {id: plan, label: Plan, kind: single_select, columns: {orders: plan}}
  - {id: period, label: Period, kind: date_range, columns: {orders: day}}
widgets:
  - {id: revenue, title: Revenue, kind: kpi, layout: {x: 0, y: 0, w: 3, h: 2}, query: {dataset: orders, measures: [{agg: sum, column: amount, name: revenue}]}}
  - {id: orders, title: Orders, kind: kpi, layout: {x: 3, y: 0, w: 3, h: 2}, query: {dataset: orders, measures: [{agg: count}]}}
  - {id: average, title: Average order, kind: kpi, layout: {x: 6, y: 0, w: 3, h: 2}, query: {dataset: orders, measures: [{agg: avg, column: amount, name: average}]}}
  - {id: largest, title: Largest order, kind: kpi, layout: {x: 9, y: 0, w: 3, h: 2}, query: {dataset: orders, measures: [{agg: max, column: amount, name: largest}]}}
  - {id: trend, title: Revenue by day, kind: line, layout: {x: 0, y: 2, w: 8, h: 4}, query: {dataset: orders, dimensions: [{column: day, bucket: day}], series: plan, measures: [{agg: sum, column: amount, name: revenue}]}}
  - {id: share, title: Revenue by region, kind: pie, layout: {x: 8, y: 2, w: 4, h: 4}, query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: sum, column: amount, name: revenue}]}}
  - {id: stacked, title: Revenue by plan over time, kind: area, layout: {x: 0, y: 6, w: 6, h: 4}, query: {dataset: orders, dimensions: [{column: day, bucket: week}], series: plan, measures: [{agg: sum, column: amount, name: revenue}]}}
  - {id: by-plan, title: Revenue by plan, kind: bar, layout: {x: 6, y: 6, w: 6, h: 4}, query: {dataset: orders, dimensions: [{column: plan}], measures: [{agg: sum, column: amount, name: revenue}]}}
  - {id: rows, title: Orders by region and plan, kind: table, layout: {x: 0, y: 10, w: 8, h: 4}, query: {dataset: orders, dimensions: [{column: region}, {column: plan}], measures: [{agg: count}, {agg: sum, column: amount, name: revenue}]}}
  - {id: note, title: About, kind: text, layout: {x: 8, y: 10, w: 4, h: 4}, options: {markdown: "Figures in **euros**, updated every 30 seconds — a live board."}}
"#;

/// The board on a warehouse of a few hundred orders; returns the share link's path.
async fn board_link(app: &TestApp) -> String {
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let path = app.dir.path().join("board.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE orders (day DATE, plan TEXT, region TEXT, amount REAL)")
        .execute(&pool)
        .await
        .unwrap();
    for i in 0..300 {
        let day = format!("2026-{:02}-{:02}", 9 + i % 3, 1 + i % 28);
        let plan = ["Starter", "Growth", "Enterprise"][i % 3];
        let region = ["EMEA", "AMER", "APAC"][(i / 3) % 3];
        sqlx::query("INSERT INTO orders VALUES (?, ?, ?, ?)")
            .bind(day)
            .bind(plan)
            .bind(region)
            .bind((i * 37 % 500) as f64 + 19.0)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let post = |url: &'static str, body: Value| {
        let request = app.api().post(app.url(url)).bearer_auth(&key).json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "POST {url}");
            response.json::<Value>().await.unwrap()
        }
    };
    let source = post(
        "/api/v1/data-sources",
        json!({ "name": "Warehouse", "kind": "sqlite", "location": path.display().to_string() }),
    )
    .await;
    post(
        "/api/v1/datasets",
        json!({ "data_source_id": source["id"], "slug": "orders", "name": "Orders",
                "sql": "SELECT day, plan, region, amount FROM orders" }),
    )
    .await;
    let board = post(
        "/api/v1/dashboards",
        json!({ "slug": "board", "yaml": BOARD }),
    )
    .await;
    let link = post(
        "/api/v1/links",
        json!({ "dashboard_id": board["id"], "label": "Board", "expiry": { "kind": "never" } }),
    )
    .await;
    let url = link["url"].as_str().unwrap();
    url[url.find("/share/").unwrap()..].to_owned()
}

/// Bytes the current page transferred: its document and every resource, once the fonts it
/// uses are loaded.
const TRANSFERRED: &str = "return document.fonts.ready.then(() => {
    const entries = performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'));
    return { bytes: entries.reduce((sum, e) => sum + e.transferSize, 0),
             items: entries.map(e => [e.name.replace(location.origin, ''), e.transferSize]) };
})";

#[tokio::test]
async fn a_share_link_on_a_phone_costs_little_and_draws_legible_charts() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let path = board_link(&app).await;
    browser.set_viewport(390, 844).await;

    browser.goto(&app.url(&path)).await;
    browser.wait_for("[data-widget='trend'] svg").await;
    let first = browser.js(TRANSFERRED).await;
    let bytes = first["bytes"].as_f64().unwrap();
    eprintln!(
        "first view of a share link at 390 px: {bytes} bytes {}",
        first["items"]
    );
    assert!(
        bytes <= FIRST_VIEW_BUDGET,
        "first view transferred {bytes} bytes: {}",
        first["items"]
    );
    assert!(
        first["items"].to_string().contains(".woff2"),
        "the page draws with the web font: {}",
        first["items"]
    );

    // A repeat view: every asset comes from the cache (content-hashed, immutable).
    browser.goto(&app.url(&path)).await;
    browser.wait_for("[data-widget='trend'] svg").await;
    let repeat = browser.js(TRANSFERRED).await;
    let bytes = repeat["bytes"].as_f64().unwrap();
    eprintln!("repeat view: {bytes} bytes {}", repeat["items"]);
    assert!(
        bytes <= REPEAT_VIEW_BUDGET,
        "repeat view transferred {bytes} bytes: {}",
        repeat["items"]
    );

    // Chart text, as drawn on this screen: font size × the drawing's scale, in CSS px.
    let smallest = browser
        .js(
            "const sizes = Array.from(document.querySelectorAll('.dash-card svg text'))
                .filter(t => t.getBoundingClientRect().width > 0)
                .map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
             return { count: sizes.length, smallest: Math.min(...sizes) };",
        )
        .await;
    eprintln!("chart text at 390 px: {smallest}");
    assert!(smallest["count"].as_u64().unwrap() > 20, "{smallest}");
    assert!(
        smallest["smallest"].as_f64().unwrap() >= 10.0,
        "chart text below 10 CSS px on a phone: {smallest}"
    );
    browser.screenshot_full_page("share-link-phone").await;

    // The multi-select is a list of checkboxes a finger can tick.
    let summary = browser.wait_for("[data-multi] summary").await;
    summary.click().await.unwrap();
    let emea = browser
        .wait_for("[data-multi] input[type=checkbox][value='EMEA']")
        .await;
    emea.click().await.unwrap();
    browser
        .wait_until(
            "the view to follow the ticked box",
            "location.search.includes('f.region=EMEA') && !document.querySelector('[aria-busy]')",
        )
        .await;
    assert_eq!(
        browser.text("[data-multi-summary]").await,
        "EMEA",
        "the closed control names what it holds"
    );
    let height = browser
        .js("return document.querySelector('[data-multi] label.dash-check').getBoundingClientRect().height")
        .await;
    assert!(height.as_f64().unwrap() >= 24.0, "a tappable row: {height}");
    browser.screenshot("share-link-phone-filter").await;
    assert!(browser.csp_violations().await.is_empty());
    assert!(browser.console_errors().await.is_empty());
}
