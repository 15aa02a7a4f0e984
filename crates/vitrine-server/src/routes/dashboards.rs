//! Dashboards: the editor pages and `/api/v1/dashboards` (dashboards as code), and their
//! downloads (`export.pdf`, `widgets/{widget}/export.{png,svg,csv}`, the same under the API).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vitrine_core::dashboard::{Dashboard, DashboardStatus};
use vitrine_core::id::DashboardId;

use vitrine_app::content::{self, DashboardSummary, DatasetView, Editor};
use vitrine_app::dashboards::parse_view_query;
use vitrine_app::downloads;
use vitrine_app::exports::ExportFormat;
use vitrine_app::{App, Error};

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::{ErrorBody, HttpError};
use crate::exports;
use crate::extract::{self, Json};
use crate::live::{LiveStreamParams, live_response};
use crate::pages::{Chrome, DashboardEditPage, DashboardFields, paths};
use crate::routes::openapi::FileBytes;

/// Dashboard editor pages.
pub fn pages() -> Router<App> {
    Router::new()
        .route(paths::NEW_DASHBOARD, get(new_dashboard))
        .route("/dashboards", post(create_dashboard))
        .route("/dashboards/{id}/edit", get(edit_dashboard))
        .route(
            "/dashboards/{id}",
            get(show_dashboard).post(update_dashboard),
        )
        .route("/dashboards/{id}/widgets/{widget}", get(show_widget))
        .route("/dashboards/{id}/live", get(live_dashboard))
        .route("/dashboards/{id}/export.pdf", get(export_dashboard_pdf))
        // `export.png`, `export.svg`, `export.csv`; any other file name is 404.
        .route(
            "/dashboards/{id}/widgets/{widget}/{file}",
            get(export_widget),
        )
        .route("/dashboards/{id}/settings", post(update_dashboard_settings))
        .route("/dashboards/{id}/delete", post(delete_dashboard))
}

/// Dashboard API.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_dashboards_api, create_dashboard_api))
        .routes(routes!(
            show_dashboard_api,
            update_dashboard_api,
            delete_dashboard_api
        ))
        .routes(routes!(export_dashboard_pdf_api))
        .routes(routes!(export_widget_png_api))
        .routes(routes!(export_widget_svg_api))
        .routes(routes!(export_widget_csv_api))
}

/// What a new dashboard starts from: a working example over the first dataset.
fn starter_yaml(datasets: &[DatasetView]) -> String {
    let (slug, column) = datasets
        .first()
        .map(|d| {
            (
                d.slug.clone(),
                d.columns
                    .first()
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
            )
        })
        .unwrap_or_else(|| ("my_dataset".into(), "category".into()));
    format!(
        "version: 1\ntitle: New dashboard\ndescription: \"\"\nrefresh_seconds: 60\nstatus: draft\nwidgets:\n  - id: rows\n    title: Rows\n    kind: kpi\n    layout: {{ x: 0, y: 0, w: 4, h: 2 }}\n    query:\n      dataset: {slug}\n      measures:\n        - agg: count\n  - id: by-{column_slug}\n    title: Rows by {column}\n    kind: bar\n    layout: {{ x: 4, y: 0, w: 8, h: 4 }}\n    query:\n      dataset: {slug}\n      dimensions:\n        - column: {column}\n      measures:\n        - agg: count\n      limit: 20\n",
        column_slug = content::slugify(&column),
    )
}

