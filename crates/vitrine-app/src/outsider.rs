//! What an outsider's request may see.
//!
//! The HTTP front door's outsider router (`/share/{token}`, `/s/{code}`) is thin: it reads the
//! token, the cookies and the query, calls this module, and writes what it says as a page.
//! Everything that decides lives here:
//!
//! - **A capability, not an `if`.** [`open_link`] resolves a token against the store on every
//!   request (no cache: a revoked link dies on the very next request). Only an accessible link
//!   whose password, if any, was proven by a valid unlock cookie becomes a [`ShareAccess`]; its
//!   fields are private to this module and it is the only way a front door reaches dashboard
//!   data for an outsider. It holds exactly one [`DashboardContext`], built from the link's own
//!   dashboard in the link's own workspace, so a widget id is looked up in that dashboard only.
//! - **The view is rebuilt, never trusted.** [`outsider_view`] parses the viewer's query, keeps
//!   the choices of the link's *open* filters only, then writes the *locked* values over them,
//!   so `?f.region=AMER` cannot undo a lock to EMEA. A lock that no longer fits its dashboard
//!   fails closed ([`Error::Unavailable`]) instead of showing unfiltered data.
//! - **Every attempt is an access event** ([`record`]), also counted in `/metrics`, with a
//!   keyed hash of the client address, a coarse client class and, when known, a country.
//! - **Wrong passwords are throttled** per client address (IPv6 by /64) on each link, and per
//!   link past a ceiling that slows everyone rather than locking new viewers out. Each attempt
//!   is reserved in the store before its password is hashed ([`crate::attempts`]), so the
//!   limits hold under concurrency and across instances ([`unlock`]).
//! - **Identified links** ask their viewers to confirm an e-mail address with a one-time code
//!   ([`crate::identified`]); the gate then wants a valid viewer cookie ([`Gate::Unconfirmed`]
//!   until it has one), after the password when the link has both, and the confirmed address
//!   rides on the [`ShareAccess`] into every access event it records.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use vitrine_core::dashboard::Dashboard;
use vitrine_core::keys::SubKey;
use vitrine_core::share::{self, LinkId};
use vitrine_render::Theme;
use vitrine_store::{AccessEvent, AttemptLimit, DashboardHead, LinkRecord, Pace, Workspace};

use crate::attempts::Attempt;
use crate::dashboards::{DashboardContext, Restrictions, ViewState, parse_view_query};
use crate::limits::{LinkCaps, StreamPermit};
use crate::links::{self, LinkSettings, LinkTheme, Resolution, serving_restrictions};
use crate::{App, Error};

/// Wrong passwords from one client address (an IPv6 /64) on one link within
/// [`THROTTLE_WINDOW`] before it is refused.
pub const MAX_BAD_PASSWORDS_PER_CLIENT: i64 = 5;
/// Wrong passwords from everyone on one link within [`THROTTLE_WINDOW`] before the link slows
/// down to one evaluated attempt per [`LINK_PACE`] (it never locks new viewers out).
pub const MAX_BAD_PASSWORDS_PER_LINK: i64 = 50;
/// Past [`MAX_BAD_PASSWORDS_PER_LINK`], at most one unsuccessful attempt per link this often.
pub const LINK_PACE: Duration = Duration::seconds(2);
/// The window over which wrong passwords are counted (in the access log, so across instances).
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);
/// How long an unlock cookie lasts.
pub const UNLOCK_TTL: Duration = Duration::hours(12);
/// The unlock cookie's name is this followed by the link id.
pub const UNLOCK_COOKIE_PREFIX: &str = "vitrine_unlock_";
/// The view pass cookie's name is this followed by the link id.
pub const VIEW_PASS_COOKIE_PREFIX: &str = "vitrine_view_";
/// How long a view pass lasts: the page it came with keeps working this long after the link's
/// last admitted view.
pub const VIEW_PASS_TTL: Duration = Duration::hours(12);
/// The viewer cookie's name (an identified viewer's confirmed address) is this followed by the
/// link id.
pub const VIEWER_COOKIE_PREFIX: &str = "vitrine_viewer_";
/// How long a confirmed address lasts on one browser.
pub const VIEWER_TTL: Duration = Duration::hours(12);

// ---- who is asking -------------------------------------------------------------------------

/// What the access log records about the requester.
#[derive(Debug, Clone)]
pub struct Requester {
    ip: Option<IpAddr>,
    client: String,
    throttle: String,
    client_class: &'static str,
    country: Option<String>,
}

impl Requester {
    /// The requester at `ip` with this `User-Agent`; `country_header` is the value of the
    /// trusted proxy's country header, when one is configured ([`crate::geo::Geo::header_name`]).
    pub fn new(
        app: &App,
        ip: Option<IpAddr>,
        user_agent: &str,
        country_header: Option<&str>,
    ) -> Self {
        Self {
            ip,
            client: crate::accounts::client_key(app, ip),
            throttle: crate::attempts::client_scope(app, ip),
            client_class: client_class(user_agent),
            country: app.geo.country(country_header, ip),
        }
    }
}

impl Requester {
    /// The country, when known.
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    /// `bot`, `mobile`, `desktop` or `other`.
    pub fn client_class(&self) -> &'static str {
        self.client_class
    }

    /// The keyed hash of the client address.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// The keyed hash a throttle counts the client address under (an IPv6 /64).
    pub fn throttle(&self) -> &str {
        &self.throttle
    }
}

