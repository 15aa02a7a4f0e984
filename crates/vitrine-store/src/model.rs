//! The rows of our own tables, as the rest of Vitrine sees them.

use time::OffsetDateTime;
use vitrine_core::id::{ApiKeyId, DashboardId, DataSourceId, DatasetId, MemberId, WorkspaceId};
use vitrine_core::member::{Actor, Permissions, Role};
use vitrine_core::share::LinkStatus;

use crate::StoreError;

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// Its id.
    pub id: WorkspaceId,
    /// Its name (never shown to outsiders).
    pub name: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// The admins' policy over share links.
    pub policy: LinkPolicy,
    /// When it was suspended: every link then answers "no longer active".
    pub suspended_at: Option<OffsetDateTime>,
    /// Moves (in the same transaction) with every change to one of its datasets or data
    /// sources, by the store's triggers: a dashboard context built from them stays valid
    /// while this is what it was built under.
    pub content_revision: i64,
}

/// A workspace's policy over share links, set by its admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPolicy {
    /// Whether public links may be created at all (existing ones keep working).
    pub public_links_allowed: bool,
    /// The longest a link may live, in days; `None`: no limit.
    pub max_link_days: Option<i64>,
    /// Whether every new link needs a password.
    pub password_required: bool,
    /// A line shown on the "no longer active" page ("Questions? finance@example.com").
    pub contact_line: String,
    /// The footer under shared dashboards.
    pub footer: String,
}

impl Default for LinkPolicy {
    fn default() -> Self {
        Self {
            public_links_allowed: true,
            max_link_days: None,
            password_required: false,
            contact_line: String::new(),
            footer: "Shared with Vitrine".to_owned(),
        }
    }
}

/// A person with an account.
#[derive(Clone, PartialEq, Eq)]
pub struct Member {
    /// Its id.
    pub id: MemberId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The normalised e-mail address, used to log in.
    pub email: String,
    /// The display name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The stored permission flags (see [`Actor::permissions`] for the effective ones).
    pub flags: Permissions,
    /// The Argon2id PHC string.
    pub password_hash: String,
    /// True after an invitation or reset: the one-time password must be replaced.
    pub must_change_password: bool,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// The last successful login.
    pub last_login_at: Option<OffsetDateTime>,
}

impl Member {
    /// The member as someone acting.
    pub fn actor(&self) -> Actor {
        Actor {
            member_id: self.id,
            workspace_id: self.workspace_id,
            role: self.role,
            flags: self.flags,
        }
    }
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("flags", &self.flags)
            .field("password_hash", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// What creating a member needs.
#[derive(Clone)]
pub struct NewMember {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The normalised e-mail address.
    pub email: String,
    /// The display name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The permission flags.
    pub flags: Permissions,
    /// The Argon2id PHC string.
    pub password_hash: String,
    /// Whether the password is one-time.
    pub must_change_password: bool,
}

impl std::fmt::Debug for NewMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMember")
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A login session (the cookie value itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The member.
    pub member_id: MemberId,
    /// When it began.
    pub created_at: OffsetDateTime,
    /// When it ends.
    pub expires_at: OffsetDateTime,
}

/// What creating a session needs.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the cookie value.
    pub digest: String,
    /// The member.
    pub member_id: MemberId,
    /// Now.
    pub created_at: OffsetDateTime,
    /// When it ends.
    pub expires_at: OffsetDateTime,
}

/// An API key's row. The key itself is shown once at creation and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The member it acts as.
    pub member_id: MemberId,
    /// A name to tell keys apart ("CI export job").
    pub name: String,
    /// The visible start of the key (`vtk_ab12cd34`).
    pub prefix: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last used.
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<OffsetDateTime>,
}

/// What creating an API key needs.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The member it acts as.
    pub member_id: MemberId,
    /// Its name.
    pub name: String,
    /// Its visible prefix.
    pub prefix: String,
    /// SHA-256 of the whole key.
    pub digest: String,
}

