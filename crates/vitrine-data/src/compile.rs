//! The query compiler: a widget's structured query, the effective filter values and the
//! row-level rules become one parameterised statement for one dialect.
//!
//! The shape is always
//! `SELECT <outputs> FROM (<dataset sql>) AS d WHERE <conditions> GROUP BY 1, 2 ORDER BY 3 DESC LIMIT ?`.
//!
//! - Identifiers come only from the saved definition, must be columns of the dataset, and are
//!   quoted for the dialect; the only other text is our own keywords and functions.
//! - Every value (filter values, rule values, the limit) is a bound [`Param`], converted to the
//!   column's type first. A value that cannot be of that type (`'; DROP TABLE t; --` against an
//!   integer column) turns its condition into `1 = 0`: it matches nothing, as equality would.
//! - `GROUP BY` and `ORDER BY` use output positions, which every dialect reads the same way and
//!   which cannot be confused with an input column of the same name (PostgreSQL resolves a
//!   bare `GROUP BY name` to the *input* column).
//! - Time buckets are computed per dialect and always come out as an ISO date (the first day of
//!   the bucket; ISO weeks start on Monday).

use std::fmt::Write as _;

use serde::Serialize;
use time::Date;
use time::macros::format_description;
use vitrine_core::dashboard::{
    Aggregate, DATE_RANGE_MESSAGE, EffectiveFilter, EffectiveValue, ResolvedDateRange,
    RowLevelRule, RuleOp, Scalar, SortDirection, Widget, WidgetKind, WidgetQuery, check_date,
};
use vitrine_core::result::{Column, ColumnType};

use crate::dataset::Dataset;
pub use crate::dialect::Dialect;
use crate::error::DataError;

/// A bound parameter with its type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Param {
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A real number.
    Float(f64),
    /// Text.
    Text(String),
    /// A date (bound as `DATE`, or as `2026-11-23` text on SQLite, whose dates are ISO text).
    Date(#[serde(with = "iso_date")] Date),
}

/// One statement ready to run: SQL text, its parameters in order, and the columns (with the
/// types every dialect is coerced to) that it returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompiledQuery {
    /// The dialect it was written for.
    pub dialect: Dialect,
    /// The SQL text (no values in it).
    pub sql: String,
    /// The bound parameters, in placeholder order.
    pub params: Vec<Param>,
    /// The result columns.
    pub columns: Vec<Column>,
}

/// A KPI needs three statements: the value, the previous period's value and a sparkline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiQueries {
    /// The measure over the current filters, without dimensions: one row.
    pub current: CompiledQuery,
    /// The same over the previous period of every date-range filter; `None` when no closed
    /// date range applies to the dataset (no change can be shown).
    pub previous: Option<CompiledQuery>,
    /// The measure per time bucket, oldest first; `None` when the widget has no dimension.
    pub sparkline: Option<CompiledQuery>,
}

/// What a widget runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum WidgetQueries {
    /// One statement (line, area, bar, pie, table).
    Single {
        /// The statement.
        query: CompiledQuery,
    },
    /// A KPI's statements.
    Kpi(KpiQueries),
}

/// Compiles whatever `widget` needs. Text widgets have no query (an error).
pub fn compile_widget(
    dialect: Dialect,
    widget: &Widget,
    dataset: &Dataset,
    filters: &[EffectiveFilter],
    rules: &[RowLevelRule],
) -> Result<WidgetQueries, DataError> {
    let query = widget
        .query
        .as_ref()
        .ok_or_else(|| DataError::invalid(format!("widget `{}` has no query", widget.id)))?;
    if widget.kind == WidgetKind::Kpi {
        compile_kpi(dialect, query, dataset, filters, rules).map(WidgetQueries::Kpi)
    } else {
        compile(dialect, query, dataset, filters, rules)
            .map(|query| WidgetQueries::Single { query })
    }
}

/// Compiles a KPI: the current value, the previous period's value (every date-range filter
/// shifted to its previous period) and the sparkline (the widget's time dimension, if any).
pub fn compile_kpi(
    dialect: Dialect,
    query: &WidgetQuery,
    dataset: &Dataset,
    filters: &[EffectiveFilter],
    rules: &[RowLevelRule],
) -> Result<KpiQueries, DataError> {
    let mut bare = query.clone();
    bare.dimensions.clear();
    bare.series = None;
    bare.sort.clear();
    bare.limit = None;
    let now = compile(dialect, &bare, dataset, filters, rules)?;

    let mut shifted = filters.to_vec();
    let mut any_shift = false;
    for f in &mut shifted {
        if !f.columns.contains_key(dataset.slug()) {
            continue;
        }
        if let EffectiveValue::DateRange { current, previous } = &mut f.value {
            match previous.take() {
                Some(p) => {
                    *current = p;
                    any_shift = true;
                }
                // An open range has no previous period: no honest change can be shown.
                None => {
                    return Ok(KpiQueries {
                        current: now,
                        previous: None,
                        sparkline: sparkline(dialect, query, dataset, filters, rules)?,
                    });
                }
            }
        }
    }
    let previous = if any_shift {
        Some(compile(dialect, &bare, dataset, &shifted, rules)?)
    } else {
        None
    };
    Ok(KpiQueries {
        current: now,
        previous,
        sparkline: sparkline(dialect, query, dataset, filters, rules)?,
    })
}

