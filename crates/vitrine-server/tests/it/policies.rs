//! What a share link lets through, end to end: locks as row-level restrictions on every query
//! (page, card fragments, live stream, filter options, downloads), drafts, settings that fail
//! closed, and the per-link access policies (view limit, client allowlist, cost caps) — the
//! ones that keep state run on SQLite and on PostgreSQL.

use std::time::Duration as StdDuration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{CLIENT_HEADER, PgDatabase, TestApp, trust_client_header};

/// Orders mapped by every filter; accounts and market added "later": accounts has a `region`
/// column the region filter does not map, market has none. `index` is marked the same for
/// every audience.
/// The password of the tests' password links.
const LOCK_PASSWORD: &str = "a long enough secret";

const BOARD: &str = r#"version: 1
title: Board
status: published
filters:
  - {id: region, label: Region, kind: single_select, columns: {orders: region}}
  - {id: plan, label: Plan, kind: multi_select, columns: {orders: plan}}
  - {id: period, label: Period, kind: date_range, columns: {orders: day}}
widgets:
  - id: revenue
    title: Revenue
    kind: kpi
    layout: {x: 0, y: 0, w: 4, h: 2}
    query: {dataset: orders, measures: [{agg: sum, column: amount, name: revenue}]}
  - id: by-region
    title: Revenue by region
    kind: table
    layout: {x: 4, y: 0, w: 8, h: 4}
    query: {dataset: orders, dimensions: [{column: region}, {column: plan}], measures: [{agg: sum, column: amount}]}
  - id: accounts
    title: Accounts
    kind: table
    layout: {x: 0, y: 4, w: 6, h: 4}
    query: {dataset: accounts, dimensions: [{column: name}, {column: region}], measures: [{agg: count}]}
  - id: market
    title: Market volume
    kind: table
    layout: {x: 6, y: 4, w: 6, h: 4}
    query: {dataset: market, dimensions: [{column: day}], measures: [{agg: sum, column: volume}]}
  - id: index
    title: Market index
    kind: table
    same_for_every_audience: true
    layout: {x: 0, y: 8, w: 12, h: 4}
    query: {dataset: market, dimensions: [{column: day}], measures: [{agg: avg, column: volume}]}
"#;

struct Fixture {
    app: TestApp,
    key: String,
    board: i64,
    pg: Option<PgDatabase>,
}

