-- Attempts at a password (member logins, share-link unlocks), reserved before the password is
-- hashed so that concurrent attempts cannot all pass a throttle (issue 10, finding 1).
--
-- One reservation writes one row per counter ("scope") it is counted under: the first row is
-- the reservation's head (reservation IS NULL), the others point at it. An attempt is
-- `pending` while its password is being checked, then `failed` or `succeeded`; pending and
-- failed attempts count against a throttle. `scope` holds keyed hashes, never an address or an
-- e-mail address.
--
-- `attempts` replaces `login_attempts` (counted after hashing, so not atomic), which is dropped.
CREATE TABLE attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reservation  BIGINT,
    scope        TEXT    NOT NULL,
    at           BIGINT  NOT NULL,
    outcome      TEXT    NOT NULL CHECK (outcome IN ('pending', 'failed', 'succeeded'))
);
CREATE INDEX attempts_scope ON attempts (scope, at);
CREATE INDEX attempts_reservation ON attempts (reservation);
CREATE INDEX attempts_at ON attempts (at);

DROP TABLE login_attempts;

-- The access log is pruned by age (`access.retention_days`).
CREATE INDEX access_events_at ON access_events (at);
