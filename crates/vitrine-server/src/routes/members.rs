//! Members: the page for admins and member managers, and `/api/v1/members`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::id::MemberId;
use vitrine_core::member::{Permissions, Role};

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::{self, Json};
use crate::pages::{Chrome, MembersPage, OneTimeSecret, paths};
use vitrine_app::App;
use vitrine_app::Error;
use vitrine_app::accounts::{self, Acting, Invite, MemberView};

/// Member pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(paths::MEMBERS, get(show_members).post(invite_member))
        .route(
            "/members/{id}",
            get(super::data_rules::show_member).post(update_member),
        )
        .route("/members/{id}/reset-password", post(reset_member_password))
        .route("/members/{id}/delete", post(remove_member))
}

/// Member API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_members_api, invite_member_api))
        .routes(routes!(update_member_api, remove_member_api))
        .routes(routes!(reset_member_password_api))
}

async fn members_page(
    state: &App,
    identity: &Identity,
    created: Option<OneTimeSecret>,
    error: Option<String>,
) -> Result<MembersPage, HttpError> {
    let acting = Acting::member(&identity.member);
    let workspace = identity.member.workspace_id;
    let members = accounts::list_members(state, &acting, workspace).await?;
    let invitations = vitrine_app::invitations::list(state, &acting, workspace).await?;
    Ok(MembersPage {
        invitations: invitations.iter().map(Into::into).collect(),
        chrome: Chrome::new(identity, "members"),
        members,
        me: identity.member.id.0,
        is_admin: identity.actor().is_admin(),
        created,
        error,
    })
}

/// Shows the page again after a form: errors the person can fix as a message, others as
/// an error page.
pub(crate) async fn after_form(
    state: &App,
    identity: &Identity,
    outcome: Result<Option<OneTimeSecret>, Error>,
) -> Result<Response, HttpError> {
    match outcome {
        Ok(None) => Ok(Redirect::to(paths::MEMBERS).into_response()),
        Ok(Some(created)) => Ok(members_page(state, identity, Some(created), None)
            .await?
            .into_response()),
        Err(Error::Invalid { message, .. } | Error::Conflict(message)) => {
            let page = members_page(state, identity, None, Some(message)).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn show_members(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<MembersPage, HttpError> {
    members_page(&state, &identity, None, None).await
}

#[derive(Debug, Deserialize)]
struct AccessForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    role: Role,
    share_public: Option<String>,
    embed: Option<String>,
    manage_members: Option<String>,
    manage_data_sources: Option<String>,
}

impl AccessForm {
    fn flags(&self) -> Permissions {
        Permissions {
            share_public: self.share_public.is_some(),
            embed: self.embed.is_some(),
            manage_members: self.manage_members.is_some(),
            manage_data_sources: self.manage_data_sources.is_some(),
        }
    }
}

async fn invite_member(
    State(state): State<App>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<AccessForm>,
) -> Result<Response, HttpError> {
    let invite = Invite {
        flags: form.flags(),
        email: form.email,
        name: form.name,
        role: form.role,
    };
    let acting = Acting::member(&identity.member);
    let outcome = accounts::invite_member(&state, &acting, identity.member.workspace_id, invite)
        .await
        .map(|(member, password)| {
            Some(OneTimeSecret {
                label: member.email,
                secret: password.password().expose().to_owned(),
            })
        });
    after_form(&state, &identity, outcome).await
}

async fn update_member(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<MemberId>,
    axum::Form(form): axum::Form<AccessForm>,
) -> Result<Response, HttpError> {
    let acting = Acting::member(&identity.member);
    let outcome = accounts::change_member_access(
        &state,
        &acting,
        identity.member.workspace_id,
        id,
        Some(form.role),
        Some(form.flags()),
    )
    .await
    .map(|_| None);
    after_form(&state, &identity, outcome).await
}

async fn reset_member_password(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<MemberId>,
) -> Result<Response, HttpError> {
    let acting = Acting::member(&identity.member);
    let outcome =
        accounts::reset_member_password(&state, &acting, identity.member.workspace_id, id)
            .await
            .map(|(member, password)| {
                Some(OneTimeSecret {
                    label: member.email,
                    secret: password.password().expose().to_owned(),
                })
            });
    after_form(&state, &identity, outcome).await
}

async fn remove_member(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<MemberId>,
) -> Result<Response, HttpError> {
    let acting = Acting::member(&identity.member);
    let outcome = accounts::remove_member(&state, &acting, identity.member.workspace_id, id)
        .await
        .map(|()| None);
    after_form(&state, &identity, outcome).await
}

// ---- API ---------------------------------------------------------------------------------

/// List members.
///
/// Admins and members holding `manage_members`.
#[utoipa::path(get, path = "/members", operation_id = "listMembers", tag = "members",
    responses(
        (status = 200, description = "The workspace's members", body = Vec<MemberView>),
        (status = 403, description = "Not allowed to manage members", body = ErrorBody),
    ))]
async fn list_members_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<MemberView>>, HttpError> {
    let members = accounts::list_members(
        &state,
        &Acting::member(&identity.member),
        identity.member.workspace_id,
    )
    .await?;
    Ok(Json(members))
}

/// An invitation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = InviteRequest)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    /// The e-mail address (the login name): `local@domain.tld`, at most 254 characters.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// The display name.
    #[serde(default)]
    #[schema(schema_with = vitrine_app::openapi::display_name)]
    name: String,
    /// The role; only admins can make admins.
    role: Role,
    /// The permission flags; only admins can give `manage_members`.
    #[serde(default)]
    permissions: Permissions,
}

