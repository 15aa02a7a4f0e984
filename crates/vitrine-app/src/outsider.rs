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
//! - **Wrong passwords are throttled** per link and client address over a window, with the
//!   access log as the counter so the limit holds across instances ([`unlock`]).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use time::Duration;
use vitrine_core::dashboard::{Dashboard, FilterValue, RowLevelRule, RuleOp, Scalar};
use vitrine_core::share::{self, LinkId};
use vitrine_render::Theme;
use vitrine_store::{AccessEvent, LinkRecord, Workspace};

use crate::dashboards::{DashboardContext, ViewState, parse_view_query};
use crate::links::{self, LinkSettings, LinkTheme, Resolution};
use crate::{App, Error};

/// Wrong passwords from one client address on one link within [`THROTTLE_WINDOW`] before it
/// is refused.
pub const MAX_BAD_PASSWORDS_PER_CLIENT: i64 = 5;
/// Wrong passwords from everyone on one link within [`THROTTLE_WINDOW`] before it is refused.
pub const MAX_BAD_PASSWORDS_PER_LINK: i64 = 50;
/// The window over which wrong passwords are counted (in the access log, so across instances).
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);
/// How long an unlock cookie lasts.
pub const UNLOCK_TTL: Duration = Duration::hours(12);
/// The unlock cookie's name is this followed by the link id.
pub const UNLOCK_COOKIE_PREFIX: &str = "vitrine_unlock_";

// ---- who is asking -------------------------------------------------------------------------

/// What the access log records about the requester.
#[derive(Debug, Clone)]
pub struct Requester {
    client: String,
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
            client: crate::accounts::client_key(app, ip),
            client_class: client_class(user_agent),
            country: app.geo.country(country_header, ip),
        }
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

