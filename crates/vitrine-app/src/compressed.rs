//! Outsider pages kept ready to send ([`crate::App::compressed_pages`]).
//!
//! A popular share link shows the very same page to every viewer until its data, its
//! dashboard or its settings change. The front door builds such a page once, compresses it,
//! and keeps it here with everything it was built from; the next view of the same link with
//! the same inputs is answered with the kept bytes, without running, drawing, rendering or
//! compressing anything ([`KeptPage::serves`]).
//!
//! What a kept page may never do is outlive its link: nothing about the link's *state* is
//! kept. The page is only looked up after the link was validated against the store on the
//! request itself (DESIGN §5), so a disabled, rotated, expired or deleted link is refused
//! before its kept page could be found. The link's id and settings are part of the inputs, so
//! one link's page never answers another's view.
//!
//! What it may never do either is show stale data: a page is kept only while every cached
//! result it shows is still the one the caches hold ([`crate::dashboards::Runner::cache_generation`]
//! unchanged) and still fresh (`fresh_until`), and never when a widget or a filter's options
//! failed (failures are not cached, so the next view tries again).

use std::sync::Arc;

use time::OffsetDateTime;

use crate::dashboards::DashboardContext;

/// An outsider page as sent, with what it was built from.
#[derive(Debug)]
pub struct KeptPage {
    /// Everything besides cached results the page was built from (link, settings, rules,
    /// query, effective filters, …), compared in full on every hit: a hash alone never picks
    /// a page.
    pub inputs: String,
    /// The dashboard context it was built from (held, so comparing the pointer is sound).
    pub context: Arc<DashboardContext>,
    /// The caches' reading taken *before* it was built.
    pub generation: u64,
    /// When the first result it shows goes stale.
    pub fresh_until: OffsetDateTime,
    /// The `Content-Encoding` of `body` (`br`, `gzip`), or `None` for none.
    pub encoding: Option<&'static str>,
    /// The page as sent (compressed for `encoding`).
    pub body: bytes::Bytes,
}

impl KeptPage {
    /// True when this page is what building one for `inputs` on `context` would give now,
    /// with the caches at `generation`.
    pub fn serves(
        &self,
        inputs: &str,
        context: &Arc<DashboardContext>,
        generation: u64,
        now: OffsetDateTime,
    ) -> bool {
        self.generation == generation
            && now < self.fresh_until
            && Arc::ptr_eq(&self.context, context)
            && self.inputs == inputs
    }

    /// What it weighs in the cache (its bytes, its inputs, the slot).
    pub fn weight(&self) -> usize {
        self.body.len() + self.inputs.len() + 160
    }
}

/// Kept outsider pages by (hash of their inputs and encoding), bounded by bytes.
pub type CompressedPages = vitrine_data::WeightedLru<u64, Arc<KeptPage>>;

/// Most pages kept; their bytes are bounded by `data.cache_mib`
/// ([`crate::config::DataConfig::cache_budget`]).
pub const MAX_KEPT_PAGES: usize = 1_024;
