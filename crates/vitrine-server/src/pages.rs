//! One struct per page, rendered by compiled, auto-escaping askama templates
//! (`templates/*.html`). Paths used by templates live in [`paths`].

use askama::Template;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::auth::Identity;
use crate::error::ClientError;
use vitrine_app::accounts::{ApiKeyView, MemberView};

/// Every path the owner UI links to, in one place.
pub mod paths {
    /// Home: the dashboards list.
    pub const HOME: &str = "/";
    /// Login.
    pub const LOGIN: &str = "/login";
    /// Logout (POST).
    pub const LOGOUT: &str = "/logout";
    /// Members.
    pub const MEMBERS: &str = "/members";
    /// API keys.
    pub const API_KEYS: &str = "/api-keys";
    /// Change password.
    pub const PASSWORD: &str = crate::auth::PASSWORD_PATH;
    /// Audit trail.
    pub const AUDIT: &str = "/audit";
    /// Data sources.
    pub const DATA_SOURCES: &str = "/data-sources";
    /// Datasets.
    pub const DATASETS: &str = "/datasets";
    /// A new dashboard.
    pub const NEW_DASHBOARD: &str = "/dashboards/new";
    /// Stylesheet.
    pub const CSS: &str = "/static/app.css";
    /// Script.
    pub const JS: &str = "/static/app.js";
}

/// What the page frame needs to know about the viewer.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The member's display name.
    pub name: String,
    /// Their e-mail.
    pub email: String,
    /// Their role.
    pub role: String,
    /// Shows the Members link.
    pub can_manage_members: bool,
    /// Shows the Audit link.
    pub is_admin: bool,
    /// Shows the data links.
    pub can_edit: bool,
    /// The CSRF token for forms.
    pub csrf: String,
    /// The active section, for the nav.
    pub active: &'static str,
}

impl Chrome {
    /// The frame for `identity` on section `active`.
    pub fn new(identity: &Identity, active: &'static str) -> Self {
        let actor = identity.actor();
        Self {
            name: identity.member.name.clone(),
            email: identity.member.email.clone(),
            role: actor.role.to_string(),
            can_manage_members: actor.can_manage_members(),
            is_admin: actor.is_admin(),
            can_edit: actor.can_edit_content(),
            csrf: identity.csrf().to_owned(),
            active,
        }
    }
}

/// Renders a template as an HTML response; a render failure is logged and a bare 500.
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

macro_rules! page_response {
    ($($page:ty),* $(,)?) => {
        $(impl IntoResponse for $page {
            fn into_response(self) -> Response {
                render(&self)
            }
        })*
    };
}

/// The login form.
#[derive(Debug, Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// The double-submit token.
    pub csrf: String,
    /// Where to go after.
    pub next: String,
    /// The address typed, to refill.
    pub email: String,
    /// What went wrong.
    pub error: Option<String>,
}

/// The dashboards list.
#[derive(Debug, Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// The frame.
    pub chrome: Chrome,
    /// The dashboards the member may see.
    pub dashboards: Vec<vitrine_app::content::DashboardSummary>,
    /// May create dashboards.
    pub can_edit: bool,
}

/// Credentials shown once.
#[derive(Debug, Clone)]
pub struct OneTimeSecret {
    /// What it is for ("ada@example.com", "CI export job").
    pub label: String,
    /// The secret.
    pub secret: String,
}

/// Members and invitations.
#[derive(Debug, Template)]
#[template(path = "members.html")]
pub struct MembersPage {
    /// The frame.
    pub chrome: Chrome,
    /// The members.
    pub members: Vec<MemberView>,
    /// The viewer's own id, to mark "you".
    pub me: i64,
    /// Whether the viewer can grant admin and manage_members.
    pub is_admin: bool,
    /// A one-time password to show.
    pub created: Option<OneTimeSecret>,
    /// What went wrong.
    pub error: Option<String>,
    /// Open invitations by e-mail.
    pub invitations: Vec<InvitationRowView>,
}

