//! The OpenAPI document of `/api/v1`, written by hand next to the code it describes
//! (`openapi.json`) and embedded. A test walks it and calls every operation, so an
//! operation documented but missing fails the build.

use axum::http::header;
use axum::response::IntoResponse;

/// The document's text.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// `GET /api/v1/openapi.json`.
pub async fn openapi_document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
