//! Share links: the owner's side of the lifecycle (create, list, show, update, disable,
//! enable, rotate, delete), the workspace's link policy, and how the outsider router turns a
//! token or short code into a link it may serve. Used by the owner UI, the API and the CLI.
//!
//! Who may share: members who can edit content and hold `share_public` (admins always);
//! allowing embedding also needs `embed`. The workspace policy (public links allowed, longest
//! expiry, password required) is enforced here, so the API cannot bypass what the UI shows.
//! Every operation writes an audit event.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vitrine_core::dashboard::{Dashboard, FilterValue, RowLevelRule};
use vitrine_core::id::{DashboardId, WorkspaceId};
use vitrine_core::net::Cidr;
use vitrine_core::secret::Password;
use vitrine_core::share::{self, Expiry, Inaccessible, LinkId, Origin};
use vitrine_store::{DashboardRecord, LinkPolicy, LinkRecord, LinkStats, Member, Workspace};

use crate::dashboards::{DashboardContext, Restriction, RestrictionError, Restrictions};
use crate::hub::HubChange;
use crate::{App, Error};

/// How a shared dashboard looks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DisplayOptions {
    /// Show the dashboard's title.
    pub show_title: bool,
    /// Show the filter bar (open filters can be changed; locked ones are shown as fixed).
    pub show_filters: bool,
    /// Offer PDF / PNG / CSV downloads.
    pub allow_downloads: bool,
    /// `light`, `dark` or `system` (the viewer's setting).
    pub theme: LinkTheme,
}

impl Default for DisplayOptions {
    fn default() -> Self {
        Self {
            show_title: true,
            show_filters: true,
            allow_downloads: false,
            theme: LinkTheme::System,
        }
    }
}

/// A link's theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkTheme {
    /// Light.
    Light,
    /// Dark.
    Dark,
    /// Whatever the viewer's system prefers.
    #[default]
    System,
}

/// Whether, and by which sites, a link may be framed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedPolicy {
    /// Embedding allowed at all.
    pub allowed: bool,
    /// The only origins that may frame it (`frame-ancestors`).
    pub origins: Vec<Origin>,
}

/// A network a link answers to: `192.0.2.0/24`, `2001:db8::/32`, or one address (`192.0.2.7`,
/// taken as `/32` or `/128`); an IPv4-mapped IPv6 client counts as its IPv4 address. Bits past
/// the prefix must be zero (`10.0.0.1/8` is refused as a likely typo, never widened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network(pub Cidr);

