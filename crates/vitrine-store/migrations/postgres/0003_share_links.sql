-- Share links, their access events, and the workspace policy over them.
-- A link row stores no secret: its URL token and short code are derived from the server key,
-- the link id and the generation; only the SHA-256 of the short code is kept, to look it up.
ALTER TABLE workspaces ADD COLUMN public_links_allowed BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE workspaces ADD COLUMN max_link_days BIGINT;
ALTER TABLE workspaces ADD COLUMN link_password_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE workspaces ADD COLUMN suspended_at BIGINT;
ALTER TABLE workspaces ADD COLUMN contact_line TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN footer TEXT NOT NULL DEFAULT 'Shared with Vitrine';

CREATE TABLE share_links (
    id            TEXT    PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    dashboard_id  BIGINT NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    widget_id     TEXT,
    label         TEXT    NOT NULL,
    enabled       BOOLEAN NOT NULL,
    generation    BIGINT NOT NULL,
    epoch         BIGINT NOT NULL,
    short_digest  TEXT    NOT NULL UNIQUE,
    expires_at    BIGINT,
    deleted_at    BIGINT,
    password_hash TEXT,
    settings      TEXT    NOT NULL,
    created_by    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX share_links_workspace ON share_links (workspace_id, dashboard_id);

-- Outsider requests. Kept when a link is deleted (no foreign key to share_links).
CREATE TABLE access_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT,
    link_id       TEXT,
    at            BIGINT NOT NULL,
    outcome       TEXT    NOT NULL,
    country       TEXT,
    client_class  TEXT    NOT NULL,
    client        TEXT    NOT NULL
);
CREATE INDEX access_events_link ON access_events (link_id, at);
CREATE INDEX access_events_client ON access_events (client, at);
