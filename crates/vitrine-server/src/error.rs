//! The one mapping from what went wrong to what a client is told.
//!
//! Services return [`vitrine_app::Error`] (domain words); handlers return [`HttpError`], which
//! is that error or one of the few failures only HTTP has (a missing CSRF token). `?` converts.
//! [`HttpError::to_client`] is the boundary: it logs the cause of every 5xx inside the
//! request's span and turns the error into a [`ClientError`] — a status, a stable code and a
//! message written for the person who sees it — which is the only thing a renderer ever gets.
//! The JSON form is the default; routers that serve pages add
//! [`crate::pages::html_errors`], which re-renders the same `ClientError` as a page, and the
//! outsider router renders it as its polite public page.
//!
//! On the API every error is the documented JSON body ([`ErrorBody`]), whoever refused the
//! request: a handler (through [`HttpError`]), an extractor ([`crate::extract`] maps malformed
//! bodies, paths and query strings to 400 `invalid_input` naming the field, a wrong content
//! type to 415, an oversized body to 413), or the router and its layers (405 with `Allow`,
//! the body limit's 413), whose bare responses [`api_json_errors`] rewrites by status with
//! [`ClientError::for_status`].
//!
//! A handler that panics gets the same treatment ([`panic_response`]): the connection survives
//! and nothing of the panic leaks.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vitrine_app::Error;
use vitrine_store::StoreError;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// What the application said.
    #[error(transparent)]
    App(#[from] Error),
    /// A state-changing request without a valid CSRF token.
    #[error("missing or invalid CSRF token")]
    Csrf,
    /// A request the HTTP layer refused before a service saw it: a body that is not JSON or
    /// too large, a wrong content type. What the client is told is already decided.
    #[error("request refused: {}", .0.code)]
    Refused(ClientError),
}

impl HttpError {
    /// Invalid input, with the field at fault when known: 400 `invalid_input`.
    pub fn invalid_input(field: Option<String>, message: impl Into<String>) -> Self {
        HttpError::App(Error::Invalid {
            field,
            message: message.into(),
        })
    }

    /// A request whose body is not of a type the endpoint reads: 415.
    pub fn unsupported_media_type() -> Self {
        HttpError::Refused(ClientError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE))
    }

    /// A request whose body is larger than the server reads: 413.
    pub fn payload_too_large() -> Self {
        HttpError::Refused(ClientError::for_status(StatusCode::PAYLOAD_TOO_LARGE))
    }
}

impl From<StoreError> for HttpError {
    fn from(error: StoreError) -> Self {
        HttpError::App(error.into())
    }
}

impl From<anyhow::Error> for HttpError {
    fn from(error: anyhow::Error) -> Self {
        HttpError::App(Error::Internal(error))
    }
}

/// What a client is told: the only error shape any renderer sees.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
pub struct ClientError {
    /// The HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// A stable machine-readable code (`not_found`, `csrf`, `rate_limited` …).
    #[schema(value_type = ErrorCode)]
    pub code: &'static str,
    /// A sentence for a person; never internal detail.
    pub message: String,
    /// Seconds to wait before retrying, for `rate_limited` and `busy` (also in the
    /// `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, minimum = 0)]
    pub retry_after: Option<u64>,
    /// The input field at fault, for `invalid_input` when it is known: a body field's path
    /// (`embed.origins[0]`), a path or query parameter's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub field: Option<String>,
}

/// The body of every error the API answers: `{"error": {"code", "message", "retry_after"?,
/// "field"?}}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ClientError,
}

/// The stable codes of [`ClientError::code`], for the API document.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // only its schema is used: `ClientError::code` is the text
pub enum ErrorCode {
    /// 400: the input is not valid (`field` names the part at fault when known).
    InvalidInput,
    /// 401: no or bad credentials.
    Unauthorized,
    /// 403: not allowed to do this.
    Forbidden,
    /// 403: a session's state-changing request without its CSRF token.
    Csrf,
    /// 404: nothing here.
    NotFound,
    /// 404: no such API endpoint.
    NoSuchEndpoint,
    /// 405: the endpoint does not take this method (see `Allow`).
    MethodNotAllowed,
    /// 409: a conflict with the current state.
    Conflict,
    /// 413: the request body is too large.
    PayloadTooLarge,
    /// 415: the request body is not JSON.
    UnsupportedMediaType,
    /// 429: too many attempts (see `retry_after`).
    RateLimited,
    /// 503: the export pool stayed full (see `retry_after`).
    Busy,
    /// 503: a dependency is unavailable.
    Unavailable,
    /// 500: a bug, logged.
    Internal,
}

impl ClientError {
    /// A client error from parts.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            field: None,
        }
    }
}

