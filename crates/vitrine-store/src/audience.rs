//! Who may see and edit one dashboard, and members' data permissions (migration
//! `0011_dashboard_audience.sql`). [`AudienceStore`] is implemented for both stores by
//! [`impl_audience_store!`], over the same SQL text.

use async_trait::async_trait;
use time::OffsetDateTime;
use vitrine_core::id::{DashboardId, MemberId, WorkspaceId};
use vitrine_core::member::Role;

use crate::StoreResult;

/// A member granted one dashboard on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberGrant {
    /// The member.
    pub member_id: MemberId,
    /// Their name.
    pub name: String,
    /// Their address.
    pub email: String,
    /// `viewer` or `editor`.
    pub access: String,
}

/// Who one dashboard is given to beyond the workspace's roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardAudience {
    /// Restricted: only admins and the grants below see it.
    pub restricted: bool,
    /// Roles granted it, with `viewer` or `editor`.
    pub roles: Vec<(Role, String)>,
    /// Members granted it, by name.
    pub members: Vec<MemberGrant>,
}

/// What one role reaches in a workspace beyond the published, unrestricted dashboards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleReach {
    /// The workspace's restricted dashboards.
    pub restricted: Vec<DashboardId>,
    /// Dashboards granted to the role, with `viewer` or `editor`.
    pub grants: Vec<(DashboardId, String)>,
}

/// A row-level rule attached to a member or a role (the rule is stored as JSON, parsed by
/// the application).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRuleRecord {
    /// The row.
    pub id: i64,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The member it applies to, or
    pub member_id: Option<MemberId>,
    /// every member of this role.
    pub role: Option<Role>,
    /// The rule, as JSON.
    pub rule: String,
    /// Added when.
    pub created_at: OffsetDateTime,
}

