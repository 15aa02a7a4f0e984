//! Invitations by e-mail: the members page's forms (invite, resend, revoke), the accept page
//! an invitation's link opens (`/invitations/{token}`: a GET shows it, only its form's POST
//! accepts), and `/api/v1/invitations`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_app::invitations::{self, InvitationView, Standing};
use vitrine_app::{App, Error, accounts::Acting};
use vitrine_core::member::Role;
use vitrine_core::secret::{SecretToken, random_token};

use crate::auth::{self, ApiMember, MaybeMember, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::Json;
use crate::pages::{InvitationPage, paths};
use crate::routes::members::after_form;

/// The double-submit cookie of the accept form for visitors without a session.
const INVITE_CSRF_COOKIE: &str = "vitrine_invite_csrf";

/// Invitation pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route("/members/invitations", post(invite_by_email))
        .route("/members/invitations/{id}/resend", post(resend_invitation))
        .route("/members/invitations/{id}/revoke", post(revoke_invitation))
        .route(
            "/invitations/{token}",
            get(show_invitation).post(accept_invitation),
        )
}

/// Invitation API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations_api, create_invitations_api))
        .routes(routes!(revoke_invitation_api))
        .routes(routes!(resend_invitation_api))
}

#[derive(Debug, Deserialize)]
struct InviteForm {
    #[serde(default)]
    emails: String,
    role: Role,
}

async fn invite_by_email(
    State(state): State<App>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<InviteForm>,
) -> Result<Response, HttpError> {
    let acting = Acting::member(&identity.member);
    let outcome = invitations::invite(
        &state,
        &acting,
        identity.member.workspace_id,
        &form.emails,
        form.role,
    )
    .await
    .map(|_| None);
    after_form(&state, &identity, outcome).await
}

async fn resend_invitation(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
) -> Result<Response, HttpError> {
    let acting = Acting::member(&identity.member);
    invitations::resend(&state, &acting, identity.member.workspace_id, id).await?;
    Ok(Redirect::to(paths::MEMBERS).into_response())
}

async fn revoke_invitation(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
) -> Result<Response, HttpError> {
    let acting = Acting::member(&identity.member);
    invitations::revoke(&state, &acting, identity.member.workspace_id, id).await?;
    Ok(Redirect::to(paths::MEMBERS).into_response())
}

// ---- the accept page ---------------------------------------------------------------------

fn gone_message(standing: Standing) -> &'static str {
    match standing {
        Standing::Used => "This invitation has already been accepted.",
        Standing::Revoked => "This invitation was withdrawn.",
        Standing::Expired => "This invitation has expired.",
        Standing::SignIn | Standing::SignUp => "",
    }
}

