//! The audit trail as people search it: owner actions and outsiders' access events, filtered
//! (actor, action, target type and id, date range), keyset-paged over any number of rows
//! (the store's indexes serve each filter), each entry told as a sentence ("ana@acme.test
//! rotated the link 'Board' of 'Executive overview'") with its details unfolded and the path
//! of its target, and as formula-safe CSV.
//!
//! `source = access` searches the access log instead (within `access.retention_days`): one
//! search then shows everything that happened to a link, from its creation to the last refused
//! attempt. Admins only.

use std::collections::HashMap;

use serde::Serialize;
use time::{Date, OffsetDateTime};
use vitrine_core::result::{Column, ColumnType, ResultTable, Value};
use vitrine_store::{AccessEventQuery, AuditEvent, AuditQuery, Cursor, Member};

use crate::analytics::EventCursor;
use crate::{App, Error};

/// Which log to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// Owner actions.
    #[default]
    Actions,
    /// Outsiders' access events.
    Access,
}

impl Source {
    /// Parses `actions` or `access`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "actions" => Ok(Self::Actions),
            "access" => Ok(Self::Access),
            _ => Err(Error::invalid_field(
                "source",
                "source must be actions or access.",
            )),
        }
    }

    /// The text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actions => "actions",
            Self::Access => "access",
        }
    }
}

/// A search of the trail. Empty strings are "any".
#[derive(Debug, Clone, Default)]
pub struct TrailFilter {
    /// Which log.
    pub source: Source,
    /// The actor, exactly (e-mail, `cli`, `system`); ignored for access events.
    pub actor: Option<String>,
    /// The action (`link.rotated`), or for access events the outcome (`bad_password`).
    pub action: Option<String>,
    /// The target type (`link`, `dashboard`, `member` …).
    pub target_type: Option<String>,
    /// The target id (of any type when no type is given).
    pub target_id: Option<String>,
    /// From this day (UTC), included.
    pub from: Option<Date>,
    /// To this day (UTC), included.
    pub to: Option<Date>,
    /// After this cursor (from a previous page).
    pub cursor: Option<EventCursor>,
    /// Page size, 1 to 1000.
    pub limit: i64,
}

/// One entry of the trail.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrailEntry {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `action` (an owner's) or `access` (an outsider's request).
    pub kind: String,
    /// Who: a member's e-mail, `cli`, `system`, or `outsider`.
    pub actor: String,
    /// What (`link.rotated` …), or the access event's outcome.
    pub action: String,
    /// The target type (`link`, `dashboard` …).
    pub target_type: String,
    /// The target id.
    pub target_id: String,
    /// The owner-UI path of the target, when it has a page.
    pub target_path: Option<String>,
    /// The entry as a sentence.
    pub summary: String,
    /// The details, unfolded (for access events: country and client class).
    pub detail: serde_json::Value,
}

/// A page of the trail.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrailPage {
    /// Newest first.
    pub entries: Vec<TrailEntry>,
    /// The cursor of the next (older) page; none on the last page.
    pub next: Option<String>,
}

