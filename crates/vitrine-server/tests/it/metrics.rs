//! `/metrics`: valid Prometheus text, counters that follow what outsiders do, the token (or a
//! separate outsider listener) it needs, and never on the outsider listener.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{CLIENT_HEADER, TestApp};

/// Two data widgets, no filters: one view costs exactly two widget lookups.
pub(crate) const BOARD: &str = r#"version: 1
title: Board
status: published
widgets:
  - id: total
    title: Revenue
    kind: kpi
    layout: {x: 0, y: 0, w: 4, h: 2}
    query: {dataset: orders, measures: [{agg: sum, column: amount}]}
  - id: by-region
    title: Revenue by region
    kind: table
    layout: {x: 4, y: 0, w: 8, h: 4}
    query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: sum, column: amount}]}
"#;

/// One series: the metric name and its labels, sorted.
type Series = (String, BTreeMap<String, String>);

/// Parses exposition text line by line, checking the format as it goes: every family has a
/// `# HELP` then a `# TYPE` (counter or gauge) before its samples, every sample belongs to
/// the family declared last, names and label names are valid, label values are properly
/// escaped and quoted, values are numbers, no series appears twice, the text ends in a newline.
fn parse(text: &str) -> BTreeMap<Series, f64> {
    fn valid_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    assert!(text.ends_with('\n'), "the text ends with a newline");
    let mut out = BTreeMap::new();
    let mut helped: Option<String> = None;
    let mut family: Option<(String, String)> = None;
    let mut families = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has a name and a text");
            assert!(valid_name(name), "{line}");
            assert!(!help.trim().is_empty(), "{line}");
            assert!(
                !families.contains(&name.to_owned()),
                "{name} declared twice"
            );
            families.push(name.to_owned());
            helped = Some(name.to_owned());
            family = None;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a name and a type");
            assert_eq!(
                helped.as_deref(),
                Some(name),
                "TYPE follows its HELP: {line}"
            );
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            family = Some((name.to_owned(), kind.to_owned()));
        } else {
            assert!(
                !line.starts_with('#') && !line.is_empty(),
                "stray line {line:?}"
            );
            let (name, kind) = family.as_ref().expect("a sample after its TYPE");
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            let (sample_name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, parse_labels(rest.strip_suffix('}').expect(line))),
                None => (series, BTreeMap::new()),
            };
            assert_eq!(sample_name, name, "sample of another family: {line}");
            if kind == "counter" {
                assert!(value >= 0.0 && value.fract() == 0.0, "{line}");
            }
            for key in labels.keys() {
                assert!(valid_name(key) && !key.starts_with("__"), "{line}");
            }
            let key = (sample_name.to_owned(), labels);
            assert!(out.insert(key, value).is_none(), "duplicate series {line}");
        }
    }
    out
}

/// `a="x",b="y\"z"` → {a: x, b: y"z}.
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("a closing quote") {
                (_, '\\') => match chars.next().expect("an escaped character").1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => panic!("bad escape \\{other}"),
                },
                (i, '"') => break i,
                (_, '\n') => panic!("raw newline in a label value"),
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_owned(), value);
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    labels
}

fn value(metrics: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let key = (
        name.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    *metrics
        .get(&key)
        .unwrap_or_else(|| panic!("no series {key:?}"))
}

/// The token the tests' servers take scrapes with (`/metrics` is not served openly on the
/// listener that serves share links).
const TOKEN: &str = "scrape-token-for-tests";

/// A server whose `/metrics` takes [`TOKEN`].
async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| c.metrics.token = Some(TOKEN.to_owned())).await
}

async fn scrape(app: &TestApp) -> BTreeMap<Series, f64> {
    let response = app
        .api()
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse(&response.text().await.unwrap())
}