/// Renders the accept page for `token` as it stands, with `error` from a failed form. Sets
/// a fresh double-submit cookie for visitors without a session.
async fn accept_page(
    state: &App,
    token: &str,
    visitor: &Option<auth::Identity>,
    status: StatusCode,
    name: &str,
    error: Option<String>,
) -> Result<Response, HttpError> {
    let action = format!("{}{token}", invitations::ACCEPT_PATH);
    let mut page = InvitationPage {
        mode: "missing",
        message: "This invitation link is not valid.".to_owned(),
        workspace: String::new(),
        dashboard: String::new(),
        email: String::new(),
        role: String::new(),
        csrf: String::new(),
        action_encoded: auth::urlencode(&action),
        action,
        name: name.to_owned(),
        signed_in_as: String::new(),
        error,
    };
    let opened = match invitations::open(state, token).await {
        Ok(opened) => opened,
        Err(Error::NotFound) => return Ok((StatusCode::NOT_FOUND, page).into_response()),
        Err(other) => return Err(other.into()),
    };
    page.workspace = opened.workspace;
    if let Some((dashboard, _)) = &opened.invitation.dashboard {
        page.dashboard = state
            .store
            .dashboard(opened.invitation.workspace_id, *dashboard)
            .await?
            .map(|d| d.title)
            .unwrap_or_default();
    }
    page.email = opened.invitation.email.clone();
    page.role = opened.invitation.role.to_string();
    let mut status = status;
    page.mode = match (opened.standing, visitor) {
        (Standing::Used | Standing::Revoked | Standing::Expired, _) => {
            page.message = gone_message(opened.standing).to_owned();
            status = StatusCode::GONE;
            "gone"
        }
        (_, Some(who)) if who.member.email != opened.invitation.email => {
            page.signed_in_as = who.member.email.clone();
            "wrong_account"
        }
        (Standing::SignIn, Some(_)) => "accept",
        (Standing::SignIn, None) => "signin",
        (Standing::SignUp, _) => "signup",
    };
    let mut cookie = None;
    match visitor {
        Some(who) => page.csrf = who.csrf().to_owned(),
        None => {
            let csrf = random_token::<24>();
            cookie = Some(auth::set_cookie(
                state,
                INVITE_CSRF_COOKIE,
                &csrf,
                3600,
                "Strict",
            ));
            page.csrf = csrf;
        }
    }
    let mut response = (status, page).into_response();
    if let Some(cookie) = cookie
        && let Ok(value) = HeaderValue::from_str(&cookie)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Shows what the link offers. Never consumes it (mail scanners follow links).
async fn show_invitation(
    State(state): State<App>,
    MaybeMember(visitor): MaybeMember,
    Path(token): Path<String>,
) -> Result<Response, HttpError> {
    accept_page(&state, &token, &visitor, StatusCode::OK, "", None).await
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

/// Accepts: signs the invited address up, or accepts as the signed-in member who is that
/// address. (With a session the CSRF token was checked by the identity layer; without one,
/// the double-submit cookie is checked here.)
async fn accept_invitation(
    State(state): State<App>,
    MaybeMember(visitor): MaybeMember,
    Path(token): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<AcceptForm>,
) -> Result<Response, HttpError> {
    let refuse = |status: StatusCode, message: &str| {
        let message = message.to_owned();
        let visitor = visitor.clone();
        let token = token.clone();
        let name = form.name.clone();
        let state = state.clone();
        async move { accept_page(&state, &token, &visitor, status, &name, Some(message)).await }
    };
    match &visitor {
        Some(who) => {
            return match invitations::accept_as_member(&state, &token, &who.member).await {
                Ok(()) => Ok(Redirect::to("/").into_response()),
                Err(Error::NotFound) => {
                    accept_page(&state, &token, &visitor, StatusCode::NOT_FOUND, "", None).await
                }
                Err(Error::Forbidden) => {
                    refuse(
                        StatusCode::FORBIDDEN,
                        "This invitation is for another address.",
                    )
                    .await
                }
                Err(Error::Conflict(message)) => refuse(StatusCode::CONFLICT, &message).await,
                Err(other) => Err(other.into()),
            };
        }
        None => {
            let cookie_ok = auth::cookie(&headers, INVITE_CSRF_COOKIE).is_some_and(|c| {
                !c.is_empty() && SecretToken::from_client(c).ct_eq(&form.csrf_token)
            });
            if !cookie_ok {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "This form has expired. Please try again.",
                )
                .await;
            }
        }
    }
    match invitations::accept_with_signup(&state, &token, &form.name, &form.password).await {
        Ok(member) => {
            let session = auth::start_session(&state, &member).await?;
            let mut response = Redirect::to("/").into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                HeaderValue::from_str(&session).map_err(Error::internal)?,
            );
            let clear = auth::set_cookie(&state, INVITE_CSRF_COOKIE, "", 0, "Strict");
            headers.append(
                header::SET_COOKIE,
                HeaderValue::from_str(&clear).map_err(Error::internal)?,
            );
            Ok(response)
        }
        Err(Error::NotFound) => {
            accept_page(&state, &token, &visitor, StatusCode::NOT_FOUND, "", None).await
        }
        Err(Error::Invalid { message, .. }) => refuse(StatusCode::BAD_REQUEST, &message).await,
        Err(Error::Conflict(message)) => refuse(StatusCode::CONFLICT, &message).await,
        Err(other) => Err(other.into()),
    }
}

