//! Embeddings and guest grants (issue 11): rows, and the one macro that implements
//! [`crate::EmbedStore`] for both databases with the same SQL text.

use time::OffsetDateTime;
use vitrine_core::id::{ApiKeyId, DashboardId, MemberId, WorkspaceId};

use crate::model::{from_ms, to_ms};

/// A dashboard's embedding for host applications. The row holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingRecord {
    /// The random embed id (a UUID, unrelated to the dashboard's id).
    pub id: String,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The dashboard embedded (one embedding per dashboard).
    pub dashboard_id: DashboardId,
    /// Off: every guest token of it stops working, none can be minted.
    pub enabled: bool,
    /// Allowed origins, UI defaults and the filters the host may set, as JSON.
    pub settings: String,
    /// Who enabled it.
    pub created_by: Option<MemberId>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

/// A guest grant: what one guest token opens. The row holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestGrantRecord {
    /// The random grant id (base64url).
    pub id: String,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// The embedding it opens.
    pub embedding_id: String,
    /// Its row-level rules, as JSON.
    pub rules: String,
    /// The host's user object, as JSON.
    pub user_info: String,
    /// The host's `user.username`.
    pub username: String,
    /// The API key that minted it (`None`: a member's session).
    pub api_key_id: Option<ApiKeyId>,
    /// Minted.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// A grant as validation reads it: with whether its minting key is still live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantLookup {
    /// The grant.
    pub grant: GuestGrantRecord,
    /// Minted by a session, or by a key that exists and is not revoked.
    pub key_live: bool,
}

