-- A workspace's content revision (issue 16): a number that moves, in the same transaction,
-- with every insert, update or delete of one of its datasets or data sources. The outsider
-- gate reads it with the link (one round trip), so a dashboard context built from the
-- datasets and data sources it saw is reused only while nothing of them can have changed,
-- without reading them again on every view. Triggers, not application code, move it: no
-- write path (the CLI, a future one) can forget to.
ALTER TABLE workspaces ADD COLUMN content_revision BIGINT NOT NULL DEFAULT 1;

CREATE FUNCTION move_content_revision() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE workspaces SET content_revision = content_revision + 1 WHERE id = OLD.workspace_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.workspace_id <> OLD.workspace_id) THEN
        UPDATE workspaces SET content_revision = content_revision + 1 WHERE id = NEW.workspace_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER datasets_move_content_revision
    AFTER INSERT OR UPDATE OR DELETE ON datasets
    FOR EACH ROW EXECUTE FUNCTION move_content_revision();
CREATE TRIGGER data_sources_move_content_revision
    AFTER INSERT OR UPDATE OR DELETE ON data_sources
    FOR EACH ROW EXECUTE FUNCTION move_content_revision();
