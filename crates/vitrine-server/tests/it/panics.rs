//! A handler that panics (issue 10, finding 2) answers like any internal error — an owner
//! page, the API's JSON, the polite public page — instead of dropping the connection, and no
//! panic text reaches the client. The routers wrap their groups of routes with exactly these
//! functions.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use tower::ServiceExt as _;
use vitrine_app::App;
use vitrine_server::routes::{with_api_errors, with_page_errors, with_public_errors};

use crate::helpers::TestApp;

const SECRET: &str = "panic text with /etc/vitrine/secret.key";

async fn boom() -> &'static str {
    panic!("{SECRET}")
}

/// Sends `GET /boom` through `router`; returns the status, the content type and the body.
async fn call(app: &TestApp, router: Router<App>) -> (StatusCode, String, String) {
    let response = router
        .route("/fine", get(|| async { "fine" }))
        .with_state(app.state.clone())
        .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
        .await
        .expect("an answer, not a dropped connection");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn panicking() -> Router<App> {
    Router::new().route("/boom", get(boom))
}

#[tokio::test]
async fn a_panicking_api_handler_answers_the_json_internal_error() {
    let app = TestApp::spawn().await;
    let (status, content_type, body) = call(&app, with_api_errors(panicking())).await;
    assert_eq!(status, 500);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"]["code"], "internal", "{body}");
    assert!(
        !body.contains("panic") && !body.contains("secret"),
        "{body}"
    );
}

#[tokio::test]
async fn a_panicking_page_handler_answers_the_error_page() {
    let app = TestApp::spawn().await;
    let (status, content_type, body) = call(&app, with_page_errors(panicking())).await;
    assert_eq!(status, 500);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains("Something went wrong on our side"), "{body}");
    assert!(
        !body.contains("panic") && !body.contains("secret"),
        "{body}"
    );
}

#[tokio::test]
async fn a_panicking_outsider_handler_answers_the_polite_public_page() {
    let app = TestApp::spawn().await;
    let (status, content_type, body) = call(&app, with_public_errors(panicking())).await;
    assert_eq!(status, 500);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains("Something went wrong"), "{body}");
    assert!(
        !body.contains("panic") && !body.contains("secret"),
        "{body}"
    );
    assert!(!body.contains("\"error\""), "a page, not JSON: {body}");
}
