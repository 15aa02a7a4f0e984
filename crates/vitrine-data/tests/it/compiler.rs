//! Compiler snapshots: the exact SQL and parameters for each dialect.

use std::collections::BTreeMap;

use serde_json::json;
use time::macros::datetime;
use vitrine_core::dashboard::{
    EffectiveFilter, FilterValue, RowLevelRule, RuleOp, Scalar, WidgetQuery, effective_filters,
};
use vitrine_core::result::{Column, ColumnType};
use vitrine_data::{
    CompiledQuery, Dataset, Dialect, compile, compile_distinct_values, compile_kpi,
};

const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

fn dataset(d: Dialect) -> Dataset {
    let col = |name: &str, kind| Column {
        name: name.into(),
        kind,
    };
    Dataset::new(
        d,
        "orders",
        "SELECT * FROM orders -- all of them\n;",
        vec![
            col("region", ColumnType::Text),
            col("plan", ColumnType::Text),
            col("amount", ColumnType::Number),
            col("ordered_at", ColumnType::Timestamp),
            col("customer_id", ColumnType::Integer),
            col("we\"ird`name", ColumnType::Text),
        ],
    )
    .unwrap()
}

fn query(v: serde_json::Value) -> WidgetQuery {
    serde_json::from_value(v).unwrap()
}

fn filters(chosen: serde_json::Value) -> Vec<EffectiveFilter> {
    let defs = serde_json::from_value::<Vec<vitrine_core::dashboard::Filter>>(json!([
        {"id": "region", "label": "Region", "kind": "multi_select", "columns": {"orders": "region"}},
        {"id": "period", "label": "Period", "kind": "date_range", "columns": {"orders": "ordered_at"}},
        {"id": "amount", "label": "Amount", "kind": "number_range", "columns": {"orders": "amount"}},
        {"id": "customer", "label": "Customer", "kind": "single_select", "columns": {"orders": "customer_id"}},
        {"id": "elsewhere", "label": "Other", "kind": "single_select", "columns": {"visits": "page"}},
    ]))
    .unwrap();
    let chosen: BTreeMap<String, FilterValue> = serde_json::from_value(chosen).unwrap();
    effective_filters(&defs, &chosen, datetime!(2026-11-23 12:00 UTC)).unwrap()
}

/// `sql` then one parameter per line, as `type value`.
fn snapshot(q: &CompiledQuery) -> String {
    let mut out = q.sql.clone();
    for p in &q.params {
        out.push_str(&format!("\n  {}", serde_json::to_string(p).unwrap()));
    }
    out
}

