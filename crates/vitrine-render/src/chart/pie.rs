//! Donut charts: slices of a whole, the total in the middle.

use super::{Canvas, LEGEND_SIZE, Swatch, legend, tooltip};
use crate::data::{Dataset, NULL_LABEL};
use crate::escape::w;
use crate::font;
use crate::format::{format_compact, format_value};
use crate::spec::{ChartSpec, ValueLabels};
use crate::svg::{Anchor, F, Rect, TextStyle};
use crate::theme::{MAX_SERIES, text_on};
use std::f64::consts::{FRAC_PI_2, TAU};

struct Slice {
    label: String,
    value: f64,
    other: bool,
}

/// The slices: positive values per category, largest first, the smallest
/// merged into "Other" beyond the palette's size. Zero, negative and
/// missing values cannot be shown as a share and are left out.
fn slices(ds: &Dataset) -> Vec<Slice> {
    let mut out: Vec<Slice> = ds
        .categories
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let v: f64 = ds.series.iter().filter_map(|s| s.values[i]).sum();
            (v > 0.0 && v.is_finite()).then(|| Slice {
                label: if c.label.is_empty() {
                    NULL_LABEL.to_string()
                } else {
                    c.label.clone()
                },
                value: v,
                other: false,
            })
        })
        .collect();
    out.sort_by(|a, b| b.value.total_cmp(&a.value));
    if out.len() > MAX_SERIES {
        let rest: f64 = out[MAX_SERIES - 1..].iter().map(|s| s.value).sum();
        out.truncate(MAX_SERIES - 1);
        out.push(Slice {
            label: "Other".to_string(),
            value: rest,
            other: true,
        });
    }
    out
}

/// True when the dataset has at least one positive slice.
pub(crate) fn has_slices(ds: &Dataset) -> bool {
    !slices(ds).is_empty()
}

fn point(cx: f64, cy: f64, r: f64, a: f64) -> (f64, f64) {
    (cx + r * a.cos(), cy + r * a.sin())
}

/// Draws a donut chart; `ds` has at least one positive value.
pub(crate) fn render(spec: &ChartSpec, ds: &Dataset) -> String {
    let slices = slices(ds);
    let total: f64 = slices.iter().map(|s| s.value).sum();
    let format = &ds.format;
    let desc = format!(
        "Donut chart of {}, {} slices, total {}",
        spec.measures.first().map_or("value", |m| m.name()),
        slices.len(),
        format_value(total, format)
    );
    let mut c = Canvas::start(spec, &desc);
    let pal = c.pal;
    let area = c.content;
    let colors: Vec<&str> = slices
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if s.other {
                pal.other
            } else {
                pal.series_color(i)
            }
        })
        .collect();

    // Legend to the right when the card is wide, else below.
    let side = area.w >= area.h * 1.5 && area.w >= 300.0;
    let (donut, legend_area) = if side {
        let d = area.h.min(area.w * 0.5);
        (
            Rect {
                x: area.x,
                y: area.y,
                w: d,
                h: area.h,
            },
            Rect {
                x: area.x + d + 24.0,
                y: area.y,
                w: area.w - d - 24.0,
                h: area.h,
            },
        )
    } else {
        let names: Vec<(&str, &str)> = slices.iter().map(|s| (s.label.as_str(), "")).collect();
        let rows = super::legend_rows(&names, area.w, Swatch::Square).min(3);
        let rows_h = if spec.options.legend {
            // A bottom legend of up to three rows.
            (LEGEND_SIZE + 8.0) * rows as f64 + 8.0
        } else {
            0.0
        };
        (
            Rect {
                x: area.x,
                y: area.y,
                w: area.w,
                h: (area.h - rows_h).max(40.0),
            },
            Rect {
                x: area.x,
                y: area.y + (area.h - rows_h).max(40.0) + 8.0,
                w: area.w,
                h: rows_h,
            },
        )
    };
    let r = (donut.w.min(donut.h) / 2.0 - 2.0).max(10.0);
    let ri = r * 0.62;
    let cx = donut.x + donut.w / 2.0;
    let cy = donut.y + donut.h / 2.0;

    c.svg.open_group("vt-slices");
    let mut a0 = -FRAC_PI_2;
    let mut labels: Vec<(f64, f64, String, &str)> = Vec::new();
    for (i, s) in slices.iter().enumerate() {
        let share = s.value / total;
        let a1 = a0 + share * TAU;
        let tip = if spec.options.tooltips {
            format!(
                "{}: {} ({})",
                s.label,
                format_value(s.value, format),
                format_compact(share, &vitrine_core::result::NumberFormat::Percent)
            )
        } else {
            String::new()
        };
        if slices.len() == 1 {
            w(
                &mut c.svg.buf,
                format_args!(
                    r#"<circle cx="{}" cy="{}" r="{}" fill="none" stroke="{}" stroke-width="{}">"#,
                    F(cx),
                    F(cy),
                    F((r + ri) / 2.0),
                    colors[i],
                    F(r - ri)
                ),
            );
            tooltip(&mut c.svg.buf, &tip);
            c.svg.buf.push_str("</circle>");
        } else {
            let large = u8::from(a1 - a0 > std::f64::consts::PI);
            let (x0, y0) = point(cx, cy, r, a0);
            let (x1, y1) = point(cx, cy, r, a1);
            let (x2, y2) = point(cx, cy, ri, a1);
            let (x3, y3) = point(cx, cy, ri, a0);
            w(
                &mut c.svg.buf,
                format_args!(
                    r#"<path d="M{} {}A{} {} 0 {large} 1 {} {}L{} {}A{} {} 0 {large} 0 {} {}Z" fill="{}" stroke="{}" stroke-width="1.5" stroke-linejoin="round">"#,
                    F(x0),
                    F(y0),
                    F(r),
                    F(r),
                    F(x1),
                    F(y1),
                    F(x2),
                    F(y2),
                    F(ri),
                    F(ri),
                    F(x3),
                    F(y3),
                    colors[i],
                    pal.background
                ),
            );
            tooltip(&mut c.svg.buf, &tip);
            c.svg.buf.push_str("</path>");
        }
        // The share on the ring where the arc is long enough.
        if spec.options.value_labels != ValueLabels::Never {
            let text = format_compact(share, &vitrine_core::result::NumberFormat::Percent);
            let size = 11.0;
            let tw = font::text_width(&text, size, true);
            let mid_r = (r + ri) / 2.0;
            let arc = (a1 - a0) * mid_r;
            if arc >= tw + 8.0 && r - ri >= size + 4.0 {
                let (lx, ly) = point(cx, cy, mid_r, (a0 + a1) / 2.0);
                labels.push((lx, ly + size * 0.35, text, text_on(colors[i])));
            }
        }
        a0 = a1;
    }
    c.svg.close_group();
    if !labels.is_empty() {
        c.svg.open_group("vt-values");
        for (x, y, text, fill) in &labels {
            c.svg.text(
                *x,
                *y,
                text,
                TextStyle::new(11.0, fill).bold().anchor(Anchor::Middle),
            );
        }
        c.svg.close_group();
    }

    // The total in the hole: full when it fits, else compact.
    let hole = ri * 2.0 * 0.84;
    let mut size = (ri * 0.42).clamp(10.0, 30.0);
    let full = format_value(total, format);
    let compact = format_compact(total, format);
    let mut text = full.clone();
    while font::text_width(&text, size, true) > hole && size > 10.0 {
        size -= 1.0;
        if size < 16.0 && text == full {
            text = compact.clone();
            size = (ri * 0.42).clamp(10.0, 30.0);
        }
    }
    c.svg.open_group("vt-total");
    let label_size = (size * 0.45).clamp(9.0, 12.0);
    c.svg.text(
        cx,
        cy + size * 0.3,
        &text,
        TextStyle::new(size, pal.text).bold().anchor(Anchor::Middle),
    );
    if ri > 30.0 {
        c.svg.text(
            cx,
            cy + size * 0.3 + label_size + 5.0,
            "Total",
            TextStyle::new(label_size, pal.muted).anchor(Anchor::Middle),
        );
    }
    c.svg.close_group();

    if spec.options.legend {
        if side {
            side_legend(&mut c, legend_area, &slices, &colors, total, format);
        } else {
            let items: Vec<(&str, &str)> = slices
                .iter()
                .zip(&colors)
                .map(|(s, c)| (s.label.as_str(), *c))
                .collect();
            legend(&mut c.svg, &pal, legend_area, &items, Swatch::Square, 3);
        }
    }
    c.finish()
}

