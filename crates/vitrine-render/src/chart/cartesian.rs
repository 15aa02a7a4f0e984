//! Line, area and bar charts: a value axis against a category / time axis.

use super::{Canvas, LABEL_SIZE, Swatch, legend, tooltip};
use crate::data::{Dataset, Series};
use crate::escape::w;
use crate::font;
use crate::format::{AxisFormat, format_compact, format_value};
use crate::spec::{ChartKind, ChartSpec, Orientation, Stacking, ValueLabels};
use crate::svg::{Anchor, F, Rect, Svg, TextStyle};
use crate::theme::{Palette, text_on};
use crate::ticks::{Ticks, nice_ticks};

/// Gap between a tick label and the plot.
const TICK_GAP: f64 = 8.0;
/// Rotated category labels: the angle and the longest label allowed.
const ROTATION: f64 = 45.0;
const ROTATED_MAX: f64 = 120.0;
/// Category labels wider than this are truncated even when horizontal.
const HORIZONTAL_MAX: f64 = 160.0;

/// The colour of series `i`.
fn color(pal: &Palette, s: &Series, i: usize) -> &'static str {
    if s.other {
        pal.other
    } else {
        pal.series_color(i)
    }
}

/// Draws a line, area or bar chart; `ds` has at least one value.
pub(crate) fn render(spec: &ChartSpec, ds: &Dataset) -> String {
    let desc = describe(spec, ds);
    let mut c = Canvas::start(spec, &desc);
    let mut area = c.content;
    if ds.series.len() > 1 && spec.options.legend {
        let items: Vec<(&str, &str)> = ds
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), color(&c.pal, s, i)))
            .collect();
        let swatch = if spec.kind == ChartKind::Line {
            Swatch::Line
        } else {
            Swatch::Square
        };
        let h = legend(&mut c.svg, &c.pal, area, &items, swatch, 2);
        area.y += h + 8.0;
        area.h = (area.h - h - 8.0).max(20.0);
    }
    let stacked = spec.options.stacking == Stacking::Stacked
        && ds.series.len() > 1
        && spec.kind != ChartKind::Line;
    let (lo, hi) = value_range(ds, stacked);
    let zero = match spec.kind {
        ChartKind::Line => spec.options.y_zero.unwrap_or(
            (lo <= 0.0 && hi >= 0.0) || (lo > 0.0 && lo < hi * 0.5) || (hi < 0.0 && hi > lo * 0.5),
        ),
        _ => true,
    };
    let (lo, hi) = if zero {
        (lo.min(0.0), hi.max(0.0))
    } else {
        (lo, hi)
    };
    if spec.kind == ChartKind::Bar && spec.options.orientation == Orientation::Horizontal {
        horizontal_bars(&mut c, spec, ds, area, lo, hi, stacked);
    } else {
        vertical(&mut c, spec, ds, area, lo, hi, stacked);
    }
    c.finish()
}

fn describe(spec: &ChartSpec, ds: &Dataset) -> String {
    let mut d = String::from(spec.kind.noun());
    if let Some(m) = spec.measures.first() {
        d.push_str(" of ");
        d.push_str(m.name());
    }
    if let Some(dim) = &spec.dimension {
        d.push_str(" by ");
        d.push_str(dim);
    }
    d.push_str(&format!(
        ", {} {}, {} series",
        ds.categories.len(),
        if ds.time.is_some() {
            "points"
        } else {
            "categories"
        },
        ds.series.len()
    ));
    let mut first = d.chars();
    match first.next() {
        Some(c) => c.to_uppercase().chain(first).collect(),
        None => d,
    }
}

/// The smallest and largest value to show (sums when stacked).
fn value_range(ds: &Dataset, stacked: bool) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    if stacked {
        for i in 0..ds.categories.len() {
            let (mut pos, mut neg) = (0.0f64, 0.0f64);
            for s in &ds.series {
                match s.values[i] {
                    Some(v) if v >= 0.0 => pos += v,
                    Some(v) => neg += v,
                    None => {}
                }
            }
            lo = lo.min(neg);
            hi = hi.max(pos);
        }
    } else {
        for v in ds.series.iter().flat_map(|s| s.values.iter().flatten()) {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
    }
    if lo > hi { (0.0, 1.0) } else { (lo, hi) }
}

/// The y (or x) of a value on an axis spanning `ticks` over `[a, b]` px,
/// `a` being where `ticks.min` sits.
fn scale(ticks: &Ticks, a: f64, b: f64, v: f64) -> f64 {
    let span = ticks.max - ticks.min;
    if span <= 0.0 {
        return a;
    }
    a + (v.clamp(ticks.min, ticks.max) - ticks.min) / span * (b - a)
}