/// Compares with `tests/it/snapshots/compiler.txt`; `VITRINE_UPDATE_SNAPSHOTS=1` rewrites it
/// (then review the diff).
fn check_snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/snapshots")
        .join(name);
    if std::env::var("VITRINE_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {name} differs from line {}:\n  expected: {:?}\n  actual:   {:?}\n(rerun with VITRINE_UPDATE_SNAPSHOTS=1 to accept)",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

#[test]
fn every_dialect_compiles_the_representative_queries_to_the_reviewed_sql_and_params() {
    let mut out = String::new();
    macro_rules! println {
        ($($t:tt)*) => {{
            out.push_str(&format!($($t)*));
            out.push('\n');
        }};
    }
    let q = query(json!({
        "dataset": "orders",
        "dimensions": [{"column": "region"}],
        "measures": [{"agg": "sum", "column": "amount", "name": "revenue"}, {"agg": "count"}],
        "sort": [{"by": "revenue", "direction": "desc"}],
        "limit": 10
    }));
    let f = filters(json!({
        "region": ["EU", "'; DROP TABLE orders; --"],
        "period": {"preset": "last_30_days"},
        "amount": {"min": 10},
        "customer": "not a number",
        "elsewhere": "home"
    }));
    let rules = [RowLevelRule::new(
        "customer_id",
        RuleOp::In,
        vec![Scalar::Int(4), Scalar::Text("2".into())],
    )
    .unwrap()];
    for d in ALL {
        println!(
            "=== {d:?} bar\n{}",
            snapshot(&compile(d, &q, &dataset(d), &f, &rules).unwrap())
        );
    }
    for b in ["day", "week", "month", "quarter", "year"] {
        let q = query(json!({
            "dataset": "orders",
            "dimensions": [{"column": "ordered_at", "bucket": b}],
            "series": "we\"ird`name",
            "measures": [{"agg": "count_distinct", "column": "customer_id"}]
        }));
        for d in ALL {
            println!(
                "=== {d:?} {b}\n{}",
                snapshot(&compile(d, &q, &dataset(d), &[], &[]).unwrap())
            );
        }
    }
    let q = query(json!({
        "dataset": "orders",
        "dimensions": [{"column": "ordered_at", "bucket": "week"}],
        "measures": [{"agg": "avg", "column": "amount"}]
    }));
    let f = filters(json!({"period": {"preset": "this_month"}}));
    for d in ALL {
        let k = compile_kpi(d, &q, &dataset(d), &f, &[]).unwrap();
        println!("=== {d:?} kpi current\n{}", snapshot(&k.current));
        println!(
            "=== {d:?} kpi previous\n{}",
            snapshot(k.previous.as_ref().unwrap())
        );
        println!(
            "=== {d:?} kpi sparkline\n{}",
            snapshot(k.sparkline.as_ref().unwrap())
        );
        let rules = [RowLevelRule::new("customer_id", RuleOp::Eq, vec![Scalar::Int(7)]).unwrap()];
        println!(
            "=== {d:?} options\n{}",
            snapshot(&compile_distinct_values(d, &dataset(d), "plan", 50, &rules).unwrap())
        );
    }
    check_snapshot("compiler.txt", &out);
}

#[test]
fn values_only_ever_travel_as_parameters() {
    let evil = "'; DROP TABLE orders; --";
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "count"}]}));
    let f = filters(json!({"region": [evil]}));
    let rules = [RowLevelRule::new("plan", RuleOp::Eq, vec![Scalar::Text(evil.into())]).unwrap()];
    for d in ALL {
        let c = compile(d, &q, &dataset(d), &f, &rules).unwrap();
        assert!(!c.sql.contains("DROP"), "{}", c.sql);
        assert_eq!(c.params.len(), 2);
        let placeholders = match d {
            Dialect::Postgres => c.sql.matches('$').count(),
            _ => c.sql.matches('?').count(),
        };
        assert_eq!(placeholders, c.params.len(), "{}", c.sql);
    }
}

#[test]
fn identifiers_not_in_the_dataset_never_reach_sql() {
    for d in ALL {
        for q in [
            json!({"dataset": "orders", "dimensions": [{"column": "region\" FROM secrets --"}], "measures": [{"agg": "count"}]}),
            json!({"dataset": "orders", "measures": [{"agg": "max", "column": "password"}]}),
            json!({"dataset": "orders", "series": "x", "dimensions": [{"column": "region"}], "measures": [{"agg": "count"}]}),
            json!({"dataset": "other", "measures": [{"agg": "count"}]}),
            json!({"dataset": "orders", "dimensions": [{"column": "region", "bucket": "month"}], "measures": [{"agg": "count"}]}),
            json!({"dataset": "orders", "measures": [{"agg": "sum", "column": "region"}]}),
        ] {
            let e = compile(d, &query(q.clone()), &dataset(d), &[], &[]).unwrap_err();
            assert_eq!(e.code(), "invalid_definition", "{q}");
        }
    }
}

