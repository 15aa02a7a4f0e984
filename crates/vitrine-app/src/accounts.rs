//! Account operations shared by the owner UI, the API and the CLI: log in, sessions, invite,
//! change access, reset and change passwords, remove, create, revoke and resolve API keys. Each
//! checks permission, does its work, and writes the audit trail ([`audit`] is the one place an
//! owner action is recorded, for every module).
//!
//! Sessions and API keys are stored as digests only: the secret exists in the member's cookie
//! or configuration and nowhere else. How a session travels (a cookie, its flags, CSRF) is the
//! HTTP front door's business.

use serde::Serialize;
use time::Duration;
use vitrine_core::id::{ApiKeyId, MemberId, WorkspaceId};
use vitrine_core::member::{Actor, DisplayName, Email, NewPassword, Permissions, Role};
use vitrine_core::secret::{Password, SecretToken};
use vitrine_store::{
    ApiKey, AttemptLimit, AuditEvent, Member, NewApiKey, NewAuditEvent, NewMember, NewSession,
};

use crate::App;
use crate::Error;
use crate::attempts::{self, Attempt};
use crate::hub::HubChange;

/// Who performs an operation.
#[derive(Debug, Clone)]
pub enum Acting {
    /// A signed-in member (or their API key).
    Member {
        /// Their powers.
        actor: Actor,
        /// Their e-mail, for the audit trail.
        email: String,
    },
    /// The command line, run by whoever controls the server: may do anything.
    Cli,
}

impl Acting {
    /// A member acting.
    pub fn member(member: &Member) -> Self {
        Acting::Member {
            actor: member.actor(),
            email: member.email.clone(),
        }
    }

    /// Who acts, as the audit trail shows it.
    pub fn label(&self) -> String {
        match self {
            Acting::Member { email, .. } => email.clone(),
            Acting::Cli => "cli".to_owned(),
        }
    }

    /// The member acting, if any.
    pub fn member_id(&self) -> Option<MemberId> {
        match self {
            Acting::Member { actor, .. } => Some(actor.member_id),
            Acting::Cli => None,
        }
    }

    /// Whether they may invite, change and remove members.
    pub fn can_manage_members(&self) -> bool {
        match self {
            Acting::Member { actor, .. } => actor.can_manage_members(),
            Acting::Cli => true,
        }
    }

    /// Whether they may give `role` with `flags`.
    pub fn may_grant(&self, role: Role, flags: Permissions) -> bool {
        match self {
            Acting::Member { actor, .. } => actor.may_grant(role, flags),
            Acting::Cli => true,
        }
    }

    fn is_admin(&self) -> bool {
        match self {
            Acting::Member { actor, .. } => actor.is_admin(),
            Acting::Cli => true,
        }
    }
}

/// An invitation.
#[derive(Debug, Clone)]
pub struct Invite {
    /// The e-mail address (the login name).
    pub email: String,
    /// The display name; empty means the e-mail's local part.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The permission flags.
    pub flags: Permissions,
}

/// A member as the API and pages show it (never the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Member)]
pub struct MemberView {
    /// Id.
    pub id: MemberId,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Stored flags.
    pub flags: Permissions,
    /// Flags in force after the role is applied: admins have all, viewers none.
    pub permissions: Permissions,
    /// Whether the one-time password is still in use.
    pub must_change_password: bool,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// Last login.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<time::OffsetDateTime>,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        MemberView {
            id: m.id,
            email: m.email.clone(),
            name: m.name.clone(),
            role: m.role,
            flags: m.flags,
            permissions: m.actor().permissions(),
            must_change_password: m.must_change_password,
            created_at: m.created_at,
            last_login_at: m.last_login_at,
        }
    }
}

