//! Invitations by e-mail (seed 004's fourth sharing mode).
//!
//! A member who manages members invites one or more addresses with a workspace role. Each
//! address gets an invitation row and a message through the outbox ([`crate::mail`]) with an
//! **accept link** `/invitations/{token}`, whose token (vitrine-core's `invitation` module) is:
//! - **HMAC-tagged, nothing secret stored**: the row holds an id and a generation; the token is
//!   derived from them, the invited address and the server key;
//! - **bound to the address**: accepting signs up *that* address, or — when it already has an
//!   account — requires being signed in as it; another signed-in account is refused;
//! - **single-use**: accepting is one conditional update in the store, in the same transaction
//!   as the new account, so two racing accepts cannot both succeed;
//! - **expiring** (`mail.invitation_days`, default 7) and **revocable**; a **resend** issues a
//!   new token (the generation is bumped) and the old one dies;
//! - **not consumed by a GET**: mail scanners follow links; the page it opens only shows a form,
//!   and only that form's POST accepts.
//!
//! Every step (sent, resent, revoked, accepted) is an audit event.

use serde::Serialize;
use time::OffsetDateTime;
use vitrine_core::id::{MemberId, WorkspaceId};
use vitrine_core::invitation::{self, InvitationToken};
use vitrine_core::member::{DisplayName, NewPassword, Permissions, Role};
use vitrine_store::{Invitation, Member, NewInvitation, NewMember};

use crate::accounts::{Acting, audit};
use crate::mail::{self, Block, Envelope};
use crate::{App, Error};

/// The path of an accept link (the token follows).
pub const ACCEPT_PATH: &str = "/invitations/";

/// An open invitation as pages and the API show it (never its token).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    /// Id.
    pub id: i64,
    /// The invited address.
    pub email: String,
    /// The workspace role the account gets.
    pub role: Role,
    /// Who invited.
    pub invited_by: String,
    /// When it was (last) sent.
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    /// When the accept link stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Whether it has expired (resend to renew).
    pub expired: bool,
}

impl InvitationView {
    fn new(i: &Invitation, now: OffsetDateTime) -> Self {
        Self {
            id: i.id,
            email: i.email.clone(),
            role: i.role,
            invited_by: i.invited_by_label.clone(),
            sent_at: i.sent_at,
            expires_at: i.expires_at,
            expired: i.expires_at <= now,
        }
    }
}

fn accept_url(app: &App, token: &InvitationToken) -> String {
    format!(
        "{}{ACCEPT_PATH}{}",
        app.config.base_url.trim_end_matches('/'),
        token.expose()
    )
}

fn lifetime(app: &App) -> time::Duration {
    time::Duration::days(i64::from(app.config.mail.invitation_days))
}

/// Queues the invitation's message (with the token of its current generation).
async fn send(app: &App, invitation: &Invitation) -> Result<(), Error> {
    let footer = mail::footer(app, invitation.workspace_id).await?;
    let token = invitation::issue_token(
        &app.keys.invitation,
        invitation.id,
        invitation.generation,
        &invitation.email,
    );
    let url = accept_url(app, &token);
    let message = mail::templates::layout(
        &format!(
            "{} invited you to {}",
            invitation.invited_by_label, footer.workspace
        ),
        &format!("You are invited to {}", footer.workspace),
        &[
            Block::Text(format!(
                "{} invited you to join {} on Vitrine as {} {}, to see its dashboards.",
                invitation.invited_by_label,
                footer.workspace,
                if invitation.role == Role::Admin {
                    "an"
                } else {
                    "a"
                },
                invitation.role
            )),
            Block::Button {
                label: "Accept the invitation".to_owned(),
                url,
            },
            Block::Small(format!(
                "The link works once, for {} only, until {}. If you did not expect this \
                 invitation, ignore this message.",
                invitation.email,
                crate::text::format_time(invitation.expires_at)
            )),
        ],
        &footer,
    );
    let to = [invitation.email.clone()];
    mail::enqueue(
        app,
        Envelope {
            workspace: invitation.workspace_id,
            kind: "invitation",
            reference: format!("invitation:{}", invitation.id),
            recipients: &to,
            message: &message,
        },
    )
    .await?;
    Ok(())
}

