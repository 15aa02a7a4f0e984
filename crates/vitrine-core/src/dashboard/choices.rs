//! What the visual builder may offer for one dataset, derived from [`validate`] itself.
//!
//! The builder must never offer a choice the YAML path would refuse (`sum` over text, a time
//! bucket on a text column), nor hide one it would accept. Rather than restating the rules,
//! [`builder_choices`] *asks* [`validate`]: for every column it builds the smallest document
//! that uses the column in one role (a measure with each aggregate, a dimension with each
//! bucket, the series, each kind of filter) and keeps the roles that validate; for every
//! widget kind it tries every shape (0–3 dimensions, 0–3 measures, with or without a series,
//! bucketed or not) and every option. A change to the rules changes the choices with it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::validate::{DatasetColumns, validate};
use super::widget::{
    Aggregate, BarOrientation, BarStacking, Dimension, GridRect, Measure, TimeBucket, Widget,
    WidgetKind, WidgetOptions, WidgetQuery,
};
use super::{
    DEFAULT_REFRESH_SECONDS, Dashboard, DashboardStatus, Filter, FilterKind, MAX_LIMIT,
    MAX_PAGE_SIZE, RelativeDate, SCHEMA_VERSION, Slug,
};
use crate::result::{Column, ColumnType, KNOWN_CURRENCIES};

/// Every widget kind, in the order the builder lists them.
pub const ALL_KINDS: [WidgetKind; 7] = [
    WidgetKind::Kpi,
    WidgetKind::Line,
    WidgetKind::Area,
    WidgetKind::Bar,
    WidgetKind::Pie,
    WidgetKind::Table,
    WidgetKind::Text,
];
/// Every aggregate.
pub const ALL_AGGREGATES: [Aggregate; 6] = [
    Aggregate::Count,
    Aggregate::CountDistinct,
    Aggregate::Sum,
    Aggregate::Avg,
    Aggregate::Min,
    Aggregate::Max,
];
/// Every time bucket.
pub const ALL_BUCKETS: [TimeBucket; 5] = [
    TimeBucket::Day,
    TimeBucket::Week,
    TimeBucket::Month,
    TimeBucket::Quarter,
    TimeBucket::Year,
];
/// Every filter kind.
pub const ALL_FILTER_KINDS: [FilterKind; 4] = [
    FilterKind::SingleSelect,
    FilterKind::MultiSelect,
    FilterKind::DateRange,
    FilterKind::NumberRange,
];
/// The display options the builder knows, by their document key.
pub const ALL_OPTIONS: [&str; 4] = ["orientation", "stacking", "page_size", "markdown"];

/// How many dimensions / measures the probe tries; a kind that accepts the most is unbounded.
const PROBE_MAX: usize = 3;

/// What one column may be used for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnChoices {
    /// The column's name.
    pub name: String,
    /// Its type.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: ColumnType,
    /// May group (a dimension without a bucket).
    pub dimension: bool,
    /// The time buckets it may be grouped by (empty: not a date column).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub buckets: Vec<TimeBucket>,
    /// The aggregates that accept it.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub aggregates: Vec<Aggregate>,
    /// May split a chart into series.
    pub series: bool,
    /// The filter kinds that may restrict it.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub filter_kinds: Vec<FilterKind>,
}

/// What one widget kind needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindChoices {
    /// The kind.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: WidgetKind,
    /// It runs a query (all but `text`).
    pub query: bool,
    /// The fewest dimensions it accepts.
    pub min_dimensions: usize,
    /// The most dimensions it accepts; `null`: any number.
    pub max_dimensions: Option<usize>,
    /// The fewest measures.
    pub min_measures: usize,
    /// The most measures; `null`: any number.
    pub max_measures: Option<usize>,
    /// A series column is possible.
    pub series: bool,
    /// A series excludes a second measure.
    pub series_excludes_measures: bool,
    /// Its dimensions must be time-bucketed (a KPI's sparkline).
    pub bucket_required: bool,
    /// The display options it takes (`orientation`, `stacking`, `page_size`, `markdown`).
    pub options: Vec<&'static str>,
    /// Every accepted shape, `[dimensions, measures, series (0/1)]`, for exact checks.
    pub shapes: Vec<[usize; 3]>,
}

