//! Data sources, datasets and dashboards through the API.

use vitrine_core::member::{Permissions, Role};

use crate::data_sources::lent;
use crate::helpers::TestApp;

/// A small SQLite warehouse in the app's temporary directory.
async fn warehouse(app: &TestApp) -> String {
    let path = app.dir.path().join("warehouse.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for statement in [
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, plan TEXT, region TEXT, amount REAL, ordered_at TEXT)",
        "INSERT INTO orders (plan, region, amount, ordered_at) VALUES \
         ('Starter', 'EMEA', 10, '2026-11-01'), ('Growth', 'AMER', 20, '2026-11-02'), ('Growth', 'EMEA', 30, '2026-11-03')",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    path.display().to_string()
}

const DASHBOARD: &str = "version: 1
title: Sales
status: published
widgets:
  - id: total
    title: Revenue
    kind: kpi
    layout: {x: 0, y: 0, w: 4, h: 2}
    query:
      dataset: orders
      measures:
        - agg: sum
          column: amount
  - id: by-plan
    title: Revenue by plan
    kind: bar
    layout: {x: 4, y: 0, w: 8, h: 4}
    query:
      dataset: orders
      dimensions:
        - column: plan
      measures:
        - agg: sum
          column: amount
";

async fn post(app: &TestApp, key: &str, path: &str, body: serde_json::Value) -> reqwest::Response {
    app.api()
        .post(app.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_editor_connects_a_database_writes_a_dataset_and_saves_a_dashboard() {
    let app = TestApp::spawn().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    let key = app.api_key(&editor).await;
    let path = warehouse(&app).await;

    let source = post(
        &app,
        &key,
        "/api/v1/data-sources",
        serde_json::json!({ "name": "Warehouse", "kind": "sqlite", "location": path }),
    )
    .await;
    assert_eq!(source.status(), 201);
    let source: serde_json::Value = source.json().await.unwrap();
    let source_id = source["id"].as_i64().unwrap();

    let dataset = serde_json::json!({ "data_source_id": source_id, "slug": "orders", "name": "Orders", "sql": "SELECT plan, region, amount, ordered_at FROM orders" });
    let created = post(&app, &key, "/api/v1/datasets", dataset).await;
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    let columns: Vec<&str> = created["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["plan", "region", "amount", "ordered_at"],
        "discovered from the database"
    );

    let response = post(
        &app,
        &key,
        "/api/v1/dashboards",
        serde_json::json!({ "slug": "sales", "yaml": DASHBOARD }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let saved: serde_json::Value = response.json().await.unwrap();
    assert_eq!(saved["title"], "Sales");
    assert_eq!(saved["revision"], 1);
    assert_eq!(saved["yaml"], DASHBOARD, "kept as written");

    let id = saved["id"].as_i64().unwrap();
    let stale = app
        .api()
        .put(app.url(&format!("/api/v1/dashboards/{id}")))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "yaml": DASHBOARD.replace("Sales", "Sales v2"), "revision": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    let lost = app
        .api()
        .put(app.url(&format!("/api/v1/dashboards/{id}")))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "yaml": DASHBOARD.replace("Sales", "Sales v3"), "revision": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        lost.status(),
        409,
        "an edit from an old revision is not a lost update"
    );
}

#[tokio::test]
async fn an_unknown_column_is_refused_at_save_with_its_line() {
    let app = TestApp::spawn().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    let key = app.api_key(&editor).await;
    let path = warehouse(&app).await;
    let source: serde_json::Value = post(
        &app,
        &key,
        "/api/v1/data-sources",
        serde_json::json!({ "name": "W", "kind": "sqlite", "location": path }),
    )
    .await
    .json()
    .await
    .unwrap();
    let dataset = serde_json::json!({ "data_source_id": source["id"], "slug": "orders", "name": "", "sql": "SELECT plan, amount FROM orders" });
    assert_eq!(
        post(&app, &key, "/api/v1/datasets", dataset).await.status(),
        201
    );
    let response = post(
        &app,
        &key,
        "/api/v1/dashboards",
        serde_json::json!({ "yaml": DASHBOARD.replace("column: plan", "column: colour") }),
    )
    .await;
    assert_eq!(response.status(), 400);
    let message = response.json::<serde_json::Value>().await.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("line 21") && message.contains("colour"),
        "{message}"
    );
}

#[tokio::test]
async fn a_dataset_that_writes_or_runs_two_statements_is_refused() {
    let app = TestApp::spawn().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    let key = app.api_key(&editor).await;
    let path = warehouse(&app).await;
    let source: serde_json::Value = post(
        &app,
        &key,
        "/api/v1/data-sources",
        serde_json::json!({ "name": "W", "kind": "sqlite", "location": path }),
    )
    .await
    .json()
    .await
    .unwrap();
    for sql in [
        "DELETE FROM orders",
        "UPDATE orders SET amount = 0",
        "DROP TABLE orders",
        "SELECT 1; SELECT 2",
    ] {
        let dataset = serde_json::json!({ "data_source_id": source["id"], "slug": "bad", "name": "", "sql": sql });
        let response = post(&app, &key, "/api/v1/datasets", dataset).await;
        assert_eq!(response.status(), 400, "{sql}");
    }
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 3);
}

#[tokio::test]
async fn data_source_credentials_are_sealed_and_never_returned() {
    let Some(url) =
        crate::helpers::postgres_url("data_source_credentials_are_sealed_and_never_returned")
    else {
        return;
    };
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    // Trust authentication ignores the password, which lets the test see where it goes.
    let with_password = url.replacen("://postgres@", "://postgres:s3cret-pw@", 1);
    let response = post(
        &app,
        &key,
        "/api/v1/data-sources",
        serde_json::json!({ "name": "PG", "kind": "postgres", "location": with_password }),
    )
    .await;
    let body = response.text().await.unwrap();
    assert!(!body.contains("s3cret-pw"), "{body}");
    assert!(body.contains("***"), "{body}");
    let listed = app
        .api()
        .get(app.url("/api/v1/data-sources"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains("s3cret-pw"));
    let pool = app.raw_sqlite().await;
    let stored: String = sqlx::query_scalar("SELECT sealed_config || display FROM data_sources")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !stored.contains("s3cret-pw") && !stored.contains("127.0.0.1:5432/test\""),
        "{stored}"
    );
    let test = post(
        &app,
        &key,
        "/api/v1/data-sources/1/test",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(test.status(), 200, "the sealed settings still connect");
}

#[tokio::test]
async fn vitrine_own_files_are_not_a_data_source_and_bad_locations_say_why() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let own = app.dir.path().join("data/vitrine.db");
    let response = post(&app, &key, "/api/v1/data-sources", serde_json::json!({ "name": "Mine", "kind": "sqlite", "location": own.display().to_string() })).await;
    assert_eq!(response.status(), 400);
    let response = post(
        &app,
        &key,
        "/api/v1/data-sources",
        serde_json::json!({ "name": "Nope", "kind": "sqlite", "location": "/nonexistent/x.db" }),
    )
    .await;
    assert_eq!(response.status(), 400);
    let message = response.text().await.unwrap();
    assert!(message.contains("no SQLite file"), "{message}");
    let response = post(&app, &key, "/api/v1/data-sources", serde_json::json!({ "name": "Down", "kind": "postgres", "location": "postgres://u:pw@127.0.0.1:1/x" })).await;
    assert_eq!(response.status(), 400);
    let message = response.text().await.unwrap();
    assert!(
        message.contains("Could not connect")
            && !message.contains("pw@")
            && !message.contains("refused"),
        "{message}"
    );
}

#[tokio::test]
async fn viewers_see_published_dashboards_only_and_build_nothing() {
    let app = TestApp::spawn().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    let viewer = app
        .member("vic@example.com", Role::Viewer, Permissions::default())
        .await;
    let key = app.api_key(&editor).await;
    let vkey = app.api_key(&viewer).await;
    let path = warehouse(&app).await;
    let source: serde_json::Value = post(
        &app,
        &key,
        "/api/v1/data-sources",
        serde_json::json!({ "name": "W", "kind": "sqlite", "location": path }),
    )
    .await
    .json()
    .await
    .unwrap();
    let dataset = serde_json::json!({ "data_source_id": source["id"], "slug": "orders", "name": "", "sql": "SELECT * FROM orders" });
    assert_eq!(
        post(&app, &key, "/api/v1/datasets", dataset.clone())
            .await
            .status(),
        201
    );
    assert_eq!(
        post(
            &app,
            &key,
            "/api/v1/dashboards",
            serde_json::json!({ "slug": "pub", "yaml": DASHBOARD })
        )
        .await
        .status(),
        201
    );
    let draft = DASHBOARD
        .replace("status: published", "status: draft")
        .replace("Sales", "Draft");
    assert_eq!(
        post(
            &app,
            &key,
            "/api/v1/dashboards",
            serde_json::json!({ "slug": "draft", "yaml": draft })
        )
        .await
        .status(),
        201
    );

    let seen: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/dashboards"))
        .bearer_auth(&vkey)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Sales"]);
    let draft_id = app
        .state
        .store
        .dashboards(editor.workspace_id)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.slug == "draft")
        .unwrap()
        .id;
    let hidden = app
        .api()
        .get(app.url(&format!("/api/v1/dashboards/{draft_id}")))
        .bearer_auth(&vkey)
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
    for (path, body) in [
        (
            "/api/v1/data-sources",
            serde_json::json!({ "name": "X", "kind": "sqlite", "location": "/tmp" }),
        ),
        ("/api/v1/datasets", dataset),
        (
            "/api/v1/dashboards",
            serde_json::json!({ "yaml": DASHBOARD }),
        ),
    ] {
        assert_eq!(post(&app, &vkey, path, body).await.status(), 403, "{path}");
    }
    assert_eq!(
        app.api()
            .get(app.url("/api/v1/data-sources"))
            .bearer_auth(&vkey)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn a_saved_dashboard_renders_its_widgets_for_members_and_filters_by_url() {
    let app = TestApp::spawn().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    app.member("vic@example.com", Role::Viewer, Permissions::default())
        .await;
    let key = app.api_key(&editor).await;
    let path = warehouse(&app).await;
    let source: serde_json::Value = post(
        &app,
        &key,
        "/api/v1/data-sources",
        serde_json::json!({ "name": "W", "kind": "sqlite", "location": path }),
    )
    .await
    .json()
    .await
    .unwrap();
    let dataset = serde_json::json!({ "data_source_id": source["id"], "slug": "orders", "name": "", "sql": "SELECT * FROM orders" });
    assert_eq!(
        post(&app, &key, "/api/v1/datasets", dataset).await.status(),
        201
    );
    let yaml = DASHBOARD.replace(
        "widgets:\n",
        "filters:\n  - id: region\n    label: Region\n    kind: single_select\n    columns: {orders: region}\nwidgets:\n",
    );
    let saved: serde_json::Value = post(
        &app,
        &key,
        "/api/v1/dashboards",
        serde_json::json!({ "yaml": yaml }),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = saved["id"].as_i64().unwrap();

    let (viewer, _) = app.signed_in("vic@example.com").await;
    let page = viewer
        .get(app.url(&format!("/dashboards/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("<svg") && page.contains("Revenue by plan"));
    assert!(page.contains("Growth") && page.contains("Starter"));
    assert!(!page.contains("/edit\""), "no edit control for a viewer");
    let emea = viewer
        .get(app.url(&format!("/dashboards/{id}/widgets/by-plan?f.region=EMEA")))
        .send()
        .await
        .unwrap();
    assert_eq!(emea.status(), 200);
    let card = emea.text().await.unwrap();
    assert!(card.contains("Starter"), "EMEA has Starter");
    let amer = viewer
        .get(app.url(&format!("/dashboards/{id}/widgets/by-plan?f.region=AMER")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !amer.contains("Starter") && amer.contains("Growth"),
        "AMER has only Growth"
    );
    let missing = viewer
        .get(app.url(&format!("/dashboards/{id}/widgets/nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let other = viewer
        .get(app.url("/dashboards/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}
