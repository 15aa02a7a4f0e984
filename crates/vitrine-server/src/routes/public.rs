//! The outsider router: what people without an account can reach.
//!
//! ```text
//! GET  /share/{token}                       the shared dashboard (or the password prompt)
//! GET  /share/{token}/widgets/{widget_id}   one card's fragment, for the page's script
//! GET  /share/{token}/export.pdf            downloads, when the link allows them: the dashboard
//! GET  /share/{token}/widgets/{widget_id}/export.{png,svg,csv}     and one widget
//! POST /share/{token}/unlock                the password form
//! POST /share/{token}/confirm               an identified link's e-mail form: sends a code
//! POST /share/{token}/verify                and its code form: sets the viewer cookie
//! GET  /s/{code}                            short link → 302 to the current /share/{token}
//! ```
//!
//! # How it is kept apart
//!
//! Everything that decides what an outsider may see lives in [`vitrine_app::outsider`] (the
//! [`ShareAccess`] capability, the rebuilt view, access events, the password throttle); this
//! router reads the request, calls it, and writes the answer as a page.
//!
//! - **No identity layer.** This router is merged into the owner router and is the whole of the
//!   `public_listen` router, but it never sits behind [`crate::auth::resolve_identity`]: a
//!   member's session cookie means nothing here, and no handler takes a member extractor. It
//!   has no route that writes anything but the access log and the unlock cookie.
//! - **A capability, not an `if`.** Every request resolves its token against the store
//!   ([`outsider::open_link`], no cache: a revoked link dies on the very next request). Only
//!   an accessible link whose password, if any, was proven by a valid unlock cookie becomes a
//!   [`ShareAccess`]; its fields are private to the application and it is the only way
//!   handlers reach dashboard data. It holds exactly one [`DashboardContext`], built from the link's own
//!   dashboard in the link's own workspace, so a widget id is looked up in that dashboard only
//!   (another dashboard's widget is simply not there: 404); a widget link answers 404 for any
//!   widget but its own.
//! - **The view is rebuilt, never trusted.** [`outsider::outsider_view`] parses the viewer's query, keeps
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
//! browsers and cannot carry a victim's cookies anyway. The e-mail and code forms of identified
//! links ([`vitrine_app::identified`]) are guarded the same way, and their viewer cookie is
//! scoped and flagged like the unlock cookie.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use vitrine_app::dashboards::ViewState;
use vitrine_app::dashboards::describe_filter_value;
use vitrine_app::downloads;
use vitrine_app::exports::ExportFormat;
use vitrine_app::identified::{self, CodeRequest, Confirm};
use vitrine_app::links::{LinkSettings, LinkTheme};
use vitrine_app::outsider::{
    self, Display, Gate, PageView, Requester, ShareAccess, ShortLink, UNLOCK_TTL, Unlock,
};
use vitrine_app::{App, Error};
use vitrine_store::{CodeCheck, LinkRecord, Workspace};

use crate::auth;
use crate::dashboards::{
    DASHBOARD_CSS, DASHBOARD_JS, FilterControl, FilterControlKind, WidgetCard, dashboard_parts,
    theme_name, widget_card,
};
use crate::error::HttpError;
use crate::exports;
use crate::live::{LinkWatch, LiveStreamParams, live_response, revoked_response};
use crate::pages::PublicMissingPage;
use crate::routes::ClientAddr;
use crate::security::FrameAncestors;

