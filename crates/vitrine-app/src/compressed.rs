//! Outsider pages as last compressed ([`crate::App::compressed_pages`]). The front door
//! compresses; this only keeps the bytes, so that a page that renders to the same bytes as a
//! moment ago (a popular link, nothing changed) is not compressed again. It holds no link
//! state: the page was rendered for a link validated against the store on this very request.

use std::sync::Arc;

/// An outsider page's bytes and the same compressed; see [`crate::App::compressed_pages`].
#[derive(Debug)]
pub struct CompressedPage {
    /// The page as rendered (compared on every hit: a hash alone never picks the bytes).
    pub identity: Vec<u8>,
    /// The same, compressed.
    pub compressed: Vec<u8>,
}

/// Compressed outsider pages by (hash of the page, encoding), bounded by bytes.
pub type CompressedPages = vitrine_data::WeightedLru<(u64, &'static str), Arc<CompressedPage>>;

/// Most compressed pages kept, and their bytes (both copies counted).
pub const COMPRESSED_PAGES: (usize, u64) = (1_024, 16 << 20);
