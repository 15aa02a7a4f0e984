//! Members' data permissions: row-level rules (`{dataset?, column, op, value | values}`,
//! [`RowLevelRule`]) attached to one member or to every member of a role — "a sales rep sees
//! only their region" — and applied to everything that member views: dashboard pages, card
//! fragments, live streams, exports, permalinks (they are pages) and the scheduled reports
//! that run as them.
//!
//! They are the same restriction as a share link's rules or a guest grant's
//! ([`Restrictions::build`], DESIGN §5a): bound parameters on every query, and a widget over a
//! dataset a rule cannot cover (it lacks the rule's column) is not shown. A stored rule that
//! no longer parses refuses the request (fail closed), never shows more. Admins set them
//! (UI, API, CLI); every change is an audit event.

use serde::{Deserialize, Serialize};
use vitrine_core::dashboard::RowLevelRule;
use vitrine_core::id::{DashboardId, MemberId, WorkspaceId};
use vitrine_core::member::Role;
use vitrine_store::{DashboardRecord, Member, MemberRuleRecord};

use crate::accounts::{Acting, audit};
use crate::dashboards::{DashboardContext, Restriction, Restrictions};
use crate::{App, Error};

/// The most rules one member may be under (theirs and their role's together).
pub const MAX_MEMBER_RULES: usize = crate::dashboards::restrict::MAX_RULES;

/// A data rule as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DataRuleView {
    /// Id.
    pub id: i64,
    /// The member it applies to (or `role`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<MemberId>,
    /// Every member of this role (or `member_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The rule: `{dataset?, column, op, value | values}`.
    #[schema(value_type = Object)]
    pub rule: RowLevelRule,
    /// The rule in words: `region = EMEA`.
    pub summary: String,
    /// Added when.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// A new data rule for a member or a role (exactly one).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewDataRule {
    /// The member it applies to.
    #[serde(default)]
    pub member_id: Option<MemberId>,
    /// Or every member of this role.
    #[serde(default)]
    pub role: Option<Role>,
    /// `{dataset?, column, op, value | values}`: `op` one of `=`, `!=`, `in`, `not in`, `<`,
    /// `<=`, `>`, `>=`, `between`; values are strings, numbers or booleans, always bound
    /// parameters, never SQL.
    #[schema(value_type = Object)]
    pub rule: RowLevelRule,
}

/// `region = EMEA`, `plan in (Growth, Starter)`.
pub fn summary(rule: &RowLevelRule) -> String {
    let values: Vec<String> = rule.values.iter().map(ToString::to_string).collect();
    let op = serde_json::to_value(rule.op)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let values = if values.len() == 1 {
        values[0].clone()
    } else {
        format!("({})", values.join(", "))
    };
    let dataset = rule
        .dataset
        .as_ref()
        .map_or_else(String::new, |d| format!("{d}."));
    format!("{dataset}{} {op} {values}", rule.column)
}

fn view(record: &MemberRuleRecord) -> Result<DataRuleView, Error> {
    let rule = parse(record)?;
    Ok(DataRuleView {
        id: record.id,
        member_id: record.member_id,
        role: record.role,
        summary: summary(&rule),
        rule,
        created_at: record.created_at,
    })
}

fn parse(record: &MemberRuleRecord) -> Result<RowLevelRule, Error> {
    serde_json::from_str(&record.rule).map_err(|e| {
        Error::Internal(anyhow::anyhow!(
            "member data rule {} no longer parses: {e}",
            record.id
        ))
    })
}

fn admin_only(acting: &Acting) -> Result<(), Error> {
    match acting {
        Acting::Member { actor, .. } if !actor.is_admin() => Err(Error::Forbidden),
        _ => Ok(()),
    }
}

/// Every data rule of the workspace, oldest first (admins).
pub async fn list(
    app: &App,
    acting: &Acting,
    workspace: WorkspaceId,
) -> Result<Vec<DataRuleView>, Error> {
    admin_only(acting)?;
    app.store
        .member_rules(workspace)
        .await?
        .iter()
        .map(view)
        .collect()
}

