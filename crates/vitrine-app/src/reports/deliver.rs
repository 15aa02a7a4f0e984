//! Sending a run's deliveries: e-mail through the people mailer (PDF and CSV attached, PNGs
//! inline by `cid:`, the live link), Slack incoming webhooks (Block Kit JSON) and generic
//! webhooks (JSON signed with HMAC-SHA256). Each delivery is claimed, sent and recorded on its
//! own; a failure is retried with the mail backoff up to `mail.max_attempts`, then failed with
//! its error. Other recipients of the run are never sent twice.
//!
//! The webhook signature: header `X-Vitrine-Signature: t=<unix seconds>,v1=<hex>` where hex is
//! HMAC-SHA256 with the schedule's secret over `"<t>.<body>"` (the raw body bytes). A receiver
//! recomputes it, compares in constant time, and refuses a `t` older than a few minutes.

use std::time::Duration;

use hmac::{KeyInit as _, Mac as _};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use sha2::Sha256;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use vitrine_store::{MailOutcome, ReportArtifact, ReportDeliveryRecord};

use super::spec::Recipient;
use crate::mail::{Block, Footer, Rendered, SendError, templates};
use crate::{App, Error, Result};

/// Deliveries claimed per batch.
const BATCH: i64 = 10;
/// A delivery's claim lasts this long.
const LEASE: time::Duration = time::Duration::minutes(10);
/// An HTTP POST's whole exchange (connect, TLS, request, response) must end within this.
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);
/// The most of a receiver's answer kept (status line and start of body).
const MAX_RESPONSE: usize = 16 * 1024;

/// The message that tells admins a schedule paused itself.
pub fn paused_message(footer: &Footer, name: &str, reason: &str) -> Rendered {
    templates::layout(
        &format!("Report “{name}” paused"),
        "A scheduled report paused itself",
        &[
            Block::Text(format!("The scheduled report “{name}” was {reason}.")),
            Block::Text(
                "It renders what its creator may see. Ask an editor to take it over, or delete it."
                    .to_owned(),
            ),
        ],
        footer,
    )
}

/// The signature header value of `body` at unix time `t` with `secret`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// What a delivery needs of its run.
struct RunFiles {
    title: String,
    link: Option<String>,
    artifacts: Vec<ReportArtifact>,
    schedule_name: String,
    recipients: Vec<Recipient>,
    slot: time::OffsetDateTime,
    late: bool,
    workspace: vitrine_core::id::WorkspaceId,
    schedule_id: i64,
    run_id: i64,
}

async fn run_files(app: &App, d: &ReportDeliveryRecord) -> Result<RunFiles> {
    let run = app
        .store
        .report_run(d.run_id)
        .await?
        .ok_or(Error::NotFound)?;
    let schedule = app
        .store
        .report_schedule(d.workspace_id, run.schedule_id)
        .await?
        .ok_or(Error::NotFound)?;
    let parsed = super::spec::parse(&schedule)?;
    let mut artifacts = app.store.report_artifacts(d.run_id).await?;
    let title = artifacts
        .iter()
        .position(|a| a.name == "title.txt")
        .map(|i| String::from_utf8_lossy(&artifacts.remove(i).content).into_owned())
        .unwrap_or_else(|| schedule.name.clone());
    let link = if parsed.contents.live_link {
        super::live_link(app, &schedule, &parsed.contents).await?
    } else {
        None
    };
    Ok(RunFiles {
        title,
        link,
        artifacts,
        schedule_name: schedule.name,
        recipients: parsed.recipients,
        slot: run.slot,
        late: run.late,
        workspace: schedule.workspace_id,
        schedule_id: schedule.id,
        run_id: run.id,
    })
}

/// Sends every due delivery, batch by batch, until none is due.
pub async fn drain(app: &App) -> Result<u32> {
    let mut sent = 0;
    loop {
        let now = app.now();
        let claimed = app
            .store
            .claim_report_deliveries(now, now + LEASE, BATCH)
            .await?;
        if claimed.is_empty() {
            return Ok(sent);
        }
        for d in claimed {
            let result = match run_files(app, &d).await {
                Ok(files) => send_one(app, &d, &files).await,
                Err(e) => Err(SendError::Permanent(format!("the run cannot be read: {e}"))),
            };
            let outcome = match result {
                Ok(response) => {
                    sent += 1;
                    MailOutcome::Sent { response }
                }
                Err(SendError::Permanent(error)) => MailOutcome::Failed { error },
                Err(SendError::Transient(error))
                    if d.attempts >= i64::from(app.config.mail.max_attempts) =>
                {
                    MailOutcome::Failed { error }
                }
                Err(SendError::Transient(error)) => MailOutcome::Retry {
                    error,
                    next_attempt_at: app.now() + crate::mail::backoff(&app.config, d.attempts),
                },
            };
            if let MailOutcome::Failed { error } | MailOutcome::Retry { error, .. } = &outcome {
                tracing::warn!(delivery = d.id, kind = %d.kind, attempts = d.attempts, %error, "report delivery failed");
            }
            app.store
                .finish_report_delivery(d.id, d.attempts, outcome, app.now())
                .await?;
        }
    }
}

