//! Scheduled reports: a dashboard or one widget sent on a schedule to e-mail addresses, Slack
//! incoming webhooks and generic (signed) webhooks.
//!
//! - [`schedule`]: frequencies, IANA zones, the DST rule, next-fire computation and which
//!   missed slot to send after downtime.
//! - [`spec`]: recipients, contents and fixed filter values, checked.
//! - [`run`]: the scheduler. Each due slot is claimed once in the store (unique per schedule
//!   and slot), rendered once **as the schedule's creator** ("run as": what they may see, with
//!   the schedule's fixed filters applied through the share links' lock mechanism,
//!   [`crate::dashboards::Restrictions`]); a creator who lost access pauses the schedule,
//!   which is audited and mailed to the workspace's admins.
//! - [`deliver`]: one delivery per run and recipient, sent and retried on its own.

pub mod deliver;
pub mod run;
pub mod schedule;
pub mod spec;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vitrine_core::id::DashboardId;
use vitrine_store::{
    Member, NewReportSchedule, ReportDeliveryRecord, ReportRunRecord, ReportScheduleRecord,
    RunOrigin,
};

pub use run::{POLL_EVERY, Scheduler, Ticked, spawn, tick};
pub use schedule::{CompiledSchedule, Day, Due, Frequency, zones};
pub use spec::{Contents, FixedFilters, Recipient, SlackToken};

use crate::accounts::Acting;
use crate::{App, Error, Result};

/// What a member submits to create or change a schedule.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// The dashboard.
    pub dashboard_id: i64,
    /// One widget of it, or the whole dashboard.
    #[serde(default)]
    pub widget_id: Option<String>,
    /// A name for lists and subjects.
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    /// When.
    pub frequency: Frequency,
    /// The IANA time zone the frequency is read in, e.g. `Europe/Berlin`.
    pub zone: String,
    /// Where it goes.
    pub recipients: Vec<Recipient>,
    /// What it contains.
    #[serde(default)]
    pub contents: Contents,
    /// Filter values fixed for every delivery (filter id → value, as a share link's locks).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub filters: FixedFilters,
    /// Send nothing when every data widget is empty.
    #[serde(default)]
    pub skip_when_empty: bool,
    /// Whether it runs.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// A schedule as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    pub id: i64,
    pub dashboard_id: i64,
    pub widget_id: Option<String>,
    pub name: String,
    pub frequency: Frequency,
    pub zone: String,
    pub recipients: Vec<Recipient>,
    pub contents: Contents,
    #[schema(value_type = Object)]
    pub filters: FixedFilters,
    pub skip_when_empty: bool,
    pub enabled: bool,
    /// Why it paused itself, when it did.
    pub paused_reason: Option<String>,
    /// Whose access it renders with.
    pub run_as: Option<i64>,
    /// The next five send times (for code; shown as `next_at` and `next_local`).
    #[serde(skip)]
    #[schema(ignore)]
    pub next: Vec<OffsetDateTime>,
    /// The next five send times, RFC 3339 in UTC.
    pub next_at: Vec<String>,
    /// The same in the schedule's zone, e.g. `2026-03-30 09:00 CEST`.
    pub next_local: Vec<String>,
}

/// RFC 3339 text of an instant.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The live link of a report: the URL of its share link, or `None` when it has none or that
/// link no longer opens (disabled, expired, deleted, sharing suspended): the report then goes
/// out without a live link (never with the members' page, which outsiders cannot open), and
/// the schedule's page says so.
pub async fn live_link(
    app: &App,
    schedule: &ReportScheduleRecord,
    contents: &Contents,
) -> Result<Option<String>> {
    Ok(
        live_link_state(app, schedule.workspace_id, schedule.dashboard_id, contents)
            .await?
            .and_then(|(url, problem)| if problem.is_none() { Some(url) } else { None }),
    )
}