impl HttpError {
    /// The client's view of this error. 5xx causes are logged here, in the request span.
    pub fn to_client(&self) -> ClientError {
        let error = match self {
            HttpError::Csrf => {
                return ClientError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "This form has expired. Reload the page and try again.",
                );
            }
            HttpError::Refused(client) => return client.clone(),
            HttpError::App(error) => error,
        };
        match error {
            Error::Unauthenticated => ClientError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Sign in, or send a valid API key.",
            ),
            Error::Forbidden => ClientError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You do not have permission to do this.",
            ),
            Error::MissingPermission(permission) => ClientError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "You do not have permission to do this: it needs the “{permission}” permission, which an admin can grant on the Members page."
                ),
            ),
            Error::NotFound => ClientError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Nothing was found here.",
            ),
            Error::Invalid { field, message } => ClientError {
                field: field.clone(),
                ..ClientError::new(StatusCode::BAD_REQUEST, "invalid_input", message.clone())
            },
            Error::Conflict(message) => {
                ClientError::new(StatusCode::CONFLICT, "conflict", message.clone())
            }
            Error::Throttled { retry_after } => ClientError {
                retry_after: Some(*retry_after),
                ..ClientError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "Too many attempts. Try again in {}.",
                        vitrine_app::text::wait(*retry_after)
                    ),
                )
            },
            Error::Busy { retry_after } => ClientError {
                retry_after: Some(*retry_after),
                ..ClientError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    format!(
                        "The server is busy right now. Try again in {}.",
                        vitrine_app::text::wait(*retry_after)
                    ),
                )
            },
            Error::Unavailable(cause) => {
                tracing::error!(%cause, "dependency unavailable");
                ClientError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The service is temporarily unavailable. Try again shortly.",
                )
            }
            Error::Internal(cause) => {
                tracing::error!(cause = format!("{cause:#}"), "internal error");
                ClientError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on our side. It has been logged.",
                )
            }
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        self.to_client().into_response()
    }
}

impl ClientError {
    /// The client error a bare response of this status stands for: what the router and the
    /// layers answer on their own (405, 413, 415 …), in the API's words.
    pub fn for_status(status: StatusCode) -> ClientError {
        let (status, code, message) = match status {
            StatusCode::UNAUTHORIZED => {
                (status, "unauthorized", "Sign in, or send a valid API key.")
            }
            StatusCode::FORBIDDEN => (
                status,
                "forbidden",
                "You do not have permission to do this.",
            ),
            StatusCode::NOT_FOUND => (status, "not_found", "Nothing was found here."),
            StatusCode::METHOD_NOT_ALLOWED => (
                status,
                "method_not_allowed",
                "This endpoint does not take this method; the Allow header lists those it takes.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                status,
                "payload_too_large",
                "The request body is too large.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                status,
                "unsupported_media_type",
                "Send the request body as JSON, with Content-Type: application/json.",
            ),
            StatusCode::TOO_MANY_REQUESTS => (
                status,
                "rate_limited",
                "Too many requests. Try again later.",
            ),
            StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
            | StatusCode::REQUEST_TIMEOUT => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The service is temporarily unavailable. Try again shortly.",
            ),
            s if s.is_server_error() => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side. It has been logged.",
            ),
            // 400, 422 and any other refusal of the request itself.
            _ => (
                StatusCode::BAD_REQUEST,
                "invalid_input",
                "The request is not valid.",
            ),
        };
        ClientError::new(status, code, message)
    }
}

/// Makes every error the API answers the JSON [`ErrorBody`]: a response of 400 or above that
/// no [`ClientError`] made (the router's 405, the body limit's 413, an extractor that is not
/// ours) is replaced by [`ClientError::for_status`], keeping its headers (`Allow`,
/// `Retry-After`). Applied outermost, to `/api/` paths only.
pub async fn api_json_errors(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    if !is_api
        || !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<ClientError>().is_some()
    {
        return response;
    }
    let (parts, _) = response.into_parts();
    let mut replaced = ClientError::for_status(status).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().append(name.clone(), value.clone());
        }
    }
    replaced
}

impl IntoResponse for ClientError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.clone(),
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// The answer to a request whose handler panicked: the panic's message goes to the log, the
/// client gets the ordinary internal-error answer (JSON, carrying its [`ClientError`] so that
/// [`crate::pages::html_errors`] turns it into a page on page routers). For
/// `tower_http::catch_panic::CatchPanicLayer::custom`.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    log_panic(panic.as_ref());
    HttpError::App(Error::internal("a request handler panicked")).into_response()
}

/// Logs a caught panic's message (for operators only; never sent to a client).
pub fn log_panic(panic: &(dyn std::any::Any + Send)) {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned());
    tracing::error!(panic = %message, "a request handler panicked");
}

/// The API's fallback: a stable code for "no such endpoint".
pub async fn no_such_endpoint() -> ClientError {
    ClientError::new(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "There is no such API endpoint; see /api/v1/openapi.json.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn call(app: &Router, method: &str, uri: &str) -> (Response, serde_json::Value) {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (Response::from_parts(parts, Body::empty()), json)
    }

    #[tokio::test]
    async fn a_bare_refusal_on_the_api_becomes_the_json_error_body_and_keeps_its_headers() {
        let too_large = || async { (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded") };
        let app = Router::new()
            .route("/api/v1/x", get(too_large))
            .route("/page", get(too_large))
            .layer(axum::middleware::from_fn(api_json_errors));

        let (response, body) = call(&app, "GET", "/api/v1/x").await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(body["error"]["code"], "payload_too_large");

        let (response, body) = call(&app, "DELETE", "/api/v1/x").await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(response.headers().contains_key(header::ALLOW));
        assert_eq!(body["error"]["code"], "method_not_allowed");

        let (response, body) = call(&app, "GET", "/page").await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body, serde_json::Value::Null, "pages keep their own errors");
    }

    #[test]
    fn an_unprocessable_entity_is_reported_as_invalid_input() {
        let client = ClientError::for_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            (client.status, client.code),
            (StatusCode::BAD_REQUEST, "invalid_input")
        );
    }
}
