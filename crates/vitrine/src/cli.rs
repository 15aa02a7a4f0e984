//! The command line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use vitrine_app::accounts::{self, Acting, Invite};
use vitrine_app::prepare;
use vitrine_app::{App, Config};
use vitrine_core::clock::SystemClock;
use vitrine_core::keys::ServerKey;
use vitrine_core::member::{NewPassword, Permissions, Role};
use vitrine_server::server::{Bound, shutdown_signal};

/// Vitrine: share live dashboards with people outside your organisation.
#[derive(Debug, Parser)]
#[command(name = "vitrine", version, about)]
pub struct Cli {
    /// A TOML configuration file (see `vitrine gen-config`). `VITRINE_*` variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server from the configuration.
    Serve,
    /// Run a self-contained demo on an embedded SQLite store and print how to sign in.
    Demo {
        /// The data directory (default: `vitrine-demo` in the temporary directory).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The port on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Apply pending store migrations and exit.
    Migrate,
    /// Print a configuration file with every option, its default and what it does.
    GenConfig,
    /// Print a new random server key.
    GenKey,
    /// Manage members.
    #[command(subcommand)]
    User(UserCommand),
    /// Dashboards as code: import and export YAML documents.
    #[command(subcommand)]
    Dashboards(DashboardsCommand),
    /// Share links: list, create, show, disable, enable, rotate, delete.
    Link(LinkArgs),
    /// Embedding: show, enable, disable, revoke every guest grant, mint a test token.
    Embed(crate::embed_cli::EmbedArgs),
    /// API keys: create one for a member (printed once), list, revoke.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Outgoing mail: send a test message.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Scheduled reports: list them, send one now, run one scheduler pass.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Members' data permissions: row-level rules on a member or a role.
    #[command(subcommand)]
    DataRule(DataRuleCommand),
}

/// `vitrine data-rule …` (acts as the command line: an admin).
#[derive(Debug, Subcommand)]
pub enum DataRuleCommand {
    /// List every rule: id, target, rule.
    List,
    /// Attach a rule to one member (`--member EMAIL`) or to every member of a role (`--role`).
    Add {
        /// The member's e-mail.
        #[arg(long, conflicts_with = "role")]
        member: Option<String>,
        /// `viewer`, `editor` or `admin`.
        #[arg(long)]
        role: Option<Role>,
        /// The rule as JSON: `{"column": "region", "op": "=", "value": "EMEA"}` (optionally
        /// `"dataset"`, and `"values": [...]` for `in`, `not in`, `between`).
        rule: String,
    },
    /// Remove a rule by id (see `vitrine data-rule list`).
    Remove {
        /// The rule's id.
        id: i64,
    },
}

/// `vitrine report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// List the workspace's scheduled reports with their next send times.
    List,
    /// Render report ID now (as its creator) and deliver it to every recipient.
    Send {
        /// The schedule's id.
        id: i64,
    },
    /// One scheduler pass: send the due slots and due deliveries, then exit.
    Run,
    /// Show the workspace's allowed e-mail domains for report recipients, or replace them
    /// (`vitrine report domains example.com example.org`; `--clear` allows any address).
    Domains {
        /// The new list, replacing the old one; none: show the current list.
        domains: Vec<String>,
        /// Remove every domain: any address is allowed.
        #[arg(long, conflicts_with = "domains")]
        clear: bool,
    },
}

/// `vitrine mail …`.
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Queue a test message to ADDRESS and send what is due now, through the configured
    /// transport (SMTP, or `.eml` files in the data directory without `mail.smtp_url`).
    Test {
        /// Where to send it.
        address: String,
    },
}

/// `vitrine api-key …`.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key acting as a member, and print its secret (shown once, never stored).
    Create {
        /// The member's e-mail.
        email: String,
        /// What the key is for.
        name: String,
    },
    /// List the workspace's API keys (never their secrets).
    List,
    /// Revoke an API key by id.
    Revoke {
        /// The key's id (see `vitrine api-key list`).
        id: i64,
    },
}

