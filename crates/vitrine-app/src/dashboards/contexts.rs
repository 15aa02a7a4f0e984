//! Built dashboard contexts, reused while what they were built from is unchanged (see
//! `content::dashboard_context`, which builds them and decides when one may be reused).

use vitrine_core::id::WorkspaceId;
use vitrine_store::{DashboardHead, DashboardRecord, DataSourceRecord, DatasetRecord};

use super::DashboardContext;

/// What a [`DashboardContext`] was built from, besides the dashboard
/// record: each named dataset's row and its data source's identity and revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContextInput {
    slug: String,
    /// Dataset id, revision, SQL and columns; data-source id and revision. `None`: missing.
    dataset: Option<(i64, i64, String, String, i64, i64)>,
}

impl ContextInput {
    pub(crate) fn of((slug, row): &(String, Option<(DatasetRecord, DataSourceRecord)>)) -> Self {
        ContextInput {
            slug: slug.clone(),
            dataset: row.as_ref().map(|(d, s)| {
                (
                    d.id.0,
                    d.revision,
                    d.sql.clone(),
                    d.columns.clone(),
                    s.id.0,
                    s.revision,
                )
            }),
        }
    }
}

struct CachedContext {
    workspace_id: WorkspaceId,
    revision: i64,
    document: String,
    inputs: std::sync::Arc<[ContextInput]>,
    /// The workspace's content revision read before the inputs were (`None`: not known).
    content_revision: Option<i64>,
    ctx: std::sync::Arc<DashboardContext>,
}

impl CachedContext {
    /// About the heap bytes it holds: the stored document, the parsed one (estimated at three
    /// times its text), each dataset's SQL and columns twice (the row and the checked dataset).
    fn weight(&self) -> usize {
        let inputs: usize = self
            .inputs
            .iter()
            .map(|i| {
                i.slug.len() * 2
                    + i.dataset
                        .as_ref()
                        .map_or(0, |d| (d.2.len() + d.3.len()) * 2 + 512)
            })
            .sum();
        self.document.len() * 4 + inputs + 1_024
    }
}

/// Dashboard contexts by dashboard id, each with what it was built from; see
/// `content::dashboard_context`. Bounded by [`ContextCache::CAPACITY`] dashboards and
/// [`ContextCache::MAX_BYTES`]; the least recently used go first.
pub struct ContextCache {
    entries: vitrine_data::WeightedLru<i64, std::sync::Arc<CachedContext>>,
}

impl Default for ContextCache {
    fn default() -> Self {
        Self::with_max_bytes(Self::MAX_BYTES)
    }
}

impl std::fmt::Debug for ContextCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextCache")
            .field("stats", &self.entries.stats())
            .finish()
    }
}

pub(crate) type Reusable = (
    std::sync::Arc<DashboardContext>,
    std::sync::Arc<[ContextInput]>,
    Option<i64>,
);

impl ContextCache {
    /// Most dashboards kept.
    pub const CAPACITY: usize = 512;
    /// Most bytes kept by default (by [`CachedContext::weight`]'s estimate); the server sizes it
    /// from `data.cache_mib`.
    pub const MAX_BYTES: u64 = 16 << 20;

    /// A cache of at most [`ContextCache::CAPACITY`] contexts weighing `max_bytes`.
    pub fn with_max_bytes(max_bytes: u64) -> Self {
        ContextCache {
            entries: vitrine_data::WeightedLru::new(Self::CAPACITY, max_bytes),
        }
    }

    /// The weight the contexts may have together.
    pub fn max_bytes(&self) -> u64 {
        self.entries.max_bytes()
    }

    /// Entries, bytes and evictions, for `/metrics`.
    pub fn stats(&self) -> vitrine_data::LruStats {
        self.entries.stats()
    }

    /// The context last built for this very revision and document, with its inputs.
    pub(crate) fn lookup(&self, record: &DashboardRecord) -> Option<Reusable> {
        let entry = self.entries.get(&record.id.0)?;
        (entry.revision == record.revision && entry.document == record.document).then(|| {
            (
                entry.ctx.clone(),
                entry.inputs.clone(),
                entry.content_revision,
            )
        })
    }

    /// The context kept for the dashboard of `head` when it was built from that very revision
    /// of it, in its workspace, under that very content revision of the workspace — without
    /// comparing documents, which the outsider gate does not read.
    ///
    /// Sound because a content revision is always read before (or with) the dashboard a
    /// context is stored for ([`ContextCache::store`]), and it moves with every delete of a
    /// dashboard (migration 0014), while every change of one moves its revision: a dashboard
    /// with this id and revision, read while the workspace was still at this content revision,
    /// is the one the context was built from. (SQLite gives a deleted dashboard's id to the
    /// next one created, revision 1 again; the delete moved the content revision.)
    pub(crate) fn kept_for(
        &self,
        head: &DashboardHead,
        content_revision: i64,
    ) -> Option<std::sync::Arc<DashboardContext>> {
        let entry = self.entries.get(&head.id.0)?;
        (entry.workspace_id == head.workspace_id
            && entry.revision == head.revision
            && entry.content_revision == Some(content_revision))
        .then(|| entry.ctx.clone())
    }

    /// Keeps `ctx`, built for `record` from `inputs`, which were read after the workspace's
    /// content revision was `content_revision` (read before `record` was, or with it).
    pub(crate) fn store(
        &self,
        record: &DashboardRecord,
        inputs: std::sync::Arc<[ContextInput]>,
        content_revision: Option<i64>,
        ctx: std::sync::Arc<DashboardContext>,
    ) {
        let entry = CachedContext {
            workspace_id: record.workspace_id,
            revision: record.revision,
            document: record.document.clone(),
            inputs,
            content_revision,
            ctx,
        };
        let weight = entry.weight();
        self.entries
            .insert(record.id.0, std::sync::Arc::new(entry), weight);
    }
}
