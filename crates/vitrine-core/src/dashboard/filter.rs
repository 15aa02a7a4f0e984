//! Dashboard filters, their values, relative date presets, and row-level rules.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::dates::{
    DateOutOfRange, add_days, add_months, check_date, first_of_month, first_of_quarter,
    is_last_of_month, jan_first, last_of_month, monday_of,
};
use super::{DashboardError, Issue, Slug};

/// The kind of control a filter shows, and the kind of value it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterKind {
    /// Pick one value.
    SingleSelect,
    /// Pick any number of values (none = no restriction).
    MultiSelect,
    /// A date range, absolute or relative ("last 30 days").
    DateRange,
    /// A number range, either end open.
    NumberRange,
}

/// One plain value: what a select filter or a row-level rule compares with.
///
/// Values reach SQL only as bound parameters; the data layer converts them to the column's
/// type (a value that cannot be of that type matches nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A real number.
    Float(f64),
    /// Text (also dates, as `2026-11-23`).
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Text(s) => f.write_str(s),
        }
    }
}

impl From<&str> for Scalar {
    fn from(s: &str) -> Self {
        Scalar::Text(s.to_string())
    }
}

/// Relative date ranges, resolved against an injected `now` (in UTC). Every range includes
/// today where it says "this" / "to date" / "last N days".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelativeDate {
    /// Today.
    Today,
    /// Yesterday.
    Yesterday,
    /// The last 7 days, today included.
    #[serde(rename = "last_7_days")]
    Last7Days,
    /// The last 30 days, today included.
    #[serde(rename = "last_30_days")]
    Last30Days,
    /// The last 90 days, today included.
    #[serde(rename = "last_90_days")]
    Last90Days,
    /// The last 12 months, today included.
    #[serde(rename = "last_12_months")]
    Last12Months,
    /// Monday of this week to today.
    ThisWeek,
    /// Last week, Monday to Sunday.
    LastWeek,
    /// The first of this month to today.
    ThisMonth,
    /// The whole previous month.
    LastMonth,
    /// The first day of this quarter to today.
    ThisQuarter,
    /// The whole previous quarter.
    LastQuarter,
    /// January 1st to today.
    YearToDate,
    /// The whole previous year.
    LastYear,
}

/// How far back the previous period of a range lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Days(i64),
    Months(i32),
}

impl RelativeDate {
    /// Every preset, in the order a picker lists them (the builder's choices and the OpenAPI
    /// document take them from here). A new variant fails to compile in
    /// [`RelativeDate::position`] until it is listed here too.
    pub const ALL: [RelativeDate; 14] = [
        RelativeDate::Today,
        RelativeDate::Yesterday,
        RelativeDate::Last7Days,
        RelativeDate::Last30Days,
        RelativeDate::Last90Days,
        RelativeDate::Last12Months,
        RelativeDate::ThisWeek,
        RelativeDate::LastWeek,
        RelativeDate::ThisMonth,
        RelativeDate::LastMonth,
        RelativeDate::ThisQuarter,
        RelativeDate::LastQuarter,
        RelativeDate::YearToDate,
        RelativeDate::LastYear,
    ];

    /// This preset's place in [`RelativeDate::ALL`] (an exhaustive match, so that a new
    /// variant cannot be forgotten there).
    pub const fn position(self) -> usize {
        match self {
            RelativeDate::Today => 0,
            RelativeDate::Yesterday => 1,
            RelativeDate::Last7Days => 2,
            RelativeDate::Last30Days => 3,
            RelativeDate::Last90Days => 4,
            RelativeDate::Last12Months => 5,
            RelativeDate::ThisWeek => 6,
            RelativeDate::LastWeek => 7,
            RelativeDate::ThisMonth => 8,
            RelativeDate::LastMonth => 9,
            RelativeDate::ThisQuarter => 10,
            RelativeDate::LastQuarter => 11,
            RelativeDate::YearToDate => 12,
            RelativeDate::LastYear => 13,
        }
    }

