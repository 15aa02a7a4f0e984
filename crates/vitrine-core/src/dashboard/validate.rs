//! Structural checks and checks against the datasets' columns.

use std::collections::{BTreeMap, HashSet};

use super::filter::kind_name;
use super::widget::{Aggregate, WidgetKind, WidgetQuery};
use super::{
    Dashboard, DashboardError, FilterKind, FilterValueError, GRID_COLUMNS, Issue, MAX_LIMIT,
    MAX_PAGE_SIZE, MAX_REFRESH_SECONDS, MIN_REFRESH_SECONDS, SCHEMA_VERSION,
};
use crate::result::{Column, ColumnType};

/// The columns of each dataset a dashboard may use, by dataset slug (as discovered from the
/// database when the dataset was saved).
pub type DatasetColumns = BTreeMap<String, Vec<Column>>;

/// Checks a dashboard against its datasets: everything [`Dashboard::check`] checks, plus that
/// every dataset exists and every column named anywhere exists in its dataset with a fitting
/// type (`sum` / `avg` need a number, a time bucket or a date-range filter needs a date, a
/// number-range filter needs a number). Run it when a dashboard is saved.
pub fn validate(dashboard: &Dashboard, datasets: &DatasetColumns) -> Result<(), DashboardError> {
    let mut issues = Vec::new();
    check_structure(dashboard, &mut issues);
    for (wi, widget) in dashboard.widgets.iter().enumerate() {
        if let Some(q) = &widget.query {
            check_query_columns(q, &format!("widgets[{wi}].query"), datasets, &mut issues);
        }
    }
    for (fi, filter) in dashboard.filters.iter().enumerate() {
        for (dataset, column) in &filter.columns {
            let path = format!("filters[{fi}].columns.{dataset}");
            let Some(cols) = datasets.get(dataset.as_str()) else {
                issues.push(Issue::new(path, format!("unknown dataset `{dataset}`")));
                continue;
            };
            let Some(col) = cols.iter().find(|c| c.name == *column) else {
                issues.push(Issue::new(path, unknown_column(column, dataset.as_str())));
                continue;
            };
            let fits = match filter.kind {
                FilterKind::DateRange => col.kind.is_temporal(),
                FilterKind::NumberRange => col.kind.is_numeric(),
                FilterKind::SingleSelect | FilterKind::MultiSelect => true,
            };
            if !fits {
                issues.push(Issue::new(
                    path,
                    format!(
                        "a {} filter needs a {} column; `{column}` is {}",
                        kind_name(filter.kind),
                        if filter.kind == FilterKind::DateRange {
                            "date"
                        } else {
                            "numeric"
                        },
                        type_name(col.kind)
                    ),
                ));
            }
        }
    }
    DashboardError::from_issues(issues)
}

fn check_query_columns(
    q: &WidgetQuery,
    base: &str,
    datasets: &DatasetColumns,
    issues: &mut Vec<Issue>,
) {
    let Some(cols) = datasets.get(q.dataset.as_str()) else {
        issues.push(Issue::new(
            format!("{base}.dataset"),
            format!("unknown dataset `{}`", q.dataset),
        ));
        return;
    };
    let find = |name: &str| cols.iter().find(|c| c.name == name);
    for (rel, name) in q.named_columns() {
        if find(name).is_none() {
            issues.push(Issue::new(
                format!("{base}.{rel}"),
                unknown_column(name, q.dataset.as_str()),
            ));
        }
    }
    for (i, d) in q.dimensions.iter().enumerate() {
        if let (Some(_), Some(col)) = (d.bucket, find(&d.column))
            && !col.kind.is_temporal()
        {
            issues.push(Issue::new(
                format!("{base}.dimensions[{i}].bucket"),
                format!(
                    "a time bucket needs a date or timestamp column; `{}` is {}",
                    d.column,
                    type_name(col.kind)
                ),
            ));
        }
    }
    for (i, m) in q.measures.iter().enumerate() {
        if let (Aggregate::Sum | Aggregate::Avg, Some(col)) =
            (m.agg, m.column.as_deref().and_then(find))
            && !col.kind.is_numeric()
        {
            issues.push(Issue::new(
                format!("{base}.measures[{i}].column"),
                format!(
                    "`{}` needs a numeric column; `{}` is {}",
                    m.agg.as_str(),
                    col.name,
                    type_name(col.kind)
                ),
            ));
        }
    }
}

fn unknown_column(name: &str, dataset: &str) -> String {
    format!("unknown column `{name}` in dataset `{dataset}`")
}

fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "an integer",
        ColumnType::Number => "a number",
        ColumnType::Text => "text",
        ColumnType::Boolean => "a boolean",
        ColumnType::Date => "a date",
        ColumnType::Timestamp => "a timestamp",
    }
}

