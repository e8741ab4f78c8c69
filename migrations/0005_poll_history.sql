-- Polls and items per hour, for the status page's chart of the last 24 hours. The writer adds each batch's
-- counts to its hour and drops hours older than a week, so the table stays at most 168 rows.
CREATE TABLE poll_history (
    hour        INTEGER PRIMARY KEY,  -- unix seconds at the start of the hour (UTC)
    fetched     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    new_items   INTEGER NOT NULL DEFAULT 0,
    joined      INTEGER NOT NULL DEFAULT 0
);