    /// The inclusive range this preset means on `today`, or [`DateOutOfRange`] when it would
    /// reach outside the accepted dates ([`super::MIN_DATE`]..=[`super::MAX_DATE`]).
    pub fn try_resolve(self, today: Date) -> Result<ResolvedDateRange, DateOutOfRange> {
        let (from, to) = self.range(today).ok_or(DateOutOfRange)?;
        Ok(ResolvedDateRange {
            from: Some(check_date(from)?),
            to: Some(check_date(to)?),
        })
    }

    /// The inclusive range this preset means on `today`, for display. On a `today` so close
    /// to the ends of the calendar that the preset cannot be computed (a broken clock), the
    /// range is `today` alone: narrower, never wider. Restrictions use
    /// [`RelativeDate::try_resolve`], which refuses such a range instead.
    pub fn resolve(self, today: Date) -> ResolvedDateRange {
        let (from, to) = self.range(today).unwrap_or((today, today));
        ResolvedDateRange {
            from: Some(from),
            to: Some(to),
        }
    }

    /// The preset's first and last day, with checked arithmetic.
    fn range(self, today: Date) -> Option<(Date, Date)> {
        Some(match self {
            RelativeDate::Today => (today, today),
            RelativeDate::Yesterday => {
                let y = add_days(today, -1)?;
                (y, y)
            }
            RelativeDate::Last7Days => (add_days(today, -6)?, today),
            RelativeDate::Last30Days => (add_days(today, -29)?, today),
            RelativeDate::Last90Days => (add_days(today, -89)?, today),
            RelativeDate::Last12Months => (add_days(add_months(today, -12)?, 1)?, today),
            RelativeDate::ThisWeek => (monday_of(today)?, today),
            RelativeDate::LastWeek => {
                let m = add_days(monday_of(today)?, -7)?;
                (m, add_days(m, 6)?)
            }
            RelativeDate::ThisMonth => (first_of_month(today), today),
            RelativeDate::LastMonth => {
                let first = first_of_month(today);
                (add_months(first, -1)?, add_days(first, -1)?)
            }
            RelativeDate::ThisQuarter => (first_of_quarter(today), today),
            RelativeDate::LastQuarter => {
                let first = first_of_quarter(today);
                (add_months(first, -3)?, add_days(first, -1)?)
            }
            RelativeDate::YearToDate => (jan_first(today.year())?, today),
            RelativeDate::LastYear => (
                jan_first(today.year().checked_sub(1)?)?,
                add_days(jan_first(today.year())?, -1)?,
            ),
        })
    }

    fn step(self) -> Step {
        match self {
            RelativeDate::Today | RelativeDate::Yesterday => Step::Days(1),
            RelativeDate::Last7Days | RelativeDate::ThisWeek | RelativeDate::LastWeek => {
                Step::Days(7)
            }
            RelativeDate::Last30Days => Step::Days(30),
            RelativeDate::Last90Days => Step::Days(90),
            RelativeDate::ThisMonth | RelativeDate::LastMonth => Step::Months(1),
            RelativeDate::ThisQuarter | RelativeDate::LastQuarter => Step::Months(3),
            RelativeDate::Last12Months | RelativeDate::YearToDate | RelativeDate::LastYear => {
                Step::Months(12)
            }
        }
    }
}

/// A date range as written in a document: a relative preset, or absolute dates (inclusive,
/// either end may be open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum DateRange {
    /// `{preset: last_30_days}`.
    Relative {
        /// The preset.
        preset: RelativeDate,
    },
    /// `{from: 2026-01-01, to: 2026-03-31}`.
    Absolute {
        /// First day, inclusive.
        #[serde(
            default,
            with = "iso_date_opt",
            skip_serializing_if = "Option::is_none"
        )]
        from: Option<Date>,
        /// Last day, inclusive.
        #[serde(
            default,
            with = "iso_date_opt",
            skip_serializing_if = "Option::is_none"
        )]
        to: Option<Date>,
    },
}

