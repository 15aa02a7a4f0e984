//! Access analytics and the searchable audit trail: the models, and the SQL both stores run.
//!
//! Every access event is written together with its **daily rollups** in one transaction
//! ([`record_access_rolled_up`] in [`impl_analytics!`]): a counter per (link, UTC day, kind,
//! name) in `access_daily` and a row of totals per link in `access_totals`. Reading analytics
//! reads those, never the raw log, which is pruned after the retention period while the rollups
//! stay for good.
//!
//! **Unique visitors** are counted without keeping anyone's address: each UTC day gets a random
//! key (`visitor_day_keys`); a page view's visitor is `HMAC(day key, client hash ‖ client
//! class)`, inserted into that day's set (`visitor_day_hashes`), and the day's `uniques` counter
//! goes up only when the hash was new. When the next day's key is made, every older key is
//! erased (its row stays, empty, as a tombstone of the day) and every older hash set deleted,
//! in the same transaction (and [`AnalyticsStore::discard_visitor_days`]
//! does it on the retention task's tick even when no one visits), so a stored hash cannot be
//! recomputed from an address, nor linked across days. An event that arrives for a day whose
//! key was already discarded (a late write from a skewed clock) counts as a view but not as a
//! new unique visitor.

use time::OffsetDateTime;
use vitrine_core::id::WorkspaceId;

use crate::{AccessEvent, AuditEvent};

/// Milliseconds in a day: `at / DAY_MS` is the UTC day number.
pub const DAY_MS: i64 = 86_400_000;

/// The UTC day (days since 1970-01-01) of a moment.
pub fn utc_day(at: OffsetDateTime) -> i64 {
    crate::model::to_ms(at).div_euclid(DAY_MS)
}

/// How an access event counts in the rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeClass {
    /// `ok`: a page view.
    View,
    /// `export_*`: a download.
    Download,
    /// `unlocked`: a right password, `code_sent` / `confirmed`: an identified viewer's e-mail
    /// code sent and confirmed (the view that follows is counted as a view).
    Unlock,
    /// Anything else: a refused attempt (bad password, throttled, expired, disabled …).
    Refusal,
}

impl OutcomeClass {
    /// The class of an outcome.
    pub fn of(outcome: &str) -> Self {
        if outcome == "ok" {
            Self::View
        } else if outcome.starts_with("export") {
            Self::Download
        } else if matches!(outcome, "unlocked" | "confirmed" | "code_sent") {
            Self::Unlock
        } else {
            Self::Refusal
        }
    }
}

/// One rollup counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DailyCount {
    /// The UTC day number.
    pub day: i64,
    /// `outcome`, `country`, `client` or `uniques`.
    pub kind: String,
    /// The outcome, country code (`""` unknown), client class, or `""` for `uniques`.
    pub name: String,
    /// How many.
    pub count: i64,
}

/// A rollup counter summed over days, per link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCount {
    /// The link.
    pub link_id: String,
    /// As in [`DailyCount`].
    pub kind: String,
    /// As in [`DailyCount`].
    pub name: String,
    /// The sum.
    pub count: i64,
}

/// A link's totals, kept for good.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessTotals {
    /// The link.
    pub link_id: String,
    /// Page views.
    pub views: i64,
    /// Downloads.
    pub downloads: i64,
    /// Refused attempts.
    pub refusals: i64,
    /// The first page view.
    pub first_view_at: Option<OffsetDateTime>,
    /// The last page view.
    pub last_view_at: Option<OffsetDateTime>,
    /// The last refused attempt.
    pub last_refused_at: Option<OffsetDateTime>,
    /// Its outcome.
    pub last_refused_outcome: Option<String>,
    /// The last download.
    pub last_download_at: Option<OffsetDateTime>,
}

/// A keyset cursor over newest-first rows: the `(at, id)` of the last row seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last row's time.
    pub at: OffsetDateTime,
    /// The last row's id.
    pub id: i64,
}

/// An access event with its row id (for paging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEventEntry {
    /// The row id.
    pub id: i64,
    /// The event.
    pub event: AccessEvent,
}

