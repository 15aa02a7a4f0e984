//! API keys: the page and `/api/v1/api-keys`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::id::ApiKeyId;

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::extract::{self, Json};
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
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_api_keys_api, create_api_key_api))
        .routes(routes!(revoke_api_key_api))
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

/// List API keys.
///
/// The caller's own keys; admins see every key in the workspace. Never the secrets.
#[utoipa::path(get, path = "/api-keys", operation_id = "listApiKeys", tag = "api-keys",
    responses((status = 200, description = "The keys", body = Vec<ApiKeyView>)))]
async fn list_api_keys_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<ApiKeyView>>, HttpError> {
    Ok(Json(
        accounts::list_api_keys(&state, &identity.member).await?,
    ))
}

/// A new API key's name.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = ApiKeyRequest)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// What the key is for.
    #[schema(schema_with = vitrine_app::openapi::label)]
    name: String,
}

/// A new API key with its secret, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = NewApiKey)]
struct CreatedKey {
    /// Id.
    id: ApiKeyId,
    /// Name.
    name: String,
    /// The visible prefix (`vtk_` and 8 characters), as lists show it.
    prefix: String,
    /// The secret, `vtk_…`: send it as `Authorization: Bearer …`. Shown once, never stored.
    key: String,
}

/// Create an API key.
///
/// The key acts as the caller, with their permissions.
#[utoipa::path(post, path = "/api-keys", operation_id = "createApiKey", tag = "api-keys",
    request_body = CreateBody,
    responses((status = 201, description = "The key and its secret, shown once", body = CreatedKey)))]
async fn create_api_key_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<CreatedKey>), HttpError> {
    let (key, secret) = accounts::create_api_key(&state, &identity.member, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            key: secret.expose().to_owned(),
        }),
    ))
}

/// Revoke an API key.
///
/// One's own, or any in the workspace for admins. A request made with a revoked key is 401.
#[utoipa::path(delete, path = "/api-keys/{id}", operation_id = "revokeApiKey", tag = "api-keys",
    params(("id" = i64, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key (or another member's, for non-admins)", body = ErrorBody),
        (status = 409, description = "Already revoked", body = ErrorBody),
    ))]
async fn revoke_api_key_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<ApiKeyId>,
) -> Result<StatusCode, HttpError> {
    accounts::revoke_api_key(&state, &identity.member, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