fn may_read(member: &Member) -> Result<(), Error> {
    if member.actor().is_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn day_start(d: Date) -> OffsetDateTime {
    d.midnight().assume_utc()
}

fn split_target(target: &str) -> (String, String) {
    match target.split_once(':') {
        Some((t, id)) => (t.to_owned(), id.to_owned()),
        None => (target.to_owned(), String::new()),
    }
}

/// The owner-UI page of a target.
pub fn target_path(target_type: &str, id: &str) -> Option<String> {
    match target_type {
        "link" if !id.is_empty() => Some(format!("/links/{id}/analytics")),
        "dashboard" if id.parse::<i64>().is_ok() => Some(format!("/dashboards/{id}")),
        "member" => Some("/members".to_owned()),
        "api_key" => Some("/api-keys".to_owned()),
        "data_source" => Some("/data-sources".to_owned()),
        "dataset" => Some("/datasets".to_owned()),
        "workspace" => Some("/settings".to_owned()),
        _ => None,
    }
}

/// `link.password_changed` → "changed the password of".
fn verb(action: &str) -> String {
    let what = action.split_once('.').map_or(action, |(_, w)| w);
    match what {
        "created" | "deleted" | "disabled" | "enabled" | "rotated" | "updated" | "invited"
        | "removed" | "revoked" | "suspended" | "resumed" => what.to_owned(),
        "password_changed" => "changed the password of".to_owned(),
        "password_reset" => "reset the password of".to_owned(),
        "access_changed" => "changed the access of".to_owned(),
        "policy_changed" => "changed the link policy of".to_owned(),
        other => format!("did {} on", other.replace('_', " ")),
    }
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

fn describe(
    actor: &str,
    action: &str,
    ttype: &str,
    id: &str,
    detail: &serde_json::Value,
    titles: &HashMap<i64, String>,
) -> String {
    let str_of = |k: &str| detail.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let object = match ttype {
        "link" => {
            let label = str_of("label").map_or_else(|| id.to_owned(), |l| quoted(&l));
            let dashboard = detail
                .get("dashboard_id")
                .and_then(serde_json::Value::as_i64)
                .and_then(|d| titles.get(&d));
            match dashboard {
                Some(title) => format!("the link {label} of {}", quoted(title)),
                None => format!("the link {label}"),
            }
        }
        "dashboard" => {
            let title = str_of("title")
                .or_else(|| id.parse::<i64>().ok().and_then(|d| titles.get(&d).cloned()));
            title.map_or_else(
                || format!("dashboard {id}"),
                |t| format!("the dashboard {}", quoted(&t)),
            )
        }
        "member" => str_of("email").unwrap_or_else(|| format!("member {id}")),
        "api_key" => str_of("name").map_or_else(
            || format!("API key {id}"),
            |n| format!("the API key {}", quoted(&n)),
        ),
        "data_source" | "dataset" => {
            let kind = ttype.replace('_', " ");
            str_of("name").map_or_else(
                || format!("{kind} {id}"),
                |n| format!("the {kind} {}", quoted(&n)),
            )
        }
        "workspace" => "the workspace".to_owned(),
        _ if id.is_empty() => ttype.to_owned(),
        _ => format!("{ttype} {id}"),
    };
    format!("{actor} {} {object}", verb(action))
}

fn access_sentence(outcome: &str, link: &str, label: Option<&str>) -> String {
    let what = match outcome {
        "ok" => "viewed".to_owned(),
        "unlocked" => "typed the right password of".to_owned(),
        o if o.starts_with("export_") => format!("downloaded {} from", &o[7..].to_uppercase()),
        "bad_password" => "was refused (wrong password) by".to_owned(),
        "rate_limited" => "was refused (too many attempts) by".to_owned(),
        o => format!("was refused ({}) by", o.replace('_', " ")),
    };
    let link = label.map_or_else(|| link.to_owned(), quoted);
    format!("An outsider {what} the link {link}")
}

/// The newest `limit` (1 to 1000) owner actions of the member's workspace, newest first: the
/// plain list of `/api/v1/audit-events`. Admins.
pub async fn audit_events(
    state: &App,
    member: &Member,
    limit: i64,
) -> Result<Vec<AuditEvent>, Error> {
    may_read(member)?;
    Ok(state
        .store
        .audit_events(member.workspace_id, limit.clamp(1, 1000))
        .await?)
}

/// A page of the trail under `filter`. Admins.
pub async fn search(
    state: &App,
    member: &Member,
    filter: &TrailFilter,
) -> Result<TrailPage, Error> {
    may_read(member)?;
    state.access_log.flush().await;
    let ws = member.workspace_id;
    let limit = filter.limit.clamp(1, 1000);
    let since = filter.from.map(day_start);
    let until = filter.to.and_then(|d| d.next_day()).map(day_start);
    let nonempty = |s: &Option<String>| s.as_ref().filter(|s| !s.is_empty()).cloned();
    let titles: HashMap<i64, String> = state
        .store
        .dashboards(ws)
        .await?
        .into_iter()
        .map(|d| (d.id.0, d.title))
        .collect();
    let mut entries = Vec::new();
    let mut cursors = Vec::new();
    match filter.source {
        Source::Actions => {
            let target_type = nonempty(&filter.target_type);
            let target_id = nonempty(&filter.target_id);
            let target = match (&target_type, &target_id) {
                (Some(t), Some(id)) => Some(format!("{t}:{id}")),
                _ => None,
            };
            let rows = state
                .store
                .audit_page(&AuditQuery {
                    workspace: ws,
                    actor: nonempty(&filter.actor),
                    action: nonempty(&filter.action),
                    target_type: if target.is_some() { None } else { target_type },
                    target_id: if target.is_some() { None } else { target_id },
                    target,
                    since,
                    until,
                    after: filter.cursor.map(|c| c.0),
                    limit: limit + 1,
                })
                .await?;
            for r in rows {
                let e = r.event;
                let (ttype, id) = split_target(&e.target);
                let detail: serde_json::Value =
                    serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null);
                cursors.push(Cursor { at: e.at, id: r.id });
                entries.push(TrailEntry {
                    at: e.at,
                    kind: "action".to_owned(),
                    summary: describe(&e.actor, &e.action, &ttype, &id, &detail, &titles),
                    target_path: target_path(&ttype, &id),
                    actor: e.actor,
                    action: e.action,
                    target_type: ttype,
                    target_id: id,
                    detail,
                });
            }
        }
        Source::Access => {
            // Access events are about links: any other target type finds nothing.
            if nonempty(&filter.target_type).is_some_and(|t| t != "link") {
                return Ok(TrailPage {
                    entries: Vec::new(),
                    next: None,
                });
            }
            let labels: HashMap<String, String> = state
                .store
                .links(ws, None)
                .await?
                .into_iter()
                .map(|l| (l.id, l.label))
                .collect();
            let rows = state
                .store
                .access_event_page(&AccessEventQuery {
                    workspace: ws,
                    link: nonempty(&filter.target_id),
                    outcome: nonempty(&filter.action),
                    since,
                    until,
                    after: filter.cursor.map(|c| c.0),
                    limit: limit + 1,
                })
                .await?;
            for r in rows {
                let e = r.event;
                let link = e.link_id.clone().unwrap_or_default();
                cursors.push(Cursor { at: e.at, id: r.id });
                entries.push(TrailEntry {
                    at: e.at,
                    kind: "access".to_owned(),
                    actor: "outsider".to_owned(),
                    summary: access_sentence(
                        &e.outcome,
                        &link,
                        labels.get(&link).map(String::as_str),
                    ),
                    action: e.outcome,
                    target_type: "link".to_owned(),
                    target_path: target_path("link", &link),
                    target_id: link,
                    detail: serde_json::json!({
                        "country": e.country,
                        "client_class": e.client_class,
                    }),
                });
            }
        }
    }
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let next = more
        .then(|| cursors.get(entries.len() - 1).copied())
        .flatten()
        .map(|c| EventCursor(c).to_text());
    Ok(TrailPage { entries, next })
}

/// The most rows one CSV download holds.
pub const CSV_MAX_ROWS: usize = 100_000;

/// Every entry under `filter` (from its cursor on, at most [`CSV_MAX_ROWS`]) as CSV.
pub async fn search_csv(
    state: &App,
    member: &Member,
    filter: &TrailFilter,
) -> Result<Vec<u8>, Error> {
    let mut filter = filter.clone();
    filter.limit = 1000;
    let mut rows = Vec::new();
    loop {
        let page = search(state, member, &filter).await?;
        for e in page.entries {
            rows.push(vec![
                Value::Text(
                    e.at.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                ),
                Value::Text(e.kind),
                Value::Text(e.actor),
                Value::Text(e.action),
                Value::Text(e.target_type),
                Value::Text(e.target_id),
                Value::Text(e.summary),
                Value::Text(e.detail.to_string()),
            ]);
        }
        match page.next {
            Some(next) if rows.len() < CSV_MAX_ROWS => {
                filter.cursor = Some(EventCursor::parse(&next)?);
            }
            _ => break,
        }
    }
    let column = |name: &str, kind| Column {
        name: name.to_owned(),
        kind,
    };
    let table = ResultTable {
        columns: vec![
            column("at", ColumnType::Timestamp),
            column("kind", ColumnType::Text),
            column("actor", ColumnType::Text),
            column("action", ColumnType::Text),
            column("target_type", ColumnType::Text),
            column("target_id", ColumnType::Text),
            column("summary", ColumnType::Text),
            column("detail", ColumnType::Text),
        ],
        rows,
        truncated: false,
    };
    Ok(vitrine_render::csv::render_csv(&table))
}
