//! Application state, passed explicitly to every handler. No globals.

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
            server,
        }
    }
}

/// Everything a handler may use.
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
    pub live: Arc<crate::live::LiveHub>,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The export render pool and its per-format counters.
    pub exports: Arc<crate::exports::Exports>,
    /// Built dashboard contexts, reused while their inputs are unchanged.
    pub contexts: Arc<crate::content::ContextCache>,
}

impl AppState {
    /// Builds the state.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Config,
        server_key: ServerKey,
    ) -> Self {
        let passwords = PasswordHasher::new(config.auth.hash_concurrency as usize);
        let runner = Arc::new(crate::dashboards::Runner::new(clock.clone()));
        let live = Arc::new(crate::live::LiveHub::new(crate::live::LiveLimits {
            recheck: std::time::Duration::from_secs(u64::from(config.live.recheck_seconds)),
            keepalive: std::time::Duration::from_secs(u64::from(config.live.keepalive_seconds)),
            max_streams: config.live.max_streams as usize,
        }));
        let exports = crate::exports::Exports::new(
            config.render.export_concurrency as usize,
            std::time::Duration::from_secs(u64::from(config.render.export_wait_seconds)),
        );
        Self {
            live,
            geo: Arc::new(crate::geo::Geo::none()),
            metrics: Arc::new(crate::metrics::Metrics::new()),
            exports: Arc::new(exports),
            contexts: Arc::new(crate::content::ContextCache::default()),
            runner,
            store,
            clock,
            config: Arc::new(config),
            keys: Arc::new(Keys::new(server_key)),
            passwords: Arc::new(passwords),
        }
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}
