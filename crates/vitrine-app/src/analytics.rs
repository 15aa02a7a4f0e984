//! Access analytics: what the owners see of their links' audience.
//!
//! Everything here reads the daily **rollups** the store writes with each access event (see
//! `vitrine_store::AnalyticsStore`), never the raw log, so a link with a million events costs
//! a page what a link with ten does; only the recent-events table and its CSV read raw events
//! (keyset-paged, within `access.retention_days`).
//!
//! - [`link_analytics`]: one link over a [`Range`] (7 / 30 / 90 days, or all) by day or
//!   ISO week: views, unique visitors, downloads by format, refusals by outcome, countries,
//!   client classes, first / last view, last refused attempt (two facts: a refused attempt is
//!   not a view), "never opened".
//! - [`link_events`]: the raw events newest first, with an opaque cursor ([`EventCursor`]).
//! - [`dashboard_summary`]: a dashboard's links side by side; [`overview`]: the workspace's
//!   most viewed links, links never opened, links about to expire.
//! - CSV ([`link_events_csv`], [`dashboard_summary_csv`]) goes through `vitrine-render`'s
//!   writer, whose formula protection neutralises labels an owner typed.
//!
//! Days are UTC days. **Unique visitors** of a range are the sum of each day's unique visitors
//! (a visitor is only recognisable within one day, by design: the daily key is discarded).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};
use vitrine_core::id::DashboardId;
use vitrine_core::result::{Column, ColumnType, ResultTable, Value};
use vitrine_store::{
    AccessEventQuery, AccessTotals, Cursor, DailyCount, LinkCount, Member, OutcomeClass, utc_day,
};

use crate::links::{self, LinkView};
use crate::{App, Error};

/// How far back a page looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
pub enum Range {
    /// The last 7 days, today included.
    #[serde(rename = "7d")]
    Days7,
    /// The last 30 days.
    #[serde(rename = "30d")]
    Days30,
    /// The last 90 days.
    #[serde(rename = "90d")]
    Days90,
    /// Since the first event.
    #[serde(rename = "all")]
    All,
}

impl Range {
    /// Parses `7d`, `30d`, `90d` or `all`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "7d" => Ok(Self::Days7),
            "30d" => Ok(Self::Days30),
            "90d" => Ok(Self::Days90),
            "all" => Ok(Self::All),
            _ => Err(Error::invalid_field(
                "range",
                "range must be 7d, 30d, 90d or all.",
            )),
        }
    }

    /// The text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Days7 => "7d",
            Self::Days30 => "30d",
            Self::Days90 => "90d",
            Self::All => "all",
        }
    }

    fn days(self) -> Option<i64> {
        match self {
            Self::Days7 => Some(7),
            Self::Days30 => Some(30),
            Self::Days90 => Some(90),
            Self::All => None,
        }
    }
}

/// Series buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One point a day.
    Day,
    /// One point an ISO week (from Monday).
    Week,
}

impl Granularity {
    /// Parses `day` or `week`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            _ => Err(Error::invalid_field("by", "by must be day or week.")),
        }
    }

    /// The text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
        }
    }
}

/// One point of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    /// The first day of the bucket (`YYYY-MM-DD`, UTC).
    pub start: String,
    /// Page views.
    pub views: i64,
    /// Unique visitors (summed over the bucket's days).
    pub uniques: i64,
    /// Downloads.
    pub downloads: i64,
    /// Refused attempts.
    pub refusals: i64,
}

/// A name and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NameCount {
    /// The outcome, country code (`unknown` when none), client class or download format.
    pub name: String,
    /// How many.
    pub count: i64,
}

/// One link's analytics over a range.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkAnalytics {
    /// The link.
    pub link_id: String,
    /// Its audience label.
    pub label: String,
    /// Its dashboard.
    #[schema(value_type = i64)]
    pub dashboard_id: DashboardId,
    /// Its state (`active`, `disabled`, `expired`, `deleted` …).
    pub state: String,
    /// `7d`, `30d`, `90d` or `all`.
    pub range: String,
    /// `day` or `week`.
    pub by: String,
    /// The first day of the range (`YYYY-MM-DD`, UTC).
    pub from: String,
    /// The last day (today, UTC).
    pub to: String,
    /// Page views in the range.
    pub views: i64,
    /// Unique visitors in the range (the sum of each day's).
    pub uniques: i64,
    /// Downloads in the range.
    pub downloads: i64,
    /// Refused attempts in the range.
    pub refusals: i64,
    /// No page view ever.
    pub never_opened: bool,
    /// The first page view ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_view_at: Option<OffsetDateTime>,
    /// The last page view.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_view_at: Option<OffsetDateTime>,
    /// The last refused attempt (not a view).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_refused_at: Option<OffsetDateTime>,
    /// Its outcome.
    pub last_refused_outcome: Option<String>,
    /// The last download.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_download_at: Option<OffsetDateTime>,
    /// Views, uniques, downloads and refusals per bucket, oldest first, empty buckets included.
    pub series: Vec<SeriesPoint>,
    /// Views by country, most first.
    pub countries: Vec<NameCount>,
    /// Views by client class, most first.
    pub clients: Vec<NameCount>,
    /// Refused attempts by outcome, most first.
    pub refusals_by_outcome: Vec<NameCount>,
    /// Downloads by format (`pdf`, `png`, `svg`, `csv`), most first.
    pub downloads_by_format: Vec<NameCount>,
}