impl DateRange {
    /// The absolute range on `today`, for display (see [`RelativeDate::resolve`]); restrictions
    /// use [`DateRange::try_resolve`].
    pub fn resolve(&self, today: Date) -> ResolvedDateRange {
        match self {
            DateRange::Relative { preset } => preset.resolve(today),
            DateRange::Absolute { from, to } => ResolvedDateRange {
                from: *from,
                to: *to,
            },
        }
    }

    /// The absolute range on `today`, or [`DateOutOfRange`] when an end lies outside the
    /// accepted dates.
    pub fn try_resolve(&self, today: Date) -> Result<ResolvedDateRange, DateOutOfRange> {
        match self {
            DateRange::Relative { preset } => preset.try_resolve(today),
            DateRange::Absolute { from, to } => {
                let range = ResolvedDateRange {
                    from: *from,
                    to: *to,
                };
                range.validate()?;
                Ok(range)
            }
        }
    }

    /// Checks that absolute ends are accepted dates ([`super::MIN_DATE`]..=[`super::MAX_DATE`]).
    /// A relative preset is checked when it is resolved.
    pub fn validate(&self) -> Result<(), DateOutOfRange> {
        match self {
            DateRange::Relative { .. } => Ok(()),
            DateRange::Absolute { from, to } => ResolvedDateRange {
                from: *from,
                to: *to,
            }
            .validate(),
        }
    }

    /// The period a KPI compares with: the same calendar stretch one month / quarter / year
    /// earlier for calendar presets (this month to date → last month to the same day), and the
    /// same number of days just before for day-based presets and absolute ranges. `None` for
    /// open-ended or reversed ranges, and when the previous period would reach before
    /// [`super::MIN_DATE`] (there is nothing honest to compare with there).
    pub fn previous_period(&self, today: Date) -> Option<ResolvedDateRange> {
        let current = self.try_resolve(today).ok()?;
        let (from, to) = (current.from?, current.to?);
        if from > to {
            return None;
        }
        let step = match self {
            DateRange::Relative { preset } => preset.step(),
            DateRange::Absolute { .. } => Step::Days((to - from).whole_days() + 1),
        };
        let (pf, pt) = match step {
            Step::Days(n) => (add_days(from, -n)?, add_days(to, -n)?),
            Step::Months(m) => {
                let shifted = add_months(to, -m)?;
                let pt = if is_last_of_month(to) {
                    last_of_month(shifted)
                } else {
                    shifted
                };
                (add_months(from, -m)?, pt)
            }
        };
        Some(ResolvedDateRange {
            from: Some(check_date(pf).ok()?),
            to: Some(check_date(pt).ok()?),
        })
    }
}

/// An absolute, inclusive date range; `None` ends are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResolvedDateRange {
    /// First day, inclusive.
    #[serde(with = "iso_date_opt")]
    pub from: Option<Date>,
    /// Last day, inclusive.
    #[serde(with = "iso_date_opt")]
    pub to: Option<Date>,
}

impl ResolvedDateRange {
    /// Checks that both ends (when set) are accepted dates.
    pub fn validate(&self) -> Result<(), DateOutOfRange> {
        for d in [self.from, self.to].into_iter().flatten() {
            check_date(d)?;
        }
        Ok(())
    }
}

/// A number range; either end may be open. Both ends are inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberRange {
    /// Lower bound, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A filter's value, as chosen by a viewer or written as a default.
///
/// In documents: `EU` (single select), `[EU, US]` (multi select), `{preset: last_30_days}` or
/// `{from: 2026-01-01, to: 2026-03-31}` (date range), `{min: 10, max: 99}` (number range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FilterValue {
    /// Several values (multi select).
    Many(Vec<Scalar>),
    /// A date range.
    DateRange(DateRange),
    /// A number range.
    NumberRange(NumberRange),
    /// One value (single select).
    One(Scalar),
}

/// Why a filter value cannot be used with a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FilterValueError {
    /// A value of another shape (a number range for a date-range filter...).
    #[error("this value does not fit a {} filter", kind_name(*.0))]
    WrongKind(FilterKind),
    /// A date outside [`super::MIN_DATE`]..=[`super::MAX_DATE`].
    #[error(transparent)]
    DateOutOfRange(#[from] DateOutOfRange),
    /// NaN or an infinity (YAML can write `.nan`); it compares with nothing.
    #[error("Numbers must be finite.")]
    NotFinite,
}

