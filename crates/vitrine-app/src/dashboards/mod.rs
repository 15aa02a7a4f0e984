//! # Dashboards: running them
//!
//! The application's end of the data path (DESIGN §4): a saved dashboard document, the viewer's
//! filter values and any row-level rules go in; rendered widget cards come out.
//!
//! ```text
//! GET /dashboards/{id}?f.region=EU&f.period=last_30_days
//!   → parse_view_query         the URL is the view: filters, table sort/page, theme
//!   → Runner::run_dashboard    every widget on its own task, a few at a time
//!       → effective filters    defaults + choices, relative dates resolved on the clock
//!       → compile_widget       vitrine-data: one parameterised statement (or a KPI's three)
//!       → ResultCache          keyed by widget@revision + effective filters + rules;
//!                              lives for the refresh interval; single flight
//!       → DataSource           pooled per (data source id, revision), read-only, timed out
//!       → render               vitrine-render: SVG, or the table / Markdown HTML fragment
//!   → (vitrine-server) DashboardPage   askama: filter bar + 12-column grid of cards
//! ```
//!
//! A short tour of the choices:
//!
//! - [`runner`] is independent of the store: the caller builds a [`DashboardContext`] (the
//!   document, its revision, each dataset with its data source) and passes rules explicitly.
//!   Share links and guest tokens will pass their rules here; members pass none.
//! - One [`Runner`] per server (`Arc<Runner>` in the state). It owns the data-source pools
//!   (opened lazily, replaced when a source's revision changes, least recently used closed past
//!   a bound) and the caches, so a viral link costs one query per widget, filter state and
//!   refresh interval. Its `queries_run` counter says how many fetches really ran.
//! - Errors are polite by construction: a widget that fails renders
//!   `render_error_svg(DataError::client_message())` and carries only the stable code; the
//!   detail (SQL, driver text) is logged inside the widget's span and goes nowhere else.
//! - [`query`] reads the view from the URL and never fails: an unparseable value is ignored
//!   and the filter keeps its default. An empty value means "All" and beats the default.
//! - A KPI's sparkline shows the period building up (running total / min / max) so that its
//!   last point is the figure shown; see `runner::kpi_input` for why.

pub mod contexts;
pub mod query;
pub mod restrict;
pub mod runner;

pub use contexts::ContextCache;
pub use query::{
    FilterChoices, PRESETS, TableRequest, ViewState, describe_filter_value, parse_view_query,
    view_query,
};
pub use restrict::{MAX_RULES, Restriction, RestrictionError, Restrictions, lock_coverage};
pub use runner::{
    DashboardContext, DatasetContext, FilterOptions, Runner, RunnerCacheStats, RunnerLimits,
    WidgetExport, WidgetOutput, chart_spec, check_rule, clock_label,
};
