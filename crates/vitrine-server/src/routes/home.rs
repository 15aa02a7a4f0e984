//! The home page: the dashboards list.

use axum::Router;
use axum::routing::get;

use crate::auth::PageMember;
use crate::pages::{Chrome, HomePage, paths};
use crate::state::AppState;

/// Home routes.
pub fn pages() -> Router<AppState> {
    Router::new().route(paths::HOME, get(show_home))
}

async fn show_home(PageMember(identity): PageMember) -> HomePage {
    HomePage {
        chrome: Chrome::new(&identity, "home"),
    }
}
