//! The owner UI of scheduled reports, driven like a browser (session cookie + CSRF form field,
//! no redirects followed): the form creates, edits, pauses and resumes a schedule; "Send now"
//! reaches the SMTP sink and "Send a test to me" reaches only the caller; the run history
//! shows a failing recipient's error to admins only; viewers are refused; names are escaped.

use mail_parser::MimeHeaders as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use vitrine_app::reports;
use vitrine_core::member::{Permissions, Role};

use crate::public::{Fixture, fixture_with};
use crate::reports::Receiver;
use crate::sink::SmtpSink;

const ADMIN: &str = "admin@example.com";
const EDITOR: &str = "editor@example.com";
const VIEWER: &str = "viewer@example.com";
const NAME: &str = "Morning <script>alert(1)</script>";

async fn post_form(
    fx: &Fixture,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(fx.app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap()
}

async fn page(fx: &Fixture, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let response = client.get(fx.app.url(path)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The id in a redirect to `/reports/{id}?done=…`.
fn report_id(location: &str) -> i64 {
    let rest = location.strip_prefix("/reports/").expect(location);
    rest.split('?').next().unwrap().parse().expect(location)
}

#[tokio::test]
async fn a_report_is_created_edited_paused_and_sent_through_the_pages() {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let fx = fixture_with(move |c| {
        c.mail.smtp_url = Some(smtp);
        c.mail.from = "Vitrine <reports@vitrine.test>".into();
    })
    .await;
    let (client, csrf) = fx.app.signed_in(ADMIN).await;

    // The nav links the Reports page; the dashboard page lists none yet and offers one.
    let (status, html) = page(&fx, &client, "/reports").await;
    assert_eq!(status, 200);
    assert!(html.contains("No reports yet"), "{html}");
    let new = format!("/dashboards/{}/reports/new", fx.sales);
    assert!(html.contains(&new));
    let (_, dash) = page(&fx, &client, &format!("/dashboards/{}", fx.sales)).await;
    assert!(
        dash.contains("Scheduled reports") && dash.contains(&new),
        "{dash}"
    );

    // The new form: runs as the caller, a server-computed preview in its zone (UTC by default;
    // the test clock is 2026-11-23 12:00 UTC, so 09:00 daily is next at 2026-11-24 09:00).
    let (status, html) = page(&fx, &client, &new).await;
    assert_eq!(status, 200);
    assert!(html.contains("Runs as you"), "{html}");
    assert!(
        html.contains("<time datetime=\"2026-11-24T09:00:00Z\">2026-11-24 09:00 UTC</time>"),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"Europe/Berlin\">"),
        "zones are offered"
    );
    assert!(
        !html.contains("<script>alert(1)"),
        "the dashboard title is escaped"
    );

    // A bad submission comes back with the problem and the values kept (escaped).
    let action = format!("/dashboards/{}/reports", fx.sales);
    let bad = post_form(
        &fx,
        &client,
        &action,
        &[
            ("csrf_token", &csrf),
            ("name", NAME),
            ("kind", "weekly"),
            ("at", "08:30"),
            ("zone", "Europe/Berlin"),
            ("emails", ""),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 400);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("Choose at least one day of the week."),
        "{html}"
    );
    assert!(html.contains("Add at least one recipient"), "{html}");
    assert!(
        html.contains("value=\"Morning &#60;script&#62;alert(1)&#60;/script&#62;\"")
            || html.contains("value=\"Morning &lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"));
    assert!(
        html.contains("<option value=\"Europe/Berlin\" selected>"),
        "zone kept"
    );

    // The service's own refusal (an unknown address shape) also comes back on the form.
    let bad = post_form(
        &fx,
        &client,
        &action,
        &[
            ("csrf_token", &csrf),
            ("name", NAME),
            ("kind", "daily"),
            ("at", "09:00"),
            ("zone", "Europe/Berlin"),
            ("emails", "not-an-address"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 400);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Recipients:"), "{html}");
    assert!(html.contains("not-an-address"), "value kept: {html}");

    // Without the CSRF token: refused.
    let forged = post_form(
        &fx,
        &client,
        &action,
        &[
            ("name", "x"),
            ("kind", "daily"),
            ("at", "09:00"),
            ("zone", "UTC"),
            ("emails", "a@b.test"),
        ],
    )
    .await;
    assert_eq!(forged.status(), 403);

    // Created: a daily 09:00 Berlin report with a fixed region, CSV and every content.
    let created = post_form(
        &fx,
        &client,
        &action,
        &[
            ("csrf_token", &csrf),
            ("name", NAME),
            ("target", ""),
            ("kind", "daily"),
            ("at", "09:00"),
            ("zone", "Europe/Berlin"),
            ("emails", "ann@acme.test"),
            ("pdf", "on"),
            ("png", "on"),
            ("live_link", "on"),
            ("csv", "by-region"),
            ("mode.region", "locked"),
            ("lock.region", "EMEA"),
            ("mode.plan", "open"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(created.status(), 303, "{}", created.text().await.unwrap());
    let to = location(&created);
    assert!(to.ends_with("?done=created"), "{to}");
    let id = report_id(&to);
    let saved: Value = fx
        .api_send(reqwest::Method::GET, &format!("/api/v1/reports/{id}"), None)
        .await;
    assert_eq!(saved["name"], NAME);
    assert_eq!(
        saved["frequency"],
        json!({ "kind": "daily", "at": "09:00" })
    );
    assert_eq!(saved["zone"], "Europe/Berlin");
    assert_eq!(saved["filters"], json!({ "region": "EMEA" }));
    assert_eq!(saved["contents"]["csv"], json!(["by-region"]));
    assert_eq!(
        saved["recipients"],
        json!([{ "kind": "email", "address": "ann@acme.test" }])
    );
    assert_eq!(saved["enabled"], true);

    // Its page: the notice, the preview in its zone, who it runs as, the fixed value refilled.
    let (status, html) = page(&fx, &client, &to).await;
    assert_eq!(status, 200);
    assert!(html.contains("Schedule created."), "{html}");
    assert!(html.contains("2026-11-24 09:00 CET"), "{html}");
    assert!(
        html.contains("Runs as admin@example.com") || html.contains("Runs as "),
        "{html}"
    );
    assert!(
        html.contains("name=\"lock.region\" value=\"EMEA\""),
        "{html}"
    );
    assert!(
        !html.contains("<script>alert(1)"),
        "the report's name is escaped"
    );

    // The live link is a share link made for the report, locked like it.
    let link_id = saved["contents"]["live_link_id"]
        .as_str()
        .expect("a share link")
        .to_owned();
    let link = fx
        .api_send(
            reqwest::Method::GET,
            &format!("/api/v1/links/{link_id}"),
            None,
        )
        .await;
    assert_eq!(link["label"], format!("Report: {NAME}"));
    assert_eq!(
        link["settings"]["locked_filters"],
        json!({ "region": "EMEA" })
    );
    let url = link["url"].as_str().unwrap();
    assert!(
        html.contains(&format!("Live link: <code class=\"url\">{url}</code>")),
        "{html}"
    );
    assert!(
        html.contains(&format!("<option value=\"{link_id}\" selected>")),
        "{html}"
    );

    // Edited: weekly on Monday and Friday at 08:30.
    let edited = post_form(
        &fx,
        &client,
        &format!("/reports/{id}"),
        &[
            ("csrf_token", &csrf),
            ("name", NAME),
            ("kind", "weekly"),
            ("days", "mon"),
            ("days", "fri"),
            ("at", "08:30"),
            ("zone", "Europe/Berlin"),
            ("emails", "ann@acme.test"),
            ("pdf", "on"),
            ("live_link", "on"),
            ("live_link_id", &link_id),
            ("mode.region", "locked"),
            ("lock.region", "EMEA"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(edited.status(), 303);
    assert_eq!(location(&edited), format!("/reports/{id}?done=saved"));
    let saved = fx
        .api_send(reqwest::Method::GET, &format!("/api/v1/reports/{id}"), None)
        .await;
    assert_eq!(
        saved["frequency"],
        json!({ "kind": "weekly", "days": ["mon", "fri"], "at": "08:30" })
    );
    assert_eq!(saved["contents"]["png"], false);
    assert_eq!(saved["next_local"][0], "2026-11-27 08:30 CET", "Friday");

    // Paused, then resumed, by its buttons.
    let paused = post_form(
        &fx,
        &client,
        &format!("/reports/{id}/pause"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(paused.status(), 303);
    let saved = fx
        .api_send(reqwest::Method::GET, &format!("/api/v1/reports/{id}"), None)
        .await;
    assert_eq!(saved["enabled"], false);
    let (_, list) = page(&fx, &client, "/reports").await;
    assert!(
        list.contains("paused") && list.contains("Weekly on Mon, Fri at 08:30"),
        "{list}"
    );
    assert!(!list.contains("<script>alert(1)"));
    let resumed = post_form(
        &fx,
        &client,
        &format!("/reports/{id}/resume"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(resumed.status(), 303);
    let saved = fx
        .api_send(reqwest::Method::GET, &format!("/api/v1/reports/{id}"), None)
        .await;
    assert_eq!(saved["enabled"], true);

    // The dashboard page lists it.
    let (_, dash) = page(&fx, &client, &format!("/dashboards/{}", fx.sales)).await;
    assert!(dash.contains(&format!("href=\"/reports/{id}\"")), "{dash}");

    // "Send now": rendered at once, delivered to the SMTP sink on the next delivery pass.
    let sent = post_form(
        &fx,
        &client,
        &format!("/reports/{id}/send"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(sent.status(), 303);
    assert!(
        location(&sent).contains("done=sent&run="),
        "{}",
        location(&sent)
    );
    reports::deliver::drain(&fx.app.state).await.unwrap();
    let received = sink.wait_for(1).await;
    assert_eq!(received[0].to, vec!["<ann@acme.test>".to_owned()]);
    let text = received[0].parsed().body_text(0).unwrap().to_string();
    assert!(
        text.contains(url),
        "the live link is the share link: {text}"
    );
    assert!(
        !text.contains("/dashboards/"),
        "never the members' page: {text}"
    );
    assert!(
        received[0]
            .parsed()
            .attachments()
            .any(|a| a.attachment_name().is_some_and(|n| n.ends_with(".pdf")))
    );

    // "Send a test to me": only the caller. (A manual run's slot is the current millisecond:
    // the test clock stands still, so move it on.)
    fx.app.clock.advance(time::Duration::seconds(1));
    let tested = post_form(
        &fx,
        &client,
        &format!("/reports/{id}/test"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(tested.status(), 303);
    let (_, html) = page(&fx, &client, &location(&tested)).await;
    assert!(
        html.contains("queued a test to admin@example.com"),
        "{html}"
    );
    reports::deliver::drain(&fx.app.state).await.unwrap();
    let received = sink.wait_for(2).await;
    assert_eq!(received[1].to, vec![format!("<{ADMIN}>")]);
    assert_eq!(sink.transactions(), 2, "nobody else got the test");

    // Deleted.
    let deleted = post_form(
        &fx,
        &client,
        &format!("/reports/{id}/delete"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    let (status, _) = page(&fx, &client, &format!("/reports/{id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_run_history_shows_a_failing_recipients_error_to_admins_only() {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let receiver = Receiver::start().await;
    receiver.fail("/hook", 400).await;
    let fx = fixture_with(move |c| c.mail.smtp_url = Some(smtp)).await;
    fx.app
        .member(EDITOR, Role::Editor, Permissions::default())
        .await;
    let created = fx
        .api_send(
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(json!({
                "dashboard_id": fx.sales, "name": "Nightly", "zone": "UTC",
                "frequency": { "kind": "daily", "at": "02:00" },
                "recipients": [
                    { "kind": "email", "address": "ann@acme.test" },
                    { "kind": "webhook", "url": receiver.url("/hook"), "secret": "a shared secret of enough length" }
                ],
                "contents": { "png": false }
            })),
        )
        .await;
    let id = created["id"].as_i64().unwrap();

    let (admin, csrf) = fx.app.signed_in(ADMIN).await;
    let sent = post_form(
        &fx,
        &admin,
        &format!("/reports/{id}/send"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(sent.status(), 303);
    reports::deliver::drain(&fx.app.state).await.unwrap();
    sink.wait_for(1).await;

    let (status, html) = page(&fx, &admin, &format!("/reports/{id}/runs")).await;
    assert_eq!(status, 200);
    assert!(html.contains("ann@acme.test"), "{html}");
    assert!(html.contains(">sent<"), "{html}");
    assert!(html.contains(">failed<"), "{html}");
    assert!(
        html.contains("HTTP 400"),
        "the receiver's refusal is shown: {html}"
    );
    assert!(
        !html.contains("/hook"),
        "a webhook shows its origin only: {html}"
    );

    // An editor may send and edit, but not read the history.
    let (editor, _) = fx.app.signed_in(EDITOR).await;
    let (status, _) = page(&fx, &editor, &format!("/reports/{id}")).await;
    assert_eq!(status, 200);
    let (status, html) = page(&fx, &editor, &format!("/reports/{id}/runs")).await;
    assert_eq!(status, 403);
    assert!(!html.contains("HTTP 400"));
}

#[tokio::test]
async fn viewers_are_refused_and_unknown_reports_are_not_found() {
    let fx = fixture_with(|_| {}).await;
    fx.app
        .member(VIEWER, Role::Viewer, Permissions::default())
        .await;
    let created = fx
        .api_send(
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(json!({
                "dashboard_id": fx.sales, "name": "Nightly", "zone": "UTC",
                "frequency": { "kind": "daily", "at": "02:00" },
                "recipients": [{ "kind": "email", "address": "ann@acme.test" }]
            })),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let (viewer, csrf) = fx.app.signed_in(VIEWER).await;
    for path in [
        "/reports".to_owned(),
        format!("/reports/{id}"),
        format!("/reports/{id}/runs"),
        format!("/dashboards/{}/reports/new", fx.sales),
    ] {
        let (status, html) = page(&fx, &viewer, &path).await;
        assert_eq!(status, 403, "{path}");
        assert!(!html.contains("ann@acme.test"), "{path}");
    }
    for path in [
        format!("/reports/{id}/send"),
        format!("/reports/{id}/test"),
        format!("/reports/{id}/pause"),
        format!("/reports/{id}/delete"),
    ] {
        let response = post_form(&fx, &viewer, &path, &[("csrf_token", &csrf)]).await;
        assert_eq!(response.status(), 403, "{path}");
    }
    let (_, dash) = page(&fx, &viewer, &format!("/dashboards/{}", fx.sales)).await;
    assert!(
        !dash.contains("Scheduled reports"),
        "viewers see no reports section"
    );
    let (_, home) = page(&fx, &viewer, "/").await;
    assert!(!home.contains("href=\"/reports\""), "nor the nav link");

    let (admin, _) = fx.app.signed_in(ADMIN).await;
    let (status, _) = page(&fx, &admin, "/reports/999999").await;
    assert_eq!(status, 404);
    let (status, _) = page(&fx, &admin, "/dashboards/999999/reports/new").await;
    assert_eq!(status, 404);
    let (_, dash) = page(&fx, &admin, &format!("/dashboards/{}", fx.sales)).await;
    assert!(dash.contains("Scheduled reports"));
}

#[tokio::test]
async fn allowed_email_domains_are_set_by_admins_and_refuse_recipients_outside_them() {
    let fx = fixture_with(|_| {}).await;
    let editor = fx
        .app
        .member(EDITOR, Role::Editor, Permissions::default())
        .await;
    let editor_key = fx.app.api_key(&editor).await;
    let report = |address: &str| {
        json!({
            "dashboard_id": fx.sales, "name": "Nightly", "zone": "UTC",
            "frequency": { "kind": "daily", "at": "02:00" },
            "recipients": [{ "kind": "email", "address": address }],
            "contents": { "live_link": false }
        })
    };
    let post = |key: String, path: &'static str, body: Value| {
        let request = fx
            .app
            .api()
            .post(fx.app.url(path))
            .bearer_auth(key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    // No list: any domain.
    let domains = fx
        .api_send(reqwest::Method::GET, "/api/v1/reports/email-domains", None)
        .await;
    assert_eq!(domains, json!({ "domains": [] }));
    let (status, _) = post(
        editor_key.clone(),
        "/api/v1/reports",
        report("ann@anywhere.test"),
    )
    .await;
    assert_eq!(status, 201);

    // Editors may read the list but not change it.
    let response = fx
        .app
        .api()
        .put(fx.app.url("/api/v1/reports/email-domains"))
        .bearer_auth(&editor_key)
        .json(&json!({ "domains": ["acme.test"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // An admin sets it (normalised); an invalid name is refused in words.
    let saved = fx
        .api_send(
            reqwest::Method::PUT,
            "/api/v1/reports/email-domains",
            Some(json!({ "domains": ["@ACME.test", "acme.test", " partner.test "] })),
        )
        .await;
    assert_eq!(saved, json!({ "domains": ["acme.test", "partner.test"] }));
    let response = fx
        .app
        .api()
        .put(fx.app.url("/api/v1/reports/email-domains"))
        .bearer_auth(&fx.key)
        .json(&json!({ "domains": ["acme.test'; DROP TABLE workspaces; --"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not a domain name"),
        "{body}"
    );

    // A recipient outside: refused with a clear message; a subdomain is outside too.
    for outside in ["ann@anywhere.test", "ann@eu.acme.test"] {
        let (status, body) = post(editor_key.clone(), "/api/v1/reports", report(outside)).await;
        assert_eq!(status, 400, "{outside}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("is outside the workspace's allowed e-mail domains"),
            "{body}"
        );
    }
    let (status, _) = post(
        editor_key.clone(),
        "/api/v1/reports",
        report("Ann@ACME.test"),
    )
    .await;
    assert_eq!(status, 201, "case does not matter");

    // The form says the same, with the value kept.
    let (client, csrf) = fx.app.signed_in(EDITOR).await;
    let response = post_form(
        &fx,
        &client,
        &format!("/dashboards/{}/reports", fx.sales),
        &[
            ("csrf_token", &csrf),
            ("name", "Nightly"),
            ("kind", "daily"),
            ("at", "02:00"),
            ("zone", "UTC"),
            ("emails", "bob@elsewhere.test"),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("bob@elsewhere.test is outside the workspace"),
        "{html}"
    );

    // The settings page (admins) shows and sets the list; an empty list allows any address.
    let (admin, csrf) = fx.app.signed_in(ADMIN).await;
    let (status, html) = page(&fx, &admin, "/settings").await;
    assert_eq!(status, 200);
    assert!(html.contains("acme.test\npartner.test"), "{html}");
    let bad = post_form(
        &fx,
        &admin,
        "/settings/report-domains",
        &[
            ("csrf_token", &csrf),
            ("domains", "acme.test\n<script>x</script>"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 400);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Allowed e-mail domains:"), "{html}");
    assert!(!html.contains("<script>x"), "escaped");
    let cleared = post_form(
        &fx,
        &admin,
        "/settings/report-domains",
        &[("csrf_token", &csrf), ("domains", "")],
    )
    .await;
    assert_eq!(cleared.status(), 303);
    let domains = fx
        .api_send(reqwest::Method::GET, "/api/v1/reports/email-domains", None)
        .await;
    assert_eq!(domains, json!({ "domains": [] }));
    let (status, _) = post(
        editor_key.clone(),
        "/api/v1/reports",
        report("bob@elsewhere.test"),
    )
    .await;
    assert_eq!(status, 201, "empty list: any domain");
    let (editor_client, _) = (client, ());
    let (status, _) = page(&fx, &editor_client, "/settings").await;
    assert_eq!(status, 403, "the settings page is for admins");
}

#[tokio::test]
async fn a_disabled_live_link_is_shown_on_the_form_and_left_out_of_the_message() {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let fx = fixture_with(move |c| c.mail.smtp_url = Some(smtp)).await;
    let link = fx
        .api_send(
            reqwest::Method::POST,
            "/api/v1/links",
            Some(json!({ "dashboard_id": fx.sales, "label": "Board" })),
        )
        .await;
    let link_id = link["id"].as_str().unwrap().to_owned();
    let (admin, csrf) = fx.app.signed_in(ADMIN).await;
    // An existing link of the dashboard, chosen in the form.
    let created = post_form(
        &fx,
        &admin,
        &format!("/dashboards/{}/reports", fx.sales),
        &[
            ("csrf_token", &csrf),
            ("name", "Board pack"),
            ("kind", "daily"),
            ("at", "09:00"),
            ("zone", "UTC"),
            ("emails", "ann@acme.test"),
            ("live_link", "on"),
            ("live_link_id", &link_id),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(created.status(), 303);
    let id = report_id(&location(&created));
    let saved = fx
        .api_send(reqwest::Method::GET, &format!("/api/v1/reports/{id}"), None)
        .await;
    assert_eq!(
        saved["contents"]["live_link_id"],
        link_id.as_str(),
        "no new link"
    );

    // Another dashboard's link is refused.
    let other = fx
        .api_send(
            reqwest::Method::POST,
            "/api/v1/links",
            Some(json!({ "dashboard_id": fx.payroll, "label": "Payroll" })),
        )
        .await;
    let refused = post_form(
        &fx,
        &admin,
        &format!("/reports/{id}"),
        &[
            ("csrf_token", &csrf),
            ("name", "Board pack"),
            ("kind", "daily"),
            ("at", "09:00"),
            ("zone", "UTC"),
            ("emails", "ann@acme.test"),
            ("live_link", "on"),
            ("live_link_id", other["id"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Live link: no such share link of this dashboard."),
    );

    fx.api_send(
        reqwest::Method::POST,
        &format!("/api/v1/links/{link_id}/disable"),
        None,
    )
    .await;
    let (_, html) = page(&fx, &admin, &format!("/reports/{id}")).await;
    assert!(html.contains("The live link does not open:"), "{html}");
    assert!(html.contains("is disabled"), "{html}");

    let sent = post_form(
        &fx,
        &admin,
        &format!("/reports/{id}/send"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(sent.status(), 303);
    reports::deliver::drain(&fx.app.state).await.unwrap();
    let received = sink.wait_for(1).await;
    let parsed = received[0].parsed();
    let text = parsed.body_text(0).unwrap().to_string();
    let html = parsed.body_html(0).unwrap().to_string();
    assert!(
        !text.contains("/share/") && !html.contains("/share/"),
        "{text}"
    );
    assert!(
        !text.contains("/dashboards/") && !html.contains("Open the live dashboard"),
        "{html}"
    );
}

#[tokio::test]
async fn webhook_secrets_are_sealed_at_rest_never_shown_and_kept_when_left_empty() {
    let receiver = Receiver::start().await;
    let fx = fixture_with(|_| {}).await;
    let secret = "a shared secret of enough length";
    let body = |secret: &str| {
        json!({
            "dashboard_id": fx.sales, "name": "Hook", "zone": "UTC",
            "frequency": { "kind": "daily", "at": "02:00" },
            "recipients": [{ "kind": "webhook", "url": receiver.url("/hook"), "secret": secret }],
            "contents": { "png": false, "live_link": false }
        })
    };
    let created = fx
        .api_send(reqwest::Method::POST, "/api/v1/reports", Some(body(secret)))
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["recipients"][0]["secret"], "", "never shown");
    let stored = || async {
        let pool = fx.app.raw_sqlite().await;
        let row: (String,) = sqlx::query_as("SELECT recipients FROM report_schedules WHERE id = ?")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        row.0
    };
    let at_rest = stored().await;
    assert!(!at_rest.contains(secret), "{at_rest}");
    assert!(at_rest.contains("sealed:v1."), "{at_rest}");

    // Sent back empty through the API: kept.
    let updated = fx
        .api_send(
            reqwest::Method::PUT,
            &format!("/api/v1/reports/{id}"),
            Some(body("")),
        )
        .await;
    assert_eq!(updated["recipients"][0]["secret"], "");
    assert!(!stored().await.contains(secret));

    // Saved through the form with the URL alone: kept too.
    let (admin, csrf) = fx.app.signed_in(ADMIN).await;
    let (_, html) = page(&fx, &admin, &format!("/reports/{id}")).await;
    assert!(!html.contains(secret), "the form does not show it");
    let url = receiver.url("/hook");
    let saved = post_form(
        &fx,
        &admin,
        &format!("/reports/{id}"),
        &[
            ("csrf_token", &csrf),
            ("name", "Hook"),
            ("kind", "daily"),
            ("at", "02:00"),
            ("zone", "UTC"),
            ("webhooks", &url),
            ("pdf", "on"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);

    // The delivery is signed with the original secret.
    let sent = post_form(
        &fx,
        &admin,
        &format!("/reports/{id}/send"),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(sent.status(), 303);
    reports::deliver::drain(&fx.app.state).await.unwrap();
    let hits = receiver.hits("/hook").await;
    assert_eq!(hits.len(), 1);
    let header = hits[0].header("X-Vitrine-Signature").unwrap().to_owned();
    let t: i64 = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        header,
        reports::deliver::signature(secret, t, &hits[0].body)
    );

    // A new webhook without a secret is refused in words.
    let refused = post_form(
        &fx,
        &admin,
        &format!("/reports/{id}"),
        &[
            ("csrf_token", &csrf),
            ("name", "Hook"),
            ("kind", "daily"),
            ("at", "02:00"),
            ("zone", "UTC"),
            ("webhooks", &format!("{url}\n{}", receiver.url("/other"))),
        ],
    )
    .await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("write its secret after the URL")
    );
}

/// A Slack line with a channel and a bot token through the form: the token is sealed, never
/// drawn again (not even on a refused form), the saved one is kept by `URL CHANNEL`, replaced
/// by a new token and cleared by the URL alone; a line break cannot reach the header.
#[tokio::test]
async fn a_slack_bot_token_is_set_kept_replaced_and_cleared_in_the_form_and_never_drawn() {
    let fx = fixture_with(|_| {}).await;
    let (client, csrf) = fx.app.signed_in(ADMIN).await;
    let action = format!("/dashboards/{}/reports", fx.sales);
    let hook = "https://hooks.slack.test/services/T1/B1/abc";
    let fields = |slack: String| -> Vec<(&'static str, String)> {
        vec![
            ("csrf_token", csrf.clone()),
            ("name", "Slack pictures".into()),
            ("kind", "daily".into()),
            ("at", "09:00".into()),
            ("zone", "UTC".into()),
            ("slack", slack),
            ("png", "on".into()),
            ("enabled", "on".into()),
        ]
    };
    let send = |path: String, form: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = fx.app.url(&path);
        async move { client.post(url).form(&form).send().await.unwrap() }
    };

    // A token with a line break in it never becomes one token, and is not drawn back.
    let bad = send(
        action.clone(),
        fields(format!(
            "{hook} C0123ABCD xoxb-1-2-FIRSTsecret\rX-Injected: yes"
        )),
    )
    .await;
    assert_eq!(bad.status(), 400);
    let html = bad.text().await.unwrap();
    assert!(!html.contains("FIRSTsecret"), "{html}");
    let no_channel = send(action.clone(), fields(format!("{hook} C0123ABCD"))).await;
    assert_eq!(no_channel.status(), 400, "a channel without a token");

    let created = send(
        action.clone(),
        fields(format!("{hook} C0123ABCD xoxb-1-2-FIRSTsecret")),
    )
    .await;
    assert_eq!(created.status(), 303);
    let id = report_id(&location(&created));
    let token_of = |id: i64| {
        let state = fx.app.state.clone();
        async move {
            let member = state.store.member_by_email(ADMIN).await.unwrap().unwrap();
            let record = state
                .store
                .report_schedule(member.workspace_id, id)
                .await
                .unwrap()
                .unwrap();
            assert!(!record.recipients.contains("secret"), "sealed at rest");
            match &reports::spec::parse(&record).unwrap().recipients[0] {
                reports::Recipient::Slack { bot_token, .. } => bot_token
                    .as_ref()
                    .map(|t| reports::open_secret(&state, t.expose()).unwrap()),
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(token_of(id).await.as_deref(), Some("xoxb-1-2-FIRSTsecret"));
    let (status, html) = page(&fx, &client, &format!("/reports/{id}")).await;
    assert_eq!(status, 200);
    assert!(!html.contains("FIRSTsecret"), "{html}");
    assert!(html.contains(&format!("{hook} C0123ABCD")), "{html}");
    assert!(html.contains("Slack bot token set for"), "{html}");

    // Saved as drawn: kept.
    let saved = send(
        format!("/reports/{id}"),
        fields(format!("{hook} C0123ABCD")),
    )
    .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(token_of(id).await.as_deref(), Some("xoxb-1-2-FIRSTsecret"));
    // A new token replaces it.
    let replaced = send(
        format!("/reports/{id}"),
        fields(format!("{hook} C0123ABCD xoxb-9-9-SECONDsecret")),
    )
    .await;
    assert_eq!(replaced.status(), 303);
    assert_eq!(token_of(id).await.as_deref(), Some("xoxb-9-9-SECONDsecret"));
    // The URL alone clears it.
    let cleared = send(format!("/reports/{id}"), fields(hook.to_owned())).await;
    assert_eq!(cleared.status(), 303);
    assert_eq!(token_of(id).await, None);
    let (_, html) = page(&fx, &client, &format!("/reports/{id}")).await;
    assert!(!html.contains("Slack bot token set for"), "{html}");
}