impl Network {
    /// Parses a CIDR network or a single address.
    pub fn parse(text: &str) -> Result<Self, String> {
        Cidr::parse(text).map(Network).map_err(|_| {
            format!(
                "“{}” is not a network: write it as 192.0.2.0/24, 2001:db8::/32 or one address.",
                text.trim()
            )
        })
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Network {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Network::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Who may use a link, and how much (checked on every outsider request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AccessPolicy {
    /// The link stops (410, `view_limit`) after this many page views. A viewer's own page
    /// keeps working after the last view (its filters, downloads and live updates carry a
    /// view pass); a new page view is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Int64, minimum = 1, maximum = 4294967295_u64)]
    pub max_views: Option<u32>,
    /// Only client addresses inside these networks may open the link (others get the 404
    /// page, and a `not_allowed` access event); empty: everyone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = crate::openapi::networks)]
    pub allowed_networks: Vec<Network>,
    /// Open live streams on this link at most (per instance); `None`: `limits.link_live_viewers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Int64, minimum = 1, maximum = 4294967295_u64)]
    pub max_live_viewers: Option<u32>,
    /// Open live streams per client address at most; `None`: `limits.client_live_viewers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Int64, minimum = 1, maximum = 4294967295_u64)]
    pub max_live_viewers_per_client: Option<u32>,
    /// New filter views (ones the result cache does not hold yet) per minute on this link;
    /// `None`: `limits.link_new_views_per_minute`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Int64, minimum = 1, maximum = 4294967295_u64)]
    pub max_new_views_per_minute: Option<u32>,
    /// New filter views per minute per client address; `None`:
    /// `limits.client_new_views_per_minute`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Int64, minimum = 1, maximum = 4294967295_u64)]
    pub max_new_views_per_minute_per_client: Option<u32>,
    /// Viewers confirm their e-mail address with a one-time code sent to it before they view
    /// (after the password, when the link also has one); their access events carry the
    /// confirmed address and the owner sees who viewed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub confirm_email: bool,
    /// With `confirm_email`: only addresses of these domains (`@client.com`; the domain itself,
    /// not its subdomains) may confirm; empty: any address.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = crate::openapi::email_domains)]
    pub email_domains: Vec<vitrine_core::identified::EmailDomain>,
}

impl AccessPolicy {
    /// Whether a client at `ip` may open the link. An unknown address is refused when the link
    /// has an allowlist (fail closed).
    pub fn allows(&self, ip: Option<std::net::IpAddr>) -> bool {
        self.allowed_networks.is_empty()
            || ip.is_some_and(|ip| self.allowed_networks.iter().any(|n| n.contains(ip)))
    }
}

/// What a link lets outsiders see and change, stored as JSON in its row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LinkSettings {
    /// Filter values fixed by the owner: shown as fixed, impossible to change from outside.
    pub locked_filters: BTreeMap<String, FilterValue>,
    /// Filters the viewer may change (their state lives in the viewer's URL). Filters neither
    /// locked nor open keep the dashboard's default and are not shown.
    pub open_filters: Vec<String>,
    /// Display options.
    pub display: DisplayOptions,
    /// Embed policy.
    pub embed: EmbedPolicy,
    /// Who may use the link, and how much.
    pub access: AccessPolicy,
    /// Row-level rules on every query the link runs (`{dataset?, column, op, value |
    /// values}`): "Client A sees only client A's rows on every widget".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<RowLevelRule>,
}

impl LinkSettings {
    /// The settings stored in a link row. Settings that do not parse (written by a newer
    /// version, edited by hand in the database) are an error, never the defaults: the defaults
    /// lock nothing, so falling back to them would widen what the link shows.
    pub fn of(link: &LinkRecord) -> Result<LinkSettings, SettingsError> {
        serde_json::from_str(&link.settings).map_err(|e| SettingsError(e.to_string()))
    }
}

/// A link's stored settings do not parse: the link is refused (a polite 503 for outsiders)
/// and the owner is shown why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the link's stored settings cannot be read: {0}")]
pub struct SettingsError(pub String);

impl From<SettingsError> for Error {
    fn from(error: SettingsError) -> Self {
        Error::Unavailable(error.to_string())
    }
}

/// A new link, as the API and the UI send it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// The dashboard.
    pub dashboard_id: DashboardId,
    /// One widget only, or the whole dashboard.
    #[serde(default)]
    pub widget_id: Option<String>,
    /// The audience.
    #[schema(schema_with = crate::openapi::label)]
    pub label: String,
    /// When it stops working (default: 90 days).
    #[serde(default = "default_expiry")]
    pub expiry: Expiry,
    /// An optional password.
    #[serde(default)]
    #[schema(schema_with = crate::openapi::link_password)]
    pub password: Option<String>,
    /// Locked filters, open filters, display options, embed policy. With `open_filters`
    /// absent, every filter that is not locked is open.
    #[serde(default)]
    pub locked_filters: BTreeMap<String, FilterValue>,
    /// See [`LinkSettings::open_filters`].
    #[serde(default)]
    pub open_filters: Option<Vec<String>>,
    /// Display options.
    #[serde(default)]
    pub display: DisplayOptions,
    /// Embed policy.
    #[serde(default)]
    pub embed: EmbedPolicy,
    /// Who may use the link, and how much.
    #[serde(default)]
    pub access: AccessPolicy,
    /// Row-level rules on every query (see [`LinkSettings::rules`]).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<RowLevelRule>,
}

fn default_expiry() -> Expiry {
    Expiry::Days { days: 90 }
}

/// Changes to a link; absent fields stay as they are.
#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkChanges {
    /// New audience.
    #[schema(schema_with = crate::openapi::optional_label)]
    pub label: Option<String>,
    /// New expiry.
    pub expiry: Option<Expiry>,
    /// A new password.
    #[schema(schema_with = crate::openapi::link_password)]
    pub password: Option<String>,
    /// Remove the password.
    #[serde(default)]
    pub remove_password: bool,
    /// New locked filters.
    pub locked_filters: Option<BTreeMap<String, FilterValue>>,
    /// New open filters.
    pub open_filters: Option<Vec<String>>,
    /// New display options.
    pub display: Option<DisplayOptions>,
    /// New embed policy.
    pub embed: Option<EmbedPolicy>,
    /// New access policy.
    pub access: Option<AccessPolicy>,
    /// New row-level rules (`[]` removes them).
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Vec<RowLevelRule>>,
}

/// A link as the owner sees it: its URLs (derived, never stored), state and traffic.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Link)]
pub struct LinkView {
    /// The link id.
    pub id: String,
    /// The dashboard.
    pub dashboard_id: DashboardId,
    /// One widget, or the whole dashboard.
    pub widget_id: Option<String>,
    /// The audience.
    pub label: String,
    /// `active`, `disabled`, `expired`, `deleted` or `suspended`.
    #[schema(value_type = String, pattern = "^(active|disabled|expired|deleted|suspended)$")]
    pub state: &'static str,
    /// Whether its owner has it turned on.
    pub enabled: bool,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Whether it asks for a password.
    pub has_password: bool,
    /// What it shows and allows (the defaults when `problem` says they cannot be read).
    pub settings: LinkSettings,
    /// Why outsiders are refused although the link's state says it could open, with what to do
    /// about it: its stored settings cannot be read, a lock no longer fits the dashboard (its
    /// filter was removed or changed, or its value is out of range), the locks and rules
    /// cannot restrict the dashboard (polite 503 for outsiders until it is fixed), or the
    /// dashboard was set back to draft (410).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Page views counted against `settings.access.max_views`.
    pub view_count: i64,
    /// The full URL (empty once deleted, and for members who may not share publicly).
    pub url: String,
    /// The short URL (empty likewise).
    pub short_url: String,
    /// Successful views.
    pub views: i64,
    /// The last request of any kind.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_access_at: Option<OffsetDateTime>,
    /// The last page view.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_view_at: Option<OffsetDateTime>,
    /// The last refused attempt (wrong password, throttled, expired, disabled …): not a view.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_refused_at: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn bad(message: impl Into<String>) -> Error {
    Error::invalid(message.into())
}

fn link_id(link: &LinkRecord) -> Result<LinkId, Error> {
    LinkId::parse(&link.id)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("malformed link id in the store")))
}

