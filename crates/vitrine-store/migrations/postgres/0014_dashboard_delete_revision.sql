-- Issue 16: deleting a dashboard moves its workspace's content revision too. The outsider gate
-- reads a dashboard's id, status and revision with the link, not its document, and reuses a
-- context built from the same id and revision under the same content revision. PostgreSQL
-- never gives an identity value twice, but the stores keep one schema story: a delete is
-- what would tell a re-created dashboard from the deleted one (SQLite reuses row ids).
CREATE TRIGGER dashboards_move_content_revision
    AFTER DELETE ON dashboards
    FOR EACH ROW EXECUTE FUNCTION move_content_revision();
