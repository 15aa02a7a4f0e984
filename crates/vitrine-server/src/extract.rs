//! The API's extractors: a JSON body ([`Json`]), path parameters ([`Path`]) and a query
//! string ([`Query`]), whose refusals are the API's JSON error body instead of axum's plain
//! text: 400 `invalid_input` with the field at fault named (`field`: a body field's path such
//! as `embed.origins[0]`, or a parameter's name), 415 for a body that is not
//! `application/json`, 413 for one larger than the server reads.
//!
//! The message names the field and what is wrong with it in general terms ("is required",
//! "is not a known field", "has the wrong type or value"); serde's own text is never passed
//! on, since it can name our Rust types. [`Json`] also answers with JSON, so API handlers
//! import one `Json`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::HttpError;

/// A JSON request body (refusals: 400, 413, 415), or a JSON response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        if !is_json(request.headers()) {
            return Err(HttpError::unsupported_media_type());
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                        HttpError::payload_too_large()
                    }
                    _ => HttpError::invalid_input(None, "The request body could not be read."),
                })?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `application/json`, or a `+json` type, with any parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body, naming the field at fault when it does not fit.
///
/// A number with a zero fractional part (`929.0`) is an integer, as JSON Schema (and so the
/// API document) says, and is read as one.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| HttpError::invalid_input(None, "The request body is not valid JSON."))?;
    serde_path_to_error::deserialize(integral(value)).map_err(|error| {
        let path = error.path().to_string();
        refusal(&path, &error.into_inner().to_string(), "body")
    })
}

/// `value` with every number that is a whole number in `i64`'s range written as an integer.
fn integral(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.2e18 => {
                Value::Number((f as i64).into())
            }
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integral).collect()),
        Value::Object(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, integral(v))).collect())
        }
        other => other,
    }
}

/// The refusal of a value that does not fit its type, at `path` (`.` for the whole value),
/// given serde's message (read only for the two shapes that name a field).
fn refusal(path: &str, serde_message: &str, whole: &str) -> HttpError {
    let named = |prefix: &str| {
        serde_message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(|name| join(path, name))
    };
    if let Some(field) = named("missing field `") {
        let message = format!("`{field}` is required.");
        return HttpError::invalid_input(Some(field), message);
    }
    // The path of an unknown field already ends with its name.
    let unknown = serde_message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
        .map(|name| {
            if path.ends_with(name) {
                path.to_owned()
            } else {
                join(path, name)
            }
        });
    if let Some(field) = unknown {
        let message = format!("`{field}` is not a known field.");
        return HttpError::invalid_input(Some(field), message);
    }
    if path == "." || path.is_empty() {
        return HttpError::invalid_input(
            None,
            format!("The request {whole} does not have the expected shape."),
        );
    }
    HttpError::invalid_input(
        Some(path.to_owned()),
        format!("`{path}` has the wrong type or value."),
    )
}

fn join(path: &str, name: &str) -> String {
    if path == "." || path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// Path parameters (refusal: 400 naming the parameter).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                use axum::extract::path::ErrorKind;
                let key = match error.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => Some(key.clone()),
                    // A single value (`Path<MemberId>`): the route's only parameter.
                    _ => axum::extract::RawPathParams::from_request_parts(parts, state)
                        .await
                        .ok()
                        .and_then(|params| {
                            let mut names = params.iter().map(|(name, _)| name.to_owned());
                            match (names.next(), names.next()) {
                                (Some(name), None) => Some(name),
                                _ => None,
                            }
                        }),
                };
                let message = match &key {
                    Some(key) => format!("The path parameter `{key}` is not valid."),
                    None => "A path parameter is not valid.".to_owned(),
                };
                Err(HttpError::invalid_input(key, message))
            }
            Err(other) => Err(HttpError::from(vitrine_app::Error::internal(other))),
        }
    }
}

/// A query string (refusal: 400 naming the parameter). Parameters it does not name are
/// ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|error| {
                let path = error.path().to_string();
                refusal(&path, &error.into_inner().to_string(), "query string")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        days: u32,
    }

    fn refused(body: &str) -> (Option<String>, String) {
        let client = parse_json::<Body>(body.as_bytes()).unwrap_err().to_client();
        assert_eq!(
            (client.status.as_u16(), client.code),
            (400, "invalid_input")
        );
        (client.field, client.message)
    }

    #[test]
    fn a_body_that_does_not_fit_names_the_field_and_says_no_more() {
        assert_eq!(refused("{}").0.as_deref(), Some("name"));
        assert_eq!(
            refused(r#"{"name": "a", "nope": 1}"#).0.as_deref(),
            Some("nope")
        );
        let (field, message) = refused(r#"{"name": "a", "inner": {"days": "<script>"}}"#);
        assert_eq!(field.as_deref(), Some("inner.days"));
        assert!(
            !message.contains("script") && !message.contains("u32"),
            "{message}"
        );
        assert_eq!(refused("{").0, None);
        assert_eq!(
            refused(r#"{"name": "a", "inner": {"days": 1.5}}"#)
                .0
                .as_deref(),
            Some("inner.days")
        );
        assert!(parse_json::<Body>(br#"{"name": "a", "inner": {"days": 7.0}}"#).is_ok());
        assert_eq!(refused(r#"{"name": "a"} trailing"#).0, None);
    }

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        for (value, json) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            assert_eq!(is_json(&headers), json, "{value}");
        }
    }
}
