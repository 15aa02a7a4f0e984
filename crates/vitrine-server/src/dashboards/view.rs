//! The dashboard view: the page (filter bar + grid of widget cards) and the card fragment the
//! page's script fetches when a filter, a table sort or a table page changes.

use std::sync::Arc;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use time::macros::format_description;
use vitrine_core::dashboard::{
    Dashboard, DashboardStatus, DateRange, FilterKind, FilterValue, Scalar, Widget, WidgetKind,
};
use vitrine_render::Theme;

use crate::pages::Chrome;
use vitrine_app::dashboards::query::preset_name;
use vitrine_app::dashboards::{
    DashboardContext, FilterOptions, PRESETS, Restrictions, Runner, ViewState, WidgetOutput,
    clock_label, parse_view_query,
};

/// The dashboard page's stylesheet.
pub const DASHBOARD_CSS: &str = "/static/dashboard.css";
/// The dashboard page's script.
pub const DASHBOARD_JS: &str = "/static/dashboard.js";

/// One option of a select control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectOption {
    /// The value sent in the URL.
    pub value: String,
    /// The text shown.
    pub label: String,
    /// Currently chosen.
    pub selected: bool,
}

/// The control a filter shows, with its current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterControlKind {
    /// A `<select>` with an "All" option.
    Select {
        /// The options.
        options: Vec<SelectOption>,
    },
    /// A `<select multiple>`.
    MultiSelect {
        /// The options.
        options: Vec<SelectOption>,
    },
    /// A preset `<select>` plus custom from / to dates.
    DateRange {
        /// "All time", the presets and "Custom range".
        presets: Vec<SelectOption>,
        /// The first day shown in the custom inputs (`2026-11-01`), or empty.
        from: String,
        /// The last day, or empty.
        to: String,
    },
    /// Min / max number inputs.
    NumberRange {
        /// The lower bound, or empty.
        min: String,
        /// The upper bound, or empty.
        max: String,
    },
}

/// One filter of the filter bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterControl {
    /// The filter id (the `f.<id>` parameter).
    pub id: String,
    /// The label.
    pub label: String,
    /// The control.
    pub kind: FilterControlKind,
    /// A word under the control: the value in the URL was refused (and why), or the options
    /// could not all be loaded or were capped.
    pub note: Option<String>,
}

impl FilterControl {
    /// The query parameter name, `f.<id>`.
    pub fn name(&self) -> String {
        format!("f.{}", self.id)
    }

    /// What a multi select's closed disclosure says it holds: `All`, the one value, or
    /// `3 selected`.
    pub fn summary(&self) -> String {
        let FilterControlKind::MultiSelect { options } = &self.kind else {
            return String::new();
        };
        let chosen: Vec<&SelectOption> = options.iter().filter(|o| o.selected).collect();
        match chosen.as_slice() {
            [] => "All".to_owned(),
            [one] => one.label.clone(),
            many => format!("{} selected", many.len()),
        }
    }
}

/// One widget card on the grid.
#[derive(Debug, Clone)]
pub struct WidgetCard {
    /// The widget id.
    pub id: String,
    /// Its kind, for CSS (`kpi`, `bar` …).
    pub kind: &'static str,
    /// Its title (or its kind when untitled), for lists such as "share one widget".
    pub title: String,
    /// Its grid placement classes: `w-x-0 w-y-2 w-w-6 w-h-4`.
    pub classes: String,
    /// The card's inner HTML ([`CardTemplate`]), exactly what the fragment endpoint returns.
    pub inner: String,
}

