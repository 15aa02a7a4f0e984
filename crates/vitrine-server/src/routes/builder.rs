//! The visual builder's API: choices over a dataset, a widget's live preview, a dataset's
//! trial run and users, starters, and the YAML ⇄ document round trip. The builder page's
//! JavaScript (`static/builder.js`) uses only these and the dashboards API.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::dashboard::{BuilderChoices, Dashboard};
use vitrine_core::id::{DashboardId, DataSourceId, DatasetId};

use vitrine_app::builder::{self, CheckInput, DatasetRun, DatasetUsers, WidgetPreview};
use vitrine_app::{App, Error};

use crate::auth::ApiMember;
use crate::error::{ErrorBody, HttpError};
use crate::extract::{self, Json, Query};

/// Builder API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(dataset_choices_api))
        .routes(routes!(dataset_users_api))
        .routes(routes!(run_dataset_api))
        .routes(routes!(preview_widget_api))
        .routes(routes!(check_document_api))
        .routes(routes!(starter_document_api))
}

/// The dashboard being built, for choices.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct BuildingQuery {
    /// The dashboard being built; whoever may edit it may ask (an editor grant on it is
    /// enough). Without it: a new dashboard, editors and admins only.
    #[param(value_type = Option<i64>, minimum = 1)]
    dashboard: Option<DashboardId>,
}

/// What the builder may offer over a dataset.
///
/// Per column: may it group, which time buckets, which aggregates, may it split into series,
/// which filter kinds fit it; per widget kind: how many dimensions and measures it takes,
/// whether a series is possible, its options; and the values validation knows (date-range
/// presets, number formats and currencies, limit and page-size bounds). Every choice is
/// checked by the same validation a saved document goes through, so the builder and the YAML
/// path cannot disagree.
#[utoipa::path(get, path = "/datasets/{id}/choices", operation_id = "getDatasetChoices",
    tag = "builder",
    params(("id" = i64, Path, description = "Dataset id"), BuildingQuery),
    responses(
        (status = 200, description = "The choices", body = BuilderChoices),
        (status = 403, description = "Not an editor of this dashboard (or, without one, not an editor)", body = ErrorBody),
        (status = 404, description = "No such dataset or dashboard", body = ErrorBody),
    ))]
async fn dataset_choices_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DatasetId>,
    Query(query): Query<BuildingQuery>,
) -> Result<Json<BuilderChoices>, HttpError> {
    Ok(Json(
        builder::dataset_choices(&state, &identity.member, query.dashboard, id).await?,
    ))
}

/// The dashboards that use a dataset (in a widget or a filter): what a change or a deletion
/// would touch. Only those the member may see are named; `hidden` counts the others
/// (restricted dashboards not given to them).
#[utoipa::path(get, path = "/datasets/{id}/used-by", operation_id = "getDatasetUsers",
    tag = "builder",
    params(("id" = i64, Path, description = "Dataset id")),
    responses(
        (status = 200, description = "The dashboards using it", body = DatasetUsers),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dataset", body = ErrorBody),
    ))]
async fn dataset_users_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DatasetId>,
) -> Result<Json<DatasetUsers>, HttpError> {
    Ok(Json(
        builder::dataset_used_by(&state, &identity.member, id).await?,
    ))
}

/// SQL to try on a data source.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    /// The data source.
    data_source_id: DataSourceId,
    /// One read-only `SELECT` for its dialect.
    #[schema(max_length = 100000)]
    sql: String,
}

/// Run a dataset's SQL without saving it.
///
/// Read-only, under the data source's timeout and row cap: the discovered columns with their
/// types and the first 50 rows. A query that cannot run is a 400 with the reason in plain
/// words (`field: sql`).
#[utoipa::path(post, path = "/datasets/run", operation_id = "runDatasetSql", tag = "builder",
    request_body = RunRequest,
    responses(
        (status = 200, description = "Columns and first rows", body = DatasetRun),
        (status = 400, description = "The SQL cannot run (why, in plain words)", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn run_dataset_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<RunRequest>,
) -> Result<Json<DatasetRun>, HttpError> {
    Ok(Json(
        builder::run_dataset(&state, &identity.member, body.data_source_id, &body.sql).await?,
    ))
}

/// A widget of an unsaved document to draw.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PreviewRequest {
    /// The dashboard document as JSON (schema version 1); its filters' defaults apply.
    #[schema(value_type = Object)]
    document: serde_json::Value,
    /// The id of the widget to draw.
    #[schema(max_length = 64)]
    widget: String,
    /// The dashboard being built (whoever may edit it may preview); none: a new dashboard.
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    #[serde(default)]
    dashboard_id: Option<DashboardId>,
}

