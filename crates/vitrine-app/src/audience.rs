//! Who one dashboard is given to: restricting it to chosen roles and members, and their
//! `viewer` / `editor` rights on it (the share dialog's People panel and the API).
//!
//! The decision of who sees and edits what is [`vitrine_core::audience::Reach::right`], asked
//! through [`crate::content::DashboardAccess`]; this module only changes its inputs. Changing
//! them needs an editor's role **and** an editor right on the dashboard: a viewer granted
//! `editor` on one dashboard edits that dashboard's content, but does not hand it out. Every
//! change is an audit event.

use serde::{Deserialize, Serialize};
use vitrine_core::audience::DashboardRight;
use vitrine_core::id::{DashboardId, MemberId};
use vitrine_core::member::Role;
use vitrine_store::{DashboardRecord, Member};

use crate::accounts::{Acting, audit};
use crate::{App, Error};

/// A role's right on a dashboard.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleGrantView {
    /// The workspace role.
    pub role: Role,
    /// Its right on the dashboard.
    pub access: DashboardRight,
}

/// A member's own right on a dashboard.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberGrantView {
    /// The member.
    pub member_id: MemberId,
    /// Their name.
    pub name: String,
    /// Their e-mail address.
    pub email: String,
    /// Their right on the dashboard.
    pub access: DashboardRight,
}

/// Who a dashboard is given to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AudienceView {
    /// The dashboard.
    pub dashboard_id: DashboardId,
    /// `draft`, `published` or `restricted` (restricted wins over the other two).
    #[schema(pattern = "^(draft|published|restricted)$")]
    pub visibility: String,
    /// Restricted to admins and the roles and members below.
    pub restricted: bool,
    /// Roles granted the dashboard.
    pub roles: Vec<RoleGrantView>,
    /// Members granted the dashboard on their own.
    pub members: Vec<MemberGrantView>,
}

/// A change of a dashboard's restriction.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RestrictionInput {
    /// `true`: only admins and the granted roles and members see it.
    pub restricted: bool,
}

/// A right to give.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GrantInput {
    /// `viewer` or `editor`.
    pub access: DashboardRight,
}

/// The dashboard, if `member` may change who it is given to.
async fn manageable(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
) -> Result<DashboardRecord, Error> {
    let record = crate::content::editable_dashboard(app, member, dashboard).await?;
    if !member.actor().can_edit_content() {
        return Err(Error::Forbidden);
    }
    Ok(record)
}

/// Who `dashboard` is given to, for those who may change it.
pub async fn audience(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
) -> Result<AudienceView, Error> {
    let record = manageable(app, member, dashboard).await?;
    view(app, &record).await
}

async fn view(app: &App, record: &DashboardRecord) -> Result<AudienceView, Error> {
    let audience = app.store.dashboard_audience(record.id).await?;
    let parse = |s: &str| {
        DashboardRight::parse(s)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("dashboard grant right {s:?}")))
    };
    Ok(AudienceView {
        dashboard_id: record.id,
        visibility: if audience.restricted {
            "restricted".to_owned()
        } else {
            record.status.clone()
        },
        restricted: audience.restricted,
        roles: audience
            .roles
            .iter()
            .map(|(role, a)| {
                Ok(RoleGrantView {
                    role: *role,
                    access: parse(a)?,
                })
            })
            .collect::<Result<_, Error>>()?,
        members: audience
            .members
            .iter()
            .map(|m| {
                Ok(MemberGrantView {
                    member_id: m.member_id,
                    name: m.name.clone(),
                    email: m.email.clone(),
                    access: parse(&m.access)?,
                })
            })
            .collect::<Result<_, Error>>()?,
    })
}

/// Restricts `dashboard` to chosen roles and members (or opens it to the workspace again).
/// A member who restricts a dashboard and is not an admin keeps an editor grant on it, so
/// nobody locks themselves out.
pub async fn set_restricted(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
    restricted: bool,
) -> Result<AudienceView, Error> {
    let record = manageable(app, member, dashboard).await?;
    let now = app.now();
    if restricted && !member.actor().is_admin() {
        app.store
            .set_member_grant(record.id, member.id, Some("editor"), now)
            .await?;
    }
    app.store
        .set_dashboard_restricted(member.workspace_id, record.id, restricted, now)
        .await?;
    audit(
        app,
        member.workspace_id,
        &Acting::member(member),
        if restricted {
            "dashboard.restricted"
        } else {
            "dashboard.unrestricted"
        },
        format!("dashboard:{}", record.id),
        serde_json::json!({ "title": record.title }),
    )
    .await?;
    view(app, &record).await
}

/// Gives `target` (a member of the same workspace) `access` on `dashboard`, or takes their
/// own grant away (`None`).
pub async fn set_member_grant(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
    target: MemberId,
    access: Option<DashboardRight>,
) -> Result<AudienceView, Error> {
    let record = manageable(app, member, dashboard).await?;
    let person = app
        .store
        .member(target)
        .await?
        .filter(|m| m.workspace_id == member.workspace_id)
        // The member is named by the path: one that is not there is 404, like the dashboard.
        .ok_or(Error::NotFound)?;
    app.store
        .set_member_grant(
            record.id,
            person.id,
            access.map(DashboardRight::as_str),
            app.now(),
        )
        .await?;
    audit(
        app,
        member.workspace_id,
        &Acting::member(member),
        if access.is_some() {
            "dashboard.grant_set"
        } else {
            "dashboard.grant_removed"
        },
        format!("dashboard:{}", record.id),
        serde_json::json!({
            "member_id": person.id,
            "email": person.email,
            "access": access.map(DashboardRight::as_str),
        }),
    )
    .await?;
    view(app, &record).await
}

/// Gives every member of `role` `access` on `dashboard`, or takes the role's grant away.
/// Admins see every dashboard, so only `editor` and `viewer` roles are granted.
pub async fn set_role_grant(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
    role: Role,
    access: Option<DashboardRight>,
) -> Result<AudienceView, Error> {
    let record = manageable(app, member, dashboard).await?;
    if role == Role::Admin {
        return Err(Error::invalid_field(
            "role",
            "Admins see every dashboard: grant the editor or viewer role.",
        ));
    }
    app.store
        .set_role_grant(
            record.id,
            role,
            access.map(DashboardRight::as_str),
            app.now(),
        )
        .await?;
    audit(
        app,
        member.workspace_id,
        &Acting::member(member),
        if access.is_some() {
            "dashboard.grant_set"
        } else {
            "dashboard.grant_removed"
        },
        format!("dashboard:{}", record.id),
        serde_json::json!({ "role": role, "access": access.map(DashboardRight::as_str) }),
    )
    .await?;
    view(app, &record).await
}
