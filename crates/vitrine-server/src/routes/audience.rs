//! Who one dashboard is given to: the People panel's forms (restrict, give a member or a role
//! viewer / editor rights, change, remove) and `/api/v1/dashboards/{id}/audience`. The rules
//! live in `vitrine_app::audience`.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_app::audience::{self, AudienceView, GrantInput, RestrictionInput};
use vitrine_app::{App, Error};
use vitrine_core::audience::DashboardRight;
use vitrine_core::id::{DashboardId, MemberId};
use vitrine_core::member::Role;

use crate::auth::{ApiMember, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::Json;

/// The People panel's forms.
pub fn pages() -> Router<App> {
    Router::new()
        .route(
            "/dashboards/{id}/people/restriction",
            post(update_restriction),
        )
        .route("/dashboards/{id}/people/members", post(grant_member))
        .route(
            "/dashboards/{id}/people/members/{member}/remove",
            post(remove_member_grant),
        )
        .route("/dashboards/{id}/people/roles", post(grant_role))
        .route(
            "/dashboards/{id}/people/roles/{role}/remove",
            post(remove_role_grant),
        )
}

/// The API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(show_audience_api, update_restriction_api))
        .routes(routes!(grant_member_api, remove_member_grant_api))
        .routes(routes!(grant_role_api, remove_role_grant_api))
}

fn back(id: DashboardId) -> Response {
    Redirect::to(&format!("/dashboards/{id}/people")).into_response()
}

fn right_of(s: &str) -> Result<DashboardRight, Error> {
    DashboardRight::parse(s)
        .ok_or_else(|| Error::invalid_field("access", "Choose viewer or editor rights."))
}

#[derive(Debug, Deserialize)]
struct RestrictionForm {
    #[serde(default)]
    restricted: Option<String>,
}

async fn update_restriction(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    axum::Form(form): axum::Form<RestrictionForm>,
) -> Result<Response, HttpError> {
    audience::set_restricted(&state, &identity.member, id, form.restricted.is_some()).await?;
    Ok(back(id))
}

#[derive(Debug, Deserialize)]
struct MemberGrantForm {
    member_id: i64,
    access: String,
}

async fn grant_member(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    axum::Form(form): axum::Form<MemberGrantForm>,
) -> Result<Response, HttpError> {
    let access = right_of(&form.access)?;
    audience::set_member_grant(
        &state,
        &identity.member,
        id,
        MemberId(form.member_id),
        Some(access),
    )
    .await?;
    Ok(back(id))
}

async fn remove_member_grant(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, member)): Path<(DashboardId, i64)>,
) -> Result<Response, HttpError> {
    audience::set_member_grant(&state, &identity.member, id, MemberId(member), None).await?;
    Ok(back(id))
}

#[derive(Debug, Deserialize)]
struct RoleGrantForm {
    role: String,
    access: String,
}

fn role_of(s: &str) -> Result<Role, Error> {
    s.parse()
        .map_err(|_| Error::invalid_field("role", "Choose the editor or viewer role."))
}

async fn grant_role(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    axum::Form(form): axum::Form<RoleGrantForm>,
) -> Result<Response, HttpError> {
    let access = right_of(&form.access)?;
    let role = role_of(&form.role)?;
    audience::set_role_grant(&state, &identity.member, id, role, Some(access)).await?;
    Ok(back(id))
}

async fn remove_role_grant(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, role)): Path<(DashboardId, String)>,
) -> Result<Response, HttpError> {
    let role = role_of(&role)?;
    audience::set_role_grant(&state, &identity.member, id, role, None).await?;
    Ok(back(id))
}

// ---- API ---------------------------------------------------------------------------------

/// Who a dashboard is given to.
///
/// Its visibility (`draft`, `published` or `restricted`) and the roles and members granted it
/// with their rights. Members with an editor's role and an editor right on the dashboard.
#[utoipa::path(get, path = "/dashboards/{id}/audience", operation_id = "getDashboardAudience",
    tag = "dashboards",
    params(("id" = i64, Path, description = "The dashboard")),
    responses(
        (status = 200, description = "Its audience", body = AudienceView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such dashboard or member", body = ErrorBody),
    ))]
async fn show_audience_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path(id): crate::extract::Path<DashboardId>,
) -> Result<Json<AudienceView>, HttpError> {
    Ok(Json(
        audience::audience(&state, &identity.member, id).await?,
    ))
}