/// An inclusive range of whole numbers validation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bounds {
    /// The smallest.
    pub min: u32,
    /// The largest.
    pub max: u32,
}

/// Everything the builder may offer over one dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuilderChoices {
    /// The dataset's slug.
    pub dataset: String,
    /// Per widget kind.
    pub kinds: Vec<KindChoices>,
    /// Per column, in the dataset's order.
    pub columns: Vec<ColumnChoices>,
    /// The aggregates that need no column (`count`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub aggregates_without_column: Vec<Aggregate>,
    /// Bar orientations.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub orientations: Vec<BarOrientation>,
    /// Bar / area stackings.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub stackings: Vec<BarStacking>,
    /// Number format styles (`number`, `currency`, `percent`, `duration`).
    pub number_formats: Vec<&'static str>,
    /// Currency codes shown with their own symbol (any ISO-4217 code is accepted; others
    /// show as the code).
    pub currencies: Vec<&'static str>,
    /// The relative date ranges a date-range filter may default to.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub date_presets: Vec<RelativeDate>,
    /// A query's `limit`.
    pub limit: Bounds,
    /// A table's `page_size`.
    pub page_size: Bounds,
}

/// The choices for dataset `dataset` with `columns`, each one checked by [`validate`].
pub fn builder_choices(dataset: &str, columns: &[Column]) -> BuilderChoices {
    let Ok(slug) = Slug::parse(dataset) else {
        return BuilderChoices {
            dataset: dataset.to_owned(),
            kinds: Vec::new(),
            columns: Vec::new(),
            aggregates_without_column: Vec::new(),
            orientations: Vec::new(),
            stackings: Vec::new(),
            number_formats: Vec::new(),
            currencies: Vec::new(),
            date_presets: Vec::new(),
            limit: LIMIT,
            page_size: PAGE_SIZE,
        };
    };
    let known: DatasetColumns = BTreeMap::from([(dataset.to_owned(), columns.to_vec())]);
    let ok =
        |w: Widget, filters: Vec<Filter>| validate(&probe_doc(vec![w], filters), &known).is_ok();
    let table = |q: WidgetQuery| probe_widget(WidgetKind::Table, Some(q), WidgetOptions::default());
    let query =
        |dimensions: Vec<Dimension>, measures: Vec<Measure>, series: Option<String>| WidgetQuery {
            dataset: slug.clone(),
            dimensions,
            measures,
            series,
            sort: Vec::new(),
            limit: None,
        };
    let count = || Measure {
        agg: Aggregate::Count,
        column: None,
        name: Some("probe_count".into()),
    };
    let column_choices = columns
        .iter()
        .map(|c| {
            let dim = |bucket| Dimension {
                column: c.name.clone(),
                bucket,
            };
            ColumnChoices {
                name: c.name.clone(),
                kind: c.kind,
                dimension: ok(table(query(vec![dim(None)], vec![], None)), vec![]),
                buckets: ALL_BUCKETS
                    .into_iter()
                    .filter(|b| ok(table(query(vec![dim(Some(*b))], vec![], None)), vec![]))
                    .collect(),
                aggregates: ALL_AGGREGATES
                    .into_iter()
                    .filter(|a| {
                        let m = Measure {
                            agg: *a,
                            column: Some(c.name.clone()),
                            name: Some("probe_measure".into()),
                        };
                        ok(table(query(vec![], vec![m], None)), vec![])
                    })
                    .collect(),
                series: ok(
                    table(query(vec![], vec![count()], Some(c.name.clone()))),
                    vec![],
                ),
                filter_kinds: ALL_FILTER_KINDS
                    .into_iter()
                    .filter(|k| {
                        let filter = Filter {
                            id: probe_slug(),
                            label: "Probe".into(),
                            kind: *k,
                            columns: BTreeMap::from([(slug.clone(), c.name.clone())]),
                            default: None,
                        };
                        ok(table(query(vec![], vec![count()], None)), vec![filter])
                    })
                    .collect(),
            }
        })
        .collect();
    let aggregates_without_column = ALL_AGGREGATES
        .into_iter()
        .filter(|a| {
            let m = Measure {
                agg: *a,
                column: None,
                name: Some("probe_measure".into()),
            };
            ok(table(query(vec![], vec![m], None)), vec![])
        })
        .collect();
    BuilderChoices {
        dataset: dataset.to_owned(),
        kinds: all_kind_choices().to_vec(),
        columns: column_choices,
        aggregates_without_column,
        orientations: vec![BarOrientation::Vertical, BarOrientation::Horizontal],
        stackings: vec![BarStacking::Grouped, BarStacking::Stacked],
        number_formats: vec!["number", "currency", "percent", "duration"],
        currencies: KNOWN_CURRENCIES.iter().map(|(code, _, _)| *code).collect(),
        date_presets: RelativeDate::ALL.to_vec(),
        limit: LIMIT,
        page_size: PAGE_SIZE,
    }
}

