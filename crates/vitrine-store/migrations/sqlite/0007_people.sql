-- People (issue 12): the outbox of outgoing mail.
--
-- One row per message and recipient: a message to three people is three rows, each sent,
-- retried and failed on its own. A row is written before anything is sent (the outbox), then
-- claimed (state 'sending', claimed_until a lease in the future, attempts + 1) by one drainer
-- before it talks to the SMTP server, so two drainers (two instances, or the background task
-- and `vitrine mail test`) never send the same row. A drainer that dies mid-send leaves the
-- row 'sending' until its lease runs out; then it is claimed again (a crash loses nothing).
-- Bodies are rendered at enqueue time, so a retry sends exactly what was queued, under the
-- same Message-ID.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    workspace_id       BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind               TEXT    NOT NULL,
    reference          TEXT    NOT NULL DEFAULT '',
    recipient          TEXT    NOT NULL,
    subject            TEXT    NOT NULL,
    body_text          TEXT    NOT NULL,
    body_html          TEXT    NOT NULL,
    message_id         TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts           BIGINT  NOT NULL DEFAULT 0,
    last_error         TEXT,
    provider_response  TEXT,
    next_attempt_at    BIGINT  NOT NULL,
    claimed_until      BIGINT,
    created_at         BIGINT  NOT NULL,
    sent_at            BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_workspace ON outbox (workspace_id, id);
CREATE INDEX outbox_reference ON outbox (kind, reference);

-- Invitations by e-mail. The row stores no secret: the accept token is an HMAC over the id, the
-- generation and the address (vitrine-core's `invitation` module). A resend bumps the
-- generation (the old token dies) and the expiry; accepting is one conditional UPDATE (still
-- pending, right generation, not expired) in the same transaction as the new member's INSERT,
-- so a token is used once however many requests race. `dashboard_id` / `dashboard_right`
-- (viewer / editor) are for invitations to one dashboard; NULL invites to the workspace.
CREATE TABLE invitations (
    id                  INTEGER PRIMARY KEY,
    workspace_id        BIGINT  NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email               TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    dashboard_id        BIGINT  REFERENCES dashboards (id) ON DELETE CASCADE,
    dashboard_right     TEXT    CHECK (dashboard_right IN ('viewer', 'editor')),
    generation          BIGINT  NOT NULL DEFAULT 0,
    invited_by          BIGINT  REFERENCES members (id) ON DELETE SET NULL,
    invited_by_label    TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    sent_at             BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    accepted_at         BIGINT,
    accepted_member_id  BIGINT  REFERENCES members (id) ON DELETE SET NULL,
    revoked_at          BIGINT
);
CREATE INDEX invitations_workspace ON invitations (workspace_id, id);
CREATE INDEX invitations_email ON invitations (email);

-- Per-dashboard access. A member who joined through an invitation to one dashboard is
-- `dashboards_only`: they see the (published) dashboards granted to them here and nothing
-- else of the workspace; other members see what their role lets them see, plus their grants.
ALTER TABLE members ADD COLUMN dashboards_only BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE dashboard_grants (
    dashboard_id  BIGINT  NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    member_id     BIGINT  NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    access        TEXT    NOT NULL CHECK (access IN ('viewer', 'editor')),
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (dashboard_id, member_id)
);
CREATE INDEX dashboard_grants_member ON dashboard_grants (member_id);