async fn send_one(
    app: &App,
    d: &ReportDeliveryRecord,
    files: &RunFiles,
) -> std::result::Result<String, SendError> {
    match d.kind.as_str() {
        "email" => send_email(app, d, files).await,
        "slack" => {
            let body = slack_body(files);
            post_json(&d.target, &body, &[]).await
        }
        "webhook" => {
            let secret = files
                .recipients
                .iter()
                .find_map(|r| match r {
                    Recipient::Webhook { url, secret } if *url == d.target => Some(secret.clone()),
                    _ => None,
                })
                .ok_or_else(|| {
                    SendError::Permanent("the webhook is no longer a recipient".into())
                })?;
            let body = webhook_body(files);
            let t = app.now().unix_timestamp();
            let secret = super::open_secret(app, &secret)
                .map_err(|e| SendError::Permanent(format!("the webhook's secret: {e}")))?;
            let sig = signature(&secret, t, &body);
            post_json(&d.target, &body, &[("X-Vitrine-Signature", sig)]).await
        }
        other => Err(SendError::Permanent(format!(
            "unknown delivery kind {other}"
        ))),
    }
}

fn slot_text(files: &RunFiles) -> String {
    let t = files
        .slot
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if files.late { format!("{t} (late)") } else { t }
}

async fn send_email(
    app: &App,
    d: &ReportDeliveryRecord,
    files: &RunFiles,
) -> std::result::Result<String, SendError> {
    let footer = crate::mail::footer(app, files.workspace)
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?;
    let mut blocks = vec![Block::Text(format!(
        "Your scheduled report “{}” for {}.",
        files.schedule_name,
        slot_text(files)
    ))];
    if let Some(link) = &files.link {
        blocks.push(Block::Button {
            label: "Open the live dashboard".into(),
            url: link.clone(),
        });
    }
    let attached: Vec<&str> = files
        .artifacts
        .iter()
        .filter(|a| a.mime != "image/png")
        .map(|a| a.name.as_str())
        .collect();
    if !attached.is_empty() {
        blocks.push(Block::Small(format!("Attached: {}.", attached.join(", "))));
    }
    let body = templates::layout(&files.title, &files.title, &blocks, &footer);
    let pngs: Vec<&ReportArtifact> = files
        .artifacts
        .iter()
        .filter(|a| a.mime == "image/png")
        .collect();
    let mut images = String::new();
    for p in &pngs {
        let cid = p.name.clone();
        images.push_str(&format!(
            "<p><img src=\"cid:{}\" alt=\"{}\" style=\"max-width:100%\"></p>",
            templates::escape_html(&cid),
            templates::escape_html(p.name.trim_end_matches(".png"))
        ));
    }
    let html = match body.html.rfind("</body>") {
        Some(i) => format!("{}{}{}", &body.html[..i], images, &body.html[i..]),
        None => format!("{}{}", body.html, images),
    };
    let mut related = MultiPart::related().singlepart(SinglePart::html(html));
    for p in &pngs {
        related = related.singlepart(Attachment::new_inline(p.name.clone()).body(
            p.content.clone(),
            ContentType::parse("image/png").expect("a valid type"),
        ));
    }
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(body.text.clone()))
        .multipart(related);
    let mut mixed = MultiPart::mixed().multipart(alternative);
    for a in files.artifacts.iter().filter(|a| a.mime != "image/png") {
        let ct = ContentType::parse(&a.mime).unwrap_or(ContentType::TEXT_PLAIN);
        mixed = mixed.singlepart(Attachment::new(a.name.clone()).body(a.content.clone(), ct));
    }
    let to: lettre::message::Mailbox = d
        .target
        .parse()
        .map_err(|e| SendError::Permanent(format!("bad recipient address: {e}")))?;
    let mailer = &app.outbox.mailer;
    let message_id = format!(
        "report-{}-{}-{}",
        files.run_id,
        d.id,
        mailer.new_message_id()
    );
    let message = mailer
        .builder(&message_id)
        .to(to)
        .subject(templates::one_line(&files.title))
        .date(
            std::time::SystemTime::UNIX_EPOCH
                + Duration::from_secs(u64::try_from(app.now().unix_timestamp()).unwrap_or(0)),
        )
        .multipart(mixed)
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
    mailer
        .send_message(message, &format!("report-{}-{}", files.run_id, d.id))
        .await
}

