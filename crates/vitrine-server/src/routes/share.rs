//! Share links in the owner UI: a dashboard's share page and the workspace settings page.
//!
//! - `GET /dashboards/{id}/share`: the dashboard's links (and its widgets' links) with their
//!   state, expiry, password, locked filters, traffic and URLs (copy, open), the lifecycle
//!   buttons (disable / enable, rotate, delete, each a confirmed POST form) and the create /
//!   edit form. Only members who may share publicly reach it (403 otherwise, for every POST too).
//! - `GET /settings`: for admins, the workspace's link policy, suspend / resume, and every link
//!   in the workspace.
//!
//! Every rule (who may share, policy limits, valid settings) lives in [`crate::links`]; these
//! handlers read the form, call it, and show what it says. An error the person can fix comes
//! back on the same page with the form refilled (never the password); success redirects
//! (POST / redirect / GET) to the page with the new URL or a confirmation.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};
use vitrine_core::dashboard::{
    Dashboard, DateRange, Filter, FilterKind, FilterValue, NumberRange, Scalar,
};
use vitrine_core::id::DashboardId;
use vitrine_core::share::{EXPIRY_PRESETS, Expiry, Origin};
use vitrine_store::DashboardRecord;

use crate::auth::{Identity, PageMember};
use crate::error::HttpError;
use crate::pages::{
    Choice, Chrome, DashboardSharing, EditingLink, FilterField, FreshLink, LinkFormView, LinkRow,
    PolicyFormView, PolicyHints, SettingsPage, SharePage, Stamp, format_opt_time, share_paths,
    stamp,
};
use vitrine_app::App;
use vitrine_app::Error;
use vitrine_app::content;
use vitrine_app::dashboards::query::preset_name;
use vitrine_app::dashboards::{PRESETS, Restrictions};
use vitrine_app::links::{
    self, AccessPolicy, DisplayOptions, EmbedPolicy, LinkAction, LinkChanges, LinkTheme, LinkView,
    Network, NewLink, PolicyView,
};

/// Share and settings pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(
            "/dashboards/{id}/share",
            get(show_share_page).post(create_share_link),
        )
        .route("/dashboards/{id}/share/{link}", post(update_share_link))
        .route(
            "/dashboards/{id}/share/{link}/disable",
            post(disable_share_link),
        )
        .route(
            "/dashboards/{id}/share/{link}/enable",
            post(enable_share_link),
        )
        .route(
            "/dashboards/{id}/share/{link}/rotate",
            post(rotate_share_link),
        )
        .route(
            "/dashboards/{id}/share/{link}/delete",
            post(delete_share_link),
        )
        .route(share_paths::SETTINGS, get(show_settings))
        .route(share_paths::SETTINGS_POLICY, post(update_link_policy))
        .route(share_paths::SETTINGS_SUSPEND, post(suspend_sharing))
        .route(share_paths::SETTINGS_RESUME, post(resume_sharing))
        .route(
            share_paths::SETTINGS_REPORT_DOMAINS,
            post(update_report_email_domains),
        )
}

// ---- what the dashboard page and the editor show ------------------------------------------

/// Whether `identity` sees sharing on dashboard `id`, and how many of its links open now.
///
/// Counted from the link rows and [`links::status`] (the service's own rule) rather than
/// [`links::list_links`], which also aggregates the workspace's access events: this runs on
/// every dashboard view.
pub async fn dashboard_sharing(
    state: &App,
    identity: &Identity,
    dashboard: DashboardId,
) -> Result<DashboardSharing, HttpError> {
    let actor = identity.actor();
    if !actor.can_edit_content() {
        return Ok(DashboardSharing::default());
    }
    let workspace_id = identity.member.workspace_id;
    let workspace = state
        .store
        .workspace(workspace_id)
        .await?
        .ok_or(Error::NotFound)?;
    let now = state.now();
    let active_links = state
        .store
        .links(workspace_id, Some(dashboard))
        .await?
        .iter()
        .filter(|link| link.status(&workspace).accessible(now).is_ok())
        .count();
    Ok(DashboardSharing {
        visible: true,
        can_share: actor.can_share_public(),
        active_links,
        share_path: share_paths::share(dashboard),
        reports: Vec::new(),
        new_report_path: share_paths::new_report(dashboard),
    })
}

// ---- the share page ------------------------------------------------------------------------

/// A dashboard the member may share, with its document; 403 for members without
/// `share_public`, 404 for a dashboard they cannot see.
async fn shareable(
    state: &App,
    identity: &Identity,
    id: DashboardId,
) -> Result<(DashboardRecord, Dashboard), HttpError> {
    if !identity.actor().can_share_public() {
        return Err(Error::Forbidden.into());
    }
    let record = content::visible_dashboard(state, &identity.member, id).await?;
    let doc = Dashboard::from_yaml(&record.document).map_err(|e| {
        Error::Internal(anyhow::anyhow!(
            "stored dashboard {id} no longer parses: {e}"
        ))
    })?;
    Ok((record, doc))
}

/// What the last action did, carried in the redirect's query string as a code (never text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Done {
    Created,
    Updated,
    Disabled,
    Enabled,
    Rotated,
    Deleted,
}

#[derive(Debug, Default, Deserialize)]
struct ShareQuery {
    /// Edit this link.
    edit: Option<String>,
    /// Preselect this widget as the new link's target.
    widget: Option<String>,
    /// What just happened …
    done: Option<Done>,
    /// … to which link.
    link: Option<String>,
}

/// How the page should look beyond the dashboard's links.
#[derive(Debug, Default)]
struct Outcome {
    form: Option<LinkFormView>,
    editing: Option<String>,
    widget: Option<String>,
    done: Option<(Done, String)>,
    error: Option<String>,
}

