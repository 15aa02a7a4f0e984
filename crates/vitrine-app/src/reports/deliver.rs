//! Sending a run's deliveries: e-mail through the people mailer (PDF and CSV attached, PNGs
//! inline by `cid:`, the live link), Slack incoming webhooks (Block Kit JSON) and generic
//! webhooks (JSON signed with HMAC-SHA256). Each delivery is claimed, sent and recorded on its
//! own; a failure is retried with the mail backoff up to `mail.max_attempts`, then failed with
//! its error. Other recipients of the run are never sent twice.
//!
//! A Slack recipient with a bot token and a channel gets the webhook message first, then each
//! widget's PNG uploaded with Slack's external upload flow: `files.getUploadURLExternal`
//! (form `filename`, `length`; `Authorization: Bearer`) → `POST` the bytes to the answered
//! `upload_url` (without the token) → one `files.completeUploadExternal` (JSON `files`,
//! `channel_id`, `initial_comment`) that shares them all in one message. Slack's `ok: false`
//! fails the attempt with Slack's error code (retried like any failure; a dead token fails for
//! good). The webhook post is noted on the delivery once it is done, so a retry of the upload
//! does not post the message twice. The token is never in an error, a log line or an answer.
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

use super::spec::{Recipient, SlackToken, valid_slack_token};
use crate::mail::{Block, Footer, Rendered, SendError, templates};
use crate::{App, Error, Result};

/// Deliveries claimed per batch.
const BATCH: i64 = 10;
/// A delivery's claim lasts this long.
const LEASE: time::Duration = time::Duration::minutes(10);
/// An HTTP POST's whole exchange (connect, TLS, request, response) must end within this.
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);
/// The most of a receiver's answer read (status line, headers and body): Slack's answers
/// describe each shared file and run to a few kilobytes each.
const MAX_RESPONSE: usize = 256 * 1024;
/// How a Slack delivery's provider response starts once its webhook message is posted.
const WEBHOOK_POSTED: &str = "webhook: ";

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
        "slack" => send_slack(app, d, files).await,
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

/// The webhook message, then (with a bot token and a channel) the pictures.
async fn send_slack(
    app: &App,
    d: &ReportDeliveryRecord,
    files: &RunFiles,
) -> std::result::Result<String, SendError> {
    let upload = files.recipients.iter().find_map(|r| match r {
        Recipient::Slack {
            webhook_url,
            bot_token: Some(token),
            channel: Some(channel),
        } if *webhook_url == d.target => Some((token.clone(), channel.clone())),
        _ => None,
    });
    let Some((token, channel)) = upload else {
        return post_json(&d.target, &slack_body(files), &[]).await;
    };
    // A retry after a failed upload does not post the message again.
    let posted = match d
        .provider_response
        .as_deref()
        .filter(|r| r.starts_with(WEBHOOK_POSTED))
    {
        Some(done) => done.to_owned(),
        None => {
            let answer = post_json(&d.target, &slack_body(files), &[]).await?;
            let done = format!("{WEBHOOK_POSTED}{answer}");
            let still_ours = app
                .store
                .note_report_delivery_progress(d.id, d.attempts, &done)
                .await
                .map_err(|e| {
                    SendError::Transient(format!("cannot record the Slack message: {e}"))
                })?;
            if !still_ours {
                return Err(SendError::Transient(
                    "the delivery was claimed by another instance".into(),
                ));
            }
            done
        }
    };
    let token = super::open_secret(app, token.expose())
        .map_err(|e| SendError::Permanent(format!("the Slack bot token: {e}")))?;
    let uploaded = slack_upload(app, files, &SlackToken::new(token), &channel).await?;
    Ok(format!("{posted}; {uploaded}"))
}

/// Whether plain-http and loopback targets are allowed (the server itself is on `http://`).
fn insecure(app: &App) -> bool {
    app.config.base_url.starts_with("http://")
}

/// Uploads the run's PNGs to `channel` and shares them in one message.
async fn slack_upload(
    app: &App,
    files: &RunFiles,
    token: &SlackToken,
    channel: &str,
) -> std::result::Result<String, SendError> {
    if !valid_slack_token(token.expose()) {
        return Err(SendError::Permanent(
            "the saved Slack bot token is malformed".into(),
        ));
    }
    let api = app.config.reports.slack_api_base.trim_end_matches('/');
    if !api.starts_with("https://") && !insecure(app) {
        return Err(SendError::Permanent(
            "reports.slack_api_base must be https (plain http only when base_url is http)".into(),
        ));
    }
    let pngs: Vec<&ReportArtifact> = files
        .artifacts
        .iter()
        .filter(|a| a.mime == "image/png")
        .collect();
    if pngs.is_empty() {
        return Ok("no pictures to upload".into());
    }
    let mut shared = Vec::with_capacity(pngs.len());
    let mut ids = Vec::with_capacity(pngs.len());
    for png in pngs {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("filename", &png.name)
            .append_pair("length", &png.content.len().to_string())
            .finish();
        let answer = slack_call(
            api,
            token,
            "files.getUploadURLExternal",
            "application/x-www-form-urlencoded",
            form.as_bytes(),
        )
        .await?;
        let (Some(upload_url), Some(file_id)) =
            (answer["upload_url"].as_str(), answer["file_id"].as_str())
        else {
            return Err(SendError::Transient(
                "Slack files.getUploadURLExternal: the answer has no upload_url or file_id".into(),
            ));
        };
        let https = upload_url.starts_with("https://");
        if !(https || (insecure(app) && upload_url.starts_with("http://")))
            || (!insecure(app) && super::spec::internal_target(upload_url))
        {
            return Err(SendError::Permanent(
                "Slack answered an upload URL that is not a public https URL".into(),
            ));
        }
        // The upload URL is signed by Slack: it gets the bytes, never the token.
        let sent = post(upload_url, "application/octet-stream", &png.content, &[])
            .await
            .map_err(|e| e.map(|m| format!("uploading {} to Slack: {m}", png.name)))?;
        if !(200..300).contains(&sent.code) {
            return Err(SendError::Transient(format!(
                "uploading {} to Slack: HTTP {}",
                png.name,
                sent.summary()
            )));
        }
        shared.push(serde_json::json!({
            "id": file_id,
            "title": png.name.trim_end_matches(".png"),
        }));
        ids.push(file_id.to_owned());
    }
    let body = serde_json::json!({
        "files": shared,
        "channel_id": channel,
        "initial_comment": format!("{} for {}", files.title, slot_text(files)),
    });
    slack_call(
        api,
        token,
        "files.completeUploadExternal",
        "application/json; charset=utf-8",
        &serde_json::to_vec(&body).unwrap_or_default(),
    )
    .await?;
    Ok(format!(
        "{} picture{} shared in {channel} ({})",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        ids.join(", ")
    ))
}