/// Which access events to list, newest first.
#[derive(Debug, Clone)]
pub struct AccessEventQuery {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Only this link.
    pub link: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Only events at or after.
    pub since: Option<OffsetDateTime>,
    /// Only events before.
    pub until: Option<OffsetDateTime>,
    /// Only events older than this cursor.
    pub after: Option<Cursor>,
    /// At most this many.
    pub limit: i64,
}

/// An audit event with its row id (for paging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The row id.
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
}

/// Which audit events to list, newest first. Every filter is optional and they combine.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// The actor, exactly as recorded (e-mail, `cli`, `system`).
    pub actor: Option<String>,
    /// The action (`link.rotated` …).
    pub action: Option<String>,
    /// The target type (`link`, `dashboard`, `member` …): targets `type:…`.
    pub target_type: Option<String>,
    /// The exact target (`link:abc`).
    pub target: Option<String>,
    /// A target id of any type: targets `…:id`.
    pub target_id: Option<String>,
    /// Only events at or after.
    pub since: Option<OffsetDateTime>,
    /// Only events before.
    pub until: Option<OffsetDateTime>,
    /// Only events older than this cursor.
    pub after: Option<Cursor>,
    /// At most this many.
    pub limit: i64,
}

/// The rollup rows an event adds: (kind, name) pairs for `access_daily`.
pub fn rollup_keys(event: &AccessEvent) -> Vec<(&'static str, String)> {
    let mut keys = vec![("outcome", event.outcome.clone())];
    if OutcomeClass::of(&event.outcome) == OutcomeClass::View {
        keys.push(("country", event.country.clone().unwrap_or_default()));
        keys.push(("client", event.client_class.clone()));
    }
    keys
}

/// Raw events per `INSERT` of a batch (8 parameters a row, far below both stores' limits).
pub(crate) const EVENTS_PER_STATEMENT: usize = 64;
/// Visitor hashes per `INSERT` of a batch (3 parameters a row).
pub(crate) const VISITORS_PER_STATEMENT: usize = 128;
/// Daily counters per upsert of a batch (6 parameters a row).
pub(crate) const COUNTERS_PER_STATEMENT: usize = 64;

/// `($1, $2, …), ($n, …)`: `rows` rows of `columns` numbered placeholders, or `(?, ?, …)`
/// when not `numbered` (SQLite: binding a numbered parameter looks its name up in a list,
/// so hundreds of them in one statement cost quadratic time). Only placeholders are
/// formatted into SQL; every value is bound.
pub(crate) fn values_placeholders(rows: usize, columns: usize, numbered: bool) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push('$');
                sql.push_str(&(row * columns + column + 1).to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// One daily counter of a batch, summed: `count` events of `link` add to (`kind`, `name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchCounter<'a> {
    pub link: &'a str,
    /// The workspace written when the counter's row is new: the first such event's.
    pub workspace: Option<i64>,
    pub kind: &'static str,
    pub name: &'a str,
    pub count: i64,
}

/// One link's totals over a batch, as `access_totals`' upsert combines them: sums, the
/// earliest and latest view, the latest refusal (a later one wins a tie, as it would written
/// alone) and the latest download.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BatchTotals<'a> {
    pub workspace: Option<i64>,
    pub views: i64,
    pub downloads: i64,
    pub refusals: i64,
    pub first_view_at: Option<i64>,
    pub last_view_at: Option<i64>,
    pub last_refused: Option<(i64, &'a str)>,
    pub last_download_at: Option<i64>,
}

/// The rollups of a run of same-day events, summed in memory so that each counter and each
/// link's totals are written once per batch.
#[derive(Debug)]
pub(crate) struct BatchRollups<'a> {
    events: &'a [AccessEvent],
    /// (link, kind, name) → (workspace of the first event counted, count); ordered, so that
    /// every batch takes its row locks in the same order.
    counters: std::collections::BTreeMap<(&'a str, &'static str, String), (Option<i64>, i64)>,
    totals: std::collections::BTreeMap<&'a str, BatchTotals<'a>>,
}

