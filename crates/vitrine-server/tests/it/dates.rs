//! Dates outside the accepted range in a viewer's URL (issue 10, finding 2): the page and its
//! card fragments answer 200 and say why the filter kept its default — for members, for
//! outsiders on an open date filter, and on a single-widget link — instead of a request that
//! panics and drops its connection.

use serde_json::{Value, json};

use crate::helpers::{CLIENT_HEADER, TestApp};

/// What a viewer is told (vitrine-core's `DATE_RANGE_MESSAGE`).
const MESSAGE: &str = "Dates must be between 1000-01-01 and 9998-12-31.";

/// Values that reach past the calendar the databases and `time` share.
const OUT_OF_RANGE: [&str; 2] = ["f.period=..9999-12-31", "f.period=-9999-01-01..-9999-01-01"];

const DASHBOARD: &str = r#"version: 1
title: Signups
status: published
filters:
  - {id: period, label: Period, kind: date_range, columns: {signups: day}, default: {preset: last_30_days}}
widgets:
  - id: total
    title: Signups
    kind: kpi
    layout: {x: 0, y: 0, w: 4, h: 2}
    query: {dataset: signups, measures: [{agg: count}]}
  - id: daily
    title: Signups per day
    kind: line
    layout: {x: 4, y: 0, w: 8, h: 4}
    query: {dataset: signups, dimensions: [{column: day, bucket: day}], measures: [{agg: count}]}
"#;

struct World {
    app: TestApp,
    key: String,
    dashboard: i64,
}

impl World {
    /// An admin, a warehouse of daily signups, and the [`DASHBOARD`], through the API.
    async fn new() -> World {
        let app = TestApp::spawn().await;
        let admin = app.admin().await;
        let key = app.api_key(&admin).await;
        let path = app.dir.path().join("signups.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for statement in [
            "CREATE TABLE signups (id INTEGER PRIMARY KEY, day DATE)",
            "INSERT INTO signups (day) VALUES ('2026-11-01'), ('2026-11-20'), ('2026-11-22')",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
        let mut world = World {
            app,
            key,
            dashboard: 0,
        };
        let source = world
            .post(
                "/api/v1/data-sources",
                json!({ "name": "W", "kind": "sqlite", "location": path.display().to_string() }),
            )
            .await;
        world
            .post(
                "/api/v1/datasets",
                json!({ "data_source_id": source["id"], "slug": "signups", "name": "Signups",
                        "sql": "SELECT id, day FROM signups" }),
            )
            .await;
        world.dashboard = world
            .post("/api/v1/dashboards", json!({ "yaml": DASHBOARD }))
            .await["id"]
            .as_i64()
            .unwrap();
        world
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self.send(path, body).await;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: {status} {value}");
        value
    }

    async fn send(&self, path: &str, body: Value) -> reqwest::Response {
        self.app
            .api()
            .post(self.app.url(path))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A share link's path, `/share/{token}`.
    async fn link(&self, extra: Value) -> String {
        let mut body = json!({ "dashboard_id": self.dashboard, "label": "Board",
                               "expiry": { "kind": "never" } });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let url = self.post("/api/v1/links", body).await["url"]
            .as_str()
            .unwrap()
            .to_owned();
        url[url.find("/share/").unwrap()..].to_owned()
    }
}

/// GETs `path` with `client`: the status and the body. A request that panicked on the server
/// has no answer at all — the connection is dropped — and fails here saying so.
async fn answer(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = client
        .get(app.url(path))
        .header(CLIENT_HEADER, "203.0.113.9")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: no answer, the connection was dropped ({e})"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_member_asking_for_dates_out_of_range_gets_the_page_and_cards_with_the_filters_message() {
    let world = World::new().await;
    let (member, _) = world.app.signed_in("admin@example.com").await;
    let base = format!("/dashboards/{}", world.dashboard);
    for query in OUT_OF_RANGE {
        let (status, page) = answer(&world.app, &member, &format!("{base}?{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert!(page.contains(MESSAGE), "{query}: the filter bar says why");
        assert!(
            page.contains("<option value=\"last_30_days\" selected>"),
            "{query}: the filter keeps its default"
        );
        assert!(page.contains("data-widget=\"daily\""), "{query}");
        for widget in ["total", "daily"] {
            let path = format!("{base}/widgets/{widget}?{query}");
            let (status, card) = answer(&world.app, &member, &path).await;
            assert_eq!(status, 200, "{path}: {card}");
            assert!(card.contains(MESSAGE), "{path}: the card says why: {card}");
        }
    }
}

#[tokio::test]
async fn an_outsider_asking_for_dates_out_of_range_gets_the_page_and_cards_with_the_filters_message()
 {
    let world = World::new().await;
    let dashboard_link = world.link(json!({ "open_filters": ["period"] })).await;
    let widget_link = world
        .link(json!({ "widget_id": "daily", "open_filters": ["period"] }))
        .await;
    let outsider = world.app.api();
    for query in OUT_OF_RANGE {
        for page_path in [&dashboard_link, &widget_link] {
            let path = format!("{page_path}?{query}");
            let (status, page) = answer(&world.app, &outsider, &path).await;
            assert_eq!(status, 200, "{path}: {page}");
            assert!(page.contains(MESSAGE), "{path}: the open filter says why");
        }
        for path in [
            format!("{dashboard_link}/widgets/total?{query}"),
            format!("{dashboard_link}/widgets/daily?{query}"),
            format!("{widget_link}/widgets/daily?{query}"),
        ] {
            let (status, card) = answer(&world.app, &outsider, &path).await;
            assert_eq!(status, 200, "{path}: {card}");
            assert!(card.contains(MESSAGE), "{path}: the card says why: {card}");
        }
    }
    // A filter the link does not open says nothing, whatever the URL holds.
    let closed = world.link(json!({ "open_filters": [] })).await;
    let (status, page) = answer(
        &world.app,
        &outsider,
        &format!("{closed}?{}", OUT_OF_RANGE[0]),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!page.contains(MESSAGE), "{page}");
}

#[tokio::test]
async fn a_link_locked_to_dates_out_of_range_is_refused_naming_the_lock() {
    let world = World::new().await;
    let response = world
        .send(
            "/api/v1/links",
            json!({ "dashboard_id": world.dashboard, "label": "Board",
                    "expiry": { "kind": "never" },
                    "locked_filters": { "period": { "from": "9999-01-01", "to": "9999-12-31" } } }),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "locked_filters.period", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(MESSAGE), "{message}");
}
