//! Scheduled reports in the store (migration `0010_reports.sql`): schedules, runs claimed once
//! per schedule and slot, the files a run rendered, and one delivery per run and recipient.
//!
//! [`ReportStore`] is implemented for both stores by [`impl_report_store!`] over the same SQL.
//! A slot is claimed by `INSERT … ON CONFLICT (schedule_id, slot) DO NOTHING RETURNING id`:
//! whichever instance inserts first owns the run; the others get nothing back. Deliveries are
//! claimed and finished like the mail outbox's rows (a lease, an attempt number, only the
//! current claim may finish), and take the same [`MailOutcome`].

use async_trait::async_trait;
use time::OffsetDateTime;
use vitrine_core::id::{DashboardId, MemberId, WorkspaceId};

use crate::StoreResult;
use crate::model::from_ms;
use crate::outbox::{MailOutcome, MailState};

/// A schedule to create. The JSON columns are the application's to define.
#[derive(Debug, Clone)]
pub struct NewReportSchedule {
    pub workspace_id: WorkspaceId,
    pub dashboard_id: DashboardId,
    /// One widget of the dashboard, or the whole dashboard.
    pub widget_id: Option<String>,
    pub name: String,
    /// The frequency, as JSON.
    pub frequency: String,
    /// The IANA zone.
    pub zone: String,
    /// The recipients, as JSON.
    pub recipients: String,
    /// What is sent, as JSON.
    pub contents: String,
    /// Fixed filter values, as JSON.
    pub filters: String,
    pub skip_when_empty: bool,
    pub enabled: bool,
    /// Whose access the report renders with ("run as").
    pub created_by: Option<MemberId>,
    /// The first slot.
    pub next_slot: Option<OffsetDateTime>,
}

/// A stored schedule.
#[derive(Debug, Clone)]
pub struct ReportScheduleRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub dashboard_id: DashboardId,
    pub widget_id: Option<String>,
    pub name: String,
    pub frequency: String,
    pub zone: String,
    pub recipients: String,
    pub contents: String,
    pub filters: String,
    pub skip_when_empty: bool,
    pub enabled: bool,
    /// Why it paused itself (its creator lost access …), when it did.
    pub paused_reason: Option<String>,
    pub created_by: Option<MemberId>,
    pub next_slot: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Why a run exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOrigin {
    /// A slot of the schedule.
    Schedule,
    /// "Send now".
    Now,
    /// "Send a test to me".
    Test,
}

impl RunOrigin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Now => "now",
            Self::Test => "test",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "now" => Self::Now,
            "test" => Self::Test,
            _ => Self::Schedule,
        }
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Claimed, rendering.
    Running,
    /// Rendered; its deliveries are being sent.
    Delivering,
    /// Every delivery ended (sent or failed; see the deliveries).
    Done,
    /// Nothing sent: no data and the schedule skips empty reports.
    Skipped,
    /// Rendering failed, or the run was stuck past its lease.
    Failed,
}

impl RunState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Delivering => "delivering",
            Self::Done => "done",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "delivering" => Self::Delivering,
            "done" => Self::Done,
            "skipped" => Self::Skipped,
            "failed" => Self::Failed,
            _ => Self::Running,
        }
    }
}

/// A run.
#[derive(Debug, Clone)]
pub struct ReportRunRecord {
    pub id: i64,
    pub schedule_id: i64,
    pub workspace_id: WorkspaceId,
    pub slot: OffsetDateTime,
    pub origin: RunOrigin,
    pub state: RunState,
    pub late: bool,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub error: Option<String>,
}

/// A file a run rendered (PDF, PNG, CSV), kept for its deliveries' retries.
#[derive(Debug, Clone)]
pub struct ReportArtifact {
    pub name: String,
    pub mime: String,
    pub content: Vec<u8>,
}

