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

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
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
#[derive(Debug, Clone, Serialize)]
pub struct ClientError {
    /// The HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// A stable machine-readable code (`not_found`, `csrf`, `rate_limited` …).
    pub code: &'static str,
    /// A sentence for a person; never internal detail.
    pub message: String,
    /// Seconds to wait before retrying, for `rate_limited` and `busy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The input field at fault, for `invalid_input` when the application named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
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
                    "Too many attempts. Wait a few minutes and try again.",
                )
            },
            Error::Busy { retry_after } => ClientError {
                retry_after: Some(*retry_after),
                ..ClientError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "Many downloads are being prepared right now. Try again in a few seconds.",
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

/// The API's fallback: a stable code for "no such endpoint".
pub async fn no_such_endpoint() -> ClientError {
    ClientError::new(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "There is no such API endpoint; see /api/v1/openapi.json.",
    )
}
