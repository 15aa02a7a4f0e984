//! Data sources, datasets and dashboards: the operations behind the owner UI, the API and
//! the CLI. Each checks permission, validates against the real database, stores, and writes
//! the audit trail.
//!
//! - A data source's settings (a connection URL with its password, or an SQLite path) are
//!   **sealed** before they reach the store (XChaCha20-Poly1305 under a key derived from the
//!   server key) and never returned: the API, pages, audit events and logs show only a
//!   `display` without any password ([`vitrine_data::redacted_display`]). Saving tests the
//!   connection first, so a typo is caught at once.
//! - A data source is opened with the server's own rights, so where one may point is the
//!   server's [`location_policy`] (SQLite files only inside `data.sqlite_roots`, never
//!   Vitrine's own store or key; no sockets or file-reading URL parameters), and choosing it
//!   is the `manage_data_sources` permission (admins, and editors an admin allows).
//! - A dataset's SQL is parsed and must be exactly one read-only query; its columns are then
//!   discovered by running it on the data source (read-only, timed out) and stored.
//! - A dashboard is saved as the YAML its author wrote (comments kept) after it parses and
//!   validates against the columns of the datasets it names: an unknown column is refused at
//!   save with the line it is on.

use serde::{Deserialize, Serialize};
use vitrine_core::audience::{DashboardRight, Reach};
use vitrine_core::dashboard::{Dashboard, DashboardStatus, DatasetColumns, Slug, validate};
use vitrine_core::id::{DashboardId, DataSourceId, DatasetId, WorkspaceId};
use vitrine_core::result::Column;
use vitrine_core::seal::Sealer;
use vitrine_data::{
    DataSource, DataSourceConfig, DataSourceOptions, LocationError, LocationPolicy,
    check_dataset_sql, parse_location, redacted_display,
};
use vitrine_store::{
    DashboardInput, DashboardRecord, DataSourceInput, DataSourceRecord, DatasetInput,
    DatasetRecord, Member,
};

use crate::dashboards::contexts::ContextInput;
use crate::{App, Config, Error};

/// The purpose data-source settings are sealed for.
pub const DATA_SOURCE_PURPOSE: &str = "data-source-settings";

/// Who performs a content operation: a member who may edit content, or the CLI.
#[derive(Debug, Clone)]
pub enum Editor<'a> {
    /// A member; must be an editor or admin.
    Member(&'a Member),
    /// The command line.
    Cli,
}

impl Editor<'_> {
    fn check(&self) -> Result<(), Error> {
        match self {
            Editor::Member(m) if !m.actor().can_edit_content() => Err(Error::Forbidden),
            _ => Ok(()),
        }
    }

    /// Connecting, changing or deleting a data source: admins, editors holding
    /// `manage_data_sources`, and the CLI (which acts as an admin).
    fn check_data_sources(&self) -> Result<(), Error> {
        match self {
            Editor::Member(m) if !m.actor().can_manage_data_sources() => Err(Error::Forbidden),
            _ => Ok(()),
        }
    }

    fn acting(&self) -> crate::accounts::Acting {
        match self {
            Editor::Member(m) => crate::accounts::Acting::member(m),
            Editor::Cli => crate::accounts::Acting::Cli,
        }
    }
}

fn sealer(state: &App) -> Sealer {
    Sealer::new(
        &state.keys.server.derive(DATA_SOURCE_PURPOSE),
        DATA_SOURCE_PURPOSE,
    )
}

/// The limits every data source runs under, from the configuration.
pub fn data_options(state: &App) -> DataSourceOptions {
    DataSourceOptions {
        statement_timeout: std::time::Duration::from_secs(u64::from(
            state.config.data.statement_timeout_seconds,
        )),
        row_cap: state.config.data.row_cap as usize,
        ..DataSourceOptions::default()
    }
}

// ---- data sources --------------------------------------------------------------------------

/// A data source as typed by an editor: a kind and where it is.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = DataSourceRequest)]
pub struct DataSourceForm {
    /// The name.
    #[schema(schema_with = crate::openapi::name)]
    pub name: String,
    /// `sqlite`, `postgres` or `mysql`.
    #[schema(pattern = "^(sqlite|postgres|mysql)$")]
    pub kind: String,
    /// The SQLite file's path on the server, or the server's connection URL with its
    /// credentials (`postgres://…`, `mysql://…`); the connection is tested before saving.
    #[schema(schema_with = crate::openapi::not_blank)]
    pub location: String,
}

