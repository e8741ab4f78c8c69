//! The write side of ingest: a [`Batch`] of feeds in one transaction, the exact-key look-ups dedup asks
//! for (over a feed's transaction, [`FeedTx::keys`], or what is committed, [`Store::keys`]), and turning
//! dedup's placements into rows.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::SourceRow;
use super::sources::save_state;
use crate::dedup::{self, ExactKeys, Ids, KeyMatch, Placement, StoredItem};
use crate::normalize::{NormalizedItem, key64};

/// A member of a story as the choice of its original sees it.
pub(super) struct OriginalCandidate {
    pub(super) item_id: i64,
    pub(super) source_id: i64,
    priority: i32,
    /// The source's record as the origin of the stories it shares: (originals + 1) / (shared + 2), so a
    /// new source starts at one half (migration 0008).
    record: f64,
    published: i64,
}

/// Makes `best` the story's original, whose link, title and time the story publishes, and moves the
/// story's `updated` forward.
pub(super) fn set_original(
    conn: &Connection,
    story_id: i64,
    best: &OriginalCandidate,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE stories SET representative_item = ?2, published = ?3, updated = max(updated, ?4) WHERE id = ?1",
    )?
    .execute(params![story_id, best.item_id, best.published, now])?;
    conn.prepare_cached("UPDATE story_sections SET published = ?2 WHERE story_id = ?1")?
        .execute(params![story_id, best.published])?;
    Ok(())
}

/// A story's members as the choice of its original sees them, in insertion order.
pub(super) fn original_candidates(
    conn: &Connection,
    story_id: i64,
) -> rusqlite::Result<Vec<OriginalCandidate>> {
    conn.prepare_cached(
        "SELECT i.id, i.source_id, s.priority, (s.original_items + 1.0) / (s.shared_items + 2.0), i.published
         FROM items i JOIN sources s ON s.id = i.source_id WHERE i.story_id = ?1 ORDER BY i.id",
    )?
    .query_map(params![story_id], |r| {
        Ok(OriginalCandidate {
            item_id: r.get(0)?,
            source_id: r.get(1)?,
            priority: r.get(2)?,
            record: r.get(3)?,
            published: r.get(4)?,
        })
    })?
    .collect()
}

impl OriginalCandidate {
    /// How much better one record must be to count: a quarter, so that a handful of shared stories does
    /// not decide.
    const RECORD_MARGIN: f64 = 0.25;

    /// Whether this member is a better original than `other`: a source of higher priority; at equal
    /// priority a source with a clearly better record; otherwise the earlier publication time. The record
    /// comes before the time because a content farm dates its copy before the wire's story, and a farm's
    /// items are nearly always copies.
    /// The best original among `members`: `current` stays unless another member is better.
    pub(super) fn best<'a>(
        current: &'a OriginalCandidate,
        members: &'a [OriginalCandidate],
    ) -> &'a OriginalCandidate {
        members.iter().fold(current, |best, m| {
            if m.is_better_original_than(best) {
                m
            } else {
                best
            }
        })
    }

    fn is_better_original_than(&self, other: &OriginalCandidate) -> bool {
        if self.priority != other.priority {
            return self.priority > other.priority;
        }
        if (self.record - other.record).abs() > Self::RECORD_MARGIN {
            return self.record > other.record;
        }
        (self.published, self.item_id) < (other.published, other.item_id)
    }
}

/// Several feeds written in one SQLite transaction (group commit). Committing many feeds at once writes
/// each touched index page to the WAL once instead of once per feed.
pub struct Batch<'c> {
    tx: Transaction<'c>,
}

/// One feed's writes inside a batch: guarded by a savepoint of its own (dropping it without
/// [`FeedTx::commit`] undoes that feed's writes only), or unguarded, when the caller drops the whole batch
/// on any failure. A savepoint journals every page a feed changes for the first time; when feeds rarely
/// fail, rolling back the batch and redoing it guarded is much cheaper.
pub struct FeedTx<'b> {
    conn: &'b Connection,
    guarded: bool,
    done: bool,
}

/// What one feed's writes did.
#[derive(Debug, Default, Clone, Copy)]
pub struct FeedCounts {
    /// Items stored for the first time.
    pub new_items: usize,
    /// Items the source edited.
    pub updated_items: usize,
    /// New items that founded a story.
    pub new_stories: usize,
    /// New items that joined an existing story.
    pub joined: usize,
}

