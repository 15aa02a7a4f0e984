//! # vitrine-store — Vitrine's own tables
//!
//! Our schema and the customers' SQL are different worlds: this crate holds only Vitrine's
//! own rows (workspaces, members, sessions, API keys, throttling counters, the audit trail),
//! with typed rows and fixed queries. Customers' databases are `vitrine-data`'s business.
//!
//! - The store is split into **capability traits** ([`WorkspaceStore`], [`MemberStore`],
//!   [`SessionStore`], [`ApiKeyStore`], [`AttemptStore`], [`AuditStore`],
//!   [`DataSourceStore`], [`DatasetStore`], [`DashboardStore`], [`ShareLinkStore`],
//!   [`AccessEventStore`], [`AnalyticsStore`], [`OutboxStore`], [`InvitationStore`],
//!   [`AudienceStore`], [`ReportStore`], [`EmbedStore`], [`ViewCodeStore`]); [`Store`] is
//!   their sum, and the server holds an `Arc<dyn Store>`.
//! - There are two implementations, [`SqliteStore`] (the default: one file, WAL, every write
//!   transaction begun `IMMEDIATE`) and [`PgStore`] (the scale-out store). Each owns its
//!   migrations under `migrations/<backend>/`, embedded in the binary and applied on start and
//!   by `vitrine migrate`. Applied migrations are never edited; changes are new files.
//! - Both run the **same SQL text** (numbered `$N` parameters work in both) from one macro
//!   in `sql.rs`, so the two cannot drift apart; the schemas differ only where the databases
//!   do (identity columns). Timestamps are stored as UTC milliseconds since the epoch in both.
//! - The outsider gate's one read per request ([`ShareLinkStore::link_gate`]) runs on two
//!   connections kept beside the pool (`readers.rs`): a pooled connection is pinged on its
//!   way back, a second hand-off or round trip per request. On SQLite it runs on the calling
//!   thread instead when the file can be read at once (`here.rs`: rusqlite over the same
//!   SQLite library, read-only, never waiting). It reads the dashboard's head
//!   ([`DashboardHead`]: id, status, revision), not its document; deleting a dashboard moves
//!   its workspace's content revision (migration 0014), which tells a dashboard created with
//!   a deleted one's id (SQLite reuses row ids) from the deleted one.
//! - sqlx errors become a [`StoreError`] in exactly one place (`error.rs`).
//! - `tests/it/conformance.rs` runs one story per capability against both databases.
#![forbid(unsafe_code)]

mod analytics;
mod audience;
mod changes;
mod embed;
mod error;
mod here;
mod invitations;
mod model;
mod outbox;
mod postgres;
mod readers;
mod reports;
mod sql;
mod sqlite;
mod view_codes;

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use vitrine_core::id::{ApiKeyId, DashboardId, DataSourceId, DatasetId, MemberId, WorkspaceId};
use vitrine_core::member::{Permissions, Role};

pub use analytics::{
    AccessEventEntry, AccessEventQuery, AccessTotals, AnalyticsStore, AuditEntry, AuditQuery,
    Cursor, DAY_MS, DailyCount, LinkCount, OutcomeClass, rollup_keys, utc_day,
};
pub use audience::{AudienceStore, DashboardAudience, MemberGrant, MemberRuleRecord, RoleReach};
pub use changes::{CHANNEL as CHANGE_CHANNEL, Change, ChangeListener};
pub use embed::{EmbedAccess, EmbeddingRecord, GrantLookup, GuestGrantRecord};
pub use error::StoreError;
pub use invitations::{Invitation, InvitationStore, MemberAccess, NewInvitation};
pub use model::*;
pub use outbox::{MailOutcome, MailRecord, MailState, NewMail, OutboxStore};
pub use postgres::PgStore;
pub use reports::{
    NewReportSchedule, ReportArtifact, ReportDeliveryRecord, ReportRunRecord, ReportScheduleRecord,
    ReportStore, RunOrigin, RunState,
};
pub use sqlite::SqliteStore;
pub use view_codes::{CodeCheck, NewViewCode, ViewCodeStore};