fn kind_str(kind: WidgetKind) -> &'static str {
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

fn bad_name(name: &str) -> bool {
    name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control)
}

pub(crate) fn check_structure(d: &Dashboard, issues: &mut Vec<Issue>) {
    if d.version != SCHEMA_VERSION {
        issues.push(Issue::new(
            "version",
            format!(
                "unsupported schema version {}; this server reads version {SCHEMA_VERSION}",
                d.version
            ),
        ));
    }
    if d.title.trim().is_empty() {
        issues.push(Issue::new("title", "a dashboard needs a title"));
    } else if d.title.chars().count() > 200 {
        issues.push(Issue::new(
            "title",
            "the title is longer than 200 characters",
        ));
    }
    if !(MIN_REFRESH_SECONDS..=MAX_REFRESH_SECONDS).contains(&d.refresh_seconds) {
        issues.push(Issue::new(
            "refresh_seconds",
            format!(
                "the refresh interval must be between {MIN_REFRESH_SECONDS} and {MAX_REFRESH_SECONDS} seconds"
            ),
        ));
    }

    let mut filter_ids = HashSet::new();
    for (i, f) in d.filters.iter().enumerate() {
        let base = format!("filters[{i}]");
        if !filter_ids.insert(f.id.as_str()) {
            issues.push(Issue::new(
                format!("{base}.id"),
                format!("another filter already has the id `{}`", f.id),
            ));
        }
        if f.label.trim().is_empty() {
            issues.push(Issue::new(
                format!("{base}.label"),
                "a filter needs a label",
            ));
        }
        if f.columns.is_empty() {
            issues.push(Issue::new(
                format!("{base}.columns"),
                "bind the filter to a column of at least one dataset",
            ));
        }
        for (ds, col) in &f.columns {
            if col.is_empty() {
                issues.push(Issue::new(format!("{base}.columns.{ds}"), "name a column"));
            }
        }
        if let Some(v) = &f.default {
            match v.validate(f.kind) {
                Ok(()) => {}
                Err(FilterValueError::WrongKind(kind)) => issues.push(Issue::new(
                    format!("{base}.default"),
                    format!("this default does not fit a {} filter", kind_name(kind)),
                )),
                Err(e) => issues.push(Issue::new(format!("{base}.default"), e.to_string())),
            }
        }
    }

    let mut widget_ids = HashSet::new();
    for (i, w) in d.widgets.iter().enumerate() {
        let base = format!("widgets[{i}]");
        if !widget_ids.insert(w.id.as_str()) {
            issues.push(Issue::new(
                format!("{base}.id"),
                format!("another widget already has the id `{}`", w.id),
            ));
        }
        let l = w.layout;
        if l.w == 0 || l.h == 0 {
            issues.push(Issue::new(
                format!("{base}.layout"),
                "width and height must be at least 1",
            ));
        } else if l
            .x
            .checked_add(l.w)
            .is_none_or(|right| right > GRID_COLUMNS)
        {
            issues.push(Issue::new(
                format!("{base}.layout"),
                format!("the widget reaches past the grid's {GRID_COLUMNS} columns (x + w > {GRID_COLUMNS})"),
            ));
        } else if l.h > 100 || l.y > 10_000 {
            issues.push(Issue::new(
                format!("{base}.layout"),
                "the widget is too tall or too low",
            ));
        } else if let Some(j) = d.widgets[..i]
            .iter()
            .position(|o| o.layout.w > 0 && o.layout.h > 0 && o.layout.overlaps(&l))
        {
            issues.push(Issue::new(
                format!("{base}.layout"),
                format!("the widget overlaps widgets[{j}] (`{}`)", d.widgets[j].id),
            ));
        }
        check_options(w, &base, issues);
        match (&w.query, w.kind.has_query()) {
            (None, true) => issues.push(Issue::new(
                format!("{base}.query"),
                format!("a {} widget needs a query", kind_str(w.kind)),
            )),
            (Some(_), false) => issues.push(Issue::new(
                format!("{base}.query"),
                "a text widget has no query",
            )),
            (Some(q), true) => check_query(w.kind, q, &format!("{base}.query"), issues),
            (None, false) => {}
        }
    }
}

