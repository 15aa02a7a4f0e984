//! `vitrine demo` serves the login page and its printed credentials sign in.

use reqwest::redirect::Policy;
use vitrine::demo::{DemoOptions, prepare_demo};

async fn sign_in(url: &str, email: &str, password: &str) -> reqwest::StatusCode {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let page = client.get(format!("{url}login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Sign in"));
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let csrf = &page[start..start + page[start..].find('"').unwrap()];
    let response = client
        .post(format!("{url}login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", csrf),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    if status == 303 {
        let home = client.get(url).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let home = home.text().await.unwrap();
        for title in ["Executive overview", "Customer usage", "Support"] {
            assert!(home.contains(title), "the demo dashboard {title} is listed");
        }
        // Every demo dashboard renders every widget without an error state.
        let mut rest = home.as_str();
        let mut opened = 0;
        while let Some(at) = rest.find("href=\"/dashboards/") {
            rest = &rest[at + "href=\"/dashboards/".len()..];
            let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if id.is_empty() {
                continue;
            }
            let page = client
                .get(format!("{url}dashboards/{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), 200);
            let page = page.text().await.unwrap();
            assert!(page.contains("<svg"), "dashboard {id} draws charts");
            assert!(
                !page.contains("data-error="),
                "dashboard {id} has a widget in error"
            );
            opened += 1;
        }
        assert_eq!(opened, 3);
    }
    status
}

#[tokio::test]
async fn the_demo_serves_the_login_page_and_its_printed_credentials_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        data_dir: Some(dir.path().join("demo")),
        port: 0,
        configure: None,
    };
    let demo = prepare_demo(options.clone()).await.unwrap();
    let banner = demo.banner();
    assert!(
        banner.contains(&demo.url)
            && banner.contains(&demo.password)
            && banner.contains(&demo.email)
    );
    assert!(demo.url.starts_with("http://127.0.0.1:"));
    assert_eq!(
        demo.links.len(),
        3,
        "an open link, a password-protected one and a widget link"
    );
    for link in &demo.links {
        assert!(
            link.url.starts_with(&format!("{}share/shr_", demo.url)),
            "{}",
            link.url
        );
        assert!(banner.contains(&link.url));
    }
    let protected: Vec<_> = demo
        .links
        .iter()
        .filter_map(|l| l.password.clone())
        .collect();
    assert_eq!(protected.len(), 1);
    assert!(banner.contains(&protected[0]));
    assert!(banner.contains(&format!(
        "Authorization: Bearer {}' {}metrics",
        demo.metrics_token, demo.url
    )));
    let (url, email, first_password) =
        (demo.url.clone(), demo.email.clone(), demo.password.clone());
    let metrics_token = demo.metrics_token.clone();
    let demo_links = demo.links.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(demo.serve(async move {
        let _ = stopped.await;
    }));
    assert_eq!(sign_in(&url, &email, &first_password).await, 303);
    // The demo's one listener serves share links: /metrics takes the printed token only.
    let scrape = |token: Option<String>| {
        let mut request = reqwest::Client::new().get(format!("{url}metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(scrape(None).await.unwrap().status(), 401);
    let metrics = scrape(Some(metrics_token.clone())).await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("vitrine_build_info"));
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    // Started again on the same data directory: the data stays, the password is new.
    let token = |url: &str| url.rsplit('/').next().unwrap_or_default().to_owned();
    let first_links: Vec<String> = demo_links.iter().map(|l| token(&l.url)).collect();
    let again = prepare_demo(options).await.unwrap();
    assert_ne!(again.password, first_password);
    assert_ne!(
        again.metrics_token, metrics_token,
        "a new token on every start"
    );
    let again_links: Vec<String> = again.links.iter().map(|l| token(&l.url)).collect();
    assert_eq!(
        again_links, first_links,
        "the same links, not new ones, on a restart"
    );
    let (url, password) = (again.url.clone(), again.password.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(again.serve(async move {
        let _ = stopped.await;
    }));
    assert_eq!(sign_in(&url, &email, &first_password).await, 401);
    assert_eq!(sign_in(&url, &email, &password).await, 303);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_demo_serves_a_host_application_that_embeds_customer_usage_for_one_customer() {
    let dir = tempfile::tempdir().unwrap();
    let demo = prepare_demo(DemoOptions {
        data_dir: Some(dir.path().join("demo")),
        port: 0,
        configure: None,
    })
    .await
    .unwrap();
    assert!(
        demo.host_url.starts_with("http://localhost:"),
        "{}",
        demo.host_url
    );
    assert!(demo.banner().contains(&demo.host_url));
    let (url, host_url) = (demo.url.clone(), demo.host_url.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(demo.serve(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let page = client
        .get(&host_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/static/embed.js") && page.contains("<option value="));
    let embed_id = page
        .split("id: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let minted: serde_json::Value = client
        .get(format!("{host_url}guest-token?customer=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = minted["token"].as_str().unwrap();
    let response = client
        .get(format!("{url}embed/{embed_id}"))
        .header("x-vitrine-guest-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.ends_with(&format!(
            "frame-ancestors {}",
            host_url.trim_end_matches('/')
        )),
        "{csp}"
    );
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
