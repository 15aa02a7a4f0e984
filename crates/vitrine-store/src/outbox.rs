//! The outbox of outgoing mail: rows first, sending second (see migration `0007_people.sql`).
//!
//! [`OutboxStore`] is implemented for both stores by [`impl_outbox_store!`], over the same SQL
//! text. The claim is one `UPDATE … WHERE id IN (due rows) AND <still due>`: on PostgreSQL a
//! concurrent claimer that lost the race re-checks the row's state after the winner commits and
//! skips it; on SQLite write transactions are serial anyway.

use async_trait::async_trait;
use time::OffsetDateTime;
use vitrine_core::id::WorkspaceId;

use crate::StoreResult;
use crate::model::from_ms;

/// Where a row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailState {
    /// Waiting for its next attempt.
    Queued,
    /// Claimed by a drainer, which is talking to the SMTP server (or died doing so).
    Sending,
    /// Accepted by the SMTP server (or written by the file transport).
    Sent,
    /// Given up: refused permanently, or out of attempts.
    Failed,
}

impl MailState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            _ => Self::Queued,
        }
    }
}

/// One message to one recipient, to be queued.
#[derive(Debug, Clone)]
pub struct NewMail {
    /// The workspace it is sent for.
    pub workspace_id: WorkspaceId,
    /// What kind of message (`test`, `invitation`, `link`, `report` …).
    pub kind: String,
    /// What it is about (`invitation:12`, `link:…`), for listing a thing's messages.
    pub reference: String,
    /// The address it goes to.
    pub recipient: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body_text: String,
    /// The HTML body.
    pub body_html: String,
    /// The Message-ID header (without angle brackets), the same on every attempt.
    pub message_id: String,
}

