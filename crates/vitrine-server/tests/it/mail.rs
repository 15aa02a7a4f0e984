//! Outgoing mail: the outbox drained over a real SMTP conversation with the test's sink
//! ([`crate::sink`]), retries, restarts, concurrent drainers, the file transport and the
//! Outbox page.

use std::sync::Arc;

use time::macros::datetime;
use vitrine_app::mail::{self, Drained};
use vitrine_app::{App, Config, prepare};
use vitrine_core::clock::{Clock as _, ManualClock};
use vitrine_core::keys::ServerKey;
use vitrine_core::member::{Permissions, Role};
use vitrine_store::MailState;

use crate::helpers::{PgDatabase, TestApp};
use crate::sink::SmtpSink;

/// An app without a server (so no background drainer: each test drains when it says so) on
/// the store in `dir` (or `database_url`), sending through `smtp_url`.
async fn mail_app(
    dir: &std::path::Path,
    key: &str,
    database_url: Option<String>,
    smtp_url: Option<String>,
    clock: Arc<ManualClock>,
) -> App {
    let mut config = Config {
        data_dir: dir.join("data"),
        server_key: Some(key.to_owned()),
        database_url,
        ..Config::default()
    };
    config.mail.smtp_url = smtp_url;
    config.mail.from = "Vitrine Test <noreply@vitrine.test>".to_owned();
    config.mail.reply_to = Some("help@vitrine.test".to_owned());
    prepare(config, clock).await.unwrap()
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(datetime!(2026-11-23 12:00 UTC)))
}

async fn workspace(app: &App) -> vitrine_core::id::WorkspaceId {
    app.store.default_workspace().await.unwrap().unwrap().id
}

#[tokio::test]
async fn a_test_message_goes_over_smtp_with_both_bodies_and_the_footer() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let key = ServerKey::generate().to_text();
    let app = mail_app(dir.path(), &key, None, Some(sink.url()), clock()).await;
    let ws = workspace(&app).await;
    let mut policy = app.store.workspace(ws).await.unwrap().unwrap().policy;
    policy.footer = "Acme <Analytics> & Co".to_owned();
    policy.contact_line = "Questions? data@acme.test".to_owned();
    app.store.set_link_policy(ws, &policy).await.unwrap();

    mail::send_test(&app, ws, "Someone@Example.com")
        .await
        .unwrap();
    let drained = mail::drain(&app).await.unwrap();
    assert_eq!(
        drained,
        Drained {
            sent: 1,
            retried: 0,
            failed: 0
        }
    );

    let received = sink.wait_for(1).await;
    assert_eq!(received[0].to, vec!["<someone@example.com>".to_owned()]);
    assert_eq!(received[0].from, "<noreply@vitrine.test>");
    let parsed = received[0].parsed();
    assert_eq!(parsed.subject(), Some("Test message from Workspace"));
    let to = parsed.to().unwrap().first().unwrap();
    assert_eq!(to.address(), Some("someone@example.com"));
    assert_eq!(
        parsed.reply_to().unwrap().first().unwrap().address(),
        Some("help@vitrine.test")
    );
    let text = parsed.body_text(0).unwrap();
    let html = parsed.body_html(0).unwrap();
    assert!(text.contains("outgoing mail is set up"), "{text}");
    assert!(text.contains("Acme <Analytics> & Co"), "{text}");
    assert!(text.contains("Questions? data@acme.test"));
    assert!(html.contains("Acme &lt;Analytics&gt; &amp; Co"), "{html}");
    assert!(!html.contains("<Analytics>"));

    let rows = app.store.mails(ws, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, MailState::Sent);
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(parsed.message_id(), Some(rows[0].message_id.as_str()));
    assert!(
        rows[0]
            .provider_response
            .as_deref()
            .is_some_and(|r| r.starts_with("250") && r.contains("sink-1")),
        "{:?}",
        rows[0].provider_response
    );
}

#[tokio::test]
async fn the_outbox_retries_a_server_that_refused_first_and_sends_once() {
    let sink = SmtpSink::start().await;
    sink.refuse_next(2);
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let key = ServerKey::generate().to_text();
    let app = mail_app(dir.path(), &key, None, Some(sink.url()), clock.clone()).await;
    let ws = workspace(&app).await;
    mail::send_test(&app, ws, "a@example.com").await.unwrap();

    assert_eq!(mail::drain(&app).await.unwrap().retried, 1);
    let row = &app.store.mails(ws, 1).await.unwrap()[0];
    assert_eq!(row.state, MailState::Queued);
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("try again later")
    );
    assert_eq!(
        row.next_attempt_at,
        clock.now() + time::Duration::seconds(30)
    );
    // Not due yet: nothing happens.
    assert_eq!(mail::drain(&app).await.unwrap(), Drained::default());

    clock.advance(time::Duration::seconds(30));
    assert_eq!(mail::drain(&app).await.unwrap().retried, 1);
    let row = &app.store.mails(ws, 1).await.unwrap()[0];
    // The second wait is twice the first.
    assert_eq!(
        row.next_attempt_at,
        clock.now() + time::Duration::seconds(60)
    );

    clock.advance(time::Duration::seconds(60));
    assert_eq!(mail::drain(&app).await.unwrap().sent, 1);
    assert_eq!(mail::drain(&app).await.unwrap(), Drained::default());
    assert_eq!(sink.messages().await.len(), 1);
    assert_eq!(sink.transactions(), 3);
    let row = &app.store.mails(ws, 1).await.unwrap()[0];
    assert_eq!((row.state, row.attempts), (MailState::Sent, 3));
}

