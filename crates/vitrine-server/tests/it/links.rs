//! The owner's side of share links through `/api/v1/links`: permissions, policy, URLs,
//! lifecycle, and what the store keeps.

use vitrine_core::member::{Permissions, Role};

use crate::helpers::{TestApp, both_stores};

pub const DASHBOARD: &str = "version: 1
title: Sales
status: published
filters:
  - id: region
    label: Region
    kind: single_select
    columns: {orders: region}
widgets:
  - id: by-plan
    title: Revenue by plan
    kind: bar
    layout: {x: 0, y: 0, w: 12, h: 4}
    query:
      dataset: orders
      dimensions:
        - column: plan
      measures:
        - agg: sum
          column: amount
";

/// A dashboard over a small warehouse; returns its id.
pub async fn shared_dashboard(app: &TestApp, key: &str) -> i64 {
    let path = app.dir.path().join("warehouse.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    for statement in [
        "CREATE TABLE orders (plan TEXT, region TEXT, amount REAL)",
        "INSERT INTO orders VALUES ('Starter', 'EMEA', 10), ('Growth', 'AMER', 20), ('Growth', 'EMEA', 30)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let post = |path: &str, body: serde_json::Value| {
        app.api()
            .post(app.url(path))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let source: serde_json::Value = post("/api/v1/data-sources", serde_json::json!({ "name": "W", "kind": "sqlite", "location": path.display().to_string() }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dataset = serde_json::json!({ "data_source_id": source["id"], "slug": "orders", "name": "", "sql": "SELECT * FROM orders" });
    assert_eq!(
        post("/api/v1/datasets", dataset).await.unwrap().status(),
        201
    );
    let saved: serde_json::Value = post(
        "/api/v1/dashboards",
        serde_json::json!({ "yaml": DASHBOARD }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    saved["id"].as_i64().unwrap()
}

async fn create(app: &TestApp, key: &str, body: serde_json::Value) -> reqwest::Response {
    app.api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

both_stores!(only_members_with_share_public_create_links, async {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &admin_key).await;
    let editor = app
        .member("ed@example.com", Role::Editor, Permissions::default())
        .await;
    let sharer = app
        .member(
            "sam@example.com",
            Role::Editor,
            Permissions {
                share_public: true,
                ..Permissions::default()
            },
        )
        .await;
    let viewer = app
        .member("vic@example.com", Role::Viewer, Permissions::ALL)
        .await;
    let body = serde_json::json!({ "dashboard_id": dashboard, "label": "Board" });
    assert_eq!(
        create(&app, &app.api_key(&editor).await, body.clone())
            .await
            .status(),
        403
    );
    let viewer_key = app.api_key(&viewer).await;
    assert_eq!(create(&app, &viewer_key, body.clone()).await.status(), 403);
    assert_eq!(
        app.api()
            .get(app.url("/api/v1/links"))
            .bearer_auth(&viewer_key)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let sharer_key = app.api_key(&sharer).await;
    assert_eq!(create(&app, &sharer_key, body.clone()).await.status(), 201);
    let embed = serde_json::json!({ "dashboard_id": dashboard, "label": "Portal", "embed": { "allowed": true, "origins": ["https://portal.example.com"] } });
    assert_eq!(
        create(&app, &sharer_key, embed.clone()).await.status(),
        403,
        "embedding needs the embed permission"
    );
    assert_eq!(create(&app, &admin_key, embed).await.status(), 201);
    let bad_origin = serde_json::json!({ "dashboard_id": dashboard, "label": "X", "embed": { "allowed": true, "origins": ["https://*.example.com"] } });
    assert!(
        create(&app, &admin_key, bad_origin)
            .await
            .status()
            .is_client_error()
    );
});

both_stores!(a_link_shows_its_url_again_and_rotation_replaces_it, async {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &key).await;
    let created: serde_json::Value = create(&app, &key, serde_json::json!({ "dashboard_id": dashboard, "label": "Client A", "password": "correct horse battery", "locked_filters": { "region": "EMEA" } }))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let url = created["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/share/shr_", app.base)),
        "{url}"
    );
    assert!(created["short_url"].as_str().unwrap().contains("/s/"));
    assert_eq!(created["state"], "active");
    assert_eq!(created["has_password"], true);
    assert_eq!(
        created["settings"]["open_filters"],
        serde_json::json!([]),
        "a locked filter is not open"
    );
    let shown: serde_json::Value = app
        .api()
        .get(app.url(&format!("/api/v1/links/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["url"], url, "the same URL, any time");

    let rotated: serde_json::Value = app
        .api()
        .post(app.url(&format!("/api/v1/links/{id}/rotate")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(rotated["url"], url);
    assert_ne!(rotated["short_url"], created["short_url"]);
    let disabled: serde_json::Value = app
        .api()
        .post(app.url(&format!("/api/v1/links/{id}/disable")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (disabled["state"].as_str(), disabled["url"].clone()),
        (Some("disabled"), rotated["url"].clone()),
        "disable keeps the URL"
    );
    let deleted = app
        .api()
        .delete(app.url(&format!("/api/v1/links/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let after: serde_json::Value = app
        .api()
        .get(app.url(&format!("/api/v1/links/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["state"], "deleted");
    let again = app
        .api()
        .post(app.url(&format!("/api/v1/links/{id}/enable")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "a deleted link stays deleted");

    // The store keeps no token, no short code and no plaintext password.
    let rows = app
        .raw_db()
        .await
        .rows(
            "SELECT settings, short_digest, password_hash FROM share_links",
            &[],
        )
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = (rows[0][0].clone(), rows[0][1].clone(), rows[0][2].clone());
    let everything = format!("{row:?}");
    let token = url.rsplit('/').next().unwrap();
    let code = created["short_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    for secret in [token, &token[4..], code, "correct horse battery"] {
        assert!(!everything.contains(secret), "the store holds {secret}");
    }
    assert!(row.2.unwrap().starts_with("$argon2id$"));
    let audit: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/audit-events"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "link.created",
        "link.rotated",
        "link.disabled",
        "link.deleted",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
});

both_stores!(the_workspace_policy_is_enforced_by_the_api, async {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &key).await;
    let policy = |allowed: bool, max: Option<i64>, password: bool| serde_json::json!({ "public_links_allowed": allowed, "max_link_days": max, "password_required": password, "contact_line": "", "footer": "Shared with Vitrine" });
    let put = |body: serde_json::Value| {
        app.api()
            .put(app.url("/api/v1/workspace/policy"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    assert_eq!(
        put(policy(true, Some(30), false)).await.unwrap().status(),
        200
    );
    let year = serde_json::json!({ "dashboard_id": dashboard, "label": "A", "expiry": { "kind": "days", "days": 365 } });
    let response = create(&app, &key, year).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("within 30 days"));
    let never = serde_json::json!({ "dashboard_id": dashboard, "label": "A", "expiry": { "kind": "never" } });
    assert_eq!(create(&app, &key, never).await.status(), 400);
    let month = serde_json::json!({ "dashboard_id": dashboard, "label": "A", "expiry": { "kind": "days", "days": 14 } });
    assert_eq!(create(&app, &key, month.clone()).await.status(), 201);

    assert_eq!(put(policy(true, None, true)).await.unwrap().status(), 200);
    assert_eq!(
        create(&app, &key, month.clone()).await.status(),
        400,
        "a password is required"
    );
    let mut with_password = month.clone();
    with_password["password"] = "long enough password".into();
    assert_eq!(create(&app, &key, with_password).await.status(), 201);

    assert_eq!(put(policy(false, None, false)).await.unwrap().status(), 200);
    assert_eq!(
        create(&app, &key, month).await.status(),
        409,
        "public links are off"
    );

    let editor = app
        .member("ed@example.com", Role::Editor, Permissions::ALL)
        .await;
    let editor_key = app.api_key(&editor).await;
    let response = app
        .api()
        .put(app.url("/api/v1/workspace/policy"))
        .bearer_auth(&editor_key)
        .json(&policy(true, None, false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "only admins set the policy");
    let suspend = app
        .api()
        .post(app.url("/api/v1/workspace/suspend"))
        .bearer_auth(&editor_key)
        .send()
        .await
        .unwrap();
    assert_eq!(suspend.status(), 403);
});

both_stores!(link_settings_are_checked_against_the_dashboard, async {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &key).await;
    for body in [
        serde_json::json!({ "dashboard_id": dashboard, "label": "A", "widget_id": "nope" }),
        serde_json::json!({ "dashboard_id": dashboard, "label": "A", "locked_filters": { "colour": "red" } }),
        serde_json::json!({ "dashboard_id": dashboard, "label": "A", "locked_filters": { "region": { "min": 1 } } }),
        serde_json::json!({ "dashboard_id": dashboard, "label": "A", "open_filters": ["colour"] }),
        serde_json::json!({ "dashboard_id": dashboard, "label": "  " }),
    ] {
        assert_eq!(
            create(&app, &key, body.clone()).await.status(),
            400,
            "{body}"
        );
    }
    assert_eq!(
        create(
            &app,
            &key,
            serde_json::json!({ "dashboard_id": 999999, "label": "A" })
        )
        .await
        .status(),
        404
    );
    let widget = create(&app, &key, serde_json::json!({ "dashboard_id": dashboard, "label": "Chart only", "widget_id": "by-plan" })).await;
    assert_eq!(widget.status(), 201);
});
