//! Datasets: the page and `/api/v1/datasets`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use vitrine_core::id::DatasetId;

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::HttpError;
use crate::pages::{Chrome, DatasetFormView, DatasetsPage, paths};
use vitrine_app::App;
use vitrine_app::Error;
use vitrine_app::content::{self, DataSourceView, DatasetForm, DatasetView, Editor};

/// Dataset pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(paths::DATASETS, get(show_datasets).post(create_dataset))
        .route("/datasets/{id}", get(edit_dataset).post(update_dataset))
        .route("/datasets/{id}/delete", post(delete_dataset))
}

/// Dataset API.
pub fn api() -> Router<App> {
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
    state: &App,
    identity: &Identity,
    editing: Option<DatasetId>,
    form: DatasetFormView,
    outcome: Result<Option<String>, String>,
) -> Result<Response, HttpError> {
    let actor = identity.actor();
    if !actor.can_edit_content() {
        return Err(Error::Forbidden.into());
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
    let record = state
        .store
        .dataset(identity.member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
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

async fn list_datasets_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<DatasetView>>, HttpError> {
    if !identity.actor().can_edit_content() {
        return Err(Error::Forbidden.into());
    }
    let datasets = state.store.datasets(identity.member.workspace_id).await?;
    Ok(Json(datasets.iter().map(DatasetView::from).collect()))
}

async fn show_dataset_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DatasetId>,
) -> Result<Json<DatasetView>, HttpError> {
    if !identity.actor().can_edit_content() {
        return Err(Error::Forbidden.into());
    }
    let record = state
        .store
        .dataset(identity.member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Json(DatasetView::from(&record)))
}

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

async fn update_dataset_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DatasetId>,
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

async fn delete_dataset_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DatasetId>,
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
