//! The mailer: how one stored message goes out — SMTP through lettre (plain, STARTTLS or
//! implicit TLS over rustls, with authentication, from `mail.smtp_url`), or, without an SMTP
//! server, `.eml` files under `<data_dir>/mail` — and the outbox's shared state held by
//! `App`. The outbox service itself (queueing, draining, retries) is the `mail` module.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use tokio::sync::Notify;
use vitrine_store::MailRecord;

use crate::config::Config;

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

    /// A message builder with this mailer's sender, reply-to and the `Message-ID`
    /// `message_id` (without angle brackets): stored rows and the messages other modules build
    /// with attachments (reports) start here.
    pub fn builder(&self, message_id: &str) -> lettre::message::MessageBuilder {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .message_id(Some(format!("<{message_id}>")));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
    }

    /// Builds the MIME message of a stored row.
    fn build(&self, mail: &MailRecord, date: std::time::SystemTime) -> Result<Message, SendError> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad recipient address: {e}")))?;
        self.builder(&mail.message_id)
            .to(to)
            .subject(one_line(&mail.subject))
            .date(date)
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
        let name = format!("{:06}-{}", mail.id, mail.message_id);
        self.send_message(message, &name).await
    }

    /// Sends a built message over the transport in force; `name` names the `.eml` file of the
    /// file transport (written whole, then renamed into place). The provider's answer on
    /// success.
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
                let bytes = message.formatted();
                let name = format!("{}.eml", name.replace(['/', '\\'], "_"));
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
    /// Rung when something is queued: the drainer wakes.
    pub wake: Notify,
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

/// Subject lines are one line: control characters (a CR/LF from a title) become spaces.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}