#[tokio::test]
async fn a_permanent_refusal_fails_at_once_and_is_not_retried() {
    let sink = SmtpSink::start().await;
    sink.refuse_recipients();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let key = ServerKey::generate().to_text();
    let app = mail_app(dir.path(), &key, None, Some(sink.url()), clock.clone()).await;
    let ws = workspace(&app).await;
    mail::send_test(&app, ws, "nobody@example.com")
        .await
        .unwrap();
    assert_eq!(mail::drain(&app).await.unwrap().failed, 1);
    clock.advance(time::Duration::hours(2));
    assert_eq!(mail::drain(&app).await.unwrap(), Drained::default());
    let row = &app.store.mails(ws, 1).await.unwrap()[0];
    assert_eq!((row.state, row.attempts), (MailState::Failed, 1));
    assert!(row.last_error.as_deref().unwrap().contains("no such user"));
}

#[tokio::test]
async fn a_message_runs_out_of_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let key = ServerKey::generate().to_text();
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let mut app = mail_app(dir.path(), &key, None, Some(url), clock.clone()).await;
    let mut config = (*app.config).clone();
    config.mail.max_attempts = 3;
    app.state_mut().config = Arc::new(config);
    let ws = workspace(&app).await;
    mail::send_test(&app, ws, "a@example.com").await.unwrap();
    for _ in 0..2 {
        assert_eq!(mail::drain(&app).await.unwrap().retried, 1);
        clock.advance(time::Duration::hours(1));
    }
    assert_eq!(mail::drain(&app).await.unwrap().failed, 1);
    let row = &app.store.mails(ws, 1).await.unwrap()[0];
    assert_eq!((row.state, row.attempts), (MailState::Failed, 3));
}

#[tokio::test]
async fn unsent_mail_survives_a_restart_nothing_lost_nothing_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let key = ServerKey::generate().to_text();
    // The SMTP server is down at first: reserve its port, then close it.
    let reserved = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = reserved.local_addr().unwrap().port();
    drop(reserved);
    let url = format!("smtp://127.0.0.1:{port}");

    let first = mail_app(dir.path(), &key, None, Some(url.clone()), clock.clone()).await;
    let ws = workspace(&first).await;
    mail::send_test(&first, ws, "one@example.com")
        .await
        .unwrap();
    mail::send_test(&first, ws, "two@example.com")
        .await
        .unwrap();
    mail::send_test(&first, ws, "three@example.com")
        .await
        .unwrap();
    // One message fails to connect and waits for a retry.
    assert_eq!(mail::drain(&first).await.unwrap().retried, 3);
    // Another drainer claims the rows and dies mid-send (its claim is never finished).
    clock.advance(time::Duration::seconds(30));
    let claimed = first
        .store
        .claim_mail(clock.now(), clock.now() + mail::LEASE, 2)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    first.store.close().await;
    drop(first);

    // The server comes back, and so does Vitrine.
    let sink = SmtpSink::on(
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap(),
    );
    let second = mail_app(dir.path(), &key, None, Some(url), clock.clone()).await;
    // The row nobody holds is sent; the two claimed by the dead drainer wait for its lease.
    assert_eq!(mail::drain(&second).await.unwrap().sent, 1);
    assert_eq!(mail::drain(&second).await.unwrap(), Drained::default());
    clock.advance(mail::LEASE + time::Duration::seconds(1));
    assert_eq!(mail::drain(&second).await.unwrap().sent, 2);
    assert_eq!(mail::drain(&second).await.unwrap(), Drained::default());

    let received = sink.wait_for(3).await;
    assert_eq!(received.len(), 3);
    let mut to: Vec<String> = received.iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "<one@example.com>",
            "<three@example.com>",
            "<two@example.com>"
        ]
    );
    // The dead drainer's late report is ignored: the row is no longer its claim.
    let rows = second.store.mails(ws, 10).await.unwrap();
    assert!(rows.iter().all(|r| r.state == MailState::Sent));
    let stale = &claimed[0];
    assert!(
        !second
            .store
            .finish_mail(
                stale.id,
                stale.attempts,
                vitrine_store::MailOutcome::Failed {
                    error: "late".into()
                },
                clock.now()
            )
            .await
            .unwrap()
    );
}

