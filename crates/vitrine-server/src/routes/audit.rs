//! The audit trail, for admins.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::{Json, Query};
use crate::pages::{AuditPage, AuditRowView, Chrome, format_time, paths};
use vitrine_app::App;
use vitrine_app::Error;

/// Audit pages.
pub fn pages() -> Router<App> {
    Router::new().route(paths::AUDIT, get(show_audit))
}

/// Audit API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}

async fn events(
    state: &App,
    identity: &Identity,
    limit: i64,
) -> Result<Vec<vitrine_store::AuditEvent>, HttpError> {
    if !identity.actor().is_admin() {
        return Err(Error::Forbidden.into());
    }
    Ok(state
        .store
        .audit_events(identity.member.workspace_id, limit)
        .await?)
}

async fn show_audit(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<AuditPage, HttpError> {
    let events = events(&state, &identity, 500).await?;
    Ok(AuditPage {
        chrome: Chrome::new(&identity, "audit"),
        events: events
            .into_iter()
            .map(|e| AuditRowView {
                at: format_time(e.at),
                actor: e.actor,
                action: e.action,
                target: e.target,
                detail: e.detail,
            })
            .collect(),
    })
}

/// How many events to list, newest first.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// 1 to 1000 (default 100); other values are refused.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

impl LimitQuery {
    /// The limit, checked: 400 outside 1 to 1000.
    pub fn limit(&self) -> Result<i64, HttpError> {
        match self.limit {
            None => Ok(100),
            Some(n) if (1..=1000).contains(&n) => Ok(n),
            Some(_) => Err(HttpError::invalid_input(
                Some("limit".to_owned()),
                "limit must be 1 to 1000.",
            )),
        }
    }
}

/// An audit event in the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEvent)]
struct AuditEventView {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    at: time::OffsetDateTime,
    /// Who: a member's e-mail address, or `cli`.
    actor: String,
    /// What (`link.created`, `member.invited` …).
    action: String,
    /// On what (`link:…`, `member:7` …).
    target: String,
    /// Details, by action.
    detail: serde_json::Value,
}

/// The audit trail.
///
/// Owner actions, newest first. Admins only.
#[utoipa::path(get, path = "/audit-events", operation_id = "listAuditEvents", tag = "audit",
    params(LimitQuery),
    responses(
        (status = 200, description = "The events, newest first", body = Vec<AuditEventView>),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn list_audit_events(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<AuditEventView>>, HttpError> {
    let events = events(&state, &identity, query.limit()?).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AuditEventView {
                at: e.at,
                actor: e.actor,
                action: e.action,
                target: e.target,
                detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
    ))
}