fn iso_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

fn filter_label(doc: Option<&Dashboard>, id: &str) -> String {
    doc.and_then(|d| d.filter(id))
        .map_or_else(|| id.to_owned(), |f| f.label.clone())
}

fn widget_title(doc: Option<&Dashboard>, id: &str) -> String {
    match doc.and_then(|d| d.widget(id)) {
        Some(w) if !w.title.is_empty() => w.title.clone(),
        Some(_) => id.to_owned(),
        None => format!("{id} (no longer on the dashboard)"),
    }
}

fn preset_label(name: &str) -> &'static str {
    PRESETS
        .iter()
        .find(|(_, n, _)| *n == name)
        .map_or("", |(_, _, label)| label)
}

/// A locked value for people: `EMEA`, `Growth, Starter`, `Last 30 days`, `10 – 99`.
pub(crate) fn describe_value(value: &FilterValue) -> String {
    match value {
        FilterValue::One(v) => v.to_string(),
        FilterValue::Many(vs) => vs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        FilterValue::DateRange(DateRange::Relative { preset }) => {
            preset_label(preset_name(*preset)).to_owned()
        }
        FilterValue::DateRange(DateRange::Absolute { from, to }) => match (from, to) {
            (Some(f), Some(t)) => format!("{} – {}", iso_date(*f), iso_date(*t)),
            (Some(f), None) => format!("from {}", iso_date(*f)),
            (None, Some(t)) => format!("until {}", iso_date(*t)),
            (None, None) => "all time".to_owned(),
        },
        FilterValue::NumberRange(NumberRange { min, max }) => match (min, max) {
            (Some(a), Some(b)) => format!("{a} – {b}"),
            (Some(a), None) => format!("≥ {a}"),
            (None, Some(b)) => format!("≤ {b}"),
            (None, None) => "any".to_owned(),
        },
    }
}

fn state_rank(state: &str) -> u8 {
    match state {
        "active" => 0,
        "disabled" => 1,
        "suspended" => 2,
        "expired" => 3,
        _ => 4,
    }
}