/// The outsider pages' stylesheet.
pub const PUBLIC_CSS: &str = "/static/public.css";
/// Outsider routes.
pub fn router() -> Router<App> {
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
        .route("/share/{token}/confirm", post(send_view_code))
        .route("/share/{token}/verify", post(confirm_view_code))
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

/// An identified link's e-mail step: the address form, or (once a code was sent) the code
/// form. Says nothing about the dashboard or its other viewers.
#[derive(Debug, Template)]
#[template(path = "public_confirm.html")]
pub struct PublicConfirmPage {
    /// Where the address form posts: `/share/{token}/confirm?{the viewer's query}`.
    pub send_action: String,
    /// Where the code form posts: `/share/{token}/verify?{the viewer's query}`.
    pub verify_action: String,
    /// The address a code was sent to: show the code form.
    pub sent_to: Option<String>,
    /// The address typed, to show again.
    pub email: String,
    /// The allowed domains, for people (`@client.com, @partner.org`; empty: any).
    pub domains: String,
    /// Minutes a code works.
    pub minutes: i64,
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
    /// `standalone=3`: the charts only (no refreshed line, no download menu).
    pub charts_only: bool,
    /// `expand_filters=0`: the filter bar starts collapsed.
    pub filters_collapsed: bool,
    /// The embedded page's guest token, which its script sends in a header with every
    /// request (empty on share links).
    pub guest_token: String,
    /// The embedded page's script (`None` on share links).
    pub embed_js: Option<&'static str>,
    /// The origins the embedded page may talk to, space-separated (empty on share links).
    pub allowed_origins: String,
}

pub(crate) fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    let mut response = crate::pages::render(page);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// "Too many live viewers": the page polls instead (as at `live.max_streams`).
pub(crate) fn too_many_live_viewers() -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, "too many live viewers").into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

/// "This link does not exist", with the footer of the workspace it would belong to (for an
/// unknown token: the instance's workspace, so every 404 looks the same).
pub(crate) fn not_found_page(footer: &str) -> Response {
    let page = PublicMissingPage {
        footer: footer.to_owned(),
    };
    (StatusCode::NOT_FOUND, page).into_response()
}

/// [`not_found_page`] when no link is known.
pub(crate) async fn missing(state: &App) -> Response {
    not_found_page(&outsider::public_footer(state).await)
}

pub(crate) fn gone_page(workspace: &Workspace) -> Response {
    render(
        StatusCode::GONE,
        &PublicGonePage {
            contact_line: workspace.policy.contact_line.clone(),
            footer: workspace.policy.footer.clone(),
        },
    )
}

/// An error as an outsider sees it: the client error's sentence on a plain page. 5xx causes
/// are logged by [`HttpError::to_client`] and go nowhere else.
pub(crate) async fn problem_page(state: &App, error: HttpError) -> Response {
    if matches!(error, HttpError::App(Error::NotFound)) {
        return missing(state).await;
    }
    problem_response(&error)
}

/// [`problem_page`] for any error but "not found" (which needs the workspace's footer).
pub(crate) fn problem_response(error: &HttpError) -> Response {
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

/// The polite public page for a request whose handler panicked (the panic is logged, and
/// nothing of it is shown). For `CatchPanicLayer::custom` on the outsider routes.
pub fn panic_page(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    crate::error::log_panic(panic.as_ref());
    problem_response(&Error::internal("a request handler panicked").into())
}

/// A redirect to a local path (never a panic on an odd header value).
fn redirect(status: StatusCode, location: &str) -> Result<Response, HttpError> {
    let value = HeaderValue::from_str(location).map_err(Error::internal)?;
    let mut response = status.into_response();
    response.headers_mut().insert(header::LOCATION, value);
    Ok(response)
}

pub(crate) async fn outcome(state: &App, result: Result<Response, HttpError>) -> Response {
    match result {
        Ok(response) => response,
        Err(error) => problem_page(state, error).await,
    }
}

// ---- who is asking -------------------------------------------------------------------------

/// The requester, as the access log records it.
pub(crate) fn requester(
    state: &App,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
) -> Requester {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let country = state.geo.header_name().and_then(header);
    Requester::new(
        state,
        ip,
        header(header::USER_AGENT.as_str()).unwrap_or(""),
        country,
    )
}

/// Resolves the token of this request, with its cookies.
async fn open_link(
    state: &App,
    token: &str,
    who: &Requester,
    headers: &HeaderMap,
) -> Result<Gate, HttpError> {
    Ok(outsider::open_link(state, token, who, |name| {
        auth::cookie(headers, name).map(str::to_owned)
    })
    .await?)
}

/// The answer to a gate that refuses, after recording it: the 404 page for unknown tokens and
/// clients outside the link's allowlist, the 410 page for links that no longer open.
async fn refused(state: &App, who: &Requester, gate: &Gate) -> Result<Response, HttpError> {
    if let Some(outcome) = gate.refusal() {
        outsider::record(state, who, gate.link(), outcome).await?;
    }
    Ok(match gate {
        Gate::Gone(_, workspace, _) => gone_page(workspace),
        _ => missing(state).await,
    })
}

// ---- headers -------------------------------------------------------------------------------

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

pub(crate) fn with_frame(mut response: Response, settings: &LinkSettings) -> Response {
    if let Some(frame) = frame_ancestors(settings) {
        response.extensions_mut().insert(frame);
    }
    response
}

// ---- the view ----------------------------------------------------------------------------

fn query_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
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
        "standalone",
        "expand_filters",
        "hide_chart_controls",
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

/// Where a dashboard page is served from and, when embedded, with which guest token.
pub(crate) struct PageBase<'a> {
    /// `/share/{token}` or `/embed/{embed_id}`.
    pub path: String,
    /// The embedded page's guest token.
    pub guest_token: Option<&'a str>,
}

