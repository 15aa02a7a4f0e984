//! `vitrine demo`: everything on an embedded SQLite store, no set-up.
//!
//! It uses a data directory (by default `vitrine-demo` in the system's temporary directory),
//! makes sure a demo admin exists with a freshly generated password, creates the demo
//! warehouse (a SQLite file of a small SaaS company, see [`crate::warehouse`]) with a data
//! source, its datasets and the demo dashboards, keeps appending rows every few seconds so
//! the numbers move, binds 127.0.0.1 and reports the URL and the credentials. Run again, it
//! keeps its data (the warehouse catches up on the time it was off) and prints a new password.
//!
//! The demo serves share links on its one listener, so `/metrics` is not open there: the demo
//! generates a `metrics.token` on every start and prints how to scrape with it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use vitrine_app::Config;
use vitrine_app::accounts::{self, Acting, Invite};
use vitrine_app::prepare;
use vitrine_core::clock::SystemClock;
use vitrine_core::member::{NewPassword, Permissions, Role};
use vitrine_server::server::Bound;

/// The demo admin's login.
pub const DEMO_EMAIL: &str = "demo@example.com";

/// What `vitrine demo` needs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The data directory; `None` for the default.
    pub data_dir: Option<PathBuf>,
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Adjusts the demo's configuration before it starts (benchmarks raise the outsider caps).
    pub configure: Option<fn(&mut Config)>,
}

/// A demo, bound and ready to serve.
#[derive(Debug)]
pub struct Demo {
    /// The owner UI's URL.
    pub url: String,
    /// The admin's e-mail.
    pub email: String,
    /// The admin's password (new on every start).
    pub password: String,
    /// The bearer token `/metrics` takes (new on every start).
    pub metrics_token: String,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The bound server.
    pub server: Bound,
    /// The task that keeps the warehouse moving.
    pub appender: tokio::task::JoinHandle<()>,
    /// The demo's share links: label, full URL, and the password when there is one.
    pub links: Vec<DemoLink>,
    /// The sample host application's page (another origin, embedding customer usage).
    pub host_url: String,
    /// The sample host application's server.
    pub host: tokio::task::JoinHandle<()>,
}

/// A share link the demo made.
#[derive(Debug, Clone)]
pub struct DemoLink {
    /// Its audience.
    pub label: String,
    /// Its full URL.
    pub url: String,
    /// Its password (new on every start), if it has one.
    pub password: Option<String>,
}

impl Demo {
    /// Serves until `shutdown`, then stops the warehouse appender.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let result = self.server.serve(shutdown).await;
        self.appender.abort();
        self.host.abort();
        result
    }

    /// The banner printed on start.
    pub fn banner(&self) -> String {
        format!(
            "\nVitrine demo is running at {url}\n\n  e-mail:    {email}\n  password:  {password}\n  data:      {dir}\n  metrics:   curl -H 'Authorization: Bearer {token}' {url}metrics\n\nShare links (open them in a private window):\n{links}\nEmbedded in a sample host application (another origin; pick a customer):\n  {host}\n\nPress Ctrl-C to stop.\n",
            host = self.host_url,
            url = self.url,
            email = self.email,
            password = self.password,
            token = self.metrics_token,
            dir = self.data_dir.display(),
            links = self
                .links
                .iter()
                .map(|l| match &l.password {
                    Some(p) => format!("  {}\n    {}\n    password: {p}\n", l.label, l.url),
                    None => format!("  {}\n    {}\n", l.label, l.url),
                })
                .collect::<String>(),
        )
    }
}

/// Prepares the demo: data directory, store, admin, bound socket.
pub async fn prepare_demo(options: DemoOptions) -> anyhow::Result<Demo> {
    let data_dir = options
        .data_dir
        .unwrap_or_else(|| std::env::temp_dir().join("vitrine-demo"));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port)))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{} (try --port)", options.port))?;
    let address = listener.local_addr()?;
    let url = format!("http://{address}");
    let metrics_token = vitrine_core::secret::random_token::<24>();
    let mut config = Config {
        listen: address,
        base_url: url.clone(),
        data_dir: data_dir.clone(),
        ..Config::default()
    };
    config.metrics.token = Some(metrics_token.clone());
    if let Some(configure) = options.configure {
        configure(&mut config);
    }
    let state = prepare(config, Arc::new(SystemClock)).await?;
    let workspace = state
        .store
        .default_workspace()
        .await?
        .context("the store has no workspace")?;
    let password = NewPassword::generate();
    match state.store.member_by_email(DEMO_EMAIL).await? {
        Some(member) => {
            let hash = state.passwords.hash(password.password()).await?;
            state
                .store
                .set_member_password(member.id, &hash, false)
                .await?;
        }
        None => {
            let invite = Invite {
                email: DEMO_EMAIL.to_owned(),
                name: "Demo Admin".to_owned(),
                role: Role::Admin,
                flags: Permissions::ALL,
            };
            accounts::create_member(&state, &Acting::Cli, workspace.id, invite, &password, false)
                .await
                .map_err(|e| anyhow::anyhow!("cannot create the demo admin: {e}"))?;
        }
    }
    let warehouse_path = data_dir.join("warehouse.db");
    crate::warehouse::open_or_create(&warehouse_path, state.now()).await?;
    seed_content(&state, workspace.id, &warehouse_path).await?;
    let appender = crate::warehouse::spawn_appender(
        warehouse_path.clone(),
        state.clock.clone(),
        std::time::Duration::from_secs(5),
    );
    let admin = state
        .store
        .member_by_email(DEMO_EMAIL)
        .await?
        .context("the demo admin is missing")?;
    let links = demo_links(&state, &admin).await?;
    // The sample host: `localhost` is another origin than Vitrine's 127.0.0.1.
    let host_listener = match tokio::net::TcpListener::bind(SocketAddr::from((
        [127, 0, 0, 1],
        address.port().wrapping_add(1),
    )))
    .await
    {
        Ok(l) => l,
        Err(_) => tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?,
    };
    let host_url = format!("http://localhost:{}", host_listener.local_addr()?.port());
    let host_router =
        crate::demo_host::host_app(&state, &admin, &host_url, &url, &warehouse_path).await?;
    let host = tokio::spawn(async move {
        if let Err(error) = axum::serve(host_listener, host_router).await {
            tracing::warn!(%error, "the demo host application stopped");
        }
    });
    let server = Bound::with_listener(state, listener).await?;
    Ok(Demo {
        host_url: format!("{host_url}/"),
        host,
        links,
        appender,
        url: format!("{url}/"),
        email: DEMO_EMAIL.to_owned(),
        password: password.password().expose().to_owned(),
        metrics_token,
        data_dir,
        server,
    })
}

