//! One-time codes of identified share links (see migration `0012_identified_links.sql`).
//! [`ViewCodeStore`] is implemented for both stores by [`impl_view_code_store!`], over the same
//! SQL text. The rows hold keyed hashes only: the application computes them, the store compares.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreResult;

/// What a scrubbed code message's bodies become.
pub const SCRUBBED: &str = "(the one-time code was removed from the outbox once sent)";

/// A code to remember (its keyed hashes, never the code or the address).
#[derive(Debug, Clone)]
pub struct NewViewCode {
    /// The link.
    pub link_id: String,
    /// A keyed hash of the address.
    pub address_key: String,
    /// A keyed hash of (link, address, code).
    pub code_hash: String,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// What a code presented by a viewer came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Valid: now used up.
    Confirmed,
    /// It was right but is past its expiry.
    Expired,
    /// It was right but was used already (or superseded by a newer code).
    Used,
    /// No such code for this address on this link.
    Unknown,
}

/// One-time codes of identified links.
#[async_trait]
pub trait ViewCodeStore {
    /// Remembers a new code, and retires (marks used) every unused code of the same address on
    /// the same link in the same transaction: only the newest code sent works.
    async fn issue_view_code(&self, code: &NewViewCode, now: OffsetDateTime) -> StoreResult<()>;
    /// Uses the code `code_hash` of `address_key` on `link` if it is unused and unexpired —
    /// one conditional UPDATE, so however many requests race, one confirms.
    async fn consume_view_code(
        &self,
        link: &str,
        address_key: &str,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<CodeCheck>;
    /// Removes the codes from outbox messages of `kind`: the bodies of rows sent or failed, and
    /// with `stale_before`, rows still queued that were created before it are failed (their
    /// code is dead) and scrubbed too. Returns how many rows were scrubbed.
    async fn scrub_code_mail(
        &self,
        kind: &str,
        stale_before: Option<OffsetDateTime>,
    ) -> StoreResult<u64>;
    /// Deletes codes that expired before `before`; returns how many.
    async fn purge_view_codes(&self, before: OffsetDateTime) -> StoreResult<u64>;
    /// The confirmed addresses that viewed `link` (page views, within the access log's
    /// retention), most recent first: (address, views, last view).
    async fn link_viewers(
        &self,
        link: &str,
        limit: i64,
    ) -> StoreResult<Vec<(String, i64, OffsetDateTime)>>;
}

/// Implements [`ViewCodeStore`] for a store type with a `pool` and `begin_write()`.
macro_rules! impl_view_code_store {
    ($store:ty) => {
        use $crate::model::{from_ms, to_ms};
        use $crate::view_codes::{CodeCheck, NewViewCode, SCRUBBED, ViewCodeStore};

        #[async_trait::async_trait]
        impl ViewCodeStore for $store {
            async fn issue_view_code(
                &self,
                code: &NewViewCode,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE view_codes SET used_at = $3 \
                     WHERE link_id = $1 AND address_key = $2 AND used_at IS NULL",
                )
                .bind(&code.link_id)
                .bind(&code.address_key)
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO view_codes (link_id, address_key, code_hash, created_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&code.link_id)
                .bind(&code.address_key)
                .bind(&code.code_hash)
                .bind(to_ms(now))
                .bind(to_ms(code.expires_at))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn consume_view_code(
                &self,
                link: &str,
                address_key: &str,
                code_hash: &str,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<CodeCheck> {
                let now = to_ms(now);
                let done = sqlx::query(
                    "UPDATE view_codes SET used_at = $4 WHERE link_id = $1 \
                     AND address_key = $2 AND code_hash = $3 AND used_at IS NULL \
                     AND expires_at > $4",
                )
                .bind(link)
                .bind(address_key)
                .bind(code_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 1 {
                    return Ok(CodeCheck::Confirmed);
                }
                let row: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "SELECT expires_at, used_at FROM view_codes WHERE link_id = $1 \
                     AND address_key = $2 AND code_hash = $3 ORDER BY id DESC LIMIT 1",
                )
                .bind(link)
                .bind(address_key)
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await?;
                Ok(match row {
                    None => CodeCheck::Unknown,
                    Some((_, Some(_))) => CodeCheck::Used,
                    Some((expires, None)) if expires <= now => CodeCheck::Expired,
                    // Used between the two statements by a racing request.
                    Some(_) => CodeCheck::Used,
                })
            }

            async fn scrub_code_mail(
                &self,
                kind: &str,
                stale_before: Option<time::OffsetDateTime>,
            ) -> $crate::StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                if let Some(before) = stale_before {
                    sqlx::query(
                        "UPDATE outbox SET state = 'failed', \
                         last_error = 'the code expired before it was sent' \
                         WHERE kind = $1 AND state = 'queued' AND created_at < $2",
                    )
                    .bind(kind)
                    .bind(to_ms(before))
                    .execute(&mut *tx)
                    .await?;
                }
                let done = sqlx::query(
                    "UPDATE outbox SET body_text = $2, body_html = $2 \
                     WHERE kind = $1 AND state IN ('sent', 'failed') AND body_text <> $2",
                )
                .bind(kind)
                .bind(SCRUBBED)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            async fn purge_view_codes(
                &self,
                before: time::OffsetDateTime,
            ) -> $crate::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM view_codes WHERE expires_at < $1")
                    .bind(to_ms(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn link_viewers(
                &self,
                link: &str,
                limit: i64,
            ) -> $crate::StoreResult<Vec<(String, i64, time::OffsetDateTime)>> {
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                    "SELECT viewer, COUNT(*), MAX(at) FROM access_events \
                     WHERE link_id = $1 AND viewer IS NOT NULL AND outcome = 'ok' \
                     GROUP BY viewer ORDER BY MAX(at) DESC, viewer LIMIT $2",
                )
                .bind(link)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(viewer, views, at)| (viewer, views, from_ms(at)))
                    .collect())
            }
        }
    };
}

pub(crate) use impl_view_code_store;