async fn edit_page(
    state: &App,
    identity: &Identity,
    record: Option<&vitrine_store::DashboardRecord>,
    yaml: String,
    slug: String,
    errors: Vec<String>,
) -> Result<Response, HttpError> {
    // A new dashboard needs an editor's role; an existing one was checked by the caller
    // (an editor right on it, which a grant can give a viewer).
    if record.is_none() && !identity.actor().can_edit_content() {
        return Err(Error::Forbidden.into());
    }
    let datasets: Vec<DatasetView> = state
        .store
        .datasets(identity.member.workspace_id)
        .await?
        .iter()
        .map(DatasetView::from)
        .collect();
    let yaml = if yaml.is_empty() {
        starter_yaml(&datasets)
    } else {
        yaml
    };
    let fields = Dashboard::from_yaml(&yaml).ok().map(|d| DashboardFields {
        title: d.title,
        description: d.description,
        refresh_seconds: d.refresh_seconds,
        published: d.status == DashboardStatus::Published,
    });
    let failed = !errors.is_empty();
    let sharing = match record {
        Some(r) => super::share::dashboard_sharing(state, identity, r.id).await?,
        None => crate::pages::DashboardSharing::default(),
    };
    let builder_datasets = serde_json::Value::from(
        datasets
            .iter()
            .map(|d| serde_json::json!({ "id": d.id, "slug": d.slug, "name": d.name }))
            .collect::<Vec<_>>(),
    )
    .to_string();
    let page = DashboardEditPage {
        chrome: Chrome::new(identity, "home"),
        id: record.map(|r| r.id.0),
        title: record.map_or_else(|| "New dashboard".to_owned(), |r| r.title.clone()),
        slug,
        revision: record.map_or(0, |r| r.revision),
        yaml,
        fields,
        errors,
        datasets,
        builder_datasets,
        sharing,
    };
    Ok((
        if failed {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        page,
    )
        .into_response())
}

fn error_lines(message: &str) -> Vec<String> {
    message
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

async fn show_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let (record, right, restricted) =
        content::dashboard_right(&state, &identity.member, id).await?;
    let ctx = content::dashboard_context(&state, &record).await?;
    let restrictions =
        vitrine_app::data_permissions::member_restrictions(&state, &identity.member, &ctx).await?;
    let mut sharing = super::share::dashboard_sharing(&state, &identity, id).await?;
    if sharing.visible {
        sharing.reports = super::report_pages::dashboard_reports(&state, &identity, id).await?;
    }
    let mut page = crate::dashboards::dashboard_page(
        &state.runner,
        &ctx,
        query.as_deref().unwrap_or(""),
        &restrictions,
        Chrome::new(&identity, "home"),
        &format!("/dashboards/{id}"),
    )
    .await;
    page.sharing = sharing;
    if let Some(d) = page.downloads.as_mut() {
        d.widget_pages = true;
    }
    page.can_edit = right == vitrine_core::audience::DashboardRight::Editor;
    if restricted && record.status == "published" {
        page.status = "restricted";
    }
    Ok(page.into_response())
}

/// One widget's own page for members (`/dashboards/{id}/widgets/{widget}/page?{view}`): the
/// dashboard page with that card only, its filters kept in the URL, a "Copy permalink"
/// button. Signing in leads back here; a dashboard or widget the member may not see is 404.
async fn show_widget_page(
    state: &App,
    identity: &Identity,
    id: DashboardId,
    widget: &str,
    query: Option<&str>,
) -> Result<Response, HttpError> {
    let (record, right, restricted) = content::dashboard_right(state, &identity.member, id).await?;
    let ctx = content::dashboard_context(state, &record).await?;
    let restrictions =
        vitrine_app::data_permissions::member_restrictions(state, &identity.member, &ctx).await?;
    let query = query.unwrap_or("");
    let mut page = crate::dashboards::dashboard_page(
        &state.runner,
        &ctx,
        query,
        &restrictions,
        Chrome::new(identity, "home"),
        &format!("/dashboards/{id}"),
    )
    .await;
    page.cards.retain(|c| c.id == widget);
    let Some(card) = page.cards.first() else {
        return Err(Error::NotFound.into());
    };
    page.title = format!("{} — {}", card.title, record.title);
    page.form_path = format!(
        "/dashboards/{id}/widgets/{}/page",
        exports::encode_segment(widget)
    );
    page.can_edit = right == vitrine_core::audience::DashboardRight::Editor;
    if restricted && record.status == "published" {
        page.status = "restricted";
    }
    if let Some(d) = page.downloads.as_mut() {
        d.widget_pages = false;
    }
    Ok(page.into_response())
}

async fn show_widget(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, widget)): Path<(DashboardId, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let (_, ctx, restrictions) =
        vitrine_app::data_permissions::open_for_member(&state, &identity.member, id).await?;
    Ok(crate::dashboards::widget_fragment(
        &state.runner,
        &ctx,
        &widget,
        query.as_deref().unwrap_or(""),
        &restrictions,
    )
    .await)
}

