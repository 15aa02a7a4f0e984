//! A share link sent by e-mail: over SMTP to the test's sink, never with its password,
//! listed per link, audited; only active links; only members who manage links.

use vitrine_core::member::{Permissions, Role};

use crate::helpers::TestApp;
use crate::links::shared_dashboard;
use crate::sink::SmtpSink;

#[tokio::test]
async fn a_link_goes_by_email_with_the_note_and_never_its_password() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail.smtp_url = Some(url)).await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &key).await;
    let password = "correct horse battery staple";
    let created: serde_json::Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "dashboard_id": dashboard, "label": "Board", "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let link_url = created["url"].as_str().unwrap().to_owned();

    let sent = app
        .api()
        .post(app.url(&format!("/api/v1/links/{id}/send")))
        .bearer_auth(&key)
        .json(&serde_json::json!({
            "emails": ["ceo@client.test", "cfo@client.test"],
            "note": "<script>alert(1)</script>\nQ3 numbers, as promised.",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    assert_eq!(sent.json::<serde_json::Value>().await.unwrap()["queued"], 2);

    let received = sink.wait_for(2).await;
    let mut to: Vec<&str> = received.iter().map(|m| m.to[0].as_str()).collect();
    to.sort();
    assert_eq!(to, ["<ceo@client.test>", "<cfo@client.test>"]);
    for message in &received {
        let raw = String::from_utf8_lossy(&message.data);
        assert!(!raw.contains(password), "the password went out");
        let parsed = message.parsed();
        assert!(
            parsed
                .subject()
                .unwrap()
                .contains("shared “Sales” with you"),
            "{:?}",
            parsed.subject()
        );
        let text = parsed.body_text(0).unwrap();
        let html = parsed.body_html(0).unwrap();
        assert!(text.contains(&link_url), "{text}");
        assert!(text.contains("> Q3 numbers, as promised."), "{text}");
        assert!(text.contains("password") && text.contains("separately"));
        assert!(html.contains(&format!("href=\"{link_url}\"")));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
    }

    let listed: serde_json::Value = app
        .api()
        .get(app.url(&format!("/api/v1/links/{id}/messages")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["kind"], "link");
    let audit = app
        .state
        .store
        .audit_events(admin.workspace_id, 10)
        .await
        .unwrap();
    let event = audit.iter().find(|e| e.action == "link.sent").unwrap();
    assert!(event.detail.contains("ceo@client.test"));

    // From the share page's form.
    let (browser, csrf) = app.signed_in(&admin.email).await;
    let page = browser
        .get(app.url(&format!("/dashboards/{dashboard}/share")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Send by e-mail"));
    let posted = browser
        .post(app.url(&format!("/dashboards/{dashboard}/share/{id}/send")))
        .form(&[
            ("emails", "coo@client.test"),
            ("note", ""),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    sink.wait_for(3).await;

    // A disabled link is not sent.
    app.api()
        .post(app.url(&format!("/api/v1/links/{id}/disable")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let refused = app
        .api()
        .post(app.url(&format!("/api/v1/links/{id}/send")))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "emails": ["x@client.test"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);

    // Bad input is refused before anything is queued.
    for bad in [
        serde_json::json!({ "emails": [] }),
        serde_json::json!({ "emails": ["a@b.test\r\nBcc: c@d.test"] }),
        serde_json::json!({ "emails": ["a@b.test"], "note": "x".repeat(2001) }),
    ] {
        let refused = app
            .api()
            .post(app.url(&format!("/api/v1/links/{id}/send")))
            .bearer_auth(&key)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert!(refused.status().is_client_error(), "{}", refused.status());
    }

    // A viewer cannot send (nor see) links.
    let viewer = app
        .member("viewer@example.com", Role::Viewer, Permissions::default())
        .await;
    let key = app.api_key(&viewer).await;
    let refused = app
        .api()
        .post(app.url(&format!("/api/v1/links/{id}/send")))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "emails": ["x@client.test"] }))
        .send()
        .await
        .unwrap();
    assert!(refused.status() == 403 || refused.status() == 404);
    assert_eq!(sink.messages().await.len(), 3);
}
