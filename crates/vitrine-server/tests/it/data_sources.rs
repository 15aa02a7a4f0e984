//! Data sources reach no further than the server allows (issue 10, finding 6): SQLite files
//! only inside `data.sqlite_roots` and never Vitrine's own store, in any spelling; server URLs
//! without sockets or file-reading parameters; choosing a location is the
//! `manage_data_sources` permission; and no password ever shows.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use vitrine_core::member::{Permissions, Role};

use crate::helpers::{TestApp, hidden_field};

/// The flags of an editor an admin allowed to manage data sources, which connecting a
/// database takes.
pub(crate) fn lent() -> Permissions {
    Permissions {
        manage_data_sources: true,
        ..Permissions::default()
    }
}

/// A small SQLite database at `path`.
async fn sqlite_file(path: &Path) {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE t (x INTEGER)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// Posts a new data source (each under a name of its own: names are unique).
async fn create(app: &TestApp, key: &str, kind: &str, location: &str) -> reqwest::Response {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let name = format!("Source {}", COUNT.fetch_add(1, Ordering::Relaxed));
    app.api()
        .post(app.url("/api/v1/data-sources"))
        .bearer_auth(key)
        .json(&json!({ "name": name, "kind": kind, "location": location }))
        .send()
        .await
        .unwrap()
}

/// Posts `(kind, location)` and expects a 400 whose message contains `says`.
async fn refused(app: &TestApp, key: &str, kind: &str, location: &str, says: &str) {
    let response = create(app, key, kind, location).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 400, "{location} was accepted: {body}");
    assert!(body.contains(says), "{location}: {body}");
}

/// The store written `sqlite:/abs/path` — a spelling sqlx accepts and the old guard missed.
async fn app_with_store_spelled_sqlite_colon_slash() -> (TestApp, PathBuf) {
    let app = TestApp::spawn_with(|config| {
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let store = config.data_dir.join("vitrine.db");
        config.database_url = Some(format!("sqlite:{}", store.display()));
    })
    .await;
    let store = app.dir.path().join("data/vitrine.db");
    (app, store)
}

#[tokio::test]
async fn an_editor_cannot_point_a_data_source_at_vitrine_own_store_in_any_spelling() {
    let (app, store) = app_with_store_spelled_sqlite_colon_slash().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    let key = app.api_key(&editor).await;
    let s = store.display().to_string();
    let link = app.dir.path().join("innocent.db");
    std::os::unix::fs::symlink(&store, &link).unwrap();
    let own = "Vitrine's own database cannot be a data source.";
    for location in [
        s.clone(),
        format!("sqlite:{s}"),
        format!("sqlite://{s}"),
        format!("sqlite://{s}?mode=ro"),
        format!("sqlite:{s}?mode=ro&immutable=1"),
        format!("file:{s}"),
        format!("file://{s}"),
        format!("file://localhost{s}?mode=ro"),
        format!("{}/data/../data/./vitrine.db", app.dir.path().display()),
        format!("sqlite://{}", s.replace("vitrine.db", "vitrine%2Edb")),
        link.display().to_string(),
        format!("{s}-wal"),
        format!("{s}-shm"),
    ] {
        refused(&app, &key, "sqlite", &location, own).await;
    }
}

