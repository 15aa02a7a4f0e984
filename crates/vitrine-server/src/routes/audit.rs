//! The audit trail, for admins.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::HttpError;
use crate::pages::{AuditPage, AuditRowView, Chrome, format_time, paths};
use vitrine_app::App;
use vitrine_app::Error;

/// Audit pages.
pub fn pages() -> Router<App> {
    Router::new().route(paths::AUDIT, get(show_audit))
}

/// Audit API.
pub fn api() -> Router<App> {
    Router::new().route("/audit-events", get(list_audit_events))
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
        .audit_events(identity.member.workspace_id, limit.clamp(1, 1000))
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

#[derive(Debug, Deserialize)]
struct LimitQuery {
    limit: Option<i64>,
}

/// An audit event in the API.
#[derive(Debug, Serialize)]
struct AuditEventView {
    #[serde(with = "time::serde::rfc3339")]
    at: time::OffsetDateTime,
    actor: String,
    action: String,
    target: String,
    detail: serde_json::Value,
}

async fn list_audit_events(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<AuditEventView>>, HttpError> {
    let events = events(&state, &identity, query.limit.unwrap_or(100)).await?;
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
