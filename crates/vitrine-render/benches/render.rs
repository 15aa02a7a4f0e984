//! Renders a realistic six-widget dashboard to SVG and prints how long it
//! takes: `cargo bench -p vitrine-render`.
//!
//! Plain `std::time::Instant` (no Criterion, to keep the build light): a
//! warm-up, then many iterations, reporting mean, median and 99th
//! percentile for the whole dashboard and for each widget.

use std::hint::black_box;
use std::time::Duration;
use vitrine_render::{ChartSpec, TableView, render_svg, render_table_html};

mod fixture;

use fixture::{dashboard, measure};

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