fn sparkline(
    dialect: Dialect,
    query: &WidgetQuery,
    dataset: &Dataset,
    filters: &[EffectiveFilter],
    rules: &[RowLevelRule],
) -> Result<Option<CompiledQuery>, DataError> {
    if query.dimensions.is_empty() {
        return Ok(None);
    }
    let mut q = query.clone();
    q.sort.clear();
    q.series = None;
    compile(dialect, &q, dataset, filters, rules).map(Some)
}

/// Compiles the distinct non-null values of `column` (the options of a select filter), at most
/// `cap`, ordered, with the row-level rules applied (a guest must not learn other customers'
/// values from a filter's options).
pub fn compile_distinct_values(
    dialect: Dialect,
    dataset: &Dataset,
    column: &str,
    cap: u32,
    rules: &[RowLevelRule],
) -> Result<CompiledQuery, DataError> {
    let mut b = Builder::new(dialect, dataset);
    let col = b.column(column)?;
    let q = dialect.quote(&col.name);
    let mut conds = vec![format!("{q} IS NOT NULL")];
    b.rules(rules, &mut conds)?;
    let mut sql = format!(
        "SELECT {q} FROM ({}) AS d WHERE {} GROUP BY 1 ORDER BY 1",
        dataset.sql(),
        conds.join(" AND ")
    );
    let p = b.bind(Param::Int(i64::from(cap)));
    let _ = write!(sql, " LIMIT {p}");
    Ok(CompiledQuery {
        dialect,
        sql,
        params: b.params,
        columns: vec![col],
    })
}