/// Invites each address in `emails` (separated by commas, spaces or lines) with `role`.
/// Refuses addresses that already have an account or an open invitation.
pub async fn invite(
    app: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    emails: &str,
    role: Role,
) -> Result<Vec<InvitationView>, Error> {
    if !acting.can_manage_members() {
        return Err(Error::Forbidden);
    }
    if !acting.may_grant(role, Permissions::default()) {
        return Err(Error::invalid_field(
            "role",
            "Only admins can invite admins.",
        ));
    }
    let addresses = mail::parse_addresses(emails)?;
    let open = app.store.open_invitations(workspace).await?;
    for address in &addresses {
        if app.store.member_by_email(address).await?.is_some() {
            return Err(Error::Conflict(format!(
                "{address} already has an account."
            )));
        }
        if open
            .iter()
            .any(|i| &i.email == address && i.dashboard.is_none())
        {
            return Err(Error::Conflict(format!(
                "{address} is already invited: resend that invitation instead."
            )));
        }
    }
    let now = app.now();
    let mut out = Vec::with_capacity(addresses.len());
    for email in addresses {
        let invitation = app
            .store
            .create_invitation(
                NewInvitation {
                    workspace_id: workspace,
                    email,
                    role,
                    dashboard: None,
                    invited_by: acting.member_id(),
                    invited_by_label: acting.label(),
                    expires_at: now + lifetime(app),
                },
                now,
            )
            .await?;
        send(app, &invitation).await?;
        audit(
            app,
            workspace,
            acting,
            "invitation.sent",
            format!("invitation:{}", invitation.id),
            serde_json::json!({ "email": invitation.email, "role": invitation.role }),
        )
        .await?;
        out.push(InvitationView::new(&invitation, now));
    }
    Ok(out)
}

/// The workspace's open invitations, newest first.
pub async fn list(
    app: &App,
    acting: &Acting,
    workspace: WorkspaceId,
) -> Result<Vec<InvitationView>, Error> {
    if !acting.can_manage_members() {
        return Err(Error::Forbidden);
    }
    let now = app.now();
    Ok(app
        .store
        .open_invitations(workspace)
        .await?
        .iter()
        .filter(|i| i.dashboard.is_none())
        .map(|i| InvitationView::new(i, now))
        .collect())
}

/// Sends an open invitation again with a new token (the old one dies) and a new expiry.
pub async fn resend(
    app: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    id: i64,
) -> Result<InvitationView, Error> {
    if !acting.can_manage_members() {
        return Err(Error::Forbidden);
    }
    let now = app.now();
    let invitation = app
        .store
        .renew_invitation(workspace, id, now + lifetime(app), now)
        .await?
        .ok_or(Error::NotFound)?;
    send(app, &invitation).await?;
    audit(
        app,
        workspace,
        acting,
        "invitation.resent",
        format!("invitation:{id}"),
        serde_json::json!({ "email": invitation.email }),
    )
    .await?;
    Ok(InvitationView::new(&invitation, now))
}

/// Revokes an open invitation: its link stops working.
pub async fn revoke(
    app: &App,
    acting: &Acting,
    workspace: WorkspaceId,
    id: i64,
) -> Result<(), Error> {
    if !acting.can_manage_members() {
        return Err(Error::Forbidden);
    }
    let invitation = app
        .store
        .invitation(id)
        .await?
        .filter(|i| i.workspace_id == workspace)
        .ok_or(Error::NotFound)?;
    if !app
        .store
        .revoke_invitation(workspace, id, app.now())
        .await?
    {
        return Err(Error::NotFound);
    }
    audit(
        app,
        workspace,
        acting,
        "invitation.revoked",
        format!("invitation:{id}"),
        serde_json::json!({ "email": invitation.email }),
    )
    .await?;
    Ok(())
}

/// What an accept link leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Pending: the address has no account yet — sign up.
    SignUp,
    /// Pending: the address has an account — sign in as it, then accept.
    SignIn,
    /// Already accepted.
    Used,
    /// Revoked by the workspace.
    Revoked,
    /// Past its expiry.
    Expired,
}

/// An accept link, opened.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The invitation.
    pub invitation: Invitation,
    /// The workspace's name.
    pub workspace: String,
    /// What can be done with it.
    pub standing: Standing,
}

