//! The SQL both stores run, and the one macro that implements every capability trait for a
//! store type over its pool.
//!
//! The text uses numbered `$N` parameters, which both SQLite and PostgreSQL understand, so a
//! query cannot say one thing on one database and another on the other. A store type passed
//! to [`impl_store_traits!`] provides `pool`, `begin_write()` (SQLite begins `IMMEDIATE`,
//! so a read-then-write transaction never fails half-way on a lock upgrade) and
//! `lock_scope(tx, scope)` (serialises attempt reservations on one scope: a no-op on SQLite,
//! whose write transactions are already serial; an advisory lock on PostgreSQL).

/// Columns of `members`, in [`crate::model::MemberRow`] order, each prefixed by `$p`
/// (`"m."` in joins; `""` in `RETURNING`, where SQLite allows no table qualifier).
macro_rules! member_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "workspace_id, ",
            $p,
            "email, ",
            $p,
            "name, ",
            $p,
            "role, ",
            $p,
            "perm_share_public, ",
            $p,
            "perm_embed, ",
            $p,
            "perm_manage_members, ",
            $p,
            "perm_manage_data_sources, ",
            $p,
            "password_hash, ",
            $p,
            "must_change_password, ",
            $p,
            "created_at, ",
            $p,
            "last_login_at"
        )
    };
}

/// Columns of `api_keys`, in [`crate::model::ApiKeyRow`] order, prefixed like
/// [`member_columns`].
macro_rules! api_key_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id AS k_id, ",
            $p,
            "workspace_id AS k_workspace_id, ",
            $p,
            "member_id AS k_member_id, ",
            $p,
            "name AS k_name, ",
            $p,
            "prefix AS k_prefix, ",
            $p,
            "created_at AS k_created_at, ",
            $p,
            "last_used_at AS k_last_used_at, ",
            $p,
            "revoked_at AS k_revoked_at"
        )
    };
}

macro_rules! WORKSPACE_COLUMNS {
    () => {
        "id, name, created_at, public_links_allowed, max_link_days, link_password_required, \
         suspended_at, contact_line, footer, content_revision"
    };
}

macro_rules! LINK_COLUMNS {
    () => {
        "id, workspace_id, dashboard_id, widget_id, label, enabled, generation, epoch, short_digest, \
         expires_at, deleted_at, password_hash, settings, created_by, created_at, updated_at, \
         view_count"
    };
}

macro_rules! DATA_SOURCE_COLUMNS {
    () => {
        "id, workspace_id, name, kind, display, sealed_config, revision, created_at, updated_at"
    };
}

macro_rules! DATASET_COLUMNS {
    () => {
        "id, workspace_id, data_source_id, slug, name, sql, columns, revision, created_at, updated_at"
    };
}

macro_rules! DASHBOARD_COLUMNS {
    () => {
        "id, workspace_id, slug, title, status, document, revision, created_by, created_at, updated_at"
    };
}

pub(crate) use {
    DASHBOARD_COLUMNS, DATA_SOURCE_COLUMNS, DATASET_COLUMNS, LINK_COLUMNS, WORKSPACE_COLUMNS,
    api_key_columns, member_columns,
};

/// A uniqueness or reference conflict, named for the person who caused it.
pub(crate) fn named_conflict(error: sqlx::Error, message: &str) -> crate::StoreError {
    match crate::StoreError::from(error) {
        crate::StoreError::Conflict(_) => crate::StoreError::Conflict(message.to_owned()),
        other => other,
    }
}

/// Fails the transaction (by returning `Conflict`) when the workspace would have no admin.
pub(crate) const COUNT_ADMINS: &str =
    "SELECT COUNT(*) FROM members WHERE workspace_id = $1 AND role = 'admin'";

/// Unsuccessful (pending or failed) attempts in scope `$1` made after `$2` (ms).
pub(crate) const COUNT_UNSUCCESSFUL: &str =
    "SELECT COUNT(*) FROM attempts WHERE scope = $1 AND outcome <> 'succeeded' AND at > $2";

/// The time of the `$3`-th oldest (from 0) unsuccessful attempt in scope `$1` after `$2`.
pub(crate) const NTH_UNSUCCESSFUL: &str = "SELECT at FROM attempts \
     WHERE scope = $1 AND outcome <> 'succeeded' AND at > $2 ORDER BY at, id LIMIT 1 OFFSET $3";

