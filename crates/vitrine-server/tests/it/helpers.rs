//! `TestApp`: a real server on 127.0.0.1:0 with a fresh store and a manual clock. Clients are
//! known by their socket address, as in production without a proxy; a test that must speak as
//! several clients opts in with [`trust_client_header`] and names each in [`CLIENT_HEADER`].

use std::sync::Arc;

use reqwest::redirect::Policy;
use time::macros::datetime;
use vitrine_app::accounts::{self, Acting, Invite};
use vitrine_app::prepare;
use vitrine_app::{App, Config};
use vitrine_core::clock::ManualClock;
use vitrine_core::keys::ServerKey;
use vitrine_core::member::{NewPassword, Permissions, Role};
use vitrine_server::server::Bound;
use vitrine_store::Member;

pub const CLIENT_HEADER: &str = "x-test-client";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    /// `http://{public_listen}` when the test configured one (bind it to port 0).
    pub public_base: Option<String>,
    pub state: App,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Opts a test in to speaking as several clients: the server believes [`CLIENT_HEADER`] from
/// the loopback peer the tests connect from, as it would from a trusted reverse proxy.
pub fn trust_client_header(config: &mut Config) {
    config.proxy.client_ip_header = Some(CLIENT_HEADER.to_owned());
    config.proxy.trusted_proxies = vec!["127.0.0.1".to_owned(), "::1".to_owned()];
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config {
            base_url: base.clone(),
            data_dir: dir.path().join("data"),
            server_key: Some(ServerKey::generate().to_text()),
            ..Config::default()
        };
        // Tests keep their warehouses beside the data directory, as a real server keeps
        // customers' SQLite files in a folder of their own.
        config.data.sqlite_roots = Some(vec![dir.path().to_path_buf()]);
        adjust(&mut config);
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 12:00 UTC)));
        let state = prepare(config, clock.clone()).await.unwrap();
        let server = Bound::with_listener(state.clone(), listener).await.unwrap();
        let public_base = server.public_addr().map(|a| format!("http://{a}"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.serve(async move {
            let _ = stopped.await;
        }));
        Self {
            base,
            public_base,
            state,
            clock,
            dir,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap()
    }

    pub async fn member(&self, email: &str, role: Role, flags: Permissions) -> Member {
        let workspace = self.state.store.default_workspace().await.unwrap().unwrap();
        let invite = Invite {
            email: email.to_owned(),
            name: String::new(),
            role,
            flags,
        };
        accounts::create_member(
            &self.state,
            &Acting::Cli,
            workspace.id,
            invite,
            &NewPassword::parse(PASSWORD).unwrap(),
            false,
        )
        .await
        .unwrap()
    }

    pub async fn admin(&self) -> Member {
        self.member("admin@example.com", Role::Admin, Permissions::default())
            .await
    }

    /// Signs `client` in from address `ip`; returns the POST's response.
    pub async fn log_in(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
        ip: &str,
    ) -> reqwest::Response {
        let page = client
            .get(self.url("/login"))
            .header(CLIENT_HEADER, ip)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden_field(&page, "csrf_token").expect("the login form has a CSRF token");
        client
            .post(self.url("/login"))
            .header(CLIENT_HEADER, ip)
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &csrf),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// A signed-in browser and the CSRF token of its session.
    pub async fn signed_in(&self, email: &str) -> (reqwest::Client, String) {
        let client = self.browser();
        let response = self.log_in(&client, email, PASSWORD, "10.0.0.1").await;
        assert_eq!(response.status(), 303, "log in as {email}");
        let home = client
            .get(self.url("/api-keys"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden_field(&home, "csrf_token").expect("pages carry the session's CSRF token");
        (client, csrf)
    }

    /// An API key acting as `member`.
    pub async fn api_key(&self, member: &Member) -> String {
        let (_, secret) = accounts::create_api_key(&self.state, member, "test")
            .await
            .unwrap();
        secret.expose().to_owned()
    }

    /// A plain client sending `key` as bearer.
    pub fn api(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap()
    }

    /// The SQLite pool behind the app, for reading rows directly.
    pub async fn raw_sqlite(&self) -> sqlx::SqlitePool {
        let url = format!(
            "sqlite://{}",
            self.dir.path().join("data/vitrine.db").display()
        );
        sqlx::SqlitePool::connect(&url).await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The value of the first `<input type="hidden" name="NAME" value="…">`.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// `VITRINE_TEST_POSTGRES_URL`, or `None` after a loud notice that `test` is skipped; a
/// failure instead under `VITRINE_REQUIRE_SERVICES=1`.
pub fn postgres_url(test: &str) -> Option<String> {
    let url = std::env::var("VITRINE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        assert_ne!(
            std::env::var("VITRINE_REQUIRE_SERVICES").as_deref(),
            Ok("1"),
            "{test}: VITRINE_TEST_POSTGRES_URL is required"
        );
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: set VITRINE_TEST_POSTGRES_URL to run it against PostgreSQL"
        );
    }
    url
}

/// A fresh PostgreSQL database for one test, dropped with the value; `None` (after a loud
/// notice) when `VITRINE_TEST_POSTGRES_URL` is unset, a failure under
/// `VITRINE_REQUIRE_SERVICES=1`.
pub struct PgDatabase {
    pub url: String,
    base: String,
    name: String,
}

impl PgDatabase {
    pub async fn create(test: &str) -> Option<Self> {
        use sqlx::Connection as _;
        let base = postgres_url(test)?;
        let name = format!(
            "vitrine_srv_{}",
            &vitrine_core::secret::sha256_hex(
                vitrine_core::secret::random_token::<16>().as_bytes()
            )[..16]
        );
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let (head, _) = base.split_once('?').unwrap_or((&base, ""));
        let cut = head
            .rfind('/')
            .filter(|&i| i > head.find("://").map_or(0, |s| s + 2));
        let url = match cut {
            Some(i) => format!("{}/{name}", &head[..i]),
            None => format!("{head}/{name}"),
        };
        Some(Self { url, base, name })
    }

    /// Drops the database (connections still open are closed by force).
    pub async fn drop_now(self) {
        use sqlx::Connection as _;
        let mut admin = sqlx::PgConnection::connect(&self.base).await.unwrap();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await;
    }
}
