//! Scheduled reports in the owner UI.
//!
//! - `GET /reports`: every schedule of the workspace the member may see (the nav's "Reports").
//! - `GET /dashboards/{id}/reports/new`, `POST /dashboards/{id}/reports`: a new schedule of a
//!   dashboard (or one of its widgets).
//! - `GET /reports/{id}`, `POST /reports/{id}`: one schedule's form, with "Send now", "Send a
//!   test to me", pause / resume and delete (each a POST form).
//! - `GET /reports/{id}/runs`: its run history with each recipient's outcome (admins).
//!
//! Editors and admins only (403 for viewers, 404 for a schedule of a dashboard the member
//! cannot see). Every rule lives in [`vitrine_app::reports`]; these handlers read the form,
//! call it and show what it says: an error comes back on the same form with the values kept,
//! success redirects to the schedule's page with what happened as a code. The form's preview
//! of the next five send times is computed here for the page and refreshed by
//! `static/reports.js` through `POST /api/v1/reports/preview`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use vitrine_core::dashboard::Dashboard;
use vitrine_core::id::DashboardId;
use vitrine_store::DashboardRecord;

use crate::auth::{Identity, PageMember};
use crate::error::HttpError;
use crate::pages::{Choice, Chrome, FilterField, ReportChip, format_time, render};
use crate::routes::share::{Fields, blank_field, describe_value, fill_value, locked_value};
use vitrine_app::dashboards::PRESETS;
use vitrine_app::reports::{
    self, Contents, Day, FixedFilters, Frequency, Recipient, RunView, ScheduleInput, ScheduleView,
};
use vitrine_app::{App, Error, content};

/// The workspace's reports page.
pub const REPORTS: &str = "/reports";

/// Where a new schedule of `dashboard` is made.
pub fn new_report_path(dashboard: DashboardId) -> String {
    crate::pages::share_paths::new_report(dashboard)
}

fn report_path(id: i64) -> String {
    format!("/reports/{id}")
}

/// Report pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(REPORTS, get(show_reports))
        .route("/dashboards/{id}/reports/new", get(show_new_report))
        .route("/dashboards/{id}/reports", post(create_report))
        .route("/reports/{id}", get(show_report).post(update_report))
        .route("/reports/{id}/pause", post(pause_report))
        .route("/reports/{id}/resume", post(resume_report))
        .route("/reports/{id}/send", post(send_report_now))
        .route("/reports/{id}/test", post(send_report_test))
        .route("/reports/{id}/delete", post(delete_report))
        .route("/reports/{id}/runs", get(show_report_runs))
}

// ---- pages ---------------------------------------------------------------------------------

/// One schedule as a row of the reports page.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// Its page.
    pub path: String,
    /// Its name.
    pub name: String,
    /// The dashboard's title.
    pub dashboard: String,
    /// The dashboard's page.
    pub dashboard_path: String,
    /// `whole dashboard` or `widget “Revenue”`.
    pub target: String,
    /// `Daily at 09:00`.
    pub when: String,
    /// The zone.
    pub zone: String,
    /// The next send, local (`2026-11-24 09:00 CET`), or empty.
    pub next: String,
    /// `2 e-mail, 1 Slack`.
    pub recipients: String,
    /// Enabled.
    pub enabled: bool,
    /// Why it paused itself.
    pub paused_reason: Option<String>,
    /// Whom it runs as.
    pub run_as: String,
}

/// The workspace's scheduled reports.
#[derive(Debug, Template)]
#[template(path = "reports.html")]
pub struct ReportsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The schedules.
    pub rows: Vec<ReportRow>,
    /// Dashboards to schedule (id path, title).
    pub dashboards: Vec<Choice>,
    /// What just happened.
    pub notice: Option<String>,
}

