-- Per-link access policies: a link may stop after a number of page views. The count is kept
-- on the link's row and moved by one atomic UPDATE per view, so concurrent views on any
-- number of instances can never serve more than the maximum.
ALTER TABLE share_links ADD COLUMN view_count BIGINT NOT NULL DEFAULT 0;
