//! KPI cards: the latest value, its change against the previous period, and
//! a sparkline of the series behind it.

use super::Canvas;
use crate::data::Dataset;
use crate::escape::w;
use crate::font;
use crate::format::{format_compact, format_value};
use crate::spec::ChartSpec;
use crate::svg::{F, TextStyle};
use crate::ticks::nice_ticks;
use vitrine_core::result::NumberFormat;

/// The figures a KPI shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figures {
    pub current: f64,
    pub previous: Option<f64>,
}

/// The latest value and the one it is compared with: the comparison column
/// (second series) on the same row when there is one, else the value before.
pub(crate) fn figures(ds: &Dataset, has_comparison: bool) -> Option<Figures> {
    let main = ds.series.first()?;
    let last = main.values.iter().rposition(Option::is_some)?;
    let current = main.values[last]?;
    let previous = if has_comparison {
        ds.series.get(1).and_then(|s| s.values[last])
    } else {
        main.values[..last].iter().rev().flatten().next().copied()
    };
    Some(Figures { current, previous })
}

/// Draws a KPI card; `ds` has at least one value.
pub(crate) fn render(spec: &ChartSpec, ds: &Dataset, has_comparison: bool) -> String {
    let Some(fig) = figures(ds, has_comparison) else {
        return super::empty_state(spec);
    };
    let format = ds.format.clone();
    let full = format_value(fig.current, &format);
    let change = fig
        .previous
        .and_then(|p| (p != 0.0).then(|| (fig.current - p) / p.abs()));
    let mut desc = format!(
        "{}: {}",
        spec.measures.first().map_or("Value", |m| m.name()),
        full
    );
    if let Some(ch) = change {
        desc.push_str(&format!(
            ", {} {} against the previous period",
            if ch >= 0.0 { "up" } else { "down" },
            format_compact(ch.abs(), &NumberFormat::Percent)
        ));
    }
    let mut c = Canvas::start(spec, &desc);
    let pal = c.pal;
    let area = c.content;

    // The value: as large as the card allows, compact when full does not fit.
    let max_size = (area.h * 0.42).clamp(14.0, 48.0);
    let mut size = max_size;
    let mut text = full.clone();
    while font::text_width(&text, size, true) > area.w && size > 12.0 {
        size -= 1.0;
        if size < max_size * 0.7 && text == full {
            text = format_compact(fig.current, &format);
            size = max_size;
        }
    }
    let text = font::truncate(&text, size, true, area.w).into_owned();
    let mut y = area.y + size * 0.82;
    c.svg.open_group("vt-kpi-value");
    c.svg
        .text(area.x, y, &text, TextStyle::new(size, pal.text).bold());
    c.svg.close_group();

    // The change line.
    let small = 12.5;
    y += small + 12.0;
    if let Some(prev) = fig.previous
        && y <= area.bottom() + 2.0
    {
        c.svg.open_group("vt-kpi-change");
        let mut x = area.x;
        if let Some(ch) = change {
            let up = ch > 0.0;
            let flat = format_compact(ch.abs(), &NumberFormat::Percent) == "0%";
            let (arrow, fill) = if flat {
                ("●", pal.muted)
            } else if up == spec.options.higher_is_better {
                (if up { "▲" } else { "▼" }, pal.good)
            } else {
                (if up { "▲" } else { "▼" }, pal.bad)
            };
            let t = format!(
                "{arrow} {}",
                format_compact(ch.abs(), &NumberFormat::Percent)
            );
            let st = TextStyle::new(small, fill).bold();
            c.svg.text(x, y, &t, st);
            x += st.width(&t) + 6.0;
        }
        let rest = format!("vs {}", format_compact(prev, &format));
        let rest = font::truncate(&rest, small, false, area.right() - x);
        c.svg.text(x, y, &rest, TextStyle::new(small, pal.muted));
        c.svg.close_group();
    }

    // The sparkline under it, when there is a series and room.
    let main = &ds.series[0].values;
    let points: Vec<(usize, f64)> = main
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let top = y + 14.0;
    let h = area.bottom() - top;
    if points.len() >= 2 && h >= 20.0 {
        let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let t = nice_ticks(lo, hi, 2);
        let (lo, hi) = if hi > lo { (lo, hi) } else { (t.min, t.max) };
        let n = main.len().max(2) - 1;
        let sx = |i: usize| area.x + 2.0 + i as f64 / n as f64 * (area.w - 4.0);
        let sy = |v: f64| top + 3.0 + (1.0 - (v - lo) / (hi - lo)) * (h - 6.0);
        let col = pal.series_color(0);
        let mut line = String::with_capacity(points.len() * 14);
        for (k, (i, v)) in points.iter().enumerate() {
            w(
                &mut line,
                format_args!(
                    "{}{} {}",
                    if k == 0 { 'M' } else { 'L' },
                    F(sx(*i)),
                    F(sy(*v))
                ),
            );
        }
        let (first, last) = (points[0], points[points.len() - 1]);
        c.svg.open_group("vt-sparkline");
        w(
            &mut c.svg.buf,
            format_args!(
                r#"<path d="{line}L{} {}L{} {}Z" fill="{col}" fill-opacity="0.1"/><path d="{line}" fill="none" stroke="{col}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/><circle cx="{}" cy="{}" r="3" fill="{col}"/>"#,
                F(sx(last.0)),
                F(area.bottom()),
                F(sx(first.0)),
                F(area.bottom()),
                F(sx(last.0)),
                F(sy(last.1))
            ),
        );
        c.svg.close_group();
    }
    c.finish()
}
