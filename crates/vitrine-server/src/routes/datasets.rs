//! Datasets: the page and `/api/v1/datasets`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use vitrine_core::id::DatasetId;

use crate::auth::{ApiMember, Identity, PageMember};
use crate::content::{self, DataSourceView, DatasetForm, DatasetView, Editor};
use crate::error::AppError;
use crate::pages::{Chrome, DatasetFormView, DatasetsPage, paths};
use crate::state::AppState;

/// Dataset pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route(paths::DATASETS, get(show_datasets).post(create_dataset))
        .route("/datasets/{id}", get(edit_dataset).post(update_dataset))
        .route("/datasets/{id}/delete", post(delete_dataset))
}

/// Dataset API.
pub fn api() -> Router<AppState> {
    Router::new()
        .route("/datasets", get(list_datasets_api).post(create_dataset_api))
        .route(
            "/datasets/{id}",
            get(show_dataset_api)
                .put(update_dataset_api)
                .delete(delete_dataset_api),
        )
}

async fn page(
    state: &AppState,
    identity: &Identity,
    editing: Option<DatasetId>,
    form: DatasetFormView,
    outcome: Result<Option<String>, String>,
) -> Result<Response, AppError> {
    let actor = identity.actor();
    if !actor.can_edit_content() {
        return Err(AppError::Forbidden);
    }
    let datasets = state.store.datasets(actor.workspace_id).await?;
    let sources = state.store.data_sources(actor.workspace_id).await?;
    let failed = outcome.is_err();
    let (notice, error) = match outcome {
        Ok(n) => (n, None),
        Err(e) => (None, Some(e)),
    };
    let page = DatasetsPage {
        chrome: Chrome::new(identity, "datasets"),
        datasets: datasets.iter().map(DatasetView::from).collect(),
        sources: sources.iter().map(DataSourceView::from).collect(),
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
    state: &AppState,
    identity: &Identity,
    id: Option<DatasetId>,
    form: DatasetForm,
) -> Result<Response, AppError> {
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
        Err(AppError::BadRequest(m) | AppError::Conflict(m)) => {
            page(state, identity, id, form_view(&form), Err(m)).await
        }
        Err(other) => Err(other),
    }
}

async fn show_datasets(
    State(state): State<AppState>,
    PageMember(identity): PageMember,
) -> Result<Response, AppError> {
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
    State(state): State<AppState>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<DatasetForm>,
) -> Result<Response, AppError> {
    save(&state, &identity, None, form).await
}

async fn edit_dataset(
    State(state): State<AppState>,
    PageMember(identity): PageMember,
    Path(id): Path<DatasetId>,
) -> Result<Response, AppError> {
    let record = state
        .store
        .dataset(identity.member.workspace_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let form = DatasetFormView {
        data_source_id: record.data_source_id.0,
        slug: record.slug,
        name: record.name,
        sql: record.sql,
    };
    page(&state, &identity, Some(id), form, Ok(None)).await
}

async fn update_dataset(
    State(state): State<AppState>,
    PageMember(identity): PageMember,
    Path(id): Path<DatasetId>,
    axum::Form(form): axum::Form<DatasetForm>,
) -> Result<Response, AppError> {
    save(&state, &identity, Some(id), form).await
}

async fn delete_dataset(
    State(state): State<AppState>,
    PageMember(identity): PageMember,
    Path(id): Path<DatasetId>,
) -> Result<Response, AppError> {
    let workspace = identity.member.workspace_id;
    let outcome =
        match content::delete_dataset(&state, &Editor::Member(&identity.member), workspace, id)
            .await
        {
            Ok(()) => Ok(Some("Deleted.".to_owned())),
            Err(AppError::Conflict(m)) => Err(m),
            Err(other) => return Err(other),
        };
    page(&state, &identity, None, DatasetFormView::default(), outcome).await
}

async fn list_datasets_api(
    State(state): State<AppState>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<DatasetView>>, AppError> {
    if !identity.actor().can_edit_content() {
        return Err(AppError::Forbidden);
    }
    let datasets = state.store.datasets(identity.member.workspace_id).await?;
    Ok(Json(datasets.iter().map(DatasetView::from).collect()))
}

async fn show_dataset_api(
    State(state): State<AppState>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DatasetId>,
) -> Result<Json<DatasetView>, AppError> {
    if !identity.actor().can_edit_content() {
        return Err(AppError::Forbidden);
    }
    let record = state
        .store
        .dataset(identity.member.workspace_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(DatasetView::from(&record)))
}

async fn create_dataset_api(
    State(state): State<AppState>,
    ApiMember(identity): ApiMember,
    Json(form): Json<DatasetForm>,
) -> Result<(StatusCode, Json<DatasetView>), AppError> {
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

async fn update_dataset_api(
    State(state): State<AppState>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DatasetId>,
    Json(form): Json<DatasetForm>,
) -> Result<Json<DatasetView>, AppError> {
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

async fn delete_dataset_api(
    State(state): State<AppState>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DatasetId>,
) -> Result<StatusCode, AppError> {
    content::delete_dataset(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
