//! Writing what settling the similarity window moved (see `dedup::similar::settle`): items change story,
//! stories founded by settling get rows, stories left empty go, and every story that gained or lost a
//! member chooses its original again, is routed again and counts again in its sources' records. All in one
//! transaction, with the mark that says which items are settled, so a crash leaves either the old stories
//! or the new ones, and the items still to settle are settled again at the next start.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use super::ingest::{OriginalCandidate, original_candidates, record_decision, set_original};
use crate::dedup::similar::Moved;
use crate::dedup::similar::SimilarLayer;

impl Store {
    /// The first free story id (settling hands new stories ids from here).
    pub(crate) fn next_story_id(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) + 1 FROM stories", [], |r| {
                r.get(0)
            })?)
    }

    /// The newest item id: every item up to it is settled once a settle started now is written.
    pub(crate) fn last_item_id(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM items", [], |r| r.get(0))?)
    }

    /// Writes a settle's moves and marks every item up to `through_item` settled. Returns the sections
    /// whose feeds changed.
    pub(crate) fn write_settled(
        &mut self,
        moved: &[Moved],
        founded: &[(i64, i64, crate::dedup::similar::Decision)],
        router: &crate::route::Router,
        through_item: i64,
        now: i64,
    ) -> anyhow::Result<BTreeSet<String>> {
        let tx = self.conn.transaction()?;
        let mut sections = BTreeSet::new();
        let mut stories: Vec<i64> = moved.iter().flat_map(|m| [m.from, m.to]).collect();
        stories.sort_unstable();
        stories.dedup();
        for &story in &stories {
            count_shared(&tx, story, -1)?;
        }
        for m in moved {
            let exists: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM stories WHERE id = ?1)")?
                .query_row([m.to], |r| r.get(0))?;
            if !exists {
                found_story(&tx, m.to, m.item_id, now)?;
            }
            tx.prepare_cached("UPDATE items SET story_id = ?2 WHERE id = ?1")?
                .execute(params![m.item_id, m.to])?;
            match &m.decision {
                Some(d) => {
                    let mut d = SimilarLayer::decision(d);
                    d.reason = format!("settled in canonical order: {}", d.reason);
                    record_decision(&tx, m.item_id, m.to, &d, now)?;
                }
                None => {
                    tx.prepare_cached(
                        "UPDATE dedup_decisions SET story_id = ?2 WHERE item_id = ?1",
                    )?
                    .execute(params![m.item_id, m.to])?;
                }
            }
        }
        // A backlog's items were stored as stories of their own, with a placeholder decision; the ones that
        // stay keep a row only when something came close, as on arrival (settling hands over only those).
        for (item_id, story, d) in founded {
            record_decision(&tx, *item_id, *story, &SimilarLayer::decision(d), now)?;
        }
        for &story in &stories {
            let members = original_candidates(&tx, story)?;
            if members.is_empty() {
                let mut stmt =
                    tx.prepare_cached("SELECT section FROM story_sections WHERE story_id = ?1")?;
                for s in stmt.query_map([story], |r| r.get::<_, String>(0))? {
                    sections.insert(s?);
                }
                tx.prepare_cached("DELETE FROM story_sections WHERE story_id = ?1")?
                    .execute([story])?;
                tx.prepare_cached("DELETE FROM stories WHERE id = ?1")?
                    .execute([story])?;
                continue;
            }
            choose_original(&tx, story, &members, now)?;
            count_shared(&tx, story, 1)?;
            let (_, changed) = super::routes::route_range(&tx, router, story, story, true)?;
            sections.extend(changed);
        }
        tx.prepare_cached("UPDATE settled SET through_item = max(through_item, ?1) WHERE id = 1")?
            .execute([through_item])?;
        tx.commit()?;
        Ok(sections)
    }
}

/// Adds (`sign` 1) or withdraws (-1) a story's part in its sources' records: when it has more than one
/// member, each member's source shares it and its original's source is its origin.
fn count_shared(conn: &Connection, story: i64, sign: i64) -> anyhow::Result<()> {
    conn.prepare_cached(
        "UPDATE sources SET shared_items = max(0, shared_items + ?2 * (
             SELECT count(*) FROM items i WHERE i.story_id = ?1 AND i.source_id = sources.id))
         WHERE id IN (SELECT source_id FROM items WHERE story_id = ?1)
           AND (SELECT count(*) FROM items WHERE story_id = ?1) > 1",
    )?
    .execute(params![story, sign])?;
    conn.prepare_cached(
        "UPDATE sources SET original_items = max(0, original_items + ?2)
         WHERE id = (SELECT i.source_id FROM stories s JOIN items i ON i.id = s.representative_item
                     WHERE s.id = ?1)
           AND (SELECT count(*) FROM items WHERE story_id = ?1) > 1",
    )?
    .execute(params![story, sign])?;
    Ok(())
}

/// A row for a story settling founded, with `founder` as its first original. Its GUID follows from the
/// founder and the story's id: the founder's own name may still be taken by the story it founded online,
/// which keeps its GUID when the founder leaves it.
fn found_story(conn: &Connection, story: i64, founder: i64, now: i64) -> anyhow::Result<()> {
    let (url, guid, published, first_seen): (String, String, i64, i64) = conn
        .prepare_cached(
            "SELECT s.url, i.guid, i.published, i.first_seen FROM items i JOIN sources s ON s.id = i.source_id
             WHERE i.id = ?1",
        )?
        .query_row([founder], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    conn.prepare_cached(
        "INSERT INTO stories (id, guid, representative_item, published, first_seen, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        story,
        crate::dedup::story_guid(&url, &format!("{guid}\nsettled into story {story}")),
        founder,
        published,
        first_seen,
        now
    ])?;
    Ok(())
}

/// Chooses a story's original again among its members (the current one stays unless another is better),
/// and moves the story's `updated` forward.
fn choose_original(
    conn: &Connection,
    story: i64,
    members: &[OriginalCandidate],
    now: i64,
) -> anyhow::Result<()> {
    let current: Option<i64> = conn
        .prepare_cached("SELECT representative_item FROM stories WHERE id = ?1")?
        .query_row([story], |r| r.get(0))
        .optional()?
        .flatten();
    let start = members
        .iter()
        .find(|m| Some(m.item_id) == current)
        .unwrap_or(&members[0]);
    set_original(conn, story, OriginalCandidate::best(start, members), now)?;
    Ok(())
}