#[test]
fn a_filter_bound_to_a_missing_column_is_an_error_not_a_silent_widening() {
    let defs = serde_json::from_value::<Vec<vitrine_core::dashboard::Filter>>(json!([
        {"id": "r", "label": "R", "kind": "single_select", "columns": {"orders": "gone"}},
    ]))
    .unwrap();
    let chosen = BTreeMap::from([("r".to_string(), FilterValue::One("x".into()))]);
    let f = effective_filters(&defs, &chosen, datetime!(2026-11-23 12:00 UTC)).unwrap();
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "count"}]}));
    for d in ALL {
        assert!(compile(d, &q, &dataset(d), &f, &[]).is_err());
    }
}

#[test]
fn a_kpi_widget_compiles_to_three_statements_and_a_text_widget_to_none() {
    use vitrine_core::dashboard::Widget;
    use vitrine_data::{WidgetQueries, compile_widget};
    let kpi: Widget = serde_json::from_value(json!({
        "id": "rev", "kind": "kpi", "layout": {"x": 0, "y": 0, "w": 3, "h": 2},
        "query": {"dataset": "orders", "dimensions": [{"column": "ordered_at", "bucket": "day"}],
                  "measures": [{"agg": "sum", "column": "amount"}]}
    }))
    .unwrap();
    let f = filters(json!({"period": {"preset": "last_7_days"}}));
    match compile_widget(Dialect::Sqlite, &kpi, &dataset(Dialect::Sqlite), &f, &[]).unwrap() {
        WidgetQueries::Kpi(k) => {
            assert!(k.previous.is_some() && k.sparkline.is_some());
            assert_eq!(k.current.columns.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    let text: Widget = serde_json::from_value(json!({
        "id": "note", "kind": "text", "layout": {"x": 0, "y": 0, "w": 3, "h": 2},
        "options": {"markdown": "hi"}
    }))
    .unwrap();
    let e =
        compile_widget(Dialect::Sqlite, &text, &dataset(Dialect::Sqlite), &[], &[]).unwrap_err();
    assert_eq!(e.code(), "invalid_definition");
}

/// `count(*)` over `orders` under `rules`, in dialect `d`.
fn count_under(
    d: Dialect,
    rules: &[RowLevelRule],
) -> Result<CompiledQuery, vitrine_data::DataError> {
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "count"}]}));
    compile(d, &q, &dataset(d), &[], rules)
}

/// The placeholders of dialect `d` numbered from `first`.
fn ph(d: Dialect, first: usize, n: usize) -> Vec<String> {
    (first..first + n).map(|i| d.placeholder(i)).collect()
}

fn rule(column: &str, op: RuleOp, values: Vec<Scalar>) -> RowLevelRule {
    RowLevelRule::new(column, op, values).unwrap()
}

#[test]
fn a_between_rule_binds_both_ends() {
    let rules = [rule(
        "amount",
        RuleOp::Between,
        vec![Scalar::Int(10), Scalar::Float(99.5)],
    )];
    for d in ALL {
        let c = count_under(d, &rules).unwrap();
        let amount = d.quote("amount");
        let p = ph(d, 1, 2);
        assert!(
            c.sql.ends_with(&format!(
                "WHERE ({amount} >= {} AND {amount} <= {})",
                p[0], p[1]
            )),
            "{}",
            c.sql
        );
        assert_eq!(
            serde_json::to_value(&c.params).unwrap(),
            json!([{"type": "float", "value": 10.0}, {"type": "float", "value": 99.5}])
        );
    }
}