/// The name of the demo's data source.
pub const DEMO_SOURCE: &str = "Demo warehouse";

/// Creates what is missing of the demo content: the data source over the warehouse, its
/// datasets (columns discovered on the file) and the demo dashboards. Existing items are
/// left alone, so edits made in the demo survive a restart.
async fn seed_content(
    state: &vitrine_app::App,
    workspace: vitrine_core::id::WorkspaceId,
    warehouse: &std::path::Path,
) -> anyhow::Result<()> {
    use vitrine_app::content::{self, DataSourceForm, DatasetForm, Editor};
    let fail =
        |what: &str, e: vitrine_app::Error| anyhow::anyhow!("cannot create the demo {what}: {e}");
    let sources = state.store.data_sources(workspace).await?;
    let source = match sources.into_iter().find(|s| s.name == DEMO_SOURCE) {
        Some(source) => source,
        None => {
            let form = DataSourceForm {
                name: DEMO_SOURCE.to_owned(),
                kind: "sqlite".to_owned(),
                location: warehouse.display().to_string(),
            };
            content::save_data_source(state, &Editor::Cli, workspace, None, &form)
                .await
                .map_err(|e| fail("data source", e))?
        }
    };
    for dataset in crate::warehouse::datasets() {
        if state
            .store
            .dataset_by_slug(workspace, dataset.slug)
            .await?
            .is_none()
        {
            let form = DatasetForm {
                data_source_id: source.id,
                slug: dataset.slug.to_owned(),
                name: dataset.name.to_owned(),
                sql: dataset.sql.to_owned(),
            };
            content::save_dataset(state, &Editor::Cli, workspace, None, &form)
                .await
                .map_err(|e| fail("datasets", e))?;
        }
    }
    for dashboard in crate::warehouse::dashboards() {
        if state
            .store
            .dashboard_by_slug(workspace, dashboard.slug)
            .await?
            .is_none()
        {
            content::save_dashboard(
                state,
                &Editor::Cli,
                workspace,
                None,
                Some(dashboard.slug),
                dashboard.yaml,
                None,
            )
            .await
            .map_err(|e| fail("dashboards", e))?;
        }
    }
    Ok(())
}

/// Makes sure the demo has its three share links on the executive dashboard — one open, one
/// password-protected and locked to EMEA, one to a single widget — and gives the protected one
/// a fresh password. Returns them for the banner.
async fn demo_links(
    state: &vitrine_app::App,
    admin: &vitrine_store::Member,
) -> anyhow::Result<Vec<DemoLink>> {
    use vitrine_app::links::{self, LinkChanges, NewLink};
    use vitrine_core::dashboard::{FilterValue, Scalar};
    use vitrine_core::share::Expiry;
    let fail = |e: vitrine_app::Error| anyhow::anyhow!("cannot create the demo links: {e}");
    let dashboard = state
        .store
        .dashboard_by_slug(admin.workspace_id, "executive-overview")
        .await?
        .context("the demo dashboard is missing")?;
    let existing = links::list_links(state, admin, Some(dashboard.id))
        .await
        .map_err(fail)?;
    let password = NewPassword::generate().password().expose().to_owned();
    let wanted = [
        ("Board (open link)", None, false),
        ("Client EMEA (password, region locked)", None, true),
        (
            "Revenue by plan (one widget)",
            Some("revenue_by_plan"),
            false,
        ),
    ];
    let mut out = Vec::new();
    for (label, widget, protected) in wanted {
        let link = match existing
            .iter()
            .find(|l| l.label == label && l.state != "deleted")
        {
            Some(link) if protected => {
                let changes = LinkChanges {
                    password: Some(password.clone()),
                    ..LinkChanges::default()
                };
                links::update_link(state, admin, &link.id, changes)
                    .await
                    .map_err(fail)?
            }
            Some(link) => link.clone(),
            None => {
                let mut locked_filters = std::collections::BTreeMap::new();
                if protected {
                    locked_filters.insert(
                        "region".to_owned(),
                        FilterValue::Many(vec![Scalar::Text("EMEA".into())]),
                    );
                }
                let new = NewLink {
                    access: Default::default(),
                    dashboard_id: dashboard.id,
                    widget_id: widget.map(str::to_owned),
                    label: label.to_owned(),
                    expiry: Expiry::Days { days: 90 },
                    password: protected.then(|| password.clone()),
                    locked_filters,
                    open_filters: None,
                    display: links::DisplayOptions {
                        allow_downloads: true,
                        ..Default::default()
                    },
                    embed: Default::default(),
                    rules: Vec::new(),
                };
                links::create_link(state, admin, new).await.map_err(fail)?
            }
        };
        out.push(DemoLink {
            label: label.to_owned(),
            url: link.url,
            password: protected.then(|| password.clone()),
        });
    }
    Ok(out)
}
