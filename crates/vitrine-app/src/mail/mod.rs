//! Outgoing mail: the outbox, the mailer and the messages.
//!
//! **Every message is a row first and a send second.** A feature that wants to reach someone
//! ([`crate::invitations`], links sent by e-mail, later scheduled reports) renders a message
//! ([`templates`]) and calls [`enqueue`], which writes one outbox row per recipient and wakes
//! the drainer. The drainer ([`drain`], run by the background task [`spawn`] and by
//! `vitrine mail test`) claims due rows in the store before it sends them, so:
//! - **nothing is sent twice by two drainers**: a row is claimed by one (two instances, or the
//!   task and the CLI, may drain at once);
//! - **a crash loses nothing**: a row claimed by a drainer that died stays `sending` until its
//!   lease ([`LEASE`]) runs out, and is then claimed again. (The one window left is a crash
//!   between the SMTP server's "250 accepted" and our writing `sent`: that message goes again,
//!   with the same `Message-ID`, so receiving systems can tell. At-least-once is the only
//!   honest promise SMTP allows.)
//! - **an SMTP outage loses nothing**: a transient failure (a 4xx reply, no connection) puts the
//!   row back with the next attempt [`backoff`] later; a permanent one (5xx) or the last of
//!   `mail.max_attempts` marks it `failed` with the server's words kept in `last_error`.
//!
//! The [`Mailer`] has two transports: SMTP through lettre (plain, STARTTLS or implicit TLS,
//! with authentication, from `mail.smtp_url`), and, when no SMTP server is configured, a
//! `file` transport that writes each message as an `.eml` file under `<data_dir>/mail` — what
//! `vitrine demo` uses, so a person trying it sees on the Outbox page what would have gone out.

pub mod templates;

use std::time::Duration;

use vitrine_core::id::WorkspaceId;
use vitrine_store::{MailOutcome, MailRecord, NewMail};

use crate::config::Config;
use crate::{App, Error};

pub use crate::mailer::{Mailer, Outbox, SendError};
pub use templates::{Block, Footer, Rendered};

/// How long a drainer holds a claimed row before another may take it over. Longer than any
/// SMTP conversation (lettre's own timeout is a minute per command).
pub const LEASE: time::Duration = time::Duration::minutes(10);

/// Rows claimed at once by one drainer.
const BATCH: i64 = 10;

/// How often the background task looks for due rows without being woken.
pub const POLL_EVERY: Duration = Duration::from_secs(15);

/// Longest wait between two attempts.
const MAX_BACKOFF_SECONDS: i64 = 3600;

/// The longest list of recipients one call may queue.
pub const MAX_RECIPIENTS: usize = 50;

/// The outbox kind of an identified link's one-time code ([`crate::identified`]): its body is
/// scrubbed from the outbox once sent ([`drain`] does it after every pass).
pub const VIEW_CODE_KIND: &str = "view_code";

/// One message to one or more people, ready to queue.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The workspace it is sent for.
    pub workspace: WorkspaceId,
    /// What kind of message (`test`, `invitation`, `link` …).
    pub kind: &'a str,
    /// What it is about (`invitation:12`, `link:…`).
    pub reference: String,
    /// The addresses.
    pub recipients: &'a [String],
    /// The message.
    pub message: &'a Rendered,
}

/// Checks and normalises one e-mail address (trimmed, lower-cased domain kept as typed): a
/// bare `local@domain`, no display name, no line breaks.
pub fn parse_address(text: &str) -> Result<String, Error> {
    let text = text.trim();
    if text.is_empty()
        || text.len() > 254
        || text
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>' || c == ',')
    {
        return Err(Error::invalid_field(
            "email",
            "Enter a valid e-mail address.",
        ));
    }
    text.parse::<lettre::Address>()
        .map(|a| a.to_string().to_lowercase())
        .map_err(|_| Error::invalid_field("email", "Enter a valid e-mail address."))
}

/// Several addresses, separated by commas, semicolons, spaces or line breaks; each checked,
/// duplicates dropped, at most [`MAX_RECIPIENTS`].
pub fn parse_addresses(text: &str) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        if part.trim().is_empty() {
            continue;
        }
        let address = parse_address(part).map_err(|_| {
            Error::invalid_field(
                "emails",
                format!("{:?} is not a valid e-mail address.", part.trim()),
            )
        })?;
        if !out.contains(&address) {
            out.push(address);
        }
    }
    if out.is_empty() {
        return Err(Error::invalid_field(
            "emails",
            "Enter at least one e-mail address.",
        ));
    }
    if out.len() > MAX_RECIPIENTS {
        return Err(Error::invalid_field(
            "emails",
            format!("At most {MAX_RECIPIENTS} addresses at once."),
        ));
    }
    Ok(out)
}

/// The footer of a workspace's messages.
pub async fn footer(app: &App, workspace: WorkspaceId) -> Result<Footer, Error> {
    let ws = app
        .store
        .workspace(workspace)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Footer {
        workspace: ws.name,
        footer: Some(ws.policy.footer),
        contact_line: Some(ws.policy.contact_line),
    })
}

