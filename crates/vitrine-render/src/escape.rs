//! XML / HTML escaping.
//!
//! One function serves both element content and attribute values: it escapes
//! the five markup characters and drops characters that are not allowed in
//! XML 1.0 at all (C0 controls other than tab / newline / carriage return,
//! and the non-characters U+FFFE / U+FFFF), so that no input can make the
//! output ill-formed.

use std::fmt::{self, Write};

/// Appends `s` to `out`, escaped for XML / HTML text and attribute values.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// Returns `s` escaped for XML / HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

/// A `Display` wrapper that writes its content escaped.
pub(crate) struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Fast path: nothing to escape.
        if !self
            .0
            .bytes()
            .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'') || b < 0x20)
            && !self.0.contains(['\u{FFFE}', '\u{FFFF}'])
        {
            return f.write_str(self.0);
        }
        let mut s = String::with_capacity(self.0.len() + 16);
        escape_into(&mut s, self.0);
        f.write_str(&s)
    }
}

/// Writes formatted text; a `String` never fails to accept it.
pub(crate) fn w(out: &mut String, args: fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn characters_invalid_in_xml_are_dropped() {
        assert_eq!(escape("a\u{0}b\u{1b}c\td\u{FFFF}"), "abc\td");
        assert_eq!(Esc("a\u{0}<").to_string(), "a&lt;");
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(Esc("Revenue € 2026").to_string(), "Revenue € 2026");
    }
}