// ---- API ----------------------------------------------------------------------------------

/// Addresses to invite.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateInvitations {
    /// One or more e-mail addresses (at most 50).
    #[schema(schema_with = vitrine_app::openapi::invitation_addresses)]
    emails: Vec<String>,
    /// The workspace role their accounts get.
    role: Role,
}

/// Open invitations.
///
/// Invitations neither accepted nor revoked (expired ones included, to resend), newest
/// first. Members who manage members.
#[utoipa::path(get, path = "/invitations", operation_id = "listInvitations", tag = "members",
    responses(
        (status = 200, description = "Open invitations", body = Vec<InvitationView>),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ))]
async fn list_invitations_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<InvitationView>>, HttpError> {
    let acting = Acting::member(&identity.member);
    Ok(Json(
        invitations::list(&state, &acting, identity.member.workspace_id).await?,
    ))
}

/// Invite by e-mail.
///
/// Creates one invitation per address and queues its message with the accept link. An
/// address with an account or an open invitation is refused (409), and then nothing is sent.
#[utoipa::path(post, path = "/invitations", operation_id = "createInvitations", tag = "members",
    request_body = CreateInvitations,
    responses(
        (status = 201, description = "Invited", body = Vec<InvitationView>),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 409, description = "Already a member or invited", body = ErrorBody),
    ))]
async fn create_invitations_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(input): Json<CreateInvitations>,
) -> Result<(StatusCode, Json<Vec<InvitationView>>), HttpError> {
    if input.emails.len() > vitrine_app::mail::MAX_RECIPIENTS {
        return Err(Error::invalid_field("emails", "At most 50 addresses at once.").into());
    }
    for email in &input.emails {
        vitrine_app::mail::parse_address(email).map_err(|_| {
            Error::invalid_field(
                "emails",
                format!("{email:?} is not a valid e-mail address."),
            )
        })?;
    }
    let acting = Acting::member(&identity.member);
    let created = invitations::invite(
        &state,
        &acting,
        identity.member.workspace_id,
        &input.emails.join(","),
        input.role,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke an invitation.
///
/// Its link stops working at once.
#[utoipa::path(delete, path = "/invitations/{id}", operation_id = "revokeInvitation", tag = "members",
    params(("id" = i64, Path, description = "The invitation")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such open invitation", body = ErrorBody),
    ))]
async fn revoke_invitation_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path(id): crate::extract::Path<i64>,
) -> Result<StatusCode, HttpError> {
    let acting = Acting::member(&identity.member);
    invitations::revoke(&state, &acting, identity.member.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resend an invitation.
///
/// Sends a new accept link (the old one stops working) valid for another
/// `mail.invitation_days`.
#[utoipa::path(post, path = "/invitations/{id}/resend", operation_id = "resendInvitation", tag = "members",
    params(("id" = i64, Path, description = "The invitation")),
    responses(
        (status = 200, description = "Sent again", body = InvitationView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such open invitation", body = ErrorBody),
    ))]
async fn resend_invitation_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path(id): crate::extract::Path<i64>,
) -> Result<Json<InvitationView>, HttpError> {
    let acting = Acting::member(&identity.member);
    Ok(Json(
        invitations::resend(&state, &acting, identity.member.workspace_id, id).await?,
    ))
}

// ---- a dashboard's people panel ------------------------------------------------------------

/// The people panel's routes.
pub fn dashboard_pages() -> Router<App> {
    Router::new()
        .route(
            "/dashboards/{id}/people",
            get(show_dashboard_people).post(invite_to_dashboard),
        )
        .route(
            "/dashboards/{id}/people/{invitation}/resend",
            post(resend_dashboard_invitation),
        )
        .route(
            "/dashboards/{id}/people/{invitation}/revoke",
            post(revoke_dashboard_invitation),
        )
        .route("/dashboards/{id}/publish", post(publish_dashboard))
        .route(
            "/dashboards/{id}/people/workspace",
            post(invite_to_workspace_from_dashboard),
        )
}

