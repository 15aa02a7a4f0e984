//! "Nice" axis ticks: steps of 1, 2 or 5 times a power of ten.

/// Tick marks for a value axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// The axis minimum (the first tick).
    pub min: f64,
    /// The axis maximum (the last tick).
    pub max: f64,
    /// The distance between ticks.
    pub step: f64,
    /// The tick values, ascending, from `min` to `max`.
    pub values: Vec<f64>,
}

/// The nice step nearest to `raw` (on a log scale): 1, 2 or 5 × 10ⁿ.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let err = raw / mag;
    let nice = if err >= 50f64.sqrt() {
        10.0
    } else if err >= 10f64.sqrt() {
        5.0
    } else if err >= 2f64.sqrt() {
        2.0
    } else {
        1.0
    };
    nice * mag
}

/// Ticks covering `[lo, hi]` with about `target` intervals.
///
/// The domain grows outwards to whole steps; a range of one value is widened
/// around it (to `[0, 1]` for zero), non-finite input gives `[0, 1]`, and
/// tick values are rounded to the step so they print cleanly. Callers that
/// need a zero baseline (bars, areas) include 0 in `[lo, hi]` first.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Ticks {
    let target = target.clamp(1, 20) as f64;
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1.0) {
        if lo == 0.0 {
            hi = 1.0;
        } else if lo > 0.0 {
            // A single positive value: show it from zero.
            lo = 0.0;
        } else {
            hi = 0.0;
        }
    }
    let step = nice_step((hi - lo) / target);
    let min = (lo / step).floor() * step;
    let max = (hi / step).ceil() * step;
    let n = ((max - min) / step).round().max(1.0) as usize;
    // Round to the step's decimals so 3 × 0.1 is 0.3, not 0.30000000000000004.
    let scale = 10f64.powi((1.0 - step.log10().floor()).clamp(0.0, 15.0) as i32);
    let values = (0..=n)
        .map(|i| {
            let v = min + step * i as f64;
            let r = (v * scale).round() / scale;
            if r == 0.0 { 0.0 } else { r }
        })
        .collect::<Vec<_>>();
    Ticks {
        min: values[0],
        max: values[values.len() - 1],
        step,
        values,
    }
}
