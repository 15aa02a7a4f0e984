//! API keys: the page and `/api/v1/api-keys`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use vitrine_core::id::ApiKeyId;

use crate::accounts::{self, ApiKeyView};
use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::AppError;
use crate::pages::{ApiKeysPage, Chrome, OneTimeSecret, paths};
use crate::state::AppState;

/// API key pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route(paths::API_KEYS, get(show_api_keys).post(create_api_key))
        .route("/api-keys/{id}/revoke", post(revoke_api_key))
}

/// API key API.
pub fn api() -> Router<AppState> {
    Router::new()
        .route("/api-keys", get(list_api_keys_api).post(create_api_key_api))
        .route("/api-keys/{id}", delete(revoke_api_key_api))
}

async fn page(
    state: &AppState,
    identity: &Identity,
    created: Option<OneTimeSecret>,
    error: Option<String>,
) -> Result<ApiKeysPage, AppError> {
    Ok(ApiKeysPage {
        chrome: Chrome::new(identity, "api_keys"),
        keys: accounts::list_api_keys(state, &identity.member).await?,
        created,
        error,
    })
}

async fn show_api_keys(
    State(state): State<AppState>,
    PageMember(identity): PageMember,
) -> Result<ApiKeysPage, AppError> {
    page(&state, &identity, None, None).await
}

#[derive(Debug, Deserialize)]
struct NameForm {
    name: String,
}

async fn create_api_key(
    State(state): State<AppState>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<NameForm>,
) -> Result<Response, AppError> {
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
        Err(AppError::BadRequest(message)) => Ok((
            StatusCode::BAD_REQUEST,
            page(&state, &identity, None, Some(message)).await?,
        )
            .into_response()),
        Err(other) => Err(other),
    }
}

async fn revoke_api_key(
    State(state): State<AppState>,
    PageMember(identity): PageMember,
    Path(id): Path<ApiKeyId>,
) -> Result<Response, AppError> {
    accounts::revoke_api_key(&state, &identity.member, id).await?;
    Ok(Redirect::to(paths::API_KEYS).into_response())
}

async fn list_api_keys_api(
    State(state): State<AppState>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<ApiKeyView>>, AppError> {
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
    State(state): State<AppState>,
    ApiMember(identity): ApiMember,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
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
    State(state): State<AppState>,
    ApiMember(identity): ApiMember,
    Path(id): Path<ApiKeyId>,
) -> Result<StatusCode, AppError> {
    accounts::revoke_api_key(&state, &identity.member, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
