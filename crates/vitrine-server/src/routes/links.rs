//! `/api/v1/links…` and `/api/v1/workspace/…`: share links and the link policy.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::id::DashboardId;

use crate::auth::ApiMember;
use crate::error::{ErrorBody, HttpError};
use crate::extract::{Json, Path, Query};
use crate::routes::audit::LimitQuery;
use vitrine_app::App;
use vitrine_app::links::{self, LinkAction, LinkChanges, LinkView, NewLink, PolicyView};

/// Link and policy API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_links, create_link))
        .routes(routes!(show_link, update_link, delete_link))
        .routes(routes!(disable_link))
        .routes(routes!(enable_link))
        .routes(routes!(rotate_link))
        .routes(routes!(list_link_events))
        .routes(routes!(list_link_viewers))
        .routes(routes!(show_policy, update_policy))
        .routes(routes!(suspend_workspace))
        .routes(routes!(resume_workspace))
}

/// Which links to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LinkQuery {
    /// Only this dashboard's links.
    #[param(value_type = Option<i64>)]
    dashboard_id: Option<DashboardId>,
}

/// List share links.
///
/// Editors and admins; viewers get 403. Deleted links are listed with state `deleted` (their
/// history is kept).
#[utoipa::path(get, path = "/links", operation_id = "listLinks", tag = "links",
    params(LinkQuery),
    responses(
        (status = 200, description = "The links, with their URLs and traffic", body = Vec<LinkView>),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn list_links(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Query(query): Query<LinkQuery>,
) -> Result<Json<Vec<LinkView>>, HttpError> {
    Ok(Json(
        links::list_links(&state, &identity.member, query.dashboard_id).await?,
    ))
}

/// Create a share link.
///
/// Needs `share_public` (admins always); allowing embedding needs `embed`. The workspace
/// policy (links allowed, longest expiry, password required) is enforced, and the settings
/// are checked against the dashboard (its widgets and filters): 400 naming what does not fit.
#[utoipa::path(post, path = "/links", operation_id = "createLink", tag = "links",
    request_body = NewLink,
    responses(
        (status = 201, description = "The link, with its URLs", body = LinkView),
        (status = 403, description = "Not allowed to share (or to embed)", body = ErrorBody),
        (status = 404, description = "No such dashboard", body = ErrorBody),
        (status = 409, description = "Public links are turned off in this workspace", body = ErrorBody),
    ))]
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

/// Show a share link.
///
/// With its URLs, shown again any time (they are derived from the server key, never stored).
#[utoipa::path(get, path = "/links/{id}", operation_id = "getLink", tag = "links",
    params(("id" = String, Path, description = "Link id")),
    responses(
        (status = 200, description = "The link", body = LinkView),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
    ))]
async fn show_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, HttpError> {
    Ok(Json(links::show_link(&state, &identity.member, &id).await?))
}

/// Change a share link.
///
/// Label, expiry, password, locked and open filters, display options, embed policy; absent
/// fields stay as they are. A password change signs out everyone who unlocked the link.
#[utoipa::path(patch, path = "/links/{id}", operation_id = "updateLink", tag = "links",
    params(("id" = String, Path, description = "Link id")),
    request_body = LinkChanges,
    responses(
        (status = 200, description = "The link", body = LinkView),
        (status = 403, description = "Not allowed to share (or to embed)", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
        (status = 409, description = "The link was deleted", body = ErrorBody),
    ))]
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

/// Disable a share link.
///
/// Its URL is kept: enabling it brings it back. Open pages close within a second.
#[utoipa::path(post, path = "/links/{id}/disable", operation_id = "disableLink", tag = "links",
    params(("id" = String, Path, description = "Link id")),
    responses(
        (status = 200, description = "The link", body = LinkView),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
        (status = 409, description = "The link was deleted", body = ErrorBody),
    ))]
async fn disable_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, HttpError> {
    act(&state, &identity, &id, LinkAction::Disable).await
}

/// Enable a share link.
///
/// The same URL works again. Needs `share_public`.
#[utoipa::path(post, path = "/links/{id}/enable", operation_id = "enableLink", tag = "links",
    params(("id" = String, Path, description = "Link id")),
    responses(
        (status = 200, description = "The link", body = LinkView),
        (status = 403, description = "Not allowed to share", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
        (status = 409, description = "The link was deleted, or public links are turned off", body = ErrorBody),
    ))]
async fn enable_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, HttpError> {
    act(&state, &identity, &id, LinkAction::Enable).await
}

/// Rotate a share link.
///
/// A new URL and short link; the old ones stop working at once. Needs `share_public`.
#[utoipa::path(post, path = "/links/{id}/rotate", operation_id = "rotateLink", tag = "links",
    params(("id" = String, Path, description = "Link id")),
    responses(
        (status = 200, description = "The link with its new URLs", body = LinkView),
        (status = 403, description = "Not allowed to share", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
        (status = 409, description = "The link was deleted", body = ErrorBody),
    ))]
