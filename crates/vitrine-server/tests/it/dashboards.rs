//! The dashboard runner and view, end to end over a real SQLite warehouse made in each test:
//! every widget kind renders, filters change the SQL result, SQL in a filter value is only a
//! value, failures are polite, concurrent misses run one query, labels are escaped, and the
//! page has no inline style or script.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};
use time::macros::datetime;
use tower::ServiceExt;
use vitrine_app::dashboards::{
    DashboardContext, DatasetContext, Restriction, Restrictions, Runner, RunnerLimits,
    WidgetOutput, parse_view_query,
};
use vitrine_core::clock::{Clock, ManualClock};
use vitrine_core::dashboard::{Dashboard, RowLevelRule, RuleOp, Scalar, WidgetKind};
use vitrine_data::{DataSource, DataSourceConfig, DataSourceOptions, Dataset, RowCapPolicy};
use vitrine_server::dashboards::{dashboard_page, widget_fragment};
use vitrine_server::pages::Chrome;

use crate::helpers::TestApp;

const SCRIPT: &str = "<script>alert(1)</script>";

/// A warehouse file with an `orders` table: 3 EU orders, 2 US orders, 1 from a region whose
/// name is a script tag, all in November 2026 (the clock says 2026-11-23).
struct Warehouse {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl Warehouse {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("warehouse.db");
        let mut conn = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        conn.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, day DATE NOT NULL, region TEXT NOT NULL, \
             plan TEXT NOT NULL, amount REAL NOT NULL, customer_id INTEGER NOT NULL)",
        )
        .await
        .unwrap();
        let rows = [
            (1, "2026-11-01", "EU", "Pro", 100.0, 7),
            (2, "2026-11-02", "EU", "Team", 50.0, 8),
            (3, "2026-11-20", "EU", "Pro", 25.0, 7),
            (4, "2026-11-03", "US", "Pro", 1000.0, 9),
            (5, "2026-11-21", "US", "Team", 500.0, 10),
            (6, "2026-11-22", SCRIPT, "Pro", 1.0, 11),
        ];
        for (id, day, region, plan, amount, customer) in rows {
            sqlx::query("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)")
                .bind(id)
                .bind(day)
                .bind(region)
                .bind(plan)
                .bind(amount)
                .bind(customer)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn.close().await.unwrap();
        Warehouse { _dir: dir, path }
    }

    fn config(&self) -> DataSourceConfig {
        DataSourceConfig::Sqlite {
            path: self.path.clone(),
        }
    }

    /// A dataset over this warehouse, its columns discovered from the database as saving does.
    async fn dataset(&self, slug: &str, sql: &str, options: DataSourceOptions) -> DatasetContext {
        let source = DataSource::open(&self.config(), DataSourceOptions::default()).unwrap();
        let columns = source.discover_columns(sql).await.unwrap();
        DatasetContext {
            dataset: Dataset::new(source.dialect(), slug, sql, columns).unwrap(),
            source_key: (1, 1),
            source: self.config(),
            options,
        }
    }

    async fn order_count(&self) -> i64 {
        let mut conn = SqliteConnectOptions::new()
            .filename(&self.path)
            .connect()
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        n
    }
}

const ORDERS_SQL: &str = "SELECT id, day, region, plan, amount, customer_id FROM orders";

const EVERY_KIND: &str = r#"
version: 1
title: Sales overview
description: Orders by region and plan.
refresh_seconds: 60
status: published
filters:
  - {id: region, label: Region, kind: single_select, columns: {orders: region}}
  - {id: plan, label: Plan, kind: multi_select, columns: {orders: plan}}
  - {id: period, label: Period, kind: date_range, columns: {orders: day}, default: {preset: this_month}}
  - {id: amount, label: Amount, kind: number_range, columns: {orders: amount}}
