//! From a result table to categories × series, as the spec names them.

use crate::format::format_value;
use crate::spec::ChartSpec;
use crate::theme::MAX_SERIES;
use crate::time::{TimeLabels, infer_grain, parse_iso};
use std::borrow::Cow;
use std::collections::HashMap;
use vitrine_core::result::{ColumnType, NumberFormat, ResultTable, Value};

/// The label of a category or series whose value is NULL.
pub(crate) const NULL_LABEL: &str = "(empty)";

/// The numeric value of a cell: numbers, and text that parses as a finite
/// number (some drivers return decimals as text). Everything else, NaN and
/// infinities included, is a gap.
pub(crate) fn num(v: &Value) -> Option<f64> {
    let f = match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Text(t) => t.trim().parse::<f64>().ok()?,
        Value::Null | Value::Bool(_) => return None,
    };
    f.is_finite().then_some(f)
}

/// The text of a cell used as a label.
pub(crate) fn label(v: &Value) -> String {
    match v {
        Value::Null => NULL_LABEL.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => format_value(*i as f64, &NumberFormat::Number),
        Value::Float(f) => format_value(*f, &NumberFormat::Number),
        Value::Text(t) => t.clone(),
    }
}

/// The grouping key of a cell: its label, borrowed when it is text.
fn key(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Text(t) => Cow::Borrowed(t),
        v => Cow::Owned(label(v)),
    }
}

/// One position on the category / x axis.
#[derive(Debug, Clone)]
pub(crate) struct Category {
    /// The label as shown.
    pub label: String,
    /// Seconds since the epoch on a time axis.
    pub time: Option<i64>,
}

/// One series: a name and one value (or gap) per category.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
    pub format: NumberFormat,
    /// The "Other" bucket that merges the smallest series.
    pub other: bool,
}

/// Categories × series.
#[derive(Debug, Clone)]
pub(crate) struct Dataset {
    pub categories: Vec<Category>,
    /// Set when the dimension is a time axis.
    pub time: Option<TimeLabels>,
    pub series: Vec<Series>,
    /// The format of the value axis (the first measure's).
    pub format: NumberFormat,
    /// Marks get `<title>` tooltips.
    pub tooltips: bool,
}

impl Dataset {
    /// True when at least one value can be drawn.
    pub fn has_values(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.values.iter().any(Option::is_some))
    }

    /// Builds the dataset; the spec must have been validated against `table`.
    pub fn build(spec: &ChartSpec, table: &ResultTable) -> Dataset {
        let col = |name: &Option<String>| name.as_deref().and_then(|n| table.column_index(n));
        let dim = col(&spec.dimension);
        let ser = col(&spec.series);
        let measures: Vec<usize> = spec
            .measures
            .iter()
            .filter_map(|m| table.column_index(&m.column))
            .collect();
        let format = spec
            .measures
            .first()
            .map(|m| m.format.clone())
            .unwrap_or_default();

        // Categories, in order of first appearance.
        let mut cat_index: HashMap<Cow<'_, str>, usize> = HashMap::new();
        let mut cat_values: Vec<&Value> = Vec::new();
        let mut row_cat: Vec<usize> = Vec::with_capacity(table.rows.len());
        for row in &table.rows {
            let key = match dim.and_then(|d| row.get(d)) {
                Some(v) => key(v),
                None => Cow::Borrowed(""),
            };
            let next = cat_values.len();
            let idx = *cat_index.entry(key).or_insert(next);
            if idx == next {
                cat_values.push(dim.and_then(|d| row.get(d)).unwrap_or(&Value::Null));
            }
            row_cat.push(idx);
        }

        // A time axis when the column is temporal or every value is ISO-8601 text.
        let dim_kind = dim.map(|d| table.columns[d].kind);
        let times: Option<Vec<i64>> = if dim.is_some() && !cat_values.is_empty() {
            let looks_temporal =
                dim_kind.is_some_and(ColumnType::is_temporal) || dim_kind == Some(ColumnType::Text);
            if looks_temporal {
                cat_values
                    .iter()
                    .map(|v| match v {
                        Value::Text(t) => parse_iso(t),
                        _ => None,
                    })
                    .collect()
            } else {
                None
            }
        } else {
            None
        };

        // Sort a time axis chronologically (stable), remapping rows.
        let mut order: Vec<usize> = (0..cat_values.len()).collect();
        if let Some(t) = &times {
            order.sort_by_key(|&i| t[i]);
        }
        let mut rank = vec![0usize; order.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old] = new;
        }
        let time_labels = times.as_ref().map(|t| {
            let mut sorted = t.clone();
            sorted.sort_unstable();
            let grain = spec
                .options
                .time_grain
                .unwrap_or_else(|| infer_grain(&sorted));
            TimeLabels::new(grain, &sorted)
        });
        let categories: Vec<Category> = order
            .iter()
            .map(|&i| match (&times, &time_labels) {
                (Some(t), Some(tl)) => Category {
                    label: tl.format(t[i]),
                    time: Some(t[i]),
                },
                _ => Category {
                    label: if dim.is_some() {
                        label(cat_values[i])
                    } else {
                        String::new()
                    },
                    time: None,
                },
            })
            .collect();
        let n = categories.len();

        let add = |slot: &mut Option<f64>, v: Option<f64>| {
            if let Some(v) = v {
                *slot = Some(slot.unwrap_or(0.0) + v);
            }
        };

        let mut series: Vec<Series> = Vec::new();
        match (ser, measures.first()) {
            (Some(s), Some(&m)) => {
                let mut ser_index: HashMap<Cow<'_, str>, usize> = HashMap::new();
                for (r, row) in table.rows.iter().enumerate() {
                    let name = row.get(s).map_or(Cow::Borrowed(""), key);
                    let next = series.len();
                    let idx = *ser_index.entry(name).or_insert(next);
                    if idx == next {
                        series.push(Series {
                            name: row.get(s).map_or_else(String::new, label),
                            values: vec![None; n],
                            format: format.clone(),
                            other: false,
                        });
                    }
                    let v = row.get(m).and_then(num);
                    add(&mut series[idx].values[rank[row_cat[r]]], v);
                }
            }
            _ => {
                for (mi, &m) in measures.iter().enumerate() {
                    let mut values = vec![None; n];
                    for (r, row) in table.rows.iter().enumerate() {
                        add(&mut values[rank[row_cat[r]]], row.get(m).and_then(num));
                    }
                    series.push(Series {
                        name: spec.measures[mi].name().to_string(),
                        values,
                        format: spec.measures[mi].format.clone(),
                        other: false,
                    });
                }
            }
        }

        Dataset {
            categories,
            time: time_labels,
            series: merge_small_series(series, n),
            format,
            tooltips: spec.options.tooltips,
        }
    }
}

