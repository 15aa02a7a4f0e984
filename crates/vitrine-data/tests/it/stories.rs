//! The same stories against every database: SQLite always, PostgreSQL and MariaDB / MySQL when
//! their URLs are set.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;
use vitrine_core::clock::{Clock, SystemClock};
use vitrine_core::dashboard::{
    Dashboard, EffectiveFilter, FilterValue, RowLevelRule, RuleOp, Scalar, WidgetQuery,
    effective_filters, validate,
};
use vitrine_core::result::{Column, ColumnType, ResultTable, Value};
use vitrine_data::{
    CacheKey, CompiledQuery, DataError, DataErrorKind, DataSource, DataSourceConfig,
    DataSourceOptions, Dataset, ResultCache, RowCapPolicy, WidgetData, compile,
    compile_distinct_values, compile_kpi, compile_widget,
};

use crate::support::{Db, Fixture};

macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story(crate::support::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story(crate::support::Db::Postgres).await
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story(crate::support::Db::MySql).await
                }
            )*
        }
    };
}

stories!(
    columns_are_discovered_with_their_types,
    an_unknown_column_is_rejected_at_save,
    a_dataset_that_writes_or_has_two_statements_is_rejected_at_save,
    a_bar_query_sums_by_region_in_order,
    sql_in_filter_values_matches_nothing_and_the_table_survives,
    select_filters_and_number_ranges_restrict_rows,
    time_buckets_are_the_same_iso_dates_everywhere,
    a_kpi_compares_with_the_previous_period_and_draws_a_sparkline,
    row_level_rules_restrict_rows_and_fail_closed,
    every_rule_operator_restricts_rows_and_negative_ones_drop_nulls,
    the_widest_accepted_date_range_runs_everywhere,
    dates_the_calendar_cannot_hold_are_read_without_panicking,
    filter_options_are_distinct_values_under_the_rules,
    writes_fail_at_run_time_because_the_connection_is_read_only,
    a_long_query_times_out_politely_and_the_source_recovers,
    the_row_cap_truncates_or_fails_politely,
    single_flight_runs_one_real_query_for_many_viewers,
    test_connection_succeeds_and_an_unreachable_source_is_unavailable,
);

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn col(name: &str, kind: ColumnType) -> Column {
    Column {
        name: name.into(),
        kind,
    }
}

fn expected_columns() -> Vec<Column> {
    vec![
        col("id", ColumnType::Integer),
        col("region", ColumnType::Text),
        col("plan", ColumnType::Text),
        col("amount", ColumnType::Number),
        col("active", ColumnType::Boolean),
        col("ordered_at", ColumnType::Timestamp),
        col("customer_id", ColumnType::Integer),
    ]
}

fn orders_sql(fx: &Fixture) -> String {
    format!("SELECT * FROM {}", fx.orders)
}

fn orders(fx: &Fixture) -> Dataset {
    Dataset::new(
        fx.db.dialect(),
        "orders",
        &orders_sql(fx),
        expected_columns(),
    )
    .unwrap()
}

fn query(v: serde_json::Value) -> WidgetQuery {
    serde_json::from_value(v).unwrap()
}

/// Filters over `orders` with the viewer's `chosen` values, resolved at [`NOW`].
fn filters(chosen: serde_json::Value) -> Vec<EffectiveFilter> {
    let defs = serde_json::from_value::<Vec<vitrine_core::dashboard::Filter>>(json!([
        {"id": "region", "label": "Region", "kind": "multi_select", "columns": {"orders": "region"}},
        {"id": "plan", "label": "Plan", "kind": "single_select", "columns": {"orders": "plan"}},
        {"id": "customer", "label": "Customer", "kind": "single_select", "columns": {"orders": "customer_id"}},
        {"id": "period", "label": "Period", "kind": "date_range", "columns": {"orders": "ordered_at"}},
        {"id": "amount", "label": "Amount", "kind": "number_range", "columns": {"orders": "amount"}},
    ]))
    .unwrap();
    let chosen: BTreeMap<String, FilterValue> = serde_json::from_value(chosen).unwrap();
    effective_filters(&defs, &chosen, NOW).unwrap()
}

async fn run(source: &DataSource, q: &CompiledQuery) -> ResultTable {
    match source.run(q).await {
        Ok(t) => t,
        Err(e) => panic!("{}: {:?}\n{}", q.sql, e, e.detail()),
    }
}

