//! What a schedule says besides its time: recipients, contents, fixed filter values; checked
//! when a schedule is created or changed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vitrine_core::dashboard::FilterValue;
use vitrine_store::ReportScheduleRecord;

use super::schedule::Frequency;
use crate::{Error, Result};

/// The schedule's parsed settings.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub frequency: Frequency,
    pub recipients: Vec<Recipient>,
    pub contents: Contents,
    pub filters: FixedFilters,
}

/// Parses a stored schedule's JSON columns (the scheduler, the deliveries and the API read
/// them alike).
pub fn parse(record: &ReportScheduleRecord) -> Result<Parsed> {
    let bad =
        |what: &str, e: serde_json::Error| Error::internal(format!("stored report {what}: {e}"));
    Ok(Parsed {
        frequency: serde_json::from_str(&record.frequency).map_err(|e| bad("frequency", e))?,
        recipients: serde_json::from_str(&record.recipients).map_err(|e| bad("recipients", e))?,
        contents: serde_json::from_str(&record.contents).map_err(|e| bad("contents", e))?,
        filters: serde_json::from_str(&record.filters).map_err(|e| bad("filters", e))?,
    })
}

/// Most recipients one schedule may have.
pub const MAX_RECIPIENTS: usize = 50;

/// Where a report goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    /// An e-mail address (in the workspace's allowed domains, when it has any).
    Email {
        /// The address.
        address: String,
    },
    /// A Slack incoming webhook (`https://hooks.slack.com/services/…`): a Block Kit message.
    /// With a bot token and a channel, each widget's picture is then uploaded to the channel
    /// (`files.getUploadURLExternal` → upload → `files.completeUploadExternal`).
    Slack {
        /// The incoming webhook's URL.
        webhook_url: String,
        /// A Slack bot token (`xoxb-…`, scopes `files:write` and `chat:write`) that uploads
        /// the pictures. Stored sealed with the server key and never shown again: answers
        /// carry `""` when one is set, and `""` sent back when changing a schedule keeps the
        /// saved token of the same webhook URL; absent (or `null`) means none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>, max_length = 255)]
        bot_token: Option<SlackToken>,
        /// The channel id the pictures go to (`C0123ABCD`; Slack: channel details → About);
        /// required with a bot token, which must be invited to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(max_length = 32)]
        channel: Option<String>,
    },
    /// A generic webhook: a JSON POST signed with HMAC-SHA256 of `secret`
    /// (header `X-Vitrine-Signature: t=<unix seconds>,v1=<hex>`, see docs/reports.md).
    Webhook {
        /// Where to POST.
        url: String,
        /// The shared secret (16 to 256 characters). Stored sealed with the server key and
        /// never shown again: answers carry `""`, and `""` sent back when changing a schedule
        /// keeps the saved secret of the same URL.
        #[schema(schema_with = crate::openapi::webhook_secret)]
        secret: String,
    },
}

impl Recipient {
    /// The delivery's kind and target.
    pub fn key(&self) -> (String, String) {
        match self {
            Recipient::Email { address } => ("email".into(), address.clone()),
            Recipient::Slack { webhook_url, .. } => ("slack".into(), webhook_url.clone()),
            Recipient::Webhook { url, .. } => ("webhook".into(), url.clone()),
        }
    }
}

/// A Slack bot token: its `Debug` never shows it. In stored recipients it is sealed
/// (`sealed:v1.…`); in answers it is empty ("a token is set").
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SlackToken(String);

impl SlackToken {
    /// Wraps a token (checked by [`check_recipients`], not here).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for the `Authorization` header and for sealing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is the empty "keep the saved token" / "a token is set" value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SlackToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("SlackToken(\"\")")
        } else {
            f.write_str("SlackToken(<redacted>)")
        }
    }
}

