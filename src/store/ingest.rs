//! The write side of ingest: one transaction per fetched feed, with the lookups dedup needs and the writes
//! that place an item in its story.

use rusqlite::{Connection, OptionalExtension, Savepoint, Transaction, params};

use crate::normalize::{NormalizedItem, key64};

/// One feed's ingest: a savepoint, alone or inside a [`Batch`], or no savepoint at all inside a batch
/// that is all or nothing ([`Batch::feed_unguarded`]). Dropping a savepoint without [`IngestTx::commit`]
/// undoes every write of that feed and nothing else.
pub struct IngestTx<'c> {
    pub(super) tx: Guard<'c>,
}

/// What undoes a failed feed's writes: its own savepoint, or the enclosing batch's rollback.
pub(super) enum Guard<'c> {
    Savepoint(Savepoint<'c>),
    Batch(&'c Connection),
}

impl std::ops::Deref for Guard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Guard::Savepoint(sp) => sp,
            Guard::Batch(conn) => conn,
        }
    }
}

/// Several feeds ingested in one SQLite transaction (group commit), each in its own savepoint.
/// Committing many feeds at once writes each touched index page to the WAL once instead of once per feed;
/// each feed still lands all or nothing.
pub struct Batch<'c> {
    pub(super) tx: Transaction<'c>,
}

impl<'c> Batch<'c> {
    pub(super) fn new(tx: Transaction<'c>) -> Self {
        Batch { tx }
    }

    /// Starts one feed's savepoint.
    pub fn feed(&mut self) -> anyhow::Result<IngestTx<'_>> {
        Ok(IngestTx::new(self.tx.savepoint()?))
    }

    /// Starts one feed without a savepoint of its own: if it fails, the caller must drop the whole batch.
    /// A savepoint copies every page a feed changes for the first time into its journal; when feeds
    /// rarely fail, rolling back the batch and redoing it with [`Batch::feed`] is much cheaper.
    pub fn feed_unguarded(&self) -> IngestTx<'_> {
        IngestTx {
            tx: Guard::Batch(&self.tx),
        }
    }

    /// The first free item id and story id. The batch holds the write lock, and ingest is the only writer,
    /// so ids handed out from these in order are free until the batch commits: dedup can place an item
    /// (and the window take it) before its row is written.
    pub fn next_ids(&self) -> anyhow::Result<(i64, i64)> {
        let next = |table: &str| -> anyhow::Result<i64> {
            Ok(self.tx.query_row(
                &format!("SELECT coalesce(max(id), 0) + 1 FROM {table}"),
                [],
                |r| r.get(0),
            )?)
        };
        Ok((next("items")?, next("stories")?))
    }

    /// Makes every committed feed of the batch durable together.
    pub fn commit(self) -> anyhow::Result<()> {
        self.tx.commit()?;
        Ok(())
    }
}

/// An item already stored for this source and guid.
#[derive(Debug, Clone)]
pub struct ExistingItem {
    /// Its row id.
    pub item_id: i64,
    /// Its story.
    pub story_id: i64,
    /// Its stored content key, to tell an edit from a re-listing.
    pub content_hash: Option<i64>,
    /// Its stored title.
    pub title: String,
    /// Its stored summary.
    pub summary: String,
}

/// A stored item that an exact key points at.
#[derive(Debug, Clone, Copy)]
pub struct StoryMatch {
    /// The matching item.
    pub item_id: i64,
    /// Its story.
    pub story_id: i64,
}

/// What to insert for a new item.
pub struct NewItem<'a> {
    /// The source it came from.
    pub source_id: i64,
    /// The sections that source feeds (the story appears in them).
    pub sections: &'a [String],
    /// The normalised entry.
    pub item: &'a NormalizedItem,
    /// Ingest time.
    pub now: i64,
}

impl<'c> IngestTx<'c> {
    pub(super) fn new(tx: Savepoint<'c>) -> Self {
        IngestTx {
            tx: Guard::Savepoint(tx),
        }
    }

