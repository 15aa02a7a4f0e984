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

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use tokio::sync::Notify;
use vitrine_core::id::WorkspaceId;
use vitrine_store::{MailOutcome, MailRecord, NewMail};

use crate::config::Config;
use crate::{App, Error};

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

/// How a message goes out.
enum Transport {
    /// To an SMTP server.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// As `.eml` files in this directory.
    File(PathBuf),
    /// The configured SMTP URL could not be used (reported on every attempt).
    Broken(String),
}

/// Sends one stored message; knows the transport and the sender addresses.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    /// The domain of `Message-ID`s: the sender's.
    domain: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("transport", &self.transport_name())
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// Why one attempt failed.
#[derive(Debug)]
pub enum SendError {
    /// Worth another attempt later (4xx, connection refused, timeout).
    Transient(String),
    /// Will never work (5xx, an address that cannot be parsed).
    Permanent(String),
}

impl Mailer {
    /// The mailer `config` describes. A malformed `mail.smtp_url` (which configuration
    /// validation refuses anyway) gives a mailer whose every attempt fails transiently.
    pub fn from_config(config: &Config) -> Self {
        let from: Mailbox = config.mail.from.parse().unwrap_or_else(|_| {
            "vitrine@localhost"
                .parse()
                .expect("a constant address parses")
        });
        let reply_to = config.mail.reply_to.as_deref().and_then(|a| a.parse().ok());
        let transport = match &config.mail.smtp_url {
            None => Transport::File(config.data_dir.join("mail")),
            Some(url) => match AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
                Ok(builder) => {
                    Transport::Smtp(builder.timeout(Some(Duration::from_secs(30))).build())
                }
                Err(e) => Transport::Broken(format!("mail.smtp_url cannot be used: {e}")),
            },
        };
        let domain = from.email.domain().to_owned();
        Self {
            transport,
            from,
            reply_to,
            domain,
        }
    }

    /// `smtp`, `file` or `broken`, for pages and logs.
    pub fn transport_name(&self) -> &'static str {
        match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::File(_) => "file",
            Transport::Broken(_) => "broken",
        }
    }

    /// Where the file transport writes, if it is the one in use.
    pub fn file_dir(&self) -> Option<&std::path::Path> {
        match &self.transport {
            Transport::File(dir) => Some(dir),
            _ => None,
        }
    }

    /// A fresh `Message-ID` (without angle brackets).
    pub fn new_message_id(&self) -> String {
        format!(
            "{}@{}",
            vitrine_core::secret::random_token::<18>(),
            self.domain
        )
    }

    /// Builds the MIME message of a stored row.
    fn build(&self, mail: &MailRecord, date: std::time::SystemTime) -> Result<Message, SendError> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad recipient address: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(templates::one_line(&mail.subject))
            .message_id(Some(format!("<{}>", mail.message_id)))
            .date(date);
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                mail.body_text.clone(),
                mail.body_html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
    }

    /// Sends one stored row; the provider's answer on success.
    pub async fn send(
        &self,
        mail: &MailRecord,
        date: std::time::SystemTime,
    ) -> Result<String, SendError> {
        let message = self.build(mail, date)?;
        match &self.transport {
            Transport::Broken(reason) => Err(SendError::Transient(reason.clone())),
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(response) => {
                    let words: Vec<&str> = response.message().collect();
                    Ok(format!("{} {}", response.code(), words.join(" ")))
                }
                Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                Err(e) => Err(SendError::Transient(e.to_string())),
            },
            Transport::File(dir) => {
                let bytes = message.formatted();
                let name = format!(
                    "{:06}-{}.eml",
                    mail.id,
                    mail.message_id.replace(['/', '\\'], "_")
                );
                let path = dir.join(&name);
                let tmp = dir.join(format!(".{name}.tmp"));
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&tmp, &bytes).await?;
                    tokio::fs::rename(&tmp, &path).await
                };
                write.await.map_err(|e| {
                    SendError::Transient(format!("cannot write {}: {e}", path.display()))
                })?;
                Ok(format!("written to {name}"))
            }
        }
    }
}

/// The outbox service's shared state: the mailer, and the bell that wakes the drainer when
/// something is queued.
#[derive(Debug)]
pub struct Outbox {
    /// The mailer in force.
    pub mailer: Mailer,
    wake: Notify,
}

impl Outbox {
    /// From configuration.
    pub fn new(config: &Config) -> Self {
        Self {
            mailer: Mailer::from_config(config),
            wake: Notify::new(),
        }
    }
}

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

// ---- messages built elsewhere (scheduled reports, issue 13) ---------------------------------

impl Mailer {
    /// A message builder with this mailer's sender, reply-to and a fresh-style `Message-ID`
    /// (`message_id`, without angle brackets), for messages with attachments that other
    /// modules build (reports).
    pub fn builder(&self, message_id: &str) -> lettre::message::MessageBuilder {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .message_id(Some(format!("<{message_id}>")));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
    }

    /// Sends a message built with [`Mailer::builder`] over the transport in force; `name` names
    /// the `.eml` file of the file transport.
    pub async fn send_message(&self, message: Message, name: &str) -> Result<String, SendError> {
        match &self.transport {
            Transport::Broken(reason) => Err(SendError::Transient(reason.clone())),
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(response) => {
                    let words: Vec<&str> = response.message().collect();
                    Ok(format!("{} {}", response.code(), words.join(" ")))
                }
                Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                Err(e) => Err(SendError::Transient(e.to_string())),
            },
            Transport::File(dir) => {
                let name = format!("{}.eml", name.replace(['/', '\\'], "_"));
                let path = dir.join(&name);
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&path, message.formatted()).await
                };
                write.await.map_err(|e| {
                    SendError::Transient(format!("cannot write {}: {e}", path.display()))
                })?;
                Ok(format!("written to {name}"))
            }
        }
    }
}