/// The link's current full URL and short URL.
pub fn urls(state: &App, link: &LinkRecord) -> Result<(String, String), Error> {
    let id = link_id(link)?;
    let base = state.config.public_base_url();
    let token = share::issue_token(&state.keys.share, id, link.generation);
    let code = share::short_code(&state.keys.share, id, link.generation);
    Ok((
        format!("{base}/share/{}", token.expose()),
        format!("{base}/s/{code}"),
    ))
}

/// Dashboards opened while describing links (by id), so that a list opens each one once.
type Opened = BTreeMap<DashboardId, Result<Arc<DashboardContext>, String>>;

/// Why outsiders cannot be served `link` with `settings` as its dashboard is now, in the
/// owner's words: the same checks the outsider gate makes ([`crate::outsider::open_link`]).
async fn serving_problem(
    state: &App,
    link: &LinkRecord,
    settings: &LinkSettings,
    opened: &mut Opened,
) -> Result<Option<String>, Error> {
    if link.deleted_at.is_some() {
        return Ok(None);
    }
    if let std::collections::btree_map::Entry::Vacant(slot) = opened.entry(link.dashboard_id) {
        let ctx = match state
            .store
            .dashboard(link.workspace_id, link.dashboard_id)
            .await?
        {
            None => Err("Its dashboard was deleted".to_owned()),
            Some(record) if record.status != "published" => Err(
                "Its dashboard is a draft: viewers are told the link is no longer available until it is published again"
                    .to_owned(),
            ),
            Some(record) => crate::content::dashboard_context(state, &record)
                .await
                .map_err(|e| format!("Its dashboard cannot be opened: {e}")),
        };
        slot.insert(ctx);
    }
    Ok(match &opened[&link.dashboard_id] {
        Err(problem) => Some(problem.clone()),
        Ok(ctx) => serving_restrictions(ctx, settings, state.now().date())
            .err()
            .map(|e| {
                format!(
                    "Viewers get “temporarily unavailable”: {e}. Change its locked filters or rules to fit the dashboard as it is now"
                )
            }),
    })
}

async fn view(
    state: &App,
    member: &Member,
    link: &LinkRecord,
    workspace: &Workspace,
    stats: Option<&LinkStats>,
    opened: &mut Opened,
) -> Result<LinkView, Error> {
    let (settings, problem) = match LinkSettings::of(link) {
        Ok(settings) => {
            let problem = serving_problem(state, link, &settings, opened).await?;
            (settings, problem)
        }
        Err(e) => (
            LinkSettings::default(),
            Some(format!(
                "Viewers get “temporarily unavailable”: {e}. Delete it and create a new one"
            )),
        ),
    };
    let used_up = settings
        .access
        .max_views
        .is_some_and(|max| link.view_count >= i64::from(max));
    let state_name = match link.status(workspace).accessible(state.now()) {
        Ok(()) if used_up => "view_limit",
        Ok(()) => "active",
        Err(reason) => reason.as_str(),
    };
    // A full URL is what lets an outsider in: only members who may share publicly see it.
    let (url, short_url) = if link.deleted_at.is_some() || !member.actor().can_share_public() {
        (String::new(), String::new())
    } else {
        urls(state, link)?
    };
    Ok(LinkView {
        id: link.id.clone(),
        dashboard_id: link.dashboard_id,
        widget_id: link.widget_id.clone(),
        label: link.label.clone(),
        state: state_name,
        enabled: link.enabled,
        expires_at: link.expires_at,
        has_password: link.password_hash.is_some(),
        settings,
        problem,
        view_count: link.view_count,
        url,
        short_url,
        views: stats.map_or(0, |s| s.views),
        last_access_at: stats.and_then(|s| s.last_access_at),
        last_view_at: stats.and_then(|s| s.last_view_at),
        last_refused_at: stats.and_then(|s| s.last_refused_at),
        created_at: link.created_at,
    })
}

async fn workspace_of(state: &App, id: WorkspaceId) -> Result<Workspace, Error> {
    state.store.workspace(id).await?.ok_or(Error::NotFound)
}

async fn audit(
    state: &App,
    member: &Member,
    action: &str,
    link: &LinkRecord,
    detail: serde_json::Value,
) -> Result<(), Error> {
    let detail = serde_json::json!({ "label": link.label, "dashboard_id": link.dashboard_id, "detail": detail });
    let acting = crate::accounts::Acting::member(member);
    crate::accounts::audit(
        state,
        member.workspace_id,
        &acting,
        action,
        format!("link:{}", link.id),
        detail,
    )
    .await
}

