//! The outsider router: what people without an account can reach.
//!
//! ```text
//! GET  /share/{token}                       the shared dashboard (or the password prompt)
//! GET  /share/{token}/widgets/{widget_id}   one card's fragment, for the page's script
//! GET  /share/{token}/export.pdf            downloads, when the link allows them: the dashboard
//! GET  /share/{token}/widgets/{widget_id}/export.{png,svg,csv}     and one widget
//! POST /share/{token}/unlock                the password form
//! GET  /s/{code}                            short link → 302 to the current /share/{token}
//! ```
//!
//! # How it is kept apart
//!
//! - **No identity layer.** This router is merged into the owner router and is the whole of the
//!   `public_listen` router, but it never sits behind [`crate::auth::resolve_identity`]: a
//!   member's session cookie means nothing here, and no handler takes a member extractor. It
//!   has no route that writes anything but the access log and the unlock cookie.
//! - **A capability, not an `if`.** Every request resolves its token against the store
//!   ([`links::resolve_token`], no cache: a revoked link dies on the very next request). Only
//!   an accessible link whose password, if any, was proven by a valid unlock cookie becomes a
//!   [`ShareAccess`]; its fields are private to this module and it is the only way handlers
//!   reach dashboard data. It holds exactly one [`DashboardContext`], built from the link's own
//!   dashboard in the link's own workspace, so a widget id is looked up in that dashboard only
//!   (another dashboard's widget is simply not there: 404); a widget link answers 404 for any
//!   widget but its own.
//! - **The view is rebuilt, never trusted.** [`outsider_view`] parses the viewer's query, keeps
//!   the choices of the link's *open* filters only (everything else, `cleared` included, is
//!   dropped), then writes the *locked* values over them. The page and the fragment route both
//!   go through it, so `?f.region=AMER` cannot undo a lock to EMEA. Should the dashboard have
//!   been edited so that a locked filter no longer exists or no longer fits, the link fails
//!   closed (503) instead of showing unfiltered data.
//! - **Nothing internal leaks.** Pages say nothing about the workspace or its members (the
//!   workspace name is never read, the footer and contact line are the admins' own text); the
//!   polite 404 / 410 pages say nothing about the dashboard; a failing widget shows the
//!   runner's polite state only; any other error becomes [`PublicProblemPage`] with the
//!   [`crate::error::ClientError`] sentence — never JSON, never the cause.
//! - **Headers.** The security middleware sets the strict defaults on every response; a link
//!   that allows embedding adds a [`FrameAncestors`] extension, which widens `frame-ancestors`
//!   to exactly its origins (and drops `X-Frame-Options`). Nothing else widens anything.
//! - **Every attempt is an access event**, also counted in `/metrics` (`ok` per page view, `bad_password`,
//!   `rate_limited`, `unlocked`, `disabled`, `expired`, `deleted`, `suspended`, `not_found`),
//!   with a keyed hash of the client address, a coarse client class and, when a trusted proxy
//!   header is wired, a country. Downloads are `export_pdf`, `export_png`, `export_svg` and
//!   `export_csv` events (not `ok`, so a download does not count as a view). Card fragments
//!   are not views; they log only `not_found`
//!   (token probing), not the refusals an open tab would repeat every refresh.
//!
//! # The password form and CSRF
//!
//! The unlock form posts without a session, so there is no session to bind a CSRF token to. A
//! double-submit cookie would need `SameSite=None` to work inside an embedding iframe, exactly
//! where browsers increasingly block third-party cookies, and the harm a forged unlock could do
//! is small (unlocking with a password the forger already knows). So the handler refuses
//! cross-site posts with the browser's own fetch metadata instead: `Sec-Fetch-Site` must be
//! `same-origin` or `none` when present, otherwise an `Origin` header must name this host
//! (the approach of Go 1.25's `CrossOriginProtection`). Every current browser sends one of
//! them on a form POST and no page can forge them; clients that send neither (curl) are not
//! browsers and cannot carry a victim's cookies anyway.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use time::Duration;
use vitrine_core::dashboard::{Dashboard, FilterValue, RowLevelRule, RuleOp, Scalar};
use vitrine_core::share::{self, LinkId};
use vitrine_render::Theme;
use vitrine_store::{AccessEvent, LinkRecord, Workspace};

