//! The outbox: every message Vitrine sends (invitations, links sent by e-mail, test
//! messages), with its state. For admins and members who manage members.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{ApiMember, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::{Json, Query};
use crate::pages::{Chrome, MailRowView, OutboxPage, Stamp, stamp};
use crate::routes::audit::LimitQuery;
use vitrine_app::App;

/// The Outbox page's path.
pub const OUTBOX: &str = "/outbox";

/// Outbox pages.
pub fn pages() -> Router<App> {
    Router::new().route(OUTBOX, get(show_outbox))
}

/// Outbox API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_outbox))
}

async fn show_outbox(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<OutboxPage, HttpError> {
    let mails = vitrine_app::mail::list(&state, &identity.actor(), 200).await?;
    Ok(OutboxPage {
        chrome: Chrome::new(&identity, "outbox"),
        transport: state.outbox.mailer.transport_name(),
        mails: mails
            .into_iter()
            .map(|m| MailRowView {
                created_at: stamp(m.created_at),
                recipient: m.recipient,
                subject: m.subject,
                body_text: m.body_text,
                kind: m.kind,
                state: m.state.as_str(),
                sent_at: Stamp(m.sent_at),
                attempts: m.attempts,
                detail: m.provider_response.or(m.last_error).unwrap_or_default(),
            })
            .collect(),
    })
}

/// A message in the outbox (one recipient).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = OutboxMessage)]
pub(crate) struct OutboxMessageView {
    /// The row's id.
    id: i64,
    /// `test`, `invitation`, `link` …
    kind: String,
    /// The recipient's address.
    recipient: String,
    /// The subject line.
    subject: String,
    /// `queued`, `sending`, `sent` or `failed`.
    state: String,
    /// Attempts so far.
    attempts: i64,
    /// Why the last attempt failed.
    last_error: Option<String>,
    /// What the mail server answered on acceptance.
    provider_response: Option<String>,
    /// When it was queued.
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    /// When it was accepted.
    #[serde(with = "time::serde::rfc3339::option")]
    sent_at: Option<time::OffsetDateTime>,
    /// Not before this is it tried again (while queued).
    #[serde(with = "time::serde::rfc3339")]
    next_attempt_at: time::OffsetDateTime,
}

/// The outbox.
///
/// Outgoing messages, newest first, one per recipient, without their bodies. Admins and
/// members who manage members.
#[utoipa::path(get, path = "/outbox", operation_id = "listOutbox", tag = "mail",
    params(LimitQuery),
    responses(
        (status = 200, description = "The messages, newest first", body = Vec<OutboxMessageView>),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ))]
async fn list_outbox(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<OutboxMessageView>>, HttpError> {
    let mails = vitrine_app::mail::list(&state, &identity.actor(), query.limit()?).await?;
    Ok(Json(mails.into_iter().map(Into::into).collect()))
}

impl From<vitrine_store::MailRecord> for OutboxMessageView {
    fn from(m: vitrine_store::MailRecord) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            recipient: m.recipient,
            subject: m.subject,
            state: m.state.as_str().to_owned(),
            attempts: m.attempts,
            last_error: m.last_error,
            provider_response: m.provider_response,
            created_at: m.created_at,
            sent_at: m.sent_at,
            next_attempt_at: m.next_attempt_at,
        }
    }
}
