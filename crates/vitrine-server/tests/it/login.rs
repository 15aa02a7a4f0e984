//! Signing in: passwords, throttling, cookies, CSRF, sessions, one-time passwords.

use crate::helpers::{CLIENT_HEADER, PASSWORD, TestApp, hidden_field};
use time::Duration;

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_right_password_starts_a_session_with_safe_cookie_flags() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let client = app.browser();
    let response = app
        .log_in(&client, "Admin@Example.com ", PASSWORD, "10.0.0.1")
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/");
    let session = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("vitrine_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(
        !session.contains("Secure"),
        "plain http base URL: {session}"
    );
    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("Dashboards"));
}

#[tokio::test]
async fn cookies_are_secure_when_the_base_url_is_https() {
    let app = TestApp::spawn_with(|c| c.base_url = "https://vitrine.example.com".into()).await;
    app.admin().await;
    let client = app.browser();
    let response = app
        .log_in(&client, "admin@example.com", PASSWORD, "10.0.0.1")
        .await;
    assert_eq!(response.status(), 303);
    for cookie in set_cookies(&response) {
        assert!(cookie.contains("; Secure"), "{cookie}");
    }
}

#[tokio::test]
async fn wrong_passwords_are_throttled_per_client_while_others_still_sign_in() {
    let app = TestApp::spawn_with(crate::helpers::trust_client_header).await;
    app.admin().await;
    let attacker = app.browser();
    for attempt in 1..=5 {
        let response = app
            .log_in(
                &attacker,
                "admin@example.com",
                "wrong password",
                "192.0.2.66",
            )
            .await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Wrong e-mail address or password."));
    }
    let response = app
        .log_in(&attacker, "admin@example.com", PASSWORD, "192.0.2.66")
        .await;
    assert_eq!(response.status(), 429, "even the right password waits");
    assert!(
        response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    let unknown = app
        .log_in(&attacker, "nobody@example.com", "x", "192.0.2.66")
        .await;
    assert_eq!(
        unknown.status(),
        429,
        "the client is throttled whatever the account"
    );

    let colleague = app.browser();
    let response = app
        .log_in(&colleague, "admin@example.com", PASSWORD, "198.51.100.7")
        .await;
    assert_eq!(response.status(), 303, "another client can still sign in");

    app.clock.advance(Duration::minutes(16));
    let response = app
        .log_in(&attacker, "admin@example.com", PASSWORD, "192.0.2.66")
        .await;
    assert_eq!(response.status(), 303, "the window has passed");
}

#[tokio::test]
async fn an_account_attacked_from_many_addresses_is_throttled() {
    let app = TestApp::spawn_with(|c| {
        crate::helpers::trust_client_header(c);
        c.auth.max_failures_per_account = 3;
    })
    .await;
    app.admin().await;
    let client = app.browser();
    for i in 0..3 {
        let response = app
            .log_in(
                &client,
                "admin@example.com",
                "guess",
                &format!("203.0.113.{i}"),
            )
            .await;
        assert_eq!(response.status(), 401);
    }
    let response = app
        .log_in(&client, "admin@example.com", "guess", "203.0.113.99")
        .await;
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn an_unknown_account_and_a_wrong_password_look_the_same() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let client = app.browser();
    let unknown = app
        .log_in(&client, "nobody@example.com", PASSWORD, "10.0.0.2")
        .await;
    let status = unknown.status();
    let unknown = unknown.text().await.unwrap();
    let wrong = app
        .log_in(&client, "admin@example.com", "nope", "10.0.0.3")
        .await;
    assert_eq!(status, wrong.status());
    let wrong = wrong.text().await.unwrap();
    let strip = |page: &str| page.replace(&hidden_field(page, "csrf_token").unwrap(), "");
    assert_eq!(
        strip(&unknown).replace("nobody@example.com", ""),
        strip(&wrong).replace("admin@example.com", "")
    );
}

#[tokio::test]
async fn the_login_form_needs_its_own_csrf_cookie() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let response = app
        .browser()
        .post(app.url("/login"))
        .header(CLIENT_HEADER, "10.0.0.1")
        .form(&[
            ("email", "admin@example.com"),
            ("password", PASSWORD),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        set_cookies(&response)
            .iter()
            .all(|c| !c.starts_with("vitrine_session="))
    );
}

#[tokio::test]
async fn state_changes_without_the_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let (client, csrf) = app.signed_in("admin@example.com").await;
    let invite = [("email", "new@example.com"), ("role", "viewer")];

    let response = client
        .post(app.url("/members"))
        .form(&invite)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "no token");
    let mut forged = invite.to_vec();
    forged.push(("csrf_token", "forged"));
    let response = client
        .post(app.url("/members"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "wrong token");
    let response = client
        .post(app.url("/api/v1/members"))
        .json(&serde_json::json!({ "email": "new@example.com", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        403,
        "API call with a session cookie but no header"
    );
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "csrf"
    );
    let response = client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(response.status(), 403, "even logout");
    assert!(
        app.state
            .store
            .member_by_email("new@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let mut good = invite.to_vec();
    good.push(("csrf_token", &csrf));
    let response = client
        .post(app.url("/members"))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .post(app.url("/api/v1/members"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({ "email": "other@example.com", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let browser = app.browser();
    let signed_in = app
        .log_in(&browser, "admin@example.com", PASSWORD, "10.0.0.1")
        .await;
    assert_eq!(signed_in.status(), 303);
    let session = set_cookies(&signed_in)
        .into_iter()
        .find_map(|c| {
            c.strip_prefix("vitrine_session=")
                .map(|v| v.split(';').next().unwrap().to_owned())
        })
        .expect("a session cookie");
    // Replayed by hand, as someone who copied the cookie would, not by the browser's store.
    let with_cookie = |path: &str| {
        app.api()
            .get(app.url(path))
            .header("cookie", format!("vitrine_session={session}"))
            .send()
    };
    let page = with_cookie("/api-keys").await.unwrap();
    assert_eq!(
        page.status(),
        200,
        "the copied cookie works while signed in"
    );
    let csrf = hidden_field(&page.text().await.unwrap(), "csrf_token").unwrap();

    let response = browser
        .post(app.url("/logout"))
        .form(&[("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let response = browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
    let replayed = with_cookie("/").await.unwrap();
    assert_eq!(
        replayed.status(),
        303,
        "the server forgot the session: the old cookie is refused"
    );
    assert_eq!(replayed.headers()["location"], "/login");
}

#[tokio::test]
async fn sessions_expire_on_the_injected_clock() {
    let app = TestApp::spawn_with(|c| c.auth.session_ttl_hours = 1).await;
    app.admin().await;
    let (client, _) = app.signed_in("admin@example.com").await;
    assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 200);
    app.clock.advance(Duration::minutes(61));
    assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 303);
}

#[tokio::test]
async fn an_invited_member_must_choose_a_password_first() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let (admin, csrf) = app.signed_in("admin@example.com").await;
    let page = admin
        .post(app.url("/members"))
        .form(&[
            ("email", "carol@example.com"),
            ("role", "editor"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("id=\"one-time-secret\">").unwrap() + "id=\"one-time-secret\">".len();
    let one_time = &page[start..start + page[start..].find('<').unwrap()];

    let carol = app.browser();
    let response = app
        .log_in(&carol, "carol@example.com", one_time, "10.0.0.9")
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/account/password");
    let response = carol.get(app.url("/api-keys")).send().await.unwrap();
    assert_eq!(
        response.headers()["location"],
        "/account/password",
        "every page leads there"
    );
    let form = carol
        .get(app.url("/account/password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&form, "csrf_token").unwrap();
    let response = carol
        .post(app.url("/account/password"))
        .form(&[
            ("current", one_time),
            ("new", "short"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("10 to 256 characters")
    );
    let response = carol
        .post(app.url("/account/password"))
        .form(&[
            ("current", one_time),
            ("new", "carol's own password"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        carol
            .get(app.url("/api-keys"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let again = app.browser();
    assert_eq!(
        app.log_in(&again, "carol@example.com", one_time, "10.0.0.9")
            .await
            .status(),
        401
    );
    assert_eq!(
        app.log_in(
            &again,
            "carol@example.com",
            "carol's own password",
            "10.0.0.9"
        )
        .await
        .status(),
        303
    );
}