/// A link's analytics over `range`, by `by`. Editors and admins; 404 for another workspace's
/// link.
pub async fn link_analytics(
    state: &App,
    member: &Member,
    id: &str,
    range: Range,
    by: Granularity,
) -> Result<LinkAnalytics, Error> {
    let view = links::show_link(state, member, id).await?;
    let today = utc_day(state.now());
    let rows = match range.days() {
        Some(n) => {
            state
                .store
                .access_daily(&view.id, today - n + 1, today)
                .await?
        }
        None => {
            state
                .store
                .access_daily(&view.id, i64::MIN / 4, today)
                .await?
        }
    };
    let from = match range.days() {
        Some(n) => today - n + 1,
        None => rows.iter().map(|r| r.day).min().unwrap_or(today).min(today),
    };
    let totals = state
        .store
        .access_totals(&view.id)
        .await?
        .unwrap_or_default();
    Ok(build(view, range, by, from, today, &rows, &totals))
}

fn day_date(day: i64) -> Date {
    OffsetDateTime::UNIX_EPOCH.date() + Duration::days(day)
}

fn iso(day: i64) -> String {
    let d = day_date(day);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The Monday that starts `day`'s ISO week (1970-01-01 was a Thursday).
fn week_start(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

fn sorted(map: BTreeMap<String, i64>) -> Vec<NameCount> {
    let mut out: Vec<NameCount> = map
        .into_iter()
        .filter(|(_, c)| *c > 0)
        .map(|(name, count)| NameCount { name, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    out
}

fn build(
    view: LinkView,
    range: Range,
    by: Granularity,
    from: i64,
    today: i64,
    rows: &[DailyCount],
    totals: &AccessTotals,
) -> LinkAnalytics {
    let bucket = |day: i64| match by {
        Granularity::Day => day,
        Granularity::Week => week_start(day),
    };
    let mut series: BTreeMap<i64, SeriesPoint> = BTreeMap::new();
    for day in from..=today {
        let b = bucket(day);
        series.entry(b).or_insert_with(|| SeriesPoint {
            start: iso(b),
            views: 0,
            uniques: 0,
            downloads: 0,
            refusals: 0,
        });
    }
    let (mut countries, mut clients, mut refusals, mut downloads) = (
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
    );
    let (mut views_total, mut uniques_total, mut downloads_total, mut refusals_total) =
        (0, 0, 0, 0);
    for r in rows.iter().filter(|r| r.day >= from && r.day <= today) {
        let Some(point) = series.get_mut(&bucket(r.day)) else {
            continue;
        };
        match r.kind.as_str() {
            "outcome" => match OutcomeClass::of(&r.name) {
                OutcomeClass::View => {
                    point.views += r.count;
                    views_total += r.count;
                }
                OutcomeClass::Download => {
                    point.downloads += r.count;
                    downloads_total += r.count;
                    let format = r.name.strip_prefix("export_").unwrap_or(&r.name);
                    *downloads.entry(format.to_owned()).or_insert(0) += r.count;
                }
                OutcomeClass::Unlock => {}
                OutcomeClass::Refusal => {
                    point.refusals += r.count;
                    refusals_total += r.count;
                    *refusals.entry(r.name.clone()).or_insert(0) += r.count;
                }
            },
            "uniques" => {
                point.uniques += r.count;
                uniques_total += r.count;
            }
            "country" => {
                let name = if r.name.is_empty() {
                    "unknown".to_owned()
                } else {
                    r.name.clone()
                };
                *countries.entry(name).or_insert(0) += r.count;
            }
            "client" => *clients.entry(r.name.clone()).or_insert(0) += r.count,
            _ => {}
        }
    }
    LinkAnalytics {
        link_id: view.id,
        label: view.label,
        dashboard_id: view.dashboard_id,
        state: view.state.to_owned(),
        range: range.as_str().to_owned(),
        by: by.as_str().to_owned(),
        from: iso(from),
        to: iso(today),
        views: views_total,
        uniques: uniques_total,
        downloads: downloads_total,
        refusals: refusals_total,
        never_opened: totals.views == 0,
        first_view_at: totals.first_view_at,
        last_view_at: totals.last_view_at,
        last_refused_at: totals.last_refused_at,
        last_refused_outcome: totals.last_refused_outcome.clone(),
        last_download_at: totals.last_download_at,
        series: series.into_values().collect(),
        countries: sorted(countries),
        clients: sorted(clients),
        refusals_by_outcome: sorted(refusals),
        downloads_by_format: sorted(downloads),
    }
}

// ---- recent events -------------------------------------------------------------------------

/// The pattern of a cursor, as the API documents it.
pub const CURSOR_PATTERN: &str = r"^[0-9]{1,15}\.[0-9]{1,18}$";

/// An opaque keyset cursor: `<at in ms>.<row id>` of the last row a page showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCursor(pub Cursor);

impl EventCursor {
    /// Parses a cursor a previous page gave (`<digits>.<digits>`, as [`CURSOR_PATTERN`]
    /// says); anything else is invalid input. A time beyond what a date can hold reads as the
    /// latest one (a cursor past every row).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || Error::invalid_field("cursor", "cursor is not one a page gave.");
        let (at, id) = text.split_once('.').ok_or_else(bad)?;
        let digits = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(at, 15) || !digits(id, 18) {
            return Err(bad());
        }
        let at: i64 = at.parse().map_err(|_| bad())?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        let latest = time::PrimitiveDateTime::MAX.assume_utc();
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000).unwrap_or(latest);
        Ok(Self(Cursor { at, id }))
    }

    /// The text form.
    pub fn to_text(self) -> String {
        let ms = self.0.at.unix_timestamp_nanos() / 1_000_000;
        format!("{ms}.{}", self.0.id)
    }
}

/// One outsider request, as owners see it (no client hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkEvent {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `ok` (a view), `export_pdf` … (downloads), or why it was refused.
    pub outcome: String,
    /// ISO country code, when known.
    pub country: Option<String>,
    /// `desktop`, `mobile`, `bot` or `other`.
    pub client_class: String,
    /// The address an identified viewer confirmed, on links that ask for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer: Option<String>,
}

/// A page of events.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkEventPage {
    /// Newest first.
    pub events: Vec<LinkEvent>,
    /// The cursor of the next (older) page; none on the last page.
    pub next: Option<String>,
}

