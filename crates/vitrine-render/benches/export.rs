//! Exports: a six-widget dashboard to PDF, one widget to PNG at 1x and 2x, a 1,000-row table
//! to CSV. `cargo bench -p vitrine-render --bench export`.
//!
//! Same method and fixtures as `benches/render.rs` (plain `Instant`, a warm-up, then p50 /
//! mean / p99). `EXPORT_BENCH_OUT=DIR` also writes the files there. Each figure includes drawing the SVGs, as a download does: the server renders
//! the widget with its background on, then converts it.

use std::hint::black_box;
use std::time::{Duration, Instant};
use vitrine_core::result::{Column, ColumnType, NumberFormat, ResultTable, Value};
use vitrine_render::time::{civil_from_days, days_from_civil};
use vitrine_render::{
    ChartKind, ChartOptions, ChartSpec, Measure, Paper, PdfDocument, PdfWidget, Sizing, Stacking,
    render_csv, render_pdf, render_png, render_svg,
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

/// `n` customers (the table widget's data; 1,000 for the CSV figure).
fn customers(n: usize) -> ResultTable {
    let plans = ["Free", "Starter", "Pro", "Enterprise"];
    ResultTable {
        columns: vec![
            col("customer", ColumnType::Text),
            col("plan", ColumnType::Text),
            col("region", ColumnType::Text),
            col("mrr", ColumnType::Number),
            col("seats", ColumnType::Integer),
            col("last_seen", ColumnType::Timestamp),
        ],
        rows: (0..n as i64)
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
    }
}

struct Widget {
    #[allow(dead_code)] // shared fixture shape with benches/render.rs
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
    let customers = customers(500);
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

/// Grid positions like a real dashboard: KPI + line on top, two charts, donut + table.
const LAYOUT: [(u32, u32, u32, u32); 6] = [
    (0, 0, 4, 3),
    (4, 0, 8, 3),
    (0, 3, 6, 4),
    (6, 3, 6, 4),
    (0, 7, 4, 4),
    (4, 7, 8, 6),
];

fn export_spec(w: &Widget) -> ChartSpec {
    let mut spec = w.spec.clone();
    spec.options.tooltips = false;
    spec.options.show_title = false;
    spec.options.sizing = Sizing::Fixed;
    spec
}

fn pdf_document(widgets: &[Widget]) -> PdfDocument {
    PdfDocument {
        title: "SaaS overview".to_owned(),
        filters: vec![
            "Region: Europe".to_owned(),
            "Period: Last 90 days".to_owned(),
        ],
        generated_at: "Generated 2026-11-23 14:05 UTC".to_owned(),
        footer: "Acme Analytics — confidential".to_owned(),
        paper: Paper::A4,
        widgets: widgets
            .iter()
            .zip(LAYOUT)
            .map(|(w, (x, y, cols, rows))| PdfWidget {
                title: w.spec.title.clone(),
                svg: render_svg(&export_spec(w), &w.table),
                x,
                y,
                w: cols,
                h: rows,
            })
            .collect(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn row(name: &str, s: &Stats, note: &str) {
    println!(
        "{name:<34} {:>9.2} {:>9.2} {:>9.2}   {note}",
        ms(s.p50),
        ms(s.mean),
        ms(s.p99)
    );
}

fn main() {
    let widgets = dashboard();
    println!("vitrine-render: exports (times include drawing the SVGs)");
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "", "p50 ms", "mean ms", "p99 ms"
    );

    let doc = pdf_document(&widgets);
    let pdf = render_pdf(&doc).expect("pdf");
    // `EXPORT_BENCH_OUT=DIR` keeps the files, to look at them.
    let out = std::env::var_os("EXPORT_BENCH_OUT").map(std::path::PathBuf::from);
    if let Some(dir) = &out {
        std::fs::write(dir.join("dashboard.pdf"), &pdf).expect("write the PDF");
    }
    let s = measure(100, || {
        black_box(render_pdf(black_box(&pdf_document(&widgets))).expect("pdf"));
    });
    row(
        "PDF, six widgets, A4",
        &s,
        &format!("{} KB", pdf.len() / 1024),
    );

    // The line chart, 640 × 300: a typical card.
    let line = &widgets[1];
    let spec = export_spec(line);
    for scale in [1.0, 2.0] {
        let png = render_png(&render_svg(&spec, &line.table), scale).expect("png");
        if let Some(dir) = &out {
            std::fs::write(dir.join(format!("widget@{scale}x.png")), &png).expect("write a PNG");
        }
        let s = measure(200, || {
            let svg = render_svg(black_box(&spec), black_box(&line.table));
            black_box(render_png(&svg, scale).expect("png"));
        });
        row(
            &format!("PNG, one widget 640×300 at {scale}x"),
            &s,
            &format!("{} KB", png.len() / 1024),
        );
    }

    let table = customers(1_000);
    let csv = render_csv(&table);
    let s = measure(500, || {
        black_box(render_csv(black_box(&table)));
    });
    row(
        "CSV, 1,000 rows × 6 columns",
        &s,
        &format!("{} KB", csv.len() / 1024),
    );
}