/// A coarse class of client from its User-Agent: `bot`, `mobile`, `desktop` or `other`.
pub fn client_class(user_agent: &str) -> &'static str {
    let ua = user_agent.to_ascii_lowercase();
    const BOTS: [&str; 12] = [
        "bot",
        "crawl",
        "spider",
        "slurp",
        "preview",
        "curl/",
        "wget/",
        "python",
        "go-http-client",
        "headlesschrome",
        "java/",
        "okhttp",
    ];
    if ua.is_empty() {
        "other"
    } else if BOTS.iter().any(|b| ua.contains(b)) {
        "bot"
    } else if ["mobi", "android", "iphone", "ipad", "ipod"]
        .iter()
        .any(|m| ua.contains(m))
    {
        "mobile"
    } else if ["windows", "macintosh", "x11", "linux", "cros"]
        .iter()
        .any(|d| ua.contains(d))
    {
        "desktop"
    } else {
        "other"
    }
}

/// The footer outsiders' pages show when no link is known (an unknown token): the instance's
/// workspace's, so that a 404 for a forged token looks like any other. Empty when the store
/// does not answer.
pub async fn public_footer(app: &App) -> String {
    match app.store.default_workspace().await {
        Ok(Some(workspace)) => workspace.policy.footer,
        _ => String::new(),
    }
}

/// Records one access event (and counts it in `/metrics`): a plain view (`ok`) in the next
/// batch of the access log, anything else before returning.
pub async fn record(
    app: &App,
    who: &Requester,
    link: Option<&LinkRecord>,
    outcome: &str,
) -> Result<(), Error> {
    record_as(app, who, link, outcome, None).await
}

/// Records one access event of an identified viewer whose address `viewer` is confirmed.
pub async fn record_as(
    app: &App,
    who: &Requester,
    link: Option<&LinkRecord>,
    outcome: &str,
    viewer: Option<&str>,
) -> Result<(), Error> {
    app.metrics.link_access(outcome);
    let event = AccessEvent {
        workspace_id: link.map(|l| l.workspace_id),
        link_id: link.map(|l| l.id.clone()),
        at: app.now(),
        outcome: outcome.to_owned(),
        country: who.country.clone(),
        client_class: who.client_class.to_owned(),
        client: who.client.clone(),
        viewer: viewer.map(str::to_owned),
    };
    if outcome == "ok" {
        // A plain view: nothing that limits anyone reads it back, so it joins the next
        // batch ([`crate::access_log`]). Refusals and everything else are written now.
        app.access_log.record_view(event).await?;
    } else {
        // Views this instance answered before this event are written first, so the log keeps
        // the order things happened in even where two events share a millisecond.
        app.access_log.flush().await;
        app.store.record_access(&event).await?;
    }
    Ok(())
}

/// Records one access event of an open capability: a share link's, or an embedded view's
/// with its embedding, grant and the host's username.
pub async fn record_access(
    app: &App,
    who: &Requester,
    access: &ShareAccess,
    outcome: &str,
) -> Result<(), Error> {
    match access.guest() {
        Some(g) => record_guest(app, who, Some(&g.embedding), Some(&g.grant), outcome).await,
        None => record_as(app, who, Some(&access.link), outcome, access.viewer()).await,
    }
}

/// Records an embedded request (or its refusal) as an access event: its link is the embed id,
/// with the grant and the host's `user.username` as given.
pub async fn record_guest(
    app: &App,
    who: &Requester,
    embedding: Option<&vitrine_store::EmbeddingRecord>,
    grant: Option<&vitrine_store::GuestGrantRecord>,
    outcome: &str,
) -> Result<(), Error> {
    app.metrics.link_access(outcome);
    app.store
        .record_embed_access(&vitrine_store::EmbedAccess {
            event: AccessEvent {
                workspace_id: embedding.map(|e| e.workspace_id),
                link_id: embedding.map(|e| e.id.clone()),
                at: app.now(),
                outcome: outcome.to_owned(),
                country: who.country.clone(),
                client_class: who.client_class.to_owned(),
                client: who.client.clone(),
                viewer: None,
            },
            grant_id: grant.map(|g| g.id.clone()),
            username: grant.map(|g| g.username.clone()),
        })
        .await?;
    Ok(())
}

// ---- the capability --------------------------------------------------------------------------

/// A link that opens for this request: the read-only handle every outsider page is built from.
/// Only [`open_link`] makes one — from a token the store resolved to an accessible link whose
/// password, if it has one, an unlock cookie proved — and its fields are private to this module.
#[derive(Debug)]
pub struct ShareAccess {
    link: LinkRecord,
    settings: LinkSettings,
    workspace: Workspace,
    ctx: Arc<DashboardContext>,
    restrictions: Restrictions,
    /// The request carried a valid view pass for this link.
    view_pass: bool,
    /// An embedded request: the guest grant it was opened with.
    guest: Option<Box<crate::guests::GuestInfo>>,
    /// An identified link: the address the viewer confirmed.
    viewer: Option<String>,
    /// When the earliest of the cookies this request needed to get in (unlock cookie, viewer
    /// cookie, view pass of a used-up link) stops working; `None` when it needed none.
    admitted_until: Option<OffsetDateTime>,
}