/// The rules that apply to `member` (their own and their role's), oldest first.
pub async fn rules_of_member(app: &App, member: &Member) -> Result<Vec<DataRuleView>, Error> {
    app.store
        .rules_for_member(member.workspace_id, member.id, member.role)
        .await?
        .iter()
        .map(view)
        .collect()
}

/// What the member page shows of one member.
#[derive(Debug, Clone)]
pub struct MemberProfile {
    /// The member.
    pub member: Member,
    /// Whether they see only the dashboards given to them.
    pub dashboards_only: bool,
    /// Dashboards given to them on their own: id, title and right (`viewer` or `editor`).
    pub dashboards: Vec<(DashboardId, String, String)>,
    /// The rules that apply to them (their own and their role's), oldest first.
    pub rules: Vec<DataRuleView>,
    /// The workspace's dataset slugs (for the form that adds a rule).
    pub datasets: Vec<String>,
    /// Whether the one asking may add and remove rules (admins).
    pub can_manage: bool,
}

/// One member's profile: for admins, members who manage members, and the member themself;
/// someone of another workspace is not found.
pub async fn member_profile(app: &App, me: &Member, id: MemberId) -> Result<MemberProfile, Error> {
    let actor = me.actor();
    if me.id != id && !actor.can_manage_members() {
        return Err(Error::Forbidden);
    }
    let member = app
        .store
        .member(id)
        .await?
        .filter(|m| m.workspace_id == me.workspace_id)
        .ok_or(Error::NotFound)?;
    let access = app.store.member_access(member.id).await?;
    let dashboards = app.store.dashboards(me.workspace_id).await?;
    let given = access
        .grants
        .iter()
        .filter_map(|(d, right)| {
            dashboards
                .iter()
                .find(|r| r.id == *d)
                .map(|r| (r.id, r.title.clone(), right.clone()))
        })
        .collect();
    let rules = rules_of_member(app, &member).await?;
    let datasets = app
        .store
        .datasets(me.workspace_id)
        .await?
        .into_iter()
        .map(|d| d.slug)
        .collect();
    Ok(MemberProfile {
        dashboards_only: access.dashboards_only,
        dashboards: given,
        rules,
        datasets,
        can_manage: actor.is_admin(),
        member,
    })
}

/// Attaches a rule to a member or a role (admins). The rule's column (and dataset, when it
/// names one) must exist among the workspace's datasets, so a typo is caught here rather than
/// hiding every widget.
pub async fn add(
    app: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    new: NewDataRule,
) -> Result<DataRuleView, Error> {
    admin_only(acting)?;
    let target = match (new.member_id, new.role) {
        (Some(id), None) => {
            let member = app
                .store
                .member(id)
                .await?
                .filter(|m| m.workspace_id == workspace)
                .ok_or_else(|| Error::invalid_field("member_id", "There is no such member."))?;
            serde_json::json!({ "member_id": member.id, "email": member.email })
        }
        (None, Some(role)) => serde_json::json!({ "role": role }),
        _ => {
            return Err(Error::invalid(
                "A data rule applies to one member (`member_id`) or to one role (`role`).",
            ));
        }
    };
    let datasets = app.store.datasets(workspace).await?;
    let known = datasets.iter().any(|d| {
        new.rule.dataset.as_ref().is_none_or(|slug| &d.slug == slug)
            && crate::content::dataset_columns(d)
                .iter()
                .any(|c| c.name == new.rule.column)
    });
    if !known {
        return Err(Error::invalid_field(
            "rule.column",
            match &new.rule.dataset {
                Some(slug) => format!("The dataset “{slug}” has no column `{}`.", new.rule.column),
                None => format!("No dataset has a column `{}`.", new.rule.column),
            },
        ));
    }
    let existing = app.store.member_rules(workspace).await?;
    let count = existing
        .iter()
        .filter(|r| {
            (new.member_id.is_some() && r.member_id == new.member_id)
                || (new.role.is_some() && r.role == new.role)
        })
        .count();
    if count >= MAX_MEMBER_RULES {
        return Err(Error::invalid(format!(
            "At most {MAX_MEMBER_RULES} data rules per member or role."
        )));
    }
    let json = serde_json::to_string(&new.rule).map_err(Error::internal)?;
    let record = app
        .store
        .add_member_rule(workspace, new.member_id, new.role, &json, app.now())
        .await?;
    let shown = view(&record)?;
    audit(
        app,
        workspace,
        acting,
        "member_rule.added",
        format!("member_rule:{}", record.id),
        serde_json::json!({ "target": target, "rule": shown.summary }),
    )
    .await?;
    Ok(shown)
}

