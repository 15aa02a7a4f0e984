//! Invitations by e-mail (see migration `0007_people.sql`). [`InvitationStore`] is implemented
//! for both stores by [`impl_invitation_store!`], over the same SQL text.

use async_trait::async_trait;
use time::OffsetDateTime;
use vitrine_core::id::{DashboardId, MemberId, WorkspaceId};
use vitrine_core::member::Role;

use crate::model::from_ms;
use crate::{NewMember, StoreError, StoreResult};

/// An invitation to be created.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The invited address (normalised).
    pub email: String,
    /// The workspace role the account gets.
    pub role: Role,
    /// An invitation to one dashboard, with `viewer` or `editor` rights on it.
    pub dashboard: Option<(DashboardId, String)>,
    /// Who invited (kept while they exist).
    pub invited_by: Option<MemberId>,
    /// Who invited, as shown at the time.
    pub invited_by_label: String,
    /// When the accept link stops working.
    pub expires_at: OffsetDateTime,
}

/// An invitation.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The row.
    pub id: i64,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The invited address.
    pub email: String,
    /// The workspace role the account gets.
    pub role: Role,
    /// See [`NewInvitation::dashboard`].
    pub dashboard: Option<(DashboardId, String)>,
    /// Bumped by each resend: only the newest token works.
    pub generation: i64,
    /// Who invited.
    pub invited_by: Option<MemberId>,
    /// Who invited, as shown at the time.
    pub invited_by_label: String,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last (re)sent.
    pub sent_at: OffsetDateTime,
    /// The accept link works until then.
    pub expires_at: OffsetDateTime,
    /// Accepted when.
    pub accepted_at: Option<OffsetDateTime>,
    /// The member who accepted.
    pub accepted_member_id: Option<MemberId>,
    /// Revoked when.
    pub revoked_at: Option<OffsetDateTime>,
}

impl Invitation {
    /// Neither accepted nor revoked (it may have expired).
    pub fn is_open(&self) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none()
    }
}