/// The values of the schedule form, refilled after an error.
#[derive(Debug, Clone, Default)]
pub struct ReportForm {
    /// Name.
    pub name: String,
    /// A widget id, or empty for the whole dashboard.
    pub target: String,
    /// `hourly`, `daily`, `weekly`, `monthly` or `cron`.
    pub kind: String,
    /// Minute past the hour (hourly).
    pub minute: String,
    /// Local time `HH:MM` (daily, weekly, monthly).
    pub at: String,
    /// Days of the week (weekly), `mon` … `sun`.
    pub days: Vec<String>,
    /// Day of the month (monthly).
    pub day: String,
    /// Cron expression.
    pub expression: String,
    /// IANA zone.
    pub zone: String,
    /// E-mail addresses, one a line.
    pub emails: String,
    /// Slack recipients, one a line: the incoming webhook URL, optionally followed by the
    /// channel id and a bot token (`URL C0123 xoxb-…`) that uploads the pictures. Never holds
    /// a token: lines are refilled as `URL CHANNEL` (which keeps a saved token).
    pub slack: String,
    /// The channels whose Slack line has a saved bot token ("token set").
    pub slack_tokens: Vec<String>,
    /// Webhooks, `URL SECRET` a line (the URL alone keeps a saved secret).
    pub webhooks: String,
    /// PDF attachment.
    pub pdf: bool,
    /// Inline PNGs.
    pub png: bool,
    /// Live link.
    pub live_link: bool,
    /// The share link it opens (empty: a new one made for the report).
    pub live_link_id: String,
    /// Widgets whose CSV is attached.
    pub csv: Vec<String>,
    /// Fixed filter values (`mode.{id}` = `locked` fixes one).
    pub filters: Vec<FilterField>,
    /// Skip when empty.
    pub skip_when_empty: bool,
    /// Enabled.
    pub enabled: bool,
}

impl ReportForm {
    /// Whether day `d` is chosen.
    pub fn has_day(&self, d: &str) -> bool {
        self.days.iter().any(|x| x == d)
    }

    /// Whether widget `w`'s CSV is chosen.
    pub fn has_csv(&self, w: &str) -> bool {
        self.csv.iter().any(|x| x == w)
    }
}

/// One upcoming send time.
#[derive(Debug, Clone)]
pub struct PreviewRow {
    /// In the schedule's zone.
    pub local: String,
    /// RFC 3339, UTC.
    pub utc: String,
}

/// The schedule being edited.
#[derive(Debug, Clone)]
pub struct EditingReport {
    /// Id.
    pub id: i64,
    /// Its name as saved.
    pub name: String,
    /// Enabled as saved.
    pub enabled: bool,
    /// Why it paused itself.
    pub paused_reason: Option<String>,
    /// Its fixed filter values as saved, for people (`Region: EMEA`).
    pub fixed: Vec<String>,
}

/// The create / edit form of a schedule.
#[derive(Debug, Template)]
#[template(path = "report_form.html")]
pub struct ReportFormPage {
    /// The frame.
    pub chrome: Chrome,
    /// The dashboard.
    pub dashboard_id: i64,
    /// Its title.
    pub dashboard_title: String,
    /// Where the form posts.
    pub action: String,
    /// The schedule being edited, if any.
    pub editing: Option<EditingReport>,
    /// The form's values.
    pub form: ReportForm,
    /// The dashboard's widgets.
    pub widgets: Vec<Choice>,
    /// Days of the week.
    pub days: Vec<Choice>,
    /// IANA zones.
    pub zones: Vec<String>,
    /// Date presets for fixed date filters.
    pub date_presets: Vec<Choice>,
    /// The next five send times of the form's frequency …
    pub preview: Vec<PreviewRow>,
    /// … or why there are none.
    pub preview_error: String,
    /// "Runs as …".
    pub run_as: String,
    /// The caller's address ("Send a test to me").
    pub me: String,
    /// Shows the run history link.
    pub is_admin: bool,
    /// May choose or create the share link of the live link.
    pub can_share: bool,
    /// The dashboard's share links, for the live link.
    pub share_links: Vec<Choice>,
    /// The saved live link's URL, when it opens.
    pub live_link_url: String,
    /// Why the saved live link does not open (the report goes out without it).
    pub live_link_problem: Option<String>,
    /// What just happened.
    pub notice: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
}

/// One recipient's outcome in a run.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    /// `email`, `slack`, `webhook`.
    pub kind: String,
    /// The address, or the URL's origin.
    pub target: String,
    /// `sent`, `failed`, `pending` …
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last error.
    pub error: String,
    /// The provider's answer.
    pub response: String,
}

/// One run.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// Id.
    pub id: i64,
    /// The slot.
    pub slot: String,
    /// `schedule`, `now`, `test`.
    pub origin: String,
    /// `done`, `failed`, `skipped` …
    pub state: String,
    /// Sent late.
    pub late: bool,
    /// The run's error.
    pub error: String,
    /// Its recipients.
    pub deliveries: Vec<DeliveryRow>,
}

/// A schedule's run history.
#[derive(Debug, Template)]
#[template(path = "report_runs.html")]
pub struct ReportRunsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The schedule.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The runs, newest first.
    pub runs: Vec<RunRow>,
}

