//! Scheduled reports in the API: schedules (create, change, delete, list), the next send times
//! of a frequency, "Send now", "Send a test to me" and the run history (admins).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::ApiMember;
use crate::error::{ErrorBody, HttpError};
use crate::extract::{Json, Path, Query};
use crate::routes::audit::LimitQuery;
use vitrine_app::App;
use vitrine_app::reports::{self, Frequency, RunView, ScheduleInput, ScheduleView};

/// Reports API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_reports, create_report))
        .routes(routes!(show_report, update_report, delete_report))
        .routes(routes!(send_report))
        .routes(routes!(test_report))
        .routes(routes!(report_runs))
        .routes(routes!(preview_schedule))
        .routes(routes!(show_email_domains, update_email_domains))
}

/// Which schedules to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// Only this dashboard's schedules.
    dashboard_id: Option<i64>,
}

/// List scheduled reports (of the dashboards the caller may see).
#[utoipa::path(get, path = "/reports", operation_id = "listReports", tag = "reports",
    params(ReportQuery),
    responses((status = 200, description = "The schedules", body = Vec<ScheduleView>)))]
async fn list_reports(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Query(query): Query<ReportQuery>,
) -> Result<Json<Vec<ScheduleView>>, HttpError> {
    Ok(Json(
        reports::list(&state, &identity.member, query.dashboard_id).await?,
    ))
}

/// Create a scheduled report.
///
/// Members who can edit the dashboard. It renders as its creator ("run as"). E-mail
/// recipients outside the workspace's allowed domains are refused.
#[utoipa::path(post, path = "/reports", operation_id = "createReport", tag = "reports",
    request_body = ScheduleInput,
    responses(
        (status = 201, description = "The schedule, with its next five send times", body = ScheduleView),
        (status = 400, description = "Invalid input, with the field at fault", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn create_report(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(input): Json<ScheduleInput>,
) -> Result<(StatusCode, Json<ScheduleView>), HttpError> {
    Ok((
        StatusCode::CREATED,
        Json(reports::create(&state, &identity.member, &input).await?),
    ))
}

/// Show a scheduled report.
#[utoipa::path(get, path = "/reports/{id}", operation_id = "getReport", tag = "reports",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "The schedule", body = ScheduleView),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
async fn show_report(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
) -> Result<Json<ScheduleView>, HttpError> {
    Ok(Json(reports::get(&state, &identity.member, id).await?))
}

/// Replace a scheduled report's settings; it then runs as the caller.
#[utoipa::path(put, path = "/reports/{id}", operation_id = "updateReport", tag = "reports",
    params(("id" = i64, Path, description = "Schedule id")),
    request_body = ScheduleInput,
    responses(
        (status = 200, description = "The schedule", body = ScheduleView),
        (status = 400, description = "Invalid input, with the field at fault", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
async fn update_report(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
    Json(input): Json<ScheduleInput>,
) -> Result<Json<ScheduleView>, HttpError> {
    Ok(Json(
        reports::update(&state, &identity.member, id, &input).await?,
    ))
}

/// Delete a scheduled report and its run history.
#[utoipa::path(delete, path = "/reports/{id}", operation_id = "deleteReport", tag = "reports",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
async fn delete_report(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
) -> Result<StatusCode, HttpError> {
    reports::delete(&state, &identity.member, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A run started by hand.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RunStarted {
    /// The run's id (see the run history).
    run_id: i64,
}

/// Send a report now, to every recipient.
#[utoipa::path(post, path = "/reports/{id}/send", operation_id = "sendReport", tag = "reports",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 202, description = "Rendered; deliveries queued (sent within seconds)", body = RunStarted),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
        (status = 409, description = "A run just started", body = ErrorBody),
    ))]
async fn send_report(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<RunStarted>), HttpError> {
    let run_id = reports::send_now(&state, &identity.member, id, false).await?;
    Ok((StatusCode::ACCEPTED, Json(RunStarted { run_id })))
}

/// Send a test of a report to the caller's own address.
#[utoipa::path(post, path = "/reports/{id}/test", operation_id = "testReport", tag = "reports",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 202, description = "Rendered; the test message queued (sent within seconds)", body = RunStarted),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
        (status = 409, description = "A run just started", body = ErrorBody),
    ))]
