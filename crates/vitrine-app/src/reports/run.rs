//! The scheduler: claims due slots, renders each run once as its creator may see it, queues
//! one delivery per recipient, and sends due deliveries (only failed ones again, with backoff).

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use vitrine_core::dashboard::FilterValue;
use vitrine_store::{ReportArtifact, ReportScheduleRecord, RunOrigin, RunState};

use super::deliver;
use super::spec::{Parsed, Recipient, parse};
use crate::dashboards::{Restriction, Restrictions, describe_filter_value, parse_view_query};
use crate::exports::{ExportFormat, PdfText};
use crate::{App, Error, Result};

/// How often `serve`'s scheduler looks for due slots and deliveries.
pub const POLL_EVERY: Duration = Duration::from_secs(20);

/// How long a run may render before another pass marks it failed.
pub const RUN_LEASE: time::Duration = time::Duration::minutes(10);

/// What one [`tick`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticked {
    /// Runs this instance claimed and rendered.
    pub runs: u32,
    /// Slots another instance had claimed first.
    pub lost: u32,
    /// Runs marked failed (stuck, or rendering failed).
    pub failed: u32,
    /// Schedules paused because their creator lost access.
    pub paused: u32,
}

/// A rendered report: its files (PNG names are their `cid:`), title and live link.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub title: String,
    pub artifacts: Vec<ReportArtifact>,
    /// Whether every data widget came back without rows.
    pub empty: bool,
}

/// Why a report could not be rendered.
#[derive(Debug)]
pub enum RenderError {
    /// The creator may no longer see the dashboard (or is gone): pause the schedule.
    LostAccess(String),
    /// Anything else: the run fails.
    Failed(String),
}

