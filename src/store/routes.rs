//! Section routes: which sections show a story and why, written from the story's members by what a
//! [`Router`] decides, at ingest (the stories a feed touched) and after a reload that changed the rules
//! (every stored story, in chunks, so polls are stored in between). `story_sections` holds one row per
//! story and section with its reasons; publishing reads it and nothing else.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use crate::route::{Member, Reason, Route, Router};

/// Stories routed again in one transaction while new rules are applied to stored stories (the writer
/// stores waiting polls between chunks, so a poll waits at most one chunk).
pub const REROUTE_CHUNK: usize = 1_000;

/// One member as read for routing.
struct MemberRow {
    item_id: i64,
    source: String,
    listed: Vec<String>,
    title: String,
    summary: String,
    categories: Vec<String>,
}

/// What one chunk of a re-route did.
#[derive(Debug, Default, Clone)]
pub struct RerouteStep {
    /// Stories routed in this chunk.
    pub stories: usize,
    /// Where the next chunk starts (stories with a smaller id), or None when every story is done.
    pub next: Option<i64>,
    /// Sections whose story list or reasons changed.
    pub changed: BTreeSet<String>,
}

/// Categories as stored in `items.categories`: one per line (normalising folded inner white space).
pub(crate) fn join_categories(categories: &[String]) -> String {
    categories.join("\n")
}

fn split_lines(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.split('\n')
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// Routes the stories with ids in `lo..=hi` and writes the difference. Returns the sections to render
/// again: with `touched_all`, every section each story is or was in (its content changed, as at ingest);
/// otherwise only those whose rows changed.
pub(crate) fn route_range(
    conn: &Connection,
    router: &Router,
    lo: i64,
    hi: i64,
    touched_all: bool,
) -> anyhow::Result<(usize, BTreeSet<String>)> {
    let mut members: Vec<(i64, i64, MemberRow)> = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT i.story_id, st.published, i.id, s.name, i.title, i.summary, i.categories, i.source_id
             FROM items i JOIN sources s ON s.id = i.source_id JOIN stories st ON st.id = i.story_id
             WHERE i.story_id BETWEEN ?1 AND ?2 ORDER BY i.story_id, i.id",
        )?;
        // A chunk's members come from few sources: their listed sections are read once each.
        let mut listed_by_source: HashMap<i64, Vec<String>> = HashMap::new();
        let mut listed_stmt = conn.prepare_cached(
            "SELECT section FROM source_sections WHERE source_id = ?1 ORDER BY section",
        )?;
        let mut rows = stmt.query(params![lo, hi])?;
        while let Some(r) = rows.next()? {
            let source_id: i64 = r.get(7)?;
            let listed = match listed_by_source.get(&source_id) {
                Some(l) => l.clone(),
                None => {
                    let l: Vec<String> = listed_stmt
                        .query_map([source_id], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    listed_by_source.insert(source_id, l.clone());
                    l
                }
            };
            members.push((
                r.get(0)?,
                r.get(1)?,
                MemberRow {
                    item_id: r.get(2)?,
                    source: r.get(3)?,
                    title: r.get(4)?,
                    summary: r.get(5)?,
                    categories: split_lines(r.get(6)?),
                    listed,
                },
            ));
        }
    }
    let mut existing: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT story_id, section, reasons FROM story_sections WHERE story_id BETWEEN ?1 AND ?2",
        )?;
        for row in stmt.query_map(params![lo, hi], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })? {
            let (story, section, reasons) = row?;
            existing.entry(story).or_default().push((section, reasons));
        }
    }
    let mut delete =
        conn.prepare_cached("DELETE FROM story_sections WHERE section = ?1 AND story_id = ?2")?;
    let mut upsert = conn.prepare_cached(
        "INSERT OR REPLACE INTO story_sections (section, story_id, published, reasons) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut changed = BTreeSet::new();
    let mut stories = 0;
    let mut start = 0;
    while start < members.len() {
        let (story, published) = (members[start].0, members[start].1);
        let end = start
            + members[start..]
                .iter()
                .take_while(|(s, _, _)| *s == story)
                .count();
        let of_story: Vec<Member> = members[start..end]
            .iter()
            .map(|(_, _, m)| Member {
                item_id: m.item_id,
                source: &m.source,
                listed: &m.listed,
                title: &m.title,
                summary: &m.summary,
                categories: &m.categories,
            })
            .collect();
        start = end;
        stories += 1;
        let routes = router.route(&of_story);
        let old = existing.remove(&story).unwrap_or_default();
        for (section, _) in &old {
            if !routes.iter().any(|r| &r.section == section) {
                delete.execute(params![section, story])?;
                changed.insert(section.clone());
            }
        }
        for route in &routes {
            let reasons = serde_json::to_string(&route.reasons)?;
            let same = old
                .iter()
                .any(|(s, r)| s == &route.section && r == &reasons);
            if !same {
                upsert.execute(params![route.section, story, published, reasons])?;
                changed.insert(route.section.clone());
            } else if touched_all {
                changed.insert(route.section.clone());
            }
        }
    }
    Ok((stories, changed))
}

