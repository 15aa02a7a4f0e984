//! # Downloads on the web: links and file headers
//!
//! The files themselves come from [`vitrine_app::exports`] (the page's data path, on a bounded
//! render pool). This module is the HTTP end: the pages' download links ([`Downloads`]) and the
//! response that carries an [`ExportFile`] ([`download`]) with a `Content-Disposition` no title
//! can break.
//!
//! **File names** come from titles: [`content_disposition`] writes an ASCII `filename`
//! fallback and an RFC 5987 `filename*`, with quotes, backslashes, control characters and
//! path separators removed and the length capped, so no title can inject a header.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use vitrine_app::exports::ExportFile;

// ---- links on the pages -------------------------------------------------------------------

/// The pages' download links: the page's base path and its view query, so a download shows
/// what the page shows. `static/dashboard.js` keeps the links' queries in step when the
/// filters change (`data-export` holds the path, `data-export-fixed` the format's own
/// parameters).
#[derive(Debug, Clone, Default)]
pub struct Downloads {
    /// `/dashboards/7` or `/share/{token}`.
    pub base: String,
    /// The view part of the page's query (`f.region=EMEA&theme=dark`), without table
    /// paging and without export parameters.
    pub query: String,
    /// Members' pages: each card's menu also links to the widget's own page
    /// (`…/widgets/{id}/page`, a permalink that keeps the filters). Never on outsiders' pages.
    pub widget_pages: bool,
}

impl Downloads {
    /// Links under `base` for the view in the raw `query`.
    pub fn new(base: &str, query: &str) -> Downloads {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let kept: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(k, _)| !k.starts_with("t.") && k != "paper" && k != "scale")
            .collect();
        Downloads {
            base: base.trim_end_matches('/').to_owned(),
            query: serde_urlencoded::to_string(&kept).unwrap_or_default(),
            widget_pages: false,
        }
    }

    /// The path of `file` (`export.pdf`) for the dashboard, or for `widget` when given.
    pub fn path(&self, widget: Option<&str>, file: &str) -> String {
        match widget {
            Some(w) => format!("{}/widgets/{}/{file}", self.base, encode_segment(w)),
            None => format!("{}/{file}", self.base),
        }
    }

    /// The link: [`Downloads::path`] with the view query and the `fixed` parameters.
    pub fn href(&self, widget: Option<&str>, file: &str, fixed: &str) -> String {
        let path = self.path(widget, file);
        match (self.query.is_empty(), fixed.is_empty()) {
            (true, true) => path,
            (true, false) => format!("{path}?{fixed}"),
            (false, true) => format!("{path}?{}", self.query),
            (false, false) => format!("{path}?{}&{fixed}", self.query),
        }
    }
}

/// A path segment: everything but RFC 3986's unreserved characters percent-encoded.
pub(crate) fn encode_segment(s: &str) -> String {
    percent_encode_except(s, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
    })
}

// ---- file names ----------------------------------------------------------------------------

/// The longest file name stem, in characters.
pub const MAX_FILE_STEM: usize = 80;

