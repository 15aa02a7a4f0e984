//! The application's state: [`App`], passed explicitly to every service, handler, command and
//! background task. No globals; time from an injected clock.

use std::sync::Arc;

use vitrine_core::clock::Clock;
use vitrine_core::keys::{ServerKey, SubKey};
use vitrine_store::Store;

use crate::config::Config;
use crate::passwords::PasswordHasher;

/// Sub-keys of the server key, one per purpose.
#[derive(Debug)]
pub struct Keys {
    /// Signs CSRF tokens (bound to the session).
    pub csrf: SubKey,
    /// Keys the hash under which client addresses are stored.
    pub client_address: SubKey,
    /// Signs share-link tokens and short codes.
    pub share: SubKey,
    /// Signs the unlock cookies of password-protected links.
    pub unlock: SubKey,
    /// Signs the view passes of links with a view limit.
    pub view_pass: SubKey,
    /// Signs invitations' accept tokens.
    pub invitation: SubKey,
    /// Signs the viewer cookies of identified links (a confirmed e-mail address).
    pub viewer: SubKey,
    /// Keys the hashes under which identified links' one-time codes are stored.
    pub view_code: SubKey,
    /// The root key, for purposes added later (share-link tokens).
    pub server: ServerKey,
}

impl Keys {
    /// Derives every sub-key from the server key.
    pub fn new(server: ServerKey) -> Self {
        Self {
            csrf: server.derive("csrf"),
            client_address: server.derive("client-address"),
            share: server.derive("share-link"),
            unlock: server.derive("share-unlock"),
            view_pass: server.derive("share-view-pass"),
            invitation: server.derive("invitation"),
            viewer: server.derive("share-viewer"),
            view_code: server.derive("view-code"),
            server,
        }
    }
}

/// Everything a service may use: one shared [`AppState`], so a clone (every request takes a
/// few, through the router's state) is one reference count, not one per part.
#[derive(Debug, Clone)]
pub struct App(Arc<AppState>);

impl std::ops::Deref for App {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}

/// The parts of an [`App`]; each is shared, so a copy (see [`App::state_mut`]) shares them too.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Our own store.
    pub store: Arc<dyn Store>,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// The configuration in force.
    pub config: Arc<Config>,
    /// Keys derived from the server key.
    pub keys: Arc<Keys>,
    /// The password hasher, with its concurrency cap.
    pub passwords: Arc<PasswordHasher>,
    /// Runs dashboards: data-source pools, the result cache with single flight.
    pub runner: Arc<crate::dashboards::Runner>,
    /// Country lookup for access events.
    pub geo: Arc<crate::geo::Geo>,
    /// Live updates: refreshers, link guards, open streams.
    pub live: Arc<crate::hub::LiveHub>,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The export render pool and its per-format counters.
    pub exports: Arc<crate::exports::Exports>,
    /// What one outsider may cost: live streams and new views per link and per client.
    pub limits: Arc<crate::limits::OutsiderLimits>,
    /// Built dashboard contexts, reused while their inputs are unchanged.
    pub contexts: Arc<crate::dashboards::ContextCache>,
    /// Outgoing mail: the mailer and the drainer's bell.
    pub outbox: Arc<crate::mailer::Outbox>,
    /// Plain page views, written to the access log in batches.
    pub access_log: Arc<crate::access_log::AccessLog>,
    /// Outsider pages as last compressed, by a hash of the page and the encoding: a page that
    /// renders to the same bytes is not compressed again (the front door compresses; this
    /// only keeps bytes, and the page itself was rendered for a link validated this request).
    pub compressed_pages: Arc<crate::compressed::CompressedPages>,
}

