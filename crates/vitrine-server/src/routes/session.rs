//! Signing in and out.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use vitrine_core::secret::{Password, SecretToken, random_token};

use crate::auth::{self, LOGIN_CSRF_COOKIE, PageMember};
use crate::error::HttpError;
use crate::pages::{LoginPage, paths};
use crate::routes::ClientAddr;
use vitrine_app::App;
use vitrine_app::Error;
use vitrine_app::accounts;

/// Login routes (outside the identity layer: the login form has its own CSRF cookie).
pub fn login_pages() -> Router<App> {
    Router::new().route(paths::LOGIN, get(show_login).post(log_in))
}

/// Routes that need a session.
pub fn pages() -> Router<App> {
    Router::new().route(paths::LOGOUT, post(log_out))
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn show_login(State(state): State<App>, Query(query): Query<NextQuery>) -> Response {
    login_form(
        &state,
        StatusCode::OK,
        auth::safe_next(query.next.as_deref()),
        "",
        None,
    )
}

/// Renders the form with a fresh double-submit token in a cookie.
fn login_form(
    state: &App,
    status: StatusCode,
    next: &str,
    email: &str,
    error: Option<String>,
) -> Response {
    let csrf = random_token::<24>();
    let cookie = auth::set_cookie(state, LOGIN_CSRF_COOKIE, &csrf, 3600, "Strict");
    let page = LoginPage {
        csrf,
        next: next.to_owned(),
        email: email.to_owned(),
        error,
    };
    let mut response = (status, page).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    csrf_token: String,
    next: Option<String>,
}

async fn log_in(
    State(state): State<App>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, HttpError> {
    let next = auth::safe_next(form.next.as_deref()).to_owned();
    let cookie_ok = auth::cookie(&headers, LOGIN_CSRF_COOKIE)
        .is_some_and(|c| !c.is_empty() && SecretToken::from_client(c).ct_eq(&form.csrf_token));
    if !cookie_ok {
        let message = "This form has expired. Please sign in again.".to_owned();
        return Ok(login_form(
            &state,
            StatusCode::FORBIDDEN,
            &next,
            &form.email,
            Some(message),
        ));
    }
    match accounts::log_in(&state, &form.email, &Password::new(form.password), ip).await {
        Ok(member) => {
            let session = auth::start_session(&state, &member).await?;
            let target = if member.must_change_password {
                paths::PASSWORD
            } else {
                &next
            };
            let mut response = Redirect::to(target).into_response();
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, header_value(&session)?);
            let clear = auth::set_cookie(&state, LOGIN_CSRF_COOKIE, "", 0, "Strict");
            headers.append(header::SET_COOKIE, header_value(&clear)?);
            Ok(response)
        }
        Err(Error::Unauthenticated) => Ok(login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            &next,
            &form.email,
            Some("Wrong e-mail address or password.".into()),
        )),
        Err(Error::Throttled { retry_after }) => {
            let message = format!(
                "Too many failed sign-ins. Try again in {}.",
                vitrine_app::text::wait(retry_after)
            );
            let mut response = login_form(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                &form.email,
                Some(message),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

async fn log_out(
    State(state): State<App>,
    _member: PageMember,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let clear = auth::end_session(&state, &headers).await?;
    let mut response = Redirect::to(paths::LOGIN).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, header_value(&clear)?);
    Ok(response)
}

fn header_value(value: &str) -> Result<HeaderValue, HttpError> {
    Ok(HeaderValue::from_str(value).map_err(Error::internal)?)
}
