//! The outsider router: what people without an account can reach.
//!
//! It is a separate router with no identity layer and no member, workspace or mutation route.
//! Share links arrive with the share-links work; until then every link is unknown and gets
//! the polite 404 page, which reveals nothing.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use crate::pages::PublicMissingPage;
use crate::state::AppState;

/// Outsider routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/share/{token}", get(unknown_link))
        .route("/s/{code}", get(unknown_link))
}

async fn unknown_link() -> (StatusCode, PublicMissingPage) {
    (StatusCode::NOT_FOUND, PublicMissingPage)
}