/// A browser-like client that keeps cookies.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Fixture {
    /// The board on a fresh store: SQLite, or PostgreSQL when `pg` names the test (`None`
    /// when PostgreSQL is not configured: the test is skipped loudly).
    async fn new(pg: Option<&str>) -> Option<Self> {
        let pg = match pg {
            Some(test) => Some(PgDatabase::create(test).await?),
            None => None,
        };
        let url = pg.as_ref().map(|db| db.url.clone());
        let app = TestApp::spawn_with(move |config| {
            // The tests speak as several client addresses.
            trust_client_header(config);
            config.database_url = url;
        })
        .await;
        let admin = app.admin().await;
        let key = app.api_key(&admin).await;
        let data = app.dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let warehouse = data.join("warehouse.db");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", warehouse.display()))
            .await
            .unwrap();
        for statement in [
            "CREATE TABLE orders (day DATE, plan TEXT, region TEXT, amount REAL)",
            "INSERT INTO orders VALUES ('2026-01-10', 'Starter', 'EMEA', 10), \
             ('2026-02-10', 'Growth', 'EMEA', 30), ('2026-02-11', 'Enterprise', 'AMER', 20), \
             ('2025-11-10', 'Growth', 'EMEA', 500)",
            "CREATE TABLE accounts (name TEXT, region TEXT)",
            "INSERT INTO accounts VALUES ('Acme GmbH', 'EMEA'), ('Globex Inc', 'AMER')",
            "CREATE TABLE market (day DATE, volume REAL)",
            "INSERT INTO market VALUES ('2026-01-01', 7), ('2026-01-02', 9)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
        let mut fx = Fixture {
            app,
            key,
            board: 0,
            pg,
        };
        let source = fx
            .post(
                "/api/v1/data-sources",
                json!({ "name": "Warehouse", "kind": "sqlite", "location": warehouse.display().to_string() }),
            )
            .await;
        for (slug, sql) in [
            ("orders", "SELECT day, plan, region, amount FROM orders"),
            ("accounts", "SELECT name, region FROM accounts"),
            ("market", "SELECT day, volume FROM market"),
        ] {
            fx.post(
                "/api/v1/datasets",
                json!({ "data_source_id": source["id"], "slug": slug, "name": slug, "sql": sql }),
            )
            .await;
        }
        fx.board = fx
            .post(
                "/api/v1/dashboards",
                json!({ "slug": "board", "yaml": BOARD }),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        Some(fx)
    }

    async fn finish(self) {
        let Fixture { app, pg, .. } = self;
        drop(app);
        if let Some(db) = pg {
            db.drop_now().await;
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .app
            .api()
            .request(method, self.app.url(path))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.send(reqwest::Method::POST, path, Some(body)).await;
        assert!(status.is_success(), "POST {path}: {status} {value}");
        value
    }

    /// Creates a link to the board with `extra` fields; returns (id, /share/… path).
    async fn link(&self, extra: Value) -> (String, String) {
        let mut body = json!({ "dashboard_id": self.board, "label": "Client A", "expiry": { "kind": "never" } });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let view = self.post("/api/v1/links", body).await;
        let url = view["url"].as_str().unwrap();
        (
            view["id"].as_str().unwrap().to_owned(),
            url[url.find("/share/").unwrap()..].to_owned(),
        )
    }

    async fn get(&self, client: &reqwest::Client, path: &str, ip: &str) -> (StatusCode, String) {
        let response = client
            .get(self.app.url(path))
            .header(CLIENT_HEADER, ip)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn events(&self, link: &str) -> Vec<String> {
        let (_, events) = self
            .send(
                reqwest::Method::GET,
                &format!("/api/v1/links/{link}/events?limit=1000"),
                None,
            )
            .await;
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["outcome"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn count(events: &[String], outcome: &str) -> usize {
    events.iter().filter(|e| *e == outcome).count()
}

/// The data of the first `widget` events of a live stream (until its first `refreshed`).
async fn live_widgets(client: &reqwest::Client, url: &str) -> Vec<String> {
    let mut response = client
        .get(url)
        .header("accept", "text/event-stream")
        .header(CLIENT_HEADER, "10.1.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("event: refreshed") {
                break;
            }
        }
    };
    tokio::time::timeout(StdDuration::from_secs(20), read)
        .await
        .expect("the stream sends its widgets and `refreshed`");
    text.split("\n\n")
        .filter(|block| block.contains("event: widget"))
        .map(str::to_owned)
        .collect()
}

async fn locks_restrict_every_widget(fx: &Fixture) {
    let (_, path) = fx
        .link(json!({
            "locked_filters": { "region": "EMEA" },
            "open_filters": ["plan"],
            "display": { "allow_downloads": true },
        }))
        .await;
    let client = browser();
    let (status, page) = fx.get(&client, &path, "10.1.0.1").await;
    assert_eq!(status, 200);
    // A widget over a dataset the filter does not map, but which has the column: restricted.
    assert!(page.contains("Acme GmbH"), "EMEA account shown");
    assert!(
        !page.contains("Globex Inc"),
        "AMER account leaked: the lock must cover it"
    );
    // A widget whose dataset the lock cannot restrict: not shown at all.
    assert!(
        !page.contains("data-widget=\"market\""),
        "uncovered widget hidden"
    );
    assert!(!page.contains("Market volume"));
    // Unless its owner marked it the same for every audience.
    assert!(page.contains("data-widget=\"index\""));
    // The open plan filter offers only what the lock allows.
    assert!(page.contains("Starter") && page.contains("Growth"));
    assert!(
        !page.contains(">Enterprise<"),
        "options narrowed by the lock"
    );

    for (fragment, status) in [
        ("accounts?f.region=AMER", 200),
        ("market", 404),
        ("index", 200),
    ] {
        let (got, body) = fx
            .get(&client, &format!("{path}/widgets/{fragment}"), "10.1.0.1")
            .await;
        assert_eq!(got, status, "{fragment}");
        assert!(!body.contains("Globex Inc"), "{fragment}");
    }
    let (status, csv) = fx
        .get(
            &client,
            &format!("{path}/widgets/accounts/export.csv?f.region=AMER"),
            "10.1.0.1",
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("Acme GmbH") && !csv.contains("Globex"),
        "{csv}"
    );
    let (status, _) = fx
        .get(
            &client,
            &format!("{path}/widgets/market/export.csv"),
            "10.1.0.1",
        )
        .await;
    assert_eq!(status, 404);
    let response = client
        .get(fx.app.url(&format!("{path}/export.pdf")))
        .header(CLIENT_HEADER, "10.1.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let pdf = response.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(
        !text.contains("Globex"),
        "the PDF's text is not compressed away from this check"
    );

    let widgets = live_widgets(&client, &fx.app.url(&format!("{path}/live"))).await;
    assert!(
        widgets.iter().any(|w| w.contains("Acme GmbH")),
        "{widgets:?}"
    );
    assert!(
        widgets
            .iter()
            .all(|w| !w.contains("Globex") && !w.contains("\"market\""))
    );
}

#[tokio::test]
async fn a_lock_restricts_every_widget_on_every_route_on_sqlite() {
    let fx = Fixture::new(None).await.unwrap();
    locks_restrict_every_widget(&fx).await;
    fx.finish().await;
}

#[tokio::test]
async fn a_lock_restricts_every_widget_on_every_route_on_postgres() {
    let Some(fx) = Fixture::new(Some("policies::locks_restrict_every_widget")).await else {
        return;
    };
    locks_restrict_every_widget(&fx).await;
    fx.finish().await;
}

#[tokio::test]
async fn a_locked_period_gives_the_kpi_no_comparison_from_outside_it() {
    let fx = Fixture::new(None).await.unwrap();
    let (_, path) = fx
        .link(json!({
            "locked_filters": { "period": { "from": "2026-01-01", "to": "2026-03-31" } },
            "display": { "allow_downloads": true },
        }))
        .await;
    let client = browser();
    let (status, csv) = fx
        .get(
            &client,
            &format!("{path}/widgets/revenue/export.csv"),
            "10.1.0.1",
        )
        .await;
    assert_eq!(status, 200);
    // The previous quarter (2025-10 … 2025-12, with its 500) is outside the lock.
    assert!(!csv.contains("_previous"), "{csv}");
    assert!(!csv.contains("500"), "{csv}");
    assert!(csv.contains("60"), "Q1 revenue: {csv}");
    let (_, page) = fx.get(&client, &path, "10.1.0.1").await;
    assert!(
        !page.contains("500"),
        "no comparison with the locked-out period"
    );
    fx.finish().await;
}

#[tokio::test]
async fn a_draft_dashboards_links_answer_410_everywhere_and_no_link_can_be_created() {
    let fx = Fixture::new(None).await.unwrap();
    let (_, path) = fx
        .link(json!({ "display": { "allow_downloads": true } }))
        .await;
    let (locked_id, locked) = fx
        .link(json!({ "label": "Locked", "password": LOCK_PASSWORD }))
        .await;
    let (identified_id, identified) = fx
        .link(json!({ "label": "Named", "access": { "confirm_email": true } }))
        .await;
    let client = browser();
    assert_eq!(fx.get(&client, &path, "10.1.0.1").await.0, 200);
    let (status, prompt) = fx.get(&client, &locked, "10.1.0.1").await;
    assert!(
        status == 200 && prompt.contains("name=\"password\""),
        "{prompt}"
    );
    let draft = BOARD.replace("status: published", "status: draft");
    let (status, body) = fx
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/dashboards/{}", fx.board),
            Some(json!({ "yaml": draft })),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    for route in [
        "",
        "/widgets/accounts",
        "/export.pdf",
        "/widgets/accounts/export.csv",
    ] {
        let (status, body) = fx.get(&client, &format!("{path}{route}"), "10.1.0.1").await;
        assert_eq!(status, 410, "{route}");
        assert!(!body.contains("Acme"), "{route}");
    }
    // Behind a password or an e-mail step too: no prompt, no cookie, no code mailed.
    for link in [&locked, &identified] {
        let (status, body) = fx.get(&client, link, "10.1.0.1").await;
        assert_eq!(status, 410, "{link}");
        assert!(
            !body.contains("name=\"password\"") && !body.contains("name=\"email\""),
            "{body}"
        );
    }
    let posts = [
        (format!("{locked}/unlock"), ("password", LOCK_PASSWORD)),
        (
            format!("{identified}/confirm"),
            ("email", "ann@client.test"),
        ),
    ];
    for (route, field) in posts {
        let response = client
            .post(fx.app.url(&route))
            .header(CLIENT_HEADER, "10.1.0.1")
            .form(&[field])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 410, "{route}");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{route}: no cookie for a draft"
        );
    }
    let workspace = fx
        .app
        .state
        .store
        .default_workspace()
        .await
        .unwrap()
        .unwrap();
    let mails = fx
        .app
        .state
        .store
        .mails_about(workspace.id, "view_code", &format!("link:{identified_id}"))
        .await
        .unwrap();
    assert!(mails.is_empty(), "no code mailed about a draft");
    let events = fx.events(&locked_id).await;
    assert_eq!(count(&events, "unlocked"), 0, "{events:?}");
    assert!(count(&events, "draft") >= 2, "{events:?}");
    let events = fx.events(&identified_id).await;
    assert_eq!(count(&events, "code_sent"), 0, "{events:?}");
    // The owner sees why.
    let (_, view) = fx
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/links/{locked_id}"),
            None,
        )
        .await;
    assert!(
        view["problem"]
            .as_str()
            .unwrap_or_default()
            .contains("draft"),
        "{view}"
    );
    let (status, error) = fx
        .send(
            reqwest::Method::POST,
            "/api/v1/links",
            Some(
                json!({ "dashboard_id": fx.board, "label": "Late", "expiry": { "kind": "never" } }),
            ),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("publish it first"),
        "{error}"
    );
    fx.finish().await;
}

#[tokio::test]
async fn settings_that_do_not_parse_and_a_lock_to_nothing_fail_closed() {
    let fx = Fixture::new(None).await.unwrap();
    let (id, path) = fx
        .link(json!({ "locked_filters": { "region": "EMEA" } }))
        .await;
    let client = browser();
    let db = fx.app.raw_sqlite().await;
    sqlx::query("UPDATE share_links SET settings = '{\"locked_filters\": 7}' WHERE id = ?")
        .bind(&id)
        .execute(&db)
        .await
        .unwrap();
    let (status, page) = fx.get(&client, &path, "10.1.0.1").await;
    assert_eq!(status, 503, "never the defaults, which lock nothing");
    assert!(
        !page.contains("Globex") && !page.contains("locked_filters"),
        "{page}"
    );
    let (_, view) = fx
        .send(reqwest::Method::GET, &format!("/api/v1/links/{id}"), None)
        .await;
    assert!(
        view["problem"].as_str().is_some(),
        "the owner sees why: {view}"
    );

    // A multi select locked to no value is refused when saved …
    let (status, error) = fx
        .send(
            reqwest::Method::POST,
            "/api/v1/links",
            Some(json!({ "dashboard_id": fx.board, "label": "Empty", "locked_filters": { "plan": [] } })),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["field"], "locked_filters.plan");
    // … and, stored anyway, restricts by refusing.
    sqlx::query(
        "UPDATE share_links SET settings = '{\"locked_filters\": {\"plan\": []}}' WHERE id = ?",
    )
    .bind(&id)
    .execute(&db)
    .await
    .unwrap();
    let (status, page) = fx.get(&client, &path, "10.1.0.1").await;
    assert_eq!(status, 503);
    assert!(!page.contains("Enterprise"));
    let (_, view) = fx
        .send(reqwest::Method::GET, &format!("/api/v1/links/{id}"), None)
        .await;
    assert_eq!(view["state"], "active", "{view}");
    assert!(
        view["problem"]
            .as_str()
            .unwrap_or_default()
            .contains("plan"),
        "the owner sees why: {view}"
    );
    fx.finish().await;
}

#[tokio::test]
async fn a_lock_on_a_filter_the_dashboard_lost_fails_closed() {
    let fx = Fixture::new(None).await.unwrap();
    let (id, path) = fx
        .link(json!({ "locked_filters": { "region": "EMEA" } }))
        .await;
    let client = browser();
    assert_eq!(fx.get(&client, &path, "10.1.0.1").await.0, 200);
    let without = BOARD.replace(
        "  - {id: region, label: Region, kind: single_select, columns: {orders: region}}\n",
        "",
    );
    let (status, body) = fx
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/dashboards/{}", fx.board),
            Some(json!({ "yaml": without })),
        )
        .await;
    assert!(status.is_success(), "{body}");
    for route in ["", "/widgets/accounts", "/widgets/by-region"] {
        let (status, body) = fx.get(&client, &format!("{path}{route}"), "10.1.0.1").await;
        assert_eq!(status, 503, "{route}");
        assert!(
            !body.contains("AMER") && !body.contains("Globex"),
            "{route}"
        );
    }
    owner_sees_why(&fx, &id, "region").await;
    fx.finish().await;
}