/// The bounds validation puts on a query's `limit` and a table's `page_size`.
const LIMIT: Bounds = Bounds {
    min: 1,
    max: MAX_LIMIT,
};
const PAGE_SIZE: Bounds = Bounds {
    min: 1,
    max: MAX_PAGE_SIZE,
};

/// [`kind_choices`] of every kind, probed once per process (they depend on the rules only).
fn all_kind_choices() -> &'static [KindChoices] {
    static KINDS: std::sync::OnceLock<Vec<KindChoices>> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| ALL_KINDS.into_iter().map(kind_choices).collect())
}

/// The shapes and options of `kind`, probed structurally over a synthetic dataset (a kind's
/// rules do not depend on the dataset's columns, only on how many of each role it has).
pub fn kind_choices(kind: WidgetKind) -> KindChoices {
    let slug = probe_slug();
    let mut cols = vec![Column {
        name: "s".into(),
        kind: ColumnType::Text,
    }];
    for i in 0..PROBE_MAX {
        cols.push(Column {
            name: format!("d{i}"),
            kind: ColumnType::Date,
        });
        cols.push(Column {
            name: format!("m{i}"),
            kind: ColumnType::Integer,
        });
    }
    let known: DatasetColumns = BTreeMap::from([("probe".to_owned(), cols)]);
    let shape_query = |dims: usize, measures: usize, series: bool, bucketed: bool| WidgetQuery {
        dataset: slug.clone(),
        dimensions: (0..dims)
            .map(|i| Dimension {
                column: format!("d{i}"),
                bucket: bucketed.then_some(TimeBucket::Month),
            })
            .collect(),
        measures: (0..measures)
            .map(|i| Measure {
                agg: Aggregate::Sum,
                column: Some(format!("m{i}")),
                name: None,
            })
            .collect(),
        series: series.then(|| "s".to_owned()),
        sort: Vec::new(),
        limit: None,
    };
    let base_options = || WidgetOptions {
        markdown: (kind == WidgetKind::Text).then(|| "Probe".to_owned()),
        ..WidgetOptions::default()
    };
    let ok = |w: Widget| validate(&probe_doc(vec![w], vec![]), &known).is_ok();
    let mut shapes = Vec::new();
    let mut unbucketed_ok = false;
    let mut bucketed_dims_ok = false;
    for dims in 0..=PROBE_MAX {
        if !kind.has_query() {
            break;
        }
        for measures in 0..=PROBE_MAX {
            for series in [false, true] {
                let plain = ok(probe_widget(
                    kind,
                    Some(shape_query(dims, measures, series, false)),
                    base_options(),
                ));
                let bucketed = dims > 0
                    && ok(probe_widget(
                        kind,
                        Some(shape_query(dims, measures, series, true)),
                        base_options(),
                    ));
                if plain || bucketed {
                    shapes.push([dims, measures, usize::from(series)]);
                }
                if dims > 0 {
                    unbucketed_ok |= plain;
                    bucketed_dims_ok |= bucketed;
                }
            }
        }
    }
    let query = kind.has_query();
    // The smallest accepted shape carries the options probe.
    let base_query = shapes
        .first()
        .map(|s| shape_query(s[0], s[1], s[2] == 1, !unbucketed_ok && s[0] > 0));
    let options = ALL_OPTIONS
        .into_iter()
        .filter(|name| {
            let mut o = base_options();
            match *name {
                "orientation" => o.orientation = Some(BarOrientation::Horizontal),
                "stacking" => o.stacking = Some(BarStacking::Stacked),
                "page_size" => o.page_size = Some(25),
                _ => o.markdown = Some("Probe".into()),
            }
            ok(probe_widget(kind, base_query.clone(), o))
        })
        .collect();
    let bound = |f: fn(&[usize; 3]) -> usize| {
        let min = shapes.iter().map(f).min().unwrap_or(0);
        let max = shapes.iter().map(f).max().unwrap_or(0);
        (min, (max < PROBE_MAX).then_some(max))
    };
    let (min_dimensions, max_dimensions) = bound(|s| s[0]);
    let (min_measures, max_measures) = bound(|s| s[1]);
    let series = shapes.iter().any(|s| s[2] == 1);
    let series_excludes_measures =
        series && !shapes.iter().any(|s| s[2] == 1 && s[1] > 1) && shapes.iter().any(|s| s[1] > 1);
    KindChoices {
        kind,
        query,
        min_dimensions,
        max_dimensions,
        min_measures,
        max_measures,
        series,
        series_excludes_measures,
        bucket_required: bucketed_dims_ok && !unbucketed_ok,
        options,
        shapes,
    }
}