#[test]
fn a_between_rule_on_a_timestamp_includes_its_whole_last_day() {
    let rules = [rule(
        "ordered_at",
        RuleOp::Between,
        vec!["2026-01-01".into(), "2026-03-31".into()],
    )];
    for d in ALL {
        let c = count_under(d, &rules).unwrap();
        let col = d.quote("ordered_at");
        let p = ph(d, 1, 2);
        assert!(
            c.sql
                .ends_with(&format!("WHERE ({col} >= {} AND {col} < {})", p[0], p[1])),
            "{}",
            c.sql
        );
        assert_eq!(
            serde_json::to_value(&c.params).unwrap(),
            json!([{"type": "date", "value": "2026-01-01"}, {"type": "date", "value": "2026-04-01"}])
        );
    }
    // `>` a date starts the next day; `<` a date stays as written.
    for d in ALL {
        let gt = count_under(
            d,
            &[rule("ordered_at", RuleOp::Gt, vec!["2026-11-22".into()])],
        )
        .unwrap();
        assert!(
            gt.sql.contains(&format!("{} >= ", d.quote("ordered_at"))),
            "{}",
            gt.sql
        );
        assert_eq!(
            serde_json::to_value(&gt.params).unwrap(),
            json!([{"type": "date", "value": "2026-11-23"}])
        );
        let lt = count_under(
            d,
            &[rule("ordered_at", RuleOp::Lt, vec!["2026-11-22".into()])],
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&lt.params).unwrap(),
            json!([{"type": "date", "value": "2026-11-22"}])
        );
    }
}

#[test]
fn negative_rules_exclude_nulls_and_bind_every_value() {
    for d in ALL {
        let region = d.quote("region");
        let ne = count_under(d, &[rule("region", RuleOp::Ne, vec!["EU".into()])]).unwrap();
        assert!(
            ne.sql.ends_with(&format!(
                "WHERE ({region} IS NOT NULL AND {region} <> {})",
                d.placeholder(1)
            )),
            "{}",
            ne.sql
        );
        assert_eq!(ne.params.len(), 1);
        let not_in = count_under(
            d,
            &[rule(
                "region",
                RuleOp::NotIn,
                vec!["EU".into(), "APAC".into()],
            )],
        )
        .unwrap();
        let p = ph(d, 1, 2);
        assert!(
            not_in.sql.ends_with(&format!(
                "WHERE ({region} IS NOT NULL AND {region} NOT IN ({}, {}))",
                p[0], p[1]
            )),
            "{}",
            not_in.sql
        );
        assert_eq!(not_in.params.len(), 2);
    }
}

#[test]
fn a_negative_rule_with_a_value_of_the_wrong_type_matches_nothing() {
    for d in ALL {
        for r in [
            rule("customer_id", RuleOp::Ne, vec!["x".into()]),
            rule(
                "customer_id",
                RuleOp::NotIn,
                vec![Scalar::Int(1), "x".into()],
            ),
            rule(
                "customer_id",
                RuleOp::Between,
                vec![Scalar::Int(1), "x".into()],
            ),
        ] {
            let c = count_under(d, std::slice::from_ref(&r)).unwrap();
            assert!(c.sql.ends_with("WHERE 1 = 0"), "{r:?}: {}", c.sql);
            assert!(c.params.is_empty());
        }
    }
}

#[test]
fn every_operator_compiles_with_values_as_parameters_only() {
    let evil = "'; DROP TABLE orders; --";
    for d in ALL {
        for op in RuleOp::ALL {
            let values = match op {
                RuleOp::Between => vec![evil.into(), evil.into()],
                _ => vec![evil.into()],
            };
            let c = count_under(d, &[rule("plan", op, values)]).unwrap();
            assert!(!c.sql.contains("DROP"), "{op}: {}", c.sql);
            let placeholders = match d {
                Dialect::Postgres => c.sql.matches('$').count(),
                _ => c.sql.matches('?').count(),
            };
            assert_eq!(placeholders, c.params.len(), "{op}: {}", c.sql);
            assert!(!c.params.is_empty(), "{op}");
        }
    }
}

#[test]
fn a_rule_for_another_dataset_is_skipped_and_one_for_this_dataset_applies() {
    for d in ALL {
        let elsewhere = rule("tenant_id", RuleOp::Eq, vec![Scalar::Int(1)])
            .for_dataset("visits")
            .unwrap();
        let c = count_under(d, &[elsewhere]).unwrap();
        assert!(!c.sql.contains("WHERE"), "{}", c.sql);
        assert!(c.params.is_empty());

        let here = rule("customer_id", RuleOp::Eq, vec![Scalar::Int(1)])
            .for_dataset("orders")
            .unwrap();
        let c = count_under(d, &[here]).unwrap();
        assert!(c.sql.contains(&d.quote("customer_id")), "{}", c.sql);
        assert_eq!(c.params.len(), 1);
    }
}