fn rows(t: &ResultTable) -> Vec<Vec<Value>> {
    t.rows.clone()
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// The error a viewer would see says nothing about SQL, tables or the driver.
fn assert_polite(e: &DataError, kind: DataErrorKind) {
    assert_eq!(e.kind(), kind, "{e:?}");
    let shown = e.to_string();
    assert_eq!(shown, kind.client_message());
    for needle in [
        "SELECT",
        "select",
        "orders",
        "vt_",
        "pg_sleep",
        "SLEEP",
        "syntax",
        "sqlx",
        "database",
        "DELETE",
        "read-only",
        "readonly",
        "READ ONLY",
    ] {
        assert!(!shown.contains(needle), "`{needle}` leaked into `{shown}`");
    }
}

async fn columns_are_discovered_with_their_types(db: Db) {
    let Some(fx) = Fixture::new(db, "columns_are_discovered_with_their_types").await else {
        return;
    };
    let source = fx.default_source();
    let cols = source.discover_columns(&orders_sql(&fx)).await.unwrap();
    assert_eq!(cols, expected_columns());

    let expr = format!(
        "SELECT region, SUM(amount) AS total, MAX(ordered_at) AS last_at, COUNT(*) AS n \
         FROM {} GROUP BY region",
        fx.orders
    );
    let cols = source.discover_columns(&expr).await.unwrap();
    let kinds: Vec<ColumnType> = cols.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ColumnType::Text,
            ColumnType::Number,
            ColumnType::Timestamp,
            ColumnType::Integer
        ]
    );

    let dup = format!("SELECT id, id FROM {}", fx.orders);
    let e = source.discover_columns(&dup).await.unwrap_err();
    assert_eq!(e.kind(), DataErrorKind::InvalidDefinition);
    fx.cleanup().await;
}

async fn an_unknown_column_is_rejected_at_save(db: Db) {
    let Some(fx) = Fixture::new(db, "an_unknown_column_is_rejected_at_save").await else {
        return;
    };
    let source = fx.default_source();
    let columns = source.discover_columns(&orders_sql(&fx)).await.unwrap();
    let datasets = BTreeMap::from([("orders".to_string(), columns)]);
    let dashboard = Dashboard::from_json(
        &json!({
            "version": 1, "title": "Sales",
            "widgets": [
                {"id": "a", "kind": "table", "layout": {"x": 0, "y": 0, "w": 6, "h": 3},
                 "query": {"dataset": "orders", "dimensions": [{"column": "region"}],
                           "measures": [{"agg": "sum", "column": "amount"}]}},
                {"id": "b", "kind": "bar", "layout": {"x": 6, "y": 0, "w": 6, "h": 3},
                 "query": {"dataset": "orders", "dimensions": [{"column": "region"}],
                           "measures": [{"agg": "sum", "column": "amuont"}]}}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let err = validate(&dashboard, &datasets).unwrap_err();
    assert_eq!(err.issues.len(), 1, "{err}");
    assert_eq!(err.issues[0].path, "widgets[1].query.measures[0].column");
    assert!(err.issues[0].message.contains("unknown column `amuont`"));

    // And the compiler refuses it too, should an unchecked definition ever reach it.
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "sum", "column": "amuont"}]}));
    let e = compile(db.dialect(), &q, &orders(&fx), &[], &[]).unwrap_err();
    assert_polite(&e, DataErrorKind::InvalidDefinition);
    fx.cleanup().await;
}

async fn a_dataset_that_writes_or_has_two_statements_is_rejected_at_save(db: Db) {
    let Some(fx) = Fixture::new(db, "a_dataset_that_writes_is_rejected_at_save").await else {
        return;
    };
    let t = &fx.orders;
    let d = db.dialect();
    for (sql, says) in [
        (format!("DELETE FROM {t}"), "DELETE"),
        (format!("UPDATE {t} SET amount = 0"), "UPDATE"),
        (format!("INSERT INTO {t} (id) VALUES (99)"), "INSERT"),
        (format!("DROP TABLE {t}"), "schema change"),
        (format!("CREATE TABLE {t}_x (a INT)"), "schema change"),
        (
            format!("SELECT * FROM {t}; DELETE FROM {t}"),
            "2 statements",
        ),
    ] {
        let e = Dataset::new(d, "x", &sql, vec![]).unwrap_err();
        assert!(e.message().contains(says), "{sql}: {e}");
        // Discovery refuses it as well, before the database sees it.
        let source = fx.default_source();
        let e = source.discover_columns(&sql).await.unwrap_err();
        assert_polite(&e, DataErrorKind::InvalidDefinition);
    }
    assert_eq!(fx.count_orders().await, 7);
    fx.cleanup().await;
}

