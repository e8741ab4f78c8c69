-- Sections route stories by category and keyword as well as by source, and nest. Each item keeps its own
-- categories (one per line) so that a reload with new rules can route stored stories again; each
-- story_sections row says why the story is in that section (a JSON list of {why, what, item}).
ALTER TABLE items ADD COLUMN categories TEXT NOT NULL DEFAULT '';
ALTER TABLE story_sections ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]';
CREATE INDEX story_sections_story ON story_sections(story_id);

-- The rules the stored routes were made under (a digest from route::Router); when the config's differ,
-- the writer routes every stored story again and then records the new digest.
CREATE TABLE routing (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL
);
