//! Embedding a dashboard in a host application: embeddings, guest grants and their tokens.
//!
//! DESIGN §5b. The owner enables embedding on a dashboard (permission `embed`): an
//! [`EmbeddingRecord`] with a random embed id (a UUID, not the dashboard id), the allowed
//! origins (required: an empty list embeds nowhere), the default UI configuration and the
//! filters the host may set. The host's backend then mints **guest tokens** with an API key
//! ([`mint_guest_token`]): each names a [`GuestGrantRecord`] in the store holding the
//! embedding, the row-level rules, the host's user, the expiry and the key that minted it.
//!
//! - **Validated on every request** ([`open_guest`]): the token's tag, then the grant, its
//!   expiry (the server's clock; the host is told `expires_in`, never a time), its revocation,
//!   the minting key (revoked or removed: the grant dies with it), the embedding (disabled:
//!   every grant stops) and the dashboard (a draft: nothing). Nothing is cached.
//! - **One mechanism for rows.** A grant's rules become [`Restriction::Rule`]s, built by
//!   [`Restrictions::build`] like a link's locks: bound parameters on every query of the page,
//!   the card fragments, the live stream and every export, and a widget over a dataset that
//!   lacks a rule's column is not shown unless marked `same_for_every_audience`.
//! - The opened grant is a [`ShareAccess`] like a share link's, so the embed routes run the
//!   very code the share routes run ([`crate::outsider`]).
//! - Rules come structured (`{dataset?, column, op, value | values}`) or as a Superset-style
//!   `clause`, read by the SQL parser ([`vitrine_data::clause`]); every column is checked
//!   against the dashboard's datasets when the token is minted (an unknown column is a 400
//!   that names it).
//! - Every owner change is an audit event; every embedded view is an access event carrying
//!   the embedding (as its link id), the grant and the host's `user.username`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tokio::sync::{broadcast, watch};
use vitrine_core::dashboard::{Dashboard, RowLevelRule};
use vitrine_core::guest::{self, GrantId, GrantStatus};
use vitrine_core::id::{ApiKeyId, DashboardId, DatasetId};
use vitrine_core::share::Origin;
use vitrine_store::{EmbedAccess, EmbeddingRecord, GuestGrantRecord, LinkRecord, Member};

pub use crate::dashboards::{MAX_RULES, check_rule};
pub use crate::guests::{EmbedSettings, GuestInfo, UiConfig};

use crate::dashboards::{DashboardContext, Restriction, Restrictions};
use crate::hub::{HubChange, LinkState};
use crate::links::{DisplayOptions, EmbedPolicy, LinkSettings};
use crate::live::EXPIRY_TICK;
use crate::outsider::Requester;
use crate::{App, Error};

/// The largest `user` object kept with a grant, in bytes of JSON.
pub const MAX_USER_BYTES: usize = 2048;

fn grant_key(app: &App) -> vitrine_core::keys::SubKey {
    app.keys.server.derive("guest-grant")
}

// ---- settings ------------------------------------------------------------------------------

/// What an owner sends to enable or change an embedding.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingInput {
    /// Origins allowed to frame the dashboard, like `https://app.example.com` (required).
    #[schema(min_items = 1)]
    pub allowed_origins: Vec<String>,
    /// The default UI configuration.
    #[serde(default)]
    pub ui: Option<UiConfig>,
    /// The filters the host may set (default: every filter of the dashboard).
    #[serde(default)]
    pub host_filters: Option<Vec<String>>,
    /// On or off (default on).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An embedding as the owner sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EmbeddingView {
    /// The embed id: what the host passes to the SDK and the token request.
    pub id: String,
    /// The dashboard.
    pub dashboard_id: i64,
    /// On or off.
    pub enabled: bool,
    /// The only origins that may frame the dashboard and talk to it (never empty).
    pub allowed_origins: Vec<String>,
    /// The default UI configuration.
    pub ui: crate::guests::UiConfig,
    /// The filters the host (and its viewer) may set; the others keep their defaults.
    pub host_filters: Vec<String>,
    /// The embedded page's URL (add `?guest_token=` for a plain iframe).
    pub url: String,
    /// A ready-to-paste `<iframe>`.
    pub iframe_snippet: String,
    /// A ready-to-paste SDK snippet.
    pub sdk_snippet: String,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn public_base(app: &App) -> String {
    app.config
        .public_base_url
        .clone()
        .unwrap_or_else(|| app.config.base_url.clone())
        .trim_end_matches('/')
        .to_owned()
}

