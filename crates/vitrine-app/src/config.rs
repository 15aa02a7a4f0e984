//! Typed, layered configuration: defaults, then a TOML file, then `VITRINE_*` variables.
//!
//! Unknown keys are errors in every layer (a typo must not silently fall back to a default).
//! Environment variables name a key by its path in upper case, sections joined by `__`:
//! `VITRINE_LISTEN`, `VITRINE_AUTH__SESSION_TTL_HOURS`. Values are read as TOML when they
//! parse as such (`8`, `true`, `["a"]`) and as plain strings otherwise. A few variables are
//! not configuration and are ignored: `VITRINE_LOG` (log filter) and the test variables
//! `VITRINE_TEST_*` and `VITRINE_REQUIRE_SERVICES`.
//!
//! [`OPTIONS`] documents every key once; `vitrine gen-config` prints it as a commented file
//! and a test checks that `docs/configuration.md` mentions each key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything that can be configured.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the owner UI, the API and (unless `public_listen` is set) the outsider router listen.
    pub listen: SocketAddr,
    /// If set, the outsider router also answers on this address, and only it does.
    pub public_listen: Option<SocketAddr>,
    /// The URL members use to reach the owner UI. `https` makes cookies `Secure`.
    pub base_url: String,
    /// The URL outsiders reach share links on; defaults to `base_url`.
    pub public_base_url: Option<String>,
    /// Where Vitrine keeps its files (the SQLite database, the generated server key).
    pub data_dir: PathBuf,
    /// `sqlite:…` or `postgres:…`; defaults to `sqlite://<data_dir>/vitrine.db`.
    pub database_url: Option<String>,
    /// The server key (43 characters of URL-safe base64); overrides `server_key_file`.
    pub server_key: Option<String>,
    /// A file holding the server key; defaults to `<data_dir>/server.key`, generated if missing.
    pub server_key_file: Option<PathBuf>,
    /// A MaxMind-format country database (GeoLite2-Country, DB-IP) for access analytics.
    pub geoip_database: Option<PathBuf>,
    /// Login and session settings.
    pub auth: AuthConfig,
    /// Reverse-proxy settings.
    pub proxy: ProxyConfig,
    /// Limits on customers' databases.
    pub data: DataConfig,
    /// Live updates (Server-Sent Events).
    pub live: LiveConfig,
    /// The Prometheus `/metrics` endpoint.
    pub metrics: MetricsConfig,
    /// Export rendering (PDF, PNG).
    pub render: RenderConfig,
    /// What one outsider may cost (per share link and per client address).
    pub limits: LimitsConfig,
    /// The outsiders' access log.
    pub access: AccessConfig,
    /// Embedding in host applications (guest tokens).
    pub embed: EmbedConfig,
    /// Outgoing mail (invitations, links sent by e-mail).
    pub mail: MailConfig,
    /// Scheduled reports.
    pub reports: ReportsConfig,
}

/// Scheduled reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// The Slack Web API that bot-token uploads go to (`files.getUploadURLExternal`,
    /// `files.completeUploadExternal`); a test points it at a local receiver.
    pub slack_api_base: String,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        Self {
            slack_api_base: "https://slack.com/api".to_owned(),
        }
    }
}

/// Embedding in host applications.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmbedConfig {
    /// The longest lifetime a guest token may ask for, in seconds (the default is 300).
    pub max_token_seconds: u32,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        Self {
            max_token_seconds: 3600,
        }
    }
}

/// Outgoing mail. Without `smtp_url`, messages are written as `.eml` files under
/// `<data_dir>/mail` (the `file` transport) and listed on the Outbox page, never sent.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `smtp://host:25` (plain), `smtp://host:587?tls=required` (STARTTLS),
    /// `smtps://user:password@host:465` (implicit TLS), with optional user and password.
    pub smtp_url: Option<String>,
    /// The `From` address (`Name <address>` or a bare address).
    pub from: String,
    /// The `Reply-To` address, if any.
    pub reply_to: Option<String>,
    /// Attempts per message before it is marked failed.
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long (at most an hour).
    pub retry_seconds: u32,
    /// Invitations' accept links live this long.
    pub invitation_days: u32,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "Vitrine <vitrine@localhost>".to_owned(),
            reply_to: None,
            max_attempts: 8,
            retry_seconds: 30,
            invitation_days: 7,
        }
    }
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .field("max_attempts", &self.max_attempts)
            .field("retry_seconds", &self.retry_seconds)
            .field("invitation_days", &self.invitation_days)
            .finish()
    }
}

/// The instance's default caps on what outsiders may cost; each share link's access policy
/// can set its own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Open live streams per share link (per instance).
    pub link_live_viewers: u32,
    /// Open live streams per client address on one link.
    pub client_live_viewers: u32,
    /// New filter views (not yet cached) per share link per minute.
    pub link_new_views_per_minute: u32,
    /// New filter views per client address on one link per minute.
    pub client_new_views_per_minute: u32,
    /// Seconds a client may take to send a request's head; slower connections are closed.
    pub header_read_seconds: u32,
}

