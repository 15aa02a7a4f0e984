//! Members, roles, permissions and the predicates that decide who may do what.
//!
//! Roles are coarse (`admin`, `editor`, `viewer`); four permissions refine them
//! (`share_public`, `embed`, `manage_members`, `manage_data_sources`). Admins have every
//! permission whatever their flags say. A viewer can hold no permission: sharing and embedding
//! need a dashboard one can edit, and managing members is a power a read-only seat should not
//! have.
//!
//! `manage_data_sources` (connect, change, delete a data source) is admin-level power that an
//! admin may lend to an editor: a data source is opened with the server's own rights (files
//! it can read, hosts it can reach), so choosing where one points is closer to configuring
//! the server than to building a dashboard. Only admins can grant it.

use serde::{Deserialize, Serialize};

use crate::id::{MemberId, WorkspaceId};

/// A member's role in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads dashboards shared with the workspace.
    Viewer,
    /// Builds dashboards, datasets and (with `share_public`) share links.
    Editor,
    /// Everything, including members, keys and workspace policy.
    Admin,
}

impl Role {
    /// All roles, least powerful first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    /// The lower-case name used in the API, the CLI and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of ours.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown role {0:?}: expected admin, editor or viewer")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            _ => Err(UnknownRole(s.to_owned())),
        }
    }
}

/// The permission flags stored on a member. Read them through [`Actor`], which applies the
/// role: an admin has all of them, a viewer none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Permissions {
    /// May create public share links on dashboards they can edit.
    pub share_public: bool,
    /// May allow embedding and create guest tokens.
    pub embed: bool,
    /// May invite, change and remove members (but never grant `admin`, this permission or
    /// `manage_data_sources`).
    pub manage_members: bool,
    /// May connect, change, test a new location for and delete data sources. Stored flags
    /// from before this permission existed lack it, so editors lose the right on upgrade
    /// until an admin grants it.
    pub manage_data_sources: bool,
}

impl Permissions {
    /// Every permission.
    pub const ALL: Permissions = Permissions {
        share_public: true,
        embed: true,
        manage_members: true,
        manage_data_sources: true,
    };

    /// The flags worth storing for a member of `role`: a viewer's are cleared (they could
    /// never take effect, and would surprise on a later promotion); others are kept as given.
    pub fn stored_for(self, role: Role) -> Permissions {
        match role {
            Role::Viewer => Permissions::default(),
            Role::Editor | Role::Admin => self,
        }
    }

    /// The flags that a member of `role` can effectively hold.
    pub fn effective_for(self, role: Role) -> Permissions {
        match role {
            Role::Admin => Permissions::ALL,
            Role::Editor => self,
            Role::Viewer => Permissions::default(),
        }
    }
}

/// Who is acting: the member behind a session or an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The member.
    pub member_id: MemberId,
    /// Their workspace; an actor never reaches another.
    pub workspace_id: WorkspaceId,
    /// Their role.
    pub role: Role,
    /// Their stored flags (see [`Actor::permissions`] for the effective ones).
    pub flags: Permissions,
}

impl Actor {
    /// The permissions in force, after the role is applied.
    pub fn permissions(&self) -> Permissions {
        self.flags.effective_for(self.role)
    }

    /// Admins, and members holding `manage_members`.
    pub fn can_manage_members(&self) -> bool {
        self.permissions().manage_members
    }

    /// Admins only: workspace policy, other people's API keys, the audit trail.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether this actor may give `target_role` and `target_flags` to someone (on an invite or
    /// a change). Only admins can hand out `admin`, `manage_members` or `manage_data_sources`;
    /// nobody else can create someone more powerful than a member manager.
    pub fn may_grant(&self, target_role: Role, target_flags: Permissions) -> bool {
        if !self.can_manage_members() {
            return false;
        }
        if self.is_admin() {
            return true;
        }
        let effective = target_flags.effective_for(target_role);
        target_role != Role::Admin && !effective.manage_members && !effective.manage_data_sources
    }

    /// Editors and admins may build dashboards and data sources.
    pub fn can_edit_content(&self) -> bool {
        self.role >= Role::Editor
    }

    /// May create public share links.
    pub fn can_share_public(&self) -> bool {
        self.can_edit_content() && self.permissions().share_public
    }

    /// May enable embedding on dashboards and mint guest tokens.
    pub fn can_embed(&self) -> bool {
        self.can_edit_content() && self.permissions().embed
    }

    /// Admins, and editors holding `manage_data_sources`: may connect, change and delete data
    /// sources (other editors may list them, test them and build datasets on them).
    pub fn can_manage_data_sources(&self) -> bool {
        self.can_edit_content() && self.permissions().manage_data_sources
    }
}

/// Why a piece of member input was refused. Messages are shown to the person who typed it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MemberInputError {
    /// Not a plausible address.
    #[error("enter a valid e-mail address")]
    Email,
    /// Empty or too long.
    #[error("the name must be 1 to 100 characters")]
    Name,
    /// Too short or too long.
    #[error("the password must be {min} to 256 characters")]
    PasswordLength {
        /// The minimum.
        min: usize,
    },
}

