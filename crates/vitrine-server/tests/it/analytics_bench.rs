//! The analytics benchmark (ignored by default; numbers in `docs/performance.md`):
//!
//! ```sh
//! cargo test -p vitrine-server --test it analytics_bench -- --ignored --nocapture
//! ```
//!
//! 1. A link with 1,000,000 generated access events over a year (raw log and rollups, the
//!    rollups built by the same aggregation the property test proves equal to the writes'):
//!    time to answer its analytics (API and page), against aggregating the raw log.
//! 2. The cost a view adds to the outsider's request: an event written alone (before this
//!    change) against an event written with its rollups in one transaction (after), and the
//!    whole share-page request.

use std::time::{Duration, Instant};

use vitrine_store::AccessEvent;

use crate::helpers::TestApp;
use crate::links::shared_dashboard;

const EVENTS: i64 = 1_000_000;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
async fn analytics_bench() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &key).await;
    let created: serde_json::Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "dashboard_id": dashboard, "label": "Board" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = created["id"].as_str().unwrap().to_owned();
    let share_url = created["url"].as_str().unwrap().to_owned();
    let pool = app.raw_sqlite().await;
    let ws: i64 = sqlx::query_scalar("SELECT workspace_id FROM share_links WHERE id = $1")
        .bind(&link)
        .fetch_one(&pool)
        .await
        .unwrap();
    let now_ms = app.state.now().unix_timestamp() * 1000;

    let started = Instant::now();
    sqlx::query(
        "INSERT INTO access_events (workspace_id, link_id, at, outcome, country, client_class, client) \
         WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < $1 - 1) \
         SELECT $2, $3, $4 - (n % 365) * 86400000 - (n * 7919) % 86400000, \
           CASE WHEN n % 10 < 7 THEN 'ok' WHEN n % 10 = 7 THEN 'bad_password' \
                WHEN n % 10 = 8 THEN 'export_pdf' ELSE 'rate_limited' END, \
           CASE n % 4 WHEN 0 THEN 'NL' WHEN 1 THEN 'BR' WHEN 2 THEN 'US' ELSE NULL END, \
           CASE n % 3 WHEN 0 THEN 'desktop' WHEN 1 THEN 'mobile' ELSE 'bot' END, \
           'client-' || (n % 20000) FROM seq",
    )
    .bind(EVENTS)
    .bind(ws)
    .bind(&link)
    .bind(now_ms)
    .execute(&pool)
    .await
    .unwrap();
    // The rollups of those events: the aggregation migration 0009 backfills with.
    for sql in [
        "INSERT INTO access_daily (link_id, day, workspace_id, kind, name, count) \
         SELECT link_id, at / 86400000, MAX(workspace_id), 'outcome', outcome, COUNT(*) \
         FROM access_events WHERE link_id = $1 GROUP BY link_id, at / 86400000, outcome",
        "INSERT INTO access_daily (link_id, day, workspace_id, kind, name, count) \
         SELECT link_id, at / 86400000, MAX(workspace_id), 'country', COALESCE(country, ''), COUNT(*) \
         FROM access_events WHERE link_id = $1 AND outcome = 'ok' \
         GROUP BY link_id, at / 86400000, COALESCE(country, '')",
        "INSERT INTO access_daily (link_id, day, workspace_id, kind, name, count) \
         SELECT link_id, at / 86400000, MAX(workspace_id), 'client', client_class, COUNT(*) \
         FROM access_events WHERE link_id = $1 AND outcome = 'ok' \
         GROUP BY link_id, at / 86400000, client_class",
        "INSERT INTO access_daily (link_id, day, workspace_id, kind, name, count) \
         SELECT link_id, at / 86400000, MAX(workspace_id), 'uniques', '', \
           COUNT(DISTINCT client || '/' || client_class) \
         FROM access_events WHERE link_id = $1 AND outcome = 'ok' GROUP BY link_id, at / 86400000",
        "INSERT INTO access_totals (link_id, workspace_id, views, downloads, refusals, \
           first_view_at, last_view_at, last_refused_at, last_download_at) \
         SELECT link_id, MAX(workspace_id), SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END), \
           SUM(CASE WHEN outcome LIKE 'export%' THEN 1 ELSE 0 END), \
           SUM(CASE WHEN outcome <> 'ok' AND outcome NOT LIKE 'export%' THEN 1 ELSE 0 END), \
           MIN(CASE WHEN outcome = 'ok' THEN at END), MAX(CASE WHEN outcome = 'ok' THEN at END), \
           MAX(CASE WHEN outcome <> 'ok' AND outcome NOT LIKE 'export%' THEN at END), \
           MAX(CASE WHEN outcome LIKE 'export%' THEN at END) \
         FROM access_events WHERE link_id = $1 GROUP BY link_id",
    ] {
        sqlx::query(sql).bind(&link).execute(&pool).await.unwrap();
    }
    let rollup_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_daily")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!(
        "generated {EVENTS} events and {rollup_rows} rollup rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 1. Reading: the API and the page, from the rollups.
    let (browser, _) = app.signed_in("admin@example.com").await;
    for (what, path, bearer) in [
        (
            "API, range=all",
            format!("/api/v1/links/{link}/analytics?range=all"),
            true,
        ),
        (
            "API, range=30d",
            format!("/api/v1/links/{link}/analytics?range=30d"),
            true,
        ),
        (
            "API, events page 1",
            format!("/api/v1/links/{link}/analytics/events?limit=50"),
            true,
        ),
        (
            "page, range=all by week",
            format!("/links/{link}/analytics?range=all&by=week"),
            false,
        ),
        (
            "page, range=30d",
            format!("/links/{link}/analytics?range=30d"),
            false,
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..21 {
            let t = Instant::now();
            let request = if bearer {
                app.api().get(app.url(&path)).bearer_auth(&key)
            } else {
                browser.get(app.url(&path))
            };
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let _ = response.bytes().await.unwrap();
            times.push(t.elapsed());
        }
        println!("{what}: median {}", ms(median(times)));
    }
    // … against aggregating the raw log (what every page load did before).
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let _: Vec<(String, i64)> = sqlx::query_as(
            "SELECT outcome, COUNT(*) FROM access_events WHERE link_id = $1 GROUP BY outcome",
        )
        .bind(&link)
        .fetch_all(&pool)
        .await
        .unwrap();
        times.push(t.elapsed());
    }
    println!(
        "raw-log aggregation (one GROUP BY): median {}",
        ms(median(times))
    );

    // 2. Writing: one event alone (before) against one event with its rollups (after).
    let n = 2000;
    let event = |i: i64| AccessEvent {
        workspace_id: Some(vitrine_core::id::WorkspaceId(ws)),
        link_id: Some(link.clone()),
        at: app.state.now(),
        outcome: "ok".into(),
        country: Some("NL".into()),
        client_class: "desktop".into(),
        client: format!("bench-{}", i % 50),
        viewer: None,
    };
    // The old write on one connection set up as the store's are (WAL, synchronous = NORMAL).
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await
        .unwrap();
    let t = Instant::now();
    for i in 0..n {
        let e = event(i);
        sqlx::query(
            "INSERT INTO access_events (workspace_id, link_id, at, outcome, country, \
             client_class, client) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(ws)
        .bind(&e.link_id)
        .bind(now_ms)
        .bind(&e.outcome)
        .bind(&e.country)
        .bind(&e.client_class)
        .bind(&e.client)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    drop(conn);
    let before = t.elapsed() / n as u32;
    let t = Instant::now();
    for i in 0..n {
        app.state.store.record_access(&event(i)).await.unwrap();
    }
    let after = t.elapsed() / n as u32;
    println!(
        "event write: alone {} (before), with rollups {} (after), +{}",
        ms(before),
        ms(after),
        ms(after.saturating_sub(before))
    );
    let outsider = app.browser();
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let response = outsider.get(&share_url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let _ = response.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    println!(
        "outsider share page (whole request): median {}",
        ms(median(times))
    );
}