impl FilterValue {
    /// Whether this value can be used with a filter of kind `kind`: see
    /// [`FilterValue::validate`].
    pub fn fits(&self, kind: FilterKind) -> bool {
        self.validate(kind).is_ok()
    }

    /// Checks that this value fits a filter of kind `kind` (a single value also fits a multi
    /// select), that its dates are accepted dates and its numbers finite. The error's message
    /// is written for the person who typed the value.
    pub fn validate(&self, kind: FilterKind) -> Result<(), FilterValueError> {
        let fits = matches!(
            (kind, self),
            (FilterKind::SingleSelect, FilterValue::One(_))
                | (
                    FilterKind::MultiSelect,
                    FilterValue::Many(_) | FilterValue::One(_)
                )
                | (FilterKind::DateRange, FilterValue::DateRange(_))
                | (FilterKind::NumberRange, FilterValue::NumberRange(_))
        );
        if !fits {
            return Err(FilterValueError::WrongKind(kind));
        }
        let finite = |s: &Scalar| !matches!(s, Scalar::Float(f) if !f.is_finite());
        match self {
            FilterValue::One(v) if !finite(v) => Err(FilterValueError::NotFinite),
            FilterValue::Many(vs) if !vs.iter().all(finite) => Err(FilterValueError::NotFinite),
            FilterValue::NumberRange(r)
                if [r.min, r.max].into_iter().flatten().any(|x| !x.is_finite()) =>
            {
                Err(FilterValueError::NotFinite)
            }
            FilterValue::DateRange(r) => Ok(r.validate()?),
            _ => Ok(()),
        }
    }
}

/// A dashboard-level filter, bound to one column in each dataset it restricts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Stable id; the URL query string uses it.
    pub id: Slug,
    /// The label shown on the control.
    pub label: String,
    /// The kind of control and value.
    pub kind: FilterKind,
    /// Dataset slug → column it restricts. Widgets over other datasets ignore the filter.
    pub columns: BTreeMap<Slug, String>,
    /// The value when the viewer chose none; no default means no restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<FilterValue>,
}

/// A filter value made absolute: what the compiler binds and what cache keys contain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EffectiveValue {
    /// Equal to this value.
    One {
        /// The value.
        value: Scalar,
    },
    /// One of these values (never empty).
    Many {
        /// The values.
        values: Vec<Scalar>,
    },
    /// Within this date range; `previous` is the period a KPI compares with.
    DateRange {
        /// The range.
        current: ResolvedDateRange,
        /// The previous period, when the range is closed.
        previous: Option<ResolvedDateRange>,
    },
    /// Within this number range.
    NumberRange {
        /// The range.
        range: NumberRange,
    },
}

/// A filter with its effective value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveFilter {
    /// The filter's id.
    pub id: Slug,
    /// Dataset slug → column.
    pub columns: BTreeMap<Slug, String>,
    /// The absolute value.
    pub value: EffectiveValue,
}