/// The link `id` is listed as `active` (its state allows it) with a `problem` that names
/// `filter`, in the API (one link, the list) and on the share page.
async fn owner_sees_why(fx: &Fixture, id: &str, filter: &str) {
    let (_, view) = fx
        .send(reqwest::Method::GET, &format!("/api/v1/links/{id}"), None)
        .await;
    assert_eq!(view["state"], "active", "{view}");
    let problem = view["problem"].as_str().unwrap_or_default().to_owned();
    assert!(
        problem.contains(&format!("“{filter}”")),
        "the owner sees why: {view}"
    );
    let (_, list) = fx
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/links?dashboard_id={}", fx.board),
            None,
        )
        .await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap();
    assert_eq!(listed["problem"], view["problem"], "{listed}");
    let (owner, _) = fx.app.signed_in("admin@example.com").await;
    let page = owner
        .get(fx.app.url(&format!("/dashboards/{}/share", fx.board)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("This link is refused to every viewer."),
        "the share page says it"
    );
    assert!(page.contains(&problem), "the share page shows: {problem}");
}

#[tokio::test]
async fn a_lock_whose_filter_changed_kind_fails_closed_and_the_owner_sees_why() {
    let fx = Fixture::new(None).await.unwrap();
    let (id, path) = fx
        .link(json!({ "locked_filters": { "region": "EMEA" } }))
        .await;
    let client = browser();
    assert_eq!(fx.get(&client, &path, "10.1.0.1").await.0, 200);
    // The region filter is still there, over the same column, but it is a number range now:
    // the lock to `EMEA` no longer fits it and must not become some other rule.
    let changed = BOARD.replace(
        "{id: region, label: Region, kind: single_select, columns: {orders: region}}",
        "{id: region, label: Region, kind: number_range, columns: {orders: amount}}",
    );
    let (status, body) = fx
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/dashboards/{}", fx.board),
            Some(json!({ "yaml": changed })),
        )
        .await;
    assert!(status.is_success(), "{body}");
    for route in ["", "/widgets/accounts", "/widgets/by-region", "/live"] {
        let (status, body) = fx.get(&client, &format!("{path}{route}"), "10.1.0.1").await;
        assert_eq!(status, 503, "{route}");
        assert!(
            !body.contains("AMER") && !body.contains("Globex") && !body.contains("Growth"),
            "{route}"
        );
    }
    owner_sees_why(&fx, &id, "region").await;
    fx.finish().await;
}

