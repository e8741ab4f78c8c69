-- Poll results are stored as the text of a typed status ("ok: N entries", "not modified", "error (KIND)",
-- "gone (410)") that wiredesk reads back strictly; version 1 wrote "error (gone)" for a 410.
UPDATE sources SET last_result = 'gone (410)' WHERE last_result = 'error (gone)';

-- The writer's heartbeat: written while idle, so a held lock or a read-only store shows in /healthz.
CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