/// The dashboard page's live stream (see [`crate::live`]).
async fn live_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let (record, ctx, restrictions) =
        vitrine_app::data_permissions::open_for_member(&state, &identity.member, id).await?;
    let (query, params) = LiveStreamParams::split(query.as_deref().unwrap_or(""));
    let target = vitrine_app::hub::Target {
        workspace_id: record.workspace_id,
        dashboard_id: record.id,
        revision: record.revision,
        view: parse_view_query(&ctx.document, &query),
        restrictions,
        only_widget: None,
    };
    Ok(live_response(&state, target, None, params))
}

// ---- downloads (the page's view: the same query string) -------------------------------------

async fn export_dashboard_pdf(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let file = downloads::member_dashboard_pdf(
        &state,
        &identity.member,
        id,
        query.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(exports::download(file))
}

async fn export_widget(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, widget, file)): Path<(DashboardId, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    if file == "page" {
        return show_widget_page(&state, &identity, id, &widget, query.as_deref()).await;
    }
    let format = ExportFormat::of_widget_file(&file).ok_or(Error::NotFound)?;
    let query = query.unwrap_or_default();
    let file =
        downloads::member_widget_file(&state, &identity.member, (id, &widget), &query, format)
            .await?;
    Ok(exports::download(file))
}

/// A PDF's own query parameter (the handler reads the raw query: the view's filters come
/// with it, and [`vitrine_app::exports::export_params`] checks this one).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PdfParams {
    /// The paper size (default `a4`).
    #[param(pattern = "^(a4|letter)$")]
    paper: Option<String>,
}

/// A PNG's own query parameter (read like [`PdfParams`]).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PngParams {
    /// Pixels per grid unit: 1 (default) or 2.
    #[param(minimum = 1, maximum = 2)]
    scale: Option<u8>,
}

/// A widget of a dashboard, in a download's path.
#[derive(Debug, Deserialize)]
struct WidgetPath {
    id: DashboardId,
    widget: String,
}

/// The dashboard as PDF.
///
/// Landscape pages: the title, the filters in force, when it was generated, every widget as
/// vector graphics with real text, the workspace footer. The view is the dashboard page's:
/// other query parameters are read as on its URL (`f.region=EMEA`, `f.period=last_30_days`,
/// `theme=dark`) and unknown ones are ignored. Rendered on the bounded export pool: 503
/// `busy` with `Retry-After` when it stays full. The file comes with `Content-Disposition:
/// attachment` and a file name from the title.
#[utoipa::path(get, path = "/dashboards/{id}/export.pdf", operation_id = "exportDashboardPdf",
    tag = "dashboards",
    params(("id" = i64, Path, description = "Dashboard id"), PdfParams),
    responses(
        (status = 200, description = "The PDF", body = FileBytes, content_type = "application/pdf"),
        (status = 404, description = "No such dashboard, or not visible to the caller", body = ErrorBody),
        (status = 503, description = "The export pool stayed full (`busy`, see `Retry-After`)", body = ErrorBody),
    ))]
async fn export_dashboard_pdf_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DashboardId>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let file = downloads::member_dashboard_pdf(
        &state,
        &identity.member,
        id,
        query.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(exports::download(file))
}

async fn widget_file_api(
    state: &App,
    identity: &Identity,
    WidgetPath { id, widget }: WidgetPath,
    query: Option<String>,
    format: ExportFormat,
) -> Result<Response, HttpError> {
    let query = query.unwrap_or_default();
    let file =
        downloads::member_widget_file(state, &identity.member, (id, &widget), &query, format)
            .await?;
    Ok(exports::download(file))
}

/// A widget as PNG.
///
/// The widget's card (title, chart, background) at its grid size, 1x or 2x, under the view
/// the other query parameters describe (as on the dashboard page's URL). Rendered on the
/// bounded export pool: 503 `busy` with `Retry-After` when it stays full.
#[utoipa::path(get, path = "/dashboards/{id}/widgets/{widget}/export.png",
    operation_id = "exportWidgetPng", tag = "dashboards",
    params(
        ("id" = i64, Path, description = "Dashboard id"),
        ("widget" = String, Path, description = "Widget id (from the dashboard document)"),
        PngParams,
    ),
    responses(
        (status = 200, description = "The PNG", body = FileBytes, content_type = "image/png"),
        (status = 404, description = "No such dashboard or widget, or not visible to the caller", body = ErrorBody),
        (status = 503, description = "The export pool stayed full (`busy`, see `Retry-After`)", body = ErrorBody),
    ))]