/// Compiles one structured query.
pub fn compile(
    dialect: Dialect,
    query: &WidgetQuery,
    dataset: &Dataset,
    filters: &[EffectiveFilter],
    rules: &[RowLevelRule],
) -> Result<CompiledQuery, DataError> {
    if query.dataset.as_str() != dataset.slug() {
        return Err(DataError::invalid(format!(
            "the query reads dataset `{}` but was given `{}`",
            query.dataset,
            dataset.slug()
        )));
    }
    if query.dimensions.is_empty() && query.measures.is_empty() {
        return Err(DataError::invalid("a query needs a dimension or a measure"));
    }
    let mut b = Builder::new(dialect, dataset);
    let mut select = Vec::new();
    let mut columns = Vec::new();
    let mut group = 0usize;

    for d in &query.dimensions {
        let col = b.column(&d.column)?;
        let q = dialect.quote(&col.name);
        let (expr, kind) = match d.bucket {
            Some(bucket) if col.kind.is_temporal() => {
                (dialect.bucket(bucket, &q), ColumnType::Date)
            }
            Some(_) => {
                return Err(DataError::invalid(format!(
                    "column `{}` is not a date and cannot be bucketed",
                    col.name
                )));
            }
            None => (q, col.kind),
        };
        select.push(format!("{expr} AS {}", dialect.quote(d.output_name())));
        columns.push(Column {
            name: d.output_name().to_string(),
            kind,
        });
        group += 1;
    }
    if let Some(series) = &query.series {
        let col = b.column(series)?;
        select.push(format!(
            "{} AS {}",
            dialect.quote(&col.name),
            dialect.quote(&col.name)
        ));
        columns.push(col);
        group += 1;
    }
    for m in &query.measures {
        let input = match &m.column {
            Some(c) => Some(b.column(c)?),
            None if m.agg == Aggregate::Count => None,
            None => {
                return Err(DataError::invalid(format!(
                    "`{}` needs a column",
                    m.agg.as_str()
                )));
            }
        };
        if matches!(m.agg, Aggregate::Sum | Aggregate::Avg)
            && !input.as_ref().is_some_and(|c| c.kind.is_numeric())
        {
            return Err(DataError::invalid(format!(
                "`{}` needs a numeric column",
                m.agg.as_str()
            )));
        }
        let arg = input.as_ref().map(|c| dialect.quote(&c.name));
        let expr = match (m.agg, arg.as_deref()) {
            (Aggregate::Count, None) => "COUNT(*)".to_string(),
            (Aggregate::Count, Some(c)) => format!("COUNT({c})"),
            (Aggregate::CountDistinct, Some(c)) => format!("COUNT(DISTINCT {c})"),
            (Aggregate::Sum, Some(c)) => format!("SUM({c})"),
            (Aggregate::Avg, Some(c)) => format!("AVG({c})"),
            (Aggregate::Min, Some(c)) => format!("MIN({c})"),
            (Aggregate::Max, Some(c)) => format!("MAX({c})"),
            (agg, None) => {
                return Err(DataError::invalid(format!(
                    "`{}` needs a column",
                    agg.as_str()
                )));
            }
        };
        let name = m.output_name();
        select.push(format!("{expr} AS {}", dialect.quote(&name)));
        columns.push(Column {
            name,
            kind: m.agg.output_type(input.map(|c| c.kind)),
        });
    }

    let mut conds = Vec::new();
    b.filters(filters, &mut conds)?;
    b.rules(rules, &mut conds)?;

    let mut sql = format!("SELECT {} FROM ({}) AS d", select.join(", "), dataset.sql());
    if !conds.is_empty() {
        let _ = write!(sql, " WHERE {}", conds.join(" AND "));
    }
    if group > 0 {
        let positions: Vec<String> = (1..=group).map(|i| i.to_string()).collect();
        let _ = write!(sql, " GROUP BY {}", positions.join(", "));
    }
    let order: Vec<String> = if query.sort.is_empty() {
        (1..=group).map(|i| format!("{i} ASC")).collect()
    } else {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let mut keys = Vec::new();
        for s in &query.sort {
            let pos = names.iter().position(|n| *n == s.by).ok_or_else(|| {
                DataError::invalid(format!("sort key `{}` is not an output of the query", s.by))
            })?;
            let dir = match s.direction {
                SortDirection::Asc => "ASC",
                SortDirection::Desc => "DESC",
            };
            keys.push(format!("{} {dir}", pos + 1));
        }
        keys
    };
    if !order.is_empty() {
        let _ = write!(sql, " ORDER BY {}", order.join(", "));
    }
    if let Some(limit) = query.limit {
        let p = b.bind(Param::Int(i64::from(limit)));
        let _ = write!(sql, " LIMIT {p}");
    }
    Ok(CompiledQuery {
        dialect,
        sql,
        params: b.params,
        columns,
    })
}

struct Builder<'a> {
    dialect: Dialect,
    dataset: &'a Dataset,
    params: Vec<Param>,
}