/// A feed to write: its entries, where dedup placed them, and its source's new polling state.
pub struct FeedRows<'a> {
    /// The source with the state to save (the pipeline computed it from the poll).
    pub source: &'a SourceRow,
    /// The normalised entries.
    pub items: &'a [NormalizedItem],
    /// Where each entry goes, index for index.
    pub placements: &'a [Placement],
    /// Ingest time.
    pub now: i64,
    /// The section rules the stories it touches are routed by.
    pub router: &'a crate::route::Router,
}

/// What one feed's writes did, and which sections must be rendered again.
#[derive(Debug, Default, Clone)]
pub struct FeedWritten {
    /// The counts.
    pub counts: FeedCounts,
    /// Every section a story this feed touched is or was in.
    pub sections: std::collections::BTreeSet<String>,
}

impl<'c> Batch<'c> {
    pub(super) fn new(tx: Transaction<'c>) -> Self {
        Batch { tx }
    }

    /// The first free item and story ids. The batch holds the write lock and ingest is the only writer, so
    /// ids handed out from these in order are free until the batch commits: dedup can place an item (and
    /// the window take it) before its row is written.
    pub fn first_free_ids(&self) -> anyhow::Result<Ids> {
        let next = |sql: &str| -> anyhow::Result<i64> {
            Ok(self.tx.prepare_cached(sql)?.query_row([], |r| r.get(0))?)
        };
        Ok(Ids {
            item: next("SELECT coalesce(max(id), 0) + 1 FROM items")?,
            story: next("SELECT coalesce(max(id), 0) + 1 FROM stories")?,
        })
    }

    /// Starts one feed's writes, in a savepoint of its own when `guarded`.
    pub fn feed(&self, guarded: bool) -> anyhow::Result<FeedTx<'_>> {
        if guarded {
            self.tx.execute_batch("SAVEPOINT feed")?;
        }
        Ok(FeedTx {
            conn: &self.tx,
            guarded,
            done: false,
        })
    }

    /// Makes every written feed of the batch durable together.
    pub fn commit(self) -> anyhow::Result<()> {
        self.tx.commit()?;
        Ok(())
    }
}

impl Drop for FeedTx<'_> {
    fn drop(&mut self) {
        if self.guarded && !self.done {
            // Undo this feed only; the statement cannot fail on a savepoint that exists.
            let _ = self.conn.execute_batch("ROLLBACK TO feed; RELEASE feed");
        }
    }
}

