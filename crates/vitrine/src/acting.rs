//! Who an admin command acts as: shared by the `link` and `embed` commands.

use anyhow::Context as _;
use vitrine_app::App;
use vitrine_core::member::Role;

/// The workspace and the member a command acts as: `--as EMAIL`, or the workspace's first
/// admin.
pub async fn acting_member(
    state: &App,
    as_member: Option<&str>,
) -> anyhow::Result<(vitrine_store::Workspace, vitrine_store::Member)> {
    let workspace = state
        .store
        .default_workspace()
        .await?
        .context("the store has no workspace")?;
    let member = match as_member {
        Some(email) => state
            .store
            .member_by_email(&email.trim().to_lowercase())
            .await?
            .with_context(|| format!("no member with the e-mail address {email}"))?,
        None => state
            .store
            .members(workspace.id)
            .await?
            .into_iter()
            .filter(|m| m.role == Role::Admin)
            .min_by_key(|m| m.id)
            .context("the workspace has no admin; add one with `vitrine user add`")?,
    };
    Ok((workspace, member))
}