async fn a_view_limit_admits_exactly_its_views(fx: &Fixture) {
    let (id, path) = fx.link(json!({ "access": { "max_views": 3 } })).await;
    let clients: Vec<reqwest::Client> = (0..10).map(|_| browser()).collect();
    let views = clients.iter().enumerate().map(|(i, client)| {
        let ip = format!("10.2.0.{i}");
        let path = path.clone();
        async move { fx.get(client, &path, &ip).await.0 }
    });
    let statuses = futures_util::future::join_all(views).await;
    let admitted: Vec<usize> = statuses
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == StatusCode::OK)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(admitted.len(), 3, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 410),
        "{statuses:?}"
    );
    // An admitted viewer's page keeps working: a reload and its cards.
    let viewer = &clients[admitted[0]];
    let ip = format!("10.2.0.{}", admitted[0]);
    assert_eq!(fx.get(viewer, &path, &ip).await.0, 200);
    assert_eq!(
        fx.get(viewer, &format!("{path}/widgets/accounts"), &ip)
            .await
            .0,
        200
    );
    // A newcomer is refused everywhere.
    let late = browser();
    assert_eq!(fx.get(&late, &path, "10.2.1.1").await.0, 410);
    assert_eq!(
        fx.get(&late, &format!("{path}/widgets/accounts"), "10.2.1.1")
            .await
            .0,
        410
    );
    let events = fx.events(&id).await;
    assert_eq!(count(&events, "ok"), 4, "3 admitted + 1 reload: {events:?}");
    assert_eq!(count(&events, "view_limit"), 8, "{events:?}");
    let (_, view) = fx
        .send(reqwest::Method::GET, &format!("/api/v1/links/{id}"), None)
        .await;
    assert_eq!(view["view_count"], 3);
    assert_eq!(view["state"], "view_limit");
}