async fn a_bar_query_sums_by_region_in_order(db: Db) {
    let Some(fx) = Fixture::new(db, "a_bar_query_sums_by_region_in_order").await else {
        return;
    };
    let source = fx.default_source();
    let q = query(json!({
        "dataset": "orders",
        "dimensions": [{"column": "region"}],
        "measures": [{"agg": "sum", "column": "amount", "name": "revenue"}, {"agg": "count"},
                     {"agg": "count_distinct", "column": "customer_id"}, {"agg": "avg", "column": "amount"}],
        "sort": [{"by": "revenue", "direction": "desc"}],
        "limit": 2
    }));
    let t = run(
        &source,
        &compile(db.dialect(), &q, &orders(&fx), &[], &[]).unwrap(),
    )
    .await;
    assert_eq!(
        t.columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect::<Vec<_>>(),
        [
            ("region", ColumnType::Text),
            ("revenue", ColumnType::Number),
            ("count", ColumnType::Integer),
            ("count_distinct_customer_id", ColumnType::Integer),
            ("avg_amount", ColumnType::Number),
        ]
    );
    // Averages are compared loosely: MySQL rounds a DECIMAL average to 4 more decimals.
    let exact: Vec<Vec<Value>> = t.rows.iter().map(|r| r[..4].to_vec()).collect();
    assert_eq!(
        exact,
        [
            vec![
                text("US"),
                Value::Float(290.25),
                Value::Int(3),
                Value::Int(2)
            ],
            vec![
                text("EU"),
                Value::Float(240.25),
                Value::Int(3),
                Value::Int(3)
            ],
        ]
    );
    let avgs: Vec<f64> = t.rows.iter().map(|r| r[4].as_f64().unwrap()).collect();
    assert!(
        (avgs[0] - 96.75).abs() < 1e-4 && (avgs[1] - 80.083_333).abs() < 1e-4,
        "{avgs:?}"
    );
    assert!(!t.truncated);
    fx.cleanup().await;
}

async fn sql_in_filter_values_matches_nothing_and_the_table_survives(db: Db) {
    let Some(fx) = Fixture::new(db, "sql_in_filter_values_matches_nothing").await else {
        return;
    };
    let source = fx.default_source();
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "count"}]}));
    let evil = format!("'; DROP TABLE {}; --", fx.orders);
    for chosen in [
        json!({"plan": evil}),
        json!({"region": [evil, "x' OR '1'='1"]}),
        json!({"customer": "1 OR 1=1"}),
        json!({"customer": evil}),
        json!({"region": ["EU\"; DELETE FROM orders; --"]}),
    ] {
        let f = filters(chosen.clone());
        let compiled = compile(db.dialect(), &q, &orders(&fx), &f, &[]).unwrap();
        assert!(!compiled.sql.contains("DROP"), "{}", compiled.sql);
        let t = run(&source, &compiled).await;
        assert_eq!(rows(&t), [vec![Value::Int(0)]], "{chosen}");
    }
    assert_eq!(
        fx.count_orders().await,
        7,
        "the table is still there, whole"
    );
    fx.cleanup().await;
}

async fn select_filters_and_number_ranges_restrict_rows(db: Db) {
    let Some(fx) = Fixture::new(db, "select_filters_and_number_ranges_restrict_rows").await else {
        return;
    };
    let source = fx.default_source();
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "count"}]}));
    for (chosen, n) in [
        (json!({}), 7),
        (json!({"region": ["EU", "APAC"]}), 4),
        (json!({"plan": "pro"}), 4),
        (json!({"customer": "1"}), 3),
        (json!({"customer": 3}), 2),
        (json!({"amount": {"min": 20, "max": 120.5}}), 4),
        (json!({"amount": {"min": 100}}), 2),
        (
            json!({"period": {"from": "2026-11-22", "to": "2026-11-22"}}),
            1,
        ),
        (json!({"period": {"preset": "last_7_days"}}), 2),
        (json!({"period": {"preset": "last_year"}}), 1),
        (json!({"region": "US", "plan": "pro"}), 2),
    ] {
        let f = filters(chosen.clone());
        let t = run(
            &source,
            &compile(db.dialect(), &q, &orders(&fx), &f, &[]).unwrap(),
        )
        .await;
        assert_eq!(rows(&t), [vec![Value::Int(n)]], "{chosen}");
    }
    fx.cleanup().await;
}

