//! The signed-in member's own account: who am I, change password.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::secret::Password;

use crate::auth::{ApiMember, PageMember};
use crate::error::HttpError;
use crate::extract::Json;
use crate::pages::{Chrome, PasswordPage, paths};
use vitrine_app::App;
use vitrine_app::Error;
use vitrine_app::accounts::{self, MemberView};

/// Account pages.
pub fn pages() -> Router<App> {
    Router::new().route(paths::PASSWORD, get(show_password).post(change_password))
}

/// Account API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(show_me))
}

async fn show_password(PageMember(identity): PageMember) -> PasswordPage {
    PasswordPage {
        forced: identity.member.must_change_password,
        chrome: Chrome::new(&identity, "account"),
        error: None,
        done: false,
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
}

async fn change_password(
    State(state): State<App>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<PasswordForm>,
) -> Result<Response, HttpError> {
    match accounts::change_own_password(
        &state,
        &identity.member,
        &Password::new(form.current),
        &form.new,
    )
    .await
    {
        Ok(session) => {
            // The old session ended with the others; the page is shown with the new one.
            let mut identity = identity;
            identity.member.must_change_password = false;
            identity.via = crate::auth::Via::Session {
                csrf: crate::auth::csrf_token(&state, &session.token),
            };
            let cookie = crate::auth::session_cookie(&state, &session);
            let page = PasswordPage {
                chrome: Chrome::new(&identity, "account"),
                forced: false,
                error: None,
                done: true,
            };
            let mut response = page.into_response();
            let value = HeaderValue::from_str(&cookie).map_err(Error::internal)?;
            response.headers_mut().append(header::SET_COOKIE, value);
            Ok(response)
        }
        Err(Error::Invalid { message, .. }) => {
            let page = PasswordPage {
                forced: identity.member.must_change_password,
                chrome: Chrome::new(&identity, "account"),
                error: Some(message),
                done: false,
            };
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// Who am I.
///
/// The member the session or API key acts as.
#[utoipa::path(get, path = "/me", operation_id = "getMe", tag = "account",
    responses((status = 200, description = "The caller", body = MemberView)))]
async fn show_me(ApiMember(identity): ApiMember) -> Json<MemberView> {
    Json(MemberView::from(&identity.member))
}
