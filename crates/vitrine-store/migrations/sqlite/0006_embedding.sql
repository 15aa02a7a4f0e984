-- Embedding (issue 11): a dashboard's embedding for host applications, and the guest grants
-- their backends mint. Neither row holds a secret: a guest token is an HMAC over the grant id.
CREATE TABLE embeddings (
    id            TEXT    PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    dashboard_id  INTEGER NOT NULL UNIQUE REFERENCES dashboards (id) ON DELETE CASCADE,
    enabled       BOOLEAN NOT NULL,
    settings      TEXT    NOT NULL,
    created_by    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX embeddings_workspace ON embeddings (workspace_id);

CREATE TABLE guest_grants (
    id            TEXT    PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    embedding_id  TEXT    NOT NULL REFERENCES embeddings (id) ON DELETE CASCADE,
    rules         TEXT    NOT NULL,
    user_info     TEXT    NOT NULL,
    username      TEXT    NOT NULL,
    api_key_id    INTEGER,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX guest_grants_embedding ON guest_grants (embedding_id, expires_at);

-- Embedded views are access events too: the link column names the embedding, these the grant
-- and the host's user as it was given.
ALTER TABLE access_events ADD COLUMN grant_id TEXT;
ALTER TABLE access_events ADD COLUMN username TEXT;