/// `attachment; filename="Board_pack.pdf"; filename*=UTF-8''Board%20pack.pdf` for `title`.
///
/// The `filename*` form (RFC 5987 / 6266) carries the title in UTF-8, percent-encoded; the
/// quoted `filename` is an ASCII fallback for old clients. Both drop what could break the
/// header or escape a download folder: quotes, backslashes, control characters (CR / LF
/// included), `/` and other characters file systems refuse; leading dots are trimmed and the
/// stem is capped at [`MAX_FILE_STEM`] characters. An empty result becomes `export`.
pub fn content_disposition(title: &str, extension: &str) -> HeaderValue {
    let unicode = clean_stem(title, |c| !c.is_control());
    let ascii = clean_stem(&unicode, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')' | ',' | '+')
    });
    let ascii = ascii.replace(' ', "_");
    let value = format!(
        "attachment; filename=\"{ascii}.{extension}\"; filename*=UTF-8''{}.{extension}",
        percent_encode(&unicode)
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Keeps the characters `keep` allows (others become a space), collapses whitespace, trims
/// dots and spaces at the ends, caps the length.
fn clean_stem(title: &str, keep: impl Fn(char) -> bool) -> String {
    let replaced: String = title
        .chars()
        .map(|c| {
            let unsafe_anywhere = matches!(
                c,
                '"' | '\\' | '/' | ':' | '*' | '?' | '<' | '>' | '|' | ';' | '%'
            ) || c.is_control();
            if unsafe_anywhere || !keep(c) { ' ' } else { c }
        })
        .collect();
    let collapsed = replaced.split_whitespace().collect::<Vec<_>>().join(" ");
    let stem: String = collapsed
        .trim_matches(|c: char| c == '.' || c.is_whitespace())
        .chars()
        .take(MAX_FILE_STEM)
        .collect();
    let stem = stem.trim_end().to_owned();
    if stem.is_empty() {
        "export".to_owned()
    } else {
        stem
    }
}

/// Percent-encodes everything but RFC 5987's `attr-char`.
fn percent_encode(s: &str) -> String {
    percent_encode_except(s, |b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            )
    })
}

/// `s` as UTF-8 bytes, each byte `keep` refuses written as `%XX`.
fn percent_encode_except(s: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A download response: the bytes, their type, the file name and `Cache-Control: no-store`
/// (dashboard data is not for shared caches).
pub fn download(file: ExportFile) -> Response {
    let ExportFile {
        format,
        title,
        bytes,
    } = file;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&title, format.extension()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(title: &str) -> String {
        content_disposition(title, "pdf")
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_plain_title_keeps_its_words() {
        assert_eq!(
            header("Board pack 2026"),
            "attachment; filename=\"Board_pack_2026.pdf\"; filename*=UTF-8''Board%20pack%202026.pdf"
        );
    }

    #[test]
    fn quotes_line_breaks_and_separators_cannot_break_the_header() {
        let h = header("Q4 \"final\"\r\nSet-Cookie: x=1\\..\\/etc/passwd");
        assert!(!h.contains('\r') && !h.contains('\n'));
        assert_eq!(h.matches('"').count(), 2, "{h}");
        assert!(!h.contains('/') && !h.contains('\\'), "{h}");
        assert!(
            h.starts_with("attachment; filename=\"Q4_final_Set-Cookie_x"),
            "{h}"
        );
    }

    #[test]
    fn non_ascii_goes_to_filename_star_and_the_fallback_stays_ascii() {
        let h = header("Umsatz München – 東京");
        assert!(h.is_ascii());
        assert!(h.contains("filename=\"Umsatz_M_nchen.pdf\""), "{h}");
        assert!(
            h.contains(
                "filename*=UTF-8''Umsatz%20M%C3%BCnchen%20%E2%80%93%20%E6%9D%B1%E4%BA%AC.pdf"
            ),
            "{h}"
        );
    }

    #[test]
    fn empty_and_dot_titles_and_long_ones() {
        assert!(header("").contains("filename=\"export.pdf\""));
        assert!(header("../..").contains("filename=\"export.pdf\""));
        let long = header(&"a".repeat(500));
        assert!(long.contains(&format!("filename=\"{}.pdf\"", "a".repeat(MAX_FILE_STEM))));
    }

    #[test]
    fn download_links_keep_the_view_and_drop_paging() {
        let d = Downloads::new(
            "/share/shr_x/",
            "f.region=EMEA&t.tbl.page=3&scale=2&theme=dark",
        );
        assert_eq!(d.query, "f.region=EMEA&theme=dark");
        assert_eq!(
            d.href(Some("by region"), "export.png", "scale=2"),
            "/share/shr_x/widgets/by%20region/export.png?f.region=EMEA&theme=dark&scale=2"
        );
        assert_eq!(
            Downloads::new("/d/1", "").href(None, "export.pdf", ""),
            "/d/1/export.pdf"
        );
    }
}