/// The outsider's dashboard page for `access` under `query`: kept or built
/// ([`crate::reuse::kept_or_built`]), compressed for the request's `Accept-Encoding`.
pub(crate) async fn dashboard_response(
    state: &App,
    request_headers: &HeaderMap,
    access: &ShareAccess,
    base: PageBase<'_>,
    query: &str,
    seen: (Display, ViewState),
) -> Response {
    let inputs =
        crate::reuse::page_inputs(state, access, &base.path, base.guest_token, query, &seen.1);
    // Boxed, and made only on a miss: the build is a large future.
    let build = move || Box::pin(build_dashboard_page(state, access, base, query, seen));
    crate::reuse::kept_or_built(state, request_headers, access, inputs, build).await
}

/// Builds the outsider's dashboard page; also until when it stays what building it again
/// would give ([`crate::dashboards::view::DashboardParts::fresh_until`]).
async fn build_dashboard_page(
    state: &App,
    access: &ShareAccess,
    base: PageBase<'_>,
    query: &str,
    (display, view): (Display, ViewState),
) -> (Response, Option<time::OffsetDateTime>) {
    let doc = &access.context().document;
    let settings = access.settings();
    let only = access.only_widget();
    let mut parts = dashboard_parts(
        &state.runner,
        access.context(),
        &view,
        access.restrictions(),
        only,
    )
    .await;
    let fresh_until = parts.fresh_until;
    if only.is_some() {
        for card in &mut parts.cards {
            let h = doc.widget(&card.id).map_or(4, |w| w.layout.h);
            card.classes = format!("w-x-0 w-y-0 w-w-12 w-h-{h}");
        }
    }
    let open: BTreeSet<&str> = settings.open_filters.iter().map(String::as_str).collect();
    let labels: BTreeMap<&str, &str> = doc
        .filters
        .iter()
        .map(|f| (f.id.as_str(), f.label.as_str()))
        .collect();
    let mut fixed = Vec::new();
    for filter in &doc.filters {
        let id = filter.id.as_str();
        let locked = settings.locked_filters.contains_key(id);
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
                open.contains(c.id.as_str()) && !settings.locked_filters.contains_key(&c.id)
            })
            .collect()
    } else {
        Vec::new()
    };
    let keep = kept_parameters(query);
    let base_path = base.path;
    let downloads = display
        .downloads
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
        footer: if display.embed || display.standalone >= 1 || access.guest().is_some() {
            String::new()
        } else {
            access.workspace().policy.footer.clone()
        },
        downloads,
        css: crate::assets::url(DASHBOARD_CSS),
        js: crate::assets::url(DASHBOARD_JS),
        charts_only: display.standalone >= 3,
        filters_collapsed: !display.filters_expanded,
        guest_token: base.guest_token.unwrap_or_default().to_owned(),
        embed_js: access
            .guest()
            .map(|_| crate::assets::url(crate::assets::EMBED_FRAME_JS)),
        allowed_origins: access
            .guest()
            .map(|g| {
                g.settings
                    .allowed_origins
                    .iter()
                    .map(|o| o.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    };
    (render(StatusCode::OK, &page), fresh_until)
}

fn prompt_response(
    token: &str,
    query: &str,
    link: &LinkRecord,
    workspace: &Workspace,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    // A link whose settings cannot be read was refused before it could ask for a password;
    // the defaults here only shape the prompt (and frame it nowhere).
    let settings = LinkSettings::of(link).unwrap_or_default();
    let display: Display = outsider::display_of(&settings, query);
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

/// What the e-mail step shows.
struct ConfirmStep<'a> {
    sent_to: Option<&'a str>,
    email: &'a str,
    error: Option<String>,
}

fn confirm_response(
    token: &str,
    query: &str,
    link: &LinkRecord,
    workspace: &Workspace,
    status: StatusCode,
    step: ConfirmStep<'_>,
) -> Response {
    let settings = LinkSettings::of(link).unwrap_or_default();
    let display: Display = outsider::display_of(&settings, query);
    let page = PublicConfirmPage {
        send_action: with_query(&format!("/share/{token}/confirm"), query),
        verify_action: with_query(&format!("/share/{token}/verify"), query),
        sent_to: step.sent_to.map(str::to_owned),
        email: step.email.chars().take(254).collect(),
        domains: settings
            .access
            .email_domains
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        minutes: identified::CODE_TTL.whole_minutes(),
        error: step.error,
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
    State(state): State<App>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        &state,
        async {
            let who = requester(&state, &headers, ip);
            let query = query.unwrap_or_default();
            let access = match open_link(&state, &token, &who, &headers).await? {
                Gate::Open(access) => access,
                Gate::Locked(link, workspace) => {
                    return Ok(prompt_response(
                        &token,
                        &query,
                        &link,
                        &workspace,
                        StatusCode::OK,
                        None,
                    ));
                }
                Gate::Unconfirmed(link, workspace) => {
                    return Ok(confirm_response(
                        &token,
                        &query,
                        &link,
                        &workspace,
                        StatusCode::OK,
                        ConfirmStep {
                            sent_to: None,
                            email: "",
                            error: None,
                        },
                    ));
                }
                gate => return refused(&state, &who, &gate).await,
            };
            // Cost caps first: a refused view is not counted against a view limit.
            let seen = outsider::admit_view(&state, &access, &who, &query)?;
            let view_pass = match outsider::admit_page_view(&state, &access, &who).await? {
                PageView::UsedUp => return Ok(gone_page(access.workspace())),
                PageView::Admitted { view_pass } => view_pass,
            };
            let base = PageBase {
                path: format!("/share/{token}"),
                guest_token: None,
            };
            let mut response =
                dashboard_response(&state, &headers, &access, base, &query, seen).await;
            if let Some(pass) = view_pass {
                let cookie = link_cookie(
                    &state,
                    access.link(),
                    &outsider::view_pass_cookie_name(access.link()),
                    &pass,
                    outsider::VIEW_PASS_TTL,
                );
                response.headers_mut().append(
                    header::SET_COOKIE,
                    HeaderValue::from_str(&cookie).map_err(Error::internal)?,
                );
            }
            Ok(with_frame(response, access.settings()))
        }
        .await,
    )
    .await
}

async fn show_shared_widget(
    State(state): State<App>,
    Path((token, widget_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        &state,
        async {
            let query = query.unwrap_or_default();
            let who = requester(&state, &headers, ip);
            let access = match open_link(&state, &token, &who, &headers).await? {
                Gate::Open(access) => access,
                // Token probing is recorded; an open tab refreshing a dead link is not.
                gate @ (Gate::NotFound | Gate::NotAllowed(_)) => {
                    return refused(&state, &who, &gate).await;
                }
                Gate::Gone(_, workspace, _) => return Ok(gone_page(&workspace)),
                Gate::Locked(..) | Gate::Unconfirmed(..) => return Ok(missing(&state).await),
            };
            if !access.may_show_widget(&widget_id) {
                return Ok(with_frame(
                    not_found_page(&access.workspace().policy.footer),
                    access.settings(),
                ));
            }
            let (_, view) = outsider::admit_view(&state, &access, &who, &query)?;
            let Some(html) = widget_card(
                &state.runner,
                access.context(),
                &widget_id,
                &view,
                access.restrictions(),
            )
            .await
            else {
                return Ok(with_frame(
                    not_found_page(&access.workspace().policy.footer),
                    access.settings(),
                ));
            };
            Ok(with_frame(
                axum::response::Html(html).into_response(),
                access.settings(),
            ))
        }
        .await,
    )
    .await
}

async fn live_shared_dashboard(
    State(state): State<App>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        &state,
        async {
            let (query, params) = LiveStreamParams::split(query.as_deref().unwrap_or(""));
            let who = requester(&state, &headers, ip);
            let access = match open_link(&state, &token, &who, &headers).await? {
                Gate::Open(access) => access,
                gate @ (Gate::NotFound | Gate::NotAllowed(_)) => {
                    return refused(&state, &who, &gate).await;
                }
                Gate::Gone(_, workspace, reason) => {
                    let reason = if reason == "not_found" {
                        "deleted"
                    } else {
                        reason
                    };
                    return Ok(revoked_response(reason, &workspace.policy.contact_line));
                }
                // The page reloads and asks again (for the password or the e-mail address).
                Gate::Locked(_, workspace) | Gate::Unconfirmed(_, workspace) => {
                    return Ok(revoked_response("password", &workspace.policy.contact_line));
                }
            };
            let permit = match outsider::open_stream(&state, &access, &who) {
                Ok(permit) => permit,
                // Past the link's stream caps the page polls instead, as when the instance
                // holds `live.max_streams`.
                Err(_) => return Ok(too_many_live_viewers()),
            };
            let (_, view) = outsider::admit_view(&state, &access, &who, &query)?;
            let link = LinkWatch {
                state: vitrine_app::live::watch_link(&state, access.link()),
                contact: access.workspace().policy.contact_line.clone(),
                permit: Some(permit),
                // A stream outlives no cookie it was admitted with.
                deadline: access.admitted_until(),
            };
            let target = vitrine_app::hub::Target {
                workspace_id: access.link().workspace_id,
                dashboard_id: access.link().dashboard_id,
                revision: access.context().revision,
                view,
                restrictions: access.restrictions().clone(),
                only_widget: access.link().widget_id.clone(),
            };
            Ok(live_response(&state, target, Some(link), params))
        }
        .await,
    )
    .await
}

// ---- downloads -------------------------------------------------------------------------------

/// Opens the link for a download: the page's gate (404 / 410 / the password prompt), then 404
/// unless the link allows downloads and, for a widget link, `widget_id` is its widget.
async fn open_for_download(
    state: &App,
    token: &str,
    query: &str,
    headers: &HeaderMap,
    who: &Requester,
    widget_id: Option<&str>,
) -> Result<Result<Box<ShareAccess>, Response>, HttpError> {
    let access = match open_link(state, token, who, headers).await? {
        Gate::Open(access) => access,
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
        Gate::Unconfirmed(link, workspace) => {
            return Ok(Err(confirm_response(
                token,
                query,
                &link,
                &workspace,
                StatusCode::UNAUTHORIZED,
                ConfirmStep {
                    sent_to: None,
                    email: "",
                    error: None,
                },
            )));
        }
        gate => return Ok(Err(refused(state, who, &gate).await?)),
    };
    if !downloads::may_download(&access, widget_id) {
        return Ok(Err(with_frame(
            not_found_page(&access.workspace().policy.footer),
            access.settings(),
        )));
    }
    Ok(Ok(access))
}

async fn export_shared_pdf(
    State(state): State<App>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        &state,
        async {
            let query = query.unwrap_or_default();
            let who = requester(&state, &headers, ip);
            let access =
                match open_for_download(&state, &token, &query, &headers, &who, None).await? {
                    Ok(access) => access,
                    Err(refused) => return Ok(refused),
                };
            let file = downloads::shared_pdf(&state, &access, &who, &query).await?;
            Ok(with_frame(exports::download(file), access.settings()))
        }
        .await,
    )
    .await
}