/// The share link behind a report's live link: its URL and, when it does not open now, why.
pub async fn live_link_state(
    app: &App,
    workspace: vitrine_core::id::WorkspaceId,
    dashboard: DashboardId,
    contents: &Contents,
) -> Result<Option<(String, Option<String>)>> {
    let Some(id) = contents
        .live_link_id
        .as_deref()
        .filter(|_| contents.live_link)
    else {
        return Ok(None);
    };
    let Some(link) = app
        .store
        .link(id)
        .await?
        .filter(|l| l.workspace_id == workspace && l.dashboard_id == dashboard)
    else {
        return Ok(Some((
            String::new(),
            Some("the share link was deleted".to_owned()),
        )));
    };
    if link.deleted_at.is_some() {
        return Ok(Some((
            String::new(),
            Some("the share link was deleted".to_owned()),
        )));
    }
    let ws = app
        .store
        .workspace(workspace)
        .await?
        .ok_or(Error::NotFound)?;
    let (url, _) = crate::links::urls(app, &link)?;
    let problem = match link.status(&ws).accessible(app.now()) {
        Ok(_) => None,
        Err(reason) => Some(format!(
            "the share link “{}” is {}",
            link.label,
            reason.as_str()
        )),
    };
    Ok(Some((url, problem)))
}

/// Checks or creates the share link a schedule's live link opens (see [`Contents`]):
/// an existing link must be a live link of the same dashboard; a change of link (a new one or
/// another) needs the "Share publicly" permission, since it hands the link to the recipients.
async fn resolve_live_link(
    app: &App,
    member: &Member,
    input: &ScheduleInput,
    name: &str,
    current: Option<&ReportScheduleRecord>,
) -> Result<Option<String>> {
    if !input.contents.live_link {
        return Ok(None);
    }
    let kept = current
        .filter(|c| c.dashboard_id.0 == input.dashboard_id)
        .and_then(|c| spec::parse(c).ok())
        .and_then(|p| p.contents.live_link_id);
    let wanted = input.contents.live_link_id.clone().or(kept.clone());
    let no_permission = || {
        Error::invalid_field(
            "contents.live_link",
            "the live link is a share link of the dashboard, which needs the “Share publicly” permission: untick the live link or ask an admin",
        )
    };
    if let Some(id) = wanted {
        let link = app
            .store
            .link(&id)
            .await?
            .filter(|l| {
                l.workspace_id == member.workspace_id
                    && l.dashboard_id.0 == input.dashboard_id
                    && l.deleted_at.is_none()
            })
            .ok_or_else(|| {
                Error::invalid_field(
                    "contents.live_link_id",
                    "no such share link of this dashboard",
                )
            })?;
        if kept.as_deref() != Some(link.id.as_str()) && !member.actor().can_share_public() {
            return Err(no_permission());
        }
        return Ok(Some(link.id));
    }
    if !member.actor().can_share_public() {
        return Err(no_permission());
    }
    let label: String = format!("Report: {name}").chars().take(100).collect();
    let new = crate::links::NewLink {
        dashboard_id: DashboardId(input.dashboard_id),
        widget_id: input.widget_id.clone(),
        label,
        expiry: vitrine_core::share::Expiry::Never,
        password: None,
        // The recipients see on the live page what the report showed them.
        locked_filters: input.filters.clone(),
        open_filters: None,
        display: Default::default(),
        embed: Default::default(),
        access: Default::default(),
        rules: Vec::new(),
    };
    let mut attempt = crate::links::create_link(app, member, new.clone()).await;
    if let Err(Error::Invalid { .. }) = &attempt {
        // A workspace with a longest expiry: the longest it allows.
        if let Ok(policy) = crate::links::policy(app, member).await
            && let Some(days) = policy.max_link_days
        {
            let new = crate::links::NewLink {
                expiry: vitrine_core::share::Expiry::Days {
                    days: u32::try_from(days).unwrap_or(1),
                },
                ..new
            };
            attempt = crate::links::create_link(app, member, new).await;
        }
    }
    match attempt {
        Ok(view) => Ok(Some(view.id)),
        Err(Error::Forbidden) => Err(no_permission()),
        Err(Error::Invalid { message, .. } | Error::Conflict(message)) => {
            Err(Error::invalid_field(
                "contents.live_link",
                format!("no share link could be created for the live link: {message}"),
            ))
        }
        Err(other) => Err(other),
    }
}

