-- Per-dashboard audience and members' data permissions (issue 12).
--
-- A dashboard is published (the whole workspace sees it), a draft (its editors only), or
-- **restricted**: a row here. A restricted dashboard is seen by admins and by the roles and
-- members granted it (member grants live in `dashboard_grants` since 0007, role grants in
-- `dashboard_role_grants`), each with `viewer` or `editor` rights on that dashboard only.
-- Lifting the restriction deletes the row and keeps the grants (they still add an editor
-- right, or reach a member limited to their granted dashboards).
CREATE TABLE dashboard_restrictions (
    dashboard_id  BIGINT  PRIMARY KEY REFERENCES dashboards (id) ON DELETE CASCADE,
    workspace_id  BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX dashboard_restrictions_workspace ON dashboard_restrictions (workspace_id);

CREATE TABLE dashboard_role_grants (
    dashboard_id  BIGINT  NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    access        TEXT    NOT NULL CHECK (access IN ('viewer', 'editor')),
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (dashboard_id, role)
);

-- Members' data permissions: row-level rules (vitrine-core's `RowLevelRule`, as JSON) attached
-- to one member or to every member of a role, applied to everything that member views.
CREATE TABLE member_data_rules (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    member_id     BIGINT  REFERENCES members (id) ON DELETE CASCADE,
    role          TEXT    CHECK (role IN ('admin', 'editor', 'viewer')),
    rule          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    CHECK ((member_id IS NULL) <> (role IS NULL))
);
CREATE INDEX member_data_rules_workspace ON member_data_rules (workspace_id, id);