use crate::auth;
use crate::dashboards::{
    DASHBOARD_CSS, DASHBOARD_JS, DashboardContext, FilterControl, FilterControlKind, ViewState,
    WidgetCard, dashboard_parts, describe_filter_value, parse_view_query, theme_name, widget_card,
};
use crate::error::AppError;
use crate::exports::{self, ExportFormat};
use crate::links::{self, LinkSettings, LinkTheme, Resolution};
use crate::live::{LinkWatch, LiveStreamParams, Target, live_response, revoked_response};
use crate::pages::PublicMissingPage;
use crate::routes::ClientAddr;
use crate::security::FrameAncestors;
use crate::state::AppState;

/// The outsider pages' stylesheet.
pub const PUBLIC_CSS: &str = "/static/public.css";
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

/// Outsider routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/share/{token}", get(show_shared_dashboard))
        .route(
            "/share/{token}/widgets/{widget_id}",
            get(show_shared_widget),
        )
        .route("/share/{token}/live", get(live_shared_dashboard))
        .route("/share/{token}/export.pdf", get(export_shared_pdf))
        // `export.png`, `export.svg`, `export.csv`; any other file name is 404.
        .route(
            "/share/{token}/widgets/{widget_id}/{file}",
            get(export_shared_widget),
        )
        .route("/share/{token}/unlock", post(unlock_shared_link))
        .route("/s/{code}", get(follow_short_link))
}

// ---- pages --------------------------------------------------------------------------------

/// "This link is no longer active", with the workspace's contact line.
#[derive(Debug, Template)]
#[template(path = "public_gone.html")]
pub struct PublicGonePage {
    /// The admins' contact line (may be empty).
    pub contact_line: String,
    /// The footer.
    pub footer: String,
}

/// The password prompt. Says nothing about the dashboard.
#[derive(Debug, Template)]
#[template(path = "public_prompt.html")]
pub struct PublicPromptPage {
    /// Where the form posts: `/share/{token}/unlock?{the viewer's query}`.
    pub action: String,
    /// What went wrong.
    pub error: Option<String>,
    /// `light`, `dark` or `system`.
    pub theme: &'static str,
    /// The footer.
    pub footer: String,
}

/// Any other refusal or failure, as a sentence from [`crate::error::ClientError`].
#[derive(Debug, Template)]
#[template(path = "public_problem.html")]
pub struct PublicProblemPage {
    /// The status code.
    pub status: u16,
    /// A title.
    pub title: String,
    /// The sentence.
    pub message: String,
}

/// A filter shown with its value but not editable: locked by the link, or open on a
/// non-interactive view.
#[derive(Debug, Clone)]
pub struct FixedFilter {
    /// The filter's label.
    pub label: String,
    /// Its value for people.
    pub value: String,
    /// Locked by whoever shared the link.
    pub locked: bool,
}

/// The shared dashboard: no owner chrome, no member or workspace name.
#[derive(Debug, Template)]
#[template(path = "public_dashboard.html")]
pub struct PublicDashboardPage {
    /// The dashboard's title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// Show the title and description.
    pub show_title: bool,
    /// Show the filter bar.
    pub show_filters: bool,
    /// Filters may be changed and tables sorted.
    pub interactive: bool,
    /// Shown inside an iframe (`embed=true`).
    pub embed: bool,
    /// `/share/{token}`: the form's action and the base of the fragment URLs.
    pub base_path: String,
    /// The Reset link: the base path with the display parameters kept.
    pub reset_path: String,
    /// The charts' theme: `light` or `dark`.
    pub theme: &'static str,
    /// The page's theme class: `light`, `dark` or `system`.
    pub page_theme: &'static str,
    /// The link (or the URL) fixed the theme: the script must not follow the system's.
    pub theme_fixed: bool,
    /// The refresh interval.
    pub refresh_seconds: u32,
    /// The open filters' controls (empty when not interactive).
    pub filters: Vec<FilterControl>,
    /// Locked filters, and open ones when not interactive.
    pub fixed: Vec<FixedFilter>,
    /// Display parameters kept across filter changes (`embed`, `hide_title`, `theme`).
    pub keep: Vec<(String, String)>,
    /// The cards.
    pub cards: Vec<WidgetCard>,
    /// When the oldest result was fetched.
    pub refreshed_at: String,
    /// The workspace's footer (empty: none).
    pub footer: String,
    /// The Download menus, when the link allows downloads.
    pub downloads: Option<exports::Downloads>,
    /// Stylesheet.
    pub css: &'static str,
    /// Script.
    pub js: &'static str,
}

fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    let mut response = crate::pages::render(page);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

fn not_found_page() -> Response {
    (StatusCode::NOT_FOUND, PublicMissingPage).into_response()
}

fn gone_page(workspace: &Workspace) -> Response {
    render(
        StatusCode::GONE,
        &PublicGonePage {
            contact_line: workspace.policy.contact_line.clone(),
            footer: workspace.policy.footer.clone(),
        },
    )
}

/// An error as an outsider sees it: the client error's sentence on a plain page. 5xx causes
/// are logged by [`AppError::to_client`] and go nowhere else.
fn problem_page(error: AppError) -> Response {
    if matches!(error, AppError::NotFound) {
        return not_found_page();
    }
    let client = error.to_client();
    let title = match client.status.as_u16() {
        400 | 422 => "Please check your input",
        403 => "Not allowed",
        429 => "Slow down",
        503 => "Temporarily unavailable",
        _ => "Something went wrong",
    };
    let mut response = render(
        client.status,
        &PublicProblemPage {
            status: client.status.as_u16(),
            title: title.to_owned(),
            message: client.message,
        },
    );
    if let Some(seconds) = client.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A redirect to a local path (never a panic on an odd header value).
fn redirect(status: StatusCode, location: &str) -> Result<Response, AppError> {
    let value = HeaderValue::from_str(location).map_err(|e| AppError::Internal(e.into()))?;
    let mut response = status.into_response();
    response.headers_mut().insert(header::LOCATION, value);
    Ok(response)
}

fn outcome(result: Result<Response, AppError>) -> Response {
    result.unwrap_or_else(problem_page)
}

// ---- who is asking -------------------------------------------------------------------------

/// What the access log records about the requester.
#[derive(Debug, Clone)]
struct Requester {
    client: String,
    client_class: &'static str,
    country: Option<String>,
}

impl Requester {
    fn of(state: &AppState, headers: &HeaderMap, ip: Option<std::net::IpAddr>) -> Self {
        let agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let country = state.geo.country(headers, ip);
        Self {
            client: auth::client_key(state, ip),
            client_class: client_class(agent),
            country,
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

async fn record(
    state: &AppState,
    who: &Requester,
    link: Option<&LinkRecord>,
    outcome: &str,
) -> Result<(), AppError> {
    state.metrics.link_access(outcome);
    state
        .store
        .record_access(&AccessEvent {
            workspace_id: link.map(|l| l.workspace_id),
            link_id: link.map(|l| l.id.clone()),
            at: state.now(),
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
struct ShareAccess {
    link: LinkRecord,
    settings: LinkSettings,
    workspace: Workspace,
    ctx: Arc<DashboardContext>,
}

/// How a token resolved for this request.
enum Gate {
    /// Unknown or forged.
    NotFound,
    /// A real link that does not open now (or whose dashboard is gone).
    Gone(Box<LinkRecord>, Box<Workspace>, &'static str),
    /// Open, but the password has not been given.
    Locked(Box<LinkRecord>, Box<Workspace>),
    /// Open.
    Open(Box<ShareAccess>),
}

fn unlock_cookie_name(link: &LinkRecord) -> String {
    format!("{UNLOCK_COOKIE_PREFIX}{}", link.id)
}

fn is_unlocked(state: &AppState, link: &LinkRecord, headers: &HeaderMap) -> bool {
    let Some(id) = LinkId::parse(&link.id) else {
        return false;
    };
    auth::cookie(headers, &unlock_cookie_name(link)).is_some_and(|value| {
        share::verify_unlock_cookie(
            &state.keys.unlock,
            id,
            link.generation,
            link.epoch,
            value,
            state.now(),
        )
    })
}

/// Resolves `token` against the store and, when the link opens and is unlocked, builds the
/// capability over its dashboard.
async fn open_link(state: &AppState, token: &str, headers: &HeaderMap) -> Result<Gate, AppError> {
    let (link, workspace) = match links::resolve_token(state, token).await? {
        Resolution::NotFound => return Ok(Gate::NotFound),
        Resolution::Gone {
            link,
            workspace,
            reason,
        } => return Ok(Gate::Gone(link, workspace, reason.as_str())),
        Resolution::Open { link, workspace } => (link, workspace),
    };
    if link.password_hash.is_some() && !is_unlocked(state, &link, headers) {
        return Ok(Gate::Locked(link, workspace));
    }
    let Some(record) = state
        .store
        .dashboard(link.workspace_id, link.dashboard_id)
        .await?
    else {
        // The dashboard was deleted under the link: as good as gone.
        return Ok(Gate::Gone(link, workspace, "not_found"));
    };
    let ctx = crate::content::dashboard_context(state, &record).await?;
    let settings = LinkSettings::of(&link);
    check_locks(&ctx.document, &settings)?;
    Ok(Gate::Open(Box::new(ShareAccess {
        link: *link,
        settings,
        workspace: *workspace,
        ctx,
    })))
}

/// Fails closed when the dashboard was edited so that a locked value no longer applies.
fn check_locks(doc: &Dashboard, settings: &LinkSettings) -> Result<(), AppError> {
    for (id, value) in &settings.locked_filters {
        if !doc.filter(id).is_some_and(|f| value.fits(f.kind)) {
            tracing::warn!(
                filter = %id,
                "a share link's locked filter no longer fits its dashboard; refusing to serve it"
            );
            return Err(AppError::Unavailable(format!(
                "locked filter {id} no longer fits the dashboard"
            )));
        }
    }
    Ok(())
}

fn frame_ancestors(settings: &LinkSettings) -> Option<FrameAncestors> {
    (settings.embed.allowed && !settings.embed.origins.is_empty()).then(|| {
        FrameAncestors(
            settings
                .embed
                .origins
                .iter()
                .map(|o| o.as_str().to_owned())
                .collect(),
        )
    })
}

fn with_frame(mut response: Response, settings: &LinkSettings) -> Response {
    if let Some(frame) = frame_ancestors(settings) {
        response.extensions_mut().insert(frame);
    }
    response
}

// ---- the view --------------------------------------------------------------------------------

/// What the URL may ask of the page's display: it can only hide more than the link shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Display {
    /// Show the title.
    pub show_title: bool,
    /// Show the filter bar.
    pub show_filters: bool,
    /// Filters may be changed, tables sorted and paged, charts have tooltips.
    pub interactive: bool,
    /// Inside an iframe: no title, no footer.
    pub embed: bool,
    /// The page theme.
    pub theme: LinkTheme,
    /// Whether the URL chose the theme.
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

/// The link's display options narrowed by the URL's `embed`, `hide_title`, `show_filters`,
/// `interactive` and `theme` parameters.
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

/// The view an outsider gets: the viewer's query parsed as usual, then only the link's open
/// filters kept (choices and clears; everything else dropped), then the locked values written
/// over them. Tables are sorted and paged only on an interactive view.
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

/// Row-level rules restricting the select filters' options to what the locked select values
/// allow, so an open filter does not list values from rows the link never shows. A dataset
/// lacking the column fails closed (the options are then not offered).
fn option_rules(doc: &Dashboard, settings: &LinkSettings) -> Vec<RowLevelRule> {
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

fn theme_word(theme: LinkTheme) -> &'static str {
    match theme {
        LinkTheme::Light => "light",
        LinkTheme::Dark => "dark",
        LinkTheme::System => "system",
    }
}

/// The display parameters a filter change must keep (hidden form fields, the Reset link).
fn kept_parameters(query: &str) -> Vec<(String, String)> {
    let pairs = query_pairs(query);
    [
        "embed",
        "hide_title",
        "show_filters",
        "interactive",
        "theme",
    ]
    .iter()
    .filter_map(|k| first(&pairs, k).map(|v| ((*k).to_owned(), v.to_owned())))
    .filter(|(_, v)| v.len() <= 10 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
    .collect()
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

async fn dashboard_response(
    state: &AppState,
    access: &ShareAccess,
    token: &str,
    query: &str,
) -> Response {
    let doc = &access.ctx.document;
    let display = display_of(&access.settings, query);
    let view = outsider_view(doc, &access.settings, &display, query);
    let rules = option_rules(doc, &access.settings);
    let only = access.link.widget_id.as_deref();
    let mut parts = dashboard_parts(&state.runner, &access.ctx, &view, &[], &rules, only).await;
    if only.is_some() {
        for card in &mut parts.cards {
            let h = doc.widget(&card.id).map_or(4, |w| w.layout.h);
            card.classes = format!("w-x-0 w-y-0 w-w-12 w-h-{h}");
        }
    }
    let open: BTreeSet<&str> = access
        .settings
        .open_filters
        .iter()
        .map(String::as_str)
        .collect();
    let labels: BTreeMap<&str, &str> = doc
        .filters
        .iter()
        .map(|f| (f.id.as_str(), f.label.as_str()))
        .collect();
    let mut fixed = Vec::new();
    for filter in &doc.filters {
        let id = filter.id.as_str();
        let locked = access.settings.locked_filters.contains_key(id);
        if locked || (!display.interactive && open.contains(id)) {
            fixed.push(FixedFilter {
                label: labels.get(id).copied().unwrap_or(id).to_owned(),
                value: describe_filter_value(view.filters.current(filter)),
                locked,
            });
        }
    }
    let filters: Vec<FilterControl> = if display.interactive {
        parts
            .filters
            .into_iter()
            .filter(|c| {
                open.contains(c.id.as_str()) && !access.settings.locked_filters.contains_key(&c.id)
            })
            .collect()
    } else {
        Vec::new()
    };
    let keep = kept_parameters(query);
    let base_path = format!("/share/{token}");
    let downloads = access
        .settings
        .display
        .allow_downloads
        .then(|| exports::Downloads::new(&base_path, query));
    let reset_query = serde_urlencoded::to_string(&keep).unwrap_or_default();
    let page = PublicDashboardPage {
        title: doc.title.clone(),
        description: doc.description.clone(),
        show_title: display.show_title,
        show_filters: display.show_filters,
        interactive: display.interactive,
        embed: display.embed,
        reset_path: with_query(&base_path, &reset_query),
        base_path,
        theme: theme_name(view.theme),
        page_theme: theme_word(display.theme),
        theme_fixed: display.theme != LinkTheme::System || display.theme_from_url,
        refresh_seconds: doc.refresh_seconds,
        filters,
        fixed,
        keep,
        cards: parts.cards,
        refreshed_at: parts.refreshed_at,
        footer: if display.embed {
            String::new()
        } else {
            access.workspace.policy.footer.clone()
        },
        downloads,
        css: DASHBOARD_CSS,
        js: DASHBOARD_JS,
    };
    render(StatusCode::OK, &page)
}

fn prompt_response(
    token: &str,
    query: &str,
    link: &LinkRecord,
    workspace: &Workspace,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let settings = LinkSettings::of(link);
    let display = display_of(&settings, query);
    let page = PublicPromptPage {
        action: with_query(&format!("/share/{token}/unlock"), query),
        error,
        theme: theme_word(display.theme),
        footer: if display.embed {
            String::new()
        } else {
            workspace.policy.footer.clone()
        },
    };
    with_frame(render(status, &page), &settings)
}

// ---- handlers ------------------------------------------------------------------------------

async fn show_shared_dashboard(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        async {
            let who = Requester::of(&state, &headers, ip);
            let query = query.unwrap_or_default();
            Ok(match open_link(&state, &token, &headers).await? {
                Gate::NotFound => {
                    record(&state, &who, None, "not_found").await?;
                    not_found_page()
                }
                Gate::Gone(link, workspace, reason) => {
                    record(&state, &who, Some(&link), reason).await?;
                    gone_page(&workspace)
                }
                Gate::Locked(link, workspace) => {
                    prompt_response(&token, &query, &link, &workspace, StatusCode::OK, None)
                }
                Gate::Open(access) => {
                    record(&state, &who, Some(&access.link), "ok").await?;
                    let response = dashboard_response(&state, &access, &token, &query).await;
                    with_frame(response, &access.settings)
                }
            })
        }
        .await,
    )
}

async fn show_shared_widget(
    State(state): State<AppState>,
    Path((token, widget_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        async {
            let query = query.unwrap_or_default();
            let access = match open_link(&state, &token, &headers).await? {
                Gate::Open(access) => access,
                Gate::NotFound => {
                    let who = Requester::of(&state, &headers, ip);
                    record(&state, &who, None, "not_found").await?;
                    return Ok(not_found_page());
                }
                Gate::Gone(_, workspace, _) => return Ok(gone_page(&workspace)),
                Gate::Locked(..) => return Ok(not_found_page()),
            };
            if access
                .link
                .widget_id
                .as_deref()
                .is_some_and(|own| own != widget_id)
            {
                return Ok(with_frame(not_found_page(), &access.settings));
            }
            let display = display_of(&access.settings, &query);
            let view = outsider_view(&access.ctx.document, &access.settings, &display, &query);
            let Some(html) = widget_card(&state.runner, &access.ctx, &widget_id, &view, &[]).await
            else {
                return Ok(with_frame(not_found_page(), &access.settings));
            };
            Ok(with_frame(
                axum::response::Html(html).into_response(),
                &access.settings,
            ))
        }
        .await,
    )
}

/// The live stream of a shared dashboard (see [`crate::live`]): the same view as the page,
/// closed by the link's guard the moment the link stops opening. A page that reconnects after
/// that hears why at once; an unknown or forged token gets the 404 page.
async fn live_shared_dashboard(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        async {
            let (query, params) = LiveStreamParams::split(query.as_deref().unwrap_or(""));
            let access = match open_link(&state, &token, &headers).await? {
                Gate::Open(access) => access,
                Gate::NotFound => {
                    let who = Requester::of(&state, &headers, ip);
                    record(&state, &who, None, "not_found").await?;
                    return Ok(not_found_page());
                }
                Gate::Gone(_, workspace, reason) => {
                    let reason = if reason == "not_found" {
                        "deleted"
                    } else {
                        reason
                    };
                    return Ok(revoked_response(reason, &workspace.policy.contact_line));
                }
                Gate::Locked(_, workspace) => {
                    return Ok(revoked_response("password", &workspace.policy.contact_line));
                }
            };
            let display = display_of(&access.settings, &query);
            let view = outsider_view(&access.ctx.document, &access.settings, &display, &query);
            let link = LinkWatch {
                state: state.live.watch_link(&state, &access.link),
                contact: access.workspace.policy.contact_line.clone(),
            };
            let target = Target {
                workspace_id: access.link.workspace_id,
                dashboard_id: access.link.dashboard_id,
                revision: access.ctx.revision,
                view,
                rules: Vec::new(),
                only_widget: access.link.widget_id.clone(),
            };
            Ok(live_response(&state, target, Some(link), params))
        }
        .await,
    )
}

// ---- downloads -------------------------------------------------------------------------------

/// Opens the link for a download: the page's gate (404 / 410 / the password prompt), then 404
/// unless the link allows downloads and, for a widget link, `widget_id` is its widget.
async fn open_for_download(
    state: &AppState,
    token: &str,
    query: &str,
    headers: &HeaderMap,
    who: &Requester,
    widget_id: Option<&str>,
) -> Result<Result<Box<ShareAccess>, Response>, AppError> {
    let access = match open_link(state, token, headers).await? {
        Gate::Open(access) => access,
        Gate::NotFound => {
            record(state, who, None, "not_found").await?;
            return Ok(Err(not_found_page()));
        }
        Gate::Gone(link, workspace, reason) => {
            record(state, who, Some(&link), reason).await?;
            return Ok(Err(gone_page(&workspace)));
        }
        Gate::Locked(link, workspace) => {
            return Ok(Err(prompt_response(
                token,
                query,
                &link,
                &workspace,
                StatusCode::UNAUTHORIZED,
                None,
            )));
        }
    };
    let other_widget = match (access.link.widget_id.as_deref(), widget_id) {
        (Some(own), Some(asked)) => own != asked,
        _ => false,
    };
    if !access.settings.display.allow_downloads || other_widget {
        return Ok(Err(with_frame(not_found_page(), &access.settings)));
    }
    Ok(Ok(access))
}

/// The filters the PDF lists: the ones the page shows (locked, and open ones when the filter
/// bar is shown), with their values in force.
fn pdf_filter_lines(access: &ShareAccess, display: &Display, view: &ViewState) -> Vec<String> {
    let doc = &access.ctx.document;
    let open: BTreeSet<&str> = access
        .settings
        .open_filters
        .iter()
        .map(String::as_str)
        .collect();
    doc.filters
        .iter()
        .filter_map(|f| {
            let locked = access.settings.locked_filters.contains_key(f.id.as_str());
            let shown = locked || (display.show_filters && open.contains(f.id.as_str()));
            shown.then(|| {
                format!(
                    "{}: {}{}",
                    f.label,
                    describe_filter_value(view.filters.current(f)),
                    if locked { " (fixed)" } else { "" }
                )
            })
        })
        .collect()
}

async fn export_shared_pdf(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        async {
            let query = query.unwrap_or_default();
            let who = Requester::of(&state, &headers, ip);
            let access =
                match open_for_download(&state, &token, &query, &headers, &who, None).await? {
                    Ok(access) => access,
                    Err(refused) => return Ok(refused),
                };
            let (paper, _) = exports::export_params(&query)?;
            let display = display_of(&access.settings, &query);
            let view = outsider_view(&access.ctx.document, &access.settings, &display, &query);
            let text = exports::PdfText {
                filters: pdf_filter_lines(&access, &display, &view),
                footer: access.workspace.policy.footer.clone(),
            };
            let response = exports::dashboard_pdf(
                &state.exports,
                &state.runner,
                &access.ctx,
                &view,
                &[],
                access.link.widget_id.as_deref(),
                paper,
                text,
            )
            .await?;
            record(
                &state,
                &who,
                Some(&access.link),
                ExportFormat::Pdf.outcome(),
            )
            .await?;
            Ok(with_frame(response, &access.settings))
        }
        .await,
    )
}

async fn shared_widget_file(
    state: &AppState,
    (token, widget_id): (String, String),
    query: Option<String>,
    ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    format: ExportFormat,
) -> Response {
    outcome(
        async {
            let query = query.unwrap_or_default();
            let who = Requester::of(state, headers, ip);
            let access =
                match open_for_download(state, &token, &query, headers, &who, Some(&widget_id))
                    .await?
                {
                    Ok(access) => access,
                    Err(refused) => return Ok(refused),
                };
            let (_, scale) = exports::export_params(&query)?;
            let display = display_of(&access.settings, &query);
            let view = outsider_view(&access.ctx.document, &access.settings, &display, &query);
            let Some(response) = exports::widget_file(
                &state.exports,
                &state.runner,
                &access.ctx,
                &widget_id,
                &view,
                &[],
                format,
                scale,
            )
            .await?
            else {
                return Ok(with_frame(not_found_page(), &access.settings));
            };
            record(state, &who, Some(&access.link), format.outcome()).await?;
            Ok(with_frame(response, &access.settings))
        }
        .await,
    )
}

async fn export_shared_widget(
    State(state): State<AppState>,
    Path((token, widget_id, file)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    match ExportFormat::of_widget_file(&file) {
        Some(format) => {
            shared_widget_file(&state, (token, widget_id), query, ip, &headers, format).await
        }
        None => not_found_page(),
    }
}

#[derive(Debug, Deserialize)]
struct UnlockForm {
    #[serde(default)]
    password: String,
}

/// Whether a state-changing request comes from a page of this very site (see the module docs).
/// `known` are this server's own origins (its base URLs), accepted even when a proxy rewrote
/// the `Host` header.
fn same_origin(headers: &HeaderMap, known: &[&str]) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if known.iter().any(|k| k.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    host.is_some_and(|host| {
        origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
    })
}

/// The scheme, host and port of a base URL (`https://share.example.com`).
fn origin_of(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    url[start..]
        .find('/')
        .map_or(url, |end| &url[..start + end])
}

fn unlock_set_cookie(state: &AppState, link: &LinkRecord, value: &str) -> String {
    let https = state.config.public_base_url().starts_with("https://");
    let same_site = if https && LinkSettings::of(link).embed.allowed {
        "None"
    } else {
        "Lax"
    };
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={}{secure}",
        unlock_cookie_name(link),
        UNLOCK_TTL.whole_seconds()
    )
}

async fn unlock_shared_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<UnlockForm>,
) -> Response {
    outcome(
        async {
            let public_base = state.config.public_base_url();
            let known = [origin_of(&public_base), origin_of(&state.config.base_url)];
            if !same_origin(&headers, &known) {
                return Err(AppError::Forbidden);
            }
            let query = query.unwrap_or_default();
            let who = Requester::of(&state, &headers, ip);
            let (link, workspace) = match links::resolve_token(&state, &token).await? {
                Resolution::NotFound => {
                    record(&state, &who, None, "not_found").await?;
                    return Ok(not_found_page());
                }
                Resolution::Gone {
                    link,
                    workspace,
                    reason,
                } => {
                    record(&state, &who, Some(&link), reason.as_str()).await?;
                    return Ok(gone_page(&workspace));
                }
                Resolution::Open { link, workspace } => (link, workspace),
            };
            let back = with_query(&format!("/share/{token}"), &query);
            if link.password_hash.is_none() {
                return redirect(StatusCode::SEE_OTHER, &back);
            }
            // Throttle before verifying: the log is the counter, across instances.
            let since = state.now() - THROTTLE_WINDOW;
            let mine = state
                .store
                .count_access(&link.id, "bad_password", Some(&who.client), since)
                .await?;
            let everyone = if mine >= MAX_BAD_PASSWORDS_PER_CLIENT {
                0
            } else {
                state
                    .store
                    .count_access(&link.id, "bad_password", None, since)
                    .await?
            };
            if mine >= MAX_BAD_PASSWORDS_PER_CLIENT || everyone >= MAX_BAD_PASSWORDS_PER_LINK {
                record(&state, &who, Some(&link), "rate_limited").await?;
                let minutes = THROTTLE_WINDOW.whole_minutes();
                let mut response = prompt_response(
                    &token,
                    &query,
                    &link,
                    &workspace,
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(format!(
                        "Too many wrong passwords. Try again in {minutes} minutes."
                    )),
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(THROTTLE_WINDOW.whole_seconds()),
                );
                return Ok(response);
            }
            if !links::check_link_password(&state, &link, &form.password).await? {
                record(&state, &who, Some(&link), "bad_password").await?;
                return Ok(prompt_response(
                    &token,
                    &query,
                    &link,
                    &workspace,
                    StatusCode::UNAUTHORIZED,
                    Some("That password is not right. Check it and try again.".to_owned()),
                ));
            }
            // Not `ok`: the page view the redirect leads to is the view.
            record(&state, &who, Some(&link), "unlocked").await?;
            let id = LinkId::parse(&link.id)
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("malformed link id")))?;
            let value = share::unlock_cookie(
                &state.keys.unlock,
                id,
                link.generation,
                link.epoch,
                state.now() + UNLOCK_TTL,
            );
            let cookie = HeaderValue::from_str(&unlock_set_cookie(&state, &link, &value))
                .map_err(|e| AppError::Internal(e.into()))?;
            let mut response = redirect(StatusCode::SEE_OTHER, &back)?;
            response.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(with_frame(response, &LinkSettings::of(&link)))
        }
        .await,
    )
}

async fn follow_short_link(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        async {
            let who = Requester::of(&state, &headers, ip);
            Ok(match links::resolve_short_code(&state, &code).await? {
                Resolution::NotFound => {
                    record(&state, &who, None, "not_found").await?;
                    not_found_page()
                }
                Resolution::Gone {
                    link,
                    workspace,
                    reason,
                } => {
                    record(&state, &who, Some(&link), reason.as_str()).await?;
                    gone_page(&workspace)
                }
                Resolution::Open { link, .. } => {
                    let id = LinkId::parse(&link.id)
                        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("malformed link id")))?;
                    let token = share::issue_token(&state.keys.share, id, link.generation);
                    redirect(StatusCode::FOUND, &format!("/share/{}", token.expose()))?
                }
            })
        }
        .await,
    )
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

    #[test]
    fn only_same_site_posts_may_unlock() {
        let known = ["https://share.example.com"];
        let mut h = HeaderMap::new();
        assert!(
            same_origin(&h, &known),
            "no browser metadata: not a browser"
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, &known));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h, &known));
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("10.0.0.5:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h, &known));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://share.example.com"),
        );
        assert!(
            same_origin(&h, &known),
            "our own public origin behind a proxy"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://10.0.0.5:8080"),
        );
        assert!(same_origin(&h, &known), "the Host we were reached by");
        assert_eq!(
            origin_of("https://a.example:8443/x/y"),
            "https://a.example:8443"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
