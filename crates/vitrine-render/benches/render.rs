//! Renders a realistic six-widget dashboard to SVG and prints how long it
//! takes: `cargo bench -p vitrine-render`.
//!
//! Plain `std::time::Instant` (no Criterion, to keep the build light): a
//! warm-up, then many iterations, reporting mean, median and 99th
//! percentile for the whole dashboard and for each widget.

use std::hint::black_box;
use std::time::{Duration, Instant};
use vitrine_core::result::{Column, ColumnType, NumberFormat, ResultTable, Value};
use vitrine_render::time::{civil_from_days, days_from_civil};
use vitrine_render::{
    ChartKind, ChartOptions, ChartSpec, Measure, Stacking, TableView, render_svg, render_table_html,
};

fn col(name: &str, kind: ColumnType) -> Column {
    Column {
        name: name.into(),
        kind,
    }
}

fn date(days: i64) -> Value {
    let (y, m, d) = civil_from_days(days_from_civil(2026, 1, 1) + days);
    Value::Text(format!("{y:04}-{m:02}-{d:02}"))
}

fn wobble(i: i64, seed: i64) -> f64 {
    (((i * 7919 + seed * 104_729) % 1000 + 1000) % 1000) as f64 / 1000.0
}

fn usd() -> NumberFormat {
    NumberFormat::Currency {
        currency: "USD".into(),
    }
}

struct Widget {
    name: &'static str,
    spec: ChartSpec,
    table: ResultTable,
}

fn dashboard() -> Vec<Widget> {
    // 24 months × 4 plans of revenue.
    let plans = ["Free", "Starter", "Pro", "Enterprise"];
    let monthly = ResultTable {
        columns: vec![
            col("month", ColumnType::Date),
            col("plan", ColumnType::Text),
            col("revenue", ColumnType::Number),
        ],
        rows: (0..24)
            .flat_map(|m| plans.iter().enumerate().map(move |(p, name)| (m, p, name)))
            .map(|(m, p, name)| {
                let y = 2025 + m / 12;
                let mo = m % 12 + 1;
                vec![
                    Value::Text(format!("{y:04}-{mo:02}-01")),
                    Value::Text((*name).into()),
                    Value::Float(
                        10_000.0 * (p as f64 + 1.0) * (1.0 + 0.04 * m as f64)
                            + 900.0 * wobble(m, p as i64),
                    ),
                ]
            })
            .collect(),
        truncated: false,
    };
    // 90 days of sign-ups.
    let daily = ResultTable {
        columns: vec![
            col("day", ColumnType::Date),
            col("signups", ColumnType::Integer),
        ],
        rows: (0..90)
            .map(|d| vec![date(d), Value::Int(100 + d + (60.0 * wobble(d, 1)) as i64)])
            .collect(),
        truncated: false,
    };
    // Twelve months of MRR for the KPI.
    let mrr = ResultTable {
        columns: vec![
            col("month", ColumnType::Date),
            col("mrr", ColumnType::Number),
        ],
        rows: (0..12)
            .map(|m| {
                vec![
                    Value::Text(format!("2026-{:02}-01", m + 1)),
                    Value::Float(80_000.0 + 1_900.0 * m as f64),
                ]
            })
            .collect(),
        truncated: false,
    };
    // Revenue by region for the donut.
    let regions = ResultTable {
        columns: vec![
            col("region", ColumnType::Text),
            col("revenue", ColumnType::Number),
        ],
        rows: [
            "North America",
            "Europe",
            "Asia Pacific",
            "Latin America",
            "Middle East & Africa",
            "Oceania",
        ]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                Value::Text((*r).into()),
                Value::Float(400_000.0 / (i as f64 + 1.0)),
            ]
        })
        .collect(),
        truncated: false,
    };
    // 500 customers for the table.
    let customers = ResultTable {
        columns: vec![
            col("customer", ColumnType::Text),
            col("plan", ColumnType::Text),
            col("region", ColumnType::Text),
            col("mrr", ColumnType::Number),
            col("seats", ColumnType::Integer),
            col("last_seen", ColumnType::Timestamp),
        ],
        rows: (0..500)
            .map(|i| {
                vec![
                    Value::Text(format!("Customer {i:04}")),
                    Value::Text(plans[(i % 4) as usize].into()),
                    Value::Text(
                        ["Europe", "North America", "Asia Pacific"][(i % 3) as usize].into(),
                    ),
                    Value::Float(99.0 + 1_400.0 * wobble(i, 9)),
                    Value::Int(3 + (wobble(i, 4) * 120.0) as i64),
                    Value::Text(format!("2026-11-{:02}T{:02}:15:00Z", 1 + i % 28, i % 24)),
                ]
            })
            .collect(),
        truncated: false,
    };
    let stacked = ChartOptions {
        stacking: Stacking::Stacked,
        ..ChartOptions::default()
    };
    vec![
        Widget {
            name: "kpi",
            spec: ChartSpec::new(ChartKind::Kpi, "Monthly recurring revenue")
                .dimension("month")
                .measure(Measure::new("mrr").format(usd()))
                .size(320.0, 180.0),
            table: mrr,
        },
        Widget {
            name: "line",
            spec: ChartSpec::new(ChartKind::Line, "Daily sign-ups")
                .dimension("day")
                .measure(Measure::new("signups"))
                .size(640.0, 300.0),
            table: daily,
        },
        Widget {
            name: "area",
            spec: ChartSpec::new(ChartKind::Area, "Revenue by plan")
                .dimension("month")
                .series("plan")
                .measure(Measure::new("revenue").format(usd()))
                .options(stacked.clone())
                .size(640.0, 300.0),
            table: monthly.clone(),
        },
        Widget {
            name: "stacked bar",
            spec: ChartSpec::new(ChartKind::Bar, "Revenue by plan and month")
                .dimension("month")
                .series("plan")
                .measure(Measure::new("revenue").format(usd()))
                .options(stacked)
                .size(640.0, 300.0),
            table: monthly,
        },
        Widget {
            name: "donut",
            spec: ChartSpec::new(ChartKind::Pie, "Revenue by region")
                .dimension("region")
                .measure(Measure::new("revenue").format(usd()))
                .size(480.0, 260.0),
            table: regions,
        },
        Widget {
            name: "table",
            spec: ChartSpec::new(ChartKind::Table, "Customers")
                .measure(Measure::new("mrr").label("MRR").format(usd()))
                .size(960.0, 420.0),
            table: customers,
        },
    ]
}