impl ShareAccess {
    /// The capability of an open guest grant ([`crate::embedding::open_guest`] only): the
    /// embedding in a share link's words, its rules as `restrictions`.
    pub(crate) fn for_guest(
        link: LinkRecord,
        settings: LinkSettings,
        workspace: Workspace,
        ctx: Arc<DashboardContext>,
        restrictions: Restrictions,
        guest: crate::guests::GuestInfo,
    ) -> Self {
        Self {
            link,
            settings,
            workspace,
            ctx,
            restrictions,
            view_pass: false,
            guest: Some(Box::new(guest)),
            viewer: None,
            // A guest grant's expiry is watched by its own guard ([`crate::embedding`]).
            admitted_until: None,
        }
    }

    /// When the earliest credential this request was admitted with stops working: the unlock
    /// cookie of a password link, the viewer cookie of an identified link, the view pass of a
    /// link whose views are used up. `None` when the link needed none. A live stream opened
    /// with them must end then: a cookie lasts 12 hours, a stream could otherwise last forever.
    pub fn admitted_until(&self) -> Option<OffsetDateTime> {
        self.admitted_until
    }

    /// The address the viewer confirmed, on a link that asks for one.
    pub fn viewer(&self) -> Option<&str> {
        self.viewer.as_deref()
    }

    /// The guest grant of an embedded request.
    pub fn guest(&self) -> Option<&crate::guests::GuestInfo> {
        self.guest.as_deref()
    }

    /// The link.
    pub fn link(&self) -> &LinkRecord {
        &self.link
    }

    /// What the link lets outsiders see and change.
    pub fn settings(&self) -> &LinkSettings {
        &self.settings
    }

    /// The link's workspace (its footer and contact line).
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The link's dashboard, ready to run.
    pub fn context(&self) -> &Arc<DashboardContext> {
        &self.ctx
    }

    /// The one widget a widget link shows, if it is one.
    pub fn only_widget(&self) -> Option<&str> {
        self.link.widget_id.as_deref()
    }

    /// Whether `widget_id` may be asked for through this link: any widget of its dashboard,
    /// or only its own for a widget link.
    pub fn may_show_widget(&self, widget_id: &str) -> bool {
        self.only_widget().is_none_or(|own| own == widget_id)
    }

    /// The view this request shows: [`outsider_view`] of the viewer's `query`. Nothing is
    /// admitted: routes that run queries use [`admit_view`].
    pub fn view(&self, display: &Display, query: &str) -> ViewState {
        outsider_view(&self.ctx.document, &self.settings, display, query)
    }

    /// The link's cost caps: its access policy's where set, the instance's otherwise.
    pub fn caps(&self, app: &App) -> LinkCaps {
        let defaults = app.limits.caps();
        let a = &self.settings.access;
        LinkCaps {
            link_live_viewers: a.max_live_viewers.unwrap_or(defaults.link_live_viewers),
            client_live_viewers: a
                .max_live_viewers_per_client
                .unwrap_or(defaults.client_live_viewers),
            link_new_views_per_minute: a
                .max_new_views_per_minute
                .unwrap_or(defaults.link_new_views_per_minute),
            client_new_views_per_minute: a
                .max_new_views_per_minute_per_client
                .unwrap_or(defaults.client_new_views_per_minute),
        }
    }

    /// The display this request asks for within what the link allows (an embedding's saved
    /// UI configuration included).
    pub fn display(&self, query: &str) -> Display {
        let mut display = display_of(&self.settings, query);
        if let Some(guest) = self.guest() {
            display.filters_expanded &= guest.settings.ui.filters_expanded;
        }
        display
    }

    /// What restricts every query this link runs: its locks as rules on every dataset they
    /// can cover, and the widgets they cannot (not shown).
    pub fn restrictions(&self) -> &Restrictions {
        &self.restrictions
    }
}

/// How a token resolved for this request.
#[derive(Debug)]
pub enum Gate {
    /// Unknown or forged.
    NotFound,
    /// A real link that does not open now (or whose dashboard is gone), and why.
    Gone(Box<LinkRecord>, Box<Workspace>, &'static str),
    /// Open, but the password has not been given.
    Locked(Box<LinkRecord>, Box<Workspace>),
    /// Open (and unlocked, if it has a password), but the viewer has not confirmed an e-mail
    /// address yet.
    Unconfirmed(Box<LinkRecord>, Box<Workspace>),
    /// The client's address is not on the link's allowlist: answered like an unknown token,
    /// recorded as `not_allowed`.
    NotAllowed(Box<LinkRecord>),
    /// Open.
    Open(Box<ShareAccess>),
}

impl Gate {
    /// The access-event outcome of a refusal (`None` when the link opens or only asks for its
    /// password).
    pub fn refusal(&self) -> Option<&'static str> {
        match self {
            Gate::NotFound => Some("not_found"),
            Gate::Gone(_, _, reason) => Some(reason),
            Gate::NotAllowed(_) => Some("not_allowed"),
            Gate::Locked(..) | Gate::Unconfirmed(..) | Gate::Open(_) => None,
        }
    }

    /// The link the gate is about, when the token named a real one.
    pub fn link(&self) -> Option<&LinkRecord> {
        match self {
            Gate::NotFound => None,
            Gate::Gone(link, ..)
            | Gate::Locked(link, _)
            | Gate::Unconfirmed(link, _)
            | Gate::NotAllowed(link) => Some(link),
            Gate::Open(access) => Some(&access.link),
        }
    }
}

