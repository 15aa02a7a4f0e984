//! The owner's embedding page, next to the share links: `/dashboards/{id}/embedding` shows the
//! embed id, the allowed origins and ready-to-paste snippets, and lets a member with `embed`
//! enable, change, disable it and revoke every guest token. Decisions are in
//! [`vitrine_app::embedding`].

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use vitrine_app::embedding::{self, EmbeddingInput, EmbeddingView, UiConfig};
use vitrine_app::{App, Error};
use vitrine_core::id::DashboardId;

use crate::auth::PageMember;
use crate::error::HttpError;

use crate::pages::Chrome;

/// Embedding pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(
            "/dashboards/{id}/embedding",
            get(show_embedding_page).post(save_embedding_form),
        )
        .route(
            "/dashboards/{id}/embedding/revoke",
            post(revoke_embedding_grants),
        )
}

/// The embedding page.
#[derive(Debug, Template)]
#[template(path = "embedding.html")]
struct EmbeddingPage {
    chrome: Chrome,
    dashboard_id: i64,
    dashboard_title: String,
    embedding: Option<EmbeddingView>,
    grants: usize,
    can_embed: bool,
    origins: String,
    enabled: bool,
    hide_title: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn page(
    state: &App,
    identity: &crate::auth::Identity,
    id: DashboardId,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, HttpError> {
    let record = vitrine_app::content::visible_dashboard(state, &identity.member, id).await?;
    let embedding = embedding::show_embedding(state, &identity.member, id).await?;
    let grants = embedding::live_grants(state, &identity.member, id)
        .await?
        .len();
    let (origins, enabled, hide_title) = match &embedding {
        Some(e) => (
            e.allowed_origins
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            e.enabled,
            e.ui.hide_title,
        ),
        None => (String::new(), true, false),
    };
    let page = EmbeddingPage {
        chrome: Chrome::new(identity, "home"),
        dashboard_id: id.0,
        dashboard_title: record.title.clone(),
        embedding,
        grants,
        can_embed: identity.actor().can_embed(),
        origins,
        enabled,
        hide_title,
        notice,
        error,
    };
    Ok(crate::pages::render(&page))
}

async fn show_embedding_page(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
) -> Result<Response, HttpError> {
    page(&state, &identity, id, None, None).await
}

async fn save_embedding_form(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let current = embedding::show_embedding(&state, &identity.member, id).await?;
    let mut ui = current
        .as_ref()
        .map(|e| e.ui.clone())
        .unwrap_or_else(UiConfig::default);
    ui.hide_title = get("hide_title").is_some();
    let input = EmbeddingInput {
        allowed_origins: get("origins")
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        ui: Some(ui),
        host_filters: current.map(|e| e.host_filters),
        enabled: Some(get("enabled").is_some()),
    };
    match embedding::save_embedding(&state, &identity.member, id, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/dashboards/{}/embedding", id.0)).into_response()),
        Err(Error::Invalid { message, .. } | Error::Conflict(message)) => {
            page(&state, &identity, id, None, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn revoke_embedding_grants(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
) -> Result<Response, HttpError> {
    let n = embedding::revoke_all_grants(&state, &identity.member, id).await?;
    page(
        &state,
        &identity,
        id,
        Some(format!("Revoked {n} guest token(s).")),
        None,
    )
    .await
}