/// What happens to a widget a lock cannot restrict: hidden, or shown to everyone when its
/// owner marked it so.
fn uncovered_titles(doc: &Dashboard, widgets: &[String]) -> String {
    widgets
        .iter()
        .map(|id| {
            let shown = doc.widget(id).is_some_and(|w| w.same_for_every_audience);
            let what = if shown { "shown to everyone" } else { "hidden" };
            format!("{} ({what})", widget_title(Some(doc), id))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn link_row(
    view: &LinkView,
    doc: Option<&Dashboard>,
    dashboard_title: &str,
    coverage: Option<&BTreeMap<String, Vec<String>>>,
) -> LinkRow {
    let settings = &view.settings;
    let uncovered = match (doc, coverage) {
        (Some(doc), Some(coverage)) => settings
            .locked_filters
            .keys()
            .filter_map(|id| {
                let widgets = coverage.get(id).filter(|w| !w.is_empty())?;
                Some(format!(
                    "{}: {}",
                    filter_label(Some(doc), id),
                    uncovered_titles(doc, widgets)
                ))
            })
            .collect(),
        _ => Vec::new(),
    };
    LinkRow {
        problem: view.problem.clone(),
        view_limit: settings
            .access
            .max_views
            .map(|max| format!("{} of {max}", view.view_count.min(i64::from(max)))),
        networks: (!settings.access.allowed_networks.is_empty()).then(|| {
            settings
                .access
                .allowed_networks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }),
        identified: settings.access.confirm_email.then(|| {
            if settings.access.email_domains.is_empty() {
                "any address".to_owned()
            } else {
                settings
                    .access
                    .email_domains
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }),
        viewers: Vec::new(),
        uncovered,
        sent: Vec::new(),
        id: view.id.clone(),
        label: view.label.clone(),
        dashboard_id: view.dashboard_id.0,
        dashboard_title: dashboard_title.to_owned(),
        widget: view.widget_id.as_deref().map(|w| widget_title(doc, w)),
        state: view.state,
        enabled: view.enabled,
        deleted: view.state == "deleted",
        expires: Stamp(view.expires_at),
        has_password: view.has_password,
        locked: settings
            .locked_filters
            .iter()
            .map(|(id, value)| format!("{}: {}", filter_label(doc, id), describe_value(value)))
            .collect(),
        open: settings
            .open_filters
            .iter()
            .map(|id| filter_label(doc, id))
            .collect(),
        embed_origins: settings.embed.allowed.then(|| {
            settings
                .embed
                .origins
                .iter()
                .map(Origin::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        }),
        views: view.views,
        last_access: Stamp(view.last_access_at),
        last_view: Stamp(view.last_view_at),
        last_refused: Stamp(view.last_refused_at),
        created: stamp(view.created_at),
        url: view.url.clone(),
        short_url: view.short_url.clone(),
    }
}

fn kind_name(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::SingleSelect => "single_select",
        FilterKind::MultiSelect => "multi_select",
        FilterKind::DateRange => "date_range",
        FilterKind::NumberRange => "number_range",
    }
}

pub(crate) fn blank_field(filter: &Filter) -> FilterField {
    FilterField {
        id: filter.id.to_string(),
        label: filter.label.clone(),
        kind: kind_name(filter.kind),
        mode: "open".to_owned(),
        ..FilterField::default()
    }
}

/// Writes `value` into the field's inputs.
pub(crate) fn fill_value(field: &mut FilterField, value: &FilterValue) {
    match value {
        FilterValue::One(v) => field.text = v.to_string(),
        FilterValue::Many(vs) => {
            field.text = vs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
        }
        FilterValue::DateRange(DateRange::Relative { preset }) => {
            field.preset = preset_name(*preset).to_owned();
        }
        FilterValue::DateRange(DateRange::Absolute { from, to }) => {
            field.preset = "custom".to_owned();
            field.from = from.map(iso_date).unwrap_or_default();
            field.to = to.map(iso_date).unwrap_or_default();
        }
        FilterValue::NumberRange(r) => {
            field.min = r.min.map(|v| v.to_string()).unwrap_or_default();
            field.max = r.max.map(|v| v.to_string()).unwrap_or_default();
        }
    }
}

fn theme_name(theme: LinkTheme) -> &'static str {
    match theme {
        LinkTheme::Light => "light",
        LinkTheme::Dark => "dark",
        LinkTheme::System => "system",
    }
}

/// The expiry a new link starts with: 90 days, or the longest preset the policy allows, or a
/// date at the policy's limit.
fn default_expiry(policy: &PolicyView, now: OffsetDateTime) -> (String, String) {
    let allowed = |days: i64| policy.max_link_days.is_none_or(|max| days <= max);
    if allowed(90) {
        return ("90".to_owned(), String::new());
    }
    if allowed(14) {
        return ("14".to_owned(), String::new());
    }
    let days = policy.max_link_days.unwrap_or(1);
    let at = now + time::Duration::days(days) - time::Duration::minutes(1);
    ("at".to_owned(), datetime_local(at))
}

fn datetime_local(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
        .unwrap_or_default()
}

fn new_form(doc: &Dashboard, policy: &PolicyView, now: OffsetDateTime) -> LinkFormView {
    let (expiry, expires_at) = default_expiry(policy, now);
    let display = DisplayOptions::default();
    LinkFormView {
        expiry,
        expires_at,
        filters: doc.filters.iter().map(blank_field).collect(),
        show_title: display.show_title,
        show_filters: display.show_filters,
        allow_downloads: display.allow_downloads,
        theme: theme_name(display.theme).to_owned(),
        ..LinkFormView::default()
    }
}

fn form_from_link(view: &LinkView, doc: &Dashboard) -> LinkFormView {
    let settings = &view.settings;
    let filters = doc
        .filters
        .iter()
        .map(|filter| {
            let mut field = blank_field(filter);
            let id = filter.id.as_str();
            if let Some(value) = settings.locked_filters.get(id) {
                field.mode = "locked".to_owned();
                fill_value(&mut field, value);
            } else if settings.open_filters.iter().any(|f| f == id) {
                field.mode = "open".to_owned();
            } else {
                field.mode = "hidden".to_owned();
            }
            field
        })
        .collect();
    LinkFormView {
        label: view.label.clone(),
        target: view.widget_id.clone().unwrap_or_default(),
        expiry: "keep".to_owned(),
        expires_at: view.expires_at.map(datetime_local).unwrap_or_default(),
        remove_password: false,
        filters,
        show_title: settings.display.show_title,
        show_filters: settings.display.show_filters,
        allow_downloads: settings.display.allow_downloads,
        theme: theme_name(settings.display.theme).to_owned(),
        embed_allowed: settings.embed.allowed,
        embed_origins: settings
            .embed
            .origins
            .iter()
            .map(Origin::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        max_views: number_text(settings.access.max_views),
        allowed_networks: settings
            .access
            .allowed_networks
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        confirm_email: settings.access.confirm_email,
        email_domains: settings
            .access
            .email_domains
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        max_live_viewers: number_text(settings.access.max_live_viewers),
        max_live_viewers_per_client: number_text(settings.access.max_live_viewers_per_client),
        max_new_views_per_minute: number_text(settings.access.max_new_views_per_minute),
        max_new_views_per_minute_per_client: number_text(
            settings.access.max_new_views_per_minute_per_client,
        ),
        rules: vitrine_data::clause::render_rule_clause(&settings.rules),
    }
}

fn number_text(n: Option<u32>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn expiry_choices(max_days: Option<i64>, editing: Option<&EditingLink>) -> Vec<Choice> {
    let mut choices = Vec::with_capacity(EXPIRY_PRESETS.len() + 2);
    if let Some(link) = editing {
        choices.push(Choice::new(
            "keep",
            format!("Keep as it is ({})", link.expires),
        ));
    }
    for (label, expiry) in EXPIRY_PRESETS {
        let (value, days) = match expiry {
            Expiry::Days { days } => (days.to_string(), Some(i64::from(days))),
            Expiry::Never => ("never".to_owned(), None),
            Expiry::At { .. } => continue,
        };
        let disabled = match (max_days, days) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(max), Some(days)) => days > max,
        };
        let label = match expiry {
            Expiry::Never => "Never expires".to_owned(),
            _ => format!("In {label}"),
        };
        choices.push(Choice {
            value,
            label,
            disabled,
        });
    }
    choices.push(Choice::new("at", "On a date and time (UTC)…"));
    choices
}

/// Known values of each select filter, as suggestions for locking (best effort: a data source
/// that does not answer leaves the inputs without suggestions).
async fn suggestions(
    state: &App,
    record: &DashboardRecord,
    doc: &Dashboard,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let wanted = doc
        .filters
        .iter()
        .any(|f| matches!(f.kind, FilterKind::SingleSelect | FilterKind::MultiSelect));
    if !wanted {
        return out;
    }
    let Ok(ctx) = content::dashboard_context(state, record).await else {
        return out;
    };
    for filter in &doc.filters {
        if let Some(Ok(options)) = state
            .runner
            .filter_options(&ctx, filter.id.as_str(), &Restrictions::none())
            .await
        {
            out.insert(filter.id.to_string(), options.values);
        }
    }
    out
}

async fn share_page(
    state: &App,
    identity: &Identity,
    record: &DashboardRecord,
    doc: &Dashboard,
    outcome: Outcome,
) -> Result<Response, HttpError> {
    let member = &identity.member;
    let actor = identity.actor();
    let mut views = links::list_links(state, member, Some(record.id)).await?;
    views.sort_by(|a, b| {
        state_rank(a.state)
            .cmp(&state_rank(b.state))
            .then(b.created_at.cmp(&a.created_at))
    });
    let policy = links::policy(state, member).await?;
    let editing_view = match &outcome.editing {
        Some(id) => Some(
            views
                .iter()
                .find(|v| &v.id == id && v.state != "deleted")
                .ok_or(Error::NotFound)?,
        ),
        None => None,
    };
    let editing = editing_view.map(|v| EditingLink {
        id: v.id.clone(),
        label: v.label.clone(),
        target: v.widget_id.as_deref().map_or_else(
            || "the whole dashboard".to_owned(),
            |w| format!("only the widget “{}”", widget_title(Some(doc), w)),
        ),
        expires: format_opt_time(&v.expires_at),
        has_password: v.has_password,
        needs_embed: v.settings.embed.allowed && !actor.permissions().embed,
    });
    let failed = outcome.error.is_some();
    let mut form = match (outcome.form, editing_view) {
        (Some(form), _) => form,
        (None, Some(view)) => form_from_link(view, doc),
        (None, None) => {
            let mut form = new_form(doc, &policy, state.now());
            if let Some(widget) = outcome.widget.filter(|w| doc.widget(w).is_some()) {
                form.target = widget;
            }
            form
        }
    };
    let mut known = suggestions(state, record, doc).await;
    // Best effort, like the suggestions: a data source that does not answer leaves no warning.
    let coverage = links::lock_coverage(state, member, record.id)
        .await
        .unwrap_or_default();
    for field in &mut form.filters {
        field.suggestions = known.remove(&field.id).unwrap_or_default();
        if let Some(widgets) = coverage.get(&field.id).filter(|w| !w.is_empty()) {
            field.uncovered = widgets
                .iter()
                .map(|id| uncovered_titles(doc, std::slice::from_ref(id)))
                .collect();
        }
    }

    let mut fresh = None;
    let mut notice = None;
    if let Some((done, id)) = &outcome.done
        && let Some(view) = views.iter().find(|v| &v.id == id)
    {
        let label = &view.label;
        match done {
            Done::Created | Done::Rotated if !view.url.is_empty() => {
                let (title, note) = if *done == Done::Created {
                    (
                        format!("Link “{label}” created"),
                        "Copy it and send it to its audience. You can show it again here at any time."
                            .to_owned(),
                    )
                } else {
                    (
                        format!("New URL for “{label}”"),
                        "The old URL and short link no longer work. Send this one instead."
                            .to_owned(),
                    )
                };
                fresh = Some(FreshLink {
                    id: view.id.clone(),
                    title,
                    note,
                    url: view.url.clone(),
                    short_url: view.short_url.clone(),
                });
            }
            Done::Created | Done::Rotated => {}
            Done::Updated => notice = Some(format!("Link “{label}” saved.")),
            Done::Disabled => {
                notice = Some(format!(
                    "Link “{label}” disabled: it answers “no longer active” until you enable it again (same URL)."
                ));
            }
            Done::Enabled => {
                notice = Some(format!("Link “{label}” enabled: the same URL works again."))
            }
            Done::Deleted => {
                notice = Some(format!(
                    "Link “{label}” deleted: it no longer works. Its access history is kept."
                ));
            }
        }
    }

    let (deleted, live): (Vec<&LinkView>, Vec<&LinkView>) =
        views.iter().partition(|v| v.state == "deleted");
    let mut links: Vec<LinkRow> = live
        .iter()
        .map(|v| link_row(v, Some(doc), &doc.title, Some(&coverage)))
        .collect();
    for (row, view) in links.iter_mut().zip(&live) {
        if row.identified.is_none() {
            continue;
        }
        row.viewers = vitrine_app::identified::viewers_of(state, view, 5)
            .await?
            .into_iter()
            .map(|v| {
                let times = if v.views == 1 { "view" } else { "views" };
                (
                    v.email,
                    format!("{} {times}", v.views),
                    stamp(v.last_view_at),
                )
            })
            .collect();
    }
    // "Send by e-mail": what was sent, inline under each link.
    for row in &mut links {
        row.sent = state
            .store
            .mails_about(record.workspace_id, "link", &format!("link:{}", row.id))
            .await?
            .iter()
            .map(|m| {
                (
                    stamp(m.sent_at.unwrap_or(m.created_at)),
                    m.recipient.clone(),
                    m.state.as_str(),
                )
            })
            .collect();
    }
    let page = SharePage {
        chrome: Chrome::new(identity, "home"),
        dashboard_id: record.id.0,
        dashboard_title: doc.title.clone(),
        draft: record.status != "published",
        default_caps: state.limits.caps(),
        links,
        deleted: deleted
            .iter()
            .map(|v| link_row(v, Some(doc), &doc.title, None))
            .collect(),
        widgets: doc
            .widgets
            .iter()
            .map(|w| {
                let title = if w.title.is_empty() {
                    w.id.to_string()
                } else {
                    w.title.clone()
                };
                Choice::new(w.id.to_string(), title)
            })
            .collect(),
        expiry_choices: expiry_choices(policy.max_link_days, editing.as_ref()),
        date_presets: PRESETS
            .iter()
            .map(|(_, name, label)| Choice::new(*name, *label))
            .collect(),
        form,
        editing,
        can_embed: actor.permissions().embed,
        policy: PolicyHints {
            links_allowed: policy.public_links_allowed,
            max_days: policy.max_link_days,
            password_required: policy.password_required,
            suspended: policy.suspended,
        },
        is_admin: actor.is_admin(),
        fresh,
        notice,
        error: outcome.error,
    };
    let status = if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

async fn show_share_page(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    Query(query): Query<ShareQuery>,
) -> Result<Response, HttpError> {
    let (record, doc) = shareable(&state, &identity, id).await?;
    let outcome = Outcome {
        editing: query.edit,
        widget: query.widget,
        done: query.done.zip(query.link),
        ..Outcome::default()
    };
    share_page(&state, &identity, &record, &doc, outcome).await
}

/// Back to the share page after a successful action, with what happened as a code.
fn done(dashboard: DashboardId, done: Done, link: &str) -> Response {
    let code = match done {
        Done::Created => "created",
        Done::Updated => "updated",
        Done::Disabled => "disabled",
        Done::Enabled => "enabled",
        Done::Rotated => "rotated",
        Done::Deleted => "deleted",
    };
    let anchor = if matches!(done, Done::Created | Done::Rotated) {
        "fresh".to_owned()
    } else {
        format!("link-{link}")
    };
    Redirect::to(&format!(
        "{}?done={code}&link={link}#{anchor}",
        share_paths::share(dashboard)
    ))
    .into_response()
}

// ---- reading the link form -----------------------------------------------------------------

/// A posted form as its name / value pairs (filter fields are named after the dashboard's
/// filters, so they cannot be a fixed struct).
#[derive(Debug)]
pub(crate) struct Fields(pub(crate) Vec<(String, String)>);

impl Fields {
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub(crate) fn on(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
}

/// What the form asks for, checked as far as a form can be (the service checks the rest).
#[derive(Debug)]
struct LinkInput {
    label: String,
    target: Option<String>,
    /// `None`: keep the current expiry.
    expiry: Option<Expiry>,
    password: Option<String>,
    remove_password: bool,
    locked: BTreeMap<String, FilterValue>,
    open: Vec<String>,
    display: DisplayOptions,
    embed: EmbedPolicy,
    access: AccessPolicy,
    rules: Vec<vitrine_core::dashboard::RowLevelRule>,
}

const DATETIME_LOCAL: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");
const DATETIME_LOCAL_SECONDS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

fn read_expiry(choice: &str, at: &str, editing: bool) -> Result<Option<Expiry>, String> {
    match choice {
        "keep" if editing => Ok(None),
        "never" => Ok(Some(Expiry::Never)),
        "at" => {
            let at = at.trim();
            let parsed = PrimitiveDateTime::parse(at, DATETIME_LOCAL)
                .or_else(|_| PrimitiveDateTime::parse(at, DATETIME_LOCAL_SECONDS))
                .map_err(|_| {
                    "Enter the date and time the link stops working (UTC), like 2026-12-31 18:00."
                        .to_owned()
                })?;
            Ok(Some(Expiry::At {
                at: parsed.assume_utc(),
            }))
        }
        days => match days.parse::<u32>() {
            Ok(days) if (1..=36_500).contains(&days) => Ok(Some(Expiry::Days { days })),
            _ => Err("Choose when the link stops working.".to_owned()),
        },
    }
}

fn read_date(text: &str, label: &str) -> Result<Option<Date>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| format!("“{label}”: “{text}” is not a date like 2026-01-31."))
}

fn read_number(text: &str, label: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(Some(n)),
        _ => Err(format!("“{label}”: “{text}” is not a number.")),
    }
}

/// The value a filter is locked to, from its inputs.
pub(crate) fn locked_value(filter: &Filter, field: &FilterField) -> Result<FilterValue, String> {
    let label = &filter.label;
    match filter.kind {
        FilterKind::SingleSelect => {
            let text = field.text.trim();
            if text.is_empty() {
                return Err(format!(
                    "Type the value to lock “{label}” to, or leave it open."
                ));
            }
            Ok(FilterValue::One(Scalar::Text(text.to_owned())))
        }
        FilterKind::MultiSelect => {
            let values: Vec<Scalar> = field
                .text
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| Scalar::Text(v.to_owned()))
                .collect();
            if values.is_empty() {
                return Err(format!(
                    "Type the values to lock “{label}” to, separated by commas, or leave it open."
                ));
            }
            Ok(FilterValue::Many(values))
        }
        FilterKind::DateRange => match field.preset.as_str() {
            "custom" => {
                let from = read_date(&field.from, label)?;
                let to = read_date(&field.to, label)?;
                if from.is_none() && to.is_none() {
                    return Err(format!(
                        "Give “{label}” a first day, a last day or both, or pick a period."
                    ));
                }
                if let (Some(f), Some(t)) = (from, to)
                    && f > t
                {
                    return Err(format!("“{label}”: the first day is after the last day."));
                }
                Ok(FilterValue::DateRange(DateRange::Absolute { from, to }))
            }
            name => PRESETS
                .iter()
                .find(|(_, n, _)| *n == name)
                .map(|(preset, _, _)| {
                    FilterValue::DateRange(DateRange::Relative { preset: *preset })
                })
                .ok_or_else(|| format!("Pick the period to lock “{label}” to, or leave it open.")),
        },
        FilterKind::NumberRange => {
            let min = read_number(&field.min, label)?;
            let max = read_number(&field.max, label)?;
            if min.is_none() && max.is_none() {
                return Err(format!(
                    "Give “{label}” a minimum, a maximum or both, or leave it open."
                ));
            }
            if let (Some(a), Some(b)) = (min, max)
                && a > b
            {
                return Err(format!(
                    "“{label}”: the minimum is larger than the maximum."
                ));
            }
            Ok(FilterValue::NumberRange(NumberRange { min, max }))
        }
    }
}

/// An optional whole number ≥ 1 from a form field (empty: none).
fn read_limit(text: &str, label: &str) -> Result<Option<u32>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(Some(n)),
        _ => Err(format!(
            "{label}: enter a whole number of at least 1, or leave it empty."
        )),
    }
}

