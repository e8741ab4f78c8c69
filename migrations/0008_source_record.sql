-- A source's record as the origin of the stories it shares with others: of its items in stories with more than
-- one member, how many are the story's original. After priority, the original of a story is the member whose
-- source is usually the original, whatever time a copy claims: content farms date copies before the wire's
-- story, and a farm's items are almost always copies. Kept up to date as items join stories.
ALTER TABLE sources ADD COLUMN shared_items INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN original_items INTEGER NOT NULL DEFAULT 0;
CREATE TEMP TABLE shared_stories AS
    SELECT story_id FROM items GROUP BY story_id HAVING count(*) > 1;
UPDATE sources SET
    shared_items = (SELECT count(*) FROM items i WHERE i.source_id = sources.id
                    AND i.story_id IN (SELECT story_id FROM shared_stories)),
    original_items = (SELECT count(*) FROM stories s JOIN items i ON i.id = s.representative_item
                      WHERE i.source_id = sources.id AND s.id IN (SELECT story_id FROM shared_stories));
DROP TABLE shared_stories;