/// One member's page: their access and their data permissions.
#[derive(Debug, Template)]
#[template(path = "member.html")]
pub struct MemberPage {
    /// The frame.
    pub chrome: Chrome,
    /// The member's id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their address.
    pub email: String,
    /// Their role.
    pub role: &'static str,
    /// Limited to the dashboards given to them.
    pub dashboards_only: bool,
    /// Dashboards given to them on their own: (id, title, right).
    pub dashboards: Vec<(i64, String, String)>,
    /// The data rules that apply to them (their own and their role's).
    pub rules: Vec<DataRuleRow>,
    /// Whether the viewer may add and remove rules (admins).
    pub can_manage: bool,
    /// The workspace's datasets (slugs), for the rule form.
    pub datasets: Vec<String>,
    /// What went wrong.
    pub error: Option<String>,
}

page_response!(MemberPage);

/// A data rule as the member page shows it.
#[derive(Debug, Clone)]
pub struct DataRuleRow {
    /// Id.
    pub id: i64,
    /// `region = EMEA`.
    pub summary: String,
    /// `every viewer` or `this member`.
    pub through: String,
    /// When it was added.
    pub added: String,
}

/// An open invitation as the members page shows it.
#[derive(Debug, Clone)]
pub struct InvitationRowView {
    /// Id.
    pub id: i64,
    /// The address.
    pub email: String,
    /// The role.
    pub role: String,
    /// Who invited.
    pub invited_by: String,
    /// When (last) sent.
    pub sent_at: Stamp,
    /// When it expires.
    pub expires_at: Stamp,
    /// Whether it has.
    pub expired: bool,
}

impl From<&vitrine_app::invitations::InvitationView> for InvitationRowView {
    fn from(i: &vitrine_app::invitations::InvitationView) -> Self {
        Self {
            id: i.id,
            email: i.email.clone(),
            role: i.role.to_string(),
            invited_by: i.invited_by.clone(),
            sent_at: stamp(i.sent_at),
            expires_at: stamp(i.expires_at),
            expired: i.expired,
        }
    }
}

/// API keys.
#[derive(Debug, Template)]
#[template(path = "api_keys.html")]
pub struct ApiKeysPage {
    /// The frame.
    pub chrome: Chrome,
    /// The keys.
    pub keys: Vec<ApiKeyView>,
    /// A new key to show once.
    pub created: Option<OneTimeSecret>,
    /// What went wrong.
    pub error: Option<String>,
}

/// Change password.
#[derive(Debug, Template)]
#[template(path = "password.html")]
pub struct PasswordPage {
    /// The frame.
    pub chrome: Chrome,
    /// True while a one-time password is in use.
    pub forced: bool,
    /// What went wrong.
    pub error: Option<String>,
    /// Confirmation.
    pub done: bool,
}

/// One audit row as shown.
#[derive(Debug, Clone)]
pub struct AuditRowView {
    /// When (UTC, readable).
    pub at: Stamp,
    /// `action` or `access`.
    pub kind: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// The entry as a sentence.
    pub summary: String,
    /// The target's page, when it has one.
    pub target_path: Option<String>,
    /// `type:id`.
    pub target: String,
    /// Details, unfolded: (key, value) pairs.
    pub detail: Vec<(String, String)>,
}

/// The audit trail: a search form, a page of entries, the next page.
#[derive(Debug, Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// The frame.
    pub chrome: Chrome,
    /// The entries.
    pub events: Vec<AuditRowView>,
    /// The form's values: source, actor, action, target type, target id, from, to.
    pub form: [(String, String); 7],
    /// The next page.
    pub next: Option<String>,
    /// The CSV of this search.
    pub csv: String,
}

/// An error page: shows a [`ClientError`] and nothing else.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The status code.
    pub status: u16,
    /// A title.
    pub title: String,
    /// The message.
    pub message: String,
}

impl From<&ClientError> for ErrorPage {
    fn from(error: &ClientError) -> Self {
        let title = match error.status.as_u16() {
            401 => "Sign in required",
            403 => "Not allowed",
            404 => "Not found",
            429 => "Slow down",
            400 | 409 => "Please check your input",
            _ => "Something went wrong",
        };
        Self {
            status: error.status.as_u16(),
            title: title.to_owned(),
            message: error.message.clone(),
        }
    }
}

