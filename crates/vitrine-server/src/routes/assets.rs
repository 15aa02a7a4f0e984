//! `GET /static/…`: the prepared assets of [`crate::assets`] — content-hashed URLs cached for a
//! year, stable URLs revalidated with `ETag` / `304`, brotli or gzip as the client accepts.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::assets::{Encoding, assets};
use vitrine_app::App;

/// Asset routes.
pub fn router() -> Router<App> {
    Router::new().route("/static/{*path}", get(show_asset))
}

async fn show_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some((asset, hashed)) = assets().get(&format!("/static/{path}")) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if hashed {
        "public, max-age=31536000, immutable"
    } else {
        // Stable URLs (a host page's `/static/embed.js`) may change with a release: revalidate.
        "public, max-age=300, must-revalidate"
    };
    let mut response = if !hashed
        && headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| {
                tags.split(',')
                    .any(|t| t.trim() == asset.etag || t.trim() == "*")
            }) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let accept = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (body, encoding) = asset.body(Encoding::negotiate(accept));
        let mut response = body.to_vec().into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        if let Some(coding) = encoding.header() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        response
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, etag);
    }
    response
}