impl FeedTx<'_> {
    /// The exact layers' look-ups, seeing this batch's writes so far.
    pub(crate) fn keys(&self) -> &impl ExactKeys<Error = anyhow::Error> {
        self.conn
    }

    /// Keeps the feed's writes (durable with the batch).
    pub fn commit(mut self) -> anyhow::Result<()> {
        if self.guarded {
            self.conn.execute_batch("RELEASE feed")?;
        }
        self.done = true;
        Ok(())
    }

    /// Writes a feed's placed entries and its source's new state, and routes the stories it touched.
    pub fn write(&self, feed: &FeedRows) -> anyhow::Result<FeedWritten> {
        let mut counts = FeedCounts::default();
        // Stories joined or edited are routed from their stored members; stories this feed founded (most
        // of them) from the one item in hand, with no read-back.
        let mut touched: Vec<i64> = Vec::new();
        let mut founded: Vec<(i64, i64, &NormalizedItem)> = Vec::new();
        // When the first of the new items can be pruned: its publication time or its first sighting (now),
        // whichever is later.
        let mut prunable_from: Option<i64> = None;
        for (item, placement) in feed.items.iter().zip(feed.placements) {
            match placement {
                Placement::Skip => {}
                Placement::Update { item_id, story_id } => {
                    self.update_item(*item_id, *story_id, item, feed.now)?;
                    counts.updated_items += 1;
                    touched.push(*story_id);
                }
                Placement::Insert {
                    item_id,
                    story_id,
                    new_story,
                    decision,
                } => {
                    if *new_story {
                        founded.push((*story_id, *item_id, item));
                    } else {
                        touched.push(*story_id);
                    }
                    let new = NewItem {
                        source_id: feed.source.id,
                        item,
                        now: feed.now,
                    };
                    if *new_story {
                        counts.new_stories += 1;
                        let guid = dedup::story_guid(&feed.source.url, &item.guid);
                        self.insert_with_new_story(&new, &guid, *item_id, *story_id)?;
                    } else {
                        counts.joined += 1;
                        self.insert_into_story(&new, *item_id, *story_id)?;
                    }
                    if decision.is_notable() {
                        self.record_decision(*item_id, *story_id, decision, feed.now)?;
                    }
                    counts.new_items += 1;
                    let at = item.published.timestamp().max(feed.now);
                    prunable_from = Some(prunable_from.map_or(at, |p| p.min(at)));
                }
            }
        }
        if let Some(at) = prunable_from {
            self.conn
                .prepare_cached(
                    "UPDATE prune_horizon SET earliest = min(coalesce(earliest, ?1), ?1) WHERE id = 1",
                )?
                .execute([at])?;
        }
        self.save_state(feed.source, counts.new_items)?;
        touched.sort_unstable();
        touched.dedup();
        let mut sections = std::collections::BTreeSet::new();
        for (story, item_id, item) in founded {
            if touched.binary_search(&story).is_ok() {
                continue;
            }
            let member = crate::route::Member {
                item_id,
                source: &feed.source.name,
                listed: &feed.source.sections,
                title: &item.title,
                summary: &item.summary,
                categories: &item.categories,
            };
            sections.extend(super::routes::route_founded(
                self.conn,
                feed.router,
                story,
                item.published.timestamp(),
                member,
            )?);
        }
        for story in touched {
            let (_, changed) =
                super::routes::route_range(self.conn, feed.router, story, story, true)?;
            sections.extend(changed);
        }
        Ok(FeedWritten { counts, sections })
    }

    /// Saves a source's polling state alone (a poll that brought no entries to store).
    pub fn save_state(&self, source: &SourceRow, new_items: usize) -> anyhow::Result<()> {
        save_state(self.conn, source, new_items)
    }

    /// Inserts a new item, with the ids it was given, as the founder of a new story.
    fn insert_with_new_story(
        &self,
        new: &NewItem,
        story_guid: &str,
        item_id: i64,
        story_id: i64,
    ) -> anyhow::Result<()> {
        let published = new.item.published.timestamp();
        self.conn
            .prepare_cached(
                "INSERT INTO stories (id, guid, representative_item, published, first_seen, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![story_id, story_guid, item_id, published, new.now])?;
        self.insert_item(new, item_id, story_id)
    }

    /// Inserts a new item into an existing story: the story's `updated` moves forward, and the item becomes
    /// the representative if it is the better original (see [`OriginalCandidate`]). Both sources' records
    /// (migration 0008) count the shared story.
    fn insert_into_story(&self, new: &NewItem, item_id: i64, story_id: i64) -> anyhow::Result<()> {
        self.insert_item(new, item_id, story_id)?;
        let current: i64 = self
            .conn
            .prepare_cached("SELECT representative_item FROM stories WHERE id = ?1")?
            .query_row(params![story_id], |r| r.get(0))?;
        // Every member, the new one included: a record that has grown since the story was founded can now
        // overrule a copy that claimed an earlier time.
        let members = original_candidates(self.conn, story_id)?;
        let Some(rep) = members.iter().find(|m| m.item_id == current) else {
            anyhow::bail!(
                "story {story_id}: its representative item {current} is not one of its members"
            );
        };
        let best = OriginalCandidate::best(rep, &members);
        // The records count the story once it is shared, after the choice: counted before, the story's
        // founder would get credit for the very story it competes for.
        let count = |sql: &str, source: i64| -> anyhow::Result<()> {
            self.conn.prepare_cached(sql)?.execute(params![source])?;
            Ok(())
        };
        const SHARED: &str = "UPDATE sources SET shared_items = shared_items + 1 WHERE id = ?1";
        const ORIGINAL: &str =
            "UPDATE sources SET original_items = original_items + 1 WHERE id = ?1";
        const NOT_ORIGINAL: &str = "UPDATE sources SET original_items = original_items - 1 WHERE id = ?1 AND original_items > 0";
        count(SHARED, new.source_id)?;
        if members.len() == 2 {
            // The story was the founder's alone until now.
            count(SHARED, rep.source_id)?;
            count(ORIGINAL, best.source_id)?;
        } else if best.item_id != rep.item_id {
            count(NOT_ORIGINAL, rep.source_id)?;
            count(ORIGINAL, best.source_id)?;
        }
        if best.item_id != rep.item_id {
            set_original(self.conn, story_id, best, new.now)?;
        } else {
            self.conn
                .prepare_cached("UPDATE stories SET updated = max(updated, ?2) WHERE id = ?1")?
                .execute(params![story_id, new.now])?;
        }
        Ok(())
    }

    /// Inserts an item row.
    fn insert_item(&self, new: &NewItem, item_id: i64, story_id: i64) -> anyhow::Result<()> {
        let i = new.item;
        self.conn
            .prepare_cached(
                "INSERT INTO items (id, source_id, guid, url, canonical_url, title, summary, content_html, author,
                                    published, date_from_feed, first_seen, updated, content_hash, story_id, url_key,
                                    authors, categories)
                 VALUES (?15, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14, ?16, ?17)",
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
                item_id,
                authors_json(i)?,
                super::routes::join_categories(&i.categories)
            ])?;
        Ok(())
    }

    /// Rewrites an item the source edited (same guid, new text); its story's `updated` moves forward.
    fn update_item(
        &self,
        item_id: i64,
        story_id: i64,
        item: &NormalizedItem,
        now: i64,
    ) -> anyhow::Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE items SET url = ?2, canonical_url = ?3, title = ?4, summary = ?5, content_html = ?6,
                        author = ?7, content_hash = ?8, updated = ?9, url_key = ?10, authors = ?11,
                        categories = ?12 WHERE id = ?1",
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
                item.canonical_url.as_deref().map(key64),
                authors_json(item)?,
                super::routes::join_categories(&item.categories)
            ])?;
        self.conn
            .prepare_cached("UPDATE stories SET updated = max(updated, ?2) WHERE id = ?1")?
            .execute(params![story_id, now])?;
        Ok(())
    }

    /// Records why an item sits in its story.
    fn record_decision(
        &self,
        item_id: i64,
        story_id: i64,
        decision: &dedup::Decision,
        now: i64,
    ) -> anyhow::Result<()> {
        record_decision(self.conn, item_id, story_id, decision, now)
    }
}

