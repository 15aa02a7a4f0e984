//! `vitrine embed …`: a dashboard's embedding from the command line (show, enable, disable,
//! revoke every guest grant, mint a guest token for a quick test). Acts as a member like
//! `vitrine link` (`--as EMAIL`, or the workspace's first admin), so permissions and the
//! audit trail are the same as in the UI and the API.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vitrine_app::App;
use vitrine_app::embedding::{self, EmbeddingInput, EmbeddingView, GuestTokenRequest};

/// `vitrine embed …`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// The member to act as.
    #[arg(long = "as", value_name = "EMAIL", global = true)]
    pub as_member: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: EmbedCommand,
}

/// The embed commands.
#[derive(Debug, Subcommand)]
pub enum EmbedCommand {
    /// Show a dashboard's embedding (embed id, origins, snippets).
    Show {
        /// The dashboard's slug.
        dashboard: String,
    },
    /// Enable embedding on a dashboard, or change its allowed origins (an existing
    /// embedding keeps its UI configuration and host filters).
    Enable {
        /// The dashboard's slug.
        dashboard: String,
        /// An origin allowed to embed it (repeat for several): https://app.example.com.
        #[arg(long = "origin", value_name = "ORIGIN", required = true)]
        origins: Vec<String>,
    },
    /// Turn embedding off: every guest token of it stops working (the embed id is kept).
    Disable {
        /// The dashboard's slug.
        dashboard: String,
    },
    /// Revoke every live guest grant of a dashboard's embedding.
    RevokeAll {
        /// The dashboard's slug.
        dashboard: String,
    },
    /// Mint a guest token (for a quick test with `?guest_token=`).
    Token {
        /// The dashboard's slug.
        dashboard: String,
        /// A row-level rule as a clause: `customer_id = 'A'`.
        #[arg(long)]
        rule: Option<String>,
        /// The host's user name, recorded with every view.
        #[arg(long, default_value = "cli")]
        username: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 300)]
        expires_in: u32,
    },
}

fn print_embedding(e: &EmbeddingView) {
    println!(
        "{}  {}  origins: {}",
        e.id,
        if e.enabled { "enabled" } else { "disabled" },
        e.allowed_origins
            .iter()
            .map(|o| o.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let ui = &e.ui;
    println!(
        "  ui: hide_title={} hide_chart_controls={} filters_visible={} filters_expanded={} theme={}",
        ui.hide_title,
        ui.hide_chart_controls,
        ui.filters_visible,
        ui.filters_expanded,
        serde_json::to_value(ui.theme)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    println!(
        "  host filters: {}",
        if e.host_filters.is_empty() {
            "(none)".to_owned()
        } else {
            e.host_filters.join(" ")
        }
    );
    println!("  url: {}", e.url);
    println!("  iframe: {}", e.iframe_snippet);
}

/// Runs one `vitrine embed` command.
pub async fn embed_command(state: &App, args: &EmbedArgs) -> anyhow::Result<()> {
    let (workspace, member) =
        crate::acting::acting_member(state, args.as_member.as_deref()).await?;
    let err = |e: vitrine_app::Error| anyhow::anyhow!("{e}");
    let dashboard_id = |slug: String| async move {
        vitrine_app::admin::dashboard_id(state, &workspace, &slug)
            .await?
            .with_context(|| format!("no dashboard with the slug {slug}"))
    };
    match &args.command {
        EmbedCommand::Show { dashboard } => {
            let id = dashboard_id(dashboard.clone()).await?;
            match embedding::show_embedding(state, &member, id)
                .await
                .map_err(err)?
            {
                Some(e) => print_embedding(&e),
                None => println!("{dashboard} is not embedded"),
            }
        }
        EmbedCommand::Enable { dashboard, origins } => {
            let id = dashboard_id(dashboard.clone()).await?;
            // Only the origins (and "on") are given: what an existing embedding has saved
            // besides them stays as it is.
            let current = embedding::show_embedding(state, &member, id)
                .await
                .map_err(err)?;
            let input = EmbeddingInput {
                allowed_origins: origins.clone(),
                ui: current.as_ref().map(|c| c.ui.clone()),
                host_filters: current.map(|c| c.host_filters),
                enabled: Some(true),
            };
            let e = embedding::save_embedding(state, &member, id, input)
                .await
                .map_err(err)?;
            print_embedding(&e);
        }
        EmbedCommand::Disable { dashboard } => {
            let id = dashboard_id(dashboard.clone()).await?;
            let current = embedding::show_embedding(state, &member, id)
                .await
                .map_err(err)?
                .with_context(|| format!("{dashboard} is not embedded"))?;
            let input = EmbeddingInput {
                allowed_origins: current.allowed_origins.clone(),
                ui: Some(current.ui.clone()),
                host_filters: Some(current.host_filters.clone()),
                enabled: Some(false),
            };
            let e = embedding::save_embedding(state, &member, id, input)
                .await
                .map_err(err)?;
            print_embedding(&e);
        }
        EmbedCommand::RevokeAll { dashboard } => {
            let id = dashboard_id(dashboard.clone()).await?;
            let n = embedding::revoke_all_grants(state, &member, id)
                .await
                .map_err(err)?;
            println!("revoked {n} guest grant(s)");
        }
        EmbedCommand::Token {
            dashboard,
            rule,
            username,
            expires_in,
        } => {
            let id = dashboard_id(dashboard.clone()).await?;
            let e = embedding::show_embedding(state, &member, id)
                .await
                .map_err(err)?
                .with_context(|| format!("{dashboard} is not embedded"))?;
            let request = GuestTokenRequest {
                resources: vec![embedding::GuestResource {
                    kind: "dashboard".to_owned(),
                    id: e.id.clone(),
                }],
                rls: rule
                    .iter()
                    .map(|c| serde_json::json!({ "clause": c }))
                    .collect(),
                user: serde_json::json!({ "username": username }),
                expires_in: Some(*expires_in),
            };
            let minted = embedding::mint_guest_token(state, &member, None, request)
                .await
                .map_err(err)?;
            println!("{}", minted.token);
            println!("{}?guest_token={}", e.url, minted.token);
        }
    }
    Ok(())
}