/// Restrict a dashboard, or open it to the workspace again.
///
/// A restricted dashboard is seen only by admins and the roles and members granted it. A
/// member who restricts a dashboard without being an admin keeps an editor grant on it.
#[utoipa::path(put, path = "/dashboards/{id}/audience", operation_id = "setDashboardRestriction",
    tag = "dashboards",
    params(("id" = i64, Path, description = "The dashboard")),
    request_body = RestrictionInput,
    responses(
        (status = 200, description = "Its audience", body = AudienceView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such dashboard or member", body = ErrorBody),
    ))]
async fn update_restriction_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path(id): crate::extract::Path<DashboardId>,
    Json(input): Json<RestrictionInput>,
) -> Result<Json<AudienceView>, HttpError> {
    Ok(Json(
        audience::set_restricted(&state, &identity.member, id, input.restricted).await?,
    ))
}

/// Give a member rights on a dashboard.
///
/// `viewer` sees it; `editor` also changes it (and no other dashboard).
#[utoipa::path(put, path = "/dashboards/{id}/audience/members/{member}",
    operation_id = "grantDashboardToMember", tag = "dashboards",
    params(
        ("id" = i64, Path, description = "The dashboard"),
        ("member" = i64, Path, description = "The member"),
    ),
    request_body = GrantInput,
    responses(
        (status = 200, description = "Its audience", body = AudienceView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such dashboard or member", body = ErrorBody),
    ))]
async fn grant_member_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path((id, member)): crate::extract::Path<(DashboardId, String)>,
    Json(input): Json<GrantInput>,
) -> Result<Json<AudienceView>, HttpError> {
    // Read after the body, so a body that is not JSON is a 415 whatever the path says.
    let member: i64 = member.parse().map_err(|_| Error::NotFound)?;
    Ok(Json(
        audience::set_member_grant(
            &state,
            &identity.member,
            id,
            MemberId(member),
            Some(input.access),
        )
        .await?,
    ))
}

/// Take a member's own rights on a dashboard away.
#[utoipa::path(delete, path = "/dashboards/{id}/audience/members/{member}",
    operation_id = "removeDashboardMemberGrant", tag = "dashboards",
    params(
        ("id" = i64, Path, description = "The dashboard"),
        ("member" = i64, Path, description = "The member"),
    ),
    responses(
        (status = 200, description = "Its audience", body = AudienceView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such dashboard or member", body = ErrorBody),
    ))]
async fn remove_member_grant_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path((id, member)): crate::extract::Path<(DashboardId, i64)>,
) -> Result<Json<AudienceView>, HttpError> {
    Ok(Json(
        audience::set_member_grant(&state, &identity.member, id, MemberId(member), None).await?,
    ))
}

/// Give every member of a role rights on a dashboard.
#[utoipa::path(put, path = "/dashboards/{id}/audience/roles/{role}",
    operation_id = "grantDashboardToRole", tag = "dashboards",
    params(
        ("id" = i64, Path, description = "The dashboard"),
        ("role" = String, Path, description = "`editor` or `viewer` (admins see every dashboard)", pattern = "^(editor|viewer)$"),
    ),
    request_body = GrantInput,
    responses(
        (status = 200, description = "Its audience", body = AudienceView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such dashboard or member", body = ErrorBody),
    ))]
async fn grant_role_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path((id, role)): crate::extract::Path<(DashboardId, String)>,
    Json(input): Json<GrantInput>,
) -> Result<Json<AudienceView>, HttpError> {
    let role = role_of(&role)?;
    Ok(Json(
        audience::set_role_grant(&state, &identity.member, id, role, Some(input.access)).await?,
    ))
}

/// Take a role's rights on a dashboard away.
#[utoipa::path(delete, path = "/dashboards/{id}/audience/roles/{role}",
    operation_id = "removeDashboardRoleGrant", tag = "dashboards",
    params(
        ("id" = i64, Path, description = "The dashboard"),
        ("role" = String, Path, description = "`editor` or `viewer`", pattern = "^(editor|viewer)$"),
    ),
    responses(
        (status = 200, description = "Its audience", body = AudienceView),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such dashboard or member", body = ErrorBody),
    ))]
async fn remove_role_grant_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path((id, role)): crate::extract::Path<(DashboardId, Role)>,
) -> Result<Json<AudienceView>, HttpError> {
    Ok(Json(
        audience::set_role_grant(&state, &identity.member, id, role, None).await?,
    ))
}