/// A link's raw events (kept `access.retention_days`), newest first, `limit` (1 to 1000) after
/// `cursor`.
pub async fn link_events(
    state: &App,
    member: &Member,
    id: &str,
    cursor: Option<EventCursor>,
    limit: i64,
) -> Result<LinkEventPage, Error> {
    let view = links::show_link(state, member, id).await?;
    let limit = limit.clamp(1, 1000);
    let rows = state
        .store
        .access_event_page(&AccessEventQuery {
            workspace: member.workspace_id,
            link: Some(view.id),
            outcome: None,
            since: None,
            until: None,
            after: cursor.map(|c| c.0),
            limit: limit + 1,
        })
        .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
    let next = more.then(|| rows.last()).flatten().map(|r| {
        EventCursor(Cursor {
            at: r.event.at,
            id: r.id,
        })
        .to_text()
    });
    Ok(LinkEventPage {
        events: rows
            .into_iter()
            .map(|r| LinkEvent {
                at: r.event.at,
                outcome: r.event.outcome,
                country: r.event.country,
                client_class: r.event.client_class,
                viewer: r.event.viewer,
            })
            .collect(),
        next,
    })
}

/// The most rows one CSV download holds.
pub const CSV_MAX_ROWS: usize = 100_000;

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn time_cell(t: Option<OffsetDateTime>) -> Value {
    t.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .map_or(Value::Null, Value::Text)
}

fn columns(names: &[(&str, ColumnType)]) -> Vec<Column> {
    names
        .iter()
        .map(|(name, kind)| Column {
            name: (*name).to_owned(),
            kind: *kind,
        })
        .collect()
}

