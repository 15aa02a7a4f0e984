-- Connecting, changing and deleting data sources becomes a permission of its own (admins
-- always hold it). Existing members start without it: an editor who could point a data
-- source anywhere before keeps that power only if an admin grants it again.
ALTER TABLE members ADD COLUMN perm_manage_data_sources BOOLEAN NOT NULL DEFAULT FALSE;