async fn time_buckets_are_the_same_iso_dates_everywhere(db: Db) {
    let Some(fx) = Fixture::new(db, "time_buckets_are_the_same_iso_dates_everywhere").await else {
        return;
    };
    let source = fx.default_source();
    let expected: [(&str, &[(&str, i64)]); 5] = [
        (
            "day",
            &[
                ("2025-12-31", 1),
                ("2026-01-05", 1),
                ("2026-02-14", 1),
                ("2026-03-31", 1),
                ("2026-04-01", 1),
                ("2026-11-22", 1),
                ("2026-11-23", 1),
            ],
        ),
        (
            "week",
            &[
                ("2025-12-29", 1),
                ("2026-01-05", 1),
                ("2026-02-09", 1),
                ("2026-03-30", 2),
                ("2026-11-16", 1),
                ("2026-11-23", 1),
            ],
        ),
        (
            "month",
            &[
                ("2025-12-01", 1),
                ("2026-01-01", 1),
                ("2026-02-01", 1),
                ("2026-03-01", 1),
                ("2026-04-01", 1),
                ("2026-11-01", 2),
            ],
        ),
        (
            "quarter",
            &[
                ("2025-10-01", 1),
                ("2026-01-01", 3),
                ("2026-04-01", 1),
                ("2026-10-01", 2),
            ],
        ),
        ("year", &[("2025-01-01", 1), ("2026-01-01", 6)]),
    ];
    for (bucket, want) in expected {
        let q = query(json!({
            "dataset": "orders",
            "dimensions": [{"column": "ordered_at", "bucket": bucket}],
            "measures": [{"agg": "count"}]
        }));
        let t = run(
            &source,
            &compile(db.dialect(), &q, &orders(&fx), &[], &[]).unwrap(),
        )
        .await;
        assert_eq!(t.columns[0].kind, ColumnType::Date);
        let got: Vec<(Value, Value)> = t
            .rows
            .iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect();
        let want: Vec<(Value, Value)> = want
            .iter()
            .map(|(d, n)| (text(d), Value::Int(*n)))
            .collect();
        assert_eq!(got, want, "{bucket} on {db:?}");
    }
    fx.cleanup().await;
}

async fn a_kpi_compares_with_the_previous_period_and_draws_a_sparkline(db: Db) {
    let Some(fx) = Fixture::new(db, "a_kpi_compares_with_the_previous_period").await else {
        return;
    };
    let source = fx.default_source();
    let q = query(json!({
        "dataset": "orders",
        "dimensions": [{"column": "ordered_at", "bucket": "month"}],
        "measures": [{"agg": "sum", "column": "amount", "name": "revenue"}]
    }));
    // 90 days: the previous period is 2025-10-03 ..= 2025-12-31, whose last evening counts.
    let f = filters(json!({"period": {"from": "2026-01-01", "to": "2026-03-31"}}));
    let kpi = compile_kpi(db.dialect(), &q, &orders(&fx), &f, &[]).unwrap();
    let current = run(&source, &kpi.current).await;
    assert_eq!(rows(&current), [vec![Value::Float(300.25)]]);
    let previous = run(&source, kpi.previous.as_ref().unwrap()).await;
    assert_eq!(rows(&previous), [vec![Value::Float(120.5)]]);
    let spark = run(&source, kpi.sparkline.as_ref().unwrap()).await;
    assert_eq!(
        rows(&spark),
        [
            vec![text("2026-01-01"), Value::Float(20.0)],
            vec![text("2026-02-01"), Value::Float(200.0)],
            vec![text("2026-03-01"), Value::Float(80.25)],
        ]
    );

    // The same through the widget path, which runs the three statements together.
    let widget: vitrine_core::dashboard::Widget = serde_json::from_value(json!({
        "id": "revenue", "kind": "kpi", "layout": {"x": 0, "y": 0, "w": 3, "h": 2}, "query": q
    }))
    .unwrap();
    let queries = compile_widget(db.dialect(), &widget, &orders(&fx), &f, &[]).unwrap();
    match source.run_widget(&queries).await.unwrap() {
        WidgetData::Kpi {
            column,
            value,
            previous,
            sparkline,
        } => {
            assert_eq!(column.unwrap().name, "revenue");
            assert_eq!(value, Value::Float(300.25));
            assert_eq!(previous, Some(Value::Float(120.5)));
            assert_eq!(sparkline.unwrap().rows.len(), 3);
        }
        other => panic!("{other:?}"),
    }

    // An empty period is a NULL sum, not an error.
    let f = filters(json!({"period": {"from": "2030-01-01", "to": "2030-01-31"}}));
    let kpi = compile_kpi(db.dialect(), &q, &orders(&fx), &f, &[]).unwrap();
    assert_eq!(rows(&run(&source, &kpi.current).await), [vec![Value::Null]]);

    // Without a date range there is nothing to compare with.
    let kpi = compile_kpi(db.dialect(), &q, &orders(&fx), &[], &[]).unwrap();
    assert!(kpi.previous.is_none());
    fx.cleanup().await;
}