async fn rotate_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, HttpError> {
    act(&state, &identity, &id, LinkAction::Rotate).await
}

/// Delete a share link.
///
/// It stops working for good; its access history is kept.
#[utoipa::path(delete, path = "/links/{id}", operation_id = "deleteLink", tag = "links",
    params(("id" = String, Path, description = "Link id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
        (status = 409, description = "Already deleted", body = ErrorBody),
    ))]
async fn delete_link(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    links::act_on_link(&state, &identity.member, &id, LinkAction::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An access event in the API (the client address is never shown, not even hashed).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AccessEvent)]
struct AccessEventView {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    at: time::OffsetDateTime,
    /// `ok`, `bad_password`, `expired`, `disabled`, `rate_limited`, `not_found`,
    /// `export_pdf` …
    outcome: String,
    /// The client's country (ISO 3166 code), when GeoIP is set up.
    country: Option<String>,
    /// A coarse client class (`browser`, `bot` …).
    client_class: String,
    /// The address an identified viewer confirmed (links with `access.confirm_email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    viewer: Option<String>,
}

/// A share link's access history.
///
/// Every request to the link, newest first: good, expired, disabled, wrong password,
/// throttled.
#[utoipa::path(get, path = "/links/{id}/events", operation_id = "listLinkEvents", tag = "links",
    params(("id" = String, Path, description = "Link id"), LimitQuery),
    responses(
        (status = 200, description = "The events, newest first", body = Vec<AccessEventView>),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
    ))]
async fn list_link_events(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<AccessEventView>>, HttpError> {
    let limit = query.limit()?;
    let events = links::link_events(&state, &identity.member, &id, limit).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AccessEventView {
                at: e.at,
                outcome: e.outcome,
                country: e.country,
                client_class: e.client_class,
                viewer: e.viewer,
            })
            .collect(),
    ))
}

/// Who viewed an identified link.
///
/// The addresses viewers confirmed on a link with `access.confirm_email`, with their page
/// views and the last one, most recent first (within the access log's retention, at most 500).
/// Editors and admins who manage the link.
#[utoipa::path(get, path = "/links/{id}/viewers", operation_id = "listLinkViewers", tag = "links",
    params(("id" = String, Path, description = "Link id")),
    responses(
        (status = 200, description = "The viewers, most recent first", body = Vec<vitrine_app::identified::Viewer>),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
    ))]
async fn list_link_viewers(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Json<Vec<vitrine_app::identified::Viewer>>, HttpError> {
    Ok(Json(
        vitrine_app::identified::viewers(&state, &identity.member, &id).await?,
    ))
}

/// The workspace's link policy.
///
/// Editors and admins read it; admins change it.
#[utoipa::path(get, path = "/workspace/policy", operation_id = "getLinkPolicy", tag = "workspace",
    responses(
        (status = 200, description = "The policy", body = PolicyView),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn show_policy(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<PolicyView>, HttpError> {
    Ok(Json(links::policy(&state, &identity.member).await?))
}

/// Replace the link policy.
///
/// Admins. Existing links keep their settings; the policy applies to what is created or
/// changed from now on. `suspended` is read-only here (see suspend / resume).
#[utoipa::path(put, path = "/workspace/policy", operation_id = "updateLinkPolicy", tag = "workspace",
    request_body = PolicyView,
    responses(
        (status = 200, description = "The policy", body = PolicyView),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn update_policy(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(policy): Json<PolicyView>,
) -> Result<Json<PolicyView>, HttpError> {
    Ok(Json(
        links::set_policy(&state, &identity.member, policy).await?,
    ))
}

/// Suspend the workspace's sharing.
///
/// Every share link answers "no longer active" until resumed; open pages close. Admins.
#[utoipa::path(post, path = "/workspace/suspend", operation_id = "suspendWorkspace", tag = "workspace",
    responses(
        (status = 200, description = "The policy, suspended", body = PolicyView),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn suspend_workspace(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<PolicyView>, HttpError> {
    Ok(Json(
        links::set_suspended(&state, &identity.member, true).await?,
    ))
}

/// Resume the workspace's sharing.
///
/// Links that are enabled and unexpired work again. Admins.
#[utoipa::path(post, path = "/workspace/resume", operation_id = "resumeWorkspace", tag = "workspace",
    responses(
        (status = 200, description = "The policy", body = PolicyView),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn resume_workspace(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<PolicyView>, HttpError> {
    Ok(Json(
        links::set_suspended(&state, &identity.member, false).await?,
    ))
}