#[tokio::test]
async fn a_view_limit_admits_exactly_its_views_under_concurrency_on_sqlite() {
    let fx = Fixture::new(None).await.unwrap();
    a_view_limit_admits_exactly_its_views(&fx).await;
    fx.finish().await;
}

#[tokio::test]
async fn a_view_limit_admits_exactly_its_views_under_concurrency_on_postgres() {
    let Some(fx) = Fixture::new(Some("policies::a_view_limit_admits_exactly_its_views")).await
    else {
        return;
    };
    a_view_limit_admits_exactly_its_views(&fx).await;
    fx.finish().await;
}

async fn only_listed_networks_may_open(fx: &Fixture) {
    let (id, path) = fx
        .link(json!({ "access": { "allowed_networks": ["203.0.113.0/24", "2001:db8::/32"] } }))
        .await;
    let client = browser();
    assert_eq!(fx.get(&client, &path, "203.0.113.9").await.0, 200);
    assert_eq!(fx.get(&client, &path, "2001:db8::7").await.0, 200);
    let (status, page) = fx.get(&client, &path, "198.51.100.7").await;
    assert_eq!(status, 404, "answered as if the link did not exist");
    assert!(page.contains("This link does not exist"));
    for route in ["/widgets/accounts", "/live", "/export.pdf"] {
        assert_eq!(
            fx.get(&client, &format!("{path}{route}"), "198.51.100.7")
                .await
                .0,
            404,
            "{route}"
        );
    }
    let events = fx.events(&id).await;
    assert_eq!(count(&events, "not_allowed"), 4, "{events:?}");
    // Behind a password, outside the allowlist: no password is tried, no cookie is set.
    let (locked_id, locked) = fx
        .link(json!({ "password": LOCK_PASSWORD, "access": { "allowed_networks": ["203.0.113.0/24"] } }))
        .await;
    let response = client
        .post(fx.app.url(&format!("{locked}/unlock")))
        .header(CLIENT_HEADER, "198.51.100.7")
        .form(&[("password", LOCK_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "as if the link did not exist");
    assert!(response.headers().get("set-cookie").is_none());
    let events = fx.events(&locked_id).await;
    assert_eq!(count(&events, "not_allowed"), 1, "{events:?}");
    assert_eq!(count(&events, "unlocked"), 0, "{events:?}");
    // A network that is not one is refused when saved.
    let (status, error) = fx
        .send(
            reqwest::Method::POST,
            "/api/v1/links",
            Some(json!({ "dashboard_id": fx.board, "label": "Bad", "access": { "allowed_networks": ["10.0.0.0/33"] } })),
        )
        .await;
    assert!(status.is_client_error(), "{status} {error}");
}

#[tokio::test]
async fn only_listed_networks_may_open_a_link_on_sqlite() {
    let fx = Fixture::new(None).await.unwrap();
    only_listed_networks_may_open(&fx).await;
    fx.finish().await;
}

#[tokio::test]
async fn only_listed_networks_may_open_a_link_on_postgres() {
    let Some(fx) = Fixture::new(Some("policies::only_listed_networks_may_open")).await else {
        return;
    };
    only_listed_networks_may_open(&fx).await;
    fx.finish().await;
}

async fn cost_caps_bound_new_views_and_streams(fx: &Fixture) {
    let (_, path) = fx
        .link(json!({
            "open_filters": ["plan", "region"],
            "access": {
                "max_new_views_per_minute_per_client": 5,
                "max_new_views_per_minute": 8,
            },
        }))
        .await;
    let client = browser();
    // Twenty different filter views fired at once by one client: exactly five run.
    let views = (0..20).map(|i| {
        let (client, path) = (&client, &path);
        async move {
            fx.get(
                client,
                &format!("{path}/widgets/accounts?f.region=R{i}"),
                "10.3.0.1",
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(views).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    // A view already served is still answered from the cache.
    let served = statuses.iter().position(|s| *s == 200).unwrap();
    let (status, _) = fx
        .get(
            &client,
            &format!("{path}/widgets/accounts?f.region=R{served}"),
            "10.3.0.1",
        )
        .await;
    assert_eq!(status, 200);
    // A refusal says how long to wait.
    let response = client
        .get(fx.app.url(&format!("{path}/widgets/accounts?f.region=Z")))
        .header(CLIENT_HEADER, "10.3.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    // Another client may, up to the link's own cap.
    let other = browser();
    let statuses = futures_util::future::join_all((0..6).map(|i| {
        let (other, path) = (&other, &path);
        async move {
            fx.get(
                other,
                &format!("{path}/widgets/accounts?f.plan=P{i}"),
                "10.3.0.2",
            )
            .await
            .0
        }
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "8 per link: {statuses:?}"
    );

    // One live stream per client address (on a link whose views are not used up).
    let (_, streamed) = fx
        .link(json!({ "access": { "max_live_viewers_per_client": 1 } }))
        .await;
    let live = fx.app.url(&format!("{streamed}/live"));
    let first = client
        .get(&live)
        .header(CLIENT_HEADER, "10.3.0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = client
        .get(&live)
        .header(CLIENT_HEADER, "10.3.0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 503, "the page polls instead");
    drop(first);
    let metrics = fx.app.state.metrics_text();
    assert!(
        metrics.contains("vitrine_outsider_limited_total{limit=\"client_views\"} 16"),
        "{metrics}"
    );
    assert!(metrics.contains("vitrine_outsider_limited_total{limit=\"client_streams\"} 1"));
}

#[tokio::test]
async fn cost_caps_bound_new_views_and_live_streams_on_sqlite() {
    let fx = Fixture::new(None).await.unwrap();
    cost_caps_bound_new_views_and_streams(&fx).await;
    fx.finish().await;
}

#[tokio::test]
async fn cost_caps_bound_new_views_and_live_streams_on_postgres() {
    let Some(fx) = Fixture::new(Some("policies::cost_caps_bound_new_views_and_streams")).await
    else {
        return;
    };
    cost_caps_bound_new_views_and_streams(&fx).await;
    fx.finish().await;
}

#[tokio::test]
async fn updating_a_link_respects_the_workspace_policy() {
    let fx = Fixture::new(None).await.unwrap();
    let (id, _) = fx.link(json!({ "password": "a long link password" })).await;
    let (status, policy) = fx
        .send(
            reqwest::Method::PUT,
            "/api/v1/workspace/policy",
            Some(json!({ "public_links_allowed": true, "max_link_days": 30, "password_required": true, "contact_line": "", "footer": "Acme analytics" })),
        )
        .await;
    assert!(status.is_success(), "{policy}");
    let link_path = format!("/api/v1/links/{id}");
    let update = |body: Value| fx.send(reqwest::Method::PATCH, &link_path, Some(body));
    let (status, _) = update(json!({ "remove_password": true })).await;
    assert_eq!(status, 400, "a password is required");
    let (status, _) = update(json!({ "expiry": { "kind": "never" } })).await;
    assert_eq!(status, 400, "longer than the policy allows");
    let (status, _) = update(json!({ "label": "Board" })).await;
    assert_eq!(status, 200);
    let (status, _) = fx
        .send(
            reqwest::Method::PUT,
            "/api/v1/workspace/policy",
            Some(json!({ "public_links_allowed": false, "max_link_days": null, "password_required": false, "contact_line": "", "footer": "Acme analytics" })),
        )
        .await;
    assert!(status.is_success());
    let (status, error) = update(json!({ "label": "Investors" })).await;
    assert_eq!(status, 409, "public links are turned off: {error}");
    // The footer is the workspace's on every outsider page, the 404 included.
    let (status, page) = fx
        .get(
            &browser(),
            "/share/shr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "10.4.0.1",
        )
        .await;
    assert_eq!(status, 404);
    assert!(
        page.contains("Acme analytics") && !page.contains("Shared with Vitrine"),
        "{page}"
    );
    fx.finish().await;
}

#[tokio::test]
async fn members_who_may_not_share_publicly_never_see_a_links_url() {
    let fx = Fixture::new(None).await.unwrap();
    let (id, _) = fx.link(json!({})).await;
    let editor = fx
        .app
        .member(
            "editor@example.com",
            vitrine_core::member::Role::Editor,
            vitrine_core::member::Permissions::default(),
        )
        .await;
    let key = fx.app.api_key(&editor).await;
    for path in ["/api/v1/links".to_owned(), format!("/api/v1/links/{id}")] {
        let body: Value = fx
            .app
            .api()
            .get(fx.app.url(&path))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let text = body.to_string();
        assert!(
            !text.contains("/share/shr_") && !text.contains("/s/"),
            "{path}: {text}"
        );
    }
    fx.finish().await;
}

/// The share page's paragraph that warns, in the link form, what a lock on `filter` cannot
/// restrict (empty when there is none).
fn lock_warning<'a>(page: &'a str, filter: &str) -> &'a str {
    let marker = format!("data-show-when=\"mode.{filter}=locked\">A lock on");
    page.find(&marker)
        .map(|at| {
            let rest = &page[at..];
            &rest[..rest.find("</p>").unwrap()]
        })
        .unwrap_or("")
}

/// The warning on the listed link `label` about widgets its locks cannot restrict.
fn link_warning<'a>(page: &'a str, label: &str) -> &'a str {
    let item = page
        .split("<li class=\"link-item")
        .find(|item| item.contains(&format!("<span class=\"link-label\">{label}</span>")))
        .expect("the link is listed");
    item.find("link-uncovered")
        .map(|at| &item[at..at + item[at..].find("</div>").unwrap()])
        .unwrap_or("")
}

#[tokio::test]
async fn the_share_page_lists_per_lock_the_widgets_it_cannot_restrict() {
    let fx = Fixture::new(None).await.unwrap();
    let (owner, _) = fx.app.signed_in("admin@example.com").await;
    let share = fx.app.url(&format!("/dashboards/{}/share", fx.board));
    let page = || async {
        owner
            .get(&share)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };

    // Before any link is saved: the form says it next to the filter.
    let form = page().await;
    let region = lock_warning(&form, "region");
    assert!(
        region.contains("Market volume (hidden)")
            && region.contains("Market index (shown to everyone)"),
        "{region}"
    );
    assert!(
        !region.contains("Accounts") && !region.contains("Revenue"),
        "accounts has a region column, orders is mapped: {region}"
    );
    // Every widget has a `day` column or is mapped… except accounts, for the period.
    let period = lock_warning(&form, "period");
    assert!(period.contains("Accounts (hidden)"), "{period}");
    assert!(!period.contains("Market"), "{period}");

    // On a saved link: per lock, and not for the locks it does not have.
    fx.link(json!({ "label": "EMEA", "locked_filters": { "region": "EMEA" } }))
        .await;
    fx.link(json!({ "label": "Open" })).await;
    let listed = page().await;
    let emea = link_warning(&listed, "EMEA");
    assert!(
        emea.contains("Region: Market volume (hidden), Market index (shown to everyone)"),
        "{emea}"
    );
    assert_eq!(link_warning(&listed, "Open"), "", "no lock, no warning");

    // The dashboard gains a widget the lock cannot restrict: the link says so at once.
    let grown = format!(
        "{BOARD}  - id: volume-chart\n    title: Volume trend\n    kind: table\n    layout: {{x: 0, y: 12, w: 12, h: 4}}\n    query: {{dataset: market, dimensions: [{{column: day}}], measures: [{{agg: max, column: volume}}]}}\n"
    );
    let (status, body) = fx
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/dashboards/{}", fx.board),
            Some(json!({ "yaml": grown })),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let listed = page().await;
    assert!(
        link_warning(&listed, "EMEA").contains("Volume trend (hidden)"),
        "{}",
        link_warning(&listed, "EMEA")
    );
    assert!(lock_warning(&listed, "region").contains("Volume trend (hidden)"));
    fx.finish().await;
}