async fn row_level_rules_restrict_rows_and_fail_closed(db: Db) {
    let Some(fx) = Fixture::new(db, "row_level_rules_restrict_rows_and_fail_closed").await else {
        return;
    };
    let source = fx.default_source();
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "count"}]}));
    let rule = |col: &str, op, values: Vec<Scalar>| RowLevelRule::new(col, op, values).unwrap();
    for (rules, n) in [
        (
            vec![rule("customer_id", RuleOp::Eq, vec![Scalar::Int(1)])],
            3,
        ),
        (
            vec![rule(
                "customer_id",
                RuleOp::In,
                vec![Scalar::Int(2), Scalar::Int(3)],
            )],
            4,
        ),
        (
            vec![rule("amount", RuleOp::Gte, vec![Scalar::Float(99.75)])],
            3,
        ),
        (vec![rule("amount", RuleOp::Lt, vec![Scalar::Int(20)])], 2),
        (
            vec![
                rule("customer_id", RuleOp::Eq, vec![Scalar::Int(1)]),
                rule("region", RuleOp::Eq, vec![Scalar::Text("US".into())]),
            ],
            2,
        ),
        (
            vec![rule(
                "customer_id",
                RuleOp::Eq,
                vec![Scalar::Text("1 OR 1=1".into())],
            )],
            0,
        ),
    ] {
        let compiled = compile(db.dialect(), &q, &orders(&fx), &[], &rules).unwrap();
        let t = run(&source, &compiled).await;
        assert_eq!(rows(&t), [vec![Value::Int(n)]], "{rules:?}");
    }
    // A viewer's filter cannot widen a rule: both apply.
    let f = filters(json!({"customer": "2"}));
    let rules = [rule("customer_id", RuleOp::Eq, vec![Scalar::Int(1)])];
    let t = run(
        &source,
        &compile(db.dialect(), &q, &orders(&fx), &f, &rules).unwrap(),
    )
    .await;
    assert_eq!(rows(&t), [vec![Value::Int(0)]]);
    // A rule the dataset cannot honour refuses to run rather than showing everything.
    let rules = [rule("tenant_id", RuleOp::Eq, vec![Scalar::Int(1)])];
    let e = compile(db.dialect(), &q, &orders(&fx), &[], &rules).unwrap_err();
    assert_polite(&e, DataErrorKind::InvalidDefinition);
    fx.cleanup().await;
}

async fn every_rule_operator_restricts_rows_and_negative_ones_drop_nulls(db: Db) {
    let Some(fx) = Fixture::new(db, "every_rule_operator_restricts_rows").await else {
        return;
    };
    let source = fx.default_source();
    // The seven orders plus an eighth whose every column but the id is NULL.
    let sql = format!(
        "{} UNION ALL SELECT 8, NULL, NULL, NULL, NULL, NULL, NULL",
        orders_sql(&fx)
    );
    let with_nulls = Dataset::new(db.dialect(), "orders", &sql, expected_columns()).unwrap();
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "count"}]}));
    let rule = |col: &str, op, values: Vec<Scalar>| RowLevelRule::new(col, op, values).unwrap();
    let count = |rules: Vec<RowLevelRule>| {
        let compiled = compile(db.dialect(), &q, &with_nulls, &[], &rules);
        let source = source.clone();
        async move {
            let compiled = compiled.unwrap();
            match &rows(&run(&source, &compiled).await)[..] {
                [row] => row[0].clone(),
                other => panic!("{other:?}"),
            }
        }
    };
    for (rules, n) in [
        (vec![], 8),
        // EU is three orders; the NULL region is not "not EU": it is not shown.
        (vec![rule("region", RuleOp::Ne, vec!["EU".into()])], 4),
        (
            vec![rule(
                "region",
                RuleOp::NotIn,
                vec!["EU".into(), "APAC".into()],
            )],
            3,
        ),
        (
            vec![rule("customer_id", RuleOp::NotIn, vec![Scalar::Int(1)])],
            4,
        ),
        (
            vec![rule(
                "amount",
                RuleOp::Between,
                vec![Scalar::Int(15), Scalar::Float(99.75)],
            )],
            4,
        ),
        (vec![rule("amount", RuleOp::Lte, vec![Scalar::Int(20)])], 3),
        (vec![rule("amount", RuleOp::Gt, vec![Scalar::Int(100)])], 2),
        // Whole days: March 31st at 08:00 is inside, November 22nd at 18:00 is not "after
        // November 22nd".
        (
            vec![rule(
                "ordered_at",
                RuleOp::Between,
                vec!["2026-01-01".into(), "2026-03-31".into()],
            )],
            3,
        ),
        (
            vec![rule("ordered_at", RuleOp::Gt, vec!["2026-11-22".into()])],
            1,
        ),
        (
            vec![rule("ordered_at", RuleOp::Lte, vec!["2026-11-22".into()])],
            6,
        ),
        (
            vec![rule("ordered_at", RuleOp::Lt, vec!["2026-01-01".into()])],
            1,
        ),
        // A value that cannot be an integer: a negative rule shows nothing rather than guess.
        (vec![rule("customer_id", RuleOp::Ne, vec!["one".into()])], 0),
        // A rule for another dataset does not restrict this one.
        (
            vec![
                rule("tenant_id", RuleOp::Eq, vec![Scalar::Int(1)])
                    .for_dataset("visits")
                    .unwrap(),
            ],
            8,
        ),
        (
            vec![
                rule("plan", RuleOp::Eq, vec!["pro".into()])
                    .for_dataset("orders")
                    .unwrap(),
            ],
            4,
        ),
    ] {
        assert_eq!(count(rules.clone()).await, Value::Int(n), "{rules:?}");
    }
    let scoped = rule("tenant_id", RuleOp::Eq, vec![Scalar::Int(1)])
        .for_dataset("orders")
        .unwrap();
    let e = compile(db.dialect(), &q, &with_nulls, &[], &[scoped]).unwrap_err();
    assert_polite(&e, DataErrorKind::InvalidDefinition);
    fx.cleanup().await;
}

