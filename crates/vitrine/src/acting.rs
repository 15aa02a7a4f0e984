//! Who an admin command acts as: shared by the `link` and `embed` commands.

use vitrine_app::App;

/// The workspace and the member a command acts as: `--as EMAIL`, or the workspace's first
/// admin.
pub async fn acting_member(
    state: &App,
    as_member: Option<&str>,
) -> anyhow::Result<(vitrine_store::Workspace, vitrine_store::Member)> {
    Ok(vitrine_app::admin::acting_member(state, as_member).await?)
}