/// Slack errors that no retry can mend: the token itself is dead.
const DEAD_TOKEN: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "not_allowed_token_type",
];

/// Calls a Slack Web API method; its JSON answer when `ok` is true.
async fn slack_call(
    api: &str,
    token: &SlackToken,
    method: &str,
    content_type: &str,
    body: &[u8],
) -> std::result::Result<serde_json::Value, SendError> {
    let url = format!("{api}/{method}");
    let auth = [("Authorization", format!("Bearer {}", token.expose()))];
    let answer = post(&url, content_type, body, &auth)
        .await
        .map_err(|e| e.map(|m| format!("Slack {method}: {m}")))?;
    if !(200..300).contains(&answer.code) {
        let summary = format!("Slack {method}: HTTP {}", answer.summary());
        return Err(match answer.code {
            408 | 429 => SendError::Transient(summary),
            400..=499 => SendError::Permanent(summary),
            _ => SendError::Transient(summary),
        });
    }
    let value: serde_json::Value = serde_json::from_slice(&answer.body)
        .map_err(|_| SendError::Transient(format!("Slack {method}: the answer is not JSON")))?;
    if value["ok"].as_bool() == Some(true) {
        return Ok(value);
    }
    // Slack's error is a short code (`not_in_channel`); keep only such characters.
    let code: String = value["error"]
        .as_str()
        .unwrap_or("unknown_error")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .take(80)
        .collect();
    let message = format!("Slack {method}: {code}");
    if DEAD_TOKEN.contains(&code.as_str()) {
        Err(SendError::Permanent(message))
    } else {
        Err(SendError::Transient(message))
    }
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
    let answer = post(url, "application/json", body, headers).await?;
    let summary = answer.summary();
    match answer.code {
        200..=299 => Ok(summary),
        408 | 429 => Err(SendError::Transient(format!("HTTP {summary}"))),
        400..=499 => Err(SendError::Permanent(format!("HTTP {summary}"))),
        _ => Err(SendError::Transient(format!("HTTP {summary}"))),
    }
}

/// A receiver's answer: its status and body (de-chunked).
struct Answer {
    code: u16,
    body: Vec<u8>,
}

impl Answer {
    /// The status and the start of the body, for errors and provider responses.
    fn summary(&self) -> String {
        format!(
            "{} {}",
            self.code,
            String::from_utf8_lossy(&self.body).trim()
        )
        .chars()
        .take(300)
        .collect()
    }
}

trait MapSendError {
    fn map(self, f: impl FnOnce(String) -> String) -> SendError;
}

impl MapSendError for SendError {
    fn map(self, f: impl FnOnce(String) -> String) -> SendError {
        match self {
            SendError::Transient(m) => SendError::Transient(f(m)),
            SendError::Permanent(m) => SendError::Permanent(f(m)),
        }
    }
}

/// POSTs `body` with `content_type` to `url` and reads the whole answer, within
/// [`HTTP_TIMEOUT`]; only failures to talk HTTP are errors here.
async fn post(
    url: &str,
    content_type: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> std::result::Result<Answer, SendError> {
    match tokio::time::timeout(HTTP_TIMEOUT, post_inner(url, content_type, body, headers)).await {
        Ok(r) => r,
        Err(_) => Err(SendError::Transient(
            "the receiver did not answer in time".into(),
        )),
    }
}

async fn post_inner(
    url: &str,
    content_type: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> std::result::Result<Answer, SendError> {
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
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
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
    parse_answer(&answer)
        .ok_or_else(|| SendError::Transient("the receiver's answer is not HTTP".into()))
}

/// Splits an HTTP/1.1 answer read to its end into status and body, de-chunking a
/// `Transfer-Encoding: chunked` body (Slack's API answers that way).
fn parse_answer(raw: &[u8]) -> Option<Answer> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let code: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        })
    });
    let rest = &raw[head_end + 4..];
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Some(Answer { code, body })
}

/// The data of a chunked body (as much as is whole, when it was cut short).
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            out.extend_from_slice(&rest[..size.min(rest.len())]);
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_answer_is_read_whole() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"ok\":t\r\n5;x=y\r\nrue}\n\r\n0\r\n\r\n";
        let answer = parse_answer(raw).unwrap();
        assert_eq!(answer.code, 200);
        assert_eq!(answer.body, b"{\"ok\":true}\n");
        let plain = parse_answer(b"HTTP/1.1 500 X\r\nContent-Length: 2\r\n\r\nno").unwrap();
        assert_eq!((plain.code, plain.body.as_slice()), (500, &b"no"[..]));
        assert!(parse_answer(b"garbage").is_none());
    }
}
