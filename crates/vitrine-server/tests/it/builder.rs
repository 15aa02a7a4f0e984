//! The visual builder's API: choices, previews, dataset runs and users, document checks,
//! starters, and the revision check a builder save meets.

use serde_json::{Value, json};
use vitrine_core::member::Role;

use crate::data_sources::lent;
use crate::helpers::{TestApp, hidden_field};

/// An editor's API key, and the ids of a data source and an `orders` dataset over a small
/// warehouse.
pub(crate) async fn orders(app: &TestApp) -> (String, i64, i64) {
    let path = app.dir.path().join("warehouse.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for statement in [
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, plan TEXT, region TEXT, amount REAL, ordered_at DATE)",
        "INSERT INTO orders (plan, region, amount, ordered_at) VALUES \
         ('Starter', 'EMEA', 10, '2026-11-01'), ('Growth', 'AMER', 20, '2026-11-02'), \
         ('Growth', 'EMEA', 30, '2026-11-03'), ('Scale', 'APAC', 70, '2026-10-03')",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let editor = app.member("ed@example.com", Role::Editor, lent()).await;
    let key = app.api_key(&editor).await;
    let source = send(
        app,
        &key,
        "POST",
        "/api/v1/data-sources",
        json!({ "name": "Warehouse", "kind": "sqlite", "location": path.display().to_string() }),
    )
    .await;
    assert_eq!(source.0, 201, "{}", source.1);
    let source_id = source.1["id"].as_i64().unwrap();
    let dataset = send(
        app,
        &key,
        "POST",
        "/api/v1/datasets",
        json!({ "data_source_id": source_id, "slug": "orders", "name": "Orders",
                "sql": "SELECT plan, region, amount, ordered_at FROM orders" }),
    )
    .await;
    assert_eq!(dataset.0, 201, "{}", dataset.1);
    (key, source_id, dataset.1["id"].as_i64().unwrap())
}

