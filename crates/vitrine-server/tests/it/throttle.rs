//! Password throttles that hold under concurrency (issue 10, finding 1): an attempt is
//! reserved in the store before its password is hashed, so simultaneous wrong passwords
//! cannot all slip under the limit; a link's ceiling slows everyone down instead of locking
//! new viewers out; a 429 says how long is actually left. On SQLite, and on PostgreSQL when
//! `VITRINE_TEST_POSTGRES_URL` is set.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use crate::helpers::{CLIENT_HEADER, PASSWORD, PgDatabase, TestApp, hidden_field};

pub(crate) const LINK_PASSWORD: &str = "open sesame 2026";

/// A password-protected link on a fresh dashboard of `app`; returns its id and path.
pub(crate) async fn protected_link(app: &TestApp) -> (String, String) {
    let (key, dashboard) = admin_and_board(app).await;
    password_link(app, &key, dashboard, "Board").await
}

/// An admin's API key and a dashboard to share.
pub(crate) async fn admin_and_board(app: &TestApp) -> (String, i64) {
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = crate::links::shared_dashboard(app, &key).await;
    (key, dashboard)
}

/// A link to `dashboard` with [`LINK_PASSWORD`]; returns its id and path.
pub(crate) async fn password_link(
    app: &TestApp,
    key: &str,
    dashboard: i64,
    label: &str,
) -> (String, String) {
    let link: Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(key)
        .json(&json!({ "dashboard_id": dashboard, "label": label, "password": LINK_PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = link["url"].as_str().unwrap();
    (
        link["id"].as_str().unwrap().to_owned(),
        url[url.find("/share/").unwrap()..].to_owned(),
    )
}

/// POSTs `password` to the link's unlock form, from `ip` when given (the test header, which
/// the app must trust), else from the socket address.
async fn unlock(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    password: &str,
    ip: Option<&str>,
) -> reqwest::Response {
    let mut request = client
        .post(app.url(&format!("{path}/unlock")))
        .form(&[("password", password)]);
    if let Some(ip) = ip {
        request = request.header(CLIENT_HEADER, ip);
    }
    request.send().await.unwrap()
}

/// The outcomes of the link's access events, oldest first.
async fn outcomes(app: &TestApp, link_id: &str) -> Vec<String> {
    app.state.access_log.flush().await;
    app.state
        .store
        .access_events(link_id, 1_000)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| e.outcome)
        .collect()
}

fn count(items: &[impl AsRef<str>], what: &str) -> usize {
    items.iter().filter(|i| i.as_ref() == what).count()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Thirty simultaneous wrong passwords from one address: at most five are evaluated (and
/// logged as `bad_password`), every other one is refused before it reaches the hasher.
async fn simultaneous_wrong_passwords_are_at_most_five(app: &TestApp) {
    let (id, path) = protected_link(app).await;
    let client = app.api();
    let guesses: Vec<String> = (0..30).map(|i| format!("wrong password {i}")).collect();
    let responses = join_all(guesses.iter().map(|g| unlock(app, &client, &path, g, None))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(evaluated <= 5, "{evaluated} evaluated: {statuses:?}");
    assert_eq!(evaluated + refused, 30, "{statuses:?}");
    let events = outcomes(app, &id).await;
    assert!(count(&events, "bad_password") <= 5, "{events:?}");
    assert_eq!(count(&events, "rate_limited"), refused, "{events:?}");
    let right = unlock(app, &client, &path, LINK_PASSWORD, None).await;
    assert_eq!(
        right.status(),
        429,
        "this address waits, even with the password"
    );
}

#[tokio::test]
async fn thirty_simultaneous_wrong_unlocks_from_one_address_evaluate_at_most_five() {
    let app = TestApp::spawn().await;
    simultaneous_wrong_passwords_are_at_most_five(&app).await;
}

#[tokio::test]
async fn thirty_simultaneous_wrong_unlocks_evaluate_at_most_five_on_postgres() {
    let Some(db) = PgDatabase::create(
        "throttle::thirty_simultaneous_wrong_unlocks_evaluate_at_most_five_on_postgres",
    )
    .await
    else {
        return;
    };
    let url = db.url.clone();
    let app = TestApp::spawn_with(move |c| c.database_url = Some(url)).await;
    simultaneous_wrong_passwords_are_at_most_five(&app).await;
    drop(app);
    db.drop_now().await;
}

/// A fresh login-form CSRF token: the same value goes in the form and in its cookie.
async fn login_csrf(app: &TestApp, client: &reqwest::Client) -> String {
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    hidden_field(&page, "csrf_token").unwrap()
}

/// POSTs the login form as `admin@example.com` with the double-submit pair `csrf` (sent as
/// a cookie by hand, so simultaneous posts do not race on a cookie store).
async fn post_login(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url("/login"))
        .header("cookie", format!("vitrine_login_csrf={csrf}"))
        .form(&[
            ("email", "admin@example.com"),
            ("password", password),
            ("csrf_token", csrf),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn thirty_simultaneous_wrong_logins_from_one_address_evaluate_at_most_five() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let client = app.api();
    let csrf = login_csrf(&app, &client).await;
    let guesses: Vec<String> = (0..30).map(|i| format!("guess number {i}")).collect();
    let responses = join_all(guesses.iter().map(|g| post_login(&app, &client, &csrf, g))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    assert!(evaluated <= 5, "{evaluated} evaluated: {statuses:?}");
    assert_eq!(
        evaluated + statuses.iter().filter(|s| **s == 429).count(),
        30,
        "{statuses:?}"
    );
    let right = post_login(&app, &client, &csrf, PASSWORD).await;
    assert_eq!(
        right.status(),
        429,
        "this address waits, even with the password"
    );
}

#[tokio::test]
async fn a_links_ceiling_slows_guessing_without_locking_new_viewers_out() {
    let app = TestApp::spawn_with(crate::helpers::trust_client_header).await;
    let (id, path) = protected_link(&app).await;
    let client = app.api();
    // Fifty wrong passwords, five from each of ten addresses: the link's ceiling.
    for a in 0..10 {
        for _ in 0..5 {
            let ip = format!("198.51.100.{a}");
            let response = unlock(&app, &client, &path, "wrong guess!", Some(&ip)).await;
            assert_eq!(response.status(), 401, "{ip}");
        }
    }
    // A new viewer is slowed (one evaluated attempt per link every two seconds), not locked
    // out for the rest of the window, and told how long is left.
    let viewer = Some("192.0.2.10");
    let slowed = unlock(&app, &client, &path, LINK_PASSWORD, viewer).await;
    assert_eq!(slowed.status(), 429);
    let wait = retry_after(&slowed);
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    let page = slowed.text().await.unwrap();
    assert!(page.contains(&format!("{wait} second")), "{page}");
    app.clock.advance(Duration::seconds(2));
    let response = unlock(&app, &client, &path, LINK_PASSWORD, viewer).await;
    assert_eq!(
        response.status(),
        303,
        "the new viewer gets in after two seconds"
    );

    // Past the ceiling, guesses from anyone go on at that pace only.
    let first = unlock(&app, &client, &path, "another guess", Some("192.0.2.11")).await;
    assert_eq!(first.status(), 401, "a success does not use the pace up");
    let second = unlock(&app, &client, &path, "and another", Some("192.0.2.12")).await;
    assert_eq!(second.status(), 429);
    assert!((1..=2).contains(&retry_after(&second)));
    let events = outcomes(&app, &id).await;
    assert_eq!(count(&events, "bad_password"), 51, "{events:?}");
    assert_eq!(count(&events, "unlocked"), 1, "{events:?}");
}

#[tokio::test]
async fn an_unlock_throttle_says_how_long_is_left_and_reopens_at_the_end_of_its_window() {
    let app = TestApp::spawn().await;
    let (_, path) = protected_link(&app).await;
    let client = app.api();
    for _ in 0..5 {
        let response = unlock(&app, &client, &path, "wrong guess!", None).await;
        assert_eq!(response.status(), 401);
        app.clock.advance(Duration::minutes(1));
    }
    // Now minute 5; the oldest failure (minute 0) leaves the 15-minute window at minute 15.
    app.clock.advance(Duration::minutes(5));
    let throttled = unlock(&app, &client, &path, LINK_PASSWORD, None).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&throttled), 5 * 60);
    let page = throttled.text().await.unwrap();
    assert!(page.contains("5 minutes"), "{page}");
    app.clock
        .advance(Duration::minutes(5) - Duration::seconds(1));
    let still = unlock(&app, &client, &path, LINK_PASSWORD, None).await;
    assert_eq!(still.status(), 429);
    assert_eq!(retry_after(&still), 1);
    app.clock.advance(Duration::seconds(1));
    let open = unlock(&app, &client, &path, LINK_PASSWORD, None).await;
    assert_eq!(
        open.status(),
        303,
        "the window has moved past the oldest failure"
    );
}

#[tokio::test]
async fn a_login_throttle_says_how_long_is_left_and_reopens_at_the_end_of_its_window() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let client = app.api();
    let csrf = login_csrf(&app, &client).await;
    for _ in 0..5 {
        let response = post_login(&app, &client, &csrf, "wrong guess!").await;
        assert_eq!(response.status(), 401);
        app.clock.advance(Duration::minutes(2));
    }
    // Now minute 10; the oldest failure leaves the window at minute 15.
    let throttled = post_login(&app, &client, &csrf, PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(retry_after(&throttled), 5 * 60);
    let page = throttled.text().await.unwrap();
    assert!(page.contains("5 minutes"), "{page}");
    app.clock.advance(Duration::minutes(5));
    let response = post_login(&app, &client, &csrf, PASSWORD).await;
    assert_eq!(
        response.status(),
        303,
        "the window has moved past the oldest failure"
    );
}

#[tokio::test]
async fn an_ipv6_client_is_counted_by_its_slash_64() {
    let app = TestApp::spawn_with(crate::helpers::trust_client_header).await;
    let (_, path) = protected_link(&app).await;
    let client = app.api();
    for host in 1..=5 {
        let ip = format!("2001:db8:1:2::{host}");
        let response = unlock(&app, &client, &path, "wrong guess!", Some(&ip)).await;
        assert_eq!(response.status(), 401, "{ip}");
    }
    let same_prefix = unlock(
        &app,
        &client,
        &path,
        LINK_PASSWORD,
        Some("2001:db8:1:2:ffff::9"),
    )
    .await;
    assert_eq!(
        same_prefix.status(),
        429,
        "a new address in the same /64 waits"
    );
    let next_prefix = unlock(&app, &client, &path, LINK_PASSWORD, Some("2001:db8:1:3::1")).await;
    assert_eq!(next_prefix.status(), 303, "the next /64 is another client");
}

/// The outsiders' hashing lane holds one unlock at a time and waits for none
/// (`auth.outsider_hash_concurrency = 1`, `auth.hash_wait_seconds = 0`): simultaneous unlocks
/// from different addresses that find it taken get 503 with `Retry-After` and are recorded as
/// `busy`, not queued and not counted as wrong passwords; once it is free, the right password
/// opens the link from an address that was turned away.
#[tokio::test]
async fn a_full_outsiders_hashing_lane_answers_503_busy_over_http() {
    let app = TestApp::spawn_with(|config| {
        crate::helpers::trust_client_header(config);
        config.auth.outsider_hash_concurrency = 1;
        config.auth.hash_wait_seconds = 0;
    })
    .await;
    let (id, path) = protected_link(&app).await;
    let client = app.api();
    let addresses: Vec<String> = (1..=12).map(|i| format!("10.9.0.{i}")).collect();
    let responses = join_all(
        addresses
            .iter()
            .map(|ip| unlock(&app, &client, &path, "a wrong password", Some(ip))),
    )
    .await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let busy: Vec<&reqwest::Response> = responses.iter().filter(|r| r.status() == 503).collect();
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    assert!(!busy.is_empty(), "the lane was never full: {statuses:?}");
    assert!(evaluated >= 1, "someone was evaluated: {statuses:?}");
    assert_eq!(evaluated + busy.len(), addresses.len(), "{statuses:?}");
    for response in &busy {
        assert!(retry_after(response) >= 1, "{:?}", response.headers());
    }
    let events = outcomes(&app, &id).await;
    assert_eq!(count(&events, "busy"), busy.len(), "{events:?}");
    assert_eq!(count(&events, "bad_password"), evaluated, "{events:?}");

    // A turned-away attempt was not charged: its address still gets in.
    let turned_away = responses
        .iter()
        .position(|r| r.status() == 503)
        .map(|i| addresses[i].clone())
        .unwrap();
    let right = unlock(&app, &client, &path, LINK_PASSWORD, Some(&turned_away)).await;
    assert_eq!(right.status(), 303);
}