/// Renders a schedule's report once, as its creator may see it, with its fixed filters as
/// restrictions (the share links' locks mechanism).
pub async fn render(
    app: &App,
    record: &ReportScheduleRecord,
    parsed: &Parsed,
) -> std::result::Result<Rendered, RenderError> {
    let Some(creator) = record.created_by else {
        return Err(RenderError::LostAccess(
            "the schedule's creator was removed".into(),
        ));
    };
    let member = match app.store.member(creator).await {
        Ok(Some(m)) if m.workspace_id == record.workspace_id => m,
        Ok(_) => {
            return Err(RenderError::LostAccess(
                "the schedule's creator was removed".into(),
            ));
        }
        Err(e) => return Err(RenderError::Failed(e.to_string())),
    };
    let (dash, ctx) = match crate::content::open_dashboard(app, &member, record.dashboard_id).await
    {
        Ok(x) => x,
        Err(Error::NotFound | Error::Forbidden) => {
            return Err(RenderError::LostAccess(format!(
                "{} may no longer see the dashboard",
                member.email
            )));
        }
        Err(e) => return Err(RenderError::Failed(e.to_string())),
    };
    let doc = &ctx.document;
    let only = record.widget_id.as_deref();
    if let Some(w) = only
        && !doc.widgets.iter().any(|x| x.id.as_str() == w)
    {
        return Err(RenderError::Failed(format!(
            "the dashboard has no widget {w}"
        )));
    }
    // The report runs as its creator: their data rules apply, like on their page.
    let member_rules = app
        .store
        .rules_for_member(member.workspace_id, member.id, member.role)
        .await
        .map_err(|e| RenderError::Failed(e.to_string()))?
        .iter()
        .map(|r| serde_json::from_str::<vitrine_core::dashboard::RowLevelRule>(&r.rule))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RenderError::Failed(format!("a data rule no longer parses: {e}")))?;
    let mut sources = Vec::new();
    for rule in &member_rules {
        sources.push(Restriction::Rule {
            rule,
            dataset: rule.dataset.as_deref(),
        });
    }
    for (id, value) in &parsed.filters {
        let filter = doc.filter(id).ok_or_else(|| {
            RenderError::Failed(format!("the fixed filter {id} is not on the dashboard"))
        })?;
        sources.push(Restriction::Lock { filter, value });
    }
    let today = app.now().date();
    let restrictions = Restrictions::build(doc, |slug| ctx.dataset_columns(slug), &sources, today)
        .map_err(|e| RenderError::Failed(e.0))?;
    let view = parse_view_query(doc, "");
    let failed = |e: Error| RenderError::Failed(e.to_string());
    let mut artifacts = Vec::new();
    let title = match only.and_then(|w| doc.widgets.iter().find(|x| x.id.as_str() == w)) {
        Some(w) if !w.title.trim().is_empty() => format!("{} - {}", dash.title, w.title),
        _ => dash.title.clone(),
    };
    if parsed.contents.pdf {
        let filters = doc
            .filters
            .iter()
            .map(|f| {
                let fixed: Option<&FilterValue> = parsed.filters.get(f.id.as_str());
                format!(
                    "{}: {}",
                    f.label,
                    describe_filter_value(fixed.or(view.filters.current(f)))
                )
            })
            .collect();
        let footer = app
            .store
            .workspace(record.workspace_id)
            .await
            .ok()
            .flatten()
            .map(|w| w.policy.footer)
            .unwrap_or_default();
        let pdf = crate::exports::dashboard_pdf(
            &app.exports,
            &app.runner,
            &ctx,
            &view,
            &restrictions,
            only,
            vitrine_render::Paper::A4,
            PdfText { filters, footer },
        )
        .await
        .map_err(failed)?;
        artifacts.push(ReportArtifact {
            name: "report.pdf".into(),
            mime: "application/pdf".into(),
            content: pdf.bytes,
        });
    }
    let widgets: Vec<&vitrine_core::dashboard::Widget> = doc
        .widgets
        .iter()
        .filter(|w| only.is_none_or(|o| w.id.as_str() == o))
        .filter(|w| !restrictions.is_hidden(w.id.as_str()))
        .collect();
    if parsed.contents.png {
        for w in &widgets {
            if w.query.is_none() {
                continue;
            }
            let file = crate::exports::widget_file(
                &app.exports,
                &app.runner,
                &ctx,
                w.id.as_str(),
                &view,
                &restrictions,
                ExportFormat::Png,
                2.0,
            )
            .await
            .map_err(failed)?;
            if let Some(file) = file {
                artifacts.push(ReportArtifact {
                    name: format!("{}.png", w.id.as_str()),
                    mime: "image/png".into(),
                    content: file.bytes,
                });
            }
        }
    }
    let mut empty = true;
    let mut any_data = false;
    for w in &widgets {
        if w.query.is_none() {
            continue;
        }
        let wanted = parsed.contents.csv.iter().any(|c| c == w.id.as_str());
        if !wanted && !record.skip_when_empty {
            continue;
        }
        let file = crate::exports::widget_file(
            &app.exports,
            &app.runner,
            &ctx,
            w.id.as_str(),
            &view,
            &restrictions,
            ExportFormat::Csv,
            1.0,
        )
        .await
        .map_err(failed)?;
        if let Some(file) = file {
            any_data = true;
            // More than the header line: the widget has rows.
            if file.bytes.iter().filter(|b| **b == b'\n').count() > 1 {
                empty = false;
            }
            if wanted {
                artifacts.push(ReportArtifact {
                    name: format!("{}.csv", w.id.as_str()),
                    mime: "text/csv".into(),
                    content: file.bytes,
                });
            }
        }
    }
    Ok(Rendered {
        title,
        artifacts,
        empty: any_data && empty,
    })
}

