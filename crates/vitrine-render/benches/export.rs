//! Exports: a six-widget dashboard to PDF, one widget to PNG at 1x and 2x, a 1,000-row table
//! to CSV. `cargo bench -p vitrine-render --bench export`.
//!
//! Same method and fixtures as `benches/render.rs` (plain `Instant`, a warm-up, then p50 /
//! mean / p99). `EXPORT_BENCH_OUT=DIR` also writes the files there. Each figure includes drawing the SVGs, as a download does: the server renders
//! the widget with its background on, then converts it.

use std::hint::black_box;
use std::time::Duration;
use vitrine_render::{
    ChartSpec, Paper, PdfDocument, PdfWidget, Sizing, render_csv, render_pdf, render_png,
    render_svg,
};

mod fixture;

use fixture::{Stats, Widget, customers, dashboard, measure};

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