/// The dashboard page.
#[derive(Debug, Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    /// The frame.
    pub chrome: Chrome,
    /// The dashboard's title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// `draft`, `published` or (owner pages) `restricted`.
    pub status: &'static str,
    /// Whether the viewer may edit this dashboard (an editor's role, or an editor right on
    /// it): the Edit button and the clickable draft badge.
    pub can_edit: bool,
    /// Where the filter form goes and "Reset" leads: the page's own path (a widget page's
    /// is `…/widgets/{id}/page`, under the dashboard's `base_path`).
    pub form_path: String,
    /// The page's own path (`/dashboards/7`): the filter form's action and the base of the
    /// fragment URLs (`{base_path}/widgets/{id}`).
    pub base_path: String,
    /// `light` or `dark`.
    pub theme: &'static str,
    /// The refresh interval, in seconds.
    pub refresh_seconds: u32,
    /// The filter bar.
    pub filters: Vec<FilterControl>,
    /// The widgets, in layout order (top to bottom, left to right).
    pub cards: Vec<WidgetCard>,
    /// When the oldest shown result was fetched: `17:42:05 UTC`.
    pub refreshed_at: String,
    /// The stylesheet path.
    pub css: &'static str,
    /// The script path.
    pub js: &'static str,
    /// Public links: the Share button and the "shared publicly" badge (owner pages only).
    pub sharing: crate::pages::DashboardSharing,
    /// The Download menus (the dashboard's and each card's).
    pub downloads: Option<crate::exports::Downloads>,
}

impl IntoResponse for DashboardPage {
    fn into_response(self) -> Response {
        crate::pages::render(&self)
    }
}

/// The inside of a widget card: its header and its SVG or HTML.
#[derive(Debug, Template)]
#[template(path = "dashboard_card.html")]
pub struct CardTemplate<'a> {
    /// The widget's id.
    pub id: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its kind.
    pub kind: &'static str,
    /// The trusted markup (render escapes every label): the HTML fragment when there is one,
    /// else the SVG.
    pub body: &'a str,
    /// The chart drawn for a phone's card, shown instead of `body` on narrow screens.
    pub narrow: Option<&'a str>,
    /// Sentences shown above the body (a refused filter value), escaped.
    pub notes: &'a [String],
    /// The error code, when it failed.
    pub error_code: Option<&'static str>,
    /// The result's hash.
    pub data_hash: u64,
    /// When its data was fetched, as Unix seconds (0 when it has none).
    pub refreshed: i64,
    /// The same, for people.
    pub refreshed_label: String,
}

fn kind_name(kind: WidgetKind) -> &'static str {
    match kind {
        WidgetKind::Kpi => "kpi",
        WidgetKind::Line => "line",
        WidgetKind::Area => "area",
        WidgetKind::Bar => "bar",
        WidgetKind::Pie => "pie",
        WidgetKind::Table => "table",
        WidgetKind::Text => "text",
    }
}

/// Renders the inside of a card.
pub fn card_html(output: &WidgetOutput) -> String {
    card_html_with_notes(output, &[])
}

/// Renders the inside of a card with `notes` above its body (see [`widget_card`]).
fn card_html_with_notes(output: &WidgetOutput, notes: &[String]) -> String {
    let body = output.html.as_deref().unwrap_or(&output.svg);
    let card = CardTemplate {
        notes,
        id: &output.widget_id,
        title: &output.title,
        kind: kind_name(output.kind),
        body,
        narrow: output
            .html
            .is_none()
            .then_some(output.svg_narrow.as_deref())
            .flatten(),
        error_code: output.error_code,
        data_hash: output.data_hash,
        refreshed: output.computed_at.map_or(0, OffsetDateTime::unix_timestamp),
        refreshed_label: output.computed_at.map(clock_label).unwrap_or_default(),
    };
    card.render().unwrap_or_else(|error| {
        tracing::error!(%error, "card template failed to render");
        String::new()
    })
}

/// The grid placement classes of a widget (see `static/dashboard.css`).
pub fn layout_classes(widget: &Widget) -> String {
    let l = widget.layout;
    format!("w-x-{} w-y-{} w-w-{} w-h-{}", l.x, l.y, l.w, l.h)
}