/// One counter a reservation is checked against and counted under: fewer than `max`
/// unsuccessful attempts (pending or failed) in `scope` within the last `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLimit {
    /// The counter's name: what is being throttled and for whom (`login:client:<hash>`,
    /// `unlock:<link>`). Keyed hashes only; never an address or an e-mail address.
    pub scope: String,
    /// Unsuccessful attempts allowed within `window`.
    pub max: i64,
    /// How far back attempts count.
    pub window: time::Duration,
    /// Past `max`, attempts go on at this pace instead of being refused: a ceiling that slows
    /// rather than locks out.
    pub pace: Option<Pace>,
}

/// At most `max` unsuccessful attempts within any `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Attempts allowed within `per`.
    pub max: i64,
    /// The short window.
    pub per: time::Duration,
}

/// A reserved attempt, to be finished with its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptId(pub i64);

/// What a reservation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt is recorded as pending under every scope and may be evaluated.
    Granted(AttemptId),
    /// A limit is reached; nothing was recorded.
    Refused {
        /// The scope that refused (the last one checked, when several did).
        scope: String,
        /// When every refusing limit allows an attempt again: when the counted attempts that
        /// keep it full have left its window.
        retry_at: OffsetDateTime,
    },
}

/// How a reserved attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The password was wrong: it keeps counting until it leaves the window.
    Failed,
    /// The password was right: it no longer counts.
    Succeeded,
    /// It was never evaluated (the hashing queue was full): it is removed.
    Abandoned,
}

/// An owner action, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: OffsetDateTime,
    /// The acting member, if they still exist.
    pub actor_id: Option<MemberId>,
    /// Who acted, as shown at the time (e-mail, `cli`, `system`).
    pub actor: String,
    /// What they did (`member.invited`, `api_key.revoked` …).
    pub action: String,
    /// What they did it to.
    pub target: String,
    /// Details as JSON text.
    pub detail: String,
}

/// What recording an audit event needs.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The event.
    pub event: AuditEvent,
}

// ---- rows as the database returns them -------------------------------------------------

pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[derive(sqlx::FromRow)]
pub(crate) struct WorkspaceRow {
    id: i64,
    name: String,
    created_at: i64,
    public_links_allowed: bool,
    max_link_days: Option<i64>,
    link_password_required: bool,
    suspended_at: Option<i64>,
    contact_line: String,
    footer: String,
    content_revision: i64,
}

