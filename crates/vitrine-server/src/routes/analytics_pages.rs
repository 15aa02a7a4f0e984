//! The analytics pages: one link (`/links/{id}/analytics`, reached from the share dialog),
//! one dashboard's links (`/dashboards/{id}/analytics`), the workspace overview
//! (`/analytics`). Charts are drawn by `vitrine-render`, like dashboards' widgets.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use vitrine_core::id::DashboardId;
use vitrine_core::result::{Column, ColumnType, ResultTable, Value};
use vitrine_render::{ChartKind, ChartOptions, ChartSpec, Measure, Orientation, render_svg};

use crate::auth::PageMember;
use crate::error::HttpError;
use crate::extract::{Path, Query};
use crate::pages::{Chrome, Stamp, render, stamp};
use crate::routes::analytics::{PageQuery, RangeQuery};
use vitrine_app::App;
use vitrine_app::analytics::{self, LinkAnalytics, LinkSummary, NameCount, SeriesPoint};

/// Analytics pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route("/links/{id}/analytics", get(show_link_page))
        .route("/dashboards/{id}/analytics", get(show_dashboard_page))
        .route("/analytics", get(show_overview_page))
}

/// A range or granularity choice, as a link.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The label.
    pub label: &'static str,
    /// Where it goes.
    pub href: String,
    /// The current one.
    pub current: bool,
}

/// A fact on the page.
#[derive(Debug, Clone)]
pub struct Fact {
    /// What.
    pub label: &'static str,
    /// The value.
    pub value: String,
}

/// A recent event row.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// When.
    pub at: Stamp,
    /// Outcome.
    pub outcome: String,
    /// A view, a download or a refusal (`view`, `download`, `refusal`).
    pub class: &'static str,
    /// Country.
    pub country: String,
    /// Client class.
    pub client: String,
    /// The confirmed address of an identified viewer (empty otherwise).
    pub viewer: String,
}

/// The link's analytics page.
#[derive(Debug, Template)]
#[template(path = "analytics_link.html")]
pub struct LinkPage {
    /// The frame.
    pub chrome: Chrome,
    /// The numbers.
    pub a: LinkAnalytics,
    /// Range links.
    pub ranges: Vec<Choice>,
    /// Granularity links.
    pub bys: Vec<Choice>,
    /// Headline numbers.
    pub facts: Vec<Fact>,
    /// Last viewed (readable).
    pub last_view: Stamp,
    /// First view (readable).
    pub first_view: Stamp,
    /// Last refused attempt.
    pub last_refused: Stamp,
    /// Its outcome, readable (`bad password`), empty for none.
    pub last_refused_outcome: String,
    /// The charts, as SVG documents.
    pub charts: Vec<(String, String)>,
    /// Recent events.
    pub events: Vec<EventRow>,
    /// The next page of events.
    pub next_events: Option<String>,
    /// The share dialog of the link's dashboard.
    pub share_path: String,
    /// The CSV of the events.
    pub csv_path: String,
    /// The link asks viewers to confirm their e-mail.
    pub identified: bool,
    /// Who viewed it with a confirmed address: (address, views, last view).
    pub viewers: Vec<(String, i64, Stamp)>,
}

/// A dashboard's links.
#[derive(Debug, Template)]
#[template(path = "analytics_dashboard.html")]
pub struct DashboardPage {
    /// The frame.
    pub chrome: Chrome,
    /// The dashboard's title.
    pub title: String,
    /// Its id.
    pub dashboard_id: i64,
    /// Range links.
    pub ranges: Vec<Choice>,
    /// The current range.
    pub range: &'static str,
    /// One row per link.
    pub rows: Vec<SummaryRow>,
    /// Views per link, as a chart.
    pub chart: String,
}

/// One link in a summary table.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// The link id.
    pub id: String,
    /// The audience label.
    pub label: String,
    /// The dashboard's title.
    pub dashboard: String,
    /// State.
    pub state: String,
    /// Views in range.
    pub views: i64,
    /// Uniques in range.
    pub uniques: i64,
    /// Downloads in range.
    pub downloads: i64,
    /// Refusals in range.
    pub refusals: i64,
    /// Last view.
    pub last_view: Stamp,
    /// Last refused attempt.
    pub last_refused: Stamp,
    /// Expiry.
    pub expires: Stamp,
}

