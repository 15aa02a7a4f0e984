//! Embedding end to end: enabling an embedding, minting guest tokens (both routes), the
//! grant's row-level rules on every route of `/embed/{id}` (page, fragments, live stream,
//! PDF / PNG / CSV), and every route failing closed after expiry, revocation (one grant, all
//! of an embedding) and the minting key's revocation — the Superset "CSV after expiry"
//! bug as a test. The stateful stories run on SQLite and on PostgreSQL.

use std::time::Duration as StdDuration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vitrine_core::member::{Permissions, Role};

use crate::helpers::{CLIENT_HEADER, TestApp, both_stores, pdf_text, trust_client_header};

const PORTAL: &str = "https://portal.example.com";

/// Usage by customer; `market` has no customer column; `index` is the same for everyone.
const BOARD: &str = r#"version: 1
title: Customer usage
status: published
filters:
  - {id: plan, label: Plan, kind: multi_select, columns: {usage: plan}}
widgets:
  - id: usage
    title: Usage
    kind: table
    layout: {x: 0, y: 0, w: 12, h: 4}
    query: {dataset: usage, dimensions: [{column: customer_id}, {column: account}], measures: [{agg: sum, column: calls}]}
  - id: market
    title: Market volume
    kind: table
    layout: {x: 0, y: 4, w: 6, h: 4}
    query: {dataset: market, dimensions: [{column: day}], measures: [{agg: sum, column: volume}]}
  - id: index
    title: Market index
    kind: table
    same_for_every_audience: true
    layout: {x: 6, y: 4, w: 6, h: 4}
    query: {dataset: market, dimensions: [{column: day}], measures: [{agg: avg, column: volume}]}
"#;

struct Fixture {
    app: TestApp,
    key: String,
    board: i64,
    embed_id: String,
}

impl Fixture {
    async fn new() -> Self {
        Self::new_with(|_| {}).await
    }