/// The result of every store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Tenants.
#[async_trait]
pub trait WorkspaceStore {
    /// Creates a workspace.
    async fn create_workspace(&self, name: &str, now: OffsetDateTime) -> StoreResult<Workspace>;
    /// One workspace by id.
    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>>;
    /// The oldest workspace: the one a single-team installation uses.
    async fn default_workspace(&self) -> StoreResult<Option<Workspace>>;
    /// Replaces the workspace's link policy.
    async fn set_link_policy(&self, id: WorkspaceId, policy: &LinkPolicy) -> StoreResult<()>;
    /// Suspends (`Some(now)`) or resumes (`None`) the workspace.
    async fn set_suspended(&self, id: WorkspaceId, at: Option<OffsetDateTime>) -> StoreResult<()>;
}

/// People with accounts.
#[async_trait]
pub trait MemberStore {
    /// Creates a member. An e-mail address already in use is [`StoreError::Conflict`].
    async fn create_member(&self, new: NewMember, now: OffsetDateTime) -> StoreResult<Member>;
    /// One member by id.
    async fn member(&self, id: MemberId) -> StoreResult<Option<Member>>;
    /// One member by normalised e-mail address.
    async fn member_by_email(&self, email: &str) -> StoreResult<Option<Member>>;
    /// A workspace's members, by name.
    async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<Member>>;
    /// Changes role and permission flags. Refuses ([`StoreError::Conflict`]) to leave the
    /// workspace without an admin; the check and the change are one transaction.
    async fn update_member_access(
        &self,
        id: MemberId,
        role: Role,
        flags: Permissions,
    ) -> StoreResult<Member>;
    /// Replaces the password hash and sets whether it must be changed at next login.
    async fn set_member_password(
        &self,
        id: MemberId,
        password_hash: &str,
        must_change: bool,
    ) -> StoreResult<()>;
    /// Records a successful login.
    async fn touch_member_login(&self, id: MemberId, now: OffsetDateTime) -> StoreResult<()>;
    /// Removes a member with their sessions and API keys. Refuses to remove the last admin.
    async fn delete_member(&self, id: MemberId) -> StoreResult<()>;
}