impl<'a> BatchRollups<'a> {
    /// Sums `events` (all of one UTC day); events without a link count nowhere.
    pub(crate) fn of(events: &'a [AccessEvent]) -> Self {
        let mut sums = Self {
            events,
            counters: std::collections::BTreeMap::new(),
            totals: std::collections::BTreeMap::new(),
        };
        for event in events {
            let Some(link) = event.link_id.as_deref() else {
                continue;
            };
            let workspace = event.workspace_id.map(|w| w.0);
            let at = crate::model::to_ms(event.at);
            for (kind, name) in rollup_keys(event) {
                sums.counters
                    .entry((link, kind, name))
                    .or_insert((workspace, 0))
                    .1 += 1;
            }
            let totals = sums.totals.entry(link).or_insert_with(|| BatchTotals {
                workspace,
                ..BatchTotals::default()
            });
            match OutcomeClass::of(&event.outcome) {
                OutcomeClass::View => {
                    totals.views += 1;
                    totals.first_view_at = Some(totals.first_view_at.map_or(at, |t| t.min(at)));
                    totals.last_view_at = Some(totals.last_view_at.map_or(at, |t| t.max(at)));
                }
                OutcomeClass::Download => {
                    totals.downloads += 1;
                    totals.last_download_at =
                        Some(totals.last_download_at.map_or(at, |t| t.max(at)));
                }
                OutcomeClass::Refusal => {
                    totals.refusals += 1;
                    if totals.last_refused.is_none_or(|(t, _)| at >= t) {
                        totals.last_refused = Some((at, event.outcome.as_str()));
                    }
                }
                OutcomeClass::Unlock => {}
            }
        }
        sums
    }

    /// Whether any event is a link's page view (the day's visitor key is needed).
    pub(crate) fn has_views(&self) -> bool {
        self.totals.values().any(|t| t.views > 0)
    }

    /// Each viewing (link, visitor hash) under the day's `key`, once, in the order the
    /// events came.
    pub(crate) fn visitors(&self, key: &str) -> Vec<(&'a str, String)> {
        let mut seen = std::collections::HashSet::new();
        let mut visitors = Vec::new();
        for event in self.events {
            let Some(link) = event.link_id.as_deref() else {
                continue;
            };
            if OutcomeClass::of(&event.outcome) != OutcomeClass::View {
                continue;
            }
            let visitor = vitrine_core::secret::keyed_hash_hex(
                key.as_bytes(),
                &[event.client.as_bytes(), event.client_class.as_bytes()],
            );
            if seen.insert((link, visitor.clone())) {
                visitors.push((link, visitor));
            }
        }
        visitors
    }

    /// One visitor of `link` was new to the day's set.
    pub(crate) fn count_unique(&mut self, link: &str) {
        let Some((&link, totals)) = self.totals.get_key_value(link) else {
            return;
        };
        let workspace = totals.workspace;
        self.counters
            .entry((link, "uniques", String::new()))
            .or_insert((workspace, 0))
            .1 += 1;
    }

    /// The summed daily counters, in key order.
    pub(crate) fn counters(&self) -> Vec<BatchCounter<'_>> {
        self.counters
            .iter()
            .map(|((link, kind, name), (workspace, count))| BatchCounter {
                link,
                workspace: *workspace,
                kind,
                name,
                count: *count,
            })
            .collect()
    }

    /// Each link's totals, in link order.
    pub(crate) fn totals(&self) -> impl Iterator<Item = (&'a str, &BatchTotals<'a>)> {
        self.totals.iter().map(|(link, totals)| (*link, totals))
    }
}