/// A queued, sending, sent or failed message.
#[derive(Debug, Clone)]
pub struct MailRecord {
    /// The row.
    pub id: i64,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// See [`NewMail::kind`].
    pub kind: String,
    /// See [`NewMail::reference`].
    pub reference: String,
    /// The address.
    pub recipient: String,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub body_text: String,
    /// The HTML body.
    pub body_html: String,
    /// The Message-ID (without angle brackets).
    pub message_id: String,
    /// The state.
    pub state: MailState,
    /// Attempts made so far (claims); also the claim's number, see [`OutboxStore::finish_mail`].
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// What the SMTP server said on acceptance (or where the file transport wrote it).
    pub provider_response: Option<String>,
    /// Not before this is it tried again (queued rows).
    pub next_attempt_at: OffsetDateTime,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// When it was accepted.
    pub sent_at: Option<OffsetDateTime>,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum MailOutcome {
    /// Accepted, with the server's answer.
    Sent {
        /// The provider's response.
        response: String,
    },
    /// Failed for now; tried again at `next_attempt_at`.
    Retry {
        /// Why.
        error: String,
        /// When to try again.
        next_attempt_at: OffsetDateTime,
    },
    /// Failed for good.
    Failed {
        /// Why.
        error: String,
    },
}

/// The outbox.
#[async_trait]
pub trait OutboxStore {
    /// Queues messages (one row each), due now; their ids in order.
    async fn enqueue_mail(&self, mails: &[NewMail], now: OffsetDateTime) -> StoreResult<Vec<i64>>;
    /// Claims up to `limit` due rows — queued and due, or sending with an expired lease — for
    /// one drainer until `lease_until`, counting an attempt on each. A row is claimed by one
    /// drainer only.
    async fn claim_mail(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<MailRecord>>;
    /// Records how the claim numbered `attempt` of row `id` ended. False (nothing written) when
    /// the claim is no longer held: the lease ran out and another drainer claimed the row.
    async fn finish_mail(
        &self,
        id: i64,
        attempt: i64,
        outcome: MailOutcome,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// A workspace's messages, newest first.
    async fn mails(&self, workspace: WorkspaceId, limit: i64) -> StoreResult<Vec<MailRecord>>;
    /// The messages about `reference` (of `kind`), newest first.
    async fn mails_about(
        &self,
        workspace: WorkspaceId,
        kind: &str,
        reference: &str,
    ) -> StoreResult<Vec<MailRecord>>;
}

/// Columns of `outbox`, in [`MailRow`] order.
macro_rules! MAIL_COLUMNS {
    () => {
        "id, workspace_id, kind, reference, recipient, subject, body_text, body_html, message_id, \
         state, attempts, last_error, provider_response, next_attempt_at, created_at, sent_at"
    };
}
pub(crate) use MAIL_COLUMNS;

#[derive(sqlx::FromRow)]
pub(crate) struct MailRow {
    id: i64,
    workspace_id: i64,
    kind: String,
    reference: String,
    recipient: String,
    subject: String,
    body_text: String,
    body_html: String,
    message_id: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    provider_response: Option<String>,
    next_attempt_at: i64,
    created_at: i64,
    sent_at: Option<i64>,
}

impl From<MailRow> for MailRecord {
    fn from(r: MailRow) -> Self {
        Self {
            id: r.id,
            workspace_id: WorkspaceId(r.workspace_id),
            kind: r.kind,
            reference: r.reference,
            recipient: r.recipient,
            subject: r.subject,
            body_text: r.body_text,
            body_html: r.body_html,
            message_id: r.message_id,
            state: MailState::parse(&r.state),
            attempts: r.attempts,
            last_error: r.last_error,
            provider_response: r.provider_response,
            next_attempt_at: from_ms(r.next_attempt_at),
            created_at: from_ms(r.created_at),
            sent_at: r.sent_at.map(from_ms),
        }
    }
}

/// Implements [`OutboxStore`] for a store type with a `pool` and `begin_write()`.
macro_rules! impl_outbox_store {
    ($store:ty) => {
        use $crate::outbox::{
            MailOutcome, MailRecord, MailRow, NewMail, OutboxStore, MAIL_COLUMNS,
        };

        #[async_trait::async_trait]
        impl OutboxStore for $store {
            async fn enqueue_mail(
                &self,
                mails: &[NewMail],
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<Vec<i64>> {
                let now = $crate::model::to_ms(now);
                let mut tx = self.begin_write().await?;
                let mut ids = Vec::with_capacity(mails.len());
                for mail in mails {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO outbox (workspace_id, kind, reference, recipient, subject, \
                         body_text, body_html, message_id, state, attempts, next_attempt_at, \
                         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $9) \
                         RETURNING id",
                    )
                    .bind(mail.workspace_id.0)
                    .bind(&mail.kind)
                    .bind(&mail.reference)
                    .bind(&mail.recipient)
                    .bind(&mail.subject)
                    .bind(&mail.body_text)
                    .bind(&mail.body_html)
                    .bind(&mail.message_id)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    ids.push(id);
                }
                tx.commit().await?;
                Ok(ids)
            }

            async fn claim_mail(
                &self,
                now: time::OffsetDateTime,
                lease_until: time::OffsetDateTime,
                limit: i64,
            ) -> $crate::StoreResult<Vec<MailRecord>> {
                let mut tx = self.begin_write().await?;
                let rows: Vec<MailRow> = sqlx::query_as(concat!(
                    "UPDATE outbox SET state = 'sending', claimed_until = $2, \
                     attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM outbox WHERE \
                       (state = 'queued' AND next_attempt_at <= $1) \
                       OR (state = 'sending' AND claimed_until < $1) ORDER BY id LIMIT $3) \
                     AND ((state = 'queued' AND next_attempt_at <= $1) \
                       OR (state = 'sending' AND claimed_until < $1)) \
                     RETURNING ",
                    MAIL_COLUMNS!()
                ))
                .bind($crate::model::to_ms(now))
                .bind($crate::model::to_ms(lease_until))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let mut rows: Vec<MailRecord> = rows.into_iter().map(Into::into).collect();
                rows.sort_by_key(|r| r.id);
                Ok(rows)
            }

            async fn finish_mail(
                &self,
                id: i64,
                attempt: i64,
                outcome: MailOutcome,
                now: time::OffsetDateTime,
            ) -> $crate::StoreResult<bool> {
                let (state, error, response, next, sent) = match outcome {
                    MailOutcome::Sent { response } => {
                        ("sent", None, Some(response), None, Some($crate::model::to_ms(now)))
                    }
                    MailOutcome::Retry { error, next_attempt_at } => (
                        "queued",
                        Some(error),
                        None,
                        Some($crate::model::to_ms(next_attempt_at)),
                        None,
                    ),
                    MailOutcome::Failed { error } => ("failed", Some(error), None, None, None),
                };
                let done = sqlx::query(
                    "UPDATE outbox SET state = $3, \
                     last_error = COALESCE($4, last_error), \
                     provider_response = COALESCE($5, provider_response), \
                     next_attempt_at = COALESCE($6, next_attempt_at), \
                     sent_at = $7, claimed_until = NULL \
                     WHERE id = $1 AND attempts = $2 AND state = 'sending'",
                )
                .bind(id)
                .bind(attempt)
                .bind(state)
                .bind(error)
                .bind(response)
                .bind(next)
                .bind(sent)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn mails(
                &self,
                workspace: vitrine_core::id::WorkspaceId,
                limit: i64,
            ) -> $crate::StoreResult<Vec<MailRecord>> {
                let rows: Vec<MailRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    MAIL_COLUMNS!(),
                    " FROM outbox WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(workspace.0)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn mails_about(
                &self,
                workspace: vitrine_core::id::WorkspaceId,
                kind: &str,
                reference: &str,
            ) -> $crate::StoreResult<Vec<MailRecord>> {
                let rows: Vec<MailRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    MAIL_COLUMNS!(),
                    " FROM outbox WHERE workspace_id = $1 AND kind = $2 AND reference = $3 \
                     ORDER BY id DESC"
                ))
                .bind(workspace.0)
                .bind(kind)
                .bind(reference)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }
    };
}
pub(crate) use impl_outbox_store;