/// The workspace overview.
#[derive(Debug, Template)]
#[template(path = "analytics_overview.html")]
pub struct OverviewPage {
    /// The frame.
    pub chrome: Chrome,
    /// Range links.
    pub ranges: Vec<Choice>,
    /// Most viewed, as a chart.
    pub chart: String,
    /// Most viewed.
    pub most_viewed: Vec<SummaryRow>,
    /// Never opened.
    pub never_opened: Vec<SummaryRow>,
    /// About to expire.
    pub expiring_soon: Vec<SummaryRow>,
}

fn choices<const N: usize>(
    base: &str,
    options: [(&'static str, &'static str); N],
    current: &str,
    other: &str,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            label,
            href: format!("{base}{value}{other}"),
            current: value == current,
        })
        .collect()
}

const RANGES: [(&str, &str); 4] = [
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("all", "All time"),
];

fn table(columns: &[(&str, ColumnType)], rows: Vec<Vec<Value>>) -> ResultTable {
    ResultTable {
        columns: columns
            .iter()
            .map(|(name, kind)| Column {
                name: (*name).to_owned(),
                kind: *kind,
            })
            .collect(),
        rows,
        truncated: false,
    }
}

fn series_chart(series: &[SeriesPoint], by: &str) -> String {
    let rows = series
        .iter()
        .map(|p| {
            vec![
                Value::Text(p.start.clone()),
                Value::Int(p.views),
                Value::Int(p.uniques),
            ]
        })
        .collect();
    let t = table(
        &[
            ("day", ColumnType::Date),
            ("views", ColumnType::Integer),
            ("uniques", ColumnType::Integer),
        ],
        rows,
    );
    let title = if by == "week" {
        "Views and unique visitors by week"
    } else {
        "Views and unique visitors by day"
    };
    let spec = ChartSpec::new(
        if series.len() > 45 {
            ChartKind::Line
        } else {
            ChartKind::Bar
        },
        title,
    )
    .dimension("day")
    .measure(labelled("views", "Views"))
    .measure(labelled("uniques", "Unique visitors"))
    .size(880.0, 300.0);
    render_svg(&spec, &t)
}

fn labelled(column: &str, label: &str) -> Measure {
    let mut m = Measure::new(column);
    m.label = Some(label.to_owned());
    m
}

fn bar_chart(title: &str, items: &[NameCount], label: &str) -> String {
    let rows = items
        .iter()
        .take(12)
        .map(|c| vec![Value::Text(c.name.clone()), Value::Int(c.count)])
        .collect();
    let t = table(
        &[("name", ColumnType::Text), ("count", ColumnType::Integer)],
        rows,
    );
    let spec = ChartSpec::new(ChartKind::Bar, title)
        .dimension("name")
        .measure(labelled("count", label))
        .options(ChartOptions {
            orientation: Orientation::Horizontal,
            ..ChartOptions::default()
        })
        .size(430.0, 260.0);
    render_svg(&spec, &t)
}

fn summary_rows(items: Vec<LinkSummary>) -> Vec<SummaryRow> {
    items
        .into_iter()
        .map(|s| SummaryRow {
            id: s.link_id,
            label: s.label,
            dashboard: s.dashboard_title,
            state: s.state,
            views: s.views,
            uniques: s.uniques,
            downloads: s.downloads,
            refusals: s.refusals,
            last_view: Stamp(s.last_view_at),
            last_refused: Stamp(s.last_refused_at),
            expires: Stamp(s.expires_at),
        })
        .collect()
}

fn event_class(outcome: &str) -> &'static str {
    match vitrine_store::OutcomeClass::of(outcome) {
        vitrine_store::OutcomeClass::View => "view",
        vitrine_store::OutcomeClass::Download => "download",
        vitrine_store::OutcomeClass::Refusal => "refusal",
        vitrine_store::OutcomeClass::Unlock => "unlock",
    }
}

