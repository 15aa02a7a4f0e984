//! Identified outsider links (issue 12): "viewers confirm their e-mail". The viewer types an
//! address, the code goes out over real SMTP to the test's sink, the viewer types it back and
//! views; the access events carry the address; codes are single-use, expire, are throttled;
//! the domain restriction is exact; the viewer cookie dies with rotate / disable / a change of
//! domains and opens no other link. On SQLite, and on PostgreSQL for the flow and the throttle
//! when `VITRINE_TEST_POSTGRES_URL` is set.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use crate::helpers::PgDatabase;
use crate::public::{Fixture, Link, fixture_with};
use crate::sink::{Received, SmtpSink};

const IP: &str = "198.51.100.20";

fn is_dashboard(html: &str) -> bool {
    html.contains("data-dashboard") && html.contains("data-widget=")
}

fn is_email_form(html: &str) -> bool {
    html.contains("Confirm your e-mail")
        && html.contains("name=\"email\"")
        && !html.contains("data-widget=")
}

fn is_code_form(html: &str) -> bool {
    html.contains("Enter your code")
        && html.contains("name=\"code\"")
        && !html.contains("data-widget=")
}

/// A fixture whose mail goes to `sink` over SMTP.
async fn fixture_mailing(sink: &SmtpSink, database: Option<String>) -> Fixture {
    let url = sink.url();
    fixture_with(move |c| {
        c.mail.smtp_url = Some(url);
        if let Some(db) = database {
            c.database_url = Some(db);
        }
    })
    .await
}

async fn identified(fx: &Fixture, domains: &[&str], extra: Value) -> Link {
    let mut body = json!({ "access": { "confirm_email": true, "email_domains": domains } });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    fx.link(body).await
}

async fn post(
    fx: &Fixture,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(fx.app.url(path))
        .header(crate::helpers::CLIENT_HEADER, IP)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn ask_code(
    fx: &Fixture,
    client: &reqwest::Client,
    link: &Link,
    email: &str,
) -> reqwest::Response {
    post(
        fx,
        client,
        &format!("{}/confirm", link.path),
        &[("email", email)],
    )
    .await
}

async fn type_code(
    fx: &Fixture,
    client: &reqwest::Client,
    link: &Link,
    email: &str,
    code: &str,
) -> reqwest::Response {
    post(
        fx,
        client,
        &format!("{}/verify", link.path),
        &[("email", email), ("code", code)],
    )
    .await
}

/// The six-digit code of a message from the sink (in both bodies, never in the subject, which
/// the outbox keeps).
fn code_of(message: &Received) -> String {
    let parsed = message.parsed();
    let subject = parsed.subject().unwrap().to_owned();
    assert!(subject.starts_with("Your code to view"), "{subject}");
    assert!(
        !subject
            .split(|c: char| !c.is_ascii_digit())
            .any(|run| run.len() >= 6),
        "no code in the subject: {subject}"
    );
    let text = parsed.body_text(0).unwrap().into_owned();
    let runs: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 6)
        .collect();
    assert_eq!(runs.len(), 1, "{text}");
    let code = runs[0].to_owned();
    assert!(parsed.body_html(0).unwrap().contains(&code));
    code
}

async fn page(fx: &Fixture, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let response = fx.get_from(client, path, IP).await;
    (response.status(), response.text().await.unwrap())
}

