//! What the operator's admin commands (`vitrine link …`, `report …`, `mail …`,
//! `dashboards …`, `embed …`) read: the instance's workspace, the member a command acts as,
//! and the listings they print. The command line reaches the store only through here and the
//! other services, like the HTTP front door.

use vitrine_core::member::Role;
use vitrine_store::{
    DashboardRecord, MailRecord, Member, ReportDeliveryRecord, ReportScheduleRecord, Workspace,
};

use crate::{App, Error, Result};

/// The instance's workspace.
pub async fn workspace(app: &App) -> Result<Workspace> {
    app.store
        .default_workspace()
        .await?
        .ok_or_else(|| Error::Unavailable("the store has no workspace".into()))
}

/// The workspace and the member a command acts as: the member with e-mail address
/// `as_member`, or the workspace's first admin.
pub async fn acting_member(app: &App, as_member: Option<&str>) -> Result<(Workspace, Member)> {
    let workspace = workspace(app).await?;
    let member = match as_member {
        Some(email) => member_by_email(app, email).await?,
        None => first_admin(app, &workspace).await?,
    };
    Ok((workspace, member))
}

/// The member with e-mail address `email` (any case, spaces around ignored).
pub async fn member_by_email(app: &App, email: &str) -> Result<Member> {
    app.store
        .member_by_email(&email.trim().to_lowercase())
        .await?
        .ok_or_else(|| Error::invalid(format!("no member with the e-mail address {email}")))
}

/// Member `id`, if there is one.
pub async fn member(app: &App, id: vitrine_core::id::MemberId) -> Result<Option<Member>> {
    Ok(app.store.member(id).await?)
}

/// The workspace's first admin (the lowest id).
pub async fn first_admin(app: &App, workspace: &Workspace) -> Result<Member> {
    app.store
        .members(workspace.id)
        .await?
        .into_iter()
        .filter(|m| m.role == Role::Admin)
        .min_by_key(|m| m.id)
        .ok_or_else(|| {
            Error::invalid("the workspace has no admin; add one with `vitrine user add`")
        })
}

/// Every report schedule of the workspace.
pub async fn report_schedules(
    app: &App,
    workspace: &Workspace,
) -> Result<Vec<ReportScheduleRecord>> {
    Ok(app.store.report_schedules(workspace.id, None).await?)
}

/// Sends report `id` now as its creator (what "Send now" does), delivers at once, and answers
/// each recipient's delivery.
pub async fn send_report_now(
    app: &App,
    workspace: &Workspace,
    id: i64,
) -> Result<Vec<ReportDeliveryRecord>> {
    let schedule = app
        .store
        .report_schedule(workspace.id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let creator = match schedule.created_by {
        Some(m) => app.store.member(m).await?,
        None => None,
    }
    .ok_or_else(|| Error::Conflict(format!("report {id} has no creator to run as")))?;
    let run = crate::reports::send_now(app, &creator, id, false).await?;
    crate::reports::deliver::drain(app).await?;
    app.store.complete_report_runs(app.now()).await?;
    Ok(app.store.report_deliveries(run).await?)
}

/// The e-mail domains report recipients must be at (empty: any).
pub async fn report_email_domains(app: &App, workspace: &Workspace) -> Result<Vec<String>> {
    Ok(app.store.report_email_domains(workspace.id).await?)
}

/// The outbox's latest `limit` messages.
pub async fn recent_mails(app: &App, workspace: &Workspace, limit: i64) -> Result<Vec<MailRecord>> {
    Ok(app.store.mails(workspace.id, limit).await?)
}

/// The id of the dashboard with `slug`, if there is one.
pub async fn dashboard_id(
    app: &App,
    workspace: &Workspace,
    slug: &str,
) -> Result<Option<vitrine_core::id::DashboardId>> {
    Ok(app
        .store
        .dashboard_by_slug(workspace.id, slug)
        .await?
        .map(|d| d.id))
}

/// Every dashboard of the workspace, with its document (for `dashboards export`).
pub async fn dashboards(app: &App, workspace: &Workspace) -> Result<Vec<DashboardRecord>> {
    Ok(app.store.dashboards(workspace.id).await?)
}