async fn filter_options_are_distinct_values_under_the_rules(db: Db) {
    let Some(fx) = Fixture::new(db, "filter_options_are_distinct_values").await else {
        return;
    };
    let source = fx.default_source();
    let q = compile_distinct_values(db.dialect(), &orders(&fx), "region", 100, &[]).unwrap();
    let t = run(&source, &q).await;
    assert_eq!(
        rows(&t),
        [vec![text("APAC")], vec![text("EU")], vec![text("US")]]
    );
    let rules = [RowLevelRule::new("customer_id", RuleOp::Eq, vec![Scalar::Int(2)]).unwrap()];
    let q = compile_distinct_values(db.dialect(), &orders(&fx), "region", 1, &rules).unwrap();
    assert_eq!(rows(&run(&source, &q).await), [vec![text("APAC")]]);
    fx.cleanup().await;
}

fn raw(db: Db, sql: String) -> CompiledQuery {
    CompiledQuery {
        dialect: db.dialect(),
        sql,
        params: vec![],
        columns: vec![col("n", ColumnType::Integer)],
    }
}

async fn writes_fail_at_run_time_because_the_connection_is_read_only(db: Db) {
    let Some(mut fx) = Fixture::new(db, "writes_fail_at_run_time").await else {
        return;
    };
    let source = fx.default_source();
    let t = fx.orders.clone();
    // Straight through the handle, skipping every check above it.
    for sql in [
        format!("DELETE FROM {t}"),
        format!("UPDATE {t} SET amount = 0"),
        format!("INSERT INTO {t} (id) VALUES (99)"),
        format!("DROP TABLE {t}"),
    ] {
        let e = source.run(&raw(db, sql.clone())).await.unwrap_err();
        assert_polite(&e, DataErrorKind::QueryFailed);
    }
    match db {
        Db::Sqlite => {
            // Even if a pragma could be smuggled in, the handle was opened read-only.
            let _ = source.run(&raw(db, "PRAGMA query_only = OFF".into())).await;
            let e = source
                .run(&raw(db, format!("DELETE FROM {t}")))
                .await
                .unwrap_err();
            assert_polite(&e, DataErrorKind::QueryFailed);
            assert!(
                e.detail().contains("readonly")
                    || e.detail().contains("read-only")
                    || e.detail().contains("query_only"),
                "{e:?}"
            );
        }
        Db::Postgres => {
            let schema = t.split('.').next().unwrap().to_string();
            // A write hidden in a CTE: refused at save, and refused by the database.
            let cte = format!(
                "WITH gone AS (DELETE FROM {t} RETURNING id) SELECT count(*) AS n FROM gone"
            );
            assert!(Dataset::new(db.dialect(), "x", &cte, vec![]).is_err());
            let e = source.run(&raw(db, cte)).await.unwrap_err();
            assert_polite(&e, DataErrorKind::QueryFailed);
            // Writes hidden in function calls pass the parser; the read-only transaction stops them.
            fx.admin(&format!(
                "CREATE SEQUENCE {schema}.seq; \
                 CREATE FUNCTION {schema}.wipe() RETURNS bigint LANGUAGE sql AS \
                 $$ DELETE FROM {t} RETURNING 1 $$"
            ))
            .await;
            for sql in [
                format!("SELECT nextval('{schema}.seq') AS n"),
                format!("SELECT {schema}.wipe() AS n"),
            ] {
                let ds = Dataset::new(db.dialect(), "x", &sql, vec![col("n", ColumnType::Integer)])
                    .expect("a function call parses as a query");
                let q = query(json!({"dataset": "x", "measures": [{"agg": "max", "column": "n"}]}));
                let e = source
                    .run(&compile(db.dialect(), &q, &ds, &[], &[]).unwrap())
                    .await
                    .unwrap_err();
                assert_polite(&e, DataErrorKind::QueryFailed);
                assert!(e.detail().contains("read-only"), "{}", e.detail());
            }
            // Relaxing the session default does not open the next statement to writes.
            let relax = "SELECT set_config('default_transaction_read_only', 'off', false) AS n";
            let _ = source.run(&raw(db, relax.into())).await;
            let e = source
                .run(&raw(db, format!("DELETE FROM {t}")))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), DataErrorKind::QueryFailed);
        }
        Db::MySql => {
            let f = format!("{t}_wipe");
            fx.admin(&format!(
                "CREATE FUNCTION {f}() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM {t}; RETURN 1; END"
            ))
            .await;
            fx.drop_later(&format!("FUNCTION {f}"));
            let sql = format!("SELECT {f}() AS n");
            let ds =
                Dataset::new(db.dialect(), "x", &sql, vec![col("n", ColumnType::Integer)]).unwrap();
            let q = query(json!({"dataset": "x", "measures": [{"agg": "max", "column": "n"}]}));
            let e = source
                .run(&compile(db.dialect(), &q, &ds, &[], &[]).unwrap())
                .await
                .unwrap_err();
            assert_polite(&e, DataErrorKind::QueryFailed);
        }
    }
    assert_eq!(fx.count_orders().await, 7, "nothing was written");
    fx.cleanup().await;
}