    async fn new_with(
        adjust: impl FnOnce(&mut vitrine_app::config::Config) + Send + 'static,
    ) -> Self {
        let app = TestApp::spawn_with(move |config| {
            trust_client_header(config);
            adjust(config);
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
            "CREATE TABLE usage (customer_id TEXT, account TEXT, plan TEXT, calls INTEGER)",
            "INSERT INTO usage VALUES ('A', 'Acme GmbH', 'Pro', 10), ('A', 'Acme Labs', 'Free', 5), \
             ('B', 'Globex Inc', 'Pro', 700)",
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
            embed_id: String::new(),
        };
        let source = fx
            .ok(
                reqwest::Method::POST,
                "/api/v1/data-sources",
                json!({ "name": "Warehouse", "kind": "sqlite", "location": warehouse.display().to_string() }),
            )
            .await;
        for (slug, sql) in [
            (
                "usage",
                "SELECT customer_id, account, plan, calls FROM usage",
            ),
            ("market", "SELECT day, volume FROM market"),
        ] {
            fx.ok(
                reqwest::Method::POST,
                "/api/v1/datasets",
                json!({ "data_source_id": source["id"], "slug": slug, "name": slug, "sql": sql }),
            )
            .await;
        }
        fx.board = fx
            .ok(
                reqwest::Method::POST,
                "/api/v1/dashboards",
                json!({ "slug": "usage", "yaml": BOARD }),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        let embedding = fx
            .ok(
                reqwest::Method::PUT,
                &format!("/api/v1/dashboards/{}/embedding", fx.board),
                json!({ "allowed_origins": [PORTAL], "ui": { "hide_chart_controls": false } }),
            )
            .await;
        fx.embed_id = embedding["id"].as_str().unwrap().to_owned();
        fx
    }

    async fn send_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .app
            .api()
            .request(method, self.app.url(path))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send_as(&self.key, method, path, body).await
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let (status, value) = self.send(method, path, Some(body)).await;
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// Mints a token for customer A with a structured rule; returns (token, grant id).
    async fn mint(&self, key: &str, expires_in: Option<u32>) -> (String, String) {
        self.mint_for(key, "A", expires_in).await
    }

    /// Mints a token for `customer` with a structured rule; returns (token, grant id).
    async fn mint_for(
        &self,
        key: &str,
        customer: &str,
        expires_in: Option<u32>,
    ) -> (String, String) {
        let mut body = json!({
            "resources": [{ "type": "dashboard", "id": self.embed_id }],
            "rls": [{ "column": "customer_id", "op": "=", "value": customer }],
            "user": { "username": "ann@customer-a.example", "first_name": "Ann" },
        });
        if let Some(s) = expires_in {
            body["expires_in"] = json!(s);
        }
        let (status, value) = self
            .send_as(
                key,
                reqwest::Method::POST,
                "/api/v1/guest-tokens",
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{value}");
        assert!(value["token"].as_str().unwrap().len() < 200);
        (
            value["token"].as_str().unwrap().to_owned(),
            value["grant_id"].as_str().unwrap().to_owned(),
        )
    }

    /// GET an embed route with the token in the header.
    async fn get(
        &self,
        path: &str,
        token: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let response = self
            .app
            .api()
            .get(self.app.url(&format!("/embed/{}{path}", self.embed_id)))
            .header("x-vitrine-guest-token", token)
            .header(CLIENT_HEADER, "10.9.0.1")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    async fn text(&self, path: &str, token: &str) -> (StatusCode, String) {
        let (status, _, body) = self.get(path, token).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// Every route of the embedded view, as (path, what it must answer when open).
    fn routes() -> [&'static str; 8] {
        [
            "",
            "/widgets/usage",
            "/widgets/index",
            "/export.pdf",
            "/widgets/usage/export.csv",
            "/widgets/usage/export.png",
            "/widgets/usage/export.svg",
            "/live",
        ]
    }

    /// Asserts that every route refuses `token` (401, nothing of the data).
    async fn all_refused(&self, token: &str, why: &str) {
        for route in Self::routes() {
            let (status, headers, body) = self.get(route, token).await;
            assert_eq!(status, 401, "{why}: {route}");
            assert_eq!(headers["x-vitrine-session"], "expired", "{why}: {route}");
            let text = String::from_utf8_lossy(&body);
            assert!(
                !text.contains("Acme") && !text.contains("Globex"),
                "{why}: {route} leaked rows"
            );
        }
    }
}

/// The data of the first `widget` events of a live stream (until its first `refreshed`).
async fn live_widgets(fx: &Fixture, token: &str) -> Vec<String> {
    let mut response = fx
        .app
        .api()
        .get(fx.app.url(&format!("/embed/{}/live", fx.embed_id)))
        .header("accept", "text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
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

async fn a_rule_restricts_every_route_and_every_route_fails_closed(fx: &Fixture) {
    let (token, grant) = fx.mint(&fx.key, None).await;
    // The page: only A's rows, the widget without the column absent, the shared one shown.
    let (status, headers, body) = fx.get("", &token).await;
    let page = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Acme GmbH") && page.contains("Acme Labs"));
    assert!(!page.contains("Globex"), "B's rows leaked");
    assert!(
        !page.contains("data-widget=\"market\""),
        "uncovered widget hidden"
    );
    assert!(page.contains("data-widget=\"index\""));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.ends_with(&format!("frame-ancestors {PORTAL}")), "{csp}");
    assert!(headers.get("x-frame-options").is_none());
    assert!(headers.get("set-cookie").is_none(), "no cookie");
    let left: i64 = headers["x-vitrine-expires-in"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(left, 300);
    // Fragments, with a filter that cannot widen the rule.
    for (route, want) in [
        ("/widgets/usage?f.plan=Pro", 200),
        ("/widgets/market", 404),
        ("/widgets/index", 200),
    ] {
        let (status, body) = fx.text(route, &token).await;
        assert_eq!(status, want, "{route}");
        assert!(!body.contains("Globex"), "{route}");
    }
    // Downloads.
    let (status, csv) = fx.text("/widgets/usage/export.csv", &token).await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("Acme GmbH") && !csv.contains("Globex"),
        "{csv}"
    );
    let (status, _) = fx.text("/widgets/market/export.csv", &token).await;
    assert_eq!(status, 404);
    let (status, headers, svg) = fx.get("/widgets/usage/export.svg", &token).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    let svg = String::from_utf8(svg).unwrap();
    assert!(
        svg.contains("Acme GmbH") && svg.contains("Acme Labs") && !svg.contains("Globex"),
        "{svg}"
    );
    // The PNG is drawn from the same rows: the same widget for customer B draws other pixels.
    // (B's grant lives the default 300 s, so it has expired before the "revoke all" below.)
    let (status, headers, png) = fx.get("/widgets/usage/export.png", &token).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert!(png.starts_with(b"\x89PNG"));
    let (token_b, _) = fx.mint_for(&fx.key, "B", None).await;
    let (status, _, png_b) = fx.get("/widgets/usage/export.png", &token_b).await;
    assert_eq!(status, 200);
    assert!(png_b.starts_with(b"\x89PNG"));
    assert_ne!(png, png_b, "A's and B's PNGs hold different rows");
    let (_, svg_b) = fx.text("/widgets/usage/export.svg", &token_b).await;
    assert!(
        svg_b.contains("Globex") && !svg_b.contains("Acme"),
        "{svg_b}"
    );
    // The PDF's text (krilla compresses it: read it with a PDF parser).
    let (status, _, pdf) = fx.get("/export.pdf", &token).await;
    assert_eq!(status, 200);
    let (_, text) = pdf_text(&pdf);
    assert!(
        text.contains("AcmeGmbH") && text.contains("AcmeLabs"),
        "{text}"
    );
    assert!(
        !text.contains("Globex"),
        "B's rows leaked into the PDF: {text}"
    );
    assert!(
        text.contains("Marketindex") && !text.contains("Marketvolume"),
        "{text}"
    );
    // The live stream, read with a header.
    let widgets = live_widgets(fx, &token).await;
    assert!(
        widgets.iter().any(|w| w.contains("Acme GmbH")),
        "{widgets:?}"
    );
    assert!(
        widgets
            .iter()
            .all(|w| !w.contains("Globex") && !w.contains("\"market\""))
    );

    // Without a token, the page is only the handshake page; fragments and downloads refuse.
    let response = fx
        .app
        .api()
        .get(fx.app.url(&format!("/embed/{}", fx.embed_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let shell = response.text().await.unwrap();
    assert!(shell.contains("data-embed-state=\"waiting\"") && !shell.contains("Acme"));
    let (status, _) = fx.text("/widgets/usage/export.csv", "").await;
    assert_eq!(status, 401);

    // The token in the URL works for the page only (the plain iframe).
    let response = fx
        .app
        .api()
        .get(
            fx.app
                .url(&format!("/embed/{}?guest_token={token}", fx.embed_id)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = fx
        .app
        .api()
        .get(fx.app.url(&format!(
            "/embed/{}/widgets/usage/export.csv?guest_token={token}",
            fx.embed_id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "downloads need the header");

    // After expiry, every route refuses: no CSV without the rule (Superset's bug).
    fx.app.clock.advance(time::Duration::seconds(300));
    fx.all_refused(&token, "expired").await;

    // Revoking one grant.
    let (token, grant2) = fx.mint(&fx.key, Some(60)).await;
    assert_eq!(fx.text("/widgets/usage/export.csv", &token).await.0, 200);
    let (status, _) = fx
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/guest-grants/{grant2}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    fx.all_refused(&token, "revoked").await;
    let (status, _) = fx
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/guest-grants/{grant}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "already expired grants are not live");

    // Revoking every grant of the embedding.
    let (t1, _) = fx.mint(&fx.key, None).await;
    let (t2, _) = fx.mint(&fx.key, None).await;
    let (status, body) = fx
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/dashboards/{}/embedding/grants", fx.board),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["revoked"], 2);
    fx.all_refused(&t1, "all revoked").await;
    fx.all_refused(&t2, "all revoked").await;

    // A grant dies with the API key that minted it.
    let admin = fx
        .app
        .state
        .store
        .member_by_email("admin@example.com")
        .await
        .unwrap()
        .unwrap();
    let other_key = fx.app.api_key(&admin).await;
    let (token, _) = fx.mint(&other_key, None).await;
    assert_eq!(fx.text("/widgets/usage", &token).await.0, 200);
    let keys = fx
        .app
        .state
        .store
        .api_keys(admin.workspace_id)
        .await
        .unwrap();
    let newest = keys.first().unwrap();
    fx.app
        .state
        .store
        .revoke_api_key(admin.workspace_id, newest.id, fx.app.state.now())
        .await
        .unwrap();
    fx.all_refused(&token, "key revoked").await;

    // Disabling the embedding stops every grant.
    let (token, _) = fx.mint(&fx.key, None).await;
    fx.ok(
        reqwest::Method::PUT,
        &format!("/api/v1/dashboards/{}/embedding", fx.board),
        json!({ "allowed_origins": [PORTAL], "enabled": false }),
    )
    .await;
    fx.all_refused(&token, "embedding disabled").await;

    // Embedded views are access events with the embedding, the grant and the username.
    let events = fx
        .app
        .state
        .store
        .embed_access_events(&fx.embed_id, 500)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.event.outcome == "ok"
        && e.grant_id.as_deref() == Some(grant.as_str())
        && e.username.as_deref() == Some("ann@customer-a.example")));
    assert!(events.iter().any(|e| e.event.outcome == "expired"));
    assert!(events.iter().any(|e| e.event.outcome == "revoked"));
    assert!(events.iter().any(|e| e.event.outcome == "export_csv"));
    let (status, listed) = fx
        .send(
            reqwest::Method::GET,
            &format!(
                "/api/v1/dashboards/{}/embedding/events?limit=1000",
                fx.board
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "ok"
                && e["username"] == "ann@customer-a.example"
                && e.get("client").is_none())
    );
}

both_stores!(every_route_fails_closed_under_a_rule, async {
    let fx = Fixture::new().await;
    a_rule_restricts_every_route_and_every_route_fails_closed(&fx).await;
});

both_stores!(the_superset_payload_with_a_clause_returns_a_token, async {
    let fx = Fixture::new().await;
    // The seed's Python snippet's JSON, with only the base URL changed.
    let (status, body) = fx
        .send(
            reqwest::Method::POST,
            "/api/v1/security/guest_token/",
            Some(json!({
                "resources": [{ "type": "dashboard", "id": fx.embed_id }],
                "rls": [{ "clause": "customer_id = 'B'", "dataset": "usage" }],
                "user": { "username": "bob@b.example", "first_name": "Guest", "last_name": "User" },
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    let (status, csv) = fx.text("/widgets/usage/export.csv", token).await;
    assert_eq!(status, 200);
    assert!(csv.contains("Globex") && !csv.contains("Acme"), "{csv}");
    // The dataset by numeric id, as the seed writes it.
    let datasets = fx
        .send(reqwest::Method::GET, "/api/v1/datasets", None)
        .await
        .1;
    let usage_id = datasets
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["slug"] == "usage")
        .unwrap()["id"]
        .clone();
    let (status, body) = fx
        .send(
            reqwest::Method::POST,
            "/api/v1/security/guest_token/",
            Some(json!({
                "resources": [{ "type": "dashboard", "id": fx.embed_id }],
                "rls": [{ "clause": "customer_id IN ('A', 'B') AND calls > 6", "dataset": usage_id }],
                "user": { "username": "x" },
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, csv) = fx
        .text("/widgets/usage/export.csv", body["token"].as_str().unwrap())
        .await;
    assert!(
        csv.contains("Acme GmbH") && csv.contains("Globex") && !csv.contains("Acme Labs"),
        "{csv}"
    );
});

both_stores!(
    minting_is_refused_without_permission_for_unknown_embeddings_and_bad_rules,
    async {
        let fx = Fixture::new().await;
        let mint = |rls: Value, id: &str| json!({ "resources": [{ "type": "dashboard", "id": id }], "rls": rls, "user": { "username": "u" } });
        // An editor without `embed`.
        let editor = fx
            .app
            .member("ed@example.com", Role::Editor, Permissions::default())
            .await;
        let editor_key = fx.app.api_key(&editor).await;
        let (status, body) = fx
            .send_as(
                &editor_key,
                reqwest::Method::POST,
                "/api/v1/guest-tokens",
                Some(mint(json!([]), &fx.embed_id)),
            )
            .await;
        // Refused with a message that names the missing permission.
        assert_eq!(status, 403, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("“embed” permission"), "{message}");
        let (status, body) = fx
            .send_as(
                &editor_key,
                reqwest::Method::PUT,
                &format!("/api/v1/dashboards/{}/embedding", fx.board),
                Some(json!({ "allowed_origins": [PORTAL] })),
            )
            .await;
        assert_eq!(status, 403);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("“embed” permission"), "{message}");
        // An unknown embed id (and the dashboard id instead of the embed id).
        for id in [
            "00000000-0000-4000-8000-000000000000".to_owned(),
            fx.board.to_string(),
        ] {
            let (status, body) = fx
                .send(
                    reqwest::Method::POST,
                    "/api/v1/guest-tokens",
                    Some(mint(json!([]), &id)),
                )
                .await;
            assert_eq!(status, 400, "{body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("No embedding")
            );
        }
        // Bad rules, each named.
        for (rls, needle) in [
            (
                json!([{ "column": "tenant", "op": "=", "value": "A" }]),
                "tenant",
            ),
            (json!([{ "clause": "customer_id = 'A' OR 1=1" }]), "OR"),
            (
                json!([{ "clause": "customer_id IN (SELECT customer_id FROM usage)" }]),
                "subquer",
            ),
            (
                json!([{ "clause": "lower(customer_id) = 'a'" }]),
                "function",
            ),
            (
                json!([{ "clause": "customer_id = 'A' -- and more" }]),
                "comment",
            ),
            (json!([{ "clause": "secret_col = 1" }]), "secret_col"),
            (
                json!([{ "column": "customer_id", "op": "like", "value": "A" }]),
                "like",
            ),
            (
                json!([{ "column": "customer_id", "op": "=", "value": "A", "dataset": "nope" }]),
                "nope",
            ),
            (
                json!([{ "column": "calls", "op": "=", "value": "many", "dataset": "usage" }]),
                "calls",
            ),
        ] {
            let (status, body) = fx
                .send(
                    reqwest::Method::POST,
                    "/api/v1/guest-tokens",
                    Some(mint(rls.clone(), &fx.embed_id)),
                )
                .await;
            assert_eq!(status, 400, "{rls}: {body}");
            let message = body["error"]["message"].as_str().unwrap().to_lowercase();
            assert!(message.contains(&needle.to_lowercase()), "{rls}: {message}");
        }
        // Lifetimes outside the configured bounds.
        for expires_in in [0, 1, 100_000] {
            let mut body = mint(json!([]), &fx.embed_id);
            body["expires_in"] = json!(expires_in);
            let (status, _) = fx
                .send(reqwest::Method::POST, "/api/v1/guest-tokens", Some(body))
                .await;
            assert_eq!(status, 400, "{expires_in}");
        }
        // An embedding needs origins: an empty list embeds nowhere.
        for origins in [
            json!([]),
            json!(["*"]),
            json!(["https://portal.example.com/path"]),
        ] {
            let (status, _) = fx
                .send(
                    reqwest::Method::PUT,
                    &format!("/api/v1/dashboards/{}/embedding", fx.board),
                    Some(json!({ "allowed_origins": origins })),
                )
                .await;
            assert_eq!(status, 400, "{origins}");
        }
    }
);

both_stores!(
    forged_tokens_and_script_in_the_user_name_reveal_nothing,
    async {
        let fx = Fixture::new().await;
        let (status, body) = fx
            .send(
                reqwest::Method::POST,
                "/api/v1/guest-tokens",
                Some(json!({
                    "resources": [{ "type": "dashboard", "id": fx.embed_id }],
                    "rls": [{ "column": "customer_id", "op": "in", "values": ["A"] }],
                    "user": { "username": "<script>alert(1)</script>" },
                })),
            )
            .await;
        assert_eq!(status, 201);
        let token = body["token"].as_str().unwrap().to_owned();
        let (status, page) = fx.text("", &token).await;
        assert_eq!(status, 200);
        assert!(!page.contains("<script>alert"));
        // Forged: one character changed, another key's token, a share token, junk.
        let mut forged: Vec<char> = token.chars().collect();
        forged[10] = if forged[10] == 'A' { 'B' } else { 'A' };
        let forged: String = forged.into_iter().collect();
        for bad in [
            forged.as_str(),
            "gst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "shr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "' OR 1=1 --",
        ] {
            fx.all_refused(bad, "forged").await;
        }
        // Another embedding's id with a valid token: nothing.
        let response = fx
            .app
            .api()
            .get(
                fx.app
                    .url("/embed/00000000-0000-4000-8000-000000000000/widgets/usage"),
            )
            .header("x-vitrine-guest-token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let html = response.text().await.unwrap();
        assert!(!html.contains("Acme"));
        // An unknown embed id frames nowhere.
        let response = fx
            .app
            .api()
            .get(fx.app.url("/embed/00000000-0000-4000-8000-000000000000"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
    }
);

both_stores!(a_configured_maximum_lifetime_bounds_every_token, async {
    let fx = Fixture::new_with(|config| config.embed.max_token_seconds = 60).await;
    let mint = |expires_in: Option<u32>| {
        let mut body = json!({
            "resources": [{ "type": "dashboard", "id": fx.embed_id }],
            "user": { "username": "u" },
        });
        if let Some(s) = expires_in {
            body["expires_in"] = json!(s);
        }
        fx.send(reqwest::Method::POST, "/api/v1/guest-tokens", Some(body))
    };
    let (status, body) = mint(Some(61)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("60"),
        "{body}"
    );
    let (status, body) = mint(Some(60)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in"], 60);
    // Unsaid, a token lives the default 300 s, or the maximum when that is lower.
    let (status, body) = mint(None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in"], 60);
    let token = body["token"].as_str().unwrap().to_owned();
    let (_, headers, _) = fx.get("", &token).await;
    assert_eq!(headers["x-vitrine-expires-in"], "60");
    fx.app.clock.advance(time::Duration::seconds(60));
    fx.all_refused(&token, "past the configured maximum").await;
});

both_stores!(
    the_saved_ui_configuration_and_display_parameters_shape_the_embedded_page,
    async {
        let fx = Fixture::new().await;
        let (token, _) = fx.mint(&fx.key, None).await;
        let page = |query: &'static str| {
            let (fx, token) = (&fx, token.clone());
            async move {
                let (status, page) = fx.text(query, &token).await;
                assert_eq!(status, 200, "{query}: {page}");
                page
            }
        };
        // The fixture's embedding shows downloads and an open filter bar.
        let shown = page("").await;
        assert!(shown.contains("dash-download") && shown.contains("dash-card-download"));
        assert!(shown.contains("dash-filters") && !shown.contains("dash-filters-collapsed"));
        assert!(shown.contains("<h1>Customer usage</h1>"));
        // The SDK's `hideChartControls` (`hide_chart_controls=1`) hides every download menu,
        // and a filter change keeps it; the display parameters of seed 002 work on embeds.
        let hidden = page("?hide_chart_controls=1").await;
        assert!(
            !hidden.contains("dash-download") && !hidden.contains("dash-card-download"),
            "{hidden}"
        );
        assert!(hidden.contains("name=\"hide_chart_controls\" value=\"1\""));
        assert!(hidden.contains("Acme GmbH"));
        let collapsed = page("?expand_filters=0").await;
        assert!(collapsed.contains("dash-filters-collapsed"));
        let bare = page("?standalone=3").await;
        assert!(!bare.contains("<h1>Customer usage</h1>") && !bare.contains("dash-filters"));
        assert!(!bare.contains("dash-download"));
        let untitled = page("?hide_title=1&show_filters=0").await;
        assert!(
            !untitled.contains("<h1>Customer usage</h1>") && !untitled.contains("dash-filters")
        );

        // The embedding's saved UI configuration: a collapsed filter bar, hidden downloads, a
        // dark theme; the URL cannot undo what the owner hid.
        fx.ok(
            reqwest::Method::PUT,
            &format!("/api/v1/dashboards/{}/embedding", fx.board),
            json!({ "allowed_origins": [PORTAL], "ui": {
                "filters_expanded": false, "hide_chart_controls": true, "theme": "dark",
                "hide_title": true } }),
        )
        .await;
        for query in ["", "?expand_filters=1&hide_chart_controls=0&hide_title=0"] {
            let saved = page(query).await;
            assert!(saved.contains("dash-filters-collapsed"), "{query}: {saved}");
            assert!(!saved.contains("dash-download"), "{query}");
            assert!(!saved.contains("<h1>Customer usage</h1>"), "{query}");
            assert!(saved.contains("Acme GmbH"), "{query}");
        }
        // Hidden downloads are refused downloads.
        let (status, _) = fx.text("/widgets/usage/export.csv", &token).await;
        assert_eq!(status, 404);
    }
);

// ---- the SDK in a real browser -----------------------------------------------------------------

/// A host application on a second port, serving four pages and its backend:
///
/// - `/?customer=A[&ui=hide]`: mounts the dashboard through the SDK (with
///   `dashboardUiConfig.hideChartControls` for `ui=hide`) and records the handle's events.
/// - `/flaky`: a `fetchGuestToken` that hangs once (the SDK's timeout ends it), fails once,
///   succeeds once (a 5-second token) and then always fails (the renewal gives up: `error`).
/// - `/forge`: frames the embedded page itself, without the SDK, so the test can post forged
///   handshakes from this allowed origin, next to a frame of `/forger`.
/// - `/forger`: served to the test at `127.0.0.1` (not an allowed origin), it posts a
///   well-formed handshake with a real token to the embedded page, its sibling frame.
/// - `/token?customer=A[&ttl=10]`: mints a token for that customer with an API key, over
///   HTTP, as a real host's backend does.
///
/// Returns its port and the number of tokens minted so far.
async fn host_app(
    vitrine: String,
    key: String,
    embed_id: String,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::extract::Query;
    use axum::response::Html;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let vitrine_origin = vitrine.trim_end_matches('/').to_owned();
    let events = r#"for (const t of ["ready", "resize", "filters-changed", "auth-expired", "error"]) {
    handle.on(t, (detail) => { window.events.push(t); window.details.push([t, detail]); });
  }"#;
    let main = format!(
        r#"<!doctype html><html><head><title>Portal</title></head><body>
<h1>Customer portal</h1><div id="mount"></div>
<script src="{vitrine}/static/embed.js"></script>
<script>
window.events = []; window.details = [];
const params = new URLSearchParams(location.search);
const customer = params.get("customer") || "A";
Vitrine.embedDashboard({{
  id: "{embed_id}",
  vitrineDomain: "{vitrine}",
  mountPoint: document.getElementById("mount"),
  fetchGuestToken: () => fetch("/token?customer=" + customer).then((r) => r.json()),
  dashboardUiConfig: params.get("ui") === "hide" ? {{ hideChartControls: true }} : undefined,
  iframeTitle: "Usage",
  handshakeTimeoutMs: 4000,
}}).then((handle) => {{
  window.handle = handle;
  {events}
  window.events.push("mounted");
}}, () => window.events.push("rejected"));
</script></body></html>"#
    );
    let flaky = format!(
        r#"<!doctype html><html><head><title>Portal</title></head><body>
<div id="mount"></div>
<script src="{vitrine}/static/embed.js"></script>
<script>
window.events = []; window.details = []; window.calls = [];
Vitrine.embedDashboard({{
  id: "{embed_id}",
  vitrineDomain: "{vitrine}",
  mountPoint: document.getElementById("mount"),
  fetchGuestToken: () => {{
    window.calls.push(performance.now());
    switch (window.calls.length) {{
      case 1: return new Promise(() => {{}});
      case 2: return Promise.reject(new Error("token service down"));
      case 3: return fetch("/token?customer=A&ttl=5").then((r) => r.json());
      default: return Promise.reject(new Error("token service down again"));
    }}
  }},
  fetchTimeoutMs: 1000,
  fetchAttempts: 3,
  handshakeTimeoutMs: 8000,
}}).then((handle) => {{
  window.handle = handle;
  {events}
  window.events.push("mounted");
}}, () => window.events.push("rejected"));
</script></body></html>"#
    );
    let forge = format!(
        r#"<!doctype html><html><head><title>Forge</title></head><body>
<iframe id="vitrine" src="{vitrine}/embed/{embed_id}"></iframe>
<iframe id="forger" src="http://127.0.0.1:{port}/forger"></iframe>
<script>
window.answers = [];
fetch("/token?customer=A").then((r) => r.json()).then((t) => {{ window.token = t.token; }});
window.handshake = (message, withPort) => {{
  const channel = new MessageChannel();
  channel.port1.onmessage = (e) => window.answers.push(e.data && e.data.type);
  document.getElementById("vitrine").contentWindow.postMessage(
    message, "{vitrine_origin}", withPort ? [channel.port2] : []);
}};
</script></body></html>"#
    );
    let forger = r#"<!doctype html><html><head><title>Forger</title></head><body><script>
window.answers = [];
fetch("/token?customer=B").then((r) => r.json()).then((t) => { window.token = t.token; });
// A well-formed handshake with a real token, from an origin that is not on the list.
window.forge = () => {
  const channel = new MessageChannel();
  channel.port1.onmessage = (e) => window.answers.push(e.data && e.data.type);
  window.parent.frames[0].postMessage(
    { vitrine: 1, type: "init", token: window.token, filters: {} }, "*", [channel.port2]);
  return true;
};
</script></body></html>"#
        .to_owned();
    let mints = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = mints.clone();
    let page = |html: String| {
        axum::routing::get(move || {
            let html = html.clone();
            async move { Html(html) }
        })
    };
    let router = axum::Router::new()
        .route("/", page(main))
        .route("/flaky", page(flaky))
        .route("/forge", page(forge))
        .route("/forger", page(forger))
        .route(
            "/token",
            axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
                let (vitrine, key, embed_id, counter) = (
                    vitrine.clone(),
                    key.clone(),
                    embed_id.clone(),
                    counter.clone(),
                );
                async move {
                    let customer = q.get("customer").cloned().unwrap_or_default();
                    let ttl: u32 = q.get("ttl").and_then(|t| t.parse().ok()).unwrap_or(10);
                    let minted: Value = reqwest::Client::new()
                        .post(format!("{vitrine}/api/v1/guest-tokens"))
                        .bearer_auth(&key)
                        .json(&json!({
                            "resources": [{ "type": "dashboard", "id": embed_id }],
                            "rls": [{ "column": "customer_id", "op": "=", "value": customer }],
                            "user": { "username": format!("viewer-{customer}") },
                            "expires_in": ttl,
                        }))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    counter.fetch_add(1, Ordering::SeqCst);
                    axum::Json(minted)
                }
            }),
        );
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (port, mints)
}

/// How long a revocation may take to reach the host through the iframe. It takes about a
/// third of a second here (printed); the bound leaves room for a busy CI machine.
const REVOKED_WITHIN: StdDuration = StdDuration::from_secs(2);

both_stores!(
    the_sdk_mounts_renews_resizes_refuses_other_hosts_and_flips_when_revoked,
    async {
        use std::sync::atomic::Ordering;

        use crate::browser::Browser;

        let Some(browser) =
            Browser::start_with(json!({ "profile.block_third_party_cookies": true })).await
        else {
            return;
        };
        let fx = Fixture::new().await;
        let (port, mints) =
            host_app(fx.app.base.clone(), fx.key.clone(), fx.embed_id.clone()).await;
        // The host is http://localhost:{port}; Vitrine is http://127.0.0.1:{its port}.
        let host = format!("http://localhost:{port}");
        fx.ok(
            reqwest::Method::PUT,
            &format!("/api/v1/dashboards/{}/embedding", fx.board),
            json!({ "allowed_origins": [host], "ui": { "hide_chart_controls": false } }),
        )
        .await;

        // Mounted with `hideChartControls`: only A's rows, no download menu, no token in a URL.
        browser.goto(&format!("{host}/?customer=A&ui=hide")).await;
        browser
            .wait_until("the SDK mounted", "window.events.includes('mounted')")
            .await;
        browser
        .wait_until("the iframe was sized to its content", "window.events.includes('resize') && parseInt(document.querySelector('iframe').style.height) > 200")
        .await;
        step(browser.client.enter_frame(0)).await;
        browser
            .wait_until(
                "the dashboard is in the frame",
                "document.querySelector('[data-dashboard]')",
            )
            .await;
        let text = browser.js("return document.body.innerText").await;
        let text = text.as_str().unwrap();
        assert!(text.contains("Acme GmbH"), "{text}");
        assert!(!text.contains("Globex"), "only the picked customer's rows");
        let url = browser.js("return location.href").await;
        let url = url.as_str().unwrap();
        assert!(!url.contains("gst_"), "no token in the URL");
        assert!(url.contains("hide_chart_controls=1"), "{url}");
        let menus = browser
            .js("return document.querySelectorAll('.dash-download, .dash-card-download').length")
            .await;
        assert_eq!(
            menus,
            json!(0),
            "hideChartControls hides the download menus"
        );
        step(browser.client.enter_parent_frame()).await;

        // The host sets a filter.
        browser
            .js("window.handle.setFilters({ plan: ['Pro'] }); return true")
            .await;
        step(browser.client.enter_frame(0)).await;
        browser
        .wait_until(
            "the filter applied",
            "location.search.includes('f.plan=Pro') && document.querySelector('[data-dashboard]') && document.body.innerText.includes('Acme GmbH') && !document.body.innerText.includes('Acme Labs')",
        )
        .await;
        // The viewer changes it inside the iframe (real clicks): Free instead of Pro.
        for (value, want) in [("Free", "Free,Pro"), ("Pro", "Free")] {
            browser
                .js("document.querySelector('details[data-multi]').open = true; return true")
                .await;
            let option = step(browser.client.find(fantoccini::Locator::Css(&format!(
                "input[name='f.plan'][value='{value}']"
            ))))
            .await;
            step(option.click()).await;
            browser
                .wait_until(
                    "the viewer's filter applied",
                    &format!(
                        "new URLSearchParams(location.search).getAll('f.plan').filter(Boolean).sort().join(',') === '{want}'"
                    ),
                )
                .await;
        }
        browser
            .wait_until(
                "the cards show the viewer's choice",
                "document.body.innerText.includes('Acme Labs') && !document.body.innerText.includes('Acme GmbH')",
            )
            .await;
        step(browser.client.enter_parent_frame()).await;
        // …and the host hears it as `filters-changed`, with the filters.
        browser
            .wait_until(
                "the host heard filters-changed",
                "window.details.some(([t, d]) => t === 'filters-changed' && JSON.stringify(d.filters) === JSON.stringify({ plan: ['Free'] }))",
            )
            .await;
        let filters = browser.js("return window.handle.getFilters()").await;
        assert_eq!(filters["plan"], json!(["Free"]), "{filters}");

        // Two renewals of the 10-second token keep the viewer's filter.
        let started = std::time::Instant::now();
        while mints.load(Ordering::SeqCst) < 3 && started.elapsed() < StdDuration::from_secs(30) {
            tokio::time::sleep(StdDuration::from_millis(250)).await;
        }
        assert!(
            mints.load(Ordering::SeqCst) >= 3,
            "two renewals of a 10-second token"
        );
        let filters = browser.js("return window.handle.getFilters()").await;
        assert_eq!(filters["plan"], json!(["Free"]), "{filters}");
        step(browser.client.enter_frame(0)).await;
        let text = browser.js("return document.body.innerText").await;
        let text = text.as_str().unwrap();
        assert!(
            text.contains("Acme Labs") && !text.contains("Acme GmbH"),
            "{text}"
        );
        assert!(!text.contains("Session expired"));
        browser
            .wait_until(
                "the live stream is open",
                "document.querySelector('[data-dashboard]').dataset.liveState === 'open'",
            )
            .await;
        step(browser.client.enter_parent_frame()).await;

        // `setTheme` redraws the frame in that theme, keeping the viewer's filter.
        browser
            .js("window.handle.setTheme('dark'); return true")
            .await;
        step(browser.client.enter_frame(0)).await;
        browser
            .wait_until(
                "the theme applied",
                "location.search.includes('theme=dark') && location.search.includes('f.plan=Free') && document.querySelector('[data-dashboard]') && document.body.innerText.includes('Acme Labs')",
            )
            .await;
        browser
            .wait_until(
                "the live stream is open again",
                "document.querySelector('[data-dashboard]').dataset.liveState === 'open'",
            )
            .await;
        step(browser.client.enter_parent_frame()).await;

        // Revoking every grant flips the frame to "session expired" and tells the host, within
        // REVOKED_WITHIN (asserted).
        assert_eq!(
            browser
                .js("return window.events.includes('auth-expired')")
                .await,
            json!(false)
        );
        let revoked_at = std::time::Instant::now();
        let (status, _) = fx
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/dashboards/{}/embedding/grants", fx.board),
                None,
            )
            .await;
        assert_eq!(status, 200);
        browser
            .wait_until(
                "the host heard auth-expired",
                "window.events.includes('auth-expired')",
            )
            .await;
        let took = revoked_at.elapsed();
        eprintln!("revocation reached the host in {took:?}");
        assert!(took < REVOKED_WITHIN, "the revocation took {took:?}");
        step(browser.client.enter_frame(0)).await;
        // The frame tells the host first and then redraws itself; on a busy machine the
        // host's poll can land in between.
        browser
            .wait_until(
                "the frame shows the expired session",
                "document.body.innerText.includes('Session expired')",
            )
            .await;
        let text = browser.js("return document.body.innerText").await;
        assert!(!text.as_str().unwrap().contains("Acme"));
        step(browser.client.enter_parent_frame()).await;

        // A flaky token service: the first call hangs (the SDK's timeout ends it after
        // 1 s), the second fails, the third succeeds, each after a backoff; the renewal's
        // calls all fail: the host hears `error`, and `auth-expired` when the 5 s token ends.
        browser.goto(&format!("{host}/flaky")).await;
        browser
            .wait_until(
                "the SDK mounted after retries",
                "window.events.includes('mounted')",
            )
            .await;
        let calls = browser.js("return window.calls").await;
        let calls: Vec<f64> = calls
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_f64().unwrap())
            .collect();
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert!(
            calls[1] - calls[0] >= 1400.0,
            "a 1 s timeout and a 0.5 s backoff: {calls:?}"
        );
        assert!(calls[2] - calls[1] >= 900.0, "a 1 s backoff: {calls:?}");
        step(browser.client.enter_frame(0)).await;
        browser
            .wait_until(
                "the dashboard is in the frame",
                "document.body.innerText.includes('Acme GmbH')",
            )
            .await;
        step(browser.client.enter_parent_frame()).await;
        browser
            .wait_until(
                "the failed renewal is an error event",
                "window.details.some(([t, d]) => t === 'error' && d.message === 'token renewal failed')",
            )
            .await;
        assert_eq!(
            browser.js("return window.calls.length").await,
            json!(6),
            "three calls for the renewal"
        );
        // The server's clock passes the token's end (the test's clock is manual).
        fx.app.clock.advance(time::Duration::seconds(6));
        browser
            .wait_until(
                "the end of the 5 s token",
                "window.events.includes('auth-expired')",
            )
            .await;
        // `unmount` removes the iframe and stops talking.
        browser.js("window.handle.unmount(); return true").await;
        let frames = browser
            .js("return document.querySelectorAll('iframe').length")
            .await;
        assert_eq!(frames, json!(0));
        let heard = browser.js("return window.events.length").await;
        tokio::time::sleep(StdDuration::from_millis(500)).await;
        assert_eq!(browser.js("return window.events.length").await, heard);

        // The frame's own origin check: a page on an allowed origin frames the embedded
        // page without the SDK (frame-ancestors lets it), next to a frame from 127.0.0.1,
        // which is not on the list and posts a well-formed handshake with a real token.
        let _ = browser.log().await;
        browser.goto(&format!("{host}/forge")).await;
        step(browser.client.enter_frame(0)).await;
        browser
            .wait_until(
                "the embedded page waits for a handshake",
                "window.__vitrineFrame && document.querySelector('[data-embed-state=waiting]')",
            )
            .await;
        step(browser.client.enter_parent_frame()).await;
        step(browser.client.enter_frame(1)).await;
        browser
            .wait_until("the forger has a token", "typeof window.token === 'string'")
            .await;
        browser.js("return window.forge()").await;
        tokio::time::sleep(StdDuration::from_millis(1000)).await;
        assert_eq!(
            browser.js("return window.answers").await,
            json!([]),
            "no hello to another origin"
        );
        step(browser.client.enter_parent_frame()).await;
        // The embedded page refused it by its origin (it keeps the refused origins in memory).
        step(browser.client.enter_frame(0)).await;
        assert_eq!(
            browser.js("return window.__vitrineFrame.refused").await,
            json!([format!("http://127.0.0.1:{port}")])
        );
        let text = browser.js("return document.body.innerText").await;
        assert!(
            !text.as_str().unwrap().contains("Acme") && !text.as_str().unwrap().contains("Globex")
        );
        step(browser.client.enter_parent_frame()).await;
        // From the allowed origin: another protocol version, and no port, are ignored too.
        browser
            .wait_until("the host has a token", "typeof window.token === 'string'")
            .await;
        browser
            .js("window.handshake({ vitrine: 2, type: 'init', token: window.token, filters: {} }, true); \
                 window.handshake({ vitrine: 1, type: 'init', token: window.token, filters: {} }, false); \
                 window.handshake({ vitrine: '1', type: 'init', token: window.token, filters: {} }, true); \
                 return true")
            .await;
        tokio::time::sleep(StdDuration::from_millis(1000)).await;
        assert_eq!(browser.js("return window.answers").await, json!([]));
        step(browser.client.enter_frame(0)).await;
        let text = browser.js("return document.body.innerText").await;
        assert!(!text.as_str().unwrap().contains("Acme"), "{text}");
        step(browser.client.enter_parent_frame()).await;
        // The well-formed handshake from the allowed origin is answered (the frame listened).
        browser
            .js("window.handshake({ vitrine: 1, type: 'init', token: window.token, filters: {} }, true); return true")
            .await;
        browser
            .wait_until("the frame said hello", "window.answers.includes('hello')")
            .await;
        step(browser.client.enter_frame(0)).await;
        browser
            .wait_until(
                "the dashboard is in the frame",
                "document.body.innerText.includes('Acme GmbH') && !document.body.innerText.includes('Globex')",
            )
            .await;
        step(browser.client.enter_parent_frame()).await;

        // A host origin not on the list: frame-ancestors blocks the page and the handshake fails.
        browser
            .goto(&format!("http://127.0.0.1:{port}/?customer=A"))
            .await;
        browser
            .wait_until("the SDK gave up", "window.events.includes('rejected')")
            .await;
        let violations = browser.csp_violations().await;
        assert!(
            violations
                .iter()
                .any(|v| v.message.contains("frame-ancestors")),
            "{violations:?}"
        );
        // The rest is Chromium dropping the SDK's handshake: addressed to Vitrine's origin, the
        // token never reaches the blocked frame's error page.
        assert!(
            violations
                .iter()
                .all(|v| v.message.contains("frame-ancestors")
                    || v.message
                        .contains("does not match the recipient window's origin")),
            "{violations:?}"
        );
    }
);

async fn step<T, E: std::fmt::Debug>(fut: impl std::future::Future<Output = Result<T, E>>) -> T {
    fut.await.expect("a WebDriver step")
}

both_stores!(
    a_share_link_with_a_row_level_rule_shows_only_its_clients_rows,
    async {
        let fx = Fixture::new().await;
        let (status, body) = fx
            .send(
                reqwest::Method::POST,
                "/api/v1/links",
                Some(json!({
                    "dashboard_id": fx.board,
                    "label": "Client A",
                    "display": { "allow_downloads": true },
                    "rules": [{ "column": "customer_id", "op": "=", "value": "A" }],
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["settings"]["rules"][0]["column"], "customer_id");
        let url = body["url"].as_str().unwrap();
        let path = &url[url.find("/share/").unwrap()..];
        let get = |p: String| {
            let client = fx.app.api();
            let url = fx.app.url(&p);
            async move {
                let r = client.get(url).send().await.unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let (status, page) = get(path.to_owned()).await;
        assert_eq!(status, 200);
        assert!(page.contains("Acme GmbH") && !page.contains("Globex"));
        assert!(!page.contains("data-widget=\"market\""));
        let (status, csv) = get(format!("{path}/widgets/usage/export.csv")).await;
        assert_eq!(status, 200);
        assert!(csv.contains("Acme") && !csv.contains("Globex"), "{csv}");
        // Display parameters of seed 002 on share links too.
        let (_, page) = get(format!("{path}?standalone=3")).await;
        assert!(!page.contains("<h1>Customer usage</h1>") && !page.contains("dash-filters"));
        let (_, page) = get(format!("{path}?expand_filters=0")).await;
        assert!(page.contains("dash-filters-collapsed"));
        // Unknown columns are refused on create and update, naming the column.
        let id = body["id"].as_str().unwrap();
        let (status, err) = fx
            .send(
                reqwest::Method::PATCH,
                &format!("/api/v1/links/{id}"),
                Some(json!({ "rules": [{ "column": "tenant", "op": "=", "value": "A" }] })),
            )
            .await;
        assert_eq!(status, 400);
        assert!(err["error"]["message"].as_str().unwrap().contains("tenant"));
    }
);

both_stores!(
    the_owner_page_shows_snippets_changes_origins_and_revokes_every_token,
    async {
        let fx = Fixture::new().await;
        let (token, _) = fx.mint(&fx.key, None).await;
        let (client, csrf) = fx.app.signed_in("admin@example.com").await;
        let path = format!("/dashboards/{}/embedding", fx.board);
        let page = client
            .get(fx.app.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(&fx.embed_id) && page.contains("/static/embed.js"));
        assert!(page.contains(PORTAL));
        // Both snippets have a Copy button (the app's `data-copy` mechanism).
        for id in ["embed-sdk", "embed-iframe"] {
            assert!(page.contains(&format!("data-copy=\"{id}\"")), "{id}");
            assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(
            page.contains("Vitrine.embedDashboard") && page.contains("guest_token=GUEST_TOKEN")
        );
        // The default UI configuration and the host filters are shown, and editable.
        assert!(page.contains("downloads shown") && page.contains("filter bar open"));
        assert!(
            page.contains("name=\"host_filter\" value=\"plan\" checked"),
            "{page}"
        );
        assert!(
            page.contains("name=\"hide_chart_controls\" >"),
            "unchecked: {page}"
        );
        // An empty list is refused with the sentence; a new origin is saved.
        let response = client
            .post(fx.app.url(&path))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("origins", ""),
                ("enabled", "on"),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.text().await.unwrap().contains("embeds nowhere"));
        let response = client
            .post(fx.app.url(&path))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("origins", "https://app.example.org"),
                ("enabled", "on"),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection() || response.status().is_success());
        let (_, headers, _) = fx.get("", &token).await;
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.ends_with("frame-ancestors https://app.example.org"),
            "{csp}"
        );
        // The display defaults and the host filters, through the form.
        let embedding_path = format!("/api/v1/dashboards/{}/embedding", fx.board);
        let response = client
            .post(fx.app.url(&path))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("origins", "https://app.example.org"),
                ("enabled", "on"),
                ("hide_chart_controls", "on"),
                ("filters_visible", "on"),
                ("theme", "dark"),
                ("host_filter", "plan"),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        let saved = fx.send(reqwest::Method::GET, &embedding_path, None).await.1;
        assert_eq!(
            saved["ui"],
            json!({ "hide_title": false, "hide_chart_controls": true, "filters_visible": true,
                    "filters_expanded": false, "theme": "dark" }),
            "{saved}"
        );
        assert_eq!(saved["host_filters"], json!(["plan"]));
        let page = client
            .get(fx.app.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("downloads hidden") && page.contains("filter bar collapsed"));
        assert!(page.contains("theme dark") && page.contains("<option value=\"dark\" selected>"));
        assert!(
            page.contains("name=\"hide_chart_controls\" checked"),
            "{page}"
        );
        // No host filter ticked: the host may set none.
        client
            .post(fx.app.url(&path))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("origins", "https://app.example.org"),
                ("enabled", "on"),
            ])
            .send()
            .await
            .unwrap();
        let saved = fx.send(reqwest::Method::GET, &embedding_path, None).await.1;
        assert_eq!(saved["host_filters"], json!([]), "{saved}");
        assert_eq!(saved["enabled"], true);
        // One grant revoked through the API, for the audit trail below.
        let (_, one) = fx.mint(&fx.key, None).await;
        let (status, _) = fx
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/guest-grants/{one}"),
                None,
            )
            .await;
        assert_eq!(status, 204);
        // Revoke every token from the page.
        let response = client
            .post(fx.app.url(&format!("{path}/revoke")))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert!(response.text().await.unwrap().contains("Revoked 1"));
        fx.all_refused(&token, "revoked from the page").await;

        // Turning embedding off through the form (the box unticked) stops every token.
        let (token, _) = fx.mint(&fx.key, None).await;
        assert_eq!(fx.text("/widgets/usage", &token).await.0, 200);
        let response = client
            .post(fx.app.url(&path))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("origins", "https://app.example.org"),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        let saved = fx.send(reqwest::Method::GET, &embedding_path, None).await.1;
        assert_eq!(saved["enabled"], false);
        fx.all_refused(&token, "turned off through the form").await;
        let page = client
            .get(fx.app.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("<span class=\"badge\">off</span>"));

        // Every change and revocation is in the audit trail, by the acting owner.
        let ws = fx
            .app
            .state
            .store
            .member_by_email("admin@example.com")
            .await
            .unwrap()
            .unwrap()
            .workspace_id;
        let events = fx.app.state.store.audit_events(ws, 200).await.unwrap();
        let target = format!("embedding:{}", fx.embed_id);
        let of = |action: &str| {
            events
                .iter()
                .filter(|e| e.action == action && e.target == target)
                .collect::<Vec<_>>()
        };
        assert_eq!(of("embedding.enabled").len(), 1, "the fixture's PUT");
        assert!(of("embedding.updated").len() >= 4, "every save of the form");
        assert!(
            of("embedding.updated")
                .iter()
                .any(|e| e.detail.contains("\"enabled\":false")),
            "turning it off"
        );
        let revoked = of("guest_grant.revoked");
        assert_eq!(revoked.len(), 1);
        assert!(revoked[0].detail.contains(&one), "{}", revoked[0].detail);
        let all = of("guest_grants.revoked_all");
        assert_eq!(all.len(), 1);
        assert!(all[0].detail.contains("\"revoked\":1"), "{}", all[0].detail);
        assert!(
            events
                .iter()
                .filter(|e| e.target == target)
                .all(|e| e.actor.contains("admin@example.com")),
            "every change names its owner"
        );
    }
);

/// An open embedded live stream, read past its first `refreshed`.
async fn open_live(fx: &Fixture, token: &str) -> reqwest::Response {
    let mut response = fx
        .app
        .api()
        .get(fx.app.url(&format!("/embed/{}/live", fx.embed_id)))
        .header("accept", "text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut text = String::new();
    tokio::time::timeout(StdDuration::from_secs(20), async {
        while !text.contains("event: refreshed") {
            let chunk = response.chunk().await.unwrap().expect("the stream is open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .expect("the stream sends its widgets and `refreshed`");
    response
}

/// Whether the stream says `revoked` within `within` (false: still open, nothing said).
async fn revoked_within(response: &mut reqwest::Response, within: StdDuration) -> bool {
    let mut text = String::new();
    tokio::time::timeout(within, async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("event: revoked") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

both_stores!(
    an_embedded_live_stream_ends_at_a_revocation_or_expiry_without_polling_the_store,
    async {
        // The safety-net re-check an hour away: only an announced change (or the clock) can end
        // a stream within the test.
        let fx = Fixture::new_with(|config| config.live.recheck_seconds = 3600).await;
        let ws = fx
            .app
            .state
            .store
            .member_by_email("admin@example.com")
            .await
            .unwrap()
            .unwrap()
            .workspace_id;
        let (silent_token, silent_grant) = fx.mint(&fx.key, None).await;
        let (announced_token, announced_grant) = fx.mint(&fx.key, None).await;
        let (expiring_token, _) = fx.mint(&fx.key, Some(60)).await;
        let mut silent = open_live(&fx, &silent_token).await;
        let mut announced = open_live(&fx, &announced_token).await;
        let mut expiring = open_live(&fx, &expiring_token).await;

        // Revoked in the store behind the application's back, nothing announced: the stream is
        // not polling, so it stays open (every new request is refused, as the routes ask the
        // store each time).
        fx.app
            .state
            .store
            .revoke_grant(ws, &silent_grant, fx.app.state.now())
            .await
            .unwrap()
            .unwrap();
        assert!(
            !revoked_within(&mut silent, StdDuration::from_millis(1500)).await,
            "no store polling between changes"
        );

        // Revoked through the API: the change is announced and both streams of the embedding
        // re-check at once — the announced one, and the silent one with it.
        let started = std::time::Instant::now();
        let (status, _) = fx
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/guest-grants/{announced_grant}"),
                None,
            )
            .await;
        assert_eq!(status, 204);
        assert!(revoked_within(&mut announced, StdDuration::from_secs(1)).await);
        assert!(revoked_within(&mut silent, StdDuration::from_secs(1)).await);
        eprintln!(
            "announced revocation ended the streams in {:?}",
            started.elapsed()
        );

        // The expiring grant's stream was untouched, and ends when the server's clock passes its
        // expiry (compared four times a second, no I/O).
        assert!(!revoked_within(&mut expiring, StdDuration::from_millis(300)).await);
        fx.app.clock.advance(time::Duration::seconds(61));
        assert!(revoked_within(&mut expiring, StdDuration::from_secs(1)).await);
    }
);