macro_rules! impl_store_traits {
    ($store:ty) => {
        use $crate::model::*;
        use $crate::sql::{
            api_key_columns, member_columns, named_conflict, DASHBOARD_COLUMNS, DATASET_COLUMNS,
            DATA_SOURCE_COLUMNS, COUNT_ADMINS, LINK_COLUMNS, WORKSPACE_COLUMNS,
        };
        use $crate::*;
        use async_trait::async_trait;
        use time::OffsetDateTime;
        use vitrine_core::id::{ApiKeyId, DashboardId, DataSourceId, DatasetId, MemberId, WorkspaceId};
        use vitrine_core::member::{Permissions, Role};

        #[async_trait]
        impl WorkspaceStore for $store {
            async fn create_workspace(
                &self,
                name: &str,
                now: OffsetDateTime,
            ) -> StoreResult<Workspace> {
                let row: WorkspaceRow = sqlx::query_as(concat!(
                    "INSERT INTO workspaces (name, created_at) VALUES ($1, $2) RETURNING ",
                    WORKSPACE_COLUMNS!()
                ))
                .bind(name)
                .bind(to_ms(now))
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
                let row: Option<WorkspaceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    WORKSPACE_COLUMNS!(),
                    " FROM workspaces WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn default_workspace(&self) -> StoreResult<Option<Workspace>> {
                let row: Option<WorkspaceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    WORKSPACE_COLUMNS!(),
                    " FROM workspaces ORDER BY id LIMIT 1"
                ))
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn set_link_policy(&self, id: WorkspaceId, policy: &LinkPolicy) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE workspaces SET public_links_allowed = $2, max_link_days = $3, \
                     link_password_required = $4, contact_line = $5, footer = $6 WHERE id = $1",
                )
                .bind(id.0)
                .bind(policy.public_links_allowed)
                .bind(policy.max_link_days)
                .bind(policy.password_required)
                .bind(&policy.contact_line)
                .bind(&policy.footer)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn set_suspended(&self, id: WorkspaceId, at: Option<OffsetDateTime>) -> StoreResult<()> {
                let done = sqlx::query("UPDATE workspaces SET suspended_at = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind(at.map(to_ms))
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }
        }

        #[async_trait]
        impl MemberStore for $store {
            async fn create_member(
                &self,
                new: NewMember,
                now: OffsetDateTime,
            ) -> StoreResult<Member> {
                let row: MemberRow = sqlx::query_as(concat!(
                    "INSERT INTO members (workspace_id, email, name, role, perm_share_public, \
                     perm_embed, perm_manage_members, perm_manage_data_sources, password_hash, \
                     must_change_password, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ",
                    member_columns!("")
                ))
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
                .bind(to_ms(now))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| named_conflict(e, "a member with this e-mail address exists"))?;
                row.try_into()
            }

            async fn member(&self, id: MemberId) -> StoreResult<Option<Member>> {
                let row: Option<MemberRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    member_columns!("m."),
                    " FROM members m WHERE m.id = $1"
                ))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn member_by_email(&self, email: &str) -> StoreResult<Option<Member>> {
                let row: Option<MemberRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    member_columns!("m."),
                    " FROM members m WHERE m.email = $1"
                ))
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<Member>> {
                let rows: Vec<MemberRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    member_columns!("m."),
                    " FROM members m WHERE m.workspace_id = $1 ORDER BY m.name, m.id"
                ))
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn update_member_access(
                &self,
                id: MemberId,
                role: Role,
                flags: Permissions,
            ) -> StoreResult<Member> {
                let mut tx = self.begin_write().await?;
                let row: Option<MemberRow> = sqlx::query_as(concat!(
                    "UPDATE members SET role = $2, perm_share_public = $3, perm_embed = $4, \
                     perm_manage_members = $5, perm_manage_data_sources = $6 WHERE id = $1 \
                     RETURNING ",
                    member_columns!("")
                ))
                .bind(id.0)
                .bind(role.as_str())
                .bind(flags.share_public)
                .bind(flags.embed)
                .bind(flags.manage_members)
                .bind(flags.manage_data_sources)
                .fetch_optional(&mut *tx)
                .await?;
                let member: Member = row.ok_or(StoreError::NotFound)?.try_into()?;
                let admins: i64 = sqlx::query_scalar(COUNT_ADMINS)
                    .bind(member.workspace_id.0)
                    .fetch_one(&mut *tx)
                    .await?;
                if admins == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::Conflict(
                        "the workspace must keep at least one admin".into(),
                    ));
                }
                tx.commit().await?;
                Ok(member)
            }

            async fn set_member_password(
                &self,
                id: MemberId,
                password_hash: &str,
                must_change: bool,
            ) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE members SET password_hash = $2, must_change_password = $3 WHERE id = $1",
                )
                .bind(id.0)
                .bind(password_hash)
                .bind(must_change)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn touch_member_login(&self, id: MemberId, now: OffsetDateTime) -> StoreResult<()> {
                sqlx::query("UPDATE members SET last_login_at = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind(to_ms(now))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_member(&self, id: MemberId) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let workspace: Option<i64> =
                    sqlx::query_scalar("DELETE FROM members WHERE id = $1 RETURNING workspace_id")
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                let workspace = workspace.ok_or(StoreError::NotFound)?;
                let admins: i64 = sqlx::query_scalar(COUNT_ADMINS)
                    .bind(workspace)
                    .fetch_one(&mut *tx)
                    .await?;
                if admins == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::Conflict(
                        "the workspace must keep at least one admin".into(),
                    ));
                }
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl SessionStore for $store {
            async fn create_session(&self, new: NewSession) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (digest, member_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&new.digest)
                .bind(new.member_id.0)
                .bind(to_ms(new.created_at))
                .bind(to_ms(new.expires_at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session(
                &self,
                digest: &str,
                now: OffsetDateTime,
            ) -> StoreResult<Option<(Session, Member)>> {
                let row: Option<SessionMemberRow> = sqlx::query_as(concat!(
                    "SELECT s.created_at AS s_created_at, s.expires_at AS s_expires_at, ",
                    member_columns!("m."),
                    " FROM sessions s JOIN members m ON m.id = s.member_id \
                     WHERE s.digest = $1 AND s.expires_at > $2"
                ))
                .bind(digest)
                .bind(to_ms(now))
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn delete_session(&self, digest: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE digest = $1")
                    .bind(digest)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_member_sessions(&self, member: MemberId) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM sessions WHERE member_id = $1")
                    .bind(member.0)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn purge_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                    .bind(to_ms(now))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }

        #[async_trait]
        impl ApiKeyStore for $store {
            async fn create_api_key(
                &self,
                new: NewApiKey,
                now: OffsetDateTime,
            ) -> StoreResult<ApiKey> {
                let row: ApiKeyRow = sqlx::query_as(concat!(
                    "INSERT INTO api_keys (workspace_id, member_id, name, prefix, digest, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
                    api_key_columns!("")
                ))
                .bind(new.workspace_id.0)
                .bind(new.member_id.0)
                .bind(&new.name)
                .bind(&new.prefix)
                .bind(&new.digest)
                .bind(to_ms(now))
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            async fn api_key_by_digest(&self, digest: &str) -> StoreResult<Option<(ApiKey, Member)>> {
                let row: Option<ApiKeyMemberRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    api_key_columns!("k."),
                    ", ",
                    member_columns!("m."),
                    " FROM api_keys k JOIN members m ON m.id = k.member_id WHERE k.digest = $1"
                ))
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn api_keys(&self, workspace: WorkspaceId) -> StoreResult<Vec<ApiKey>> {
                let rows: Vec<ApiKeyRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    api_key_columns!("k."),
                    " FROM api_keys k WHERE k.workspace_id = $1 ORDER BY k.id DESC"
                ))
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn revoke_api_key(
                &self,
                workspace: WorkspaceId,
                id: ApiKeyId,
                now: OffsetDateTime,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE api_keys SET revoked_at = $3 \
                     WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL",
                )
                .bind(workspace.0)
                .bind(id.0)
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn touch_api_key(&self, id: ApiKeyId, now: OffsetDateTime) -> StoreResult<()> {
                sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind(to_ms(now))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl AttemptStore for $store {
            async fn reserve_attempt(
                &self,
                limits: &[AttemptLimit],
                now: OffsetDateTime,
            ) -> StoreResult<Reservation> {
                let mut tx = self.begin_write().await?;
                // Sorted, so two reservations sharing scopes take their locks in one order.
                let mut scopes: Vec<&str> = limits.iter().map(|l| l.scope.as_str()).collect();
                scopes.sort_unstable();
                scopes.dedup();
                for scope in scopes {
                    Self::lock_scope(&mut tx, scope).await?;
                }
                // A limit refuses when its count is full — and, if it is paced, its pace is
                // spent too. It allows again when the attempts that keep it full have left
                // the window (the earlier of the two for a paced limit); a reservation
                // refused by several limits may go when the last of them allows it.
                let mut refused: Option<(String, OffsetDateTime)> = None;
                for limit in limits {
                    let mut tiers = vec![(limit.max, limit.window)];
                    tiers.extend(limit.pace.map(|p| (p.max, p.per)));
                    let mut again: Option<OffsetDateTime> = None;
                    for (max, window) in tiers {
                        let since = to_ms(now - window);
                        let count: i64 = sqlx::query_scalar($crate::sql::COUNT_UNSUCCESSFUL)
                            .bind(&limit.scope)
                            .bind(since)
                            .fetch_one(&mut *tx)
                            .await?;
                        if count < max {
                            again = None;
                            break;
                        }
                        let oldest_to_leave: Option<i64> =
                            sqlx::query_scalar($crate::sql::NTH_UNSUCCESSFUL)
                                .bind(&limit.scope)
                                .bind(since)
                                .bind(count - max.max(0))
                                .fetch_optional(&mut *tx)
                                .await?;
                        let at = oldest_to_leave.map_or(now, from_ms) + window;
                        again = Some(again.map_or(at, |a| a.min(at)));
                    }
                    if let Some(at) = again {
                        let latest = refused.as_ref().map_or(at, |(_, r)| at.max(*r));
                        refused = Some((limit.scope.clone(), latest));
                    }
                }
                if let Some((scope, retry_at)) = refused {
                    tx.rollback().await?;
                    return Ok(Reservation::Refused { scope, retry_at });
                }
                let mut head: Option<i64> = None;
                for limit in limits {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO attempts (reservation, scope, at, outcome) \
                         VALUES ($1, $2, $3, 'pending') RETURNING id",
                    )
                    .bind(head)
                    .bind(&limit.scope)
                    .bind(to_ms(now))
                    .fetch_one(&mut *tx)
                    .await?;
                    head.get_or_insert(id);
                }
                tx.commit().await?;
                head.map(|id| Reservation::Granted(AttemptId(id))).ok_or_else(|| {
                    StoreError::Internal("a reservation needs at least one limit".into())
                })
            }

            async fn finish_attempt(&self, id: AttemptId, outcome: AttemptOutcome) -> StoreResult<()> {
                let done = match outcome {
                    AttemptOutcome::Abandoned => {
                        sqlx::query("DELETE FROM attempts WHERE id = $1 OR reservation = $1")
                            .bind(id.0)
                            .execute(&self.pool)
                            .await?
                    }
                    AttemptOutcome::Failed | AttemptOutcome::Succeeded => {
                        let word = if outcome == AttemptOutcome::Failed { "failed" } else { "succeeded" };
                        sqlx::query("UPDATE attempts SET outcome = $2 WHERE id = $1 OR reservation = $1")
                            .bind(id.0)
                            .bind(word)
                            .execute(&self.pool)
                            .await?
                    }
                };
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn count_attempts(&self, scope: &str, since: OffsetDateTime) -> StoreResult<i64> {
                Ok(sqlx::query_scalar($crate::sql::COUNT_UNSUCCESSFUL)
                    .bind(scope)
                    .bind(to_ms(since))
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn purge_attempts(&self, before: OffsetDateTime) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM attempts WHERE at < $1")
                    .bind(to_ms(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }

        #[async_trait]
        impl AuditStore for $store {
            async fn record_audit(&self, new: NewAuditEvent) -> StoreResult<()> {
                let e = new.event;
                sqlx::query(
                    "INSERT INTO audit_events (workspace_id, at, actor_id, actor, action, target, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(new.workspace_id.0)
                .bind(to_ms(e.at))
                .bind(e.actor_id.map(|m| m.0))
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.target)
                .bind(&e.detail)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn audit_events(
                &self,
                workspace: WorkspaceId,
                limit: i64,
            ) -> StoreResult<Vec<AuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as(
                    "SELECT at, actor_id, actor, action, target, detail FROM audit_events \
                     WHERE workspace_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(workspace.0)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }

        #[async_trait]
        impl DataSourceStore for $store {
            async fn create_data_source(
                &self,
                input: DataSourceInput,
                now: OffsetDateTime,
            ) -> StoreResult<DataSourceRecord> {
                let row: DataSourceRow = sqlx::query_as(concat!(
                    "INSERT INTO data_sources (workspace_id, name, kind, display, sealed_config, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ",
                    DATA_SOURCE_COLUMNS!()
                ))
                .bind(input.workspace_id.0)
                .bind(&input.name)
                .bind(&input.kind)
                .bind(&input.display)
                .bind(&input.sealed_config)
                .bind(to_ms(now))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| named_conflict(e, "a data source with this name exists"))?;
                Ok(row.into())
            }

            async fn data_source(
                &self,
                workspace: WorkspaceId,
                id: DataSourceId,
            ) -> StoreResult<Option<DataSourceRecord>> {
                let row: Option<DataSourceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    DATA_SOURCE_COLUMNS!(),
                    " FROM data_sources WHERE workspace_id = $1 AND id = $2"
                ))
                .bind(workspace.0)
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn data_sources(&self, workspace: WorkspaceId) -> StoreResult<Vec<DataSourceRecord>> {
                let rows: Vec<DataSourceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    DATA_SOURCE_COLUMNS!(),
                    " FROM data_sources WHERE workspace_id = $1 ORDER BY name, id"
                ))
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn update_data_source(
                &self,
                id: DataSourceId,
                input: DataSourceInput,
                now: OffsetDateTime,
            ) -> StoreResult<DataSourceRecord> {
                let row: Option<DataSourceRow> = sqlx::query_as(concat!(
                    "UPDATE data_sources SET name = $3, kind = $4, display = $5, sealed_config = $6, \
                     revision = revision + 1, updated_at = $7 WHERE workspace_id = $1 AND id = $2 \
                     RETURNING ",
                    DATA_SOURCE_COLUMNS!()
                ))
                .bind(input.workspace_id.0)
                .bind(id.0)
                .bind(&input.name)
                .bind(&input.kind)
                .bind(&input.display)
                .bind(&input.sealed_config)
                .bind(to_ms(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| named_conflict(e, "a data source with this name exists"))?;
                row.map(Into::into).ok_or(StoreError::NotFound)
            }

            async fn delete_data_source(&self, workspace: WorkspaceId, id: DataSourceId) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM data_sources WHERE workspace_id = $1 AND id = $2")
                    .bind(workspace.0)
                    .bind(id.0)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| named_conflict(e, "datasets still read this data source"))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }
        }

        #[async_trait]
        impl DatasetStore for $store {
            async fn create_dataset(&self, input: DatasetInput, now: OffsetDateTime) -> StoreResult<DatasetRecord> {
                let row: DatasetRow = sqlx::query_as(concat!(
                    "INSERT INTO datasets (workspace_id, data_source_id, slug, name, sql, columns, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ",
                    DATASET_COLUMNS!()
                ))
                .bind(input.workspace_id.0)
                .bind(input.data_source_id.0)
                .bind(&input.slug)
                .bind(&input.name)
                .bind(&input.sql)
                .bind(&input.columns)
                .bind(to_ms(now))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| named_conflict(e, "a dataset with this slug exists"))?;
                Ok(row.into())
            }

            async fn dataset(&self, workspace: WorkspaceId, id: DatasetId) -> StoreResult<Option<DatasetRecord>> {
                let row: Option<DatasetRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    DATASET_COLUMNS!(),
                    " FROM datasets WHERE workspace_id = $1 AND id = $2"
                ))
                .bind(workspace.0)
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn dataset_by_slug(&self, workspace: WorkspaceId, slug: &str) -> StoreResult<Option<DatasetRecord>> {
                let row: Option<DatasetRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    DATASET_COLUMNS!(),
                    " FROM datasets WHERE workspace_id = $1 AND slug = $2"
                ))
                .bind(workspace.0)
                .bind(slug)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn datasets_with_sources(
                &self,
                workspace: WorkspaceId,
                slugs: &[String],
            ) -> StoreResult<Vec<(DatasetRecord, Option<DataSourceRecord>)>> {
                if slugs.is_empty() {
                    return Ok(Vec::new());
                }
                // Only placeholders are formatted in; the slugs are bound.
                let placeholders = (0..slugs.len())
                    .map(|i| format!("${}", i + 2))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "SELECT d.id, d.workspace_id, d.data_source_id, d.slug, d.name, d.sql, \
                     d.columns, d.revision, d.created_at, d.updated_at, \
                     s.id AS s_id, s.workspace_id AS s_workspace_id, s.name AS s_name, \
                     s.kind AS s_kind, s.display AS s_display, \
                     s.sealed_config AS s_sealed_config, s.revision AS s_revision, \
                     s.created_at AS s_created_at, s.updated_at AS s_updated_at \
                     FROM datasets d LEFT JOIN data_sources s \
                     ON s.workspace_id = d.workspace_id AND s.id = d.data_source_id \
                     WHERE d.workspace_id = $1 AND d.slug IN ({placeholders}) ORDER BY d.slug"
                );
                let mut query =
                    sqlx::query_as::<_, DatasetSourceRow>(sqlx::AssertSqlSafe(sql)).bind(workspace.0);
                for slug in slugs {
                    query = query.bind(slug);
                }
                let rows = query.fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(DatasetSourceRow::split).collect())
            }

            async fn datasets(&self, workspace: WorkspaceId) -> StoreResult<Vec<DatasetRecord>> {
                let rows: Vec<DatasetRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    DATASET_COLUMNS!(),
                    " FROM datasets WHERE workspace_id = $1 ORDER BY name, id"
                ))
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn update_dataset(&self, id: DatasetId, input: DatasetInput, now: OffsetDateTime) -> StoreResult<DatasetRecord> {
                let row: Option<DatasetRow> = sqlx::query_as(concat!(
                    "UPDATE datasets SET data_source_id = $3, slug = $4, name = $5, sql = $6, \
                     columns = $7, revision = revision + 1, updated_at = $8 \
                     WHERE workspace_id = $1 AND id = $2 RETURNING ",
                    DATASET_COLUMNS!()
                ))
                .bind(input.workspace_id.0)
                .bind(id.0)
                .bind(input.data_source_id.0)
                .bind(&input.slug)
                .bind(&input.name)
                .bind(&input.sql)
                .bind(&input.columns)
                .bind(to_ms(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| named_conflict(e, "a dataset with this slug exists"))?;
                row.map(Into::into).ok_or(StoreError::NotFound)
            }

            async fn delete_dataset(&self, workspace: WorkspaceId, id: DatasetId) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM datasets WHERE workspace_id = $1 AND id = $2")
                    .bind(workspace.0)
                    .bind(id.0)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }
        }

        #[async_trait]
        impl DashboardStore for $store {
            async fn create_dashboard(
                &self,
                input: DashboardInput,
                created_by: Option<MemberId>,
                now: OffsetDateTime,
            ) -> StoreResult<DashboardRecord> {
                let row: DashboardRow = sqlx::query_as(concat!(
                    "INSERT INTO dashboards (workspace_id, slug, title, status, document, created_by, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ",
                    DASHBOARD_COLUMNS!()
                ))
                .bind(input.workspace_id.0)
                .bind(&input.slug)
                .bind(&input.title)
                .bind(&input.status)
                .bind(&input.document)
                .bind(created_by.map(|m| m.0))
                .bind(to_ms(now))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| named_conflict(e, "a dashboard with this slug exists"))?;
                Ok(row.into())
            }

            async fn dashboard(&self, workspace: WorkspaceId, id: DashboardId) -> StoreResult<Option<DashboardRecord>> {
                let row: Option<DashboardRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    DASHBOARD_COLUMNS!(),
                    " FROM dashboards WHERE workspace_id = $1 AND id = $2"
                ))
                .bind(workspace.0)
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn dashboard_by_slug(&self, workspace: WorkspaceId, slug: &str) -> StoreResult<Option<DashboardRecord>> {
                let row: Option<DashboardRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    DASHBOARD_COLUMNS!(),
                    " FROM dashboards WHERE workspace_id = $1 AND slug = $2"
                ))
                .bind(workspace.0)
                .bind(slug)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn dashboards(&self, workspace: WorkspaceId) -> StoreResult<Vec<DashboardRecord>> {
                let rows: Vec<DashboardRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    DASHBOARD_COLUMNS!(),
                    " FROM dashboards WHERE workspace_id = $1 ORDER BY title, id"
                ))
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn update_dashboard(
                &self,
                id: DashboardId,
                input: DashboardInput,
                expected_revision: Option<i64>,
                now: OffsetDateTime,
            ) -> StoreResult<DashboardRecord> {
                let row: Option<DashboardRow> = sqlx::query_as(concat!(
                    "UPDATE dashboards SET slug = $3, title = $4, status = $5, document = $6, \
                     revision = revision + 1, updated_at = $7 \
                     WHERE workspace_id = $1 AND id = $2 AND ($8 IS NULL OR revision = $8) RETURNING ",
                    DASHBOARD_COLUMNS!()
                ))
                .bind(input.workspace_id.0)
                .bind(id.0)
                .bind(&input.slug)
                .bind(&input.title)
                .bind(&input.status)
                .bind(&input.document)
                .bind(to_ms(now))
                .bind(expected_revision)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| named_conflict(e, "a dashboard with this slug exists"))?;
                match row {
                    Some(row) => Ok(row.into()),
                    None if self.dashboard(input.workspace_id, id).await?.is_some() => Err(
                        StoreError::Conflict("the dashboard was changed meanwhile; reload it".into()),
                    ),
                    None => Err(StoreError::NotFound),
                }
            }

            async fn delete_dashboard(&self, workspace: WorkspaceId, id: DashboardId) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM dashboards WHERE workspace_id = $1 AND id = $2")
                    .bind(workspace.0)
                    .bind(id.0)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }
        }

        #[async_trait]
        impl ShareLinkStore for $store {
            async fn create_link(&self, link: &LinkRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO share_links (id, workspace_id, dashboard_id, widget_id, label, enabled, \
                     generation, epoch, short_digest, expires_at, deleted_at, password_hash, settings, \
                     created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(&link.id)
                .bind(link.workspace_id.0)
                .bind(link.dashboard_id.0)
                .bind(&link.widget_id)
                .bind(&link.label)
                .bind(link.enabled)
                .bind(link.generation)
                .bind(link.epoch)
                .bind(&link.short_digest)
                .bind(link.expires_at.map(to_ms))
                .bind(link.deleted_at.map(to_ms))
                .bind(&link.password_hash)
                .bind(&link.settings)
                .bind(link.created_by.map(|m| m.0))
                .bind(to_ms(link.created_at))
                .bind(to_ms(link.updated_at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn save_link(&self, link: &LinkRecord) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE share_links SET label = $2, enabled = $3, generation = $4, epoch = $5, \
                     short_digest = $6, expires_at = $7, deleted_at = $8, password_hash = $9, \
                     settings = $10, widget_id = $11, updated_at = $12 WHERE id = $1",
                )
                .bind(&link.id)
                .bind(&link.label)
                .bind(link.enabled)
                .bind(link.generation)
                .bind(link.epoch)
                .bind(&link.short_digest)
                .bind(link.expires_at.map(to_ms))
                .bind(link.deleted_at.map(to_ms))
                .bind(&link.password_hash)
                .bind(&link.settings)
                .bind(&link.widget_id)
                .bind(to_ms(link.updated_at))
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn count_link_view(&self, id: &str, max_views: Option<i64>) -> StoreResult<Option<i64>> {
                let count: Option<i64> = match max_views {
                    None => sqlx::query_scalar(
                        "UPDATE share_links SET view_count = view_count + 1 WHERE id = $1 \
                         RETURNING view_count",
                    )
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?,
                    Some(max) => sqlx::query_scalar(
                        "UPDATE share_links SET view_count = view_count + 1 \
                         WHERE id = $1 AND view_count < $2 RETURNING view_count",
                    )
                    .bind(id)
                    .bind(max)
                    .fetch_optional(&self.pool)
                    .await?,
                };
                Ok(count)
            }

            async fn link(&self, id: &str) -> StoreResult<Option<LinkRecord>> {
                let row: Option<LinkRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    LINK_COLUMNS!(),
                    " FROM share_links WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn link_gate(
                &self,
                id: &str,
            ) -> StoreResult<Option<(LinkRecord, Option<Workspace>, Option<DashboardHead>)>> {
                let sql = "SELECT l.id, l.workspace_id, l.dashboard_id, l.widget_id, l.label, l.enabled, \
                     l.generation, l.epoch, l.short_digest, l.expires_at, l.deleted_at, \
                     l.password_hash, l.settings, l.created_by, l.created_at, l.updated_at, \
                     l.view_count, \
                     w.id AS w_id, w.name AS w_name, w.created_at AS w_created_at, \
                     w.public_links_allowed AS w_public_links_allowed, \
                     w.max_link_days AS w_max_link_days, \
                     w.link_password_required AS w_link_password_required, \
                     w.suspended_at AS w_suspended_at, w.contact_line AS w_contact_line, \
                     w.footer AS w_footer, w.content_revision AS w_content_revision, \
                     d.id AS d_id, d.workspace_id AS d_workspace_id, d.status AS d_status, \
                     d.revision AS d_revision \
                     FROM share_links l \
                     LEFT JOIN workspaces w ON w.id = l.workspace_id \
                     LEFT JOIN dashboards d ON d.id = l.dashboard_id AND d.workspace_id = l.workspace_id \
                     WHERE l.id = $1";
                // SQLite: on this thread when the file can be read at once (`crate::here`);
                // else on the gate's own connections, not the pool (`crate::readers`).
                let row: Option<LinkGateRow> = match self.gate_here(sql, id) {
                    Some(row) => row,
                    None => self.gate.fetch_optional(sql, id).await?,
                };
                Ok(row.map(LinkGateRow::split))
            }

            async fn link_by_short_digest(&self, digest: &str) -> StoreResult<Option<LinkRecord>> {
                let row: Option<LinkRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    LINK_COLUMNS!(),
                    " FROM share_links WHERE short_digest = $1"
                ))
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn links(
                &self,
                workspace: WorkspaceId,
                dashboard: Option<DashboardId>,
            ) -> StoreResult<Vec<LinkRecord>> {
                let rows: Vec<LinkRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    LINK_COLUMNS!(),
                    " FROM share_links WHERE workspace_id = $1 AND ($2 IS NULL OR dashboard_id = $2) \
                     ORDER BY created_at DESC, id"
                ))
                .bind(workspace.0)
                .bind(dashboard.map(|d| d.0))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }

        #[async_trait]
        impl AccessEventStore for $store {
            async fn record_access(&self, event: &AccessEvent) -> StoreResult<()> {
                self.record_access_rolled_up(event).await
            }

            async fn record_accesses(&self, events: &[AccessEvent]) -> StoreResult<()> {
                self.record_accesses_rolled_up(events).await
            }

            async fn prune_access_events(&self, before: OffsetDateTime) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM access_events WHERE at < $1")
                    .bind(to_ms(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn count_access(
                &self,
                link: &str,
                outcome: &str,
                client: Option<&str>,
                since: OffsetDateTime,
            ) -> StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM access_events WHERE link_id = $1 AND outcome = $2 \
                     AND ($3 IS NULL OR client = $3) AND at >= $4",
                )
                .bind(link)
                .bind(outcome)
                .bind(client)
                .bind(to_ms(since))
                .fetch_one(&self.pool)
                .await?)
            }

            async fn access_events(&self, link: &str, limit: i64) -> StoreResult<Vec<AccessEvent>> {
                let rows: Vec<AccessRow> = sqlx::query_as(
                    "SELECT workspace_id, link_id, at, outcome, country, client_class, client, \
                     viewer FROM access_events WHERE link_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(link)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn link_stats(&self, workspace: WorkspaceId) -> StoreResult<Vec<(String, LinkStats)>> {
                // From the rollups (see `analytics.rs`), never the raw log.
                let rows: Vec<(String, i64, Option<i64>, Option<i64>, Option<i64>)> = sqlx::query_as(
                    "SELECT link_id, views, CASE \
                     WHEN COALESCE(last_view_at, 0) >= COALESCE(last_refused_at, 0) \
                      AND COALESCE(last_view_at, 0) >= COALESCE(last_download_at, 0) THEN last_view_at \
                     WHEN COALESCE(last_refused_at, 0) >= COALESCE(last_download_at, 0) THEN last_refused_at \
                     ELSE last_download_at END, last_view_at, last_refused_at \
                     FROM access_totals WHERE workspace_id = $1",
                )
                .bind(workspace.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, views, last, view, refused)| {
                        (
                            id,
                            LinkStats {
                                views,
                                last_access_at: last.map(from_ms),
                                last_view_at: view.map(from_ms),
                                last_refused_at: refused.map(from_ms),
                            },
                        )
                    })
                    .collect())
            }
        }
    };
}

pub(crate) use impl_store_traits;
