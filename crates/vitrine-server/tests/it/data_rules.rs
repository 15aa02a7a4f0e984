//! Members' data permissions: a member under a region rule sees only that region on every
//! route — page, card fragment, live stream, CSV and PDF exports, the API — a rule's value is
//! a bound value (SQL in it is just text), a rule on a role reaches its members, and only
//! admins set rules; on SQLite and PostgreSQL.

use std::time::Duration;

use vitrine_core::member::{Permissions, Role};

use crate::helpers::{PgDatabase, TestApp, pdf_text};
use crate::links::shared_dashboard;

async fn get_text(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// The live stream's text up to its first `refreshed` event (a bound, not a speed claim).
async fn live_text(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let mut response = client
        .get(app.url(path))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("event: refreshed") {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

async fn add_rule(app: &TestApp, key: &str, body: serde_json::Value) -> reqwest::Response {
    app.api()
        .post(app.url("/api/v1/data-rules"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_member_with_a_region_rule_sees_only_that_region_everywhere() {
    region_rule(None).await;
}

#[tokio::test]
async fn a_member_with_a_region_rule_sees_only_that_region_everywhere_on_postgres() {
    let Some(db) = PgDatabase::create(
        "a_member_with_a_region_rule_sees_only_that_region_everywhere_on_postgres",
    )
    .await
    else {
        return;
    };
    region_rule(Some(db.url.clone())).await;
    db.drop_now().await;
}

async fn region_rule(database_url: Option<String>) {
    let app = TestApp::spawn_with(|c| c.database_url = database_url).await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    // orders: (Starter, EMEA, 10), (Growth, AMER, 20), (Growth, EMEA, 30)
    let id = shared_dashboard(&app, &admin_key).await;
    let rita = app
        .member("rita@example.com", Role::Viewer, Permissions::default())
        .await;
    let rita_key = app.api_key(&rita).await;

    // Only admins set rules.
    let refused = add_rule(
        &app,
        &rita_key,
        serde_json::json!({ "member_id": rita.id.0, "rule": { "column": "region", "op": "=", "value": "EMEA" } }),
    )
    .await;
    assert_eq!(refused.status(), 403);
    // A column no dataset has is refused at once.
    let typo = add_rule(
        &app,
        &admin_key,
        serde_json::json!({ "member_id": rita.id.0, "rule": { "column": "regoin", "op": "=", "value": "AMER" } }),
    )
    .await;
    assert_eq!(typo.status(), 400);
    let added = add_rule(
        &app,
        &admin_key,
        serde_json::json!({ "member_id": rita.id.0, "rule": { "column": "region", "op": "=", "value": "AMER" } }),
    )
    .await;
    assert_eq!(added.status(), 201);
    let added: serde_json::Value = added.json().await.unwrap();
    assert_eq!(added["summary"], "region = AMER");

    let (browser, _) = app.signed_in(&rita.email).await;
    let (admin_browser, _) = app.signed_in(&admin.email).await;

    // The page and its card fragment: Growth (AMER, 20), never Starter (EMEA only).
    let page = get_text(&browser, &app, &format!("/dashboards/{id}")).await;
    assert!(
        page.contains("Growth") && !page.contains("Starter"),
        "{page}"
    );
    let admin_page = get_text(&admin_browser, &app, &format!("/dashboards/{id}")).await;
    assert!(admin_page.contains("Starter"), "the admin has no rule");
    // Filters cannot widen it: EMEA on top of the AMER rule is nothing.
    let emea = get_text(&browser, &app, &format!("/dashboards/{id}?f.region=EMEA")).await;
    assert!(!emea.contains("Starter"));
    let fragment = get_text(&browser, &app, &format!("/dashboards/{id}/widgets/by-plan")).await;
    assert!(fragment.contains("Growth") && !fragment.contains("Starter"));

    // CSV from the page and from the API.
    for csv in [
        get_text(
            &browser,
            &app,
            &format!("/dashboards/{id}/widgets/by-plan/export.csv"),
        )
        .await,
        app.api()
            .get(app.url(&format!(
                "/api/v1/dashboards/{id}/widgets/by-plan/export.csv"
            )))
            .bearer_auth(&rita_key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    ] {
        assert!(csv.contains("Growth,20"), "{csv}");
        assert!(!csv.contains("Starter") && !csv.contains("50"), "{csv}");
    }
    let admin_csv = get_text(
        &admin_browser,
        &app,
        &format!("/dashboards/{id}/widgets/by-plan/export.csv"),
    )
    .await;
    assert!(admin_csv.contains("Starter") && admin_csv.contains("Growth,50"));

    // PDF.
    let pdf = browser
        .get(app.url(&format!("/dashboards/{id}/export.pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let (_, text) = pdf_text(&pdf.bytes().await.unwrap());
    assert!(
        text.contains("Growth") && !text.contains("Starter"),
        "{text}"
    );

    // The live stream pushes the restricted widget (no hashes: every widget is new to it).
    let live = live_text(&browser, &app, &format!("/dashboards/{id}/live")).await;
    assert!(live.contains("event: widget"), "{live}");
    assert!(
        live.contains("Growth") && !live.contains("Starter"),
        "{live}"
    );

    // The member page shows the rule; SQL in a value is a value: it matches no region.
    let member_page = get_text(&admin_browser, &app, &format!("/members/{}", rita.id.0)).await;
    assert!(member_page.contains("region = AMER"), "{member_page}");
    let rules: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/data-rules"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rule_id = rules[0]["id"].as_i64().unwrap();
    let removed = app
        .api()
        .delete(app.url(&format!("/api/v1/data-rules/{rule_id}")))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let injected = add_rule(
        &app,
        &admin_key,
        serde_json::json!({ "member_id": rita.id.0, "rule": { "column": "region", "op": "=", "value": "AMER' OR '1'='1" } }),
    )
    .await;
    assert_eq!(injected.status(), 201);
    let csv = get_text(
        &browser,
        &app,
        &format!("/dashboards/{id}/widgets/by-plan/export.csv"),
    )
    .await;
    assert!(!csv.contains("Growth") && !csv.contains("Starter"), "{csv}");

    // A rule on a role reaches every member of it.
    let vic = app
        .member("vic@example.com", Role::Viewer, Permissions::default())
        .await;
    let role_rule = add_rule(
        &app,
        &admin_key,
        serde_json::json!({ "role": "viewer", "rule": { "column": "plan", "op": "in", "values": ["Starter"] } }),
    )
    .await;
    assert_eq!(role_rule.status(), 201);
    let (vic_browser, _) = app.signed_in(&vic.email).await;
    let csv = get_text(
        &vic_browser,
        &app,
        &format!("/dashboards/{id}/widgets/by-plan/export.csv"),
    )
    .await;
    assert!(
        csv.contains("Starter,10") && !csv.contains("Growth"),
        "{csv}"
    );
    // Both or neither target is refused.
    let both = add_rule(
        &app,
        &admin_key,
        serde_json::json!({ "role": "viewer", "member_id": vic.id.0, "rule": { "column": "plan", "op": "=", "value": "x" } }),
    )
    .await;
    assert_eq!(both.status(), 400);

    let audit = app
        .state
        .store
        .audit_events(admin.workspace_id, 100)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"member_rule.added") && actions.contains(&"member_rule.removed"));
}

#[tokio::test]
async fn a_widget_a_member_rule_cannot_cover_is_not_shown() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    let id = shared_dashboard(&app, &admin_key).await;
    let rita = app
        .member("rita@example.com", Role::Viewer, Permissions::default())
        .await;
    // `amount` exists, but a rule naming a column of another dataset that this dashboard's
    // dataset lacks cannot restrict it: the widget is hidden, not shown unrestricted.
    let path = app.dir.path().join("warehouse.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE customers (customer_id INTEGER, name TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let sources: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/data-sources"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created = app
        .api()
        .post(app.url("/api/v1/datasets"))
        .bearer_auth(&admin_key)
        .json(&serde_json::json!({ "data_source_id": sources[0]["id"], "slug": "customers", "name": "", "sql": "SELECT * FROM customers" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let added = add_rule(
        &app,
        &admin_key,
        serde_json::json!({ "member_id": rita.id.0, "rule": { "column": "customer_id", "op": "=", "value": 42 } }),
    )
    .await;
    assert_eq!(added.status(), 201);
    let (browser, _) = app.signed_in(&rita.email).await;
    let page = get_text(&browser, &app, &format!("/dashboards/{id}")).await;
    assert!(
        !page.contains("Growth") && !page.contains("Starter"),
        "{page}"
    );
    let csv = browser
        .get(app.url(&format!("/dashboards/{id}/widgets/by-plan/export.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 404);
}

#[tokio::test]
async fn what_a_member_under_a_rule_shares_shows_at_most_their_rows() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    // orders: (Starter, EMEA, 10), (Growth, AMER, 20), (Growth, EMEA, 30)
    let id = shared_dashboard(&app, &admin_key).await;
    let sam = app
        .member(
            "sam@example.com",
            Role::Editor,
            Permissions {
                share_public: true,
                embed: true,
                ..Permissions::default()
            },
        )
        .await;
    let sam_key = app.api_key(&sam).await;
    let added = add_rule(
        &app,
        &admin_key,
        serde_json::json!({ "member_id": sam.id.0, "rule": { "column": "region", "op": "=", "value": "AMER" } }),
    )
    .await;
    assert_eq!(added.status(), 201);
    let post = |key: &str, path: &str, body: serde_json::Value| {
        app.api()
            .post(app.url(path))
            .bearer_auth(key.to_owned())
            .json(&body)
            .send()
    };

    // A share link Sam creates carries Sam's rule, and asking for no rules does not drop it.
    let created: serde_json::Value = post(
        &sam_key,
        "/api/v1/links",
        serde_json::json!({ "dashboard_id": id, "label": "Client", "rules": [] }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        created["settings"]["rules"],
        serde_json::json!([{ "column": "region", "op": "=", "value": "AMER" }]),
        "{created}"
    );
    let url = created["url"].as_str().unwrap();
    let page = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Growth") && !page.contains("Starter"),
        "the outsider sees Sam's rows only: {page}"
    );
    let response = app
        .api()
        .patch(app.url(&format!(
            "/api/v1/links/{}",
            created["id"].as_str().unwrap()
        )))
        .bearer_auth(&sam_key)
        .json(&serde_json::json!({ "rules": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(!page.contains("Starter"), "an edit cannot drop the rule");

    // A link the admin (no rule) creates shows every row.
    let open: serde_json::Value = post(
        &admin_key,
        "/api/v1/links",
        serde_json::json!({ "dashboard_id": id, "label": "Board" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let page = reqwest::get(open["url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Starter"));

    // A guest token Sam's key mints carries the rule too.
    let embedding: serde_json::Value = app
        .api()
        .put(app.url(&format!("/api/v1/dashboards/{id}/embedding")))
        .bearer_auth(&admin_key)
        .json(&serde_json::json!({ "allowed_origins": ["https://portal.example.com"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let embed_id = embedding["id"].as_str().unwrap();
    let minted: serde_json::Value = post(
        &sam_key,
        "/api/v1/guest-tokens",
        serde_json::json!({ "resources": [{ "type": "dashboard", "id": embed_id }], "rls": [] }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token = minted["token"].as_str().unwrap();
    let page = app
        .api()
        .get(app.url(&format!("/embed/{embed_id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Growth") && !page.contains("Starter"),
        "the embedded view shows Sam's rows only: {page}"
    );
}