/// Per-dashboard audience and members' data rules.
#[async_trait]
pub trait AudienceStore {
    /// One dashboard's restriction and grants.
    async fn dashboard_audience(&self, dashboard: DashboardId) -> StoreResult<DashboardAudience>;
    /// Restricts (`true`) or opens a dashboard of `workspace`.
    async fn set_dashboard_restricted(
        &self,
        workspace: WorkspaceId,
        dashboard: DashboardId,
        restricted: bool,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Grants `member` the dashboard with `access` (`viewer` / `editor`), or removes their
    /// grant (`None`).
    async fn set_member_grant(
        &self,
        dashboard: DashboardId,
        member: MemberId,
        access: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Grants every member of `role` the dashboard, or removes the role's grant (`None`).
    async fn set_role_grant(
        &self,
        dashboard: DashboardId,
        role: Role,
        access: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The restricted dashboards of `workspace` and the grants of `role` there.
    async fn role_reach(&self, workspace: WorkspaceId, role: Role) -> StoreResult<RoleReach>;
    /// Attaches a rule to a member or a role (exactly one of them).
    async fn add_member_rule(
        &self,
        workspace: WorkspaceId,
        member: Option<MemberId>,
        role: Option<Role>,
        rule: &str,
        now: OffsetDateTime,
    ) -> StoreResult<MemberRuleRecord>;
    /// Removes a rule of `workspace`; false when there is none with this id.
    async fn delete_member_rule(&self, workspace: WorkspaceId, id: i64) -> StoreResult<bool>;
    /// Every rule of `workspace`, oldest first.
    async fn member_rules(&self, workspace: WorkspaceId) -> StoreResult<Vec<MemberRuleRecord>>;
    /// The rules that apply to `member` (theirs and their role's), oldest first.
    async fn rules_for_member(
        &self,
        workspace: WorkspaceId,
        member: MemberId,
        role: Role,
    ) -> StoreResult<Vec<MemberRuleRecord>>;
}

macro_rules! RULE_COLUMNS {
    () => {
        "id, workspace_id, member_id, role, rule, created_at"
    };
}
pub(crate) use RULE_COLUMNS;

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRuleRow {
    id: i64,
    workspace_id: i64,
    member_id: Option<i64>,
    role: Option<String>,
    rule: String,
    created_at: i64,
}

impl TryFrom<MemberRuleRow> for MemberRuleRecord {
    type Error = crate::StoreError;

    fn try_from(r: MemberRuleRow) -> Result<Self, Self::Error> {
        let role = r
            .role
            .map(|s| s.parse::<Role>())
            .transpose()
            .map_err(|e| crate::StoreError::Internal(format!("member rule {}: {e}", r.id)))?;
        Ok(Self {
            id: r.id,
            workspace_id: WorkspaceId(r.workspace_id),
            member_id: r.member_id.map(MemberId),
            role,
            rule: r.rule,
            created_at: crate::model::from_ms(r.created_at),
        })
    }
}

pub(crate) fn parse_role(s: &str) -> Result<Role, crate::StoreError> {
    s.parse()
        .map_err(|e| crate::StoreError::Internal(format!("dashboard role grant: {e}")))
}

/// Implements [`AudienceStore`] for a store type with a `pool`.
macro_rules! impl_audience_store {
    ($store:ty) => {
        use $crate::audience::{
            AudienceStore, DashboardAudience, MemberGrant, MemberRuleRecord, MemberRuleRow,
            RoleReach, parse_role, RULE_COLUMNS,
        };
        use $crate::model::to_ms;
        use vitrine_core::id::{DashboardId, MemberId, WorkspaceId};
        use vitrine_core::member::Role;

        #[async_trait::async_trait]
        impl AudienceStore for $store {
            async fn dashboard_audience(
                &self,
                dashboard: DashboardId,
            ) -> $crate::StoreResult<DashboardAudience> {
                let restricted: Option<i64> = sqlx::query_scalar(
                    "SELECT dashboard_id FROM dashboard_restrictions WHERE dashboard_id = $1",
                )
                .bind(dashboard.0)
                .fetch_optional(&self.pool)
                .await?;
                let roles: Vec<(String, String)> = sqlx::query_as(
                    "SELECT role, access FROM dashboard_role_grants WHERE dashboard_id = $1 \
                     ORDER BY role",
                )
                .bind(dashboard.0)
                .fetch_all(&self.pool)
                .await?;
                let members: Vec<(i64, String, String, String)> = sqlx::query_as(
                    "SELECT m.id, m.name, m.email, g.access FROM dashboard_grants g \
                     JOIN members m ON m.id = g.member_id WHERE g.dashboard_id = $1 \
                     ORDER BY m.name, m.id",
                )
                .bind(dashboard.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(DashboardAudience {
                    restricted: restricted.is_some(),
                    roles: roles
                        .into_iter()
                        .map(|(r, a)| Ok((parse_role(&r)?, a)))
                        .collect::<$crate::StoreResult<_>>()?,
                    members: members
                        .into_iter()
                        .map(|(id, name, email, access)| MemberGrant {
                            member_id: MemberId(id),
                            name,
                            email,
                            access,
                        })
                        .collect(),
                })
            }

            async fn set_dashboard_restricted(
                &self,
                workspace: WorkspaceId,
                dashboard: DashboardId,
                restricted: bool,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                if restricted {
                    sqlx::query(
                        "INSERT INTO dashboard_restrictions (dashboard_id, workspace_id, created_at) \
                         SELECT id, workspace_id, $3 FROM dashboards WHERE id = $1 AND workspace_id = $2 \
                         ON CONFLICT (dashboard_id) DO NOTHING",
                    )
                    .bind(dashboard.0)
                    .bind(workspace.0)
                    .bind(to_ms(now))
                    .execute(&self.pool)
                    .await?;
                } else {
                    sqlx::query(
                        "DELETE FROM dashboard_restrictions WHERE dashboard_id = $1 AND workspace_id = $2",
                    )
                    .bind(dashboard.0)
                    .bind(workspace.0)
                    .execute(&self.pool)
                    .await?;
                }
                Ok(())
            }

            async fn set_member_grant(
                &self,
                dashboard: DashboardId,
                member: MemberId,
                access: Option<&str>,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                match access {
                    Some(access) => {
                        sqlx::query(
                            "INSERT INTO dashboard_grants (dashboard_id, member_id, access, created_at) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (dashboard_id, member_id) \
                             DO UPDATE SET access = excluded.access",
                        )
                        .bind(dashboard.0)
                        .bind(member.0)
                        .bind(access)
                        .bind(to_ms(now))
                        .execute(&self.pool)
                        .await?;
                    }
                    None => {
                        sqlx::query(
                            "DELETE FROM dashboard_grants WHERE dashboard_id = $1 AND member_id = $2",
                        )
                        .bind(dashboard.0)
                        .bind(member.0)
                        .execute(&self.pool)
                        .await?;
                    }
                }
                Ok(())
            }

            async fn set_role_grant(
                &self,
                dashboard: DashboardId,
                role: Role,
                access: Option<&str>,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                match access {
                    Some(access) => {
                        sqlx::query(
                            "INSERT INTO dashboard_role_grants (dashboard_id, role, access, created_at) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (dashboard_id, role) \
                             DO UPDATE SET access = excluded.access",
                        )
                        .bind(dashboard.0)
                        .bind(role.as_str())
                        .bind(access)
                        .bind(to_ms(now))
                        .execute(&self.pool)
                        .await?;
                    }
                    None => {
                        sqlx::query(
                            "DELETE FROM dashboard_role_grants WHERE dashboard_id = $1 AND role = $2",
                        )
                        .bind(dashboard.0)
                        .bind(role.as_str())
                        .execute(&self.pool)
                        .await?;
                    }
                }
                Ok(())
            }

            async fn role_reach(
                &self,
                workspace: WorkspaceId,
                role: Role,
            ) -> $crate::StoreResult<RoleReach> {
                let restricted: Vec<i64> = sqlx::query_scalar(
                    "SELECT dashboard_id FROM dashboard_restrictions WHERE workspace_id = $1 \
                     ORDER BY dashboard_id",
                )
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                let grants: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT g.dashboard_id, g.access FROM dashboard_role_grants g \
                     JOIN dashboards d ON d.id = g.dashboard_id \
                     WHERE d.workspace_id = $1 AND g.role = $2 ORDER BY g.dashboard_id",
                )
                .bind(workspace.0)
                .bind(role.as_str())
                .fetch_all(&self.pool)
                .await?;
                Ok(RoleReach {
                    restricted: restricted.into_iter().map(DashboardId).collect(),
                    grants: grants
                        .into_iter()
                        .map(|(d, a)| (DashboardId(d), a))
                        .collect(),
                })
            }

            async fn add_member_rule(
                &self,
                workspace: WorkspaceId,
                member: Option<MemberId>,
                role: Option<Role>,
                rule: &str,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<MemberRuleRecord> {
                let row: MemberRuleRow = sqlx::query_as(concat!(
                    "INSERT INTO member_data_rules (workspace_id, member_id, role, rule, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING ",
                    RULE_COLUMNS!()
                ))
                .bind(workspace.0)
                .bind(member.map(|m| m.0))
                .bind(role.map(|r| r.as_str()))
                .bind(rule)
                .bind(to_ms(now))
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn delete_member_rule(
                &self,
                workspace: WorkspaceId,
                id: i64,
            ) -> $crate::StoreResult<bool> {
                let done = sqlx::query(
                    "DELETE FROM member_data_rules WHERE id = $1 AND workspace_id = $2",
                )
                .bind(id)
                .bind(workspace.0)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn member_rules(
                &self,
                workspace: WorkspaceId,
            ) -> $crate::StoreResult<Vec<MemberRuleRecord>> {
                let rows: Vec<MemberRuleRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    RULE_COLUMNS!(),
                    " FROM member_data_rules WHERE workspace_id = $1 ORDER BY id"
                ))
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn rules_for_member(
                &self,
                workspace: WorkspaceId,
                member: MemberId,
                role: Role,
            ) -> $crate::StoreResult<Vec<MemberRuleRecord>> {
                let rows: Vec<MemberRuleRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    RULE_COLUMNS!(),
                    " FROM member_data_rules WHERE workspace_id = $1 \
                     AND (member_id = $2 OR role = $3) ORDER BY id"
                ))
                .bind(workspace.0)
                .bind(member.0)
                .bind(role.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}
pub(crate) use impl_audience_store;
