//! `vitrine demo`: everything on an embedded SQLite store, no set-up.
//!
//! It uses a data directory (by default `vitrine-demo` in the system's temporary directory),
//! makes sure a demo admin exists with a freshly generated password, binds 127.0.0.1 and
//! reports the URL and the credentials. Run again, it keeps the data and prints a new
//! password.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use vitrine_core::clock::SystemClock;
use vitrine_core::member::{NewPassword, Permissions, Role};
use vitrine_server::Config;
use vitrine_server::accounts::{self, Acting, Invite};
use vitrine_server::server::{Bound, prepare};

/// The demo admin's login.
pub const DEMO_EMAIL: &str = "demo@example.com";

/// What `vitrine demo` needs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The data directory; `None` for the default.
    pub data_dir: Option<PathBuf>,
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
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
    /// The data directory.
    pub data_dir: PathBuf,
    /// The bound server; call [`Bound::serve`].
    pub server: Bound,
}

impl Demo {
    /// The banner printed on start.
    pub fn banner(&self) -> String {
        format!(
            "\nVitrine demo is running at {url}\n\n  e-mail:    {email}\n  password:  {password}\n  data:      {dir}\n\nPress Ctrl-C to stop.\n",
            url = self.url,
            email = self.email,
            password = self.password,
            dir = self.data_dir.display(),
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
    let config = Config {
        listen: address,
        base_url: url.clone(),
        data_dir: data_dir.clone(),
        ..Config::default()
    };
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
    let server = Bound::with_listener(state, listener).await?;
    Ok(Demo {
        url: format!("{url}/"),
        email: DEMO_EMAIL.to_owned(),
        password: password.password().expose().to_owned(),
        data_dir,
        server,
    })
}