/// A link's events as CSV (newest first, at most [`CSV_MAX_ROWS`]), and a file name.
pub async fn link_events_csv(
    state: &App,
    member: &Member,
    id: &str,
) -> Result<(Vec<u8>, String), Error> {
    let view = links::show_link(state, member, id).await?;
    let mut rows = Vec::new();
    let mut after = None;
    while rows.len() < CSV_MAX_ROWS {
        let page = state
            .store
            .access_event_page(&AccessEventQuery {
                workspace: member.workspace_id,
                link: Some(view.id.clone()),
                outcome: None,
                since: None,
                until: None,
                after,
                limit: 5000.min((CSV_MAX_ROWS - rows.len()) as i64),
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(Cursor {
            at: last.event.at,
            id: last.id,
        });
        for r in page {
            rows.push(vec![
                time_cell(Some(r.event.at)),
                text(r.event.outcome),
                r.event.country.map_or(Value::Null, Value::Text),
                text(r.event.client_class),
                r.event.viewer.map_or(Value::Null, Value::Text),
            ]);
        }
    }
    let table = ResultTable {
        columns: columns(&[
            ("at", ColumnType::Timestamp),
            ("outcome", ColumnType::Text),
            ("country", ColumnType::Text),
            ("client_class", ColumnType::Text),
            ("viewer", ColumnType::Text),
        ]),
        rows,
        truncated: false,
    };
    Ok((
        vitrine_render::csv::render_csv(&table),
        format!("link-{}-events.csv", view.id),
    ))
}

// ---- a dashboard's links, the workspace ------------------------------------------------------

/// One link in a dashboard's summary or the workspace overview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkSummary {
    /// The link.
    pub link_id: String,
    /// Its audience label.
    pub label: String,
    /// Its dashboard.
    #[schema(value_type = i64)]
    pub dashboard_id: DashboardId,
    /// The dashboard's title.
    pub dashboard_title: String,
    /// Its state.
    pub state: String,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Page views in the range.
    pub views: i64,
    /// Unique visitors in the range (the sum of each day's).
    pub uniques: i64,
    /// Downloads in the range.
    pub downloads: i64,
    /// Refused attempts in the range.
    pub refusals: i64,
    /// Page views ever.
    pub views_ever: i64,
    /// The last page view.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_view_at: Option<OffsetDateTime>,
    /// The last refused attempt.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_refused_at: Option<OffsetDateTime>,
}

async fn summaries(
    state: &App,
    member: &Member,
    dashboard: Option<DashboardId>,
    range: Range,
) -> Result<Vec<LinkSummary>, Error> {
    let views = links::list_links(state, member, dashboard).await?;
    let ws = member.workspace_id;
    let today = utc_day(state.now());
    let from = range.days().map_or(i64::MIN / 4, |n| today - n + 1);
    let titles: HashMap<DashboardId, String> = state
        .store
        .dashboards(ws)
        .await?
        .into_iter()
        .map(|d| (d.id, d.title))
        .collect();
    let totals: HashMap<String, AccessTotals> = state
        .store
        .workspace_access_totals(ws)
        .await?
        .into_iter()
        .map(|t| (t.link_id.clone(), t))
        .collect();
    let mut counts: HashMap<String, [i64; 4]> = HashMap::new();
    let outcomes: Vec<LinkCount> = state.store.access_sums(ws, "outcome", from, today).await?;
    for c in outcomes {
        let slot = match OutcomeClass::of(&c.name) {
            OutcomeClass::View => 0,
            OutcomeClass::Download => 2,
            OutcomeClass::Refusal => 3,
            OutcomeClass::Unlock => continue,
        };
        counts.entry(c.link_id).or_default()[slot] += c.count;
    }
    for c in state.store.access_sums(ws, "uniques", from, today).await? {
        counts.entry(c.link_id).or_default()[1] += c.count;
    }
    Ok(views
        .into_iter()
        .map(|v| {
            let [views, uniques, downloads, refusals] =
                counts.get(&v.id).copied().unwrap_or_default();
            let t = totals.get(&v.id);
            LinkSummary {
                dashboard_title: titles.get(&v.dashboard_id).cloned().unwrap_or_default(),
                link_id: v.id,
                label: v.label,
                dashboard_id: v.dashboard_id,
                state: v.state.to_owned(),
                expires_at: v.expires_at,
                views,
                uniques,
                downloads,
                refusals,
                views_ever: t.map_or(0, |t| t.views),
                last_view_at: t.and_then(|t| t.last_view_at),
                last_refused_at: t.and_then(|t| t.last_refused_at),
            }
        })
        .collect())
}

/// A dashboard's links side by side over `range`. Editors and admins; 404 for a dashboard of
/// another workspace.
pub async fn dashboard_summary(
    state: &App,
    member: &Member,
    dashboard: DashboardId,
    range: Range,
) -> Result<Vec<LinkSummary>, Error> {
    crate::content::visible_dashboard(state, member, dashboard).await?;
    summaries(state, member, Some(dashboard), range).await
}

/// A dashboard's summary as CSV, and a file name.
pub async fn dashboard_summary_csv(
    state: &App,
    member: &Member,
    dashboard: DashboardId,
    range: Range,
) -> Result<(Vec<u8>, String), Error> {
    let rows = dashboard_summary(state, member, dashboard, range).await?;
    let table = ResultTable {
        columns: columns(&[
            ("link_id", ColumnType::Text),
            ("label", ColumnType::Text),
            ("state", ColumnType::Text),
            ("views", ColumnType::Integer),
            ("uniques", ColumnType::Integer),
            ("downloads", ColumnType::Integer),
            ("refusals", ColumnType::Integer),
            ("views_ever", ColumnType::Integer),
            ("last_view_at", ColumnType::Timestamp),
            ("last_refused_at", ColumnType::Timestamp),
            ("expires_at", ColumnType::Timestamp),
        ]),
        rows: rows
            .into_iter()
            .map(|s| {
                vec![
                    text(s.link_id),
                    text(s.label),
                    text(s.state),
                    Value::Int(s.views),
                    Value::Int(s.uniques),
                    Value::Int(s.downloads),
                    Value::Int(s.refusals),
                    Value::Int(s.views_ever),
                    time_cell(s.last_view_at),
                    time_cell(s.last_refused_at),
                    time_cell(s.expires_at),
                ]
            })
            .collect(),
        truncated: false,
    };
    Ok((
        vitrine_render::csv::render_csv(&table),
        format!("dashboard-{}-links-{}.csv", dashboard.0, range.as_str()),
    ))
}

/// Links expiring within this are "about to expire".
pub const EXPIRING_WITHIN: Duration = Duration::days(7);
/// How many links each overview list shows.
pub const OVERVIEW_SIZE: usize = 10;

/// The workspace at a glance.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overview {
    /// The most viewed links over the range, most first.
    pub most_viewed: Vec<LinkSummary>,
    /// Live links never opened, oldest first.
    pub never_opened: Vec<LinkSummary>,
    /// Live links expiring within 7 days, soonest first.
    pub expiring_soon: Vec<LinkSummary>,
}

