//! Access analytics and the audit trail: `/api/v1/links/{id}/analytics…`,
//! `/api/v1/dashboards/{id}/analytics…`, `/api/v1/analytics/overview`, `/api/v1/audit-trail…`,
//! and the query parameters their owner pages share (the pages and their router are
//! [`super::analytics_pages`], which builds on this module, never the other way round).
//! Handlers only parse and call `vitrine_app::analytics` / `vitrine_app::trail`.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::id::DashboardId;

use crate::auth::ApiMember;
use crate::error::{ErrorBody, HttpError};
use crate::extract::{Json, Path, Query};
use vitrine_app::App;
use vitrine_app::analytics::{
    self, EventCursor, Granularity, LinkAnalytics, LinkEventPage, LinkSummary, Overview, Range,
};
use vitrine_app::trail::{self, Source, TrailFilter, TrailPage};

/// Analytics and audit-trail API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(show_link_analytics))
        .routes(routes!(list_link_analytics_events))
        .routes(routes!(export_link_events_csv))
        .routes(routes!(show_dashboard_analytics))
        .routes(routes!(export_dashboard_analytics_csv))
        .routes(routes!(show_analytics_overview))
        .routes(routes!(search_audit_trail))
        .routes(routes!(export_audit_trail_csv))
}

/// The period and buckets of an analytics answer.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// `7d`, `30d` (default), `90d` or `all`.
    #[param(pattern = "^(7d|30d|90d|all)$")]
    pub range: Option<String>,
    /// `day` (default) or `week`.
    #[param(pattern = "^(day|week)$")]
    pub by: Option<String>,
}

impl RangeQuery {
    /// The checked range and granularity.
    pub fn parse(&self) -> Result<(Range, Granularity), HttpError> {
        Ok((
            Range::parse(self.range.as_deref().unwrap_or("30d"))?,
            Granularity::parse(self.by.as_deref().unwrap_or("day"))?,
        ))
    }
}

/// A page of a keyset-paged list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next` value of the previous page.
    #[param(pattern = r"^[0-9]{1,15}\.[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

fn limit_of(limit: Option<i64>) -> Result<i64, HttpError> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n),
        Some(_) => Err(HttpError::invalid_input(
            Some("limit".to_owned()),
            "limit must be 1 to 1000.",
        )),
    }
}

fn cursor_of(cursor: Option<&str>) -> Result<Option<EventCursor>, HttpError> {
    Ok(cursor.map(EventCursor::parse).transpose()?)
}

/// A CSV download (`Cache-Control: no-store`).
pub fn csv_response(bytes: Vec<u8>, stem: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        crate::exports::content_disposition(stem, "csv"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A share link's analytics.
///
/// Views, unique visitors (each day's, summed), downloads and refused attempts over the range,
/// a series by day or ISO week (UTC), countries, client classes, refusals by outcome,
/// downloads by format, first / last view and last refused attempt. Read from daily rollups,
/// kept for good. Editors and admins.
#[utoipa::path(get, path = "/links/{id}/analytics", operation_id = "getLinkAnalytics", tag = "analytics",
    params(("id" = String, Path, description = "Link id"), RangeQuery),
    responses(
        (status = 200, description = "The link's analytics", body = LinkAnalytics),
        (status = 400, description = "Bad range or granularity", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
    ))]
async fn show_link_analytics(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<LinkAnalytics>, HttpError> {
    let (range, by) = query.parse()?;
    Ok(Json(
        analytics::link_analytics(&state, &identity.member, &id, range, by).await?,
    ))
}

/// A share link's recent access events, keyset-paged.
///
/// Newest first; pass `next` back as `cursor` for the next page. Raw events are kept
/// `access.retention_days`. Editors and admins.
#[utoipa::path(get, path = "/links/{id}/analytics/events", operation_id = "listLinkAnalyticsEvents", tag = "analytics",
    params(("id" = String, Path, description = "Link id"), PageQuery),
    responses(
        (status = 200, description = "A page of events", body = LinkEventPage),
        (status = 400, description = "Bad cursor or limit", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
    ))]
async fn list_link_analytics_events(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<LinkEventPage>, HttpError> {
    let limit = limit_of(query.limit)?;
    let cursor = cursor_of(query.cursor.as_deref())?;
    Ok(Json(
        analytics::link_events(&state, &identity.member, &id, cursor, limit).await?,
    ))
}

/// A share link's access events as CSV.
///
/// Newest first, at most 100,000 rows; cells a spreadsheet would read as formulas are
/// neutralised. Editors and admins.
#[utoipa::path(get, path = "/links/{id}/events.csv", operation_id = "exportLinkEventsCsv", tag = "analytics",
    params(("id" = String, Path, description = "Link id")),
    responses(
        (status = 200, description = "The CSV", body = String, content_type = "text/csv"),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
    ))]
async fn export_link_events_csv(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let (bytes, name) = analytics::link_events_csv(&state, &identity.member, &id).await?;
    Ok(csv_response(bytes, name.trim_end_matches(".csv")))
}

/// A dashboard's share links side by side.
///
/// Per link over the range: views, unique visitors, downloads, refused attempts; and its
/// views ever, last view and last refused attempt. Editors and admins.
#[utoipa::path(get, path = "/dashboards/{id}/analytics", operation_id = "getDashboardAnalytics", tag = "analytics",
    params(("id" = i64, Path, description = "Dashboard id"), RangeQuery),
    responses(
        (status = 200, description = "One row per link, newest link first", body = Vec<LinkSummary>),
        (status = 400, description = "Bad range", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dashboard", body = ErrorBody),
    ))]