/// Combines the filters' defaults with the values a viewer chose (`chosen`, by filter id) and
/// resolves relative dates on `now`'s date. Filters with no value (or an empty multi select)
/// are left out: they do not restrict. A chosen value for an unknown filter, or of the wrong
/// kind, is an error (path: the filter id).
pub fn effective_filters(
    filters: &[Filter],
    chosen: &BTreeMap<String, FilterValue>,
    now: OffsetDateTime,
) -> Result<Vec<EffectiveFilter>, DashboardError> {
    let mut issues = Vec::new();
    for id in chosen.keys() {
        if !filters.iter().any(|f| f.id.as_str() == id) {
            issues.push(Issue::new(id.clone(), "there is no filter with this id"));
        }
    }
    let today = now.date();
    let mut out = Vec::new();
    for f in filters {
        let Some(value) = chosen.get(f.id.as_str()).or(f.default.as_ref()) else {
            continue;
        };
        if let Err(e) = value.validate(f.kind) {
            issues.push(Issue::new(f.id.as_str(), e.to_string()));
            continue;
        }
        let effective = match value {
            FilterValue::One(v) if f.kind == FilterKind::MultiSelect => EffectiveValue::Many {
                values: vec![v.clone()],
            },
            FilterValue::One(v) => EffectiveValue::One { value: v.clone() },
            FilterValue::Many(vs) if vs.is_empty() => continue,
            FilterValue::Many(vs) => EffectiveValue::Many { values: vs.clone() },
            FilterValue::DateRange(r) => {
                let current = match r.try_resolve(today) {
                    Ok(current) => current,
                    Err(e) => {
                        issues.push(Issue::new(f.id.as_str(), e.to_string()));
                        continue;
                    }
                };
                if current.from.is_none() && current.to.is_none() {
                    continue;
                }
                EffectiveValue::DateRange {
                    current,
                    previous: r.previous_period(today),
                }
            }
            FilterValue::NumberRange(r) => {
                if r.min.is_none() && r.max.is_none() {
                    continue;
                }
                EffectiveValue::NumberRange { range: *r }
            }
        };
        out.push(EffectiveFilter {
            id: f.id.clone(),
            columns: f.columns.clone(),
            value: effective,
        });
    }
    DashboardError::from_issues(issues)?;
    Ok(out)
}

pub(crate) fn kind_name(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::SingleSelect => "single select",
        FilterKind::MultiSelect => "multi select",
        FilterKind::DateRange => "date range",
        FilterKind::NumberRange => "number range",
    }
}

/// The comparison of a row-level rule.
///
/// In JSON and YAML an operator is written as its SQL symbol (`=`, `!=`, `in`, `not in`, `<`,
/// `<=`, `>`, `>=`, `between`), which is what people who wrote Superset or Metabase rules
/// expect. The snake-case names of the first version (`eq`, `in`, `lt`, `lte`, `gt`, `gte`,
/// plus `ne` and `not_in`) and SQL's `<>` are still read, so stored rules keep working; output
/// always uses the symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleOp {
    /// Equal to the one value.
    #[serde(rename = "=", alias = "eq")]
    Eq,
    /// Different from the one value (rows where the column is NULL do not match: fail closed).
    #[serde(rename = "!=", alias = "ne", alias = "<>")]
    Ne,
    /// One of the values.
    #[serde(rename = "in")]
    In,
    /// None of the values (rows where the column is NULL do not match: fail closed).
    #[serde(rename = "not in", alias = "not_in")]
    NotIn,
    /// Less than the one value.
    #[serde(rename = "<", alias = "lt")]
    Lt,
    /// Less than or equal.
    #[serde(rename = "<=", alias = "lte")]
    Lte,
    /// Greater than.
    #[serde(rename = ">", alias = "gt")]
    Gt,
    /// Greater than or equal.
    #[serde(rename = ">=", alias = "gte")]
    Gte,
    /// Between the two values, both included (`low <= column <= high`).
    #[serde(rename = "between")]
    Between,
}

/// The most values an `in` / `not in` rule may list: enough for any tenant list a host
/// application sends, small enough that a statement's placeholder count stays far below every
/// database's limit.
pub const MAX_RULE_VALUES: usize = 1000;

impl RuleOp {
    /// Every operator, in the order of the documentation.
    pub const ALL: [RuleOp; 9] = [
        RuleOp::Eq,
        RuleOp::Ne,
        RuleOp::In,
        RuleOp::NotIn,
        RuleOp::Lt,
        RuleOp::Lte,
        RuleOp::Gt,
        RuleOp::Gte,
        RuleOp::Between,
    ];

