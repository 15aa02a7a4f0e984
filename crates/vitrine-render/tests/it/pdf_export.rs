//! PDF downloads: they parse, have the pages the layout needs, the paper asked for, and their
//! titles and chart labels as extractable text.

use crate::helpers::{revenue_by_plan, revenue_by_region, signups_daily, usd};
use vitrine_render::{
    ChartKind, ChartSpec, Measure, Paper, PdfDocument, PdfWidget, render_pdf, render_svg,
};

fn widget(title: &str, kind: ChartKind, x: u32, y: u32, w: u32, h: u32) -> PdfWidget {
    let (spec, table) = match kind {
        ChartKind::Line => (
            ChartSpec::new(kind, title)
                .dimension("day")
                .measure(Measure::new("signups")),
            signups_daily(),
        ),
        ChartKind::Bar => (
            ChartSpec::new(kind, title)
                .dimension("month")
                .series("plan")
                .measure(Measure::new("revenue").format(usd())),
            revenue_by_plan(),
        ),
        _ => (
            ChartSpec::new(ChartKind::Pie, title)
                .dimension("region")
                .measure(Measure::new("revenue").format(usd())),
            revenue_by_region(),
        ),
    };
    let mut spec = spec.size(w as f64 * 100.0 - 40.0, h as f64 * 96.0 - 72.0);
    spec.options.show_title = false;
    spec.options.tooltips = false;
    PdfWidget {
        title: title.to_owned(),
        svg: render_svg(&spec, &table),
        x,
        y,
        w,
        h,
    }
}

fn document(paper: Paper, widgets: Vec<PdfWidget>) -> PdfDocument {
    PdfDocument {
        title: "Board pack – November".to_owned(),
        filters: vec![
            "Region: Europe".to_owned(),
            "Period: Last 30 days".to_owned(),
        ],
        generated_at: "Generated 2026-11-23 14:05 UTC".to_owned(),
        footer: "Acme Analytics — confidential".to_owned(),
        paper,
        widgets,
    }
}

fn parse(bytes: &[u8]) -> lopdf::Document {
    assert!(bytes.starts_with(b"%PDF-"));
    lopdf::Document::load_mem(bytes).expect("the PDF parses")
}

/// The text of every page, decoded through the fonts' ToUnicode maps.
fn page_texts(doc: &lopdf::Document) -> Vec<String> {
    doc.get_pages()
        .keys()
        .map(|n| doc.extract_text(&[*n]).expect("text extracts"))
        .collect()
}

/// Text extraction joins glyph runs oddly (spaces and line breaks come and go): compare
/// without whitespace.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn media_box(doc: &lopdf::Document, page: lopdf::ObjectId) -> (f32, f32) {
    let dict = doc.get_dictionary(page).expect("a page dictionary");
    let values = dict
        .get(b"MediaBox")
        .and_then(|o| o.as_array())
        .expect("a media box");
    let n: Vec<f32> = values
        .iter()
        .map(|v| {
            v.as_float()
                .or_else(|_| v.as_i64().map(|i| i as f32))
                .expect("a number")
        })
        .collect();
    (n[2] - n[0], n[3] - n[1])
}

#[test]
fn a_small_dashboard_is_one_page_with_its_text_extractable() {
    let pdf = render_pdf(&document(
        Paper::A4,
        vec![
            widget("Daily sign-ups", ChartKind::Line, 0, 0, 8, 4),
            widget("Revenue by region", ChartKind::Pie, 8, 0, 4, 4),
        ],
    ))
    .expect("pdf");
    let doc = parse(&pdf);
    assert_eq!(doc.get_pages().len(), 1);
    let text = squash(&page_texts(&doc).concat());
    for expected in [
        "Boardpack–November",
        "Region:Europe",
        "Period:Last30days",
        "Generated2026-11-2314:05UTC",
        "Dailysign-ups",
        "Revenuebyregion",
        "AcmeAnalytics—confidential",
        "Page1of1",
        // A label inside a chart: text in the SVG stayed text.
        "NorthAmerica",
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }
    assert!(!text.contains("Revenuebyplan"), "the check can fail");
}

#[test]
fn rows_that_do_not_fit_flow_to_the_next_page_without_splitting_a_widget() {
    // 4 + 4 + 4 rows: the first band fits under the header, the second does not.
    let widgets = vec![
        widget("Daily sign-ups", ChartKind::Line, 0, 0, 6, 4),
        widget("Revenue by region", ChartKind::Pie, 6, 0, 6, 4),
        widget("Revenue by plan", ChartKind::Bar, 0, 4, 12, 4),
        widget("Sign-ups again", ChartKind::Line, 0, 8, 12, 4),
    ];
    let doc = parse(&render_pdf(&document(Paper::A4, widgets)).expect("pdf"));
    assert_eq!(doc.get_pages().len(), 2);
    let pages: Vec<String> = page_texts(&doc).iter().map(|t| squash(t)).collect();
    assert!(pages[0].contains("Dailysign-ups") && pages[0].contains("Revenuebyregion"));
    assert!(pages[0].contains("Page1of2") && pages[1].contains("Page2of2"));
    assert!(pages[1].contains("Revenuebyplan") && pages[1].contains("Sign-upsagain"));
    // Each title exactly once: nothing drawn twice across the break.
    let all = pages.concat();
    assert_eq!(all.matches("Revenuebyplan").count(), 1);
    // The header is on the first page only.
    assert!(!pages[1].contains("Boardpack"));
}

#[test]
fn a_widget_taller_than_a_page_is_shrunk_onto_one_page() {
    let doc = parse(
        &render_pdf(&document(
            Paper::Letter,
            vec![widget("Very tall", ChartKind::Bar, 0, 0, 12, 30)],
        ))
        .expect("pdf"),
    );
    // Page one holds the header (the widget does not fit under it), page two the widget.
    assert_eq!(doc.get_pages().len(), 2);
    assert!(squash(&page_texts(&doc)[1]).contains("Verytall"));
}

#[test]
fn pages_are_landscape_a4_or_letter() {
    for (paper, (w, h)) in [
        (Paper::A4, (841.89, 595.28)),
        (Paper::Letter, (792.0, 612.0)),
    ] {
        let doc = parse(
            &render_pdf(&document(
                paper,
                vec![widget("Daily sign-ups", ChartKind::Line, 0, 0, 12, 4)],
            ))
            .expect("pdf"),
        );
        for page in doc.get_pages().values() {
            let (pw, ph) = media_box(&doc, *page);
            assert!(
                (pw - w).abs() < 0.5 && (ph - h).abs() < 0.5,
                "{paper:?}: {pw}×{ph}"
            );
        }
    }
}

#[test]
fn an_empty_dashboard_is_one_page_with_the_header() {
    let doc = parse(&render_pdf(&document(Paper::A4, Vec::new())).expect("pdf"));
    assert_eq!(doc.get_pages().len(), 1);
    assert!(squash(&page_texts(&doc)[0]).contains("Page1of1"));
}