async fn show_dashboard_analytics(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DashboardId>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<Vec<LinkSummary>>, HttpError> {
    let (range, _) = query.parse()?;
    Ok(Json(
        analytics::dashboard_summary(&state, &identity.member, id, range).await?,
    ))
}

/// A dashboard's per-link summary as CSV.
///
/// The columns of `getDashboardAnalytics`; cells a spreadsheet would read as formulas (a
/// label starting with `=` …) are neutralised. Editors and admins.
#[utoipa::path(get, path = "/dashboards/{id}/analytics.csv", operation_id = "exportDashboardAnalyticsCsv", tag = "analytics",
    params(("id" = i64, Path, description = "Dashboard id"), RangeQuery),
    responses(
        (status = 200, description = "The CSV", body = String, content_type = "text/csv"),
        (status = 400, description = "Bad range", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dashboard", body = ErrorBody),
    ))]
async fn export_dashboard_analytics_csv(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DashboardId>,
    Query(query): Query<RangeQuery>,
) -> Result<Response, HttpError> {
    let (range, _) = query.parse()?;
    let (bytes, name) =
        analytics::dashboard_summary_csv(&state, &identity.member, id, range).await?;
    Ok(csv_response(bytes, name.trim_end_matches(".csv")))
}

/// The workspace's links at a glance.
///
/// The most viewed links over the range, live links never opened, live links expiring within
/// 7 days (ten of each). Editors and admins.
#[utoipa::path(get, path = "/analytics/overview", operation_id = "getAnalyticsOverview", tag = "analytics",
    params(RangeQuery),
    responses(
        (status = 200, description = "The overview", body = Overview),
        (status = 400, description = "Bad range", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn show_analytics_overview(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Query(query): Query<RangeQuery>,
) -> Result<Json<Overview>, HttpError> {
    let (range, _) = query.parse()?;
    Ok(Json(
        analytics::overview(&state, &identity.member, range).await?,
    ))
}

/// A search of the audit trail.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrailQuery {
    /// `actions` (owner actions, default) or `access` (outsiders' access events).
    #[param(pattern = "^(actions|access)$")]
    pub source: Option<String>,
    /// The actor, exactly (an e-mail address, `cli`, `system`).
    pub actor: Option<String>,
    /// The action (`link.rotated` …), or for access events the outcome (`bad_password` …).
    pub action: Option<String>,
    /// The target type (`link`, `dashboard`, `member`, `api_key`, `data_source`, `dataset`,
    /// `workspace`).
    pub target_type: Option<String>,
    /// The target's id (of any type when `target_type` is not given).
    pub target_id: Option<String>,
    /// From this UTC day, included (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// To this UTC day, included (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// The `next` value of the previous page.
    #[param(pattern = r"^[0-9]{1,15}\.[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

fn date_of(field: &str, text: Option<&str>) -> Result<Option<time::Date>, HttpError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match text {
        None => Ok(None),
        Some(t) => time::Date::parse(t, &format)
            .map(Some)
            .map_err(|_| HttpError::invalid_input(Some(field.to_owned()), "dates are YYYY-MM-DD.")),
    }
}

impl TrailQuery {
    /// The search form's query: its empty fields mean "any" (a form sends them all).
    pub fn without_empty(mut self) -> Self {
        for field in [
            &mut self.source,
            &mut self.actor,
            &mut self.action,
            &mut self.target_type,
            &mut self.target_id,
            &mut self.from,
            &mut self.to,
            &mut self.cursor,
        ] {
            if field.as_deref() == Some("") {
                *field = None;
            }
        }
        self
    }

    /// The checked filter. Every given value must be well formed (an empty one is not).
    pub fn filter(&self) -> Result<TrailFilter, HttpError> {
        Ok(TrailFilter {
            source: match self.source.as_deref() {
                None => Source::Actions,
                Some(s) => Source::parse(s)?,
            },
            actor: self.actor.clone(),
            action: self.action.clone(),
            target_type: self.target_type.clone(),
            target_id: self.target_id.clone(),
            from: date_of("from", self.from.as_deref())?,
            to: date_of("to", self.to.as_deref())?,
            cursor: cursor_of(self.cursor.as_deref())?,
            limit: limit_of(self.limit)?,
        })
    }
}

/// Search the audit trail.
///
/// Owner actions (or, with `source=access`, outsiders' access events) newest first, filtered
/// by actor, action, target and UTC days, keyset-paged (pass `next` back as `cursor`). Each
/// entry carries a sentence, its details unfolded and the path of its target. Admins.
#[utoipa::path(get, path = "/audit-trail", operation_id = "searchAuditTrail", tag = "audit",
    params(TrailQuery),
    responses(
        (status = 200, description = "A page of entries", body = TrailPage),
        (status = 400, description = "A bad filter, cursor or limit", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn search_audit_trail(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Query(query): Query<TrailQuery>,
) -> Result<Json<TrailPage>, HttpError> {
    let filter = query.filter()?;
    Ok(Json(
        trail::search(&state, &identity.member, &filter).await?,
    ))
}

/// The audit trail as CSV.
///
/// Every entry the search finds (from `cursor` on, at most 100,000), formula-safe. Admins.
#[utoipa::path(get, path = "/audit-trail.csv", operation_id = "exportAuditTrailCsv", tag = "audit",
    params(TrailQuery),
    responses(
        (status = 200, description = "The CSV", body = String, content_type = "text/csv"),
        (status = 400, description = "A bad filter or cursor", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn export_audit_trail_csv(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Query(query): Query<TrailQuery>,
) -> Result<Response, HttpError> {
    let filter = query.filter()?;
    let bytes = trail::search_csv(&state, &identity.member, &filter).await?;
    Ok(csv_response(bytes, "audit-trail"))
}
