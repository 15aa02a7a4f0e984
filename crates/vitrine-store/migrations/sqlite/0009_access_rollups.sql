-- Access analytics (issue 14): daily rollups of the access log, kept for good, maintained in
-- the same transaction as each event write, so that reading analytics never scans the raw log
-- (which is pruned after `access.retention_days`). Days are UTC days since 1970-01-01
-- (`at / 86400000`).
--
-- `access_daily`: one counter per (link, day, kind, name):
--   kind 'outcome' -> name = the event's outcome (ok = page view, export_* = downloads, unlocked =
--                     a right password, the rest are refusals), counted for every event;
--   kind 'country' -> name = ISO country code ('' when unknown), counted for page views;
--   kind 'client'  -> name = client class, counted for page views;
--   kind 'uniques' -> name = '', distinct visitors among the day's page views.
CREATE TABLE access_daily (
    link_id       TEXT    NOT NULL,
    day           INTEGER NOT NULL,
    workspace_id  INTEGER,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (link_id, day, kind, name)
);
CREATE INDEX access_daily_workspace ON access_daily (workspace_id, day);

-- Per link, for good: totals and the moments that matter ("last viewed" and "last refused
-- attempt" are two facts).
CREATE TABLE access_totals (
    link_id               TEXT    PRIMARY KEY,
    workspace_id          INTEGER,
    views                 INTEGER NOT NULL DEFAULT 0,
    downloads             INTEGER NOT NULL DEFAULT 0,
    refusals              INTEGER NOT NULL DEFAULT 0,
    first_view_at         INTEGER,
    last_view_at          INTEGER,
    last_refused_at       INTEGER,
    last_refused_outcome  TEXT,
    last_download_at      INTEGER
);
CREATE INDEX access_totals_workspace ON access_totals (workspace_id, views);

-- Unique visitors without keeping anyone's address: each UTC day has a random key, and a
-- visitor is HMAC(day key, client hash || client class), truncated. Only the current day's key
-- and hash set are kept: both are discarded when the next day's key is made, so yesterday's
-- hashes can no longer be recomputed nor linked to today's. A discarded day keeps its row with
-- an empty key (a tombstone), so a late event for that day cannot make a new key for it.
CREATE TABLE visitor_day_keys (
    day  INTEGER PRIMARY KEY,
    key  TEXT    NOT NULL
);
CREATE TABLE visitor_day_hashes (
    link_id  TEXT    NOT NULL,
    day      INTEGER NOT NULL,
    visitor  TEXT    NOT NULL,
    PRIMARY KEY (link_id, day, visitor)
);

-- Backfill from the raw events still kept (uniques counted once, without storing any hash).
INSERT INTO access_daily (link_id, day, workspace_id, kind, name, count)
SELECT link_id, at / 86400000, MAX(workspace_id), 'outcome', outcome, COUNT(*)
FROM access_events WHERE link_id IS NOT NULL GROUP BY link_id, at / 86400000, outcome;
INSERT INTO access_daily (link_id, day, workspace_id, kind, name, count)
SELECT link_id, at / 86400000, MAX(workspace_id), 'country', COALESCE(country, ''), COUNT(*)
FROM access_events WHERE link_id IS NOT NULL AND outcome = 'ok'
GROUP BY link_id, at / 86400000, COALESCE(country, '');
INSERT INTO access_daily (link_id, day, workspace_id, kind, name, count)
SELECT link_id, at / 86400000, MAX(workspace_id), 'client', client_class, COUNT(*)
FROM access_events WHERE link_id IS NOT NULL AND outcome = 'ok'
GROUP BY link_id, at / 86400000, client_class;
INSERT INTO access_daily (link_id, day, workspace_id, kind, name, count)
SELECT link_id, at / 86400000, MAX(workspace_id), 'uniques', '', COUNT(DISTINCT client || '/' || client_class)
FROM access_events WHERE link_id IS NOT NULL AND outcome = 'ok'
GROUP BY link_id, at / 86400000;
INSERT INTO access_totals (link_id, workspace_id, views, downloads, refusals, first_view_at,
    last_view_at, last_refused_at, last_download_at)
SELECT link_id, MAX(workspace_id),
    SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END),
    SUM(CASE WHEN outcome LIKE 'export%' THEN 1 ELSE 0 END),
    SUM(CASE WHEN outcome NOT IN ('ok', 'unlocked') AND outcome NOT LIKE 'export%' THEN 1 ELSE 0 END),
    MIN(CASE WHEN outcome = 'ok' THEN at END),
    MAX(CASE WHEN outcome = 'ok' THEN at END),
    MAX(CASE WHEN outcome NOT IN ('ok', 'unlocked') AND outcome NOT LIKE 'export%' THEN at END),
    MAX(CASE WHEN outcome LIKE 'export%' THEN at END)
FROM access_events WHERE link_id IS NOT NULL GROUP BY link_id;
UPDATE access_totals SET last_refused_outcome = (
    SELECT e.outcome FROM access_events e
    WHERE e.link_id = access_totals.link_id AND e.at = access_totals.last_refused_at
      AND e.outcome NOT IN ('ok', 'unlocked') AND e.outcome NOT LIKE 'export%'
    ORDER BY e.id DESC LIMIT 1)
WHERE last_refused_at IS NOT NULL;

-- The audit trail: keyset paging newest first, by each filter.
CREATE INDEX audit_events_page ON audit_events (workspace_id, at DESC, id DESC);
CREATE INDEX audit_events_actor ON audit_events (workspace_id, actor, at);
CREATE INDEX audit_events_action ON audit_events (workspace_id, action, at);
CREATE INDEX audit_events_target ON audit_events (workspace_id, target, at);
-- The access log's keyset paging per link (newest first) and per workspace.
CREATE INDEX access_events_link_page ON access_events (link_id, at DESC, id DESC);
CREATE INDEX access_events_workspace ON access_events (workspace_id, at);