struct Stats {
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

fn measure(iterations: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..iterations / 10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    Stats {
        mean: total / iterations as u32,
        p50: samples[iterations / 2],
        p99: samples[iterations * 99 / 100],
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let widgets = dashboard();
    let iterations = 2_000;
    let bytes: usize = widgets
        .iter()
        .map(|w| render_svg(&w.spec, &w.table).len())
        .sum();
    println!("vitrine-render: six-widget dashboard to SVG, {iterations} iterations after warm-up");
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "", "mean µs", "p50 µs", "p99 µs"
    );
    let s = measure(iterations, || {
        for w in &widgets {
            black_box(render_svg(black_box(&w.spec), black_box(&w.table)));
        }
    });
    println!(
        "{:<28} {:>10.1} {:>10.1} {:>10.1}   ({} KB of SVG)",
        "dashboard (6 widgets)",
        us(s.mean),
        us(s.p50),
        us(s.p99),
        bytes / 1024
    );
    let exports: Vec<ChartSpec> = widgets
        .iter()
        .map(|w| {
            let mut spec = w.spec.clone();
            spec.options.tooltips = false;
            spec
        })
        .collect();
    let s = measure(iterations, || {
        for (w, spec) in widgets.iter().zip(&exports) {
            black_box(render_svg(black_box(spec), black_box(&w.table)));
        }
    });
    println!(
        "{:<28} {:>10.1} {:>10.1} {:>10.1}",
        "  same, without tooltips",
        us(s.mean),
        us(s.p50),
        us(s.p99)
    );
    for w in &widgets {
        let s = measure(iterations, || {
            black_box(render_svg(black_box(&w.spec), black_box(&w.table)));
        });
        println!(
            "{:<28} {:>10.1} {:>10.1} {:>10.1}",
            format!("  {} ({} rows)", w.name, w.table.rows.len()),
            us(s.mean),
            us(s.p50),
            us(s.p99)
        );
    }
    let table = &widgets[5];
    let s = measure(iterations, || {
        black_box(render_table_html(
            &table.spec,
            &table.table,
            &TableView::default(),
        ));
    });
    println!(
        "{:<28} {:>10.1} {:>10.1} {:>10.1}",
        "  table as HTML, 25 rows",
        us(s.mean),
        us(s.p50),
        us(s.p99)
    );
}