/// Records one access event (and counts it in `/metrics`).
pub async fn record(
    app: &App,
    who: &Requester,
    link: Option<&LinkRecord>,
    outcome: &str,
) -> Result<(), Error> {
    app.metrics.link_access(outcome);
    app.store
        .record_access(&AccessEvent {
            workspace_id: link.map(|l| l.workspace_id),
            link_id: link.map(|l| l.id.clone()),
            at: app.now(),
            outcome: outcome.to_owned(),
            country: who.country.clone(),
            client_class: who.client_class.to_owned(),
            client: who.client.clone(),
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
}

impl ShareAccess {
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

    /// The view this request shows: [`outsider_view`] of the viewer's `query`.
    pub fn view(&self, display: &Display, query: &str) -> ViewState {
        outsider_view(&self.ctx.document, &self.settings, display, query)
    }

    /// The display this request asks for within what the link allows.
    pub fn display(&self, query: &str) -> Display {
        display_of(&self.settings, query)
    }

    /// The rules that narrow the select filters' options to what the locks allow.
    pub fn option_rules(&self) -> Vec<RowLevelRule> {
        option_rules(&self.ctx.document, &self.settings)
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
    /// Open.
    Open(Box<ShareAccess>),
}

/// The name of a link's unlock cookie.
pub fn unlock_cookie_name(link: &LinkRecord) -> String {
    format!("{UNLOCK_COOKIE_PREFIX}{}", link.id)
}

fn is_unlocked(app: &App, link: &LinkRecord, cookie: Option<&str>) -> bool {
    let Some(id) = LinkId::parse(&link.id) else {
        return false;
    };
    cookie.is_some_and(|value| {
        share::verify_unlock_cookie(
            &app.keys.unlock,
            id,
            link.generation,
            link.epoch,
            value,
            app.now(),
        )
    })
}

/// Resolves `token` for this request. `cookie` looks a cookie up by name in the request (the
/// link's unlock cookie is named by [`unlock_cookie_name`]).
pub async fn open_link(
    app: &App,
    token: &str,
    cookie: impl Fn(&str) -> Option<String>,
) -> Result<Gate, Error> {
    let (link, workspace) = match links::resolve_token(app, token).await? {
        Resolution::NotFound => return Ok(Gate::NotFound),
        Resolution::Gone {
            link,
            workspace,
            reason,
        } => return Ok(Gate::Gone(link, workspace, reason.as_str())),
        Resolution::Open { link, workspace } => (link, workspace),
    };
    if link.password_hash.is_some()
        && !is_unlocked(app, &link, cookie(&unlock_cookie_name(&link)).as_deref())
    {
        return Ok(Gate::Locked(link, workspace));
    }
    let Some(record) = app
        .store
        .dashboard(link.workspace_id, link.dashboard_id)
        .await?
    else {
        // The dashboard was deleted under the link: as good as gone.
        return Ok(Gate::Gone(link, workspace, "not_found"));
    };
    let ctx = crate::content::dashboard_context(app, &record).await?;
    let settings = LinkSettings::of(&link);
    check_locks(&ctx.document, &settings)?;
    Ok(Gate::Open(Box::new(ShareAccess {
        link: *link,
        settings,
        workspace: *workspace,
        ctx,
    })))
}

fn check_locks(doc: &Dashboard, settings: &LinkSettings) -> Result<(), Error> {
    for (id, value) in &settings.locked_filters {
        if !doc.filter(id).is_some_and(|f| value.fits(f.kind)) {
            tracing::warn!(
                filter = %id,
                "a share link's locked filter no longer fits its dashboard; refusing to serve it"
            );
            return Err(Error::Unavailable(format!(
                "locked filter {id} no longer fits the dashboard"
            )));
        }
    }
    Ok(())
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
    Display {
        show_title: settings.display.show_title && !embed && !truthy(first(&pairs, "hide_title")),
        show_filters: settings.display.show_filters && !falsy(first(&pairs, "show_filters")),
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

/// Rules narrowing the select filters' options to the values the locks allow.
pub fn option_rules(doc: &Dashboard, settings: &LinkSettings) -> Vec<RowLevelRule> {
    let mut rules = Vec::new();
    for (id, value) in &settings.locked_filters {
        let Some(filter) = doc.filter(id) else {
            continue;
        };
        let values: Vec<Scalar> = match value {
            FilterValue::One(v) => vec![v.clone()],
            FilterValue::Many(vs) => vs.clone(),
            _ => continue,
        };
        let columns: BTreeSet<String> = filter.columns.values().map(|c| c.to_string()).collect();
        for column in columns {
            if let Ok(rule) = RowLevelRule::new(column, RuleOp::In, values.clone()) {
                rules.push(rule);
            }
        }
    }
    rules
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

/// Tries `password` on the link of `token`, throttled per client and per link, and records
/// the attempt.
pub async fn unlock(
    app: &App,
    token: &str,
    who: &Requester,
    password: &str,
) -> Result<Unlock, Error> {
    let (link, workspace) = match links::resolve_token(app, token).await? {
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
    if link.password_hash.is_none() {
        return Ok(Unlock::NoPassword(link));
    }
    // Throttle before verifying: the log is the counter, across instances.
    let since = app.now() - THROTTLE_WINDOW;
    let mine = app
        .store
        .count_access(&link.id, "bad_password", Some(&who.client), since)
        .await?;
    let everyone = if mine >= MAX_BAD_PASSWORDS_PER_CLIENT {
        0
    } else {
        app.store
            .count_access(&link.id, "bad_password", None, since)
            .await?
    };
    if mine >= MAX_BAD_PASSWORDS_PER_CLIENT || everyone >= MAX_BAD_PASSWORDS_PER_LINK {
        record(app, who, Some(&link), "rate_limited").await?;
        return Ok(Unlock::Throttled {
            link,
            workspace,
            retry_after: THROTTLE_WINDOW.whole_seconds().unsigned_abs(),
        });
    }
    if !links::check_link_password(app, &link, password).await? {
        record(app, who, Some(&link), "bad_password").await?;
        return Ok(Unlock::Wrong(link, workspace));
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