macro_rules! page_response {
    ($($page:ty),* $(,)?) => {
        $(impl IntoResponse for $page {
            fn into_response(self) -> Response {
                render(&self)
            }
        })*
    };
}
page_response!(ReportsPage, ReportFormPage, ReportRunsPage);

// ---- what the dashboard page shows ---------------------------------------------------------

/// The schedules of dashboard `id`, for its page.
pub async fn dashboard_reports(
    state: &App,
    identity: &Identity,
    id: DashboardId,
) -> Result<Vec<ReportChip>, HttpError> {
    Ok(reports::list(state, &identity.member, Some(id.0))
        .await?
        .iter()
        .map(|v| ReportChip {
            path: report_path(v.id),
            name: v.name.clone(),
            when: format!("{} ({})", describe_frequency(&v.frequency), v.zone),
            enabled: v.enabled,
        })
        .collect())
}

// ---- helpers -------------------------------------------------------------------------------

const DAYS: [(Day, &str, &str); 7] = [
    (Day::Mon, "mon", "Mon"),
    (Day::Tue, "tue", "Tue"),
    (Day::Wed, "wed", "Wed"),
    (Day::Thu, "thu", "Thu"),
    (Day::Fri, "fri", "Fri"),
    (Day::Sat, "sat", "Sat"),
    (Day::Sun, "sun", "Sun"),
];

fn day_name(day: Day) -> &'static str {
    DAYS.iter()
        .find(|(d, _, _)| *d == day)
        .map_or("", |(_, v, _)| v)
}

fn day_label(day: Day) -> &'static str {
    DAYS.iter()
        .find(|(d, _, _)| *d == day)
        .map_or("", |(_, _, l)| l)
}

