-- A workspace's content revision (issue 16): a number that moves, in the same transaction,
-- with every insert, update or delete of one of its datasets or data sources. The outsider
-- gate reads it with the link (one round trip), so a dashboard context built from the
-- datasets and data sources it saw is reused only while nothing of them can have changed,
-- without reading them again on every view. Triggers, not application code, move it: no
-- write path (the CLI, a future one) can forget to.
ALTER TABLE workspaces ADD COLUMN content_revision INTEGER NOT NULL DEFAULT 1;

CREATE TRIGGER datasets_move_content_revision_on_insert AFTER INSERT ON datasets BEGIN
    UPDATE workspaces SET content_revision = content_revision + 1 WHERE id = NEW.workspace_id;
END;
CREATE TRIGGER datasets_move_content_revision_on_update AFTER UPDATE ON datasets BEGIN
    UPDATE workspaces SET content_revision = content_revision + 1
    WHERE id IN (OLD.workspace_id, NEW.workspace_id);
END;
CREATE TRIGGER datasets_move_content_revision_on_delete AFTER DELETE ON datasets BEGIN
    UPDATE workspaces SET content_revision = content_revision + 1 WHERE id = OLD.workspace_id;
END;
CREATE TRIGGER data_sources_move_content_revision_on_insert AFTER INSERT ON data_sources BEGIN
    UPDATE workspaces SET content_revision = content_revision + 1 WHERE id = NEW.workspace_id;
END;
CREATE TRIGGER data_sources_move_content_revision_on_update AFTER UPDATE ON data_sources BEGIN
    UPDATE workspaces SET content_revision = content_revision + 1
    WHERE id IN (OLD.workspace_id, NEW.workspace_id);
END;
CREATE TRIGGER data_sources_move_content_revision_on_delete AFTER DELETE ON data_sources BEGIN
    UPDATE workspaces SET content_revision = content_revision + 1 WHERE id = OLD.workspace_id;
END;
