-- Scheduled reports (issue 13): schedules, runs (one per schedule and slot), deliveries (one
-- per run and recipient) and the files a run rendered once for all its deliveries.
--
-- Claiming a slot is a unique insert into report_runs (schedule_id, slot): any number of
-- scheduler instances on one database create one run per slot. next_slot is only a hint of
-- when to look again; the unique key is what makes a slot send once.
CREATE TABLE report_schedules (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    dashboard_id     BIGINT  NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    widget_id        TEXT,
    name             TEXT    NOT NULL,
    frequency        TEXT    NOT NULL,
    zone             TEXT    NOT NULL,
    recipients       TEXT    NOT NULL,
    contents         TEXT    NOT NULL,
    filters          TEXT    NOT NULL DEFAULT '{}',
    skip_when_empty  BOOLEAN NOT NULL DEFAULT FALSE,
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    paused_reason    TEXT,
    created_by       BIGINT  REFERENCES members (id) ON DELETE SET NULL,
    next_slot        BIGINT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX report_schedules_due ON report_schedules (enabled, next_slot);
CREATE INDEX report_schedules_dashboard ON report_schedules (workspace_id, dashboard_id);

CREATE TABLE report_runs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id    BIGINT  NOT NULL REFERENCES report_schedules (id) ON DELETE CASCADE,
    workspace_id   BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    slot           BIGINT  NOT NULL,
    origin         TEXT    NOT NULL CHECK (origin IN ('schedule', 'now', 'test')),
    state          TEXT    NOT NULL CHECK (state IN ('running', 'delivering', 'done', 'skipped', 'failed')),
    late           BOOLEAN NOT NULL DEFAULT FALSE,
    started_at     BIGINT  NOT NULL,
    claimed_until  BIGINT  NOT NULL,
    finished_at    BIGINT,
    error          TEXT,
    UNIQUE (schedule_id, slot)
);
CREATE INDEX report_runs_state ON report_runs (state, claimed_until);

CREATE TABLE report_artifacts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id     BIGINT  NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    mime       TEXT    NOT NULL,
    content    BYTEA   NOT NULL
);
CREATE INDEX report_artifacts_run ON report_artifacts (run_id);

CREATE TABLE report_deliveries (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id             BIGINT  NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    workspace_id       BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind               TEXT    NOT NULL CHECK (kind IN ('email', 'slack', 'webhook')),
    target             TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts           BIGINT  NOT NULL DEFAULT 0,
    last_error         TEXT,
    provider_response  TEXT,
    next_attempt_at    BIGINT  NOT NULL,
    claimed_until      BIGINT,
    created_at         BIGINT  NOT NULL,
    sent_at            BIGINT,
    UNIQUE (run_id, kind, target)
);
CREATE INDEX report_deliveries_due ON report_deliveries (state, next_attempt_at);

-- The workspace policy for report recipients: e-mail domains allowed (comma-separated,
-- lower case); empty allows any address.
ALTER TABLE workspaces ADD COLUMN report_email_domains TEXT NOT NULL DEFAULT '';
