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

/// The client's address: the socket peer, unless the peer is one of `proxy.trusted_proxies`
/// and `proxy.client_ip_header` is set — then [`forwarded_client`] of that header.
pub fn client_ip(state: &App, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
    let peer = peer.map(|p| p.ip().to_canonical());
    let proxy = &state.config.proxy;
    match (&proxy.client_ip_header, peer) {
        (Some(name), Some(ip)) if proxy.trusts(ip) => {
            Some(forwarded_client(proxy, headers, name, ip))
        }
        _ => peer,
    }
}

/// The client a trusted proxy at `peer` forwarded: the header's entries (every `name` line,
/// in order, comma-separated) are read from the right, each the address the proxy after it
/// saw; trusted proxies are skipped, and the first address outside them is the client. An
/// entry that is not an address ends the walk at the last address known good; a header that
/// holds only trusted proxies yields its leftmost entry; no header yields `peer`.
pub fn forwarded_client(
    proxy: &vitrine_app::config::ProxyConfig,
    headers: &HeaderMap,
    name: &str,
    peer: IpAddr,
) -> IpAddr {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let mut client = peer;
    for entry in values.iter().rev().flat_map(|v| v.rsplit(',')) {
        let entry = entry.trim();
        let Some(ip) = entry
            .parse::<IpAddr>()
            .ok()
            .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        else {
            break;
        };
        client = ip.to_canonical();
        if !proxy.trusts(client) {
            break;
        }
    }
    client
}

/// Middleware: on a request whose socket peer is not one of `proxy.trusted_proxies`, removes
/// the configured client-address and country headers, so nothing downstream (the country of an
/// access event) can believe a header any client can send.
pub async fn drop_untrusted_proxy_headers(
    State(state): State<App>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let proxy = &state.config.proxy;
    if !peer.is_some_and(|ip| proxy.trusts(ip)) {
        for name in [&proxy.client_ip_header, &proxy.country_header]
            .into_iter()
            .flatten()
        {
            request.headers_mut().remove(name.as_str());
        }
    }
    next.run(request).await
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

/// The signed-in member, if any, for pages open to everyone (an invitation's accept page).
#[derive(Debug, Clone)]
pub struct MaybeMember(pub Option<Identity>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeMember {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        Ok(MaybeMember(resolved(parts)))
    }
}

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

/// Where to go after login: only a local path, never another site; anything else is `/`.
///
/// A local path is `/` alone or `/` followed by a character other than `/` and `\`, with no
/// `\`, control character or whitespace anywhere — browsers drop tabs and new lines from a
/// `Location` and read `\` as `/`, so `/\t/evil.example` would become `//evil.example`.
/// Percent-decoded once more (`/%09/…`, `/%5C…`, `/%2F/…`), in case something on the way
/// decodes it again, it must still start that way once tabs, new lines and spaces are dropped.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if is_local_path(path) && starts_locally(&percent_decoded(path)) => path,
        _ => "/",
    }
}

fn is_local_path(path: &str) -> bool {
    starts_locally(path)
        && !path
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

/// `/` alone or `/` and then neither `/` nor `\`, ignoring control characters and whitespace.
fn starts_locally(path: &str) -> bool {
    let mut chars = path
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace());
    chars.next() == Some('/') && chars.next().is_none_or(|c| c != '/' && c != '\\')
}

/// `text` with every `%XX` decoded once (invalid UTF-8 replaced, so it still fails a check).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
        assert_eq!(safe_next(Some("/")), "/");
        assert_eq!(
            safe_next(Some("/dashboards/3?f.region=EMEA%20North")),
            "/dashboards/3?f.region=EMEA%20North"
        );
        assert_eq!(safe_next(Some("/caf%C3%A9")), "/caf%C3%A9");
        assert_eq!(
            safe_next(Some("/notes/%5C")),
            "/notes/%5C",
            "harmless past the start"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "/x\u{7f}",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%0A/evil.example",
            "/%5C/evil.example",
            "/%5cevil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "",
            "evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn a_forwarded_client_is_the_first_address_outside_the_trusted_proxies() {
        let proxy = vitrine_app::config::ProxyConfig {
            client_ip_header: Some("x-forwarded-for".into()),
            country_header: None,
            trusted_proxies: vec!["10.0.0.0/8".into(), "::1".into()],
        };
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let client = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append("x-forwarded-for", v.parse().unwrap());
            }
            forwarded_client(&proxy, &headers, "x-forwarded-for", peer).to_string()
        };
        assert_eq!(client(&[]), "10.0.0.1", "no header: the peer");
        assert_eq!(client(&["203.0.113.5"]), "203.0.113.5");
        assert_eq!(
            client(&["198.51.100.1, 203.0.113.5, 10.2.3.4"]),
            "203.0.113.5",
            "a spoofed leftmost entry is not believed; our own proxies are skipped"
        );
        assert_eq!(
            client(&["198.51.100.1", "203.0.113.5, 10.2.3.4"]),
            "203.0.113.5"
        );
        assert_eq!(client(&["10.9.9.9, 10.2.3.4"]), "10.9.9.9", "only proxies");
        assert_eq!(client(&["garbage, 10.2.3.4"]), "10.2.3.4");
        assert_eq!(client(&["203.0.113.5:4711"]), "203.0.113.5");
        assert_eq!(client(&["[2001:db8::1]:4711, ::1"]), "2001:db8::1");
        assert_eq!(client(&["::ffff:203.0.113.5"]), "203.0.113.5");
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