/// `vitrine link …`. Link commands act as a member (for permissions and the audit trail):
/// `--as EMAIL`, or by default the workspace's first admin.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The member to act as.
    #[arg(long = "as", value_name = "EMAIL", global = true)]
    pub as_member: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: LinkCommand,
}

/// The link commands.
#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// List links (of one dashboard with --dashboard).
    List {
        /// The dashboard's slug.
        #[arg(long)]
        dashboard: Option<String>,
    },
    /// Create a link and print its URLs.
    Create {
        /// The dashboard's slug.
        #[arg(long)]
        dashboard: String,
        /// The audience ("Board", "Client A").
        #[arg(long)]
        label: String,
        /// Share one widget only.
        #[arg(long)]
        widget: Option<String>,
        /// 14d, 90d, 1y, never, a number of days like 30d, or an RFC 3339 date-time.
        #[arg(long, default_value = "90d")]
        expires: String,
        /// Read a password for the link from this environment variable.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// Lock a filter: `region=EMEA`, `region=[EMEA, APAC]`, `period={preset: last_30_days}`.
        #[arg(long = "lock", value_name = "FILTER=VALUE")]
        locks: Vec<String>,
        /// Allow downloads (PDF, PNG, CSV).
        #[arg(long)]
        allow_downloads: bool,
        /// Who may use the link, and how much.
        #[command(flatten)]
        access: AccessArgs,
    },
    /// Set a link's access policy (view limit, client networks, cost caps); options left out
    /// are cleared.
    Access {
        /// The link id (it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// The policy.
        #[command(flatten)]
        access: AccessArgs,
    },
    /// Show a link and its URLs.
    Show {
        /// The link id (it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Turn a link off; its URL is kept.
    Disable {
        /// The link id (it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Turn a link back on with the same URL.
    Enable {
        /// The link id (it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Give a link a new URL and short link; the old ones stop working.
    Rotate {
        /// The link id (it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Delete a link; its access history is kept.
    Delete {
        /// The link id (it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

/// A link's access policy on the command line.
#[derive(Debug, Clone, Args)]
pub struct AccessArgs {
    /// The link stops (410) after this many page views.
    #[arg(long, value_name = "N")]
    pub max_views: Option<u32>,
    /// Only client addresses in this network may open the link (CIDR or one address;
    /// repeat for several).
    #[arg(long = "allow-network", value_name = "CIDR")]
    pub allow_networks: Vec<String>,
    /// Open live streams on the link at most (default: `limits.link_live_viewers`).
    #[arg(long, value_name = "N")]
    pub max_live_viewers: Option<u32>,
    /// Open live streams per client address at most.
    #[arg(long, value_name = "N")]
    pub max_live_viewers_per_client: Option<u32>,
    /// New filter views per minute on the link at most.
    #[arg(long, value_name = "N")]
    pub max_new_views_per_minute: Option<u32>,
    /// New filter views per minute per client address at most.
    #[arg(long, value_name = "N")]
    pub max_new_views_per_minute_per_client: Option<u32>,
    /// Viewers confirm their e-mail address with a one-time code before they view.
    #[arg(long)]
    pub confirm_email: bool,
    /// With --confirm-email: only addresses at these domains (`@client.com`; commas or
    /// repeats for several).
    #[arg(long, value_name = "@DOMAIN", value_delimiter = ',', num_args = 1.., requires = "confirm_email")]
    pub domains: Vec<String>,
}

impl AccessArgs {
    /// The access policy these options describe (networks and domains checked).
    pub fn policy(&self) -> anyhow::Result<vitrine_app::links::AccessPolicy> {
        let allowed_networks = self
            .allow_networks
            .iter()
            .map(|n| vitrine_app::links::Network::parse(n).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?;
        let email_domains = self
            .domains
            .iter()
            .map(|d| vitrine_core::identified::EmailDomain::parse(d).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?;
        Ok(vitrine_app::links::AccessPolicy {
            confirm_email: self.confirm_email,
            email_domains,
            max_views: self.max_views,
            allowed_networks,
            max_live_viewers: self.max_live_viewers,
            max_live_viewers_per_client: self.max_live_viewers_per_client,
            max_new_views_per_minute: self.max_new_views_per_minute,
            max_new_views_per_minute_per_client: self.max_new_views_per_minute_per_client,
        })
    }
}

/// `vitrine dashboards …`.
#[derive(Debug, Subcommand)]
pub enum DashboardsCommand {
    /// Create or update dashboards from YAML files; the slug is the file name without `.yaml`.
    /// Each document is validated against the datasets it names before anything is saved.
    Import {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write every dashboard (or one, with --slug) as `<slug>.yaml` into a directory.
    Export {
        /// The directory (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Only this dashboard.
        #[arg(long)]
        slug: Option<String>,
    },
}

/// `vitrine user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a member. Without --password a one-time password is generated and printed.
    Add(UserAdd),
    /// List members.
    List,
    /// Change a member's role.
    SetRole {
        /// The member's e-mail.
        email: String,
        /// admin, editor or viewer.
        role: Role,
    },
    /// Give a member a new one-time password (printed) and end their sessions.
    ResetPassword {
        /// The member's e-mail.
        email: String,
    },
}

/// `vitrine user add`.
#[derive(Debug, Args)]
pub struct UserAdd {
    /// The e-mail address (the login).
    pub email: String,
    /// admin, editor or viewer.
    #[arg(long, default_value = "editor")]
    pub role: Role,
    /// The display name (default: the e-mail's local part).
    #[arg(long, default_value = "")]
    pub name: String,
    /// Read the password from this environment variable instead of generating one.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Grant `share_public`.
    #[arg(long)]
    pub share_public: bool,
    /// Grant `embed`.
    #[arg(long)]
    pub embed: bool,
    /// Grant `manage_members`.
    #[arg(long)]
    pub manage_members: bool,
    /// Grant `manage_data_sources` (connect, change and delete data sources).
    #[arg(long)]
    pub manage_data_sources: bool,
}

/// Logs to stderr, filtered by `VITRINE_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VITRINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

impl Cli {
    fn load_config(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref(), std::env::vars())?)
    }

    /// Runs the command.
    pub async fn run(self) -> anyhow::Result<()> {
        match &self.command {
            Command::GenConfig => {
                print!("{}", vitrine_app::config::generate_file());
                Ok(())
            }
            Command::GenKey => {
                println!("{}", ServerKey::generate().to_text());
                Ok(())
            }
            Command::Demo { data_dir, port } => {
                let demo = crate::demo::prepare_demo(crate::demo::DemoOptions {
                    data_dir: data_dir.clone(),
                    port: *port,
                    configure: None,
                })
                .await?;
                println!("{}", demo.banner());
                demo.serve(shutdown_signal()).await
            }
            Command::Serve => {
                let config = self.load_config()?;
                let state = prepare(config, Arc::new(SystemClock)).await?;
                let server = Bound::bind(state, None).await?;
                tracing::info!(address = %server.local_addr(), public = ?server.public_addr(), "listening");
                server.serve(shutdown_signal()).await
            }
            Command::Migrate => {
                let url = vitrine_app::migrate(&self.load_config()?).await?;
                println!("migrations applied to {url}");
                Ok(())
            }
            Command::Dashboards(command) => {
                let state = prepare(self.load_config()?, Arc::new(SystemClock)).await?;
                let result = dashboards_command(&state, command).await;
                state.store.close().await;
                result
            }
            Command::Link(args) => {
                let state = prepare(self.load_config()?, Arc::new(SystemClock)).await?;
                let result = link_command(&state, args).await;
                state.store.close().await;
                result
            }
            Command::Embed(args) => {
                let state = prepare(self.load_config()?, Arc::new(SystemClock)).await?;
                let result = crate::embed_cli::embed_command(&state, args).await;
                state.store.close().await;
                result
            }
            Command::User(command) => {
                let state = prepare(self.load_config()?, Arc::new(SystemClock)).await?;
                let result = user_command(&state, command).await;
                state.store.close().await;
                result
            }
            Command::DataRule(command) => {
                let state = prepare(self.load_config()?, Arc::new(SystemClock)).await?;
                let result = data_rule_command(&state, command).await;
                state.store.close().await;
                result
            }
            Command::ApiKey(command) => {
                let state = prepare(self.load_config()?, Arc::new(SystemClock)).await?;
                let result = api_key_command(&state, command).await;
                state.store.close().await;
                result
            }
            Command::Mail(command) => {
                let state = prepare(self.load_config()?, Arc::new(SystemClock)).await?;
                let result = mail_command(&state, command).await;
                state.store.close().await;
                result
            }
            Command::Report(command) => {
                let state = prepare(self.load_config()?, Arc::new(SystemClock)).await?;
                let result = report_command(&state, command).await;
                state.store.close().await;
                result
            }
        }
    }
}

async fn report_command(state: &App, command: &ReportCommand) -> anyhow::Result<()> {
    let workspace = vitrine_app::admin::workspace(state).await?;
    match command {
        ReportCommand::List => {
            for s in vitrine_app::admin::report_schedules(state, &workspace).await? {
                let next = s
                    .next_slot
                    .map(vitrine_app::reports::rfc3339)
                    .unwrap_or_else(|| "-".to_owned());
                let status = match (&s.enabled, &s.paused_reason) {
                    (true, _) => "enabled".to_owned(),
                    (false, Some(reason)) => reason.clone(),
                    (false, None) => "paused".to_owned(),
                };
                println!(
                    "{}\t{}\tdashboard {}\t{}\tnext {}\t{}",
                    s.id, s.name, s.dashboard_id.0, s.zone, next, status
                );
            }
            Ok(())
        }
        ReportCommand::Send { id } => {
            let deliveries = vitrine_app::admin::send_report_now(state, &workspace, *id)
                .await
                .map_err(|e| match e {
                    vitrine_app::Error::NotFound => anyhow::anyhow!("no report {id}"),
                    e => e.into(),
                })?;
            for d in deliveries {
                println!(
                    "{}\t{}\t{}\t{}",
                    d.kind,
                    d.target,
                    d.state.as_str(),
                    d.provider_response.or(d.last_error).unwrap_or_default()
                );
            }
            Ok(())
        }
        ReportCommand::Domains { domains, clear } => {
            if *clear || !domains.is_empty() {
                vitrine_app::reports::set_email_domains_as(
                    state,
                    workspace.id,
                    &Acting::Cli,
                    domains,
                )
                .await?;
            }
            let current = vitrine_app::admin::report_email_domains(state, &workspace).await?;
            if current.is_empty() {
                println!("any domain (no list)");
            }
            for d in current {
                println!("{d}");
            }
            Ok(())
        }
        ReportCommand::Run => {
            let ticked = vitrine_app::reports::tick(state).await?;
            println!(
                "runs {}, claimed elsewhere {}, failed {}, paused {}",
                ticked.runs, ticked.lost, ticked.failed, ticked.paused
            );
            Ok(())
        }
    }
}

async fn mail_command(state: &App, command: &MailCommand) -> anyhow::Result<()> {
    let workspace = vitrine_app::admin::workspace(state).await?;
    match command {
        MailCommand::Test { address } => {
            let ids = vitrine_app::mail::send_test(state, workspace.id, address).await?;
            vitrine_app::mail::drain(state).await?;
            let mails = vitrine_app::admin::recent_mails(state, &workspace, 50).await?;
            let Some(mail) = mails.iter().find(|m| ids.contains(&m.id)) else {
                anyhow::bail!("the test message is not in the outbox");
            };
            let transport = state.outbox.mailer.transport_name();
            match mail.state {
                vitrine_store::MailState::Sent => {
                    println!(
                        "sent to {} through {transport}: {}",
                        mail.recipient,
                        mail.provider_response.as_deref().unwrap_or("")
                    );
                    if let Some(dir) = state.outbox.mailer.file_dir() {
                        println!("(no mail.smtp_url: written under {})", dir.display());
                    }
                    Ok(())
                }
                other => anyhow::bail!(
                    "not sent ({}) through {transport}: {}",
                    other.as_str(),
                    mail.last_error.as_deref().unwrap_or("no error recorded")
                ),
            }
        }
    }
}

async fn user_command(state: &App, command: &UserCommand) -> anyhow::Result<()> {
    let workspace = vitrine_app::admin::workspace(state).await?;
    let find = |email: &str| {
        let email = email.to_owned();
        async move { Ok::<_, anyhow::Error>(vitrine_app::admin::member_by_email(state, &email).await?) }
    };
    match command {
        UserCommand::Add(add) => {
            let (password, generated) = match &add.password_env {
                Some(var) => {
                    let value = std::env::var(var).with_context(|| format!("{var} is not set"))?;
                    (NewPassword::parse(&value)?, false)
                }
                None => (NewPassword::generate(), true),
            };
            let invite = Invite {
                email: add.email.clone(),
                name: add.name.clone(),
                role: add.role,
                flags: Permissions {
                    share_public: add.share_public,
                    embed: add.embed,
                    manage_members: add.manage_members,
                    manage_data_sources: add.manage_data_sources,
                },
            };
            let member = accounts::create_member(
                state,
                &Acting::Cli,
                workspace.id,
                invite,
                &password,
                generated,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created {} ({})", member.email, member.role);
            if generated {
                println!("one-time password: {}", password.password().expose());
            }
        }
        UserCommand::List => {
            for m in accounts::list_members(state, &Acting::Cli, workspace.id).await? {
                let p = m.permissions;
                let perms: Vec<&str> = [
                    (p.share_public, "share_public"),
                    (p.embed, "embed"),
                    (p.manage_members, "manage_members"),
                    (p.manage_data_sources, "manage_data_sources"),
                ]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect();
                println!(
                    "{:<32} {:<7} {:<24} {}",
                    m.email,
                    m.role,
                    m.name,
                    perms.join(",")
                );
            }
        }
        UserCommand::SetRole { email, role } => {
            let member = find(email).await?;
            let member = accounts::change_member_access(
                state,
                &Acting::Cli,
                workspace.id,
                member.id,
                Some(*role),
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{} is now {}", member.email, member.role);
        }
        UserCommand::ResetPassword { email } => {
            let member = find(email).await?;
            let (member, password) =
                accounts::reset_member_password(state, &Acting::Cli, workspace.id, member.id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "one-time password for {}: {}",
                member.email,
                password.password().expose()
            );
        }
    }
    Ok(())
}

/// `vitrine api-key …`: keys act as a member, so they are made through the member (the same
/// service, checks and audit event as the UI and the API).
async fn data_rule_command(state: &App, command: &DataRuleCommand) -> anyhow::Result<()> {
    use vitrine_app::data_permissions::{self, NewDataRule};
    let workspace = vitrine_app::admin::workspace(state).await?;
    let failed = |e: vitrine_app::Error| anyhow::anyhow!("{e}");
    match command {
        DataRuleCommand::List => {
            for rule in data_permissions::list(state, &Acting::Cli, workspace.id)
                .await
                .map_err(failed)?
            {
                let target = match (rule.member_id, rule.role) {
                    (Some(id), _) => vitrine_app::admin::member(state, id)
                        .await?
                        .map_or_else(|| format!("member {id}"), |m| m.email),
                    (None, Some(role)) => format!("every {role}"),
                    (None, None) => String::new(),
                };
                println!("{:<6} {:<32} {}", rule.id, target, rule.summary);
            }
        }
        DataRuleCommand::Add { member, role, rule } => {
            let member_id = match member {
                Some(email) => Some(vitrine_app::admin::member_by_email(state, email).await?.id),
                None => None,
            };
            let rule = serde_json::from_str(rule).context("the rule is not a valid rule")?;
            let added = data_permissions::add(
                state,
                &Acting::Cli,
                workspace.id,
                NewDataRule {
                    member_id,
                    role: *role,
                    rule,
                },
            )
            .await
            .map_err(failed)?;
            eprintln!("added data rule {}: {}", added.id, added.summary);
        }
        DataRuleCommand::Remove { id } => {
            data_permissions::remove(state, &Acting::Cli, workspace.id, *id)
                .await
                .map_err(failed)?;
            eprintln!("removed data rule {id}");
        }
    }
    Ok(())
}

async fn api_key_command(state: &App, command: &ApiKeyCommand) -> anyhow::Result<()> {
    let workspace = vitrine_app::admin::workspace(state).await?;
    let first_admin = || async {
        Ok::<_, anyhow::Error>(vitrine_app::admin::first_admin(state, &workspace).await?)
    };
    match command {
        ApiKeyCommand::Create { email, name } => {
            let member = vitrine_app::admin::member_by_email(state, email).await?;
            let (key, secret) = accounts::create_api_key(state, &member, name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "created API key {} ({}) acting as {}",
                key.id, key.name, member.email
            );
            // Alone on stdout, so that scripts can capture it.
            println!("{}", secret.expose());
        }
        ApiKeyCommand::List => {
            let admin = first_admin().await?;
            for key in accounts::list_api_keys(state, &admin)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                let state = match key.revoked_at {
                    Some(_) => "revoked",
                    None => "active",
                };
                println!(
                    "{:<6} {:<14} {:<8} {:<32} {}",
                    key.id, key.prefix, state, key.member_email, key.name
                );
            }
        }
        ApiKeyCommand::Revoke { id } => {
            let admin = first_admin().await?;
            accounts::revoke_api_key(state, &admin, vitrine_core::id::ApiKeyId(*id))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("revoked API key {id}");
        }
    }
    Ok(())
}

async fn dashboards_command(state: &App, command: &DashboardsCommand) -> anyhow::Result<()> {
    let workspace = vitrine_app::admin::workspace(state).await?;
    match command {
        DashboardsCommand::Import { files } => {
            // Read and check everything first, so a bad file saves nothing.
            let mut documents = Vec::new();
            for file in files {
                let yaml = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let slug = file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .with_context(|| format!("{} has no usable file name", file.display()))?
                    .to_owned();
                vitrine_app::content::check_document(state, workspace.id, &yaml)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                documents.push((slug, yaml));
            }
            for (slug, yaml) in documents {
                let existing = vitrine_app::admin::dashboard_id(state, &workspace, &slug).await?;
                let record = vitrine_app::content::save_dashboard(
                    state,
                    &vitrine_app::content::Editor::Cli,
                    workspace.id,
                    existing,
                    Some(&slug),
                    &yaml,
                    None,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{slug}: {e}"))?;
                let verb = if existing.is_some() {
                    "updated"
                } else {
                    "created"
                };
                println!(
                    "{verb} {} (revision {}): {}",
                    record.slug, record.revision, record.title
                );
            }
        }
        DashboardsCommand::Export { out, slug } => {
            std::fs::create_dir_all(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let mut written = 0;
            for dashboard in vitrine_app::admin::dashboards(state, &workspace).await? {
                if slug.as_deref().is_some_and(|s| s != dashboard.slug) {
                    continue;
                }
                let path = out.join(format!("{}.yaml", dashboard.slug));
                std::fs::write(&path, &dashboard.document)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("wrote {}", path.display());
                written += 1;
            }
            if written == 0 {
                anyhow::bail!("no dashboard to export");
            }
        }
    }
    Ok(())
}

/// Parses `--expires`.
pub fn parse_expiry(text: &str) -> anyhow::Result<vitrine_core::share::Expiry> {
    use vitrine_core::share::Expiry;
    let text = text.trim();
    Ok(match text {
        "never" => Expiry::Never,
        "1y" => Expiry::Days { days: 365 },
        _ => match text.strip_suffix('d').and_then(|d| d.parse::<u32>().ok()) {
            Some(days) => Expiry::Days { days },
            None => Expiry::At {
                at: time::OffsetDateTime::parse(
                    text,
                    &time::format_description::well_known::Rfc3339,
                )
                .with_context(|| {
                    format!("--expires {text:?}: use 14d, 90d, 1y, never or an RFC 3339 date-time")
                })?,
            },
        },
    })
}

fn print_link(link: &vitrine_app::links::LinkView) {
    let expiry = link
        .expires_at
        .map_or_else(|| "never".to_owned(), vitrine_app::text::format_time);
    println!(
        "{}  {:<10} {}  (expires {expiry}{})",
        link.id,
        link.state,
        link.label,
        if link.has_password { ", password" } else { "" }
    );
    if !link.url.is_empty() {
        println!("    {}\n    {}", link.url, link.short_url);
    }
    let access = &link.settings.access;
    if let Some(max) = access.max_views {
        println!(
            "    views: {} of {max}",
            link.view_count.min(i64::from(max))
        );
    }
    if !access.allowed_networks.is_empty() {
        let networks: Vec<String> = access
            .allowed_networks
            .iter()
            .map(ToString::to_string)
            .collect();
        println!("    only from: {}", networks.join(", "));
    }
    if access.confirm_email {
        let domains: Vec<String> = access
            .email_domains
            .iter()
            .map(ToString::to_string)
            .collect();
        println!(
            "    viewers confirm their e-mail: {}",
            if domains.is_empty() {
                "any address".to_owned()
            } else {
                domains.join(", ")
            }
        );
    }
    if let Some(problem) = &link.problem {
        println!("    problem: {problem}");
    }
}

async fn link_command(state: &App, args: &LinkArgs) -> anyhow::Result<()> {
    use vitrine_app::links::{self, LinkAction, NewLink};
    let (workspace, member) =
        crate::acting::acting_member(state, args.as_member.as_deref()).await?;
    let err = |e: vitrine_app::Error| anyhow::anyhow!("{e}");
    let dashboard_id = |slug: String| async move {
        vitrine_app::admin::dashboard_id(state, &workspace, &slug)
            .await?
            .with_context(|| format!("no dashboard with the slug {slug}"))
    };
    match &args.command {
        LinkCommand::List { dashboard } => {
            let dashboard = match dashboard {
                Some(slug) => Some(dashboard_id(slug.clone()).await?),
                None => None,
            };
            for link in links::list_links(state, &member, dashboard)
                .await
                .map_err(err)?
            {
                print_link(&link);
            }
        }
        LinkCommand::Create {
            dashboard,
            label,
            widget,
            expires,
            password_env,
            locks,
            allow_downloads,
            access,
        } => {
            let mut locked_filters = std::collections::BTreeMap::new();
            for lock in locks {
                let (filter, value) = lock
                    .split_once('=')
                    .with_context(|| format!("--lock {lock:?}: use FILTER=VALUE"))?;
                let value = serde_yaml_ng::from_str(value)
                    .with_context(|| format!("--lock {lock:?}: the value is not valid"))?;
                locked_filters.insert(filter.trim().to_owned(), value);
            }
            let password = match password_env {
                Some(var) => Some(std::env::var(var).with_context(|| format!("{var} is not set"))?),
                None => None,
            };
            let new = NewLink {
                dashboard_id: dashboard_id(dashboard.clone()).await?,
                widget_id: widget.clone(),
                label: label.clone(),
                expiry: parse_expiry(expires)?,
                password,
                locked_filters,
                open_filters: None,
                display: vitrine_app::links::DisplayOptions {
                    allow_downloads: *allow_downloads,
                    ..Default::default()
                },
                embed: Default::default(),
                access: access.policy()?,
                rules: Vec::new(),
            };
            print_link(&links::create_link(state, &member, new).await.map_err(err)?);
        }
        LinkCommand::Access { id, access } => {
            let changes = links::LinkChanges {
                access: Some(access.policy()?),
                ..Default::default()
            };
            print_link(
                &links::update_link(state, &member, id, changes)
                    .await
                    .map_err(err)?,
            );
        }
        LinkCommand::Show { id } => {
            print_link(&links::show_link(state, &member, id).await.map_err(err)?)
        }
        LinkCommand::Disable { id } => print_link(
            &links::act_on_link(state, &member, id, LinkAction::Disable)
                .await
                .map_err(err)?,
        ),
        LinkCommand::Enable { id } => print_link(
            &links::act_on_link(state, &member, id, LinkAction::Enable)
                .await
                .map_err(err)?,
        ),
        LinkCommand::Rotate { id } => print_link(
            &links::act_on_link(state, &member, id, LinkAction::Rotate)
                .await
                .map_err(err)?,
        ),
        LinkCommand::Delete { id } => {
            links::act_on_link(state, &member, id, LinkAction::Delete)
                .await
                .map_err(err)?;
            println!("deleted {id}; its access history is kept");
        }
    }
    Ok(())
}