fn slack_body(files: &RunFiles) -> Vec<u8> {
    let mut blocks = vec![
        serde_json::json!({"type": "header", "text": {"type": "plain_text", "text": files.title}}),
        serde_json::json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("Scheduled report *{}* for {}", slack_escape(&files.schedule_name), slot_text(files))}}),
    ];
    if let Some(link) = &files.link {
        blocks.push(serde_json::json!({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": "Open the live dashboard"},
            "url": link}]}));
    }
    serde_json::to_vec(&serde_json::json!({ "text": files.title, "blocks": blocks }))
        .unwrap_or_default()
}

fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn webhook_body(files: &RunFiles) -> Vec<u8> {
    use base64::Engine as _;
    let files_json: Vec<serde_json::Value> = files
        .artifacts
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name, "type": a.mime, "size": a.content.len(),
                "base64": base64::engine::general_purpose::STANDARD.encode(&a.content),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "event": "report",
        "schedule_id": files.schedule_id,
        "run_id": files.run_id,
        "name": files.schedule_name,
        "title": files.title,
        "slot": files.slot.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "late": files.late,
        "live_link": files.link,
        "files": files_json,
    }))
    .unwrap_or_default()
}

/// POSTs `body` as JSON to `url` over HTTP/1.1 (TLS with the webpki roots for https); a 2xx
/// answer is success, 4xx (but 408 and 429) is permanent, anything else is worth a retry.
pub async fn post_json(
    url: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> std::result::Result<String, SendError> {
    match tokio::time::timeout(HTTP_TIMEOUT, post_json_inner(url, body, headers)).await {
        Ok(r) => r,
        Err(_) => Err(SendError::Transient(
            "the receiver did not answer in time".into(),
        )),
    }
}

async fn post_json_inner(
    url: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> std::result::Result<String, SendError> {
    let parsed = url::Url::parse(url).map_err(|e| SendError::Permanent(format!("bad URL: {e}")))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| SendError::Permanent("a URL without a host".into()))?
        .to_owned();
    let tls = match parsed.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(SendError::Permanent(format!("unsupported scheme {other}"))),
    };
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    let mut path = parsed.path().to_owned();
    if let Some(q) = parsed.query() {
        path.push('?');
        path.push_str(q);
    }
    let host_header = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: Vitrine-Reports\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    let connect_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tcp = tokio::net::TcpStream::connect((connect_host.as_str(), port))
        .await
        .map_err(|e| SendError::Transient(format!("cannot connect to {host_header}: {e}")))?;
    let answer = if tls {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(
            std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()),
        )
        .with_safe_default_protocol_versions()
        .map_err(|e| SendError::Transient(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(connect_host.clone())
            .map_err(|e| SendError::Permanent(format!("bad host name: {e}")))?;
        let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| SendError::Transient(format!("TLS with {host_header}: {e}")))?;
        exchange(stream, request.as_bytes(), body).await?
    } else {
        exchange(tcp, request.as_bytes(), body).await?
    };
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or("");
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| SendError::Transient("the receiver's answer is not HTTP".into()))?;
    let body_text = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    let summary: String = format!("{} {}", code, body_text.trim())
        .chars()
        .take(300)
        .collect();
    match code {
        200..=299 => Ok(summary),
        408 | 429 => Err(SendError::Transient(format!("HTTP {summary}"))),
        400..=499 => Err(SendError::Permanent(format!("HTTP {summary}"))),
        _ => Err(SendError::Transient(format!("HTTP {summary}"))),
    }
}

async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    head: &[u8],
    body: &[u8],
) -> std::result::Result<Vec<u8>, SendError> {
    let io = |e: std::io::Error| SendError::Transient(format!("talking to the receiver: {e}"));
    stream.write_all(head).await.map_err(io)?;
    stream.write_all(body).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            // A TLS peer that closes without close_notify: keep what came.
            Err(e) if !out.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(io(e)),
        };
        if n == 0 || out.len() >= MAX_RESPONSE {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok(out)
}