    /// Keeps the feed's items and poll state together (durable with the enclosing batch, if any).
    pub fn commit(self) -> anyhow::Result<()> {
        if let Guard::Savepoint(sp) = self.tx {
            sp.commit()?;
        }
        Ok(())
    }

    /// The stored item with this source and guid.
    pub fn existing_item(
        &self,
        source_id: i64,
        guid: &str,
    ) -> anyhow::Result<Option<ExistingItem>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, story_id, content_hash, title, summary FROM items WHERE source_id = ?1 AND guid = ?2",
        )?;
        Ok(stmt
            .query_row(params![source_id, guid], |r| {
                Ok(ExistingItem {
                    item_id: r.get(0)?,
                    story_id: r.get(1)?,
                    content_hash: r.get(2)?,
                    title: r.get(3)?,
                    summary: r.get(4)?,
                })
            })
            .optional()?)
    }

    /// Counts `n` more items stored from a source.
    pub fn add_items_seen(&self, source_id: i64, n: usize) -> anyhow::Result<()> {
        if n > 0 {
            self.tx
                .prepare_cached("UPDATE sources SET items_seen = items_seen + ?2 WHERE id = ?1")?
                .execute(params![source_id, n as i64])?;
        }
        Ok(())
    }

    /// Whether the source has any stored item; when it has none, no entry of its feed can be an update.
    pub fn source_has_items(&self, source_id: i64) -> anyhow::Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM items WHERE source_id = ?1)")?
            .query_row([source_id], |r| r.get(0))?)
    }

    /// Whether any item was ever pruned; when none was, tombstone lookups can be skipped.
    pub fn has_tombstones(&self) -> anyhow::Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones)")?
            .query_row([], |r| r.get(0))?)
    }

    /// Whether retention pruned this item before.
    pub fn is_tombstoned(&self, source_id: i64, guid: &str) -> anyhow::Result<bool> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT 1 FROM tombstones WHERE source_id = ?1 AND guid = ?2")?;
        Ok(stmt.exists(params![source_id, guid])?)
    }

    /// The earliest stored item with this canonical URL.
    pub fn by_canonical_url(&self, canonical_url: &str) -> anyhow::Result<Option<StoryMatch>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, story_id FROM items WHERE url_key = ?1 AND canonical_url = ?2 ORDER BY id LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![key64(canonical_url), canonical_url], |r| {
                Ok(StoryMatch {
                    item_id: r.get(0)?,
                    story_id: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// The earliest stored item with this content key whose story has no member from `source_id` yet.
    pub fn by_content_hash(
        &self,
        content_hash: i64,
        source_id: i64,
    ) -> anyhow::Result<Option<StoryMatch>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT i.id, i.story_id FROM items i WHERE i.content_hash = ?1
               AND NOT EXISTS (SELECT 1 FROM items o WHERE o.story_id = i.story_id AND o.source_id = ?2)
             ORDER BY i.id LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![content_hash, source_id], |r| {
                Ok(StoryMatch {
                    item_id: r.get(0)?,
                    story_id: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Whether a story already has a member from this source.
    pub fn story_has_source(&self, story_id: i64, source_id: i64) -> anyhow::Result<bool> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT 1 FROM items WHERE story_id = ?1 AND source_id = ?2")?;
        Ok(stmt.exists(params![story_id, source_id])?)
    }

    /// Inserts a new item, with the ids it was given (see [`Batch::next_ids`]), as the founder of a new story.
    pub fn insert_with_new_story(
        &self,
        new: &NewItem,
        story_guid: &str,
        item_id: i64,
        story_id: i64,
    ) -> anyhow::Result<()> {
        let published = new.item.published.timestamp();
        self.tx
            .prepare_cached(
                "INSERT INTO stories (id, guid, representative_item, published, first_seen, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![story_id, story_guid, item_id, published, new.now])?;
        self.insert_item(new, item_id, story_id)?;
        self.add_story_sections(story_id, new.sections, published)
    }

    /// Inserts a new item into an existing story: the story's `updated` moves forward, and the item becomes
    /// the representative if its source has a higher priority (or the same and it was published earlier).
    pub fn insert_into_story(
        &self,
        new: &NewItem,
        item_id: i64,
        story_id: i64,
    ) -> anyhow::Result<()> {
        self.insert_item(new, item_id, story_id)?;
        let published = new.item.published.timestamp();
        let better: bool = self
            .tx
            .prepare_cached(
                "SELECT (ns.priority > rs.priority) OR (ns.priority = rs.priority AND ?3 < r.published)
                 FROM stories s JOIN items r ON r.id = s.representative_item
                 JOIN sources rs ON rs.id = r.source_id, sources ns
                 WHERE s.id = ?1 AND ns.id = ?2",
            )?
            .query_row(params![story_id, new.source_id, published], |r| r.get(0))
            .optional()?
            .unwrap_or(true);
        if better {
            self.tx
                .prepare_cached(
                    "UPDATE stories SET representative_item = ?2, published = ?3, updated = max(updated, ?4) WHERE id = ?1",
                )?
                .execute(params![story_id, item_id, published, new.now])?;
            self.tx
                .prepare_cached("UPDATE story_sections SET published = ?2 WHERE story_id = ?1")?
                .execute(params![story_id, published])?;
        } else {
            self.tx
                .prepare_cached("UPDATE stories SET updated = max(updated, ?2) WHERE id = ?1")?
                .execute(params![story_id, new.now])?;
        }
        let story_published: i64 = self
            .tx
            .prepare_cached("SELECT published FROM stories WHERE id = ?1")?
            .query_row([story_id], |r| r.get(0))?;
        self.add_story_sections(story_id, new.sections, story_published)
    }

    fn insert_item(&self, new: &NewItem, item_id: i64, story_id: i64) -> anyhow::Result<()> {
        let i = new.item;
        self.tx
            .prepare_cached(
                "INSERT INTO items (id, source_id, guid, url, canonical_url, title, summary, content_html, author,
                                    published, date_from_feed, first_seen, updated, content_hash, story_id, url_key)
                 VALUES (?15, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                new.source_id,
                i.guid,
                i.url,
                i.canonical_url,
                i.title,
                i.summary,
                i.content_html,
                i.author,
                i.published.timestamp(),
                i.date_from_feed,
                new.now,
                i.content_hash,
                story_id,
                i.canonical_url.as_deref().map(key64),
                item_id
            ])?;
        Ok(())
    }

    fn add_story_sections(
        &self,
        story_id: i64,
        sections: &[String],
        published: i64,
    ) -> anyhow::Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO story_sections (section, story_id, published) VALUES (?1, ?2, ?3)",
        )?;
        for section in sections {
            stmt.execute(params![section, story_id, published])?;
        }
        Ok(())
    }

    /// Rewrites an item the source edited (same guid, new text); its story's `updated` moves forward.
    pub fn update_item(
        &self,
        item_id: i64,
        story_id: i64,
        item: &NormalizedItem,
        now: i64,
    ) -> anyhow::Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE items SET url = ?2, canonical_url = ?3, title = ?4, summary = ?5, content_html = ?6,
                        author = ?7, content_hash = ?8, updated = ?9, url_key = ?10 WHERE id = ?1",
            )?
            .execute(params![
                item_id,
                item.url,
                item.canonical_url,
                item.title,
                item.summary,
                item.content_html,
                item.author,
                item.content_hash,
                now,
                item.canonical_url.as_deref().map(key64)
            ])?;
        self.tx
            .prepare_cached("UPDATE stories SET updated = max(updated, ?2) WHERE id = ?1")?
            .execute(params![story_id, now])?;
        Ok(())
    }

    /// Records why an item sits in its story.
    #[allow(clippy::too_many_arguments)]
    pub fn record_decision(
        &self,
        item_id: i64,
        story_id: i64,
        layer: &str,
        score: f64,
        reason: &str,
        candidates_json: &str,
        now: i64,
    ) -> anyhow::Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO dedup_decisions (item_id, story_id, layer, score, reason, candidates, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![item_id, story_id, layer, score, reason, candidates_json, now])?;
        Ok(())
    }
}
