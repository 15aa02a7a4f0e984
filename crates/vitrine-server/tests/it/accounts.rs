//! Members and API keys: who may do what, and what the store keeps.

use vitrine_core::member::{Permissions, Role};

use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn api_keys_authenticate_until_revoked_and_record_their_use() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    assert!(key.starts_with("vtk_"));
    let me = app
        .api()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap()["email"],
        "admin@example.com"
    );

    let listed: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/api-keys"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed[0]["last_used_at"].is_string(), "{listed}");
    assert_eq!(listed[0]["prefix"], &key[..12]);
    assert!(
        !listed.to_string().contains(&key),
        "the key is never listed"
    );

    let id = listed[0]["id"].as_i64().unwrap();
    let revoked = app
        .api()
        .delete(app.url(&format!("/api/v1/api-keys/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let after = app
        .api()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    let forged = app
        .api()
        .get(app.url("/api/v1/me"))
        .bearer_auth("vtk_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let anonymous = app.api().get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );
}

#[tokio::test]
async fn the_store_holds_no_plaintext_password_or_api_key() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let (client, csrf) = app.signed_in("admin@example.com").await;
    let created: serde_json::Value = client
        .post(app.url("/api/v1/members"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({ "email": "dan@example.com", "role": "editor" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let one_time = created["one_time_password"].as_str().unwrap().to_owned();

    let pool = app.raw_sqlite().await;
    let mut dump = String::new();
    for table in [
        "members",
        "api_keys",
        "sessions",
        "attempts",
        "audit_events",
    ] {
        let rows: Vec<sqlx::sqlite::SqliteRow> =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
                .fetch_all(&pool)
                .await
                .unwrap();
        for row in rows {
            use sqlx::Row as _;
            for i in 0..row.len() {
                if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                    dump.push_str(&text);
                    dump.push('\n');
                }
            }
        }
    }
    assert!(dump.contains("$argon2id$"), "password hashes are Argon2id");
    for secret in [
        PASSWORD,
        one_time.as_str(),
        key.as_str(),
        &key[12..],
        csrf.as_str(),
    ] {
        assert!(!dump.contains(secret), "the store holds a secret: {secret}");
    }
    assert!(
        !dump.contains("10.0.0.1"),
        "client addresses are stored only as keyed hashes"
    );
}

#[tokio::test]
async fn a_viewer_reaches_no_admin_page_or_call() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let viewer = app
        .member("vic@example.com", Role::Viewer, Permissions::ALL)
        .await;
    let key = app.api_key(&viewer).await;
    let (client, csrf) = app.signed_in("vic@example.com").await;
    for path in ["/members", "/audit"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Not allowed"), "{path}: a page, not JSON");
    }
    let home = client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !home.contains("href=\"/members\""),
        "no link to what a viewer cannot open"
    );
    let response = client
        .post(app.url("/members"))
        .form(&[
            ("email", "x@example.com"),
            ("role", "admin"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let invite = serde_json::json!({ "email": "x@example.com", "role": "admin" });
    let access = serde_json::json!({ "role": "viewer" });
    let none = serde_json::json!({});
    for (method, path, body) in [
        ("GET", "/api/v1/members", &none),
        ("POST", "/api/v1/members", &invite),
        ("PATCH", "/api/v1/members/1", &access),
        ("DELETE", "/api/v1/members/1", &none),
        ("POST", "/api/v1/members/1/reset-password", &none),
        ("GET", "/api/v1/audit-events", &none),
    ] {
        let response = app
            .api()
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(&key)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
    }
    assert!(
        app.state
            .store
            .member_by_email("x@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_editor_cannot_manage_members_unless_granted_and_never_creates_admins() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let editor = app
        .member("ed@example.com", Role::Editor, Permissions::default())
        .await;
    let key = app.api_key(&editor).await;
    let invite =
        |role: &str| serde_json::json!({ "email": format!("{role}@example.com"), "role": role });
    let response = app
        .api()
        .post(app.url("/api/v1/members"))
        .bearer_auth(&key)
        .json(&invite("viewer"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    let manager = app
        .member(
            "mia@example.com",
            Role::Editor,
            Permissions {
                manage_members: true,
                ..Permissions::default()
            },
        )
        .await;
    let key = app.api_key(&manager).await;
    let response = app
        .api()
        .post(app.url("/api/v1/members"))
        .bearer_auth(&key)
        .json(&invite("viewer"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let response = app
        .api()
        .post(app.url("/api/v1/members"))
        .bearer_auth(&key)
        .json(&invite("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let admin_id = app
        .state
        .store
        .member_by_email("admin@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let response = app
        .api()
        .delete(app.url(&format!("/api/v1/members/{admin_id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "a manager cannot remove an admin");
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_or_removed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let response = app
        .api()
        .patch(app.url(&format!("/api/v1/members/{}", admin.id)))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "role": "editor" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at least one admin")
    );
    let events: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/audit-events"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "api_key.created")
    );
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] != "member.access_changed")
    );
}

#[tokio::test]
async fn script_in_a_member_name_is_escaped() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let (client, csrf) = app.signed_in("admin@example.com").await;
    let response = client
        .post(app.url("/members"))
        .form(&[
            ("email", "eve@example.com"),
            ("name", "<script>alert(1)</script>"),
            ("role", "viewer"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = client
        .get(app.url("/members"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.contains("&lt;script&gt;"),
        "{page}"
    );
}

#[tokio::test]
async fn internal_errors_reveal_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    app.state.store.close().await;
    let response = app
        .api()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_server_error(), "{}", response.status());
    let body = response.text().await.unwrap().to_lowercase();
    for leak in ["sqlx", "sqlite", "pool", "closed", "select", ".db", "/tmp"] {
        assert!(!body.contains(leak), "{leak} leaked: {body}");
    }
    let ready = app.api().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}
