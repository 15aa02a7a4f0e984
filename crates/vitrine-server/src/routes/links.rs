//! `/api/v1/links…` and `/api/v1/workspace/…`: share links and the link policy.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use vitrine_core::id::DashboardId;

use crate::auth::ApiMember;
use crate::error::HttpError;
use vitrine_app::App;
use vitrine_app::links::{self, LinkAction, LinkChanges, LinkView, NewLink, PolicyView};

/// Link and policy API.
pub fn api() -> Router<App> {
    Router::new()
        .route("/links", get(list_links).post(create_link))
        .route(
            "/links/{id}",
            get(show_link).patch(update_link).delete(delete_link),
        )
        .route("/links/{id}/disable", post(disable_link))
        .route("/links/{id}/enable", post(enable_link))
        .route("/links/{id}/rotate", post(rotate_link))
        .route("/links/{id}/events", get(list_link_events))
        .route("/workspace/policy", get(show_policy).put(update_policy))
        .route("/workspace/suspend", post(suspend_workspace))
        .route("/workspace/resume", post(resume_workspace))
}

#[derive(Debug, Deserialize)]
struct LinkQuery {
    dashboard_id: Option<DashboardId>,
}

async fn list_links(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Query(query): Query<LinkQuery>,
) -> Result<Json<Vec<LinkView>>, HttpError> {
    Ok(Json(
        links::list_links(&state, &identity.member, query.dashboard_id).await?,
    ))
}

async fn create_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(new): Json<NewLink>,
) -> Result<(StatusCode, Json<LinkView>), HttpError> {
    Ok((
        StatusCode::CREATED,
        Json(links::create_link(&state, &identity.member, new).await?),
    ))
}

async fn show_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, HttpError> {
    Ok(Json(links::show_link(&state, &identity.member, &id).await?))
}

async fn update_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
    Json(changes): Json<LinkChanges>,
) -> Result<Json<LinkView>, HttpError> {
    Ok(Json(
        links::update_link(&state, &identity.member, &id, changes).await?,
    ))
}

async fn act(
    state: &App,
    identity: &crate::auth::Identity,
    id: &str,
    action: LinkAction,
) -> Result<Json<LinkView>, HttpError> {
    Ok(Json(
        links::act_on_link(state, &identity.member, id, action).await?,
    ))
}

async fn disable_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, HttpError> {
    act(&state, &identity, &id, LinkAction::Disable).await
}

async fn enable_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, HttpError> {
    act(&state, &identity, &id, LinkAction::Enable).await
}

async fn rotate_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, HttpError> {
    act(&state, &identity, &id, LinkAction::Rotate).await
}

async fn delete_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    links::act_on_link(&state, &identity.member, &id, LinkAction::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct LimitQuery {
    limit: Option<i64>,
}

/// An access event in the API (the client address is never shown, not even hashed).
#[derive(Debug, Serialize)]
struct AccessEventView {
    #[serde(with = "time::serde::rfc3339")]
    at: time::OffsetDateTime,
    outcome: String,
    country: Option<String>,
    client_class: String,
}

async fn list_link_events(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<AccessEventView>>, HttpError> {
    let events =
        links::link_events(&state, &identity.member, &id, query.limit.unwrap_or(100)).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AccessEventView {
                at: e.at,
                outcome: e.outcome,
                country: e.country,
                client_class: e.client_class,
            })
            .collect(),
    ))
}

async fn show_policy(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<PolicyView>, HttpError> {
    Ok(Json(links::policy(&state, &identity.member).await?))
}

async fn update_policy(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(policy): Json<PolicyView>,
) -> Result<Json<PolicyView>, HttpError> {
    Ok(Json(
        links::set_policy(&state, &identity.member, policy).await?,
    ))
}

async fn suspend_workspace(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<PolicyView>, HttpError> {
    Ok(Json(
        links::set_suspended(&state, &identity.member, true).await?,
    ))
}

async fn resume_workspace(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<PolicyView>, HttpError> {
    Ok(Json(
        links::set_suspended(&state, &identity.member, false).await?,
    ))
}