/// Members who may see and manage links: those who can edit content (viewers never).
fn may_manage(member: &Member) -> Result<(), Error> {
    if member.actor().can_edit_content() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Members who may create or widen public links.
fn may_share(member: &Member) -> Result<(), Error> {
    if member.actor().can_share_public() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Embedding widens who can see a link, so allowing it or changing its origins needs the
/// `embed` permission; keeping an existing policy as it is (say, while renaming the link)
/// does not.
fn check_embed_change(
    member: &Member,
    before: &EmbedPolicy,
    after: &EmbedPolicy,
) -> Result<(), Error> {
    let widened = after.allowed && (!before.allowed || before.origins != after.origins);
    if widened && !member.actor().permissions().embed {
        return Err(Error::Forbidden);
    }
    Ok(())
}

/// Checks settings against the dashboard.
fn check_settings(
    doc: &Dashboard,
    widget_id: Option<&str>,
    settings: &LinkSettings,
) -> Result<(), Error> {
    if let Some(widget) = widget_id
        && doc.widget(widget).is_none()
    {
        return Err(bad(format!("The dashboard has no widget “{widget}”.")));
    }
    for (id, value) in &settings.locked_filters {
        let filter = doc
            .filter(id)
            .ok_or_else(|| bad(format!("The dashboard has no filter “{id}”.")))?;
        if matches!(value, FilterValue::Many(values) if values.is_empty()) {
            return Err(Error::invalid_field(
                format!("locked_filters.{id}"),
                format!("Lock “{id}” to at least one value, or leave it open."),
            ));
        }
        // validate() says what is wrong: another kind of value, a date outside the accepted
        // range (which the compiler would refuse on every view), a number that is not finite.
        if let Err(error) = value.validate(filter.kind) {
            return Err(Error::invalid_field(
                format!("locked_filters.{id}"),
                format!("“{}”: {error}", filter.label),
            ));
        }
    }
    for id in &settings.open_filters {
        if doc.filter(id).is_none() {
            return Err(bad(format!("The dashboard has no filter “{id}”.")));
        }
        if settings.locked_filters.contains_key(id) {
            return Err(bad(format!(
                "The filter “{id}” cannot be both locked and open."
            )));
        }
    }
    check_access(&settings.access)?;
    if settings.embed.allowed && settings.embed.origins.is_empty() {
        return Err(bad("List the sites (origins) allowed to embed this link."));
    }
    Ok(())
}

/// Checks a link's row-level rules against the dashboard's datasets (400 naming the column).
async fn check_rules(
    state: &App,
    record: &DashboardRecord,
    rules: &[RowLevelRule],
) -> Result<(), Error> {
    if rules.is_empty() {
        return Ok(());
    }
    if rules.len() > crate::dashboards::MAX_RULES {
        return Err(Error::invalid_field("rules", "At most 50 rules."));
    }
    let ctx = crate::content::dashboard_context(state, record).await?;
    for (i, rule) in rules.iter().enumerate() {
        crate::dashboards::check_rule(&ctx, rule)
            .map_err(|m| Error::invalid_field(format!("rules[{i}]"), m))?;
    }
    Ok(())
}

/// The most networks one link's allowlist holds.
pub const MAX_ALLOWED_NETWORKS: usize = 100;

/// The longest list of allowed e-mail domains on one link.
pub const MAX_EMAIL_DOMAINS: usize = 50;

fn check_access(access: &AccessPolicy) -> Result<(), Error> {
    if !access.email_domains.is_empty() && !access.confirm_email {
        return Err(Error::invalid_field(
            "access.email_domains",
            "Allowed e-mail domains need “viewers confirm their e-mail” turned on.",
        ));
    }
    if access.email_domains.len() > MAX_EMAIL_DOMAINS {
        return Err(Error::invalid_field(
            "access.email_domains",
            format!("List at most {MAX_EMAIL_DOMAINS} domains."),
        ));
    }
    if access.max_views == Some(0) {
        return Err(Error::invalid_field(
            "access.max_views",
            "A view limit must be at least 1 (leave it empty for no limit).",
        ));
    }
    if access.allowed_networks.len() > MAX_ALLOWED_NETWORKS {
        return Err(Error::invalid_field(
            "access.allowed_networks",
            format!("List at most {MAX_ALLOWED_NETWORKS} networks."),
        ));
    }
    for (field, value) in [
        ("access.max_live_viewers", access.max_live_viewers),
        (
            "access.max_live_viewers_per_client",
            access.max_live_viewers_per_client,
        ),
        (
            "access.max_new_views_per_minute",
            access.max_new_views_per_minute,
        ),
        (
            "access.max_new_views_per_minute_per_client",
            access.max_new_views_per_minute_per_client,
        ),
    ] {
        if value == Some(0) {
            return Err(Error::invalid_field(
                field,
                "A limit must be at least 1 (leave it empty for the server's default).",
            ));
        }
    }
    Ok(())
}

fn check_label(label: &str) -> Result<String, Error> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(bad(
            "Give the link a label of 1 to 100 characters (its audience: “Board”, “Client A”).",
        ));
    }
    Ok(label.to_owned())
}

async fn hash_password(state: &App, password: &str) -> Result<String, Error> {
    let password = vitrine_core::member::NewPassword::parse(password)
        .map_err(|e| bad(format!("Link password: {e}")))?;
    state.passwords.hash(password.password()).await
}

fn policy_max_days(policy: &LinkPolicy) -> Option<u32> {
    policy.max_link_days.and_then(|d| u32::try_from(d).ok())
}

/// A dashboard `member` may see (404 otherwise: a restricted dashboard they were not given
/// cannot be shared by them), with its document.
async fn dashboard_doc(
    state: &App,
    member: &Member,
    id: DashboardId,
) -> Result<(DashboardRecord, Dashboard), Error> {
    let record = crate::content::visible_dashboard(state, member, id).await?;
    let doc = Dashboard::from_yaml(&record.document)
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored dashboard: {e}")))?;
    Ok((record, doc))
}