#[tokio::test]
async fn an_editor_reaches_no_sqlite_file_outside_the_allowed_folders() {
    let app = TestApp::spawn().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    let key = app.api_key(&editor).await;
    // A real SQLite file beside the app's folder (the allowed root), not inside it.
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = elsewhere.path().join("secret.db");
    sqlite_file(&secret).await;
    let sibling = elsewhere.path().file_name().unwrap().to_str().unwrap();
    let link = app.dir.path().join("looks-inside.db");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let nowhere = "There is no SQLite file at that path in the folders this server allows.";
    for location in [
        secret.display().to_string(),
        format!("sqlite://{}", secret.display()),
        format!("{}/../{sibling}/secret.db", app.dir.path().display()),
        link.display().to_string(),
        "/etc/passwd".to_owned(),
    ] {
        refused(&app, &key, "sqlite", &location, nowhere).await;
    }
    // Inside the root, the same file is fine.
    let inside = app.dir.path().join("reports.db");
    sqlite_file(&inside).await;
    let response = create(&app, &key, "sqlite", &inside.display().to_string()).await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn server_urls_with_sockets_or_file_parameters_are_refused_naming_them() {
    let app = TestApp::spawn().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    let key = app.api_key(&editor).await;
    let store = app.dir.path().join("data/vitrine.db");
    for (location, says) in [
        (
            "postgres://postgres@127.0.0.1:5432/test?host=/var/run/postgresql".to_owned(),
            "`host`",
        ),
        (
            format!(
                "postgres://postgres@127.0.0.1:5432/test?sslkey={}",
                store.display()
            ),
            "`sslkey`",
        ),
        (
            "postgres://postgres@127.0.0.1:5432/test?sslmode=verify-ca&sslrootcert=/etc/passwd"
                .to_owned(),
            "`sslrootcert`",
        ),
        (
            "postgres://%2Fvar%2Frun%2Fpostgresql/test".to_owned(),
            "Unix sockets are not allowed",
        ),
        (
            "mysql://root@127.0.0.1:3306/test?socket=/run/mysqld/mysqld.sock".to_owned(),
            "Unix sockets are not allowed",
        ),
    ] {
        let kind = if location.starts_with("mysql") {
            "mysql"
        } else {
            "postgres"
        };
        refused(&app, &key, kind, &location, says).await;
    }
}

#[tokio::test]
async fn an_editor_without_manage_data_sources_gets_403_on_the_page_and_the_api() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    let editor = app
        .member("ed@example.com", Role::Editor, Permissions::default())
        .await;
    let key = app.api_key(&editor).await;
    let warehouse = app.dir.path().join("warehouse.db");
    sqlite_file(&warehouse).await;
    let location = warehouse.display().to_string();

    assert_eq!(create(&app, &key, "sqlite", &location).await.status(), 403);
    let created = create(&app, &admin_key, "sqlite", &location).await;
    assert_eq!(created.status(), 201, "admins always may");
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let api = app.api();
    let put = api
        .put(app.url(&format!("/api/v1/data-sources/{id}")))
        .bearer_auth(&key)
        .json(&json!({ "name": "Moved", "kind": "sqlite", "location": location }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 403);
    let delete = api
        .delete(app.url(&format!("/api/v1/data-sources/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 403);
    // Reading, and testing a saved source, stay open to editors: they build datasets on them.
    let listed = api
        .get(app.url("/api/v1/data-sources"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let test = api
        .post(app.url(&format!("/api/v1/data-sources/{id}/test")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(test.status(), 200);

    // The page shows no form to such an editor, and refuses the post anyway.
    let (browser, csrf) = app.signed_in("ed@example.com").await;
    let page = browser
        .get(app.url("/data-sources"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("action=\"/data-sources\""), "{page}");
    assert!(!page.contains("/delete\""), "{page}");
    assert!(page.contains("data-no-manage"), "{page}");
    let posted = browser
        .post(app.url("/data-sources"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Mine"),
            ("kind", "sqlite"),
            ("location", location.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 403);
    let removed = browser
        .post(app.url(&format!("/data-sources/{id}/delete")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 403);

    // An admin lends the permission (the members API); then the editor may.
    let granted = api
        .patch(app.url(&format!("/api/v1/members/{}", editor.id)))
        .bearer_auth(&admin_key)
        .json(&json!({ "permissions": { "manage_data_sources": true } }))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    let shown = granted.json::<serde_json::Value>().await.unwrap();
    assert_eq!(shown["flags"]["manage_data_sources"], true, "{shown}");
    assert_eq!(create(&app, &key, "sqlite", &location).await.status(), 201);
    let page = browser
        .get(app.url("/data-sources"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("action=\"/data-sources\""), "{page}");
}

#[tokio::test]
async fn only_an_admin_can_lend_manage_data_sources_on_the_members_page() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let manager = Permissions {
        manage_members: true,
        ..Permissions::default()
    };
    app.member("mm@example.com", Role::Editor, manager).await;
    let ed = app
        .member("ed@example.com", Role::Editor, Permissions::default())
        .await;

    let (admin, csrf) = app.signed_in("admin@example.com").await;
    let page = admin
        .get(app.url("/members"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"manage_data_sources\""), "{page}");
    let saved = admin
        .post(app.url(&format!("/members/{}", ed.id)))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("role", "editor"),
            ("manage_data_sources", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let stored = app.state.store.member(ed.id).await.unwrap().unwrap();
    assert!(stored.flags.manage_data_sources);

    // A member manager sees no such box and cannot send one.
    let (mm, csrf) = app.signed_in("mm@example.com").await;
    let page = mm
        .get(app.url("/members"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("name=\"manage_data_sources\""), "{page}");
    let other = app
        .member("new@example.com", Role::Editor, Permissions::default())
        .await;
    let sneaked = mm
        .post(app.url(&format!("/members/{}", other.id)))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("role", "editor"),
            ("manage_data_sources", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sneaked.status(), 400);
    let stored = app.state.store.member(other.id).await.unwrap().unwrap();
    assert!(!stored.flags.manage_data_sources);
}

/// Everything the process logs while it lives, for tests that look for leaks in log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn a_password_in_the_url_query_shows_nowhere() {
    let Some(url) = crate::helpers::postgres_url("a_password_in_the_url_query_shows_nowhere")
    else {
        return;
    };
    // The test runs on one thread, and so does the server it spawns: a thread-local
    // subscriber sees the server's log lines.
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::spawn().await;
    app.admin().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    let key = app.api_key(&editor).await;
    // Trust authentication ignores the password, which lets the test see where it goes.
    let separator = if url.contains('?') { '&' } else { '?' };
    let location = format!("{url}{separator}sslmode=prefer&password=s3cret");
    let created = create(&app, &key, "postgres", &location).await;
    assert_eq!(created.status(), 201);
    let body = created.text().await.unwrap();
    assert!(body.contains("sslmode=prefer"), "{body}");
    // And a location that does not connect: the error names no password either.
    let failed = create(&app, &key, "postgres", "postgres://u@h/db?password=s3cret").await;
    assert_eq!(failed.status(), 400);
    let failed = failed.text().await.unwrap();

    let api = app.api();
    let listed = api
        .get(app.url("/api/v1/data-sources"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (admin, csrf) = app.signed_in("admin@example.com").await;
    let page = admin
        .get(app.url("/data-sources"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("sslmode=prefer"), "{page}");
    let retry = admin
        .post(app.url("/data-sources"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Again"),
            ("kind", "postgres"),
            ("location", "postgres://u@h/db?password=s3cret"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(hidden_field(&retry, "csrf_token").is_some(), "{retry}");
    let admin_key = {
        let admin = app
            .state
            .store
            .member_by_email("admin@example.com")
            .await
            .unwrap()
            .unwrap();
        app.api_key(&admin).await
    };
    let audit = api
        .get(app.url("/api/v1/audit-events"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("data_source.created"), "{audit}");
    let logged = log.text();
    assert!(logged.contains("data source saved"), "{logged}");
    for (place, text) in [
        ("the API's answer", &body),
        ("the refusal", &failed),
        ("the API's list", &listed),
        ("the page", &page),
        ("the page after a refused post", &retry),
        ("the audit trail", &audit),
        ("the log", &logged),
    ] {
        assert!(
            !text.contains("s3cret"),
            "{place} shows the password: {text}"
        );
    }
}