/// One recipient of one run.
#[derive(Debug, Clone)]
pub struct ReportDeliveryRecord {
    pub id: i64,
    pub run_id: i64,
    pub workspace_id: WorkspaceId,
    /// `email`, `slack` or `webhook`.
    pub kind: String,
    /// The address or URL.
    pub target: String,
    pub state: MailState,
    /// Attempts so far; also the current claim's number.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub provider_response: Option<String>,
    pub next_attempt_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// Reports in the store.
#[async_trait]
pub trait ReportStore {
    /// Creates a schedule; its id.
    async fn create_report_schedule(
        &self,
        new: &NewReportSchedule,
        now: OffsetDateTime,
    ) -> StoreResult<i64>;
    /// Replaces a schedule's settings (everything in `new` but workspace and creator).
    async fn update_report_schedule(
        &self,
        workspace: WorkspaceId,
        id: i64,
        new: &NewReportSchedule,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Makes `member` the schedule's "run as" (after they changed it).
    async fn set_report_schedule_creator(&self, id: i64, member: MemberId) -> StoreResult<()>;
    /// The e-mail domains report recipients must be in (none: any).
    async fn report_email_domains(&self, workspace: WorkspaceId) -> StoreResult<Vec<String>>;
    /// Sets them.
    async fn set_report_email_domains(
        &self,
        workspace: WorkspaceId,
        domains: &[String],
    ) -> StoreResult<()>;
    /// Deletes a schedule with its runs and deliveries.
    async fn delete_report_schedule(&self, workspace: WorkspaceId, id: i64) -> StoreResult<bool>;
    /// One schedule of a workspace.
    async fn report_schedule(
        &self,
        workspace: WorkspaceId,
        id: i64,
    ) -> StoreResult<Option<ReportScheduleRecord>>;
    /// A workspace's schedules (of one dashboard, when given), by id.
    async fn report_schedules(
        &self,
        workspace: WorkspaceId,
        dashboard: Option<DashboardId>,
    ) -> StoreResult<Vec<ReportScheduleRecord>>;
    /// Enabled schedules whose next slot is at or before `now`, every workspace.
    async fn due_report_schedules(
        &self,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<ReportScheduleRecord>>;
    /// Moves a schedule's next slot forward (never back: a slower instance cannot undo it).
    async fn advance_report_schedule(
        &self,
        id: i64,
        next_slot: Option<OffsetDateTime>,
    ) -> StoreResult<()>;
    /// Enables, or pauses with a reason.
    async fn set_report_schedule_enabled(
        &self,
        id: i64,
        enabled: bool,
        paused_reason: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Claims `slot` of a schedule: the new run's id, or `None` when another claim has it.
    async fn claim_report_slot(
        &self,
        schedule: &ReportScheduleRecord,
        slot: OffsetDateTime,
        origin: RunOrigin,
        late: bool,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> StoreResult<Option<i64>>;
    /// Ends a run's rendering: its files and one queued delivery per `(kind, target)`, and the
    /// run `delivering`; or, with no recipients, the run in `state` with `error`.
    async fn finish_report_render(
        &self,
        run_id: i64,
        artifacts: &[ReportArtifact],
        recipients: &[(String, String)],
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Ends a run without deliveries (skipped or failed).
    async fn end_report_run(
        &self,
        run_id: i64,
        state: RunState,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Marks `running` runs whose lease ran out failed; how many.
    async fn fail_stuck_report_runs(&self, now: OffsetDateTime) -> StoreResult<u64>;
    /// Marks `delivering` runs whose deliveries have all ended `done`; how many.
    async fn complete_report_runs(&self, now: OffsetDateTime) -> StoreResult<u64>;
    /// A run.
    async fn report_run(&self, run_id: i64) -> StoreResult<Option<ReportRunRecord>>;
    /// A schedule's runs, newest first.
    async fn report_runs(&self, schedule_id: i64, limit: i64) -> StoreResult<Vec<ReportRunRecord>>;
    /// A run's files.
    async fn report_artifacts(&self, run_id: i64) -> StoreResult<Vec<ReportArtifact>>;
    /// A run's deliveries, by id.
    async fn report_deliveries(&self, run_id: i64) -> StoreResult<Vec<ReportDeliveryRecord>>;
    /// Claims up to `limit` due deliveries (queued and due, or sending past their lease).
    async fn claim_report_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<ReportDeliveryRecord>>;
    /// Records a step of claim `attempt` of delivery `id` that is done and must not be
    /// repeated by a retry (a Slack message posted before its files are uploaded), as the
    /// delivery's provider response; false when the claim was lost.
    async fn note_report_delivery_progress(
        &self,
        id: i64,
        attempt: i64,
        response: &str,
    ) -> StoreResult<bool>;
    /// Records how claim `attempt` of delivery `id` ended; false when the claim was lost.
    async fn finish_report_delivery(
        &self,
        id: i64,
        attempt: i64,
        outcome: MailOutcome,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
}

macro_rules! SCHEDULE_COLUMNS {
    () => {
        "id, workspace_id, dashboard_id, widget_id, name, frequency, zone, recipients, contents, \
         filters, skip_when_empty, enabled, paused_reason, created_by, next_slot, created_at, \
         updated_at"
    };
}
pub(crate) use SCHEDULE_COLUMNS;

macro_rules! RUN_COLUMNS {
    () => {
        "id, schedule_id, workspace_id, slot, origin, state, late, started_at, finished_at, error"
    };
}
pub(crate) use RUN_COLUMNS;

macro_rules! DELIVERY_COLUMNS {
    () => {
        "id, run_id, workspace_id, kind, target, state, attempts, last_error, provider_response, \
         next_attempt_at, created_at, sent_at"
    };
}
pub(crate) use DELIVERY_COLUMNS;

#[derive(sqlx::FromRow)]
pub(crate) struct ScheduleRow {
    id: i64,
    workspace_id: i64,
    dashboard_id: i64,
    widget_id: Option<String>,
    name: String,
    frequency: String,
    zone: String,
    recipients: String,
    contents: String,
    filters: String,
    skip_when_empty: bool,
    enabled: bool,
    paused_reason: Option<String>,
    created_by: Option<i64>,
    next_slot: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl From<ScheduleRow> for ReportScheduleRecord {
    fn from(r: ScheduleRow) -> Self {
        Self {
            id: r.id,
            workspace_id: WorkspaceId(r.workspace_id),
            dashboard_id: DashboardId(r.dashboard_id),
            widget_id: r.widget_id,
            name: r.name,
            frequency: r.frequency,
            zone: r.zone,
            recipients: r.recipients,
            contents: r.contents,
            filters: r.filters,
            skip_when_empty: r.skip_when_empty,
            enabled: r.enabled,
            paused_reason: r.paused_reason,
            created_by: r.created_by.map(MemberId),
            next_slot: r.next_slot.map(from_ms),
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    id: i64,
    schedule_id: i64,
    workspace_id: i64,
    slot: i64,
    origin: String,
    state: String,
    late: bool,
    started_at: i64,
    finished_at: Option<i64>,
    error: Option<String>,
}

impl From<RunRow> for ReportRunRecord {
    fn from(r: RunRow) -> Self {
        Self {
            id: r.id,
            schedule_id: r.schedule_id,
            workspace_id: WorkspaceId(r.workspace_id),
            slot: from_ms(r.slot),
            origin: RunOrigin::parse(&r.origin),
            state: RunState::parse(&r.state),
            late: r.late,
            started_at: from_ms(r.started_at),
            finished_at: r.finished_at.map(from_ms),
            error: r.error,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    id: i64,
    run_id: i64,
    workspace_id: i64,
    kind: String,
    target: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    provider_response: Option<String>,
    next_attempt_at: i64,
    created_at: i64,
    sent_at: Option<i64>,
}

impl From<DeliveryRow> for ReportDeliveryRecord {
    fn from(r: DeliveryRow) -> Self {
        Self {
            id: r.id,
            run_id: r.run_id,
            workspace_id: WorkspaceId(r.workspace_id),
            kind: r.kind,
            target: r.target,
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

/// Implements [`ReportStore`] for a store type with a `pool` and `begin_write()`.
macro_rules! impl_report_store {
    ($store:ty) => {
        use $crate::model::to_ms;
        use $crate::outbox::MailOutcome;
        use $crate::reports::{
            DELIVERY_COLUMNS, DeliveryRow, NewReportSchedule, RUN_COLUMNS, ReportArtifact,
            ReportDeliveryRecord, ReportRunRecord, ReportScheduleRecord, ReportStore, RunOrigin,
            RunRow, RunState, SCHEDULE_COLUMNS, ScheduleRow,
        };
        use time::OffsetDateTime;
        use vitrine_core::id::{DashboardId, WorkspaceId};

        #[async_trait::async_trait]
        impl ReportStore for $store {
            async fn create_report_schedule(
                &self,
                n: &NewReportSchedule,
                now: OffsetDateTime,
            ) -> $crate::StoreResult<i64> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO report_schedules (workspace_id, dashboard_id, widget_id, name, \
                     frequency, zone, recipients, contents, filters, skip_when_empty, enabled, \
                     created_by, next_slot, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, \
                     $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
                )
                .bind(n.workspace_id.0)
                .bind(n.dashboard_id.0)
                .bind(&n.widget_id)
                .bind(&n.name)
                .bind(&n.frequency)
                .bind(&n.zone)
                .bind(&n.recipients)
                .bind(&n.contents)
                .bind(&n.filters)
                .bind(n.skip_when_empty)
                .bind(n.enabled)
                .bind(n.created_by.map(|m| m.0))
                .bind(n.next_slot.map(to_ms))
                .bind(to_ms(now))
                .fetch_one(&self.pool)
                .await?;
                Ok(id)
            }

            async fn update_report_schedule(
                &self,
                workspace: WorkspaceId,
                id: i64,
                n: &NewReportSchedule,
                now: OffsetDateTime,
            ) -> $crate::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE report_schedules SET dashboard_id = $3, widget_id = $4, name = $5, \
                     frequency = $6, zone = $7, recipients = $8, contents = $9, filters = $10, \
                     skip_when_empty = $11, enabled = $12, next_slot = $13, updated_at = $14, \
                     paused_reason = CASE WHEN $12 THEN NULL ELSE paused_reason END \
                     WHERE workspace_id = $1 AND id = $2",
                )
                .bind(workspace.0)
                .bind(id)
                .bind(n.dashboard_id.0)
                .bind(&n.widget_id)
                .bind(&n.name)
                .bind(&n.frequency)
                .bind(&n.zone)
                .bind(&n.recipients)
                .bind(&n.contents)
                .bind(&n.filters)
                .bind(n.skip_when_empty)
                .bind(n.enabled)
                .bind(n.next_slot.map(to_ms))
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_report_schedule_creator(
                &self,
                id: i64,
                member: vitrine_core::id::MemberId,
            ) -> $crate::StoreResult<()> {
                sqlx::query("UPDATE report_schedules SET created_by = $2 WHERE id = $1")
                    .bind(id)
                    .bind(member.0)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn report_email_domains(
                &self,
                workspace: WorkspaceId,
            ) -> $crate::StoreResult<Vec<String>> {
                let text: Option<String> = sqlx::query_scalar(
                    "SELECT report_email_domains FROM workspaces WHERE id = $1",
                )
                .bind(workspace.0)
                .fetch_optional(&self.pool)
                .await?;
                Ok(text
                    .unwrap_or_default()
                    .split(',')
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect())
            }

            async fn set_report_email_domains(
                &self,
                workspace: WorkspaceId,
                domains: &[String],
            ) -> $crate::StoreResult<()> {
                let text: Vec<String> = domains
                    .iter()
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect();
                sqlx::query("UPDATE workspaces SET report_email_domains = $2 WHERE id = $1")
                    .bind(workspace.0)
                    .bind(text.join(","))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_report_schedule(
                &self,
                workspace: WorkspaceId,
                id: i64,
            ) -> $crate::StoreResult<bool> {
                let done =
                    sqlx::query("DELETE FROM report_schedules WHERE workspace_id = $1 AND id = $2")
                        .bind(workspace.0)
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn report_schedule(
                &self,
                workspace: WorkspaceId,
                id: i64,
            ) -> $crate::StoreResult<Option<ReportScheduleRecord>> {
                let row: Option<ScheduleRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    SCHEDULE_COLUMNS!(),
                    " FROM report_schedules WHERE workspace_id = $1 AND id = $2"
                ))
                .bind(workspace.0)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn report_schedules(
                &self,
                workspace: WorkspaceId,
                dashboard: Option<DashboardId>,
            ) -> $crate::StoreResult<Vec<ReportScheduleRecord>> {
                let rows: Vec<ScheduleRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    SCHEDULE_COLUMNS!(),
                    " FROM report_schedules WHERE workspace_id = $1 \
                     AND ($2 IS NULL OR dashboard_id = $2) ORDER BY id"
                ))
                .bind(workspace.0)
                .bind(dashboard.map(|d| d.0))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn due_report_schedules(
                &self,
                now: OffsetDateTime,
            ) -> $crate::StoreResult<Vec<ReportScheduleRecord>> {
                let rows: Vec<ScheduleRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    SCHEDULE_COLUMNS!(),
                    " FROM report_schedules WHERE enabled AND next_slot IS NOT NULL \
                     AND next_slot <= $1 ORDER BY next_slot, id LIMIT 100"
                ))
                .bind(to_ms(now))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn advance_report_schedule(
                &self,
                id: i64,
                next_slot: Option<OffsetDateTime>,
            ) -> $crate::StoreResult<()> {
                sqlx::query(
                    "UPDATE report_schedules SET next_slot = $2 WHERE id = $1 \
                     AND (next_slot IS NULL OR $2 IS NULL OR next_slot < $2)",
                )
                .bind(id)
                .bind(next_slot.map(to_ms))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn set_report_schedule_enabled(
                &self,
                id: i64,
                enabled: bool,
                paused_reason: Option<&str>,
                now: OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                sqlx::query(
                    "UPDATE report_schedules SET enabled = $2, paused_reason = $3, \
                     updated_at = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(enabled)
                .bind(paused_reason)
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn claim_report_slot(
                &self,
                schedule: &ReportScheduleRecord,
                slot: OffsetDateTime,
                origin: RunOrigin,
                late: bool,
                now: OffsetDateTime,
                lease_until: OffsetDateTime,
            ) -> $crate::StoreResult<Option<i64>> {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO report_runs (schedule_id, workspace_id, slot, origin, state, \
                     late, started_at, claimed_until) VALUES ($1, $2, $3, $4, 'running', $5, $6, \
                     $7) ON CONFLICT (schedule_id, slot) DO NOTHING RETURNING id",
                )
                .bind(schedule.id)
                .bind(schedule.workspace_id.0)
                .bind(to_ms(slot))
                .bind(origin.as_str())
                .bind(late)
                .bind(to_ms(now))
                .bind(to_ms(lease_until))
                .fetch_optional(&self.pool)
                .await?;
                Ok(id)
            }

            async fn finish_report_render(
                &self,
                run_id: i64,
                artifacts: &[ReportArtifact],
                recipients: &[(String, String)],
                now: OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let now = to_ms(now);
                let mut tx = self.begin_write().await?;
                let workspace: i64 = sqlx::query_scalar(
                    "UPDATE report_runs SET state = 'delivering' WHERE id = $1 \
                     AND state = 'running' RETURNING workspace_id",
                )
                .bind(run_id)
                .fetch_one(&mut *tx)
                .await?;
                for a in artifacts {
                    sqlx::query(
                        "INSERT INTO report_artifacts (run_id, name, mime, content) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(run_id)
                    .bind(&a.name)
                    .bind(&a.mime)
                    .bind(&a.content)
                    .execute(&mut *tx)
                    .await?;
                }
                for (kind, target) in recipients {
                    sqlx::query(
                        "INSERT INTO report_deliveries (run_id, workspace_id, kind, target, \
                         state, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, \
                         'queued', 0, $5, $5) ON CONFLICT (run_id, kind, target) DO NOTHING",
                    )
                    .bind(run_id)
                    .bind(workspace)
                    .bind(kind)
                    .bind(target)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn end_report_run(
                &self,
                run_id: i64,
                state: RunState,
                error: Option<&str>,
                now: OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                sqlx::query(
                    "UPDATE report_runs SET state = $2, error = $3, finished_at = $4 \
                     WHERE id = $1",
                )
                .bind(run_id)
                .bind(state.as_str())
                .bind(error)
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn fail_stuck_report_runs(&self, now: OffsetDateTime) -> $crate::StoreResult<u64> {
                let done = sqlx::query(
                    "UPDATE report_runs SET state = 'failed', finished_at = $1, \
                     error = 'the run did not finish rendering before its timeout' \
                     WHERE state = 'running' AND claimed_until < $1",
                )
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn complete_report_runs(&self, now: OffsetDateTime) -> $crate::StoreResult<u64> {
                let done = sqlx::query(
                    "UPDATE report_runs SET state = 'done', finished_at = $1 \
                     WHERE state = 'delivering' AND NOT EXISTS (SELECT 1 FROM report_deliveries d \
                     WHERE d.run_id = report_runs.id AND d.state IN ('queued', 'sending'))",
                )
                .bind(to_ms(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn report_run(&self, run_id: i64) -> $crate::StoreResult<Option<ReportRunRecord>> {
                let row: Option<RunRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    RUN_COLUMNS!(),
                    " FROM report_runs WHERE id = $1"
                ))
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn report_runs(
                &self,
                schedule_id: i64,
                limit: i64,
            ) -> $crate::StoreResult<Vec<ReportRunRecord>> {
                let rows: Vec<RunRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    RUN_COLUMNS!(),
                    " FROM report_runs WHERE schedule_id = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(schedule_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn report_artifacts(&self, run_id: i64) -> $crate::StoreResult<Vec<ReportArtifact>> {
                let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
                    "SELECT name, mime, content FROM report_artifacts WHERE run_id = $1 ORDER BY id",
                )
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(name, mime, content)| ReportArtifact { name, mime, content })
                    .collect())
            }

            async fn report_deliveries(
                &self,
                run_id: i64,
            ) -> $crate::StoreResult<Vec<ReportDeliveryRecord>> {
                let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    DELIVERY_COLUMNS!(),
                    " FROM report_deliveries WHERE run_id = $1 ORDER BY id"
                ))
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn claim_report_deliveries(
                &self,
                now: OffsetDateTime,
                lease_until: OffsetDateTime,
                limit: i64,
            ) -> $crate::StoreResult<Vec<ReportDeliveryRecord>> {
                let mut tx = self.begin_write().await?;
                let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
                    "UPDATE report_deliveries SET state = 'sending', claimed_until = $2, \
                     attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM report_deliveries WHERE \
                       (state = 'queued' AND next_attempt_at <= $1) \
                       OR (state = 'sending' AND claimed_until < $1) ORDER BY id LIMIT $3) \
                     AND ((state = 'queued' AND next_attempt_at <= $1) \
                       OR (state = 'sending' AND claimed_until < $1)) \
                     RETURNING ",
                    DELIVERY_COLUMNS!()
                ))
                .bind(to_ms(now))
                .bind(to_ms(lease_until))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let mut rows: Vec<ReportDeliveryRecord> = rows.into_iter().map(Into::into).collect();
                rows.sort_by_key(|r| r.id);
                Ok(rows)
            }

            async fn note_report_delivery_progress(
                &self,
                id: i64,
                attempt: i64,
                response: &str,
            ) -> $crate::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE report_deliveries SET provider_response = $3 \
                     WHERE id = $1 AND attempts = $2 AND state = 'sending'",
                )
                .bind(id)
                .bind(attempt)
                .bind(response)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn finish_report_delivery(
                &self,
                id: i64,
                attempt: i64,
                outcome: MailOutcome,
                now: OffsetDateTime,
            ) -> $crate::StoreResult<bool> {
                let (state, error, response, next, sent) = match outcome {
                    MailOutcome::Sent { response } => {
                        ("sent", None, Some(response), None, Some(to_ms(now)))
                    }
                    MailOutcome::Retry { error, next_attempt_at } => {
                        ("queued", Some(error), None, Some(to_ms(next_attempt_at)), None)
                    }
                    MailOutcome::Failed { error } => ("failed", Some(error), None, None, None),
                };
                let done = sqlx::query(
                    "UPDATE report_deliveries SET state = $3, \
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
        }
    };
}
pub(crate) use impl_report_store;
