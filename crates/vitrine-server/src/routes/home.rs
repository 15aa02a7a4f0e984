//! The home page: the dashboards list.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::auth::PageMember;
use crate::error::HttpError;
use crate::pages::{Chrome, HomePage, paths};
use vitrine_app::App;

/// Home routes.
pub fn pages() -> Router<App> {
    Router::new().route(paths::HOME, get(show_home))
}

async fn show_home(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<HomePage, HttpError> {
    Ok(HomePage {
        dashboards: vitrine_app::content::list_dashboards(&state, &identity.member).await?,
        can_edit: identity.actor().can_edit_content(),
        chrome: Chrome::new(&identity, "home"),
    })
}