widgets:
  - id: revenue
    title: Revenue
    kind: kpi
    layout: {x: 0, y: 0, w: 3, h: 2}
    options: {number_formats: {revenue: {style: currency, currency: USD}}}
    query: {dataset: orders, dimensions: [{column: day, bucket: day}], measures: [{agg: sum, column: amount, name: revenue}]}
  - id: trend
    title: Daily revenue
    kind: line
    layout: {x: 3, y: 0, w: 9, h: 3}
    query: {dataset: orders, dimensions: [{column: day, bucket: day}], measures: [{agg: sum, column: amount, name: revenue}]}
  - id: cumulative
    title: Orders by plan
    kind: area
    layout: {x: 0, y: 3, w: 6, h: 3}
    options: {stacking: stacked}
    query: {dataset: orders, dimensions: [{column: day, bucket: week}], series: plan, measures: [{agg: count}]}
  - id: by_region
    title: Revenue by region
    kind: bar
    layout: {x: 6, y: 3, w: 6, h: 3}
    options: {orientation: horizontal}
    query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: sum, column: amount, name: revenue}]}
  - id: plans
    title: Plans
    kind: pie
    layout: {x: 0, y: 6, w: 4, h: 3}
    query: {dataset: orders, dimensions: [{column: plan}], measures: [{agg: count}]}
  - id: rows
    title: Orders per region
    kind: table
    layout: {x: 4, y: 6, w: 8, h: 3}
    options: {page_size: 2}
    query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: count}, {agg: sum, column: amount, name: revenue}], sort: [{by: region}]}
  - id: notes
    kind: text
    layout: {x: 0, y: 9, w: 12, h: 1}
    options: {markdown: "**Note**: figures are *live*. [Docs](https://example.com)"}
"#;

struct Fixture {
    warehouse: Warehouse,
    clock: Arc<ManualClock>,
    runner: Arc<Runner>,
    ctx: Arc<DashboardContext>,
}

async fn fixture_with(yaml: &str, sql: &str, options: DataSourceOptions) -> Fixture {
    let warehouse = Warehouse::new().await;
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 12:00 UTC)));
    let runner = Arc::new(Runner::new(clock.clone() as Arc<dyn Clock>));
    let dataset = warehouse.dataset("orders", sql, options).await;
    let ctx = Arc::new(DashboardContext::new(
        7,
        1,
        Dashboard::from_yaml(yaml).unwrap(),
        HashMap::from([("orders".to_string(), dataset)]),
    ));
    Fixture {
        warehouse,
        clock,
        runner,
        ctx,
    }
}

async fn fixture() -> Fixture {
    fixture_with(EVERY_KIND, ORDERS_SQL, DataSourceOptions::default()).await
}

impl Fixture {
    async fn widget(&self, id: &str, query: &str) -> WidgetOutput {
        self.widget_with_rules(id, query, &Restrictions::none())
            .await
    }

    async fn widget_with_rules(
        &self,
        id: &str,
        query: &str,
        restrictions: &Restrictions,
    ) -> WidgetOutput {
        let view = parse_view_query(&self.ctx.document, query);
        self.runner
            .run_widget(&self.ctx, id, &view, restrictions)
            .await
            .expect("the widget exists")
    }

    async fn page(&self, query: &str) -> String {
        dashboard_page(
            &self.runner,
            &self.ctx,
            query,
            &Restrictions::none(),
            chrome(),
            "/dashboards/7",
        )
        .await
        .render()
        .unwrap()
    }
}

fn chrome() -> Chrome {
    Chrome {
        name: "Ada".into(),
        email: "ada@example.com".into(),
        role: "editor".into(),
        can_manage_members: false,
        is_admin: false,
        can_edit: true,
        csrf: "csrf-token".into(),
        active: "home",
    }
}

/// The text of a table fragment's cells, row by row.
fn cells(html: &str) -> Vec<Vec<String>> {
    html.split("<tr>")
        .skip(2) // before the header row, the header row
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let start = cell.find('>').unwrap() + 1;
                    let end = cell.find("</td>").unwrap();
                    cell[start..end].to_string()
                })
                .collect()
        })
        .collect()
}

const LEAKS: &[&str] = &[
    "SELECT",
    "select ",
    "FROM",
    "orders",
    "RECURSIVE",
    "sqlite",
    "SQLITE",
    "interrupt",
    "error returned",
];

fn assert_polite(output: &WidgetOutput, code: &str, sentence: &str) {
    assert_eq!(output.error_code, Some(code), "{output:?}");
    assert!(output.svg.contains(sentence), "{}", output.svg);
    for leak in LEAKS {
        assert!(
            !output.svg.contains(leak),
            "`{leak}` leaked: {}",
            output.svg
        );
    }
    assert!(output.html.is_none());
}

