//! `GET /metrics`: Prometheus metrics ([`vitrine_app::metrics`]), on the owner router only.
//!
//! The outsider router (`public_listen`) never has this route. Whether the owner router has it:
//! - `metrics.token` set: yes, and a scrape must send `Authorization: Bearer <token>`, compared
//!   in constant time; without it the answer is 401;
//! - no token, `public_listen` set: yes, open — the owner listener is then not the one that
//!   serves share links, and can be kept private;
//! - no token, no `public_listen`: no (404). The owner listener also serves share links, so
//!   whoever can open one could read the metrics.
//!
//! When `metrics.enabled` is false the route does not exist (404).

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use vitrine_core::secret::SecretToken;

use vitrine_app::App;
use vitrine_app::metrics::{self, Listener};

/// The `/metrics` route, or nothing when metrics are disabled or would be open on the listener
/// that serves share links (see the module documentation).
pub fn router(state: &App) -> Router<App> {
    let metrics = &state.config.metrics;
    let guarded = metrics.token.is_some() || state.config.public_listen.is_some();
    if metrics.enabled && guarded {
        Router::new().route("/metrics", get(show_metrics))
    } else {
        Router::new()
    }
}

async fn show_metrics(State(state): State<App>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.config.metrics.token
        && !bearer_matches(&headers, expected)
    {
        let mut response = (StatusCode::UNAUTHORIZED, "metrics token required\n").into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return response;
    }
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics_text(),
    )
        .into_response()
}

/// Whether the request carries `Authorization: Bearer <expected>`. The SHA-256 digests are
/// compared, in constant time, so neither the content nor the length of the token leaks.
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(sent) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let sent = SecretToken::from_client(sent.trim()).digest();
    SecretToken::from_client(SecretToken::from_client(expected).digest()).ct_eq(&sent)
}

/// Middleware counting every response by listener and status class.
pub async fn count_requests(
    State((state, listener)): State<(App, Listener)>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    state
        .metrics
        .http_request(listener, response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let mut h = HeaderMap::new();
        assert!(!bearer_matches(&h, "s3cret"));
        for (value, ok) in [
            ("Bearer s3cret", true),
            ("Bearer s3cre", false),
            ("Bearer s3cret2", false),
            ("Basic s3cret", false),
            ("s3cret", false),
            ("Bearer ", false),
        ] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer_matches(&h, "s3cret"), ok, "{value}");
        }
    }
}
