//! A minimal SVG writer: fixed float formatting, escaped text, shared styles.

use crate::escape::{Esc, w};
use crate::font;
use crate::spec::Sizing;
use crate::theme::Palette;
use std::fmt;

/// The font family named on every SVG root. PNG / PDF output loads DejaVu
/// Sans by bytes under this name; browsers fall back to their sans-serif.
pub const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// A coordinate written with at most one decimal (`12`, `12.5`, never `-0`
/// or `NaN`), so output is compact and byte-for-byte deterministic.
#[derive(Clone, Copy)]
pub(crate) struct F(pub f64);

impl fmt::Display for F {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Integer tenths: exact, and much faster than float formatting.
        let v = if self.0.is_finite() {
            self.0.clamp(-1.0e9, 1.0e9)
        } else {
            0.0
        };
        let tenths = (v * 10.0).round() as i64;
        // Digits written by hand into a stack buffer: one `write_str` per
        // number instead of the integer formatting machinery.
        let mut buf = [0u8; 16];
        let mut i = buf.len();
        let mut a = tenths.unsigned_abs();
        let frac = (a % 10) as u8;
        a /= 10;
        if frac != 0 {
            i -= 2;
            buf[i] = b'.';
            buf[i + 1] = b'0' + frac;
        }
        loop {
            i -= 1;
            buf[i] = b'0' + (a % 10) as u8;
            a /= 10;
            if a == 0 {
                break;
            }
        }
        if tenths < 0 {
            i -= 1;
            buf[i] = b'-';
        }
        // Only ASCII digits, '.' and '-' were written.
        f.write_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"))
    }
}

/// A rectangle in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn right(&self) -> f64 {
        self.x + self.w
    }
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
}

/// Horizontal anchoring of a text run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

/// How a text run looks.
#[derive(Clone, Copy)]
pub(crate) struct TextStyle<'a> {
    pub size: f64,
    pub bold: bool,
    pub fill: &'a str,
    pub anchor: Anchor,
}

impl<'a> TextStyle<'a> {
    pub fn new(size: f64, fill: &'a str) -> Self {
        TextStyle {
            size,
            bold: false,
            fill,
            anchor: Anchor::Start,
        }
    }
    pub fn bold(mut self) -> Self {
        self.bold = true;
        self
    }
    pub fn anchor(mut self, anchor: Anchor) -> Self {
        self.anchor = anchor;
        self
    }
    pub fn width(&self, s: &str) -> f64 {
        font::text_width(s, self.size, self.bold)
    }
}

/// An SVG document being written.
pub(crate) struct Svg {
    pub buf: String,
}

impl Svg {
    /// Opens the root element, with `<title>` and `<desc>` for assistive
    /// technology, and the card background when asked for.
    pub fn begin(
        width: f64,
        height: f64,
        sizing: Sizing,
        palette: &Palette,
        background: bool,
        title: &str,
        desc: &str,
    ) -> Svg {
        let mut buf = String::with_capacity(8 * 1024);
        w(
            &mut buf,
            format_args!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" "#,
                F(width),
                F(height)
            ),
        );
        match sizing {
            Sizing::Responsive => buf.push_str(r#"width="100%" height="100%" "#),
            Sizing::Fixed => w(
                &mut buf,
                format_args!(r#"width="{}" height="{}" "#, F(width), F(height)),
            ),
        }
        w(
            &mut buf,
            format_args!(
                r#"preserveAspectRatio="xMidYMid meet" role="img" font-family="{FONT_FAMILY}"><title>{}</title><desc>{}</desc>"#,
                Esc(if title.is_empty() { "Chart" } else { title }),
                Esc(desc)
            ),
        );
        if background {
            w(
                &mut buf,
                format_args!(
                    r#"<rect class="vt-bg" width="{}" height="{}" rx="8" fill="{}"/>"#,
                    F(width),
                    F(height),
                    palette.background
                ),
            );
        }
        Svg { buf }
    }

    /// Writes one text run with its baseline at `y`.
    pub fn text(&mut self, x: f64, y: f64, s: &str, st: TextStyle<'_>) {
        self.text_attrs(x, y, s, st, "");
    }

    /// Writes one text run with extra raw attributes (`extra` must be trusted).
    pub fn text_attrs(&mut self, x: f64, y: f64, s: &str, st: TextStyle<'_>, extra: &str) {
        w(
            &mut self.buf,
            format_args!(
                r#"<text x="{}" y="{}" font-size="{}" fill="{}""#,
                F(x),
                F(y),
                F(st.size),
                st.fill
            ),
        );
        match st.anchor {
            Anchor::Start => {}
            Anchor::Middle => self.buf.push_str(r#" text-anchor="middle""#),
            Anchor::End => self.buf.push_str(r#" text-anchor="end""#),
        }
        if st.bold {
            self.buf.push_str(r#" font-weight="bold""#);
        }
        if !extra.is_empty() {
            self.buf.push(' ');
            self.buf.push_str(extra);
        }
        w(&mut self.buf, format_args!(">{}</text>", Esc(s)));
    }

    /// A horizontal or vertical hairline.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        w(
            &mut self.buf,
            format_args!(
                r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}"/>"#,
                F(x1),
                F(y1),
                F(x2),
                F(y2),
                stroke,
                F(width)
            ),
        );
    }

    /// A filled rectangle with rounded corners.
    pub fn rect(&mut self, r: Rect, rx: f64, fill: &str) {
        w(
            &mut self.buf,
            format_args!(
                r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{}"/>"#,
                F(r.x),
                F(r.y),
                F(r.w.max(0.0)),
                F(r.h.max(0.0)),
                F(rx),
                fill
            ),
        );
    }

    pub fn open_group(&mut self, class: &str) {
        w(&mut self.buf, format_args!(r#"<g class="{class}">"#));
    }

    pub fn close_group(&mut self) {
        self.buf.push_str("</g>");
    }

    pub fn finish(mut self) -> String {
        self.buf.push_str("</svg>");
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::F;

    #[test]
    fn floats_are_written_with_one_decimal_at_most() {
        assert_eq!(F(12.0).to_string(), "12");
        assert_eq!(F(12.345).to_string(), "12.3");
        assert_eq!(F(-0.01).to_string(), "0");
        assert_eq!(F(f64::NAN).to_string(), "0");
        assert_eq!(F(f64::INFINITY).to_string(), "0");
        assert_eq!(F(-3.25).to_string(), "-3.3");
    }
}