async fn export_widget_png_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(path): extract::Path<WidgetPath>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    widget_file_api(&state, &identity, path, query, ExportFormat::Png).await
}

/// A widget as SVG.
///
/// The widget's chart as vector graphics, under the view the query parameters describe.
#[utoipa::path(get, path = "/dashboards/{id}/widgets/{widget}/export.svg",
    operation_id = "exportWidgetSvg", tag = "dashboards",
    params(
        ("id" = i64, Path, description = "Dashboard id"),
        ("widget" = String, Path, description = "Widget id (from the dashboard document)"),
    ),
    responses(
        (status = 200, description = "The SVG", body = FileBytes, content_type = "image/svg+xml"),
        (status = 404, description = "No such dashboard or widget, or not visible to the caller", body = ErrorBody),
        (status = 503, description = "The export pool stayed full (`busy`, see `Retry-After`)", body = ErrorBody),
    ))]
async fn export_widget_svg_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(path): extract::Path<WidgetPath>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    widget_file_api(&state, &identity, path, query, ExportFormat::Svg).await
}

/// A widget's data as CSV.
///
/// RFC 4180 with a header row, the widget's result under the view the query parameters
/// describe; cells that a spreadsheet would read as formulas are neutralised. 404 for a
/// widget without data (a text widget).
#[utoipa::path(get, path = "/dashboards/{id}/widgets/{widget}/export.csv",
    operation_id = "exportWidgetCsv", tag = "dashboards",
    params(
        ("id" = i64, Path, description = "Dashboard id"),
        ("widget" = String, Path, description = "Widget id (from the dashboard document)"),
    ),
    responses(
        (status = 200, description = "The CSV", body = String, content_type = "text/csv"),
        (status = 404, description = "No such dashboard or widget, not visible to the caller, or a widget without data", body = ErrorBody),
        (status = 503, description = "The export pool stayed full (`busy`, see `Retry-After`)", body = ErrorBody),
    ))]
async fn export_widget_csv_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(path): extract::Path<WidgetPath>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    widget_file_api(&state, &identity, path, query, ExportFormat::Csv).await
}

