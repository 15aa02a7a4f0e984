//! Datasets: the page and `/api/v1/datasets`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::id::DatasetId;

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::{self, Json};
use crate::pages::{Chrome, DatasetFormView, DatasetUsersView, DatasetsPage, paths};
use vitrine_app::App;
use vitrine_app::Error;
use vitrine_app::content::{self, DatasetForm, DatasetView, Editor};

/// Dataset pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(paths::DATASETS, get(show_datasets).post(create_dataset))
        .route("/datasets/{id}", get(edit_dataset).post(update_dataset))
        .route("/datasets/{id}/delete", post(delete_dataset))
}

/// Dataset API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_datasets_api, create_dataset_api))
        .routes(routes!(
            show_dataset_api,
            update_dataset_api,
            delete_dataset_api
        ))
}

async fn page(
    state: &App,
    identity: &Identity,
    editing: Option<DatasetId>,
    form: DatasetFormView,
    outcome: Result<Option<String>, String>,
) -> Result<Response, HttpError> {
    let editor = Editor::Member(&identity.member);
    let workspace = identity.member.workspace_id;
    let datasets = content::list_datasets(state, &editor, workspace).await?;
    let sources = content::list_data_sources(state, &editor, workspace).await?;
    let failed = outcome.is_err();
    let (notice, error) = match outcome {
        Ok(n) => (n, None),
        Err(e) => (None, Some(e)),
    };
    let users = vitrine_app::builder::dataset_users(state, &identity.member).await?;
    let used_by = datasets
        .iter()
        .map(|d| {
            users
                .get(&d.slug)
                .map(|u| DatasetUsersView {
                    dashboards: u
                        .dashboards
                        .iter()
                        .map(|d| (d.id.0, d.title.clone()))
                        .collect(),
                    hidden: u.hidden,
                })
                .unwrap_or_default()
        })
        .collect();
    let page = DatasetsPage {
        chrome: Chrome::new(identity, "datasets"),
        used_by,
        datasets,
        sources,
        can_edit: true,
        editing: editing.map(|id| id.0),
        form,
        notice,
        error,
    };
    Ok((
        if failed {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        page,
    )
        .into_response())
}

fn form_view(form: &DatasetForm) -> DatasetFormView {
    DatasetFormView {
        data_source_id: form.data_source_id.0,
        slug: form.slug.clone(),
        name: form.name.clone(),
        sql: form.sql.clone(),
    }
}

async fn save(
    state: &App,
    identity: &Identity,
    id: Option<DatasetId>,
    form: DatasetForm,
) -> Result<Response, HttpError> {
    let workspace = identity.member.workspace_id;
    match content::save_dataset(
        state,
        &Editor::Member(&identity.member),
        workspace,
        id,
        &form,
    )
    .await
    {
        Ok(record) => {
            let notice = format!(
                "Saved “{}” with {} columns.",
                record.slug,
                content::dataset_columns(&record).len()
            );
            page(
                state,
                identity,
                None,
                DatasetFormView::default(),
                Ok(Some(notice)),
            )
            .await
        }
        Err(Error::Invalid { message: m, .. } | Error::Conflict(m)) => {
            page(state, identity, id, form_view(&form), Err(m)).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn show_datasets(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<Response, HttpError> {
    page(
        &state,
        &identity,
        None,
        DatasetFormView::default(),
        Ok(None),
    )
    .await
}

async fn create_dataset(
    State(state): State<App>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<DatasetForm>,
) -> Result<Response, HttpError> {
    save(&state, &identity, None, form).await
}

async fn edit_dataset(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DatasetId>,
) -> Result<Response, HttpError> {
    let record = content::show_dataset(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    let form = DatasetFormView {
        data_source_id: record.data_source_id.0,
        slug: record.slug,
        name: record.name,
        sql: record.sql,
    };
    page(&state, &identity, Some(id), form, Ok(None)).await
}

async fn update_dataset(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DatasetId>,
    axum::Form(form): axum::Form<DatasetForm>,
) -> Result<Response, HttpError> {
    save(&state, &identity, Some(id), form).await
}

async fn delete_dataset(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DatasetId>,
) -> Result<Response, HttpError> {
    let workspace = identity.member.workspace_id;
    let outcome =
        match content::delete_dataset(&state, &Editor::Member(&identity.member), workspace, id)
            .await
        {
            Ok(()) => Ok(Some("Deleted.".to_owned())),
            Err(Error::Conflict(m)) => Err(m),
            Err(other) => return Err(other.into()),
        };
    page(&state, &identity, None, DatasetFormView::default(), outcome).await
}

/// List datasets.
///
/// Editors and admins.
#[utoipa::path(get, path = "/datasets", operation_id = "listDatasets", tag = "datasets",
    responses(
        (status = 200, description = "The datasets", body = Vec<DatasetView>),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn list_datasets_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<DatasetView>>, HttpError> {
    let datasets = content::list_datasets(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
    )
    .await?;
    Ok(Json(datasets))
}

/// Show a dataset.
#[utoipa::path(get, path = "/datasets/{id}", operation_id = "getDataset", tag = "datasets",
    params(("id" = i64, Path, description = "Dataset id")),
    responses(
        (status = 200, description = "The dataset", body = DatasetView),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dataset", body = ErrorBody),
    ))]
async fn show_dataset_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DatasetId>,
) -> Result<Json<DatasetView>, HttpError> {
    let dataset = content::show_dataset(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(Json(dataset))
}

/// Create a dataset.
///
/// The SQL must be one read-only query; it is run once on the data source to discover its
/// columns (400 with the reason when it cannot).
#[utoipa::path(post, path = "/datasets", operation_id = "createDataset", tag = "datasets",
    request_body = DatasetForm,
    responses(
        (status = 201, description = "The dataset with its columns", body = DatasetView),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 409, description = "A dataset with this slug exists", body = ErrorBody),
    ))]
async fn create_dataset_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(form): Json<DatasetForm>,
) -> Result<(StatusCode, Json<DatasetView>), HttpError> {
    let workspace = identity.member.workspace_id;
    let record = content::save_dataset(
        &state,
        &Editor::Member(&identity.member),
        workspace,
        None,
        &form,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(DatasetView::from(&record))))
}

/// Replace a dataset.
#[utoipa::path(put, path = "/datasets/{id}", operation_id = "updateDataset", tag = "datasets",
    params(("id" = i64, Path, description = "Dataset id")),
    request_body = DatasetForm,
    responses(
        (status = 200, description = "The dataset with its columns", body = DatasetView),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dataset", body = ErrorBody),
        (status = 409, description = "A dataset with this slug exists", body = ErrorBody),
    ))]
async fn update_dataset_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DatasetId>,
    Json(form): Json<DatasetForm>,
) -> Result<Json<DatasetView>, HttpError> {
    let workspace = identity.member.workspace_id;
    let record = content::save_dataset(
        &state,
        &Editor::Member(&identity.member),
        workspace,
        Some(id),
        &form,
    )
    .await?;
    Ok(Json(DatasetView::from(&record)))
}

/// Delete a dataset.
///
/// Refused while a dashboard uses it (409).
#[utoipa::path(delete, path = "/datasets/{id}", operation_id = "deleteDataset", tag = "datasets",
    params(("id" = i64, Path, description = "Dataset id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dataset", body = ErrorBody),
        (status = 409, description = "A dashboard uses it", body = ErrorBody),
    ))]
async fn delete_dataset_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DatasetId>,
) -> Result<StatusCode, HttpError> {
    content::delete_dataset(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