/// Creates a link.
pub async fn create_link(state: &App, member: &Member, new: NewLink) -> Result<LinkView, Error> {
    may_share(member)?;
    let workspace = workspace_of(state, member.workspace_id).await?;
    if !workspace.policy.public_links_allowed {
        return Err(Error::Conflict(
            "Public links are turned off in this workspace.".into(),
        ));
    }
    let (record, doc) = dashboard_doc(state, member, new.dashboard_id).await?;
    if record.status != "published" {
        return Err(Error::invalid_field(
            "dashboard_id",
            "This dashboard is a draft: publish it first, then share it.",
        ));
    }
    let open_filters = new.open_filters.unwrap_or_else(|| {
        doc.filters
            .iter()
            .map(|f| f.id.as_str().to_owned())
            .filter(|id| !new.locked_filters.contains_key(id))
            .collect()
    });
    let mut settings = LinkSettings {
        locked_filters: new.locked_filters,
        open_filters,
        display: new.display,
        embed: new.embed,
        access: new.access,
        rules: new.rules,
    };
    check_settings(&doc, new.widget_id.as_deref(), &settings)?;
    check_rules(state, &record, &settings.rules).await?;
    crate::data_permissions::carry_member_rules(state, member, &mut settings.rules).await?;
    check_embed_change(member, &EmbedPolicy::default(), &settings.embed)?;
    let label = check_label(&new.label)?;
    let now = state.now();
    let expires_at = new
        .expiry
        .resolve(now, policy_max_days(&workspace.policy))
        .map_err(|e| bad(e.to_string()))?;
    let password = new.password.filter(|p| !p.is_empty());
    if workspace.policy.password_required && password.is_none() {
        return Err(bad("Links in this workspace need a password."));
    }
    let password_hash = match password {
        Some(p) => Some(hash_password(state, &p).await?),
        None => None,
    };
    let id = LinkId::generate();
    let link = LinkRecord {
        id: id.to_text(),
        workspace_id: member.workspace_id,
        dashboard_id: new.dashboard_id,
        widget_id: new.widget_id,
        label,
        enabled: true,
        generation: 1,
        epoch: 1,
        short_digest: share::short_code_digest(&share::short_code(&state.keys.share, id, 1)),
        expires_at,
        deleted_at: None,
        password_hash,
        settings: serde_json::to_string(&settings).map_err(|e| Error::Internal(e.into()))?,
        created_by: Some(member.id),
        created_at: now,
        updated_at: now,
        view_count: 0,
    };
    state.store.create_link(&link).await?;
    audit(state, member, "link.created", &link, serde_json::json!({ "expires_at": link.expires_at.map(|t| t.unix_timestamp()), "password": link.password_hash.is_some(), "widget": link.widget_id, "confirm_email": settings.access.confirm_email, "email_domains": settings.access.email_domains })).await?;
    view(state, member, &link, &workspace, None, &mut Opened::new()).await
}

/// The title and document (when it parses) of each dashboard that `links` open, by id: the
/// settings page's list of every link. A deleted dashboard is absent.
pub async fn dashboards_of_links(
    state: &App,
    member: &Member,
    links: &[LinkView],
) -> Result<BTreeMap<DashboardId, (String, Option<Dashboard>)>, Error> {
    may_manage(member)?;
    let mut docs = BTreeMap::new();
    for record in state.store.dashboards(member.workspace_id).await? {
        if links.iter().any(|v| v.dashboard_id == record.id) {
            let doc = Dashboard::from_yaml(&record.document).ok();
            docs.insert(record.id, (record.title.clone(), doc));
        }
    }
    Ok(docs)
}

/// A workspace's links (one dashboard's with `dashboard`), with their traffic.
pub async fn list_links(
    state: &App,
    member: &Member,
    dashboard: Option<DashboardId>,
) -> Result<Vec<LinkView>, Error> {
    may_manage(member)?;
    let workspace = workspace_of(state, member.workspace_id).await?;
    state.access_log.flush().await;
    let stats: BTreeMap<String, LinkStats> = state
        .store
        .link_stats(member.workspace_id)
        .await?
        .into_iter()
        .collect();
    // Only the links of dashboards the member can see (a restricted dashboard not given to
    // them has no links for them, like it has no page).
    let access = crate::content::DashboardAccess::of(state, member).await?;
    let visible: Vec<DashboardId> = state
        .store
        .dashboards(member.workspace_id)
        .await?
        .iter()
        .filter(|d| access.can_view(member, d))
        .map(|d| d.id)
        .collect();
    let mut opened = Opened::new();
    let mut views = Vec::new();
    for link in state.store.links(member.workspace_id, dashboard).await? {
        if visible.contains(&link.dashboard_id) {
            views.push(
                view(
                    state,
                    member,
                    &link,
                    &workspace,
                    stats.get(&link.id),
                    &mut opened,
                )
                .await?,
            );
        }
    }
    Ok(views)
}

/// A link of a dashboard `member` can see (404 otherwise: another workspace's, or a
/// restricted dashboard's not given to them).
async fn owned_link(state: &App, member: &Member, id: &str) -> Result<LinkRecord, Error> {
    may_manage(member)?;
    let link = state
        .store
        .link(id)
        .await?
        .filter(|l| l.workspace_id == member.workspace_id)
        .ok_or(Error::NotFound)?;
    crate::content::visible_dashboard(state, member, link.dashboard_id).await?;
    Ok(link)
}

/// One link, with its URLs (shown again any time).
pub async fn show_link(state: &App, member: &Member, id: &str) -> Result<LinkView, Error> {
    let link = owned_link(state, member, id).await?;
    let workspace = workspace_of(state, member.workspace_id).await?;
    state.access_log.flush().await;
    let stats: BTreeMap<String, LinkStats> = state
        .store
        .link_stats(member.workspace_id)
        .await?
        .into_iter()
        .collect();
    view(
        state,
        member,
        &link,
        &workspace,
        stats.get(&link.id),
        &mut Opened::new(),
    )
    .await
}

