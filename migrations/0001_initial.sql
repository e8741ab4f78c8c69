-- wiredesk schema, version 1. Times are unix seconds (UTC).

-- One row per configured feed URL. Rows outlive config edits (active = 0) so history and state survive.
CREATE TABLE sources (
    id                 INTEGER PRIMARY KEY,
    url                TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    priority           INTEGER NOT NULL DEFAULT 0,
    merge              INTEGER NOT NULL DEFAULT 1,
    active             INTEGER NOT NULL DEFAULT 1,
    feed_title         TEXT,
    site_url           TEXT,
    etag               TEXT,
    last_modified      TEXT,
    body_hash          TEXT,
    next_due           INTEGER,
    due_reason         TEXT,
    last_polled        INTEGER,
    last_result        TEXT,
    last_success       INTEGER,
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    first_error_at     INTEGER,
    last_error         TEXT,
    moved_to           TEXT,
    gone               INTEGER NOT NULL DEFAULT 0,
    ttl_minutes        INTEGER,
    items_seen         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE source_sections (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    section   TEXT NOT NULL,
    PRIMARY KEY (source_id, section)
) WITHOUT ROWID;

-- A story groups every copy of one article. guid is published and never changes.
CREATE TABLE stories (
    id                  INTEGER PRIMARY KEY,
    guid                TEXT NOT NULL UNIQUE,
    representative_item INTEGER,
    published           INTEGER NOT NULL,
    first_seen          INTEGER NOT NULL,
    updated             INTEGER NOT NULL
);

CREATE TABLE items (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES sources(id),
    guid           TEXT NOT NULL,
    url            TEXT,
    canonical_url  TEXT,
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL,
    content_html   TEXT NOT NULL,
    author         TEXT,
    published      INTEGER NOT NULL,
    date_from_feed INTEGER NOT NULL,
    first_seen     INTEGER NOT NULL,
    updated        INTEGER NOT NULL,
    content_hash   TEXT,
    story_id       INTEGER NOT NULL REFERENCES stories(id),
    UNIQUE (source_id, guid)
);
CREATE INDEX items_canonical_url ON items(canonical_url) WHERE canonical_url IS NOT NULL;
CREATE INDEX items_content_hash ON items(content_hash) WHERE content_hash IS NOT NULL;
CREATE INDEX items_story ON items(story_id);
CREATE INDEX items_published ON items(published);

-- Which sections show a story, kept at ingest so a section feed is one index range.
CREATE TABLE story_sections (
    section   TEXT NOT NULL,
    story_id  INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    published INTEGER NOT NULL,
    PRIMARY KEY (section, story_id)
) WITHOUT ROWID;
CREATE INDEX story_sections_recent ON story_sections(section, published DESC);

-- Why each item sits in its story.
CREATE TABLE dedup_decisions (
    item_id    INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    story_id   INTEGER NOT NULL,
    layer      TEXT NOT NULL,
    score      REAL NOT NULL,
    reason     TEXT NOT NULL,
    candidates TEXT NOT NULL DEFAULT '[]',
    decided_at INTEGER NOT NULL
);

-- Pruned items, so a feed that still lists them does not bring them back.
CREATE TABLE tombstones (
    source_id INTEGER NOT NULL,
    guid      TEXT NOT NULL,
    pruned_at INTEGER NOT NULL,
    PRIMARY KEY (source_id, guid)
) WITHOUT ROWID;
