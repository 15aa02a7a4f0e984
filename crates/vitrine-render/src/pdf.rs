//! Dashboard → PDF for downloads, with krilla and krilla-svg.
//!
//! - **Pages**: A4 or US Letter, landscape, 36 pt margins. The first page starts with a header
//!   (the title, one line per filter in force, when it was generated); every page ends with
//!   the footer text and "Page n of m".
//! - **Widgets** keep the dashboard's 12-column grid: the page grid's pitch (100 px per column,
//!   96 px per row, 16 px gaps, see `dashboard.css`) is scaled so twelve columns fill the
//!   content width. Widgets whose rows overlap form a *band* that is never split; a band that
//!   does not fit what is left of a page starts the next one, and a band taller than a whole
//!   page is scaled down to fit it.
//! - **Text stays text**: widget titles and the header are drawn with DejaVu Sans (embedded as
//!   subsets by krilla), and the charts go through krilla-svg with `embed_text`, so a PDF
//!   reader can search and copy every label. Charts stay vectors.
//! - Output is deterministic for the same input: no creation date is written (the header
//!   carries the generated-at text the caller chose).

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla_svg::{SurfaceExt, SvgSettings};
use resvg::usvg::Tree;

use crate::ExportError;
use crate::font::truncate;

/// Paper sizes (always used in landscape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// ISO A4, 297 × 210 mm.
    #[default]
    A4,
    /// US Letter, 11 × 8.5 in.
    Letter,
}

impl Paper {
    /// Width × height in PDF points (1/72 in), landscape.
    pub fn landscape_points(self) -> (f32, f32) {
        match self {
            Paper::A4 => (841.89, 595.28),
            Paper::Letter => (792.0, 612.0),
        }
    }

    /// `a4` / `letter`.
    pub fn parse(s: &str) -> Option<Paper> {
        match s.to_ascii_lowercase().as_str() {
            "a4" => Some(Paper::A4),
            "letter" => Some(Paper::Letter),
            _ => None,
        }
    }
}

/// One widget on the PDF.
#[derive(Debug, Clone)]
pub struct PdfWidget {
    /// Drawn above the chart as text.
    pub title: String,
    /// The chart as one of our SVG documents (best with its background and without its own
    /// title).
    pub svg: String,
    /// Grid column (0–11).
    pub x: u32,
    /// Grid row.
    pub y: u32,
    /// Width in columns.
    pub w: u32,
    /// Height in rows.
    pub h: u32,
}

/// What a dashboard PDF shows.
#[derive(Debug, Clone, Default)]
pub struct PdfDocument {
    /// The dashboard's title.
    pub title: String,
    /// The filters in force, one line each (`Region: EMEA`).
    pub filters: Vec<String>,
    /// `Generated 2026-11-23 14:05 UTC`.
    pub generated_at: String,
    /// The workspace's footer text (may be empty).
    pub footer: String,
    /// The paper.
    pub paper: Paper,
    /// The widgets, in any order (placed by their grid position).
    pub widgets: Vec<PdfWidget>,
}

const MARGIN: f32 = 36.0;
const FOOTER_SPACE: f32 = 22.0;
const COL_PITCH: f32 = 100.0;
const ROW_PITCH: f32 = 96.0;
const GAP: f32 = 16.0;
const TITLE_SIZE: f32 = 18.0;
const META_SIZE: f32 = 9.0;
const WIDGET_TITLE_SIZE: f32 = 10.0;
const WIDGET_TITLE_SPACE: f32 = 16.0;
const FOOTER_SIZE: f32 = 8.0;
const INK: (u8, u8, u8) = (0x1f, 0x29, 0x37);
const MUTED: (u8, u8, u8) = (0x6b, 0x72, 0x80);

struct Fonts {
    regular: Font,
    bold: Font,
}

impl Fonts {
    fn load() -> Result<Fonts, ExportError> {
        let load = |bytes: &'static [u8]| {
            Font::new(bytes.into(), 0)
                .ok_or_else(|| ExportError::Pdf("DejaVu Sans did not load".to_owned()))
        };
        Ok(Fonts {
            regular: load(dejavu::sans::regular())?,
            bold: load(dejavu::sans::bold())?,
        })
    }
}

