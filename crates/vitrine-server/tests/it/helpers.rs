//! `TestApp`: a real server on 127.0.0.1:0 with a fresh store and a manual clock. Clients are
//! known by their socket address, as in production without a proxy; a test that must speak as
//! several clients opts in with [`trust_client_header`] and names each in [`CLIENT_HEADER`].
//!
//! [`both_stores!`] turns one test body into two tests, `…::on_sqlite` and `…::on_postgres`:
//! the second runs the same body with every [`TestApp`] it spawns on a fresh PostgreSQL
//! database (cloned from a migrated template, so it costs one `CREATE DATABASE`), skipped
//! loudly without `VITRINE_TEST_POSTGRES_URL` and failing under `VITRINE_REQUIRE_SERVICES=1`.

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
    /// The store's URL when it is not the SQLite file in [`TestApp::dir`].
    pub database_url: Option<String>,
    /// `http://{public_listen}` when the test configured one (bind it to port 0).
    pub public_base: Option<String>,
    pub state: App,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A PDF's page count and its text with every whitespace removed (krilla writes text as
/// glyph runs in compressed streams: only a parser finds it; `Acme GmbH` reads `AcmeGmbH`).
pub fn pdf_text(bytes: &[u8]) -> (usize, String) {
    let doc = lopdf::Document::load_mem(bytes).expect("the PDF parses");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("text extracts");
    (
        pages.len(),
        text.chars().filter(|c| !c.is_whitespace()).collect(),
    )
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
        // Inside an `on_postgres` test every app shares that test's database, unless the test
        // names its own.
        config.database_url = test_database_url();
        adjust(&mut config);
        let database_url = config.database_url.clone();
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
            database_url,
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

    /// The database behind the app, whichever it is, for reading rows directly.
    pub async fn raw_db(&self) -> RawDb {
        match &self.database_url {
            Some(url) if url.starts_with("postgres") => {
                RawDb::Postgres(sqlx::PgPool::connect(url).await.unwrap())
            }
            _ => RawDb::Sqlite(self.raw_sqlite().await),
        }
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

/// A fresh PostgreSQL database for one test, dropped with [`PgDatabase::drop_now`]; `None`
/// (after a loud notice) when `VITRINE_TEST_POSTGRES_URL` is unset, a failure under
/// `VITRINE_REQUIRE_SERVICES=1`.
///
/// It is a copy of a template that this process migrated once (or found, built by an earlier
/// run from the same migrations): `CREATE DATABASE … TEMPLATE` takes about 0.1 s here, where
/// migrating an empty database every time would add the migrations' run to every test.
pub struct PgDatabase {
    pub url: String,
    base: String,
    name: String,
}

/// The migrated template's name, built at most once per process.
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// `url` with its database name replaced by `name`.
fn database_url(url: &str, name: &str) -> String {
    let (head, _) = url.split_once('?').unwrap_or((url, ""));
    let cut = head
        .rfind('/')
        .filter(|&i| i > head.find("://").map_or(0, |s| s + 2));
    match cut {
        Some(i) => format!("{}/{name}", &head[..i]),
        None => format!("{head}/{name}"),
    }
}

fn random_suffix() -> String {
    vitrine_core::secret::sha256_hex(vitrine_core::secret::random_token::<16>().as_bytes())[..16]
        .to_owned()
}

/// The template for this tree's PostgreSQL migrations: `vitrine_tpl_` + a hash of their text,
/// so that a branch with other migrations (or a later commit) gets its own. Built under a
/// temporary name and renamed when migrated, so no one ever clones a half-migrated template
/// (and a concurrent test process building the same one loses the rename and drops its copy).
async fn template(base: &str) -> String {
    use sqlx::Connection as _;
    TEMPLATE
        .get_or_init(|| async {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../vitrine-store/migrations/postgres");
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            let mut text = String::new();
            for file in files {
                text.push_str(&file.file_name().unwrap().to_string_lossy());
                text.push_str(&std::fs::read_to_string(file).unwrap());
            }
            let name = format!(
                "vitrine_tpl_{}",
                &vitrine_core::secret::sha256_hex(text.as_bytes())[..16]
            );
            let mut admin = sqlx::PgConnection::connect(base).await.unwrap();
            let exists: Option<(i32,)> =
                sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(&name)
                    .fetch_optional(&mut admin)
                    .await
                    .unwrap();
            if exists.is_none() {
                let building = format!("vitrine_tplb_{}", random_suffix());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let store = vitrine_store::open(&database_url(base, &building))
                    .await
                    .unwrap();
                store.close().await;
                let renamed = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "ALTER DATABASE {building} RENAME TO {name}"
                )))
                .execute(&mut admin)
                .await;
                if renamed.is_err() {
                    // Another process finished the same template first.
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                }
            }
            sweep_leftovers(base, &mut admin).await;
            admin.close().await.unwrap();
            name
        })
        .await
        .clone()
}

/// Test databases are `vitrine_t{pid}_{random}`: the process that made one is in its name, so
/// a later run can drop what a finished run left (see [`PgDatabase::drop_in_background`]).
const PREFIX: &str = "vitrine_t";