/// Reads an accept link without consuming it. A forged or superseded token (an older
/// generation) is [`Error::NotFound`].
pub async fn open(app: &App, token: &str) -> Result<Opened, Error> {
    let claimed = invitation::parse_token(token).ok_or(Error::NotFound)?;
    let invitation = app
        .store
        .invitation(claimed.id)
        .await?
        .ok_or(Error::NotFound)?;
    if !claimed.verify(
        &app.keys.invitation,
        invitation.generation,
        &invitation.email,
    ) {
        return Err(Error::NotFound);
    }
    let standing = if invitation.accepted_at.is_some() {
        Standing::Used
    } else if invitation.revoked_at.is_some() {
        Standing::Revoked
    } else if invitation.expires_at <= app.now() {
        Standing::Expired
    } else if app
        .store
        .member_by_email(&invitation.email)
        .await?
        .is_some()
    {
        Standing::SignIn
    } else {
        Standing::SignUp
    };
    let workspace = app
        .store
        .workspace(invitation.workspace_id)
        .await?
        .map(|w| w.name)
        .unwrap_or_default();
    Ok(Opened {
        invitation,
        workspace,
        standing,
    })
}

/// Why an accept was refused: the link is no longer usable.
fn gone(standing: Standing) -> Error {
    Error::Conflict(
        match standing {
            Standing::Used => "This invitation has already been accepted.",
            Standing::Revoked => "This invitation was withdrawn.",
            Standing::Expired => "This invitation has expired. Ask for a new one.",
            Standing::SignIn => "This address already has an account: sign in as it to accept.",
            Standing::SignUp => "Sign up to accept this invitation.",
        }
        .to_owned(),
    )
}

/// Accepts by signing up: creates the account of the invited address with `name` and
/// `password`, in the same transaction as the token is used. The new member.
pub async fn accept_with_signup(
    app: &App,
    token: &str,
    name: &str,
    password: &str,
) -> Result<Member, Error> {
    let opened = open(app, token).await?;
    if opened.standing != Standing::SignUp {
        return Err(gone(opened.standing));
    }
    let invitation = opened.invitation;
    let name = if name.trim().is_empty() {
        invitation
            .email
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        name.trim().to_owned()
    };
    let name =
        DisplayName::parse(&name).map_err(|e| Error::invalid_field("name", e.to_string()))?;
    let password = NewPassword::parse(password)
        .map_err(|e| Error::invalid_field("password", e.to_string()))?;
    let hash = app.passwords.hash(password.password()).await?;
    let signup = NewMember {
        workspace_id: invitation.workspace_id,
        email: invitation.email.clone(),
        name: name.as_str().to_owned(),
        role: invitation.role,
        flags: Permissions::default().stored_for(invitation.role),
        password_hash: hash,
        must_change_password: false,
    };
    let accepted = app
        .store
        .accept_invitation(
            invitation.id,
            invitation.generation,
            Some(signup),
            None,
            app.now(),
        )
        .await?;
    if !accepted {
        // Raced with another accept, a resend or a revoke.
        return Err(gone(
            open(app, token)
                .await
                .map(|o| o.standing)
                .unwrap_or(Standing::Used),
        ));
    }
    let member = app
        .store
        .member_by_email(&invitation.email)
        .await?
        .ok_or_else(|| Error::internal("the new member is missing"))?;
    audit(
        app,
        invitation.workspace_id,
        &Acting::member(&member),
        "invitation.accepted",
        format!("invitation:{}", invitation.id),
        serde_json::json!({ "email": member.email, "member": member.id, "signed_up": true }),
    )
    .await?;
    Ok(member)
}

/// Accepts as the signed-in `member`, who must be the invited address.
pub async fn accept_as_member(app: &App, token: &str, member: &Member) -> Result<(), Error> {
    let opened = open(app, token).await?;
    let invitation = opened.invitation;
    if member.email != invitation.email || member.workspace_id != invitation.workspace_id {
        return Err(Error::Forbidden);
    }
    if opened.standing != Standing::SignIn {
        return Err(gone(opened.standing));
    }
    let id: MemberId = member.id;
    if !app
        .store
        .accept_invitation(
            invitation.id,
            invitation.generation,
            None,
            Some(id),
            app.now(),
        )
        .await?
    {
        return Err(gone(Standing::Used));
    }
    audit(
        app,
        invitation.workspace_id,
        &Acting::member(member),
        "invitation.accepted",
        format!("invitation:{}", invitation.id),
        serde_json::json!({ "email": member.email, "member": member.id, "signed_up": false }),
    )
    .await?;
    Ok(())
}

// ---- invitations to one dashboard -------------------------------------------------------