/// The outsiders' polite "no such link" page: says nothing about any dashboard.
#[derive(Debug, Template)]
#[template(path = "public_missing.html")]
pub struct PublicMissingPage {
    /// The workspace's footer (empty: none).
    pub footer: String,
}

page_response!(
    LoginPage,
    HomePage,
    MembersPage,
    ApiKeysPage,
    PasswordPage,
    AuditPage,
    ErrorPage,
    PublicMissingPage
);

pub use vitrine_app::text::{format_opt_time, format_time};

/// An instant on a page, or "never". It renders as
/// `<time datetime="2026-11-23T10:04:00Z" title="2026-11-23 10:04 UTC">2026-11-23 10:04 UTC</time>`,
/// which `app.js` rewrites into the viewer's own zone (the UTC text stays as the tooltip and is
/// what a page without JavaScript shows). The markup holds digits and fixed text only, so it is
/// marked HTML-safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(pub Option<time::OffsetDateTime>);

impl Stamp {
    /// No instant: "never".
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            None => f.write_str("never"),
            Some(t) => {
                let utc = format_time(t);
                write!(
                    f,
                    r#"<time datetime="{}" title="{utc}">{utc}</time>"#,
                    vitrine_app::text::iso_time(t)
                )
            }
        }
    }
}

impl askama::filters::HtmlSafe for Stamp {}

/// [`Stamp`] of an instant.
pub fn stamp(t: time::OffsetDateTime) -> Stamp {
    Stamp(Some(t))
}

/// Data sources.
#[derive(Debug, Template)]
#[template(path = "data_sources.html")]
pub struct DataSourcesPage {
    /// The frame.
    pub chrome: Chrome,
    /// The sources.
    pub sources: Vec<vitrine_app::content::DataSourceView>,
    /// May create and change.
    pub can_edit: bool,
    /// A confirmation.
    pub notice: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
    /// The form's previous name, kind (location is never echoed: it may hold a password).
    pub name: String,
    /// The kind chosen.
    pub kind: String,
}

/// The dashboards using one dataset, as the member may know them.
#[derive(Debug, Default)]
pub struct DatasetUsersView {
    /// Those they may see, as `(id, title)`.
    pub dashboards: Vec<(i64, String)>,
    /// How many others (restricted dashboards not given to them).
    pub hidden: usize,
}

impl DatasetUsersView {
    /// Whether no dashboard uses the dataset.
    pub fn is_empty(&self) -> bool {
        self.dashboards.is_empty() && self.hidden == 0
    }

    /// "and 2 you cannot see" (after named ones) or "2 you cannot see" (alone); empty when
    /// every user is named.
    pub fn hidden_text(&self) -> String {
        match (self.hidden, self.dashboards.is_empty()) {
            (0, _) => String::new(),
            (1, true) => "1 dashboard you cannot see".to_owned(),
            (n, true) => format!("{n} dashboards you cannot see"),
            (n, false) => format!(" and {n} you cannot see"),
        }
    }
}

/// Datasets.
#[derive(Debug, Template)]
#[template(path = "datasets.html")]
pub struct DatasetsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The datasets.
    pub datasets: Vec<vitrine_app::content::DatasetView>,
    /// The sources, for the form.
    pub sources: Vec<vitrine_app::content::DataSourceView>,
    /// For each dataset (same order): the dashboards using it.
    pub used_by: Vec<DatasetUsersView>,
    /// May create and change.
    pub can_edit: bool,
    /// The dataset being edited, if any.
    pub editing: Option<i64>,
    /// The form's values.
    pub form: DatasetFormView,
    /// A confirmation.
    pub notice: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
}

/// The dataset form's values.
#[derive(Debug, Clone, Default)]
pub struct DatasetFormView {
    /// Data source id.
    pub data_source_id: i64,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// SQL.
    pub sql: String,
}