/// Claims and renders one run of `record` at `slot`; the run's id, or `None` when another
/// instance claimed the slot first.
pub async fn run_slot(
    app: &App,
    record: &ReportScheduleRecord,
    slot: OffsetDateTime,
    origin: RunOrigin,
    late: bool,
    only_to: Option<Vec<Recipient>>,
    ticked: &mut Ticked,
) -> Result<Option<i64>> {
    let now = app.now();
    let Some(run) = app
        .store
        .claim_report_slot(record, slot, origin, late, now, now + RUN_LEASE)
        .await?
    else {
        ticked.lost += 1;
        return Ok(None);
    };
    ticked.runs += 1;
    let parsed = match parse(record) {
        Ok(p) => p,
        Err(e) => {
            ticked.failed += 1;
            app.store
                .end_report_run(run, RunState::Failed, Some(&e.to_string()), app.now())
                .await?;
            return Ok(Some(run));
        }
    };
    match render(app, record, &parsed).await {
        Ok(rendered)
            if rendered.empty && record.skip_when_empty && origin == RunOrigin::Schedule =>
        {
            app.store
                .end_report_run(run, RunState::Skipped, Some("no data"), app.now())
                .await?;
        }
        Ok(rendered) => {
            let recipients = only_to.unwrap_or(parsed.recipients);
            let keys: Vec<(String, String)> = recipients.iter().map(Recipient::key).collect();
            let mut artifacts = rendered.artifacts;
            artifacts.push(ReportArtifact {
                name: "title.txt".into(),
                mime: "text/plain".into(),
                content: rendered.title.into_bytes(),
            });
            app.store
                .finish_report_render(run, &artifacts, &keys, app.now())
                .await?;
        }
        Err(RenderError::LostAccess(reason)) => {
            ticked.paused += 1;
            app.store
                .end_report_run(run, RunState::Failed, Some(&reason), app.now())
                .await?;
            pause_for_lost_access(app, record, &reason).await?;
        }
        Err(RenderError::Failed(reason)) => {
            ticked.failed += 1;
            tracing::warn!(schedule = record.id, run, %reason, "report rendering failed");
            app.store
                .end_report_run(run, RunState::Failed, Some(&reason), app.now())
                .await?;
        }
    }
    Ok(Some(run))
}

/// Pauses a schedule whose creator lost access, records it and tells the workspace's admins.
async fn pause_for_lost_access(
    app: &App,
    record: &ReportScheduleRecord,
    reason: &str,
) -> Result<()> {
    let reason = format!("paused: {reason}");
    app.store
        .set_report_schedule_enabled(record.id, false, Some(&reason), app.now())
        .await?;
    crate::accounts::audit(
        app,
        record.workspace_id,
        &crate::accounts::Acting::Cli,
        "report.paused",
        format!("report:{}", record.id),
        serde_json::json!({ "name": record.name, "reason": reason }),
    )
    .await?;
    let owners: Vec<String> = app
        .store
        .members(record.workspace_id)
        .await?
        .into_iter()
        .filter(|m| m.actor().is_admin())
        .map(|m| m.email)
        .collect();
    if !owners.is_empty() {
        let footer = crate::mail::footer(app, record.workspace_id).await?;
        let message = super::deliver::paused_message(&footer, &record.name, &reason);
        crate::mail::enqueue(
            app,
            crate::mail::Envelope {
                workspace: record.workspace_id,
                kind: "report",
                reference: format!("report:{}", record.id),
                recipients: &owners,
                message: &message,
            },
        )
        .await?;
    }
    Ok(())
}

/// One pass: fail stuck runs, claim and render every due slot, send due deliveries.
pub async fn tick(app: &App) -> Result<Ticked> {
    let mut ticked = Ticked::default();
    let now = app.now();
    ticked.failed += u32::try_from(app.store.fail_stuck_report_runs(now).await?).unwrap_or(0);
    for record in app.store.due_report_schedules(now).await? {
        let Some(expected) = record.next_slot else {
            continue;
        };
        let compiled = match parse(&record).and_then(|p| p.frequency.compile(&record.zone)) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(schedule = record.id, error = %e, "report schedule cannot be read");
                app.store.advance_report_schedule(record.id, None).await?;
                continue;
            }
        };
        let Some(due) = compiled.due(expected, now) else {
            continue;
        };
        // Move on first: a crash while rendering does not make the slot due again (the
        // stuck run is failed by a later pass instead of re-sent).
        app.store
            .advance_report_schedule(record.id, due.next)
            .await?;
        run_slot(
            app,
            &record,
            due.slot,
            RunOrigin::Schedule,
            due.late,
            None,
            &mut ticked,
        )
        .await?;
    }
    deliver::drain(app).await?;
    app.store.complete_report_runs(app.now()).await?;
    Ok(ticked)
}

/// The background scheduler; stops when dropped.
#[derive(Debug)]
pub struct Scheduler {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the scheduler: a [`tick`] every `every` (and when deliveries are queued).
pub fn spawn(app: App, every: Duration) -> Scheduler {
    let app = Arc::new(app);
    let task = tokio::spawn(async move {
        loop {
            if let Err(error) = tick(&app).await {
                tracing::warn!(%error, "report scheduler pass failed");
            }
            tokio::time::sleep(every).await;
        }
    });
    Scheduler { task }
}
