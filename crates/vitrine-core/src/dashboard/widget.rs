//! Widgets and their structured queries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Slug;
use crate::result::{ColumnType, NumberFormat};

/// What a widget draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetKind {
    /// One number, its change against the previous period, and a sparkline.
    Kpi,
    /// A line chart over a dimension (usually time).
    Line,
    /// A filled line chart.
    Area,
    /// Bars, vertical or horizontal, grouped or stacked.
    Bar,
    /// A donut of parts of a whole.
    Pie,
    /// A sortable, paged table.
    Table,
    /// Markdown text; no query.
    Text,
}

impl WidgetKind {
    /// The kinds that run a query (all but `text`).
    pub fn has_query(self) -> bool {
        !matches!(self, WidgetKind::Text)
    }
}

/// A widget's place on the 12-column grid, in grid cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridRect {
    /// Left column, from 0.
    pub x: u32,
    /// Top row, from 0.
    pub y: u32,
    /// Width in columns (1..=12).
    pub w: u32,
    /// Height in rows (at least 1).
    pub h: u32,
}

impl GridRect {
    /// True when the two rectangles share at least one cell.
    pub fn overlaps(&self, other: &GridRect) -> bool {
        // In u64: a hand-written layout may say `x: 4294967295`, which must not overflow.
        let end = |start: u32, len: u32| u64::from(start) + u64::from(len);
        u64::from(self.x) < end(other.x, other.w)
            && u64::from(other.x) < end(self.x, self.w)
            && u64::from(self.y) < end(other.y, other.h)
            && u64::from(other.y) < end(self.y, self.h)
    }
}

/// Bar direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarOrientation {
    /// Bars grow upwards.
    #[default]
    Vertical,
    /// Bars grow to the right (long category names read better).
    Horizontal,
}

/// How several measures or series share a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarStacking {
    /// Side by side.
    #[default]
    Grouped,
    /// On top of each other.
    Stacked,
}

/// Display options; each applies to some kinds only ([`super::Dashboard::check`] says which).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetOptions {
    /// Bar direction (`bar` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<BarOrientation>,
    /// Grouped or stacked (`bar`, `area`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacking: Option<BarStacking>,
    /// Number format per measure, keyed by the measure's output name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub number_formats: BTreeMap<String, NumberFormat>,
    /// Rows per page (`table` only, 1..=500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// The Markdown source (`text` only; the renderer sanitises it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

impl WidgetOptions {
    fn is_default(&self) -> bool {
        *self == WidgetOptions::default()
    }
}

/// One tile of a dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Widget {
    /// Stable id, unique in the dashboard; share links and caches refer to it.
    pub id: Slug,
    /// The title shown on the tile.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// What it draws.
    pub kind: WidgetKind,
    /// Where it sits on the grid.
    pub layout: GridRect,
    /// The data it shows (every kind but `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<WidgetQuery>,
    /// Display options.
    #[serde(default, skip_serializing_if = "WidgetOptions::is_default")]
    pub options: WidgetOptions,
    /// The owner says this widget shows the same thing to every audience (a market index, a
    /// company-wide target): a share link's lock or a guest's row-level rule that cannot
    /// restrict its dataset does not hide it. Without this mark such a widget is not shown to
    /// restricted viewers at all (fail closed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub same_for_every_audience: bool,
}

/// A calendar bucket for a date or timestamp dimension. Buckets are labelled by their first
/// day as an ISO date (`2026-10-01` for Q4 2026); weeks start on Monday (ISO 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBucket {
    /// Calendar day.
    Day,
    /// ISO week, starting Monday.
    Week,
    /// Calendar month.
    Month,
    /// Calendar quarter.
    Quarter,
    /// Calendar year.
    Year,
}

/// A grouping column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    /// A column of the dataset.
    pub column: String,
    /// Bucket a date / timestamp column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<TimeBucket>,
}

impl Dimension {
    /// The name of this dimension's column in the result: the column's own name.
    pub fn output_name(&self) -> &str {
        &self.column
    }
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Number of rows (or of non-null values when a column is given).
    Count,
    /// Number of distinct non-null values.
    CountDistinct,
    /// Sum (numeric columns).
    Sum,
    /// Average (numeric columns).
    Avg,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
}

impl Aggregate {
    /// The lower-case name used in documents and default output names.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Count => "count",
            Aggregate::CountDistinct => "count_distinct",
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
        }
    }

    /// The type of the aggregate's result for an input column of type `input` (`None` for
    /// `count` without a column). Dialects disagree (PostgreSQL sums integers into `numeric`,
    /// MySQL into `DECIMAL`); the data layer coerces every dialect to this.
    pub fn output_type(self, input: Option<ColumnType>) -> ColumnType {
        match self {
            Aggregate::Count | Aggregate::CountDistinct => ColumnType::Integer,
            Aggregate::Sum => match input {
                Some(ColumnType::Integer) => ColumnType::Integer,
                _ => ColumnType::Number,
            },
            Aggregate::Avg => ColumnType::Number,
            Aggregate::Min | Aggregate::Max => input.unwrap_or(ColumnType::Number),
        }
    }
}

/// An aggregated value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// The function.
    pub agg: Aggregate,
    /// Its column; only `count` may omit it (`COUNT(*)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The output name (and legend label); defaults to `count` or `<agg>_<column>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Measure {
    /// The name of this measure's column in the result.
    pub fn output_name(&self) -> String {
        match (&self.name, &self.column) {
            (Some(n), _) => n.clone(),
            (None, Some(c)) => format!("{}_{}", self.agg.as_str(), c),
            (None, None) => self.agg.as_str().to_string(),
        }
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// One ordering key: a dimension, the series or a measure, by output name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortKey {
    /// The output name of a dimension, the series column or a measure.
    pub by: String,
    /// The direction.
    #[serde(default)]
    pub direction: SortDirection,
}

/// A structured query over one dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetQuery {
    /// The dataset's slug.
    pub dataset: Slug,
    /// Grouping columns, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
    /// Aggregated values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measures: Vec<Measure>,
    /// A column that splits each measure into several series (one line per plan, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Ordering; when empty, results are ordered by the dimensions, ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<SortKey>,
    /// At most this many rows (1..=[`super::MAX_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl WidgetQuery {
    /// The output column names, in result order: dimensions, series, measures.
    pub fn output_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .dimensions
            .iter()
            .map(|d| d.output_name().to_string())
            .collect();
        if let Some(s) = &self.series {
            names.push(s.clone());
        }
        names.extend(self.measures.iter().map(Measure::output_name));
        names
    }

    /// Every dataset column this query names, with the path it is named at (relative to the
    /// query).
    pub fn named_columns(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        for (i, d) in self.dimensions.iter().enumerate() {
            out.push((format!("dimensions[{i}].column"), d.column.as_str()));
        }
        if let Some(s) = &self.series {
            out.push(("series".to_string(), s.as_str()));
        }
        for (i, m) in self.measures.iter().enumerate() {
            if let Some(c) = &m.column {
                out.push((format!("measures[{i}].column"), c.as_str()));
            }
        }
        out
    }
}