/// A widget placed on a page, in points from the page's top-left corner.
struct Placed<'a> {
    widget: &'a PdfWidget,
    tree: Tree,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

/// Renders `doc` as PDF bytes.
pub fn render_pdf(doc: &PdfDocument) -> Result<Vec<u8>, ExportError> {
    let fonts = Fonts::load()?;
    let (page_w, page_h) = doc.paper.landscape_points();
    let content_w = page_w - 2.0 * MARGIN;
    let content_bottom = page_h - MARGIN - FOOTER_SPACE;
    let header_h = header_height(doc);
    let pages = layout(doc, content_w, MARGIN + header_h, MARGIN, content_bottom)?;

    let mut pdf = Document::new();
    pdf.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .creator("Vitrine".to_owned())
            .language("en".to_owned()),
    );
    let settings = PageSettings::from_wh(page_w, page_h)
        .ok_or_else(|| ExportError::Pdf("bad page size".to_owned()))?;
    let total = pages.len();
    for (n, placed) in pages.iter().enumerate() {
        let mut page = pdf.start_page_with(settings.clone());
        let mut surface = page.surface();
        if n == 0 {
            draw_header(&mut surface, &fonts, doc, content_w);
        }
        for p in placed {
            draw_widget(&mut surface, &fonts, p);
        }
        draw_footer(&mut surface, &fonts, doc, n + 1, total, page_w, page_h);
        surface.finish();
        page.finish();
    }
    pdf.finish().map_err(|e| ExportError::Pdf(format!("{e:?}")))
}

fn header_height(doc: &PdfDocument) -> f32 {
    // Title line, a line per filter, the generated-at line, then a gap before the grid.
    TITLE_SIZE + 8.0 + (doc.filters.len() as f32 + 1.0) * (META_SIZE + 4.0) + 14.0
}

/// Assigns widgets to pages. Returns one list per page (at least one page).
fn layout(
    doc: &PdfDocument,
    content_w: f32,
    first_top: f32,
    top: f32,
    bottom: f32,
) -> Result<Vec<Vec<Placed<'_>>>, ExportError> {
    let scale = content_w / (12.0 * COL_PITCH - GAP);
    let mut widgets: Vec<&PdfWidget> = doc.widgets.iter().collect();
    widgets.sort_by_key(|w| (w.y, w.x));
    // Bands: runs of widgets whose rows overlap, in grid rows [start, end).
    let mut bands: Vec<(u32, u32, Vec<&PdfWidget>)> = Vec::new();
    for w in widgets {
        let (start, end) = (w.y, w.y + w.h.max(1));
        match bands.last_mut() {
            Some(band) if start < band.1 => {
                band.1 = band.1.max(end);
                band.2.push(w);
            }
            _ => bands.push((start, end, vec![w])),
        }
    }
    let mut pages: Vec<Vec<Placed<'_>>> = vec![Vec::new()];
    let mut cursor = first_top;
    for (start, end, members) in bands {
        let natural_h = ((end - start) as f32 * ROW_PITCH - GAP) * scale;
        let page_room = bottom - top;
        // A band taller than a whole page is shrunk to fit one.
        let fit = (page_room / natural_h).min(1.0);
        let band_h = natural_h * fit;
        if cursor + band_h > bottom + 0.01 {
            // (When the first band does not fit under the header, page one keeps the header
            // alone.)
            pages.push(Vec::new());
            cursor = top;
        }
        let s = scale * fit;
        // Centre a shrunk band horizontally.
        let left = MARGIN + (content_w - content_w * fit) / 2.0;
        let page = pages.last_mut().expect("at least one page");
        for w in members {
            let x = left + w.x.min(11) as f32 * COL_PITCH * s;
            let cols = w.w.clamp(1, 12 - w.x.min(11));
            let width = (cols as f32 * COL_PITCH - GAP) * s;
            let y = cursor + (w.y - start) as f32 * ROW_PITCH * s;
            let height = (w.h.max(1) as f32 * ROW_PITCH - GAP) * s;
            page.push(Placed {
                widget: w,
                tree: crate::fonts::parse_svg(&w.svg)?,
                x,
                y,
                w: width,
                h: height,
            });
        }
        cursor += band_h + GAP * scale;
    }
    Ok(pages)
}