async fn a_long_query_times_out_politely_and_the_source_recovers(db: Db) {
    let Some(fx) = Fixture::new(db, "a_long_query_times_out_politely").await else {
        return;
    };
    let source = fx.source(DataSourceOptions {
        statement_timeout: Duration::from_secs(1),
        max_connections: 1,
        ..DataSourceOptions::default()
    });
    let slow = match db {
        Db::Sqlite => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
        }
        Db::Postgres => "SELECT 1 AS x FROM pg_sleep(30)",
        Db::MySql => "SELECT SLEEP(30) AS x",
    };
    let ds = Dataset::new(
        db.dialect(),
        "slow",
        slow,
        vec![col("x", ColumnType::Integer)],
    )
    .unwrap();
    let q = query(json!({"dataset": "slow", "measures": [{"agg": "max", "column": "x"}]}));
    let started = std::time::Instant::now();
    let e = source
        .run(&compile(db.dialect(), &q, &ds, &[], &[]).unwrap())
        .await
        .unwrap_err();
    assert!(
        !e.detail().contains("backstop"),
        "the database stopped it itself: {e:?}"
    );
    assert_polite(&e, DataErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the statement was stopped"
    );
    // The (single) pooled connection is usable again.
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "count"}]}));
    let t = run(
        &source,
        &compile(db.dialect(), &q, &orders(&fx), &[], &[]).unwrap(),
    )
    .await;
    assert_eq!(rows(&t), [vec![Value::Int(7)]]);
    fx.cleanup().await;
}

async fn the_row_cap_truncates_or_fails_politely(db: Db) {
    let Some(fx) = Fixture::new(db, "the_row_cap_truncates_or_fails_politely").await else {
        return;
    };
    let q = query(json!({
        "dataset": "orders",
        "dimensions": [{"column": "id"}],
        "measures": [{"agg": "sum", "column": "amount"}]
    }));
    let compiled = compile(db.dialect(), &q, &orders(&fx), &[], &[]).unwrap();
    let capped = fx.source(DataSourceOptions {
        row_cap: 3,
        ..DataSourceOptions::default()
    });
    let t = run(&capped, &compiled).await;
    assert!(t.truncated);
    assert_eq!(t.rows.len(), 3);
    assert_eq!(t.rows[2][0], Value::Int(3));

    let strict = fx.source(DataSourceOptions {
        row_cap: 3,
        row_cap_policy: RowCapPolicy::Fail,
        ..DataSourceOptions::default()
    });
    let e = strict.run(&compiled).await.unwrap_err();
    assert_polite(&e, DataErrorKind::RowCap);

    let exact = fx.source(DataSourceOptions {
        row_cap: 7,
        row_cap_policy: RowCapPolicy::Fail,
        ..DataSourceOptions::default()
    });
    let t = run(&exact, &compiled).await;
    assert_eq!((t.rows.len(), t.truncated), (7, false));
    fx.cleanup().await;
}