impl<'a> Builder<'a> {
    fn new(dialect: Dialect, dataset: &'a Dataset) -> Self {
        Builder {
            dialect,
            dataset,
            params: Vec::new(),
        }
    }

    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        self.dialect.placeholder(self.params.len())
    }

    /// The dataset column called `name`: the only way an identifier reaches SQL.
    fn column(&self, name: &str) -> Result<Column, DataError> {
        self.dataset
            .columns()
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .ok_or_else(|| {
                DataError::invalid(format!(
                    "unknown column `{name}` in dataset `{}`",
                    self.dataset.slug()
                ))
            })
    }

    fn filters(
        &mut self,
        filters: &[EffectiveFilter],
        conds: &mut Vec<String>,
    ) -> Result<(), DataError> {
        for f in filters {
            let Some(name) = f.columns.get(self.dataset.slug()) else {
                continue;
            };
            let col = self
                .column(name)
                .map_err(|e| DataError::invalid(format!("filter `{}`: {}", f.id, e.detail())))?;
            let q = self.dialect.quote(&col.name);
            match &f.value {
                EffectiveValue::One { value } => conds.push(self.compare(&q, col.kind, "=", value)),
                EffectiveValue::Many { values } => conds.push(self.one_of(&q, col.kind, values)),
                EffectiveValue::DateRange { current, .. } => {
                    if !col.kind.is_temporal() {
                        return Err(DataError::invalid(format!(
                            "filter `{}`: column `{}` is not a date",
                            f.id, col.name
                        )));
                    }
                    self.date_range(f.id.as_str(), &q, current, conds)?;
                }
                EffectiveValue::NumberRange { range } => {
                    if !col.kind.is_numeric() {
                        return Err(DataError::invalid(format!(
                            "filter `{}`: column `{}` is not a number",
                            f.id, col.name
                        )));
                    }
                    for (op, bound) in [(">=", range.min), ("<=", range.max)] {
                        if let Some(v) = bound {
                            let p = number_param(v, col.kind);
                            let ph = self.bind(p);
                            conds.push(format!("{q} {op} {ph}"));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies the row-level rules that concern this dataset. Values are bound parameters;
    /// the SQL text is only our operators and the dataset's own (quoted) column.
    ///
    /// - A rule naming another dataset is skipped; a rule that applies (no dataset, or this
    ///   one) but names a column this dataset lacks is an error (fail closed, never "ignore
    ///   the restriction").
    /// - `!=` and `not in` spell out `IS NOT NULL`: a row whose value is unknown is not shown
    ///   to an audience that must not see some value (fail closed). SQL's three-valued logic
    ///   drops those rows too, but the rule should not depend on every reader knowing that.
    /// - A value that cannot be of the column's type matches nothing for `=`, `in` (where it
    ///   is dropped from the list), `<`, `between`...; for `!=` and `not in` it makes the
    ///   whole rule match nothing too, rather than guessing what the author meant.
    /// - On a date or timestamp column, a date as an upper bound (`<=`, `between`'s high end)
    ///   includes that whole day and `>` a date starts the next day, as date-range filters do:
    ///   `ordered_at between 2026-01-01 and 2026-03-31` keeps March 31st at 18:00.
    fn rules(&mut self, rules: &[RowLevelRule], conds: &mut Vec<String>) -> Result<(), DataError> {
        for r in rules {
            r.check().map_err(DataError::invalid)?;
            if !r.applies_to(self.dataset.slug()) {
                continue;
            }
            // Fail closed: a rule that cannot be applied must not let the rows through.
            let col = self.column(&r.column).map_err(|_| {
                DataError::invalid(format!(
                    "row-level rule on `{}` cannot be applied: dataset `{}` has no such column",
                    r.column,
                    self.dataset.slug()
                ))
            })?;
            let q = self.dialect.quote(&col.name);
            let cond = match r.op {
                RuleOp::In => self.one_of(&q, col.kind, &r.values),
                RuleOp::NotIn => self.none_of(&q, col.kind, &r.values),
                RuleOp::Ne => match to_param(&r.values[0], col.kind) {
                    Some(p) => {
                        let ph = self.bind(p);
                        format!("({q} IS NOT NULL AND {q} <> {ph})")
                    }
                    None => "1 = 0".to_string(),
                },
                RuleOp::Between => {
                    let ends = (
                        to_param(&r.values[0], col.kind),
                        to_param(&r.values[1], col.kind),
                    );
                    let (Some(low), Some(high)) = ends else {
                        conds.push("1 = 0".to_string());
                        continue;
                    };
                    let low = self.bind_bound(&q, ">=", low, col.kind)?;
                    let high = self.bind_bound(&q, "<=", high, col.kind)?;
                    format!("({low} AND {high})")
                }
                op @ (RuleOp::Eq | RuleOp::Lt | RuleOp::Lte | RuleOp::Gt | RuleOp::Gte) => {
                    let sym = match op {
                        RuleOp::Eq => "=",
                        RuleOp::Lt => "<",
                        RuleOp::Lte => "<=",
                        RuleOp::Gt => ">",
                        _ => ">=",
                    };
                    match to_param(&r.values[0], col.kind) {
                        Some(p) if op == RuleOp::Eq => {
                            let ph = self.bind(p);
                            format!("{q} = {ph}")
                        }
                        Some(p) => self.bind_bound(&q, sym, p, col.kind)?,
                        None => "1 = 0".to_string(),
                    }
                }
            };
            conds.push(cond);
        }
        Ok(())
    }

    /// `q op ?` for an ordering comparison; a date bound on a temporal column is taken as a
    /// whole day (`<= d` → `< d + 1`, `> d` → `>= d + 1`).
    fn bind_bound(
        &mut self,
        q: &str,
        op: &str,
        p: Param,
        kind: ColumnType,
    ) -> Result<String, DataError> {
        let (op, p) = match (op, p) {
            ("<=", Param::Date(d)) if kind.is_temporal() => ("<", Param::Date(next_day(d)?)),
            (">", Param::Date(d)) if kind.is_temporal() => (">=", Param::Date(next_day(d)?)),
            (op, p) => (op, p),
        };
        let ph = self.bind(p);
        Ok(format!("{q} {op} {ph}"))
    }

    /// `q IS NOT NULL AND q NOT IN (…)`; `1 = 0` when a value cannot be of the column's type.
    fn none_of(&mut self, q: &str, kind: ColumnType, values: &[Scalar]) -> String {
        let params: Option<Vec<Param>> = values.iter().map(|v| to_param(v, kind)).collect();
        match params {
            Some(params) if !params.is_empty() => {
                let phs: Vec<String> = params.into_iter().map(|p| self.bind(p)).collect();
                format!("({q} IS NOT NULL AND {q} NOT IN ({}))", phs.join(", "))
            }
            _ => "1 = 0".to_string(),
        }
    }

    fn compare(&mut self, q: &str, kind: ColumnType, op: &str, value: &Scalar) -> String {
        match to_param(value, kind) {
            Some(p) => {
                let ph = self.bind(p);
                format!("{q} {op} {ph}")
            }
            None => "1 = 0".to_string(),
        }
    }

    fn one_of(&mut self, q: &str, kind: ColumnType, values: &[Scalar]) -> String {
        let params: Vec<Param> = values.iter().filter_map(|v| to_param(v, kind)).collect();
        if params.is_empty() {
            return "1 = 0".to_string();
        }
        let phs: Vec<String> = params.into_iter().map(|p| self.bind(p)).collect();
        format!("{q} IN ({})", phs.join(", "))
    }

    /// `q >= from AND q < to + 1 day`. Both ends must be accepted dates
    /// ([`vitrine_core::dashboard::MIN_DATE`]..=[`vitrine_core::dashboard::MAX_DATE`]): a
    /// viewer can type any date into a URL, and the compiler never does arithmetic on one it
    /// has not checked (`Date + 1 day` panics at the end of time).
    fn date_range(
        &mut self,
        filter: &str,
        q: &str,
        range: &ResolvedDateRange,
        conds: &mut Vec<String>,
    ) -> Result<(), DataError> {
        range.validate().map_err(|_| {
            DataError::invalid_input(
                DATE_RANGE_MESSAGE,
                format!(
                    "filter `{filter}`: date range {:?}..{:?} is outside the accepted dates",
                    range.from, range.to
                ),
            )
        })?;
        if let Some(from) = range.from {
            let ph = self.bind(Param::Date(from));
            conds.push(format!("{q} >= {ph}"));
        }
        if let Some(to) = range.to {
            // Inclusive last day: before the next day's midnight, so timestamps on it count.
            let ph = self.bind(Param::Date(next_day(to)?));
            conds.push(format!("{q} < {ph}"));
        }
        Ok(())
    }
}

/// The day after `d`, or an invalid-input error for the last day `time` can represent
/// (never a panic).
fn next_day(d: Date) -> Result<Date, DataError> {
    d.next_day()
        .ok_or_else(|| DataError::invalid_input(DATE_RANGE_MESSAGE, format!("no day follows {d}")))
}

fn number_param(v: f64, kind: ColumnType) -> Param {
    if kind == ColumnType::Integer && v.fract() == 0.0 && v.abs() < 9.0e15 {
        Param::Int(v as i64)
    } else {
        Param::Float(v)
    }
}

/// Converts a filter or rule value to the column's type; `None` when it cannot be one.
pub fn to_param(value: &Scalar, kind: ColumnType) -> Option<Param> {
    match kind {
        ColumnType::Integer => match value {
            Scalar::Int(i) => Some(Param::Int(*i)),
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(Param::Int(*f as i64)),
            Scalar::Text(s) => s.trim().parse().ok().map(Param::Int),
            _ => None,
        },
        ColumnType::Number => match value {
            Scalar::Int(i) => Some(Param::Float(*i as f64)),
            Scalar::Float(f) if f.is_finite() => Some(Param::Float(*f)),
            Scalar::Text(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Param::Float),
            _ => None,
        },
        ColumnType::Text => Some(Param::Text(value.to_string())),
        ColumnType::Boolean => match value {
            Scalar::Bool(b) => Some(Param::Bool(*b)),
            Scalar::Int(0) => Some(Param::Bool(false)),
            Scalar::Int(1) => Some(Param::Bool(true)),
            Scalar::Text(s) if s == "true" => Some(Param::Bool(true)),
            Scalar::Text(s) if s == "false" => Some(Param::Bool(false)),
            _ => None,
        },
        // A date outside the accepted range is "not a date" here: no database agrees on
        // what it would mean, and arithmetic on it could leave the calendar.
        ColumnType::Date | ColumnType::Timestamp => match value {
            Scalar::Text(s) => Date::parse(s.trim(), format_description!("[year]-[month]-[day]"))
                .ok()
                .filter(|d| check_date(*d).is_ok())
                .map(Param::Date),
            _ => None,
        },
    }
}

mod iso_date {
    use serde::Serializer;
    use time::Date;
    use time::macros::format_description;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        let text = d
            .format(format_description!("[year]-[month]-[day]"))
            .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}