/// The home page's list, and the editor for a dashboard's document.
#[derive(Debug, Template)]
#[template(path = "dashboard_edit.html")]
pub struct DashboardEditPage {
    /// The frame.
    pub chrome: Chrome,
    /// The dashboard's id, `None` for a new one.
    pub id: Option<i64>,
    /// The title (for the heading).
    pub title: String,
    /// The slug.
    pub slug: String,
    /// The revision the edit started from.
    pub revision: i64,
    /// The YAML.
    pub yaml: String,
    /// Common fields, when the document parses.
    pub fields: Option<DashboardFields>,
    /// Errors, one per line ("line 12: widgets[0]…").
    pub errors: Vec<String>,
    /// The datasets one may name, with their columns.
    pub datasets: Vec<vitrine_app::content::DatasetView>,
    /// The same as JSON (`[{id, slug, name}]`) for the builder's script.
    pub builder_datasets: String,
    /// Its public links, for the "visible to everyone holding those links" warning.
    pub sharing: DashboardSharing,
}

/// The common fields of a dashboard, edited without touching YAML.
#[derive(Debug, Clone)]
pub struct DashboardFields {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Refresh interval in seconds.
    pub refresh_seconds: u32,
    /// Published or not.
    pub published: bool,
}

page_response!(DataSourcesPage, DatasetsPage, DashboardEditPage);

/// A column type's name for people.
pub fn column_type(kind: &vitrine_core::result::ColumnType) -> &'static str {
    use vitrine_core::result::ColumnType as T;
    match kind {
        T::Integer => "integer",
        T::Number => "number",
        T::Text => "text",
        T::Boolean => "boolean",
        T::Date => "date",
        T::Timestamp => "timestamp",
    }
}

// ---- share links: the share page and the workspace settings page ------------------------

/// Paths of the share and settings pages.
pub mod share_paths {
    use vitrine_core::id::DashboardId;

    /// Workspace settings (admins): link policy, suspend / resume, every link.
    pub const SETTINGS: &str = "/settings";
    /// The settings page's policy form (POST).
    pub const SETTINGS_POLICY: &str = "/settings/policy";
    /// Suspend every link (POST).
    pub const SETTINGS_SUSPEND: &str = "/settings/suspend";
    /// Resume (POST).
    pub const SETTINGS_RESUME: &str = "/settings/resume";
    /// The allowed e-mail domains of report recipients (POST).
    pub const SETTINGS_REPORT_DOMAINS: &str = "/settings/report-domains";

    /// A dashboard's share page; its create form posts here too.
    pub fn share(dashboard: DashboardId) -> String {
        format!("/dashboards/{dashboard}/share")
    }

    /// A new scheduled report of a dashboard.
    pub fn new_report(dashboard: DashboardId) -> String {
        format!("/dashboards/{dashboard}/reports/new")
    }

    /// One link on a dashboard's share page; its edit form posts here.
    pub fn link(dashboard: DashboardId, link: &str) -> String {
        format!("/dashboards/{dashboard}/share/{link}")
    }
}

/// What the dashboard page and the editor show about a dashboard's public links.
#[derive(Debug, Clone, Default)]
pub struct DashboardSharing {
    /// The member may see links (editors and admins); hides everything else when false.
    pub visible: bool,
    /// The member may open the share page (`share_public`).
    pub can_share: bool,
    /// Links that open right now.
    pub active_links: usize,
    /// The share page.
    pub share_path: String,
    /// The dashboard's scheduled reports (the dashboard page only; empty elsewhere).
    pub reports: Vec<ReportChip>,
    /// Where a new schedule of this dashboard is made.
    pub new_report_path: String,
}

/// A scheduled report as the dashboard page lists it.
#[derive(Debug, Clone)]
pub struct ReportChip {
    /// Its page.
    pub path: String,
    /// Its name.
    pub name: String,
    /// `Daily at 09:00 (Europe/Berlin)`.
    pub when: String,
    /// Enabled.
    pub enabled: bool,
}