/// How the category labels under a vertical chart are laid out.
struct XPlan {
    rotate: bool,
    /// Every `step`-th label is drawn.
    step: usize,
    /// The labels as drawn (truncated), one per category.
    labels: Vec<String>,
    /// The height the labels take below the plot.
    height: f64,
}

/// Chooses horizontal or rotated labels and a thinning step so that no two
/// drawn labels overlap. `xs` are the label centres, `bounds` the horizontal
/// extent labels may use; time axes are never rotated.
fn plan_x_labels(
    raw: &[String],
    xs: &[f64],
    band: f64,
    allow_rotate: bool,
    max_h: f64,
    bounds: (f64, f64),
) -> XPlan {
    let size = LABEL_SIZE;
    let n = raw.len();
    let widths: Vec<f64> = raw
        .iter()
        .map(|l| font::text_width(l, size, false))
        .collect();
    let max_w = widths.iter().copied().fold(0.0, f64::max);
    let horizontal_h = size + TICK_GAP + 2.0;
    if n == 0 || raw.iter().all(String::is_empty) {
        return XPlan {
            rotate: false,
            step: 1,
            labels: vec![String::new(); n],
            height: if n == 0 { 0.0 } else { 4.0 },
        };
    }
    // Horizontal labels, every one, when they fit their band.
    let fits_all = max_w + 6.0 <= band;
    if fits_all || !allow_rotate || band >= 56.0 {
        let limit = if fits_all || !allow_rotate {
            HORIZONTAL_MAX
        } else {
            band - 6.0
        };
        let labels: Vec<String> = raw
            .iter()
            .map(|l| font::truncate(l, size, false, limit).into_owned())
            .collect();
        let widths: Vec<f64> = labels
            .iter()
            .map(|l| font::text_width(l, size, false))
            .collect();
        let step = (1..=n)
            .find(|&k| no_overlap(xs, &widths, k, 8.0, bounds))
            .unwrap_or(n);
        return XPlan {
            rotate: false,
            step,
            labels,
            height: horizontal_h,
        };
    }
    // Rotated labels, truncated, thinned by their line height.
    let sin = ROTATION.to_radians().sin();
    let longest = (max_h * 0.35 / sin).clamp(30.0, ROTATED_MAX);
    let labels: Vec<String> = raw
        .iter()
        .map(|l| font::truncate(l, size, false, longest).into_owned())
        .collect();
    let used = labels
        .iter()
        .map(|l| font::text_width(l, size, false))
        .fold(0.0, f64::max);
    let pitch = size * 1.25 / sin;
    let step = ((pitch / band.max(0.01)).ceil() as usize).clamp(1, n.max(1));
    XPlan {
        rotate: true,
        step,
        labels,
        height: used * sin + size * sin + TICK_GAP,
    }
}

/// True when drawing every `k`-th label (centred on `xs`, clamped into
/// `bounds`) leaves at least `gap` px between neighbours.
fn no_overlap(xs: &[f64], widths: &[f64], k: usize, gap: f64, bounds: (f64, f64)) -> bool {
    let mut prev_right = f64::NEG_INFINITY;
    for i in (0..xs.len()).step_by(k) {
        let (l, r) = clamp_span(xs[i], widths[i], bounds);
        if l < prev_right + gap {
            return false;
        }
        prev_right = r;
    }
    true
}

/// The horizontal extent of a label of width `w` centred on `x`, shifted to
/// stay within `bounds`.
fn clamp_span(x: f64, w: f64, bounds: (f64, f64)) -> (f64, f64) {
    let mut l = x - w / 2.0;
    if l < bounds.0 {
        l = bounds.0;
    }
    if l + w > bounds.1 {
        l = (bounds.1 - w).max(bounds.0);
    }
    (l, l + w)
}

fn tick_count(len: f64, per: f64) -> usize {
    ((len / per).round() as usize).clamp(2, 6)
}