/// `GET /links/{id}/analytics`.
pub async fn show_link_page(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<String>,
    Query(range): Query<RangeQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Response, HttpError> {
    let (r, by) = range.parse()?;
    let member = &identity.member;
    let a = analytics::link_analytics(&state, member, &id, r, by).await?;
    let cursor = page
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(analytics::EventCursor::parse)
        .transpose()?;
    let events = analytics::link_events(&state, member, &id, cursor, 50).await?;
    let identified = vitrine_app::links::show_link(&state, member, &id)
        .await?
        .settings
        .access
        .confirm_email;
    let viewers = vitrine_app::identified::viewers(&state, member, &id)
        .await?
        .into_iter()
        .map(|v| (v.email, v.views, stamp(v.last_view_at)))
        .collect::<Vec<_>>();
    let base = format!("/links/{}/analytics", a.link_id);
    let ranges = choices(
        &format!("{base}?range="),
        RANGES,
        &a.range,
        &format!("&by={}", a.by),
    );
    let bys = choices(
        &format!("{base}?by="),
        [("day", "By day"), ("week", "By week")],
        &a.by,
        &format!("&range={}", a.range),
    );
    let facts = vec![
        Fact {
            label: "Views",
            value: a.views.to_string(),
        },
        Fact {
            label: "Unique visitors",
            value: a.uniques.to_string(),
        },
        Fact {
            label: "Downloads",
            value: a.downloads.to_string(),
        },
        Fact {
            label: "Refused attempts",
            value: a.refusals.to_string(),
        },
    ];
    let mut charts = vec![("wide".to_owned(), series_chart(&a.series, &a.by))];
    charts.push((
        "half".to_owned(),
        bar_chart("Views by country", &a.countries, "Views"),
    ));
    charts.push((
        "half".to_owned(),
        bar_chart(
            "Refused attempts by reason",
            &a.refusals_by_outcome,
            "Attempts",
        ),
    ));
    charts.push((
        "half".to_owned(),
        bar_chart("Views by device", &a.clients, "Views"),
    ));
    charts.push((
        "half".to_owned(),
        bar_chart("Downloads by format", &a.downloads_by_format, "Downloads"),
    ));
    let last_refused_outcome = match (&a.last_refused_at, &a.last_refused_outcome) {
        (Some(_), Some(o)) => o.replace('_', " "),
        _ => String::new(),
    };
    let page = LinkPage {
        chrome: Chrome::new(&identity, "analytics"),
        last_view: Stamp(a.last_view_at),
        first_view: Stamp(a.first_view_at),
        last_refused: Stamp(a.last_refused_at),
        last_refused_outcome,
        ranges,
        bys,
        facts,
        charts,
        events: events
            .events
            .into_iter()
            .map(|e| EventRow {
                at: stamp(e.at),
                class: event_class(&e.outcome),
                outcome: e.outcome,
                country: e.country.unwrap_or_default(),
                client: e.client_class,
                viewer: e.viewer.unwrap_or_default(),
            })
            .collect(),
        next_events: events
            .next
            .map(|n| format!("{base}?range={}&by={}&cursor={}", a.range, a.by, n)),
        share_path: format!("/dashboards/{}/share", a.dashboard_id.0),
        csv_path: format!("/api/v1/links/{}/events.csv", a.link_id),
        identified: identified || !viewers.is_empty(),
        viewers,
        a,
    };
    Ok(render(&page).into_response())
}

/// `GET /dashboards/{id}/analytics`.
pub async fn show_dashboard_page(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    Query(range): Query<RangeQuery>,
) -> Result<Response, HttpError> {
    let (r, _) = range.parse()?;
    let member = &identity.member;
    let title = vitrine_app::content::visible_dashboard(&state, member, id)
        .await?
        .title;
    let rows = analytics::dashboard_summary(&state, member, id, r).await?;
    let counts: Vec<NameCount> = rows
        .iter()
        .map(|s| NameCount {
            name: s.label.clone(),
            count: s.views,
        })
        .collect();
    let chart = bar_chart("Views by link", &counts, "Views");
    let page = DashboardPage {
        chrome: Chrome::new(&identity, "analytics"),
        title,
        dashboard_id: id.0,
        ranges: choices(
            &format!("/dashboards/{}/analytics?range=", id.0),
            RANGES,
            r.as_str(),
            "",
        ),
        range: r.as_str(),
        rows: summary_rows(rows),
        chart,
    };
    Ok(render(&page).into_response())
}

/// `GET /analytics`.
pub async fn show_overview_page(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Query(range): Query<RangeQuery>,
) -> Result<Response, HttpError> {
    let (r, _) = range.parse()?;
    let o = analytics::overview(&state, &identity.member, r).await?;
    let counts: Vec<NameCount> = o
        .most_viewed
        .iter()
        .map(|s| NameCount {
            name: format!("{} — {}", s.label, s.dashboard_title),
            count: s.views,
        })
        .collect();
    let page = OverviewPage {
        chart: bar_chart("Most viewed links", &counts, "Views"),
        chrome: Chrome::new(&identity, "analytics"),
        ranges: choices("/analytics?range=", RANGES, r.as_str(), ""),
        most_viewed: summary_rows(o.most_viewed),
        never_opened: summary_rows(o.never_opened),
        expiring_soon: summary_rows(o.expiring_soon),
    };
    Ok(render(&page).into_response())
}
