//! Built dashboard contexts, reused while what they were built from is unchanged (see
//! `content::dashboard_context`, which builds them and decides when one may be reused).

use vitrine_store::{DashboardRecord, DataSourceRecord, DatasetRecord};

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
    revision: i64,
    document: String,
    inputs: std::sync::Arc<[ContextInput]>,
    ctx: std::sync::Arc<DashboardContext>,
}

/// Dashboard contexts by dashboard id, each with what it was built from; see
/// `content::dashboard_context`. Bounded: past [`ContextCache::CAPACITY`] dashboards it starts over.
#[derive(Default)]
pub struct ContextCache {
    entries: std::sync::Mutex<std::collections::HashMap<i64, CachedContext>>,
}

impl std::fmt::Debug for ContextCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextCache")
            .field("len", &self.lock().len())
            .finish()
    }
}

type Entries = std::collections::HashMap<i64, CachedContext>;
pub(crate) type Reusable = (
    std::sync::Arc<DashboardContext>,
    std::sync::Arc<[ContextInput]>,
);

impl ContextCache {
    /// Most dashboards kept.
    pub const CAPACITY: usize = 512;

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The context last built for this very revision and document, with its inputs.
    pub(crate) fn lookup(&self, record: &DashboardRecord) -> Option<Reusable> {
        let entries = self.lock();
        let entry = entries.get(&record.id.0)?;
        (entry.revision == record.revision && entry.document == record.document)
            .then(|| (entry.ctx.clone(), entry.inputs.clone()))
    }

    pub(crate) fn store(
        &self,
        record: &DashboardRecord,
        inputs: Vec<ContextInput>,
        ctx: std::sync::Arc<DashboardContext>,
    ) {
        let mut entries = self.lock();
        if entries.len() >= Self::CAPACITY && !entries.contains_key(&record.id.0) {
            entries.clear();
        }
        entries.insert(
            record.id.0,
            CachedContext {
                revision: record.revision,
                document: record.document.clone(),
                inputs: inputs.into(),
                ctx,
            },
        );
    }
}