/// Attaches a rule to member `id` of `workspace` or, with `to_role`, to every member of that
/// member's role: the member page's form (admins). A member of another workspace is not found.
pub async fn add_on_member(
    app: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    id: MemberId,
    to_role: bool,
    rule: RowLevelRule,
) -> Result<DataRuleView, Error> {
    let member = app
        .store
        .member(id)
        .await?
        .filter(|m| m.workspace_id == workspace)
        .ok_or(Error::NotFound)?;
    let new = if to_role {
        NewDataRule {
            member_id: None,
            role: Some(member.role),
            rule,
        }
    } else {
        NewDataRule {
            member_id: Some(member.id),
            role: None,
            rule,
        }
    };
    add(app, acting, workspace, new).await
}

/// Removes a rule (admins).
pub async fn remove(
    app: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    id: i64,
) -> Result<(), Error> {
    admin_only(acting)?;
    if !app.store.delete_member_rule(workspace, id).await? {
        return Err(Error::NotFound);
    }
    audit(
        app,
        workspace,
        acting,
        "member_rule.removed",
        format!("member_rule:{id}"),
        serde_json::json!({}),
    )
    .await
}

/// The restrictions `member`'s data rules put on a dashboard: none without rules; otherwise
/// every rule on every dataset it names (all of them when it names none), and the widgets they
/// cannot cover hidden ([`Restrictions::build`]).
pub async fn member_restrictions(
    app: &App,
    member: &Member,
    ctx: &DashboardContext,
) -> Result<Restrictions, Error> {
    let records = app
        .store
        .rules_for_member(member.workspace_id, member.id, member.role)
        .await?;
    if records.is_empty() {
        return Ok(Restrictions::none());
    }
    let rules = records.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
    let sources: Vec<Restriction<'_>> = rules
        .iter()
        .map(|rule| Restriction::Rule {
            rule,
            dataset: rule.dataset.as_deref(),
        })
        .collect();
    Restrictions::build(
        &ctx.document,
        |slug| ctx.dataset_columns(slug),
        &sources,
        app.now().date(),
    )
    .map_err(|e| Error::Internal(anyhow::anyhow!("member data rules: {}", e.0)))
}

/// `member`'s data rules (their own and their role's), parsed.
pub async fn member_rules(app: &App, member: &Member) -> Result<Vec<RowLevelRule>, Error> {
    app.store
        .rules_for_member(member.workspace_id, member.id, member.role)
        .await?
        .iter()
        .map(parse)
        .collect()
}

/// Adds `member`'s data rules to the rules of something they hand to outsiders — a share
/// link they create or change, a guest token their API key mints — so that nobody can widen
/// what they may see by sharing it: the outsiders see at most the member's rows. A rule
/// already there is not added twice. The rules are copied when the link is saved or the
/// token minted (a later change of the member's rules does not reach an existing link).
pub async fn carry_member_rules(
    app: &App,
    member: &Member,
    rules: &mut Vec<RowLevelRule>,
) -> Result<(), Error> {
    for rule in member_rules(app, member).await? {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    Ok(())
}

/// A dashboard `member` may see, ready to run under their data rules: what every
/// member-facing view of it (page, fragment, live, export, report) starts from.
pub async fn open_for_member(
    app: &App,
    member: &Member,
    id: DashboardId,
) -> Result<
    (
        DashboardRecord,
        std::sync::Arc<DashboardContext>,
        Restrictions,
    ),
    Error,
> {
    let (record, ctx) = crate::content::open_dashboard(app, member, id).await?;
    let restrictions = member_restrictions(app, member, &ctx).await?;
    Ok((record, ctx, restrictions))
}