fn check_options(w: &super::Widget, base: &str, issues: &mut Vec<Issue>) {
    let o = &w.options;
    let mut only = |present: bool, field: &str, kinds: &[WidgetKind], what: &str| {
        if present && !kinds.contains(&w.kind) {
            issues.push(Issue::new(
                format!("{base}.options.{field}"),
                format!("`{field}` applies to {what} widgets only"),
            ));
        }
    };
    only(
        o.orientation.is_some(),
        "orientation",
        &[WidgetKind::Bar],
        "bar",
    );
    only(
        o.stacking.is_some(),
        "stacking",
        &[WidgetKind::Bar, WidgetKind::Area],
        "bar and area",
    );
    only(
        o.page_size.is_some(),
        "page_size",
        &[WidgetKind::Table],
        "table",
    );
    only(
        o.markdown.is_some(),
        "markdown",
        &[WidgetKind::Text],
        "text",
    );
    if let Some(p) = o.page_size
        && !(1..=MAX_PAGE_SIZE).contains(&p)
    {
        issues.push(Issue::new(
            format!("{base}.options.page_size"),
            format!("the page size must be between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    if w.kind == WidgetKind::Text && o.markdown.as_deref().is_none_or(|m| m.trim().is_empty()) {
        issues.push(Issue::new(
            format!("{base}.options.markdown"),
            "a text widget needs its Markdown",
        ));
    }
    if !o.number_formats.is_empty() {
        let names = w
            .query
            .as_ref()
            .map(WidgetQuery::output_names)
            .unwrap_or_default();
        for key in o.number_formats.keys() {
            if !names.contains(key) {
                issues.push(Issue::new(
                    format!("{base}.options.number_formats.{key}"),
                    format!("`{key}` is not an output of this widget's query"),
                ));
            }
        }
    }
}

fn check_query(kind: WidgetKind, q: &WidgetQuery, base: &str, issues: &mut Vec<Issue>) {
    let mut push = |path: &str, msg: String| {
        let full = if path.is_empty() {
            base.to_string()
        } else {
            format!("{base}.{path}")
        };
        issues.push(Issue::new(full, msg));
    };
    let (dims, measures) = (q.dimensions.len(), q.measures.len());
    let k = kind_str(kind);
    if measures == 0 && !(kind == WidgetKind::Table && dims > 0) {
        push(
            "measures",
            format!("a {k} widget needs at least one measure"),
        );
    }
    match kind {
        WidgetKind::Kpi => {
            if measures > 1 {
                push("measures", "a kpi widget shows exactly one measure".into());
            }
            if dims > 1 || q.dimensions.iter().any(|d| d.bucket.is_none()) {
                push(
                    "dimensions",
                    "a kpi widget takes at most one dimension, a time-bucketed one (its sparkline)"
                        .into(),
                );
            }
            if q.series.is_some() {
                push("series", "a kpi widget has no series".into());
            }
        }
        WidgetKind::Line | WidgetKind::Area | WidgetKind::Bar => {
            if dims != 1 {
                push(
                    "dimensions",
                    format!("a {k} widget needs exactly one dimension"),
                );
            }
        }
        WidgetKind::Pie => {
            if dims != 1 {
                push(
                    "dimensions",
                    "a pie widget needs exactly one dimension".into(),
                );
            }
            if measures > 1 {
                push("measures", "a pie widget shows exactly one measure".into());
            }
            if q.series.is_some() {
                push("series", "a pie widget has no series".into());
            }
        }
        WidgetKind::Table | WidgetKind::Text => {}
    }
    if q.series.is_some() && q.measures.len() > 1 && kind != WidgetKind::Table {
        push(
            "series",
            "split by a series or show several measures, not both".into(),
        );
    }
    for (i, d) in q.dimensions.iter().enumerate() {
        if bad_name(&d.column) {
            push(&format!("dimensions[{i}].column"), "name a column".into());
        }
    }
    if let Some(s) = &q.series
        && bad_name(s)
    {
        push("series", "name a column".into());
    }
    for (i, m) in q.measures.iter().enumerate() {
        match (&m.column, m.agg) {
            (None, Aggregate::Count) => {}
            (None, agg) => push(
                &format!("measures[{i}].column"),
                format!("`{}` needs a column", agg.as_str()),
            ),
            (Some(c), _) if bad_name(c) => {
                push(&format!("measures[{i}].column"), "name a column".into())
            }
            _ => {}
        }
        if let Some(n) = &m.name
            && bad_name(n)
        {
            push(
                &format!("measures[{i}].name"),
                "a name has 1 to 64 characters and no control characters".into(),
            );
        }
    }
    let names = q.output_names();
    let mut seen = HashSet::new();
    for n in &names {
        if !seen.insert(n.as_str()) {
            push(
                "",
                format!("two outputs are called `{n}`; give a measure a distinct `name`"),
            );
        }
    }
    for (i, s) in q.sort.iter().enumerate() {
        if !names.contains(&s.by) {
            push(
                &format!("sort[{i}].by"),
                format!(
                    "`{}` is not a dimension, series or measure of this query",
                    s.by
                ),
            );
        }
    }
    if let Some(l) = q.limit
        && !(1..=MAX_LIMIT).contains(&l)
    {
        push(
            "limit",
            format!("the limit must be between 1 and {MAX_LIMIT}"),
        );
    }
}
