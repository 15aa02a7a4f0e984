//! Data sources: the page and `/api/v1/data-sources`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::id::DataSourceId;

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::{self, Json};
use crate::pages::{Chrome, DataSourcesPage, paths};
use vitrine_app::App;
use vitrine_app::Error;
use vitrine_app::content::{self, DataSourceForm, DataSourceView, Editor};

/// Data source pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(
            paths::DATA_SOURCES,
            get(show_data_sources).post(create_data_source),
        )
        .route("/data-sources/{id}/test", post(test_data_source))
        .route("/data-sources/{id}/delete", post(delete_data_source))
}

/// Data source API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_data_sources_api, create_data_source_api))
        .routes(routes!(
            show_data_source_api,
            update_data_source_api,
            delete_data_source_api
        ))
        .routes(routes!(test_data_source_api))
}

async fn page(
    state: &App,
    identity: &Identity,
    outcome: Result<Option<String>, String>,
    form: Option<&DataSourceForm>,
) -> Result<Response, HttpError> {
    let editor = Editor::Member(&identity.member);
    let sources = content::list_data_sources(state, &editor, identity.member.workspace_id).await?;
    let failed = outcome.is_err();
    let (notice, error) = match outcome {
        Ok(notice) => (notice, None),
        Err(error) => (None, Some(error)),
    };
    let page = DataSourcesPage {
        chrome: Chrome::new(identity, "data_sources"),
        sources,
        can_edit: content::may_manage_data_sources(&editor),
        notice,
        error,
        name: form.map(|f| f.name.clone()).unwrap_or_default(),
        kind: form.map_or_else(|| "postgres".to_owned(), |f| f.kind.clone()),
    };
    let status = if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

/// Turns an operation's outcome into the page's message: what the person can fix is shown,
/// anything else is an error page.
fn message<T>(
    result: Result<T, Error>,
    done: impl FnOnce(T) -> String,
) -> Result<Result<Option<String>, String>, HttpError> {
    match result {
        Ok(value) => Ok(Ok(Some(done(value)))),
        Err(Error::Invalid { message: m, .. } | Error::Conflict(m)) => Ok(Err(m)),
        Err(other) => Err(other.into()),
    }
}

async fn show_data_sources(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<Response, HttpError> {
    page(&state, &identity, Ok(None), None).await
}

async fn create_data_source(
    State(state): State<App>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<DataSourceForm>,
) -> Result<Response, HttpError> {
    let workspace = identity.member.workspace_id;
    let result = content::save_data_source(
        &state,
        &Editor::Member(&identity.member),
        workspace,
        None,
        &form,
    )
    .await;
    let outcome = message(result, |r| format!("Connected to “{}”.", r.name))?;
    let keep = outcome.is_err().then_some(&form);
    page(&state, &identity, outcome, keep).await
}

async fn test_data_source(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DataSourceId>,
) -> Result<Response, HttpError> {
    let workspace = identity.member.workspace_id;
    let result =
        content::test_data_source(&state, &Editor::Member(&identity.member), workspace, id).await;
    let outcome = message(result, |()| "The connection works.".to_owned())?;
    page(&state, &identity, outcome, None).await
}

async fn delete_data_source(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DataSourceId>,
) -> Result<Response, HttpError> {
    let workspace = identity.member.workspace_id;
    let result =
        content::delete_data_source(&state, &Editor::Member(&identity.member), workspace, id).await;
    let outcome = message(result, |()| "Deleted.".to_owned())?;
    page(&state, &identity, outcome, None).await
}

/// List data sources.
///
/// Editors and admins. Never their settings: `display` is the location with any password
/// replaced.
#[utoipa::path(get, path = "/data-sources", operation_id = "listDataSources", tag = "data-sources",
    responses(
        (status = 200, description = "The data sources", body = Vec<DataSourceView>),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn list_data_sources_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<DataSourceView>>, HttpError> {
    let sources = content::list_data_sources(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
    )
    .await?;
    Ok(Json(sources))
}

/// Show a data source.
#[utoipa::path(get, path = "/data-sources/{id}", operation_id = "getDataSource", tag = "data-sources",
    params(("id" = i64, Path, description = "Data source id")),
    responses(
        (status = 200, description = "The data source", body = DataSourceView),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such data source", body = ErrorBody),
    ))]
async fn show_data_source_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DataSourceId>,
) -> Result<Json<DataSourceView>, HttpError> {
    let source = content::show_data_source(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(Json(source))
}

/// Connect a data source.
///
/// The connection is tested before anything is saved (400 with the reason when it fails);
/// Vitrine's own database is refused. Its settings are sealed at rest and never shown again.
#[utoipa::path(post, path = "/data-sources", operation_id = "createDataSource", tag = "data-sources",
    request_body = DataSourceForm,
    responses(
        (status = 201, description = "The data source", body = DataSourceView),
        (status = 400, description = "The location is not allowed on this server (field location: SQLite files only inside data.sqlite_roots and never Vitrine's own store; server URLs with a network host, no sockets or file-reading parameters) or does not connect", body = ErrorBody),
        (status = 403, description = "Admins and members holding manage_data_sources only", body = ErrorBody),
        (status = 409, description = "A data source with this name exists", body = ErrorBody),
    ))]