/// Server-side login sessions. Only a digest of the cookie value is stored.
#[async_trait]
pub trait SessionStore {
    /// Stores a new session.
    async fn create_session(&self, new: NewSession) -> StoreResult<()>;
    /// The live (unexpired) session with this digest, with its member.
    async fn session(
        &self,
        digest: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Session, Member)>>;
    /// Ends one session (logout).
    async fn delete_session(&self, digest: &str) -> StoreResult<()>;
    /// Ends every session of a member (password change, removal, role change).
    async fn delete_member_sessions(&self, member: MemberId) -> StoreResult<u64>;
    /// Deletes expired sessions; returns how many.
    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// API keys for `Authorization: Bearer`. Only a digest of the key is stored.
#[async_trait]
pub trait ApiKeyStore {
    /// Stores a new key.
    async fn create_api_key(&self, new: NewApiKey, now: OffsetDateTime) -> StoreResult<ApiKey>;
    /// The key with this digest (revoked or not) and its member.
    async fn api_key_by_digest(&self, digest: &str) -> StoreResult<Option<(ApiKey, Member)>>;
    /// A workspace's keys, newest first.
    async fn api_keys(&self, workspace: WorkspaceId) -> StoreResult<Vec<ApiKey>>;
    /// Revokes a key of this workspace; false when there is no such live key.
    async fn revoke_api_key(
        &self,
        workspace: WorkspaceId,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Records a use of the key.
    async fn touch_api_key(&self, id: ApiKeyId, now: OffsetDateTime) -> StoreResult<()>;
}

/// Password attempts (member logins, share-link unlocks), reserved *before* the password is
/// checked, so that concurrent attempts cannot all pass a throttle. Living in the store, the
/// counts hold across every instance that shares it.
#[async_trait]
pub trait AttemptStore {
    /// Checks every limit and, only when all allow it, records a pending attempt under each
    /// scope — one transaction, serialised per scope (SQLite: the write transaction begins
    /// `IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock on each scope's hash), so
    /// two instances cannot both take the last place.
    async fn reserve_attempt(
        &self,
        limits: &[AttemptLimit],
        now: OffsetDateTime,
    ) -> StoreResult<Reservation>;
    /// Records how a reserved attempt ended ([`AttemptOutcome::Abandoned`] removes it).
    async fn finish_attempt(&self, id: AttemptId, outcome: AttemptOutcome) -> StoreResult<()>;
    /// Unsuccessful (pending or failed) attempts in `scope` after `since`.
    async fn count_attempts(&self, scope: &str, since: OffsetDateTime) -> StoreResult<i64>;
    /// Deletes attempts made before `before`; returns how many rows went.
    async fn purge_attempts(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// The owners' audit trail.
#[async_trait]
pub trait AuditStore {
    /// Appends an event.
    async fn record_audit(&self, event: NewAuditEvent) -> StoreResult<()>;
    /// A workspace's most recent events, newest first.
    async fn audit_events(
        &self,
        workspace: WorkspaceId,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
}

/// Connections to customers' databases (sealed settings only).
#[async_trait]
pub trait DataSourceStore {
    /// Creates a data source; a name in use is [`StoreError::Conflict`].
    async fn create_data_source(
        &self,
        input: DataSourceInput,
        now: OffsetDateTime,
    ) -> StoreResult<DataSourceRecord>;
    /// One data source of a workspace.
    async fn data_source(
        &self,
        workspace: WorkspaceId,
        id: DataSourceId,
    ) -> StoreResult<Option<DataSourceRecord>>;
    /// A workspace's data sources, by name.
    async fn data_sources(&self, workspace: WorkspaceId) -> StoreResult<Vec<DataSourceRecord>>;
    /// Replaces name and settings and bumps the revision.
    async fn update_data_source(
        &self,
        id: DataSourceId,
        input: DataSourceInput,
        now: OffsetDateTime,
    ) -> StoreResult<DataSourceRecord>;
    /// Deletes a data source; one that datasets still read is [`StoreError::Conflict`].
    async fn delete_data_source(&self, workspace: WorkspaceId, id: DataSourceId)
    -> StoreResult<()>;
}

/// Datasets: named read-only queries over one data source.
#[async_trait]
pub trait DatasetStore {
    /// Creates a dataset; a slug in use is [`StoreError::Conflict`].
    async fn create_dataset(
        &self,
        input: DatasetInput,
        now: OffsetDateTime,
    ) -> StoreResult<DatasetRecord>;
    /// One dataset of a workspace.
    async fn dataset(
        &self,
        workspace: WorkspaceId,
        id: DatasetId,
    ) -> StoreResult<Option<DatasetRecord>>;
    /// The datasets of `workspace` among `slugs` (those that exist, by slug), each with its data
    /// source (`None` when that is gone), in one query: what a dashboard view reads.
    async fn datasets_with_sources(
        &self,
        workspace: WorkspaceId,
        slugs: &[String],
    ) -> StoreResult<Vec<(DatasetRecord, Option<DataSourceRecord>)>>;
    /// One dataset by slug.
    async fn dataset_by_slug(
        &self,
        workspace: WorkspaceId,
        slug: &str,
    ) -> StoreResult<Option<DatasetRecord>>;
    /// A workspace's datasets, by name.
    async fn datasets(&self, workspace: WorkspaceId) -> StoreResult<Vec<DatasetRecord>>;
    /// Replaces a dataset's definition and bumps the revision.
    async fn update_dataset(
        &self,
        id: DatasetId,
        input: DatasetInput,
        now: OffsetDateTime,
    ) -> StoreResult<DatasetRecord>;
    /// Deletes a dataset.
    async fn delete_dataset(&self, workspace: WorkspaceId, id: DatasetId) -> StoreResult<()>;
}

/// Dashboards as documents.
#[async_trait]
pub trait DashboardStore {
    /// Creates a dashboard; a slug in use is [`StoreError::Conflict`].
    async fn create_dashboard(
        &self,
        input: DashboardInput,
        created_by: Option<MemberId>,
        now: OffsetDateTime,
    ) -> StoreResult<DashboardRecord>;
    /// One dashboard of a workspace.
    async fn dashboard(
        &self,
        workspace: WorkspaceId,
        id: DashboardId,
    ) -> StoreResult<Option<DashboardRecord>>;
    /// One dashboard by slug.
    async fn dashboard_by_slug(
        &self,
        workspace: WorkspaceId,
        slug: &str,
    ) -> StoreResult<Option<DashboardRecord>>;
    /// A workspace's dashboards, by title.
    async fn dashboards(&self, workspace: WorkspaceId) -> StoreResult<Vec<DashboardRecord>>;
    /// Replaces the document and bumps the revision. With `expected_revision`, a dashboard
    /// changed meanwhile is [`StoreError::Conflict`] (no lost update).
    async fn update_dashboard(
        &self,
        id: DashboardId,
        input: DashboardInput,
        expected_revision: Option<i64>,
        now: OffsetDateTime,
    ) -> StoreResult<DashboardRecord>;
    /// Deletes a dashboard.
    async fn delete_dashboard(&self, workspace: WorkspaceId, id: DashboardId) -> StoreResult<()>;
}

/// Share links. Rows hold no secret.
#[async_trait]
pub trait ShareLinkStore {
    /// Stores a new link.
    async fn create_link(&self, link: &LinkRecord) -> StoreResult<()>;
    /// Writes every mutable field of a link (label, state, generation, epoch, short code,
    /// expiry, deletion, password, settings) and its `updated_at`.
    async fn save_link(&self, link: &LinkRecord) -> StoreResult<()>;
    /// A link by id, in any workspace (the outsider router looks tokens up this way).
    async fn link(&self, id: &str) -> StoreResult<Option<LinkRecord>>;
    /// Counts one page view of a link in one atomic statement, only while its count is below
    /// `max_views` when given; the new count, or `None` when the link is used up (or gone).
    /// However many instances count at once, no more than `max_views` views are admitted.
    async fn count_link_view(&self, id: &str, max_views: Option<i64>) -> StoreResult<Option<i64>>;
    /// A link by id with its workspace and its dashboard's head (`None` for either that is
    /// gone), in one query: the outsider gate's one store round trip per request.
    async fn link_gate(
        &self,
        id: &str,
    ) -> StoreResult<Option<(LinkRecord, Option<Workspace>, Option<DashboardHead>)>>;
    /// A link by the digest of its current short code.
    async fn link_by_short_digest(&self, digest: &str) -> StoreResult<Option<LinkRecord>>;
    /// A workspace's links (deleted ones included), newest first; only one dashboard's with
    /// `dashboard`.
    async fn links(
        &self,
        workspace: WorkspaceId,
        dashboard: Option<DashboardId>,
    ) -> StoreResult<Vec<LinkRecord>>;
}

/// The outsiders' access log. Being in the store, its counts hold across instances: password
/// throttling counts `bad_password` events here.
#[async_trait]
pub trait AccessEventStore {
    /// Appends an event and, for a link's event, its daily rollups, in one transaction (see
    /// [`AnalyticsStore`]).
    async fn record_access(&self, event: &AccessEvent) -> StoreResult<()>;
    /// Appends events and their rollups, all in one transaction: the group commit of
    /// `vitrine_app`'s access-log batcher. Either every event is recorded or none is.
    async fn record_accesses(&self, events: &[AccessEvent]) -> StoreResult<()>;
    /// Deletes events recorded before `before` (the retention period); returns how many.
    async fn prune_access_events(&self, before: OffsetDateTime) -> StoreResult<u64>;
    /// Events of `outcome` on `link` since `since`, from `client` only when given.
    async fn count_access(
        &self,
        link: &str,
        outcome: &str,
        client: Option<&str>,
        since: OffsetDateTime,
    ) -> StoreResult<i64>;
    /// A link's most recent events, newest first.
    async fn access_events(&self, link: &str, limit: i64) -> StoreResult<Vec<AccessEvent>>;
    /// Views and last access of every link of a workspace, by link id.
    async fn link_stats(&self, workspace: WorkspaceId) -> StoreResult<Vec<(String, LinkStats)>>;
}

/// Embeddings and guest grants (issue 11). Rows hold no secret.
#[async_trait]
pub trait EmbedStore {
    /// Stores a new embedding; a dashboard that has one is [`StoreError::Conflict`].
    async fn create_embedding(&self, embedding: &EmbeddingRecord) -> StoreResult<()>;
    /// Writes an embedding's state and settings.
    async fn save_embedding(&self, embedding: &EmbeddingRecord) -> StoreResult<()>;
    /// An embedding by embed id, in any workspace (the outsider router looks it up this way).
    async fn embedding(&self, id: &str) -> StoreResult<Option<EmbeddingRecord>>;
    /// A dashboard's embedding.
    async fn embedding_of_dashboard(
        &self,
        workspace: WorkspaceId,
        dashboard: DashboardId,
    ) -> StoreResult<Option<EmbeddingRecord>>;
    /// Deletes an embedding and its grants; false when there is none.
    async fn delete_embedding(&self, workspace: WorkspaceId, id: &str) -> StoreResult<bool>;
    /// Stores a new grant.
    async fn create_grant(&self, grant: &GuestGrantRecord) -> StoreResult<()>;
    /// A grant by id, with whether the key that minted it is still live.
    async fn grant(&self, id: &str) -> StoreResult<Option<GrantLookup>>;
    /// Revokes one live (unexpired, unrevoked) grant of this workspace; the grant, or `None` when there was none.
    async fn revoke_grant(
        &self,
        workspace: WorkspaceId,
        id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<GuestGrantRecord>>;
    /// Revokes every unexpired grant of an embedding; how many.
    async fn revoke_grants(
        &self,
        workspace: WorkspaceId,
        embedding: &str,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;
    /// An embedding's unexpired, unrevoked grants, newest first.
    async fn live_grants(
        &self,
        embedding: &str,
        now: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<GrantLookup>>;
    /// Appends an embedded view (or refusal) to the access log.
    async fn record_embed_access(&self, access: &EmbedAccess) -> StoreResult<()>;
    /// An embedding's most recent access events, newest first.
    async fn embed_access_events(
        &self,
        embedding: &str,
        limit: i64,
    ) -> StoreResult<Vec<EmbedAccess>>;
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// The scale-out store.
    Postgres,
}

/// Every capability, plus lifecycle.
#[async_trait]
pub trait Store:
    WorkspaceStore
    + MemberStore
    + SessionStore
    + ApiKeyStore
    + AttemptStore
    + AuditStore
    + DataSourceStore
    + DatasetStore
    + DashboardStore
    + ShareLinkStore
    + AccessEventStore
    + AnalyticsStore
    + OutboxStore
    + InvitationStore
    + AudienceStore
    + ReportStore
    + EmbedStore
    + ViewCodeStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// The database behind this store.
    fn backend(&self) -> Backend;
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the pool.
    async fn close(&self);
    /// Tells every instance sharing this database that something changed (see
    /// [`ChangeListener`]). A no-op where there is no feed (SQLite: one instance).
    async fn publish_change(&self, payload: &str) -> StoreResult<()>;
    /// Starts listening to other instances' changes; `None` where there is no feed.
    async fn listen_changes(&self) -> StoreResult<Option<ChangeListener>>;
}

/// Opens the store named by `url` (its scheme picks the backend: `sqlite:` or
/// `postgres:`/`postgresql:`) without migrating it.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::Config(
            "database_url must start with sqlite: or postgres:".to_owned(),
        ))
    }
}

/// Opens and migrates the store named by `url`.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    let store = connect(url).await?;
    store.migrate().await?;
    Ok(store)
}
