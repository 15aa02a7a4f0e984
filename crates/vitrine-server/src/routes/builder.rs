//! The visual builder's API: choices over a dataset, a widget's live preview, a dataset's
//! trial run and users, starters, and the YAML ⇄ document round trip. The builder page's
//! JavaScript (`static/builder.js`) uses only these and the dashboards API.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::dashboard::{BuilderChoices, Dashboard};
use vitrine_core::id::{DataSourceId, DatasetId};

use vitrine_app::builder::{self, DatasetRun, WidgetPreview};
use vitrine_app::content::{self, DashboardSummary};
use vitrine_app::{App, Error};

use crate::auth::ApiMember;
use crate::error::{ErrorBody, HttpError};
use crate::extract::{self, Json};

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

/// What the builder may offer over a dataset.
///
/// Per column: may it group, which time buckets, which aggregates, may it split into series,
/// which filter kinds fit it; per widget kind: how many dimensions and measures it takes,
/// whether a series is possible, its options. Every choice is checked by the same validation
/// a saved document goes through, so the builder and the YAML path cannot disagree.
#[utoipa::path(get, path = "/datasets/{id}/choices", operation_id = "getDatasetChoices",
    tag = "builder",
    params(("id" = i64, Path, description = "Dataset id")),
    responses(
        (status = 200, description = "The choices", body = BuilderChoices),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dataset", body = ErrorBody),
    ))]
async fn dataset_choices_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DatasetId>,
) -> Result<Json<BuilderChoices>, HttpError> {
    Ok(Json(
        builder::dataset_choices(&state, &identity.member, id).await?,
    ))
}

/// The dashboards that use a dataset (in a widget or a filter): what a change or a deletion
/// would touch.
#[utoipa::path(get, path = "/datasets/{id}/used-by", operation_id = "getDatasetUsers",
    tag = "builder",
    params(("id" = i64, Path, description = "Dataset id")),
    responses(
        (status = 200, description = "The dashboards using it", body = Vec<DashboardSummary>),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dataset", body = ErrorBody),
    ))]
async fn dataset_users_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DatasetId>,
) -> Result<Json<Vec<DashboardSummary>>, HttpError> {
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
}

/// Preview a widget.
///
/// Draws one widget of an unsaved document with real data, through the normal runner (its
/// cache, timeout and row cap), under the document's filter defaults. Only that widget and
/// the filters are validated; an invalid one is a 400 with validation's messages.
#[utoipa::path(post, path = "/builder/preview", operation_id = "previewWidget", tag = "builder",
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The drawn widget", body = WidgetPreview),
        (status = 400, description = "The widget or the document is invalid", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn preview_widget_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<PreviewRequest>,
) -> Result<Json<WidgetPreview>, HttpError> {
    let doc = Dashboard::from_json(&body.document.to_string())
        .map_err(|e| Error::invalid(e.to_string()))?;
    Ok(Json(
        builder::preview_widget(&state, &identity.member, &doc, &body.widget).await?,
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
    /// With `document`: the YAML it replaces, whose leading comment block is kept.
    #[schema(nullable)]
    previous_yaml: Option<String>,
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
/// this. From `document`, the YAML is written anew and only the leading comment block of
/// `previous_yaml` survives.
#[utoipa::path(post, path = "/builder/check", operation_id = "checkDocument", tag = "builder",
    request_body = CheckRequest,
    responses(
        (status = 200, description = "Valid; both forms", body = CheckedDocument),
        (status = 400, description = "Invalid, with every problem and its line", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn check_document_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<CheckRequest>,
) -> Result<Json<CheckedDocument>, HttpError> {
    if !identity.actor().can_edit_content() {
        return Err(Error::Forbidden.into());
    }
    let yaml = match (body.yaml, body.document) {
        (Some(yaml), None) => yaml,
        (None, Some(document)) => {
            let doc = Dashboard::from_json(&document.to_string())
                .map_err(|e| Error::invalid(e.to_string()))?;
            builder::document_yaml(&doc, body.previous_yaml.as_deref())
        }
        _ => return Err(Error::invalid("Send either `yaml` or `document`.").into()),
    };
    let doc = content::check_document(&state, identity.member.workspace_id, &yaml).await?;
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
    if !identity.actor().can_edit_content() {
        return Err(Error::Forbidden.into());
    }
    if body.title.chars().count() > 200 {
        return Err(
            Error::invalid_field("title", "The title is longer than 200 characters.").into(),
        );
    }
    let doc = match body.dataset_id {
        None => builder::starter_document(&body.title, None),
        Some(id) => {
            let record = state
                .store
                .dataset(identity.member.workspace_id, id)
                .await?
                .ok_or(Error::NotFound)?;
            let columns = content::dataset_columns(&record);
            builder::starter_document(&body.title, Some((&record.slug, &columns)))
        }
    };
    let document = serde_json::to_value(&doc).map_err(Error::internal)?;
    Ok(Json(CheckedDocument {
        yaml: doc.to_yaml(),
        document,
    }))
}
