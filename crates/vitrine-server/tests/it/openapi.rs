//! The OpenAPI document describes the API that exists: every documented operation is routed,
//! every operation that reads a body documents it (and only those), every success that has a
//! body documents its schema, and every error is the documented JSON body.

use crate::helpers::TestApp;

async fn document(app: &TestApp) -> serde_json::Value {
    app.api()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_documented_operation_exists() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let document = document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 7);
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            assert!(operation["operationId"].is_string(), "{method} {path}");
            let concrete = path.replace("{id}", "999999");
            let response = app
                .api()
                .request(
                    method.to_uppercase().parse().unwrap(),
                    app.url(&format!("/api/v1{concrete}")),
                )
                .bearer_auth(&key)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            assert_ne!(response.status(), 405, "{method} {path} is not routed");
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert_ne!(
                body["error"]["code"], "no_such_endpoint",
                "{method} {path} is not routed"
            );
        }
    }
    assert!(operations >= 10);
}

/// The schema of `content[media]` in a request body or response, if any.
fn schema_of<'a>(holder: &'a serde_json::Value, media: &str) -> Option<&'a serde_json::Value> {
    holder["content"][media]["schema"]
        .as_object()
        .map(|_| &holder["content"][media]["schema"])
}

#[tokio::test]
async fn bodies_and_successes_are_described_and_a_body_that_is_not_json_is_refused_as_documented() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let document = document(&app).await;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') && status != "204" {
                    assert!(
                        response["content"]
                            .as_object()
                            .is_some_and(|c| c.values().all(|m| m["schema"].is_object())),
                        "{name}: {status} has no schema"
                    );
                } else if !status.starts_with('2') {
                    assert_eq!(
                        schema_of(response, "application/json").unwrap()["$ref"],
                        "#/components/schemas/Error",
                        "{name}: {status} is not the error body"
                    );
                }
            }
            let documented = operation.get("requestBody").map(|body| {
                assert_eq!(body["required"], true, "{name}");
                schema_of(body, "application/json")
                    .unwrap_or_else(|| panic!("{name}: a request body without a JSON schema"))
            });
            // Whether the handler reads a body shows when it is sent one that is not JSON.
            let response = app
                .api()
                .request(
                    method.to_uppercase().parse().unwrap(),
                    app.url(&format!("/api/v1{}", path.replace("{id}", "999999"))),
                )
                .bearer_auth(&key)
                .header("content-type", "text/plain")
                .body("not json")
                .send()
                .await
                .unwrap();
            let reads_body = response.status() == 415;
            assert_eq!(
                reads_body,
                documented.is_some(),
                "{name}: answered {} to a text body",
                response.status()
            );
            if reads_body {
                assert!(
                    operation["responses"]["415"].is_object(),
                    "{name}: 415 undocumented"
                );
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unsupported_media_type", "{name}");
            }
        }
    }
}

#[tokio::test]
async fn every_refusal_of_the_api_is_the_json_error_body() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let client = app.api();
    let cases: Vec<(reqwest::RequestBuilder, u16, &str, Option<&str>)> = vec![
        // A body that is not valid JSON, or does not fit (the field is named).
        (
            client
                .post(app.url("/api/v1/api-keys"))
                .body("{")
                .header("content-type", "application/json"),
            400,
            "invalid_input",
            None,
        ),
        (
            client
                .post(app.url("/api/v1/api-keys"))
                .json(&serde_json::json!({ "name": 7 })),
            400,
            "invalid_input",
            Some("name"),
        ),
        (
            client
                .post(app.url("/api/v1/api-keys"))
                .json(&serde_json::json!({})),
            400,
            "invalid_input",
            Some("name"),
        ),
        (
            client
                .post(app.url("/api/v1/api-keys"))
                .json(&serde_json::json!({ "name": "a", "extra": true })),
            400,
            "invalid_input",
            Some("extra"),
        ),
        // A path or query parameter of the wrong type.
        (
            client.get(app.url("/api/v1/data-sources/abc")),
            400,
            "invalid_input",
            Some("id"),
        ),
        (
            client.get(app.url("/api/v1/audit-events?limit=many")),
            400,
            "invalid_input",
            Some("limit"),
        ),
        // A limit above its documented maximum is refused, not clamped.
        (
            client.get(app.url("/api/v1/audit-events?limit=1001")),
            400,
            "invalid_input",
            Some("limit"),
        ),
        // A method the endpoint does not take.
        (
            client.delete(app.url("/api/v1/me")),
            405,
            "method_not_allowed",
            None,
        ),
    ];
    for (request, status, code, field) in cases {
        let response = request.bearer_auth(&key).send().await.unwrap();
        let url = response.url().to_string();
        assert_eq!(response.status().as_u16(), status, "{url}");
        if status == 405 {
            assert!(response.headers().contains_key("allow"), "{url}");
        }
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{url}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{url}: {body}");
        assert_eq!(body["error"]["field"].as_str(), field, "{url}: {body}");
        assert!(
            !body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("deserialize"),
            "{url}: {body}"
        );
    }
}