/// Queues `envelope` (one row per recipient) and wakes the drainer; the rows' ids.
pub async fn enqueue(app: &App, envelope: Envelope<'_>) -> Result<Vec<i64>, Error> {
    let mut rows = Vec::with_capacity(envelope.recipients.len());
    for recipient in envelope.recipients {
        rows.push(NewMail {
            workspace_id: envelope.workspace,
            kind: envelope.kind.to_owned(),
            reference: envelope.reference.clone(),
            recipient: parse_address(recipient)?,
            subject: envelope.message.subject.clone(),
            body_text: envelope.message.text.clone(),
            body_html: envelope.message.html.clone(),
            message_id: app.outbox.mailer.new_message_id(),
        });
    }
    let ids = app.store.enqueue_mail(&rows, app.now()).await?;
    app.outbox.wake.notify_one();
    Ok(ids)
}

/// The wait before the attempt after attempt number `attempts` (1 = the first failed):
/// `retry_seconds`, doubled each time, at most an hour.
pub fn backoff(config: &Config, attempts: i64) -> time::Duration {
    let base = i64::from(config.mail.retry_seconds);
    let exp = attempts.clamp(1, 20) - 1;
    time::Duration::seconds(base.saturating_mul(1 << exp).min(MAX_BACKOFF_SECONDS))
}

/// What one [`drain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    /// Accepted by the transport.
    pub sent: u32,
    /// Failed for now, queued again.
    pub retried: u32,
    /// Failed for good.
    pub failed: u32,
}

/// Sends every due message: claims rows in batches and sends each, until none is due.
pub async fn drain(app: &App) -> Result<Drained, Error> {
    let mut done = Drained::default();
    loop {
        let now = app.now();
        let claimed = app.store.claim_mail(now, now + LEASE, BATCH).await?;
        if claimed.is_empty() {
            // One-time codes leave the store as soon as they left the building.
            app.store.scrub_code_mail(VIEW_CODE_KIND, None).await?;
            return Ok(done);
        }
        for mail in claimed {
            let date = std::time::SystemTime::UNIX_EPOCH
                + Duration::from_millis(
                    u64::try_from(app.now().unix_timestamp() * 1000).unwrap_or(0),
                );
            let outcome = match app.outbox.mailer.send(&mail, date).await {
                Ok(response) => {
                    done.sent += 1;
                    tracing::info!(id = mail.id, kind = %mail.kind, "mail sent");
                    MailOutcome::Sent { response }
                }
                Err(SendError::Permanent(error)) => {
                    done.failed += 1;
                    tracing::warn!(id = mail.id, %error, "mail refused for good");
                    MailOutcome::Failed { error }
                }
                Err(SendError::Transient(error))
                    if mail.attempts >= i64::from(app.config.mail.max_attempts) =>
                {
                    done.failed += 1;
                    tracing::warn!(id = mail.id, %error, attempts = mail.attempts, "mail given up");
                    MailOutcome::Failed { error }
                }
                Err(SendError::Transient(error)) => {
                    done.retried += 1;
                    let next_attempt_at = app.now() + backoff(&app.config, mail.attempts);
                    tracing::info!(id = mail.id, %error, attempts = mail.attempts, "mail will be retried");
                    MailOutcome::Retry {
                        error,
                        next_attempt_at,
                    }
                }
            };
            if !app
                .store
                .finish_mail(mail.id, mail.attempts, outcome, app.now())
                .await?
            {
                tracing::warn!(id = mail.id, "mail claim lost before it was recorded");
            }
        }
    }
}

/// The background drainer; it stops when this is dropped.
#[derive(Debug)]
pub struct Drainer {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Drainer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts draining now, then whenever something is queued and every `every`. A failed pass
/// (the store briefly unreachable) is logged and the next one tries again.
pub fn spawn(app: App, every: Duration) -> Drainer {
    let task = tokio::spawn(async move {
        loop {
            if let Err(error) = drain(&app).await {
                tracing::warn!(%error, "outbox drain failed");
            }
            tokio::select! {
                () = app.outbox.wake.notified() => {}
                () = tokio::time::sleep(every) => {}
            }
        }
    });
    Drainer { task }
}

/// Queues the test message of `vitrine mail test` to `to`.
pub async fn send_test(app: &App, workspace: WorkspaceId, to: &str) -> Result<Vec<i64>, Error> {
    let to = vec![parse_address(to)?];
    let footer = footer(app, workspace).await?;
    let message = templates::test_message(&footer, &app.config.base_url);
    enqueue(
        app,
        Envelope {
            workspace,
            kind: "test",
            reference: String::new(),
            recipients: &to,
            message: &message,
        },
    )
    .await
}

/// The workspace's outbox, newest first: for admins and members who manage members (who send
/// invitations).
pub async fn list(
    app: &App,
    actor: &vitrine_core::member::Actor,
    limit: i64,
) -> Result<Vec<MailRecord>, Error> {
    if !(actor.is_admin() || actor.can_manage_members()) {
        return Err(Error::Forbidden);
    }
    Ok(app.store.mails(actor.workspace_id, limit).await?)
}