/// The name of a link's unlock cookie.
pub fn unlock_cookie_name(link: &LinkRecord) -> String {
    format!("{UNLOCK_COOKIE_PREFIX}{}", link.id)
}

/// The name of a link's viewer cookie (the confirmed address of an identified viewer).
pub fn viewer_cookie_name(link: &LinkRecord) -> String {
    format!("{VIEWER_COOKIE_PREFIX}{}", link.id)
}

/// The address a viewer cookie confirmed for this state of `link` (its generation, epoch and
/// allowed domains), if it is valid now.
pub fn confirmed_viewer(
    app: &App,
    link: &LinkRecord,
    settings: &LinkSettings,
    cookie: Option<&str>,
) -> Option<String> {
    confirmed_viewer_until(app, link, settings, cookie).map(|(address, _)| address)
}

/// [`confirmed_viewer`], with when the viewer cookie stops working.
fn confirmed_viewer_until(
    app: &App,
    link: &LinkRecord,
    settings: &LinkSettings,
    cookie: Option<&str>,
) -> Option<(String, OffsetDateTime)> {
    let id = LinkId::parse(&link.id)?;
    let state = vitrine_core::identified::LinkState {
        id,
        generation: link.generation,
        epoch: link.epoch,
        domains: &settings.access.email_domains,
    };
    vitrine_core::identified::viewer_cookie_with_expiry(
        &app.keys.viewer,
        &state,
        cookie?,
        app.now(),
    )
}

/// The name of a link's view pass cookie.
pub fn view_pass_cookie_name(link: &LinkRecord) -> String {
    format!("{VIEW_PASS_COOKIE_PREFIX}{}", link.id)
}

/// When `cookie` stops working, if it is a valid signature by `key` for this state of `link`
/// now (an unlock cookie or a view pass: both are bound to the link's id, generation and
/// epoch, and expire).
fn signed_until(
    app: &App,
    key: &SubKey,
    link: &LinkRecord,
    cookie: Option<&str>,
) -> Option<OffsetDateTime> {
    let id = LinkId::parse(&link.id)?;
    share::unlock_cookie_expiry(key, id, link.generation, link.epoch, cookie?, app.now())
}

/// Why a link whose token and state are fine still does not open because of its dashboard:
/// deleted under it (`not_found`) or set back to draft (`draft`), both answered 410.
fn dashboard_refusal(dashboard: Option<&DashboardHead>) -> Option<&'static str> {
    match dashboard {
        // The dashboard was deleted under the link: as good as gone.
        None => Some("not_found"),
        // Set back to draft: its in-progress saves are nobody's business outside.
        Some(record) if record.status != "published" => Some("draft"),
        Some(_) => None,
    }
}

/// Resolves `token` for this request from `who`. `cookie` looks a cookie up by name in the
/// request (the link's unlock cookie and view pass are named by [`unlock_cookie_name`] and
/// [`view_pass_cookie_name`]).
///
/// In order: the token against the store (404 / 410), the link's stored settings (unreadable:
/// [`Error::Unavailable`], never the defaults), the client allowlist, the dashboard (gone or
/// a draft: 410, before any prompt, so a draft's link neither asks for its password nor mails
/// a code), the password, the confirmed e-mail address of an identified link (its viewer
/// cookie), the view limit (used up and no view pass: 410 `view_limit`), then the locks, which
/// must still fit and become [`Restrictions`] (else [`Error::Unavailable`]).
pub async fn open_link(
    app: &App,
    token: &str,
    who: &Requester,
    cookie: impl Fn(&str) -> Option<String>,
) -> Result<Gate, Error> {
    let unlocked = match unlocked_link(app, token, who, &cookie).await? {
        Ok(found) => found,
        Err(gate) => return Ok(gate),
    };
    let UnlockedLink {
        link,
        workspace,
        settings,
        dashboard: head,
        unlocked_until,
    } = unlocked;
    let mut admitted_until = unlocked_until;
    let viewer = if settings.access.confirm_email {
        let confirmed = confirmed_viewer_until(
            app,
            &link,
            &settings,
            cookie(&viewer_cookie_name(&link)).as_deref(),
        );
        match confirmed {
            Some((address, until)) => {
                admitted_until = earliest(admitted_until, Some(until));
                Some(address)
            }
            None => return Ok(Gate::Unconfirmed(link, workspace)),
        }
    } else {
        None
    };
    let view_pass_until = signed_until(
        app,
        &app.keys.view_pass,
        &link,
        cookie(&view_pass_cookie_name(&link)).as_deref(),
    );
    let view_pass = view_pass_until.is_some();
    let used_up = settings
        .access
        .max_views
        .is_some_and(|max| link.view_count >= i64::from(max));
    if used_up {
        if !view_pass {
            return Ok(Gate::Gone(link, workspace, "view_limit"));
        }
        // Past the last view only the view pass lets this page in.
        admitted_until = earliest(admitted_until, view_pass_until);
    }
    // The gate read the dashboard's head and the workspace's content revision with the link:
    // a context built from that revision under that content revision is reused without
    // reading the document or the datasets again ([`crate::dashboards::ContextCache::kept_for`]).
    let ctx = match app.contexts.kept_for(&head, workspace.content_revision) {
        Some(ctx) => ctx,
        None => {
            // The document, read after the content revision was: the dashboard may have been
            // deleted or set back to draft since the gate's read, refused as the gate refuses.
            let record = app.store.dashboard(head.workspace_id, head.id).await?;
            let now = record.as_ref().map(DashboardHead::of);
            if let Some(reason) = dashboard_refusal(now.as_ref()) {
                return Ok(Gate::Gone(link, workspace, reason));
            }
            let Some(record) = record else {
                return Ok(Gate::Gone(link, workspace, "not_found"));
            };
            crate::content::dashboard_context_under(app, &record, Some(workspace.content_revision))
                .await?
        }
    };
    let restrictions = serving_restrictions(&ctx, &settings, app.now().date()).map_err(|e| {
        tracing::warn!(link = %link.id, error = %e, "a share link's locks cannot restrict its dashboard; refusing to serve it");
        Error::Unavailable(format!("link restrictions: {e}"))
    })?;
    Ok(Gate::Open(Box::new(ShareAccess {
        link: *link,
        settings,
        workspace: *workspace,
        ctx,
        restrictions,
        view_pass,
        guest: None,
        viewer,
        admitted_until,
    })))
}

