//! The demo's sample host application: what a SaaS portal embedding a Vitrine dashboard looks
//! like. It listens on its own port on `localhost` (another origin than Vitrine's
//! `127.0.0.1`), shows a customer picker, and its backend route `/guest-token?customer=ID`
//! mints a guest token for the customer-usage dashboard with the row-level rule
//! `customer_id = ID` — in process here, through [`vitrine_app::embedding::mint_guest_token`],
//! where a real host would call `POST /api/v1/guest-tokens` with an API key. The page mounts
//! the dashboard with the SDK (`/static/embed.js`).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use vitrine_app::App;
use vitrine_app::embedding::{self, EmbeddingInput, GuestResource, GuestTokenRequest};
use vitrine_store::Member;

#[derive(Clone)]
struct Host {
    state: App,
    admin: Member,
    embed_id: String,
    page: String,
}

/// Enables embedding on the customer-usage dashboard for `host_origin`, and returns the
/// host application's router.
pub async fn host_app(
    state: &App,
    admin: &Member,
    host_origin: &str,
    vitrine_url: &str,
    warehouse: &Path,
) -> anyhow::Result<axum::Router> {
    let fail = |e: vitrine_app::Error| anyhow::anyhow!("cannot enable the demo embedding: {e}");
    let dashboard = state
        .store
        .dashboard_by_slug(admin.workspace_id, "customer-usage")
        .await?
        .context("the customer-usage dashboard is missing")?;
    let input = EmbeddingInput {
        allowed_origins: vec![host_origin.to_owned()],
        ui: None,
        host_filters: Some(vec!["period".into(), "plan".into()]),
        enabled: Some(true),
    };
    let embedding = embedding::save_embedding(state, admin, dashboard.id, input)
        .await
        .map_err(fail)?;
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", warehouse.display())).await?;
    let customers: Vec<(i64, String)> =
        sqlx::query_as("SELECT customer_id, name FROM customers ORDER BY name LIMIT 25")
            .fetch_all(&pool)
            .await?;
    pool.close().await;
    let options: String = customers
        .iter()
        .map(|(id, name)| format!("<option value=\"{id}\">{}</option>", escape(name)))
        .collect();
    let vitrine = vitrine_url.trim_end_matches('/');
    let page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Acme Portal (a sample host application)</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}}header{{display:flex;gap:1rem;align-items:center}}#log{{color:#666;font-size:.85rem}}</style>
</head><body>
<header><h1>Acme Portal</h1>
<label>Signed in as the customer <select id="customer">{options}</select></label></header>
<p>This page is another origin than Vitrine. Its backend mints a guest token restricted to the
picked customer's rows; the dashboard below is mounted with Vitrine's SDK.</p>
<div id="dashboard"></div>
<p id="log"></p>
<script src="{vitrine}/static/embed.js"></script>
<script>
let handle = null;
const log = (t) => (document.getElementById("log").textContent = t);
async function mount() {{
  if (handle) handle.unmount();
  const customer = document.getElementById("customer").value;
  handle = await Vitrine.embedDashboard({{
    id: "{embed_id}",
    vitrineDomain: "{vitrine}",
    mountPoint: document.getElementById("dashboard"),
    fetchGuestToken: () => fetch("/guest-token?customer=" + customer).then((r) => r.json()),
    iframeTitle: "Customer usage",
  }});
  for (const e of ["ready", "filters-changed", "auth-expired", "error"]) {{
    handle.on(e, (d) => log(e + " " + JSON.stringify(d || {{}})));
  }}
}}
document.getElementById("customer").addEventListener("change", mount);
mount().catch((e) => log("error: " + e.message));
</script></body></html>"#,
        embed_id = embedding.id,
    );
    let host = Host {
        state: state.clone(),
        admin: admin.clone(),
        embed_id: embedding.id,
        page,
    };
    Ok(axum::Router::new()
        .route("/", axum::routing::get(show_portal))
        .route("/guest-token", axum::routing::get(mint_token))
        .with_state(host))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn show_portal(State(host): State<Host>) -> Html<String> {
    Html(host.page.clone())
}

/// The host's backend route: a token for the picked customer only.
async fn mint_token(
    State(host): State<Host>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(customer) = query.get("customer").and_then(|c| c.parse::<i64>().ok()) else {
        return (StatusCode::BAD_REQUEST, "customer").into_response();
    };
    let request = GuestTokenRequest {
        resources: vec![GuestResource {
            kind: "dashboard".to_owned(),
            id: host.embed_id.clone(),
        }],
        rls: vec![serde_json::json!({ "column": "customer_id", "op": "=", "value": customer })],
        user: serde_json::json!({ "username": format!("customer-{customer}@portal.example") }),
        expires_in: Some(300),
    };
    match embedding::mint_guest_token(&host.state, &host.admin, None, request).await {
        Ok(minted) => axum::Json(minted).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "the demo host could not mint a guest token");
            StatusCode::BAD_GATEWAY.into_response()
        }
    }
}
