//! The demo warehouse and the demo content: every dataset and every widget runs on a real
//! generated warehouse, the numbers move when the appender ticks, and the demo dashboards keep
//! showing every widget and filter kind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, SqliteConnection};
use tempfile::TempDir;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use vitrine::warehouse::{self, AppendStats};
use vitrine_core::dashboard::{
    BarOrientation, BarStacking, Dashboard, DatasetColumns, DateRange, FilterKind, FilterValue,
    NumberRange, RelativeDate, Scalar, WidgetKind, validate,
};
use vitrine_core::result::{ColumnType, Value};
use vitrine_data::{
    DataSource, DataSourceConfig, DataSourceOptions, Dataset, Dialect, WidgetData,
    check_dataset_sql, compile_distinct_values, compile_widget,
};

/// A Monday afternoon, so "today" already has activity.
const NOW: OffsetDateTime = datetime!(2026-11-23 14:30:07 UTC);

struct Warehouse {
    _dir: TempDir,
    path: PathBuf,
}

async fn warehouse_at(now: OffsetDateTime) -> Warehouse {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warehouse.db");
    let started = std::time::Instant::now();
    warehouse::create(&path, now).await.unwrap();
    eprintln!("demo warehouse created in {:?}", started.elapsed());
    Warehouse { _dir: dir, path }
}

async fn warehouse() -> Warehouse {
    warehouse_at(NOW).await
}

/// A read-only data source over the warehouse, as Vitrine opens it.
fn source(path: &Path) -> DataSource {
    DataSource::open(
        &DataSourceConfig::Sqlite {
            path: path.to_path_buf(),
        },
        DataSourceOptions {
            statement_timeout: StdDuration::from_secs(5),
            ..DataSourceOptions::default()
        },
    )
    .unwrap()
}