async fn test_report(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<RunStarted>), HttpError> {
    let run_id = reports::send_now(&state, &identity.member, id, true).await?;
    Ok((StatusCode::ACCEPTED, Json(RunStarted { run_id })))
}

/// A report's runs, newest first, with each recipient's outcome (admins only).
#[utoipa::path(get, path = "/reports/{id}/runs", operation_id = "listReportRuns", tag = "reports",
    params(("id" = i64, Path, description = "Schedule id"), LimitQuery),
    responses(
        (status = 200, description = "The runs", body = Vec<RunView>),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ))]
async fn report_runs(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<RunView>>, HttpError> {
    let limit = query.limit()?;
    Ok(Json(
        reports::history(&state, &identity.member, id, limit).await?,
    ))
}

/// A frequency and zone to preview.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PreviewInput {
    /// When.
    frequency: Frequency,
    /// The IANA time zone.
    zone: String,
}

/// The next send times of a frequency.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PreviewView {
    /// RFC 3339, UTC.
    next_at: Vec<String>,
    /// The same in the zone, e.g. `2026-03-30 09:00 CEST`.
    next_local: Vec<String>,
}

/// The next five send times of a frequency in a zone (the form's preview).
#[utoipa::path(post, path = "/reports/preview", operation_id = "previewReportSchedule", tag = "reports",
    request_body = PreviewInput,
    responses(
        (status = 200, description = "The next five send times", body = PreviewView),
        (status = 400, description = "Invalid frequency or zone", body = ErrorBody),
    ))]
async fn preview_schedule(
    State(state): State<App>,
    ApiMember(_identity): ApiMember,
    Json(input): Json<PreviewInput>,
) -> Result<Json<PreviewView>, HttpError> {
    let (next_at, next_local) = reports::preview_times(&state, &input.frequency, &input.zone, 5)?
        .into_iter()
        .unzip();
    Ok(Json(PreviewView {
        next_at,
        next_local,
    }))
}

/// The workspace's allowed e-mail domains for report recipients.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EmailDomains {
    /// Domain names (`example.com`); a recipient's address must be in one of them exactly
    /// (subdomains are listed separately). Empty: any address.
    #[schema(schema_with = vitrine_app::openapi::report_email_domains)]
    domains: Vec<String>,
}

/// The workspace's allowed e-mail domains for report recipients (editors and admins).
#[utoipa::path(get, path = "/reports/email-domains", operation_id = "getReportEmailDomains", tag = "reports",
    responses(
        (status = 200, description = "The domains; empty allows any address", body = EmailDomains),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn show_email_domains(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<EmailDomains>, HttpError> {
    Ok(Json(EmailDomains {
        domains: reports::email_domains(&state, &identity.member).await?,
    }))
}

/// Replace the workspace's allowed e-mail domains (admins only).
///
/// Schedules saved from now on may only send e-mail to these domains (exact match); an empty
/// list allows any address. Existing schedules are not changed.
#[utoipa::path(put, path = "/reports/email-domains", operation_id = "setReportEmailDomains", tag = "reports",
    request_body = EmailDomains,
    responses(
        (status = 200, description = "The saved, normalised domains", body = EmailDomains),
        (status = 400, description = "Not a domain name, or too many", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
async fn update_email_domains(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(input): Json<EmailDomains>,
) -> Result<Json<EmailDomains>, HttpError> {
    Ok(Json(EmailDomains {
        domains: reports::set_email_domains(&state, &identity.member, &input.domains).await?,
    }))
}