async fn single_flight_runs_one_real_query_for_many_viewers(db: Db) {
    let Some(fx) = Fixture::new(db, "single_flight_runs_one_real_query").await else {
        return;
    };
    let source = Arc::new(fx.default_source());
    let cache = Arc::new(ResultCache::<ResultTable>::new(
        Arc::new(SystemClock) as Arc<dyn Clock>,
        100,
    ));
    let q = query(json!({
        "dataset": "orders",
        "dimensions": [{"column": "region"}],
        "measures": [{"agg": "count"}]
    }));
    let f = filters(json!({"plan": "pro"}));
    let compiled = Arc::new(compile(db.dialect(), &q, &orders(&fx), &f, &[]).unwrap());
    let key = CacheKey::new("dash-1/by_region@1", &f, &[]);
    let executions = Arc::new(AtomicUsize::new(0));
    let viewers = 24;
    let barrier = Arc::new(tokio::sync::Barrier::new(viewers));
    let tasks: Vec<_> = (0..viewers)
        .map(|_| {
            let (source, cache, compiled, key, executions, barrier) = (
                source.clone(),
                cache.clone(),
                compiled.clone(),
                key.clone(),
                executions.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                cache
                    .get_or_run(key, Duration::from_secs(60), || async move {
                        executions.fetch_add(1, Ordering::SeqCst);
                        // Hold the flight open so every viewer arrives while it runs.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        source.run(&compiled).await
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(executions.load(Ordering::SeqCst), 1);
    assert_eq!(results.iter().filter(|c| c.ran).count(), 1);
    let first = &results[0].value;
    assert!(results.iter().all(|c| Arc::ptr_eq(&c.value, first)));
    assert_eq!(
        rows(first),
        [
            vec![text("EU"), Value::Int(2)],
            vec![text("US"), Value::Int(2)]
        ]
    );
    fx.cleanup().await;
}

async fn test_connection_succeeds_and_an_unreachable_source_is_unavailable(db: Db) {
    let Some(fx) = Fixture::new(db, "test_connection").await else {
        return;
    };
    fx.default_source().test_connection().await.unwrap();
    let bad = match db {
        Db::Sqlite => DataSourceConfig::Sqlite {
            path: "/nonexistent/vitrine/warehouse.db".into(),
        },
        Db::Postgres => DataSourceConfig::Postgres {
            url: "postgres://nobody:secret@127.0.0.1:1/none".into(),
        },
        Db::MySql => DataSourceConfig::MySql {
            url: "mysql://nobody:secret@127.0.0.1:1/none".into(),
        },
    };
    let source = DataSource::open(
        &bad,
        DataSourceOptions {
            statement_timeout: Duration::from_secs(1),
            ..DataSourceOptions::default()
        },
    )
    .unwrap();
    let e = source.test_connection().await.unwrap_err();
    assert_polite(&e, DataErrorKind::Unavailable);
    assert!(!e.detail().contains("secret"));
    fx.cleanup().await;
}

/// The widest accepted date range runs on every database (MySQL's `DATE` starts at year
/// 1000, which is why Vitrine's bounds do).
async fn the_widest_accepted_date_range_runs_everywhere(db: Db) {
    let Some(fx) = Fixture::new(db, "the_widest_accepted_date_range_runs_everywhere").await else {
        return;
    };
    let source = fx.default_source();
    let q = query(json!({"dataset": "orders", "measures": [{"agg": "count"}]}));
    let f = filters(json!({"period": {"from": "1000-01-01", "to": "9998-12-31"}}));
    let t = run(
        &source,
        &compile(db.dialect(), &q, &orders(&fx), &f, &[]).unwrap(),
    )
    .await;
    assert_eq!(rows(&t), [vec![Value::Int(7)]]);
    let rules = [RowLevelRule::new(
        "ordered_at",
        RuleOp::Between,
        vec!["1000-01-01".into(), "9998-12-31".into()],
    )
    .unwrap()];
    let t = run(
        &source,
        &compile(db.dialect(), &q, &orders(&fx), &[], &rules).unwrap(),
    )
    .await;
    assert_eq!(rows(&t), [vec![Value::Int(7)]]);
    fx.cleanup().await;
}

/// PostgreSQL stores `infinity` and years past 9999; MySQL stores zero dates. Reading them
/// must not panic (sqlx's own PostgreSQL decoding does).
async fn dates_the_calendar_cannot_hold_are_read_without_panicking(db: Db) {
    let Some(fx) = Fixture::new(db, "dates_the_calendar_cannot_hold").await else {
        return;
    };
    let source = fx.default_source();
    let (sql, expected) = match db {
        Db::Postgres => (
            "SELECT 'infinity'::timestamp AS a, '-infinity'::date AS b, \
             '20000-01-01'::date AS c, 'infinity'::timestamptz AS d",
            vec![
                text("infinity"),
                text("-infinity"),
                Value::Null,
                text("infinity"),
            ],
        ),
        Db::MySql => (
            "SELECT CAST('0000-00-00' AS DATE) AS a, DATE '1000-01-01' AS b, \
             DATE '9999-12-31' AS c, TIMESTAMP '9999-12-31 23:59:59' AS d",
            vec![
                Value::Null,
                text("1000-01-01"),
                text("9999-12-31"),
                text("9999-12-31T23:59:59"),
            ],
        ),
        Db::Sqlite => (
            "SELECT '0000-00-00' AS a, '1000-01-01' AS b, '9999-12-31' AS c, \
             '9999-12-31 23:59:59' AS d",
            vec![
                text("0000-00-00"),
                text("1000-01-01"),
                text("9999-12-31"),
                text("9999-12-31T23:59:59"),
            ],
        ),
    };
    let q = CompiledQuery {
        dialect: db.dialect(),
        sql: sql.to_string(),
        params: vec![],
        columns: vec![
            col("a", ColumnType::Timestamp),
            col("b", ColumnType::Date),
            col("c", ColumnType::Date),
            col("d", ColumnType::Timestamp),
        ],
    };
    let t = run(&source, &q).await;
    assert_eq!(rows(&t), [expected]);
    fx.cleanup().await;
}