impl std::fmt::Debug for DataSourceForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataSourceForm")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A data source as shown (never its settings).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = DataSource)]
pub struct DataSourceView {
    /// Id.
    pub id: DataSourceId,
    /// Name.
    pub name: String,
    /// `sqlite`, `postgres` or `mysql`.
    #[schema(pattern = "^(sqlite|postgres|mysql)$")]
    pub kind: String,
    /// The location with any password replaced by `***`.
    pub display: String,
    /// Revision.
    pub revision: i64,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

impl From<&DataSourceRecord> for DataSourceView {
    fn from(r: &DataSourceRecord) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            kind: r.kind.clone(),
            display: r.display.clone(),
            revision: r.revision,
            updated_at: r.updated_at,
        }
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::invalid(message.into())
}

/// Where data sources may point on this server. A data source is read with the server's own
/// rights, so an SQLite file must lie in one of `data.sqlite_roots` (default: the data
/// directory) and may never be Vitrine's own store (it holds password hashes and sealed
/// credentials: reading it turns an editor into an admin), its `-wal` / `-shm` / `-journal`
/// siblings, or the server key file, whatever spelling or link names them.
pub fn location_policy(config: &Config) -> LocationPolicy {
    let mut forbidden_files: Vec<_> = config.store_file().into_iter().collect();
    forbidden_files.push(config.server_key_path());
    LocationPolicy {
        sqlite_roots: config.sqlite_roots(),
        forbidden_files,
    }
}

/// Parses the form into a configuration the server's [`location_policy`] allows.
fn config_from_form(state: &App, form: &DataSourceForm) -> Result<DataSourceConfig, Error> {
    parse_location(&form.kind, &form.location, &location_policy(&state.config))
        .map_err(location_error)
}

fn location_error(e: LocationError) -> Error {
    let field = match e {
        LocationError::UnknownKind => "kind",
        _ => "location",
    };
    Error::invalid_field(field, e.to_string())
}

/// The kind and the display stored with a data source: never a password.
fn display_of(config: &DataSourceConfig) -> (String, String) {
    let kind = match config {
        DataSourceConfig::Sqlite { .. } => "sqlite",
        DataSourceConfig::Postgres { .. } => "postgres",
        DataSourceConfig::MySql { .. } => "mysql",
    };
    (kind.to_owned(), redacted_display(config))
}

/// A saved location checked again under today's policy: sources saved before a policy
/// change (or before there was one) are refused by "Test" until an admin moves them.
fn recheck(state: &App, config: &DataSourceConfig) -> Result<(), Error> {
    let (kind, location) = match config {
        DataSourceConfig::Sqlite { path } => ("sqlite", path.display().to_string()),
        DataSourceConfig::Postgres { url } => ("postgres", url.clone()),
        DataSourceConfig::MySql { url } => ("mysql", url.clone()),
    };
    parse_location(kind, &location, &location_policy(&state.config))
        .map(|_| ())
        .map_err(|e| {
            bad(format!(
                "This data source's location is no longer allowed: {e}"
            ))
        })
}

/// Opens a data source's settings.
pub fn unseal(state: &App, record: &DataSourceRecord) -> Result<DataSourceConfig, Error> {
    let bytes = sealer(state)
        .open(&record.sealed_config)
        .map_err(|e| Error::Internal(anyhow::anyhow!("data source {}: {e}", record.id)))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Internal(e.into()))
}

async fn connect(state: &App, config: &DataSourceConfig) -> Result<DataSource, Error> {
    let source = DataSource::open(config, data_options(state)).map_err(|e| {
        tracing::info!(detail = e.detail(), "data source refused");
        bad(format!("Could not connect: {}", e.client_message()))
    })?;
    source.test_connection().await.map_err(|e| {
        tracing::info!(detail = e.detail(), "connection test failed");
        bad(format!("Could not connect: {}", e.client_message()))
    })?;
    Ok(source)
}

/// The workspace's data sources as editors and admins see them: never their settings
/// (`display` is the location with any password replaced).
pub async fn list_data_sources(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
) -> Result<Vec<DataSourceView>, Error> {
    editor.check()?;
    let sources = state.store.data_sources(workspace).await?;
    Ok(sources.iter().map(DataSourceView::from).collect())
}