/// Invites each address in `emails` to see dashboard `dashboard` (from its share dialog).
/// A new account made by accepting is a viewer that sees only the dashboards granted to it;
/// an existing account gets the grant on top of its role when it accepts (signed in). The
/// right is `viewer` or `editor` (an editor of this dashboard only). Editors with an editor
/// right on the dashboard invite.
pub async fn invite_to_dashboard(
    app: &App,
    member: &Member,
    dashboard: vitrine_core::id::DashboardId,
    emails: &str,
    right: &str,
) -> Result<Vec<InvitationView>, Error> {
    if !member.actor().can_edit_content() {
        return Err(Error::Forbidden);
    }
    let record = crate::content::editable_dashboard(app, member, dashboard).await?;
    if vitrine_core::audience::DashboardRight::parse(right).is_none() {
        return Err(Error::invalid_field(
            "right",
            "People invited to one dashboard are its viewers or its editors.",
        ));
    }
    if record.status != "published" {
        return Err(Error::Conflict(
            "This dashboard is a draft: publish it first, then invite people to it.".into(),
        ));
    }
    let addresses = mail::parse_addresses(emails)?;
    let open = app.store.open_invitations(member.workspace_id).await?;
    for address in &addresses {
        if open
            .iter()
            .any(|i| &i.email == address && i.dashboard.as_ref().map(|d| d.0) == Some(dashboard))
        {
            return Err(Error::Conflict(format!(
                "{address} is already invited to this dashboard: resend that invitation instead."
            )));
        }
    }
    let acting = Acting::member(member);
    let now = app.now();
    let mut out = Vec::with_capacity(addresses.len());
    for email in addresses {
        let invitation = app
            .store
            .create_invitation(
                NewInvitation {
                    workspace_id: member.workspace_id,
                    email,
                    role: Role::Viewer,
                    dashboard: Some((dashboard, right.to_owned())),
                    invited_by: Some(member.id),
                    invited_by_label: acting.label(),
                    expires_at: now + lifetime(app),
                },
                now,
            )
            .await?;
        send(app, &invitation).await?;
        audit(
            app,
            member.workspace_id,
            &acting,
            "invitation.sent",
            format!("invitation:{}", invitation.id),
            serde_json::json!({ "email": invitation.email, "dashboard_id": dashboard, "right": right }),
        )
        .await?;
        out.push(InvitationView::new(&invitation, now));
    }
    Ok(out)
}

/// A dashboard's open invitations, for its editors.
pub async fn list_for_dashboard(
    app: &App,
    member: &Member,
    dashboard: vitrine_core::id::DashboardId,
) -> Result<Vec<InvitationView>, Error> {
    if !member.actor().can_edit_content() {
        return Err(Error::Forbidden);
    }
    crate::content::visible_dashboard(app, member, dashboard).await?;
    let now = app.now();
    Ok(app
        .store
        .open_invitations(member.workspace_id)
        .await?
        .iter()
        .filter(|i| i.dashboard.as_ref().map(|d| d.0) == Some(dashboard))
        .map(|i| InvitationView::new(i, now))
        .collect())
}

/// Resends or revokes (`revoke`) an open invitation to `dashboard`, for its editors.
pub async fn handle_for_dashboard(
    app: &App,
    member: &Member,
    dashboard: vitrine_core::id::DashboardId,
    id: i64,
    revoke_it: bool,
) -> Result<(), Error> {
    let pending = list_for_dashboard(app, member, dashboard).await?;
    if !pending.iter().any(|i| i.id == id) {
        return Err(Error::NotFound);
    }
    let as_member = Acting::member(member);
    let now = app.now();
    if revoke_it {
        if !app
            .store
            .revoke_invitation(member.workspace_id, id, now)
            .await?
        {
            return Err(Error::NotFound);
        }
        audit(
            app,
            member.workspace_id,
            &as_member,
            "invitation.revoked",
            format!("invitation:{id}"),
            serde_json::json!({ "dashboard_id": dashboard }),
        )
        .await?;
    } else {
        let invitation = app
            .store
            .renew_invitation(member.workspace_id, id, now + lifetime(app), now)
            .await?
            .ok_or(Error::NotFound)?;
        send(app, &invitation).await?;
        audit(
            app,
            member.workspace_id,
            &as_member,
            "invitation.resent",
            format!("invitation:{id}"),
            serde_json::json!({ "dashboard_id": dashboard }),
        )
        .await?;
    }
    Ok(())
}