/// The earlier of two optional instants (`None` is "never").
fn earliest(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The first steps of [`open_link`]: the token, the settings, the allowlist, the dashboard
/// (gone or a draft: 410) and the password. `Err` is the gate of a request that stops there.
pub(crate) async fn unlocked_link(
    app: &App,
    token: &str,
    who: &Requester,
    cookie: &impl Fn(&str) -> Option<String>,
) -> Result<Result<UnlockedLink, Gate>, Error> {
    // The link, its workspace and its dashboard: one store round trip, on every request.
    let (resolution, dashboard) = links::resolve_token_with_dashboard(app, token).await?;
    let (link, workspace) = match resolution {
        Resolution::NotFound => return Ok(Err(Gate::NotFound)),
        Resolution::Gone {
            link,
            workspace,
            reason,
        } => return Ok(Err(Gate::Gone(link, workspace, reason.as_str()))),
        Resolution::Open { link, workspace } => (link, workspace),
    };
    let settings = LinkSettings::of(&link).inspect_err(|e| {
        tracing::warn!(link = %link.id, error = %e, "refusing to serve a share link");
    })?;
    if !settings.access.allows(who.ip) {
        return Ok(Err(Gate::NotAllowed(link)));
    }
    // Before any prompt: a draft's (or a deleted dashboard's) link asks for no password and
    // mails no code; outside the allowlist it stays a plain 404 (above).
    if let Some(reason) = dashboard_refusal(dashboard.as_ref()) {
        return Ok(Err(Gate::Gone(link, workspace, reason)));
    }
    let Some(dashboard) = dashboard else {
        return Ok(Err(Gate::Gone(link, workspace, "not_found")));
    };
    let unlocked_until = if link.password_hash.is_some() {
        match signed_until(
            app,
            &app.keys.unlock,
            &link,
            cookie(&unlock_cookie_name(&link)).as_deref(),
        ) {
            Some(until) => Some(until),
            None => return Ok(Err(Gate::Locked(link, workspace))),
        }
    } else {
        None
    };
    Ok(Ok(UnlockedLink {
        link,
        workspace,
        settings,
        dashboard,
        unlocked_until,
    }))
}

/// A link that opens for this request so far (its allowlist, dashboard and password passed).
#[derive(Debug)]
pub(crate) struct UnlockedLink {
    /// The link.
    pub link: Box<LinkRecord>,
    /// Its workspace.
    pub workspace: Box<Workspace>,
    /// Its settings.
    pub settings: LinkSettings,
    /// Its dashboard's head, published (the gate does not read the document).
    pub dashboard: DashboardHead,
    /// When the unlock cookie of a password link stops working.
    pub unlocked_until: Option<OffsetDateTime>,
}

/// The display and view of an outsider's request that runs queries (the page, a card, the
/// live stream, a download), admitted against the link's cost caps ([`crate::limits`]): a view
/// served lately is always answered from the cache; a new one past a cap is
/// [`Error::Throttled`] ("try again shortly").
pub fn admit_view(
    app: &App,
    access: &ShareAccess,
    who: &Requester,
    query: &str,
) -> Result<(Display, ViewState), Error> {
    let display = access.display(query);
    let view = access.view(&display, query);
    let key = view_key(access, &view);
    let remember = Duration::seconds(i64::from(access.ctx.document.refresh_seconds.max(1)));
    app.limits
        .admit_view(
            (&access.link.id, &who.client),
            key,
            access.caps(app),
            remember,
            app.now(),
        )
        .map_err(|limited| Error::Throttled {
            retry_after: limited.retry_after,
        })?;
    Ok((display, view))
}

/// What identifies a view's queries: the dashboard's revision and the filter values (a
/// table's sort and page, the theme, reuse the same results).
fn view_key(access: &ShareAccess, view: &ViewState) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    access.ctx.revision.hash(&mut h);
    format!("{:?}", view.filters).hash(&mut h);
    h.finish()
}

/// Counts one open live stream of `access` by `who` while the permit lives; refused past the
/// link's caps ([`Error::Busy`]: the page polls instead).
pub fn open_stream(
    app: &App,
    access: &ShareAccess,
    who: &Requester,
) -> Result<StreamPermit, Error> {
    app.limits
        .open_stream((&access.link.id, &who.client), access.caps(app))
        .map_err(|limited| Error::Busy {
            retry_after: limited.retry_after,
        })
}