/// The People panel's "Invite to the workspace": the members page's invitation with a
/// role, without leaving the share dialog.
async fn invite_to_workspace_from_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<vitrine_core::id::DashboardId>,
    axum::Form(form): axum::Form<InviteForm>,
) -> Result<Response, HttpError> {
    vitrine_app::content::editable_dashboard(&state, &identity.member, id).await?;
    let acting = Acting::member(&identity.member);
    match invitations::invite(
        &state,
        &acting,
        identity.member.workspace_id,
        &form.emails,
        form.role,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/dashboards/{id}/people")).into_response()),
        Err(Error::Invalid { message, .. } | Error::Conflict(message)) => {
            let page = people_page(&state, &identity, id, Some(message)).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// The dashboard page's clickable "draft" badge.
async fn publish_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<vitrine_core::id::DashboardId>,
) -> Result<Response, HttpError> {
    vitrine_app::content::publish_dashboard(
        &state,
        &vitrine_app::content::Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(Redirect::to(&format!("/dashboards/{id}")).into_response())
}

async fn people_page(
    state: &App,
    identity: &auth::Identity,
    id: vitrine_core::id::DashboardId,
    error: Option<String>,
) -> Result<crate::pages::DashboardPeoplePage, HttpError> {
    let record = vitrine_app::content::editable_dashboard(state, &identity.member, id).await?;
    let audience = vitrine_app::audience::audience(state, &identity.member, id).await?;
    let pending = invitations::list_for_dashboard(state, &identity.member, id).await?;
    let candidates = state
        .store
        .members(identity.member.workspace_id)
        .await?
        .into_iter()
        .filter(|m| m.role != Role::Admin)
        .filter(|m| !audience.members.iter().any(|g| g.member_id == m.id))
        .map(|m| (m.id.0, format!("{} <{}>", m.name, m.email)))
        .collect();
    let role_candidates = [Role::Viewer, Role::Editor]
        .into_iter()
        .filter(|r| !audience.roles.iter().any(|g| g.role == *r))
        .map(Role::as_str)
        .collect();
    Ok(crate::pages::DashboardPeoplePage {
        chrome: crate::pages::Chrome::new(identity, "home"),
        dashboard_id: id.0,
        dashboard_title: record.title,
        draft: record.status != "published",
        restricted: audience.restricted,
        members: audience.members,
        roles: audience.roles,
        candidates,
        role_candidates,
        can_invite_members: identity.actor().can_manage_members(),
        is_admin: identity.actor().is_admin(),
        invitations: pending.iter().map(Into::into).collect(),
        error,
    })
}

async fn show_dashboard_people(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<vitrine_core::id::DashboardId>,
) -> Result<crate::pages::DashboardPeoplePage, HttpError> {
    people_page(&state, &identity, id, None).await
}

#[derive(Debug, Deserialize)]
struct DashboardInviteForm {
    #[serde(default)]
    emails: String,
    #[serde(default)]
    right: String,
}

async fn invite_to_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<vitrine_core::id::DashboardId>,
    axum::Form(form): axum::Form<DashboardInviteForm>,
) -> Result<Response, HttpError> {
    match invitations::invite_to_dashboard(&state, &identity.member, id, &form.emails, &form.right)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/dashboards/{id}/people")).into_response()),
        Err(Error::Invalid { message, .. } | Error::Conflict(message)) => {
            let page = people_page(&state, &identity, id, Some(message)).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn resend_dashboard_invitation(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, invitation)): Path<(vitrine_core::id::DashboardId, i64)>,
) -> Result<Response, HttpError> {
    invitations::handle_for_dashboard(&state, &identity.member, id, invitation, false).await?;
    Ok(Redirect::to(&format!("/dashboards/{id}/people")).into_response())
}

async fn revoke_dashboard_invitation(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, invitation)): Path<(vitrine_core::id::DashboardId, i64)>,
) -> Result<Response, HttpError> {
    invitations::handle_for_dashboard(&state, &identity.member, id, invitation, true).await?;
    Ok(Redirect::to(&format!("/dashboards/{id}/people")).into_response())
}