/// One data source of the workspace, as [`list_data_sources`] shows it.
pub async fn show_data_source(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: DataSourceId,
) -> Result<DataSourceView, Error> {
    editor.check()?;
    let record = state
        .store
        .data_source(workspace, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(DataSourceView::from(&record))
}

/// Whether the editor may connect, change and delete data sources (the page shows its forms
/// only then).
pub fn may_manage_data_sources(editor: &Editor<'_>) -> bool {
    editor.check_data_sources().is_ok()
}

/// Creates (with `id` None) or replaces a data source, after testing the connection.
pub async fn save_data_source(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: Option<DataSourceId>,
    form: &DataSourceForm,
) -> Result<DataSourceRecord, Error> {
    editor.check_data_sources()?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad("Give the data source a name of 1 to 100 characters."));
    }
    let config = config_from_form(state, form)?;
    connect(state, &config).await?;
    let (kind, display) = display_of(&config);
    let sealed =
        sealer(state).seal(&serde_json::to_vec(&config).map_err(|e| Error::Internal(e.into()))?);
    let input = DataSourceInput {
        workspace_id: workspace,
        name: name.to_owned(),
        kind,
        display,
        sealed_config: sealed,
    };
    let record = match id {
        None => state.store.create_data_source(input, state.now()).await?,
        Some(id) => {
            state
                .store
                .data_source(workspace, id)
                .await?
                .ok_or(Error::NotFound)?;
            state
                .store
                .update_data_source(id, input, state.now())
                .await?
        }
    };
    let action = if id.is_some() {
        "data_source.updated"
    } else {
        "data_source.created"
    };
    tracing::info!(
        data_source = %record.id,
        kind = %record.kind,
        location = %record.display,
        action,
        "data source saved"
    );
    crate::accounts::audit(
        state,
        workspace,
        &editor.acting(),
        action,
        format!("data_source:{}", record.id),
        serde_json::json!({ "name": record.name, "location": record.display }),
    )
    .await?;
    Ok(record)
}

/// Tests a saved data source's connection, after checking its location against the policy in
/// force. Any editor may: it points nowhere new (testing a *new* location is saving it).
pub async fn test_data_source(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: DataSourceId,
) -> Result<(), Error> {
    editor.check()?;
    let record = state
        .store
        .data_source(workspace, id)
        .await?
        .ok_or(Error::NotFound)?;
    let config = unseal(state, &record)?;
    recheck(state, &config)?;
    connect(state, &config).await.map(|_| ())
}

/// Deletes a data source no dataset reads.
pub async fn delete_data_source(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: DataSourceId,
) -> Result<(), Error> {
    editor.check_data_sources()?;
    let record = state
        .store
        .data_source(workspace, id)
        .await?
        .ok_or(Error::NotFound)?;
    state.store.delete_data_source(workspace, id).await?;
    crate::accounts::audit(
        state,
        workspace,
        &editor.acting(),
        "data_source.deleted",
        format!("data_source:{id}"),
        serde_json::json!({ "name": record.name }),
    )
    .await
}

// ---- datasets ------------------------------------------------------------------------------

/// A dataset as typed by an editor.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = DatasetRequest)]
pub struct DatasetForm {
    /// The data source.
    pub data_source_id: DataSourceId,
    /// The slug dashboards use.
    #[schema(schema_with = crate::openapi::slug)]
    pub slug: String,
    /// The name; empty: the slug.
    pub name: String,
    /// One read-only `SELECT` for the data source's dialect; it is run once to discover its
    /// columns.
    pub sql: String,
}

/// A dataset as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Dataset)]
pub struct DatasetView {
    /// Id.
    pub id: DatasetId,
    /// Data source.
    pub data_source_id: DataSourceId,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// SQL.
    pub sql: String,
    /// Discovered columns.
    pub columns: Vec<Column>,
    /// Revision.
    pub revision: i64,
}

/// The columns stored with a dataset.
pub fn dataset_columns(record: &DatasetRecord) -> Vec<Column> {
    serde_json::from_str(&record.columns).unwrap_or_default()
}

impl From<&DatasetRecord> for DatasetView {
    fn from(r: &DatasetRecord) -> Self {
        Self {
            id: r.id,
            data_source_id: r.data_source_id,
            slug: r.slug.clone(),
            name: r.name.clone(),
            sql: r.sql.clone(),
            columns: dataset_columns(r),
            revision: r.revision,
        }
    }
}