async fn export_shared_widget(
    State(state): State<App>,
    Path((token, widget_id, file)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    let Some(format) = ExportFormat::of_widget_file(&file) else {
        return missing(&state).await;
    };
    outcome(
        &state,
        async {
            let query = query.unwrap_or_default();
            let who = requester(&state, &headers, ip);
            let access =
                match open_for_download(&state, &token, &query, &headers, &who, Some(&widget_id))
                    .await?
                {
                    Ok(access) => access,
                    Err(refused) => return Ok(refused),
                };
            let file =
                downloads::shared_widget_file(&state, &access, &who, &widget_id, &query, format)
                    .await?;
            Ok(match file {
                Some(file) => with_frame(exports::download(file), access.settings()),
                None => with_frame(
                    not_found_page(&access.workspace().policy.footer),
                    access.settings(),
                ),
            })
        }
        .await,
    )
    .await
}

// ---- the password form -----------------------------------------------------------------------

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

/// [`same_origin`] against this server's own base URLs: the one check every outsider form post
/// (unlock, e-mail confirmation, code) passes before anything else.
fn posted_from_here(state: &App, headers: &HeaderMap) -> bool {
    let public_base = state.config.public_base_url();
    let known = [origin_of(&public_base), origin_of(&state.config.base_url)];
    same_origin(headers, &known)
}

/// The scheme, host and port of a base URL (`https://share.example.com`).
fn origin_of(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    url[start..]
        .find('/')
        .map_or(url, |end| &url[..start + end])
}

/// A cookie of one link (its unlock cookie or view pass): `HttpOnly`, scoped to the link by
/// its name, `SameSite=None; Secure` only where it must work inside an embedding iframe over
/// https.
fn link_cookie(
    state: &App,
    link: &LinkRecord,
    name: &str,
    value: &str,
    ttl: time::Duration,
) -> String {
    let https = state.config.public_base_url().starts_with("https://");
    let embeddable = LinkSettings::of(link).is_ok_and(|s| s.embed.allowed);
    let same_site = if https && embeddable { "None" } else { "Lax" };
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={}{secure}",
        ttl.whole_seconds()
    )
}