/// Reads of the analytics rollups and paged reads of the two logs.
#[async_trait::async_trait]
pub trait AnalyticsStore {
    /// A link's rollup counters for days `from_day..=to_day`, by day.
    async fn access_daily(
        &self,
        link: &str,
        from_day: i64,
        to_day: i64,
    ) -> crate::StoreResult<Vec<DailyCount>>;
    /// Rollup counters of `kind` summed per link and name over `from_day..=to_day`, for every
    /// link of a workspace.
    async fn access_sums(
        &self,
        workspace: WorkspaceId,
        kind: &str,
        from_day: i64,
        to_day: i64,
    ) -> crate::StoreResult<Vec<LinkCount>>;
    /// One link's totals (`None` when it was never requested).
    async fn access_totals(&self, link: &str) -> crate::StoreResult<Option<AccessTotals>>;
    /// The totals of every requested link of a workspace.
    async fn workspace_access_totals(
        &self,
        workspace: WorkspaceId,
    ) -> crate::StoreResult<Vec<AccessTotals>>;
    /// Raw access events (within the retention period), newest first, keyset-paged.
    async fn access_event_page(
        &self,
        query: &AccessEventQuery,
    ) -> crate::StoreResult<Vec<AccessEventEntry>>;
    /// Audit events, newest first, filtered and keyset-paged.
    async fn audit_page(&self, query: &AuditQuery) -> crate::StoreResult<Vec<AuditEntry>>;
    /// Erases the unique-visitor keys and deletes the hash sets of days before `day`; returns
    /// how many keys went.
    async fn discard_visitor_days(&self, day: i64) -> crate::StoreResult<u64>;
}

