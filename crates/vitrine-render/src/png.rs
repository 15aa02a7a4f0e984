//! SVG → PNG for downloads, with resvg and the `png` encoder.
//!
//! The output is `ceil(width × scale) × ceil(height × scale)` pixels, the SVG's own size
//! (its `width` / `height`, else its `viewBox`) times the scale (1 or 2 for the product's
//! 1x / 2x downloads). Text resolves against [`crate::fonts`] only. Encoding uses the `png`
//! crate's `Fast` compression: on a dashboard-sized image it is about ten times faster than
//! the default for files a little larger, the right trade for an on-demand download.

use resvg::tiny_skia::{Pixmap, Transform};

use crate::ExportError;

/// The largest side, in pixels, a PNG export may have (a 10,000 px chart at 2x).
pub const MAX_SIDE: u32 = 20_000;
/// The most pixels a PNG export may have (about 200 MB of RGBA while it is drawn).
pub const MAX_PIXELS: u64 = 50_000_000;

/// Rasterises `svg` at `scale` and encodes it as PNG.
pub fn render_png(svg: &str, scale: f32) -> Result<Vec<u8>, ExportError> {
    let tree = crate::fonts::parse_svg(svg)?;
    let (width, height) = png_size(tree.size().width(), tree.size().height(), scale)?;
    let mut pixmap = Pixmap::new(width, height).ok_or(ExportError::TooLarge)?;
    resvg::render(
        &tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    encode(pixmap)
}

/// The pixel size of a `width` × `height` drawing at `scale`.
pub fn png_size(width: f32, height: f32, scale: f32) -> Result<(u32, u32), ExportError> {
    let side = |v: f32| {
        let px = (f64::from(v) * f64::from(scale)).ceil();
        (px.is_finite() && px >= 1.0 && px <= f64::from(MAX_SIDE)).then_some(px as u32)
    };
    match (side(width), side(height)) {
        (Some(w), Some(h)) if u64::from(w) * u64::from(h) <= MAX_PIXELS => Ok((w, h)),
        _ => Err(ExportError::TooLarge),
    }
}

fn encode(pixmap: Pixmap) -> Result<Vec<u8>, ExportError> {
    let (width, height) = (pixmap.width(), pixmap.height());
    // tiny-skia stores premultiplied alpha; PNG wants it straight. Opaque pixels (nearly all
    // of a chart with its background) are left as they are.
    let mut data = pixmap.take();
    for px in data.chunks_exact_mut(4) {
        let a = px[3];
        if a != 0 && a != 255 {
            for c in &mut px[..3] {
                *c = ((u16::from(*c) * 255 + u16::from(a) / 2) / u16::from(a)).min(255) as u8;
            }
        }
    }
    let mut out = Vec::with_capacity(data.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let png_error = |e: png::EncodingError| ExportError::Png(e.to_string());
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&data).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}