/// Keeps the largest `MAX_SERIES - 1` series (by absolute total) in their
/// original order and merges the rest into "Other" when there are more than
/// `MAX_SERIES`.
fn merge_small_series(series: Vec<Series>, n: usize) -> Vec<Series> {
    if series.len() <= MAX_SERIES {
        return series;
    }
    let total = |s: &Series| s.values.iter().flatten().map(|v| v.abs()).sum::<f64>();
    let mut by_size: Vec<usize> = (0..series.len()).collect();
    by_size.sort_by(|&a, &b| {
        total(&series[b])
            .total_cmp(&total(&series[a]))
            .then(a.cmp(&b))
    });
    let mut keep = vec![false; series.len()];
    for &i in &by_size[..MAX_SERIES - 1] {
        keep[i] = true;
    }
    let format = series[0].format.clone();
    let mut other = Series {
        name: "Other".to_string(),
        values: vec![None; n],
        format,
        other: true,
    };
    let mut out = Vec::with_capacity(MAX_SERIES);
    for (i, s) in series.into_iter().enumerate() {
        if keep[i] {
            out.push(s);
        } else {
            for (slot, v) in other.values.iter_mut().zip(&s.values) {
                if let Some(v) = v {
                    *slot = Some(slot.unwrap_or(0.0) + v);
                }
            }
        }
    }
    out.push(other);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ChartKind, Measure};
    use vitrine_core::result::Column;

    fn table(rows: Vec<Vec<Value>>) -> ResultTable {
        ResultTable {
            columns: vec![
                Column {
                    name: "d".into(),
                    kind: ColumnType::Date,
                },
                Column {
                    name: "s".into(),
                    kind: ColumnType::Text,
                },
                Column {
                    name: "v".into(),
                    kind: ColumnType::Integer,
                },
            ],
            rows,
            truncated: false,
        }
    }

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn a_time_axis_is_sorted_and_duplicates_are_summed() {
        let tb = table(vec![
            vec![t("2026-03-01"), t("b"), Value::Int(1)],
            vec![t("2026-01-01"), t("a"), Value::Int(2)],
            vec![t("2026-01-01"), t("a"), Value::Int(3)],
            vec![t("2026-02-01"), t("b"), Value::Text("4.5".into())],
        ]);
        let spec = ChartSpec::new(ChartKind::Line, "")
            .dimension("d")
            .series("s")
            .measure(Measure::new("v"));
        let ds = Dataset::build(&spec, &tb);
        let labels: Vec<&str> = ds.categories.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["Jan 2026", "Feb 2026", "Mar 2026"]);
        assert_eq!(ds.series[0].name, "b", "series keep first-appearance order");
        assert_eq!(ds.series[0].values, vec![None, Some(4.5), Some(1.0)]);
        assert_eq!(ds.series[1].values, vec![Some(5.0), None, None]);
    }

    #[test]
    fn text_that_is_not_a_date_stays_categorical() {
        let tb = table(vec![
            vec![t("Zeta"), t("x"), Value::Int(1)],
            vec![t("Alpha"), t("x"), Value::Int(2)],
        ]);
        let mut spec = ChartSpec::new(ChartKind::Bar, "")
            .dimension("d")
            .measure(Measure::new("v"));
        spec.series = None;
        let ds = Dataset::build(&spec, &tb);
        assert!(ds.time.is_none());
        assert_eq!(ds.categories[0].label, "Zeta");
    }
}