/// A frequency for people: `Daily at 09:00`.
pub fn describe_frequency(f: &Frequency) -> String {
    match f {
        Frequency::Hourly { minute } => format!("Every hour at :{minute:02}"),
        Frequency::Daily { at } => format!("Daily at {at}"),
        Frequency::Weekly { days, at } => format!(
            "Weekly on {} at {at}",
            days.iter()
                .map(|d| day_label(*d))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Frequency::Monthly { day, at } => format!("Monthly on day {day} at {at}"),
        Frequency::Cron { expression } => format!("Cron “{expression}”"),
    }
}

fn describe_recipients(recipients: &[Recipient]) -> String {
    let count = |k: &str| recipients.iter().filter(|r| r.key().0 == k).count();
    let mut parts = Vec::new();
    for (kind, label) in [
        ("email", "e-mail"),
        ("slack", "Slack"),
        ("webhook", "webhook"),
    ] {
        let n = count(kind);
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    if parts.is_empty() {
        "nobody".to_owned()
    } else {
        parts.join(", ")
    }
}

/// Editors and admins schedule; viewers get 403.
fn may_schedule(identity: &Identity) -> Result<(), HttpError> {
    if identity.actor().can_edit_content() {
        Ok(())
    } else {
        Err(Error::Forbidden.into())
    }
}

/// A dashboard the member may see, with its document.
async fn schedulable(
    state: &App,
    identity: &Identity,
    id: DashboardId,
) -> Result<(DashboardRecord, Dashboard), HttpError> {
    may_schedule(identity)?;
    let record = content::visible_dashboard(state, &identity.member, id).await?;
    let doc = Dashboard::from_yaml(&record.document).map_err(|e| {
        Error::Internal(anyhow::anyhow!(
            "stored dashboard {id} no longer parses: {e}"
        ))
    })?;
    Ok((record, doc))
}

fn widget_choices(doc: &Dashboard) -> Vec<Choice> {
    doc.widgets
        .iter()
        .map(|w| {
            let title = if w.title.is_empty() {
                w.id.to_string()
            } else {
                w.title.clone()
            };
            Choice::new(w.id.to_string(), title)
        })
        .collect()
}

fn new_form(doc: &Dashboard, can_share: bool) -> ReportForm {
    let contents = Contents::default();
    ReportForm {
        kind: "daily".to_owned(),
        minute: "0".to_owned(),
        at: "09:00".to_owned(),
        days: vec!["mon".to_owned()],
        day: "1".to_owned(),
        zone: "UTC".to_owned(),
        pdf: contents.pdf,
        png: contents.png,
        live_link: contents.live_link && can_share,
        filters: doc.filters.iter().map(blank_field).collect(),
        enabled: true,
        ..ReportForm::default()
    }
}

fn form_from_view(view: &ScheduleView, doc: &Dashboard) -> ReportForm {
    let mut form = new_form(doc, true);
    form.name = view.name.clone();
    form.target = view.widget_id.clone().unwrap_or_default();
    form.zone = view.zone.clone();
    match &view.frequency {
        Frequency::Hourly { minute } => {
            form.kind = "hourly".into();
            form.minute = minute.to_string();
        }
        Frequency::Daily { at } => {
            form.kind = "daily".into();
            form.at = at.clone();
        }
        Frequency::Weekly { days, at } => {
            form.kind = "weekly".into();
            form.days = days.iter().map(|d| day_name(*d).to_owned()).collect();
            form.at = at.clone();
        }
        Frequency::Monthly { day, at } => {
            form.kind = "monthly".into();
            form.day = day.to_string();
            form.at = at.clone();
        }
        Frequency::Cron { expression } => {
            form.kind = "cron".into();
            form.expression = expression.clone();
        }
    }
    let mut emails = Vec::new();
    let mut slack = Vec::new();
    let mut webhooks = Vec::new();
    for r in &view.recipients {
        match r {
            Recipient::Email { address } => emails.push(address.clone()),
            // The token is not shown again: the URL and the channel alone keep it.
            Recipient::Slack {
                webhook_url,
                bot_token,
                channel,
            } => match channel {
                Some(c) => {
                    slack.push(format!("{webhook_url} {c}"));
                    if bot_token.is_some() {
                        form.slack_tokens.push(c.clone());
                    }
                }
                None => slack.push(webhook_url.clone()),
            },
            // The secret is not shown again: the URL alone keeps it.
            Recipient::Webhook { url, .. } => webhooks.push(url.clone()),
        }
    }
    form.emails = emails.join("\n");
    form.slack = slack.join("\n");
    form.webhooks = webhooks.join("\n");
    form.pdf = view.contents.pdf;
    form.png = view.contents.png;
    form.live_link = view.contents.live_link;
    form.live_link_id = view.contents.live_link_id.clone().unwrap_or_default();
    form.csv = view.contents.csv.clone();
    for field in &mut form.filters {
        if let Some(value) = view.filters.get(&field.id) {
            field.mode = "locked".into();
            fill_value(field, value);
        }
    }
    form.skip_when_empty = view.skip_when_empty;
    form.enabled = view.enabled;
    form
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

fn read_frequency(form: &ReportForm) -> Result<Frequency, String> {
    let at = form.at.trim().to_owned();
    match form.kind.as_str() {
        "hourly" => match form.minute.trim().parse::<u8>() {
            Ok(minute) if minute <= 59 => Ok(Frequency::Hourly { minute }),
            _ => Err("Minute past the hour: a whole number from 0 to 59.".to_owned()),
        },
        "daily" => Ok(Frequency::Daily { at }),
        "weekly" => {
            let days: Vec<Day> = DAYS
                .iter()
                .filter(|(_, v, _)| form.has_day(v))
                .map(|(d, _, _)| *d)
                .collect();
            if days.is_empty() {
                return Err("Choose at least one day of the week.".to_owned());
            }
            Ok(Frequency::Weekly { days, at })
        }
        "monthly" => match form.day.trim().parse::<u8>() {
            Ok(day) if (1..=28).contains(&day) => Ok(Frequency::Monthly { day, at }),
            _ => Err(
                "Day of the month: 1 to 28 (for the last day, use the cron expression 0 9 L * *)."
                    .to_owned(),
            ),
        },
        "cron" => Ok(Frequency::Cron {
            expression: form.expression.trim().to_owned(),
        }),
        _ => Err("Choose how often the report is sent.".to_owned()),
    }
}

/// Reads the form: the values to show again (always) and the input it asks for, or the first
/// problems in words. `current` is the schedule being edited (its webhook secrets are kept
/// for URLs given without one).
fn read_form(
    fields: &Fields,
    doc: &Dashboard,
    dashboard: DashboardId,
    current: Option<&ScheduleView>,
) -> (ReportForm, Result<ScheduleInput, String>) {
    let all = |name: &str| -> Vec<String> {
        fields
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut form = ReportForm {
        name: fields.get("name").to_owned(),
        target: fields.get("target").to_owned(),
        kind: fields.get("kind").to_owned(),
        minute: fields.get("minute").to_owned(),
        at: fields.get("at").to_owned(),
        days: all("days"),
        day: fields.get("day").to_owned(),
        expression: fields.get("expression").to_owned(),
        zone: fields.get("zone").to_owned(),
        emails: fields.get("emails").to_owned(),
        // Refilled without tokens (below).
        slack: String::new(),
        slack_tokens: Vec::new(),
        webhooks: fields.get("webhooks").to_owned(),
        pdf: fields.on("pdf"),
        png: fields.on("png"),
        live_link: fields.on("live_link"),
        live_link_id: fields.get("live_link_id").to_owned(),
        csv: all("csv"),
        filters: Vec::with_capacity(doc.filters.len()),
        skip_when_empty: fields.on("skip_when_empty"),
        enabled: fields.on("enabled"),
    };
    let mut problems: Vec<String> = Vec::new();
    let mut fixed = FixedFilters::new();
    for filter in &doc.filters {
        let id = filter.id.as_str();
        let mut field = blank_field(filter);
        field.mode = match fields.get(&format!("mode.{id}")) {
            "locked" => "locked".to_owned(),
            _ => "open".to_owned(),
        };
        field.text = fields.get(&format!("lock.{id}")).to_owned();
        field.preset = fields.get(&format!("lock.{id}.preset")).to_owned();
        field.from = fields.get(&format!("lock.{id}.from")).to_owned();
        field.to = fields.get(&format!("lock.{id}.to")).to_owned();
        field.min = fields.get(&format!("lock.{id}.min")).to_owned();
        field.max = fields.get(&format!("lock.{id}.max")).to_owned();
        if field.mode == "locked" {
            match locked_value(filter, &field) {
                Ok(value) => {
                    fixed.insert(id.to_owned(), value);
                }
                Err(problem) => problems.push(problem.replace("Locked", "Fixed")),
            }
        }
        form.filters.push(field);
    }
    let frequency = read_frequency(&form);
    if let Err(problem) = &frequency {
        problems.insert(0, problem.clone());
    }
    let mut recipients = Vec::new();
    for address in form
        .emails
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        recipients.push(Recipient::Email {
            address: address.to_owned(),
        });
    }
    let mut slack_lines = Vec::new();
    for line in lines(fields.get("slack")) {
        let mut parts = line.split_whitespace();
        let url = parts.next().unwrap_or_default().to_owned();
        let channel = parts.next().map(str::to_owned);
        let token = parts.next().map(reports::SlackToken::new);
        if parts.next().is_some() {
            problems.push(format!(
                "Slack {url}: write the URL, then optionally the channel id and the bot token, separated by spaces."
            ));
        }
        slack_lines.push(match &channel {
            Some(c) => format!("{url} {c}"),
            None => url.clone(),
        });
        let saved = current.is_some_and(|c| {
            c.recipients.iter().any(|r| {
                matches!(r, Recipient::Slack { webhook_url, bot_token: Some(_), .. } if *webhook_url == url)
            })
        });
        // The channel alone keeps the saved token (the service fills it in).
        let bot_token = match (&channel, token) {
            (None, _) => None,
            (Some(_), Some(t)) => Some(t),
            (Some(c), None) if saved => {
                form.slack_tokens.push(c.clone());
                Some(reports::SlackToken::new(""))
            }
            (Some(_), None) => {
                problems.push(format!(
                    "Slack {url}: write the bot token (xoxb-…) after the channel id, or remove the channel."
                ));
                None
            }
        };
        recipients.push(Recipient::Slack {
            webhook_url: url,
            bot_token,
            channel,
        });
    }
    form.slack = slack_lines.join("\n");
    for line in lines(&form.webhooks) {
        let mut parts = line.split_whitespace();
        let url = parts.next().unwrap_or_default().to_owned();
        // A URL alone keeps the saved secret (the service fills it in; views never show it).
        let secret = parts.next().map(str::to_owned).or_else(|| {
            current.and_then(|c| {
                c.recipients.iter().find_map(|r| match r {
                    Recipient::Webhook { url: u, .. } if *u == url => Some(String::new()),
                    _ => None,
                })
            })
        });
        match secret {
            Some(secret) => recipients.push(Recipient::Webhook { url, secret }),
            None => problems.push(format!(
                "Webhook {url}: write its secret after the URL, separated by a space (16 to 256 characters)."
            )),
        }
    }
    if recipients.is_empty() {
        problems.push(
            "Add at least one recipient: an e-mail address, a Slack webhook or a webhook."
                .to_owned(),
        );
    }
    let input = match frequency {
        Ok(frequency) if problems.is_empty() => Ok(ScheduleInput {
            dashboard_id: dashboard.0,
            widget_id: Some(form.target.clone()).filter(|t| !t.is_empty()),
            name: form.name.trim().to_owned(),
            frequency,
            zone: form.zone.trim().to_owned(),
            recipients,
            contents: Contents {
                pdf: form.pdf,
                png: form.png,
                csv: form.csv.clone(),
                live_link: form.live_link,
                live_link_id: Some(form.live_link_id.clone()).filter(|l| !l.is_empty()),
            },
            filters: fixed,
            skip_when_empty: form.skip_when_empty,
            enabled: form.enabled,
        }),
        _ => Err(problems.join(" ")),
    };
    (form, input)
}

/// An invalid-input error of the service, in the form's words; other errors are not the
/// person's to fix and go to the error page.
fn form_problem(error: Error) -> Result<String, HttpError> {
    match error {
        Error::Invalid { field, message } => Ok(match field.as_deref() {
            Some(field) => {
                let label = match field {
                    "name" => "Name",
                    "zone" => "Time zone",
                    "frequency" | "frequency.at" | "at" => "When",
                    "widget_id" => "Shows",
                    "contents.csv" => "CSV",
                    "contents.live_link" | "contents.live_link_id" => "Live link",
                    "filters" => "Fixed filters",
                    f if f.starts_with("recipients") => "Recipients",
                    _ => "",
                };
                if label.is_empty() {
                    capitalise(&message)
                } else {
                    format!("{label}: {message}.")
                }
            }
            None => capitalise(&message),
        }),
        Error::Conflict(message) => Ok(message),
        other => Err(other.into()),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn preview(state: &App, form: &ReportForm) -> Result<Vec<PreviewRow>, String> {
    let frequency = read_frequency(form)?;
    reports::preview_times(state, &frequency, form.zone.trim(), 5)
        .map(|rows| {
            rows.into_iter()
                .map(|(utc, local)| PreviewRow { local, utc })
                .collect()
        })
        .map_err(|e| form_problem(e).unwrap_or_else(|_| "No preview.".to_owned()))
}

struct FormOutcome {
    form: ReportForm,
    notice: Option<String>,
    error: Option<String>,
}

async fn form_page(
    state: &App,
    identity: &Identity,
    record: &DashboardRecord,
    doc: &Dashboard,
    editing: Option<&ScheduleView>,
    outcome: FormOutcome,
) -> Result<Response, HttpError> {
    let me = &identity.member;
    let me_name = if me.name.is_empty() {
        me.email.clone()
    } else {
        me.name.clone()
    };
    let run_as = match editing {
        Some(view) if view.run_as == Some(me.id.0) => format!(
            "Runs as you ({me_name}): every send shows what you may see, with the fixed filters below."
        ),
        Some(view) => {
            let name = reports::run_as_name(state, me, view).await?;
            match name {
                Some(name) => format!(
                    "Runs as {name}: every send shows what {name} may see, with the fixed filters below. Saving changes makes it run as you ({me_name})."
                ),
                None => format!(
                    "Runs as nobody (its creator is no longer a member): it cannot send. Saving it makes it run as you ({me_name})."
                ),
            }
        }
        None => format!(
            "Runs as you ({me_name}): every send shows what you may see, with the fixed filters below."
        ),
    };
    let can_share = identity.actor().can_share_public();
    let share_links = vitrine_app::links::list_links(state, me, Some(record.id))
        .await?
        .into_iter()
        .filter(|l| l.state != "deleted")
        .map(|l| {
            let label = if l.state == "active" {
                l.label.clone()
            } else {
                format!("{} ({})", l.label, l.state)
            };
            Choice::new(l.id, label)
        })
        .collect();
    let (live_link_url, live_link_problem) = match editing {
        Some(view) => {
            match reports::live_link_state(state, me.workspace_id, record.id, &view.contents)
                .await?
            {
                Some((url, None)) => (url, None),
                Some((_, Some(problem))) => (String::new(), Some(problem)),
                None => (String::new(), None),
            }
        }
        None => (String::new(), None),
    };
    let failed = outcome.error.is_some();
    let (preview, preview_error) = match preview(state, &outcome.form) {
        Ok(rows) => (rows, String::new()),
        Err(e) => (Vec::new(), e),
    };
    let page = ReportFormPage {
        chrome: Chrome::new(identity, "reports"),
        dashboard_id: record.id.0,
        dashboard_title: doc.title.clone(),
        action: match editing {
            Some(v) => report_path(v.id),
            None => format!("/dashboards/{}/reports", record.id),
        },
        editing: editing.map(|v| EditingReport {
            id: v.id,
            name: v.name.clone(),
            enabled: v.enabled,
            paused_reason: v.paused_reason.clone(),
            fixed: v
                .filters
                .iter()
                .map(|(id, value)| {
                    let label = doc
                        .filter(id)
                        .map_or_else(|| id.clone(), |f| f.label.clone());
                    format!("{label}: {}", describe_value(value))
                })
                .collect(),
        }),
        preview,
        preview_error,
        form: outcome.form,
        widgets: widget_choices(doc),
        days: DAYS.iter().map(|(_, v, l)| Choice::new(*v, *l)).collect(),
        zones: reports::zones(),
        date_presets: PRESETS
            .iter()
            .map(|(_, name, label)| Choice::new(*name, *label))
            .collect(),
        run_as,
        me: me.email.clone(),
        is_admin: identity.actor().is_admin(),
        can_share,
        share_links,
        live_link_url,
        live_link_problem,
        notice: outcome.notice,
        error: outcome.error,
    };
    let status = if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

/// What the last action did, carried in the redirect as a code (never text).
#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
    run: Option<i64>,
    widget: Option<String>,
}

fn notice(query: &DoneQuery, me: &str) -> Option<String> {
    let run = query.run.map(|r| format!(" (run {r})")).unwrap_or_default();
    Some(match query.done.as_deref()? {
        "created" => "Schedule created.".to_owned(),
        "saved" => "Schedule saved.".to_owned(),
        "paused" => "Schedule paused: nothing is sent until you resume it.".to_owned(),
        "resumed" => "Schedule resumed: it sends from its next slot on.".to_owned(),
        "sent" => format!(
            "Rendered and queued for every recipient{run}: it goes out within seconds. The run history shows each recipient's outcome."
        ),
        "tested" => format!("Rendered and queued a test to {me}{run}: it arrives within seconds."),
        "busy" => "A run of this report just started; try again in a moment.".to_owned(),
        "deleted" => "Schedule deleted.".to_owned(),
        _ => return None,
    })
}

fn done(id: i64, code: &str, run: Option<i64>) -> Response {
    let run = run.map(|r| format!("&run={r}")).unwrap_or_default();
    Redirect::to(&format!("{}?done={code}{run}", report_path(id))).into_response()
}

// ---- handlers ------------------------------------------------------------------------------

async fn show_reports(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Query(query): Query<DoneQuery>,
) -> Result<ReportsPage, HttpError> {
    may_schedule(&identity)?;
    let member = &identity.member;
    let dashboards = content::list_dashboards(&state, member).await?;
    let mut rows = Vec::new();
    for view in reports::list(&state, member, None).await? {
        let dashboard = dashboards.iter().find(|d| d.id.0 == view.dashboard_id);
        let run_as = reports::run_as_name(&state, member, &view)
            .await?
            .unwrap_or_else(|| "nobody".to_owned());
        rows.push(ReportRow {
            path: report_path(view.id),
            name: view.name.clone(),
            dashboard: dashboard.map_or_else(String::new, |d| d.title.clone()),
            dashboard_path: format!("/dashboards/{}", view.dashboard_id),
            target: match &view.widget_id {
                Some(w) => format!("widget “{w}”"),
                None => "whole dashboard".to_owned(),
            },
            when: describe_frequency(&view.frequency),
            zone: view.zone.clone(),
            next: view.next_local.first().cloned().unwrap_or_default(),
            recipients: describe_recipients(&view.recipients),
            enabled: view.enabled,
            paused_reason: view.paused_reason.clone(),
            run_as,
        });
    }
    Ok(ReportsPage {
        chrome: Chrome::new(&identity, "reports"),
        rows,
        dashboards: dashboards
            .iter()
            .map(|d| Choice::new(new_report_path(d.id), d.title.clone()))
            .collect(),
        notice: notice(&query, &member.email),
    })
}

async fn show_new_report(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, HttpError> {
    let (record, doc) = schedulable(&state, &identity, id).await?;
    let mut form = new_form(&doc, identity.actor().can_share_public());
    if let Some(widget) = query.widget.filter(|w| doc.widget(w).is_some()) {
        form.target = widget;
    }
    let outcome = FormOutcome {
        form,
        notice: None,
        error: None,
    };
    form_page(&state, &identity, &record, &doc, None, outcome).await
}

async fn create_report(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    let (record, doc) = schedulable(&state, &identity, id).await?;
    let (form, input) = read_form(&Fields(fields), &doc, id, None);
    let error = match input {
        Ok(input) => match reports::create(&state, &identity.member, &input).await {
            Ok(view) => return Ok(done(view.id, "created", None)),
            Err(e) => form_problem(e)?,
        },
        Err(problem) => problem,
    };
    let outcome = FormOutcome {
        form,
        notice: None,
        error: Some(error),
    };
    form_page(&state, &identity, &record, &doc, None, outcome).await
}

/// A schedule the member may change, with its dashboard.
async fn editable(
    state: &App,
    identity: &Identity,
    id: i64,
) -> Result<(ScheduleView, DashboardRecord, Dashboard), HttpError> {
    may_schedule(identity)?;
    let view = reports::get(state, &identity.member, id).await?;
    let (record, doc) = schedulable(state, identity, DashboardId(view.dashboard_id)).await?;
    Ok((view, record, doc))
}

async fn show_report(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, HttpError> {
    let (view, record, doc) = editable(&state, &identity, id).await?;
    let outcome = FormOutcome {
        form: form_from_view(&view, &doc),
        notice: notice(&query, &identity.member.email),
        error: None,
    };
    form_page(&state, &identity, &record, &doc, Some(&view), outcome).await
}

async fn update_report(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    let (view, record, doc) = editable(&state, &identity, id).await?;
    let (form, input) = read_form(&Fields(fields), &doc, record.id, Some(&view));
    let error = match input {
        Ok(input) => match reports::update(&state, &identity.member, id, &input).await {
            Ok(_) => return Ok(done(id, "saved", None)),
            Err(e) => form_problem(e)?,
        },
        Err(problem) => problem,
    };
    let outcome = FormOutcome {
        form,
        notice: None,
        error: Some(error),
    };
    form_page(&state, &identity, &record, &doc, Some(&view), outcome).await
}

async fn pause_report(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
) -> Result<Response, HttpError> {
    may_schedule(&identity)?;
    reports::set_enabled(&state, &identity.member, id, false).await?;
    Ok(done(id, "paused", None))
}

async fn resume_report(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
) -> Result<Response, HttpError> {
    may_schedule(&identity)?;
    reports::set_enabled(&state, &identity.member, id, true).await?;
    Ok(done(id, "resumed", None))
}

async fn send(
    state: &App,
    identity: &Identity,
    id: i64,
    test: bool,
) -> Result<Response, HttpError> {
    may_schedule(identity)?;
    match reports::send_now(state, &identity.member, id, test).await {
        Ok(run) => Ok(done(id, if test { "tested" } else { "sent" }, Some(run))),
        Err(Error::Conflict(_)) => Ok(done(id, "busy", None)),
        Err(e) => Err(e.into()),
    }
}

async fn send_report_now(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
) -> Result<Response, HttpError> {
    send(&state, &identity, id, false).await
}

async fn send_report_test(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
) -> Result<Response, HttpError> {
    send(&state, &identity, id, true).await
}

async fn delete_report(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
) -> Result<Response, HttpError> {
    may_schedule(&identity)?;
    reports::delete(&state, &identity.member, id).await?;
    Ok(Redirect::to(&format!("{REPORTS}?done=deleted")).into_response())
}

async fn show_report_runs(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<i64>,
) -> Result<ReportRunsPage, HttpError> {
    let runs: Vec<RunView> = reports::history(&state, &identity.member, id, 50).await?;
    let view = reports::get(&state, &identity.member, id).await?;
    Ok(ReportRunsPage {
        chrome: Chrome::new(&identity, "reports"),
        id,
        name: view.name,
        runs: runs
            .into_iter()
            .map(|r| RunRow {
                id: r.id,
                slot: format_time(r.slot),
                origin: r.origin,
                state: r.state,
                late: r.late,
                error: r.error.unwrap_or_default(),
                deliveries: r
                    .deliveries
                    .into_iter()
                    .map(|d| DeliveryRow {
                        kind: d.kind,
                        target: d.target,
                        state: d.state,
                        attempts: d.attempts,
                        error: d.last_error.unwrap_or_default(),
                        response: d.provider_response.unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weekly_frequency_reads_back_its_days_in_week_order() {
        let form = ReportForm {
            kind: "weekly".into(),
            at: "08:30".into(),
            days: vec!["fri".into(), "mon".into()],
            ..ReportForm::default()
        };
        assert_eq!(
            read_frequency(&form).unwrap(),
            Frequency::Weekly {
                days: vec![Day::Mon, Day::Fri],
                at: "08:30".into()
            }
        );
        assert_eq!(
            describe_frequency(&read_frequency(&form).unwrap()),
            "Weekly on Mon, Fri at 08:30"
        );
    }

    #[test]
    fn a_weekly_frequency_without_days_is_refused_in_words() {
        let form = ReportForm {
            kind: "weekly".into(),
            at: "08:30".into(),
            ..ReportForm::default()
        };
        assert!(
            read_frequency(&form)
                .unwrap_err()
                .contains("day of the week")
        );
    }
}