/// What a page view of an open link came to.
#[derive(Debug)]
pub enum PageView {
    /// Admitted and recorded as a view (`ok`). With a view limit, the view pass to set, so the
    /// page keeps working after the link's last view.
    Admitted {
        /// The view pass cookie's value, valid for [`VIEW_PASS_TTL`].
        view_pass: Option<String>,
    },
    /// The link's views are used up (someone else took the last one): 410 `view_limit`.
    UsedUp,
}

/// Admits and records one page view of `access`. A link with a view limit counts the view
/// in one atomic statement in the store (so no number of instances can admit more than the
/// limit) unless the request carries a view pass: a reload of an admitted page is not a new
/// viewer.
pub async fn admit_page_view(
    app: &App,
    access: &ShareAccess,
    who: &Requester,
) -> Result<PageView, Error> {
    let Some(max) = access.settings.access.max_views else {
        record_access(app, who, access, "ok").await?;
        return Ok(PageView::Admitted { view_pass: None });
    };
    if !access.view_pass
        && app
            .store
            .count_link_view(&access.link.id, Some(i64::from(max)))
            .await?
            .is_none()
    {
        record_as(app, who, Some(&access.link), "view_limit", access.viewer()).await?;
        return Ok(PageView::UsedUp);
    }
    record_as(app, who, Some(&access.link), "ok", access.viewer()).await?;
    let id = LinkId::parse(&access.link.id).ok_or_else(|| Error::internal("malformed link id"))?;
    let pass = share::unlock_cookie(
        &app.keys.view_pass,
        id,
        access.link.generation,
        access.link.epoch,
        app.now() + VIEW_PASS_TTL,
    );
    Ok(PageView::Admitted {
        view_pass: Some(pass),
    })
}

// ---- the view --------------------------------------------------------------------------------

/// How the outsider's page is shown: the link's display options, narrowed (never widened) by
/// the URL's display parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Display {
    /// Show the title and description.
    pub show_title: bool,
    /// Show the filter bar.
    pub show_filters: bool,
    /// Filters may be changed and tables sorted and paged.
    pub interactive: bool,
    /// Shown inside an iframe (`embed=true`): no footer, no title.
    pub embed: bool,
    /// The page's theme.
    pub theme: LinkTheme,
    /// The URL chose the theme.
    pub theme_from_url: bool,
    /// Level of `standalone=1|2|3` (seed 002): 1 drops the page's chrome (footer), 2 also the
    /// title, 3 shows the charts only (no filter bar, no refreshed line, no download menu).
    pub standalone: u8,
    /// The filter bar starts open (`expand_filters=0` collapses it; so does an embedding's
    /// saved `ui.filters_expanded: false`, which the URL cannot undo).
    pub filters_expanded: bool,
    /// The download menus are shown: the link allows downloads, and neither
    /// `hide_chart_controls=1` (the SDK's `dashboardUiConfig.hideChartControls`) nor
    /// `standalone=3` hides them. Only the menus: whether a download route answers is the
    /// link's `allow_downloads` ([`crate::downloads::may_download`]).
    pub downloads: bool,
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn truthy(v: Option<&str>) -> bool {
    matches!(v, Some("1" | "true" | "yes"))
}

fn falsy(v: Option<&str>) -> bool {
    matches!(v, Some("0" | "false" | "no"))
}

/// The display a request's `query` asks for within what `settings` allow.
pub fn display_of(settings: &LinkSettings, query: &str) -> Display {
    let pairs = query_pairs(query);
    let embed = truthy(first(&pairs, "embed"));
    let url_theme = match first(&pairs, "theme") {
        Some("light") => Some(LinkTheme::Light),
        Some("dark") => Some(LinkTheme::Dark),
        Some("system") => Some(LinkTheme::System),
        _ => None,
    };
    let standalone = match first(&pairs, "standalone") {
        Some("1") => 1,
        Some("2") => 2,
        Some("3") => 3,
        _ => 0,
    };
    Display {
        show_title: settings.display.show_title
            && !embed
            && standalone < 2
            && !truthy(first(&pairs, "hide_title")),
        show_filters: settings.display.show_filters
            && standalone < 3
            && !falsy(first(&pairs, "show_filters")),
        standalone,
        filters_expanded: !falsy(first(&pairs, "expand_filters")),
        downloads: settings.display.allow_downloads
            && standalone < 3
            && !truthy(first(&pairs, "hide_chart_controls")),
        interactive: !falsy(first(&pairs, "interactive")),
        embed,
        theme: url_theme.unwrap_or(settings.display.theme),
        theme_from_url: url_theme.is_some(),
    }
}

/// The view an outsider's `query` shows on a link with `settings`: open filters take the
/// viewer's choices, everything else is dropped, locked values are written over the top.
pub fn outsider_view(
    doc: &Dashboard,
    settings: &LinkSettings,
    display: &Display,
    query: &str,
) -> ViewState {
    let mut view = parse_view_query(doc, query);
    let open: BTreeSet<&str> = settings
        .open_filters
        .iter()
        .map(String::as_str)
        .filter(|id| !settings.locked_filters.contains_key(*id))
        .collect();
    view.filters
        .chosen
        .retain(|id, _| open.contains(id.as_str()));
    view.filters.cleared.retain(|id| open.contains(id.as_str()));
    // A refused value is only worth a word on a filter the outsider may change.
    view.problems.retain(|id, _| open.contains(id.as_str()));
    for (id, value) in &settings.locked_filters {
        view.filters.cleared.remove(id);
        view.filters.chosen.insert(id.clone(), value.clone());
    }
    view.theme = match display.theme {
        LinkTheme::Light => Theme::Light,
        LinkTheme::Dark => Theme::Dark,
        // The page's script asks for `theme=dark` when the system is dark.
        LinkTheme::System => view.theme,
    };
    if !display.interactive {
        view.tables.clear();
        view.no_tooltips = true;
    }
    view
}

