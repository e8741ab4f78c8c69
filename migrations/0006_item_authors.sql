-- Every byline of an item, in feed order, as a JSON array of {"name", "email", "uri"} (each may be null), so
-- the published feeds can credit an author by name and e-mail as the source did. NULL when the item has no
-- byline, and in rows stored before this column: those are read from `author` (the names, joined).
ALTER TABLE items ADD COLUMN authors TEXT;