#[tokio::test]
async fn every_widget_kind_renders_with_live_data() {
    let fx = fixture().await;
    let outputs = fx
        .runner
        .run_dashboard(
            &fx.ctx,
            &parse_view_query(&fx.ctx.document, ""),
            &Restrictions::none(),
        )
        .await;
    let kinds: Vec<WidgetKind> = outputs.iter().map(|o| o.kind).collect();
    assert_eq!(
        kinds,
        [
            WidgetKind::Kpi,
            WidgetKind::Line,
            WidgetKind::Area,
            WidgetKind::Bar,
            WidgetKind::Pie,
            WidgetKind::Table,
            WidgetKind::Text
        ]
    );
    for o in &outputs {
        assert_eq!(o.error_code, None, "{}: {}", o.widget_id, o.svg);
        assert!(o.svg.starts_with("<svg"), "{}", o.widget_id);
        assert!(o.svg.ends_with("</svg>"), "{}", o.widget_id);
        assert!(!o.svg.contains("No data"), "{}: {}", o.widget_id, o.svg);
    }
    let by_id = |id: &str| outputs.iter().find(|o| o.widget_id == id).unwrap();
    // November's revenue: 100 + 50 + 25 + 1000 + 500 + 1.
    assert!(
        by_id("revenue").svg.contains("$1,676"),
        "{}",
        by_id("revenue").svg
    );
    assert!(by_id("revenue").computed_at.is_some());
    // The sparkline: November building up, day by day, to the figure shown.
    assert!(
        by_id("revenue").svg.contains("vt-sparkline"),
        "{}",
        by_id("revenue").svg
    );
    assert!(by_id("trend").svg.contains("<path"));
    assert!(by_id("plans").svg.contains("Pro"));
    let table = by_id("rows").html.as_deref().unwrap();
    assert!(table.contains("<table>"), "{table}");
    assert!(
        table.contains(r#"data-pages="2""#),
        "page size 2, 3 regions: {table}"
    );
    let text = by_id("notes").html.as_deref().unwrap();
    assert!(text.contains("<strong>Note</strong>"), "{text}");
    assert!(text.contains(r#"href="https://example.com""#), "{text}");
}

#[tokio::test]
async fn a_filter_value_in_the_query_string_changes_the_sql_result() {
    let fx = fixture().await;
    let all = fx.widget("rows", "t.rows.page=1").await;
    let eu = fx.widget("rows", "f.region=EU").await;
    let eu_rows = cells(eu.html.as_deref().unwrap());
    assert_eq!(eu_rows, vec![vec!["EU", "3", "175"]], "{:?}", eu.html);
    assert_ne!(all.data_hash, eu.data_hash);

    let us_pro = fx.widget("rows", "f.region=US&f.plan=Pro").await;
    assert_eq!(
        cells(us_pro.html.as_deref().unwrap()),
        vec![vec!["US", "1", "1,000"]]
    );

    // A date range: the first three days of November only.
    let early = fx.widget("rows", "f.period=2026-11-01..2026-11-03").await;
    assert_eq!(
        cells(early.html.as_deref().unwrap()),
        vec![vec!["EU", "2", "150"], vec!["US", "1", "1,000"]]
    );
    // A number range.
    let big = fx.widget("rows", "f.amount=100..").await;
    assert_eq!(
        cells(big.html.as_deref().unwrap()),
        vec![vec!["EU", "1", "100"], vec!["US", "2", "1,500"]]
    );
    // "All time" beats the default (this month); a bad value keeps the default.
    let kpi_default = fx.widget("revenue", "").await;
    let kpi_bad = fx.widget("revenue", "f.period=the_dawn_of_time").await;
    assert_eq!(kpi_default.data_hash, kpi_bad.data_hash);
}

#[tokio::test]
async fn table_sort_and_page_come_from_the_query_string() {
    let fx = fixture().await;
    let sorted = fx
        .widget("rows", "t.rows.sort=revenue&t.rows.dir=desc")
        .await;
    let rows = cells(sorted.html.as_deref().unwrap());
    assert_eq!(rows[0][0], "US");
    assert_eq!(rows[1][0], "EU");
    let second = fx
        .widget("rows", "t.rows.sort=revenue&t.rows.dir=desc&t.rows.page=2")
        .await;
    let rows = cells(second.html.as_deref().unwrap());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], "&lt;script&gt;alert(1)&lt;/script&gt;");
}

#[tokio::test]
async fn sql_in_a_filter_value_matches_nothing_and_the_table_survives() {
    let fx = fixture().await;
    for q in [
        "f.region=%27%3B+DROP+TABLE+orders%3B+--",
        "f.plan=%27%3B+DROP+TABLE+orders%3B+--&f.plan=Pro%27+OR+%271%27%3D%271",
        "f.amount=0..1%3B+DROP+TABLE+orders",
    ] {
        let out = fx.widget("rows", q).await;
        let html = out.html.as_deref().unwrap();
        assert_eq!(out.error_code, None, "{q}");
        if q.starts_with("f.amount") {
            // An unparseable number range is ignored: the default view.
            assert_eq!(cells(html).len(), 2, "{q}: {html}");
        } else {
            assert!(html.contains("No data"), "{q}: {html}");
        }
    }
    assert_eq!(fx.warehouse.order_count().await, 6);
}

#[tokio::test]
async fn a_widget_that_times_out_shows_a_polite_error_without_sql_or_driver_text() {
    let options = DataSourceOptions {
        statement_timeout: Duration::from_secs(1),
        ..DataSourceOptions::default()
    };
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                SELECT x, 'EU' AS region FROM c";
    let yaml = r#"
version: 1
title: Slow
widgets:
  - id: forever
    title: Forever
    kind: bar
    layout: {x: 0, y: 0, w: 6, h: 3}
    query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: sum, column: x}]}