/// The workspace overview over `range`. Editors and admins.
pub async fn overview(state: &App, member: &Member, range: Range) -> Result<Overview, Error> {
    let all = summaries(state, member, None, range).await?;
    let now = state.now();
    let live = |s: &LinkSummary| s.state == "active" || s.state == "view_limit";
    let mut most_viewed: Vec<LinkSummary> = all.iter().filter(|s| s.views > 0).cloned().collect();
    most_viewed.sort_by(|a, b| b.views.cmp(&a.views).then_with(|| a.label.cmp(&b.label)));
    most_viewed.truncate(OVERVIEW_SIZE);
    // `all` is newest first: the oldest unopened links are the most telling.
    let mut never_opened: Vec<LinkSummary> = all
        .iter()
        .filter(|s| live(s) && s.views_ever == 0)
        .cloned()
        .collect();
    never_opened.reverse();
    never_opened.truncate(OVERVIEW_SIZE);
    let mut expiring_soon: Vec<LinkSummary> = all
        .iter()
        .filter(|s| {
            live(s)
                && s.expires_at
                    .is_some_and(|e| e > now && e <= now + EXPIRING_WITHIN)
        })
        .cloned()
        .collect();
    expiring_soon.sort_by_key(|s| s.expires_at);
    expiring_soon.truncate(OVERVIEW_SIZE);
    Ok(Overview {
        most_viewed,
        never_opened,
        expiring_soon,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        // 1970-01-01 was a Thursday; 2026-11-30 is a Monday.
        assert_eq!(iso(week_start(0)), "1969-12-29");
        let monday = (Date::from_calendar_date(2026, time::Month::November, 30)
            .unwrap()
            .to_julian_day()
            - OffsetDateTime::UNIX_EPOCH.date().to_julian_day()) as i64;
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday + 6), monday);
        assert_eq!(week_start(monday + 7), monday + 7);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = EventCursor(Cursor {
            at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            id: 42,
        });
        assert_eq!(EventCursor::parse(&c.to_text()).unwrap(), c);
        for bad in [
            "",
            "x",
            "1.",
            ".1",
            "1.2.3",
            "99999999999999999999.1",
            "1;2",
        ] {
            assert!(EventCursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_and_granularities_parse_only_their_words() {
        assert_eq!(Range::parse("30d").unwrap(), Range::Days30);
        assert!(Range::parse("31d").is_err());
        assert_eq!(Granularity::parse("week").unwrap(), Granularity::Week);
        assert!(Granularity::parse("month").is_err());
    }
}