    /// The symbol, as written in documents and rendered clauses: `=`, `not in`, `between`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleOp::Eq => "=",
            RuleOp::Ne => "!=",
            RuleOp::In => "in",
            RuleOp::NotIn => "not in",
            RuleOp::Lt => "<",
            RuleOp::Lte => "<=",
            RuleOp::Gt => ">",
            RuleOp::Gte => ">=",
            RuleOp::Between => "between",
        }
    }

    /// How many values the operator takes, inclusive: `in` 1 to [`MAX_RULE_VALUES`],
    /// `between` exactly 2, the others exactly 1.
    pub fn arity(self) -> std::ops::RangeInclusive<usize> {
        match self {
            RuleOp::In | RuleOp::NotIn => 1..=MAX_RULE_VALUES,
            RuleOp::Between => 2..=2,
            _ => 1..=1,
        }
    }

    /// Whether the operator keeps rows by *excluding* values (`!=`, `not in`). The compiler
    /// also excludes NULLs for these, so a missing value never slips through.
    pub fn is_negative(self) -> bool {
        matches!(self, RuleOp::Ne | RuleOp::NotIn)
    }

    /// The operator with its sides swapped: `5 < x` is `x > 5`. `None` for the operators
    /// that have no mirror image (`in`, `not in`, `between`).
    pub fn flipped(self) -> Option<RuleOp> {
        Some(match self {
            RuleOp::Eq => RuleOp::Eq,
            RuleOp::Ne => RuleOp::Ne,
            RuleOp::Lt => RuleOp::Gt,
            RuleOp::Lte => RuleOp::Gte,
            RuleOp::Gt => RuleOp::Lt,
            RuleOp::Gte => RuleOp::Lte,
            RuleOp::In | RuleOp::NotIn | RuleOp::Between => return None,
        })
    }
}

impl fmt::Display for RuleOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A structured restriction `column op value(s)` applied to every query run for a link or a
/// guest token: `customer_id = 42`, `region in [EMEA, APAC]`, `amount between [10, 99]`.
///
/// Without a `dataset` the compiler applies the rule to every dataset it runs and refuses to
/// run a dataset that lacks the column (fail closed). With a `dataset` (a dataset slug) the
/// rule restricts only queries over that dataset, so a grant can restrict `orders` by
/// `customer_id` and `visits` by `account_id`; over that dataset a missing column is still an
/// error.
///
/// In JSON and YAML: `{dataset?, column, op, value}` for the one-value operators and
/// `{dataset?, column, op, values}` for `in`, `not in` and `between`; either key is read for
/// any operator, unknown keys are refused, and deserialising checks the rule
/// ([`RowLevelRule::check`]), so a malformed rule never reaches the compiler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RuleRepr", into = "RuleRepr")]
pub struct RowLevelRule {
    /// The dataset (slug) the rule restricts; `None`: every dataset.
    pub dataset: Option<String>,
    /// The column, by name, in every dataset the rule meets.
    pub column: String,
    /// The comparison.
    pub op: RuleOp,
    /// The values: one, two for `between`, 1 to [`MAX_RULE_VALUES`] for `in` / `not in`.
    pub values: Vec<Scalar>,
}

/// The written form of a rule: `value` or `values`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dataset: Option<String>,
    column: String,
    op: RuleOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    values: Option<Vec<Scalar>>,
}

impl TryFrom<RuleRepr> for RowLevelRule {
    type Error = String;
    fn try_from(r: RuleRepr) -> Result<Self, String> {
        let values = match (r.value, r.values) {
            (Some(v), None) => vec![v],
            (None, Some(vs)) => vs,
            (Some(_), Some(_)) => {
                return Err("a row-level rule has either `value` or `values`, not both".into());
            }
            (None, None) => return Err("a row-level rule needs `value` or `values`".into()),
        };
        let rule = RowLevelRule {
            dataset: r.dataset,
            column: r.column,
            op: r.op,
            values,
        };
        rule.check()?;
        Ok(rule)
    }
}

impl From<RowLevelRule> for RuleRepr {
    fn from(r: RowLevelRule) -> Self {
        let one = r.op.arity() == (1..=1) && r.values.len() == 1;
        let (value, values) = if one {
            (r.values.into_iter().next(), None)
        } else {
            (None, Some(r.values))
        };
        RuleRepr {
            dataset: r.dataset,
            column: r.column,
            op: r.op,
            value,
            values,
        }
    }
}