/// A writable connection, for the tests' own bookkeeping queries.
async fn connect(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

async fn scalar_i64(path: &Path, sql: &'static str) -> i64 {
    let mut conn = connect(path).await;
    let v = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    v
}

async fn scalar_text(path: &Path, sql: &'static str) -> String {
    let mut conn = connect(path).await;
    let v = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    v
}

/// Every demo dataset, checked and with its columns discovered through `source`.
async fn datasets(source: &DataSource) -> BTreeMap<String, Dataset> {
    let mut out = BTreeMap::new();
    for d in warehouse::datasets() {
        check_dataset_sql(Dialect::Sqlite, d.sql)
            .unwrap_or_else(|e| panic!("dataset `{}` is rejected: {e}", d.slug));
        let columns = source
            .discover_columns(d.sql)
            .await
            .unwrap_or_else(|e| panic!("dataset `{}`: {}", d.slug, e.detail()));
        let dataset = Dataset::new(Dialect::Sqlite, d.slug, d.sql, columns).unwrap();
        out.insert(d.slug.to_string(), dataset);
    }
    out
}

fn columns_of(datasets: &BTreeMap<String, Dataset>) -> DatasetColumns {
    datasets
        .iter()
        .map(|(slug, d)| (slug.clone(), d.columns().to_vec()))
        .collect()
}

fn dashboards() -> Vec<(&'static str, Dashboard)> {
    warehouse::dashboards()
        .iter()
        .map(|d| {
            let dashboard = Dashboard::from_yaml(d.yaml)
                .unwrap_or_else(|e| panic!("dashboard `{}` does not parse: {e}", d.slug));
            (d.slug, dashboard)
        })
        .collect()
}

fn kind_of(datasets: &BTreeMap<String, Dataset>, dataset: &str, column: &str) -> ColumnType {
    datasets[dataset]
        .columns()
        .iter()
        .find(|c| c.name == column)
        .unwrap_or_else(|| panic!("`{dataset}` has no column `{column}`"))
        .kind
}

/// Runs every widget of `dashboard` with the `chosen` filter values (over the defaults) and
/// returns the widgets' data by id.
async fn run_dashboard(
    source: &DataSource,
    datasets: &BTreeMap<String, Dataset>,
    dashboard: &Dashboard,
    chosen: &BTreeMap<String, FilterValue>,
    now: OffsetDateTime,
) -> BTreeMap<String, WidgetData> {
    let filters = dashboard.effective_filters(chosen, now).unwrap();
    let mut out = BTreeMap::new();
    for widget in &dashboard.widgets {
        let Some(query) = &widget.query else { continue };
        let dataset = &datasets[query.dataset.as_str()];
        let compiled = compile_widget(Dialect::Sqlite, widget, dataset, &filters, &[])
            .unwrap_or_else(|e| panic!("widget `{}` does not compile: {}", widget.id, e.detail()));
        let data = source
            .run_widget(&compiled)
            .await
            .unwrap_or_else(|e| panic!("widget `{}` fails: {}", widget.id, e.detail()));
        out.insert(widget.id.to_string(), data);
    }
    out
}

fn kpi_value(data: &WidgetData) -> f64 {
    match data {
        WidgetData::Kpi { value, .. } => value.as_f64().expect("a numeric KPI value"),
        other => panic!("not a KPI: {other:?}"),
    }
}

#[tokio::test]
async fn every_dataset_is_one_read_only_query_whose_columns_are_discovered_with_their_types() {
    let w = warehouse().await;
    let datasets = datasets(&source(&w.path)).await;
    assert_eq!(
        datasets.keys().map(String::as_str).collect::<Vec<_>>(),
        ["revenue", "signups", "tickets", "usage"]
    );
    use ColumnType::*;
    for (dataset, column, kind) in [
        ("signups", "signed_up_at", Timestamp),
        ("signups", "converted", Integer),
        ("signups", "channel", Text),
        ("revenue", "booked_at", Timestamp),
        ("revenue", "month", Date),
        ("revenue", "amount_usd", Number),
        ("revenue", "seats", Integer),
        ("usage", "day", Date),
        ("usage", "api_calls", Integer),
        ("usage", "storage_gb", Number),
        ("tickets", "opened_at", Timestamp),
        ("tickets", "closed_at", Timestamp),
        ("tickets", "first_response_seconds", Integer),
        ("tickets", "resolution_seconds", Integer),
        ("tickets", "satisfaction", Integer),
    ] {
        assert_eq!(
            kind_of(&datasets, dataset, column),
            kind,
            "{dataset}.{column}"
        );
    }
    // Later issues restrict guests by customer; every dataset must carry the column.
    for slug in datasets.keys() {
        assert_eq!(kind_of(&datasets, slug, "customer_id"), Integer, "{slug}");
        for common in ["plan", "region"] {
            assert_eq!(kind_of(&datasets, slug, common), Text, "{slug}.{common}");
        }
    }
}

#[tokio::test]
async fn every_demo_dashboard_validates_and_every_widget_returns_rows_with_default_filters() {
    let w = warehouse().await;
    let source = source(&w.path);
    let datasets = datasets(&source).await;
    let columns = columns_of(&datasets);
    for (slug, dashboard) in dashboards() {
        validate(&dashboard, &columns)
            .unwrap_or_else(|e| panic!("dashboard `{slug}` does not validate: {e}"));
        assert!(
            (10..=30).contains(&dashboard.refresh_seconds),
            "{slug} refreshes every {} s",
            dashboard.refresh_seconds
        );
        let started = std::time::Instant::now();
        let data = run_dashboard(&source, &datasets, &dashboard, &BTreeMap::new(), NOW).await;
        eprintln!(
            "{slug}: {} widgets ran in {:?}",
            data.len(),
            started.elapsed()
        );
        for (id, d) in &data {
            match d {
                WidgetData::Table(t) => {
                    assert!(!t.rows.is_empty(), "{slug}/{id} returned no rows");
                }
                WidgetData::Kpi {
                    value,
                    previous,
                    sparkline,
                    ..
                } => {
                    assert!(
                        value.as_f64().is_some_and(|v| v > 0.0),
                        "{slug}/{id}: {value:?}"
                    );
                    // Every KPI's dataset is bound to a date-range filter with a default, so
                    // it always has a period to compare with.
                    assert!(
                        previous
                            .as_ref()
                            .is_some_and(|p| p.as_f64().is_some_and(|v| v > 0.0)),
                        "{slug}/{id} has no comparison: {previous:?}"
                    );
                    assert!(
                        sparkline.as_ref().is_some_and(|s| s.rows.len() > 1),
                        "{slug}/{id} has no sparkline"
                    );
                }
            }
        }
        let text = dashboard
            .widgets
            .iter()
            .filter(|w| w.kind == WidgetKind::Text)
            .count();
        assert_eq!(data.len() + text, dashboard.widgets.len(), "{slug}");
    }
}

#[tokio::test]
async fn every_filter_restricts_the_widgets_it_is_bound_to() {
    let w = warehouse().await;
    let source = source(&w.path);
    let datasets = datasets(&source).await;
    for (slug, dashboard) in dashboards() {
        let mut chosen = BTreeMap::new();
        for f in &dashboard.filters {
            // Options of select filters come from the column's distinct values.
            let (dataset, column) = f.columns.iter().next().unwrap();
            let options = compile_distinct_values(
                Dialect::Sqlite,
                &datasets[dataset.as_str()],
                column,
                100,
                &[],
            )
            .unwrap();
            let options: Vec<Scalar> = source
                .run(&options)
                .await
                .unwrap()
                .rows
                .into_iter()
                .map(|r| match &r[0] {
                    Value::Text(s) => Scalar::Text(s.clone()),
                    Value::Int(i) => Scalar::Int(*i),
                    other => panic!("unexpected option {other:?}"),
                })
                .collect();
            let value = match f.kind {
                FilterKind::SingleSelect => {
                    assert!(options.len() >= 2, "{slug}/{}: {options:?}", f.id);
                    FilterValue::One(options[0].clone())
                }
                FilterKind::MultiSelect => {
                    assert!(options.len() >= 3, "{slug}/{}: {options:?}", f.id);
                    FilterValue::Many(options[..2].to_vec())
                }
                FilterKind::DateRange => FilterValue::DateRange(DateRange::Relative {
                    preset: RelativeDate::Last7Days,
                }),
                FilterKind::NumberRange => FilterValue::NumberRange(NumberRange {
                    min: Some(10.0),
                    max: Some(80.0),
                }),
            };
            chosen.insert(f.id.to_string(), value);
        }
        let all = run_dashboard(&source, &datasets, &dashboard, &BTreeMap::new(), NOW).await;
        let narrowed = run_dashboard(&source, &datasets, &dashboard, &chosen, NOW).await;
        let mut smaller = 0;
        for (id, d) in &narrowed {
            if let (WidgetData::Kpi { .. }, WidgetData::Kpi { value, .. }) = (d, &all[id]) {
                let (n, a) = (kpi_value(d), value.as_f64().unwrap_or(0.0));
                // Averages may go either way; counts and sums can only shrink.
                if n < a {
                    smaller += 1;
                }
            }
        }
        assert!(smaller >= 2, "{slug}: the filters did not narrow the KPIs");
    }
}

#[test]
fn the_demo_dashboards_use_every_widget_kind_and_every_filter_kind() {
    // Exhaustive matches: a new kind fails to compile here until the demo shows it.
    let widget_kinds = |k: WidgetKind| match k {
        WidgetKind::Kpi
        | WidgetKind::Line
        | WidgetKind::Area
        | WidgetKind::Bar
        | WidgetKind::Pie
        | WidgetKind::Table
        | WidgetKind::Text => k,
    };
    let filter_kinds = |k: FilterKind| match k {
        FilterKind::SingleSelect
        | FilterKind::MultiSelect
        | FilterKind::DateRange
        | FilterKind::NumberRange => k,
    };
    let mut widgets = BTreeSet::new();
    let mut filters = BTreeSet::new();
    let mut bars = Vec::new();
    let mut relative_default = false;
    let mut stacked_area = false;
    for (_, d) in dashboards() {
        for w in &d.widgets {
            widgets.insert(format!("{:?}", widget_kinds(w.kind)));
            if w.kind == WidgetKind::Bar {
                bars.push((
                    w.options.orientation.unwrap_or_default(),
                    w.options.stacking.unwrap_or_default(),
                ));
            }
            stacked_area |=
                w.kind == WidgetKind::Area && w.options.stacking == Some(BarStacking::Stacked);
        }
        for f in &d.filters {
            filters.insert(format!("{:?}", filter_kinds(f.kind)));
            relative_default |= matches!(
                f.default,
                Some(FilterValue::DateRange(DateRange::Relative { .. }))
            );
        }
    }
    assert_eq!(
        widgets,
        ["Area", "Bar", "Kpi", "Line", "Pie", "Table", "Text"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        filters,
        ["DateRange", "MultiSelect", "NumberRange", "SingleSelect"]
            .map(String::from)
            .into()
    );
    for wanted in [
        (BarOrientation::Vertical, BarStacking::Stacked),
        (BarOrientation::Vertical, BarStacking::Grouped),
        (BarOrientation::Horizontal, BarStacking::Grouped),
    ] {
        assert!(bars.contains(&wanted), "no {wanted:?} bar in {bars:?}");
    }
    assert!(stacked_area, "no stacked area");
    assert!(
        relative_default,
        "no date range defaults to a relative preset"
    );
    assert!((2..=3).contains(&warehouse::dashboards().len()));
}

#[tokio::test]
async fn appending_adds_rows_and_the_kpis_move() {
    let w = warehouse().await;
    let source = source(&w.path);
    let datasets = datasets(&source).await;
    let (_, usage) = dashboards()
        .into_iter()
        .find(|(slug, _)| *slug == "customer-usage")
        .unwrap();
    let before = run_dashboard(&source, &datasets, &usage, &BTreeMap::new(), NOW).await;
    let counts = async |path: &Path| {
        [
            scalar_i64(path, "SELECT COUNT(*) FROM signups").await,
            scalar_i64(path, "SELECT COUNT(*) FROM revenue").await,
            scalar_i64(path, "SELECT COUNT(*) FROM tickets").await,
            scalar_i64(path, "SELECT COUNT(*) FROM customers").await,
        ]
    };
    let rows_before = counts(&w.path).await;

    // Half a minute of live ticks, five seconds apart.
    let mut total = AppendStats::default();
    let mut now = NOW;
    for tick in 0..6 {
        now += Duration::seconds(5);
        let s = warehouse::append(&w.path, now).await.unwrap();
        assert!(s.usage_rows > 100, "tick {tick}: {s:?}");
        total.signups += s.signups;
        total.new_customers += s.new_customers;
        total.revenue_rows += s.revenue_rows;
        total.tickets_opened += s.tickets_opened;
        total.tickets_responded += s.tickets_responded;
        total.tickets_closed += s.tickets_closed;
    }
    // A tick at the same instant adds nothing.
    assert_eq!(
        warehouse::append(&w.path, now).await.unwrap(),
        AppendStats::default()
    );

    let after = run_dashboard(&source, &datasets, &usage, &BTreeMap::new(), now).await;
    let (b, a) = (
        kpi_value(&before["api_calls"]),
        kpi_value(&after["api_calls"]),
    );
    assert!(a > b, "API calls did not grow: {b} → {a}");

    let rows_after = counts(&w.path).await;
    assert_eq!(
        rows_after[0] - rows_before[0],
        total.signups as i64,
        "{total:?}"
    );
    assert_eq!(rows_after[1] - rows_before[1], total.revenue_rows as i64);
    assert_eq!(rows_after[2] - rows_before[2], total.tickets_opened as i64);
    assert_eq!(rows_after[3] - rows_before[3], total.new_customers as i64);

    // Live ticks make discrete events frequent enough to be seen: over two more minutes,
    // sign-ups, invoices and tickets all arrive, and the revenue KPI moves with them.
    let (_, exec) = dashboards()
        .into_iter()
        .find(|(slug, _)| *slug == "executive-overview")
        .unwrap();
    let revenue_before = kpi_value(
        &run_dashboard(&source, &datasets, &exec, &BTreeMap::new(), now).await["revenue"],
    );
    let mut live = AppendStats::default();
    for _ in 0..24 {
        now += Duration::seconds(5);
        let s = warehouse::append(&w.path, now).await.unwrap();
        live.signups += s.signups;
        live.revenue_rows += s.revenue_rows;
        live.tickets_opened += s.tickets_opened;
    }
    assert!(
        live.signups > 0 && live.revenue_rows > 0 && live.tickets_opened > 0,
        "{live:?}"
    );
    let revenue_after = kpi_value(
        &run_dashboard(&source, &datasets, &exec, &BTreeMap::new(), now).await["revenue"],
    );
    assert!(revenue_after > revenue_before);
}

#[tokio::test]
async fn a_long_gap_is_caught_up_day_by_day_at_the_normal_pace() {
    let w = warehouse().await;
    let days_before = scalar_i64(&w.path, "SELECT COUNT(DISTINCT day) FROM usage").await;
    let signups_before = scalar_i64(&w.path, "SELECT COUNT(*) FROM signups").await;
    let later = NOW + Duration::days(3);
    let stats = warehouse::append(&w.path, later).await.unwrap();
    let days_after = scalar_i64(&w.path, "SELECT COUNT(DISTINCT day) FROM usage").await;
    assert_eq!(days_after, days_before + 3);
    let new_signups = scalar_i64(&w.path, "SELECT COUNT(*) FROM signups").await - signups_before;
    assert_eq!(new_signups, stats.signups as i64);
    // About 40–80 trials a day at this point of the company's life; never the live pace.
    assert!((100..=400).contains(&new_signups), "{stats:?}");
    assert!(
        stats.tickets_closed > 0 && stats.tickets_responded > 0,
        "{stats:?}"
    );

    // open_or_create keeps an existing warehouse and continues it.
    let customers = scalar_i64(&w.path, "SELECT COUNT(*) FROM customers").await;
    warehouse::open_or_create(&w.path, later + Duration::hours(1))
        .await
        .unwrap();
    assert!(scalar_i64(&w.path, "SELECT COUNT(*) FROM customers").await >= customers);
    let until: String = {
        let mut conn = connect(&w.path).await;
        sqlx::query_scalar("SELECT value FROM _demo_meta WHERE key = 'generated_until'")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(until, "2026-11-26T15:30:07Z");
}

#[tokio::test]
async fn open_or_create_creates_a_missing_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested-name.db");
    warehouse::open_or_create(&path, NOW).await.unwrap();
    assert!(scalar_i64(&path, "SELECT COUNT(*) FROM customers").await > 100);
}

#[tokio::test]
async fn the_same_seed_and_now_give_the_same_warehouse() {
    let fingerprint = async |path: &Path| {
        let mut conn = connect(path).await;
        let mut out = Vec::new();
        for sql in [
            "SELECT COUNT(*) || '/' || MAX(name) || '/' || SUM(seats) FROM customers",
            "SELECT COUNT(*) || '/' || SUM(converted) || '/' || MAX(signed_up_at) FROM signups",
            "SELECT COUNT(*) || '/' || ROUND(SUM(amount_usd), 2) FROM revenue",
            "SELECT COUNT(*) || '/' || SUM(api_calls) || '/' || SUM(active_users) FROM usage",
            "SELECT COUNT(*) || '/' || SUM(first_response_minutes) || '/' || SUM(satisfaction) FROM tickets",
        ] {
            let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await
                .unwrap();
            out.push(v);
        }
        out
    };
    let (a, b) = (warehouse().await, warehouse().await);
    assert_eq!(fingerprint(&a.path).await, fingerprint(&b.path).await);

    let other = tempfile::tempdir().unwrap();
    let path = other.path().join("other.db");
    warehouse::create_seeded(&path, NOW, 42).await.unwrap();
    assert_ne!(fingerprint(&a.path).await, fingerprint(&path).await);
}

#[tokio::test]
async fn the_history_looks_like_a_growing_saas_company() {
    let w = warehouse().await;
    let p = w.path.as_path();
    let customers = scalar_i64(p, "SELECT COUNT(*) FROM customers").await;
    assert!((200..=700).contains(&customers), "{customers} customers");
    assert_eq!(
        scalar_i64(p, "SELECT COUNT(DISTINCT plan) FROM customers").await,
        3
    );
    assert_eq!(
        scalar_i64(p, "SELECT COUNT(DISTINCT region) FROM customers").await,
        3
    );
    assert_eq!(
        scalar_i64(
            p,
            "SELECT COUNT(*) FROM customers WHERE name LIKE 'Company %'"
        )
        .await,
        0,
        "the word lists ran out of names"
    );
    assert!(
        scalar_i64(
            p,
            "SELECT COUNT(*) FROM customers WHERE churned_at IS NOT NULL"
        )
        .await
            > 20
    );
    // Every converted trial names its customer, and only those do.
    assert_eq!(
        scalar_i64(p, "SELECT COUNT(*) FROM signups WHERE converted = 1").await,
        scalar_i64(
            p,
            "SELECT COUNT(*) FROM signups s JOIN customers c ON c.customer_id = s.customer_id"
        )
        .await
    );
    // Subscription revenue (MRR) grows: the last full month beats the first.
    let first = scalar_i64(
        p,
        "SELECT CAST(SUM(amount_usd) AS INTEGER) FROM revenue WHERE kind = 'subscription' \
         AND month = (SELECT MIN(month) FROM revenue)",
    )
    .await;
    let last = scalar_i64(
        p,
        "SELECT CAST(SUM(amount_usd) AS INTEGER) FROM revenue WHERE kind = 'subscription' \
         AND month = '2026-10-01'",
    )
    .await;
    assert!(last > first * 11 / 10, "MRR {first} → {last}");
    assert_eq!(
        scalar_text(p, "SELECT MIN(month) FROM revenue").await,
        "2025-05-01",
        "history starts 18 months before November 2026"
    );
    // Usage has a weekly rhythm: weekdays busier than weekends.
    let weekday = scalar_i64(
        p,
        "SELECT SUM(api_calls) / COUNT(DISTINCT day) FROM usage \
         WHERE strftime('%w', day) NOT IN ('0', '6') AND day < '2026-11-23'",
    )
    .await;
    let weekend = scalar_i64(
        p,
        "SELECT SUM(api_calls) / COUNT(DISTINCT day) FROM usage \
         WHERE strftime('%w', day) IN ('0', '6')",
    )
    .await;
    assert!(weekday > 2 * weekend, "{weekday} vs {weekend}");
    // Tickets: some still open, the solved ones rated 1–5, nothing in the future.
    assert!(scalar_i64(p, "SELECT COUNT(*) FROM tickets WHERE status <> 'solved'").await > 0);
    assert_eq!(
        scalar_i64(
            p,
            "SELECT COUNT(*) FROM tickets WHERE satisfaction NOT BETWEEN 1 AND 5 \
             OR (satisfaction IS NOT NULL AND status <> 'solved')"
        )
        .await,
        0
    );
    for sql in [
        "SELECT COUNT(*) FROM tickets WHERE opened_at > '2026-11-23T14:30:07Z' \
         OR closed_at > '2026-11-23T14:30:07Z' OR closed_at < opened_at",
        "SELECT COUNT(*) FROM signups WHERE signed_up_at > '2026-11-23T14:30:07Z'",
        "SELECT COUNT(*) FROM revenue WHERE booked_at > '2026-11-23T14:30:07Z'",
        "SELECT COUNT(*) FROM usage WHERE day > '2026-11-23'",
    ] {
        assert_eq!(scalar_i64(p, sql).await, 0, "{sql}");
    }
}

#[tokio::test]
async fn readers_are_not_blocked_while_the_appender_writes() {
    let w = warehouse().await;
    let mut writer = connect(&w.path).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut writer)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let source = source(&w.path);
    let datasets = datasets(&source).await;
    let (_, support) = dashboards()
        .into_iter()
        .find(|(slug, _)| *slug == "support")
        .unwrap();
    let before = kpi_value(
        &run_dashboard(&source, &datasets, &support, &BTreeMap::new(), NOW).await["opened"],
    );

    // The appender holds the write lock with an uncommitted ticket...
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.unwrap();
    sqlx::query(
        "INSERT INTO tickets (opened_at, customer_id, priority, category, status) \
         VALUES ('2026-11-23T14:00:00Z', 1, 'high', 'Bug', 'open')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    // ... and readers still answer at once, without seeing it.
    let during = tokio::time::timeout(
        StdDuration::from_secs(3),
        run_dashboard(&source, &datasets, &support, &BTreeMap::new(), NOW),
    )
    .await
    .expect("a reader waited for the writer");
    assert_eq!(kpi_value(&during["opened"]), before);
    tx.commit().await.unwrap();
    let after = kpi_value(
        &run_dashboard(&source, &datasets, &support, &BTreeMap::new(), NOW).await["opened"],
    );
    assert_eq!(after, before + 1.0);
}

#[tokio::test]
async fn the_appender_task_follows_its_clock_until_aborted() {
    let w = warehouse().await;
    let clock = std::sync::Arc::new(vitrine_core::clock::ManualClock::new(NOW));
    let generated_until = async |path: &Path| {
        scalar_text(
            path,
            "SELECT value FROM _demo_meta WHERE key = 'generated_until'",
        )
        .await
    };
    clock.advance(Duration::seconds(5));
    let task =
        warehouse::spawn_appender(w.path.clone(), clock.clone(), StdDuration::from_millis(20));
    let mut seen = String::new();
    for _ in 0..250 {
        seen = generated_until(&w.path).await;
        if seen == "2026-11-23T14:30:12Z" {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert_eq!(seen, "2026-11-23T14:30:12Z");
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
}

/// The builder's choices over the demo datasets' real columns agree with validation both
/// ways: every offered choice makes a document that validates, every refused one a document
/// that validation refuses. The documents here are built independently of the probes inside
/// `builder_choices` (a bar widget, a line widget, a dashboard filter).
#[tokio::test]
async fn the_builder_offers_exactly_what_validation_accepts_over_the_demo_datasets() {
    use vitrine_core::dashboard::{ALL_AGGREGATES, ALL_BUCKETS, ALL_FILTER_KINDS, builder_choices};
    let wh = warehouse().await;
    let datasets = datasets(&source(&wh.path)).await;
    let known = columns_of(&datasets);
    let doc = |slug: &str, widget: String, filter: Option<String>| {
        let filters = filter
            .map(|f| format!("filters:\n  - {{ id: f, label: F, {f} }}\n"))
            .unwrap_or_default();
        let yaml = format!(
            "version: 1\ntitle: T\n{filters}widgets:\n  - id: w\n    layout: {{x: 0, y: 0, w: 6, h: 4}}\n{widget}"
        );
        let _ = slug;
        Dashboard::from_yaml(&yaml)
            .map_err(|e| e.to_string())
            .and_then(|d| validate(&d, &known).map_err(|e| e.to_string()))
    };
    let mut checked = 0;
    for (slug, dataset) in &datasets {
        let started = std::time::Instant::now();
        let choices = builder_choices(slug, dataset.columns());
        eprintln!(
            "builder choices for `{slug}` ({} columns) in {:?}",
            dataset.columns().len(),
            started.elapsed()
        );
        assert_eq!(choices.columns.len(), dataset.columns().len());
        let first_text = dataset
            .columns()
            .iter()
            .find(|c| c.kind == ColumnType::Text)
            .map(|c| c.name.clone())
            .unwrap();
        for c in &choices.columns {
            let name = &c.name;
            for agg in ALL_AGGREGATES {
                let widget = format!(
                    "    kind: bar\n    query:\n      dataset: {slug}\n      dimensions: [{{ column: {first_text} }}]\n      measures: [{{ agg: {}, column: {name}, name: m }}]\n",
                    agg.as_str()
                );
                let outcome = doc(slug, widget, None);
                assert_eq!(
                    outcome.is_ok(),
                    c.aggregates.contains(&agg),
                    "{slug}.{name} ({:?}) with {}: {outcome:?}",
                    c.kind,
                    agg.as_str()
                );
                checked += 1;
            }
            for bucket in ALL_BUCKETS {
                let b = serde_json::to_value(bucket).unwrap();
                let widget = format!(
                    "    kind: line\n    query:\n      dataset: {slug}\n      dimensions: [{{ column: {name}, bucket: {} }}]\n      measures: [{{ agg: count }}]\n",
                    b.as_str().unwrap()
                );
                let outcome = doc(slug, widget, None);
                assert_eq!(
                    outcome.is_ok(),
                    c.buckets.contains(&bucket),
                    "{slug}.{name} bucketed: {outcome:?}"
                );
                checked += 1;
            }
            for kind in ALL_FILTER_KINDS {
                let k = serde_json::to_value(kind).unwrap();
                let widget = format!(
                    "    kind: kpi\n    query:\n      dataset: {slug}\n      measures: [{{ agg: count }}]\n"
                );
                let filter = format!(
                    "kind: {}, columns: {{ {slug}: {name} }}",
                    k.as_str().unwrap()
                );
                let outcome = doc(slug, widget, Some(filter));
                assert_eq!(
                    outcome.is_ok(),
                    c.filter_kinds.contains(&kind),
                    "{slug}.{name} as {kind:?} filter: {outcome:?}"
                );
                checked += 1;
            }
            // A series beside another column (one output per name).
            let other = &dataset
                .columns()
                .iter()
                .find(|o| &o.name != name)
                .unwrap()
                .name;
            let widget = format!(
                "    kind: bar\n    query:\n      dataset: {slug}\n      dimensions: [{{ column: {other} }}]\n      series: {name}\n      measures: [{{ agg: count }}]\n"
            );
            assert_eq!(
                doc(slug, widget, None).is_ok(),
                c.series,
                "{slug}.{name} as series"
            );
            // A dimension alone (a table of distinct values).
            let widget = format!(
                "    kind: table\n    query:\n      dataset: {slug}\n      dimensions: [{{ column: {name} }}]\n"
            );
            let outcome = doc(slug, widget, None);
            assert_eq!(
                outcome.is_ok(),
                c.dimension,
                "{slug}.{name} as a dimension: {outcome:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked} choices checked");
}

/// One widget (indented as an item of `widgets`) of `kind` over `slug`: `dims` dimensions
/// (column, bucket), `measures` counts named `m0`, `m1` …, a series, and `options` (YAML
/// flow mapping entries).
fn probe_widget_yaml(
    kind: &str,
    slug: &str,
    dims: &[(&str, Option<&str>)],
    measures: usize,
    series: Option<&str>,
    options: &str,
) -> String {
    let mut w = format!("    kind: {kind}\n");
    if kind != "text" {
        w.push_str(&format!("    query:\n      dataset: {slug}\n"));
        if !dims.is_empty() {
            let list: Vec<String> = dims
                .iter()
                .map(|(c, b)| match b {
                    Some(b) => format!("{{ column: {c}, bucket: {b} }}"),
                    None => format!("{{ column: {c} }}"),
                })
                .collect();
            w.push_str(&format!("      dimensions: [{}]\n", list.join(", ")));
        }
        if measures > 0 {
            let list: Vec<String> = (0..measures)
                .map(|i| format!("{{ agg: count, name: m{i} }}"))
                .collect();
            w.push_str(&format!("      measures: [{}]\n", list.join(", ")));
        }
        if let Some(s) = series {
            w.push_str(&format!("      series: {s}\n"));
        }
    }
    if !options.is_empty() {
        w.push_str(&format!("    options: {{ {options} }}\n"));
    }
    w
}

/// The kind half of "the builder offers exactly what validation accepts", over the demo
/// datasets' real columns, with documents written here (not the probes of `kind_choices`):
/// every kind × 0–3 dimensions × 0–3 measures × with and without a series × bucketed or not
/// validates exactly when the builder's `shapes` (and `bucket_required`) offer it; the
/// bounds it shows are those of the shapes; every option validates on exactly the kinds that
/// offer it; and the lists the builder takes from the choices (date-range presets, number
/// formats and currencies, limit and page-size bounds) validate, while their neighbours do
/// not.
#[tokio::test]
async fn the_builder_offers_exactly_the_shapes_and_options_validation_accepts_for_every_kind() {
    use vitrine_core::dashboard::{ALL_KINDS, ALL_OPTIONS, builder_choices};
    let wh = warehouse().await;
    let datasets = datasets(&source(&wh.path)).await;
    let known = columns_of(&datasets);
    let check = |widget: String, filters: &str| {
        let yaml = format!(
            "version: 1\ntitle: T\n{filters}widgets:\n  - id: w\n    layout: {{x: 0, y: 0, w: 6, h: 4}}\n{widget}"
        );
        Dashboard::from_yaml(&yaml)
            .map_err(|e| e.to_string())
            .and_then(|d| validate(&d, &known).map_err(|e| e.to_string()))
    };
    let mut checked = 0;
    let mut kinds_seen = BTreeSet::new();
    for (slug, dataset) in &datasets {
        let choices = builder_choices(slug, dataset.columns());
        let names = |f: &dyn Fn(&vitrine_core::dashboard::ColumnChoices) -> bool| -> Vec<String> {
            choices
                .columns
                .iter()
                .filter(|c| f(c))
                .map(|c| c.name.clone())
                .collect()
        };
        let dated = names(&|c| !c.buckets.is_empty());
        let Some(series_col) = names(&|c| c.series && c.kind == ColumnType::Text)
            .first()
            .cloned()
        else {
            continue;
        };
        let plain = names(&|c| c.dimension && c.name != series_col);
        for kind in ALL_KINDS {
            let kind_name = serde_json::to_value(kind).unwrap();
            let kind_name = kind_name.as_str().unwrap();
            let k = choices
                .kinds
                .iter()
                .find(|k| k.kind == kind)
                .unwrap_or_else(|| panic!("{kind_name} is offered"));
            kinds_seen.insert(kind_name.to_owned());
            if k.query {
                for d in 0..=3usize {
                    for m in 0..=3usize {
                        for series in [false, true] {
                            for bucketed in [false, true] {
                                if bucketed && d == 0 {
                                    continue;
                                }
                                let pool = if bucketed { &dated } else { &plain };
                                if pool.len() < d {
                                    continue;
                                }
                                let dims: Vec<(&str, Option<&str>)> = pool[..d]
                                    .iter()
                                    .map(|c| (c.as_str(), bucketed.then_some("month")))
                                    .collect();
                                let widget = probe_widget_yaml(
                                    kind_name,
                                    slug,
                                    &dims,
                                    m,
                                    series.then_some(series_col.as_str()),
                                    "",
                                );
                                let offered = k.shapes.contains(&[d, m, usize::from(series)])
                                    && (d == 0 || bucketed || !k.bucket_required);
                                let outcome = check(widget, "");
                                assert_eq!(
                                    outcome.is_ok(),
                                    offered,
                                    "{slug}: {kind_name} with {d} dimensions (bucketed: \
                                     {bucketed}), {m} measures, series: {series}: {outcome:?}"
                                );
                                checked += 1;
                            }
                        }
                    }
                }
                // The bounds the builder shows are the shapes' own.
                let min = |i: usize| k.shapes.iter().map(|s| s[i]).min().unwrap();
                let max = |i: usize| k.shapes.iter().map(|s| s[i]).max().unwrap();
                assert_eq!(k.min_dimensions, min(0), "{kind_name}");
                assert_eq!(k.min_measures, min(1), "{kind_name}");
                // `null` (any number) where the probe's largest count (3) is accepted.
                assert_eq!(k.max_dimensions.unwrap_or(3), max(0), "{kind_name}");
                assert_eq!(k.max_measures.unwrap_or(3), max(1), "{kind_name}");
                assert_eq!(k.series, k.shapes.iter().any(|s| s[2] == 1), "{kind_name}");
            }
            // Options: on the smallest shape the kind takes (bucketed where it must be).
            let base: Vec<(&str, Option<&str>)> = match k.shapes.first() {
                Some(s) if s[0] > 0 => {
                    let pool = if k.bucket_required { &dated } else { &plain };
                    if pool.len() < s[0] {
                        continue;
                    }
                    pool[..s[0]]
                        .iter()
                        .map(|c| (c.as_str(), k.bucket_required.then_some("month")))
                        .collect()
                }
                _ => Vec::new(),
            };
            let base_measures = k.shapes.first().map_or(0, |s| s[1]);
            let markdown = if kind_name == "text" {
                "markdown: x, "
            } else {
                ""
            };
            for option in ALL_OPTIONS {
                let value = match option {
                    "orientation" => "orientation: horizontal",
                    "stacking" => "stacking: stacked",
                    "page_size" => "page_size: 25",
                    _ => "markdown: x",
                };
                let options = if option == "markdown" {
                    value.to_owned()
                } else {
                    format!("{markdown}{value}")
                };
                let widget =
                    probe_widget_yaml(kind_name, slug, &base, base_measures, None, &options);
                let outcome = check(widget, "");
                assert_eq!(
                    outcome.is_ok(),
                    k.options.contains(&option),
                    "{slug}: {kind_name} with {option}: {outcome:?}"
                );
                checked += 1;
            }
        }
        // What the builder takes from the choices instead of its own lists.
        let table = |dims: &[(&str, Option<&str>)], options: &str, limit: Option<u32>| {
            let mut w = probe_widget_yaml("table", slug, dims, 1, None, options);
            if let Some(l) = limit {
                w = w.replace(
                    "      measures:",
                    &format!("      limit: {l}\n      measures:"),
                );
            }
            check(w, "")
        };
        let dim = [(plain[0].as_str(), None)];
        for (n, ok) in [
            (choices.page_size.min, true),
            (choices.page_size.max, true),
            (choices.page_size.max + 1, false),
            (choices.page_size.min - 1, false),
        ] {
            assert_eq!(
                table(&dim, &format!("page_size: {n}"), None).is_ok(),
                ok,
                "page_size {n}"
            );
        }
        for (n, ok) in [
            (choices.limit.min, true),
            (choices.limit.max, true),
            (choices.limit.max + 1, false),
            (choices.limit.min - 1, false),
        ] {
            assert_eq!(table(&dim, "", Some(n)).is_ok(), ok, "limit {n}");
        }
        let mut styles: Vec<String> = choices
            .number_formats
            .iter()
            .filter(|f| **f != "currency")
            .map(|f| format!("{{ style: {f} }}"))
            .collect();
        styles.extend(
            choices
                .currencies
                .iter()
                .chain(&["CHF"])
                .map(|c| format!("{{ style: currency, currency: {c} }}")),
        );
        for format in &styles {
            let outcome = table(&dim, &format!("number_formats: {{ m0: {format} }}"), None);
            assert!(outcome.is_ok(), "{format}: {outcome:?}");
            checked += 1;
        }
        assert!(
            table(&dim, "number_formats: { m0: { style: percentage } }", None).is_err(),
            "a style that is not offered is refused"
        );
        if let Some(date) = dated.first() {
            let kpi = probe_widget_yaml("kpi", slug, &[], 1, None, "");
            for preset in choices
                .date_presets
                .iter()
                .map(|p| serde_json::to_value(p).unwrap())
            {
                let p = preset.as_str().unwrap();
                let filter = format!(
                    "filters:\n  - {{ id: f, label: F, kind: date_range, columns: {{ {slug}: {date} }}, default: {{ preset: {p} }} }}\n"
                );
                let outcome = check(kpi.clone(), &filter);
                assert!(outcome.is_ok(), "preset {p}: {outcome:?}");
                checked += 1;
            }
            let filter = format!(
                "filters:\n  - {{ id: f, label: F, kind: date_range, columns: {{ {slug}: {date} }}, default: {{ preset: last_decade }} }}\n"
            );
            assert!(
                check(kpi, &filter).is_err(),
                "a preset that is not offered is refused"
            );
            assert_eq!(choices.date_presets.len(), 14);
        }
    }
    assert_eq!(kinds_seen.len(), ALL_KINDS.len());
    assert!(checked > 500, "{checked} documents checked");
    eprintln!("{checked} kind, option and list documents checked");
}