/// The default of `limits.header_read_seconds`.
pub const HEADER_READ_SECONDS: u32 = 30;

impl Default for LimitsConfig {
    fn default() -> Self {
        let caps = crate::limits::Caps::default();
        Self {
            link_live_viewers: caps.link_live_viewers,
            client_live_viewers: caps.client_live_viewers,
            link_new_views_per_minute: caps.link_new_views_per_minute,
            client_new_views_per_minute: caps.client_new_views_per_minute,
            header_read_seconds: HEADER_READ_SECONDS,
        }
    }
}

impl LimitsConfig {
    /// As the limiter's caps.
    pub fn caps(&self) -> crate::limits::Caps {
        crate::limits::Caps {
            link_live_viewers: self.link_live_viewers,
            client_live_viewers: self.client_live_viewers,
            link_new_views_per_minute: self.link_new_views_per_minute,
            client_new_views_per_minute: self.client_new_views_per_minute,
        }
    }
}

/// The outsiders' access log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AccessConfig {
    /// Access events older than this are deleted by a background task.
    pub retention_days: u32,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self {
            retention_days: 400,
        }
    }
}

/// Live updates of open dashboards.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// Every watched share link is re-read this often even without a change notification.
    pub recheck_seconds: u32,
    /// A keep-alive comment is sent on idle streams this often.
    pub keepalive_seconds: u32,
    /// Open streams per instance at most; past it, pages poll instead.
    pub max_streams: u32,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            recheck_seconds: 10,
            keepalive_seconds: 15,
            max_streams: 10_000,
        }
    }
}

/// The Prometheus `/metrics` endpoint (on the owner listener only). Open without a token only
/// when `public_listen` is set, so that the listener outsiders reach never serves it openly.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics`.
    pub enabled: bool,
    /// When set, scrapes must send `Authorization: Bearer <token>`. Without it, `/metrics`
    /// is served only when `public_listen` is set.
    pub token: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token: None,
        }
    }
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("enabled", &self.enabled)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Export rendering: PDF and PNG are CPU work on a bounded pool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RenderConfig {
    /// PDF / PNG renders at once; further downloads wait.
    pub export_concurrency: u32,
    /// How long a download waits for a render slot before it gets 503 with `Retry-After`.
    pub export_wait_seconds: u32,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            export_concurrency: 2,
            export_wait_seconds: 10,
        }
    }
}

/// Limits on queries to customers' databases, and where data sources may point.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Per-statement timeout.
    pub statement_timeout_seconds: u32,
    /// Rows kept from one result at most.
    pub row_cap: u32,
    /// Memory, in MiB, that the caches hold together at most (by their estimates): widget
    /// results half of it, drawn cards a quarter, filter options an eighth, dashboard contexts
    /// and kept outsider pages a sixteenth each ([`CacheBudget`]).
    pub cache_mib: u32,
    /// The folders SQLite data sources may live in; `None` means the data directory alone,
    /// an empty list allows no SQLite data source. A data source is opened with the
    /// server's own rights, so without this an editor could read any file the server can.
    pub sqlite_roots: Option<Vec<PathBuf>>,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            statement_timeout_seconds: 10,
            row_cap: 10_000,
            cache_mib: 64,
            sqlite_roots: None,
        }
    }
}

/// How `data.cache_mib` is shared between the caches, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBudget {
    /// Widget results, filter options and drawn cards: the runner's budget (results take it
    /// all, filter options a quarter of it, drawn cards half of it; see
    /// [`crate::dashboards::RunnerLimits::cache_max_bytes`]).
    pub runner: u64,
    /// Built dashboard contexts.
    pub contexts: u64,
    /// Kept outsider pages.
    pub pages: u64,
}

impl DataConfig {
    /// The caches' shares of [`DataConfig::cache_mib`].
    pub fn cache_budget(&self) -> CacheBudget {
        let total = u64::from(self.cache_mib) << 20;
        CacheBudget {
            runner: total / 2,
            contexts: total / 16,
            pages: total / 16,
        }
    }
}

/// Login and session settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a login session lasts.
    pub session_ttl_hours: u32,
    /// Failed logins from one client address (an IPv6 /64) within the window before it gets
    /// 429.
    pub max_failures_per_client: u32,
    /// Failed logins on one account (from anywhere) within the window before it gets 429.
    pub max_failures_per_account: u32,
    /// The throttling window.
    pub failure_window_minutes: u32,
    /// Members' password hashes (log-ins, password changes) computed at once; more wait, so
    /// hashing cannot burn every core.
    pub hash_concurrency: u32,
    /// Outsiders' password checks (share-link unlocks) computed at once, in a lane of their
    /// own: a flood of unlock attempts cannot delay members' log-ins.
    pub outsider_hash_concurrency: u32,
    /// How long a password check waits for a hashing slot before it is answered "busy"
    /// (503 with `Retry-After`) instead of queueing without end.
    pub hash_wait_seconds: u32,
}

