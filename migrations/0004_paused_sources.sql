-- `enabled = false` in feeds.toml pauses a source: it stays configured (its stories stay published) but is
-- not polled.
ALTER TABLE sources ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