#[test]
fn a_rule_for_this_dataset_on_a_missing_column_is_an_error() {
    for d in ALL {
        for r in [
            rule("tenant_id", RuleOp::Eq, vec![Scalar::Int(1)]),
            rule("tenant_id", RuleOp::Eq, vec![Scalar::Int(1)])
                .for_dataset("orders")
                .unwrap(),
        ] {
            let e = count_under(d, &[r]).unwrap_err();
            assert_eq!(e.code(), "invalid_definition");
            assert!(e.detail().contains("tenant_id"), "{}", e.detail());
        }
        // The options of a select filter are restricted the same way.
        let r = rule("tenant_id", RuleOp::Eq, vec![Scalar::Int(1)]);
        assert!(compile_distinct_values(d, &dataset(d), "plan", 10, &[r]).is_err());
    }
}

#[test]
fn a_rule_changed_after_it_was_checked_is_refused_by_the_compiler() {
    let mut r = rule(
        "amount",
        RuleOp::Between,
        vec![Scalar::Int(1), Scalar::Int(2)],
    );
    r.values.pop();
    for d in ALL {
        assert_eq!(
            count_under(d, &[r.clone()]).unwrap_err().code(),
            "invalid_definition"
        );
    }
}

mod dates {
    use super::*;
    use time::Date;
    use time::macros::date;
    use vitrine_core::dashboard::{
        DATE_RANGE_MESSAGE, EffectiveValue, MAX_DATE, MIN_DATE, ResolvedDateRange, Slug, Widget,
    };
    use vitrine_data::{DataErrorKind, compile_widget};

    fn period(current: ResolvedDateRange, previous: Option<ResolvedDateRange>) -> EffectiveFilter {
        EffectiveFilter {
            id: Slug::parse("period").unwrap(),
            columns: BTreeMap::from([(Slug::parse("orders").unwrap(), "ordered_at".to_string())]),
            value: EffectiveValue::DateRange { current, previous },
        }
    }

    fn range(from: Option<Date>, to: Option<Date>) -> ResolvedDateRange {
        ResolvedDateRange { from, to }
    }

    fn kpi() -> Widget {
        serde_json::from_value(json!({
            "id": "rev", "kind": "kpi", "layout": {"x": 0, "y": 0, "w": 3, "h": 2},
            "query": {"dataset": "orders", "dimensions": [{"column": "ordered_at", "bucket": "day"}],
                      "measures": [{"agg": "sum", "column": "amount"}]}
        }))
        .unwrap()
    }

    fn assert_refused(e: vitrine_data::DataError) {
        assert_eq!(e.kind(), DataErrorKind::InvalidInput, "{e:?}");
        assert_eq!(e.code(), "invalid_input");
        assert_eq!(e.to_string(), DATE_RANGE_MESSAGE);
        assert_eq!(e.client_message(), DATE_RANGE_MESSAGE);
    }

    const BEYOND: [Date; 5] = [
        Date::MIN,
        Date::MAX,
        date!(9999 - 12 - 31),
        date!(0999 - 12 - 31),
        date!(9999 - 01 - 01),
    ];