fn view_of(app: &App, record: &EmbeddingRecord) -> Result<EmbeddingView, Error> {
    let settings = EmbedSettings::of(record)?;
    let base = public_base(app);
    let url = format!("{base}/embed/{}", record.id);
    let iframe_snippet = format!(
        "<iframe src=\"{url}?guest_token=GUEST_TOKEN\" width=\"100%\" height=\"800\" \
         style=\"border:0\" title=\"Dashboard\"></iframe>"
    );
    let sdk_snippet = format!(
        "<script src=\"{base}/static/embed.js\"></script>\n<div id=\"dashboard\"></div>\n<script>\n\
         Vitrine.embedDashboard({{\n  id: \"{id}\",\n  vitrineDomain: \"{base}\",\n  \
         mountPoint: document.getElementById(\"dashboard\"),\n  \
         fetchGuestToken: () => fetch(\"/your-backend/guest-token\").then(r => r.json()),\n}});\n</script>",
        id = record.id
    );
    Ok(EmbeddingView {
        id: record.id.clone(),
        dashboard_id: record.dashboard_id.0,
        enabled: record.enabled,
        allowed_origins: settings
            .allowed_origins
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect(),
        ui: settings.ui,
        host_filters: settings.host_filters,
        url,
        iframe_snippet,
        sdk_snippet,
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}

fn check_settings(doc: &Dashboard, input: EmbeddingInput) -> Result<EmbedSettings, Error> {
    if input.allowed_origins.is_empty() {
        return Err(Error::invalid_field(
            "allowed_origins",
            "List at least one origin that may embed the dashboard, like https://app.example.com: an empty list embeds nowhere.",
        ));
    }
    if input.allowed_origins.len() > 50 {
        return Err(Error::invalid_field(
            "allowed_origins",
            "At most 50 origins.",
        ));
    }
    let mut origins = Vec::new();
    for text in &input.allowed_origins {
        let origin = Origin::parse(text)
            .map_err(|e| Error::invalid_field("allowed_origins", e.to_string()))?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    let host_filters = match input.host_filters {
        Some(ids) => {
            for id in &ids {
                if doc.filter(id).is_none() {
                    return Err(Error::invalid_field(
                        "host_filters",
                        format!("The dashboard has no filter “{id}”."),
                    ));
                }
            }
            ids
        }
        None => doc
            .filters
            .iter()
            .map(|f| f.id.as_str().to_owned())
            .collect(),
    };
    Ok(EmbedSettings {
        allowed_origins: origins,
        ui: input.ui.unwrap_or_default(),
        host_filters,
    })
}

fn may_embed(member: &Member) -> Result<(), Error> {
    if member.actor().can_embed() {
        Ok(())
    } else {
        Err(Error::MissingPermission("embed"))
    }
}

fn may_see(member: &Member) -> Result<(), Error> {
    if member.actor().can_edit_content() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

async fn audit(
    app: &App,
    member: &Member,
    action: &str,
    embedding: &str,
    detail: serde_json::Value,
) -> Result<(), Error> {
    let acting = crate::accounts::Acting::member(member);
    crate::accounts::audit(
        app,
        member.workspace_id,
        &acting,
        action,
        format!("embedding:{embedding}"),
        detail,
    )
    .await
}

async fn dashboard_doc(
    app: &App,
    member: &Member,
    id: DashboardId,
) -> Result<(vitrine_store::DashboardRecord, Dashboard), Error> {
    let record = crate::content::visible_dashboard(app, member, id).await?;
    let doc = Dashboard::from_yaml(&record.document)
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored dashboard: {e}")))?;
    Ok((record, doc))
}

/// A dashboard's embedding, if it has one.
pub async fn show_embedding(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
) -> Result<Option<EmbeddingView>, Error> {
    may_see(member)?;
    dashboard_doc(app, member, dashboard).await?;
    match app
        .store
        .embedding_of_dashboard(member.workspace_id, dashboard)
        .await?
    {
        Some(record) => Ok(Some(view_of(app, &record)?)),
        None => Ok(None),
    }
}

/// Enables embedding on a dashboard, or changes its embedding (the embed id stays).
pub async fn save_embedding(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
    input: EmbeddingInput,
) -> Result<EmbeddingView, Error> {
    may_embed(member)?;
    let (record, doc) = dashboard_doc(app, member, dashboard).await?;
    if record.status != "published" {
        return Err(Error::invalid(
            "This dashboard is a draft: publish it first, then embed it.",
        ));
    }
    let enabled = input.enabled.unwrap_or(true);
    let settings = check_settings(&doc, input)?;
    let json = serde_json::to_string(&settings).map_err(|e| Error::Internal(e.into()))?;
    let now = app.now();
    let existing = app
        .store
        .embedding_of_dashboard(member.workspace_id, dashboard)
        .await?;
    let saved = match existing {
        Some(mut e) => {
            e.enabled = enabled;
            e.settings = json;
            e.updated_at = now;
            app.store.save_embedding(&e).await?;
            changed(app, &e.id).await;
            audit(
                app,
                member,
                "embedding.updated",
                &e.id,
                serde_json::json!({ "dashboard_id": dashboard.0, "enabled": enabled,
                    "allowed_origins": settings.allowed_origins }),
            )
            .await?;
            e
        }
        None => {
            let e = EmbeddingRecord {
                id: guest::new_embed_id(),
                workspace_id: member.workspace_id,
                dashboard_id: dashboard,
                enabled,
                settings: json,
                created_by: Some(member.id),
                created_at: now,
                updated_at: now,
            };
            app.store.create_embedding(&e).await?;
            audit(
                app,
                member,
                "embedding.enabled",
                &e.id,
                serde_json::json!({ "dashboard_id": dashboard.0,
                    "allowed_origins": settings.allowed_origins }),
            )
            .await?;
            e
        }
    };
    view_of(app, &saved)
}

/// Deletes a dashboard's embedding with every grant of it.
pub async fn delete_embedding(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
) -> Result<(), Error> {
    may_embed(member)?;
    let e = app
        .store
        .embedding_of_dashboard(member.workspace_id, dashboard)
        .await?
        .ok_or(Error::NotFound)?;
    app.store
        .delete_embedding(member.workspace_id, &e.id)
        .await?;
    changed(app, &e.id).await;
    audit(
        app,
        member,
        "embedding.deleted",
        &e.id,
        serde_json::json!({ "dashboard_id": dashboard.0 }),
    )
    .await
}

/// Revokes every live guest grant of a dashboard's embedding; how many.
pub async fn revoke_all_grants(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
) -> Result<u64, Error> {
    may_embed(member)?;
    let e = app
        .store
        .embedding_of_dashboard(member.workspace_id, dashboard)
        .await?
        .ok_or(Error::NotFound)?;
    let n = app
        .store
        .revoke_grants(member.workspace_id, &e.id, app.now())
        .await?;
    changed(app, &e.id).await;
    audit(
        app,
        member,
        "guest_grants.revoked_all",
        &e.id,
        serde_json::json!({ "dashboard_id": dashboard.0, "revoked": n }),
    )
    .await?;
    Ok(n)
}

/// Revokes one guest grant.
pub async fn revoke_grant(app: &App, member: &Member, grant_id: &str) -> Result<(), Error> {
    may_embed(member)?;
    if GrantId::parse(grant_id).is_none() {
        return Err(Error::NotFound);
    }
    let grant = app
        .store
        .revoke_grant(member.workspace_id, grant_id, app.now())
        .await?
        .ok_or(Error::NotFound)?;
    changed(app, &grant.embedding_id).await;
    audit(
        app,
        member,
        "guest_grant.revoked",
        &grant.embedding_id,
        serde_json::json!({ "grant_id": grant.id, "username": grant.username }),
    )
    .await
}

// ---- guest tokens ----------------------------------------------------------------------------

/// One resource a guest token opens.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestResource {
    /// Always `dashboard`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The embed id.
    pub id: String,
}

/// A guest-token request (also accepted at the Superset-shaped route).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestTokenRequest {
    /// Exactly one dashboard, by embed id.
    #[schema(min_items = 1, max_items = 1)]
    pub resources: Vec<GuestResource>,
    /// Row-level rules, all of which must hold: `{dataset?, column, op, value | values}` or
    /// `{clause, dataset?}` (`dataset`: a slug or a numeric dataset id).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rls: Vec<serde_json::Value>,
    /// The host's user (`username` is recorded with every view).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub user: serde_json::Value,
    /// Lifetime in seconds (default 300, at most `embed.max_token_seconds`).
    #[serde(default)]
    pub expires_in: Option<u32>,
}

/// A minted guest token.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MintedToken {
    /// The token (47 characters).
    pub token: String,
    /// Seconds it lives from now, by the server's clock: renew before then.
    pub expires_in: u32,
    /// The grant, for `DELETE /api/v1/guest-grants/{id}`.
    pub grant_id: String,
}

fn rls_field(i: usize, message: impl Into<String>) -> Error {
    Error::invalid_field(format!("rls[{i}]"), message)
}

/// The rules of one `rls` entry, checked against the dashboard's datasets.
async fn rules_of_entry(
    app: &App,
    member: &Member,
    ctx: &DashboardContext,
    i: usize,
    entry: &serde_json::Value,
) -> Result<Vec<RowLevelRule>, Error> {
    let serde_json::Value::Object(map) = entry else {
        return Err(rls_field(i, "a rule is an object"));
    };
    let mut map = map.clone();
    let dataset = match map.remove("dataset") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(slug)) => Some(slug),
        Some(serde_json::Value::Number(n)) => {
            let id = n
                .as_i64()
                .ok_or_else(|| rls_field(i, "`dataset` is a slug or a dataset id"))?;
            let record = app
                .store
                .dataset(member.workspace_id, DatasetId(id))
                .await?
                .ok_or_else(|| rls_field(i, format!("there is no dataset {id}")))?;
            Some(record.slug)
        }
        Some(_) => return Err(rls_field(i, "`dataset` is a slug or a dataset id")),
    };
    if let Some(slug) = &dataset
        && !ctx.datasets.contains_key(slug)
    {
        return Err(rls_field(
            i,
            format!("the dashboard reads no dataset “{slug}”"),
        ));
    }
    let mut rules = if let Some(clause) = map.remove("clause") {
        if !map.is_empty() {
            return Err(rls_field(
                i,
                "a clause rule has only `clause` and `dataset`",
            ));
        }
        let serde_json::Value::String(clause) = clause else {
            return Err(rls_field(i, "`clause` is a string"));
        };
        vitrine_data::clause::parse_rule_clause(&clause)
            .map_err(|e| rls_field(i, e.message().to_owned()))?
    } else {
        let rule: RowLevelRule = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| rls_field(i, e.to_string()))?;
        vec![rule]
    };
    for rule in &mut rules {
        rule.dataset = dataset.clone();
        check_rule(ctx, rule).map_err(|m| rls_field(i, m))?;
    }
    Ok(rules)
}