/// One link as a row of the share page or the settings page.
#[derive(Debug, Clone)]
pub struct LinkRow {
    /// The link id (also the HTML anchor `link-{id}`).
    pub id: String,
    /// The audience.
    pub label: String,
    /// The dashboard it belongs to.
    pub dashboard_id: i64,
    /// The dashboard's title (settings page).
    pub dashboard_title: String,
    /// `Some(widget title)` for a link to one widget.
    pub widget: Option<String>,
    /// `active`, `disabled`, `expired`, `deleted` or `suspended`.
    pub state: &'static str,
    /// Turned on by its owner (disable vs. enable button).
    pub enabled: bool,
    /// Deleted: no URL, no actions.
    pub deleted: bool,
    /// `2026-12-01 10:00 UTC` or `never`.
    pub expires: Stamp,
    /// Asks for a password.
    pub has_password: bool,
    /// `Region: EMEA`, one per locked filter.
    pub locked: Vec<String>,
    /// The filters the viewer may change, by label.
    pub open: Vec<String>,
    /// Embedding allowed, with its origins.
    pub embed_origins: Option<String>,
    /// Successful views.
    pub views: i64,
    /// `2026-11-23 10:04 UTC` or `never`.
    pub last_access: Stamp,
    /// Last page view.
    pub last_view: Stamp,
    /// Last refused attempt.
    pub last_refused: Stamp,
    /// Created.
    pub created: Stamp,
    /// The full URL (empty once deleted).
    pub url: String,
    /// The short URL (empty once deleted).
    pub short_url: String,
    /// Why the link cannot be served although it is on (its settings cannot be read).
    pub problem: Option<String>,
    /// `3 of 5` when the link has a view limit.
    pub view_limit: Option<String>,
    /// Only these networks may open it (`10.0.0.0/8, 192.0.2.7/32`).
    pub networks: Option<String>,
    /// Viewers confirm their e-mail: `any address` or `@client.com, @partner.org`.
    pub identified: Option<String>,
    /// Who viewed an identified link lately: address, `3 views`, last view.
    pub viewers: Vec<(String, String, Stamp)>,
    /// Per lock, the widgets it cannot restrict: `Plan: Customers (hidden), Market index
    /// (shown to everyone)`.
    pub uncovered: Vec<String>,
    /// The messages that sent this link by e-mail, newest first: (sent or queued at,
    /// recipient, state).
    pub sent: Vec<(Stamp, String, &'static str)>,
}

/// One choice of a `<select>`.
#[derive(Debug, Clone)]
pub struct Choice {
    /// The value sent.
    pub value: String,
    /// The text shown.
    pub label: String,
    /// Not allowed (beyond the workspace's longest expiry).
    pub disabled: bool,
}

impl Choice {
    /// An enabled choice.
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            label: label.into(),
            disabled: false,
        }
    }
}

/// One dashboard filter in the link form: open, locked to a value, or hidden.
#[derive(Debug, Clone, Default)]
pub struct FilterField {
    /// The filter id (field names `mode.{id}`, `lock.{id}…`).
    pub id: String,
    /// Its label.
    pub label: String,
    /// `single_select`, `multi_select`, `date_range` or `number_range`.
    pub kind: &'static str,
    /// `open`, `locked` or `hidden`.
    pub mode: String,
    /// The locked value of a select filter (comma-separated for a multi select).
    pub text: String,
    /// The locked date preset (`last_30_days`, `custom`).
    pub preset: String,
    /// Custom range start (`2026-01-01`).
    pub from: String,
    /// Custom range end.
    pub to: String,
    /// Number range minimum.
    pub min: String,
    /// Number range maximum.
    pub max: String,
    /// Known values of a select filter, offered as suggestions.
    pub suggestions: Vec<String>,
    /// The widgets a lock on this filter cannot restrict (their titles, with what happens to
    /// each on a link that locks it).
    pub uncovered: Vec<String>,
}