fn view(record: ReportScheduleRecord, now: OffsetDateTime) -> Result<ScheduleView> {
    let parsed = spec::parse(&record)?;
    let compiled = parsed.frequency.compile(&record.zone).ok();
    let next = compiled
        .as_ref()
        .map(|c| c.upcoming(now, 5))
        .unwrap_or_default();
    let next_at = next.iter().map(|t| rfc3339(*t)).collect();
    let next_local = next
        .iter()
        .filter_map(|t| compiled.as_ref().map(|c| c.local_text(*t)))
        .collect();
    Ok(ScheduleView {
        id: record.id,
        dashboard_id: record.dashboard_id.0,
        widget_id: record.widget_id,
        name: record.name,
        frequency: parsed.frequency,
        zone: record.zone,
        // Secrets are never shown again (an empty one, sent back, keeps the saved one).
        recipients: parsed
            .recipients
            .into_iter()
            .map(|r| match r {
                Recipient::Webhook { url, .. } => Recipient::Webhook {
                    url,
                    secret: String::new(),
                },
                Recipient::Slack {
                    webhook_url,
                    bot_token,
                    channel,
                } => Recipient::Slack {
                    webhook_url,
                    bot_token: bot_token.map(|_| SlackToken::new("")),
                    channel,
                },
                other => other,
            })
            .collect(),
        contents: parsed.contents,
        filters: parsed.filters,
        skip_when_empty: record.skip_when_empty,
        enabled: record.enabled,
        paused_reason: record.paused_reason,
        run_as: record.created_by.map(|m| m.0),
        next,
        next_at,
        next_local,
    })
}

/// The next `n` send times of a frequency in a zone (the form's preview).
pub fn preview(
    app: &App,
    frequency: &Frequency,
    zone: &str,
    n: usize,
) -> Result<Vec<OffsetDateTime>> {
    Ok(frequency.compile(zone)?.upcoming(app.now(), n.min(20)))
}

/// The next `n` send times of a frequency in a zone, each as RFC 3339 in UTC and as local
/// text in the zone (`2026-03-30 09:00 CEST`): the form's preview.
pub fn preview_times(
    app: &App,
    frequency: &Frequency,
    zone: &str,
    n: usize,
) -> Result<Vec<(String, String)>> {
    let compiled = frequency.compile(zone)?;
    Ok(compiled
        .upcoming(app.now(), n.min(20))
        .into_iter()
        .map(|t| (rfc3339(t), compiled.local_text(t)))
        .collect())
}

/// Pauses or resumes a schedule without changing anything else (its "run as" stays). Resuming
/// clears a pause reason and starts from the next slot after now: slots missed while paused
/// are not sent.
pub async fn set_enabled(
    app: &App,
    member: &Member,
    id: i64,
    enabled: bool,
) -> Result<ScheduleView> {
    may_schedule(member)?;
    let current = get(app, member, id).await?;
    let now = app.now();
    app.store
        .set_report_schedule_enabled(id, enabled, None, now)
        .await?;
    if enabled {
        let next = current
            .frequency
            .compile(&current.zone)
            .ok()
            .and_then(|c| c.next_after(now));
        app.store.advance_report_schedule(id, next).await?;
    }
    crate::accounts::audit(
        app,
        member.workspace_id,
        &acting(member),
        if enabled {
            "report.resumed"
        } else {
            "report.paused"
        },
        format!("report:{id}"),
        serde_json::json!({ "name": current.name, "by": "member" }),
    )
    .await?;
    get(app, member, id).await
}

/// The display name of the member a schedule runs as (`None`: nobody, or no longer a member
/// of this workspace).
pub async fn run_as_name(
    app: &App,
    member: &Member,
    view: &ScheduleView,
) -> Result<Option<String>> {
    let Some(id) = view.run_as else {
        return Ok(None);
    };
    Ok(app
        .store
        .member(vitrine_core::id::MemberId(id))
        .await?
        .filter(|m| m.workspace_id == member.workspace_id)
        .map(|m| {
            if m.name.is_empty() {
                m.email
            } else {
                format!("{} ({})", m.name, m.email)
            }
        }))
}

