//! One error type for handlers, one client-error boundary.
//!
//! Handlers return `Result<_, AppError>` and use `?`. [`AppError::into_response`] logs the
//! cause of every 5xx inside the request's span and turns the error into a [`ClientError`]
//! — a status, a stable code and a message written for the person who sees it — which is the
//! only thing a renderer ever gets. The JSON form is the default; routers that serve pages
//! add [`html_errors`], which re-renders the same `ClientError` as a page.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vitrine_store::StoreError;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid session or API key.
    #[error("authentication required")]
    Unauthorized,
    /// Authenticated but not allowed.
    #[error("forbidden")]
    Forbidden,
    /// A state-changing request without a valid CSRF token.
    #[error("missing or invalid CSRF token")]
    Csrf,
    /// Nothing here (or nothing this caller may know about).
    #[error("not found")]
    NotFound,
    /// Input that fails validation; the message is shown to the caller.
    #[error("{0}")]
    BadRequest(String),
    /// A conflict the caller can resolve (duplicate e-mail, last admin); shown to the caller.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; retry after this many seconds.
    #[error("too many attempts")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// Busy (the export render pool stayed full); retry after this many seconds.
    #[error("busy")]
    Busy {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// A dependency (the store) is unavailable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Anything else. Logged, never shown.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(message) => AppError::Conflict(message),
            StoreError::Unavailable(message) => AppError::Unavailable(message),
            other => AppError::Internal(other.into()),
        }
    }
}

/// What a client is told: the only error shape any renderer sees.
#[derive(Debug, Clone, Serialize)]
pub struct ClientError {
    /// The HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// A stable machine-readable code (`not_found`, `csrf`, `rate_limited` …).
    pub code: &'static str,
    /// A sentence for a person; never internal detail.
    pub message: String,
    /// Seconds to wait before retrying, for `rate_limited`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ClientError {
    /// A client error from parts.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl AppError {
    /// The client's view of this error. 5xx causes are logged here, in the request span.
    pub fn to_client(&self) -> ClientError {
        match self {
            AppError::Unauthorized => ClientError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Sign in, or send a valid API key.",
            ),
            AppError::Forbidden => ClientError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You do not have permission to do this.",
            ),
            AppError::Csrf => ClientError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "This form has expired. Reload the page and try again.",
            ),
            AppError::NotFound => ClientError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Nothing was found here.",
            ),
            AppError::BadRequest(message) => {
                ClientError::new(StatusCode::BAD_REQUEST, "invalid_input", message.clone())
            }
            AppError::Conflict(message) => {
                ClientError::new(StatusCode::CONFLICT, "conflict", message.clone())
            }
            AppError::TooManyRequests { retry_after } => ClientError {
                retry_after: Some(*retry_after),
                ..ClientError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "Too many attempts. Wait a few minutes and try again.",
                )
            },
            AppError::Busy { retry_after } => ClientError {
                retry_after: Some(*retry_after),
                ..ClientError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "Many downloads are being prepared right now. Try again in a few seconds.",
                )
            },
            AppError::Unavailable(cause) => {
                tracing::error!(%cause, "dependency unavailable");
                ClientError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The service is temporarily unavailable. Try again shortly.",
                )
            }
            AppError::Internal(cause) => {
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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.to_client().into_response()
    }
}

impl IntoResponse for ClientError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(serde_json::json!({ "error": &self }))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// Middleware for page routers: an error response becomes an HTML error page showing the
/// same [`ClientError`], and nothing else.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    match response.extensions().get::<ClientError>().cloned() {
        Some(error) => {
            let mut page = crate::pages::ErrorPage::from(&error).into_response();
            *page.status_mut() = error.status;
            if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, retry.clone());
            }
            page
        }
        None => response,
    }
}

/// The API's fallback: a stable code for "no such endpoint".
pub async fn no_such_endpoint() -> ClientError {
    ClientError::new(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "There is no such API endpoint; see /api/v1/openapi.json.",
    )
}