/// Mints a guest token for one embedding: `member` (authenticated by `api_key` when given)
/// must hold the `embed` permission in the embedding's workspace.
pub async fn mint_guest_token(
    app: &App,
    member: &Member,
    api_key: Option<ApiKeyId>,
    request: GuestTokenRequest,
) -> Result<MintedToken, Error> {
    may_embed(member)?;
    let [resource] = request.resources.as_slice() else {
        return Err(Error::invalid_field(
            "resources",
            "Name exactly one resource: [{\"type\": \"dashboard\", \"id\": EMBED_ID}].",
        ));
    };
    if resource.kind != "dashboard" {
        return Err(Error::invalid_field(
            "resources[0].type",
            "The only resource type is `dashboard`.",
        ));
    }
    let unknown = || {
        Error::invalid_field(
            "resources[0].id",
            "No embedding has this id: enable embedding on the dashboard and use its embed id.",
        )
    };
    if !guest::is_embed_id(&resource.id) {
        return Err(unknown());
    }
    let embedding = app
        .store
        .embedding(&resource.id)
        .await?
        .filter(|e| e.workspace_id == member.workspace_id)
        .ok_or_else(unknown)?;
    if !embedding.enabled {
        return Err(Error::invalid_field(
            "resources[0].id",
            "Embedding is turned off for this dashboard.",
        ));
    }
    let max = app.config.embed.max_token_seconds;
    // Unsaid, the default lifetime — or the configured maximum when that is shorter.
    let expires_in = request
        .expires_in
        .unwrap_or((guest::DEFAULT_LIFETIME.whole_seconds() as u32).min(max));
    if expires_in < guest::MIN_LIFETIME.whole_seconds() as u32 || expires_in > max {
        return Err(Error::invalid_field(
            "expires_in",
            format!("A guest token lives between 5 and {max} seconds."),
        ));
    }
    if request.rls.len() > MAX_RULES {
        return Err(Error::invalid_field(
            "rls",
            format!("At most {MAX_RULES} rules."),
        ));
    }
    let user = match &request.user {
        serde_json::Value::Null => serde_json::json!({}),
        serde_json::Value::Object(_) => request.user.clone(),
        _ => return Err(Error::invalid_field("user", "`user` is an object")),
    };
    let user_json = serde_json::to_string(&user).map_err(|e| Error::Internal(e.into()))?;
    if user_json.len() > MAX_USER_BYTES {
        return Err(Error::invalid_field(
            "user",
            format!("`user` is at most {MAX_USER_BYTES} bytes of JSON."),
        ));
    }
    let username = match user.get("username") {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) if s.chars().count() <= 200 => s.clone(),
        Some(_) => {
            return Err(Error::invalid_field(
                "user.username",
                "`user.username` is text of at most 200 characters.",
            ));
        }
    };
    let record = app
        .store
        .dashboard(member.workspace_id, embedding.dashboard_id)
        .await?
        .ok_or_else(unknown)?;
    let ctx = crate::content::dashboard_context(app, &record).await?;
    let mut rules = Vec::new();
    for (i, entry) in request.rls.iter().enumerate() {
        rules.extend(rules_of_entry(app, member, &ctx, i, entry).await?);
    }
    crate::data_permissions::carry_member_rules(app, member, &mut rules).await?;
    let rules_json = serde_json::to_string(&rules).map_err(|e| Error::Internal(e.into()))?;
    let now = app.now();
    let id = GrantId::generate();
    let grant = GuestGrantRecord {
        id: id.to_text(),
        workspace_id: member.workspace_id,
        embedding_id: embedding.id.clone(),
        rules: rules_json,
        user_info: user_json,
        username,
        api_key_id: api_key,
        created_at: now,
        expires_at: now + Duration::seconds(i64::from(expires_in)),
        revoked_at: None,
    };
    app.store.create_grant(&grant).await?;
    let token = guest::issue_token(&grant_key(app), id);
    Ok(MintedToken {
        token: token.expose().to_owned(),
        expires_in,
        grant_id: grant.id,
    })
}