async fn unlock_shared_link(
    State(state): State<App>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<UnlockForm>,
) -> Response {
    outcome(
        &state,
        async {
            if !posted_from_here(&state, &headers) {
                return Err(Error::Forbidden.into());
            }
            let query = query.unwrap_or_default();
            let who = requester(&state, &headers, ip);
            let back = with_query(&format!("/share/{token}"), &query);
            Ok(
                match outsider::unlock(&state, &token, &who, &form.password).await? {
                    Unlock::NotFound => missing(&state).await,
                    Unlock::Gone(_, workspace) => gone_page(&workspace),
                    Unlock::NoPassword(_) => redirect(StatusCode::SEE_OTHER, &back)?,
                    Unlock::Throttled {
                        link,
                        workspace,
                        retry_after,
                    } => {
                        let mut response = prompt_response(
                            &token,
                            &query,
                            &link,
                            &workspace,
                            StatusCode::TOO_MANY_REQUESTS,
                            Some(format!(
                                "Too many wrong passwords. Try again in {}.",
                                vitrine_app::text::wait(retry_after)
                            )),
                        );
                        response
                            .headers_mut()
                            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                        response
                    }
                    Unlock::Wrong(link, workspace) => prompt_response(
                        &token,
                        &query,
                        &link,
                        &workspace,
                        StatusCode::UNAUTHORIZED,
                        Some("That password is not right. Check it and try again.".to_owned()),
                    ),
                    Unlock::Unlocked { link, cookie } => {
                        let cookie = link_cookie(
                            &state,
                            &link,
                            &outsider::unlock_cookie_name(&link),
                            &cookie,
                            UNLOCK_TTL,
                        );
                        let cookie = HeaderValue::from_str(&cookie).map_err(Error::internal)?;
                        let mut response = redirect(StatusCode::SEE_OTHER, &back)?;
                        response.headers_mut().append(header::SET_COOKIE, cookie);
                        with_frame(response, &LinkSettings::of(&link).unwrap_or_default())
                    }
                },
            )
        }
        .await,
    )
    .await
}

