//! Static assets, embedded in the binary.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::pages::paths;
use vitrine_app::App;

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");
const DASHBOARD_CSS: &str = include_str!("../../static/dashboard.css");
const DASHBOARD_JS: &str = include_str!("../../static/dashboard.js");
const PUBLIC_CSS: &str = include_str!("../../static/public.css");

/// Asset routes.
pub fn router() -> Router<App> {
    Router::new()
        .route(
            paths::CSS,
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            paths::JS,
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
        .route(
            crate::dashboards::DASHBOARD_CSS,
            get(|| async { asset("text/css; charset=utf-8", DASHBOARD_CSS) }),
        )
        .route(
            crate::dashboards::DASHBOARD_JS,
            get(|| async { asset("text/javascript; charset=utf-8", DASHBOARD_JS) }),
        )
        .route(
            super::public::PUBLIC_CSS,
            get(|| async { asset("text/css; charset=utf-8", PUBLIC_CSS) }),
        )
        .route(
            FONT_REGULAR,
            get(|| async { font(dejavu::sans::regular()) }),
        )
        .route(FONT_BOLD, get(|| async { font(dejavu::sans::bold()) }))
}

/// DejaVu Sans, the face the charts are measured with, served from the binary so the screen
/// lays labels out exactly as the renderer planned (and as PNG / PDF exports will).
pub const FONT_REGULAR: &str = "/static/fonts/dejavu-sans.ttf";
/// Its bold weight.
pub const FONT_BOLD: &str = "/static/fonts/dejavu-sans-bold.ttf";

fn font(bytes: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "font/ttf"),
            (header::CACHE_CONTROL, "public, max-age=86400, immutable"),
        ],
        bytes,
    )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
