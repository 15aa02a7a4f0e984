//! The signed-in member's own account: who am I, change password.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use vitrine_core::secret::Password;

use crate::accounts::{self, MemberView};
use crate::auth::{ApiMember, PageMember};
use crate::error::AppError;
use crate::pages::{Chrome, PasswordPage, paths};
use crate::state::AppState;

/// Account pages.
pub fn pages() -> Router<AppState> {
    Router::new().route(paths::PASSWORD, get(show_password).post(change_password))
}

/// Account API.
pub fn api() -> Router<AppState> {
    Router::new().route("/me", get(show_me))
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
    State(state): State<AppState>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<PasswordForm>,
) -> Result<Response, AppError> {
    match accounts::change_own_password(
        &state,
        &identity.member,
        &Password::new(form.current),
        &form.new,
    )
    .await
    {
        Ok(cookie) => {
            // The old session ended with the others; the page is shown with the new one.
            let mut identity = identity;
            identity.member.must_change_password = false;
            if let Some(value) = crate::auth::cookie_value(&cookie) {
                identity.via = crate::auth::Via::Session {
                    csrf: crate::auth::csrf_token(
                        &state,
                        &vitrine_core::secret::SecretToken::from_client(value),
                    ),
                };
            }
            let page = PasswordPage {
                chrome: Chrome::new(&identity, "account"),
                forced: false,
                error: None,
                done: true,
            };
            let mut response = page.into_response();
            let value = HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?;
            response.headers_mut().append(header::SET_COOKIE, value);
            Ok(response)
        }
        Err(AppError::BadRequest(message)) => {
            let page = PasswordPage {
                forced: identity.member.must_change_password,
                chrome: Chrome::new(&identity, "account"),
                error: Some(message),
                done: false,
            };
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(other) => Err(other),
    }
}

async fn show_me(ApiMember(identity): ApiMember) -> Json<MemberView> {
    Json(MemberView::from(&identity.member))
}
