-- The similarity layer decides each item as it arrives, then settles: it decides the items again in a
-- canonical order, so that the same items polled in any order form the same stories. Items with an id above
-- `through_item` were stored after the last settle and are settled at the next (after a restart too). Items
-- stored before this migration count as settled.
CREATE TABLE settled (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    through_item INTEGER NOT NULL
);
INSERT INTO settled (id, through_item) VALUES (1, (SELECT coalesce(max(id), 0) FROM items));