"#;
    let warehouse = Warehouse::new().await;
    let source = DataSource::open(&warehouse.config(), DataSourceOptions::default()).unwrap();
    let columns = vec![
        vitrine_core::result::Column {
            name: "x".into(),
            kind: vitrine_core::result::ColumnType::Integer,
        },
        vitrine_core::result::Column {
            name: "region".into(),
            kind: vitrine_core::result::ColumnType::Text,
        },
    ];
    let dataset = DatasetContext {
        dataset: Dataset::new(source.dialect(), "orders", slow, columns).unwrap(),
        source_key: (1, 1),
        source: warehouse.config(),
        options,
    };
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 12:00 UTC)));
    let runner = Arc::new(Runner::new(clock as Arc<dyn Clock>));
    let ctx = Arc::new(DashboardContext::new(
        1,
        1,
        Dashboard::from_yaml(yaml).unwrap(),
        HashMap::from([("orders".to_string(), dataset)]),
    ));
    let view = parse_view_query(&ctx.document, "");
    let out = runner
        .run_widget(&ctx, "forever", &view, &Restrictions::none())
        .await
        .unwrap();
    assert_polite(&out, "timeout", "took too long");

    // The page shows the same polite card.
    let page = dashboard_page(
        &runner,
        &ctx,
        "",
        &Restrictions::none(),
        chrome(),
        "/dashboards/1",
    )
    .await
    .render()
    .unwrap();
    assert!(page.contains(r#"data-error="timeout""#), "{page}");
    assert!(!page.contains("RECURSIVE"));
}

#[tokio::test]
async fn a_widget_over_the_row_cap_shows_a_polite_error() {
    let options = DataSourceOptions {
        row_cap: 2,
        row_cap_policy: RowCapPolicy::Fail,
        ..DataSourceOptions::default()
    };
    let fx = fixture_with(EVERY_KIND, ORDERS_SQL, options).await;
    let out = fx.widget("rows", "").await;
    assert_polite(&out, "row_cap", "more rows than a widget may show");
    // A widget under the cap still works.
    let fine = fx.widget("rows", "f.region=EU").await;
    assert_eq!(fine.error_code, None);
}

#[tokio::test]
async fn a_broken_definition_is_a_polite_error_too() {
    let fx = fixture().await;
    let mut ctx = (*fx.ctx).clone();
    ctx.datasets.clear();
    let view = parse_view_query(&ctx.document, "");
    let out = fx
        .runner
        .run_widget(&ctx, "trend", &view, &Restrictions::none())
        .await
        .unwrap();
    assert_polite(&out, "invalid_definition", "cannot be run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_uncached_widget_run_one_query() {
    // A dataset slow enough (a few hundred ms) that every request misses while the first runs.
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) \
                SELECT o.region, o.amount FROM orders o JOIN (SELECT MAX(x) AS m FROM c) AS s ON 1 = 1";
    let yaml = r#"
version: 1
title: Busy
refresh_seconds: 60
widgets:
  - id: by_region
    title: By region
    kind: bar
    layout: {x: 0, y: 0, w: 6, h: 3}
    query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: sum, column: amount}]}
