//! Number formats: full values for tables and KPIs, compact forms for axes
//! and value labels.
//!
//! Everything is fixed English formatting (`,` thousands separator, `.`
//! decimal point), deterministic, and total: NaN and infinities format as an
//! em dash instead of leaking `NaN` into a chart.

use std::borrow::Cow;
use vitrine_core::result::NumberFormat;

/// What a non-finite number is shown as.
pub const MISSING: &str = "—";

/// Groups the digits of a non-negative integer string with `,`.
fn group(int_digits: &str, out: &mut String) {
    let n = int_digits.len();
    for (i, c) in int_digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
}

/// `|v|` with exactly `decimals` decimals and thousands separators; trailing
/// zeros trimmed when `trim`. Returns (text, is_zero_after_rounding).
fn fixed_abs(v: f64, decimals: usize, trim: bool) -> (String, bool) {
    let a = v.abs();
    let decimals = decimals.min(9);
    let pow = 10u64.pow(decimals as u32);
    let (int, frac) = if a < 1.0e15 / pow as f64 {
        // Integer arithmetic: exact for the magnitudes dashboards show, and
        // far cheaper than float formatting.
        let scaled = (a * pow as f64).round() as u64;
        let frac = if decimals == 0 {
            String::new()
        } else {
            format!("{:0width$}", scaled % pow, width = decimals)
        };
        ((scaled / pow).to_string(), frac)
    } else {
        let s = format!("{a:.decimals$}");
        match s.split_once('.') {
            Some((i, f)) => (i.to_string(), f.to_string()),
            None => (s, String::new()),
        }
    };
    let frac = if trim {
        frac.trim_end_matches('0')
    } else {
        &frac
    };
    let mut out = String::with_capacity(int.len() + int.len() / 3 + frac.len() + 1);
    group(&int, &mut out);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    let zero = int.bytes().all(|b| b == b'0') && frac.bytes().all(|b| b == b'0');
    (out, zero)
}

/// A signed number with thousands separators.
fn signed(v: f64, decimals: usize, trim: bool) -> String {
    let (s, zero) = fixed_abs(v, decimals, trim);
    if v < 0.0 && !zero { format!("-{s}") } else { s }
}

/// Decimals a plain number gets when none are asked for.
fn auto_decimals(v: f64) -> usize {
    let a = v.abs();
    if a.fract() == 0.0 || a >= 1000.0 {
        0
    } else if a >= 1.0 {
        2
    } else {
        4
    }
}

/// The prefix of a currency amount (`$`, `€`, `£`, `¥`, or the code and a
/// no-break space for codes without a well-known symbol) and its decimals.
fn currency_prefix(code: &str) -> (Cow<'static, str>, usize) {
    let code = code.trim();
    if let Some((_, symbol, decimals)) = vitrine_core::result::KNOWN_CURRENCIES
        .iter()
        .find(|(c, _, _)| c.eq_ignore_ascii_case(code))
    {
        return (Cow::Borrowed(symbol), *decimals);
    }
    if code.is_empty() {
        return (Cow::Borrowed(""), 2);
    }
    (
        Cow::Owned(format!("{}\u{a0}", code.to_ascii_uppercase())),
        2,
    )
}

fn with_sign(negative: bool, prefix: &str, body: &str) -> String {
    if negative {
        format!("-{prefix}{body}")
    } else {
        format!("{prefix}{body}")
    }
}

/// Formats a number in full: `1,234,567`, `$1,234.50`, `12.5%`, `1h 2m`.
pub fn format_value(v: f64, format: &NumberFormat) -> String {
    if !v.is_finite() {
        return MISSING.to_string();
    }
    match format {
        NumberFormat::Number => signed(v, auto_decimals(v), true),
        NumberFormat::Currency { currency } => {
            let (prefix, decimals) = currency_prefix(currency);
            let (body, zero) = fixed_abs(v, decimals, false);
            with_sign(v < 0.0 && !zero, &prefix, &body)
        }
        NumberFormat::Percent => {
            let p = v * 100.0;
            let decimals = if p.abs() < 1.0 { 2 } else { 1 };
            format!("{}%", signed(p, decimals, true))
        }
        NumberFormat::Duration => format_duration(v),
    }
}

/// Formats a number compactly for axes, value labels and tight spaces:
/// `12.3k`, `4.5M`, `$1.2B`, `12%`, `1h 2m`.
pub fn format_compact(v: f64, format: &NumberFormat) -> String {
    if !v.is_finite() {
        return MISSING.to_string();
    }
    match format {
        NumberFormat::Number => compact_number(v, 1),
        NumberFormat::Currency { currency } => {
            let (prefix, decimals) = currency_prefix(currency);
            let body = if v.abs() < 1000.0 {
                fixed_abs(v, if v.fract() == 0.0 { 0 } else { decimals }, false).0
            } else {
                compact_number(v.abs(), 1)
            };
            let zero = body.bytes().all(|b| b == b'0' || b == b'.');
            with_sign(v < 0.0 && !zero, &prefix, &body)
        }
        NumberFormat::Percent => {
            let p = v * 100.0;
            let decimals = if p.abs() < 10.0 { 1 } else { 0 };
            format!("{}%", signed(p, decimals, true))
        }
        NumberFormat::Duration => format_duration(v),
    }
}