/// Routes a story just founded by `member` (it has no other member and no rows yet) and writes its rows;
/// returns its sections.
pub(crate) fn route_founded(
    conn: &Connection,
    router: &Router,
    story_id: i64,
    published: i64,
    member: Member,
) -> anyhow::Result<BTreeSet<String>> {
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO story_sections (section, story_id, published, reasons) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut sections = BTreeSet::new();
    for route in router.route(&[member]) {
        let reasons = serde_json::to_string(&route.reasons)?;
        insert.execute(params![route.section, story_id, published, reasons])?;
        sections.insert(route.section);
    }
    Ok(sections)
}

impl Store {
    /// The digest of the rules the stored routes were made under, if any were recorded.
    pub fn routing_fingerprint(&self) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT fingerprint FROM routing WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Records that every stored story is routed by the rules with this digest.
    pub fn set_routing_fingerprint(&self, fingerprint: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO routing (id, fingerprint) VALUES (1, ?1)",
            [fingerprint],
        )?;
        Ok(())
    }

    /// Routes again, in one transaction, the `limit` stories with the highest ids below `below` (None:
    /// from the newest), and says where the next chunk starts. Newest first, so the feeds' heads are right
    /// soonest.
    pub fn reroute_chunk(
        &mut self,
        router: &Router,
        below: Option<i64>,
        limit: usize,
    ) -> anyhow::Result<RerouteStep> {
        // As in ingest: only rows this transaction reads are referred to.
        self.enforce_foreign_keys(false)?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let ids: Vec<i64> = {
            let mut stmt = tx
                .prepare_cached("SELECT id FROM stories WHERE id < ?1 ORDER BY id DESC LIMIT ?2")?;
            stmt.query_map(params![below.unwrap_or(i64::MAX), limit as i64], |r| {
                r.get(0)
            })?
            .collect::<Result<_, _>>()?
        };
        let (Some(&hi), Some(&lo)) = (ids.first(), ids.last()) else {
            return Ok(RerouteStep::default());
        };
        let (stories, changed) = route_range(&tx, router, lo, hi, false)?;
        tx.commit()?;
        Ok(RerouteStep {
            stories,
            next: (ids.len() == limit).then_some(lo),
            changed,
        })
    }

    /// Routes every stored story again by `router`, chunk by chunk, and records its fingerprint; returns
    /// the sections that changed (`poll --once`, tools and the benchmark; the daemon's writer interleaves
    /// the chunks with polls).
    pub fn reroute_all(
        &mut self,
        router: &Router,
        chunk: usize,
    ) -> anyhow::Result<(usize, BTreeSet<String>)> {
        let mut below = None;
        let mut stories = 0;
        let mut changed = BTreeSet::new();
        loop {
            let step = self.reroute_chunk(router, below, chunk)?;
            stories += step.stories;
            changed.extend(step.changed);
            match step.next {
                Some(next) => below = Some(next),
                None => break,
            }
        }
        self.set_routing_fingerprint(router.fingerprint())?;
        Ok((stories, changed))
    }

    /// The routes of story `story_id`, by section id.
    pub(crate) fn routes_of(&self, story_id: i64) -> anyhow::Result<Vec<Route>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT section, reasons FROM story_sections WHERE story_id = ?1 ORDER BY section",
        )?;
        let rows = stmt.query_map([story_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (section, reasons) = row?;
            let reasons: Vec<Reason> = serde_json::from_str(&reasons).unwrap_or_default();
            out.push(Route { section, reasons });
        }
        Ok(out)
    }
}