    #[test]
    fn a_date_filter_at_the_ends_of_time_is_refused_politely_on_every_path() {
        let bar = query(json!({
            "dataset": "orders", "dimensions": [{"column": "plan"}], "measures": [{"agg": "count"}]
        }));
        let fine = range(Some(date!(2026 - 01 - 01)), Some(date!(2026 - 01 - 31)));
        for d in ALL {
            for day in BEYOND {
                for current in [
                    range(None, Some(day)),
                    range(Some(day), None),
                    range(Some(day), Some(day)),
                    range(Some(Date::MIN), Some(Date::MAX)),
                ] {
                    let f = [period(current, Some(fine))];
                    assert_refused(compile(d, &bar, &dataset(d), &f, &[]).unwrap_err());
                    assert_refused(
                        compile_kpi(d, &kpi().query.unwrap(), &dataset(d), &f, &[]).unwrap_err(),
                    );
                    assert_refused(compile_widget(d, &kpi(), &dataset(d), &f, &[]).unwrap_err());
                }
                // A good current period whose previous period is beyond the bounds: the
                // KPI's comparison is refused the same way.
                let f = [period(fine, Some(range(Some(day), Some(day))))];
                assert_refused(
                    compile_kpi(d, &kpi().query.unwrap(), &dataset(d), &f, &[]).unwrap_err(),
                );
                // Options of a select filter never see a date filter.
                assert!(compile_distinct_values(d, &dataset(d), "plan", 5, &[]).is_ok());
            }
        }
    }

    #[test]
    fn the_accepted_bounds_themselves_compile_and_bind_the_day_after() {
        for d in ALL {
            let f = [period(range(Some(MIN_DATE), Some(MAX_DATE)), None)];
            let c = compile(
                d,
                &query(json!({"dataset": "orders", "measures": [{"agg": "count"}]})),
                &dataset(d),
                &f,
                &[],
            )
            .unwrap();
            assert_eq!(
                serde_json::to_value(&c.params).unwrap(),
                json!([{"type": "date", "value": "1000-01-01"}, {"type": "date", "value": "9999-01-01"}])
            );
            // No previous period: the KPI has nothing to compare with, and says so.
            let k = compile_kpi(d, &kpi().query.unwrap(), &dataset(d), &f, &[]).unwrap();
            assert!(k.previous.is_none());
        }
    }

    #[test]
    fn a_viewers_date_beyond_the_bounds_never_reaches_the_compiler() {
        // What `?f.period=..9999-12-31` and `-9999-01-01..-9999-01-01` become.
        for chosen in [
            json!({"period": {"to": "9999-12-31"}}),
            json!({"period": {"from": "-9999-01-01", "to": "-9999-01-01"}}),
        ] {
            let defs = serde_json::from_value::<Vec<vitrine_core::dashboard::Filter>>(json!([
                {"id": "period", "label": "Period", "kind": "date_range", "columns": {"orders": "ordered_at"}},
            ]))
            .unwrap();
            let chosen: BTreeMap<String, FilterValue> = serde_json::from_value(chosen).unwrap();
            let e = effective_filters(&defs, &chosen, datetime!(2026-11-23 12:00 UTC)).unwrap_err();
            assert_eq!(e.at("period").unwrap().message, DATE_RANGE_MESSAGE);
        }
    }

    #[test]
    fn rule_and_select_dates_beyond_the_bounds_match_nothing() {
        for d in ALL {
            for text in ["9999-12-31", "-9999-01-01", "0999-12-31", "+10000-01-01"] {
                for op in [RuleOp::Eq, RuleOp::Lt, RuleOp::Lte, RuleOp::Gt, RuleOp::Gte] {
                    let c = count_under(d, &[rule("ordered_at", op, vec![text.into()])]).unwrap();
                    assert!(c.sql.ends_with("WHERE 1 = 0"), "{op} {text}: {}", c.sql);
                }
                let between = rule(
                    "ordered_at",
                    RuleOp::Between,
                    vec![text.into(), text.into()],
                );
                let c = count_under(d, &[between]).unwrap();
                assert!(c.sql.ends_with("WHERE 1 = 0"), "{}", c.sql);
            }
            // The last accepted day as an inclusive bound binds the day after, which exists.
            let c = count_under(
                d,
                &[rule("ordered_at", RuleOp::Lte, vec!["9998-12-31".into()])],
            )
            .unwrap();
            assert_eq!(
                serde_json::to_value(&c.params).unwrap(),
                json!([{"type": "date", "value": "9999-01-01"}])
            );
        }
    }
}
