//! Smaller holes from issue 10 (finding 7): where the login page sends a member next, whose
//! word the server takes for a client's address and country, and who may read `/metrics`; and
//! a test that the unlock cookie cannot be stretched or forged.

use serde_json::json;
use vitrine_app::accounts::client_key;

use crate::helpers::{PASSWORD, TestApp, hidden_field};

/// Opens `/login?next=…` and signs in with `next`; returns the form's hidden `next` and the
/// redirect's `Location`.
async fn log_in_with_next(app: &TestApp, next: &str) -> (String, String) {
    let client = app.browser();
    let page = client
        .get(app.url(&format!(
            "/login?{}",
            serde_urlencoded::to_string([("next", next)]).unwrap()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form_next = hidden_field(&page, "next").unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("email", "admin@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "{next:?}");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    (form_next, location)
}

#[tokio::test]
async fn after_login_next_never_leads_off_site() {
    let app = TestApp::spawn().await;
    app.admin().await;
    // As decoded from `?next=/%09/evil.example`, `/%0a/…`, `/%5C…`, `/%0d/…` and friends:
    // browsers drop tabs and new lines from a Location and read `\` as `/`.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r/evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "\\/evil.example",
        "/ /evil.example",
        "//evil.example",
        "/%09/evil.example",
        "/%5C/evil.example",
        "/%2F/evil.example",
        "https://evil.example",
        "evil.example",
        "",
    ] {
        let (form, location) = log_in_with_next(&app, next).await;
        assert_eq!(form, "/", "the login form carries {next:?} on");
        assert_eq!(location, "/", "signing in follows {next:?}");
    }
    let local = "/members?tab=keys";
    assert_eq!(
        log_in_with_next(&app, local).await,
        (local.to_owned(), local.to_owned())
    );
}

/// An open link, visited once from the test's socket with these headers; returns the
/// access event it left.
async fn visit(app: &TestApp, headers: &[(&str, &str)]) -> vitrine_store::AccessEvent {
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = crate::links::shared_dashboard(app, &key).await;
    let link: serde_json::Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&json!({ "dashboard_id": dashboard, "label": "Board" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut request = app.api().get(link["url"].as_str().unwrap());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    assert_eq!(request.send().await.unwrap().status(), 200);
    // A view's event is written in the next batch of the access log.
    app.state.access_log.flush().await;
    let mut events = app
        .state
        .store
        .access_events(link["id"].as_str().unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn key_of(app: &TestApp, ip: &str) -> String {
    client_key(&app.state, Some(ip.parse().unwrap()))
}

#[tokio::test]
async fn proxy_headers_from_an_untrusted_peer_are_ignored() {
    let app = TestApp::spawn_with(|c| {
        c.proxy.client_ip_header = Some("x-forwarded-for".into());
        c.proxy.country_header = Some("cf-ipcountry".into());
    })
    .await;
    let event = visit(
        &app,
        &[("x-forwarded-for", "203.0.113.50"), ("cf-ipcountry", "NL")],
    )
    .await;
    assert_eq!(
        event.client,
        key_of(&app, "127.0.0.1"),
        "the socket's address, not the header's"
    );
    assert_eq!(event.country, None, "a country header anyone can send");
}

#[tokio::test]
async fn proxy_headers_from_a_peer_outside_the_trusted_proxies_are_ignored() {
    let app = TestApp::spawn_with(|c| {
        c.proxy.client_ip_header = Some("x-forwarded-for".into());
        c.proxy.country_header = Some("cf-ipcountry".into());
        c.proxy.trusted_proxies = vec!["10.0.0.0/8".into()];
    })
    .await;
    let event = visit(
        &app,
        &[("x-forwarded-for", "203.0.113.50"), ("cf-ipcountry", "NL")],
    )
    .await;
    assert_eq!(event.client, key_of(&app, "127.0.0.1"));
    assert_eq!(event.country, None);
}

#[tokio::test]
async fn proxy_headers_from_a_trusted_proxy_name_the_client_and_its_country() {
    let app = TestApp::spawn_with(|c| {
        c.proxy.client_ip_header = Some("x-forwarded-for".into());
        c.proxy.country_header = Some("cf-ipcountry".into());
        c.proxy.trusted_proxies = vec!["127.0.0.1".into(), "10.0.0.0/8".into()];
    })
    .await;
    // The client sent a made-up first entry; our proxies (10.x) appended the rest.
    let event = visit(
        &app,
        &[
            ("x-forwarded-for", "198.51.100.1, 203.0.113.50, 10.1.2.3"),
            ("cf-ipcountry", "nl"),
        ],
    )
    .await;
    assert_eq!(
        event.client,
        key_of(&app, "203.0.113.50"),
        "the first address outside the trusted proxies, from the right"
    );
    assert_eq!(event.country.as_deref(), Some("NL"));
}

#[tokio::test]
async fn metrics_are_not_open_on_a_listener_that_serves_share_links() {
    let app = TestApp::spawn().await;
    let response = app.api().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(!response.text().await.unwrap().contains("vitrine_"));
}

/// The unlock cookie's value from a successful unlock of the link at `path`.
async fn unlock_cookie(app: &TestApp, path: &str) -> (String, String) {
    let response = app
        .api()
        .post(app.url(&format!("{path}/unlock")))
        .form(&[("password", crate::throttle::LINK_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let (name, rest) = cookie.split_once('=').unwrap();
    (name.to_owned(), rest.split(';').next().unwrap().to_owned())
}

/// Whether the link at `path` shows its dashboard to a request carrying `name=value`.
async fn opens_with(app: &TestApp, path: &str, name: &str, value: &str) -> bool {
    let page = app
        .api()
        .get(app.url(path))
        .header("cookie", format!("{name}={value}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-widget=") || page.contains("Password required"),
        "neither the dashboard nor the prompt: {page}"
    );
    page.contains("data-widget=")
}

#[tokio::test]
async fn a_forged_or_stretched_unlock_cookie_is_refused() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let app = TestApp::spawn().await;
    let (key, board) = crate::throttle::admin_and_board(&app).await;
    let (_, path) = crate::throttle::password_link(&app, &key, board, "Board").await;
    let (name, value) = unlock_cookie(&app, &path).await;
    assert!(opens_with(&app, &path, &name, &value).await);

    // The cookie is its expiry (8 bytes, big-endian Unix seconds) and a tag over it.
    let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
    let until = i64::from_be_bytes(bytes[..8].try_into().unwrap());
    let now = app.state.now().unix_timestamp();
    assert_eq!(
        until,
        now + vitrine_app::outsider::UNLOCK_TTL.whole_seconds()
    );
    let forge = |change: &dyn Fn(&mut Vec<u8>)| {
        let mut forged = bytes.clone();
        change(&mut forged);
        URL_SAFE_NO_PAD.encode(forged)
    };
    let later = forge(&|b| b[..8].copy_from_slice(&(until + 365 * 86_400).to_be_bytes()));
    assert!(
        !opens_with(&app, &path, &name, &later).await,
        "a later expiry"
    );
    let earlier = forge(&|b| b[..8].copy_from_slice(&(until - 1).to_be_bytes()));
    assert!(
        !opens_with(&app, &path, &name, &earlier).await,
        "any other expiry"
    );
    let tag = forge(&|b| {
        let last = b.len() - 1;
        b[last] ^= 1;
    });
    assert!(
        !opens_with(&app, &path, &name, &tag).await,
        "one bit of the tag"
    );
    let short = forge(&|b| {
        b.pop();
    });
    assert!(
        !opens_with(&app, &path, &name, &short).await,
        "a shorter tag"
    );

    // Another link's cookie, under this link's name, opens nothing.
    let (_, other_path) = crate::throttle::password_link(&app, &key, board, "Other").await;
    let (_, other_value) = unlock_cookie(&app, &other_path).await;
    assert!(
        !opens_with(&app, &path, &name, &other_value).await,
        "another link's"
    );

    // The genuine cookie ends with its expiry, on the injected clock.
    app.clock
        .advance(vitrine_app::outsider::UNLOCK_TTL - time::Duration::seconds(1));
    assert!(opens_with(&app, &path, &name, &value).await);
    app.clock.advance(time::Duration::seconds(1));
    assert!(!opens_with(&app, &path, &name, &value).await, "expired");
}

/// A client that trickles a request's head (a slow-header attack holds connections open that
/// way) is cut off after `limits.header_read_seconds`, without an answer; a prompt client is
/// served meanwhile. Before the server set a head-read deadline, the connection stayed open.
#[tokio::test]
async fn a_connection_that_never_finishes_its_request_head_is_closed() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let app = TestApp::spawn_with(|config| config.limits.header_read_seconds = 1).await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: vitrine\r\nX-Slow: 1")
        .await
        .unwrap();

    let prompt = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(prompt.status(), 200, "other clients are served meanwhile");

    let mut answer = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        slow.read_to_end(&mut answer),
    )
    .await;
    assert!(
        closed.is_ok(),
        "the connection was still open 15 s after a 1 s head-read limit"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.contains(" 200 "),
        "an unfinished request is not answered: {answer}"
    );
}

/// The limit is at least a second.
#[test]
fn a_zero_head_read_limit_is_refused() {
    let error = vitrine_app::config::Config::load(
        None,
        [(
            "VITRINE_LIMITS__HEADER_READ_SECONDS".to_owned(),
            "0".to_owned(),
        )],
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("limits.header_read_seconds"), "{error}");
}