/// A warehouse, a data source, a dataset, the dashboard and an open link; returns its path.
pub async fn shared_board(app: &TestApp) -> String {
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let warehouse = app.dir.path().join("warehouse.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", warehouse.display()))
        .await
        .unwrap();
    for statement in [
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT, amount REAL)",
        "INSERT INTO orders (region, amount) VALUES ('EMEA', 10), ('AMER', 20)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let post = async |path: &str, body: Value| -> Value {
        let response = app
            .api()
            .post(app.url(path))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        response.json().await.unwrap()
    };
    let source = post(
        "/api/v1/data-sources",
        json!({ "name": "Warehouse", "kind": "sqlite", "location": warehouse.display().to_string() }),
    )
    .await;
    post(
        "/api/v1/datasets",
        json!({ "data_source_id": source["id"], "slug": "orders", "name": "Orders", "sql": "SELECT region, amount FROM orders" }),
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

async fn view(app: &TestApp, path: &str) -> u16 {
    app.api()
        .get(app.url(path))
        .header(CLIENT_HEADER, "203.0.113.9")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_text_format_is_valid_and_lists_every_family() {
    let app = spawn().await;
    let text = app
        .api()
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metrics = parse(&text);
    assert_eq!(
        value(
            &metrics,
            "vitrine_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    for family in [
        "vitrine_warehouse_queries_total",
        "vitrine_result_cache_hits_total",
        "vitrine_result_cache_misses_total",
        "vitrine_open_data_sources",
        "vitrine_live_streams_open",
        "vitrine_link_access_total",
        "vitrine_export_renders_total",
        "vitrine_http_requests_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
    assert!(
        text.contains("single-flight"),
        "the cache's HELP says what a hit is"
    );
    if cfg!(target_os = "linux") {
        assert!(value(&metrics, "process_resident_memory_bytes", &[]) > 1e6);
    }
    for format in ["pdf", "png", "svg", "csv"] {
        assert_eq!(
            value(
                &metrics,
                "vitrine_export_renders_total",
                &[("format", format)]
            ),
            0.0
        );
    }
}

#[tokio::test]
async fn an_independent_prometheus_parser_reads_every_family_with_its_type_and_values() {
    let app = spawn().await;
    let path = shared_board(&app).await;
    assert_eq!(view(&app, &path).await, 200);
    let text = app
        .api()
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("the exposition parses");
    let sample = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("{name} {label:?} missing:\n{text}"))
            .value
            .clone()
    };
    use prometheus_parse::Value;
    assert_eq!(
        sample("vitrine_link_access_total", Some(("outcome", "ok"))),
        Value::Counter(1.0)
    );
    assert_eq!(
        sample(
            "vitrine_link_access_total",
            Some(("outcome", "not_allowed"))
        ),
        Value::Counter(0.0)
    );
    assert!(
        matches!(sample("vitrine_warehouse_queries_total", None), Value::Counter(n) if n >= 2.0)
    );
    assert_eq!(sample("vitrine_live_streams_open", None), Value::Gauge(0.0));
    assert_eq!(sample("vitrine_open_data_sources", None), Value::Gauge(1.0));
    assert!(matches!(
        sample("vitrine_http_requests_total", Some(("status", "2xx"))),
        Value::Counter(n) if n >= 1.0
    ));
    for family in [
        "vitrine_build_info",
        "vitrine_warehouse_queries_total",
        "vitrine_result_cache_hits_total",
        "vitrine_result_cache_misses_total",
        "vitrine_open_data_sources",
        "vitrine_live_streams_open",
        "vitrine_link_access_total",
        "vitrine_export_renders_total",
        "vitrine_export_busy_total",
        "vitrine_outsider_limited_total",
        "vitrine_http_requests_total",
    ] {
        assert!(scrape.docs.contains_key(family), "HELP of {family}");
    }
}

#[tokio::test]
async fn counters_follow_share_link_views_and_the_warm_cache() {
    let app = spawn().await;
    let path = shared_board(&app).await;
    let before = scrape(&app).await;
    let queries = |m: &BTreeMap<Series, f64>| value(m, "vitrine_warehouse_queries_total", &[]);
    let hits = |m: &BTreeMap<Series, f64>| {
        value(
            m,
            "vitrine_result_cache_hits_total",
            &[("cache", "results")],
        )
    };
    let misses = |m: &BTreeMap<Series, f64>| {
        value(
            m,
            "vitrine_result_cache_misses_total",
            &[("cache", "results")],
        )
    };
    let views =
        |m: &BTreeMap<Series, f64>| value(m, "vitrine_link_access_total", &[("outcome", "ok")]);
    assert_eq!(views(&before), 0.0);

    assert_eq!(view(&app, &path).await, 200);
    let first = scrape(&app).await;
    assert_eq!(queries(&first) - queries(&before), 2.0, "two widgets ran");
    assert_eq!(misses(&first) - misses(&before), 2.0);
    assert_eq!(hits(&first) - hits(&before), 0.0);
    assert_eq!(views(&first), 1.0);
    assert_eq!(value(&first, "vitrine_open_data_sources", &[]), 1.0);

    assert_eq!(view(&app, &path).await, 200);
    let second = scrape(&app).await;
    assert_eq!(queries(&second), queries(&first), "served from the cache");
    assert_eq!(hits(&second) - hits(&first), 2.0);
    assert_eq!(misses(&second), misses(&first));
    assert_eq!(views(&second), 2.0);

    assert_eq!(view(&app, "/share/shr_forged").await, 404);
    let third = scrape(&app).await;
    assert_eq!(
        value(
            &third,
            "vitrine_link_access_total",
            &[("outcome", "not_found")]
        ),
        1.0
    );
    assert_eq!(views(&third), 2.0);
    assert!(
        value(
            &third,
            "vitrine_http_requests_total",
            &[("listener", "owner"), ("status", "4xx")]
        ) >= 1.0
    );
}

#[tokio::test]
async fn the_live_stream_gauge_shows_what_the_stream_code_holds() {
    let app = spawn().await;
    let stream = app.state.metrics.open_stream();
    let open = |m: &BTreeMap<Series, f64>| value(m, "vitrine_live_streams_open", &[]);
    assert_eq!(open(&scrape(&app).await), 1.0);
    drop(stream);
    assert_eq!(open(&scrape(&app).await), 0.0);
}

#[tokio::test]
async fn downloads_are_counted_by_format() {
    let app = spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = crate::links::shared_dashboard(&app, &key).await;
    let csv =
        |m: &BTreeMap<Series, f64>| value(m, "vitrine_export_renders_total", &[("format", "csv")]);
    assert_eq!(csv(&scrape(&app).await), 0.0);
    let response = app
        .api()
        .get(app.url(&format!(
            "/api/v1/dashboards/{dashboard}/widgets/by-plan/export.csv"
        )))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let m = scrape(&app).await;
    assert_eq!(csv(&m), 1.0);
    assert_eq!(
        value(&m, "vitrine_export_renders_total", &[("format", "pdf")]),
        0.0
    );
    assert_eq!(value(&m, "vitrine_export_busy_total", &[]), 0.0);
}

#[tokio::test]
async fn a_configured_token_is_required() {
    let app = TestApp::spawn_with(|c| c.metrics.token = Some("scrape-me-7f3a".into())).await;
    let get = |auth: Option<&'static str>| {
        let mut request = app.api().get(app.url("/metrics"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    for auth in [
        None,
        Some("Bearer scrape-me-7f3"),
        Some("Bearer scrape-me-7f3a-and-more"),
        Some("Basic scrape-me-7f3a"),
    ] {
        let response = get(auth).await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        assert!(response.headers().contains_key("www-authenticate"));
        let body = response.text().await.unwrap();
        assert!(!body.contains("vitrine_"), "{auth:?}: {body}");
    }
    let response = get(Some("Bearer scrape-me-7f3a")).await.unwrap();
    assert_eq!(response.status(), 200);
    parse(&response.text().await.unwrap());
}

#[tokio::test]
async fn disabled_metrics_are_not_served() {
    let app = TestApp::spawn_with(|c| {
        c.metrics.enabled = false;
        c.metrics.token = Some(TOKEN.to_owned());
    })
    .await;
    let response = app
        .api()
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_outsider_listener_does_not_serve_metrics() {
    let app = TestApp::spawn_with(|c| {
        c.public_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let public = app.public_base.clone().expect("a public listener");
    let client = app.api();
    let healthz = client
        .get(format!("{public}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200, "the public listener answers");
    let response = client
        .get(format!("{public}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(!response.text().await.unwrap().contains("vitrine_"));
    let response = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "open on the owner listener: it serves no share link"
    );
    let m = parse(&response.text().await.unwrap());
    let count = |listener, status| {
        value(
            &m,
            "vitrine_http_requests_total",
            &[("listener", listener), ("status", status)],
        )
    };
    assert_eq!(count("public", "2xx"), 1.0);
    assert_eq!(count("public", "4xx"), 1.0);
}

#[test]
fn the_parser_rejects_malformed_text() {
    for bad in [
        "vitrine_x 1\n",                                   // no TYPE
        "# HELP a x\n# TYPE a counter\na{l=\"v} 1\n",      // unterminated label
        "# HELP a x\n# TYPE a counter\na{l=\"v\\q\"} 1\n", // bad escape
        "# HELP a x\n# TYPE a counter\na 1\na 2\n",        // duplicate series
        "# HELP a x\n# TYPE a summary\na 1\n",             // unsupported type
        "# HELP a x\n# TYPE a counter\nb 1\n",             // sample of another family
        "# HELP a x\n# TYPE a counter\na one\n",           // not a number
        "# HELP a x\n# TYPE a gauge\na 1",                 // no final newline
    ] {
        assert!(
            std::panic::catch_unwind(|| parse(bad)).is_err(),
            "accepted {bad:?}"
        );
    }
    let ok = parse("# HELP a x\n# TYPE a gauge\na{l=\"q\\\"\\\\\\n\"} 1.5\n");
    assert_eq!(
        ok.values().copied().collect::<Vec<_>>(),
        vec![1.5],
        "escapes decode"
    );
}
