//! The scale-out store: PostgreSQL, shared by any number of stateless instances.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

/// Vitrine's store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The outsider gate's connections (`crate::readers`).
    gate: std::sync::Arc<crate::readers::Readers<Postgres>>,
}

impl PgStore {
    /// PostgreSQL reads only numbered placeholders (`$n`).
    pub(crate) const NUMBERED_PLACEHOLDERS: bool = true;

    /// No read on the calling thread: a PostgreSQL read is a network round trip
    /// (`SqliteStore::gate_here`).
    pub(crate) fn gate_here(
        &self,
        _sql: &str,
        _id: &str,
    ) -> Option<Option<crate::model::LinkGateRow>> {
        None
    }

    /// Connects to a `postgres:` URL.
    pub async fn connect(url: &str) -> crate::StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("vitrine");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let gate = crate::readers::Readers::beside(&pool);
        Ok(Self { pool, gate })
    }

    /// The pool, for tests that read rows directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// Serialises reservations on `scope` across every instance: a transaction-scoped advisory
    /// lock on the scope's 64-bit hash, released at commit or rollback. Under READ COMMITTED
    /// each later statement sees what the previous holder committed. (Two scopes sharing a
    /// hash only wait for each other.)
    async fn lock_scope(
        tx: &mut Transaction<'static, Postgres>,
        scope: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(scope)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::Store for PgStore {
    fn backend(&self) -> crate::Backend {
        crate::Backend::Postgres
    }

    async fn migrate(&self) -> crate::StoreResult<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> crate::StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.gate.close().await;
        self.pool.close().await;
    }

    async fn publish_change(&self, payload: &str) -> crate::StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(crate::CHANGE_CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn listen_changes(&self) -> crate::StoreResult<Option<crate::ChangeListener>> {
        Ok(Some(crate::ChangeListener::connect(&self.pool).await?))
    }
}

mod traits {
    crate::sql::impl_store_traits!(super::PgStore);
}

mod analytics_traits {
    crate::analytics::impl_analytics!(super::PgStore);
}

mod outbox_traits {
    crate::outbox::impl_outbox_store!(super::PgStore);
}

mod invitation_traits {
    crate::invitations::impl_invitation_store!(super::PgStore);
}

mod audience_traits {
    crate::audience::impl_audience_store!(super::PgStore);
}

mod report_traits {
    crate::reports::impl_report_store!(super::PgStore);
}

mod embed_traits {
    crate::embed::impl_embed_store!(super::PgStore);
}

mod view_code_traits {
    crate::view_codes::impl_view_code_store!(super::PgStore);
}