/// Preview a widget.
///
/// Draws one widget of an unsaved document with real data, through the normal runner (its
/// cache, timeout and row cap), under the document's filter defaults and the member's own
/// data rules. Only that widget and the filters are validated; an invalid one is a 400 with
/// validation's messages.
#[utoipa::path(post, path = "/builder/preview", operation_id = "previewWidget", tag = "builder",
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The drawn widget", body = WidgetPreview),
        (status = 400, description = "The widget or the document is invalid", body = ErrorBody),
        (status = 403, description = "Not an editor of this dashboard (or, without one, not an editor)", body = ErrorBody),
        (status = 404, description = "No such dashboard", body = ErrorBody),
    ))]
async fn preview_widget_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<PreviewRequest>,
) -> Result<Json<WidgetPreview>, HttpError> {
    let doc = Dashboard::from_json(&body.document.to_string())
        .map_err(|e| Error::invalid(e.to_string()))?;
    Ok(Json(
        builder::preview_widget(
            &state,
            &identity.member,
            body.dashboard_id,
            &doc,
            &body.widget,
        )
        .await?,
    ))
}

/// A document to check, as YAML or JSON.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    /// The document as YAML (the YAML tab).
    #[schema(nullable)]
    yaml: Option<String>,
    /// The document as JSON (the builder).
    #[schema(value_type = Option<Object>, nullable)]
    document: Option<serde_json::Value>,
    /// With `document`: the YAML it replaces, whose comments in unchanged parts are kept.
    #[schema(nullable)]
    previous_yaml: Option<String>,
    /// The dashboard being built (whoever may edit it may check); none: a new dashboard.
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    #[serde(default)]
    dashboard_id: Option<DashboardId>,
}

/// A checked document in both forms.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CheckedDocument {
    /// The document as YAML (as sent, or written from `document`).
    yaml: String,
    /// The document as JSON.
    #[schema(value_type = Object)]
    document: serde_json::Value,
}

/// Check a document and convert it.
///
/// Validates a document exactly as saving would (against the workspace's datasets) without
/// saving it, and returns it as YAML and as JSON: the builder's two tabs stay in sync through
/// this. From `document`, the YAML is written anew over `previous_yaml`: its leading comment
/// block survives, and so does the text (comments included) of every top-level key, widget
/// and filter that did not change.
#[utoipa::path(post, path = "/builder/check", operation_id = "checkDocument", tag = "builder",
    request_body = CheckRequest,
    responses(
        (status = 200, description = "Valid; both forms", body = CheckedDocument),
        (status = 400, description = "Invalid, with every problem and its line", body = ErrorBody),
        (status = 403, description = "Not an editor of this dashboard (or, without one, not an editor)", body = ErrorBody),
        (status = 404, description = "No such dashboard", body = ErrorBody),
    ))]
async fn check_document_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<CheckRequest>,
) -> Result<Json<CheckedDocument>, HttpError> {
    let parsed;
    let input = match (&body.yaml, &body.document) {
        (Some(yaml), None) => CheckInput::Yaml(yaml),
        (None, Some(document)) => {
            parsed = Dashboard::from_json(&document.to_string())
                .map_err(|e| Error::invalid(e.to_string()))?;
            CheckInput::Document {
                document: &parsed,
                previous: body.previous_yaml.as_deref(),
            }
        }
        _ => return Err(Error::invalid("Send either `yaml` or `document`.").into()),
    };
    let (yaml, doc) =
        builder::check_document(&state, &identity.member, body.dashboard_id, input).await?;
    let document = serde_json::to_value(&doc).map_err(Error::internal)?;
    Ok(Json(CheckedDocument { yaml, document }))
}

/// What a new dashboard starts from.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StarterRequest {
    /// The title.
    #[schema(max_length = 200)]
    title: String,
    /// A dataset to build a starter over; none: a blank dashboard.
    #[schema(value_type = Option<i64>, nullable)]
    dataset_id: Option<DatasetId>,
}

/// A starter document.
///
/// Blank, or over a dataset: a KPI (its row count, with a monthly sparkline when it has a
/// date column), a monthly trend line over its first date column, a breakdown bar over its
/// first text column, and a table of its first columns. Not saved: edit it, then create it
/// with `POST /dashboards`.
#[utoipa::path(post, path = "/builder/starter", operation_id = "starterDocument", tag = "builder",
    request_body = StarterRequest,
    responses(
        (status = 200, description = "The starter in both forms", body = CheckedDocument),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dataset", body = ErrorBody),
    ))]
async fn starter_document_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<StarterRequest>,
) -> Result<Json<CheckedDocument>, HttpError> {
    let doc = builder::starter(&state, &identity.member, &body.title, body.dataset_id).await?;
    let document = serde_json::to_value(&doc).map_err(Error::internal)?;
    Ok(Json(CheckedDocument {
        yaml: doc.to_yaml(),
        document,
    }))
}
