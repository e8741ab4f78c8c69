-- The earliest time at which a stored item or tombstone can be pruned: an item goes once both its
-- publication time and its first sighting are before the cutoff, a tombstone once it was made before it.
-- Checking this one row tells whether pruning has anything to do, where the check it replaces scanned the
-- whole items table (gigabytes at millions of items) every time, found nothing in most runs, and an index to
-- answer it would cost every insert. It is a lower bound: ingest lowers it, pruning sets it exactly. NULL
-- when nothing is stored.
CREATE TABLE prune_horizon (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    earliest INTEGER
);
INSERT INTO prune_horizon (id, earliest) VALUES (1, (
    SELECT min(at) FROM (
        SELECT min(max(published, first_seen)) AS at FROM items
        UNION ALL
        SELECT min(pruned_at) FROM tombstones
    )
));