#[allow(clippy::too_many_arguments)]
fn vertical(
    c: &mut Canvas,
    spec: &ChartSpec,
    ds: &Dataset,
    area: Rect,
    lo: f64,
    hi: f64,
    stacked: bool,
) {
    let pal = c.pal;
    let n = ds.categories.len();
    let ticks = nice_ticks(lo, hi, tick_count(area.h - 30.0, 44.0));
    let af = AxisFormat::new(&ds.format, ticks.step, ticks.min.abs().max(ticks.max.abs()));
    let tick_labels: Vec<String> = ticks.values.iter().map(|v| af.format(*v)).collect();
    let ylw = tick_labels
        .iter()
        .map(|l| font::text_width(l, LABEL_SIZE, false))
        .fold(0.0, f64::max);
    let plot_x = area.x + ylw + TICK_GAP;
    let plot_w = (area.right() - plot_x).max(10.0);
    let is_bar = spec.kind == ChartKind::Bar;
    let band = plot_w / n.max(1) as f64;

    // x positions: band centres, or a proportional time scale for lines/areas.
    let xs: Vec<f64> = match (is_bar, time_span(ds)) {
        (false, Some((t0, t1))) => {
            let inset = 6.0;
            ds.categories
                .iter()
                .map(|cat| {
                    let t = cat.time.unwrap_or(t0) as f64;
                    plot_x + inset + (t - t0 as f64) / (t1 - t0) as f64 * (plot_w - 2.0 * inset)
                })
                .collect()
        }
        _ => (0..n).map(|i| plot_x + (i as f64 + 0.5) * band).collect(),
    };
    let spacing = if n > 1 {
        xs.windows(2)
            .map(|p| p[1] - p[0])
            .fold(f64::INFINITY, f64::min)
    } else {
        plot_w
    };
    let raw: Vec<String> = ds.categories.iter().map(|c| c.label.clone()).collect();
    let plan = plan_x_labels(
        &raw,
        &xs,
        spacing,
        ds.time.is_none(),
        area.h,
        (area.x, area.right()),
    );
    let plot_top = area.y + LABEL_SIZE * 0.5;
    let plot_bottom = (area.bottom() - plan.height).max(plot_top + 10.0);
    let y = |v: f64| scale(&ticks, plot_bottom, plot_top, v);

    // Grid and value axis.
    c.svg.open_group("vt-grid");
    for (v, label) in ticks.values.iter().zip(&tick_labels) {
        let yy = y(*v);
        if *v != 0.0 {
            c.svg.line(plot_x, yy, area.right(), yy, pal.grid, 1.0);
        }
        c.svg.text(
            plot_x - TICK_GAP,
            yy + LABEL_SIZE * 0.35,
            label,
            TextStyle::new(LABEL_SIZE, pal.muted).anchor(Anchor::End),
        );
    }
    c.svg.close_group();

    // Marks.
    let show_values = spec.options.value_labels;
    match spec.kind {
        ChartKind::Bar => vertical_bars(c, ds, &xs, band, &y, stacked, show_values, plot_top),
        _ => lines(
            c,
            spec,
            ds,
            &xs,
            &y,
            stacked,
            show_values,
            plot_top,
            spacing,
        ),
    }

    // The zero line over the marks' feet.
    if ticks.min <= 0.0 && ticks.max >= 0.0 {
        let y0 = y(0.0);
        c.svg.line(plot_x, y0, area.right(), y0, pal.baseline, 1.0);
    }

    // Category labels.
    c.svg.open_group("vt-x-labels");
    let st = TextStyle::new(LABEL_SIZE, pal.muted);
    for i in (0..n).step_by(plan.step.max(1)) {
        let label = &plan.labels[i];
        if label.is_empty() {
            continue;
        }
        if plan.rotate {
            let x = xs[i] + LABEL_SIZE * 0.3;
            let yy = plot_bottom + TICK_GAP;
            // A rotated label runs down-left from its tick: near the left
            // edge it is shortened so that it stays inside the card.
            let room = (x - area.x + LABEL_SIZE * 0.5) / ROTATION.to_radians().cos();
            let label = &font::truncate(label, LABEL_SIZE, false, room);
            let tr = format!(r#"transform="rotate(-{} {} {})""#, F(ROTATION), F(x), F(yy));
            c.svg.text_attrs(x, yy, label, st.anchor(Anchor::End), &tr);
        } else {
            let wd = font::text_width(label, LABEL_SIZE, false);
            let (l, _) = clamp_span(xs[i], wd, (area.x, area.right()));
            c.svg.text(
                l + wd / 2.0,
                plot_bottom + TICK_GAP + LABEL_SIZE * 0.8,
                label,
                st.anchor(Anchor::Middle),
            );
        }
    }
    c.svg.close_group();
}

/// The time extent of a time axis with at least two distinct points.
fn time_span(ds: &Dataset) -> Option<(i64, i64)> {
    ds.time?;
    let t0 = ds.categories.iter().filter_map(|c| c.time).min()?;
    let t1 = ds.categories.iter().filter_map(|c| c.time).max()?;
    (t1 > t0).then_some((t0, t1))
}

/// A bar from `base` to `end` along the value axis, `x`..`x+w` across it,
/// with the far end's corners rounded. `vertical` bars grow along y.
#[allow(clippy::too_many_arguments)]
fn bar(
    svg: &mut Svg,
    vertical: bool,
    x: f64,
    w: f64,
    base: f64,
    end: f64,
    round: bool,
    fill: &str,
    tip: &str,
) {
    let len = (end - base).abs();
    if len < 0.01 {
        return;
    }
    let (end, len) = if len < 1.0 {
        (base + (end - base).signum(), 1.0)
    } else {
        (end, len)
    };
    let r = if round {
        (w / 2.0).min(len).min(3.0)
    } else {
        0.0
    };
    if r < 0.05 {
        // Square ends (inner stack segments): a plain rect is shorter.
        let (lo, hi) = (base.min(end), base.max(end));
        let (rx, ry, rw, rh) = if vertical {
            (x, lo, w, hi - lo)
        } else {
            (lo, x, hi - lo, w)
        };
        w_path(
            &mut svg.buf,
            format_args!(
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}">"#,
                F(rx),
                F(ry),
                F(rw),
                F(rh)
            ),
        );
        tooltip(&mut svg.buf, tip);
        svg.buf.push_str("</rect>");
        return;
    }
    let dir = if end < base { -1.0 } else { 1.0 };
    let d = &mut svg.buf;
    d.push_str(r#"<path d=""#);
    if vertical {
        // Along y: base and end are y values; x is the left edge.
        w_path(
            d,
            format_args!(
                "M{} {}V{}Q{} {} {} {}H{}Q{} {} {} {}V{}Z",
                F(x),
                F(base),
                F(end - dir * r),
                F(x),
                F(end),
                F(x + r),
                F(end),
                F(x + w - r),
                F(x + w),
                F(end),
                F(x + w),
                F(end - dir * r),
                F(base)
            ),
        );
    } else {
        // Along x: base and end are x values; x is the top edge.
        w_path(
            d,
            format_args!(
                "M{} {}H{}Q{} {} {} {}V{}Q{} {} {} {}H{}Z",
                F(base),
                F(x),
                F(end - dir * r),
                F(end),
                F(x),
                F(end),
                F(x + r),
                F(x + w - r),
                F(end),
                F(x + w),
                F(end - dir * r),
                F(x + w),
                F(base)
            ),
        );
    }
    w_path(d, format_args!(r#"" fill="{fill}">"#));
    tooltip(&mut svg.buf, tip);
    svg.buf.push_str("</path>");
}

fn w_path(d: &mut String, args: std::fmt::Arguments<'_>) {
    w(d, args);
}

/// The tooltip of one value.
fn tip(ds: &Dataset, s: &Series, i: usize, v: f64) -> String {
    if !ds.tooltips {
        return String::new();
    }
    let cat = &ds.categories[i].label;
    let value = format_value(v, &s.format);
    match (ds.series.len() > 1, cat.is_empty()) {
        (true, false) => format!("{cat} · {}: {value}", s.name),
        (true, true) => format!("{}: {value}", s.name),
        (false, false) => format!("{cat}: {value}"),
        (false, true) => value,
    }
}

#[allow(clippy::too_many_arguments)]
fn vertical_bars(
    c: &mut Canvas,
    ds: &Dataset,
    xs: &[f64],
    band: f64,
    y: &dyn Fn(f64) -> f64,
    stacked: bool,
    labels: ValueLabels,
    plot_top: f64,
) {
    let pal = c.pal;
    let ns = ds.series.len().max(1);
    let per_bar_max = 56.0;
    let group_w = if stacked {
        (band * 0.72).min(per_bar_max)
    } else {
        (band * 0.78).min(per_bar_max * ns as f64 * 0.8)
    }
    .max(1.0);
    let sub = if stacked {
        group_w
    } else {
        group_w / ns as f64
    };
    let bar_w = if sub > 6.0 && !stacked {
        sub - 2.0
    } else {
        sub
    };
    let y0 = y(0.0);
    let want_labels = labels != ValueLabels::Never;
    let mut value_labels: Vec<(f64, f64, String, &str)> = Vec::new();
    let mut totals: Vec<(f64, f64, String, &str)> = Vec::new();
    let mut segments = 0usize;
    c.svg.open_group("vt-bars");
    for (i, &cx) in xs.iter().enumerate() {
        let left = cx - group_w / 2.0;
        if stacked {
            let (mut pos, mut neg) = (0.0, 0.0);
            let last_pos = ds
                .series
                .iter()
                .rposition(|s| s.values[i].is_some_and(|v| v > 0.0));
            let last_neg = ds
                .series
                .iter()
                .rposition(|s| s.values[i].is_some_and(|v| v < 0.0));
            for (si, s) in ds.series.iter().enumerate() {
                let Some(v) = s.values[i] else { continue };
                let (from, to) = if v >= 0.0 {
                    pos += v;
                    (pos - v, pos)
                } else {
                    neg += v;
                    (neg - v, neg)
                };
                let fill = color(&pal, s, si);
                let round = Some(si) == last_pos || Some(si) == last_neg;
                let (yb, ye) = (y(from), y(to));
                bar(
                    &mut c.svg,
                    true,
                    left,
                    bar_w,
                    yb,
                    ye,
                    round,
                    fill,
                    &tip(ds, s, i, v),
                );
                segments += 1;
                if want_labels && (yb - ye).abs() >= LABEL_SIZE + 4.0 {
                    let text = format_compact(v, &s.format);
                    let tw = font::text_width(&text, LABEL_SIZE, false);
                    if (yb - ye).abs() >= LABEL_SIZE + 4.0 && tw + 6.0 <= bar_w {
                        value_labels.push((
                            cx,
                            (yb + ye) / 2.0 + LABEL_SIZE * 0.35,
                            text,
                            text_on(fill),
                        ));
                    }
                }
            }
            // The stack's total above it.
            if want_labels && last_pos.is_some() {
                let text = format_compact(pos, &ds.format);
                let tw = font::text_width(&text, LABEL_SIZE, true);
                let top = y(pos);
                if tw + 2.0 <= band && top - 4.0 - LABEL_SIZE >= plot_top - 2.0 {
                    totals.push((cx, top - 5.0, text, pal.text));
                }
            }
        } else {
            for (si, s) in ds.series.iter().enumerate() {
                let Some(v) = s.values[i] else { continue };
                let x = left + si as f64 * sub + (sub - bar_w) / 2.0;
                let fill = color(&pal, s, si);
                let ye = y(v);
                bar(
                    &mut c.svg,
                    true,
                    x,
                    bar_w,
                    y0,
                    ye,
                    true,
                    fill,
                    &tip(ds, s, i, v),
                );
                if want_labels {
                    let text = format_compact(v, &s.format);
                    let tw = font::text_width(&text, LABEL_SIZE, false);
                    let fits_across = tw + 2.0 <= sub.max(bar_w) + (band - group_w) * 0.5;
                    let ly = if v >= 0.0 {
                        ye - 5.0
                    } else {
                        ye + LABEL_SIZE + 3.0
                    };
                    let fits_along = if v >= 0.0 {
                        ly - LABEL_SIZE >= plot_top - 4.0
                    } else {
                        ly <= y(f64::NEG_INFINITY) + LABEL_SIZE
                    };
                    if fits_across && fits_along && (ns == 1 || tw <= sub + 2.0) {
                        value_labels.push((x + bar_w / 2.0, ly, text, pal.muted));
                    }
                }
            }
        }
    }
    c.svg.close_group();
    // With Auto, label only when every bar (segment, stack) gets its label:
    // a few labelled bars among unlabelled ones read as noise.
    let bars = ds
        .series
        .iter()
        .map(|s| s.values.iter().flatten().count())
        .sum::<usize>();
    let always = labels == ValueLabels::Always;
    let stacks = (0..xs.len())
        .filter(|&i| {
            ds.series
                .iter()
                .any(|s| s.values[i].is_some_and(|v| v > 0.0))
        })
        .count();
    if !(always || value_labels.len() >= if stacked { segments } else { bars }) {
        value_labels.clear();
    }
    if always || totals.len() >= stacks {
        value_labels.append(&mut totals);
    }
    if !value_labels.is_empty() {
        c.svg.open_group("vt-values");
        for (x, yy, text, fill) in &value_labels {
            c.svg.text(
                *x,
                *yy,
                text,
                TextStyle::new(LABEL_SIZE, fill).anchor(Anchor::Middle),
            );
        }
        c.svg.close_group();
    }
}

#[allow(clippy::too_many_arguments)]
fn lines(
    c: &mut Canvas,
    spec: &ChartSpec,
    ds: &Dataset,
    xs: &[f64],
    y: &dyn Fn(f64) -> f64,
    stacked: bool,
    labels: ValueLabels,
    plot_top: f64,
    spacing: f64,
) {
    let pal = c.pal;
    let n = xs.len();
    let area = spec.kind == ChartKind::Area;
    let y0 = y(0.0);
    let dots = spacing >= 14.0 && n <= 40;
    // Cumulative lower edges for stacked areas; gaps count as zero there.
    let mut lower = vec![0.0f64; n];
    c.svg.open_group(if area { "vt-areas" } else { "vt-lines" });
    for (si, s) in ds.series.iter().enumerate() {
        let col = color(&pal, s, si);
        if stacked {
            let upper: Vec<f64> = (0..n)
                .map(|i| lower[i] + s.values[i].unwrap_or(0.0))
                .collect();
            let mut d = String::with_capacity(n * 16);
            for i in 0..n {
                w(
                    &mut d,
                    format_args!(
                        "{}{} {}",
                        if i == 0 { 'M' } else { 'L' },
                        F(xs[i]),
                        F(y(upper[i]))
                    ),
                );
            }
            for i in (0..n).rev() {
                w(&mut d, format_args!("L{} {}", F(xs[i]), F(y(lower[i]))));
            }
            d.push('Z');
            w(
                &mut c.svg.buf,
                format_args!(r#"<path d="{d}" fill="{col}" fill-opacity="0.78"/>"#),
            );
            let top: Vec<Option<f64>> = upper.iter().map(|v| Some(*v)).collect();
            stroke_runs(&mut c.svg, xs, &top, y, col, 1.5);
            lower = upper;
            continue;
        }
        if area {
            // One filled shape per run of consecutive values.
            let opacity = if ds.series.len() > 1 { 0.12 } else { 0.18 };
            for run in runs(&s.values) {
                let mut d = String::with_capacity(run.len() * 16 + 32);
                w(&mut d, format_args!("M{} {}", F(xs[run.start]), F(y0)));
                for i in run.clone() {
                    w(
                        &mut d,
                        format_args!("L{} {}", F(xs[i]), F(y(s.values[i].unwrap_or(0.0)))),
                    );
                }
                w(&mut d, format_args!("L{} {}Z", F(xs[run.end - 1]), F(y0)));
                w(
                    &mut c.svg.buf,
                    format_args!(r#"<path d="{d}" fill="{col}" fill-opacity="{opacity}"/>"#),
                );
            }
        }
        stroke_runs(&mut c.svg, xs, &s.values, y, col, 2.25);
        for (i, v) in s.values.iter().enumerate() {
            let Some(v) = v else { continue };
            let isolated =
                (i == 0 || s.values[i - 1].is_none()) && (i + 1 == n || s.values[i + 1].is_none());
            if dots || isolated {
                w(
                    &mut c.svg.buf,
                    format_args!(
                        r#"<circle cx="{}" cy="{}" r="3" fill="{col}" stroke="{}" stroke-width="1.5">"#,
                        F(xs[i]),
                        F(y(*v)),
                        pal.background
                    ),
                );
                tooltip(&mut c.svg.buf, &tip(ds, s, i, *v));
                c.svg.buf.push_str("</circle>");
            }
        }
    }
    c.svg.close_group();

    if labels == ValueLabels::Always && !stacked {
        // Every point when the labels fit between points, else the last one.
        c.svg.open_group("vt-values");
        for s in &ds.series {
            let texts: Vec<(usize, String)> = s
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i, format_compact(v, &s.format))))
                .collect();
            let widest = texts
                .iter()
                .map(|(_, t)| font::text_width(t, LABEL_SIZE, false))
                .fold(0.0, f64::max);
            let all = widest + 4.0 <= spacing;
            for (k, (i, text)) in texts.iter().enumerate() {
                if !all && k + 1 != texts.len() {
                    continue;
                }
                let v = s.values[*i].unwrap_or(0.0);
                // Below a point that sits lower than its neighbours, so the
                // label does not sit on the line; above otherwise.
                let near: Vec<f64> = [i.checked_sub(1), Some(i + 1)]
                    .iter()
                    .flatten()
                    .filter_map(|j| s.values.get(*j).copied().flatten())
                    .collect();
                let below = !near.is_empty() && v < near.iter().sum::<f64>() / near.len() as f64;
                let ly = if below {
                    (y(v) + LABEL_SIZE + 6.0).min(y(f64::NEG_INFINITY) - 3.0)
                } else {
                    (y(v) - 7.0).max(plot_top + LABEL_SIZE * 0.5)
                };
                c.svg.text(
                    xs[*i],
                    ly,
                    text,
                    TextStyle::new(LABEL_SIZE, pal.text).anchor(Anchor::Middle),
                );
            }
        }
        c.svg.close_group();
    }
}

/// Ranges of consecutive indices that have a value.
fn runs(values: &[Option<f64>]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, v) in values.iter().enumerate() {
        match (v.is_some(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..values.len());
    }
    out
}

/// One polyline per run of values; gaps break the line.
fn stroke_runs(
    svg: &mut Svg,
    xs: &[f64],
    values: &[Option<f64>],
    y: &dyn Fn(f64) -> f64,
    col: &str,
    width: f64,
) {
    let mut d = String::with_capacity(values.len() * 16);
    for run in runs(values) {
        if run.len() < 2 {
            continue;
        }
        for i in run.clone() {
            w(
                &mut d,
                format_args!(
                    "{}{} {}",
                    if i == run.start { 'M' } else { 'L' },
                    F(xs[i]),
                    F(y(values[i].unwrap_or(0.0)))
                ),
            );
        }
    }
    if !d.is_empty() {
        w(
            &mut svg.buf,
            format_args!(
                r#"<path d="{d}" fill="none" stroke="{col}" stroke-width="{}" stroke-linejoin="round" stroke-linecap="round"/>"#,
                F(width)
            ),
        );
    }
}

fn horizontal_bars(
    c: &mut Canvas,
    spec: &ChartSpec,
    ds: &Dataset,
    area: Rect,
    lo: f64,
    hi: f64,
    stacked: bool,
) {
    let pal = c.pal;
    let n = ds.categories.len().max(1);
    let ns = ds.series.len().max(1);
    let axis_h = LABEL_SIZE + TICK_GAP + 2.0;
    let plot_top = area.y;
    let plot_bottom = (area.bottom() - axis_h).max(plot_top + 10.0);
    let band = (plot_bottom - plot_top) / n as f64;

    // Category labels on the left, truncated to a share of the width and
    // thinned when bands are thinner than a line of text.
    let max_lw = (area.w * 0.32).min(200.0);
    let labels: Vec<String> = ds
        .categories
        .iter()
        .map(|c| font::truncate(&c.label, LABEL_SIZE, false, max_lw).into_owned())
        .collect();
    let lw = labels
        .iter()
        .map(|l| font::text_width(l, LABEL_SIZE, false))
        .fold(0.0, f64::max);
    let step = ((LABEL_SIZE + 3.0) / band).ceil().max(1.0) as usize;
    let plot_x = area.x + if lw > 0.0 { lw + TICK_GAP } else { 0.0 };

    let thickness_max = 28.0;
    let group_h = if stacked {
        (band * 0.7).min(thickness_max)
    } else {
        (band * 0.76).min(thickness_max * ns as f64 * 0.8)
    }
    .max(1.0);
    let sub = if stacked {
        group_h
    } else {
        group_h / ns as f64
    };
    let bar_h = if sub > 6.0 && !stacked {
        sub - 2.0
    } else {
        sub
    };
    let want_labels = spec.options.value_labels != ValueLabels::Never && bar_h >= LABEL_SIZE;

    // Room on the right for value labels.
    let value_text = |v: f64, s: &Series| format_compact(v, &s.format);
    let reserve = if want_labels {
        let mut widest: f64 = 0.0;
        for s in &ds.series {
            for v in s.values.iter().flatten() {
                widest = widest.max(font::text_width(&value_text(*v, s), LABEL_SIZE, false));
            }
        }
        if stacked {
            widest = 0.0;
        }
        widest + 6.0
    } else {
        4.0
    };
    let plot_w = (area.right() - plot_x - reserve).max(10.0);

    // Value axis ticks, as many as fit side by side.
    let mut target = tick_count(plot_w, 90.0);
    let (ticks, tick_labels) = loop {
        let t = nice_ticks(lo, hi, target);
        let af = AxisFormat::new(&ds.format, t.step, t.min.abs().max(t.max.abs()));
        let ls: Vec<String> = t.values.iter().map(|v| af.format(*v)).collect();
        let widest = ls
            .iter()
            .map(|l| font::text_width(l, LABEL_SIZE, false))
            .fold(0.0, f64::max);
        let pitch = plot_w / (t.values.len().max(2) - 1) as f64;
        if widest + 10.0 <= pitch || target <= 2 {
            break (t, ls);
        }
        target -= 1;
    };
    let x = |v: f64| scale(&ticks, plot_x, plot_x + plot_w, v);

    c.svg.open_group("vt-grid");
    for (v, label) in ticks.values.iter().zip(&tick_labels) {
        let xx = x(*v);
        if *v != 0.0 {
            c.svg.line(xx, plot_top, xx, plot_bottom, pal.grid, 1.0);
        }
        c.svg.text(
            xx,
            plot_bottom + TICK_GAP + LABEL_SIZE * 0.8,
            label,
            TextStyle::new(LABEL_SIZE, pal.muted).anchor(Anchor::Middle),
        );
    }
    c.svg.close_group();

    let x0 = x(0.0);
    let mut value_labels: Vec<(f64, f64, String, &str, Anchor)> = Vec::new();
    c.svg.open_group("vt-bars");
    for i in 0..ds.categories.len() {
        let top = plot_top + i as f64 * band + (band - group_h) / 2.0;
        let (mut pos, mut neg) = (0.0, 0.0);
        let last_pos = ds
            .series
            .iter()
            .rposition(|s| s.values[i].is_some_and(|v| v > 0.0));
        let last_neg = ds
            .series
            .iter()
            .rposition(|s| s.values[i].is_some_and(|v| v < 0.0));
        for (si, s) in ds.series.iter().enumerate() {
            let Some(v) = s.values[i] else { continue };
            let fill = color(&pal, s, si);
            let t = tip(ds, s, i, v);
            if stacked {
                let (from, to) = if v >= 0.0 {
                    pos += v;
                    (pos - v, pos)
                } else {
                    neg += v;
                    (neg - v, neg)
                };
                let round = Some(si) == last_pos || Some(si) == last_neg;
                bar(
                    &mut c.svg,
                    false,
                    top,
                    bar_h,
                    x(from),
                    x(to),
                    round,
                    fill,
                    &t,
                );
                let text = value_text(v, s);
                let tw = font::text_width(&text, LABEL_SIZE, false);
                if want_labels && (x(to) - x(from)).abs() >= tw + 8.0 {
                    value_labels.push((
                        (x(to) + x(from)) / 2.0,
                        top + bar_h / 2.0 + LABEL_SIZE * 0.35,
                        text,
                        text_on(fill),
                        Anchor::Middle,
                    ));
                }
            } else {
                let yy = top + si as f64 * sub + (sub - bar_h) / 2.0;
                let xe = x(v);
                bar(&mut c.svg, false, yy, bar_h, x0, xe, true, fill, &t);
                if want_labels {
                    let (lx, anchor) = if v >= 0.0 {
                        (xe + 5.0, Anchor::Start)
                    } else {
                        (xe - 5.0, Anchor::End)
                    };
                    let text = value_text(v, s);
                    let tw = font::text_width(&text, LABEL_SIZE, false);
                    if v >= 0.0 || lx - tw >= plot_x {
                        value_labels.push((
                            lx,
                            yy + bar_h / 2.0 + LABEL_SIZE * 0.35,
                            text,
                            pal.muted,
                            anchor,
                        ));
                    }
                }
            }
        }
    }
    c.svg.close_group();
    if ticks.min <= 0.0 && ticks.max >= 0.0 {
        c.svg.line(x0, plot_top, x0, plot_bottom, pal.baseline, 1.0);
    }
    if !value_labels.is_empty() {
        c.svg.open_group("vt-values");
        for (xx, yy, text, fill, anchor) in &value_labels {
            c.svg.text(
                *xx,
                *yy,
                text,
                TextStyle::new(LABEL_SIZE, fill).anchor(*anchor),
            );
        }
        c.svg.close_group();
    }

    c.svg.open_group("vt-y-labels");
    for i in (0..ds.categories.len()).step_by(step) {
        let cy = plot_top + (i as f64 + 0.5) * band;
        c.svg.text(
            plot_x - TICK_GAP,
            cy + LABEL_SIZE * 0.35,
            &labels[i],
            TextStyle::new(LABEL_SIZE, pal.muted).anchor(Anchor::End),
        );
    }
    c.svg.close_group();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_on_gaps() {
        let v = [
            Some(1.0),
            Some(2.0),
            None,
            Some(3.0),
            None,
            None,
            Some(4.0),
            Some(5.0),
        ];
        assert_eq!(runs(&v), vec![0..2, 3..4, 6..8]);
        assert!(runs(&[None, None]).is_empty());
    }

    #[test]
    fn thinning_leaves_no_overlap() {
        let raw: Vec<String> = (0..200).map(|i| format!("Category {i}")).collect();
        let xs: Vec<f64> = (0..200).map(|i| 50.0 + i as f64 * 3.0).collect();
        let plan = plan_x_labels(&raw, &xs, 3.0, true, 300.0, (0.0, 700.0));
        assert!(plan.rotate);
        // Rotated labels need about 1.25 line heights of horizontal pitch.
        assert!(plan.step as f64 * 3.0 >= LABEL_SIZE * 1.25 / ROTATION.to_radians().sin());
        let plan = plan_x_labels(&raw, &xs, 3.0, false, 300.0, (0.0, 700.0));
        assert!(!plan.rotate);
        let widths: Vec<f64> = plan
            .labels
            .iter()
            .map(|l| font::text_width(l, LABEL_SIZE, false))
            .collect();
        assert!(no_overlap(&xs, &widths, plan.step, 8.0, (0.0, 700.0)));
    }
}
