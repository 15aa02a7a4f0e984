//! `/api/v1/dashboards/{id}/embedding…`, `/api/v1/guest-tokens`, `/api/v1/guest-grants/{id}`
//! and the Superset-shaped `/api/v1/security/guest_token/`: embedding for host applications.
//!
//! Handlers are thin: every decision is in [`vitrine_app::embedding`].

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::id::DashboardId;

use crate::auth::{ApiMember, Identity, Via};
use crate::error::{ErrorBody, HttpError};
use crate::extract::{Json, Path, Query};
use crate::routes::audit::LimitQuery;
use vitrine_app::App;
use vitrine_app::embedding::{
    self, EmbeddingInput, EmbeddingView, GrantView, GuestTokenRequest, MintedToken,
};

/// Embedding API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(show_embedding, save_embedding, delete_embedding))
        .routes(routes!(list_guest_grants, revoke_guest_grants))
        .routes(routes!(create_guest_token))
        .routes(routes!(create_guest_token_superset))
        .routes(routes!(revoke_guest_grant))
        .routes(routes!(list_embed_events))
}

fn api_key(identity: &Identity) -> Option<vitrine_core::id::ApiKeyId> {
    match identity.via {
        Via::ApiKey(id) => Some(id),
        Via::Session { .. } => None,
    }
}

/// Show a dashboard's embedding.
///
/// With its embed id, allowed origins, UI defaults, host filters and ready-to-paste snippets.
#[utoipa::path(get, path = "/dashboards/{id}/embedding", operation_id = "getEmbedding",
    tag = "embedding",
    params(("id" = i64, Path, description = "Dashboard id")),
    responses(
        (status = 200, description = "The embedding", body = EmbeddingView),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dashboard, or it is not embedded", body = ErrorBody),
    ))]
async fn show_embedding(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
) -> Result<Json<EmbeddingView>, HttpError> {
    embedding::show_embedding(&state, &identity.member, DashboardId(id))
        .await?
        .map(Json)
        .ok_or(HttpError::App(vitrine_app::Error::NotFound))
}

/// Enable or change a dashboard's embedding.
///
/// Needs `embed`. `allowed_origins` is required and never empty (an empty list embeds
/// nowhere); the embed id is random and stays the same across changes. `enabled: false`
/// stops every guest token of it at once.
#[utoipa::path(put, path = "/dashboards/{id}/embedding", operation_id = "saveEmbedding",
    tag = "embedding",
    params(("id" = i64, Path, description = "Dashboard id")),
    request_body = EmbeddingInput,
    responses(
        (status = 200, description = "The embedding", body = EmbeddingView),
        (status = 400, description = "Bad origins, unknown filters, a draft dashboard", body = ErrorBody),
        (status = 403, description = "Needs the embed permission", body = ErrorBody),
        (status = 404, description = "No such dashboard", body = ErrorBody),
    ))]
async fn save_embedding(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
    Json(input): Json<EmbeddingInput>,
) -> Result<Json<EmbeddingView>, HttpError> {
    Ok(Json(
        embedding::save_embedding(&state, &identity.member, DashboardId(id), input).await?,
    ))
}

/// Delete a dashboard's embedding.
///
/// Every guest grant of it goes with it; a new embedding gets a new embed id.
#[utoipa::path(delete, path = "/dashboards/{id}/embedding", operation_id = "deleteEmbedding",
    tag = "embedding",
    params(("id" = i64, Path, description = "Dashboard id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Needs the embed permission", body = ErrorBody),
        (status = 404, description = "No such dashboard, or it is not embedded", body = ErrorBody),
    ))]
async fn delete_embedding(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
) -> Result<StatusCode, HttpError> {
    embedding::delete_embedding(&state, &identity.member, DashboardId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the live guest grants of a dashboard's embedding.
#[utoipa::path(get, path = "/dashboards/{id}/embedding/grants", operation_id = "listGuestGrants",
    tag = "embedding",
    params(("id" = i64, Path, description = "Dashboard id")),
    responses(
        (status = 200, description = "Unexpired, unrevoked grants, newest first", body = Vec<GrantView>),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dashboard", body = ErrorBody),
    ))]
async fn list_guest_grants(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
) -> Result<Json<Vec<GrantView>>, HttpError> {
    Ok(Json(
        embedding::live_grants(&state, &identity.member, DashboardId(id)).await?,
    ))
}

/// How many grants were revoked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Revoked {
    /// Grants revoked.
    revoked: u64,
}

/// Revoke every guest grant of a dashboard's embedding.
///
/// Every embedded view of it flips to "session expired" on its next request (the live
/// stream within a second).
#[utoipa::path(delete, path = "/dashboards/{id}/embedding/grants", operation_id = "revokeGuestGrants",
    tag = "embedding",
    params(("id" = i64, Path, description = "Dashboard id")),
    responses(
        (status = 200, description = "How many were revoked", body = Revoked),
        (status = 403, description = "Needs the embed permission", body = ErrorBody),
        (status = 404, description = "No such dashboard, or it is not embedded", body = ErrorBody),
    ))]