impl From<WorkspaceRow> for Workspace {
    fn from(r: WorkspaceRow) -> Self {
        Workspace {
            id: WorkspaceId(r.id),
            name: r.name,
            created_at: from_ms(r.created_at),
            policy: LinkPolicy {
                public_links_allowed: r.public_links_allowed,
                max_link_days: r.max_link_days,
                password_required: r.link_password_required,
                contact_line: r.contact_line,
                footer: r.footer,
            },
            suspended_at: r.suspended_at.map(from_ms),
            content_revision: r.content_revision,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    id: i64,
    workspace_id: i64,
    email: String,
    name: String,
    role: String,
    perm_share_public: bool,
    perm_embed: bool,
    perm_manage_members: bool,
    perm_manage_data_sources: bool,
    password_hash: String,
    must_change_password: bool,
    created_at: i64,
    last_login_at: Option<i64>,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;
    fn try_from(r: MemberRow) -> Result<Self, StoreError> {
        Ok(Member {
            id: MemberId(r.id),
            workspace_id: WorkspaceId(r.workspace_id),
            email: r.email,
            name: r.name,
            role: r
                .role
                .parse()
                .map_err(|e| StoreError::Internal(format!("member {}: {e}", r.id)))?,
            flags: Permissions {
                share_public: r.perm_share_public,
                embed: r.perm_embed,
                manage_members: r.perm_manage_members,
                manage_data_sources: r.perm_manage_data_sources,
            },
            password_hash: r.password_hash,
            must_change_password: r.must_change_password,
            created_at: from_ms(r.created_at),
            last_login_at: r.last_login_at.map(from_ms),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionMemberRow {
    s_created_at: i64,
    s_expires_at: i64,
    #[sqlx(flatten)]
    member: MemberRow,
}

impl TryFrom<SessionMemberRow> for (Session, Member) {
    type Error = StoreError;
    fn try_from(r: SessionMemberRow) -> Result<Self, StoreError> {
        let member = Member::try_from(r.member)?;
        Ok((
            Session {
                member_id: member.id,
                created_at: from_ms(r.s_created_at),
                expires_at: from_ms(r.s_expires_at),
            },
            member,
        ))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    k_id: i64,
    k_workspace_id: i64,
    k_member_id: i64,
    k_name: String,
    k_prefix: String,
    k_created_at: i64,
    k_last_used_at: Option<i64>,
    k_revoked_at: Option<i64>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(r: ApiKeyRow) -> Self {
        ApiKey {
            id: ApiKeyId(r.k_id),
            workspace_id: WorkspaceId(r.k_workspace_id),
            member_id: MemberId(r.k_member_id),
            name: r.k_name,
            prefix: r.k_prefix,
            created_at: from_ms(r.k_created_at),
            last_used_at: r.k_last_used_at.map(from_ms),
            revoked_at: r.k_revoked_at.map(from_ms),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyMemberRow {
    #[sqlx(flatten)]
    key: ApiKeyRow,
    #[sqlx(flatten)]
    member: MemberRow,
}

impl TryFrom<ApiKeyMemberRow> for (ApiKey, Member) {
    type Error = StoreError;
    fn try_from(r: ApiKeyMemberRow) -> Result<Self, StoreError> {
        Ok((ApiKey::from(r.key), Member::try_from(r.member)?))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    at: i64,
    actor_id: Option<i64>,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

impl From<AuditRow> for AuditEvent {
    fn from(r: AuditRow) -> Self {
        AuditEvent {
            at: from_ms(r.at),
            actor_id: r.actor_id.map(MemberId),
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: r.detail,
        }
    }
}

// ---- content: data sources, datasets, dashboards ----------------------------------------

/// A data source's row. Its connection settings are sealed; see the server's `content`.
#[derive(Clone, PartialEq, Eq)]
pub struct DataSourceRecord {
    /// Its id.
    pub id: DataSourceId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// A name, unique in the workspace.
    pub name: String,
    /// `sqlite`, `postgres` or `mysql`.
    pub kind: String,
    /// A description without secrets ("postgres://vitrine:***@db/sales").
    pub display: String,
    /// The encrypted connection settings.
    pub sealed_config: String,
    /// Bumped on every change, so pools and caches keyed by it are replaced.
    pub revision: i64,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for DataSourceRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataSourceRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("display", &self.display)
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

/// What creating or changing a data source needs.
#[derive(Clone)]
pub struct DataSourceInput {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The name.
    pub name: String,
    /// The kind.
    pub kind: String,
    /// The redacted description.
    pub display: String,
    /// The encrypted settings.
    pub sealed_config: String,
}

impl std::fmt::Debug for DataSourceInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataSourceInput")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A dataset's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRecord {
    /// Its id.
    pub id: DatasetId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The data source it reads.
    pub data_source_id: DataSourceId,
    /// The slug dashboards name it by.
    pub slug: String,
    /// A name.
    pub name: String,
    /// The checked, read-only SQL.
    pub sql: String,
    /// The discovered columns, as JSON.
    pub columns: String,
    /// Bumped on every change.
    pub revision: i64,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

/// What creating or changing a dataset needs.
#[derive(Debug, Clone)]
pub struct DatasetInput {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The data source.
    pub data_source_id: DataSourceId,
    /// The slug.
    pub slug: String,
    /// The name.
    pub name: String,
    /// The SQL.
    pub sql: String,
    /// The columns, as JSON.
    pub columns: String,
}

/// A dashboard's row: the document as its author wrote it, plus what lists need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardRecord {
    /// Its id.
    pub id: DashboardId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// A slug, unique in the workspace (file name for dashboards as code).
    pub slug: String,
    /// The title (from the document).
    pub title: String,
    /// `draft` or `published` (from the document).
    pub status: String,
    /// The YAML document.
    pub document: String,
    /// Bumped on every change; updates can require the revision they started from.
    pub revision: i64,
    /// Who created it.
    pub created_by: Option<MemberId>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

/// What the outsider gate reads of a link's dashboard on every request: enough to refuse a
/// draft and to find the dashboard's context, not its document (a few KiB, read again only
/// when no context built from this revision is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardHead {
    /// Its id.
    pub id: DashboardId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// `draft` or `published`.
    pub status: String,
    /// Bumped on every change.
    pub revision: i64,
}

impl DashboardHead {
    /// The head of `record`.
    pub fn of(record: &DashboardRecord) -> Self {
        DashboardHead {
            id: record.id,
            workspace_id: record.workspace_id,
            status: record.status.clone(),
            revision: record.revision,
        }
    }
}

/// What creating or changing a dashboard needs.
#[derive(Debug, Clone)]
pub struct DashboardInput {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The slug.
    pub slug: String,
    /// The title.
    pub title: String,
    /// The status.
    pub status: String,
    /// The YAML document.
    pub document: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct DataSourceRow {
    id: i64,
    workspace_id: i64,
    name: String,
    kind: String,
    display: String,
    sealed_config: String,
    revision: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<DataSourceRow> for DataSourceRecord {
    fn from(r: DataSourceRow) -> Self {
        DataSourceRecord {
            id: DataSourceId(r.id),
            workspace_id: WorkspaceId(r.workspace_id),
            name: r.name,
            kind: r.kind,
            display: r.display,
            sealed_config: r.sealed_config,
            revision: r.revision,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DatasetRow {
    id: i64,
    workspace_id: i64,
    data_source_id: i64,
    slug: String,
    name: String,
    sql: String,
    columns: String,
    revision: i64,
    created_at: i64,
    updated_at: i64,
}

/// A dataset with its data source, read in one query (`s_` columns, NULL when the source is
/// gone): what a dashboard view needs of each dataset it names.
#[derive(sqlx::FromRow)]
pub(crate) struct DatasetSourceRow {
    #[sqlx(flatten)]
    dataset: DatasetRow,
    s_id: Option<i64>,
    s_workspace_id: Option<i64>,
    s_name: Option<String>,
    s_kind: Option<String>,
    s_display: Option<String>,
    s_sealed_config: Option<String>,
    s_revision: Option<i64>,
    s_created_at: Option<i64>,
    s_updated_at: Option<i64>,
}

impl DatasetSourceRow {
    /// The dataset and its data source.
    pub(crate) fn split(self) -> (DatasetRecord, Option<DataSourceRecord>) {
        let source = match (
            self.s_id,
            self.s_workspace_id,
            self.s_name,
            self.s_kind,
            self.s_display,
            self.s_sealed_config,
            self.s_revision,
            self.s_created_at,
            self.s_updated_at,
        ) {
            (
                Some(id),
                Some(workspace_id),
                Some(name),
                Some(kind),
                Some(display),
                Some(sealed_config),
                Some(revision),
                Some(created_at),
                Some(updated_at),
            ) => Some(
                DataSourceRow {
                    id,
                    workspace_id,
                    name,
                    kind,
                    display,
                    sealed_config,
                    revision,
                    created_at,
                    updated_at,
                }
                .into(),
            ),
            _ => None,
        };
        (self.dataset.into(), source)
    }
}

impl From<DatasetRow> for DatasetRecord {
    fn from(r: DatasetRow) -> Self {
        DatasetRecord {
            id: DatasetId(r.id),
            workspace_id: WorkspaceId(r.workspace_id),
            data_source_id: DataSourceId(r.data_source_id),
            slug: r.slug,
            name: r.name,
            sql: r.sql,
            columns: r.columns,
            revision: r.revision,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DashboardRow {
    id: i64,
    workspace_id: i64,
    slug: String,
    title: String,
    status: String,
    document: String,
    revision: i64,
    created_by: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl From<DashboardRow> for DashboardRecord {
    fn from(r: DashboardRow) -> Self {
        DashboardRecord {
            id: DashboardId(r.id),
            workspace_id: WorkspaceId(r.workspace_id),
            slug: r.slug,
            title: r.title,
            status: r.status,
            document: r.document,
            revision: r.revision,
            created_by: r.created_by.map(MemberId),
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        }
    }
}

// ---- share links and access events ------------------------------------------------------

/// A share link's row. It holds no secret: the URL token and short code are derived from the
/// server key, the id and the generation.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkRecord {
    /// The random link id (base64url).
    pub id: String,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The dashboard shared.
    pub dashboard_id: DashboardId,
    /// The single widget shared, or `None` for the whole dashboard.
    pub widget_id: Option<String>,
    /// The audience ("Board", "Client A").
    pub label: String,
    /// Turned on by its owner.
    pub enabled: bool,
    /// Bumped by rotate: old URLs and short codes die.
    pub generation: i64,
    /// Bumped when the password or the state changes: unlock cookies die.
    pub epoch: i64,
    /// SHA-256 of the current short code.
    pub short_digest: String,
    /// When it stops working.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was deleted (it then never opens again; its history stays).
    pub deleted_at: Option<OffsetDateTime>,
    /// Argon2id PHC string of its password, if any.
    pub password_hash: Option<String>,
    /// Locked and open filters, display options and embed policy, as JSON.
    pub settings: String,
    /// Who created it.
    pub created_by: Option<MemberId>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
    /// Page views counted against the link's view limit (see
    /// [`crate::ShareLinkStore::count_link_view`]); not written by `save_link`.
    pub view_count: i64,
}

impl LinkRecord {
    /// What decides whether the link opens, for [`LinkStatus::accessible`]: its own state and
    /// its workspace's suspension.
    pub fn status(&self, workspace: &Workspace) -> LinkStatus {
        LinkStatus {
            enabled: self.enabled,
            expires_at: self.expires_at,
            deleted_at: self.deleted_at,
            workspace_suspended: workspace.suspended_at.is_some(),
        }
    }
}

impl std::fmt::Debug for LinkRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkRecord")
            .field("id", &self.id)
            .field("dashboard_id", &self.dashboard_id)
            .field("widget_id", &self.widget_id)
            .field("label", &self.label)
            .field("enabled", &self.enabled)
            .field("generation", &self.generation)
            .field("expires_at", &self.expires_at)
            .field("deleted_at", &self.deleted_at)
            .field("password", &self.password_hash.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

/// One outsider request to a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEvent {
    /// The workspace, when the link is known.
    pub workspace_id: Option<WorkspaceId>,
    /// The link, when the token named one.
    pub link_id: Option<String>,
    /// When.
    pub at: OffsetDateTime,
    /// `ok`, `bad_password`, `expired`, `disabled`, `deleted`, `suspended`, `rate_limited`,
    /// `not_found`, `export` …
    pub outcome: String,
    /// ISO country code, when known.
    pub country: Option<String>,
    /// `desktop`, `mobile`, `bot` or `other`.
    pub client_class: String,
    /// A keyed hash of the client address.
    pub client: String,
    /// The address an identified viewer confirmed (links that ask viewers to confirm their
    /// e-mail); `None` for everyone else.
    pub viewer: Option<String>,
}

/// A link's traffic in brief.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkStats {
    /// Successful views.
    pub views: i64,
    /// The last request of any outcome.
    pub last_access_at: Option<OffsetDateTime>,
    /// The last page view.
    pub last_view_at: Option<OffsetDateTime>,
    /// The last refused attempt (not a view, not a download).
    pub last_refused_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    id: String,
    workspace_id: i64,
    dashboard_id: i64,
    widget_id: Option<String>,
    label: String,
    enabled: bool,
    generation: i64,
    epoch: i64,
    short_digest: String,
    expires_at: Option<i64>,
    deleted_at: Option<i64>,
    password_hash: Option<String>,
    settings: String,
    created_by: Option<i64>,
    created_at: i64,
    updated_at: i64,
    view_count: i64,
}

/// A link with its workspace and its dashboard's head, read in one query (the outsider gate's
/// one round trip): the link's own columns, then the workspace's and the dashboard's under
/// `w_` and `d_` (NULL when either is gone).
#[derive(sqlx::FromRow)]
pub(crate) struct LinkGateRow {
    #[sqlx(flatten)]
    link: LinkRow,
    w_id: Option<i64>,
    w_name: Option<String>,
    w_created_at: Option<i64>,
    w_public_links_allowed: Option<bool>,
    w_max_link_days: Option<i64>,
    w_link_password_required: Option<bool>,
    w_suspended_at: Option<i64>,
    w_contact_line: Option<String>,
    w_footer: Option<String>,
    w_content_revision: Option<i64>,
    d_id: Option<i64>,
    d_workspace_id: Option<i64>,
    d_status: Option<String>,
    d_revision: Option<i64>,
}

impl LinkGateRow {
    /// The same row read by rusqlite (`crate::here`), column by column under the same names.
    pub(crate) fn from_rusqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(LinkGateRow {
            link: LinkRow {
                id: row.get("id")?,
                workspace_id: row.get("workspace_id")?,
                dashboard_id: row.get("dashboard_id")?,
                widget_id: row.get("widget_id")?,
                label: row.get("label")?,
                enabled: row.get("enabled")?,
                generation: row.get("generation")?,
                epoch: row.get("epoch")?,
                short_digest: row.get("short_digest")?,
                expires_at: row.get("expires_at")?,
                deleted_at: row.get("deleted_at")?,
                password_hash: row.get("password_hash")?,
                settings: row.get("settings")?,
                created_by: row.get("created_by")?,
                created_at: row.get("created_at")?,
                updated_at: row.get("updated_at")?,
                view_count: row.get("view_count")?,
            },
            w_id: row.get("w_id")?,
            w_name: row.get("w_name")?,
            w_created_at: row.get("w_created_at")?,
            w_public_links_allowed: row.get("w_public_links_allowed")?,
            w_max_link_days: row.get("w_max_link_days")?,
            w_link_password_required: row.get("w_link_password_required")?,
            w_suspended_at: row.get("w_suspended_at")?,
            w_contact_line: row.get("w_contact_line")?,
            w_footer: row.get("w_footer")?,
            w_content_revision: row.get("w_content_revision")?,
            d_id: row.get("d_id")?,
            d_workspace_id: row.get("d_workspace_id")?,
            d_status: row.get("d_status")?,
            d_revision: row.get("d_revision")?,
        })
    }

    /// The link, its workspace and its dashboard's head.
    pub(crate) fn split(self) -> (LinkRecord, Option<Workspace>, Option<DashboardHead>) {
        let workspace = match (
            self.w_id,
            self.w_name,
            self.w_created_at,
            self.w_public_links_allowed,
            self.w_link_password_required,
            self.w_contact_line,
            self.w_footer,
            self.w_content_revision,
        ) {
            (
                Some(id),
                Some(name),
                Some(created_at),
                Some(public_links_allowed),
                Some(link_password_required),
                Some(contact_line),
                Some(footer),
                Some(content_revision),
            ) => Some(
                WorkspaceRow {
                    id,
                    name,
                    created_at,
                    public_links_allowed,
                    max_link_days: self.w_max_link_days,
                    link_password_required,
                    suspended_at: self.w_suspended_at,
                    contact_line,
                    footer,
                    content_revision,
                }
                .into(),
            ),
            _ => None,
        };
        let dashboard = match (
            self.d_id,
            self.d_workspace_id,
            self.d_status,
            self.d_revision,
        ) {
            (Some(id), Some(workspace_id), Some(status), Some(revision)) => Some(DashboardHead {
                id: DashboardId(id),
                workspace_id: WorkspaceId(workspace_id),
                status,
                revision,
            }),
            _ => None,
        };
        (self.link.into(), workspace, dashboard)
    }
}

impl From<LinkRow> for LinkRecord {
    fn from(r: LinkRow) -> Self {
        LinkRecord {
            id: r.id,
            workspace_id: WorkspaceId(r.workspace_id),
            dashboard_id: DashboardId(r.dashboard_id),
            widget_id: r.widget_id,
            label: r.label,
            enabled: r.enabled,
            generation: r.generation,
            epoch: r.epoch,
            short_digest: r.short_digest,
            expires_at: r.expires_at.map(from_ms),
            deleted_at: r.deleted_at.map(from_ms),
            password_hash: r.password_hash,
            settings: r.settings,
            created_by: r.created_by.map(MemberId),
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
            view_count: r.view_count,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccessRow {
    workspace_id: Option<i64>,
    link_id: Option<String>,
    at: i64,
    outcome: String,
    country: Option<String>,
    client_class: String,
    client: String,
    viewer: Option<String>,
}

impl From<AccessRow> for AccessEvent {
    fn from(r: AccessRow) -> Self {
        AccessEvent {
            workspace_id: r.workspace_id.map(WorkspaceId),
            link_id: r.link_id,
            at: from_ms(r.at),
            outcome: r.outcome,
            country: r.country,
            client_class: r.client_class,
            client: r.client,
            viewer: r.viewer,
        }
    }
}