/// The access policy from the form's fields.
fn read_access(view: &LinkFormView) -> Result<AccessPolicy, String> {
    let mut networks = Vec::new();
    for line in view
        .allowed_networks
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let network = Network::parse(line).map_err(|e| format!("Allowed networks: {e}"))?;
        if !networks.contains(&network) {
            networks.push(network);
        }
    }
    let mut email_domains = Vec::new();
    for line in view
        .email_domains
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|l| !l.is_empty())
    {
        let domain = vitrine_core::identified::EmailDomain::parse(line)
            .map_err(|e| format!("Allowed e-mail domains: {e}"))?;
        if !email_domains.contains(&domain) {
            email_domains.push(domain);
        }
    }
    Ok(AccessPolicy {
        confirm_email: view.confirm_email,
        email_domains,
        max_views: read_limit(&view.max_views, "View limit")?,
        allowed_networks: networks,
        max_live_viewers: read_limit(&view.max_live_viewers, "Live viewers on this link")?,
        max_live_viewers_per_client: read_limit(
            &view.max_live_viewers_per_client,
            "Live viewers per address",
        )?,
        max_new_views_per_minute: read_limit(
            &view.max_new_views_per_minute,
            "New filter views per minute",
        )?,
        max_new_views_per_minute_per_client: read_limit(
            &view.max_new_views_per_minute_per_client,
            "New filter views per minute per address",
        )?,
    })
}