/// Reverse-proxy settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// A header set by a trusted reverse proxy holding the client address (`X-Forwarded-For`,
    /// `X-Real-IP`). Read only on requests whose socket peer is in `trusted_proxies`; its
    /// entries are read from the right, skipping trusted proxies. Empty: the socket address.
    pub client_ip_header: Option<String>,
    /// A header set by a trusted proxy or CDN holding the client's ISO country code
    /// (`CF-IPCountry`). Takes precedence over `geoip_database`. Read only on requests whose
    /// socket peer is in `trusted_proxies`.
    pub country_header: Option<String>,
    /// The proxies whose headers are believed: CIDR blocks or addresses. Empty (the default):
    /// no header is believed, whoever sends it.
    pub trusted_proxies: Vec<String>,
}

impl ProxyConfig {
    /// Whether the socket peer `ip` is one of `trusted_proxies` (which [`Config::load`] has
    /// checked parse).
    pub fn trusts(&self, ip: std::net::IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .filter_map(|c| vitrine_core::net::Cidr::parse(c).ok())
            .any(|c| c.contains(ip))
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_listen: None,
            base_url: "http://127.0.0.1:8080".to_owned(),
            public_base_url: None,
            data_dir: PathBuf::from("vitrine-data"),
            database_url: None,
            server_key: None,
            server_key_file: None,
            geoip_database: None,
            auth: AuthConfig::default(),
            proxy: ProxyConfig::default(),
            data: DataConfig::default(),
            live: LiveConfig::default(),
            metrics: MetricsConfig::default(),
            render: RenderConfig::default(),
            limits: LimitsConfig::default(),
            access: AccessConfig::default(),
            embed: EmbedConfig::default(),
            mail: MailConfig::default(),
            reports: ReportsConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_ttl_hours: 168,
            max_failures_per_client: 5,
            max_failures_per_account: 20,
            failure_window_minutes: 15,
            hash_concurrency: 2,
            outsider_hash_concurrency: 1,
            hash_wait_seconds: 5,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_listen", &self.public_listen)
            .field("base_url", &self.base_url)
            .field("public_base_url", &self.public_base_url)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field(
                "server_key",
                &self.server_key.as_ref().map(|_| "<redacted>"),
            )
            .field("server_key_file", &self.server_key_file)
            .field("geoip_database", &self.geoip_database)
            .field("auth", &self.auth)
            .field("proxy", &self.proxy)
            .field("data", &self.data)
            .field("live", &self.live)
            .field("metrics", &self.metrics)
            .field("render", &self.render)
            .field("access", &self.access)
            .field("embed", &self.embed)
            .field("mail", &self.mail)
            .field("reports", &self.reports)
            .finish()
    }
}

/// A database URL as logs and messages show it: an SQLite URL as `sqlite://` and its file
/// (what sqlx opens), any other URL without its password — neither the user-info password
/// nor a `password=` query parameter ([`vitrine_data::redact_url`]).
pub fn redact_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return match vitrine_data::sqlite_file(url) {
            Ok(path) => format!("sqlite://{}", path.display()),
            Err(_) => "sqlite:(unreadable)".to_owned(),
        };
    }
    vitrine_data::redact_url(url)
}

