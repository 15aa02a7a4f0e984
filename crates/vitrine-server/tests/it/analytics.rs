//! Access analytics and the audit trail through `/api/v1` and the owner pages: numbers from
//! real outsider requests, keyset paging, formula-safe CSV, permissions, bad input as 4xx JSON,
//! no address stored.

use serde_json::Value;
use vitrine_core::member::{Permissions, Role};

use crate::helpers::{CLIENT_HEADER, TestApp, trust_client_header};
use crate::links::shared_dashboard;

const DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0";
const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148";

struct Fx {
    app: TestApp,
    key: String,
    dashboard: i64,
    link: String,
    url: String,
}

async fn get(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.api()
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn json(app: &TestApp, key: &str, path: &str) -> Value {
    let response = get(app, key, path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn visit(fx: &Fx, client: &str, agent: &str) -> u16 {
    fx.app
        .browser()
        .get(&fx.url)
        .header(CLIENT_HEADER, client)
        .header("user-agent", agent)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A link labelled like a formula, viewed three times from two addresses (one on two visits),
/// then disabled and tried once more.
async fn fixture() -> Fx {
    let app = TestApp::spawn_with(trust_client_header).await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &key).await;
    let created: Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "dashboard_id": dashboard, "label": "=HYPERLINK(\"http://evil\")<script>x</script>" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fx = Fx {
        link: created["id"].as_str().unwrap().to_owned(),
        url: created["url"].as_str().unwrap().to_owned(),
        app,
        key,
        dashboard,
    };
    assert_eq!(visit(&fx, "203.0.113.7", DESKTOP).await, 200);
    assert_eq!(visit(&fx, "203.0.113.7", DESKTOP).await, 200);
    assert_eq!(visit(&fx, "198.51.100.9", PHONE).await, 200);
    let disabled = fx
        .app
        .api()
        .post(fx.app.url(&format!("/api/v1/links/{}/disable", fx.link)))
        .bearer_auth(&fx.key)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    fx.app.clock.advance(time::Duration::minutes(5));
    assert_eq!(visit(&fx, "192.0.2.1", DESKTOP).await, 410);
    fx
}

#[tokio::test]
async fn a_links_analytics_count_views_uniques_and_refusals_apart() {
    let fx = fixture().await;
    let (app, key, link) = (&fx.app, &fx.key, &fx.link);
    let a = json(
        app,
        key,
        &format!("/api/v1/links/{link}/analytics?range=7d"),
    )
    .await;
    assert_eq!(a["views"], 3);
    assert_eq!(a["uniques"], 2, "the same address twice is one visitor");
    assert_eq!(a["refusals"], 1);
    assert_eq!(a["never_opened"], false);
    assert_eq!(a["last_refused_outcome"], "disabled");
    assert_ne!(
        a["last_view_at"], a["last_refused_at"],
        "a refused attempt is not a view"
    );
    assert_eq!(a["series"].as_array().unwrap().len(), 7);
    assert_eq!(a["series"][6]["views"], 3);
    let clients: Vec<(String, i64)> = a["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        clients,
        [("desktop".to_owned(), 2), ("mobile".to_owned(), 1)]
    );
    assert_eq!(a["refusals_by_outcome"][0]["name"], "disabled");

    let weekly = json(
        app,
        key,
        &format!("/api/v1/links/{link}/analytics?range=90d&by=week"),
    )
    .await;
    let weeks = weekly["series"].as_array().unwrap();
    assert!((13..=14).contains(&weeks.len()), "{}", weeks.len());
    assert_eq!(weekly["views"], 3);

    // Keyset paging: every event exactly once.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(c) => format!("/api/v1/links/{link}/analytics/events?limit=3&cursor={c}"),
            None => format!("/api/v1/links/{link}/analytics/events?limit=3"),
        };
        let page = json(app, key, &path).await;
        for e in page["events"].as_array().unwrap() {
            seen.push(e["outcome"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["disabled", "ok", "ok", "ok"]);

    // The per-dashboard summary and the overview.
    let rows = json(
        app,
        key,
        &format!("/api/v1/dashboards/{}/analytics", fx.dashboard),
    )
    .await;
    assert_eq!(rows[0]["views"], 3);
    assert_eq!(rows[0]["uniques"], 2);
    let overview = json(app, key, "/api/v1/analytics/overview").await;
    assert_eq!(overview["most_viewed"][0]["link_id"], link.as_str());
    assert_eq!(overview["never_opened"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn analytics_csv_is_formula_safe() {
    let fx = fixture().await;
    let (app, key) = (&fx.app, &fx.key);
    let response = get(
        app,
        key,
        &format!("/api/v1/dashboards/{}/analytics.csv", fx.dashboard),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let record = reader.records().next().unwrap().unwrap();
    assert!(
        record[1].starts_with("'=HYPERLINK"),
        "a label like a formula is neutralised: {}",
        &record[1]
    );
    let events = get(app, key, &format!("/api/v1/links/{}/events.csv", fx.link))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        events.lines().count(),
        5,
        "a header and four events: {events}"
    );
    let trail = get(app, key, "/api/v1/audit-trail.csv?action=link.created")
        .await
        .text()
        .await
        .unwrap();
    assert!(!trail.contains(",=HYPERLINK"), "{trail}");
    assert!(trail.contains("link.created"));
}

#[tokio::test]
async fn the_audit_trail_tells_and_reaches_access_events() {
    let fx = fixture().await;
    let (app, key, link) = (&fx.app, &fx.key, &fx.link);
    let page = json(app, key, "/api/v1/audit-trail?action=link.disabled").await;
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let summary = entries[0]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("admin@example.com disabled the link '=HYPERLINK"),
        "{summary}"
    );
    assert!(summary.ends_with("of 'Sales'"), "{summary}");
    assert_eq!(
        entries[0]["target_path"],
        format!("/links/{link}/analytics")
    );
    assert!(entries[0]["detail"].is_object(), "details unfolded");
    let by_target = json(
        app,
        key,
        &format!("/api/v1/audit-trail?target_type=link&target_id={link}"),
    )
    .await;
    assert_eq!(
        by_target["entries"].as_array().unwrap().len(),
        2,
        "created, disabled"
    );
    let access = json(
        app,
        key,
        &format!("/api/v1/audit-trail?source=access&target_type=link&target_id={link}"),
    )
    .await;
    let outcomes: Vec<&str> = access["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["disabled", "ok", "ok", "ok"]);
    let refused = json(
        app,
        key,
        "/api/v1/audit-trail?source=access&action=disabled",
    )
    .await;
    assert_eq!(refused["entries"].as_array().unwrap().len(), 1);
    assert!(
        refused["entries"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("was refused (disabled)")
    );
}

#[tokio::test]
async fn bad_input_is_a_4xx_json_error_and_permissions_hold() {
    let fx = fixture().await;
    let (app, key, link) = (&fx.app, &fx.key, &fx.link);
    for path in [
        format!("/api/v1/links/{link}/analytics?range=1y"),
        format!("/api/v1/links/{link}/analytics?by=month"),
        format!("/api/v1/links/{link}/analytics/events?cursor=abc"),
        format!("/api/v1/links/{link}/analytics/events?cursor=1.2.3"),
        format!("/api/v1/links/{link}/analytics/events?limit=0"),
        "/api/v1/audit-trail?from=2026-13-01".to_owned(),
        "/api/v1/audit-trail?source=everything".to_owned(),
        "/api/v1/audit-trail?cursor=".to_owned(),
        "/api/v1/audit-trail?from=".to_owned(),
        "/api/v1/audit-trail?cursor=%2B1.2".to_owned(),
        "/api/v1/audit-trail?limit=100000".to_owned(),
        "/api/v1/audit-trail?cursor=%27%3B%20DROP%20TABLE%20audit_events".to_owned(),
    ] {
        let response = get(app, key, &path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
    assert_eq!(
        get(app, key, "/api/v1/links/nope/analytics").await.status(),
        404
    );
    assert_eq!(
        get(app, key, "/api/v1/dashboards/999/analytics")
            .await
            .status(),
        404
    );
    // SQL in a filter value is a value.
    let none = json(
        app,
        key,
        "/api/v1/audit-trail?actor=x%27%20OR%20%271%27%3D%271",
    )
    .await;
    assert_eq!(none["entries"].as_array().unwrap().len(), 0);

    let viewer = app
        .member("vic@example.com", Role::Viewer, Permissions::ALL)
        .await;
    let viewer_key = app.api_key(&viewer).await;
    assert_eq!(
        get(app, &viewer_key, &format!("/api/v1/links/{link}/analytics"))
            .await
            .status(),
        403
    );
    let editor = app
        .member("ed@example.com", Role::Editor, Permissions::default())
        .await;
    let editor_key = app.api_key(&editor).await;
    assert_eq!(
        get(app, &editor_key, &format!("/api/v1/links/{link}/analytics"))
            .await
            .status(),
        200
    );
    assert_eq!(
        get(app, &editor_key, "/api/v1/audit-trail").await.status(),
        403,
        "admins only"
    );
}

#[tokio::test]
async fn the_analytics_pages_draw_charts_and_escape_labels() {
    let fx = fixture().await;
    let app = &fx.app;
    let (browser, _) = app.signed_in("admin@example.com").await;
    for path in [
        format!("/links/{}/analytics?range=30d&by=week", fx.link),
        format!("/dashboards/{}/analytics", fx.dashboard),
        "/analytics".to_owned(),
        "/audit?source=access".to_owned(),
    ] {
        let response = browser.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            !html.contains("<script>x</script>"),
            "{path} escapes labels"
        );
        if !path.starts_with("/audit") {
            assert!(html.contains("<svg"), "{path} has charts");
        }
    }
    let page = browser
        .get(app.url(&format!("/links/{}/analytics", fx.link)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Last refused attempt"));
    assert!(page.contains("(disabled)"));
}

#[tokio::test]
async fn no_address_is_stored_in_the_analytics_tables() {
    let fx = fixture().await;
    fx.app.state.access_log.flush().await;
    let pool = fx.app.raw_sqlite().await;
    for sql in [
        "SELECT link_id || '|' || kind || '|' || name FROM access_daily",
        "SELECT link_id || '|' || COALESCE(last_refused_outcome, '') FROM access_totals",
        "SELECT day || '|' || key FROM visitor_day_keys",
        "SELECT link_id || '|' || visitor FROM visitor_day_hashes",
    ] {
        let cells: Vec<String> = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
        assert!(!cells.is_empty(), "{sql}");
        for cell in cells {
            for address in ["203.0.113.7", "198.51.100.9", "192.0.2.1"] {
                assert!(!cell.contains(address), "{cell}");
            }
        }
    }
    let clients: Vec<String> = sqlx::query_scalar("SELECT DISTINCT client FROM access_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    let visitors: Vec<String> = sqlx::query_scalar("SELECT visitor FROM visitor_day_hashes")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(visitors.len(), 2);
    for v in &visitors {
        assert!(
            clients
                .iter()
                .all(|c| !c.contains(v.as_str()) && !v.contains(c.as_str())),
            "a visitor hash is not the raw log's stable client key"
        );
    }
}

#[tokio::test]
async fn the_analytics_page_in_a_browser_shows_two_uniques_and_charts_without_errors() {
    // A viewer in Tokyo (UTC+9, no daylight saving): times read in their zone.
    let Some(browser) = crate::browser::Browser::start_in_zone("Asia/Tokyo").await else {
        return;
    };
    let fx = fixture().await;
    browser
        .sign_in(&fx.app, "admin@example.com", crate::helpers::PASSWORD)
        .await;
    browser
        .goto(
            &fx.app
                .url(&format!("/links/{}/analytics?range=7d", fx.link)),
        )
        .await;
    browser.wait_for("[data-fact='Unique visitors'] dd").await;
    assert_eq!(
        browser
            .text("[data-fact='Unique visitors'] dd")
            .await
            .trim(),
        "2",
        "two client addresses are two visitors"
    );
    assert_eq!(browser.text("[data-fact='Views'] dd").await.trim(), "3");
    let charts = browser
        .js("return document.querySelectorAll('.an-chart svg').length")
        .await;
    assert_eq!(charts, 5, "five charts drawn");
    let drawn = browser
        .js("return [...document.querySelectorAll('.an-chart svg')].every(s => s.getBoundingClientRect().height > 50)")
        .await;
    assert_eq!(drawn, true, "every chart has a height on the page");
    // "Last viewed" is written in UTC and shown in the viewer's zone, nine hours ahead.
    let stamp = browser
        .js(
            "const t = document.querySelector('[data-fact=\"last-view\"] time'); \
             return [t.getAttribute('datetime'), t.getAttribute('title'), t.textContent]",
        )
        .await;
    let utc = time::OffsetDateTime::parse(
        stamp[0].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let tokyo = utc.to_offset(time::macros::offset!(+9));
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    assert_eq!(
        stamp[1].as_str().unwrap(),
        format!("{} UTC", utc.format(&f).unwrap()),
        "the UTC time stays as the tooltip"
    );
    let shown = stamp[2].as_str().unwrap();
    assert!(
        shown.starts_with(&tokyo.format(&f).unwrap()) && shown.contains("+9"),
        "shown in the viewer's zone: {shown} (UTC {utc})"
    );
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    assert!(browser.csp_violations().await.is_empty());
    browser.screenshot("link-analytics").await;
    browser.close().await;
}
