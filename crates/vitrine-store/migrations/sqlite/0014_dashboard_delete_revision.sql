-- Issue 16: deleting a dashboard moves its workspace's content revision too. The outsider gate
-- reads a dashboard's id, status and revision with the link, not its document, and reuses a
-- context built from the same id and revision under the same content revision. SQLite gives
-- the highest row id again after that row was deleted, so a dashboard created after a delete
-- can have the deleted one's id and revision; this delete is what tells the two apart.
CREATE TRIGGER dashboards_move_content_revision_on_delete AFTER DELETE ON dashboards BEGIN
    UPDATE workspaces SET content_revision = content_revision + 1 WHERE id = OLD.workspace_id;
END;