fn fill(surface: &mut Surface<'_>, (r, g, b): (u8, u8, u8)) {
    surface.set_fill(Some(Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }));
}

fn text(surface: &mut Surface<'_>, font: &Font, size: f32, x: f32, baseline: f32, s: &str) {
    if s.is_empty() {
        return;
    }
    surface.draw_text(
        Point::from_xy(x, baseline),
        font.clone(),
        size,
        s,
        false,
        TextDirection::Auto,
    );
}

fn fitted<'a>(s: &'a str, size: f32, bold: bool, width: f32) -> std::borrow::Cow<'a, str> {
    truncate(s, f64::from(size), bold, f64::from(width.max(0.0)))
}

fn draw_header(surface: &mut Surface<'_>, fonts: &Fonts, doc: &PdfDocument, content_w: f32) {
    let mut y = MARGIN + TITLE_SIZE;
    fill(surface, INK);
    let title = fitted(&doc.title, TITLE_SIZE, true, content_w);
    text(surface, &fonts.bold, TITLE_SIZE, MARGIN, y, &title);
    y += 8.0;
    fill(surface, MUTED);
    for line in doc.filters.iter().chain(std::iter::once(&doc.generated_at)) {
        y += META_SIZE + 4.0;
        let line = fitted(line, META_SIZE, false, content_w);
        text(surface, &fonts.regular, META_SIZE, MARGIN, y, &line);
    }
}

fn draw_widget(surface: &mut Surface<'_>, fonts: &Fonts, p: &Placed<'_>) {
    // The title above the chart, at most one line.
    let title_size = WIDGET_TITLE_SIZE.min(p.h / 6.0).max(4.0);
    let title_space = WIDGET_TITLE_SPACE * title_size / WIDGET_TITLE_SIZE;
    fill(surface, INK);
    let title = fitted(&p.widget.title, title_size, true, p.w);
    text(
        surface,
        &fonts.bold,
        title_size,
        p.x,
        p.y + title_size,
        &title,
    );
    // The chart, its proportions kept, centred in the box under the title.
    let (tw, th) = (p.tree.size().width(), p.tree.size().height());
    let (bw, bh) = (p.w, (p.h - title_space).max(1.0));
    let s = (bw / tw).min(bh / th);
    let (w, h) = (tw * s, th * s);
    let Some(size) = Size::from_wh(w, h) else {
        return;
    };
    let x = p.x + (bw - w) / 2.0;
    let y = p.y + title_space;
    surface.push_transform(&Transform::from_translate(x, y));
    surface.draw_svg(&p.tree, size, SvgSettings::default());
    surface.pop();
}

fn draw_footer(
    surface: &mut Surface<'_>,
    fonts: &Fonts,
    doc: &PdfDocument,
    n: usize,
    total: usize,
    page_w: f32,
    page_h: f32,
) {
    let baseline = page_h - MARGIN;
    let content_w = page_w - 2.0 * MARGIN;
    // A hairline above the footer.
    if let Some(rule) = {
        let mut pb = PathBuilder::new();
        pb.push_rect(
            krilla::geom::Rect::from_xywh(MARGIN, baseline - FOOTER_SIZE - 6.0, content_w, 0.5)
                .expect("a finite, positive rectangle"),
        );
        pb.finish()
    } {
        fill(surface, (0xd1, 0xd5, 0xdb));
        surface.draw_path(&rule);
    }
    fill(surface, MUTED);
    let number = format!("Page {n} of {total}");
    let number_w = crate::font::text_width(&number, f64::from(FOOTER_SIZE), false) as f32;
    text(
        surface,
        &fonts.regular,
        FOOTER_SIZE,
        page_w - MARGIN - number_w,
        baseline,
        &number,
    );
    let footer = fitted(&doc.footer, FOOTER_SIZE, false, content_w - number_w - 24.0);
    text(
        surface,
        &fonts.regular,
        FOOTER_SIZE,
        MARGIN,
        baseline,
        &footer,
    );
}