/// Why configuration could not be loaded. Messages name the source and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A layer did not fit the schema (unknown key, wrong type).
    #[error("invalid configuration in {origin}: {message}")]
    Invalid {
        /// Which layer (`the file …`, `the environment`).
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// Variables with the prefix that are not configuration keys.
fn is_ignored_variable(name: &str) -> bool {
    name == "VITRINE_LOG" || name == "VITRINE_REQUIRE_SERVICES" || name.starts_with("VITRINE_TEST_")
}

impl Config {
    /// Loads defaults, then `file` if given, then the `VITRINE_*` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut merged = toml::Table::try_from(Config::default()).expect("defaults serialise");
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Invalid {
                        origin: format!("the file {}", path.display()),
                        message: e.to_string(),
                    })?;
            // Check the file alone first so an unknown key is blamed on the file.
            Self::from_table(table.clone(), &format!("the file {}", path.display()))?;
            merge(&mut merged, table);
        }
        let mut from_env = toml::Table::new();
        for (name, value) in env {
            let Some(key) = name.strip_prefix("VITRINE_") else {
                continue;
            };
            if is_ignored_variable(&name) {
                continue;
            }
            let path: Vec<String> = key.split("__").map(str::to_ascii_lowercase).collect();
            insert_path(&mut from_env, &path, parse_env_value(&value));
        }
        if !from_env.is_empty() {
            let mut check = toml::Table::try_from(Config::default()).expect("defaults serialise");
            merge(&mut check, from_env.clone());
            Self::from_table(check, "the environment (VITRINE_* variables)")?;
            merge(&mut merged, from_env);
        }
        let config = Self::from_table(merged, "the merged configuration")?;
        config.validate()?;
        Ok(config)
    }

    fn from_table(table: toml::Table, origin: &str) -> Result<Self, ConfigError> {
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid {
                origin: origin.to_owned(),
                message: e.message().to_owned(),
            })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            origin: "the merged configuration".into(),
            message,
        };
        for (key, url) in [
            ("base_url", Some(&self.base_url)),
            ("public_base_url", self.public_base_url.as_ref()),
        ] {
            if let Some(url) = url {
                let ok = (url.starts_with("http://") || url.starts_with("https://"))
                    && url::Url::parse(url)
                        .is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()));
                if !ok {
                    return Err(invalid(format!(
                        "{key} must be an http:// or https:// URL, got {url:?}"
                    )));
                }
            }
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres:")
                || url.starts_with("postgresql:"))
        {
            return Err(invalid(
                "database_url must start with sqlite: or postgres:".into(),
            ));
        }
        if self.data.statement_timeout_seconds == 0 || self.data.row_cap == 0 {
            return Err(invalid(
                "data.statement_timeout_seconds and data.row_cap must be at least 1".into(),
            ));
        }
        if self.data.cache_mib < 16 {
            return Err(invalid("data.cache_mib must be at least 16".into()));
        }
        if self.limits.header_read_seconds == 0 {
            return Err(invalid(
                "limits.header_read_seconds must be at least 1".into(),
            ));
        }
        if self.live.recheck_seconds == 0 || self.live.keepalive_seconds == 0 {
            return Err(invalid(
                "live.recheck_seconds and live.keepalive_seconds must be at least 1".into(),
            ));
        }
        if let Some(token) = &self.metrics.token
            && (token.is_empty() || token.bytes().any(|b| !b.is_ascii_graphic()))
        {
            return Err(invalid(
                "metrics.token must be non-empty printable ASCII without spaces".into(),
            ));
        }
        if self.render.export_concurrency == 0 {
            return Err(invalid(
                "render.export_concurrency must be at least 1".into(),
            ));
        }
        if self.auth.hash_concurrency == 0
            || self.auth.outsider_hash_concurrency == 0
            || self.auth.session_ttl_hours == 0
        {
            return Err(invalid(
                "auth.hash_concurrency, auth.outsider_hash_concurrency and auth.session_ttl_hours must be at least 1".into(),
            ));
        }
        for cidr in &self.proxy.trusted_proxies {
            vitrine_core::net::Cidr::parse(cidr)
                .map_err(|e| invalid(format!("proxy.trusted_proxies: {e}")))?;
        }
        if self.embed.max_token_seconds < 5 {
            return Err(invalid("embed.max_token_seconds must be at least 5".into()));
        }
        if let Some(url) = &self.mail.smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            return Err(invalid(
                "mail.smtp_url must start with smtp:// or smtps://".into(),
            ));
        }
        for (key, address) in [
            ("mail.from", Some(&self.mail.from)),
            ("mail.reply_to", self.mail.reply_to.as_ref()),
        ] {
            if let Some(address) = address
                && address.parse::<lettre::message::Mailbox>().is_err()
            {
                return Err(invalid(format!(
                    "{key} must be an e-mail address (optionally `Name <address>`), got {address:?}"
                )));
            }
        }
        if self.mail.max_attempts == 0
            || self.mail.retry_seconds == 0
            || self.mail.invitation_days == 0
        {
            return Err(invalid(
                "mail.max_attempts, mail.retry_seconds and mail.invitation_days must be at least 1"
                    .into(),
            ));
        }
        match url::Url::parse(&self.reports.slack_api_base) {
            Ok(u)
                if matches!(u.scheme(), "https" | "http")
                    && u.host_str().is_some()
                    && u.query().is_none()
                    && u.username().is_empty()
                    && u.password().is_none() => {}
            _ => {
                return Err(invalid(format!(
                    "reports.slack_api_base must be an http(s) URL without credentials or query, got {:?}",
                    self.reports.slack_api_base
                )));
            }
        }
        if self.access.retention_days == 0 {
            return Err(invalid("access.retention_days must be at least 1".into()));
        }
        Ok(())
    }

    /// The store URL in force.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("vitrine.db").display()))
    }

    /// The file of the SQLite store in force (`None` on PostgreSQL), as sqlx reads
    /// [`Config::database_url`]: `sqlite://path`, `sqlite:path`, percent-decoded, without the
    /// `?options`.
    pub fn store_file(&self) -> Option<PathBuf> {
        let url = self.database_url();
        url.starts_with("sqlite:")
            .then(|| vitrine_data::sqlite_file(&url).ok())
            .flatten()
    }

    /// The server key file in force: `server_key_file`, else `<data_dir>/server.key`.
    pub fn server_key_path(&self) -> PathBuf {
        self.server_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("server.key"))
    }

    /// The folders SQLite data sources may live in: `data.sqlite_roots`, else the data
    /// directory.
    pub fn sqlite_roots(&self) -> Vec<PathBuf> {
        self.data
            .sqlite_roots
            .clone()
            .unwrap_or_else(|| vec![self.data_dir.clone()])
    }

    /// The outsiders' base URL in force, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        self.public_base_url
            .as_deref()
            .unwrap_or(&self.base_url)
            .trim_end_matches('/')
            .to_owned()
    }

    /// Whether cookies are marked `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(new)) => merge(existing, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let child = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(child) = child {
                insert_path(child, rest, value);
            }
        }
    }
}

