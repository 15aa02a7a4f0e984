//! Who is asking: sessions, API keys, CSRF, and the extractors handlers use.
//!
//! [`resolve_identity`] runs in front of the owner UI and the API. It turns an
//! `Authorization: Bearer` API key or the session cookie into an [`Identity`] (a bad or
//! revoked API key is a 401 at once, never a fall-back to the cookie), and enforces CSRF on
//! every state-changing request that a *session* makes: the token, an HMAC of the session
//! secret, must come in the `X-CSRF-Token` header or the `csrf_token` form field. API-key
//! requests need no CSRF token, since a browser never sends one on its own.
//!
//! Handlers then take [`ApiMember`] (401 when anonymous) or [`PageMember`] (a redirect to the
//! login page; and to the password page while a one-time password is still in use).

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use vitrine_app::accounts::{self, NewSessionToken};
use vitrine_app::{App, Error};
use vitrine_core::id::ApiKeyId;
use vitrine_core::member::Actor;
use vitrine_core::secret::SecretToken;
use vitrine_store::Member;

use crate::error::HttpError;

/// The session cookie.
pub const SESSION_COOKIE: &str = "vitrine_session";
/// The cookie that protects the login form itself (double submit).
pub const LOGIN_CSRF_COOKIE: &str = "vitrine_login_csrf";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest form body read for a CSRF check.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    /// A login session; state-changing requests carry this CSRF token.
    Session {
        /// The session's CSRF token.
        csrf: String,
    },
    /// An API key.
    ApiKey(ApiKeyId),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The member (as of this request).
    pub member: Member,
    /// How they authenticated.
    pub via: Via,
}

impl Identity {
    /// The member as an actor.
    pub fn actor(&self) -> Actor {
        self.member.actor()
    }

    /// The CSRF token to embed in forms (sessions only).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf } => csrf,
            Via::ApiKey(_) => "",
        }
    }
}

/// The request extension [`resolve_identity`] leaves for the extractors.
#[derive(Debug, Clone)]
struct Resolved(Option<Identity>);

/// The CSRF token for a session: an HMAC of its secret, so nothing more is stored.
pub fn csrf_token(state: &App, session: &SecretToken) -> String {
    URL_SAFE_NO_PAD.encode(state.keys.csrf.sign(&[session.expose().as_bytes()]))
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value with Vitrine's flags: `HttpOnly`, `SameSite`, `Path=/`, and `Secure`
/// when the base URL is https. `max_age` 0 deletes the cookie.
pub fn set_cookie(state: &App, name: &str, value: &str, max_age: i64, same_site: &str) -> String {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}")
}

/// The `Set-Cookie` value of a new session.
pub fn session_cookie(state: &App, session: &NewSessionToken) -> String {
    set_cookie(
        state,
        SESSION_COOKIE,
        session.token.expose(),
        session.max_age_seconds,
        "Lax",
    )
}

/// Starts a session for `member`; returns the `Set-Cookie` value.
pub async fn start_session(state: &App, member: &Member) -> Result<String, HttpError> {
    let session = accounts::start_session(state, member).await?;
    Ok(session_cookie(state, &session))
}

/// Ends the session named by the request's cookie, if any; returns the deleting `Set-Cookie`.
pub async fn end_session(state: &App, headers: &HeaderMap) -> Result<String, HttpError> {
    if let Some(value) = cookie(headers, SESSION_COOKIE) {
        accounts::end_session(state, value).await?;
    }
    Ok(set_cookie(state, SESSION_COOKIE, "", 0, "Lax"))
}

/// The client's address: the trusted proxy header's last entry when configured, else the
/// socket peer.
pub fn client_ip(state: &App, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
    if let Some(name) = &state.config.proxy.client_ip_header {
        return headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
    }
    peer.map(|p| p.ip())
}

/// Resolves the caller and enforces CSRF; see the module documentation.
pub async fn resolve_identity(
    State(state): State<App>,
    request: Request,
    next: Next,
) -> Result<Response, HttpError> {
    let identity = identify(&state, request.headers()).await?;
    let mut request = match &identity {
        Some(Identity {
            via: Via::Session { csrf },
            ..
        }) if !is_safe(request.method()) => check_csrf(request, csrf).await?,
        _ => request,
    };
    request.extensions_mut().insert(Resolved(identity));
    Ok(next.run(request).await)
}

async fn identify(state: &App, headers: &HeaderMap) -> Result<Option<Identity>, HttpError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let key = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(Error::Unauthenticated)?;
        let (api_key, member) = accounts::api_key_member(state, key).await?;
        return Ok(Some(Identity {
            member,
            via: Via::ApiKey(api_key.id),
        }));
    }
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let token = SecretToken::from_client(value);
    Ok(accounts::session_member(state, &token)
        .await?
        .map(|member| Identity {
            member,
            via: Via::Session {
                csrf: csrf_token(state, &token),
            },
        }))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks the token in the header, or in an url-encoded form body (which is read and put
/// back for the handler).
async fn check_csrf(request: Request, expected: &str) -> Result<Request, HttpError> {
    let expected = SecretToken::from_client(expected);
    if let Some(sent) = request.headers().get(CSRF_HEADER) {
        return match sent.to_str() {
            Ok(sent) if expected.ct_eq(sent) => Ok(request),
            _ => Err(HttpError::Csrf),
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(HttpError::Csrf);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| HttpError::from(Error::invalid("The form is too large.")))?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let valid = fields
        .iter()
        .any(|(name, value)| name == CSRF_FIELD && expected.ct_eq(value));
    if !valid {
        return Err(HttpError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn resolved(parts: &Parts) -> Option<Identity> {
    parts.extensions.get::<Resolved>().and_then(|r| r.0.clone())
}

/// A member calling the API; anonymous callers get 401.
#[derive(Debug, Clone)]
pub struct ApiMember(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for ApiMember {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        resolved(parts)
            .map(ApiMember)
            .ok_or(HttpError::from(Error::Unauthenticated))
    }
}

/// A member viewing a page; anonymous visitors are sent to the login page, and members
/// with a one-time password to the password page.
#[derive(Debug, Clone)]
pub struct PageMember(pub Identity);

/// The page where a one-time password is replaced.
pub const PASSWORD_PATH: &str = "/account/password";

impl<S: Send + Sync> FromRequestParts<S> for PageMember {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let Some(identity) = resolved(parts) else {
            let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let target = if next == "/" {
                "/login".to_owned()
            } else {
                format!("/login?next={}", urlencode(next))
            };
            return Err(Redirect::to(&target).into_response());
        };
        if identity.member.must_change_password && parts.uri.path() != PASSWORD_PATH {
            return Err(Redirect::to(PASSWORD_PATH).into_response());
        }
        Ok(PageMember(identity))
    }
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s[2..].to_owned())
        .unwrap_or_default()
}

/// Where to go after login: only a local path, never another site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => "/",
    }
}

/// The value part of a `Set-Cookie` string made by [`set_cookie`].
pub fn cookie_value(set_cookie: &str) -> Option<&str> {
    set_cookie
        .split(';')
        .next()?
        .split_once('=')
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/members")), "/members");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; vitrine_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