/// The create / edit form's values, refilled after an error (never the password).
#[derive(Debug, Clone, Default)]
pub struct LinkFormView {
    /// The audience.
    pub label: String,
    /// Empty for the whole dashboard, else a widget id.
    pub target: String,
    /// `keep` (edit only), `14`, `90`, `365`, `never` or `at`.
    pub expiry: String,
    /// The date-time for `at` (`2026-12-31T18:00`, UTC).
    pub expires_at: String,
    /// Remove the password (edit).
    pub remove_password: bool,
    /// The filters.
    pub filters: Vec<FilterField>,
    /// Display: show the title.
    pub show_title: bool,
    /// Display: show the filter bar.
    pub show_filters: bool,
    /// Display: allow downloads.
    pub allow_downloads: bool,
    /// `light`, `dark` or `system`.
    pub theme: String,
    /// Embedding allowed.
    pub embed_allowed: bool,
    /// Allowed origins, one per line.
    pub embed_origins: String,
    /// Access: the view limit (empty: none).
    pub max_views: String,
    /// Access: the client allowlist, one network per line.
    pub allowed_networks: String,
    /// Access: viewers confirm their e-mail address.
    pub confirm_email: bool,
    /// Access: the allowed e-mail domains, one per line (`@client.com`).
    pub email_domains: String,
    /// Row-level rules as a clause (`customer_id = 'A' AND region IN ('EU')`).
    pub rules: String,
    /// Cost caps (empty: the server's defaults).
    pub max_live_viewers: String,
    /// See [`LinkFormView::max_live_viewers`].
    pub max_live_viewers_per_client: String,
    /// See [`LinkFormView::max_live_viewers`].
    pub max_new_views_per_minute: String,
    /// See [`LinkFormView::max_live_viewers`].
    pub max_new_views_per_minute_per_client: String,
}

/// The link being edited.
#[derive(Debug, Clone)]
pub struct EditingLink {
    /// Its id.
    pub id: String,
    /// Its label as stored.
    pub label: String,
    /// `Whole dashboard` or the widget's title.
    pub target: String,
    /// Its current expiry, for the "keep" choice.
    pub expires: String,
    /// Whether it has a password now.
    pub has_password: bool,
    /// It may be embedded and the member lacks `embed`: the service refuses their changes.
    pub needs_embed: bool,
}

/// A URL shown prominently after create or rotate.
#[derive(Debug, Clone)]
pub struct FreshLink {
    /// The link id.
    pub id: String,
    /// What happened: "Link created", "New URL".
    pub title: String,
    /// A sentence under it.
    pub note: String,
    /// The full URL.
    pub url: String,
    /// The short URL.
    pub short_url: String,
}

/// What the workspace's policy means for the form.
#[derive(Debug, Clone, Default)]
pub struct PolicyHints {
    /// Public links may be created.
    pub links_allowed: bool,
    /// The longest expiry, in days.
    pub max_days: Option<i64>,
    /// New links need a password.
    pub password_required: bool,
    /// The workspace is suspended.
    pub suspended: bool,
}

/// A dashboard's share page: its links and the create / edit form.
#[derive(Debug, Template)]
#[template(path = "share.html")]
pub struct SharePage {
    /// The frame.
    pub chrome: Chrome,
    /// The dashboard.
    pub dashboard_id: i64,
    /// Its title.
    pub dashboard_title: String,
    /// The dashboard is a draft: its links answer "no longer active" until it is published.
    pub draft: bool,
    /// The instance's default cost caps, shown as the placeholders of the form's limits.
    pub default_caps: vitrine_app::limits::Caps,
    /// Its links (active, disabled and expired first; deleted ones apart).
    pub links: Vec<LinkRow>,
    /// Deleted links, kept for their history.
    pub deleted: Vec<LinkRow>,
    /// The widgets one may share alone: (id, title).
    pub widgets: Vec<Choice>,
    /// Expiry choices.
    pub expiry_choices: Vec<Choice>,
    /// Date presets a date-range filter can be locked to.
    pub date_presets: Vec<Choice>,
    /// The form.
    pub form: LinkFormView,
    /// `Some` while editing a link.
    pub editing: Option<EditingLink>,
    /// The member may allow embedding.
    pub can_embed: bool,
    /// The policy.
    pub policy: PolicyHints,
    /// The member is an admin (links to the settings page).
    pub is_admin: bool,
    /// A URL to show prominently.
    pub fresh: Option<FreshLink>,
    /// A confirmation.
    pub notice: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
}

/// The policy form's values.
#[derive(Debug, Clone, Default)]
pub struct PolicyFormView {
    /// Public links may be created.
    pub public_links_allowed: bool,
    /// The longest expiry in days, or empty for none.
    pub max_link_days: String,
    /// New links need a password.
    pub password_required: bool,
    /// The line on the "no longer active" page.
    pub contact_line: String,
    /// The footer under shared dashboards.
    pub footer: String,
}