/// Changes a link's label, expiry, password or settings. A password change kills existing
/// unlock cookies.
pub async fn update_link(
    state: &App,
    member: &Member,
    id: &str,
    changes: LinkChanges,
) -> Result<LinkView, Error> {
    may_share(member)?;
    let mut link = owned_link(state, member, id).await?;
    if link.deleted_at.is_some() {
        return Err(Error::Conflict("This link was deleted.".into()));
    }
    let workspace = workspace_of(state, member.workspace_id).await?;
    if !workspace.policy.public_links_allowed {
        return Err(Error::Conflict(
            "Public links are turned off in this workspace.".into(),
        ));
    }
    let (record, doc) = dashboard_doc(state, member, link.dashboard_id).await?;
    let mut settings = LinkSettings::of(&link)
        .map_err(|e| Error::Conflict(format!("{e}. Delete this link and create a new one.")))?;
    let embed_before = settings.embed.clone();
    let identity_before = (
        settings.access.confirm_email,
        settings.access.email_domains.clone(),
    );
    if let Some(locked) = changes.locked_filters {
        settings.locked_filters = locked;
    }
    if let Some(open) = changes.open_filters {
        settings.open_filters = open;
    }
    if let Some(display) = changes.display {
        settings.display = display;
    }
    if let Some(embed) = changes.embed {
        settings.embed = embed;
    }
    if let Some(access) = changes.access {
        settings.access = access;
    }
    if let Some(rules) = changes.rules {
        settings.rules = rules;
    }
    settings
        .open_filters
        .retain(|f| !settings.locked_filters.contains_key(f));
    check_settings(&doc, link.widget_id.as_deref(), &settings)?;
    check_rules(state, &record, &settings.rules).await?;
    crate::data_permissions::carry_member_rules(state, member, &mut settings.rules).await?;
    check_embed_change(member, &embed_before, &settings.embed)?;
    if let Some(label) = changes.label {
        link.label = check_label(&label)?;
    }
    let now = state.now();
    if let Some(expiry) = changes.expiry {
        link.expires_at = expiry
            .resolve(now, policy_max_days(&workspace.policy))
            .map_err(|e| bad(e.to_string()))?;
    }
    let mut password_changed = false;
    if changes.remove_password {
        if workspace.policy.password_required {
            return Err(bad("Links in this workspace need a password."));
        }
        password_changed = link.password_hash.take().is_some();
    }
    if let Some(password) = changes.password.filter(|p| !p.is_empty()) {
        link.password_hash = Some(hash_password(state, &password).await?);
        password_changed = true;
    }
    // Who may confirm changed: every confirmed viewer (and, with them, unlocked ones) asks again.
    let identity_changed = identity_before
        != (
            settings.access.confirm_email,
            settings.access.email_domains.clone(),
        );
    if password_changed || identity_changed {
        link.epoch += 1;
    }
    link.settings = serde_json::to_string(&settings).map_err(|e| Error::Internal(e.into()))?;
    link.updated_at = now;
    state.store.save_link(&link).await?;
    announce(state, &link).await;
    audit(
        state,
        member,
        "link.updated",
        &link,
        serde_json::json!({
            "password_changed": password_changed,
            "confirm_email": settings.access.confirm_email,
            "email_domains": settings.access.email_domains,
            "identity_changed": identity_changed,
        }),
    )
    .await?;
    view(state, member, &link, &workspace, None, &mut Opened::new()).await
}

/// Per filter of the dashboard, the widgets a lock on it cannot restrict (hidden on a link
/// that locks it, unless marked `same_for_every_audience`), by widget id: the share dialog
/// shows it next to each filter before a link is saved, and on every link that locks it, from
/// the dashboard as it is now.
pub async fn lock_coverage(
    state: &App,
    member: &Member,
    dashboard: DashboardId,
) -> Result<BTreeMap<String, Vec<String>>, Error> {
    may_manage(member)?;
    let (_, ctx) = crate::content::open_dashboard(state, member, dashboard).await?;
    Ok(crate::dashboards::lock_coverage(&ctx.document, |slug| {
        ctx.dataset_columns(slug)
    }))
}

/// The lifecycle operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// Turn off; the URL is kept.
    Disable,
    /// Turn back on, same URL.
    Enable,
    /// New URL and short link; the old ones die.
    Rotate,
    /// Stop for good; the history stays.
    Delete,
}

/// Applies a lifecycle operation. Every one of them kills unlock cookies.
pub async fn act_on_link(
    state: &App,
    member: &Member,
    id: &str,
    action: LinkAction,
) -> Result<LinkView, Error> {
    let mut link = owned_link(state, member, id).await?;
    if action != LinkAction::Disable && action != LinkAction::Delete {
        may_share(member)?;
    }
    if link.deleted_at.is_some() {
        return Err(Error::Conflict("This link was deleted.".into()));
    }
    let workspace = workspace_of(state, member.workspace_id).await?;
    let now = state.now();
    let name = match action {
        LinkAction::Disable => {
            link.enabled = false;
            "link.disabled"
        }
        LinkAction::Enable => {
            if !workspace.policy.public_links_allowed {
                return Err(Error::Conflict(
                    "Public links are turned off in this workspace.".into(),
                ));
            }
            link.enabled = true;
            "link.enabled"
        }
        LinkAction::Rotate => {
            link.generation += 1;
            let id = link_id(&link)?;
            link.short_digest = share::short_code_digest(&share::short_code(
                &state.keys.share,
                id,
                link.generation,
            ));
            "link.rotated"
        }
        LinkAction::Delete => {
            link.enabled = false;
            link.deleted_at = Some(now);
            "link.deleted"
        }
    };
    link.epoch += 1;
    link.updated_at = now;
    state.store.save_link(&link).await?;
    announce(state, &link).await;
    audit(
        state,
        member,
        name,
        &link,
        serde_json::json!({ "generation": link.generation }),
    )
    .await?;
    view(state, member, &link, &workspace, None, &mut Opened::new()).await
}

