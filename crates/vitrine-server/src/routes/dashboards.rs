//! Dashboards: the editor pages and `/api/v1/dashboards` (dashboards as code), and their
//! downloads (`export.pdf`, `widgets/{widget}/export.{png,svg,csv}`, the same under the API).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use vitrine_core::dashboard::{Dashboard, DashboardStatus};
use vitrine_core::id::DashboardId;

use vitrine_app::content::{self, DashboardSummary, DatasetView, Editor};
use vitrine_app::dashboards::{Restrictions, parse_view_query};
use vitrine_app::downloads;
use vitrine_app::exports::ExportFormat;
use vitrine_app::{App, Error};

use crate::auth::{ApiMember, Identity, PageMember};
use crate::error::HttpError;
use crate::exports;
use crate::live::{LiveStreamParams, live_response};
use crate::pages::{Chrome, DashboardEditPage, DashboardFields, paths};

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
pub fn api() -> Router<App> {
    Router::new()
        .route(
            "/dashboards",
            get(list_dashboards_api).post(create_dashboard_api),
        )
        .route(
            "/dashboards/{id}",
            get(show_dashboard_api)
                .put(update_dashboard_api)
                .delete(delete_dashboard_api),
        )
        .route("/dashboards/{id}/export.pdf", get(export_dashboard_pdf_api))
        .route(
            "/dashboards/{id}/widgets/{widget}/{file}",
            get(export_widget_api),
        )
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
    if !identity.actor().can_edit_content() {
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
    let (_, ctx) = content::open_dashboard(&state, &identity.member, id).await?;
    let sharing = super::share::dashboard_sharing(&state, &identity, id).await?;
    let mut page = crate::dashboards::dashboard_page(
        &state.runner,
        &ctx,
        query.as_deref().unwrap_or(""),
        &Restrictions::none(),
        Chrome::new(&identity, "home"),
        &format!("/dashboards/{id}"),
    )
    .await;
    page.sharing = sharing;
    Ok(page.into_response())
}

async fn show_widget(
    State(state): State<App>,
    PageMember(identity): PageMember,
    Path((id, widget)): Path<(DashboardId, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let (_, ctx) = content::open_dashboard(&state, &identity.member, id).await?;
    Ok(crate::dashboards::widget_fragment(
        &state.runner,
        &ctx,
        &widget,
        query.as_deref().unwrap_or(""),
        &Restrictions::none(),
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
    let (record, ctx) = content::open_dashboard(&state, &identity.member, id).await?;
    let (query, params) = LiveStreamParams::split(query.as_deref().unwrap_or(""));
    let target = vitrine_app::hub::Target {
        workspace_id: record.workspace_id,
        dashboard_id: record.id,
        revision: record.revision,
        view: parse_view_query(&ctx.document, &query),
        restrictions: Restrictions::none(),
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
    let format = ExportFormat::of_widget_file(&file).ok_or(Error::NotFound)?;
    let query = query.unwrap_or_default();
    let file =
        downloads::member_widget_file(&state, &identity.member, (id, &widget), &query, format)
            .await?;
    Ok(exports::download(file))
}

async fn export_dashboard_pdf_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
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

async fn export_widget_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path((id, widget, file)): Path<(DashboardId, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let format = ExportFormat::of_widget_file(&file).ok_or(Error::NotFound)?;
    let query = query.unwrap_or_default();
    let file =
        downloads::member_widget_file(&state, &identity.member, (id, &widget), &query, format)
            .await?;
    Ok(exports::download(file))
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
        Err(Error::Invalid { message: m, .. } | Error::Conflict(m)) => {
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
    let record = state
        .store
        .dashboard(identity.member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
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
    let record = state
        .store
        .dashboard(identity.member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
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
#[derive(Debug, Serialize)]
struct DashboardDocument {
    #[serde(flatten)]
    summary: DashboardSummary,
    yaml: String,
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

async fn list_dashboards_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
) -> Result<Json<Vec<DashboardSummary>>, HttpError> {
    Ok(Json(
        content::list_dashboards(&state, &identity.member).await?,
    ))
}

async fn show_dashboard_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DashboardId>,
) -> Result<Json<DashboardDocument>, HttpError> {
    let record = state
        .store
        .dashboard(identity.member.workspace_id, id)
        .await?
        .filter(|r| content::can_view(&identity.member, r))
        .ok_or(Error::NotFound)?;
    Ok(Json(document_of(&record)))
}

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

async fn update_dashboard_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DashboardId>,
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

async fn delete_dashboard_api(
    State(state): State<App>,
    ApiMember(identity): ApiMember,
    Path(id): Path<DashboardId>,
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