// ---- the password --------------------------------------------------------------------------

/// What a password attempt on a link came to.
#[derive(Debug)]
pub enum Unlock {
    /// Unknown or forged token.
    NotFound,
    /// A real link that does not open now.
    Gone(Box<LinkRecord>, Box<Workspace>),
    /// The link has no password: nothing to unlock.
    NoPassword(Box<LinkRecord>),
    /// Too many wrong passwords lately; retry after this many seconds.
    Throttled {
        /// The link.
        link: Box<LinkRecord>,
        /// Its workspace.
        workspace: Box<Workspace>,
        /// Seconds until an attempt may be evaluated again.
        retry_after: u64,
    },
    /// The password is wrong.
    Wrong(Box<LinkRecord>, Box<Workspace>),
    /// The password is right: the unlock cookie's value, valid for [`UNLOCK_TTL`].
    Unlocked {
        /// The link.
        link: Box<LinkRecord>,
        /// The cookie's value (named by [`unlock_cookie_name`]).
        cookie: String,
    },
}

/// Tries `password` on the link of `token`, throttled per client and per link
/// ([`unlock_limits`]; reserved before hashing), and records the attempt as an access event
/// (`bad_password`, `rate_limited`, `busy` when the hashing lane stayed full, `unlocked`).
pub async fn unlock(
    app: &App,
    token: &str,
    who: &Requester,
    password: &str,
) -> Result<Unlock, Error> {
    let (resolution, dashboard) = links::resolve_token_with_dashboard(app, token).await?;
    let (link, workspace) = match resolution {
        Resolution::NotFound => {
            record(app, who, None, "not_found").await?;
            return Ok(Unlock::NotFound);
        }
        Resolution::Gone {
            link,
            workspace,
            reason,
        } => {
            record(app, who, Some(&link), reason.as_str()).await?;
            return Ok(Unlock::Gone(link, workspace));
        }
        Resolution::Open { link, workspace } => (link, workspace),
    };
    // Outside the link's allowlist there is nothing to unlock: the link does not exist for
    // this client, and no password is tried (as the page answers it).
    let settings = LinkSettings::of(&link)?;
    if !settings.access.allows(who.ip) {
        record(app, who, Some(&link), "not_allowed").await?;
        return Ok(Unlock::NotFound);
    }
    // A draft's (or a deleted dashboard's) link hashes no password and sets no cookie.
    if let Some(reason) = dashboard_refusal(dashboard.as_ref()) {
        record(app, who, Some(&link), reason).await?;
        return Ok(Unlock::Gone(link, workspace));
    }
    if link.password_hash.is_none() {
        return Ok(Unlock::NoPassword(link));
    }
    let checked = crate::attempts::attempt(app, &unlock_limits(&link, who), || async {
        Ok(links::check_link_password(app, &link, password)
            .await?
            .then_some(()))
    })
    .await;
    match checked {
        Ok(Attempt::Right(())) => {}
        Ok(Attempt::Wrong) => {
            record(app, who, Some(&link), "bad_password").await?;
            return Ok(Unlock::Wrong(link, workspace));
        }
        Ok(Attempt::Throttled { retry_after }) => {
            record(app, who, Some(&link), "rate_limited").await?;
            return Ok(Unlock::Throttled {
                link,
                workspace,
                retry_after,
            });
        }
        Err(error @ Error::Busy { .. }) => {
            record(app, who, Some(&link), "busy").await?;
            return Err(error);
        }
        Err(error) => return Err(error),
    }
    // Not `ok`: the page view the redirect leads to is the view.
    record(app, who, Some(&link), "unlocked").await?;
    let id = LinkId::parse(&link.id).ok_or_else(|| Error::internal("malformed link id"))?;
    let cookie = share::unlock_cookie(
        &app.keys.unlock,
        id,
        link.generation,
        link.epoch,
        app.now() + UNLOCK_TTL,
    );
    Ok(Unlock::Unlocked { link, cookie })
}

/// The limits an unlock attempt on `link` by `who` is reserved under: per client address on
/// the link, and the link's ceiling, which slows rather than blocks.
fn unlock_limits(link: &LinkRecord, who: &Requester) -> [AttemptLimit; 2] {
    [
        AttemptLimit {
            scope: format!("unlock:{}:client:{}", link.id, who.throttle),
            max: MAX_BAD_PASSWORDS_PER_CLIENT,
            window: THROTTLE_WINDOW,
            pace: None,
        },
        AttemptLimit {
            scope: format!("unlock:{}", link.id),
            max: MAX_BAD_PASSWORDS_PER_LINK,
            window: THROTTLE_WINDOW,
            pace: Some(Pace {
                max: 1,
                per: LINK_PACE,
            }),
        },
    ]
}

// ---- short links -----------------------------------------------------------------------------

/// Where a short code leads.
#[derive(Debug)]
pub enum ShortLink {
    /// Unknown or forged.
    NotFound,
    /// A real link that does not open now.
    Gone(Box<Workspace>),
    /// The current `/share/{token}` path.
    Open(String),
}