"#;
    let fx = fixture_with(yaml, slow, DataSourceOptions::default()).await;
    const N: usize = 16;
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (runner, ctx, barrier) = (fx.runner.clone(), fx.ctx.clone(), barrier.clone());
            tokio::spawn(async move {
                let view = parse_view_query(&ctx.document, "");
                barrier.wait().await;
                runner
                    .run_widget(&ctx, "by_region", &view, &Restrictions::none())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outputs = Vec::new();
    for t in tasks {
        outputs.push(t.await.unwrap());
    }
    assert_eq!(fx.runner.queries_run(), 1);
    assert!(outputs.iter().all(|o| o.error_code.is_none()));
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));

    // Another filter state is another entry; the same one again is a hit until the refresh
    // interval has passed.
    fx.widget("by_region", "").await;
    assert_eq!(fx.runner.queries_run(), 1);
    fx.clock.advance(time::Duration::seconds(60));
    fx.widget("by_region", "").await;
    assert_eq!(fx.runner.queries_run(), 2);
}

#[tokio::test]
async fn row_level_rules_restrict_widgets_and_filter_options_and_key_the_cache() {
    let fx = fixture().await;
    let rule = RowLevelRule::new(
        "customer_id",
        RuleOp::In,
        vec![Scalar::Int(7), Scalar::Int(9)],
    )
    .unwrap();
    let restrictions = Restrictions::build(
        &fx.ctx.document,
        |slug| fx.ctx.dataset_columns(slug),
        &[Restriction::Rule {
            rule: &rule,
            dataset: None,
        }],
        fx.runner.now().date(),
    )
    .unwrap();
    let restricted = fx.widget_with_rules("rows", "", &restrictions).await;
    assert_eq!(
        cells(restricted.html.as_deref().unwrap()),
        vec![vec!["EU", "2", "125"], vec!["US", "1", "1,000"]]
    );
    // The unrestricted view is not served from the restricted entry.
    let open = fx.widget("rows", "").await;
    assert_eq!(cells(open.html.as_deref().unwrap()).len(), 2);
    assert_ne!(open.data_hash, restricted.data_hash);

    let options = fx
        .runner
        .filter_options(&fx.ctx, "region", &restrictions)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(options.values, ["EU", "US"]);
    let all = fx
        .runner
        .filter_options(&fx.ctx, "region", &Restrictions::none())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.values, ["<script>alert(1)</script>", "EU", "US"]);
    assert!(
        fx.runner
            .filter_options(&fx.ctx, "period", &Restrictions::none())
            .await
            .is_none()
    );
}

#[tokio::test]
async fn the_page_escapes_labels_and_has_no_inline_style_or_script() {
    let fx = fixture().await;
    let page = fx
        .page("f.region=%3Cscript%3Ealert(1)%3C%2Fscript%3E&f.period=")
        .await;
    assert!(!page.contains(SCRIPT), "a raw script tag reached the page");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("style="), "inline style attribute");
    assert!(!lower.contains("<style"), "inline style element");
    for handler in [
        " onclick=",
        " onload=",
        " onerror=",
        " onchange=",
        "javascript:",
    ] {
        assert!(!lower.contains(handler), "{handler}");
    }
    // Every script is an external file, with an empty body.
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..];
        let end = tag.find('>').unwrap();
        assert!(tag[..end].contains(" src=\"/static/"), "{}", &tag[..end]);
        assert!(
            tag[end + 1..].starts_with("</script>"),
            "inline script body"
        );
    }
}

