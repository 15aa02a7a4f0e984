//! The owner's embedding page, next to the share links: `/dashboards/{id}/embedding` shows the
//! embed id, the allowed origins, the default UI configuration, the filters the host may set
//! and ready-to-paste snippets (each with a Copy button), and lets a member with `embed`
//! enable, change, disable it and revoke every guest token. Decisions are in
//! [`vitrine_app::embedding`].

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use vitrine_app::embedding::{self, EmbeddingInput, EmbeddingView, UiConfig};
use vitrine_app::links::LinkTheme;
use vitrine_app::{App, Error};
use vitrine_core::dashboard::Dashboard;
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
    ui: UiConfig,
    /// The theme's word (`system`, `light`, `dark`).
    theme: &'static str,
    /// The dashboard's filters: whether the host may set each.
    filters: Vec<HostFilter>,
    notice: Option<String>,
    error: Option<String>,
}

/// One of the dashboard's filters on the embedding page.
#[derive(Debug)]
struct HostFilter {
    id: String,
    label: String,
    /// The host (and its viewer) may set it.
    open: bool,
}

fn theme_word(theme: LinkTheme) -> &'static str {
    match theme {
        LinkTheme::Light => "light",
        LinkTheme::Dark => "dark",
        LinkTheme::System => "system",
    }
}

fn theme_of(word: Option<&str>) -> LinkTheme {
    match word {
        Some("light") => LinkTheme::Light,
        Some("dark") => LinkTheme::Dark,
        _ => LinkTheme::System,
    }
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
    let (origins, enabled, ui) = match &embedding {
        Some(e) => (
            e.allowed_origins
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            e.enabled,
            e.ui.clone(),
        ),
        None => (String::new(), true, UiConfig::default()),
    };
    // A stored dashboard that no longer parses shows no filters here; saving says why.
    let filters = Dashboard::from_yaml(&record.document)
        .map(|doc| {
            doc.filters
                .iter()
                .map(|f| HostFilter {
                    id: f.id.as_str().to_owned(),
                    label: f.label.clone(),
                    // Not embedded yet: every filter, as the API's default.
                    open: embedding
                        .as_ref()
                        .is_none_or(|e| e.host_filters.iter().any(|h| h == f.id.as_str())),
                })
                .collect()
        })
        .unwrap_or_default();
    let page = EmbeddingPage {
        chrome: Chrome::new(identity, "home"),
        dashboard_id: id.0,
        dashboard_title: record.title.clone(),
        embedding,
        grants,
        can_embed: identity.actor().can_embed(),
        origins,
        enabled,
        theme: theme_word(ui.theme),
        ui,
        filters,
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
    // The form shows every setting: an unchecked box is "off", no ticked host filter is none.
    let ui = UiConfig {
        hide_title: get("hide_title").is_some(),
        hide_chart_controls: get("hide_chart_controls").is_some(),
        filters_visible: get("filters_visible").is_some(),
        filters_expanded: get("filters_expanded").is_some(),
        theme: theme_of(get("theme")),
    };
    let host_filters = fields
        .iter()
        .filter(|(n, _)| n == "host_filter")
        .map(|(_, v)| v.clone())
        .collect();
    let input = EmbeddingInput {
        allowed_origins: get("origins")
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        ui: Some(ui),
        host_filters: Some(host_filters),
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
