//! The visual builder's API: choices, previews, dataset runs and users, document checks,
//! starters, and the revision check a builder save meets.

use serde_json::{Value, json};
use vitrine_core::member::Role;

use crate::data_sources::lent;
use crate::helpers::TestApp;

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
        json!({ "dashboards": [], "hidden": 0 })
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
    assert_eq!(users["dashboards"][0]["title"], "Draft");
    assert_eq!(users["hidden"], 0);
}

/// A restricted dashboard an editor was not given is counted, never named: not by the API,
/// not on the datasets page, not in the refusal to delete the dataset.
#[tokio::test]
async fn used_by_counts_the_restricted_dashboards_an_editor_cannot_see_without_naming_them() {
    let app = TestApp::spawn().await;
    let (key, _, dataset) = orders(&app).await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    let mut secret = table_by_region(json!([]));
    secret["title"] = json!("Secret merger board");
    for doc in [table_by_region(json!([])), secret] {
        let (status, body) = send(
            &app,
            &admin_key,
            "POST",
            "/api/v1/dashboards",
            json!({ "document": doc }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        if doc["title"] == "Secret merger board" {
            let id = body["id"].as_i64().unwrap();
            let (status, _) = send(
                &app,
                &admin_key,
                "PUT",
                &format!("/api/v1/dashboards/{id}/audience"),
                json!({ "restricted": true }),
            )
            .await;
            assert_eq!(status, 200);
        }
    }
    let path = format!("/api/v1/datasets/{dataset}/used-by");
    let (status, users) = send(&app, &key, "GET", &path, Value::Null).await;
    assert_eq!(status, 200, "{users}");
    assert_eq!(users["hidden"], 1, "{users}");
    assert_eq!(users["dashboards"].as_array().unwrap().len(), 1, "{users}");
    assert!(!users.to_string().contains("Secret"), "{users}");
    // The admin sees both.
    let (_, all) = send(&app, &admin_key, "GET", &path, Value::Null).await;
    assert_eq!(all["hidden"], 0);
    assert_eq!(all["dashboards"].as_array().unwrap().len(), 2, "{all}");

    let editor = app
        .state
        .store
        .member_by_email("ed@example.com")
        .await
        .unwrap()
        .unwrap();
    let (browser, csrf) = app.signed_in(&editor.email).await;
    for page in ["/datasets".to_owned(), format!("/datasets/{dataset}")] {
        let html = browser
            .get(app.url(&page))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("Secret merger board"), "{page}: {html}");
        assert!(html.contains("and 1 you cannot see"), "{page}: {html}");
    }
    let refused = browser
        .post(app.url(&format!("/datasets/{dataset}/delete")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!refused.contains("Secret merger board"), "{refused}");
}

/// A preview goes through the runner's result cache (a second identical preview runs no
/// query) and its row cap (too many rows: the first ones, and the widget says the limit was
/// reached).
#[tokio::test]
async fn a_second_identical_preview_is_a_cache_hit_and_the_row_cap_holds() {
    let app = TestApp::spawn_with(|c| {
        c.data.row_cap = 2;
        c.metrics.token = Some("metrics-token".to_owned());
    })
    .await;
    let (key, _, _) = orders(&app).await;
    let mut small = table_by_region(json!([]));
    small["widgets"][0]["query"]["limit"] = json!(2);
    let preview = |doc: Value| {
        send(
            &app,
            &key,
            "POST",
            "/api/v1/builder/preview",
            json!({ "document": doc, "widget": "by-region" }),
        )
    };
    let before = app.state.runner.queries_run();
    let (status, first) = preview(small.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert!(first["error_code"].is_null(), "{first}");
    assert_eq!(app.state.runner.queries_run(), before + 1);
    let (_, second) = preview(small.clone()).await;
    assert_eq!(second["html"], first["html"]);
    assert_eq!(
        app.state.runner.queries_run(),
        before + 1,
        "the second preview is answered from the cache"
    );
    let metrics = app
        .api()
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hits: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("vitrine_result_cache_hits_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(hits >= 1.0, "{metrics}");

    assert!(
        !first["html"]
            .as_str()
            .unwrap()
            .contains("row limit reached"),
        "{first}"
    );

    // Three regions, a cap of two rows: the first two are drawn, and the widget says so (the
    // row cap keeps the first rows and reads no more; see `data.row_cap`).
    let (status, capped) = preview(table_by_region(json!([]))).await;
    assert_eq!(status, 200, "{capped}");
    assert!(capped["error_code"].is_null(), "{capped}");
    let html = capped["html"].as_str().unwrap();
    assert!(html.contains("data-rows=\"2\""), "{html}");
    assert!(html.contains("AMER") && !html.contains("EMEA"), "{html}");
    assert!(html.contains("(row limit reached)"), "{html}");
    assert!(
        capped["svg"]
            .as_str()
            .unwrap()
            .contains("Showing 2 of the first 2 rows (row limit reached)"),
        "{capped}"
    );
}

/// The builder opens to viewers given one dashboard to edit, who often have data rules: a
/// preview shows the caller's own rows only, as every page they view does.
#[tokio::test]
async fn a_preview_applies_the_callers_own_data_rules() {
    let app = TestApp::spawn().await;
    let (key, _, _) = orders(&app).await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    let editor = app
        .state
        .store
        .member_by_email("ed@example.com")
        .await
        .unwrap()
        .unwrap();
    let (status, rule) = send(
        &app,
        &admin_key,
        "POST",
        "/api/v1/data-rules",
        json!({ "member_id": editor.id.0, "rule": { "column": "region", "op": "=", "value": "EMEA" } }),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {rule}");
    let (status, preview) = send(
        &app,
        &key,
        "POST",
        "/api/v1/builder/preview",
        json!({ "document": table_by_region(json!([])), "widget": "by-region" }),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let html = preview["html"].as_str().unwrap();
    assert!(html.contains("EMEA") && !html.contains("AMER"), "{html}");
    // The admin, without rules, sees every region.
    let (_, all) = send(
        &app,
        &admin_key,
        "POST",
        "/api/v1/builder/preview",
        json!({ "document": table_by_region(json!([])), "widget": "by-region" }),
    )
    .await;
    assert!(all["html"].as_str().unwrap().contains("AMER"), "{all}");
}