fn parse_env_value(value: &str) -> toml::Value {
    format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()))
}

/// One documented option.
#[derive(Debug)]
pub struct ConfigOption {
    /// The key path (`auth.session_ttl_hours`).
    pub key: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The default, as TOML (commented out in `gen-config` when there is none).
    pub default: &'static str,
    /// What it does.
    pub help: &'static str,
}

/// Every option, documented once.
pub const OPTIONS: &[ConfigOption] = &[
    ConfigOption {
        key: "listen",
        env: "VITRINE_LISTEN",
        default: "\"127.0.0.1:8080\"",
        help: "Address of the owner UI, the API and (unless public_listen is set) share links.",
    },
    ConfigOption {
        key: "public_listen",
        env: "VITRINE_PUBLIC_LISTEN",
        default: "",
        help: "Optional second address that serves only the outsider router (share links, embeds), so the owner UI need not face the internet.",
    },
    ConfigOption {
        key: "base_url",
        env: "VITRINE_BASE_URL",
        default: "\"http://127.0.0.1:8080\"",
        help: "URL members use to reach the owner UI; https makes cookies Secure.",
    },
    ConfigOption {
        key: "public_base_url",
        env: "VITRINE_PUBLIC_BASE_URL",
        default: "",
        help: "URL outsiders reach share links on (printed in link URLs); defaults to base_url.",
    },
    ConfigOption {
        key: "data_dir",
        env: "VITRINE_DATA_DIR",
        default: "\"vitrine-data\"",
        help: "Directory for the SQLite database and the generated server key.",
    },
    ConfigOption {
        key: "database_url",
        env: "VITRINE_DATABASE_URL",
        default: "",
        help: "sqlite://PATH or postgres://USER@HOST/DB; defaults to sqlite://<data_dir>/vitrine.db. Several instances share one PostgreSQL database.",
    },
    ConfigOption {
        key: "server_key",
        env: "VITRINE_SERVER_KEY",
        default: "",
        help: "The server key: 32 bytes as URL-safe base64 (vitrine gen-key prints one). Every instance must use the same key. Overrides server_key_file.",
    },
    ConfigOption {
        key: "server_key_file",
        env: "VITRINE_SERVER_KEY_FILE",
        default: "",
        help: "File holding the server key; defaults to <data_dir>/server.key, generated with mode 0600 on first start.",
    },
    ConfigOption {
        key: "geoip_database",
        env: "VITRINE_GEOIP_DATABASE",
        default: "",
        help: "A MaxMind-format country database (GeoLite2-Country or DB-IP, .mmdb) used to record the country of share-link visits.",
    },
    ConfigOption {
        key: "auth.session_ttl_hours",
        env: "VITRINE_AUTH__SESSION_TTL_HOURS",
        default: "168",
        help: "How long a login session lasts.",
    },
    ConfigOption {
        key: "auth.max_failures_per_client",
        env: "VITRINE_AUTH__MAX_FAILURES_PER_CLIENT",
        default: "5",
        help: "Failed logins from one client address (an IPv6 /64) within the window before that address gets 429.",
    },
    ConfigOption {
        key: "auth.max_failures_per_account",
        env: "VITRINE_AUTH__MAX_FAILURES_PER_ACCOUNT",
        default: "20",
        help: "Failed logins on one account, from anywhere, within the window before the account gets 429.",
    },
    ConfigOption {
        key: "auth.failure_window_minutes",
        env: "VITRINE_AUTH__FAILURE_WINDOW_MINUTES",
        default: "15",
        help: "The login throttling window.",
    },
    ConfigOption {
        key: "auth.hash_concurrency",
        env: "VITRINE_AUTH__HASH_CONCURRENCY",
        default: "2",
        help: "Members' password hashes (log-ins, password changes) computed at once; further ones wait.",
    },
    ConfigOption {
        key: "auth.outsider_hash_concurrency",
        env: "VITRINE_AUTH__OUTSIDER_HASH_CONCURRENCY",
        default: "1",
        help: "Share-link password checks computed at once, in a lane of their own, so a flood of unlock attempts cannot delay members' log-ins.",
    },
    ConfigOption {
        key: "auth.hash_wait_seconds",
        env: "VITRINE_AUTH__HASH_WAIT_SECONDS",
        default: "5",
        help: "How long a password check waits for a hashing slot before it is answered 503 (busy, with Retry-After) instead of queueing without end.",
    },
    ConfigOption {
        key: "proxy.client_ip_header",
        env: "VITRINE_PROXY__CLIENT_IP_HEADER",
        default: "",
        help: "Header from a trusted reverse proxy with the client address (X-Forwarded-For, X-Real-IP). Believed only from peers in trusted_proxies; read from the right, skipping trusted proxies.",
    },
    ConfigOption {
        key: "proxy.country_header",
        env: "VITRINE_PROXY__COUNTRY_HEADER",
        default: "",
        help: "Header from a trusted proxy or CDN with the visitor's ISO country code (CF-IPCountry); preferred over geoip_database. Believed only from peers in trusted_proxies.",
    },
    ConfigOption {
        key: "proxy.trusted_proxies",
        env: "VITRINE_PROXY__TRUSTED_PROXIES",
        default: "[]",
        help: "Addresses or CIDR blocks of the reverse proxies whose client_ip_header and country_header are believed, e.g. [\"10.0.0.0/8\", \"::1\"]. Empty: both headers are ignored and the socket address is the client's.",
    },
    ConfigOption {
        key: "data.statement_timeout_seconds",
        env: "VITRINE_DATA__STATEMENT_TIMEOUT_SECONDS",
        default: "10",
        help: "Longest a query on a customer's database may run; the widget then shows a polite timeout.",
    },
    ConfigOption {
        key: "data.row_cap",
        env: "VITRINE_DATA__ROW_CAP",
        default: "10000",
        help: "Most rows kept from one result; the rest is not read and the widget says so.",
    },
    ConfigOption {
        key: "data.cache_mib",
        env: "VITRINE_DATA__CACHE_MIB",
        default: "64",
        help: "Memory (MiB) the caches hold together at most, by their estimates: widget results half, drawn cards a quarter, filter options an eighth, dashboard contexts and kept outsider pages a sixteenth each; the least recently used go first. At least 16.",
    },
    ConfigOption {
        key: "data.sqlite_roots",
        env: "VITRINE_DATA__SQLITE_ROOTS",
        default: "",
        help: "Folders SQLite data sources may live in, as a list ([\"/srv/reports\"]); defaults to [data_dir]; [] allows no SQLite data source. Symlinks and .. are resolved first, and Vitrine's own store (with its -wal / -shm) and the server key file are refused even inside a root.",
    },
    ConfigOption {
        key: "live.recheck_seconds",
        env: "VITRINE_LIVE__RECHECK_SECONDS",
        default: "10",
        help: "Each share link with open live viewers is re-read this often even without a change notification (the safety net; revocations normally close streams within a second).",
    },
    ConfigOption {
        key: "live.keepalive_seconds",
        env: "VITRINE_LIVE__KEEPALIVE_SECONDS",
        default: "15",
        help: "Idle live streams get a keep-alive comment this often, so proxies do not close them.",
    },
    ConfigOption {
        key: "live.max_streams",
        env: "VITRINE_LIVE__MAX_STREAMS",
        default: "10000",
        help: "Most open live streams per instance; past it, new pages refresh by polling instead.",
    },
    ConfigOption {
        key: "metrics.enabled",
        env: "VITRINE_METRICS__ENABLED",
        default: "true",
        help: "Serve Prometheus metrics at /metrics on the owner listener (listen), never on public_listen. Without metrics.token they are served only when public_listen is set (then listen does not serve share links); with neither, /metrics answers 404.",
    },
    ConfigOption {
        key: "metrics.token",
        env: "VITRINE_METRICS__TOKEN",
        default: "",
        help: "If set, /metrics requires the header Authorization: Bearer followed by this token (401 otherwise). Needed to scrape when there is no public_listen, since listen then also serves share links.",
    },
    ConfigOption {
        key: "render.export_concurrency",
        env: "VITRINE_RENDER__EXPORT_CONCURRENCY",
        default: "2",
        help: "PDF and PNG downloads rendered at once (CPU work); further ones wait, so a burst of downloads cannot starve page views.",
    },
    ConfigOption {
        key: "render.export_wait_seconds",
        env: "VITRINE_RENDER__EXPORT_WAIT_SECONDS",
        default: "10",
        help: "How long a download waits for a render slot before it is answered 503 with Retry-After.",
    },
    ConfigOption {
        key: "limits.link_live_viewers",
        env: "VITRINE_LIMITS__LINK_LIVE_VIEWERS",
        default: "10000",
        help: "Open live streams per share link on this instance; past it, pages poll instead. A link's access policy may set its own.",
    },
    ConfigOption {
        key: "limits.client_live_viewers",
        env: "VITRINE_LIMITS__CLIENT_LIVE_VIEWERS",
        default: "10",
        help: "Open live streams per client address on one share link.",
    },
    ConfigOption {
        key: "limits.link_new_views_per_minute",
        env: "VITRINE_LIMITS__LINK_NEW_VIEWS_PER_MINUTE",
        default: "300",
        help: "Filter views a share link may ask for per minute that this instance has not served (and cached) lately; past it, new views get a polite 'try again shortly'.",
    },
    ConfigOption {
        key: "limits.client_new_views_per_minute",
        env: "VITRINE_LIMITS__CLIENT_NEW_VIEWS_PER_MINUTE",
        default: "30",
        help: "The same per client address on one share link.",
    },
    ConfigOption {
        key: "limits.header_read_seconds",
        env: "VITRINE_LIMITS__HEADER_READ_SECONDS",
        default: "30",
        help: "Seconds a client may take to send a request's head (line and headers); a slower connection is closed, so that trickling clients cannot hold connections open.",
    },
    ConfigOption {
        key: "access.retention_days",
        env: "VITRINE_ACCESS__RETENTION_DAYS",
        default: "400",
        help: "Share-link access events older than this are deleted by a background task (hourly, and at start).",
    },
    ConfigOption {
        key: "embed.max_token_seconds",
        env: "VITRINE_EMBED__MAX_TOKEN_SECONDS",
        default: "3600",
        help: "The longest lifetime a guest token may ask for (`expires_in`), in seconds; tokens live 300 s (or this maximum, when lower) when the request does not say.",
    },
    ConfigOption {
        key: "mail.smtp_url",
        env: "VITRINE_MAIL__SMTP_URL",
        default: "",
        help: "The SMTP server outgoing mail goes through: smtp://host:25 (plain), smtp://user:password@host:587?tls=required (STARTTLS), smtps://user:password@host:465 (implicit TLS). Unset: mail is written as .eml files under <data_dir>/mail and listed on the Outbox page, not sent.",
    },
    ConfigOption {
        key: "mail.from",
        env: "VITRINE_MAIL__FROM",
        default: "\"Vitrine <vitrine@localhost>\"",
        help: "The From address of outgoing mail.",
    },
    ConfigOption {
        key: "mail.reply_to",
        env: "VITRINE_MAIL__REPLY_TO",
        default: "",
        help: "The Reply-To address of outgoing mail, if any.",
    },
    ConfigOption {
        key: "mail.max_attempts",
        env: "VITRINE_MAIL__MAX_ATTEMPTS",
        default: "8",
        help: "Attempts per message and recipient before it is marked failed (a permanent refusal fails it at once).",
    },
    ConfigOption {
        key: "mail.retry_seconds",
        env: "VITRINE_MAIL__RETRY_SECONDS",
        default: "30",
        help: "The wait before the first retry of a message the SMTP server did not take; each next wait doubles, up to an hour.",
    },
    ConfigOption {
        key: "mail.invitation_days",
        env: "VITRINE_MAIL__INVITATION_DAYS",
        default: "7",
        help: "How long an invitation's accept link lives.",
    },
    ConfigOption {
        key: "reports.slack_api_base",
        env: "VITRINE_REPORTS__SLACK_API_BASE",
        default: "\"https://slack.com/api\"",
        help: "The Slack Web API that scheduled reports with a bot token upload their pictures to (files.getUploadURLExternal, files.completeUploadExternal). Change it only to point tests at a local receiver; plain http is used only when base_url is http (development).",
    },
];