/// Follows `/s/{code}` and records the attempt when it does not lead anywhere.
pub async fn follow_short_code(app: &App, code: &str, who: &Requester) -> Result<ShortLink, Error> {
    Ok(match links::resolve_short_code(app, code).await? {
        Resolution::NotFound => {
            record(app, who, None, "not_found").await?;
            ShortLink::NotFound
        }
        Resolution::Gone {
            link,
            workspace,
            reason,
        } => {
            record(app, who, Some(&link), reason.as_str()).await?;
            ShortLink::Gone(workspace)
        }
        Resolution::Open { link, .. } => {
            let id = LinkId::parse(&link.id).ok_or_else(|| Error::internal("malformed link id"))?;
            let token = share::issue_token(&app.keys.share, id, link.generation);
            ShortLink::Open(format!("/share/{}", token.expose()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitrine_core::dashboard::{FilterValue, Scalar};

    fn doc() -> Dashboard {
        Dashboard::from_yaml(
            r#"
version: 1
title: Sales
filters:
  - {id: region, label: Region, kind: single_select, columns: {orders: region}, default: EU}
  - {id: plan, label: Plan, kind: multi_select, columns: {orders: plan}}
  - {id: period, label: Period, kind: date_range, columns: {orders: day}, default: {preset: last_30_days}}
widgets:
  - id: rows
    kind: table
    layout: {x: 0, y: 0, w: 12, h: 4}
    query: {dataset: orders, dimensions: [{column: region}], measures: [{agg: count}]}
"#,
        )
        .unwrap()
    }

    fn settings() -> LinkSettings {
        LinkSettings {
            locked_filters: [(
                "region".to_owned(),
                FilterValue::One(Scalar::Text("EMEA".into())),
            )]
            .into(),
            open_filters: vec!["plan".into()],
            ..LinkSettings::default()
        }
    }

    fn view(query: &str) -> ViewState {
        let s = settings();
        outsider_view(&doc(), &s, &display_of(&s, query), query)
    }

    #[test]
    fn a_locked_filter_beats_the_query_string_and_its_clearing() {
        for q in [
            "f.region=AMER",
            "f.region=",
            "f.region=AMER&f.region=EMEA",
            "",
        ] {
            let v = view(q);
            assert_eq!(
                v.filters.chosen["region"],
                FilterValue::One(Scalar::Text("EMEA".into())),
                "{q}"
            );
            assert!(!v.filters.cleared.contains("region"), "{q}");
        }
    }

    #[test]
    fn only_open_filters_take_the_viewers_choices() {
        let v = view("f.plan=Pro&f.period=last_year");
        assert_eq!(
            v.filters.chosen["plan"],
            FilterValue::Many(vec![Scalar::Text("Pro".into())])
        );
        assert!(!v.filters.chosen.contains_key("period"), "not open");
        let v = view("f.period=&f.plan=");
        assert!(
            !v.filters.cleared.contains("period"),
            "not open: its default stays"
        );
        assert!(
            v.filters.cleared.contains("plan"),
            "open: may be set to All"
        );
    }

    #[test]
    fn url_parameters_only_hide_what_the_link_shows() {
        let mut s = settings();
        s.display.show_title = false;
        s.display.show_filters = false;
        let d = display_of(&s, "hide_title=0&show_filters=1&embed=false");
        assert!(!d.show_title && !d.show_filters);
        let d = display_of(&settings(), "embed=true&interactive=false");
        assert!(!d.show_title && d.embed && !d.interactive && d.show_filters);
        let v = view("interactive=false&t.rows.page=2");
        assert!(v.tables.is_empty() && v.no_tooltips);
    }

    #[test]
    fn standalone_levels_and_collapsed_filters_only_hide() {
        let d = display_of(&settings(), "standalone=1");
        assert!(d.show_title && d.show_filters && d.standalone == 1);
        let d = display_of(&settings(), "standalone=2&expand_filters=0");
        assert!(!d.show_title && d.show_filters && !d.filters_expanded);
        let d = display_of(&settings(), "standalone=3");
        assert!(!d.show_title && !d.show_filters && d.standalone == 3);
        let d = display_of(&settings(), "standalone=9");
        assert_eq!(d.standalone, 0);
        assert!(d.filters_expanded);
    }

    #[test]
    fn hide_chart_controls_hides_the_download_menus_and_can_not_offer_them() {
        let mut s = settings();
        s.display.allow_downloads = true;
        assert!(display_of(&s, "").downloads);
        assert!(!display_of(&s, "hide_chart_controls=1").downloads);
        assert!(!display_of(&s, "hide_chart_controls=true&show_filters=1").downloads);
        assert!(!display_of(&s, "standalone=3").downloads);
        assert!(display_of(&s, "hide_chart_controls=0").downloads);
        s.display.allow_downloads = false;
        assert!(!display_of(&s, "hide_chart_controls=0").downloads);
    }

    #[test]
    fn user_agents_fall_into_coarse_classes() {
        assert_eq!(
            client_class("Mozilla/5.0 (compatible; Googlebot/2.1)"),
            "bot"
        );
        assert_eq!(client_class("curl/8.5.0"), "bot");
        assert_eq!(
            client_class("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"),
            "mobile"
        );
        assert_eq!(
            client_class("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0"),
            "desktop"
        );
        assert_eq!(client_class(""), "other");
    }
}