/// Most allowed e-mail domains a workspace may list.
pub const MAX_EMAIL_DOMAINS: usize = 100;

/// Checks and normalises a list of allowed e-mail domains: trimmed, a leading `@` dropped,
/// lower case, ASCII (an international name in its `xn--` form), at least two labels, no
/// duplicates. A recipient's domain must equal one of them: a subdomain is not included
/// (list `eu.example.com` separately).
pub fn normalise_email_domains(domains: &[String]) -> Result<Vec<String>> {
    // Entries as sent, before blanks and repeats are dropped: the API's `maxItems`.
    if domains.len() > MAX_EMAIL_DOMAINS {
        return Err(Error::invalid_field(
            "domains",
            format!("at most {MAX_EMAIL_DOMAINS} domains"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for raw in domains {
        let d = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        if d.is_empty() {
            continue;
        }
        let valid = d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            });
        if !valid {
            let shown: String = raw.trim().chars().take(80).collect();
            return Err(Error::invalid_field(
                "domains",
                format!("“{shown}” is not a domain name like example.com"),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > MAX_EMAIL_DOMAINS {
        return Err(Error::invalid_field(
            "domains",
            format!("at most {MAX_EMAIL_DOMAINS} domains"),
        ));
    }
    Ok(out)
}

/// The workspace's allowed e-mail domains for report recipients (empty: any address), for
/// members who may schedule.
pub async fn email_domains(app: &App, member: &Member) -> Result<Vec<String>> {
    may_schedule(member)?;
    Ok(app.store.report_email_domains(member.workspace_id).await?)
}

/// Sets the workspace's allowed e-mail domains (admins only); the saved list.
pub async fn set_email_domains(
    app: &App,
    member: &Member,
    domains: &[String],
) -> Result<Vec<String>> {
    if !member.actor().is_admin() {
        return Err(Error::Forbidden);
    }
    set_email_domains_as(app, member.workspace_id, &acting(member), domains).await
}

/// [`set_email_domains`] for a front door that has already decided who may (the CLI).
/// Existing schedules are not changed: a recipient outside the new list is refused the next
/// time its schedule is saved, not at send time.
pub async fn set_email_domains_as(
    app: &App,
    workspace: vitrine_core::id::WorkspaceId,
    by: &Acting,
    domains: &[String],
) -> Result<Vec<String>> {
    let domains = normalise_email_domains(domains)?;
    app.store
        .set_report_email_domains(workspace, &domains)
        .await?;
    crate::accounts::audit(
        app,
        workspace,
        by,
        "report.domains_changed",
        "workspace".to_owned(),
        serde_json::json!({ "domains": domains }),
    )
    .await?;
    Ok(domains)
}

/// The purpose webhook secrets and Slack bot tokens are sealed for (a key derived from the
/// server key, like data-source settings).
pub const WEBHOOK_SECRET_PURPOSE: &str = "report-webhook-secret";
/// How a sealed secret starts in the stored recipients.
const SEALED: &str = "sealed:";

fn secret_sealer(app: &App) -> vitrine_core::seal::Sealer {
    vitrine_core::seal::Sealer::new(
        &app.keys.server.derive(WEBHOOK_SECRET_PURPOSE),
        WEBHOOK_SECRET_PURPOSE,
    )
}

/// A stored webhook secret or Slack bot token in clear: sealed ones (`sealed:v1.…`) are
/// opened; webhook secrets stored before secrets were sealed are clear text and returned as
/// they are.
pub fn open_secret(app: &App, stored: &str) -> Result<String> {
    match stored.strip_prefix(SEALED) {
        Some(sealed) => {
            let bytes = secret_sealer(app)
                .open(sealed)
                .map_err(|e| Error::internal(format!("a stored secret does not open: {e}")))?;
            String::from_utf8(bytes).map_err(Error::internal)
        }
        None => Ok(stored.to_owned()),
    }
}

fn seal_secret(app: &App, secret: &str) -> String {
    format!("{SEALED}{}", secret_sealer(app).seal(secret.as_bytes()))
}

/// Recipients as stored: webhook secrets and Slack bot tokens sealed with the server key.
fn sealed_recipients(app: &App, recipients: Vec<Recipient>) -> Vec<Recipient> {
    recipients
        .into_iter()
        .map(|r| match r {
            Recipient::Webhook { url, secret } if !secret.starts_with(SEALED) => {
                Recipient::Webhook {
                    secret: seal_secret(app, &secret),
                    url,
                }
            }
            Recipient::Slack {
                webhook_url,
                bot_token: Some(token),
                channel,
            } if !token.expose().starts_with(SEALED) => Recipient::Slack {
                webhook_url,
                bot_token: Some(SlackToken::new(seal_secret(app, token.expose()))),
                channel,
            },
            other => other,
        })
        .collect()
}

/// An input's recipients with an empty webhook secret (or Slack bot token) replaced by the
/// saved one of the same URL ("keep the secret"): views never show secrets, so a client sends
/// them back empty.
fn with_kept_secrets(
    app: &App,
    recipients: &[Recipient],
    current: Option<&ReportScheduleRecord>,
) -> Result<Vec<Recipient>> {
    let saved = match current {
        Some(c) => spec::parse(c)?.recipients,
        None => Vec::new(),
    };
    recipients
        .iter()
        .map(|r| match r {
            Recipient::Webhook { url, secret } if secret.is_empty() => {
                let kept = saved.iter().find_map(|s| match s {
                    Recipient::Webhook { url: u, secret } if u == url => Some(secret.clone()),
                    _ => None,
                });
                Ok(Recipient::Webhook {
                    url: url.clone(),
                    secret: match kept {
                        Some(stored) => open_secret(app, &stored)?,
                        None => String::new(),
                    },
                })
            }
            Recipient::Slack {
                webhook_url,
                bot_token: Some(token),
                channel,
            } if token.is_empty() => {
                let kept = saved.iter().find_map(|s| match s {
                    Recipient::Slack {
                        webhook_url: u,
                        bot_token: Some(saved),
                        ..
                    } if u == webhook_url => Some(saved.clone()),
                    _ => None,
                });
                Ok(Recipient::Slack {
                    webhook_url: webhook_url.clone(),
                    bot_token: Some(match kept {
                        Some(stored) => SlackToken::new(open_secret(app, stored.expose())?),
                        None => SlackToken::new(""),
                    }),
                    channel: channel.clone(),
                })
            }
            other => Ok(other.clone()),
        })
        .collect()
}

/// Members who may schedule a dashboard: those who can edit it.
fn may_schedule(member: &Member) -> Result<()> {
    if member.actor().can_edit_content() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

async fn checked(
    app: &App,
    member: &Member,
    input: &ScheduleInput,
    current: Option<&ReportScheduleRecord>,
) -> Result<NewReportSchedule> {
    may_schedule(member)?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(Error::invalid_field("name", "1 to 120 characters"));
    }
    let compiled = input.frequency.compile(&input.zone)?;
    let (_, ctx) = crate::content::open_dashboard(app, member, DashboardId(input.dashboard_id))
        .await
        .map_err(|_| Error::invalid_field("dashboard_id", "no such dashboard"))?;
    if let Some(w) = &input.widget_id
        && !ctx.document.widgets.iter().any(|x| x.id.as_str() == w)
    {
        return Err(Error::invalid_field(
            "widget_id",
            "no such widget on the dashboard",
        ));
    }
    for c in &input.contents.csv {
        if !ctx.document.widgets.iter().any(|x| x.id.as_str() == c) {
            return Err(Error::invalid_field(
                "contents.csv",
                "no such widget on the dashboard",
            ));
        }
    }
    for (id, value) in &input.filters {
        let filter = ctx.document.filter(id).ok_or_else(|| {
            Error::invalid_field("filters", format!("no filter {id} on the dashboard"))
        })?;
        let source = [crate::dashboards::Restriction::Lock { filter, value }];
        crate::dashboards::Restrictions::build(
            &ctx.document,
            |slug| ctx.dataset_columns(slug),
            &source,
            app.now().date(),
        )
        .map_err(|e| Error::invalid_field("filters", e.0))?;
    }
    let domains = app.store.report_email_domains(member.workspace_id).await?;
    let recipients = spec::check_recipients(
        &with_kept_secrets(app, &input.recipients, current)?,
        &domains,
        app.config.base_url.starts_with("http://"),
    )?;
    let recipients = sealed_recipients(app, recipients);
    // Last, once everything else is valid: it may create a share link.
    let mut contents = input.contents.clone();
    contents.live_link_id = resolve_live_link(app, member, input, name, current).await?;
    let json = |v: serde_json::Result<String>| v.map_err(Error::internal);
    Ok(NewReportSchedule {
        workspace_id: member.workspace_id,
        dashboard_id: DashboardId(input.dashboard_id),
        widget_id: input.widget_id.clone(),
        name: name.to_owned(),
        frequency: json(serde_json::to_string(&input.frequency))?,
        zone: compiled.zone_name().to_owned(),
        recipients: json(serde_json::to_string(&recipients))?,
        contents: json(serde_json::to_string(&contents))?,
        filters: json(serde_json::to_string(&input.filters))?,
        skip_when_empty: input.skip_when_empty,
        enabled: input.enabled,
        created_by: Some(member.id),
        next_slot: compiled.next_after(app.now()),
    })
}

fn acting(member: &Member) -> Acting {
    Acting::Member {
        actor: member.actor(),
        email: member.email.clone(),
    }
}

/// Creates a schedule that runs as `member`.
pub async fn create(app: &App, member: &Member, input: &ScheduleInput) -> Result<ScheduleView> {
    let new = checked(app, member, input, None).await?;
    let id = app.store.create_report_schedule(&new, app.now()).await?;
    crate::accounts::audit(
        app,
        member.workspace_id,
        &acting(member),
        "report.created",
        format!("report:{id}"),
        serde_json::json!({ "name": new.name, "dashboard_id": input.dashboard_id }),
    )
    .await?;
    get(app, member, id).await
}

/// Changes a schedule; it then runs as the member who changed it.
pub async fn update(
    app: &App,
    member: &Member,
    id: i64,
    input: &ScheduleInput,
) -> Result<ScheduleView> {
    get(app, member, id).await?;
    let current = app
        .store
        .report_schedule(member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let new = checked(app, member, input, Some(&current)).await?;
    if !app
        .store
        .update_report_schedule(member.workspace_id, id, &new, app.now())
        .await?
    {
        return Err(Error::NotFound);
    }
    app.store.set_report_schedule_creator(id, member.id).await?;
    crate::accounts::audit(
        app,
        member.workspace_id,
        &acting(member),
        "report.updated",
        format!("report:{id}"),
        serde_json::json!({ "name": new.name }),
    )
    .await?;
    get(app, member, id).await
}

/// Deletes a schedule and its history.
pub async fn delete(app: &App, member: &Member, id: i64) -> Result<()> {
    let s = get(app, member, id).await?;
    may_schedule(member)?;
    app.store
        .delete_report_schedule(member.workspace_id, id)
        .await?;
    crate::accounts::audit(
        app,
        member.workspace_id,
        &acting(member),
        "report.deleted",
        format!("report:{id}"),
        serde_json::json!({ "name": s.name }),
    )
    .await
}

/// One schedule a member may see (of a dashboard they may see).
pub async fn get(app: &App, member: &Member, id: i64) -> Result<ScheduleView> {
    let record = app
        .store
        .report_schedule(member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    crate::content::visible_dashboard(app, member, record.dashboard_id).await?;
    view(record, app.now())
}

/// The schedules a member may see: of one dashboard, or the workspace's.
pub async fn list(app: &App, member: &Member, dashboard: Option<i64>) -> Result<Vec<ScheduleView>> {
    let mut out = Vec::new();
    for record in app
        .store
        .report_schedules(member.workspace_id, dashboard.map(DashboardId))
        .await?
    {
        if crate::content::visible_dashboard(app, member, record.dashboard_id)
            .await
            .is_ok()
        {
            out.push(view(record, app.now())?);
        }
    }
    Ok(out)
}

/// "Send now" (to every recipient) or "Send a test to me" (to the member only): renders at
/// once and queues the deliveries, which the scheduler sends on its next pass (or call
/// [`deliver::drain`]). The run's id.
pub async fn send_now(app: &App, member: &Member, id: i64, test: bool) -> Result<i64> {
    may_schedule(member)?;
    let record = app
        .store
        .report_schedule(member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    crate::content::visible_dashboard(app, member, record.dashboard_id).await?;
    let (origin, only) = if test {
        (
            RunOrigin::Test,
            Some(vec![Recipient::Email {
                address: member.email.clone(),
            }]),
        )
    } else {
        (RunOrigin::Now, None)
    };
    let mut ticked = Ticked::default();
    // A manual run's slot is the current millisecond; a double click in the same one is one run.
    let run = run::run_slot(app, &record, app.now(), origin, false, only, &mut ticked)
        .await?
        .ok_or_else(|| Error::Conflict("a run of this report just started".into()))?;
    crate::accounts::audit(
        app,
        member.workspace_id,
        &acting(member),
        if test { "report.tested" } else { "report.sent" },
        format!("report:{id}"),
        serde_json::json!({ "run": run }),
    )
    .await?;
    Ok(run)
}

/// A run with its deliveries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub slot: OffsetDateTime,
    pub origin: String,
    pub state: String,
    pub late: bool,
    pub error: Option<String>,
    pub deliveries: Vec<DeliveryView>,
}

/// One recipient's outcome.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub kind: String,
    pub target: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub provider_response: Option<String>,
}

fn delivery_view(d: ReportDeliveryRecord) -> DeliveryView {
    // A webhook URL may carry a token in its path: show its origin only.
    let target = if d.kind == "email" {
        d.target
    } else {
        url::Url::parse(&d.target)
            .map(|u| format!("{}/…", u.origin().ascii_serialization()))
            .unwrap_or_else(|_| "…".into())
    };
    DeliveryView {
        kind: d.kind,
        target,
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        last_error: d.last_error,
        provider_response: d.provider_response,
    }
}

/// A schedule's run history with each recipient's outcome: admins only.
pub async fn history(app: &App, member: &Member, id: i64, limit: i64) -> Result<Vec<RunView>> {
    if !member.actor().is_admin() {
        return Err(Error::Forbidden);
    }
    get(app, member, id).await?;
    let runs: Vec<ReportRunRecord> = app.store.report_runs(id, limit.clamp(1, 200)).await?;
    let mut out = Vec::with_capacity(runs.len());
    for r in runs {
        let deliveries = app
            .store
            .report_deliveries(r.id)
            .await?
            .into_iter()
            .map(delivery_view)
            .collect();
        out.push(RunView {
            id: r.id,
            slot: r.slot,
            origin: r.origin.as_str().to_owned(),
            state: r.state.as_str().to_owned(),
            late: r.late,
            error: r.error,
            deliveries,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_domains_are_normalised_and_more_than_the_limit_is_refused_even_repeated() {
        let given = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            normalise_email_domains(&given(&[" @Example.COM ", "", "example.com"])).unwrap(),
            vec!["example.com".to_owned()]
        );
        assert!(normalise_email_domains(&given(&["localhost"])).is_err());
        // 101 entries are refused although they name one domain (the API's maxItems).
        let repeated = vec!["example.com".to_owned(); MAX_EMAIL_DOMAINS + 1];
        assert!(normalise_email_domains(&repeated).is_err());
        let most = vec!["example.com".to_owned(); MAX_EMAIL_DOMAINS];
        assert_eq!(normalise_email_domains(&most).unwrap().len(), 1);
    }
}
