-- Data sources, datasets and dashboards. Timestamps are UTC milliseconds since the epoch.
-- A data source's connection settings (credentials included) are stored sealed: encrypted
-- with a key derived from the server key; `display` is a redacted description for the UI.
CREATE TABLE data_sources (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('sqlite', 'postgres', 'mysql')),
    display       TEXT    NOT NULL,
    sealed_config TEXT    NOT NULL,
    revision      INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE datasets (
    id             INTEGER PRIMARY KEY,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    data_source_id INTEGER NOT NULL REFERENCES data_sources (id),
    slug           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    sql            TEXT    NOT NULL,
    columns        TEXT    NOT NULL,
    revision       INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (workspace_id, slug)
);

CREATE TABLE dashboards (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    slug          TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('draft', 'published')),
    document      TEXT    NOT NULL,
    revision      INTEGER NOT NULL DEFAULT 1,
    created_by    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, slug)
);