/// A link's access history, newest first.
pub async fn link_events(
    state: &App,
    member: &Member,
    id: &str,
    limit: i64,
) -> Result<Vec<vitrine_store::AccessEvent>, Error> {
    let link = owned_link(state, member, id).await?;
    state.access_log.flush().await;
    Ok(state
        .store
        .access_events(&link.id, limit.clamp(1, 1000))
        .await?)
}

// ---- policy ------------------------------------------------------------------------------

/// The workspace's link policy, as the API shows and takes it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = LinkPolicy)]
#[serde(deny_unknown_fields)]
pub struct PolicyView {
    /// Public links may be created.
    pub public_links_allowed: bool,
    /// The longest a link may live, in days (none: no limit).
    #[schema(minimum = 1, maximum = 3650)]
    pub max_link_days: Option<i64>,
    /// New links need a password.
    pub password_required: bool,
    /// The line on the "no longer active" page.
    #[schema(max_length = 200)]
    pub contact_line: String,
    /// The footer under shared dashboards.
    #[schema(max_length = 100)]
    pub footer: String,
    /// Whether the workspace is suspended (read-only here; see suspend / resume).
    #[serde(default)]
    pub suspended: bool,
}

/// The policy.
pub async fn policy(state: &App, member: &Member) -> Result<PolicyView, Error> {
    may_manage(member)?;
    let w = workspace_of(state, member.workspace_id).await?;
    Ok(PolicyView {
        public_links_allowed: w.policy.public_links_allowed,
        max_link_days: w.policy.max_link_days,
        password_required: w.policy.password_required,
        contact_line: w.policy.contact_line,
        footer: w.policy.footer,
        suspended: w.suspended_at.is_some(),
    })
}

/// Replaces the policy (admins). Existing links keep their settings; the policy applies to
/// what is created or changed from now on.
pub async fn set_policy(
    state: &App,
    member: &Member,
    new: PolicyView,
) -> Result<PolicyView, Error> {
    if !member.actor().is_admin() {
        return Err(Error::Forbidden);
    }
    if new.max_link_days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(bad("The longest expiry must be 1 to 3650 days."));
    }
    if new.contact_line.chars().count() > 200 || new.footer.chars().count() > 100 {
        return Err(bad(
            "The contact line is at most 200 characters and the footer 100.",
        ));
    }
    let policy = LinkPolicy {
        public_links_allowed: new.public_links_allowed,
        max_link_days: new.max_link_days,
        password_required: new.password_required,
        contact_line: new.contact_line.trim().to_owned(),
        footer: new.footer.trim().to_owned(),
    };
    state
        .store
        .set_link_policy(member.workspace_id, &policy)
        .await?;
    workspace_audit(state, member, "workspace.policy_changed", serde_json::json!({ "public_links_allowed": policy.public_links_allowed, "max_link_days": policy.max_link_days, "password_required": policy.password_required })).await?;
    self::policy(state, member).await
}

/// Suspends (every link answers "no longer active") or resumes the workspace (admins).
pub async fn set_suspended(
    state: &App,
    member: &Member,
    suspended: bool,
) -> Result<PolicyView, Error> {
    if !member.actor().is_admin() {
        return Err(Error::Forbidden);
    }
    state
        .store
        .set_suspended(member.workspace_id, suspended.then(|| state.now()))
        .await?;
    state
        .live
        .publish(&*state.store, HubChange::Workspace(member.workspace_id))
        .await;
    let action = if suspended {
        "workspace.suspended"
    } else {
        "workspace.resumed"
    };
    workspace_audit(state, member, action, serde_json::json!({})).await?;
    policy(state, member).await
}

/// Tells the link's open live streams, on every instance, to check it again: a disable, a
/// rotation, a password or settings change closes or reloads them within a second.
async fn announce(state: &App, link: &LinkRecord) {
    state
        .live
        .publish(&*state.store, HubChange::Link(link.id.clone()))
        .await;
}

async fn workspace_audit(
    state: &App,
    member: &Member,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), Error> {
    let acting = crate::accounts::Acting::member(member);
    let target = format!("workspace:{}", member.workspace_id);
    crate::accounts::audit(state, member.workspace_id, &acting, action, target, detail).await
}

// ---- the outsider's side -----------------------------------------------------------------

/// What a token or short code leads to. Built only from the store, on every request.
#[derive(Debug)]
pub enum Resolution {
    /// Unknown, malformed or forged: a 404 that says nothing.
    NotFound,
    /// A real link that does not open now: a 410.
    Gone {
        /// The link.
        link: Box<LinkRecord>,
        /// Its workspace (for the contact line).
        workspace: Box<Workspace>,
        /// Why.
        reason: Inaccessible,
    },
    /// A link that opens.
    Open {
        /// The link.
        link: Box<LinkRecord>,
        /// Its workspace.
        workspace: Box<Workspace>,
    },
}

