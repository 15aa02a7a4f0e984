//! Chart drawing shared by every kind: the card, the title, legends, and the
//! empty and error states.

pub(crate) mod cartesian;
pub(crate) mod kpi;
pub(crate) mod pie;
pub(crate) mod table;

use crate::escape::{Esc, w};
use crate::font;
use crate::spec::ChartSpec;
use crate::svg::{Anchor, F, Rect, Svg, TextStyle};
use crate::theme::Palette;

/// Padding inside the card.
pub(crate) const PAD: f64 = 16.0;
/// Title size.
pub(crate) const TITLE_SIZE: f64 = 14.0;
/// Axis, legend and table text size.
pub(crate) const LABEL_SIZE: f64 = 11.0;
/// Legend text size.
pub(crate) const LEGEND_SIZE: f64 = 12.0;

/// An SVG under construction with its palette and the area left for content.
pub(crate) struct Canvas {
    pub svg: Svg,
    pub pal: Palette,
    pub content: Rect,
}

impl Canvas {
    /// Starts a chart: root element, background and title.
    pub fn start(spec: &ChartSpec, desc: &str) -> Canvas {
        let pal = spec.theme.palette();
        let (wd, ht) = (spec.size.width, spec.size.height);
        let mut svg = Svg::begin(
            wd,
            ht,
            spec.options.sizing,
            &pal,
            spec.options.background,
            &spec.title,
            desc,
        );
        let pad = if wd < 240.0 || ht < 140.0 { 10.0 } else { PAD };
        let mut top = pad;
        if spec.options.show_title && !spec.title.trim().is_empty() {
            let st = TextStyle::new(TITLE_SIZE, pal.text).bold();
            let t = font::truncate(spec.title.trim(), TITLE_SIZE, true, wd - 2.0 * pad);
            svg.buf.push_str(r#"<g class="vt-title">"#);
            svg.text(pad, pad + TITLE_SIZE * 0.8, &t, st);
            svg.close_group();
            top += TITLE_SIZE + 12.0;
        }
        Canvas {
            svg,
            pal,
            content: Rect {
                x: pad,
                y: top,
                w: (wd - 2.0 * pad).max(1.0),
                h: (ht - top - pad).max(1.0),
            },
        }
    }

    pub fn finish(self) -> String {
        self.svg.finish()
    }
}

/// The "No data" state: the title, a quiet glyph and a message.
pub(crate) fn empty_state(spec: &ChartSpec) -> String {
    let mut c = Canvas::start(spec, "No data");
    let r = c.content;
    let cx = r.x + r.w / 2.0;
    let cy = r.y + r.h / 2.0;
    c.svg.open_group("vt-empty");
    if r.h >= 70.0 {
        // Three rounded bars, the universal "chart without data" glyph.
        for (i, h) in [14.0, 24.0, 18.0].iter().enumerate() {
            let x = cx - 17.0 + i as f64 * 12.0;
            c.svg.rect(
                Rect {
                    x,
                    y: cy - 6.0 - h,
                    w: 9.0,
                    h: *h,
                },
                2.0,
                c.pal.grid,
            );
        }
        c.svg.text(
            cx,
            cy + 16.0,
            "No data",
            TextStyle::new(13.0, c.pal.muted).anchor(Anchor::Middle),
        );
    } else {
        c.svg.text(
            cx,
            cy + 4.0,
            "No data",
            TextStyle::new(13.0, c.pal.muted).anchor(Anchor::Middle),
        );
    }
    c.svg.close_group();
    c.finish()
}

/// The error state: the title, a warning sign and the caller's polite
/// message, wrapped and escaped.
pub(crate) fn error_state(spec: &ChartSpec, message: &str) -> String {
    let mut c = Canvas::start(spec, message);
    let r = c.content;
    let size = 12.5;
    let lines = wrap_text(message, size, false, (r.w - 24.0).min(420.0), 3);
    let line_h = size * 1.4;
    let icon = if r.h >= 80.0 { 30.0 } else { 0.0 };
    let block = icon + lines.len() as f64 * line_h;
    let mut y = r.y + (r.h - block) / 2.0;
    let cx = r.x + r.w / 2.0;
    c.svg.open_group("vt-error");
    if icon > 0.0 {
        w(
            &mut c.svg.buf,
            format_args!(
                r#"<circle cx="{}" cy="{}" r="10" fill="none" stroke="{}" stroke-width="1.6"/>"#,
                F(cx),
                F(y + 10.0),
                c.pal.bad
            ),
        );
        c.svg.rect(
            Rect {
                x: cx - 0.9,
                y: y + 4.5,
                w: 1.8,
                h: 7.0,
            },
            0.9,
            c.pal.bad,
        );
        c.svg.rect(
            Rect {
                x: cx - 0.9,
                y: y + 13.5,
                w: 1.8,
                h: 1.8,
            },
            0.9,
            c.pal.bad,
        );
        y += icon;
    }
    for line in &lines {
        y += line_h;
        c.svg.text(
            cx,
            y - line_h * 0.3,
            line,
            TextStyle::new(size, c.pal.muted).anchor(Anchor::Middle),
        );
    }
    c.svg.close_group();
    c.finish()
}

/// Word-wraps `text` into at most `max_lines` lines of at most `max_w`
/// px; the last line ends with `…` when text was cut. Words longer than a
/// line are truncated.
pub(crate) fn wrap_text(
    text: &str,
    size: f64,
    bold: bool,
    max_w: f64,
    max_lines: usize,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let space = font::text_width(" ", size, bold);
    let mut cur_w = 0.0;
    let mut cut = false;
    for word in text.split_whitespace() {
        let ww = font::text_width(word, size, bold);
        if !cur.is_empty() && cur_w + space + ww <= max_w {
            cur.push(' ');
            cur.push_str(word);
            cur_w += space + ww;
            continue;
        }
        if !cur.is_empty() {
            if lines.len() + 1 == max_lines {
                cut = true;
                break;
            }
            lines.push(std::mem::take(&mut cur));
        }
        cur = font::truncate(word, size, bold, max_w).into_owned();
        cur_w = font::text_width(&cur, size, bold);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    if cut && let Some(last) = lines.last_mut() {
        let with = format!("{last} …");
        *last = if font::text_width(&with, size, bold) <= max_w {
            with
        } else {
            let t = font::truncate(last, size, bold, max_w - font::text_width("…", size, bold));
            format!("{}…", t.trim_end_matches('…'))
        };
    }
    lines
}

/// How a legend entry's swatch looks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swatch {
    /// A rounded square (bars, areas, slices).
    Square,
    /// A short thick line (lines).
    Line,
}

/// The number of rows a legend of `items` needs in `width` px (unbounded).
pub(crate) fn legend_rows(items: &[(&str, &str)], width: f64, swatch: Swatch) -> usize {
    let sw = if swatch == Swatch::Line { 14.0 } else { 10.0 };
    let max_label = (width * 0.45).clamp(40.0, 180.0);
    let mut x = 0.0;
    let mut rows = 1;
    for (name, _) in items {
        let label = font::truncate(name, LEGEND_SIZE, false, max_label);
        let item_w = sw + 6.0 + font::text_width(&label, LEGEND_SIZE, false);
        if x > 0.0 && x + item_w > width {
            rows += 1;
            x = 0.0;
        }
        x += item_w + 16.0;
    }
    rows
}

/// Draws a legend that wraps onto as many rows as it needs, up to
/// `max_rows`; entries that do not fit are summarised as "+N more".
/// Returns the height used.
pub(crate) fn legend(
    svg: &mut Svg,
    pal: &Palette,
    area: Rect,
    items: &[(&str, &str)],
    swatch: Swatch,
    max_rows: usize,
) -> f64 {
    let row_h = LEGEND_SIZE + 8.0;
    let gap = 16.0;
    let sw = if swatch == Swatch::Line { 14.0 } else { 10.0 };
    let max_label = (area.w * 0.45).clamp(40.0, 180.0);
    let st = TextStyle::new(LEGEND_SIZE, pal.muted);
    let mut x = area.x;
    let mut row = 0usize;
    svg.open_group("vt-legend");
    let more_w = st.width("+99 more") + 4.0;
    for (i, (name, color)) in items.iter().enumerate() {
        let label = font::truncate(name, LEGEND_SIZE, false, max_label);
        let item_w = sw + 6.0 + st.width(&label);
        let last_row = row + 1 == max_rows;
        let reserve = if last_row && i + 1 < items.len() {
            more_w
        } else {
            0.0
        };
        if x > area.x && x + item_w + reserve > area.right() {
            if last_row {
                let y = area.y + row as f64 * row_h + LEGEND_SIZE * 0.85;
                svg.text(x, y, &format!("+{} more", items.len() - i), st);
                row += 1;
                svg.close_group();
                return row as f64 * row_h;
            }
            row += 1;
            x = area.x;
        }
        let y = area.y + row as f64 * row_h;
        let cy = y + LEGEND_SIZE * 0.5;
        match swatch {
            Swatch::Square => svg.rect(
                Rect {
                    x,
                    y: cy - 5.0,
                    w: 10.0,
                    h: 10.0,
                },
                2.5,
                color,
            ),
            Swatch::Line => w(
                &mut svg.buf,
                format_args!(
                    r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="3" stroke-linecap="round"/>"#,
                    F(x + 1.5),
                    F(cy),
                    F(x + sw - 1.5),
                    F(cy),
                    color
                ),
            ),
        }
        svg.text(x + sw + 6.0, y + LEGEND_SIZE * 0.85, &label, st);
        x += item_w + gap;
    }
    svg.close_group();
    (row + 1) as f64 * row_h
}

/// A `<title>` child giving a mark its tooltip (nothing for empty text).
pub(crate) fn tooltip(buf: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    w(buf, format_args!("<title>{}</title>", Esc(text)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_respects_width_and_line_count() {
        let text = "The query took too long to answer and was stopped after ten seconds; try a narrower date range.";
        let lines = wrap_text(text, 12.0, false, 150.0, 3);
        assert_eq!(lines.len(), 3);
        for l in &lines {
            assert!(font::text_width(l, 12.0, false) <= 150.0, "{l}");
        }
        assert!(lines[2].ends_with('…'));
        assert_eq!(wrap_text("short", 12.0, false, 150.0, 3), vec!["short"]);
    }
}