pub(crate) async fn send(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let request = match method {
        "GET" => app.api().get(app.url(path)),
        "PUT" => app.api().put(app.url(path)).json(&body),
        _ => app.api().post(app.url(path)).json(&body),
    };
    let response = request.bearer_auth(key).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn table_by_region(filters: Value) -> Value {
    json!({
        "version": 1, "title": "Draft", "filters": filters,
        "widgets": [{
            "id": "by-region", "title": "Orders by region", "kind": "table",
            "layout": { "x": 0, "y": 0, "w": 6, "h": 4 },
            "query": { "dataset": "orders", "dimensions": [{ "column": "region" }],
                       "measures": [{ "agg": "sum", "column": "amount", "name": "revenue" }] }
        }]
    })
}

#[tokio::test]
async fn choices_offer_sums_over_numbers_and_buckets_over_dates_only() {
    let app = TestApp::spawn().await;
    let (key, _, dataset) = orders(&app).await;
    let (status, choices) = send(
        &app,
        &key,
        "GET",
        &format!("/api/v1/datasets/{dataset}/choices"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{choices}");
    let column = |name: &str| {
        choices["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert!(
        column("amount")["aggregates"]
            .as_array()
            .unwrap()
            .contains(&json!("sum"))
    );
    assert!(
        !column("plan")["aggregates"]
            .as_array()
            .unwrap()
            .contains(&json!("sum"))
    );
    assert_eq!(column("plan")["buckets"], json!([]));
    assert!(
        column("ordered_at")["buckets"]
            .as_array()
            .unwrap()
            .contains(&json!("month"))
    );
    let bar = choices["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "bar")
        .unwrap();
    assert_eq!(bar["min_dimensions"], 1);
    assert_eq!(bar["options"], json!(["orientation", "stacking"]));

    let (status, _) = send(
        &app,
        &key,
        "GET",
        "/api/v1/datasets/999/choices",
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_preview_draws_real_data_and_a_filter_default_restricts_it() {
    let app = TestApp::spawn().await;
    let (key, _, _) = orders(&app).await;
    let (status, all) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/preview",
        json!({ "document": table_by_region(json!([])), "widget": "by-region" }),
    )
    .await;
    assert_eq!(status, 200, "{all}");
    let html = all["html"].as_str().unwrap();
    assert!(html.contains("AMER") && html.contains("EMEA"), "{html}");
    assert!(all["error_code"].is_null());

    let filter = json!([{ "id": "region", "label": "Region", "kind": "single_select",
                          "columns": { "orders": "region" }, "default": "EMEA" }]);
    let (status, restricted) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/preview",
        json!({ "document": table_by_region(filter), "widget": "by-region" }),
    )
    .await;
    assert_eq!(status, 200, "{restricted}");
    let html = restricted["html"].as_str().unwrap();
    assert!(html.contains("EMEA") && !html.contains("AMER"), "{html}");
}

#[tokio::test]
async fn an_invalid_preview_is_refused_with_the_yaml_paths_message() {
    let app = TestApp::spawn().await;
    let (key, _, _) = orders(&app).await;
    let mut doc = table_by_region(json!([]));
    doc["widgets"][0]["query"]["measures"][0]["column"] = json!("plan");
    let (status, body) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/preview",
        json!({ "document": doc, "widget": "by-region" }),
    )
    .await;
    assert_eq!(status, 400);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`sum` needs a numeric column"),
        "{message}"
    );
    // SQL in a column name is only ever an unknown column.
    let mut doc = table_by_region(json!([]));
    doc["widgets"][0]["query"]["dimensions"][0]["column"] = json!("region; DROP TABLE orders");
    let (status, body) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/preview",
        json!({ "document": doc, "widget": "by-region" }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown column")
    );
    for bad in [
        json!({ "document": 1, "widget": "x" }),
        json!({ "widget": "x" }),
    ] {
        let (status, body) = send(&app, &key, "POST", "/api/v1/builder/preview", bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"]["code"].is_string());
    }
}

#[tokio::test]
async fn a_dataset_run_shows_columns_rows_and_a_bad_query_in_plain_words() {
    let app = TestApp::spawn().await;
    let (key, source, _) = orders(&app).await;
    let (status, run) = send(
        &app,
        &key,
        "POST",
        "/api/v1/datasets/run",
        json!({ "data_source_id": source, "sql": "SELECT plan, amount FROM orders ORDER BY amount" }),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["columns"][0], json!({ "name": "plan", "kind": "text" }));
    assert_eq!(run["columns"][1]["kind"], "number");
    assert_eq!(run["rows"].as_array().unwrap().len(), 4);
    assert_eq!(run["rows"][0], json!(["Starter", 10.0]));
    assert_eq!(run["truncated"], false);

    let (status, body) = send(
        &app,
        &key,
        "POST",
        "/api/v1/datasets/run",
        json!({ "data_source_id": source, "sql": "SELECT plan, amout FROM orders" }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "The query names a column `amout` that its tables do not have."
    );
    assert_eq!(body["error"]["field"], "sql");
    let (status, body) = send(
        &app,
        &key,
        "POST",
        "/api/v1/datasets/run",
        json!({ "data_source_id": source, "sql": "DELETE FROM orders" }),
    )
    .await;
    assert_eq!(status, 400, "read-only: {body}");
    let (status, run) = send(
        &app,
        &key,
        "POST",
        "/api/v1/datasets/run",
        json!({ "data_source_id": source, "sql": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT i FROM n" }),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["rows"].as_array().unwrap().len(), 50, "row-capped");
    assert_eq!(run["truncated"], true);
}

#[tokio::test]
async fn used_by_names_the_dashboards_that_use_a_dataset() {
    let app = TestApp::spawn().await;
    let (key, _, dataset) = orders(&app).await;
    let path = format!("/api/v1/datasets/{dataset}/used-by");
    assert_eq!(
        send(&app, &key, "GET", &path, Value::Null).await.1,
        json!([])
    );
    let (status, _) = send(
        &app,
        &key,
        "POST",
        "/api/v1/dashboards",
        json!({ "document": table_by_region(json!([])) }),
    )
    .await;
    assert_eq!(status, 201);
    let (_, users) = send(&app, &key, "GET", &path, Value::Null).await;
    assert_eq!(users[0]["title"], "Draft");
}

#[tokio::test]
async fn a_checked_document_comes_back_in_both_forms_with_its_leading_comments() {
    let app = TestApp::spawn().await;
    let (key, _, dataset) = orders(&app).await;
    let previous = "# Board pack, owned by finance\nversion: 1\ntitle: Old\n";
    let (status, checked) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/check",
        json!({ "document": table_by_region(json!([])), "previous_yaml": previous }),
    )
    .await;
    assert_eq!(status, 200, "{checked}");
    let yaml = checked["yaml"].as_str().unwrap();
    assert!(
        yaml.starts_with("# Board pack, owned by finance\n"),
        "{yaml}"
    );
    let (status, back) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/check",
        json!({ "yaml": yaml }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(back["document"], checked["document"]);
    let (status, bad) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/check",
        json!({ "yaml": "version: 1\ntitle: T\nwidgets:\n  - id: a\n    kind: bar\n    layout: {x: 0, y: 0, w: 4, h: 2}\n    query: {dataset: orders, dimensions: [{column: nope}], measures: [{agg: count}]}\n" }),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("line 7"),
        "{bad}"
    );

    let (status, starter) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/starter",
        json!({ "title": "Orders", "dataset_id": dataset }),
    )
    .await;
    assert_eq!(status, 200, "{starter}");
    let kinds: Vec<&str> = starter["document"]["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["kpi", "line", "bar", "table"]);
    let (status, _) = send(
        &app,
        &key,
        "POST",
        "/api/v1/dashboards",
        json!({ "yaml": starter["yaml"] }),
    )
    .await;
    assert_eq!(status, 201, "a starter saves as it is");
}

#[tokio::test]
async fn a_second_member_saving_an_older_revision_is_told_and_nothing_is_overwritten() {
    let app = TestApp::spawn().await;
    let (key, _, _) = orders(&app).await;
    let other = app.member("other@example.com", Role::Editor, lent()).await;
    let other_key = app.api_key(&other).await;
    let (_, created) = send(
        &app,
        &key,
        "POST",
        "/api/v1/dashboards",
        json!({ "document": table_by_region(json!([])) }),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    // Both open revision 1; the first saves.
    let mut first = table_by_region(json!([]));
    first["title"] = json!("First edit");
    let (status, _) = send(
        &app,
        &key,
        "PUT",
        &format!("/api/v1/dashboards/{id}"),
        json!({ "document": first, "revision": 1 }),
    )
    .await;
    assert_eq!(status, 200);
    let mut second = table_by_region(json!([]));
    second["title"] = json!("Second edit");
    let (status, body) = send(
        &app,
        &other_key,
        "PUT",
        &format!("/api/v1/dashboards/{id}"),
        json!({ "document": second, "revision": 1 }),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "conflict");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Someone else saved this dashboard")
            && message.contains("revision 1, it is now at revision 2"),
        "{message}"
    );
    let (_, now) = send(
        &app,
        &key,
        "GET",
        &format!("/api/v1/dashboards/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(now["title"], "First edit", "nothing overwritten");

    // The same through the edit page's form: 409, the member's text kept, the reason shown.
    let (client, csrf) = app.signed_in("other@example.com").await;
    let page = client
        .get(app.url(&format!("/dashboards/{id}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let opened = hidden_field(&page, "revision").unwrap();
    assert_eq!(opened, "2");
    let (status, _) = send(
        &app,
        &key,
        "PUT",
        &format!("/api/v1/dashboards/{id}"),
        json!({ "document": table_by_region(json!([])), "revision": 2 }),
    )
    .await;
    assert_eq!(status, 200);
    let response = client
        .post(app.url(&format!("/dashboards/{id}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("revision", opened.as_str()),
            ("slug", ""),
            ("yaml", "version: 1\ntitle: Mine\n"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    assert!(html.contains("Someone else saved this dashboard"), "{html}");
    assert!(html.contains("title: Mine"), "the member's text is kept");
    let (_, now) = send(
        &app,
        &key,
        "GET",
        &format!("/api/v1/dashboards/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(now["title"], "Draft");
}

#[tokio::test]
async fn viewers_use_no_builder_route_and_script_in_a_title_stays_text() {
    let app = TestApp::spawn().await;
    let (key, source, dataset) = orders(&app).await;
    let viewer = app
        .member("viewer@example.com", Role::Viewer, Default::default())
        .await;
    let viewer_key = app.api_key(&viewer).await;
    for (method, path, body) in [
        (
            "GET",
            format!("/api/v1/datasets/{dataset}/choices"),
            Value::Null,
        ),
        (
            "GET",
            format!("/api/v1/datasets/{dataset}/used-by"),
            Value::Null,
        ),
        (
            "POST",
            "/api/v1/datasets/run".to_owned(),
            json!({ "data_source_id": source, "sql": "SELECT 1 AS one" }),
        ),
        (
            "POST",
            "/api/v1/builder/preview".to_owned(),
            json!({ "document": table_by_region(json!([])), "widget": "by-region" }),
        ),
        (
            "POST",
            "/api/v1/builder/check".to_owned(),
            json!({ "yaml": "version: 1\ntitle: T\n" }),
        ),
        (
            "POST",
            "/api/v1/builder/starter".to_owned(),
            json!({ "title": "T", "dataset_id": dataset }),
        ),
    ] {
        let (status, body) = send(&app, &viewer_key, method, &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }

    let mut doc = table_by_region(json!([]));
    doc["widgets"][0]["title"] = json!("<script>alert(1)</script>");
    doc["widgets"][0]["kind"] = json!("bar");
    let (status, preview) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/preview",
        json!({ "document": doc, "widget": "by-region" }),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let svg = preview["svg"].as_str().unwrap();
    assert!(!svg.contains("<script"), "{svg}");
}

/// Several members saving from the same revision at once: exactly one wins, every other one
/// is told (409), on `app`'s store.
async fn concurrent_saves_from_one_revision(app: &TestApp) {
    let (key, _, _) = orders(app).await;
    let (status, created) = send(
        app,
        &key,
        "POST",
        "/api/v1/dashboards",
        json!({ "document": table_by_region(json!([])) }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let saves = (0..6).map(|i| {
        let key = key.clone();
        async move {
            let mut doc = table_by_region(json!([]));
            doc["title"] = json!(format!("Edit {i}"));
            send(
                app,
                &key,
                "PUT",
                &format!("/api/v1/dashboards/{id}"),
                json!({ "document": doc, "revision": 1 }),
            )
            .await
        }
    });
    let outcomes = futures_util::future::join_all(saves).await;
    let won: Vec<_> = outcomes.iter().filter(|(s, _)| *s == 200).collect();
    let told = outcomes.iter().filter(|(s, b)| {
        *s == 409
            && b["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Someone else saved this dashboard"))
    });
    assert_eq!(won.len(), 1, "{outcomes:?}");
    assert_eq!(told.count(), 5, "{outcomes:?}");
    let (_, now) = send(
        app,
        &key,
        "GET",
        &format!("/api/v1/dashboards/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(now["revision"], 2);
    assert_eq!(
        now["title"], won[0].1["title"],
        "the winner's edit, and only it"
    );
}

#[tokio::test]
async fn concurrent_saves_from_one_revision_let_exactly_one_win() {
    let app = TestApp::spawn().await;
    concurrent_saves_from_one_revision(&app).await;
}

#[tokio::test]
async fn concurrent_saves_from_one_revision_let_exactly_one_win_on_postgres() {
    let Some(pg) = crate::helpers::PgDatabase::create("builder::concurrent_saves").await else {
        return;
    };
    let url = pg.url.clone();
    let app = TestApp::spawn_with(move |config| config.database_url = Some(url)).await;
    concurrent_saves_from_one_revision(&app).await;
    drop(app);
    pg.drop_now().await;
}
