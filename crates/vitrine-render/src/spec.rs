//! What to draw: the renderer's input, independent of the dashboard model.

use crate::theme::Theme;
use crate::time::TimeGrain;
use std::fmt;
use vitrine_core::result::{NumberFormat, ResultTable};

/// The kind of chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// One big number, its change against the previous period, a sparkline.
    Kpi,
    /// Lines over a category or time dimension.
    Line,
    /// Filled areas over a category or time dimension.
    Area,
    /// Bars, vertical or horizontal, grouped or stacked.
    Bar,
    /// A donut with the total in the middle.
    Pie,
    /// A table (SVG for static exports; see [`crate::render_table_html`]).
    Table,
}

impl ChartKind {
    /// The name used in descriptions (`"bar chart"`).
    pub fn noun(self) -> &'static str {
        match self {
            ChartKind::Kpi => "key figure",
            ChartKind::Line => "line chart",
            ChartKind::Area => "area chart",
            ChartKind::Bar => "bar chart",
            ChartKind::Pie => "donut chart",
            ChartKind::Table => "table",
        }
    }
}

/// Bar direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    /// Columns rising from a horizontal category axis.
    #[default]
    Vertical,
    /// Bars growing right from a vertical category axis (long labels read better).
    Horizontal,
}

/// How several series share a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stacking {
    /// Side by side (bars) or overlapping (areas).
    #[default]
    Grouped,
    /// On top of one another.
    Stacked,
}

/// When values are written on the marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueLabels {
    /// On bars and donut slices where they fit; not on lines.
    #[default]
    Auto,
    /// Wherever they fit, lines included.
    Always,
    /// Never.
    Never,
}

/// How the SVG root is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sizing {
    /// `width="100%" height="100%"`: the chart scales with its container,
    /// the `viewBox` keeping its proportions.
    #[default]
    Responsive,
    /// `width` / `height` in pixels (for rasterising).
    Fixed,
}

/// The size of the drawing in CSS pixels (the `viewBox`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Size {
    /// A size, clamped to at least 120 × 80 so that a layout glitch cannot
    /// produce a degenerate drawing.
    pub fn new(width: f64, height: f64) -> Size {
        let ok = |v: f64, min: f64| {
            if v.is_finite() {
                v.clamp(min, 10_000.0)
            } else {
                min
            }
        };
        Size {
            width: ok(width, 120.0),
            height: ok(height, 80.0),
        }
    }
}

impl Default for Size {
    fn default() -> Self {
        Size::new(640.0, 320.0)
    }
}

/// A measure: a numeric result column and how to show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// The result column.
    pub column: String,
    /// The name shown in legends and headers (default: the column name).
    pub label: Option<String>,
    /// The number format.
    pub format: NumberFormat,
}

impl Measure {
    /// A measure over `column`, shown as a plain number.
    pub fn new(column: impl Into<String>) -> Measure {
        Measure {
            column: column.into(),
            label: None,
            format: NumberFormat::Number,
        }
    }

    /// Sets the displayed name.
    pub fn label(mut self, label: impl Into<String>) -> Measure {
        self.label = Some(label.into());
        self
    }

    /// Sets the number format.
    pub fn format(mut self, format: NumberFormat) -> Measure {
        self.format = format;
        self
    }

    /// The displayed name.
    pub fn name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.column)
    }
}