async fn concurrent_drainers_send_each_message_once(database_url: Option<String>) {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let key = ServerKey::generate().to_text();
    let a = mail_app(
        dir.path(),
        &key,
        database_url.clone(),
        Some(sink.url()),
        clock.clone(),
    )
    .await;
    // A second instance on the same store.
    let b = mail_app(
        dir.path(),
        &key,
        database_url,
        Some(sink.url()),
        clock.clone(),
    )
    .await;
    let ws = workspace(&a).await;
    let recipients: Vec<String> = (0..30).map(|i| format!("r{i}@example.com")).collect();
    let footer = mail::footer(&a, ws).await.unwrap();
    let message = mail::templates::test_message(&footer, "http://x");
    mail::enqueue(
        &a,
        mail::Envelope {
            workspace: ws,
            kind: "test",
            reference: String::new(),
            recipients: &recipients,
            message: &message,
        },
    )
    .await
    .unwrap();
    let (x, y, z, w) = tokio::join!(
        mail::drain(&a),
        mail::drain(&b),
        mail::drain(&a),
        mail::drain(&b)
    );
    let total: u32 = [x, y, z, w].into_iter().map(|d| d.unwrap().sent).sum();
    assert_eq!(total, 30);
    let received = sink.wait_for(30).await;
    assert_eq!(received.len(), 30);
    let mut ids: Vec<String> = received
        .iter()
        .map(|m| m.parsed().message_id().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "a message went twice");
}

#[tokio::test]
async fn concurrent_drainers_send_each_message_once_on_sqlite() {
    concurrent_drainers_send_each_message_once(None).await;
}

#[tokio::test]
async fn concurrent_drainers_send_each_message_once_on_postgres() {
    let Some(db) =
        PgDatabase::create("concurrent_drainers_send_each_message_once_on_postgres").await
    else {
        return;
    };
    concurrent_drainers_send_each_message_once(Some(db.url.clone())).await;
    db.drop_now().await;
}

#[tokio::test]
async fn bad_addresses_are_refused_before_anything_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let key = ServerKey::generate().to_text();
    let app = mail_app(dir.path(), &key, None, None, clock()).await;
    let ws = workspace(&app).await;
    for bad in [
        "",
        "not an address",
        "a@b.test\r\nBcc: victim@x.test",
        "Name <a@b.test>",
        "a@b.test, c@d.test",
    ] {
        let err = mail::send_test(&app, ws, bad).await.unwrap_err();
        assert!(
            matches!(err, vitrine_app::Error::Invalid { .. }),
            "{bad:?}: {err:?}"
        );
    }
    assert!(app.store.mails(ws, 10).await.unwrap().is_empty());
    assert_eq!(
        mail::parse_addresses("a@x.test; B@x.test\nc@x.test a@x.test").unwrap(),
        ["a@x.test", "b@x.test", "c@x.test"]
    );
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files_and_listed_on_the_outbox_page() {
    let app = TestApp::spawn().await;
    let ws = workspace(&app.state).await;
    assert_eq!(app.state.outbox.mailer.transport_name(), "file");
    mail::send_test(&app.state, ws, "demo@example.com")
        .await
        .unwrap();
    // The server's background drainer was woken; draining here too is harmless.
    mail::drain(&app.state).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let dir = app.state.config.data_dir.join("mail");
    let file = loop {
        let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        });
        if let Some(found) = found {
            break found;
        }
        assert!(std::time::Instant::now() < deadline, "no .eml file");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let bytes = std::fs::read(&file).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(
        parsed.to().unwrap().first().unwrap().address(),
        Some("demo@example.com")
    );
    assert!(parsed.body_html(0).is_some() && parsed.body_text(0).is_some());

    let admin = app.admin().await;
    let (browser, _) = app.signed_in(&admin.email).await;
    let page = browser.get(app.url("/outbox")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("demo@example.com"), "{html}");
    assert!(html.contains("Test message from Workspace"));
    assert!(html.contains(".eml"));

    let key = app.api_key(&admin).await;
    let list: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/outbox"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["recipient"], "demo@example.com");
    assert_eq!(list[0]["state"], "sent");
    assert!(list[0].get("body_text").is_none());

    // A viewer may not read the outbox.
    let viewer = app
        .member("viewer@example.com", Role::Viewer, Permissions::default())
        .await;
    let key = app.api_key(&viewer).await;
    let refused = app
        .api()
        .get(app.url("/api/v1/outbox"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}