/// Invitations.
#[async_trait]
pub trait InvitationStore {
    /// Stores a new invitation (generation 0, sent now).
    async fn create_invitation(
        &self,
        new: NewInvitation,
        now: OffsetDateTime,
    ) -> StoreResult<Invitation>;
    /// One invitation by id, in any workspace (the accept page looks tokens up this way).
    async fn invitation(&self, id: i64) -> StoreResult<Option<Invitation>>;
    /// A workspace's open invitations (neither accepted nor revoked), newest first.
    async fn open_invitations(&self, workspace: WorkspaceId) -> StoreResult<Vec<Invitation>>;
    /// Resend: bumps the generation (the old token dies), sets `sent_at` to now and the new
    /// expiry. `None` when the invitation is not open (or not in this workspace).
    async fn renew_invitation(
        &self,
        workspace: WorkspaceId,
        id: i64,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Invitation>>;
    /// Revokes an open invitation; false when there is no such open invitation.
    async fn revoke_invitation(
        &self,
        workspace: WorkspaceId,
        id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Accepts invitation `id` at `generation` if it is still pending (open, unexpired),
    /// creating the member `signup` (if given) in the same transaction, and records the
    /// accepting member (`signup`'s, or `existing`). False when it was no longer pending: a
    /// token is used once, however many requests race. A signup whose address is taken is
    /// [`StoreError::Conflict`] and consumes nothing.
    async fn accept_invitation(
        &self,
        id: i64,
        generation: i64,
        signup: Option<NewMember>,
        existing: Option<MemberId>,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// What a member may see beyond their role: whether they are limited to their granted
    /// dashboards, and their grants (dashboard, `viewer` or `editor`).
    async fn member_access(&self, member: MemberId) -> StoreResult<MemberAccess>;
    /// Members granted dashboard `dashboard` on its own, with their right, by name.
    async fn dashboard_grants(
        &self,
        dashboard: DashboardId,
    ) -> StoreResult<Vec<(MemberId, String, String, String)>>;
}

/// A member's dashboard grants (see [`InvitationStore::member_access`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberAccess {
    /// Sees only the dashboards in `grants` (joined through a dashboard invitation).
    pub dashboards_only: bool,
    /// Dashboards granted, with `viewer` or `editor`.
    pub grants: Vec<(DashboardId, String)>,
}

macro_rules! INVITATION_COLUMNS {
    () => {
        "id, workspace_id, email, role, dashboard_id, dashboard_right, generation, invited_by, \
         invited_by_label, created_at, sent_at, expires_at, accepted_at, accepted_member_id, \
         revoked_at"
    };
}
pub(crate) use INVITATION_COLUMNS;

#[derive(sqlx::FromRow)]
pub(crate) struct InvitationRow {
    id: i64,
    workspace_id: i64,
    email: String,
    role: String,
    dashboard_id: Option<i64>,
    dashboard_right: Option<String>,
    generation: i64,
    invited_by: Option<i64>,
    invited_by_label: String,
    created_at: i64,
    sent_at: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
    accepted_member_id: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;

    fn try_from(r: InvitationRow) -> Result<Self, StoreError> {
        let role: Role = r
            .role
            .parse()
            .map_err(|e| StoreError::Internal(format!("invitation {}: {e}", r.id)))?;
        Ok(Self {
            id: r.id,
            workspace_id: WorkspaceId(r.workspace_id),
            email: r.email,
            role,
            dashboard: r.dashboard_id.map(|d| {
                (
                    DashboardId(d),
                    r.dashboard_right.unwrap_or_else(|| "viewer".into()),
                )
            }),
            generation: r.generation,
            invited_by: r.invited_by.map(MemberId),
            invited_by_label: r.invited_by_label,
            created_at: from_ms(r.created_at),
            sent_at: from_ms(r.sent_at),
            expires_at: from_ms(r.expires_at),
            accepted_at: r.accepted_at.map(from_ms),
            accepted_member_id: r.accepted_member_id.map(MemberId),
            revoked_at: r.revoked_at.map(from_ms),
        })
    }
}

/// Implements [`InvitationStore`] for a store type with a `pool` and `begin_write()`.
macro_rules! impl_invitation_store {
    ($store:ty) => {
        use $crate::invitations::{
            Invitation, InvitationRow, InvitationStore, NewInvitation, INVITATION_COLUMNS,
        };
        use $crate::model::to_ms;

        #[async_trait::async_trait]
        impl InvitationStore for $store {
            async fn create_invitation(
                &self,
                new: NewInvitation,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<Invitation> {
                let row: InvitationRow = sqlx::query_as(concat!(
                    "INSERT INTO invitations (workspace_id, email, role, dashboard_id, \
                     dashboard_right, generation, invited_by, invited_by_label, created_at, \
                     sent_at, expires_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $8, $9) \
                     RETURNING ",
                    INVITATION_COLUMNS!()
                ))
                .bind(new.workspace_id.0)
                .bind(&new.email)
                .bind(new.role.as_str())
                .bind(new.dashboard.as_ref().map(|(d, _)| d.0))
                .bind(new.dashboard.as_ref().map(|(_, r)| r.clone()))
                .bind(new.invited_by.map(|m| m.0))
                .bind(&new.invited_by_label)
                .bind(to_ms(now))
                .bind(to_ms(new.expires_at))
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn invitation(&self, id: i64) -> $crate::StoreResult<Option<Invitation>> {
                let row: Option<InvitationRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    INVITATION_COLUMNS!(),
                    " FROM invitations WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn open_invitations(
                &self,
                workspace: vitrine_core::id::WorkspaceId,
            ) -> $crate::StoreResult<Vec<Invitation>> {
                let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    INVITATION_COLUMNS!(),
                    " FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL \
                     AND revoked_at IS NULL ORDER BY id DESC"
                ))
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn renew_invitation(
                &self,
                workspace: vitrine_core::id::WorkspaceId,
                id: i64,
                expires_at: time::OffsetDateTime,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<Option<Invitation>> {
                let row: Option<InvitationRow> = sqlx::query_as(concat!(
                    "UPDATE invitations SET generation = generation + 1, sent_at = $3, \
                     expires_at = $4 WHERE id = $1 AND workspace_id = $2 \
                     AND accepted_at IS NULL AND revoked_at IS NULL RETURNING ",
                    INVITATION_COLUMNS!()
                ))
                .bind(id)
                .bind(workspace.0)
                .bind(to_ms(now))
                .bind(to_ms(expires_at))
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn revoke_invitation(
                &self,
                workspace: vitrine_core::id::WorkspaceId,
                id: i64,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE invitations SET revoked_at = $3 WHERE id = $1 AND workspace_id = $2 \
                     AND accepted_at IS NULL AND revoked_at IS NULL",
                )
                .bind(id)
                .bind(workspace.0)
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn accept_invitation(
                &self,
                id: i64,
                generation: i64,
                signup: Option<$crate::NewMember>,
                existing: Option<vitrine_core::id::MemberId>,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<bool> {
                let now = to_ms(now);
                let mut tx = self.begin_write().await?;
                let taken = sqlx::query(
                    "UPDATE invitations SET accepted_at = $3 WHERE id = $1 AND generation = $2 \
                     AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
                )
                .bind(id)
                .bind(generation)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if taken.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                let signup_made = signup.is_some();
                let member = match signup {
                    Some(new) => {
                        let created: i64 = sqlx::query_scalar(
                            "INSERT INTO members (workspace_id, email, name, role, \
                             perm_share_public, perm_embed, perm_manage_members, \
                             perm_manage_data_sources, password_hash, must_change_password, \
                             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                             RETURNING id",
                        )
                        .bind(new.workspace_id.0)
                        .bind(&new.email)
                        .bind(&new.name)
                        .bind(new.role.as_str())
                        .bind(new.flags.share_public)
                        .bind(new.flags.embed)
                        .bind(new.flags.manage_members)
                        .bind(new.flags.manage_data_sources)
                        .bind(&new.password_hash)
                        .bind(new.must_change_password)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(|e| {
                            $crate::sql::named_conflict(e, "an account with this e-mail address exists")
                        })?;
                        Some(created)
                    }
                    None => existing.map(|m| m.0),
                };
                sqlx::query("UPDATE invitations SET accepted_member_id = $2 WHERE id = $1")
                    .bind(id)
                    .bind(member)
                    .execute(&mut *tx)
                    .await?;
                let (dashboard, right): (Option<i64>, Option<String>) = sqlx::query_as(
                    "SELECT dashboard_id, dashboard_right FROM invitations WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                if let (Some(dashboard), Some(member)) = (dashboard, member) {
                    sqlx::query(
                        "INSERT INTO dashboard_grants (dashboard_id, member_id, access, created_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (dashboard_id, member_id) \
                         DO UPDATE SET access = excluded.access",
                    )
                    .bind(dashboard)
                    .bind(member)
                    .bind(right.unwrap_or_else(|| "viewer".to_owned()))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if signup_made {
                        sqlx::query("UPDATE members SET dashboards_only = TRUE WHERE id = $1")
                            .bind(member)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn dashboard_grants(
                &self,
                dashboard: vitrine_core::id::DashboardId,
            ) -> $crate::StoreResult<Vec<(vitrine_core::id::MemberId, String, String, String)>> {
                let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
                    "SELECT m.id, m.name, m.email, g.access FROM dashboard_grants g \
                     JOIN members m ON m.id = g.member_id WHERE g.dashboard_id = $1 \
                     ORDER BY m.name, m.id",
                )
                .bind(dashboard.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, name, email, access)| (vitrine_core::id::MemberId(id), name, email, access))
                    .collect())
            }

            async fn member_access(
                &self,
                member: vitrine_core::id::MemberId,
            ) -> $crate::StoreResult<$crate::invitations::MemberAccess> {
                let only: Option<bool> =
                    sqlx::query_scalar("SELECT dashboards_only FROM members WHERE id = $1")
                        .bind(member.0)
                        .fetch_optional(&self.pool)
                        .await?;
                let grants: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT dashboard_id, access FROM dashboard_grants WHERE member_id = $1 \
                     ORDER BY dashboard_id",
                )
                .bind(member.0)
                .fetch_all(&self.pool)
                .await?;
                Ok($crate::invitations::MemberAccess {
                    // An unknown member sees nothing.
                    dashboards_only: only.unwrap_or(true),
                    grants: grants
                        .into_iter()
                        .map(|(d, a)| (vitrine_core::id::DashboardId(d), a))
                        .collect(),
                })
            }
        }
    };
}
pub(crate) use impl_invitation_store;