/// A live grant as the owner sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GrantView {
    /// The grant id.
    pub id: String,
    /// The host's `user.username`.
    pub username: String,
    /// Its rules.
    #[schema(value_type = Vec<Object>)]
    pub rules: serde_json::Value,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The live grants of a dashboard's embedding.
pub async fn live_grants(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
) -> Result<Vec<GrantView>, Error> {
    may_see(member)?;
    let Some(e) = app
        .store
        .embedding_of_dashboard(member.workspace_id, dashboard)
        .await?
    else {
        return Ok(Vec::new());
    };
    Ok(app
        .store
        .live_grants(&e.id, app.now(), 200)
        .await?
        .into_iter()
        .map(|l| GrantView {
            id: l.grant.id,
            username: l.grant.username,
            rules: serde_json::from_str(&l.grant.rules).unwrap_or_default(),
            expires_at: l.grant.expires_at,
        })
        .collect())
}

// ---- the outsider's side ---------------------------------------------------------------------

/// How an embed request resolved.
#[derive(Debug)]
pub enum GuestGate {
    /// Unknown embed id, missing, malformed or forged token, or a grant of another embedding.
    NotFound,
    /// A real grant that does not open now, and why (`expired`, `revoked`, `key_revoked`,
    /// `disabled`, `suspended`, `draft`).
    Gone(Box<EmbeddingRecord>, &'static str),
    /// Open.
    Open(Box<crate::outsider::ShareAccess>),
}

/// The embedding of `embed_id` when it exists (for the page's frame-ancestors before any
/// token is known).
pub async fn embedding_settings(
    app: &App,
    embed_id: &str,
) -> Result<Option<(EmbeddingRecord, EmbedSettings)>, Error> {
    if !guest::is_embed_id(embed_id) {
        return Ok(None);
    }
    let Some(e) = app.store.embedding(embed_id).await? else {
        return Ok(None);
    };
    let s = EmbedSettings::of(&e)?;
    Ok(Some((e, s)))
}

/// Resolves a guest token for a request to `/embed/{embed_id}`: on every request, against
/// the store. See the module documentation for the order of checks.
pub async fn open_guest(
    app: &App,
    embed_id: &str,
    token: Option<&str>,
) -> Result<GuestGate, Error> {
    let Some(grant_id) = token.and_then(|t| guest::verify_token(&grant_key(app), t)) else {
        return Ok(GuestGate::NotFound);
    };
    if !guest::is_embed_id(embed_id) {
        return Ok(GuestGate::NotFound);
    }
    let Some(lookup) = app.store.grant(&grant_id.to_text()).await? else {
        return Ok(GuestGate::NotFound);
    };
    if lookup.grant.embedding_id != embed_id {
        return Ok(GuestGate::NotFound);
    }
    let Some(embedding) = app.store.embedding(embed_id).await? else {
        return Ok(GuestGate::NotFound);
    };
    let status = GrantStatus {
        expires_at: lookup.grant.expires_at,
        revoked_at: lookup.grant.revoked_at,
        key_live: lookup.key_live,
        embedding_enabled: embedding.enabled,
    };
    if let Err(reason) = status.accessible(app.now()) {
        return Ok(GuestGate::Gone(Box::new(embedding), reason.as_str()));
    }
    let Some(workspace) = app.store.workspace(embedding.workspace_id).await? else {
        return Ok(GuestGate::NotFound);
    };
    if workspace.suspended_at.is_some() {
        return Ok(GuestGate::Gone(Box::new(embedding), "suspended"));
    }
    let Some(record) = app
        .store
        .dashboard(embedding.workspace_id, embedding.dashboard_id)
        .await?
    else {
        return Ok(GuestGate::Gone(Box::new(embedding), "deleted"));
    };
    if record.status != "published" {
        return Ok(GuestGate::Gone(Box::new(embedding), "draft"));
    }
    let settings = EmbedSettings::of(&embedding)?;
    let rules: Vec<RowLevelRule> = serde_json::from_str(&lookup.grant.rules)
        .map_err(|e| Error::Unavailable(format!("guest grant rules: {e}")))?;
    let ctx = crate::content::dashboard_context(app, &record).await?;
    let sources: Vec<Restriction<'_>> = rules
        .iter()
        .map(|rule| Restriction::Rule {
            rule,
            dataset: rule.dataset.as_deref(),
        })
        .collect();
    let restrictions = Restrictions::build(
        &ctx.document,
        |slug| ctx.dataset_columns(slug),
        &sources,
        app.now().date(),
    )
    .map_err(|e| Error::Unavailable(format!("guest grant restrictions: {e}")))?;
    let link_settings = link_settings_of(&settings, &ctx.document);
    let link = LinkRecord {
        id: embedding.id.clone(),
        workspace_id: embedding.workspace_id,
        dashboard_id: embedding.dashboard_id,
        widget_id: None,
        label: "embedding".to_owned(),
        enabled: true,
        generation: 1,
        epoch: 1,
        short_digest: String::new(),
        expires_at: Some(lookup.grant.expires_at),
        deleted_at: None,
        password_hash: None,
        settings: String::new(),
        created_by: embedding.created_by,
        created_at: embedding.created_at,
        updated_at: embedding.updated_at,
        view_count: 0,
    };
    let info = GuestInfo {
        embedding,
        settings,
        grant: lookup.grant,
    };
    Ok(GuestGate::Open(Box::new(
        crate::outsider::ShareAccess::for_guest(
            link,
            link_settings,
            workspace,
            ctx,
            restrictions,
            info,
        ),
    )))
}

/// An embedding's settings in a share link's words, so the outsider code serves it as is.
fn link_settings_of(settings: &EmbedSettings, doc: &Dashboard) -> LinkSettings {
    let known: BTreeSet<&str> = doc.filters.iter().map(|f| f.id.as_str()).collect();
    LinkSettings {
        locked_filters: Default::default(),
        open_filters: settings
            .host_filters
            .iter()
            .filter(|f| known.contains(f.as_str()))
            .cloned()
            .collect(),
        display: DisplayOptions {
            show_title: !settings.ui.hide_title,
            show_filters: settings.ui.filters_visible,
            allow_downloads: !settings.ui.hide_chart_controls,
            theme: settings.ui.theme,
        },
        embed: EmbedPolicy {
            allowed: true,
            origins: settings.allowed_origins.clone(),
        },
        access: Default::default(),
        rules: Vec::new(),
    }
}

/// Records an embedded request (or its refusal) as an access event with the embedding, the
/// grant and the host's username ([`crate::outsider::record_guest`]).
pub async fn record(
    app: &App,
    who: &Requester,
    embedding: Option<&EmbeddingRecord>,
    grant: Option<&GuestGrantRecord>,
    outcome: &str,
) -> Result<(), Error> {
    crate::outsider::record_guest(app, who, embedding, grant, outcome).await
}

/// The embedded views of a dashboard's embedding, newest first.
pub async fn embed_events(
    app: &App,
    member: &Member,
    dashboard: DashboardId,
    limit: i64,
) -> Result<Vec<EmbedAccess>, Error> {
    may_see(member)?;
    let Some(e) = app
        .store
        .embedding_of_dashboard(member.workspace_id, dashboard)
        .await?
    else {
        return Ok(Vec::new());
    };
    Ok(app.store.embed_access_events(&e.id, limit).await?)
}

/// Tells the embedded live streams of embedding `id`, on every instance, to ask again whether
/// their grant opens.
async fn changed(app: &App, id: &str) {
    app.live
        .publish(&*app.store, HubChange::Embedding(id.to_owned()))
        .await;
}

/// A guard for one embedded live stream: `Open` until the grant stops opening, then
/// `Revoked("session")`. It does no I/O while nothing happens: the grant's expiry is compared
/// with the clock four times a second, and the store is asked again only when a change of this
/// embedding or its workspace is announced (a revoked grant, all grants revoked, the embedding
/// disabled or deleted, an API key revoked — on any instance, through the hub's change feed),
/// and every `live.recheck_seconds` as a safety net (a change made outside the application).
/// So a revocation ends the stream within a second, and 10,000 open embedded viewers cost
/// the store nothing between changes.
pub fn watch_grant(app: &App, info: &GuestInfo) -> watch::Receiver<LinkState> {
    let (tx, rx) = watch::channel(LinkState::Open);
    let mut changes = app.live.subscribe_changes();
    let mut shutdown = app.live.shutdown_signal();
    let recheck = app.live.limits().recheck.max(EXPIRY_TICK);
    let (app, info) = (app.clone(), info.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRY_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_check = tokio::time::Instant::now();
        loop {
            let check = tokio::select! {
                received = changes.recv() => match received {
                    Ok(HubChange::Embedding(id)) => id == info.embedding.id,
                    Ok(HubChange::Workspace(id)) => id == info.embedding.workspace_id,
                    Ok(HubChange::Link(_)) => false,
                    Ok(HubChange::All) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => {
                    if info.grant.expires_at <= app.now() {
                        break;
                    }
                    last_check.elapsed() >= recheck
                }
                () = tx.closed() => return,
                _ = shutdown.changed() => return,
            };
            if check {
                last_check = tokio::time::Instant::now();
                if !still_open(&app, &info).await {
                    break;
                }
            }
        }
        let _ = tx.send(LinkState::Revoked("session"));
    });
    rx
}

/// Whether the grant behind an open embedded request still opens: the grant (expiry,
/// revocation, its key) and the embedding, read from the store.
pub async fn still_open(app: &App, info: &GuestInfo) -> bool {
    let Ok(Some(lookup)) = app.store.grant(&info.grant.id).await else {
        return false;
    };
    let Ok(Some(embedding)) = app.store.embedding(&info.embedding.id).await else {
        return false;
    };
    GrantStatus {
        expires_at: lookup.grant.expires_at,
        revoked_at: lookup.grant.revoked_at,
        key_live: lookup.key_live,
        embedding_enabled: embedding.enabled,
    }
    .accessible(app.now())
    .is_ok()
}
