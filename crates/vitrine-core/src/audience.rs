//! Who may see and who may edit one dashboard: the one predicate behind every member-facing
//! route (pages, fragments, API, exports, live streams), so they cannot disagree.
//!
//! A dashboard is in one of three states:
//! - **published**: every member of the workspace sees it (editors and admins edit it);
//! - **draft**: only those who may edit it see it;
//! - **restricted**: only admins and the roles and members granted it see it, each with
//!   `viewer` or `editor` rights on that dashboard alone (a restricted draft is seen by its
//!   grantees with `editor` rights only).
//!
//! A grant adds to a member's reach on an open dashboard too: an `editor` grant lets a viewer
//! edit that one dashboard (and no other). A member who joined through an invitation to one
//! dashboard (`dashboards_only`) sees only what is granted to them personally.

use serde::{Deserialize, Serialize};

use crate::member::Role;

/// A right on one dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DashboardRight {
    /// Sees it, exports it.
    Viewer,
    /// Also changes it (its document, settings, publication and who it is given to).
    Editor,
}

impl DashboardRight {
    /// `viewer` or `editor`, as stored and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DashboardRight::Viewer => "viewer",
            DashboardRight::Editor => "editor",
        }
    }

    /// Parses `viewer` / `editor`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(DashboardRight::Viewer),
            "editor" => Some(DashboardRight::Editor),
            _ => None,
        }
    }
}

/// What is known about one member and one dashboard of their workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// The member's workspace role.
    pub role: Role,
    /// The member joined through a dashboard invitation and sees only their own grants.
    pub dashboards_only: bool,
    /// The dashboard is published (not a draft).
    pub published: bool,
    /// The dashboard is restricted to chosen roles and members.
    pub restricted: bool,
    /// The member's own grant on it.
    pub member_grant: Option<DashboardRight>,
    /// Their role's grant on it.
    pub role_grant: Option<DashboardRight>,
}

impl Reach {
    /// The member's right on the dashboard, `None` when they may not see it (then it does not
    /// exist for them: 404, never 403).
    pub fn right(&self) -> Option<DashboardRight> {
        use DashboardRight::{Editor, Viewer};
        let granted = if self.dashboards_only {
            self.member_grant
        } else {
            self.member_grant.max(self.role_grant)
        };
        // A draft is for those who may edit it.
        let granted = granted.filter(|g| self.published || *g == Editor);
        if self.dashboards_only {
            return granted;
        }
        let by_role = match self.role {
            Role::Admin => Some(Editor),
            _ if self.restricted => None,
            Role::Editor => Some(Editor),
            Role::Viewer if self.published => Some(Viewer),
            Role::Viewer => None,
        };
        by_role.max(granted)
    }
}

#[cfg(test)]
mod tests {
    use super::DashboardRight::{Editor, Viewer};
    use super::*;

    fn reach(role: Role, published: bool, restricted: bool) -> Reach {
        Reach {
            role,
            dashboards_only: false,
            published,
            restricted,
            member_grant: None,
            role_grant: None,
        }
    }

    #[test]
    fn a_published_dashboard_is_seen_by_every_role_and_edited_by_editors() {
        assert_eq!(reach(Role::Viewer, true, false).right(), Some(Viewer));
        assert_eq!(reach(Role::Editor, true, false).right(), Some(Editor));
        assert_eq!(reach(Role::Admin, true, false).right(), Some(Editor));
    }

    #[test]
    fn a_draft_is_hidden_from_viewers() {
        assert_eq!(reach(Role::Viewer, false, false).right(), None);
        assert_eq!(reach(Role::Editor, false, false).right(), Some(Editor));
        assert_eq!(reach(Role::Admin, false, false).right(), Some(Editor));
    }

    #[test]
    fn a_restricted_dashboard_is_seen_only_by_admins_and_grantees() {
        assert_eq!(reach(Role::Viewer, true, true).right(), None);
        assert_eq!(reach(Role::Editor, true, true).right(), None);
        assert_eq!(reach(Role::Admin, true, true).right(), Some(Editor));
        let by_role = Reach {
            role_grant: Some(Viewer),
            ..reach(Role::Editor, true, true)
        };
        assert_eq!(by_role.right(), Some(Viewer));
        let by_member = Reach {
            member_grant: Some(Editor),
            ..reach(Role::Viewer, true, true)
        };
        assert_eq!(by_member.right(), Some(Editor));
    }

    #[test]
    fn a_restricted_draft_is_seen_only_by_grantees_who_may_edit_it() {
        let viewer = Reach {
            member_grant: Some(Viewer),
            ..reach(Role::Viewer, false, true)
        };
        assert_eq!(viewer.right(), None);
        let editor = Reach {
            member_grant: Some(Editor),
            ..viewer
        };
        assert_eq!(editor.right(), Some(Editor));
    }

    #[test]
    fn an_editor_grant_lets_a_viewer_edit_that_dashboard() {
        let r = Reach {
            member_grant: Some(Editor),
            ..reach(Role::Viewer, true, false)
        };
        assert_eq!(r.right(), Some(Editor));
    }

    #[test]
    fn a_member_limited_to_their_dashboards_ignores_role_and_role_grants() {
        let r = Reach {
            dashboards_only: true,
            role_grant: Some(Editor),
            ..reach(Role::Viewer, true, false)
        };
        assert_eq!(r.right(), None);
        let granted = Reach {
            member_grant: Some(Viewer),
            ..r
        };
        assert_eq!(granted.right(), Some(Viewer));
        let draft = Reach {
            published: false,
            ..granted
        };
        assert_eq!(draft.right(), None);
    }

    #[test]
    fn rights_parse_from_their_names_only() {
        assert_eq!(DashboardRight::parse("editor"), Some(Editor));
        assert_eq!(DashboardRight::parse("viewer"), Some(Viewer));
        assert_eq!(DashboardRight::parse("Editor"), None);
        assert_eq!(DashboardRight::parse("admin"), None);
    }
}
