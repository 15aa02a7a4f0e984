//! Invitations by e-mail: the whole lifecycle over HTTP, with the message read from a real
//! SMTP conversation (the test's sink) or from the outbox.

use time::Duration;
use vitrine_app::accounts::Acting;
use vitrine_app::invitations::{self, Standing};
use vitrine_core::member::{Permissions, Role};

use crate::helpers::{PASSWORD, TestApp, hidden_field};
use crate::sink::SmtpSink;

/// The accept link in a message's text.
fn link_in(text: &str) -> String {
    let start = text.find("http").expect("a link");
    let rest = &text[start..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let link = rest[..end].to_owned();
    assert!(link.contains("/invitations/inv_"), "{link}");
    link
}

/// The accept link of the newest message about invitation `id`, from the outbox.
async fn outbox_link(app: &TestApp, id: i64) -> String {
    let ws = app
        .state
        .store
        .default_workspace()
        .await
        .unwrap()
        .unwrap()
        .id;
    let mails = app
        .state
        .store
        .mails_about(ws, "invitation", &format!("invitation:{id}"))
        .await
        .unwrap();
    link_in(&mails[0].body_text)
}

async fn invite(app: &TestApp, email: &str, role: Role) -> i64 {
    let admin = match app
        .state
        .store
        .member_by_email("admin@example.com")
        .await
        .unwrap()
    {
        Some(m) => m,
        None => app.admin().await,
    };
    let created = invitations::invite(
        &app.state,
        &Acting::member(&admin),
        admin.workspace_id,
        email,
        role,
    )
    .await
    .unwrap();
    created[0].id
}

/// Opens the accept page in a fresh browser; the page's text and its CSRF token.
async fn open_page(app: &TestApp, client: &reqwest::Client, link: &str) -> (u16, String, String) {
    let response = client.get(link).send().await.unwrap();
    let status = response.status().as_u16();
    let html = response.text().await.unwrap();
    let csrf = hidden_field(&html, "csrf_token").unwrap_or_default();
    let _ = app;
    (status, html, csrf)
}

async fn sign_up(
    client: &reqwest::Client,
    link: &str,
    csrf: &str,
    name: &str,
) -> reqwest::Response {
    client
        .post(link)
        .form(&[("name", name), ("password", PASSWORD), ("csrf_token", csrf)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invitation_goes_by_smtp_and_its_link_signs_the_address_up_once() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail.smtp_url = Some(url)).await;
    let admin = app.admin().await;
    let (browser, csrf) = app.signed_in(&admin.email).await;
    let sent = browser
        .post(app.url("/members/invitations"))
        .form(&[
            ("emails", "Ana@Client.test"),
            ("role", "viewer"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let members = browser
        .get(app.url("/members"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(members.contains("Pending invitations") && members.contains("ana@client.test"));

    // The message, as the SMTP server received it.
    let received = sink.wait_for(1).await;
    assert_eq!(received[0].to, ["<ana@client.test>"]);
    let parsed = received[0].parsed();
    assert_eq!(
        parsed.subject(),
        Some("admin@example.com invited you to Workspace")
    );
    let text = parsed.body_text(0).unwrap().to_string();
    let html = parsed.body_html(0).unwrap().to_string();
    let link = link_in(&text);
    assert!(link.starts_with(&app.base), "{link}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(text.contains("for ana@client.test only"));

    // A GET (a mail scanner, a preview) does not consume it.
    let outsider = app.browser();
    for _ in 0..2 {
        let (status, page, _) = open_page(&app, &outsider, &link).await;
        assert_eq!(status, 200);
        assert!(page.contains("Accept and create my account"), "{page}");
    }
    let (_, _, csrf) = open_page(&app, &outsider, &link).await;
    let accepted = sign_up(&outsider, &link, &csrf, "Ana <b>Client</b>").await;
    assert_eq!(accepted.status(), 303);
    let home = outsider.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let ana = app
        .state
        .store
        .member_by_email("ana@client.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ana.role, ana.name.as_str()),
        (Role::Viewer, "Ana <b>Client</b>")
    );
    assert!(!ana.must_change_password);

    // Second use: refused, and the page says so.
    let other = app.browser();
    let (status, page, csrf) = open_page(&app, &other, &link).await;
    assert_eq!(status, 410);
    assert!(page.contains("already been accepted"));
    let again = sign_up(&other, &link, &csrf, "Mallory").await;
    assert!(
        again.status() == 410 || again.status() == 403,
        "{}",
        again.status()
    );
    assert_eq!(
        app.state
            .store
            .members(admin.workspace_id)
            .await
            .unwrap()
            .len(),
        2
    );

    let audit = app
        .state
        .store
        .audit_events(admin.workspace_id, 20)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"invitation.sent") && actions.contains(&"invitation.accepted"));
    // Accepted invitations are no longer listed.
    let members = browser
        .get(app.url("/members"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!members.contains("Pending invitations"));
}

#[tokio::test]
async fn expired_revoked_superseded_and_forged_links_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let acting = Acting::member(&admin);
    let ws = admin.workspace_id;

    // Expired.
    let expiring = invite(&app, "late@client.test", Role::Viewer).await;
    let link = outbox_link(&app, expiring).await;
    app.clock.advance(Duration::days(7));
    let client = app.browser();
    let (status, page, csrf) = open_page(&app, &client, &link).await;
    assert_eq!(status, 410);
    assert!(page.contains("expired"));
    assert_eq!(sign_up(&client, &link, &csrf, "x").await.status(), 410);

    // Revoked.
    let revoked = invite(&app, "gone@client.test", Role::Viewer).await;
    let link = outbox_link(&app, revoked).await;
    invitations::revoke(&app.state, &acting, ws, revoked)
        .await
        .unwrap();
    let (status, page, csrf) = open_page(&app, &client, &link).await;
    assert_eq!(status, 410);
    assert!(page.contains("withdrawn"));
    assert_eq!(sign_up(&client, &link, &csrf, "x").await.status(), 410);
    assert!(
        invitations::revoke(&app.state, &acting, ws, revoked)
            .await
            .is_err()
    );

    // Resent: the old link dies, the new one works (and the expired one can be renewed).
    let resent = invite(&app, "again@client.test", Role::Editor).await;
    let old = outbox_link(&app, resent).await;
    invitations::resend(&app.state, &acting, ws, resent)
        .await
        .unwrap();
    let new = outbox_link(&app, resent).await;
    assert_ne!(old, new);
    let (status, _, csrf) = open_page(&app, &client, &old).await;
    assert_eq!(status, 404);
    assert_eq!(sign_up(&client, &old, &csrf, "x").await.status(), 404);
    let (status, _, csrf) = open_page(&app, &client, &new).await;
    assert_eq!(status, 200);
    assert_eq!(sign_up(&client, &new, &csrf, "Again").await.status(), 303);
    invitations::resend(&app.state, &acting, ws, expiring)
        .await
        .unwrap();
    let renewed = invitations::open(
        &app.state,
        outbox_link(&app, expiring)
            .await
            .rsplit('/')
            .next()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(renewed.standing, Standing::SignUp);

    // Forged and malformed tokens: 404, with nothing about any invitation.
    let base = app.url("/invitations/");
    // One character changed (never to itself: a link ending in 'A' stays 'A' otherwise).
    let mut forged = new.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for link in [
        forged,
        format!("{base}inv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        format!("{base}shr_nope"),
        format!("{base}%3Cscript%3E"),
    ] {
        let (status, page, _) = open_page(&app, &client, &link).await;
        assert_eq!(status, 404, "{link}");
        assert!(!page.contains("client.test"));
    }
    let actions: Vec<String> = app
        .state
        .store
        .audit_events(ws, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "invitation.sent",
        "invitation.revoked",
        "invitation.resent",
        "invitation.accepted",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
}

#[tokio::test]
async fn an_invitation_is_bound_to_its_address() {
    let app = TestApp::spawn().await;
    let id = invite(&app, "ana@client.test", Role::Viewer).await;
    let link = outbox_link(&app, id).await;
    app.member("bob@example.com", Role::Editor, Permissions::default())
        .await;
    let (bob, bob_csrf) = app.signed_in("bob@example.com").await;
    let (status, page, _) = open_page(&app, &bob, &link).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("you are signed in as bob@example.com"),
        "{page}"
    );
    let refused = bob
        .post(&link)
        .form(&[
            ("csrf_token", bob_csrf.as_str()),
            ("name", "Bob"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    // Still pending for Ana.
    let token = link.rsplit('/').next().unwrap();
    let opened = invitations::open(&app.state, token).await.unwrap();
    assert_eq!(opened.standing, Standing::SignUp);
    // Without the double-submit cookie, a cross-site POST is refused.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let refused = bare
        .post(&link)
        .form(&[("csrf_token", "x"), ("name", "A"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        invitations::open(&app.state, token).await.unwrap().standing,
        Standing::SignUp
    );
}

#[tokio::test]
async fn an_address_that_has_an_account_accepts_by_signing_in() {
    let app = TestApp::spawn().await;
    let id = invite(&app, "carol@example.com", Role::Viewer).await;
    let link = outbox_link(&app, id).await;
    // The account appears meanwhile (another admin, the CLI).
    app.member("carol@example.com", Role::Viewer, Permissions::default())
        .await;
    let anonymous = app.browser();
    let (status, page, csrf) = open_page(&app, &anonymous, &link).await;
    assert_eq!(status, 200);
    assert!(page.contains("Sign in as carol@example.com"), "{page}");
    // The page offers no sign-up form, and a forged sign-up is refused.
    assert!(csrf.is_empty() || !page.contains("new-password"));
    let forged = sign_up(&anonymous, &link, &csrf, "Carol").await.status();
    assert!(forged == 403 || forged == 409, "{forged}");
    let (carol, csrf) = app.signed_in("carol@example.com").await;
    let (_, page, _) = open_page(&app, &carol, &link).await;
    assert!(page.contains("Accept the invitation"));
    let accepted = carol
        .post(&link)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 303);
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(
        invitations::open(&app.state, token).await.unwrap().standing,
        Standing::Used
    );
}

#[tokio::test]
async fn racing_accepts_use_a_token_once() {
    let app = TestApp::spawn().await;
    let id = invite(&app, "race@client.test", Role::Viewer).await;
    let link = outbox_link(&app, id).await;
    let token = link.rsplit('/').next().unwrap().to_owned();
    let attempts = (0..6).map(|i| {
        let state = app.state.clone();
        let token = token.clone();
        tokio::spawn(async move {
            invitations::accept_with_signup(&state, &token, &format!("R{i}"), PASSWORD).await
        })
    });
    let results = futures_join(attempts).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let ws = app
        .state
        .store
        .default_workspace()
        .await
        .unwrap()
        .unwrap()
        .id;
    let members = app.state.store.members(ws).await.unwrap();
    assert_eq!(
        members
            .iter()
            .filter(|m| m.email == "race@client.test")
            .count(),
        1
    );
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_invitations_api_invites_lists_resends_and_revokes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let api = app.api();
    let created = api
        .post(app.url("/api/v1/invitations"))
        .bearer_auth(&key)
        .json(
            &serde_json::json!({ "emails": ["a@client.test", "b@client.test"], "role": "viewer" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    assert_eq!(created.as_array().unwrap().len(), 2);
    let id = created[0]["id"].as_i64().unwrap();

    let again = api
        .post(app.url("/api/v1/invitations"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "emails": ["a@client.test"], "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    for bad in [
        serde_json::json!({ "emails": ["not an address"], "role": "viewer" }),
        serde_json::json!({ "emails": ["x@y.test\r\nBcc: z@y.test"], "role": "viewer" }),
        serde_json::json!({ "emails": [], "role": "viewer" }),
        serde_json::json!({ "emails": ["x@y.test"], "role": "owner" }),
    ] {
        let refused = api
            .post(app.url("/api/v1/invitations"))
            .bearer_auth(&key)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert!(
            refused.status().is_client_error(),
            "{bad}: {}",
            refused.status()
        );
    }

    let list: serde_json::Value = api
        .get(app.url("/api/v1/invitations"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list[0].get("token").is_none());

    let resent = api
        .post(app.url(&format!("/api/v1/invitations/{id}/resend")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), 200);
    let revoked = api
        .delete(app.url(&format!("/api/v1/invitations/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let revoked = api
        .delete(app.url(&format!("/api/v1/invitations/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 404);

    // A viewer may not invite, nor an editor invite an admin.
    let viewer = app
        .member("v@example.com", Role::Viewer, Permissions::default())
        .await;
    let key = app.api_key(&viewer).await;
    let refused = api
        .post(app.url("/api/v1/invitations"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "emails": ["c@client.test"], "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let manager = app
        .member(
            "m@example.com",
            Role::Editor,
            Permissions {
                manage_members: true,
                ..Permissions::default()
            },
        )
        .await;
    let key = app.api_key(&manager).await;
    let refused = api
        .post(app.url("/api/v1/invitations"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "emails": ["c@client.test"], "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}