/// An embedded view in the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedAccess {
    /// The event (its `link_id` is the embed id).
    pub event: crate::AccessEvent,
    /// The grant, when the token named one.
    pub grant_id: Option<String>,
    /// The host's `user.username`.
    pub username: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct EmbeddingRow {
    id: String,
    workspace_id: i64,
    dashboard_id: i64,
    enabled: bool,
    settings: String,
    created_by: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl From<EmbeddingRow> for EmbeddingRecord {
    fn from(r: EmbeddingRow) -> Self {
        EmbeddingRecord {
            id: r.id,
            workspace_id: WorkspaceId(r.workspace_id),
            dashboard_id: DashboardId(r.dashboard_id),
            enabled: r.enabled,
            settings: r.settings,
            created_by: r.created_by.map(MemberId),
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GrantRow {
    id: String,
    workspace_id: i64,
    embedding_id: String,
    rules: String,
    user_info: String,
    username: String,
    api_key_id: Option<i64>,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    k_id: Option<i64>,
    k_revoked_at: Option<i64>,
}

impl From<GrantRow> for GrantLookup {
    fn from(r: GrantRow) -> Self {
        let key_live = r.api_key_id.is_none() || (r.k_id.is_some() && r.k_revoked_at.is_none());
        GrantLookup {
            grant: GuestGrantRecord {
                id: r.id,
                workspace_id: WorkspaceId(r.workspace_id),
                embedding_id: r.embedding_id,
                rules: r.rules,
                user_info: r.user_info,
                username: r.username,
                api_key_id: r.api_key_id.map(ApiKeyId),
                created_at: from_ms(r.created_at),
                expires_at: from_ms(r.expires_at),
                revoked_at: r.revoked_at.map(from_ms),
            },
            key_live,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EmbedAccessRow {
    workspace_id: Option<i64>,
    link_id: Option<String>,
    at: i64,
    outcome: String,
    country: Option<String>,
    client_class: String,
    client: String,
    grant_id: Option<String>,
    username: Option<String>,
}

impl From<EmbedAccessRow> for EmbedAccess {
    fn from(r: EmbedAccessRow) -> Self {
        EmbedAccess {
            event: crate::AccessEvent {
                workspace_id: r.workspace_id.map(WorkspaceId),
                link_id: r.link_id,
                at: from_ms(r.at),
                outcome: r.outcome,
                country: r.country,
                client_class: r.client_class,
                client: r.client,
                viewer: None,
            },
            grant_id: r.grant_id,
            username: r.username,
        }
    }
}

pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    to_ms(t)
}

macro_rules! EMBEDDING_COLUMNS {
    () => {
        "id, workspace_id, dashboard_id, enabled, settings, created_by, created_at, updated_at"
    };
}

macro_rules! GRANT_SELECT {
    () => {
        "SELECT g.id, g.workspace_id, g.embedding_id, g.rules, \
         g.user_info, g.username, g.api_key_id, g.created_at, g.expires_at, g.revoked_at, \
         k.id AS k_id, k.revoked_at AS k_revoked_at \
         FROM guest_grants g LEFT JOIN api_keys k ON k.id = g.api_key_id"
    };
}

pub(crate) use {EMBEDDING_COLUMNS, GRANT_SELECT};

macro_rules! impl_embed_store {
    ($store:ty) => {
        use $crate::embed::{
            EmbedAccessRow, EmbeddingRow, GrantRow, EMBEDDING_COLUMNS, GRANT_SELECT, ms,
        };

        #[async_trait::async_trait]
        impl $crate::EmbedStore for $store {
            async fn create_embedding(
                &self,
                e: &$crate::EmbeddingRecord,
            ) -> $crate::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO embeddings (id, workspace_id, dashboard_id, enabled, settings, \
                     created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&e.id)
                .bind(e.workspace_id.0)
                .bind(e.dashboard_id.0)
                .bind(e.enabled)
                .bind(&e.settings)
                .bind(e.created_by.map(|m| m.0))
                .bind(ms(e.created_at))
                .bind(ms(e.updated_at))
                .execute(&self.pool)
                .await
                .map_err(|err| {
                    $crate::sql::named_conflict(err, "This dashboard already has an embedding.")
                })?;
                Ok(())
            }

            async fn save_embedding(
                &self,
                e: &$crate::EmbeddingRecord,
            ) -> $crate::StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE embeddings SET enabled = $2, settings = $3, updated_at = $4 \
                     WHERE id = $1",
                )
                .bind(&e.id)
                .bind(e.enabled)
                .bind(&e.settings)
                .bind(ms(e.updated_at))
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                Ok(())
            }

            async fn embedding(
                &self,
                id: &str,
            ) -> $crate::StoreResult<Option<$crate::EmbeddingRecord>> {
                let row: Option<EmbeddingRow> = sqlx::query_as(concat!(
                    "SELECT ", EMBEDDING_COLUMNS!(), " FROM embeddings WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn embedding_of_dashboard(
                &self,
                workspace: vitrine_core::id::WorkspaceId,
                dashboard: vitrine_core::id::DashboardId,
            ) -> $crate::StoreResult<Option<$crate::EmbeddingRecord>> {
                let row: Option<EmbeddingRow> = sqlx::query_as(concat!(
                    "SELECT ", EMBEDDING_COLUMNS!(), " FROM embeddings \
                     WHERE workspace_id = $1 AND dashboard_id = $2"
                ))
                .bind(workspace.0)
                .bind(dashboard.0)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn delete_embedding(
                &self,
                workspace: vitrine_core::id::WorkspaceId,
                id: &str,
            ) -> $crate::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM guest_grants WHERE embedding_id = $1 AND workspace_id = $2")
                    .bind(id)
                    .bind(workspace.0)
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query("DELETE FROM embeddings WHERE id = $1 AND workspace_id = $2")
                    .bind(id)
                    .bind(workspace.0)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_grant(
                &self,
                g: &$crate::GuestGrantRecord,
            ) -> $crate::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO guest_grants (id, workspace_id, embedding_id, rules, user_info, \
                     username, api_key_id, created_at, expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&g.id)
                .bind(g.workspace_id.0)
                .bind(&g.embedding_id)
                .bind(&g.rules)
                .bind(&g.user_info)
                .bind(&g.username)
                .bind(g.api_key_id.map(|k| k.0))
                .bind(ms(g.created_at))
                .bind(ms(g.expires_at))
                .bind(g.revoked_at.map(ms))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn grant(&self, id: &str) -> $crate::StoreResult<Option<$crate::GrantLookup>> {
                let row: Option<GrantRow> =
                    sqlx::query_as(concat!(GRANT_SELECT!(), " WHERE g.id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(Into::into))
            }

            async fn revoke_grant(
                &self,
                workspace: vitrine_core::id::WorkspaceId,
                id: &str,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<Option<$crate::GuestGrantRecord>> {
                let done = sqlx::query(
                    "UPDATE guest_grants SET revoked_at = $3 WHERE id = $1 \
                     AND workspace_id = $2 AND revoked_at IS NULL AND expires_at > $3",
                )
                .bind(id)
                .bind(workspace.0)
                .bind(ms(now))
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                Ok(self.grant(id).await?.map(|l| l.grant))
            }

            async fn revoke_grants(
                &self,
                workspace: vitrine_core::id::WorkspaceId,
                embedding: &str,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<u64> {
                let done = sqlx::query(
                    "UPDATE guest_grants SET revoked_at = $3 WHERE embedding_id = $1 \
                     AND workspace_id = $2 AND revoked_at IS NULL AND expires_at > $3",
                )
                .bind(embedding)
                .bind(workspace.0)
                .bind(ms(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn live_grants(
                &self,
                embedding: &str,
                now: time::OffsetDateTime,
                limit: i64,
            ) -> $crate::StoreResult<Vec<$crate::GrantLookup>> {
                let rows: Vec<GrantRow> = sqlx::query_as(concat!(
                    GRANT_SELECT!(), " WHERE g.embedding_id = $1 AND g.revoked_at IS NULL \
                     AND g.expires_at > $2 ORDER BY g.created_at DESC LIMIT $3"
                ))
                .bind(embedding)
                .bind(ms(now))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn record_embed_access(
                &self,
                a: &$crate::EmbedAccess,
            ) -> $crate::StoreResult<()> {
                let e = &a.event;
                sqlx::query(
                    "INSERT INTO access_events (workspace_id, link_id, at, outcome, country, \
                     client_class, client, grant_id, username) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(e.workspace_id.map(|w| w.0))
                .bind(&e.link_id)
                .bind(ms(e.at))
                .bind(&e.outcome)
                .bind(&e.country)
                .bind(&e.client_class)
                .bind(&e.client)
                .bind(&a.grant_id)
                .bind(&a.username)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn embed_access_events(
                &self,
                embedding: &str,
                limit: i64,
            ) -> $crate::StoreResult<Vec<$crate::EmbedAccess>> {
                let rows: Vec<EmbedAccessRow> = sqlx::query_as(
                    "SELECT workspace_id, link_id, at, outcome, country, client_class, client, \
                     grant_id, username FROM access_events WHERE link_id = $1 \
                     ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(embedding)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }
    };
}

pub(crate) use impl_embed_store;