/// Drops, in the background, the test databases of processes that no longer run on this
/// machine (without `FORCE`: a database someone is connected to stays).
async fn sweep_leftovers(base: &str, admin: &mut sqlx::PgConnection) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind(format!("{PREFIX}%"))
            .fetch_all(&mut *admin)
            .await
            .unwrap();
    for (name,) in names {
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            drop_database_in_background(base.to_owned(), name, false);
        }
    }
}

impl PgDatabase {
    pub async fn create(test: &str) -> Option<Self> {
        use sqlx::Connection as _;
        let base = postgres_url(test)?;
        let template = template(&base).await;
        let name = format!("{PREFIX}{}_{}", std::process::id(), random_suffix());
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        // Not waiting for the disk at commit makes the copy 0.25 s instead of 1–1.7 s here
        // (measured with other builds running); a throwaway database needs no durability.
        sqlx::query("SET synchronous_commit = off")
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {template}"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
        admin.close().await.unwrap();
        // A test database is thrown away: commits need not wait for the disk.
        let url = format!(
            "{}?options=-c%20synchronous_commit%3Doff",
            database_url(&base, &name)
        );
        Some(Self { url, base, name })
    }

    /// Drops the database (connections still open are closed by force).
    pub async fn drop_now(self) {
        drop_database(&self.base, &self.name, true).await;
    }

    /// Drops the database on a thread of its own, so the test does not wait: every
    /// `DROP DATABASE` waits for a checkpoint (1–2.5 s here under load). The statement
    /// reaches the server within milliseconds and then finishes there even if this process
    /// exits; if the process exits before it is sent, the next run sweeps the database.
    pub fn drop_in_background(self) {
        drop_database_in_background(self.base, self.name, true);
    }
}

async fn drop_database(base: &str, name: &str, force: bool) {
    use sqlx::Connection as _;
    let Ok(mut admin) = sqlx::PgConnection::connect(base).await else {
        return;
    };
    let force = if force { " WITH (FORCE)" } else { "" };
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}{force}"
    )))
    .execute(&mut admin)
    .await;
}

fn drop_database_in_background(base: String, name: String, force: bool) {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(drop_database(&base, &name, force));
    });
}

tokio::task_local! {
    /// The database of the `on_postgres` half of a [`both_stores!`] test.
    static TEST_DATABASE: String;
}

/// The database every [`TestApp`] of the running test uses: `None` for its own SQLite file.
pub fn test_database_url() -> Option<String> {
    TEST_DATABASE.try_with(Clone::clone).ok()
}

/// Runs `body` with every [`TestApp`] it spawns on one fresh PostgreSQL database (see
/// [`PgDatabase`]); skips loudly without `VITRINE_TEST_POSTGRES_URL`.
pub async fn on_postgres(test: &str, body: impl std::future::Future<Output = ()>) {
    use futures_util::FutureExt as _;
    let Some(db) = PgDatabase::create(test).await else {
        return;
    };
    let outcome = std::panic::AssertUnwindSafe(TEST_DATABASE.scope(db.url.clone(), body))
        .catch_unwind()
        .await;
    if outcome.is_ok() {
        // The body ran on this database, not on a SQLite file beside it (an app spawned
        // outside the task, e.g. in `tokio::spawn`, would not see it).
        let db_pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let (workspaces,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM workspaces")
            .fetch_one(&db_pool)
            .await
            .unwrap();
        db_pool.close().await;
        assert!(workspaces > 0, "{test} never used its PostgreSQL database");
    }
    db.drop_in_background();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// One test body, two tests: `NAME::on_sqlite` and `NAME::on_postgres` (see [`on_postgres`]).
///
/// ```ignore
/// both_stores!(a_link_expires_on_the_injected_clock, async {
///     let fx = fixture().await;
///     …
/// });
/// ```
macro_rules! both_stores {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn on_sqlite() {
                $body.await
            }

            #[tokio::test]
            async fn on_postgres() {
                $crate::helpers::on_postgres(concat!(module_path!(), "::on_postgres"), $body).await
            }
        }
    };
}
pub(crate) use both_stores;

/// A connection to a test app's own database, SQLite or PostgreSQL.
pub enum RawDb {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl RawDb {
    /// The rows of `sql`, every column as text (write `CAST(… AS TEXT)` where a column is not),
    /// with `?` placeholders bound to `binds` in order (rewritten to `$n` for PostgreSQL).
    pub async fn rows(&self, sql: &str, binds: &[&str]) -> Vec<Vec<Option<String>>> {
        use sqlx::Row as _;
        match self {
            Self::Sqlite(pool) => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
                for bind in binds {
                    query = query.bind(*bind);
                }
                let rows = query.fetch_all(pool).await.unwrap();
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                    .collect()
            }
            Self::Postgres(pool) => {
                let mut numbered = String::new();
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        numbered.push_str(&format!("${n}"));
                    } else {
                        numbered.push(c);
                    }
                }
                let mut query = sqlx::query(sqlx::AssertSqlSafe(numbered));
                for bind in binds {
                    query = query.bind(*bind);
                }
                let rows = query.fetch_all(pool).await.unwrap();
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                    .collect()
            }
        }
    }

    /// The one value of a one-row, one-column query.
    pub async fn value(&self, sql: &str, binds: &[&str]) -> String {
        let rows = self.rows(sql, binds).await;
        assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
        rows[0][0].clone().expect("a value, not NULL")
    }
}
