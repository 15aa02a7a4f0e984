//! Every response carries the default security headers.

use crate::helpers::TestApp;

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let client = app.api();
    for (path, bearer, status) in [
        ("/", false, 303),
        ("/login", false, 200),
        ("/healthz", false, 200),
        ("/readyz", false, 200),
        ("/static/app.css", false, 200),
        ("/static/fonts/dejavu-sans.woff2", false, 200),
        ("/api/v1/me", false, 401),
        ("/api/v1/me", true, 200),
        ("/api/v1/nope", true, 404),
        ("/api/v1/openapi.json", false, 200),
        ("/share/shr_forged", false, 404),
        ("/s/abc", false, 404),
        ("/no/such/page", false, 404),
    ] {
        let mut request = client.get(app.url(path));
        if bearer {
            request = request.bearer_auth(&key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h["x-robots-tag"].to_str().unwrap().contains("noindex"),
            "{path}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        let cache = h["cache-control"].to_str().unwrap();
        if path.starts_with("/static/") {
            assert!(cache.contains("max-age"), "{path}: {cache}");
        } else {
            assert_eq!(cache, "no-store", "{path}");
        }
    }
}

#[tokio::test]
async fn an_unknown_share_link_gets_a_polite_page_that_reveals_nothing() {
    let app = TestApp::spawn().await;
    let response = app
        .api()
        .get(app.url("/share/shr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let page = response.text().await.unwrap();
    assert!(page.contains("This link does not exist"));
    assert!(!page.contains("Workspace"), "no workspace name");
    assert!(
        !page.contains("/members") && !page.contains("Sign in"),
        "no owner navigation"
    );
}