impl App {
    /// Builds the state.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Config,
        server_key: ServerKey,
    ) -> Self {
        let passwords = PasswordHasher::new(crate::passwords::HashLimits {
            members: config.auth.hash_concurrency as usize,
            outsiders: config.auth.outsider_hash_concurrency as usize,
            wait: std::time::Duration::from_secs(u64::from(config.auth.hash_wait_seconds)),
        });
        let budget = config.data.cache_budget();
        let runner = Arc::new(crate::dashboards::Runner::with_limits(
            clock.clone(),
            crate::dashboards::RunnerLimits {
                cache_max_bytes: budget.runner,
                ..crate::dashboards::RunnerLimits::default()
            },
        ));
        let live = Arc::new(crate::hub::LiveHub::new(crate::hub::LiveLimits {
            recheck: std::time::Duration::from_secs(u64::from(config.live.recheck_seconds)),
            keepalive: std::time::Duration::from_secs(u64::from(config.live.keepalive_seconds)),
            max_streams: config.live.max_streams as usize,
        }));
        let exports = Arc::new(crate::exports::Exports::new(
            config.render.export_concurrency as usize,
            std::time::Duration::from_secs(u64::from(config.render.export_wait_seconds)),
        ));
        let limits = Arc::new(crate::limits::OutsiderLimits::new(config.limits.caps()));
        let contexts = Arc::new(crate::dashboards::ContextCache::with_max_bytes(
            budget.contexts,
        ));
        let compressed_pages = Arc::new(crate::compressed::CompressedPages::new(
            crate::compressed::MAX_KEPT_PAGES,
            budget.pages,
        ));
        let metrics = crate::metrics::Metrics::with_sources(
            runner.clone(),
            exports.clone(),
            limits.clone(),
            contexts.clone(),
            compressed_pages.clone(),
        );
        Self(Arc::new(AppState {
            live,
            limits,
            geo: Arc::new(crate::geo::Geo::none()),
            metrics: Arc::new(metrics),
            exports,
            contexts,
            compressed_pages,
            outbox: Arc::new(crate::mailer::Outbox::new(&config)),
            runner,
            access_log: Arc::new(crate::access_log::AccessLog::new(store.clone())),
            store,
            clock,
            config: Arc::new(config),
            keys: Arc::new(Keys::new(server_key)),
            passwords: Arc::new(passwords),
        }))
    }

    /// The parts, to replace one before serving (the country database, a test's setting);
    /// clones taken earlier keep the parts they had.
    pub fn state_mut(&mut self) -> &mut AppState {
        Arc::make_mut(&mut self.0)
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// The Prometheus exposition text for this process (`/metrics`).
    pub fn metrics_text(&self) -> String {
        self.metrics.render()
    }
}

/// Opens the configured store, applying its pending migrations; creates the data directory
/// first when the default SQLite store lives there.
async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn vitrine_store::Store>> {
    use anyhow::Context as _;
    let url = config.database_url();
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let store = vitrine_store::open(&url).await.with_context(|| {
        format!(
            "cannot open the store at {}",
            crate::config::redact_url(&url)
        )
    })?;
    Ok(store)
}

/// `vitrine migrate`: opens the store (which applies its pending migrations) and closes it,
/// touching nothing else (no server key, no workspace). The store's URL, redacted.
pub async fn migrate(config: &Config) -> anyhow::Result<String> {
    let store = open_store(config).await?;
    store.close().await;
    Ok(crate::config::redact_url(&config.database_url()))
}

/// Start-up: creates the data directory when the default SQLite store lives there, loads or
/// creates the server key, opens and migrates the store, makes sure a workspace exists, and
/// opens the GeoIP database when one is configured. Every front door (the server, the CLI's
/// admin commands, tests) starts here.
pub async fn prepare(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    let (key, source) = crate::keyfile::load_or_create(&config)?;
    if source == crate::keyfile::KeySource::Generated {
        tracing::info!(data_dir = %config.data_dir.display(), "generated a new server key");
    }
    let store = open_store(&config).await?;
    if store.default_workspace().await?.is_none() {
        store.create_workspace("Workspace", clock.now()).await?;
    }
    let geo = crate::geo::Geo::load(&config)?;
    let mut app = App::new(store, clock, config, key);
    app.state_mut().geo = Arc::new(geo);
    Ok(app)
}
