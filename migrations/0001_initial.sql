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

-- A story groups every copy of one article. guid is published and never changes; it is derived from the
-- founding item's (source, guid), which is unique, so it needs no index of its own.
CREATE TABLE stories (
    id                  INTEGER PRIMARY KEY,
    guid                TEXT NOT NULL,
    representative_item INTEGER,
    published           INTEGER NOT NULL,
    first_seen          INTEGER NOT NULL,
    updated             INTEGER NOT NULL
);

-- url_key and content_hash are 64-bit hashes of canonical_url and of the normalised text: small integer
-- keys keep the dedup indexes compact.
CREATE TABLE items (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES sources(id),
    guid           TEXT NOT NULL,
    url            TEXT,
    canonical_url  TEXT,
    url_key        INTEGER,
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL,
    content_html   TEXT NOT NULL,
    author         TEXT,
    published      INTEGER NOT NULL,
    date_from_feed INTEGER NOT NULL,
    first_seen     INTEGER NOT NULL,
    updated        INTEGER NOT NULL,
    content_hash   INTEGER,
    story_id       INTEGER NOT NULL REFERENCES stories(id),
    UNIQUE (source_id, guid)
);
CREATE INDEX items_url_key ON items(url_key) WHERE url_key IS NOT NULL;
CREATE INDEX items_content_hash ON items(content_hash) WHERE content_hash IS NOT NULL;
CREATE INDEX items_story ON items(story_id);

-- Which sections show a story, kept at ingest so a section feed is one index range.
CREATE TABLE story_sections (
    section   TEXT NOT NULL,
    story_id  INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    published INTEGER NOT NULL,
    PRIMARY KEY (section, story_id)
) WITHOUT ROWID;
CREATE INDEX story_sections_recent ON story_sections(section, published DESC);

-- Why each item sits in its story. Items that founded a story with no candidate in sight have no row.
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
