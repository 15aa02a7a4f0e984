//! Sending a share link by e-mail: the share page's "Send by e-mail" form and
//! `/api/v1/links/{id}/send`, `/api/v1/links/{id}/messages`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_app::{App, Error, link_mail};
use vitrine_core::id::DashboardId;

use crate::auth::{ApiMember, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::Json;
use crate::pages::share_paths;
use crate::routes::outbox::OutboxMessageView;

/// Pages.
pub fn pages() -> Router<App> {
    Router::new().route(
        "/dashboards/{id}/share/{link}/send",
        post(send_link_by_email),
    )
}

/// API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(send_link_api))
        .routes(routes!(list_link_messages_api))
}

#[derive(Debug, Deserialize)]
struct SendForm {
    #[serde(default)]
    emails: String,
    #[serde(default)]
    note: String,
}

async fn send_link_by_email(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, link)): Path<(DashboardId, String)>,
    axum::Form(form): axum::Form<SendForm>,
) -> Result<Response, HttpError> {
    let view = vitrine_app::links::show_link(&state, &identity.member, &link).await?;
    if view.dashboard_id != id {
        return Err(Error::NotFound.into());
    }
    link_mail::send(&state, &identity.member, &link, &form.emails, &form.note).await?;
    Ok(Redirect::to(&format!("{}#link-{}", share_paths::share(id), view.id)).into_response())
}

/// A link to send.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SendLink {
    /// One or more e-mail addresses (at most 50).
    #[schema(min_items = 1, max_items = 50)]
    emails: Vec<String>,
    /// A short note shown above the link (at most 2000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    note: String,
}

/// What was queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SentLink {
    /// Messages queued (one per recipient).
    queued: usize,
}

/// Send a link by e-mail.
///
/// Queues one message per address with the link's URL and the note (never the link's
/// password). Only an active link can be sent (409 otherwise).
#[utoipa::path(post, path = "/links/{id}/send", operation_id = "sendLink", tag = "links",
    params(("id" = String, Path, description = "The link")),
    request_body = SendLink,
    responses(
        (status = 202, description = "Queued", body = SentLink),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
        (status = 409, description = "The link does not open now", body = ErrorBody),
    ))]
async fn send_link_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path(id): crate::extract::Path<String>,
    Json(input): Json<SendLink>,
) -> Result<(StatusCode, Json<SentLink>), HttpError> {
    if input.emails.is_empty() || input.emails.len() > vitrine_app::mail::MAX_RECIPIENTS {
        return Err(Error::invalid_field("emails", "Give 1 to 50 addresses.").into());
    }
    for email in &input.emails {
        vitrine_app::mail::parse_address(email).map_err(|_| {
            Error::invalid_field(
                "emails",
                format!("{email:?} is not a valid e-mail address."),
            )
        })?;
    }
    let ids = link_mail::send(
        &state,
        &identity.member,
        &id,
        &input.emails.join(","),
        &input.note,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(SentLink { queued: ids.len() })))
}

/// Messages that sent a link.
///
/// Newest first, one per recipient, without bodies.
#[utoipa::path(get, path = "/links/{id}/messages", operation_id = "listLinkMessages", tag = "links",
    params(("id" = String, Path, description = "The link")),
    responses(
        (status = 200, description = "The messages", body = Vec<OutboxMessageView>),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
    ))]
async fn list_link_messages_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    crate::extract::Path(id): crate::extract::Path<String>,
) -> Result<Json<Vec<OutboxMessageView>>, HttpError> {
    let mails = link_mail::sent(&state, &identity.member, &id).await?;
    Ok(Json(mails.into_iter().map(Into::into).collect()))
}
