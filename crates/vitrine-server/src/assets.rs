//! Static assets: embedded in the binary, prepared once, served under content-hashed URLs.
//!
//! Every asset (stylesheets, scripts, fonts) is prepared the first time the server needs it —
//! hashed, and compressed with brotli and gzip — and never per request:
//!
//! - **Content-hashed URLs** (`/static/app.3f9c2a1b7e.css`): what pages link to
//!   ([`url`]). They never change meaning, so they are served with
//!   `Cache-Control: public, max-age=31536000, immutable`: a repeat visit asks for nothing.
//! - **Stable URLs** (`/static/app.css`, and `/static/embed.js` that host pages hard-code) are
//!   still answered, with a short cache, an `ETag`, and `304 Not Modified` for a matching
//!   `If-None-Match`.
//! - **Compression** follows `Accept-Encoding` (brotli, then gzip, else identity) with
//!   `Vary: Accept-Encoding`; the compressed bytes are made once, at the highest quality, since
//!   they are made once.
//! - **Fonts**: the charts are measured with DejaVu Sans (`vitrine-render`), so the page must
//!   draw their text with exactly that face. It is served as WOFF2 built from the `dejavu`
//!   crate's bytes at start-up (never a copied font file): a subset covering the Latin
//!   scripts, punctuation, currency and the symbols the charts draw, without hinting (the
//!   browser does not need it) and without kerning (the renderer does not kern, so neither
//!   must the browser, or labels would not fit the boxes they were measured for). The whole
//!   face is a second `@font-face` with the complementary `unicode-range`, downloaded by the
//!   browser only when a label holds a character outside the subset.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use sha2::{Digest as _, Sha256};

/// One prepared asset.
#[derive(Debug)]
pub struct Asset {
    /// `/static/app.css`.
    pub path: &'static str,
    /// `/static/app.3f9c2a1b7e.css`.
    pub hashed: String,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// The bytes as they are.
    pub identity: Vec<u8>,
    /// Brotli-compressed, when that is smaller.
    pub brotli: Option<Vec<u8>>,
    /// Gzip-compressed, when that is smaller.
    pub gzip: Option<Vec<u8>>,
    /// A strong validator: `"` + the content hash + `"`.
    pub etag: String,
}

/// How a response body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `br`.
    Brotli,
    /// `gzip`.
    Gzip,
    /// No `Content-Encoding`.
    Identity,
}