fn read_origins(text: &str) -> Result<Vec<Origin>, String> {
    let mut origins: Vec<Origin> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let origin = Origin::parse(line).map_err(|e| format!("Allowed sites: {e}."))?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

/// Reads the link form: the values to show again (always), and what it asks for (or the first
/// problem, in words). `current` is the link being edited.
fn read_link_form(
    fields: &Fields,
    doc: &Dashboard,
    current: Option<&LinkView>,
    can_embed: bool,
) -> (LinkFormView, Result<LinkInput, String>) {
    let mut view = LinkFormView {
        label: fields.get("label").to_owned(),
        target: match current {
            Some(link) => link.widget_id.clone().unwrap_or_default(),
            None => fields.get("target").to_owned(),
        },
        expiry: fields.get("expiry").to_owned(),
        expires_at: fields.get("expires_at").to_owned(),
        remove_password: fields.on("remove_password"),
        filters: Vec::with_capacity(doc.filters.len()),
        show_title: fields.on("show_title"),
        show_filters: fields.on("show_filters"),
        allow_downloads: fields.on("allow_downloads"),
        theme: match fields.get("theme") {
            t @ ("light" | "dark") => t.to_owned(),
            _ => "system".to_owned(),
        },
        embed_allowed: fields.on("embed_allowed"),
        embed_origins: fields.get("embed_origins").to_owned(),
        max_views: fields.get("max_views").to_owned(),
        allowed_networks: fields.get("allowed_networks").to_owned(),
        confirm_email: fields.on("confirm_email"),
        email_domains: fields.get("email_domains").to_owned(),
        max_live_viewers: fields.get("max_live_viewers").to_owned(),
        max_live_viewers_per_client: fields.get("max_live_viewers_per_client").to_owned(),
        max_new_views_per_minute: fields.get("max_new_views_per_minute").to_owned(),
        max_new_views_per_minute_per_client: fields
            .get("max_new_views_per_minute_per_client")
            .to_owned(),
        rules: fields.get("rules").to_owned(),
    };
    if !can_embed {
        // The inputs were disabled: show (and keep) what the link has.
        let embed = current
            .map(|l| l.settings.embed.clone())
            .unwrap_or_default();
        view.embed_allowed = embed.allowed;
        view.embed_origins = embed
            .origins
            .iter()
            .map(Origin::as_str)
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut problems: Vec<String> = Vec::new();
    let mut locked = BTreeMap::new();
    let mut open = Vec::new();
    for filter in &doc.filters {
        let id = filter.id.as_str();
        let mut field = blank_field(filter);
        field.mode = match fields.get(&format!("mode.{id}")) {
            m @ ("locked" | "hidden") => m.to_owned(),
            _ => "open".to_owned(),
        };
        field.text = fields.get(&format!("lock.{id}")).to_owned();
        field.preset = fields.get(&format!("lock.{id}.preset")).to_owned();
        field.from = fields.get(&format!("lock.{id}.from")).to_owned();
        field.to = fields.get(&format!("lock.{id}.to")).to_owned();
        field.min = fields.get(&format!("lock.{id}.min")).to_owned();
        field.max = fields.get(&format!("lock.{id}.max")).to_owned();
        match field.mode.as_str() {
            "locked" => match locked_value(filter, &field) {
                Ok(value) => {
                    locked.insert(id.to_owned(), value);
                }
                Err(problem) => problems.push(problem),
            },
            "open" => open.push(id.to_owned()),
            _ => {}
        }
        view.filters.push(field);
    }
    let expiry = read_expiry(&view.expiry, &view.expires_at, current.is_some());
    let origins = if can_embed {
        read_origins(&view.embed_origins)
    } else {
        Ok(Vec::new())
    };
    let access = read_access(&view);
    let rules = if view.rules.trim().is_empty() {
        Ok(Vec::new())
    } else {
        vitrine_data::clause::parse_rule_clause(&view.rules)
            .map_err(|e| format!("Row-level rules: {}.", e.message()))
    };
    let rules = match rules {
        Ok(rules) => rules,
        Err(problem) => {
            problems.push(problem);
            Vec::new()
        }
    };
    let input = match (expiry, origins, access) {
        (Err(problem), _, _) | (_, Err(problem), _) | (_, _, Err(problem)) => Err(problem),
        _ if !problems.is_empty() => Err(problems.join(" ")),
        (Ok(expiry), Ok(origins), Ok(access)) => {
            let password = fields.get("password");
            Ok(LinkInput {
                label: view.label.clone(),
                target: Some(view.target.clone()).filter(|t| !t.is_empty()),
                expiry,
                password: (!password.is_empty()).then(|| password.to_owned()),
                remove_password: view.remove_password,
                locked,
                open,
                display: DisplayOptions {
                    show_title: view.show_title,
                    show_filters: view.show_filters,
                    allow_downloads: view.allow_downloads,
                    theme: match view.theme.as_str() {
                        "light" => LinkTheme::Light,
                        "dark" => LinkTheme::Dark,
                        _ => LinkTheme::System,
                    },
                },
                embed: EmbedPolicy {
                    allowed: view.embed_allowed,
                    origins,
                },
                access,
                rules,
            })
        }
    };
    (view, input)
}

// ---- create, update and the lifecycle ------------------------------------------------------

async fn create_share_link(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    let (record, doc) = shareable(&state, &identity, id).await?;
    let can_embed = identity.actor().permissions().embed;
    let (view, input) = read_link_form(&Fields(fields), &doc, None, can_embed);
    let result = match input {
        Err(problem) => Err(Error::invalid(problem)),
        Ok(input) => {
            let new = NewLink {
                dashboard_id: id,
                widget_id: input.target,
                label: input.label,
                expiry: input.expiry.unwrap_or(Expiry::Days { days: 90 }),
                password: input.password,
                locked_filters: input.locked,
                open_filters: Some(input.open),
                display: input.display,
                embed: if can_embed {
                    input.embed
                } else {
                    EmbedPolicy::default()
                },
                access: input.access,
                rules: input.rules,
            };
            links::create_link(&state, &identity.member, new).await
        }
    };
    match result {
        Ok(link) => Ok(done(id, Done::Created, &link.id)),
        Err(Error::Invalid { message, .. } | Error::Conflict(message)) => {
            let outcome = Outcome {
                form: Some(view),
                error: Some(message),
                ..Outcome::default()
            };
            share_page(&state, &identity, &record, &doc, outcome).await
        }
        Err(other) => Err(other.into()),
    }
}

/// A link of this dashboard (404 for another dashboard's link, or another workspace's).
async fn link_of(
    state: &App,
    identity: &Identity,
    dashboard: DashboardId,
    link: &str,
) -> Result<LinkView, HttpError> {
    let view = links::show_link(state, &identity.member, link).await?;
    if view.dashboard_id == dashboard {
        Ok(view)
    } else {
        Err(Error::NotFound.into())
    }
}

async fn update_share_link(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, link)): Path<(DashboardId, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, HttpError> {
    let (record, doc) = shareable(&state, &identity, id).await?;
    let current = link_of(&state, &identity, id, &link).await?;
    let can_embed = identity.actor().permissions().embed;
    let (view, input) = read_link_form(&Fields(fields), &doc, Some(&current), can_embed);
    let result = match input {
        Err(problem) => Err(Error::invalid(problem)),
        Ok(input) => {
            let changes = LinkChanges {
                label: Some(input.label),
                expiry: input.expiry,
                password: input.password,
                remove_password: input.remove_password,
                locked_filters: Some(input.locked),
                open_filters: Some(input.open),
                display: Some(input.display),
                embed: can_embed.then_some(input.embed),
                access: Some(input.access),
                rules: Some(input.rules),
            };
            links::update_link(&state, &identity.member, &link, changes).await
        }
    };
    match result {
        Ok(saved) => Ok(done(id, Done::Updated, &saved.id)),
        Err(Error::Invalid { message, .. } | Error::Conflict(message)) => {
            let outcome = Outcome {
                form: Some(view),
                editing: Some(link),
                error: Some(message),
                ..Outcome::default()
            };
            share_page(&state, &identity, &record, &doc, outcome).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn act(
    state: &App,
    identity: &Identity,
    id: DashboardId,
    link: &str,
    action: LinkAction,
) -> Result<Response, HttpError> {
    let (record, doc) = shareable(state, identity, id).await?;
    link_of(state, identity, id, link).await?;
    match links::act_on_link(state, &identity.member, link, action).await {
        Ok(view) => Ok(done(
            id,
            match action {
                LinkAction::Disable => Done::Disabled,
                LinkAction::Enable => Done::Enabled,
                LinkAction::Rotate => Done::Rotated,
                LinkAction::Delete => Done::Deleted,
            },
            &view.id,
        )),
        Err(Error::Invalid { message, .. } | Error::Conflict(message)) => {
            let outcome = Outcome {
                error: Some(message),
                ..Outcome::default()
            };
            share_page(state, identity, &record, &doc, outcome).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn disable_share_link(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, link)): Path<(DashboardId, String)>,
) -> Result<Response, HttpError> {
    act(&state, &identity, id, &link, LinkAction::Disable).await
}

async fn enable_share_link(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, link)): Path<(DashboardId, String)>,
) -> Result<Response, HttpError> {
    act(&state, &identity, id, &link, LinkAction::Enable).await
}

async fn rotate_share_link(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, link)): Path<(DashboardId, String)>,
) -> Result<Response, HttpError> {
    act(&state, &identity, id, &link, LinkAction::Rotate).await
}

async fn delete_share_link(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, link)): Path<(DashboardId, String)>,
) -> Result<Response, HttpError> {
    act(&state, &identity, id, &link, LinkAction::Delete).await
}