/// A legend column: swatch, name, value and share, one slice per row.
fn side_legend(
    c: &mut Canvas,
    area: Rect,
    slices: &[Slice],
    colors: &[&str],
    total: f64,
    format: &vitrine_core::result::NumberFormat,
) {
    let pal = c.pal;
    let size = LEGEND_SIZE;
    let row_h = size + 10.0;
    let rows = ((area.h / row_h).floor() as usize).max(1);
    let shown = if slices.len() > rows {
        rows.saturating_sub(1).max(1)
    } else {
        slices.len()
    };
    let top = area.y + (area.h - shown as f64 * row_h) / 2.0;
    let values: Vec<String> = slices[..shown]
        .iter()
        .map(|s| {
            format!(
                "{}  {}",
                format_compact(s.value, format),
                format_compact(
                    s.value / total,
                    &vitrine_core::result::NumberFormat::Percent
                )
            )
        })
        .collect();
    let vw = values
        .iter()
        .map(|v| font::text_width(v, size, false))
        .fold(0.0, f64::max);
    let name_w = (area.w - 16.0 - vw - 12.0).max(20.0);
    let show_values = area.w - 16.0 - vw - 12.0 >= 40.0;
    c.svg.open_group("vt-legend");
    for i in 0..shown {
        let y = top + i as f64 * row_h;
        c.svg.rect(
            Rect {
                x: area.x,
                y: y + (row_h - 10.0) / 2.0,
                w: 10.0,
                h: 10.0,
            },
            2.5,
            colors[i],
        );
        let baseline = y + row_h / 2.0 + size * 0.35;
        let nw = if show_values { name_w } else { area.w - 16.0 };
        let name = font::truncate(&slices[i].label, size, false, nw);
        c.svg.text(
            area.x + 16.0,
            baseline,
            &name,
            TextStyle::new(size, pal.text),
        );
        if show_values {
            c.svg.text(
                area.right(),
                baseline,
                &values[i],
                TextStyle::new(size, pal.muted).anchor(Anchor::End),
            );
        }
    }
    if shown < slices.len() {
        let y = top + shown as f64 * row_h;
        c.svg.text(
            area.x + 16.0,
            y + size,
            &format!("+{} more", slices.len() - shown),
            TextStyle::new(size, pal.muted),
        );
    }
    c.svg.close_group();
}
