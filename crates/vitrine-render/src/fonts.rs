//! The font database PNG and PDF output share: DejaVu Sans regular and bold, loaded by bytes
//! from the `dejavu` crate (the faces [`crate::font`] measures with), with the generic
//! `sans-serif` family pointed at it. Nothing is read from the system, so what the charts
//! measured is what gets drawn, on any machine — a `sans-serif` left pointing at an absent
//! Arial would silently drop every label.

use std::sync::{Arc, OnceLock};

use resvg::usvg::fontdb::{Database, Source};

/// The family every face here belongs to.
pub const FAMILY: &str = "DejaVu Sans";

/// The shared database (built once; cloning the `Arc` is free).
pub fn database() -> Arc<Database> {
    static DB: OnceLock<Arc<Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = Database::new();
        for bytes in [dejavu::sans::regular(), dejavu::sans::bold()] {
            db.load_font_source(Source::Binary(Arc::new(bytes)));
        }
        db.set_sans_serif_family(FAMILY);
        Arc::new(db)
    })
    .clone()
}

/// usvg options that resolve every family to the shared database.
pub fn svg_options() -> resvg::usvg::Options<'static> {
    resvg::usvg::Options {
        font_family: FAMILY.to_owned(),
        fontdb: database(),
        ..resvg::usvg::Options::default()
    }
}

/// Parses one of our SVG documents.
pub fn parse_svg(svg: &str) -> Result<resvg::usvg::Tree, crate::ExportError> {
    resvg::usvg::Tree::from_str(svg, &svg_options())
        .map_err(|e| crate::ExportError::Svg(e.to_string()))
}