/// The filter controls and the laid-out cards of one view, without any page chrome: what the
/// owner's page and the outsider's page (`routes/public.rs`) both show.
#[derive(Debug, Clone)]
pub struct DashboardParts {
    /// Every filter's control with its current value, in document order.
    pub filters: Vec<FilterControl>,
    /// The widgets run, in layout order (top to bottom, left to right).
    pub cards: Vec<WidgetCard>,
    /// When the oldest shown result was fetched: `17:42:05 UTC`.
    pub refreshed_at: String,
    /// Until when building these parts again gives the very same parts, provided no cached
    /// result changed meanwhile ([`Runner::cache_generation`]): when the first result they
    /// used goes stale. `None` when they cannot be kept at all: a widget or a filter's options
    /// failed (failures are not cached), or nothing was cached (the label is then "now").
    pub fresh_until: Option<OffsetDateTime>,
}

/// Until when parts stay what a new build would give ([`DashboardParts::fresh_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Nothing seen yet that goes stale.
    Unbounded,
    Until(OffsetDateTime),
    Never,
}

impl Keep {
    /// Also used: a result fetched at `at` for `doc`.
    fn fetched(self, doc: &Dashboard, at: OffsetDateTime) -> Keep {
        let until = Runner::fresh_until(doc, at);
        match self {
            Keep::Unbounded => Keep::Until(until),
            Keep::Until(t) => Keep::Until(t.min(until)),
            Keep::Never => Keep::Never,
        }
    }
}

/// Runs the widgets of `ctx` under `view` and `restrictions` (only `only_widget` when given;
/// nothing when the dashboard has no such widget; never a widget the restrictions hide)
/// concurrently with the select filters' options under the same restrictions, and lays out
/// the cards.
pub async fn dashboard_parts(
    runner: &Arc<Runner>,
    ctx: &Arc<DashboardContext>,
    view: &ViewState,
    restrictions: &Restrictions,
    only_widget: Option<&str>,
) -> DashboardParts {
    let doc = &ctx.document;
    let run = runner.run_view(ctx, view, restrictions, only_widget);
    let (outputs, (filters, mut keep)) =
        tokio::join!(run, filter_controls(runner, ctx, view, restrictions));
    if !outputs.iter().any(|o| o.computed_at.is_some()) {
        // The label would say "now": nothing here stays true.
        keep = Keep::Never;
    }
    for output in &outputs {
        keep = match (output.error_code, output.computed_at) {
            (Some(_), _) => Keep::Never,
            (None, Some(at)) => keep.fetched(doc, at),
            // A text widget: the document alone.
            (None, None) => keep,
        };
    }
    let mut placed: Vec<(&Widget, &WidgetOutput)> = outputs
        .iter()
        .filter_map(|o| doc.widget(&o.widget_id).map(|w| (w, o)))
        .collect();
    placed.sort_by_key(|(w, _)| (w.layout.y, w.layout.x));
    let cards = placed
        .into_iter()
        .map(|(w, o)| WidgetCard {
            id: o.widget_id.clone(),
            kind: kind_name(o.kind),
            title: if w.title.is_empty() {
                format!("{} ({})", w.id.as_str(), kind_name(o.kind))
            } else {
                w.title.clone()
            },
            classes: layout_classes(w),
            inner: card_html(o),
        })
        .collect();
    let refreshed = outputs
        .iter()
        .filter_map(|o| o.computed_at)
        .min()
        .unwrap_or_else(|| runner.now());
    DashboardParts {
        filters,
        cards,
        refreshed_at: clock_label(refreshed),
        fresh_until: match keep {
            Keep::Until(t) => Some(t),
            Keep::Unbounded | Keep::Never => None,
        },
    }
}

