//! Account operations shared by the owner UI, the API and the CLI: log in, invite, change
//! access, reset and change passwords, remove, create and revoke API keys. Each checks
//! permission, does its work, and writes the audit trail.

use serde::Serialize;
use time::Duration;
use vitrine_core::id::{ApiKeyId, MemberId, WorkspaceId};
use vitrine_core::member::{Actor, DisplayName, Email, NewPassword, Permissions, Role};
use vitrine_core::secret::{Password, SecretToken};
use vitrine_store::{
    ApiKey, AuditEvent, LoginAttempt, Member, NewApiKey, NewAuditEvent, NewMember,
};

use crate::auth::API_KEY_PREFIX;
use crate::error::AppError;
use crate::state::AppState;

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

    fn label(&self) -> String {
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

    fn can_manage_members(&self) -> bool {
        match self {
            Acting::Member { actor, .. } => actor.can_manage_members(),
            Acting::Cli => true,
        }
    }

    fn may_grant(&self, role: Role, flags: Permissions) -> bool {
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
#[derive(Debug, Clone, Serialize)]
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
    /// Flags in force after the role is applied.
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
pub(crate) async fn audit(
    state: &AppState,
    workspace: WorkspaceId,
    acting: &Acting,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> Result<(), AppError> {
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

/// Checks throttling, verifies the password, records the attempt. A wrong e-mail address and
/// a wrong password look the same from outside.
pub async fn log_in(
    state: &AppState,
    email: &str,
    password: &Password,
    client: &str,
) -> Result<Member, AppError> {
    let now = state.now();
    let auth = &state.config.auth;
    let window = Duration::minutes(i64::from(auth.failure_window_minutes));
    let account = email.trim().to_lowercase();
    let retry_after = window.whole_seconds().max(1) as u64;
    if state
        .store
        .login_failures_by_client(client, now - window)
        .await?
        >= i64::from(auth.max_failures_per_client)
        || state
            .store
            .login_failures_by_account(&account, now - window)
            .await?
            >= i64::from(auth.max_failures_per_account)
    {
        return Err(AppError::TooManyRequests { retry_after });
    }
    let member = state.store.member_by_email(&account).await?;
    let ok = state
        .passwords
        .verify(password, member.as_ref().map(|m| m.password_hash.as_str()))
        .await?;
    state
        .store
        .record_login_attempt(LoginAttempt {
            at: now,
            account,
            client: client.to_owned(),
            success: ok,
        })
        .await?;
    match member {
        Some(member) if ok => {
            state.store.touch_member_login(member.id, now).await?;
            Ok(member)
        }
        _ => Err(AppError::Unauthorized),
    }
}

/// Creates a member with a one-time password, returned for showing once.
pub async fn invite_member(
    state: &AppState,
    acting: &Acting,
    workspace: WorkspaceId,
    invite: Invite,
) -> Result<(Member, NewPassword), AppError> {
    let password = NewPassword::generate();
    let member = create_member(state, acting, workspace, invite, &password, true).await?;
    Ok((member, password))
}

/// Creates a member with a chosen password (the CLI's `user add`, the demo's admin).
pub async fn create_member(
    state: &AppState,
    acting: &Acting,
    workspace: WorkspaceId,
    invite: Invite,
    password: &NewPassword,
    must_change_password: bool,
) -> Result<Member, AppError> {
    if !acting.can_manage_members() {
        return Err(AppError::Forbidden);
    }
    if !acting.may_grant(invite.role, invite.flags) {
        return Err(AppError::BadRequest(
            "Only admins can create admins or give the manage_members permission.".into(),
        ));
    }
    let email = Email::parse(&invite.email).map_err(|e| AppError::BadRequest(e.to_string()))?;
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
    let name = DisplayName::parse(&name).map_err(|e| AppError::BadRequest(e.to_string()))?;
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

/// Loads a member of `workspace` that `acting` may manage.
async fn managed_member(
    state: &AppState,
    acting: &Acting,
    workspace: WorkspaceId,
    id: MemberId,
) -> Result<Member, AppError> {
    if !acting.can_manage_members() {
        return Err(AppError::Forbidden);
    }
    let member = state
        .store
        .member(id)
        .await?
        .filter(|m| m.workspace_id == workspace)
        .ok_or(AppError::NotFound)?;
    if !acting.may_grant(member.role, member.flags) {
        return Err(AppError::Forbidden);
    }
    Ok(member)
}

/// Changes a member's role and permissions; `None` keeps the current value (the API's
/// partial update).
pub async fn change_member_access(
    state: &AppState,
    acting: &Acting,
    workspace: WorkspaceId,
    id: MemberId,
    role: Option<Role>,
    flags: Option<Permissions>,
) -> Result<Member, AppError> {
    let before = managed_member(state, acting, workspace, id).await?;
    let role = role.unwrap_or(before.role);
    let flags = flags.unwrap_or(before.flags);
    if !acting.may_grant(role, flags) {
        return Err(AppError::BadRequest(
            "Only admins can create admins or give the manage_members permission.".into(),
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
    state: &AppState,
    acting: &Acting,
    workspace: WorkspaceId,
    id: MemberId,
) -> Result<(Member, NewPassword), AppError> {
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
    state: &AppState,
    acting: &Acting,
    workspace: WorkspaceId,
    id: MemberId,
) -> Result<(), AppError> {
    let member = managed_member(state, acting, workspace, id).await?;
    if acting.member_id() == Some(id) {
        return Err(AppError::BadRequest(
            "You cannot remove yourself; ask another admin.".into(),
        ));
    }
    state.store.delete_member(id).await?;
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

/// A member changes their own password; every other session of theirs ends.
/// Returns the new session's `Set-Cookie` value.
pub async fn change_own_password(
    state: &AppState,
    member: &Member,
    current: &Password,
    new: &str,
) -> Result<String, AppError> {
    if !state
        .passwords
        .verify(current, Some(&member.password_hash))
        .await?
    {
        return Err(AppError::BadRequest(
            "The current password is not right.".into(),
        ));
    }
    let new = NewPassword::parse(new).map_err(|e| AppError::BadRequest(e.to_string()))?;
    if new.password().expose() == current.expose() {
        return Err(AppError::BadRequest(
            "Choose a password different from the current one.".into(),
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
    crate::auth::start_session(state, member).await
}

/// An API key as listed (never the secret).
#[derive(Debug, Clone, Serialize)]
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
pub async fn list_api_keys(state: &AppState, member: &Member) -> Result<Vec<ApiKeyView>, AppError> {
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
    state: &AppState,
    member: &Member,
    name: &str,
) -> Result<(ApiKey, SecretToken), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "Give the key a name of 1 to 100 characters.".into(),
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
pub async fn revoke_api_key(
    state: &AppState,
    member: &Member,
    id: ApiKeyId,
) -> Result<(), AppError> {
    let acting = Acting::member(member);
    let key = state
        .store
        .api_keys(member.workspace_id)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or(AppError::NotFound)?;
    if key.member_id != member.id && !acting.is_admin() {
        return Err(AppError::NotFound);
    }
    if !state
        .store
        .revoke_api_key(member.workspace_id, id, state.now())
        .await?
    {
        return Err(AppError::Conflict("This key is already revoked.".into()));
    }
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