/// Implements [`AnalyticsStore`] and the rolled-up event write for a store type (the same SQL
/// text on both databases, like `impl_store_traits!`).
macro_rules! impl_analytics {
    ($store:ty) => {
        use $crate::analytics::*;
        use $crate::model::{from_ms, to_ms};
        use $crate::{AccessEvent, AuditEvent, StoreResult};
        use vitrine_core::id::{MemberId, WorkspaceId};

        type EventTuple = (i64, Option<i64>, Option<String>, i64, String, Option<String>, String, String, Option<String>);
        type AuditTuple = (i64, i64, Option<i64>, String, String, String, String);
        type TotalsTuple = (
            String,
            i64,
            i64,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<i64>,
        );

        fn totals_from(t: TotalsTuple) -> AccessTotals {
            AccessTotals {
                link_id: t.0,
                views: t.1,
                downloads: t.2,
                refusals: t.3,
                first_view_at: t.4.map(from_ms),
                last_view_at: t.5.map(from_ms),
                last_refused_at: t.6.map(from_ms),
                last_refused_outcome: t.7,
                last_download_at: t.8.map(from_ms),
            }
        }

        const TOTALS_COLUMNS: &str = "link_id, views, downloads, refusals, first_view_at, \
             last_view_at, last_refused_at, last_refused_outcome, last_download_at";

        impl $store {
            /// Appends an access event and, for a link's event, its rollups, in one transaction.
            pub(crate) async fn record_access_rolled_up(
                &self,
                event: &AccessEvent,
            ) -> StoreResult<()> {
                self.record_accesses_rolled_up(std::slice::from_ref(event))
                    .await
            }

            /// Appends events and their rollups, all in one transaction (group commit: one
            /// write lock and one sync for the whole batch). The raw events go in a few
            /// multi-row statements, in order; the rollups of each run of same-day events are
            /// summed first ([`BatchRollups`]) and every counter, visitor set and totals row
            /// is written once, in a fixed order. A batch of 256 views of one link costs about
            /// ten statements instead of about two thousand, with exactly the counts that
            /// writing the events one by one gives (the property test in
            /// `tests/it/analytics.rs` holds both to a full re-aggregation of the log).
            pub(crate) async fn record_accesses_rolled_up(
                &self,
                events: &[AccessEvent],
            ) -> StoreResult<()> {
                if events.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for chunk in events.chunks(EVENTS_PER_STATEMENT) {
                    let sql = format!(
                        "INSERT INTO access_events (workspace_id, link_id, at, outcome, country, \
                         client_class, client, viewer) VALUES {}",
                        values_placeholders(chunk.len(), 8, Self::NUMBERED_PLACEHOLDERS)
                    );
                    let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for event in chunk {
                        insert = insert
                            .bind(event.workspace_id.map(|w| w.0))
                            .bind(&event.link_id)
                            .bind(to_ms(event.at))
                            .bind(&event.outcome)
                            .bind(&event.country)
                            .bind(&event.client_class)
                            .bind(&event.client)
                            .bind(&event.viewer);
                    }
                    insert.execute(&mut *tx).await?;
                }
                // Runs of consecutive events of one UTC day, in order: the day's visitor key
                // is made (and older days' discarded) where the first view of a new day
                // falls, as writing the events one by one would.
                let mut rest = events;
                while let Some(first) = rest.first() {
                    let day = to_ms(first.at).div_euclid(DAY_MS);
                    let run = rest
                        .iter()
                        .take_while(|e| to_ms(e.at).div_euclid(DAY_MS) == day)
                        .count();
                    let (today, later) = rest.split_at(run);
                    rest = later;
                    let mut sums = BatchRollups::of(today);
                    if sums.has_views() {
                        let mut key: Option<String> =
                            sqlx::query_scalar("SELECT key FROM visitor_day_keys WHERE day = $1")
                                .bind(day)
                                .fetch_optional(&mut *tx)
                                .await?;
                        if key.is_none() {
                            let later: Option<i64> = sqlx::query_scalar(
                                "SELECT day FROM visitor_day_keys WHERE day > $1 LIMIT 1",
                            )
                            .bind(day)
                            .fetch_optional(&mut *tx)
                            .await?;
                            if later.is_none() {
                                let made = sqlx::query(
                                    "INSERT INTO visitor_day_keys (day, key) VALUES ($1, $2) \
                                     ON CONFLICT (day) DO NOTHING",
                                )
                                .bind(day)
                                .bind(vitrine_core::secret::random_token::<32>())
                                .execute(&mut *tx)
                                .await?;
                                if made.rows_affected() == 1 {
                                    sqlx::query(
                                        "UPDATE visitor_day_keys SET key = '' WHERE day < $1 AND key <> ''",
                                    )
                                    .bind(day)
                                    .execute(&mut *tx)
                                    .await?;
                                    sqlx::query("DELETE FROM visitor_day_hashes WHERE day < $1")
                                        .bind(day)
                                        .execute(&mut *tx)
                                        .await?;
                                }
                                key = sqlx::query_scalar(
                                    "SELECT key FROM visitor_day_keys WHERE day = $1",
                                )
                                .bind(day)
                                .fetch_optional(&mut *tx)
                                .await?;
                            }
                        }
                        // An empty key is a discarded day's tombstone: a late event for that
                        // day is no new visitor.
                        if let Some(key) = key.filter(|k| !k.is_empty()) {
                            let visitors = sums.visitors(&key);
                            for chunk in visitors.chunks(VISITORS_PER_STATEMENT) {
                                let sql = format!(
                                    "INSERT INTO visitor_day_hashes (link_id, day, visitor) \
                                     VALUES {} ON CONFLICT DO NOTHING RETURNING link_id",
                                    values_placeholders(chunk.len(), 3, Self::NUMBERED_PLACEHOLDERS)
                                );
                                let mut insert = sqlx::query_scalar::<_, String>(
                                    sqlx::AssertSqlSafe(sql),
                                );
                                for (link, visitor) in chunk {
                                    insert = insert.bind(*link).bind(day).bind(visitor);
                                }
                                for link in insert.fetch_all(&mut *tx).await? {
                                    sums.count_unique(&link);
                                }
                            }
                        }
                    }
                    let counters = sums.counters();
                    for chunk in counters.chunks(COUNTERS_PER_STATEMENT) {
                        let sql = format!(
                            "INSERT INTO access_daily (link_id, day, workspace_id, kind, name, count) \
                             VALUES {} ON CONFLICT (link_id, day, kind, name) \
                             DO UPDATE SET count = access_daily.count + excluded.count",
                            values_placeholders(chunk.len(), 6, Self::NUMBERED_PLACEHOLDERS)
                        );
                        let mut upsert = sqlx::query(sqlx::AssertSqlSafe(sql));
                        for c in chunk {
                            upsert = upsert
                                .bind(c.link)
                                .bind(day)
                                .bind(c.workspace)
                                .bind(c.kind)
                                .bind(c.name)
                                .bind(c.count);
                        }
                        upsert.execute(&mut *tx).await?;
                    }
                    for (link, t) in sums.totals() {
                        sqlx::query(
                            "INSERT INTO access_totals (link_id, workspace_id, views, downloads, refusals, \
                             first_view_at, last_view_at, last_refused_at, last_refused_outcome, \
                             last_download_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                             ON CONFLICT (link_id) DO UPDATE SET \
                             views = access_totals.views + excluded.views, \
                             downloads = access_totals.downloads + excluded.downloads, \
                             refusals = access_totals.refusals + excluded.refusals, \
                             first_view_at = CASE WHEN access_totals.first_view_at IS NULL \
                                OR excluded.first_view_at < access_totals.first_view_at \
                                THEN COALESCE(excluded.first_view_at, access_totals.first_view_at) \
                                ELSE access_totals.first_view_at END, \
                             last_view_at = CASE WHEN access_totals.last_view_at IS NULL \
                                OR excluded.last_view_at >= access_totals.last_view_at \
                                THEN COALESCE(excluded.last_view_at, access_totals.last_view_at) \
                                ELSE access_totals.last_view_at END, \
                             last_refused_outcome = CASE WHEN excluded.last_refused_at IS NOT NULL \
                                AND (access_totals.last_refused_at IS NULL \
                                OR excluded.last_refused_at >= access_totals.last_refused_at) \
                                THEN excluded.last_refused_outcome \
                                ELSE access_totals.last_refused_outcome END, \
                             last_refused_at = CASE WHEN access_totals.last_refused_at IS NULL \
                                OR excluded.last_refused_at >= access_totals.last_refused_at \
                                THEN COALESCE(excluded.last_refused_at, access_totals.last_refused_at) \
                                ELSE access_totals.last_refused_at END, \
                             last_download_at = CASE WHEN access_totals.last_download_at IS NULL \
                                OR excluded.last_download_at >= access_totals.last_download_at \
                                THEN COALESCE(excluded.last_download_at, access_totals.last_download_at) \
                                ELSE access_totals.last_download_at END",
                        )
                        .bind(link)
                        .bind(t.workspace)
                        .bind(t.views)
                        .bind(t.downloads)
                        .bind(t.refusals)
                        .bind(t.first_view_at)
                        .bind(t.last_view_at)
                        .bind(t.last_refused.as_ref().map(|r| r.0))
                        .bind(t.last_refused.as_ref().map(|r| r.1))
                        .bind(t.last_download_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl AnalyticsStore for $store {
            async fn access_daily(
                &self,
                link: &str,
                from_day: i64,
                to_day: i64,
            ) -> StoreResult<Vec<DailyCount>> {
                let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
                    "SELECT day, kind, name, count FROM access_daily \
                     WHERE link_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, kind, name",
                )
                .bind(link)
                .bind(from_day)
                .bind(to_day)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(day, kind, name, count)| DailyCount { day, kind, name, count })
                    .collect())
            }

            async fn access_sums(
                &self,
                workspace: WorkspaceId,
                kind: &str,
                from_day: i64,
                to_day: i64,
            ) -> StoreResult<Vec<LinkCount>> {
                let rows: Vec<(String, String, i64)> = sqlx::query_as(
                    "SELECT link_id, name, CAST(SUM(count) AS BIGINT) FROM access_daily \
                     WHERE workspace_id = $1 AND kind = $2 AND day >= $3 AND day <= $4 \
                     GROUP BY link_id, name ORDER BY link_id, name",
                )
                .bind(workspace.0)
                .bind(kind)
                .bind(from_day)
                .bind(to_day)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(link_id, name, count)| LinkCount {
                        link_id,
                        kind: kind.to_owned(),
                        name,
                        count,
                    })
                    .collect())
            }

            async fn access_totals(&self, link: &str) -> StoreResult<Option<AccessTotals>> {
                let row: Option<TotalsTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOTALS_COLUMNS} FROM access_totals WHERE link_id = $1"
                )))
                .bind(link)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(totals_from))
            }

            async fn workspace_access_totals(
                &self,
                workspace: WorkspaceId,
            ) -> StoreResult<Vec<AccessTotals>> {
                let rows: Vec<TotalsTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOTALS_COLUMNS} FROM access_totals WHERE workspace_id = $1 \
                     ORDER BY views DESC, link_id"
                )))
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(totals_from).collect())
            }

            async fn access_event_page(
                &self,
                q: &AccessEventQuery,
            ) -> StoreResult<Vec<AccessEventEntry>> {
                let (after_at, after_id) = match q.after {
                    Some(c) => (Some(to_ms(c.at)), Some(c.id)),
                    None => (None, None),
                };
                let rows: Vec<EventTuple> = sqlx::query_as(
                    "SELECT id, workspace_id, link_id, at, outcome, country, client_class, client, \
                     viewer FROM access_events WHERE workspace_id = $1 \
                     AND ($2 IS NULL OR link_id = $2) \
                     AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) \
                     AND ($5 IS NULL OR at < $5 OR (at = $5 AND id < $6)) \
                     AND ($8 IS NULL OR outcome = $8) \
                     ORDER BY at DESC, id DESC LIMIT $7",
                )
                .bind(q.workspace.0)
                .bind(&q.link)
                .bind(q.since.map(to_ms))
                .bind(q.until.map(to_ms))
                .bind(after_at)
                .bind(after_id)
                .bind(q.limit)
                .bind(&q.outcome)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| AccessEventEntry {
                        id: r.0,
                        event: AccessEvent {
                            workspace_id: r.1.map(WorkspaceId),
                            link_id: r.2,
                            at: from_ms(r.3),
                            outcome: r.4,
                            country: r.5,
                            client_class: r.6,
                            client: r.7,
                            viewer: r.8,
                        },
                    })
                    .collect())
            }

            async fn audit_page(&self, q: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
                let (after_at, after_id) = match q.after {
                    Some(c) => (Some(to_ms(c.at)), Some(c.id)),
                    None => (None, None),
                };
                // A target type `t` is every target `t:…` (LIKE with `t` escaped).
                let escape = |t: &str| {
                    t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                };
                let type_pattern = q.target_type.as_ref().map(|t| format!("{}:%", escape(t)));
                let id_pattern = q.target_id.as_ref().map(|id| format!("%:{}", escape(id)));
                let rows: Vec<AuditTuple> = sqlx::query_as(
                    "SELECT id, at, actor_id, actor, action, target, detail FROM audit_events \
                     WHERE workspace_id = $1 \
                     AND ($2 IS NULL OR actor = $2) AND ($3 IS NULL OR action = $3) \
                     AND ($4 IS NULL OR target = $4) \
                     AND ($5 IS NULL OR target LIKE $5 ESCAPE '\\') \
                     AND ($6 IS NULL OR at >= $6) AND ($7 IS NULL OR at < $7) \
                     AND ($8 IS NULL OR at < $8 OR (at = $8 AND id < $9)) \
                     AND ($11 IS NULL OR target LIKE $11 ESCAPE '\\') \
                     ORDER BY at DESC, id DESC LIMIT $10",
                )
                .bind(q.workspace.0)
                .bind(&q.actor)
                .bind(&q.action)
                .bind(&q.target)
                .bind(type_pattern)
                .bind(q.since.map(to_ms))
                .bind(q.until.map(to_ms))
                .bind(after_at)
                .bind(after_id)
                .bind(q.limit)
                .bind(id_pattern)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| AuditEntry {
                        id: r.0,
                        event: AuditEvent {
                            at: from_ms(r.1),
                            actor_id: r.2.map(MemberId),
                            actor: r.3,
                            action: r.4,
                            target: r.5,
                            detail: r.6,
                        },
                    })
                    .collect())
            }

            async fn discard_visitor_days(&self, day: i64) -> StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                let keys = sqlx::query(
                    "UPDATE visitor_day_keys SET key = '' WHERE day < $1 AND key <> ''",
                )
                    .bind(day)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM visitor_day_hashes WHERE day < $1")
                    .bind(day)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(keys.rows_affected())
            }
        }
    };
}

pub(crate) use impl_analytics;