/// Options that only some kinds read.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartOptions {
    /// Bars: vertical or horizontal.
    pub orientation: Orientation,
    /// Bars and areas: grouped or stacked.
    pub stacking: Stacking,
    /// When values are written on the marks.
    pub value_labels: ValueLabels,
    /// Show a legend when there are several series (or slices).
    pub legend: bool,
    /// The granularity of a time dimension (default: inferred from the data).
    pub time_grain: Option<TimeGrain>,
    /// Line charts: start the value axis at zero (default: when the data is
    /// not far from zero). Bars and areas always start at zero.
    pub y_zero: Option<bool>,
    /// KPI: an increase is good (green ▲). False for costs, churn, latency.
    pub higher_is_better: bool,
    /// KPI: a column holding the previous period's value. Without it the
    /// previous value is the second-to-last row of the dimension.
    pub comparison: Option<String>,
    /// How the SVG root is sized.
    pub sizing: Sizing,
    /// Draw the rounded card background (off when the page draws the card).
    pub background: bool,
    /// Draw the title inside the SVG (off when the page shows it in HTML).
    pub show_title: bool,
    /// Give marks a `<title>` tooltip (`Nov 2026 · Pro: $1,234.00`) that
    /// browsers show on hover; off for PNG / PDF exports, which cannot show
    /// them (smaller and faster output).
    pub tooltips: bool,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            orientation: Orientation::Vertical,
            stacking: Stacking::Grouped,
            value_labels: ValueLabels::Auto,
            legend: true,
            time_grain: None,
            y_zero: None,
            higher_is_better: true,
            comparison: None,
            sizing: Sizing::Responsive,
            background: true,
            show_title: true,
            tooltips: true,
        }
    }
}

/// Everything the renderer needs besides the data.
///
/// The dimension is the category / x axis (a time axis when its column is a
/// date or timestamp, or its text parses as ISO-8601). With a `series`
/// column the first measure is split into one series per distinct value;
/// without it each measure is a series.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    /// The kind of chart.
    pub kind: ChartKind,
    /// The title, drawn top-left and used as the accessible name.
    pub title: String,
    /// The category / x column.
    pub dimension: Option<String>,
    /// The column that splits the first measure into series.
    pub series: Option<String>,
    /// The measure columns, at least one for every kind but `table`.
    pub measures: Vec<Measure>,
    /// Kind-specific options.
    pub options: ChartOptions,
    /// Light or dark.
    pub theme: Theme,
    /// The drawing size.
    pub size: Size,
}

impl ChartSpec {
    /// A spec of `kind` titled `title`, with default options, light theme,
    /// 640 × 320.
    pub fn new(kind: ChartKind, title: impl Into<String>) -> ChartSpec {
        ChartSpec {
            kind,
            title: title.into(),
            dimension: None,
            series: None,
            measures: Vec::new(),
            options: ChartOptions::default(),
            theme: Theme::Light,
            size: Size::default(),
        }
    }

    /// Sets the category / x column.
    pub fn dimension(mut self, column: impl Into<String>) -> Self {
        self.dimension = Some(column.into());
        self
    }

    /// Sets the series column.
    pub fn series(mut self, column: impl Into<String>) -> Self {
        self.series = Some(column.into());
        self
    }

    /// Adds a measure.
    pub fn measure(mut self, measure: Measure) -> Self {
        self.measures.push(measure);
        self
    }

    /// Replaces the options.
    pub fn options(mut self, options: ChartOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the theme.
    pub fn theme(mut self, theme: Theme) -> Self {
        self.theme = theme;
        self
    }

    /// Sets the size.
    pub fn size(mut self, width: f64, height: f64) -> Self {
        self.size = Size::new(width, height);
        self
    }

    /// Checks that every column the spec names exists in `table`.
    /// (Measure cells that are not numbers are drawn as gaps, not errors.)
    pub fn validate(&self, table: &ResultTable) -> Result<(), SpecError> {
        if self.kind != ChartKind::Table && self.measures.is_empty() {
            return Err(SpecError::NoMeasure);
        }
        let named = self
            .dimension
            .iter()
            .chain(self.series.iter())
            .chain(self.options.comparison.iter())
            .chain(self.measures.iter().map(|m| &m.column));
        for name in named {
            if table.column_index(name).is_none() {
                return Err(SpecError::UnknownColumn(name.clone()));
            }
        }
        Ok(())
    }
}

/// A spec that does not match its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    /// A chart without a measure.
    NoMeasure,
    /// A column the result does not have.
    UnknownColumn(String),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::NoMeasure => write!(f, "the chart has no measure"),
            SpecError::UnknownColumn(c) => write!(f, "the result has no column {c:?}"),
        }
    }
}

impl std::error::Error for SpecError {}
