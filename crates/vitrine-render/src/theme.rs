//! Light and dark themes and the categorical palette.

/// The colour theme of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Dark text on white.
    #[default]
    Light,
    /// Light text on a dark slate background.
    Dark,
}

/// The colours a theme resolves to. All are `#rrggbb`, safe to write into
/// attributes without escaping.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    /// Card background.
    pub background: &'static str,
    /// Titles, KPI values, table cells.
    pub text: &'static str,
    /// Axis labels, legends, secondary text.
    pub muted: &'static str,
    /// Grid lines.
    pub grid: &'static str,
    /// The zero line and table header rule.
    pub baseline: &'static str,
    /// Zebra stripes and empty-state glyphs.
    pub subtle: &'static str,
    /// A change for the better.
    pub good: &'static str,
    /// A change for the worse.
    pub bad: &'static str,
    /// Series colours, in order.
    pub series: &'static [&'static str],
    /// The colour of the "Other" bucket.
    pub other: &'static str,
}

/// Okabe & Ito's colour-blind-safe palette (without black), ordered so that
/// neighbours differ in lightness as well as hue.
const SERIES_LIGHT: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
];

/// The same hues with the light blue first, which reads better on dark slate.
const SERIES_DARK: [&str; 7] = [
    "#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#D55E00", "#0072B2",
];

/// The number of distinct series colours; further series are merged into
/// "Other".
pub const MAX_SERIES: usize = SERIES_LIGHT.len();

impl Theme {
    /// The colours of this theme.
    pub fn palette(self) -> Palette {
        match self {
            Theme::Light => Palette {
                background: "#FFFFFF",
                text: "#1F2937",
                muted: "#6B7280",
                grid: "#E5E7EB",
                baseline: "#9CA3AF",
                subtle: "#F3F4F6",
                good: "#008A63",
                bad: "#C2410C",
                series: &SERIES_LIGHT,
                other: "#A3A3A3",
            },
            Theme::Dark => Palette {
                background: "#161B22",
                text: "#E6EDF3",
                muted: "#9AA4B2",
                grid: "#2A313C",
                baseline: "#5B6573",
                subtle: "#1F2630",
                good: "#3FC59B",
                bad: "#FF8A4C",
                series: &SERIES_DARK,
                other: "#7D8590",
            },
        }
    }
}

impl Palette {
    /// The colour of series `i`.
    pub fn series_color(&self, i: usize) -> &'static str {
        self.series[i % self.series.len()]
    }
}

/// Dark or white text, whichever reads better on `hex` (`#rrggbb`).
pub(crate) fn text_on(hex: &str) -> &'static str {
    let h = hex.trim_start_matches('#');
    let c = |i: usize| {
        u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16)
            .map_or(0.0, |v| f64::from(v) / 255.0)
    };
    let lin = |v: f64| {
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * lin(c(0)) + 0.7152 * lin(c(2)) + 0.0722 * lin(c(4));
    if l > 0.35 { "#111827" } else { "#FFFFFF" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_colour_contrasts_with_the_fill() {
        assert_eq!(text_on("#0072B2"), "#FFFFFF");
        assert_eq!(text_on("#F0E442"), "#111827");
        assert_eq!(text_on("#FFFFFF"), "#111827");
    }
}