async fn new_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
) -> Result<Response, HttpError> {
    edit_page(
        &state,
        &identity,
        None,
        String::new(),
        String::new(),
        Vec::new(),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct DocumentForm {
    #[serde(default)]
    slug: String,
    yaml: String,
    #[serde(default)]
    revision: Option<i64>,
}

async fn save_from_form(
    state: &App,
    identity: &Identity,
    id: Option<DashboardId>,
    form: DocumentForm,
) -> Result<Response, HttpError> {
    let workspace = identity.member.workspace_id;
    let existing = match id {
        Some(id) => Some(
            state
                .store
                .dashboard(workspace, id)
                .await?
                .ok_or(Error::NotFound)?,
        ),
        None => None,
    };
    let expected = form.revision.filter(|r| *r > 0);
    match content::save_dashboard(
        state,
        &Editor::Member(&identity.member),
        workspace,
        id,
        Some(&form.slug),
        &form.yaml,
        expected,
    )
    .await
    {
        Ok(record) => Ok(Redirect::to(&format!("/dashboards/{}", record.id)).into_response()),
        Err(Error::Invalid { message: m, .. }) => {
            edit_page(
                state,
                identity,
                existing.as_ref(),
                form.yaml,
                form.slug,
                error_lines(&m),
            )
            .await
        }
        Err(Error::Conflict(m)) => {
            // The page keeps the member's text; its revision is now the current one, so a
            // second "Save" replaces the other version knowingly, never silently.
            let stale =
                expected.is_some_and(|e| existing.as_ref().is_some_and(|r| r.revision != e));
            let mut lines = error_lines(&m);
            if stale {
                lines.push(
                    "Your version is still in the editor below: save again to replace theirs with it."
                        .to_owned(),
                );
            }
            let mut response = edit_page(
                state,
                identity,
                existing.as_ref(),
                form.yaml,
                form.slug,
                lines,
            )
            .await?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

async fn create_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
    axum::Form(form): axum::Form<DocumentForm>,
) -> Result<Response, HttpError> {
    save_from_form(&state, &identity, None, form).await
}

async fn edit_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
) -> Result<Response, HttpError> {
    let record = content::editable_dashboard(&state, &identity.member, id).await?;
    edit_page(
        &state,
        &identity,
        Some(&record),
        record.document.clone(),
        record.slug.clone(),
        Vec::new(),
    )
    .await
}

async fn update_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    axum::Form(form): axum::Form<DocumentForm>,
) -> Result<Response, HttpError> {
    save_from_form(&state, &identity, Some(id), form).await
}

#[derive(Debug, Deserialize)]
struct SettingsForm {
    title: String,
    #[serde(default)]
    description: String,
    refresh_seconds: u32,
    published: Option<String>,
    revision: i64,
}

async fn update_dashboard_settings(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
    axum::Form(form): axum::Form<SettingsForm>,
) -> Result<Response, HttpError> {
    let record = content::editable_dashboard(&state, &identity.member, id).await?;
    let mut doc =
        Dashboard::from_yaml(&record.document).map_err(|e| Error::invalid(e.to_string()))?;
    doc.title = form.title;
    doc.description = form.description;
    doc.refresh_seconds = form.refresh_seconds;
    doc.status = if form.published.is_some() {
        DashboardStatus::Published
    } else {
        DashboardStatus::Draft
    };
    let document = DocumentForm {
        slug: record.slug.clone(),
        yaml: doc.to_yaml(),
        revision: Some(form.revision),
    };
    save_from_form(&state, &identity, Some(id), document).await
}

async fn delete_dashboard(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path(id): Path<DashboardId>,
) -> Result<Response, HttpError> {
    content::delete_dashboard(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(Redirect::to(paths::HOME).into_response())
}

// ---- API ---------------------------------------------------------------------------------

/// A dashboard in the API: its summary and its document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DashboardDocument {
    #[serde(flatten)]
    summary: DashboardSummary,
    /// The document as its author wrote it (comments kept).
    yaml: String,
    /// The parsed document (schema version 1, see docs/dashboards.md).
    #[schema(value_type = Object)]
    document: serde_json::Value,
}

fn document_of(record: &vitrine_store::DashboardRecord) -> DashboardDocument {
    let document = Dashboard::from_yaml(&record.document)
        .ok()
        .and_then(|d| serde_json::to_value(d).ok())
        .unwrap_or(serde_json::Value::Null);
    DashboardDocument {
        summary: DashboardSummary::from(record),
        yaml: record.document.clone(),
        document,
    }
}

/// `yaml` (kept as written) or `document` (JSON, stored as YAML).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DashboardBody {
    slug: Option<String>,
    yaml: Option<String>,
    document: Option<serde_json::Value>,
    revision: Option<i64>,
}

/// The schema says what [`DashboardBody::yaml`] accepts: exactly one of `yaml` and
/// `document` (the other absent or null), with the optional `slug` and `revision`.
impl utoipa::PartialSchema for DashboardBody {
    fn schema() -> RefOr<Schema> {
        let variant = |given: &str, absent: &str, given_schema: ObjectBuilder| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
                .property("slug", vitrine_app::openapi::optional_slug())
                .property(given, given_schema)
                .required(given)
                .property(absent, ObjectBuilder::new().schema_type(Type::Null))
                .property(
                    "revision",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
                        .description(Some(
                            "On update: the revision the edit started from; a dashboard \
                             changed meanwhile is a 409 instead of a lost update.",
                        )),
                )
        };
        OneOfBuilder::new()
            .item(variant(
                "yaml",
                "document",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The document as YAML, kept as written.")),
            ))
            .item(variant(
                "document",
                "yaml",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some(
                        "The document as JSON (schema version 1, see docs/dashboards.md), \
                     stored as YAML.",
                    )),
            ))
            .description(Some(
                "A dashboard document: exactly one of `yaml` and `document`. It is validated \
                 against the datasets it names (400 with the line at fault).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for DashboardBody {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("DashboardRequest")
    }
}

impl DashboardBody {
    fn yaml(&self) -> Result<String, HttpError> {
        match (&self.yaml, &self.document) {
            (Some(yaml), None) => Ok(yaml.clone()),
            (None, Some(document)) => {
                let doc = Dashboard::from_json(&document.to_string())
                    .map_err(|e| Error::invalid(e.to_string()))?;
                Ok(doc.to_yaml())
            }
            _ => Err(Error::invalid("Send either `yaml` or `document`.").into()),
        }
    }
}

/// List dashboards.
///
/// Admins see every dashboard; editors every one that is not restricted; viewers the
/// published, unrestricted ones; everyone also those given to them (or their role) on their
/// own (see `/dashboards/{id}/audience`).
#[utoipa::path(get, path = "/dashboards", operation_id = "listDashboards", tag = "dashboards",
    responses((status = 200, description = "The dashboards", body = Vec<DashboardSummary>)))]
