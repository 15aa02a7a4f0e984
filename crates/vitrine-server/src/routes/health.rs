//! `/healthz` (the process answers) and `/readyz` (and its store does).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use vitrine_app::App;

/// Health routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readiness))
}

async fn readiness(State(state): State<App>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "store not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
