//! The OpenAPI document describes the API that exists: every documented operation is routed.

use crate::helpers::TestApp;

#[tokio::test]
async fn every_documented_operation_exists() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let document: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