impl Encoding {
    /// The best encoding a request's `Accept-Encoding` allows (brotli, then gzip), ignoring
    /// ones it refuses with `q=0`.
    pub fn negotiate(accept: &str) -> Encoding {
        let accepts = |name: &str| {
            accept.split(',').any(|part| {
                let mut pieces = part.split(';');
                let coding = pieces.next().unwrap_or("").trim();
                let refused = pieces.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (coding.eq_ignore_ascii_case(name) || coding == "*") && !refused
            })
        };
        if accepts("br") {
            Encoding::Brotli
        } else if accepts("gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// The `Content-Encoding` value, if any.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some("br"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }
}

impl Asset {
    fn new(path: &'static str, content_type: &'static str, identity: Vec<u8>) -> Asset {
        let digest = Sha256::digest(&identity);
        let hash: String = digest[..5].iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        let (stem, extension) = path.rsplit_once('.').unwrap_or((path, ""));
        let compressible = !matches!(content_type, "font/woff2");
        let brotli = compressible
            .then(|| brotli_compress(&identity))
            .filter(|b| b.len() < identity.len());
        let gzip = compressible
            .then(|| gzip_compress(&identity))
            .filter(|g| g.len() < identity.len());
        Asset {
            path,
            hashed: format!("{stem}.{hash}.{extension}"),
            content_type,
            etag: format!("\"{hash}\""),
            identity,
            brotli,
            gzip,
        }
    }

    /// The body for `encoding` (falling back to identity when that variant was not smaller),
    /// and the encoding it really is.
    pub fn body(&self, encoding: Encoding) -> (&[u8], Encoding) {
        match encoding {
            Encoding::Brotli => match &self.brotli {
                Some(b) => (b, Encoding::Brotli),
                None => self.body(Encoding::Gzip),
            },
            Encoding::Gzip => match &self.gzip {
                Some(g) => (g, Encoding::Gzip),
                None => (&self.identity, Encoding::Identity),
            },
            Encoding::Identity => (&self.identity, Encoding::Identity),
        }
    }
}

fn brotli_compress(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    // Writing to a Vec cannot fail.
    let _ = brotli::BrotliCompress(&mut &bytes[..], &mut out, &params);
    out
}

fn gzip_compress(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The characters of the web-font subset: Basic Latin, Latin-1 Supplement and Latin
/// Extended-A (most European names), general punctuation (dashes, quotes, the ellipsis the
/// charts truncate with), super- and subscripts, currency symbols, the arrows, the minus sign,
/// the triangles the KPI cards, table headers and menus draw, and the ballot boxes of
/// Markdown task lists (`tests/it/page_weight.rs` fails when a page needs the whole face). Anything else comes from the whole face, downloaded only when a page needs
/// it.
pub const SUBSET_RANGES: &[(u32, u32)] = &[
    (0x0000, 0x017F),
    (0x2000, 0x20BF),
    (0x2122, 0x2122),
    (0x2190, 0x2193),
    (0x2212, 0x2212),
    (0x25B2, 0x25BE),
    (0x2610, 0x2612),
];

/// `U+0000-017F, U+2000-206F, …` for `ranges`.
fn unicode_range(ranges: &[(u32, u32)]) -> String {
    ranges
        .iter()
        .map(|(a, b)| format!("U+{a:04X}-{b:04X}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every code point outside `ranges` (sorted, disjoint), as ranges.
fn complement(ranges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut next = 0u32;
    for &(a, b) in ranges {
        if a > next {
            out.push((next, a - 1));
        }
        next = b + 1;
    }
    if next <= 0x10FFFF {
        out.push((next, 0x10FFFF));
    }
    out
}

/// `face` as WOFF2, reduced to the code points in `ranges` (all of them when `None`), without
/// hinting or kerning.
pub fn web_font(face: &[u8], ranges: Option<&[(u32, u32)]>) -> Result<Vec<u8>, String> {
    use skera::{Plan, SubsetFlags, subset_font};
    use write_fonts::read::FontRef;
    use write_fonts::read::collections::IntSet;
    use write_fonts::read::types::{GlyphId, NameId, Tag};

    let font = FontRef::new(face).map_err(|e| format!("the font does not parse: {e}"))?;
    let mut unicodes = IntSet::<u32>::empty();
    match ranges {
        Some(ranges) => {
            for &(a, b) in ranges {
                unicodes.insert_range(a..=b);
            }
        }
        None => unicodes.insert_range(0..=0x10FFFF),
    }
    // Kerning and layout tables go: the renderer measures advances only.
    let drop_tables: IntSet<Tag> = [
        b"kern", b"GPOS", b"GSUB", b"GDEF", b"hdmx", b"VDMX", b"LTSH",
    ]
    .iter()
    .map(|t| Tag::new(t))
    .collect();
    let name_ids: IntSet<NameId> = (0u16..=6).map(NameId::new).collect();
    let name_languages: IntSet<u16> = [0x0409u16].into_iter().collect();
    let plan = Plan::new(
        &IntSet::<GlyphId>::empty(),
        &unicodes,
        &font,
        SubsetFlags::SUBSET_FLAGS_NO_HINTING,
        &drop_tables,
        &IntSet::empty(),
        &IntSet::empty(),
        &name_ids,
        &name_languages,
    );
    let subset = subset_font(&font, &plan).map_err(|e| format!("subsetting failed: {e}"))?;
    ttf2woff2::encode(&subset, ttf2woff2::BrotliQuality::from(11))
        .map_err(|e| format!("WOFF2 encoding failed: {e}"))
}

/// The `@font-face` rules for DejaVu Sans regular and bold: the subset, then the whole face
/// for every other code point.
fn font_faces(urls: &HashMap<&'static str, String>) -> String {
    let subset = unicode_range(SUBSET_RANGES);
    let rest = unicode_range(&complement(SUBSET_RANGES));
    let mut css = String::from(
        "/* Generated at start-up (assets.rs): the charts are measured with DejaVu Sans, so the \
         page draws their text with the same face, from the binary. */\n",
    );
    for (weight, subset_path, full_path) in [
        (400, FONT_REGULAR, FONT_REGULAR_FULL),
        (700, FONT_BOLD, FONT_BOLD_FULL),
    ] {
        let _ = writeln!(
            css,
            "@font-face {{ font-family: \"DejaVu Sans\"; src: url(\"{}\") format(\"woff2\"); \
             font-weight: {weight}; font-display: swap; unicode-range: {subset}; }}",
            urls[subset_path]
        );
        let _ = writeln!(
            css,
            "@font-face {{ font-family: \"DejaVu Sans\"; src: url(\"{}\") format(\"woff2\"); \
             font-weight: {weight}; font-display: swap; unicode-range: {rest}; }}",
            urls[full_path]
        );
    }
    css
}

/// The stable paths of the fonts.
pub const FONT_REGULAR: &str = "/static/fonts/dejavu-sans.woff2";
/// Bold.
pub const FONT_BOLD: &str = "/static/fonts/dejavu-sans-bold.woff2";
/// The whole regular face (characters outside the subset).
pub const FONT_REGULAR_FULL: &str = "/static/fonts/dejavu-sans-full.woff2";
/// The whole bold face.
pub const FONT_BOLD_FULL: &str = "/static/fonts/dejavu-sans-bold-full.woff2";

/// The embedded page's script (handshake, token renewal, resize, downloads with the header):
/// the embed route and the shared dashboard page both link to it.
pub const EMBED_FRAME_JS: &str = "/static/embed-frame.js";

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// The stylesheets and scripts: stable path, type, source.
const SOURCES: &[(&str, &str, &str)] = &[
    ("/static/app.css", CSS, include_str!("../static/app.css")),
    ("/static/app.js", JS, include_str!("../static/app.js")),
    (
        "/static/builder.css",
        CSS,
        include_str!("../static/builder.css"),
    ),
    (
        "/static/builder.js",
        JS,
        include_str!("../static/builder.js"),
    ),
    (
        "/static/dataset.js",
        JS,
        include_str!("../static/dataset.js"),
    ),
    (
        "/static/reports.js",
        JS,
        include_str!("../static/reports.js"),
    ),
    (
        "/static/dashboard.css",
        CSS,
        include_str!("../static/dashboard.css"),
    ),
    (
        "/static/dashboard.js",
        JS,
        include_str!("../static/dashboard.js"),
    ),
    ("/static/embed.js", JS, include_str!("../static/embed.js")),
    (
        "/static/embed-frame.js",
        JS,
        include_str!("../static/embed-frame.js"),
    ),
    (
        "/static/public.css",
        CSS,
        include_str!("../static/public.css"),
    ),
    (
        "/static/favicon.svg",
        "image/svg+xml",
        include_str!("../static/favicon.svg"),
    ),
];

/// Every prepared asset, by stable and by hashed path.
#[derive(Debug)]
pub struct Assets {
    by_path: HashMap<String, Arc<Asset>>,
    urls: HashMap<&'static str, String>,
}

impl Assets {
    fn build() -> Assets {
        let mut assets: Vec<Asset> = Vec::new();
        for (path, face, subset) in [
            (FONT_REGULAR, dejavu::sans::regular(), true),
            (FONT_BOLD, dejavu::sans::bold(), true),
            (FONT_REGULAR_FULL, dejavu::sans::regular(), false),
            (FONT_BOLD_FULL, dejavu::sans::bold(), false),
        ] {
            match web_font(face, subset.then_some(SUBSET_RANGES)) {
                Ok(woff2) => assets.push(Asset::new(path, "font/woff2", woff2)),
                Err(error) => tracing::error!(%error, path, "the web font could not be built"),
            }
        }
        let mut urls: HashMap<&'static str, String> =
            assets.iter().map(|a| (a.path, a.hashed.clone())).collect();
        for (path, content_type, source) in SOURCES {
            let text = if *path == "/static/app.css" {
                format!("{}{source}", font_faces(&urls))
            } else {
                (*source).to_owned()
            };
            let asset = Asset::new(path, content_type, text.into_bytes());
            urls.insert(path, asset.hashed.clone());
            assets.push(asset);
        }
        let mut by_path = HashMap::new();
        for asset in assets {
            let asset = Arc::new(asset);
            by_path.insert(asset.path.to_owned(), asset.clone());
            by_path.insert(asset.hashed.clone(), asset);
        }
        Assets { by_path, urls }
    }

    /// The asset at `path` (stable or hashed), and whether the path was the hashed one.
    pub fn get(&self, path: &str) -> Option<(&Asset, bool)> {
        self.by_path
            .get(path)
            .map(|a| (a.as_ref(), a.hashed == path))
    }
}

static ASSETS: OnceLock<Assets> = OnceLock::new();

/// The prepared assets (built on first use: fonts subset and encoded, everything hashed and
/// compressed; about a second, once).
pub fn assets() -> &'static Assets {
    ASSETS.get_or_init(Assets::build)
}

/// The content-hashed URL of the asset at stable `path` (`/static/app.css`), what pages link to;
/// the stable path itself for an unknown one.
pub fn url(path: &'static str) -> &'static str {
    assets().urls.get(path).map_or(path, String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_prefers_brotli_then_gzip_and_honours_q_zero() {
        assert_eq!(
            Encoding::negotiate("gzip, deflate, br, zstd"),
            Encoding::Brotli
        );
        assert_eq!(Encoding::negotiate("gzip"), Encoding::Gzip);
        assert_eq!(Encoding::negotiate("br;q=0, gzip;q=0.5"), Encoding::Gzip);
        assert_eq!(Encoding::negotiate(""), Encoding::Identity);
        assert_eq!(Encoding::negotiate("*"), Encoding::Brotli);
        assert_eq!(Encoding::negotiate("identity"), Encoding::Identity);
    }

    #[test]
    fn the_complement_covers_every_other_code_point() {
        let rest = complement(SUBSET_RANGES);
        assert_eq!(rest.first(), Some(&(0x0180, 0x1FFF)));
        assert_eq!(rest.last(), Some(&(0x2613, 0x10FFFF)));
        let covered: u64 = SUBSET_RANGES
            .iter()
            .chain(&rest)
            .map(|(a, b)| u64::from(b - a + 1))
            .sum();
        assert_eq!(covered, 0x110000);
    }

    #[test]
    fn the_web_fonts_are_woff2_and_the_subset_is_small() {
        let subset = web_font(dejavu::sans::regular(), Some(SUBSET_RANGES)).unwrap();
        assert_eq!(&subset[..4], b"wOF2");
        assert!(subset.len() < 60_000, "{} bytes", subset.len());
        let full = web_font(dejavu::sans::regular(), None).unwrap();
        assert!(full.len() > subset.len());
    }

    #[test]
    fn stylesheets_link_the_hashed_fonts_and_every_asset_has_a_hashed_url() {
        let assets = assets();
        let (css, hashed) = assets.get("/static/app.css").unwrap();
        assert!(!hashed);
        let text = String::from_utf8(css.identity.clone()).unwrap();
        assert!(
            text.contains(&format!("url(\"{}\")", url(FONT_REGULAR))),
            "{text}"
        );
        assert!(text.contains("unicode-range: U+0000-017F"));
        for (path, ..) in SOURCES {
            let hashed = url(path);
            assert_ne!(hashed, *path);
            assert!(assets.get(hashed).unwrap().1);
        }
        assert!(css.brotli.as_ref().unwrap().len() < css.identity.len() / 3);
    }
}