async fn events(fx: &Fixture, link: &Link) -> Vec<(String, Option<String>)> {
    let events = fx
        .api_send(
            reqwest::Method::GET,
            &format!("/api/v1/links/{}/events", link.id),
            None,
        )
        .await;
    events
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap().to_owned(),
                e["viewer"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn count(events: &[(String, Option<String>)], outcome: &str) -> usize {
    events.iter().filter(|(o, _)| o == outcome).count()
}

/// Asks for a code for `email` and types it back; returns the viewer cookie's `name=value`.
async fn confirm(
    fx: &Fixture,
    sink: &SmtpSink,
    client: &reqwest::Client,
    link: &Link,
    email: &str,
) -> String {
    let before = sink.messages().await.len();
    let asked = ask_code(fx, client, link, email).await;
    assert_eq!(asked.status(), 200);
    assert!(is_code_form(&asked.text().await.unwrap()));
    let received = sink.wait_for(before + 1).await;
    let message = &received[before];
    assert_eq!(message.to, [format!("<{}>", email.to_lowercase())]);
    let code = code_of(message);
    let done = type_code(fx, client, link, email, &code).await;
    assert_eq!(done.status(), 303);
    let cookie = done.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(&format!("vitrine_viewer_{}=", link.id)),
        "{cookie}"
    );
    for flag in ["HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    cookie.split(';').next().unwrap().to_owned()
}

async fn the_code_flow(fx: &Fixture, sink: &SmtpSink) {
    let link = identified(fx, &["@client.test"], json!({})).await;
    let browser = fx.app.browser();
    let (status, html) = page(fx, &browser, &link.path).await;
    assert_eq!(status, 200);
    assert!(is_email_form(&html), "{html}");
    assert!(html.contains("@client.test"), "the allowed domain is said");
    assert!(
        !html.contains("Sales"),
        "nothing about the dashboard before the code"
    );
    for path in [
        format!("{}/widgets/total", link.path),
        format!("{}/live", link.path),
    ] {
        let response = fx.get_from(&browser, &path, IP).await;
        assert!(
            response.status() == 404
                || response
                    .text()
                    .await
                    .unwrap()
                    .contains("\"reason\":\"password\""),
            "{path} opens nothing before the code"
        );
    }

    confirm(fx, sink, &browser, &link, "Ann@Client.test").await;
    let (status, html) = page(fx, &browser, &link.path).await;
    assert_eq!(status, 200);
    assert!(is_dashboard(&html));
    assert_eq!(
        fx.get_from(&browser, &format!("{}/widgets/total", link.path), IP)
            .await
            .status(),
        200
    );

    let events = events(fx, &link).await;
    let outcomes: Vec<&str> = events.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(outcomes, ["code_sent", "confirmed", "ok"], "{events:?}");
    assert_eq!(events[0].1, None, "an address merely typed is not recorded");
    assert_eq!(events[1].1.as_deref(), Some("ann@client.test"));
    assert_eq!(events[2].1.as_deref(), Some("ann@client.test"));

    let viewers = fx
        .api_send(
            reqwest::Method::GET,
            &format!("/api/v1/links/{}/viewers", link.id),
            None,
        )
        .await;
    assert_eq!(viewers.as_array().unwrap().len(), 1, "{viewers}");
    assert_eq!(viewers[0]["email"], "ann@client.test");
    assert_eq!(viewers[0]["views"], 1);

    // Nothing secret in the store: the code is a keyed hash, and the outbox row is scrubbed
    // once the message left.
    let workspace = fx
        .app
        .state
        .store
        .default_workspace()
        .await
        .unwrap()
        .unwrap();
    let code = code_of(&sink.messages().await[0]);
    let mut scrubbed = false;
    for _ in 0..50 {
        let rows = fx
            .app
            .state
            .store
            .mails_about(workspace.id, "view_code", &format!("link:{}", link.id))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        if !rows[0].body_text.contains(&code) && !rows[0].body_html.contains(&code) {
            scrubbed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(scrubbed, "the code stayed in the outbox");
}

#[tokio::test]
async fn a_viewer_confirms_an_address_by_code_and_views_and_the_owner_sees_who() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    the_code_flow(&fx, &sink).await;

    // The owner's pages name the viewer.
    let (owner, _) = fx.app.signed_in("admin@example.com").await;
    let links = fx
        .api_send(reqwest::Method::GET, "/api/v1/links", None)
        .await;
    let id = links[0]["id"].as_str().unwrap();
    let analytics = owner
        .get(fx.app.url(&format!("/links/{id}/analytics")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(analytics.contains("Who viewed") && analytics.contains("ann@client.test"));
    let share = owner
        .get(fx.app.url(&format!("/dashboards/{}/share", fx.sales)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(share.contains("e-mail confirmed") && share.contains("ann@client.test"));
}

#[tokio::test]
async fn the_code_flow_works_on_postgres() {
    let Some(db) = PgDatabase::create("identified::the_code_flow_works_on_postgres").await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, Some(db.url.clone())).await;
    the_code_flow(&fx, &sink).await;
    drop(fx);
    db.drop_now().await;
}

#[tokio::test]
async fn a_code_works_once_and_not_after_ten_minutes() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    let link = identified(&fx, &[], json!({})).await;
    let first = fx.app.browser();
    assert_eq!(
        ask_code(&fx, &first, &link, "bo@anywhere.test")
            .await
            .status(),
        200
    );
    let code = code_of(&sink.wait_for(1).await[0]);
    assert_eq!(
        type_code(&fx, &first, &link, "bo@anywhere.test", &code)
            .await
            .status(),
        303
    );
    // The same code from another browser: used.
    let second = fx.app.browser();
    let again = type_code(&fx, &second, &link, "bo@anywhere.test", &code).await;
    assert_eq!(again.status(), 401);
    assert!(again.headers().get("set-cookie").is_none());
    assert!(again.text().await.unwrap().contains("already used"));
    assert!(is_email_form(&page(&fx, &second, &link.path).await.1));

    // A fresh code, typed sixteen minutes later (past the send window too): expired.
    assert_eq!(
        ask_code(&fx, &second, &link, "bo@anywhere.test")
            .await
            .status(),
        200
    );
    let code = code_of(&sink.wait_for(2).await[1]);
    fx.app.clock.advance(Duration::minutes(16));
    let late = type_code(&fx, &second, &link, "bo@anywhere.test", &code).await;
    assert_eq!(late.status(), 401);
    assert!(late.text().await.unwrap().contains("expired"));
    assert!(is_email_form(&page(&fx, &second, &link.path).await.1));

    // A newer code retires the older one.
    ask_code(&fx, &second, &link, "bo@anywhere.test").await;
    let older = code_of(&sink.wait_for(3).await[2]);
    ask_code(&fx, &second, &link, "bo@anywhere.test").await;
    let newer = code_of(&sink.wait_for(4).await[3]);
    if older != newer {
        let stale = type_code(&fx, &second, &link, "bo@anywhere.test", &older).await;
        assert_eq!(stale.status(), 401);
    }
    assert_eq!(
        type_code(&fx, &second, &link, "bo@anywhere.test", &newer)
            .await
            .status(),
        303
    );
}

async fn wrong_codes_are_throttled(fx: &Fixture, sink: &SmtpSink) {
    let link = identified(fx, &[], json!({})).await;
    let client = fx.app.api();
    assert_eq!(
        ask_code(fx, &client, &link, "cy@anywhere.test")
            .await
            .status(),
        200
    );
    let code = code_of(&sink.wait_for(1).await[0]);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let responses =
        join_all((0..30).map(|_| type_code(fx, &client, &link, "cy@anywhere.test", wrong))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(evaluated <= 5, "{evaluated} evaluated: {statuses:?}");
    assert_eq!(evaluated + refused, 30, "{statuses:?}");
    assert!(
        responses
            .iter()
            .filter(|r| r.status() == 429)
            .all(|r| r.headers().contains_key("retry-after"))
    );
    let events = events(fx, &link).await;
    assert!(count(&events, "bad_code") <= 5, "{events:?}");
    assert_eq!(count(&events, "rate_limited"), refused, "{events:?}");
    // Even the right code waits now: guessing cannot go on past the limit.
    assert_eq!(
        type_code(fx, &client, &link, "cy@anywhere.test", &code)
            .await
            .status(),
        429
    );
    fx.app.clock.advance(Duration::minutes(16));
    // Fifteen minutes on, the code itself has expired: a new one is needed, and works.
    ask_code(fx, &client, &link, "cy@anywhere.test").await;
    let fresh = code_of(&sink.wait_for(2).await[1]);
    assert_eq!(
        type_code(fx, &client, &link, "cy@anywhere.test", &fresh)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn thirty_simultaneous_wrong_codes_evaluate_at_most_five() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    wrong_codes_are_throttled(&fx, &sink).await;
}

#[tokio::test]
async fn thirty_simultaneous_wrong_codes_evaluate_at_most_five_on_postgres() {
    let Some(db) = PgDatabase::create(
        "identified::thirty_simultaneous_wrong_codes_evaluate_at_most_five_on_postgres",
    )
    .await
    else {
        return;
    };
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, Some(db.url.clone())).await;
    wrong_codes_are_throttled(&fx, &sink).await;
    drop(fx);
    db.drop_now().await;
}

#[tokio::test]
async fn codes_sent_are_limited_per_address_so_the_form_cannot_spam() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    let link = identified(&fx, &[], json!({})).await;
    let client = fx.app.api();
    for _ in 0..3 {
        assert_eq!(
            ask_code(&fx, &client, &link, "dee@anywhere.test")
                .await
                .status(),
            200
        );
    }
    let fourth = ask_code(&fx, &client, &link, "dee@anywhere.test").await;
    assert_eq!(fourth.status(), 429);
    assert!(fourth.headers().contains_key("retry-after"));
    // Simultaneous requests for one victim's address cannot slip past the limit either.
    let responses =
        join_all((0..20).map(|_| ask_code(&fx, &client, &link, "eve@anywhere.test"))).await;
    let sent = responses.iter().filter(|r| r.status() == 200).count();
    assert_eq!(
        sent,
        3,
        "{:?}",
        responses.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let messages = sink.wait_for(6).await;
    assert_eq!(messages.len(), 6);
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.to == ["<eve@anywhere.test>"])
            .count(),
        3
    );
}

#[tokio::test]
async fn only_addresses_of_an_allowed_domain_itself_get_a_code() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    let link = identified(&fx, &["@client.test"], json!({})).await;
    let client = fx.app.api();
    for refused in [
        "mallory@evil.test",
        "x@client.test.evil.test",
        "x@eu.client.test",
        "x@evilclient.test",
    ] {
        let response = ask_code(&fx, &client, &link, refused).await;
        assert_eq!(response.status(), 403, "{refused}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("This address cannot view this dashboard"),
            "{refused}"
        );
        assert!(is_email_form(&html));
    }
    for injected in [
        "ann@client.test\r\nBcc: mallory@evil.test",
        "ann@client.test\nBcc: mallory@evil.test",
        "Ann <ann@client.test>, mallory@evil.test",
        "ann@client.test%0d%0aBcc:mallory@evil.test",
        "",
    ] {
        let response = ask_code(&fx, &client, &link, injected).await;
        assert!(
            response.status() == 400 || response.status() == 403,
            "{injected:?}: {}",
            response.status()
        );
    }
    // A code typed for a refused address is refused without being looked at.
    let typed = type_code(&fx, &client, &link, "mallory@evil.test", "123456").await;
    assert_eq!(typed.status(), 403);
    assert!(typed.headers().get("set-cookie").is_none());

    assert_eq!(
        ask_code(&fx, &client, &link, "ann@client.test")
            .await
            .status(),
        200
    );
    let messages = sink.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let messages = if messages.len() == 1 {
        sink.messages().await
    } else {
        messages
    };
    assert_eq!(messages.len(), 1, "only the allowed address got mail");
    assert_eq!(messages[0].to, ["<ann@client.test>"]);
    let raw = String::from_utf8_lossy(&messages[0].data);
    assert!(!raw.to_ascii_lowercase().contains("bcc"), "{raw}");
    let events = events(&fx, &link).await;
    assert!(count(&events, "email_refused") >= 5, "{events:?}");
}

#[tokio::test]
async fn the_viewer_cookie_dies_with_rotate_disable_and_a_change_of_domains() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    let link = identified(&fx, &["client.test"], json!({})).await;
    let browser = fx.app.browser();
    confirm(&fx, &sink, &browser, &link, "ann@client.test").await;
    assert!(is_dashboard(&page(&fx, &browser, &link.path).await.1));

    fx.act(&link, "disable").await;
    let enabled = fx.act(&link, "enable").await;
    assert!(
        is_email_form(&page(&fx, &browser, &enabled.path).await.1),
        "disable killed the cookie"
    );

    confirm(&fx, &sink, &browser, &link, "ann@client.test").await;
    assert!(is_dashboard(&page(&fx, &browser, &link.path).await.1));
    let rotated = fx.act(&link, "rotate").await;
    assert!(
        is_email_form(&page(&fx, &browser, &rotated.path).await.1),
        "rotate killed the cookie"
    );

    confirm(&fx, &sink, &browser, &rotated, "ann@client.test").await;
    assert!(is_dashboard(&page(&fx, &browser, &rotated.path).await.1));
    fx.api_send(
        reqwest::Method::PATCH,
        &format!("/api/v1/links/{}", link.id),
        Some(json!({ "access": { "confirm_email": true, "email_domains": ["client.test", "partner.test"] } })),
    )
    .await;
    assert!(
        is_email_form(&page(&fx, &browser, &rotated.path).await.1),
        "a change of the allowed domains killed the cookie"
    );
}

#[tokio::test]
async fn another_links_viewer_cookie_opens_nothing_here() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    let mine = identified(&fx, &[], json!({ "label": "Mine" })).await;
    let theirs = identified(&fx, &[], json!({ "label": "Theirs" })).await;
    let browser = fx.app.browser();
    let cookie = confirm(&fx, &sink, &browser, &mine, "ann@client.test").await;
    let value = cookie.split_once('=').unwrap().1;
    for forged in [
        format!("vitrine_viewer_{}={value}", theirs.id),
        format!("vitrine_viewer_{}={value}x", mine.id),
        format!("vitrine_viewer_{}=", theirs.id),
    ] {
        let response = fx
            .app
            .api()
            .get(fx.app.url(&theirs.path))
            .header("cookie", &forged)
            .send()
            .await
            .unwrap();
        assert!(is_email_form(&response.text().await.unwrap()), "{forged}");
    }
    let (_, html) = page(&fx, &browser, &theirs.path).await;
    assert!(is_email_form(&html), "a confirmation is per link");
}

#[tokio::test]
async fn sql_and_script_in_the_address_are_inert() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    let link = identified(&fx, &[], json!({})).await;
    let client = fx.app.api();
    let script = ask_code(&fx, &client, &link, "\"><script>alert(1)</script>@x.test").await;
    assert_eq!(script.status(), 400);
    let html = script.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"), "echoed unescaped");

    let browser = fx.app.browser();
    let sql = "o'brien+'or'1'='1@client.test";
    confirm(&fx, &sink, &browser, &link, sql).await;
    assert!(is_dashboard(&page(&fx, &browser, &link.path).await.1));
    let viewers = fx
        .api_send(
            reqwest::Method::GET,
            &format!("/api/v1/links/{}/viewers", link.id),
            None,
        )
        .await;
    assert_eq!(viewers[0]["email"], sql);
    let (owner, _) = fx.app.signed_in("admin@example.com").await;
    let analytics = owner
        .get(fx.app.url(&format!("/links/{}/analytics", link.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!analytics.contains(sql), "the quote is escaped in HTML");
    assert!(analytics.contains("o&#39;brien") || analytics.contains("o&#x27;brien"));
}

#[tokio::test]
async fn with_a_password_too_both_are_required_and_no_code_goes_out_before_the_password() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    let link = identified(&fx, &[], json!({ "password": "open sesame 2026" })).await;
    let browser = fx.app.browser();
    let (_, html) = page(&fx, &browser, &link.path).await;
    assert!(html.contains("Password required"));
    let early = ask_code(&fx, &browser, &link, "ann@client.test").await;
    assert_eq!(early.status(), 401);
    assert!(early.text().await.unwrap().contains("Password required"));
    let unlocked = fx.unlock(&browser, &link, "open sesame 2026", IP).await;
    assert_eq!(unlocked.status(), 303);
    assert!(is_email_form(&page(&fx, &browser, &link.path).await.1));
    confirm(&fx, &sink, &browser, &link, "ann@client.test").await;
    assert!(is_dashboard(&page(&fx, &browser, &link.path).await.1));
    assert_eq!(
        sink.messages().await.len(),
        1,
        "no mail before the password"
    );
    // The viewer cookie alone (without the unlock cookie) opens nothing.
    let viewer_only = fx.app.browser();
    let cookie = confirm_cookie_of(&fx, &sink, &link, "bo@client.test").await;
    let response = viewer_only
        .get(fx.app.url(&link.path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("Password required"));
}

/// Unlocks in a fresh browser, confirms `email` and returns only the viewer cookie.
async fn confirm_cookie_of(fx: &Fixture, sink: &SmtpSink, link: &Link, email: &str) -> String {
    let browser = fx.app.browser();
    fx.unlock(&browser, link, "open sesame 2026", IP).await;
    confirm(fx, sink, &browser, link, email).await
}

#[tokio::test]
async fn a_cross_site_post_cannot_ask_for_or_type_a_code() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    let link = identified(&fx, &[], json!({})).await;
    for path in [
        format!("{}/confirm", link.path),
        format!("{}/verify", link.path),
    ] {
        let response = fx
            .app
            .api()
            .post(fx.app.url(&path))
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://evil.example")
            .form(&[("email", "ann@client.test"), ("code", "123456")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
        assert!(response.headers().get("set-cookie").is_none());
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(sink.messages().await.is_empty());
}

#[tokio::test]
async fn the_api_and_the_form_refuse_domains_without_confirmation_and_bad_domains() {
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    for access in [
        json!({ "email_domains": ["client.test"] }),
        json!({ "confirm_email": true, "email_domains": ["not a domain"] }),
        json!({ "confirm_email": true, "email_domains": ["client.test\r\nBcc: x"] }),
    ] {
        let response = fx
            .app
            .api()
            .post(fx.app.url("/api/v1/links"))
            .bearer_auth(&fx.key)
            .json(&json!({ "dashboard_id": fx.sales, "label": "X", "access": access }))
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == 400 || response.status() == 422,
            "{access}: {}",
            response.status()
        );
    }
    let link = identified(&fx, &["@Client.TEST"], json!({})).await;
    let shown = fx
        .api_send(
            reqwest::Method::GET,
            &format!("/api/v1/links/{}", link.id),
            None,
        )
        .await;
    assert_eq!(shown["settings"]["access"]["confirm_email"], true);
    assert_eq!(
        shown["settings"]["access"]["email_domains"],
        json!(["@client.test"])
    );
    let audit = fx
        .api_send(reqwest::Method::GET, "/api/v1/audit-events?limit=5", None)
        .await;
    assert!(
        audit.to_string().contains("\"confirm_email\":true"),
        "{audit}"
    );
}

/// In real Chromium: the address form and the code form fit a desktop and a 390 px phone
/// without sideways scrolling or CSP violations, and typing the mailed code opens the
/// dashboard. Screenshots: `target/screenshots/identified-*.png`.
#[tokio::test]
async fn in_a_browser_the_email_and_code_forms_work_on_a_phone() {
    let Some(browser) = crate::browser::Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let fx = fixture_mailing(&sink, None).await;
    let link = identified(&fx, &["@client.test"], json!({})).await;
    let no_sideways_scroll = "return document.documentElement.scrollWidth <= innerWidth";
    for (device, width, height) in [("desktop", 1400, 900), ("phone", 390, 844)] {
        browser.set_viewport(width, height).await;
        browser.goto(&fx.app.url(&link.path)).await;
        browser.wait_for("input[name='email']").await;
        browser
            .screenshot(&format!("identified-email-{device}"))
            .await;
        assert_eq!(browser.js(no_sideways_scroll).await, true, "{device}");
    }
    let email = browser.wait_for("input[name='email']").await;
    email.send_keys("ann@client.test").await.unwrap();
    browser
        .wait_for("form button.primary")
        .await
        .click()
        .await
        .unwrap();
    let code_input = browser.wait_for("input[name='code']").await;
    browser.screenshot("identified-code-phone").await;
    assert_eq!(browser.js(no_sideways_scroll).await, true);
    let code = code_of(&sink.wait_for(1).await[0]);
    code_input.send_keys(&code).await.unwrap();
    browser.set_viewport(1400, 900).await;
    browser.screenshot("identified-code-desktop").await;
    browser
        .wait_for("form button.primary")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for("[data-dashboard]").await;
    browser.wait_for("[data-widget]").await;
    assert!(browser.csp_violations().await.is_empty());
    browser.close().await;
}

/// Inside an allowed iframe behind https the viewer cookie must be sent cross-site: it is
/// `SameSite=None; Secure` there, like the unlock cookie, and `Lax` on links that cannot be
/// framed.
#[tokio::test]
async fn behind_https_an_embeddable_links_viewer_cookie_works_in_an_iframe() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let fx = fixture_with(move |c| {
        c.mail.smtp_url = Some(url);
        c.public_base_url = Some("https://share.example.com".to_owned());
    })
    .await;
    for (embed, same_site) in [(true, "SameSite=None"), (false, "SameSite=Lax")] {
        let origins: Vec<&str> = if embed {
            vec!["https://portal.example.com"]
        } else {
            vec![]
        };
        let link = identified(
            &fx,
            &[],
            json!({ "embed": { "allowed": embed, "origins": origins } }),
        )
        .await;
        let client = fx.app.api();
        let before = sink.messages().await.len();
        let asked = ask_code(&fx, &client, &link, "ann@client.test").await;
        assert_eq!(asked.status(), 200);
        if embed {
            let csp = asked.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                csp.contains("frame-ancestors https://portal.example.com"),
                "{csp}"
            );
        }
        let code = code_of(&sink.wait_for(before + 1).await[before]);
        let done = type_code(&fx, &client, &link, "ann@client.test", &code).await;
        assert_eq!(done.status(), 303);
        let cookie = done.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.contains(same_site) && cookie.contains("Secure"),
            "{cookie}"
        );
    }
}

/// Guessing one person's code from many addresses: the per-address limit holds whoever asks.
#[tokio::test]
async fn wrong_codes_for_one_address_from_many_clients_are_throttled_too() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let fx = fixture_with(move |c| {
        c.mail.smtp_url = Some(url);
        crate::helpers::trust_client_header(c);
    })
    .await;
    let link = identified(&fx, &[], json!({})).await;
    let client = fx.app.api();
    assert_eq!(
        ask_code(&fx, &client, &link, "ann@client.test")
            .await
            .status(),
        200
    );
    let code = code_of(&sink.wait_for(1).await[0]);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut statuses = Vec::new();
    for i in 1..=8 {
        let response = client
            .post(fx.app.url(&format!("{}/verify", link.path)))
            .header(crate::helpers::CLIENT_HEADER, format!("203.0.113.{i}"))
            .form(&[("email", "ann@client.test"), ("code", wrong)])
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    // Another person's code on the same link is still checked.
    let other = client
        .post(fx.app.url(&format!("{}/verify", link.path)))
        .header(crate::helpers::CLIENT_HEADER, "203.0.113.50")
        .form(&[("email", "bo@client.test"), ("code", wrong)])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);
}