/// Builds the dashboard page: parses the view from `query`, runs every widget (concurrently,
/// through the cache) and the select filters' options, and lays out the cards.
pub async fn dashboard_page(
    runner: &Arc<Runner>,
    ctx: &Arc<DashboardContext>,
    query: &str,
    restrictions: &Restrictions,
    chrome: Chrome,
    base_path: &str,
) -> DashboardPage {
    let doc = &ctx.document;
    let view = parse_view_query(doc, query);
    let parts = dashboard_parts(runner, ctx, &view, restrictions, None).await;
    DashboardPage {
        can_edit: chrome.can_edit,
        chrome,
        title: doc.title.clone(),
        description: doc.description.clone(),
        status: match doc.status {
            DashboardStatus::Draft => "draft",
            DashboardStatus::Published => "published",
        },
        form_path: base_path.trim_end_matches('/').to_string(),
        base_path: base_path.trim_end_matches('/').to_string(),
        theme: theme_name(view.theme),
        refresh_seconds: doc.refresh_seconds,
        filters: parts.filters,
        cards: parts.cards,
        refreshed_at: parts.refreshed_at,
        css: crate::assets::url(DASHBOARD_CSS),
        js: crate::assets::url(DASHBOARD_JS),
        sharing: crate::pages::DashboardSharing::default(),
        downloads: Some(crate::exports::Downloads::new(base_path, query)),
    }
}

/// The inner HTML of one card under `view`; `None` when the dashboard has no such widget.
///
/// This is what the page's script fetches when a filter changes, and the script shows no
/// filter bar of its own: so a value refused for a filter that restricts this widget
/// ([`ViewState::problems`]) is said in the card, above the widget run at the filter's default.
pub async fn widget_card(
    runner: &Runner,
    ctx: &DashboardContext,
    widget_id: &str,
    view: &ViewState,
    restrictions: &Restrictions,
) -> Option<String> {
    let output = runner
        .run_widget(ctx, widget_id, view, restrictions)
        .await?;
    let dataset = ctx
        .document
        .widget(widget_id)
        .and_then(|w| w.query.as_ref())
        .map(|q| q.dataset.clone());
    let notes: Vec<String> = ctx
        .document
        .filters
        .iter()
        .filter(|f| dataset.as_ref().is_some_and(|d| f.columns.contains_key(d)))
        .filter_map(|f| {
            let problem = view.problems.get(f.id.as_str())?;
            Some(format!(
                "{}: {problem} Showing the default instead.",
                f.label
            ))
        })
        .collect();
    Some(card_html_with_notes(&output, &notes))
}

/// `light` or `dark`: the name templates and CSS classes use.
pub fn theme_name(theme: Theme) -> &'static str {
    match theme {
        Theme::Light => "light",
        Theme::Dark => "dark",
    }
}

