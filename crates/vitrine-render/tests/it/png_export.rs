//! PNG downloads: sizes at 1x and 2x, and text and marks really drawn.

use crate::helpers::{revenue_by_region, usd};
use vitrine_render::{ChartKind, ChartSpec, Measure, Sizing, render_png, render_svg};

struct Image {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

impl Image {
    fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [
            self.rgba[i],
            self.rgba[i + 1],
            self.rgba[i + 2],
            self.rgba[i + 3],
        ]
    }

    /// Pixels in the rectangle darker than mid-grey.
    fn dark_pixels(&self, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
        (y0..y1.min(self.height))
            .flat_map(|y| (x0..x1.min(self.width)).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let [r, g, b, a] = self.pixel(x, y);
                a > 200 && (u32::from(r) + u32::from(g) + u32::from(b)) < 3 * 110
            })
            .count()
    }
}

fn decode(bytes: &[u8]) -> Image {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut rgba = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut rgba).expect("a PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgba);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    rgba.truncate(info.buffer_size());
    Image {
        width: info.width,
        height: info.height,
        rgba,
    }
}

fn text_svg(family: &str, text: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="240.5" height="60" viewBox="0 0 240.5 60"><rect width="240.5" height="60" fill="#ffffff"/><text x="8" y="42" font-family="{family}" font-size="32" fill="#000000">{text}</text></svg>"##
    )
}

#[test]
fn sizes_are_the_svg_size_times_the_scale_rounded_up() {
    let svg = text_svg("DejaVu Sans, sans-serif", "Hi");
    let one = decode(&render_png(&svg, 1.0).expect("png"));
    assert_eq!((one.width, one.height), (241, 60));
    let two = decode(&render_png(&svg, 2.0).expect("png"));
    assert_eq!((two.width, two.height), (481, 120));
}

#[test]
fn text_is_drawn_with_the_embedded_face_whatever_family_the_svg_names() {
    for family in ["DejaVu Sans, sans-serif", "sans-serif", "DejaVu Sans"] {
        let img = decode(&render_png(&text_svg(family, "Revenue"), 1.0).expect("png"));
        let ink = img.dark_pixels(0, 0, img.width, img.height);
        assert!(
            ink > 300,
            "{family}: only {ink} dark pixels, text was dropped"
        );
    }
    // A blank drawing has none: the check above can fail.
    let blank = decode(&render_png(&text_svg("sans-serif", ""), 1.0).expect("png"));
    assert_eq!(blank.dark_pixels(0, 0, blank.width, blank.height), 0);
}

#[test]
fn a_chart_renders_at_1x_and_2x_with_its_title_and_marks() {
    let spec = ChartSpec::new(ChartKind::Bar, "Revenue by region")
        .dimension("region")
        .measure(Measure::new("revenue").format(usd()))
        .size(480.0, 260.0);
    let mut spec = spec;
    spec.options.sizing = Sizing::Fixed;
    spec.options.tooltips = false;
    let svg = render_svg(&spec, &revenue_by_region());
    for (scale, w, h) in [(1.0, 480, 260), (2.0, 960, 520)] {
        let img = decode(&render_png(&svg, scale).expect("png"));
        assert_eq!((img.width, img.height), (w, h));
        // The title sits in the top band: dark text pixels there.
        let s = scale as u32;
        let title_ink = img.dark_pixels(0, 0, img.width, 40 * s);
        assert!(
            title_ink > (50 * s * s) as usize,
            "title ink at {scale}x: {title_ink}"
        );
        // Bars are coloured: plenty of saturated pixels in the plot area.
        let coloured = (0..img.height)
            .flat_map(|y| (0..img.width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let [r, g, b, _] = img.pixel(x, y);
                let (max, min) = (r.max(g).max(b), r.min(g).min(b));
                max - min > 60
            })
            .count();
        assert!(
            coloured > 2_000 * (s * s) as usize,
            "bars at {scale}x: {coloured}"
        );
    }
}

#[test]
fn a_broken_or_huge_svg_is_an_error_not_a_panic() {
    assert!(render_png("<svg", 1.0).is_err());
    let huge = r#"<svg xmlns="http://www.w3.org/2000/svg" width="90000" height="90000"></svg>"#;
    let e = render_png(huge, 1.0).expect_err("too large");
    assert!(!e.to_string().contains("90000"));
}
