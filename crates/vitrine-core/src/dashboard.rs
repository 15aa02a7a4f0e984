//! # Dashboards as documents
//!
//! A dashboard is a *document*: a versioned YAML or JSON file that can be edited in the owner
//! UI, kept in a repository ("dashboards as code") and sent through the API. Everything a
//! dashboard shows is derived from this document; nothing in it is SQL text.
//!
//! A short tour of the design choices:
//!
//! - **Structure, not SQL.** A [`Widget`] holds a [`WidgetQuery`]: dimensions (optionally time
//!   bucketed), measures (`count`, `sum`, ...), an optional series column, sort and limit over
//!   one *dataset* named by its slug. `vitrine-data` compiles that structure into one
//!   parameterised statement per dialect, so an outsider can never inject SQL: identifiers come
//!   from this saved document and are checked against the dataset's columns
//!   ([`validate`]), values are bound parameters.
//! - **Two levels of checking.** [`Dashboard::check`] is structural and needs nothing else (the
//!   grid, ids, kinds and options agree); [`validate`] additionally knows the datasets' columns
//!   and their types (`sum` needs a number, a time bucket needs a date). Both report every
//!   problem at once, each with a path such as `widgets[2].query.measures[0].column`; errors
//!   from YAML additionally carry the line ([`DashboardError::with_lines`]).
//! - **Strict parsing.** Unknown keys are errors (`deny_unknown_fields`): a typo in a
//!   hand-written YAML file must not silently drop a filter.
//! - **Filters are typed and resolved late.** A [`Filter`] is bound to one column per dataset;
//!   its [`FilterValue`] may be relative ("last 30 days"), and is turned into absolute values
//!   ([`EffectiveFilter`]) against an injected `now` by [`effective_filters`], so the same
//!   document means the same thing in tests, on every instance and in the cache key.
//! - **The builder asks validation.** [`builder_choices`] derives what a visual builder may
//!   offer over a dataset (aggregates per column, buckets, series, filter kinds, each kind's
//!   shapes and options) by running [`validate`] on probe documents, so the two cannot
//!   disagree.
//! - **Row-level rules** ([`RowLevelRule`]) are plain data here; share links and guest tokens
//!   attach them later, and the compiler applies them to every query (or every query over
//!   the one dataset a rule names), failing closed when a dataset lacks the rule's column.