/// The fragment endpoint's answer: the card's inner HTML for `widget_id` under the view in
/// `query`, or 404 when the dashboard has no such widget. `Cache-Control: no-store`: the
/// server's cache is the one that counts.
pub async fn widget_fragment(
    runner: &Runner,
    ctx: &DashboardContext,
    widget_id: &str,
    query: &str,
    restrictions: &Restrictions,
) -> Response {
    let view = parse_view_query(&ctx.document, query);
    match widget_card(runner, ctx, widget_id, &view, restrictions).await {
        Some(html) => {
            let mut response = axum::response::Html(html).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        None => (StatusCode::NOT_FOUND, "no such widget").into_response(),
    }
}

/// The filter bar's controls with their current values; select options come from
/// [`Runner::filter_options`] (concurrently). A value the URL gave that was refused shows as
/// the control's note ([`ViewState::problems`]), beside the default the control then holds.
/// Also: until when the options shown stay fresh.
async fn filter_controls(
    runner: &Runner,
    ctx: &DashboardContext,
    view: &ViewState,
    restrictions: &Restrictions,
) -> (Vec<FilterControl>, Keep) {
    let doc = &ctx.document;
    let mut keep = Keep::Unbounded;
    let choices = &view.filters;
    let mut controls = Vec::with_capacity(doc.filters.len());
    // Select options load one filter after the other here but each is cached; the widgets run
    // concurrently with this whole function.
    for filter in &doc.filters {
        let current = choices.current(filter);
        let kind = match filter.kind {
            FilterKind::SingleSelect | FilterKind::MultiSelect => {
                let loaded = runner
                    .filter_options(ctx, filter.id.as_str(), restrictions)
                    .await;
                let (values, note) = match loaded {
                    Some(Ok(FilterOptions {
                        values,
                        truncated,
                        fetched_at,
                    })) => {
                        keep = match fetched_at {
                            Some(at) => keep.fetched(doc, at),
                            None => keep,
                        };
                        (
                            values,
                            truncated.then_some("Showing the first values only."),
                        )
                    }
                    Some(Err(_)) => {
                        keep = Keep::Never;
                        (Vec::new(), Some("The options could not be loaded."))
                    }
                    None => (Vec::new(), None),
                };
                let note = view
                    .problems
                    .get(filter.id.as_str())
                    .cloned()
                    .or(note.map(str::to_owned));
                let options = select_options(values, current);
                let control = if filter.kind == FilterKind::SingleSelect {
                    FilterControlKind::Select { options }
                } else {
                    FilterControlKind::MultiSelect { options }
                };
                controls.push(FilterControl {
                    id: filter.id.to_string(),
                    label: filter.label.clone(),
                    kind: control,
                    note,
                });
                continue;
            }
            FilterKind::DateRange => date_control(current, runner.now()),
            FilterKind::NumberRange => {
                let (min, max) = match current {
                    Some(FilterValue::NumberRange(r)) => (
                        r.min.map(|v| v.to_string()).unwrap_or_default(),
                        r.max.map(|v| v.to_string()).unwrap_or_default(),
                    ),
                    _ => (String::new(), String::new()),
                };
                FilterControlKind::NumberRange { min, max }
            }
        };
        controls.push(FilterControl {
            id: filter.id.to_string(),
            label: filter.label.clone(),
            kind,
            note: view.problems.get(filter.id.as_str()).cloned(),
        });
    }
    (controls, keep)
}

fn selected_texts(current: Option<&FilterValue>) -> Vec<String> {
    match current {
        Some(FilterValue::One(v)) => vec![scalar_text(v)],
        Some(FilterValue::Many(vs)) => vs.iter().map(scalar_text).collect(),
        _ => Vec::new(),
    }
}

fn scalar_text(v: &Scalar) -> String {
    v.to_string()
}

/// The options, each marked when chosen; chosen values the data no longer has are kept (at the
/// end) so the control shows the state the URL holds.
fn select_options(values: Vec<String>, current: Option<&FilterValue>) -> Vec<SelectOption> {
    let chosen = selected_texts(current);
    let mut options: Vec<SelectOption> = values
        .into_iter()
        .map(|v| SelectOption {
            selected: chosen.contains(&v),
            label: v.clone(),
            value: v,
        })
        .collect();
    for c in chosen {
        if !options.iter().any(|o| o.value == c) {
            options.push(SelectOption {
                value: c.clone(),
                label: c,
                selected: true,
            });
        }
    }
    options
}

fn date_control(current: Option<&FilterValue>, now: OffsetDateTime) -> FilterControlKind {
    let iso = |d: Option<time::Date>| {
        d.and_then(|d| d.format(format_description!("[year]-[month]-[day]")).ok())
            .unwrap_or_default()
    };
    let (chosen, from, to) = match current {
        Some(FilterValue::DateRange(r @ DateRange::Relative { preset })) => {
            let resolved = r.resolve(now.date());
            (preset_name(*preset), iso(resolved.from), iso(resolved.to))
        }
        Some(FilterValue::DateRange(DateRange::Absolute { from, to })) => {
            ("custom", iso(*from), iso(*to))
        }
        _ => ("", String::new(), String::new()),
    };
    let mut presets = vec![SelectOption {
        value: String::new(),
        label: "All time".into(),
        selected: chosen.is_empty(),
    }];
    presets.extend(PRESETS.iter().map(|(_, name, label)| SelectOption {
        value: (*name).to_string(),
        label: (*label).to_string(),
        selected: chosen == *name,
    }));
    presets.push(SelectOption {
        value: "custom".into(),
        label: "Custom range".into(),
        selected: chosen == "custom",
    });
    FilterControlKind::DateRange { presets, from, to }
}