/// Whether `token` looks like a Slack bot or user token: `xoxb-` or `xoxp-`, then letters,
/// digits and dashes only (nothing that could end or add an HTTP header), at most 255 bytes.
pub fn valid_slack_token(token: &str) -> bool {
    (token.starts_with("xoxb-") || token.starts_with("xoxp-"))
        && token.len() > 5
        && token.len() <= 255
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether `channel` looks like a Slack conversation id (`C…`, `G…` or `D…`, upper-case
/// letters and digits).
pub fn valid_slack_channel(channel: &str) -> bool {
    (2..=32).contains(&channel.len())
        && channel.starts_with(['C', 'G', 'D'])
        && channel
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// What a report contains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contents {
    /// The dashboard (or the widget) as a PDF attachment.
    #[serde(default = "yes")]
    pub pdf: bool,
    /// A PNG of each widget, inline in the e-mail (`cid:`).
    #[serde(default = "yes")]
    pub png: bool,
    /// The widgets whose data is attached as CSV.
    #[serde(default)]
    pub csv: Vec<String>,
    /// A link to the live dashboard: a share link of the dashboard, never the members' page.
    #[serde(default = "yes")]
    pub live_link: bool,
    /// The share link the live link opens: an existing link of the dashboard (or of the
    /// widget). Absent with `live_link`: a new link "Report: <name>" is created for the
    /// schedule when it is saved (and kept when it is saved again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    pub live_link_id: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for Contents {
    fn default() -> Self {
        Self {
            pdf: true,
            png: true,
            csv: Vec::new(),
            live_link: true,
            live_link_id: None,
        }
    }
}

/// Fixed filter values: filter id → value, as a share link's locks.
pub type FixedFilters = BTreeMap<String, FilterValue>;

fn check_http_url(field: &str, url: &str, https_only: bool) -> Result<()> {
    let parsed =
        url::Url::parse(url).map_err(|_| Error::invalid_field(field, "expected an http(s) URL"))?;
    let ok_scheme = match parsed.scheme() {
        "https" => true,
        "http" => !https_only,
        _ => false,
    };
    if !ok_scheme || parsed.host_str().is_none() || url.len() > 2000 {
        return Err(Error::invalid_field(
            field,
            if https_only {
                "expected an https URL"
            } else {
                "expected an http(s) URL"
            },
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid_field(field, "no credentials in the URL"));
    }
    Ok(())
}

/// Whether `url` names a loopback, private, link-local or unspecified address literally (or
/// `localhost`): refused as a target unless the server itself runs on plain `http://` (a
/// development set-up). Names that resolve to such addresses are not caught here.
pub(crate) fn internal_target(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
        None => false,
    }
}

/// Checks recipients: well-formed, no duplicates, at most [`MAX_RECIPIENTS`], e-mail
/// addresses in `allowed_domains` (when not empty). `insecure_http` allows `http://` Slack
/// URLs (tests and local receivers).
pub fn check_recipients(
    recipients: &[Recipient],
    allowed_domains: &[String],
    insecure_http: bool,
) -> Result<Vec<Recipient>> {
    if recipients.is_empty() {
        return Err(Error::invalid_field(
            "recipients",
            "add at least one recipient",
        ));
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(Error::invalid_field(
            "recipients",
            format!("at most {MAX_RECIPIENTS} recipients"),
        ));
    }
    let mut out = Vec::with_capacity(recipients.len());
    let mut seen = std::collections::BTreeSet::new();
    for r in recipients {
        let r = match r {
            Recipient::Email { address } => {
                let address = crate::mail::parse_address(address)
                    .map_err(|_| Error::invalid_field("recipients", "not an e-mail address"))?;
                let domain = address
                    .rsplit('@')
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if !allowed_domains.is_empty()
                    && !allowed_domains
                        .iter()
                        .any(|d| d.eq_ignore_ascii_case(&domain))
                {
                    return Err(Error::invalid_field(
                        "recipients",
                        format!("{address} is outside the workspace's allowed e-mail domains"),
                    ));
                }
                Recipient::Email { address }
            }
            Recipient::Slack {
                webhook_url,
                bot_token,
                channel,
            } => {
                check_http_url("recipients", webhook_url, !insecure_http)?;
                if !insecure_http && internal_target(webhook_url) {
                    return Err(Error::invalid_field(
                        "recipients",
                        "a Slack URL may not point at a loopback or private address",
                    ));
                }
                let channel = channel.as_deref().map(str::trim).filter(|c| !c.is_empty());
                match (bot_token, channel) {
                    (None, None) => {}
                    (None, Some(_)) => {
                        return Err(Error::invalid_field(
                            "recipients",
                            "a Slack channel goes with a bot token (the webhook names its own channel)",
                        ));
                    }
                    (Some(t), _) if t.is_empty() => {
                        return Err(Error::invalid_field(
                            "recipients",
                            "no Slack bot token is saved for this webhook: give the token",
                        ));
                    }
                    (Some(t), _) if !valid_slack_token(t.expose()) => {
                        // Never echo the value: it is a secret.
                        return Err(Error::invalid_field(
                            "recipients",
                            "a Slack bot token starts with xoxb- (or xoxp-) and has only letters, digits and dashes",
                        ));
                    }
                    (Some(_), None) => {
                        return Err(Error::invalid_field(
                            "recipients",
                            "a Slack bot token needs the channel id the pictures go to (C…)",
                        ));
                    }
                    (Some(_), Some(c)) if !valid_slack_channel(c) => {
                        return Err(Error::invalid_field(
                            "recipients",
                            "a Slack channel is its id (C…, G… or D…, capital letters and digits), not its name",
                        ));
                    }
                    (Some(_), Some(_)) => {}
                }
                Recipient::Slack {
                    webhook_url: webhook_url.clone(),
                    bot_token: bot_token.clone(),
                    channel: channel.map(str::to_owned),
                }
            }
            Recipient::Webhook { url, secret } => {
                check_http_url("recipients", url, false)?;
                if !insecure_http && internal_target(url) {
                    return Err(Error::invalid_field(
                        "recipients",
                        "a webhook may not point at a loopback or private address",
                    ));
                }
                if !(16..=256).contains(&secret.chars().count()) {
                    return Err(Error::invalid_field(
                        "recipients",
                        "a webhook secret has 16 to 256 characters",
                    ));
                }
                r.clone()
            }
        };
        if !seen.insert(r.key()) {
            return Err(Error::invalid_field(
                "recipients",
                "a recipient is listed twice",
            ));
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slack(token: Option<&str>, channel: Option<&str>) -> Recipient {
        Recipient::Slack {
            webhook_url: "https://hooks.slack.test/services/T/B/x".into(),
            bot_token: token.map(SlackToken::new),
            channel: channel.map(str::to_owned),
        }
    }

    #[test]
    fn a_slack_bot_token_needs_its_shape_and_a_channel_and_never_shows_in_errors_or_debug() {
        let ok = |r: Recipient| check_recipients(&[r], &[], false);
        assert!(ok(slack(None, None)).is_ok());
        assert!(ok(slack(Some("xoxb-1-2-abcDEF"), Some("C0123ABCD"))).is_ok());
        assert!(ok(slack(Some("xoxp-1-2-abc"), Some("G01"))).is_ok());
        assert!(ok(slack(Some("xoxb-1-2-abc"), None)).is_err(), "no channel");
        assert!(ok(slack(None, Some("C0123ABCD"))).is_err(), "no token");
        assert!(
            ok(slack(Some(""), Some("C0123ABCD"))).is_err(),
            "nothing kept"
        );
        assert!(
            ok(slack(Some("xoxb-1"), Some("#general"))).is_err(),
            "a name"
        );
        for bad in [
            "xoxa-1-2-abc",
            "Bearer xoxb-1",
            "xoxb-",
            "xoxb-1-2-abc\r\nX-Injected: yes",
            "xoxb-1-2-abc\nX-Injected: yes",
            "xoxb-1 2",
            "xoxb-1-2-abc\t",
            "xoxb-é",
        ] {
            let err = ok(slack(Some(bad), Some("C0123ABCD")))
                .unwrap_err()
                .to_string();
            // ("xoxb-" alone is the message's own words.)
            assert!(
                bad == "xoxb-" || !err.contains(bad),
                "the token is not echoed: {err}"
            );
        }
        let long = format!("xoxb-{}", "a".repeat(251));
        assert!(ok(slack(Some(&long), Some("C0123ABCD"))).is_err());
        let debug = format!("{:?}", slack(Some("xoxb-1-2-secretpart"), Some("C1")));
        assert!(!debug.contains("secretpart"), "{debug}");
    }

    fn email(a: &str) -> Recipient {
        Recipient::Email { address: a.into() }
    }

    #[test]
    fn recipients_outside_the_allowed_domains_are_refused() {
        let allowed = vec!["acme.test".to_owned()];
        assert!(check_recipients(&[email("ann@acme.test")], &allowed, false).is_ok());
        assert!(check_recipients(&[email("ann@ACME.test")], &allowed, false).is_ok());
        assert!(check_recipients(&[email("eve@evil.test")], &allowed, false).is_err());
        assert!(check_recipients(&[email("eve@evil.test")], &[], false).is_ok());
        assert!(check_recipients(&[], &[], false).is_err());
        assert!(
            check_recipients(&[email("a@acme.test"), email("a@acme.test")], &[], false).is_err()
        );
        let slack = Recipient::Slack {
            webhook_url: "http://127.0.0.1:9/hook".into(),
            bot_token: None,
            channel: None,
        };
        assert!(check_recipients(std::slice::from_ref(&slack), &[], false).is_err());
        assert!(check_recipients(&[slack], &[], true).is_ok());
        let weak = Recipient::Webhook {
            url: "https://example.test/h".into(),
            secret: "short".into(),
        };
        assert!(check_recipients(&[weak], &[], false).is_err());
        let creds = Recipient::Webhook {
            url: "https://u:p@example.test/h".into(),
            secret: "0123456789abcdef".into(),
        };
        assert!(check_recipients(&[creds], &[], false).is_err());
        for internal in [
            "http://127.0.0.1:8080/h",
            "https://10.1.2.3/h",
            "https://192.168.0.1/h",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/h",
            "https://localhost/h",
        ] {
            let hook = Recipient::Webhook {
                url: internal.into(),
                secret: "0123456789abcdef".into(),
            };
            assert!(
                check_recipients(std::slice::from_ref(&hook), &[], false).is_err(),
                "{internal}"
            );
            assert!(
                check_recipients(&[hook], &[], true).is_ok(),
                "{internal} in development"
            );
        }
    }

    #[test]
    fn a_webhook_secret_has_16_to_256_characters_whatever_their_bytes() {
        let hook = |secret: String| {
            [Recipient::Webhook {
                url: "https://example.test/h".into(),
                secret,
            }]
        };
        assert!(check_recipients(&hook("x".repeat(15)), &[], false).is_err());
        assert!(check_recipients(&hook("x".repeat(16)), &[], false).is_ok());
        assert!(check_recipients(&hook("x".repeat(256)), &[], false).is_ok());
        assert!(check_recipients(&hook("x".repeat(257)), &[], false).is_err());
        // 100 characters of three bytes each: within the documented 256 characters.
        assert!(check_recipients(&hook("€".repeat(100)), &[], false).is_ok());
        assert!(check_recipients(&hook("€".repeat(257)), &[], false).is_err());
    }
}
