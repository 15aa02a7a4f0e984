//! The OpenAPI 3.1 document of `/api/v1`, generated from the code.
//!
//! Every API handler carries `#[utoipa::path]` (operation id, tag, parameters, request body,
//! each status it answers with its body), and the request and response types derive
//! `utoipa::ToSchema` (here, in `vitrine-app` and, through its `openapi` feature, in
//! `vitrine-core`). The API's routers are `utoipa_axum` routers: a handler is routed with
//! `routes!`, which registers its documentation at the same time, so an API route cannot
//! exist undocumented. [`document`] takes what the routers collected and adds what is the
//! same for every operation, once:
//! - the security schemes (an API key as a bearer token, or the session cookie) and the
//!   requirement of one of them everywhere but on this document itself;
//! - the error responses that the shared machinery can give any operation: 401 (no or bad
//!   credentials), 400 (a malformed parameter or body, see [`crate::extract`]), 413 and 415
//!   (a body too large or not JSON), 503 (the store unavailable), all with the JSON error
//!   body of [`crate::error::ErrorBody`].
//!
//! The text is built once, on first request, and served as is.

use std::borrow::Cow;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, SecurityRequirement,
};
use utoipa::{PartialSchema, ToSchema};

/// The bytes of a downloaded file, for the document (`type: string, format: binary`).
#[derive(Debug)]
pub struct FileBytes;

impl PartialSchema for FileBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for FileBytes {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("FileBytes")
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "getOpenApi", tag = "meta",
    security(()),
    responses((status = 200, description = "This OpenAPI 3.1 document", body = Object,
        content_type = "application/json")))]
pub async fn openapi_document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_text(),
    )
}

/// The document as served, built once.
pub fn document_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        document()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

/// The API's description, before the routers add their paths.
fn base() -> OpenApi {
    let info = InfoBuilder::new()
        .title("Vitrine API")
        .version("1")
        .description(Some(
            "Vitrine's REST API. Authenticate with `Authorization: Bearer vtk_…` (an API key, \
             created under *API keys* in the UI, with `vitrine api-key create`, or with this \
             API) or with the session cookie of a signed-in member; requests that change state \
             with a session cookie must carry its CSRF token in `X-CSRF-Token`. Request bodies \
             are JSON (`Content-Type: application/json`). Every error is \
             `{\"error\": {\"code\", \"message\", \"retry_after\"?, \"field\"?}}` with a stable \
             `code`; `field` names the input at fault when it is known.",
        ))
        .build();
    let tags = [
        ("account", "The caller"),
        ("members", "Members, roles and permissions"),
        ("api-keys", "API keys"),
        ("audit", "The audit trail"),
        ("data-sources", "Connections to SQL databases"),
        ("datasets", "Named queries over a data source"),
        ("dashboards", "Dashboards as documents, and their downloads"),
        (
            "builder",
            "The visual builder: choices, previews, trial runs, starters",
        ),
        ("links", "Share links"),
        ("analytics", "Access analytics of share links"),
        ("workspace", "The workspace's link policy"),
        ("mail", "Outgoing mail: the outbox"),
        (
            "reports",
            "Scheduled reports: e-mail, Slack and webhook delivery",
        ),
        (
            "embedding",
            "Embedding in host applications: embeddings and guest tokens",
        ),
        ("meta", "This document"),
    ]
    .map(|(name, description)| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    });
    OpenApiBuilder::new()
        .info(info)
        .servers(Some([Server::new("/api/v1")]))
        .tags(Some(tags))
        .build()
}

/// The whole document: the API routers' operations on [`base`], finished.
pub fn document() -> OpenApi {
    let mut api = super::api_router().into_openapi();
    let mut full = base();
    full.paths = std::mem::take(&mut api.paths);
    full.components = api.components.take();
    finish(&mut full);
    full
}

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build(),
        )
        .build()
        .into()
}

/// Adds the security schemes and the error responses every operation shares.
fn finish(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "apiKey",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("An API key, `vtk_…`."))
                .build(),
        ),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::auth::SESSION_COOKIE,
            "A signed-in member's session; state-changing requests also need the \
             `X-CSRF-Token` header.",
        ))),
    );
    api.security = Some(vec![
        SecurityRequirement::new("apiKey", Vec::<String>::new()),
        SecurityRequirement::new("session", Vec::<String>::new()),
    ]);
    for item in api.paths.paths.values_mut() {
        for operation in operations(item) {
            add_shared_responses(operation);
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<&mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
    .collect()
}

fn add_shared_responses(operation: &mut Operation) {
    let public = operation
        .security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
    let has_input = operation.parameters.as_ref().is_some_and(|p| !p.is_empty())
        || operation.request_body.is_some();
    let has_body = operation.request_body.is_some();
    if let Some(body) = operation.request_body.as_mut() {
        require(body);
    }
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    };
    if public {
        return;
    }
    if has_input {
        add(
            "400",
            "Invalid input (`invalid_input`; `field` names the parameter or body field at \
             fault when it is known)",
        );
    }
    add(
        "401",
        "No credentials, or an API key that is unknown or revoked (`unauthorized`)",
    );
    if has_body {
        add("413", "The request body is too large (`payload_too_large`)");
        add(
            "415",
            "The request body is not `application/json` (`unsupported_media_type`)",
        );
    }
    add(
        "503",
        "A dependency (the store, a data source) is unavailable (`unavailable`)",
    );
}

fn require(body: &mut RequestBody) {
    body.required = Some(utoipa::openapi::Required::True);
}