async fn list_dashboards_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<DashboardSummary>>, HttpError> {
    Ok(Json(
        content::list_dashboards(&state, &identity.member).await?,
    ))
}

/// Show a dashboard with its document.
#[utoipa::path(get, path = "/dashboards/{id}", operation_id = "getDashboard", tag = "dashboards",
    params(("id" = i64, Path, description = "Dashboard id")),
    responses(
        (status = 200, description = "The dashboard", body = DashboardDocument),
        (status = 404, description = "No such dashboard, or not visible to the caller", body = ErrorBody),
    ))]
async fn show_dashboard_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DashboardId>,
) -> Result<Json<DashboardDocument>, HttpError> {
    let record = content::visible_dashboard(&state, &identity.member, id).await?;
    Ok(Json(document_of(&record)))
}

/// Create a dashboard.
///
/// Editors and admins. Without `slug`, one is made from the title.
#[utoipa::path(post, path = "/dashboards", operation_id = "createDashboard", tag = "dashboards",
    request_body = DashboardBody,
    responses(
        (status = 201, description = "The dashboard", body = DashboardDocument),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 409, description = "A dashboard with this slug exists", body = ErrorBody),
    ))]
async fn create_dashboard_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Json(body): Json<DashboardBody>,
) -> Result<(StatusCode, Json<DashboardDocument>), HttpError> {
    let yaml = body.yaml()?;
    let workspace = identity.member.workspace_id;
    let record = content::save_dashboard(
        &state,
        &Editor::Member(&identity.member),
        workspace,
        None,
        body.slug.as_deref(),
        &yaml,
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(document_of(&record))))
}

/// Replace a dashboard's document.
///
/// Editors and admins. With `revision`, a dashboard changed meanwhile is a 409.
#[utoipa::path(put, path = "/dashboards/{id}", operation_id = "updateDashboard", tag = "dashboards",
    params(("id" = i64, Path, description = "Dashboard id")),
    request_body = DashboardBody,
    responses(
        (status = 200, description = "The dashboard", body = DashboardDocument),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dashboard", body = ErrorBody),
        (status = 409, description = "Changed meanwhile, or the slug is taken", body = ErrorBody),
    ))]
async fn update_dashboard_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DashboardId>,
    Json(body): Json<DashboardBody>,
) -> Result<Json<DashboardDocument>, HttpError> {
    let yaml = body.yaml()?;
    let workspace = identity.member.workspace_id;
    let record = content::save_dashboard(
        &state,
        &Editor::Member(&identity.member),
        workspace,
        Some(id),
        body.slug.as_deref(),
        &yaml,
        body.revision,
    )
    .await?;
    Ok(Json(document_of(&record)))
}

/// Delete a dashboard.
///
/// Editors and admins. Its share links stop working.
#[utoipa::path(delete, path = "/dashboards/{id}", operation_id = "deleteDashboard", tag = "dashboards",
    params(("id" = i64, Path, description = "Dashboard id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Editors and admins only", body = ErrorBody),
        (status = 404, description = "No such dashboard", body = ErrorBody),
    ))]
async fn delete_dashboard_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    extract::Path(id): extract::Path<DashboardId>,
) -> Result<StatusCode, HttpError> {
    content::delete_dashboard(
        &state,
        &Editor::Member(&identity.member),
        identity.member.workspace_id,
        id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
