//! API keys: the page and `/api/v1/api-keys`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use vitrine_core::id::ApiKeyId;

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::HttpError;
use crate::pages::{ApiKeysPage, Chrome, OneTimeSecret, paths};
use vitrine_app::App;
use vitrine_app::Error;
use vitrine_app::accounts::{self, ApiKeyView};

/// API key pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(paths::API_KEYS, get(show_api_keys).post(create_api_key))
        .route("/api-keys/{id}/revoke", post(revoke_api_key))
}

/// API key API.
pub fn api() -> Router<App> {
    Router::new()
        .route("/api-keys", get(list_api_keys_api).post(create_api_key_api))
        .route("/api-keys/{id}", delete(revoke_api_key_api))
}

async fn page(
    state: &App,
    identity: &Identity,
    created: Option<OneTimeSecret>,
    error: Option<String>,
) -> Result<ApiKeysPage, HttpError> {
    Ok(ApiKeysPage {
        chrome: Chrome::new(identity, "api_keys"),
        keys: accounts::list_api_keys(state, &identity.member).await?,
        created,
        error,
    })
}

async fn show_api_keys(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<ApiKeysPage, HttpError> {
    page(&state, &identity, None, None).await
}

#[derive(Debug, Deserialize)]
struct NameForm {
    name: String,
}

async fn create_api_key(
    State(state): State<App>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<NameForm>,
) -> Result<Response, HttpError> {
    match accounts::create_api_key(&state, &identity.member, &form.name).await {
        Ok((key, secret)) => {
            let created = OneTimeSecret {
                label: key.name,
                secret: secret.expose().to_owned(),
            };
            Ok(page(&state, &identity, Some(created), None)
                .await?
                .into_response())
        }
        Err(Error::Invalid { message, .. }) => Ok((
            StatusCode::BAD_REQUEST,
            page(&state, &identity, None, Some(message)).await?,
        )
            .into_response()),
        Err(other) => Err(other.into()),
    }
}

async fn revoke_api_key(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<ApiKeyId>,
) -> Result<Response, HttpError> {
    accounts::revoke_api_key(&state, &identity.member, id).await?;
    Ok(Redirect::to(paths::API_KEYS).into_response())
}

async fn list_api_keys_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<ApiKeyView>>, HttpError> {
    Ok(Json(
        accounts::list_api_keys(&state, &identity.member).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
}

async fn create_api_key_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), HttpError> {
    let (key, secret) = accounts::create_api_key(&state, &identity.member, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": key.id,
            "name": key.name,
            "prefix": key.prefix,
            "key": secret.expose(),
        })),
    ))
}

async fn revoke_api_key_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<ApiKeyId>,
) -> Result<StatusCode, HttpError> {
    accounts::revoke_api_key(&state, &identity.member, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