/// A member with a one-time password, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Invitation)]
struct MemberWithPassword {
    /// The member.
    member: MemberView,
    /// Their one-time password: they choose a new one when they first sign in.
    one_time_password: String,
}

/// Invite a member.
///
/// Creates the member with a one-time password, returned once.
#[utoipa::path(post, path = "/members", operation_id = "inviteMember", tag = "members",
    request_body = InviteBody,
    responses(
        (status = 201, description = "The member and their one-time password", body = MemberWithPassword),
        (status = 403, description = "Not allowed to manage members", body = ErrorBody),
        (status = 409, description = "A member with this e-mail address exists", body = ErrorBody),
    ))]
async fn invite_member_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<InviteBody>,
) -> Result<(StatusCode, Json<MemberWithPassword>), HttpError> {
    let invite = Invite {
        email: body.email,
        name: body.name,
        role: body.role,
        flags: body.permissions,
    };
    let acting = Acting::member(&identity.member);
    let (member, password) =
        accounts::invite_member(&state, &acting, identity.member.workspace_id, invite).await?;
    Ok((
        StatusCode::CREATED,
        Json(MemberWithPassword {
            member: MemberView::from(&member),
            one_time_password: password.password().expose().to_owned(),
        }),
    ))
}

/// A change of access; absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = AccessRequest)]
#[serde(deny_unknown_fields)]
struct AccessBody {
    /// The new role; only admins can make admins.
    role: Option<Role>,
    /// The new permission flags; only admins can give `manage_members`.
    permissions: Option<Permissions>,
}

/// Change a member's role or permissions.
#[utoipa::path(patch, path = "/members/{id}", operation_id = "updateMember", tag = "members",
    params(("id" = i64, Path, description = "Member id")),
    request_body = AccessBody,
    responses(
        (status = 200, description = "The member", body = MemberView),
        (status = 403, description = "Not allowed to manage this member", body = ErrorBody),
        (status = 404, description = "No such member", body = ErrorBody),
        (status = 409, description = "It would leave the workspace without an admin", body = ErrorBody),
    ))]
async fn update_member_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<MemberId>,
    Json(body): Json<AccessBody>,
) -> Result<Json<MemberView>, HttpError> {
    let workspace = identity.member.workspace_id;
    let acting = Acting::member(&identity.member);
    let member =
        accounts::change_member_access(&state, &acting, workspace, id, body.role, body.permissions)
            .await?;
    Ok(Json(MemberView::from(&member)))
}

/// Reset a member's password.
///
/// Gives them a new one-time password (returned once) and ends their sessions.
#[utoipa::path(post, path = "/members/{id}/reset-password", operation_id = "resetMemberPassword",
    tag = "members",
    params(("id" = i64, Path, description = "Member id")),
    responses(
        (status = 200, description = "The member and their new one-time password", body = MemberWithPassword),
        (status = 403, description = "Not allowed to manage this member", body = ErrorBody),
        (status = 404, description = "No such member", body = ErrorBody),
    ))]
async fn reset_member_password_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<MemberId>,
) -> Result<Json<MemberWithPassword>, HttpError> {
    let acting = Acting::member(&identity.member);
    let (member, password) =
        accounts::reset_member_password(&state, &acting, identity.member.workspace_id, id).await?;
    Ok(Json(MemberWithPassword {
        member: MemberView::from(&member),
        one_time_password: password.password().expose().to_owned(),
    }))
}

/// Remove a member.
///
/// Their sessions and API keys go with them. Nobody can remove themselves, nor the last
/// admin (409).
#[utoipa::path(delete, path = "/members/{id}", operation_id = "removeMember", tag = "members",
    params(("id" = i64, Path, description = "Member id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not allowed to manage this member", body = ErrorBody),
        (status = 404, description = "No such member", body = ErrorBody),
        (status = 409, description = "The caller themselves, or the last admin", body = ErrorBody),
    ))]
async fn remove_member_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<MemberId>,
) -> Result<StatusCode, HttpError> {
    let acting = Acting::member(&identity.member);
    accounts::remove_member(&state, &acting, identity.member.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