async fn revoke_guest_grants(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
) -> Result<Json<Revoked>, HttpError> {
    let revoked = embedding::revoke_all_grants(&state, &identity.member, DashboardId(id)).await?;
    Ok(Json(Revoked { revoked }))
}

/// Mint a guest token.
///
/// For a host application's backend, with an API key whose member holds `embed`. The token
/// (< 200 characters) names a grant kept in the store: one embedding, the row-level rules,
/// the host's user, the expiry (`expires_in`, default 300 s, at most
/// `embed.max_token_seconds`) and the key. Rules are `{dataset?, column, op, value|values}`
/// (ops `=`, `!=`, `in`, `not in`, `<`, `<=`, `>`, `>=`, `between`) or `{clause, dataset?}`
/// (comparisons of one column with literals joined by AND); every column is checked
/// against the dashboard's datasets: 400 naming what is wrong.
#[utoipa::path(post, path = "/guest-tokens", operation_id = "createGuestToken",
    tag = "embedding",
    request_body = GuestTokenRequest,
    responses(
        (status = 201, description = "The token", body = MintedToken),
        (status = 400, description = "Unknown embed id, bad rule, unknown column, bad lifetime", body = ErrorBody),
        (status = 403, description = "Needs the embed permission", body = ErrorBody),
    ))]
async fn create_guest_token(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(request): Json<GuestTokenRequest>,
) -> Result<(StatusCode, Json<MintedToken>), HttpError> {
    let minted =
        embedding::mint_guest_token(&state, &identity.member, api_key(&identity), request).await?;
    Ok((StatusCode::CREATED, Json(minted)))
}

/// A guest token in Superset's shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SupersetToken {
    /// The token.
    token: String,
}

/// Mint a guest token (Superset-compatible).
///
/// The same payload as `POST /guest-tokens` (`rls: [{"clause": "tenant_id = '42'"}]` works),
/// answering `{"token": …}`, so host code written for Apache Superset needs only its base
/// URL changed.
#[utoipa::path(post, path = "/security/guest_token/", operation_id = "createGuestTokenSuperset",
    tag = "embedding",
    request_body = GuestTokenRequest,
    responses(
        (status = 200, description = "The token", body = SupersetToken),
        (status = 400, description = "Unknown embed id, bad rule, unknown column, bad lifetime", body = ErrorBody),
        (status = 403, description = "Needs the embed permission", body = ErrorBody),
    ))]
async fn create_guest_token_superset(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(request): Json<GuestTokenRequest>,
) -> Result<Json<SupersetToken>, HttpError> {
    let minted =
        embedding::mint_guest_token(&state, &identity.member, api_key(&identity), request).await?;
    Ok(Json(SupersetToken {
        token: minted.token,
    }))
}

/// Revoke one guest grant.
///
/// Its token stops working on the next request of every route (page, cards, live stream,
/// downloads).
#[utoipa::path(delete, path = "/guest-grants/{id}", operation_id = "revokeGuestGrant",
    tag = "embedding",
    params(("id" = String, Path, description = "Grant id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Needs the embed permission", body = ErrorBody),
        (status = 404, description = "No such live grant", body = ErrorBody),
    ))]
async fn revoke_guest_grant(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<String>,
) -> Result<StatusCode, HttpError> {
    embedding::revoke_grant(&state, &identity.member, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An embedded view (or refusal) in the access log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct EmbedEventView {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    at: time::OffsetDateTime,
    /// `ok`, `export_csv`, `expired`, `revoked`, `key_revoked`, `disabled`, `not_found` …
    outcome: String,
    /// The guest grant, when the token named one.
    grant_id: Option<String>,
    /// The host's `user.username`, as given.
    username: Option<String>,
    /// ISO country code, when known.
    country: Option<String>,
    /// `desktop`, `mobile`, `bot` or `other`.
    client_class: String,
}

/// List a dashboard's embedded views.
///
/// Newest first, with the grant and the host's `user.username` (the client address is never
/// shown). Editors and admins.
#[utoipa::path(get, path = "/dashboards/{id}/embedding/events", operation_id = "listEmbedEvents",
    tag = "embedding",
    params(("id" = i64, Path, description = "Dashboard id"), LimitQuery),
    responses(
        (status = 200, description = "The events", body = Vec<EmbedEventView>),
        (status = 400, description = "A limit outside 1 to 1000", body = ErrorBody),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
    ))]
async fn list_embed_events(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<i64>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<EmbedEventView>>, HttpError> {
    let limit = query.limit()?;
    let events = embedding::embed_events(&state, &identity.member, DashboardId(id), limit).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| EmbedEventView {
                at: e.event.at,
                outcome: e.event.outcome,
                grant_id: e.grant_id,
                username: e.username,
                country: e.event.country,
                client_class: e.event.client_class,
            })
            .collect(),
    ))
}
