//! The audit trail, for admins.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{ApiMember, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::{Json, Query};
use crate::pages::{AuditPage, AuditRowView, Chrome, paths, stamp};
use crate::routes::analytics::TrailQuery;
use vitrine_app::App;

/// Audit pages.
pub fn pages() -> Router<App> {
    Router::new().route(paths::AUDIT, get(show_audit))
}

/// Audit API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}

async fn show_audit(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Query(query): Query<TrailQuery>,
) -> Result<AuditPage, HttpError> {
    let query = query.without_empty();
    let filter = query.filter()?;
    let page = vitrine_app::trail::search(&state, &identity.member, &filter).await?;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let form = [
        ("source".to_owned(), filter.source.as_str().to_owned()),
        ("actor".to_owned(), value(&query.actor)),
        ("action".to_owned(), value(&query.action)),
        ("target_type".to_owned(), value(&query.target_type)),
        ("target_id".to_owned(), value(&query.target_id)),
        ("from".to_owned(), value(&query.from)),
        ("to".to_owned(), value(&query.to)),
    ];
    let search: String = form
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("&{k}={}", url_escape(v)))
        .collect();
    Ok(AuditPage {
        chrome: Chrome::new(&identity, "audit"),
        events: page
            .entries
            .into_iter()
            .map(|e| AuditRowView {
                at: stamp(e.at),
                target: if e.target_id.is_empty() {
                    e.target_type.clone()
                } else {
                    format!("{}:{}", e.target_type, e.target_id)
                },
                kind: e.kind,
                actor: e.actor,
                action: e.action,
                summary: e.summary,
                target_path: e.target_path,
                detail: unfold(&e.detail),
            })
            .collect(),
        next: page
            .next
            .map(|n| format!("/audit?cursor={}{search}", url_escape(&n))),
        csv: format!("/api/v1/audit-trail.csv?{}", search.trim_start_matches('&')),
        form,
    })
}

/// Percent-encodes a query value.
fn url_escape(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Details as (key, value) rows: nested objects flattened with dotted keys.
fn unfold(detail: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", detail, &mut out);
    out
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
    let events = vitrine_app::trail::audit_events(&state, &identity.member, query.limit()?).await?;
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