const SUFFIXES: [(f64, &str); 5] = [(1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")];

/// `12.3k`-style number with at most `decimals` decimals (trimmed).
fn compact_number(v: f64, decimals: usize) -> String {
    let a = v.abs();
    for (idx, (div, suffix)) in SUFFIXES.iter().enumerate() {
        if a >= *div {
            let x = v / div;
            let (s, _) = fixed_abs(x, decimals, true);
            // 999.96k rounds to 1,000k: move up one unit.
            if s.starts_with("1,000") && idx > 0 {
                let (up_div, up_suffix) = SUFFIXES[idx - 1];
                return format!("{}{}", signed(v / up_div, decimals, true), up_suffix);
            }
            return if v < 0.0 {
                format!("-{s}{suffix}")
            } else {
                format!("{s}{suffix}")
            };
        }
    }
    let d = if a >= 100.0 || a.fract() == 0.0 {
        0
    } else if a >= 1.0 {
        decimals.max(1)
    } else {
        2
    };
    let s = signed(v, d, true);
    if s.starts_with("1,000") || s.starts_with("-1,000") {
        return compact_number(v.signum() * 1000.0, decimals);
    }
    s
}

/// A number of seconds as a duration: the two largest units (`2d 3h`,
/// `1h 2m`, `4m 5s`, `45s`, `350ms`).
pub fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return MISSING.to_string();
    }
    let neg = seconds < 0.0;
    let a = seconds.abs();
    let body = if a == 0.0 {
        "0s".to_string()
    } else if a < 1.0 {
        format!("{}ms", (a * 1000.0).round() as u64)
    } else if a < 10.0 && a.fract() != 0.0 {
        format!("{}s", signed(a, 1, true))
    } else {
        let total = a.round() as u64;
        let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
        let mut parts: Vec<String> = Vec::with_capacity(2);
        let mut rest = total;
        let mut started = false;
        for (size, name) in units {
            let n = rest / size;
            rest %= size;
            if n > 0 || started {
                started = true;
                if n > 0 {
                    parts.push(format!("{n}{name}"));
                }
                if parts.len() == 2 || (parts.len() == 1 && n == 0) {
                    break;
                }
            }
        }
        parts.join(" ")
    };
    if neg && body != "0s" {
        format!("-{body}")
    } else {
        body
    }
}

/// Formats axis tick values so that they are consistent with one another:
/// one unit (`k`, `M`, …) for the whole axis and enough decimals to tell
/// adjacent ticks apart.
#[derive(Debug, Clone)]
pub struct AxisFormat {
    format: NumberFormat,
    divisor: f64,
    suffix: &'static str,
    decimals: usize,
}

impl AxisFormat {
    /// An axis formatter for ticks `step` apart whose largest absolute value
    /// is `max_abs`.
    pub fn new(format: &NumberFormat, step: f64, max_abs: f64) -> AxisFormat {
        let (divisor, suffix) = match format {
            NumberFormat::Number | NumberFormat::Currency { .. } => SUFFIXES
                .iter()
                .find(|(d, _)| max_abs >= *d)
                .map_or((1.0, ""), |(d, s)| (*d, *s)),
            NumberFormat::Percent => (0.01, ""),
            NumberFormat::Duration => (1.0, ""),
        };
        let unit_step = if step > 0.0 && step.is_finite() {
            step / divisor
        } else {
            1.0
        };
        let decimals = decimals_for_step(unit_step);
        AxisFormat {
            format: format.clone(),
            divisor,
            suffix,
            decimals,
        }
    }

    /// Formats one tick value.
    pub fn format(&self, v: f64) -> String {
        if !v.is_finite() {
            return MISSING.to_string();
        }
        let x = v / self.divisor;
        if x == 0.0 || fixed_abs(x, self.decimals, true).1 {
            return match &self.format {
                NumberFormat::Currency { currency } => format!("{}0", currency_prefix(currency).0),
                NumberFormat::Percent => "0%".to_string(),
                NumberFormat::Duration => "0s".to_string(),
                NumberFormat::Number => "0".to_string(),
            };
        }
        match &self.format {
            NumberFormat::Number => format!("{}{}", signed(x, self.decimals, true), self.suffix),
            NumberFormat::Currency { currency } => {
                let (prefix, _) = currency_prefix(currency);
                let (body, zero) = fixed_abs(x, self.decimals, true);
                format!(
                    "{}{}{}{}",
                    if v < 0.0 && !zero { "-" } else { "" },
                    prefix,
                    body,
                    self.suffix
                )
            }
            NumberFormat::Percent => format!("{}%", signed(x, self.decimals, true)),
            NumberFormat::Duration => format_duration(v),
        }
    }
}

/// Decimals needed to show multiples of `step` exactly (capped at 6).
fn decimals_for_step(step: f64) -> usize {
    let mut d = 0;
    let mut s = step.abs();
    while d < 6 && (s - s.round()).abs() > 1e-9 * s.max(1.0) {
        s *= 10.0;
        d += 1;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> NumberFormat {
        NumberFormat::Currency {
            currency: "USD".into(),
        }
    }

    #[test]
    fn decimals_for_steps() {
        assert_eq!(decimals_for_step(1.0), 0);
        assert_eq!(decimals_for_step(0.25), 2);
        assert_eq!(decimals_for_step(2.5), 1);
        assert_eq!(decimals_for_step(0.1 + 0.2), 1);
    }

    #[test]
    fn compact_rounds_up_across_units() {
        assert_eq!(format_compact(999_960.0, &NumberFormat::Number), "1M");
        assert_eq!(format_compact(999.96, &NumberFormat::Number), "1k");
        assert_eq!(format_compact(usd_big(), &usd()), "$1.2B");
    }

    fn usd_big() -> f64 {
        1_234_567_890.0
    }
}
