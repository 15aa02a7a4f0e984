-- Share links, their access events, and the workspace policy over them.
-- A link row stores no secret: its URL token and short code are derived from the server key,
-- the link id and the generation; only the SHA-256 of the short code is kept, to look it up.
ALTER TABLE workspaces ADD COLUMN public_links_allowed BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE workspaces ADD COLUMN max_link_days INTEGER;
ALTER TABLE workspaces ADD COLUMN link_password_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE workspaces ADD COLUMN suspended_at INTEGER;
ALTER TABLE workspaces ADD COLUMN contact_line TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN footer TEXT NOT NULL DEFAULT 'Shared with Vitrine';

CREATE TABLE share_links (
    id            TEXT    PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    dashboard_id  INTEGER NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    widget_id     TEXT,
    label         TEXT    NOT NULL,
    enabled       BOOLEAN NOT NULL,
    generation    INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    short_digest  TEXT    NOT NULL UNIQUE,
    expires_at    INTEGER,
    deleted_at    INTEGER,
    password_hash TEXT,
    settings      TEXT    NOT NULL,
    created_by    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX share_links_workspace ON share_links (workspace_id, dashboard_id);

-- Outsider requests. Kept when a link is deleted (no foreign key to share_links).
CREATE TABLE access_events (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER,
    link_id       TEXT,
    at            INTEGER NOT NULL,
    outcome       TEXT    NOT NULL,
    country       TEXT,
    client_class  TEXT    NOT NULL,
    client        TEXT    NOT NULL
);
CREATE INDEX access_events_link ON access_events (link_id, at);
CREATE INDEX access_events_client ON access_events (client, at);