// ---- workspace settings --------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SettingsDone {
    Policy,
    Suspended,
    Resumed,
    ReportDomains,
}

#[derive(Debug, Default, Deserialize)]
struct SettingsQuery {
    done: Option<SettingsDone>,
}

async fn settings_page(
    state: &App,
    identity: &Identity,
    form: Option<PolicyFormView>,
    notice: Option<String>,
    error: Option<String>,
    report_domains: Option<String>,
) -> Result<Response, HttpError> {
    if !identity.actor().is_admin() {
        return Err(Error::Forbidden.into());
    }
    let member = &identity.member;
    let report_domains = match report_domains {
        Some(text) => text,
        None => vitrine_app::reports::email_domains(state, member)
            .await?
            .join("\n"),
    };
    let policy = links::policy(state, member).await?;
    let mut views = links::list_links(state, member, None).await?;
    views.sort_by(|a, b| {
        state_rank(a.state)
            .cmp(&state_rank(b.state))
            .then(b.created_at.cmp(&a.created_at))
    });
    let docs = links::dashboards_of_links(state, member, &views).await?;
    let rows: Vec<LinkRow> = views
        .iter()
        .map(|v| {
            let (title, doc) = docs
                .get(&v.dashboard_id)
                .map_or(("(deleted dashboard)", None), |(t, d)| {
                    (t.as_str(), d.as_ref())
                });
            link_row(v, doc, title, None)
        })
        .collect();
    let failed = error.is_some();
    let page = SettingsPage {
        chrome: Chrome::new(identity, "settings"),
        form: form.unwrap_or_else(|| PolicyFormView {
            public_links_allowed: policy.public_links_allowed,
            max_link_days: policy
                .max_link_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            password_required: policy.password_required,
            contact_line: policy.contact_line.clone(),
            footer: policy.footer.clone(),
        }),
        suspended: policy.suspended,
        active: rows.iter().filter(|r| r.state == "active").count(),
        links: rows,
        report_domains,
        notice,
        error,
    };
    let status = if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

async fn show_settings(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Query(query): Query<SettingsQuery>,
) -> Result<Response, HttpError> {
    let notice = query.done.map(|done| {
        match done {
            SettingsDone::Policy => {
                "Link policy saved. It applies to links created or changed from now on."
            }
            SettingsDone::Suspended => {
                "Sharing suspended: every link now answers “This link is no longer active”."
            }
            SettingsDone::Resumed => "Sharing resumed: every link works again as it was.",
            SettingsDone::ReportDomains => {
                "Allowed e-mail domains saved. They apply to reports saved from now on."
            }
        }
        .to_owned()
    });
    settings_page(&state, &identity, None, notice, None, None).await
}

#[derive(Debug, Deserialize)]
struct PolicyForm {
    public_links_allowed: Option<String>,
    #[serde(default)]
    max_link_days: String,
    password_required: Option<String>,
    #[serde(default)]
    contact_line: String,
    #[serde(default)]
    footer: String,
}

async fn update_link_policy(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Form(form): Form<PolicyForm>,
) -> Result<Response, HttpError> {
    if !identity.actor().is_admin() {
        return Err(Error::Forbidden.into());
    }
    let view = PolicyFormView {
        public_links_allowed: form.public_links_allowed.is_some_and(|v| !v.is_empty()),
        max_link_days: form.max_link_days.trim().to_owned(),
        password_required: form.password_required.is_some_and(|v| !v.is_empty()),
        contact_line: form.contact_line,
        footer: form.footer,
    };
    let max_link_days = if view.max_link_days.is_empty() {
        Ok(None)
    } else {
        view.max_link_days.parse::<i64>().map(Some).map_err(|_| {
            Error::invalid("The longest expiry is a whole number of days, or empty for no limit.")
        })
    };
    let result = match max_link_days {
        Ok(max_link_days) => {
            let policy = PolicyView {
                public_links_allowed: view.public_links_allowed,
                max_link_days,
                password_required: view.password_required,
                contact_line: view.contact_line.clone(),
                footer: view.footer.clone(),
                suspended: false,
            };
            links::set_policy(&state, &identity.member, policy).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => {
            Ok(Redirect::to(&format!("{}?done=policy", share_paths::SETTINGS)).into_response())
        }
        Err(Error::Invalid { message, .. } | Error::Conflict(message)) => {
            settings_page(&state, &identity, Some(view), None, Some(message), None).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn set_suspended(
    state: &App,
    identity: &Identity,
    suspended: bool,
) -> Result<Response, HttpError> {
    links::set_suspended(state, &identity.member, suspended).await?;
    let done = if suspended { "suspended" } else { "resumed" };
    Ok(Redirect::to(&format!("{}?done={done}", share_paths::SETTINGS)).into_response())
}

async fn suspend_sharing(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<Response, HttpError> {
    set_suspended(&state, &identity, true).await
}

async fn resume_sharing(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<Response, HttpError> {
    set_suspended(&state, &identity, false).await
}

#[derive(Debug, Deserialize)]
struct ReportDomainsForm {
    #[serde(default)]
    domains: String,
}

/// The settings page's allowed e-mail domains for report recipients: one per line (commas
/// and spaces also separate); empty allows any address.
async fn update_report_email_domains(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Form(form): Form<ReportDomainsForm>,
) -> Result<Response, HttpError> {
    let domains: Vec<String> = form
        .domains
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    match vitrine_app::reports::set_email_domains(&state, &identity.member, &domains).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}?done=report_domains#report-domains",
            share_paths::SETTINGS
        ))
        .into_response()),
        Err(Error::Invalid { message, .. }) => {
            let message = format!("Allowed e-mail domains: {message}.");
            settings_page(
                &state,
                &identity,
                None,
                None,
                Some(message),
                Some(form.domains),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