/// Records (or replaces) why an item sits in its story: ingest and settling both explain their moves here.
pub(super) fn record_decision(
    conn: &Connection,
    item_id: i64,
    story_id: i64,
    decision: &dedup::Decision,
    now: i64,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO dedup_decisions (item_id, story_id, layer, score, reason, candidates, decided_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        item_id,
        story_id,
        decision.layer,
        decision.score,
        decision.reason,
        serde_json::to_string(&decision.candidates)?,
        now
    ])?;
    Ok(())
}

/// The `authors` column: every byline as JSON, or NULL when there is none.
fn authors_json(item: &NormalizedItem) -> anyhow::Result<Option<String>> {
    if item.authors.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_string(&item.authors)?))
}

/// What to insert for a new item.
struct NewItem<'a> {
    source_id: i64,
    item: &'a NormalizedItem,
    now: i64,
}

impl ExactKeys for Connection {
    type Error = anyhow::Error;

    fn source_has_items(&self, source_id: i64) -> anyhow::Result<bool> {
        Ok(self
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM items WHERE source_id = ?1)")?
            .query_row([source_id], |r| r.get(0))?)
    }

    fn any_tombstones(&self) -> anyhow::Result<bool> {
        Ok(self
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones)")?
            .query_row([], |r| r.get(0))?)
    }

    fn item_by_guid(&self, source_id: i64, guid: &str) -> anyhow::Result<Option<StoredItem>> {
        Ok(self
            .prepare_cached(
                "SELECT id, story_id, content_hash, title, summary FROM items WHERE source_id = ?1 AND guid = ?2",
            )?
            .query_row(params![source_id, guid], |r| {
                Ok(StoredItem {
                    item_id: r.get(0)?,
                    story_id: r.get(1)?,
                    content_hash: r.get(2)?,
                    title: r.get(3)?,
                    summary: r.get(4)?,
                })
            })
            .optional()?)
    }

    fn is_tombstoned(&self, source_id: i64, guid: &str) -> anyhow::Result<bool> {
        Ok(self
            .prepare_cached("SELECT 1 FROM tombstones WHERE source_id = ?1 AND guid = ?2")?
            .exists(params![source_id, guid])?)
    }

    fn by_canonical_url(&self, canonical_url: &str) -> anyhow::Result<Option<KeyMatch>> {
        Ok(self
            .prepare_cached(
                "SELECT id, story_id FROM items WHERE url_key = ?1 AND canonical_url = ?2 ORDER BY id LIMIT 1",
            )?
            .query_row(params![key64(canonical_url), canonical_url], key_match)
            .optional()?)
    }

    fn by_content_hash(&self, hash: i64, source_id: i64) -> anyhow::Result<Option<KeyMatch>> {
        Ok(self
            .prepare_cached(
                "SELECT i.id, i.story_id FROM items i WHERE i.content_hash = ?1
                   AND NOT EXISTS (SELECT 1 FROM items o WHERE o.story_id = i.story_id AND o.source_id = ?2)
                 ORDER BY i.id LIMIT 1",
            )?
            .query_row(params![hash, source_id], key_match)
            .optional()?)
    }
}

fn key_match(r: &rusqlite::Row) -> rusqlite::Result<KeyMatch> {
    Ok(KeyMatch {
        item_id: r.get(0)?,
        story_id: r.get(1)?,
    })
}
