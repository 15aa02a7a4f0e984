//! The invitation flow in real headless Chromium: an editor invites an address to one
//! dashboard from its People tab, the message arrives over SMTP at the test's sink, the
//! invitee opens the accept link from it, signs up, and sees exactly that one dashboard.

use serde_json::json;

use crate::browser::{Browser, sales_dashboard, step};
use crate::helpers::{PASSWORD, TestApp};
use crate::sink::SmtpSink;

#[tokio::test]
async fn an_invitee_opens_the_accept_link_from_the_message_signs_up_and_sees_one_dashboard() {
    let Some(editor) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let app = TestApp::spawn_with(|c| c.mail.smtp_url = Some(smtp)).await;
    let sales = sales_dashboard(&app).await;
    // Another published dashboard the invitee must not see.
    let other = app
        .api()
        .post(app.url("/api/v1/dashboards"))
        .bearer_auth(&sales.api_key)
        .json(&json!({ "slug": "secret", "yaml": crate::browser::SALES_YAML.replace("title: Sales", "title: Secret plans") }))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201);

    editor.sign_in(&app, sales.editor_email, PASSWORD).await;
    editor
        .goto(&app.url(&format!("/dashboards/{}/people", sales.id)))
        .await;
    let field = editor.wait_for("textarea[name='emails']").await;
    step("type the address", field.send_keys("invitee@client.test")).await;
    let submit = editor
        .wait_for("#invite-to-dashboard button[type='submit']")
        .await;
    step("send", submit.click()).await;
    editor
        .wait_until(
            "the pending invitation",
            "!!document.querySelector('#pending-invitations') && document.body.innerText.includes('invitee@client.test')",
        )
        .await;
    editor.close().await;

    let received = sink.wait_for(1).await;
    assert_eq!(received[0].to, ["<invitee@client.test>"]);
    let parsed = received[0].parsed();
    let text = parsed.body_text(0).unwrap().to_string();
    let start = text.find(&app.base).expect("the accept link");
    let rest = &text[start..];
    let link = rest[..rest.find(char::is_whitespace).unwrap()].to_owned();

    let Some(invitee) = Browser::start().await else {
        return;
    };
    invitee.goto(&link).await;
    assert!(invitee.text("h1").await.contains("Sales"));
    let name = invitee.wait_for("input[name='name']").await;
    step("type the name", name.send_keys("Ivy Invitee")).await;
    let password = invitee.wait_for("input[name='password']").await;
    step("type the password", password.send_keys(PASSWORD)).await;
    let submit = invitee.wait_for("form button[type='submit']").await;
    step("accept", submit.click()).await;
    invitee
        .wait_until(
            "the dashboards list",
            "location.pathname === '/' && document.readyState === 'complete' && !!document.querySelector('a.tile')",
        )
        .await;
    let tiles = invitee
        .js("return Array.from(document.querySelectorAll('a.tile')).map(a => a.getAttribute('href'))")
        .await;
    assert_eq!(tiles, json!([format!("/dashboards/{}", sales.id)]));
    let body = invitee.js("return document.body.innerText").await;
    assert!(!body.as_str().unwrap().contains("Secret plans"));
    let errors = invitee.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    invitee.close().await;
}