/// Workspace settings (admins): the link policy, suspend / resume, every link.
#[derive(Debug, Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The policy form.
    pub form: PolicyFormView,
    /// The workspace is suspended.
    pub suspended: bool,
    /// Every link in the workspace.
    pub links: Vec<LinkRow>,
    /// How many of them open now.
    pub active: usize,
    /// The allowed e-mail domains of report recipients, one a line.
    pub report_domains: String,
    /// A confirmation.
    pub notice: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
}

page_response!(SharePage, SettingsPage);

/// Middleware for page routers: an error response becomes an HTML error page showing the
/// same [`ClientError`], and nothing else.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    match response.extensions().get::<ClientError>().cloned() {
        Some(error) => {
            let mut page = ErrorPage::from(&error).into_response();
            *page.status_mut() = error.status;
            if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, retry.clone());
            }
            page
        }
        None => response,
    }
}

// ---- people: the outbox ------------------------------------------------------------------

/// One outbox row as shown.
#[derive(Debug, Clone)]
pub struct MailRowView {
    /// When it was queued.
    pub created_at: Stamp,
    /// To whom.
    pub recipient: String,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub body_text: String,
    /// What kind of message.
    pub kind: String,
    /// `queued`, `sending`, `sent`, `failed`.
    pub state: &'static str,
    /// When it was sent (empty: not yet).
    pub sent_at: Stamp,
    /// Attempts so far.
    pub attempts: i64,
    /// The provider's answer or the last error.
    pub detail: String,
}

/// The Outbox page.
#[derive(Debug, Template)]
#[template(path = "outbox.html")]
pub struct OutboxPage {
    /// The frame.
    pub chrome: Chrome,
    /// `smtp`, `file` or `broken`.
    pub transport: &'static str,
    /// The messages, newest first.
    pub mails: Vec<MailRowView>,
}

page_response!(OutboxPage);

/// An invitation's accept page.
#[derive(Debug, Template)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    /// `signup`, `signin`, `accept`, `wrong_account`, `gone` or `missing`.
    pub mode: &'static str,
    /// Why it cannot be used (`gone`, `missing`).
    pub message: String,
    /// The workspace's name.
    pub workspace: String,
    /// The dashboard offered (empty: the workspace).
    pub dashboard: String,
    /// The invited address.
    pub email: String,
    /// The role offered.
    pub role: String,
    /// The form's CSRF token (the session's, or the double-submit cookie's).
    pub csrf: String,
    /// The form's action (the accept link's path).
    pub action: String,
    /// The same, percent-encoded for `next=`.
    pub action_encoded: String,
    /// The name typed, to refill.
    pub name: String,
    /// Who is signed in (`wrong_account`).
    pub signed_in_as: String,
    /// What went wrong with the form.
    pub error: Option<String>,
}

page_response!(InvitationPage);

/// A dashboard's people panel: invitations to it and who was given it.
#[derive(Debug, Template)]
#[template(path = "dashboard_people.html")]
pub struct DashboardPeoplePage {
    /// The frame.
    pub chrome: Chrome,
    /// The dashboard.
    pub dashboard_id: i64,
    /// Its title.
    pub dashboard_title: String,
    /// Whether it is a draft.
    pub draft: bool,
    /// Restricted to admins and the roles and members granted it.
    pub restricted: bool,
    /// Members given this dashboard on their own, with their rights.
    pub members: Vec<vitrine_app::audience::MemberGrantView>,
    /// Roles given this dashboard, with their rights.
    pub roles: Vec<vitrine_app::audience::RoleGrantView>,
    /// Members of the workspace not given it on their own yet: (id, `name <email>`).
    pub candidates: Vec<(i64, String)>,
    /// Roles not given it yet.
    pub role_candidates: Vec<&'static str>,
    /// Whether the viewer may invite people to the workspace (manage members).
    pub can_invite_members: bool,
    /// Whether the viewer may invite admins.
    pub is_admin: bool,
    /// Open invitations to it.
    pub invitations: Vec<InvitationRowView>,
    /// What went wrong.
    pub error: Option<String>,
}

page_response!(DashboardPeoplePage);
