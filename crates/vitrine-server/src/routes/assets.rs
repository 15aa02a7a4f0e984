//! Static assets, embedded in the binary.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::pages::paths;
use crate::state::AppState;

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");
const DASHBOARD_CSS: &str = include_str!("../../static/dashboard.css");
const DASHBOARD_JS: &str = include_str!("../../static/dashboard.js");
const PUBLIC_CSS: &str = include_str!("../../static/public.css");

/// Asset routes.
pub fn router() -> Router<AppState> {
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