#[tokio::test]
async fn the_page_shows_title_status_filters_from_the_url_and_a_grid_in_layout_order() {
    let fx = fixture().await;
    let page = fx
        .page("f.region=EU&f.plan=Pro&f.period=last_7_days&f.amount=10..500")
        .await;
    assert!(page.contains("<h1>Sales overview"), "{page}");
    assert!(page.contains("published"));
    assert!(page.contains("Orders by region and plan."));
    assert!(page.contains(r#"action="/dashboards/7""#));
    assert!(page.contains(r#"data-base="/dashboards/7""#));
    assert!(
        page.contains(r#"<option value="EU" selected>EU</option>"#),
        "{page}"
    );
    assert!(page.contains(r#"<option value="US">US</option>"#));
    assert!(
        page.contains(r#"<input type="checkbox" name="f.plan" value="Pro" checked>"#),
        "a multi select is a list of checkboxes"
    );
    assert!(page.contains(r#"<option value="last_7_days" selected>Last 7 days</option>"#));
    assert!(
        page.contains(r#"name="f.period.from" value="2026-11-17""#),
        "{page}"
    );
    assert!(page.contains(r#"name="f.amount.min" value="10""#));
    assert!(page.contains(r#"name="f.amount.max" value="500""#));
    assert!(page.contains("Refreshed at <time data-refreshed-at>12:00:00 UTC</time>"));
    assert!(
        page.contains(&format!(
            r#"<link rel="stylesheet" href="{}">"#,
            vitrine_server::assets::url("/static/dashboard.css")
        )),
        "the stylesheet under its content-hashed URL"
    );
    // Cards in layout order, each placed by classes.
    let order: Vec<usize> = [
        "revenue",
        "trend",
        "cumulative",
        "by_region",
        "plans",
        "rows",
        "notes",
    ]
    .iter()
    .map(|id| page.find(&format!(r#"data-widget="{id}""#)).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
    assert!(page.contains("w-x-6 w-y-3 w-w-6 w-h-3"));
    // Without filters chosen, the default preset is selected.
    let page = fx.page("").await;
    assert!(page.contains(r#"<option value="this_month" selected>This month</option>"#));
    assert!(!page.contains(r#"<option value="" selected>All time</option>"#));
}

#[tokio::test]
async fn a_dark_theme_in_the_url_darkens_the_charts_and_their_cards() {
    let fx = fixture().await;
    let light = fx.widget("by_region", "").await;
    let dark = fx.widget("by_region", "theme=dark").await;
    assert_eq!(light.data_hash, dark.data_hash, "same data, other drawing");
    assert!(dark.svg.contains("#9AA4B2"), "the dark theme's muted text");
    assert!(!light.svg.contains("#9AA4B2"));
    let page = fx.page("theme=dark").await;
    assert!(page.contains(r#"class="dash-grid dash-theme-dark""#));
    assert!(page.contains(r#"<input type="hidden" name="theme" value="dark">"#));
}

#[tokio::test]
async fn the_fragment_endpoint_returns_the_card_or_404() {
    let fx = fixture().await;
    let (runner, ctx) = (fx.runner.clone(), fx.ctx.clone());
    let app = axum::Router::new().route(
        "/dashboards/7/widgets/{wid}",
        axum::routing::get(
            move |axum::extract::Path(wid): axum::extract::Path<String>,
                  axum::extract::RawQuery(q): axum::extract::RawQuery| {
                let (runner, ctx) = (runner.clone(), ctx.clone());
                async move {
                    widget_fragment(
                        &runner,
                        &ctx,
                        &wid,
                        q.as_deref().unwrap_or(""),
                        &Restrictions::none(),
                    )
                    .await
                }
            },
        ),
    );
    let get = |uri: &str| {
        app.clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
    };
    let ok = get("/dashboards/7/widgets/rows?f.region=US").await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let body = axum::body::to_bytes(ok.into_body(), 1 << 20).await.unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        body.starts_with(r#"<div class="dash-card-inner""#),
        "{body}"
    );
    assert!(body.contains("<td>US</td>"), "{body}");
    assert!(!body.contains("<td>EU</td>"), "{body}");
    let missing = get("/dashboards/7/widgets/nope").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pools_are_bounded_and_replaced_when_a_source_changes() {
    let fx = fixture().await;
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 12:00 UTC)));
    let runner = Arc::new(Runner::with_limits(
        clock as Arc<dyn Clock>,
        RunnerLimits {
            max_sources: 1,
            ..RunnerLimits::default()
        },
    ));
    let view = parse_view_query(&fx.ctx.document, "");
    runner
        .run_widget(&fx.ctx, "rows", &view, &Restrictions::none())
        .await
        .unwrap();
    assert_eq!(runner.open_sources(), 1);
    // A second data source pushes the first out.
    let mut other = (*fx.ctx).clone();
    other.revision = 2;
    other.datasets.get_mut("orders").unwrap().source_key = (2, 1);
    let out = runner
        .run_widget(&other, "rows", &view, &Restrictions::none())
        .await
        .unwrap();
    assert_eq!(out.error_code, None);
    assert_eq!(runner.open_sources(), 1);
    // A new revision of the same source: still one pool, and the widget runs again.
    let before = runner.queries_run();
    other.datasets.get_mut("orders").unwrap().source_key = (2, 2);
    runner
        .run_widget(&other, "rows", &view, &Restrictions::none())
        .await
        .unwrap();
    assert_eq!(runner.open_sources(), 1);
    assert_eq!(runner.queries_run(), before + 1);
}

#[tokio::test]
async fn the_dashboard_assets_are_served() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    for (path, kind, needle) in [
        ("/static/dashboard.css", "text/css", ".w-x-11"),
        (
            "/static/dashboard.js",
            "text/javascript",
            "history.replaceState",
        ),
    ] {
        let r = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(r.text().await.unwrap().contains(needle), "{path}");
    }
}