/// The workspace's datasets (editors and admins).
pub async fn list_datasets(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
) -> Result<Vec<DatasetView>, Error> {
    editor.check()?;
    let datasets = state.store.datasets(workspace).await?;
    Ok(datasets.iter().map(DatasetView::from).collect())
}

/// One dataset of the workspace (editors and admins).
pub async fn show_dataset(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: DatasetId,
) -> Result<DatasetView, Error> {
    editor.check()?;
    let record = state
        .store
        .dataset(workspace, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(DatasetView::from(&record))
}

/// Creates or replaces a dataset: checks the SQL, discovers its columns on the database.
pub async fn save_dataset(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: Option<DatasetId>,
    form: &DatasetForm,
) -> Result<DatasetRecord, Error> {
    editor.check()?;
    let slug = Slug::parse(form.slug.trim()).map_err(|e| bad(format!("Slug: {e}")))?;
    let name = if form.name.trim().is_empty() {
        slug.as_str().to_owned()
    } else {
        form.name.trim().to_owned()
    };
    let source = state
        .store
        .data_source(workspace, form.data_source_id)
        .await?
        .ok_or_else(|| bad("Choose a data source."))?;
    let config = unseal(state, &source)?;
    let sql =
        check_dataset_sql(config.dialect(), &form.sql).map_err(|e| bad(e.message().to_owned()))?;
    let connection = connect(state, &config).await?;
    let columns = connection.discover_columns(&sql).await.map_err(|e| {
        tracing::info!(detail = e.detail(), "column discovery failed");
        bad(format!("The query could not run: {}", e.client_message()))
    })?;
    let input = DatasetInput {
        workspace_id: workspace,
        data_source_id: source.id,
        slug: slug.as_str().to_owned(),
        name,
        sql,
        columns: serde_json::to_string(&columns).map_err(|e| Error::Internal(e.into()))?,
    };
    let record = match id {
        None => state.store.create_dataset(input, state.now()).await?,
        Some(id) => {
            state
                .store
                .dataset(workspace, id)
                .await?
                .ok_or(Error::NotFound)?;
            state.store.update_dataset(id, input, state.now()).await?
        }
    };
    let action = if id.is_some() {
        "dataset.updated"
    } else {
        "dataset.created"
    };
    crate::accounts::audit(
        state,
        workspace,
        &editor.acting(),
        action,
        format!("dataset:{}", record.id),
        serde_json::json!({ "slug": record.slug }),
    )
    .await?;
    Ok(record)
}

/// Deletes a dataset that no dashboard uses.
pub async fn delete_dataset(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: DatasetId,
) -> Result<(), Error> {
    editor.check()?;
    let record = state
        .store
        .dataset(workspace, id)
        .await?
        .ok_or(Error::NotFound)?;
    // A member is told the title of a dashboard they may see, and only that one exists.
    let access = match editor {
        Editor::Member(member) => Some((*member, DashboardAccess::of(state, member).await?)),
        Editor::Cli => None,
    };
    for dashboard in state.store.dashboards(workspace).await? {
        if let Ok(doc) = Dashboard::from_yaml(&dashboard.document)
            && datasets_named(&doc).iter().any(|s| s == &record.slug)
        {
            let seen = access
                .as_ref()
                .is_none_or(|(member, access)| access.can_view(member, &dashboard));
            return Err(Error::Conflict(if seen {
                format!("The dashboard “{}” uses this dataset.", dashboard.title)
            } else {
                "A dashboard you cannot see uses this dataset.".to_owned()
            }));
        }
    }
    state.store.delete_dataset(workspace, id).await?;
    crate::accounts::audit(
        state,
        workspace,
        &editor.acting(),
        "dataset.deleted",
        format!("dataset:{id}"),
        serde_json::json!({ "slug": record.slug }),
    )
    .await
}

/// Every dataset slug a dashboard names (widgets and filters).
pub fn datasets_named(doc: &Dashboard) -> Vec<String> {
    let mut slugs: Vec<String> = doc
        .widgets
        .iter()
        .filter_map(|w| w.query.as_ref().map(|q| q.dataset.as_str().to_owned()))
        .chain(
            doc.filters
                .iter()
                .flat_map(|f| f.columns.keys().map(|s| s.as_str().to_owned())),
        )
        .collect();
    slugs.sort();
    slugs.dedup();
    slugs
}

// ---- dashboards ----------------------------------------------------------------------------

/// A dashboard as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DashboardSummary {
    /// Id.
    pub id: DashboardId,
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// `draft` or `published`.
    #[schema(pattern = "^(draft|published)$")]
    pub status: String,
    /// Revision.
    pub revision: i64,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

impl From<&DashboardRecord> for DashboardSummary {
    fn from(r: &DashboardRecord) -> Self {
        Self {
            id: r.id,
            slug: r.slug.clone(),
            title: r.title.clone(),
            status: r.status.clone(),
            revision: r.revision,
            updated_at: r.updated_at,
        }
    }
}

/// What one member may see and edit of the workspace's dashboards: their role's reach, the
/// workspace's restricted dashboards, their role's and their own per-dashboard grants, and —
/// for a member who joined through an invitation to one dashboard — only their own grants.
/// The decision itself is [`vitrine_core::audience::Reach::right`]. Every member-facing route
/// (pages, API, exports, live) asks this, through [`visible_dashboard`],
/// [`editable_dashboard`] and [`list_dashboards`].
#[derive(Debug, Clone)]
pub struct DashboardAccess {
    dashboards_only: bool,
    granted: Vec<(DashboardId, String)>,
    role_grants: Vec<(DashboardId, String)>,
    restricted: Vec<DashboardId>,
}

impl DashboardAccess {
    /// Loads `member`'s access.
    pub async fn of(state: &App, member: &Member) -> Result<Self, Error> {
        let access = state.store.member_access(member.id).await?;
        let reach = state
            .store
            .role_reach(member.workspace_id, member.role)
            .await?;
        Ok(Self {
            dashboards_only: access.dashboards_only,
            granted: access.grants,
            role_grants: reach.grants,
            restricted: reach.restricted,
        })
    }

    /// The member's right on `record`, `None` when they may not see it.
    pub fn right(&self, member: &Member, record: &DashboardRecord) -> Option<DashboardRight> {
        if record.workspace_id != member.workspace_id {
            return None;
        }
        let grant = |list: &[(DashboardId, String)]| {
            list.iter()
                .filter(|(d, _)| *d == record.id)
                .filter_map(|(_, a)| DashboardRight::parse(a))
                .max()
        };
        Reach {
            role: member.role,
            dashboards_only: self.dashboards_only,
            published: record.status == "published",
            restricted: self.restricted.contains(&record.id),
            member_grant: grant(&self.granted),
            role_grant: grant(&self.role_grants),
        }
        .right()
    }

    /// Whether the member may see `record`.
    pub fn can_view(&self, member: &Member, record: &DashboardRecord) -> bool {
        self.right(member, record).is_some()
    }

    /// Whether `record` is restricted to chosen roles and members.
    pub fn is_restricted(&self, record: &DashboardRecord) -> bool {
        self.restricted.contains(&record.id)
    }

    /// Whether the member is limited to their granted dashboards.
    pub fn dashboards_only(&self) -> bool {
        self.dashboards_only
    }
}

/// The dashboards `member` may see.
pub async fn list_dashboards(state: &App, member: &Member) -> Result<Vec<DashboardSummary>, Error> {
    let access = DashboardAccess::of(state, member).await?;
    Ok(state
        .store
        .dashboards(member.workspace_id)
        .await?
        .iter()
        .filter(|d| access.can_view(member, d))
        .map(DashboardSummary::from)
        .collect())
}

/// Parses and validates a YAML document against the workspace's datasets.
pub async fn check_document(
    state: &App,
    workspace: WorkspaceId,
    yaml: &str,
) -> Result<Dashboard, Error> {
    let doc = Dashboard::from_yaml(yaml).map_err(|e| bad(e.to_string()))?;
    let mut columns = DatasetColumns::new();
    for slug in datasets_named(&doc) {
        if let Some(record) = state.store.dataset_by_slug(workspace, &slug).await? {
            columns.insert(slug, dataset_columns(&record));
        }
    }
    validate(&doc, &columns).map_err(|e| bad(e.with_lines(yaml).to_string()))?;
    Ok(doc)
}

/// Creates (`id` None) or replaces a dashboard from its YAML. With `expected_revision`, a
/// dashboard changed meanwhile is a conflict rather than a lost update.
pub async fn save_dashboard(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: Option<DashboardId>,
    slug: Option<&str>,
    yaml: &str,
    expected_revision: Option<i64>,
) -> Result<DashboardRecord, Error> {
    // Creating needs an editor's role; changing one dashboard needs an editor right on it
    // (an editor's role on an open dashboard, or a grant).
    let existing = match (id, editor) {
        (None, _) => {
            editor.check()?;
            None
        }
        (Some(id), Editor::Member(member)) => Some(editable_dashboard(state, member, id).await?),
        (Some(id), Editor::Cli) => Some(
            state
                .store
                .dashboard(workspace, id)
                .await?
                .ok_or(Error::NotFound)?,
        ),
    };
    let doc = check_document(state, workspace, yaml).await?;
    if let (Some(expected), Some(current)) = (expected_revision, &existing)
        && current.revision != expected
    {
        return Err(stale_revision(expected, Some(current.revision)));
    }
    let slug = match (slug.map(str::trim).filter(|s| !s.is_empty()), &existing) {
        (Some(slug), _) => slug.to_owned(),
        (None, Some(existing)) => existing.slug.clone(),
        (None, None) => slugify(&doc.title),
    };
    let slug = Slug::parse(&slug)
        .map_err(|e| bad(format!("Slug: {e}")))?
        .as_str()
        .to_owned();
    let record_slug = slug.clone();
    let input = DashboardInput {
        workspace_id: workspace,
        slug,
        title: doc.title.clone(),
        status: match doc.status {
            DashboardStatus::Draft => "draft".into(),
            DashboardStatus::Published => "published".into(),
        },
        document: yaml.to_owned(),
    };
    let record = match id {
        None => {
            state
                .store
                .create_dashboard(input, editor.acting().member_id(), state.now())
                .await?
        }
        Some(id) => state
            .store
            .update_dashboard(id, input, expected_revision, state.now())
            .await
            .map_err(|e| match (e, expected_revision) {
                // Saved by someone else between the check above and this write.
                (vitrine_store::StoreError::Conflict(_), Some(expected))
                    if existing.as_ref().is_some_and(|r| r.slug == record_slug) =>
                {
                    stale_revision(expected, None)
                }
                (e, _) => Error::from(e),
            })?,
    };
    let action = if id.is_some() {
        "dashboard.updated"
    } else {
        "dashboard.created"
    };
    crate::accounts::audit(state, workspace, &editor.acting(), action, format!("dashboard:{}", record.id), serde_json::json!({ "slug": record.slug, "title": record.title, "revision": record.revision })).await?;
    Ok(record)
}

/// The conflict a save from an old revision meets: nothing is overwritten, and the message
/// says so in words a member (or an API client) can act on.
pub fn stale_revision(expected: i64, current: Option<i64>) -> Error {
    let now = current.map_or_else(String::new, |c| format!(", it is now at revision {c}"));
    Error::Conflict(format!(
        "Someone else saved this dashboard after you opened it (you started from revision \
         {expected}{now}). Your changes were not saved and theirs were not overwritten: reload \
         the dashboard to see their version, then make your changes again."
    ))
}

/// Deletes a dashboard.
pub async fn delete_dashboard(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: DashboardId,
) -> Result<(), Error> {
    // Deleting needs both an editor's role and an editor right on this dashboard.
    let record = match editor {
        Editor::Member(member) => editable_dashboard(state, member, id).await?,
        Editor::Cli => state
            .store
            .dashboard(workspace, id)
            .await?
            .ok_or(Error::NotFound)?,
    };
    editor.check()?;
    state.store.delete_dashboard(workspace, id).await?;
    crate::accounts::audit(
        state,
        workspace,
        &editor.acting(),
        "dashboard.deleted",
        format!("dashboard:{id}"),
        serde_json::json!({ "slug": record.slug, "title": record.title }),
    )
    .await
}

/// A slug from a title: lower case, ASCII letters and digits, dashes between words.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug
        .trim_end_matches('-')
        .chars()
        .take(60)
        .collect::<String>();
    if slug.is_empty() {
        "dashboard".into()
    } else {
        slug
    }
}