/// Appends an audit event: the one place owner actions are recorded, for every module.
pub async fn audit(
    state: &App,
    workspace: WorkspaceId,
    acting: &Acting,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> Result<(), Error> {
    state
        .store
        .record_audit(NewAuditEvent {
            workspace_id: workspace,
            event: AuditEvent {
                at: state.now(),
                actor_id: acting.member_id(),
                actor: acting.label(),
                action: action.to_owned(),
                target,
                detail: detail.to_string(),
            },
        })
        .await?;
    Ok(())
}

/// Checks the password of `email` from the client at `ip`, throttled per client address
/// (`auth.max_failures_per_client`) and per account (`auth.max_failures_per_account`) over
/// `auth.failure_window_minutes`. The attempt is reserved before the password is hashed
/// ([`crate::attempts`]), so simultaneous attempts cannot pass the limits together. A wrong
/// e-mail address and a wrong password look the same from outside.
pub async fn log_in(
    state: &App,
    email: &str,
    password: &Password,
    ip: Option<std::net::IpAddr>,
) -> Result<Member, Error> {
    let auth = &state.config.auth;
    let window = Duration::minutes(i64::from(auth.failure_window_minutes));
    let account = email.trim().to_lowercase();
    let limits = [
        AttemptLimit {
            scope: format!("login:client:{}", attempts::client_scope(state, ip)),
            max: i64::from(auth.max_failures_per_client),
            window,
            pace: None,
        },
        AttemptLimit {
            scope: format!(
                "login:account:{}",
                attempts::keyed(state, "throttle-account", &account)
            ),
            max: i64::from(auth.max_failures_per_account),
            window,
            pace: None,
        },
    ];
    let checked = attempts::attempt(state, &limits, || async {
        let member = state.store.member_by_email(&account).await?;
        let right = state
            .passwords
            .verify(password, member.as_ref().map(|m| m.password_hash.as_str()))
            .await?;
        Ok(member.filter(|_| right))
    })
    .await?;
    match checked {
        Attempt::Throttled { retry_after } => Err(Error::Throttled { retry_after }),
        Attempt::Right(member) => {
            state
                .store
                .touch_member_login(member.id, state.now())
                .await?;
            Ok(member)
        }
        Attempt::Wrong => Err(Error::Unauthenticated),
    }
}

/// Creates a member with a one-time password, returned for showing once.
pub async fn invite_member(
    state: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    invite: Invite,
) -> Result<(Member, NewPassword), Error> {
    let password = NewPassword::generate();
    let member = create_member(state, acting, workspace, invite, &password, true).await?;
    Ok((member, password))
}

/// Creates a member with a chosen password (the CLI's `user add`, the demo's admin).
pub async fn create_member(
    state: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    invite: Invite,
    password: &NewPassword,
    must_change_password: bool,
) -> Result<Member, Error> {
    if !acting.can_manage_members() {
        return Err(Error::Forbidden);
    }
    if !acting.may_grant(invite.role, invite.flags) {
        return Err(Error::invalid(
            "Only admins can create admins or give the manage_members or manage_data_sources permission.",
        ));
    }
    let email =
        Email::parse(&invite.email).map_err(|e| Error::invalid_field("email", e.to_string()))?;
    let name = if invite.name.trim().is_empty() {
        email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        invite.name
    };
    let name =
        DisplayName::parse(&name).map_err(|e| Error::invalid_field("name", e.to_string()))?;
    let hash = state.passwords.hash(password.password()).await?;
    let member = state
        .store
        .create_member(
            NewMember {
                workspace_id: workspace,
                email: email.as_str().to_owned(),
                name: name.as_str().to_owned(),
                role: invite.role,
                flags: invite.flags.stored_for(invite.role),
                password_hash: hash,
                must_change_password,
            },
            state.now(),
        )
        .await?;
    audit(
        state,
        workspace,
        acting,
        "member.invited",
        format!("member:{}", member.id),
        serde_json::json!({ "email": member.email, "role": member.role }),
    )
    .await?;
    Ok(member)
}

/// The workspace's members, for those who may manage them (admins, members holding
/// `manage_members`, the CLI).
pub async fn list_members(
    state: &App,
    acting: &Acting,
    workspace: WorkspaceId,
) -> Result<Vec<MemberView>, Error> {
    if !acting.can_manage_members() {
        return Err(Error::Forbidden);
    }
    let members = state.store.members(workspace).await?;
    Ok(members.iter().map(MemberView::from).collect())
}

/// Loads a member of `workspace` that `acting` may manage.
async fn managed_member(
    state: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    id: MemberId,
) -> Result<Member, Error> {
    if !acting.can_manage_members() {
        return Err(Error::Forbidden);
    }
    let member = state
        .store
        .member(id)
        .await?
        .filter(|m| m.workspace_id == workspace)
        .ok_or(Error::NotFound)?;
    if !acting.may_grant(member.role, member.flags) {
        return Err(Error::Forbidden);
    }
    Ok(member)
}

/// Changes a member's role and permissions; `None` keeps the current value (the API's
/// partial update).
pub async fn change_member_access(
    state: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    id: MemberId,
    role: Option<Role>,
    flags: Option<Permissions>,
) -> Result<Member, Error> {
    let before = managed_member(state, acting, workspace, id).await?;
    let role = role.unwrap_or(before.role);
    let flags = flags.unwrap_or(before.flags);
    if !acting.may_grant(role, flags) {
        return Err(Error::invalid(
            "Only admins can create admins or give the manage_members or manage_data_sources permission.",
        ));
    }
    let flags = flags.stored_for(role);
    let member = state.store.update_member_access(id, role, flags).await?;
    audit(
        state,
        workspace,
        acting,
        "member.access_changed",
        format!("member:{id}"),
        serde_json::json!({
            "email": member.email,
            "from": { "role": before.role, "flags": before.flags },
            "to": { "role": member.role, "flags": member.flags },
        }),
    )
    .await?;
    Ok(member)
}

/// Gives a member a new one-time password and ends their sessions.
pub async fn reset_member_password(
    state: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    id: MemberId,
) -> Result<(Member, NewPassword), Error> {
    let member = managed_member(state, acting, workspace, id).await?;
    let password = NewPassword::generate();
    let hash = state.passwords.hash(password.password()).await?;
    state.store.set_member_password(id, &hash, true).await?;
    state.store.delete_member_sessions(id).await?;
    audit(
        state,
        workspace,
        acting,
        "member.password_reset",
        format!("member:{id}"),
        serde_json::json!({ "email": member.email }),
    )
    .await?;
    Ok((member, password))
}

/// Removes a member (their sessions and API keys go with them).
pub async fn remove_member(
    state: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    id: MemberId,
) -> Result<(), Error> {
    let member = managed_member(state, acting, workspace, id).await?;
    if acting.member_id() == Some(id) {
        return Err(Error::Conflict(
            "You cannot remove yourself; ask another admin.".into(),
        ));
    }
    state.store.delete_member(id).await?;
    // Their keys' guest grants die: embedded live streams ask again.
    state
        .live
        .publish(&*state.store, HubChange::Workspace(workspace))
        .await;
    audit(
        state,
        workspace,
        acting,
        "member.removed",
        format!("member:{id}"),
        serde_json::json!({ "email": member.email }),
    )
    .await
}

/// A member changes their own password; every other session of theirs ends. Returns the new
/// session, for the member's browser.
pub async fn change_own_password(
    state: &App,
    member: &Member,
    current: &Password,
    new: &str,
) -> Result<NewSessionToken, Error> {
    if !state
        .passwords
        .verify(current, Some(&member.password_hash))
        .await?
    {
        return Err(Error::invalid_field(
            "current_password",
            "The current password is not right.",
        ));
    }
    let new =
        NewPassword::parse(new).map_err(|e| Error::invalid_field("new_password", e.to_string()))?;
    if new.password().expose() == current.expose() {
        return Err(Error::invalid_field(
            "new_password",
            "Choose a password different from the current one.",
        ));
    }
    let hash = state.passwords.hash(new.password()).await?;
    state
        .store
        .set_member_password(member.id, &hash, false)
        .await?;
    state.store.delete_member_sessions(member.id).await?;
    audit(
        state,
        member.workspace_id,
        &Acting::member(member),
        "member.password_changed",
        format!("member:{}", member.id),
        serde_json::json!({}),
    )
    .await?;
    start_session(state, member).await
}

/// API keys start with this, then 8 visible characters (the prefix shown in lists).
pub const API_KEY_PREFIX: &str = "vtk_";

/// A new login session: the secret for the member's cookie, shown once, and how long it lives.
#[derive(Debug)]
pub struct NewSessionToken {
    /// The session's secret (only its digest is stored).
    pub token: SecretToken,
    /// Its lifetime, in seconds.
    pub max_age_seconds: i64,
}

/// Starts a session for `member`.
pub async fn start_session(state: &App, member: &Member) -> Result<NewSessionToken, Error> {
    let token = SecretToken::generate("");
    let now = state.now();
    let ttl = Duration::hours(i64::from(state.config.auth.session_ttl_hours));
    state
        .store
        .create_session(NewSession {
            digest: token.digest(),
            member_id: member.id,
            created_at: now,
            expires_at: now + ttl,
        })
        .await?;
    Ok(NewSessionToken {
        token,
        max_age_seconds: ttl.whole_seconds(),
    })
}

/// Ends the session whose secret is `token`, if it exists.
pub async fn end_session(state: &App, token: &str) -> Result<(), Error> {
    state
        .store
        .delete_session(&SecretToken::from_client(token).digest())
        .await?;
    Ok(())
}

/// The member whose unexpired session has the secret `token`.
pub async fn session_member(state: &App, token: &SecretToken) -> Result<Option<Member>, Error> {
    Ok(state
        .store
        .session(&token.digest(), state.now())
        .await?
        .map(|(_, member)| member))
}

/// The API key `key` (`vtk_…`) and the member it acts as. A key that is unknown, malformed or
/// revoked is [`Error::Unauthenticated`]: never a fall-back to another way in. "Last used" is
/// written at most once a minute per key.
pub async fn api_key_member(state: &App, key: &str) -> Result<(ApiKey, Member), Error> {
    if !key.starts_with(API_KEY_PREFIX) {
        return Err(Error::Unauthenticated);
    }
    let now = state.now();
    let digest = SecretToken::from_client(key).digest();
    let Some((api_key, member)) = state.store.api_key_by_digest(&digest).await? else {
        return Err(Error::Unauthenticated);
    };
    if api_key.revoked_at.is_some() {
        return Err(Error::Unauthenticated);
    }
    if api_key
        .last_used_at
        .is_none_or(|t| now - t > Duration::minutes(1))
    {
        state.store.touch_api_key(api_key.id, now).await?;
    }
    Ok((api_key, member))
}

/// The key under which a client address is counted and stored: a keyed hash, so the store
/// never holds the address itself.
pub fn client_key(state: &App, ip: Option<std::net::IpAddr>) -> String {
    use base64::Engine as _;
    let text = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(&state.keys.client_address.sign(&[text.as_bytes()])[..16])
}

/// An API key as listed (never the secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ApiKey)]
pub struct ApiKeyView {
    /// Id.
    pub id: ApiKeyId,
    /// Name.
    pub name: String,
    /// Visible prefix.
    pub prefix: String,
    /// The member it acts as.
    pub member_id: MemberId,
    /// Their e-mail.
    pub member_email: String,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// Last used.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<time::OffsetDateTime>,
    /// Revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<time::OffsetDateTime>,
}

/// The keys `member` may see: their own, or the whole workspace's for admins.
pub async fn list_api_keys(state: &App, member: &Member) -> Result<Vec<ApiKeyView>, Error> {
    let members = state.store.members(member.workspace_id).await?;
    let email = |id: MemberId| {
        members
            .iter()
            .find(|m| m.id == id)
            .map_or_else(String::new, |m| m.email.clone())
    };
    Ok(state
        .store
        .api_keys(member.workspace_id)
        .await?
        .into_iter()
        .filter(|k| member.actor().is_admin() || k.member_id == member.id)
        .map(|k: ApiKey| ApiKeyView {
            member_email: email(k.member_id),
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            member_id: k.member_id,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        })
        .collect())
}

/// Creates an API key acting as `member`; the secret is returned once and never stored.
pub async fn create_api_key(
    state: &App,
    member: &Member,
    name: &str,
) -> Result<(ApiKey, SecretToken), Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid_field(
            "name",
            "Give the key a name of 1 to 100 characters.",
        ));
    }
    let secret = SecretToken::generate(API_KEY_PREFIX);
    let prefix: String = secret
        .expose()
        .chars()
        .take(API_KEY_PREFIX.len() + 8)
        .collect();
    let key = state
        .store
        .create_api_key(
            NewApiKey {
                workspace_id: member.workspace_id,
                member_id: member.id,
                name: name.to_owned(),
                prefix: prefix.clone(),
                digest: secret.digest(),
            },
            state.now(),
        )
        .await?;
    audit(
        state,
        member.workspace_id,
        &Acting::member(member),
        "api_key.created",
        format!("api_key:{}", key.id),
        serde_json::json!({ "name": key.name, "prefix": prefix }),
    )
    .await?;
    Ok((key, secret))
}

/// Revokes a key: one's own, or any in the workspace for admins.
pub async fn revoke_api_key(state: &App, member: &Member, id: ApiKeyId) -> Result<(), Error> {
    let acting = Acting::member(member);
    let key = state
        .store
        .api_keys(member.workspace_id)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or(Error::NotFound)?;
    if key.member_id != member.id && !acting.is_admin() {
        return Err(Error::NotFound);
    }
    if !state
        .store
        .revoke_api_key(member.workspace_id, id, state.now())
        .await?
    {
        return Err(Error::Conflict("This key is already revoked.".into()));
    }
    // The grants it minted die with it: embedded live streams ask again.
    state
        .live
        .publish(&*state.store, HubChange::Workspace(member.workspace_id))
        .await;
    audit(
        state,
        member.workspace_id,
        &acting,
        "api_key.revoked",
        format!("api_key:{id}"),
        serde_json::json!({ "name": key.name, "prefix": key.prefix }),
    )
    .await
}
