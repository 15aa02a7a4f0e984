//! Text measurement from the embedded DejaVu Sans faces.
//!
//! Labels are placed, thinned and truncated using the advance widths of the
//! very face that PNG / PDF output will load, so what fits here fits there.
//! Advances of the first 0x600 code points (Latin, Greek, Cyrillic and common
//! punctuation) are read once into a table; other characters are looked up in
//! the face, and characters the face lacks count as a full em (CJK) or 0.6 em.

use std::borrow::Cow;
use std::sync::OnceLock;

const TABLE_LEN: usize = 0x600;

struct Metrics {
    face: ttf_parser::Face<'static>,
    units_per_em: f32,
    /// Advance widths in em for the first `TABLE_LEN` code points.
    table: Vec<f32>,
}

impl Metrics {
    fn load(bytes: &'static [u8]) -> Metrics {
        // The bytes are a fixed, known-good font embedded in the binary.
        let face = ttf_parser::Face::parse(bytes, 0).expect("embedded DejaVu Sans parses");
        let units_per_em = f32::from(face.units_per_em());
        let mut m = Metrics {
            face,
            units_per_em,
            table: Vec::new(),
        };
        m.table = (0..TABLE_LEN as u32)
            .map(|cp| char::from_u32(cp).map_or(0.0, |c| m.lookup(c)))
            .collect();
        m
    }

    fn lookup(&self, c: char) -> f32 {
        match self.face.glyph_index(c) {
            Some(g) => f32::from(self.face.glyph_hor_advance(g).unwrap_or(0)) / self.units_per_em,
            None if c.is_control() => 0.0,
            None if ('\u{2E80}'..='\u{FFEF}').contains(&c) || c >= '\u{20000}' => 1.0,
            None => 0.6,
        }
    }

    fn advance(&self, c: char) -> f32 {
        match self.table.get(c as usize) {
            Some(a) => *a,
            None => self.lookup(c),
        }
    }
}

fn regular() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| Metrics::load(dejavu::sans::regular()))
}

fn bold() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| Metrics::load(dejavu::sans::bold()))
}

fn metrics(is_bold: bool) -> &'static Metrics {
    if is_bold { bold() } else { regular() }
}

/// The width of `s` set in DejaVu Sans at `size` px (bold or regular).
pub fn text_width(s: &str, size: f64, is_bold: bool) -> f64 {
    let m = metrics(is_bold);
    let em: f32 = s.chars().map(|c| m.advance(c)).sum();
    f64::from(em) * size
}

/// `s` shortened with a trailing `…` so that it is at most `max_width` px
/// wide; the empty string when not even the ellipsis fits.
pub fn truncate(s: &str, size: f64, is_bold: bool, max_width: f64) -> Cow<'_, str> {
    let m = metrics(is_bold);
    let max_em = (max_width / size) as f32;
    let total: f32 = s.chars().map(|c| m.advance(c)).sum();
    if total <= max_em + 1e-4 {
        return Cow::Borrowed(s);
    }
    let ellipsis = m.advance('…');
    if ellipsis > max_em {
        return Cow::Borrowed("");
    }
    let mut used = ellipsis;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let a = m.advance(c);
        if used + a > max_em {
            break;
        }
        used += a;
        end = i + c.len_utf8();
    }
    let kept = s[..end].trim_end();
    let mut out = String::with_capacity(kept.len() + 3);
    out.push_str(kept);
    out.push('…');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_font() {
        // DejaVu Sans: 'M' is wider than 'i', bold is wider than regular.
        assert!(text_width("MMMM", 12.0, false) > text_width("iiii", 12.0, false) * 2.0);
        assert!(text_width("Revenue", 12.0, true) > text_width("Revenue", 12.0, false));
        let w = text_width("0", 10.0, false);
        assert!((w - 6.36).abs() < 0.05, "digit advance was {w}");
        assert_eq!(text_width("", 12.0, false), 0.0);
    }

    #[test]
    fn truncation_adds_an_ellipsis_and_fits() {
        let long = "A very long category label that cannot possibly fit";
        let t = truncate(long, 12.0, false, 100.0);
        assert!(t.ends_with('…'));
        assert!(text_width(&t, 12.0, false) <= 100.0);
        assert_eq!(truncate("short", 12.0, false, 100.0), "short");
        assert_eq!(truncate("short", 12.0, false, 2.0), "");
    }

    #[test]
    fn characters_outside_the_face_still_take_space() {
        assert!(text_width("東京", 12.0, false) >= 23.0);
    }
}