// ---- the e-mail and code forms of identified links ------------------------------------------

#[derive(Debug, Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

/// The answer to a gate that does not reach the e-mail step: what `GET /share/{token}` would
/// show (the gate's refusal was recorded by the application).
async fn gate_response(
    state: &App,
    token: &str,
    query: &str,
    gate: Gate,
) -> Result<Response, HttpError> {
    Ok(match gate {
        Gate::Gone(_, workspace, _) => gone_page(&workspace),
        Gate::Locked(link, workspace) => prompt_response(
            token,
            query,
            &link,
            &workspace,
            StatusCode::UNAUTHORIZED,
            None,
        ),
        // Open already (or no longer asking for an address): to the page.
        Gate::Open(_) | Gate::Unconfirmed(..) => redirect(
            StatusCode::SEE_OTHER,
            &with_query(&format!("/share/{token}"), query),
        )?,
        Gate::NotFound | Gate::NotAllowed(_) => missing(state).await,
    })
}

fn with_retry_after(mut response: Response, retry_after: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

async fn send_view_code(
    State(state): State<App>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Response {
    outcome(
        &state,
        async {
            if !posted_from_here(&state, &headers) {
                return Err(Error::Forbidden.into());
            }
            let query = query.unwrap_or_default();
            let who = requester(&state, &headers, ip);
            let cookie = |name: &str| auth::cookie(&headers, name).map(str::to_owned);
            let step = |error: &str| ConfirmStep {
                sent_to: None,
                email: &form.email,
                error: Some(error.to_owned()),
            };
            Ok(
                match identified::request_code(&state, &token, &who, cookie, &form.email).await? {
                    CodeRequest::Gate(gate) => gate_response(&state, &token, &query, gate).await?,
                    CodeRequest::Invalid(link, workspace) => confirm_response(
                        &token,
                        &query,
                        &link,
                        &workspace,
                        StatusCode::BAD_REQUEST,
                        step("Enter a valid e-mail address."),
                    ),
                    CodeRequest::Refused(link, workspace) => confirm_response(
                        &token,
                        &query,
                        &link,
                        &workspace,
                        StatusCode::FORBIDDEN,
                        step("This address cannot view this dashboard. Use the address it was shared with."),
                    ),
                    CodeRequest::Throttled {
                        link,
                        workspace,
                        retry_after,
                    } => with_retry_after(
                        confirm_response(
                            &token,
                            &query,
                            &link,
                            &workspace,
                            StatusCode::TOO_MANY_REQUESTS,
                            step(&format!(
                                "Too many codes were asked for. Try again in {}.",
                                vitrine_app::text::wait(retry_after)
                            )),
                        ),
                        retry_after,
                    ),
                    CodeRequest::Sent {
                        link,
                        workspace,
                        address,
                    } => confirm_response(
                        &token,
                        &query,
                        &link,
                        &workspace,
                        StatusCode::OK,
                        ConfirmStep {
                            sent_to: Some(&address),
                            email: &address,
                            error: None,
                        },
                    ),
                },
            )
        }
        .await,
    )
    .await
}

async fn confirm_view_code(
    State(state): State<App>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    outcome(
        &state,
        async {
            if !posted_from_here(&state, &headers) {
                return Err(Error::Forbidden.into());
            }
            let query = query.unwrap_or_default();
            let who = requester(&state, &headers, ip);
            let cookie = |name: &str| auth::cookie(&headers, name).map(str::to_owned);
            let back = with_query(&format!("/share/{token}"), &query);
            let confirmed =
                identified::confirm_code(&state, &token, &who, cookie, &form.email, &form.code)
                    .await?;
            Ok(match confirmed {
                Confirm::Gate(gate) => gate_response(&state, &token, &query, gate).await?,
                Confirm::Refused(link, workspace) => confirm_response(
                    &token,
                    &query,
                    &link,
                    &workspace,
                    StatusCode::FORBIDDEN,
                    ConfirmStep {
                        sent_to: None,
                        email: &form.email,
                        error: Some(
                            "This address cannot view this dashboard. Use the address it was shared with."
                                .to_owned(),
                        ),
                    },
                ),
                Confirm::Throttled {
                    link,
                    workspace,
                    address,
                    retry_after,
                } => with_retry_after(
                    confirm_response(
                        &token,
                        &query,
                        &link,
                        &workspace,
                        StatusCode::TOO_MANY_REQUESTS,
                        ConfirmStep {
                            sent_to: Some(&address),
                            email: &address,
                            error: Some(format!(
                                "Too many wrong codes. Try again in {}.",
                                vitrine_app::text::wait(retry_after)
                            )),
                        },
                    ),
                    retry_after,
                ),
                Confirm::Wrong {
                    link,
                    workspace,
                    address,
                    why,
                } => confirm_response(
                    &token,
                    &query,
                    &link,
                    &workspace,
                    StatusCode::UNAUTHORIZED,
                    ConfirmStep {
                        sent_to: Some(&address),
                        email: &address,
                        error: Some(
                            match why {
                                CodeCheck::Expired => {
                                    "That code has expired. Ask for a new one below."
                                }
                                CodeCheck::Used => {
                                    "That code was already used (or a newer one was sent). Ask for a new one below."
                                }
                                _ => "That code is not right. Check the latest message and try again.",
                            }
                            .to_owned(),
                        ),
                    },
                ),
                Confirm::Confirmed { link, cookie } => {
                    let cookie = link_cookie(
                        &state,
                        &link,
                        &outsider::viewer_cookie_name(&link),
                        &cookie,
                        outsider::VIEWER_TTL,
                    );
                    let cookie = HeaderValue::from_str(&cookie).map_err(Error::internal)?;
                    let mut response = redirect(StatusCode::SEE_OTHER, &back)?;
                    response.headers_mut().append(header::SET_COOKIE, cookie);
                    with_frame(response, &LinkSettings::of(&link).unwrap_or_default())
                }
            })
        }
        .await,
    )
    .await
}

async fn follow_short_link(
    State(state): State<App>,
    Path(code): Path<String>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    outcome(
        &state,
        async {
            let who = requester(&state, &headers, ip);
            Ok(
                match outsider::follow_short_code(&state, &code, &who).await? {
                    ShortLink::NotFound => missing(&state).await,
                    ShortLink::Gone(workspace) => gone_page(&workspace),
                    ShortLink::Open(path) => redirect(StatusCode::FOUND, &path)?,
                },
            )
        }
        .await,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

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