/// The commented configuration file that `vitrine gen-config` prints.
pub fn generate_file() -> String {
    let mut out = String::from(
        "# Vitrine configuration. Every key is optional; shown with its default.\n\
         # Each can also be set by an environment variable (named in the comment).\n",
    );
    let mut section = "";
    for option in OPTIONS {
        let (sect, name) = option.key.rsplit_once('.').unwrap_or(("", option.key));
        if sect != section {
            out.push_str(&format!("\n[{sect}]\n"));
            section = sect;
        }
        out.push_str(&format!("\n# {} ({})\n", option.help, option.env));
        if option.default.is_empty() {
            out.push_str(&format!("# {name} = \n"));
        } else {
            out.push_str(&format!("{name} = {}\n", option.default));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_generated_file_parses_back_to_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vitrine.toml");
        std::fs::write(&path, generate_file()).unwrap();
        assert_eq!(
            Config::load(Some(&path), env(&[])).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn every_option_is_a_real_key_and_every_key_is_documented() {
        let table = toml::Table::try_from(Config::default()).unwrap();
        let mut keys = Vec::new();
        for (k, v) in &table {
            match v {
                toml::Value::Table(t) => keys.extend(t.keys().map(|c| format!("{k}.{c}"))),
                _ => keys.push(k.clone()),
            }
        }
        // Options without defaults are not serialised; add them from the list.
        let documented: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
        for key in &keys {
            assert!(
                documented.contains(&key.as_str()),
                "{key} is not in OPTIONS"
            );
        }
        for option in OPTIONS {
            let expected_env = format!("VITRINE_{}", option.key.replace('.', "__").to_uppercase());
            assert_eq!(option.env, expected_env);
            Config::load(None, env(&[(option.env, "1")]))
                .map(|_| ())
                .or_else(|e| {
                    let text = e.to_string();
                    assert!(!text.contains("unknown field"), "{}: {text}", option.key);
                    Ok::<(), ()>(())
                })
                .unwrap();
        }
    }

    #[test]
    fn the_environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vitrine.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\n[auth]\nsession_ttl_hours = 2\nmax_failures_per_client = 7\n").unwrap();
        let config = Config::load(
            Some(&path),
            env(&[
                ("VITRINE_AUTH__SESSION_TTL_HOURS", "3"),
                ("VITRINE_DATABASE_URL", "postgres://u:pw@h/db"),
                ("PATH", "/bin"),
                ("VITRINE_TEST_POSTGRES_URL", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.auth.session_ttl_hours, 3);
        assert_eq!(config.auth.max_failures_per_client, 7);
        assert_eq!(config.auth.max_failures_per_account, 20);
        assert_eq!(config.database_url(), "postgres://u:pw@h/db");
    }

    #[test]
    fn the_cache_budget_is_shared_between_the_caches_and_has_a_floor() {
        let config = Config::load(None, env(&[("VITRINE_DATA__CACHE_MIB", "32")])).unwrap();
        let budget = config.data.cache_budget();
        assert_eq!(
            (budget.runner, budget.contexts, budget.pages),
            (16 << 20, 2 << 20, 2 << 20)
        );
        // Results, filter options (a quarter of the runner's) and drawn cards (half of it),
        // contexts and pages: the whole budget, no more.
        assert_eq!(
            budget.runner + budget.runner / 4 + budget.runner / 2 + budget.contexts + budget.pages,
            32 << 20
        );
        let err = Config::load(None, env(&[("VITRINE_DATA__CACHE_MIB", "8")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("data.cache_mib"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors_naming_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vitrine.toml");
        std::fs::write(&path, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(
            err.contains("vitrine.toml") && err.contains("lisen"),
            "{err}"
        );
        let err = Config::load(None, env(&[("VITRINE_AUTH__SESION_TTL_HOURS", "3")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("environment") && err.contains("sesion_ttl_hours"),
            "{err}"
        );
        let err = Config::load(None, env(&[("VITRINE_BASE_URL", "ftp://x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("base_url"), "{err}");
        let err = Config::load(None, env(&[("VITRINE_METRICS__TOKEN", "two words")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("metrics.token"), "{err}");
    }

    #[test]
    fn the_configuration_reference_documents_every_option() {
        let doc = include_str!("../../../docs/configuration.md");
        for option in OPTIONS {
            assert!(
                doc.contains(&format!("`{}`", option.key)),
                "{} missing from docs/configuration.md",
                option.key
            );
            assert!(
                doc.contains(&format!("`{}`", option.env)),
                "{} missing from docs/configuration.md",
                option.env
            );
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let config = Config {
            server_key: Some("c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk".into()),
            database_url: Some("postgres://vitrine:hunter2@db/vitrine".into()),
            metrics: MetricsConfig {
                enabled: true,
                token: Some("scrape-secret-42".into()),
            },
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2")
                && !shown.contains("c2VjcmV0")
                && !shown.contains("scrape-secret"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://vitrine:***@db/vitrine"),
            "{shown}"
        );
    }

    #[test]
    fn a_redacted_url_holds_no_password_in_any_place() {
        for url in [
            "postgres://vitrine:hunter2@db/vitrine",
            "postgres://vitrine@db/vitrine?password=hunter2",
            "postgres://vitrine@db/vitrine?sslmode=require&Password=hunter2",
            "postgresql://db/vitrine?password=hunter2@x",
            "postgres://vitrine:hunter2@db:notaport/vitrine",
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains("hunter2"), "{url} → {shown}");
        }
        assert_eq!(
            redact_url("postgres://vitrine@db/vitrine?sslmode=require&password=hunter2"),
            "postgres://vitrine@db/vitrine?sslmode=require"
        );
        assert_eq!(
            redact_url("sqlite://vitrine-data/vitrine.db?mode=rwc"),
            "sqlite://vitrine-data/vitrine.db"
        );
    }

    #[test]
    fn the_store_file_is_found_in_every_sqlite_spelling() {
        for url in [
            "sqlite:///srv/vitrine/vitrine.db",
            "sqlite:/srv/vitrine/vitrine.db",
            "sqlite:///srv/vitrine/vitrine.db?mode=rwc",
            "sqlite:///srv/vitrine/vitrine%2Edb",
        ] {
            let config = Config {
                database_url: Some(url.into()),
                ..Config::default()
            };
            assert_eq!(
                config.store_file(),
                Some(PathBuf::from("/srv/vitrine/vitrine.db")),
                "{url}"
            );
        }
        assert_eq!(
            Config::default().store_file(),
            Some(PathBuf::from("vitrine-data/vitrine.db"))
        );
        let postgres = Config {
            database_url: Some("postgres://db/vitrine".into()),
            ..Config::default()
        };
        assert_eq!(postgres.store_file(), None);
    }

    #[test]
    fn sqlite_roots_default_to_the_data_directory_and_read_a_list_from_the_environment() {
        assert_eq!(
            Config::default().sqlite_roots(),
            vec![PathBuf::from("vitrine-data")]
        );
        let config = Config::load(
            None,
            env(&[("VITRINE_DATA__SQLITE_ROOTS", r#"["/srv/a", "/srv/b"]"#)]),
        )
        .unwrap();
        assert_eq!(
            config.sqlite_roots(),
            vec![PathBuf::from("/srv/a"), PathBuf::from("/srv/b")]
        );
        let none = Config::load(None, env(&[("VITRINE_DATA__SQLITE_ROOTS", "[]")])).unwrap();
        assert!(none.sqlite_roots().is_empty());
    }
}
