//! The home page: the dashboards list.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::auth::PageMember;
use crate::error::AppError;
use crate::pages::{Chrome, HomePage, paths};
use crate::state::AppState;

/// Home routes.
pub fn pages() -> Router<AppState> {
    Router::new().route(paths::HOME, get(show_home))
}

async fn show_home(
    State(state): State<AppState>,
    PageMember(identity): PageMember,
) -> Result<HomePage, AppError> {
    Ok(HomePage {
        dashboards: crate::content::list_dashboards(&state, &identity.member).await?,
        can_edit: identity.actor().can_edit_content(),
        chrome: Chrome::new(&identity, "home"),
    })
}