async fn create_data_source_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(form): Json<DataSourceForm>,
) -> Result<(StatusCode, Json<DataSourceView>), HttpError> {
    let workspace = identity.member.workspace_id;
    let record = content::save_data_source(
        &state,
        &Editor::Member(&identity.member),
        workspace,
        None,
        &form,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(DataSourceView::from(&record))))
}

/// Replace a data source.
///
/// Tested before saving, like a new one.
#[utoipa::path(put, path = "/data-sources/{id}", operation_id = "updateDataSource", tag = "data-sources",
    params(("id" = i64, Path, description = "Data source id")),
    request_body = DataSourceForm,
    responses(
        (status = 200, description = "The data source", body = DataSourceView),
        (status = 400, description = "The location is not allowed on this server (field location: SQLite files only inside data.sqlite_roots and never Vitrine's own store; server URLs with a network host, no sockets or file-reading parameters) or does not connect", body = ErrorBody),
        (status = 403, description = "Admins and members holding manage_data_sources only", body = ErrorBody),
        (status = 404, description = "No such data source", body = ErrorBody),
        (status = 409, description = "A data source with this name exists", body = ErrorBody),
    ))]
async fn update_data_source_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DataSourceId>,
    Json(form): Json<DataSourceForm>,
) -> Result<Json<DataSourceView>, HttpError> {
    let workspace = identity.member.workspace_id;
    let record = content::save_data_source(
        &state,
        &Editor::Member(&identity.member),
        workspace,
        Some(id),
        &form,
    )
    .await?;
    Ok(Json(DataSourceView::from(&record)))
}

/// Delete a data source.
///
/// Refused while a dataset reads it (409).
#[utoipa::path(delete, path = "/data-sources/{id}", operation_id = "deleteDataSource", tag = "data-sources",
    params(("id" = i64, Path, description = "Data source id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Admins and members holding manage_data_sources only", body = ErrorBody),
        (status = 404, description = "No such data source", body = ErrorBody),
        (status = 409, description = "A dataset reads it", body = ErrorBody),
    ))]
async fn delete_data_source_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DataSourceId>,
) -> Result<StatusCode, HttpError> {
    content::delete_data_source(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The outcome of a connection test.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ConnectionTest)]
struct ConnectionOk {
    /// Always `true`: a failed test is a 400 with the reason.
    ok: bool,
}

/// Test a data source's connection.
#[utoipa::path(post, path = "/data-sources/{id}/test", operation_id = "testDataSource", tag = "data-sources",
    params(("id" = i64, Path, description = "Data source id")),
    responses(
        (status = 200, description = "The connection works", body = ConnectionOk),
        (status = 400, description = "The saved location is no longer allowed, or the connection failed (the reason, without credentials)", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such data source", body = ErrorBody),
    ))]
async fn test_data_source_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DataSourceId>,
) -> Result<Json<ConnectionOk>, HttpError> {
    content::test_data_source(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(Json(ConnectionOk { ok: true }))
}