/// A normalised (trimmed, lower-cased) e-mail address used as the login name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` shapes of at most 254 characters, with no spaces or controls.
    pub fn parse(input: &str) -> Result<Self, MemberInputError> {
        let value = input.trim().to_lowercase();
        let valid = value.len() <= 254
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
            && match value.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(value))
        } else {
            Err(MemberInputError::Email)
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    /// Validates a name.
    pub fn parse(input: &str) -> Result<Self, MemberInputError> {
        let value = input.trim();
        let count = value.chars().count();
        if count == 0 || count > 100 || value.chars().any(char::is_control) {
            return Err(MemberInputError::Name);
        }
        Ok(Self(value.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy for a new password: 10 to 256 characters.
/// (Length is what matters; composition rules only make people write `Passw0rd!`.)
#[derive(Clone)]
pub struct NewPassword(crate::secret::Password);

impl NewPassword {
    /// The minimum length.
    pub const MIN_LEN: usize = 10;

    /// Checks the policy.
    pub fn parse(input: &str) -> Result<Self, MemberInputError> {
        let count = input.chars().count();
        if !(Self::MIN_LEN..=256).contains(&count) {
            return Err(MemberInputError::PasswordLength { min: Self::MIN_LEN });
        }
        Ok(Self(crate::secret::Password::new(input)))
    }

    /// A random one-time password for an invitation or a reset (16 URL-safe characters,
    /// 96 bits).
    pub fn generate() -> Self {
        Self(crate::secret::Password::new(crate::secret::random_token::<
            12,
        >()))
    }

    /// The password.
    pub fn password(&self) -> &crate::secret::Password {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, flags: Permissions) -> Actor {
        Actor {
            member_id: MemberId(1),
            workspace_id: WorkspaceId(1),
            role,
            flags,
        }
    }

    #[test]
    fn an_admin_has_every_permission_whatever_the_flags() {
        let admin = actor(Role::Admin, Permissions::default());
        assert_eq!(admin.permissions(), Permissions::ALL);
        assert!(admin.can_manage_members());
        assert!(admin.can_share_public());
    }

    #[test]
    fn a_viewer_has_no_permission_even_if_flagged() {
        let viewer = actor(Role::Viewer, Permissions::ALL);
        assert_eq!(viewer.permissions(), Permissions::default());
        assert!(!viewer.can_manage_members());
        assert!(!viewer.can_share_public());
        assert!(!viewer.can_edit_content());
    }

    #[test]
    fn an_editor_cannot_manage_members_without_the_flag() {
        assert!(!actor(Role::Editor, Permissions::default()).can_manage_members());
        let manager = actor(
            Role::Editor,
            Permissions {
                manage_members: true,
                ..Permissions::default()
            },
        );
        assert!(manager.can_manage_members());
    }

    #[test]
    fn a_member_manager_cannot_create_admins_or_other_managers() {
        let manager = actor(
            Role::Editor,
            Permissions {
                manage_members: true,
                ..Permissions::default()
            },
        );
        assert!(manager.may_grant(Role::Editor, Permissions::default()));
        assert!(!manager.may_grant(Role::Admin, Permissions::default()));
        assert!(!manager.may_grant(Role::Editor, Permissions::ALL));
        assert!(
            manager.may_grant(Role::Viewer, Permissions::ALL),
            "viewers hold no flags"
        );
        assert!(
            actor(Role::Admin, Permissions::default()).may_grant(Role::Admin, Permissions::ALL)
        );
    }

    #[test]
    fn only_admins_and_editors_an_admin_allowed_may_manage_data_sources() {
        assert!(actor(Role::Admin, Permissions::default()).can_manage_data_sources());
        assert!(!actor(Role::Editor, Permissions::default()).can_manage_data_sources());
        let lent = Permissions {
            manage_data_sources: true,
            ..Permissions::default()
        };
        assert!(actor(Role::Editor, lent).can_manage_data_sources());
        assert!(!actor(Role::Viewer, lent).can_manage_data_sources());
        assert!(!actor(Role::Viewer, Permissions::ALL).can_manage_data_sources());
    }

    #[test]
    fn a_member_manager_cannot_lend_data_sources_but_an_admin_can() {
        let manager = actor(
            Role::Editor,
            Permissions {
                manage_members: true,
                ..Permissions::default()
            },
        );
        let lent = Permissions {
            manage_data_sources: true,
            ..Permissions::default()
        };
        assert!(!manager.may_grant(Role::Editor, lent));
        assert!(actor(Role::Admin, Permissions::default()).may_grant(Role::Editor, lent));
    }

    #[test]
    fn flags_stored_before_data_source_permission_existed_lack_it() {
        let old: Permissions =
            serde_json::from_str(r#"{"share_public":true,"embed":true,"manage_members":false}"#)
                .unwrap();
        assert!(old.share_public && !old.manage_data_sources);
    }

    #[test]
    fn emails_are_normalised_and_validated() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "ada@example",
            "a@b@c.d",
            "<a>@x.io",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("long enough!").is_ok());
        assert_eq!(NewPassword::generate().password().expose().len(), 16);
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("owner".parse::<Role>().is_err());
    }
}