impl RowLevelRule {
    /// Builds a checked rule that applies to every dataset.
    pub fn new(column: impl Into<String>, op: RuleOp, values: Vec<Scalar>) -> Result<Self, String> {
        let rule = RowLevelRule {
            dataset: None,
            column: column.into(),
            op,
            values,
        };
        rule.check()?;
        Ok(rule)
    }

    /// The same rule restricted to the dataset with slug `dataset` (checked to be a slug).
    pub fn for_dataset(mut self, dataset: impl Into<String>) -> Result<Self, String> {
        self.dataset = Some(dataset.into());
        self.check()?;
        Ok(self)
    }

    /// Whether the rule restricts queries over the dataset with slug `dataset`.
    pub fn applies_to(&self, dataset: &str) -> bool {
        self.dataset.as_deref().is_none_or(|d| d == dataset)
    }

    /// Checks that the column is named, the dataset (if any) is a slug, the number of values
    /// fits the operator, numbers are finite (a NaN compares with nothing, and JSON cannot
    /// carry it back) and a `between`'s ends are in order when they can be compared (two
    /// numbers, or two `2026-11-23` dates).
    pub fn check(&self) -> Result<(), String> {
        if self.column.is_empty() {
            return Err("a row-level rule needs a column".into());
        }
        if self.column.chars().count() > 256 || self.column.chars().any(char::is_control) {
            return Err(
                "a row-level rule's column has at most 256 characters and no control characters"
                    .into(),
            );
        }
        if let Some(d) = &self.dataset {
            Slug::parse(d.as_str()).map_err(|e| format!("a row-level rule's dataset: {e}"))?;
        }
        let n = self.values.len();
        if !self.op.arity().contains(&n) {
            return Err(match self.op {
                RuleOp::In | RuleOp::NotIn => format!(
                    "an `{}` rule needs between 1 and {MAX_RULE_VALUES} values",
                    self.op
                ),
                RuleOp::Between => "a `between` rule needs exactly two values, low and high".into(),
                op => format!("a `{op}` rule needs exactly one value"),
            });
        }
        if self
            .values
            .iter()
            .any(|v| matches!(v, Scalar::Float(f) if !f.is_finite()))
        {
            return Err("a row-level rule's numbers must be finite".into());
        }
        if let (RuleOp::Between, [low, high]) = (self.op, self.values.as_slice())
            && scalar_order(low, high) == Some(std::cmp::Ordering::Greater)
        {
            return Err(format!(
                "a `between` rule needs its low value first: {low} is greater than {high}"
            ));
        }
        Ok(())
    }
}

/// How two rule values compare when they obviously can: two numbers, or two ISO dates.
fn scalar_order(a: &Scalar, b: &Scalar) -> Option<std::cmp::Ordering> {
    let number = |s: &Scalar| match s {
        Scalar::Int(i) => Some(*i as f64),
        Scalar::Float(f) => Some(*f),
        _ => None,
    };
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return match (a, b) {
            (Scalar::Int(x), Scalar::Int(y)) => Some(x.cmp(y)),
            _ => x.partial_cmp(&y),
        };
    }
    match (a, b) {
        (Scalar::Text(x), Scalar::Text(y)) => {
            let (x, y) = (parse_iso_date(x)?, parse_iso_date(y)?);
            Some(x.cmp(&y))
        }
        _ => None,
    }
}

/// `2026-11-23` (surrounding blanks allowed), as the compiler reads dates.
pub(crate) fn parse_iso_date(s: &str) -> Option<Date> {
    Date::parse(
        s.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// Optional dates as `2026-11-23` text in every format.
mod iso_date_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::macros::format_description;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]");

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => {
                let text = d.format(FORMAT).map_err(serde::ser::Error::custom)?;
                s.serialize_some(&text)
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            Date::parse(&t, FORMAT).map_err(|_| {
                serde::de::Error::custom(format!("`{t}` is not a date like 2026-11-23"))
            })
        })
        .transpose()
    }
}
