//! Members: the page for admins and member managers, and `/api/v1/members`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use vitrine_core::id::MemberId;
use vitrine_core::member::{Permissions, Role};

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::HttpError;
use crate::pages::{Chrome, MembersPage, OneTimeSecret, paths};
use vitrine_app::App;
use vitrine_app::Error;
use vitrine_app::accounts::{self, Acting, Invite, MemberView};

/// Member pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(paths::MEMBERS, get(show_members).post(invite_member))
        .route("/members/{id}", post(update_member))
        .route("/members/{id}/reset-password", post(reset_member_password))
        .route("/members/{id}/delete", post(remove_member))
}

/// Member API.
pub fn api() -> Router<App> {
    Router::new()
        .route("/members", get(list_members_api).post(invite_member_api))
        .route(
            "/members/{id}",
            axum::routing::patch(update_member_api).delete(remove_member_api),
        )
        .route(
            "/members/{id}/reset-password",
            post(reset_member_password_api),
        )
}

async fn members_page(
    state: &App,
    identity: &Identity,
    created: Option<OneTimeSecret>,
    error: Option<String>,
) -> Result<MembersPage, HttpError> {
    let actor = identity.actor();
    if !actor.can_manage_members() {
        return Err(Error::Forbidden.into());
    }
    let members = state.store.members(actor.workspace_id).await?;
    Ok(MembersPage {
        chrome: Chrome::new(identity, "members"),
        members: members.iter().map(MemberView::from).collect(),
        me: identity.member.id.0,
        is_admin: actor.is_admin(),
        created,
        error,
    })
}

/// Shows the page again after a form: errors the person can fix as a message, others as
/// an error page.
async fn after_form(
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
}

impl AccessForm {
    fn flags(&self) -> Permissions {
        Permissions {
            share_public: self.share_public.is_some(),
            embed: self.embed.is_some(),
            manage_members: self.manage_members.is_some(),
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

async fn list_members_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<MemberView>>, HttpError> {
    let actor = identity.actor();
    if !actor.can_manage_members() {
        return Err(Error::Forbidden.into());
    }
    let members = state.store.members(actor.workspace_id).await?;
    Ok(Json(members.iter().map(MemberView::from).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: String,
    #[serde(default)]
    name: String,
    role: Role,
    #[serde(default)]
    permissions: Permissions,
}

async fn invite_member_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<InviteBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), HttpError> {
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
        Json(serde_json::json!({
            "member": MemberView::from(&member),
            "one_time_password": password.password().expose(),
        })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessBody {
    role: Option<Role>,
    permissions: Option<Permissions>,
}

async fn update_member_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<MemberId>,
    Json(body): Json<AccessBody>,
) -> Result<Json<MemberView>, HttpError> {
    let workspace = identity.member.workspace_id;
    let acting = Acting::member(&identity.member);
    let member =
        accounts::change_member_access(&state, &acting, workspace, id, body.role, body.permissions)
            .await?;
    Ok(Json(MemberView::from(&member)))
}

async fn reset_member_password_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<MemberId>,
) -> Result<Json<serde_json::Value>, HttpError> {
    let acting = Acting::member(&identity.member);
    let (member, password) =
        accounts::reset_member_password(&state, &acting, identity.member.workspace_id, id).await?;
    Ok(Json(serde_json::json!({
        "member": MemberView::from(&member),
        "one_time_password": password.password().expose(),
    })))
}

async fn remove_member_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<MemberId>,
) -> Result<StatusCode, HttpError> {
    let acting = Acting::member(&identity.member);
    accounts::remove_member(&state, &acting, identity.member.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