/// A dashboard `member` may see, or [`Error::NotFound`] (never "forbidden": what may not be
/// seen does not exist).
pub async fn visible_dashboard(
    state: &App,
    member: &Member,
    id: DashboardId,
) -> Result<DashboardRecord, Error> {
    let access = DashboardAccess::of(state, member).await?;
    state
        .store
        .dashboard(member.workspace_id, id)
        .await?
        .filter(|r| access.can_view(member, r))
        .ok_or(Error::NotFound)
}

/// A dashboard `member` may edit: [`Error::NotFound`] when they may not even see it,
/// [`Error::Forbidden`] when they may only view it. An editor right granted on one dashboard
/// reaches that dashboard only.
pub async fn editable_dashboard(
    state: &App,
    member: &Member,
    id: DashboardId,
) -> Result<DashboardRecord, Error> {
    let access = DashboardAccess::of(state, member).await?;
    let record = state
        .store
        .dashboard(member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    match access.right(member, &record) {
        None => Err(Error::NotFound),
        Some(DashboardRight::Viewer) => Err(Error::Forbidden),
        Some(DashboardRight::Editor) => Ok(record),
    }
}

/// `member`'s right on a dashboard they may see ([`Error::NotFound`] otherwise), and whether
/// it is restricted.
pub async fn dashboard_right(
    state: &App,
    member: &Member,
    id: DashboardId,
) -> Result<(DashboardRecord, DashboardRight, bool), Error> {
    let access = DashboardAccess::of(state, member).await?;
    let record = state
        .store
        .dashboard(member.workspace_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let right = access.right(member, &record).ok_or(Error::NotFound)?;
    let restricted = access.is_restricted(&record);
    Ok((record, right, restricted))
}

/// A dashboard `member` may see, ready to run ([`visible_dashboard`], [`dashboard_context`]).
pub async fn open_dashboard(
    state: &App,
    member: &Member,
    id: DashboardId,
) -> Result<
    (
        DashboardRecord,
        std::sync::Arc<crate::dashboards::DashboardContext>,
    ),
    Error,
> {
    let record = visible_dashboard(state, member, id).await?;
    let ctx = dashboard_context(state, &record).await?;
    Ok((record, ctx))
}

/// A stored dashboard with everything needed to run it: its document, and for every dataset
/// it names, the checked SQL, columns and (unsealed) data source with its limits.
///
/// The dataset and data-source rows are read from the store on every call; when they, the
/// dashboard's revision and its document are what a previous call saw, that call's context
/// is reused from [`ContextCache`] instead of parsing the YAML, re-checking every dataset's
/// SQL and unsealing every data source again (the bulk of a warm share-link view's work,
/// see docs/performance.md). Nothing about share links is cached here: callers resolve and
/// validate the link against the store first, on every request.
pub async fn dashboard_context(
    state: &App,
    record: &DashboardRecord,
) -> Result<std::sync::Arc<crate::dashboards::DashboardContext>, Error> {
    dashboard_context_under(state, record, None).await
}

/// [`dashboard_context`] for a caller that read the workspace's
/// [`content_revision`](vitrine_store::Workspace::content_revision) in the same store round
/// trip as `record`, or before it (the outsider gate, which reads the revision with the link
/// and the record only when no context is kept for the dashboard's head). A context built after the workspace was at that very
/// revision is reused without reading its datasets again: the store's triggers move the
/// revision, in the same transaction, with every change to a dataset or data source, so
/// nothing the context was built from can have changed since. Any other revision (another
/// instance or the command line changed something) reads them as [`dashboard_context`] does.
pub async fn dashboard_context_under(
    state: &App,
    record: &DashboardRecord,
    content_revision: Option<i64>,
) -> Result<std::sync::Arc<crate::dashboards::DashboardContext>, Error> {
    let cached = state.contexts.lookup(record);
    if let (Some(now), Some((ctx, _, Some(built_under)))) = (content_revision, &cached)
        && now == *built_under
    {
        return Ok(ctx.clone());
    }
    let parsed;
    let document = match &cached {
        Some((ctx, _, _)) => &ctx.document,
        None => {
            parsed = Dashboard::from_yaml(&record.document).map_err(|e| {
                Error::Internal(anyhow::anyhow!(
                    "stored dashboard {} no longer parses: {e}",
                    record.id
                ))
            })?;
            &parsed
        }
    };
    // Every named dataset with its data source: one store round trip.
    let slugs: Vec<String> = datasets_named(document).into_iter().collect();
    let mut found: std::collections::HashMap<String, _> = state
        .store
        .datasets_with_sources(record.workspace_id, &slugs)
        .await?
        .into_iter()
        .map(|(dataset, source)| (dataset.slug.clone(), (dataset, source)))
        .collect();
    let mut rows = Vec::new();
    for slug in slugs {
        let Some((dataset, source)) = found.remove(&slug) else {
            rows.push((slug, None));
            continue; // its widgets show the polite "dataset missing" state
        };
        rows.push((slug, Some((dataset, source.ok_or(Error::NotFound)?))));
    }
    let inputs: std::sync::Arc<[ContextInput]> = rows.iter().map(ContextInput::of).collect();
    if let Some((ctx, seen, built_under)) = &cached
        && **seen == *inputs
    {
        if content_revision.is_some() && content_revision != *built_under {
            // Unchanged after all: known good under this revision from now on.
            state
                .contexts
                .store(record, seen.clone(), content_revision, ctx.clone());
        }
        return Ok(ctx.clone());
    }
    let mut datasets = std::collections::HashMap::new();
    for (slug, row) in rows {
        let Some((dataset, source)) = row else {
            continue;
        };
        let config = unseal(state, &source)?;
        let checked = vitrine_data::Dataset::new(
            config.dialect(),
            slug.clone(),
            &dataset.sql,
            dataset_columns(&dataset),
        )
        .map_err(|e| {
            Error::Internal(anyhow::anyhow!(
                "stored dataset {slug} no longer checks: {}",
                e.message()
            ))
        })?;
        datasets.insert(
            slug,
            crate::dashboards::DatasetContext {
                dataset: checked,
                source_key: (source.id.0, source.revision),
                source: config,
                options: data_options(state),
            },
        );
    }
    let ctx = std::sync::Arc::new(crate::dashboards::DashboardContext::new(
        record.id.0,
        record.revision,
        document.clone(),
        datasets,
    ));
    state
        .contexts
        .store(record, inputs, content_revision, ctx.clone());
    Ok(ctx)
}

/// Publishes a draft (the dashboard page's clickable "draft" badge): every member whose role
/// shows published dashboards sees it from now on. Publishing a published dashboard changes
/// nothing. The document is saved as a new revision, so the change is audited like any edit.
pub async fn publish_dashboard(
    state: &App,
    editor: &Editor<'_>,
    workspace: WorkspaceId,
    id: DashboardId,
) -> Result<DashboardRecord, Error> {
    let record = match editor {
        Editor::Member(member) => editable_dashboard(state, member, id).await?,
        Editor::Cli => state
            .store
            .dashboard(workspace, id)
            .await?
            .ok_or(Error::NotFound)?,
    };
    if record.status == "published" {
        return Ok(record);
    }
    let mut doc = Dashboard::from_yaml(&record.document).map_err(|e| bad(e.to_string()))?;
    doc.status = DashboardStatus::Published;
    save_dashboard(
        state,
        editor,
        workspace,
        Some(id),
        Some(&record.slug),
        &doc.to_yaml(),
        Some(record.revision),
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn data_sources_live_in_the_data_directory_and_never_in_the_store_or_the_key_file() {
        let config = Config {
            data_dir: PathBuf::from("/srv/vitrine"),
            database_url: Some("sqlite:/srv/vitrine/store.db?mode=rwc".into()),
            server_key_file: Some(PathBuf::from("/etc/vitrine/server.key")),
            ..Config::default()
        };
        let policy = location_policy(&config);
        assert_eq!(policy.sqlite_roots, [PathBuf::from("/srv/vitrine")]);
        assert_eq!(
            policy.forbidden_files,
            [
                PathBuf::from("/srv/vitrine/store.db"),
                PathBuf::from("/etc/vitrine/server.key")
            ]
        );
        let postgres = Config {
            database_url: Some("postgres://vitrine@db/vitrine".into()),
            ..Config::default()
        };
        assert_eq!(
            location_policy(&postgres).forbidden_files,
            [PathBuf::from("vitrine-data/server.key")]
        );
    }

    #[test]
    fn the_server_key_file_is_refused_even_inside_a_root() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("server.key");
        std::fs::write(&key, "").unwrap(); // an empty file would pass for an empty database
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let refused = parse_location(
            "sqlite",
            &key.display().to_string(),
            &location_policy(&config),
        );
        assert_eq!(refused.unwrap_err(), LocationError::Forbidden);
    }
}