async fn resolve_record(state: &App, link: LinkRecord) -> Result<Resolution, Error> {
    let Some(workspace) = state.store.workspace(link.workspace_id).await? else {
        return Ok(Resolution::NotFound);
    };
    Ok(classify(state, link, workspace))
}

/// [`resolve_token`], with the head of the link's dashboard (`None` when it is gone), reading
/// the link, its workspace and its dashboard's head in one store round trip ([`vitrine_store::ShareLinkStore::link_gate`]).
/// The outsider gate's path: every request, no cache.
pub async fn resolve_token_with_dashboard(
    state: &App,
    token: &str,
) -> Result<(Resolution, Option<vitrine_store::DashboardHead>), Error> {
    let Some(claimed) = share::parse_token(token) else {
        return Ok((Resolution::NotFound, None));
    };
    let Some((link, workspace, dashboard)) = state.store.link_gate(&claimed.id.to_text()).await?
    else {
        return Ok((Resolution::NotFound, None));
    };
    if !claimed.verify(&state.keys.share, link.generation) {
        return Ok((Resolution::NotFound, None));
    }
    let Some(workspace) = workspace else {
        return Ok((Resolution::NotFound, None));
    };
    Ok((classify(state, link, workspace), dashboard))
}

fn classify(state: &App, link: LinkRecord, workspace: Workspace) -> Resolution {
    match link.status(&workspace).accessible(state.now()) {
        Ok(()) => Resolution::Open {
            link: Box::new(link),
            workspace: Box::new(workspace),
        },
        Err(reason) => Resolution::Gone {
            link: Box::new(link),
            workspace: Box::new(workspace),
            reason,
        },
    }
}

/// Resolves a `/share/{token}` token: parsed without trusting it, looked up by the id it
/// claims, then its tag checked in constant time against the link's current generation.
pub async fn resolve_token(state: &App, token: &str) -> Result<Resolution, Error> {
    let Some(claimed) = share::parse_token(token) else {
        return Ok(Resolution::NotFound);
    };
    let Some(link) = state.store.link(&claimed.id.to_text()).await? else {
        return Ok(Resolution::NotFound);
    };
    if !claimed.verify(&state.keys.share, link.generation) {
        return Ok(Resolution::NotFound);
    }
    resolve_record(state, link).await
}

/// Resolves a `/s/{code}` short code.
pub async fn resolve_short_code(state: &App, code: &str) -> Result<Resolution, Error> {
    if !share::is_short_code(code) {
        return Ok(Resolution::NotFound);
    }
    match state
        .store
        .link_by_short_digest(&share::short_code_digest(code))
        .await?
    {
        Some(link) => resolve_record(state, link).await,
        None => Ok(Resolution::NotFound),
    }
}

/// Whether `password` opens `link` (checked in the outsiders' hashing lane).
pub async fn check_link_password(
    state: &App,
    link: &LinkRecord,
    password: &str,
) -> Result<bool, Error> {
    state
        .passwords
        .verify_in(
            crate::passwords::Lane::Outsiders,
            &Password::new(password),
            link.password_hash.as_deref(),
        )
        .await
}

/// Every locked value must still fit its filter: a filter whose kind changed (a region locked
/// to `EMEA` that became a number range) or a value out of the accepted range refuses the
/// link rather than compiling something else.
fn check_locks(doc: &Dashboard, settings: &LinkSettings) -> Result<(), String> {
    for (id, value) in &settings.locked_filters {
        let Some(filter) = doc.filter(id) else {
            return Err(format!(
                "the locked filter “{id}” is not on the dashboard any more"
            ));
        };
        if let Err(e) = value.validate(filter.kind) {
            return Err(format!(
                "the locked value of the filter “{id}” no longer fits it ({e})"
            ));
        }
    }
    Ok(())
}

/// The restrictions a link's settings put on its dashboard: every locked filter as rules on
/// every dataset it can cover, and its row-level rules ([`Restrictions::build`]).
pub fn link_restrictions(
    ctx: &DashboardContext,
    settings: &LinkSettings,
    today: time::Date,
) -> Result<Restrictions, RestrictionError> {
    let doc = &ctx.document;
    let mut sources = Vec::new();
    for (id, value) in &settings.locked_filters {
        let filter = doc.filter(id).ok_or_else(|| {
            RestrictionError(format!("the locked filter “{id}” is not on the dashboard"))
        })?;
        sources.push(Restriction::Lock { filter, value });
    }
    for rule in &settings.rules {
        sources.push(Restriction::Rule {
            rule,
            dataset: rule.dataset.as_deref(),
        });
    }
    Restrictions::build(doc, |slug| ctx.dataset_columns(slug), &sources, today)
}

/// What restricts every query a link with `settings` runs on its dashboard `ctx`, or why the
/// link cannot be served (in the owner's words): every lock must still fit its filter
/// ([`check_locks`]) and, with the row-level rules, become [`Restrictions`]. The outsider
/// gate refuses with 503 on `Err`; the owner's view of the link shows it as its `problem`.
pub(crate) fn serving_restrictions(
    ctx: &DashboardContext,
    settings: &LinkSettings,
    today: time::Date,
) -> Result<Restrictions, String> {
    check_locks(&ctx.document, settings)?;
    link_restrictions(ctx, settings, today).map_err(|e| e.to_string())
}