/// The probe's own ids (valid slugs, built directly).
fn probe_slug() -> Slug {
    Slug("probe".to_owned())
}

fn probe_widget(kind: WidgetKind, query: Option<WidgetQuery>, options: WidgetOptions) -> Widget {
    Widget {
        id: probe_slug(),
        title: String::new(),
        kind,
        layout: GridRect {
            x: 0,
            y: 0,
            w: 6,
            h: 4,
        },
        query: if kind.has_query() { query } else { None },
        options,
        same_for_every_audience: false,
    }
}

fn probe_doc(widgets: Vec<Widget>, filters: Vec<Filter>) -> Dashboard {
    Dashboard {
        version: SCHEMA_VERSION,
        title: "Probe".into(),
        description: String::new(),
        refresh_seconds: DEFAULT_REFRESH_SECONDS,
        status: DashboardStatus::Draft,
        filters,
        widgets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: ColumnType) -> Column {
        Column {
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn sum_is_offered_over_numbers_and_never_over_text() {
        let c = builder_choices(
            "sales",
            &[
                col("amount", ColumnType::Number),
                col("plan", ColumnType::Text),
            ],
        );
        assert!(c.columns[0].aggregates.contains(&Aggregate::Sum));
        assert!(!c.columns[1].aggregates.contains(&Aggregate::Sum));
        assert!(c.columns[1].aggregates.contains(&Aggregate::CountDistinct));
        assert_eq!(c.aggregates_without_column, vec![Aggregate::Count]);
    }

    #[test]
    fn only_date_columns_offer_a_time_bucket() {
        let c = builder_choices(
            "sales",
            &[col("day", ColumnType::Date), col("plan", ColumnType::Text)],
        );
        assert_eq!(c.columns[0].buckets, ALL_BUCKETS.to_vec());
        assert!(c.columns[1].buckets.is_empty());
        assert!(c.columns[0].filter_kinds.contains(&FilterKind::DateRange));
        assert!(!c.columns[1].filter_kinds.contains(&FilterKind::DateRange));
    }

    #[test]
    fn kinds_say_what_shape_they_need() {
        let kpi = kind_choices(WidgetKind::Kpi);
        assert_eq!((kpi.min_measures, kpi.max_measures), (1, Some(1)));
        assert_eq!(kpi.max_dimensions, Some(1));
        assert!(kpi.bucket_required && !kpi.series);
        let bar = kind_choices(WidgetKind::Bar);
        assert_eq!((bar.min_dimensions, bar.max_dimensions), (1, Some(1)));
        assert_eq!(bar.max_measures, None);
        assert!(bar.series && bar.series_excludes_measures);
        assert_eq!(bar.options, vec!["orientation", "stacking"]);
        let table = kind_choices(WidgetKind::Table);
        assert_eq!(table.options, vec!["page_size"]);
        assert_eq!(table.max_dimensions, None);
        let text = kind_choices(WidgetKind::Text);
        assert!(!text.query);
        assert_eq!(text.options, vec!["markdown"]);
    }
}
