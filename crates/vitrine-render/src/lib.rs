//! # vitrine-render
//!
//! Widget results to SVG (and HTML fragments for the live page). Charts are
//! the product's face, so this crate draws them itself: no plotting
//! framework, a few hundred microseconds for a whole dashboard, and output
//! that is byte-for-byte deterministic.
//!
//! ## A tour
//!
//! - **Input** ([`spec`]): a [`ChartSpec`] says what to draw — the kind, a
//!   title, which result columns are the dimension (category / x axis), the
//!   optional series column and the measures (each with its
//!   [`NumberFormat`](vitrine_core::result::NumberFormat)), options, theme
//!   and size. It is independent of the dashboard model: the server maps a
//!   widget onto it. The data is a plain
//!   [`ResultTable`].
//! - **Entry points**: [`render_svg`] draws any [`ChartKind`];
//!   [`render_error_svg`] draws a widget whose query failed with the polite
//!   message the caller passes; [`render_table_html`] and
//!   [`render_markdown_html`] produce the live page's table and text
//!   fragments; [`render_text_svg`] draws a text widget for static exports.
//! - **Data** (`data`): the table is pivoted into categories × series. A
//!   dimension whose values are dates becomes a time axis (sorted, labelled
//!   by granularity — `Nov 23`, `Nov 2026`, `Q4 2026` — and, for lines,
//!   spaced in proportion to time). Beyond seven series or slices the
//!   smallest are merged into "Other", so every series keeps a distinct
//!   colour of the colour-blind-safe Okabe–Ito palette ([`theme`]).
//! - **Layout** is measured, not guessed: text widths come from the DejaVu
//!   Sans faces embedded through the `dejavu` crate (the same faces PNG and
//!   PDF output load by bytes), so labels are truncated with `…`, category
//!   labels are rotated and thinned until none overlap, legends wrap, value
//!   labels appear only where they fit and KPI values shrink (then go
//!   compact, `12.3k`) to fit their card.
//! - **Numbers** ([`format`](mod@format)): thousands separators, currencies (`$`, `€`,
//!   `£`, `¥`, else the code), percentages, durations (`1h 2m`), compact
//!   axis labels with one unit per axis; axes use 1-2-5 steps ([`ticks`])
//!   and bars and areas always start at zero.
//! - **Safety**: every piece of text that reaches the output — titles,
//!   categories, series names, headers, cells, error messages — goes through
//!   one escaping function ([`escape`]) that also drops characters XML does
//!   not allow; numbers are written through one float formatter with at most
//!   one decimal that turns NaN and infinities into 0, and missing values
//!   are gaps, so no result can make the SVG ill-formed. Markdown goes
//!   through our own writer that never passes raw HTML or script URLs.
//! - **Exports** ([`png`], [`pdf`], [`csv`](mod@csv)): [`render_png`] rasterises one of
//!   these SVGs (resvg, 1x / 2x), [`render_pdf`] lays a dashboard's SVGs out on landscape
//!   A4 / Letter pages with krilla, text kept as text, and [`render_csv`] writes a result as
//!   RFC 4180 CSV with spreadsheet formulas neutralised. PNG and PDF resolve fonts only
//!   against [`fonts`]: the embedded DejaVu Sans faces, never the system's. Their one error
//!   type, [`ExportError`], displays as a sentence safe to show anyone.
//! - **Output**: a `viewBox` with `preserveAspectRatio` (charts scale with
//!   the layout), `role="img"`, `<title>` and `<desc>` for screen readers,
//!   `<title>` tooltips on marks, light and dark themes, and an explicit
//!   `font-family="DejaVu Sans, sans-serif"`.
#![forbid(unsafe_code)]

mod chart;
pub mod csv;
mod data;
pub mod escape;
mod export;
pub mod font;
pub mod fonts;
pub mod format;
mod html;
mod markdown;
pub mod pdf;
pub mod png;
pub mod spec;
mod svg;
pub mod theme;
pub mod ticks;
pub mod time;

pub use csv::render_csv;
pub use export::ExportError;
pub use html::{TableSort, TableView, render_table_html};
pub use markdown::{is_safe_url, render_markdown_html, render_text_svg};
pub use pdf::{Paper, PdfDocument, PdfWidget, render_pdf};
pub use png::render_png;
pub use spec::{
    ChartKind, ChartOptions, ChartSpec, Measure, Orientation, Size, Sizing, SpecError, Stacking,
    ValueLabels,
};
pub use svg::FONT_FAMILY;
pub use theme::Theme;
pub use time::TimeGrain;

use data::Dataset;
use vitrine_core::result::ResultTable;

/// The message shown when a spec does not match its result. It names no
/// column: outsiders may see it.
pub const MISCONFIGURED: &str = "This chart's settings do not match its data.";

/// Renders `table` as `spec` says, as a complete SVG document.
///
/// Never fails: a table without rows (or without a drawable value) gives the
/// "No data" state, and a spec naming columns the table lacks gives the
/// error state with [`MISCONFIGURED`] (use [`ChartSpec::validate`] to learn
/// which column).
pub fn render_svg(spec: &ChartSpec, table: &ResultTable) -> String {
    if spec.validate(table).is_err() {
        return render_error_svg(spec, MISCONFIGURED);
    }
    match spec.kind {
        ChartKind::Table => {
            if table.columns.is_empty() || table.rows.is_empty() {
                chart::empty_state(spec)
            } else {
                chart::table::render_svg(spec, table)
            }
        }
        ChartKind::Kpi => {
            // The comparison column rides along as a second measure.
            let has_comparison = spec.options.comparison.is_some();
            let mut s = spec.clone();
            s.series = None;
            s.measures.truncate(1);
            if let Some(c) = &spec.options.comparison {
                s.measures.push(Measure::new(c.clone()));
            }
            let ds = Dataset::build(&s, table);
            if ds
                .series
                .first()
                .is_some_and(|s| s.values.iter().any(Option::is_some))
            {
                chart::kpi::render(spec, &ds, has_comparison)
            } else {
                chart::empty_state(spec)
            }
        }
        ChartKind::Pie => {
            let mut s = spec.clone();
            s.series = None;
            s.measures.truncate(1);
            let ds = Dataset::build(&s, table);
            if chart::pie::has_slices(&ds) {
                chart::pie::render(spec, &ds)
            } else {
                chart::empty_state(spec)
            }
        }
        ChartKind::Line | ChartKind::Area | ChartKind::Bar => {
            let ds = Dataset::build(spec, table);
            if ds.has_values() {
                chart::cartesian::render(spec, &ds)
            } else {
                chart::empty_state(spec)
            }
        }
    }
}

/// Renders the error state of a widget: its title and `message`, escaped
/// and wrapped. Pass a polite, client-safe message (never driver text).
pub fn render_error_svg(spec: &ChartSpec, message: &str) -> String {
    chart::error_state(spec, message)
}

/// Renders the "No data" state of a widget.
pub fn render_empty_svg(spec: &ChartSpec) -> String {
    chart::empty_state(spec)
}