mod choices;
mod dates;
mod filter;
mod locate;
mod validate;
mod widget;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use choices::{
    ALL_AGGREGATES, ALL_BUCKETS, ALL_FILTER_KINDS, ALL_KINDS, ALL_OPTIONS, Bounds, BuilderChoices,
    ColumnChoices, KindChoices, builder_choices, kind_choices,
};
pub use dates::{
    DATE_RANGE_MESSAGE, DateOutOfRange, MAX_DATE, MAX_YEAR, MIN_DATE, MIN_YEAR, check_date,
};
pub use filter::{
    DateRange, EffectiveFilter, EffectiveValue, Filter, FilterKind, FilterValue, FilterValueError,
    MAX_RULE_VALUES, NumberRange, RelativeDate, ResolvedDateRange, RowLevelRule, RuleOp, Scalar,
    effective_filters,
};
pub use validate::{DatasetColumns, validate};
pub use widget::{
    Aggregate, BarOrientation, BarStacking, Dimension, GridRect, Measure, SortDirection, SortKey,
    TimeBucket, Widget, WidgetKind, WidgetOptions, WidgetQuery,
};

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: u32 = 1;
/// The width of the layout grid, in columns.
pub const GRID_COLUMNS: u32 = 12;
/// The shortest refresh interval a dashboard may ask for, in seconds.
pub const MIN_REFRESH_SECONDS: u32 = 5;
/// The longest refresh interval, in seconds (one day).
pub const MAX_REFRESH_SECONDS: u32 = 86_400;
/// The refresh interval when a document does not say, in seconds.
pub const DEFAULT_REFRESH_SECONDS: u32 = 300;
/// The largest `limit` a widget query may ask for (the data layer's default row cap).
pub const MAX_LIMIT: u32 = 10_000;
/// The largest `page_size` a table widget may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A stable, URL-safe identifier chosen by the author: `revenue_by_plan`, `region`.
///
/// 1 to 64 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter or digit. Built only
/// through [`Slug::parse`] (serde goes through it too).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Checks and wraps a slug.
    pub fn parse(s: impl Into<String>) -> Result<Self, String> {
        let s = s.into();
        let ok_len = !s.is_empty() && s.len() <= 64;
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        let ok_start = s
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok_len && ok_chars && ok_start {
            Ok(Slug(s))
        } else {
            Err(format!(
                "`{}` is not a valid id: use 1 to 64 characters of a-z, 0-9, `_` and `-`, starting with a letter or digit",
                s.chars().take(80).collect::<String>()
            ))
        }
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Slug::parse(s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> Self {
        s.0
    }
}

impl std::borrow::Borrow<str> for Slug {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether outsiders may see a dashboard at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DashboardStatus {
    /// Being built; share links do not open it.
    #[default]
    Draft,
    /// Ready to be shared.
    Published,
}

/// A dashboard document (schema version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// The schema version; must be [`SCHEMA_VERSION`].
    pub version: u32,
    /// The title shown above the grid.
    pub title: String,
    /// An optional description (plain text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How often the widgets refresh, in seconds ([`MIN_REFRESH_SECONDS`] at least). Also the
    /// life of a cached result.
    #[serde(default = "default_refresh")]
    pub refresh_seconds: u32,
    /// Draft or published.
    #[serde(default)]
    pub status: DashboardStatus,
    /// Dashboard-level filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// The tiles, each with its place on the grid.
    #[serde(default)]
    pub widgets: Vec<Widget>,
}

fn default_refresh() -> u32 {
    DEFAULT_REFRESH_SECONDS
}

impl Dashboard {
    /// Parses a YAML document and checks its structure ([`Dashboard::check`]). Errors carry
    /// the line and the path of each problem.
    pub fn from_yaml(text: &str) -> Result<Self, DashboardError> {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let dashboard: Dashboard = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = display_path(e.path());
            let inner = e.into_inner();
            let (line, column) = inner
                .location()
                .map(|l| (Some(l.line()), Some(l.column())))
                .unwrap_or((None, None));
            let mut issue = Issue::new(path, clean_serde_message(&inner.to_string()));
            issue.line = line;
            issue.column = column;
            DashboardError {
                issues: vec![issue],
            }
        })?;
        dashboard.check().map_err(|e| e.with_lines(text))?;
        Ok(dashboard)
    }

    /// Writes the document as YAML.
    pub fn to_yaml(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }

    /// Parses a JSON document and checks its structure. Errors carry the path of each problem
    /// (and the line of a syntax error).
    pub fn from_json(text: &str) -> Result<Self, DashboardError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let dashboard: Dashboard = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = display_path(e.path());
            let inner = e.into_inner();
            let mut issue = Issue::new(path, clean_serde_message(&inner.to_string()));
            issue.line = Some(inner.line());
            issue.column = Some(inner.column());
            DashboardError {
                issues: vec![issue],
            }
        })?;
        dashboard.check()?;
        Ok(dashboard)
    }

    /// Writes the document as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Structural checks that need no dataset: version, title, refresh interval, grid, unique
    /// ids, widget kinds against their queries and options, filter defaults against kinds.
    pub fn check(&self) -> Result<(), DashboardError> {
        let mut issues = Vec::new();
        validate::check_structure(self, &mut issues);
        DashboardError::from_issues(issues)
    }

    /// This dashboard's filters with the viewer's `chosen` values (by filter id) over their
    /// defaults, resolved at `now` ([`effective_filters`]).
    pub fn effective_filters(
        &self,
        chosen: &std::collections::BTreeMap<String, FilterValue>,
        now: time::OffsetDateTime,
    ) -> Result<Vec<EffectiveFilter>, DashboardError> {
        effective_filters(&self.filters, chosen, now)
    }

    /// The widget with this id.
    pub fn widget(&self, id: &str) -> Option<&Widget> {
        self.widgets.iter().find(|w| w.id.as_str() == id)
    }

    /// The filter with this id.
    pub fn filter(&self, id: &str) -> Option<&Filter> {
        self.filters.iter().find(|f| f.id.as_str() == id)
    }
}

/// One problem in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Where: `widgets[2].query.measures[0].column`; empty for the document itself.
    pub path: String,
    /// The line (1-based) in the YAML or JSON text, when known.
    pub line: Option<usize>,
    /// The column (1-based) in that line, when known.
    pub column: Option<usize>,
    /// What is wrong, for the author.
    pub message: String,
}

impl Issue {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            path: path.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Everything wrong with a document (at least one issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DashboardError {
    /// The problems, in document order as far as possible.
    pub issues: Vec<Issue>,
}

impl DashboardError {
    pub(crate) fn from_issues(issues: Vec<Issue>) -> Result<(), DashboardError> {
        if issues.is_empty() {
            Ok(())
        } else {
            Err(DashboardError { issues })
        }
    }

    /// Fills in the line of each issue by finding its path in the YAML (or JSON) `text` the
    /// document came from. Issues whose path cannot be found keep `line: None`.
    pub fn with_lines(mut self, text: &str) -> Self {
        for issue in &mut self.issues {
            if issue.line.is_none() {
                issue.line = locate::line_of(text, &issue.path);
            }
        }
        self
    }

    /// The issue at `path`, if any (handy in tests and UIs).
    pub fn at(&self, path: &str) -> Option<&Issue> {
        self.issues.iter().find(|i| i.path == path)
    }
}

impl fmt::Display for DashboardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DashboardError {}

/// `widgets[2].query` from serde_path_to_error's `widgets[2].query` / `?` / `.`.
fn display_path(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." { String::new() } else { s }
}

/// serde_yaml_ng appends " at line N column M"; the line lives in its own field.
fn clean_serde_message(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
