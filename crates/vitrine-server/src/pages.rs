//! One struct per page, rendered by compiled, auto-escaping askama templates
//! (`templates/*.html`). Paths used by templates live in [`paths`].

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::accounts::{ApiKeyView, MemberView};
use crate::auth::Identity;
use crate::error::ClientError;

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
    pub dashboards: Vec<crate::content::DashboardSummary>,
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
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub target: String,
    /// Details.
    pub detail: String,
}

/// The audit trail.
#[derive(Debug, Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// The frame.
    pub chrome: Chrome,
    /// The events.
    pub events: Vec<AuditRowView>,
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
pub struct PublicMissingPage;

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

/// `2026-11-23 10:04 UTC`.
pub fn format_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// `format_time` for an optional time, `never` for none.
pub fn format_opt_time(t: &Option<time::OffsetDateTime>) -> String {
    t.map_or_else(|| "never".to_owned(), format_time)
}

/// Data sources.
#[derive(Debug, Template)]
#[template(path = "data_sources.html")]
pub struct DataSourcesPage {
    /// The frame.
    pub chrome: Chrome,
    /// The sources.
    pub sources: Vec<crate::content::DataSourceView>,
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

/// Datasets.
#[derive(Debug, Template)]
#[template(path = "datasets.html")]
pub struct DatasetsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The datasets.
    pub datasets: Vec<crate::content::DatasetView>,
    /// The sources, for the form.
    pub sources: Vec<crate::content::DataSourceView>,
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
    pub datasets: Vec<crate::content::DatasetView>,
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
