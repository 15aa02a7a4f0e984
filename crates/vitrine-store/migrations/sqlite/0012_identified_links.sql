-- Identified outsider links (issue 12): a share link may ask its viewers to confirm their
-- e-mail address with a one-time code before they view.
--
-- `view_codes`: one row per code sent. Nothing secret is kept: `code_hash` is a keyed hash
-- (HMAC under a sub-key of the server key) of the link id, the address and the code, and
-- `address_key` a keyed hash of the address, so a leaked database holds no usable code and no
-- address. A code is used at most once (`used_at`, set by one conditional UPDATE), dies at
-- `expires_at`, and a newer code for the same address on the same link supersedes it.
CREATE TABLE view_codes (
    id           INTEGER PRIMARY KEY,
    link_id      TEXT    NOT NULL REFERENCES share_links (id) ON DELETE CASCADE,
    address_key  TEXT    NOT NULL,
    code_hash    TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX view_codes_address ON view_codes (link_id, address_key);
CREATE INDEX view_codes_expiry ON view_codes (expires_at);

-- The confirmed address of an identified viewer, on each of their access events (the owner's
-- "who viewed"); NULL for every other event. Pruned with the log after `access.retention_days`.
ALTER TABLE access_events ADD COLUMN viewer TEXT;
CREATE INDEX access_events_viewer ON access_events (link_id, viewer);
