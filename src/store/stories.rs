//! The read side: stories with their members, for publishing, the CLI and `explain`.

use rusqlite::params;

use super::Store;
use crate::dedup::Layer;
use crate::dedup::similar::WindowItem;
use crate::normalize::Byline;

/// A story and every item in it, representative first.
#[derive(Debug, Clone)]
pub struct StoryView {
    /// Row id.
    pub id: i64,
    /// Stable published GUID.
    pub guid: String,
    /// The representative's publication time.
    pub published: i64,
    /// When the story last changed (a member joined or was edited).
    pub updated: i64,
    /// When the story was first seen.
    pub first_seen: i64,
    /// Sections that show it, by id.
    pub sections: Vec<String>,
    /// Why it is in each of them, by section id.
    pub routes: Vec<crate::route::Route>,
    /// Members; the first is the representative.
    pub members: Vec<MemberView>,
}

impl StoryView {
    /// The representative member.
    pub fn representative(&self) -> &MemberView {
        &self.members[0]
    }

    /// When the story last changed as a reader sees it: the latest publication date of any member (a member
    /// joining is a change, dated by that member), or the time the source edited the representative's
    /// text. Derived from stored rows only, so it is the same on every render and after a restart, and it
    /// does not move when nothing changed.
    pub fn changed_at(&self) -> i64 {
        let rep = self.representative();
        let edited = (rep.item_updated > rep.first_seen).then_some(rep.item_updated);
        self.members
            .iter()
            .map(|m| m.published)
            .chain(edited)
            .max()
            .unwrap_or(self.published)
            .max(rep.published)
    }
}

/// One item of a story, with its source.
#[derive(Debug, Clone)]
pub struct MemberView {
    /// Item row id.
    pub item_id: i64,
    /// Source row id.
    pub source_id: i64,
    /// Source display name.
    pub source_name: String,
    /// Source feed URL.
    pub source_url: String,
    /// Source site URL, when the feed named one.
    pub site_url: Option<String>,
    /// Item guid as the feed gave it.
    pub guid: String,
    /// Item link as the feed gave it (absolute).
    pub url: Option<String>,
    /// Plain title.
    pub title: String,
    /// Plain summary.
    pub summary: String,
    /// Sanitised HTML.
    pub content_html: String,
    /// Author names.
    pub author: Option<String>,
    /// Every byline with name, e-mail and URI, in feed order.
    pub authors: Vec<Byline>,
    /// Publication time.
    pub published: i64,
    /// The dedup layer that placed it.
    pub layer: Layer,
    /// The dedup score.
    pub score: f64,
    /// The dedup key of `url` (tracking parameters stripped), used for credit links.
    pub canonical_url: Option<String>,
    /// When the item was first stored.
    pub first_seen: i64,
    /// When the item was last stored: `first_seen`, or the time its source last edited it.
    pub item_updated: i64,
}

/// A stored dedup decision, for `explain`.
#[derive(Debug, Clone)]
pub struct DecisionRow {
    /// The item.
    pub member: MemberView,
    /// Its story id.
    pub story_id: i64,
    /// The story's guid.
    pub story_guid: String,
    /// The layer that decided.
    pub layer: Layer,
    /// Score.
    pub score: f64,
    /// Operator-readable reason.
    pub reason: String,
    /// JSON list of candidates compared.
    pub candidates: String,
    /// When decided.
    pub decided_at: i64,
}

// An item without a decision row founded its story with no candidate in sight (layer `new`).
const MEMBER_COLUMNS: &str = "i.id, i.source_id, s.name, s.url, s.site_url, i.guid, i.url, i.title, i.summary,
     i.content_html, i.author, i.published, COALESCE(d.layer, 'new'), COALESCE(d.score, 0), i.story_id,
     i.canonical_url, i.first_seen, i.updated, i.authors";

/// Bylines from the `authors` column; rows stored before it had one are read from the joined names.
fn bylines(json: Option<String>, author: Option<&str>) -> Vec<Byline> {
    if let Some(authors) = json.and_then(|j| serde_json::from_str(&j).ok()) {
        return authors;
    }
    author
        .into_iter()
        .flat_map(|a| a.split(", "))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| Byline {
            name: Some(n.to_string()),
            ..Byline::default()
        })
        .collect()
}

fn member_from_row(r: &rusqlite::Row) -> rusqlite::Result<(MemberView, i64)> {
    let author: Option<String> = r.get(10)?;
    Ok((
        MemberView {
            authors: bylines(r.get(18)?, author.as_deref()),
            item_id: r.get(0)?,
            source_id: r.get(1)?,
            source_name: r.get(2)?,
            source_url: r.get(3)?,
            site_url: r.get(4)?,
            guid: r.get(5)?,
            url: r.get(6)?,
            title: r.get(7)?,
            summary: r.get(8)?,
            content_html: r.get(9)?,
            author,
            published: r.get(11)?,
            layer: r.get(12)?,
            score: r.get(13)?,
            canonical_url: r.get(15)?,
            first_seen: r.get(16)?,
            item_updated: r.get(17)?,
        },
        r.get(14)?,
    ))
}

impl Store {
    /// The newest `limit` stories of a section, newest first.
    pub fn section_stories(&self, section: &str, limit: usize) -> anyhow::Result<Vec<StoryView>> {
        self.load_stories(
            "SELECT story_id FROM story_sections WHERE section = ?1 ORDER BY published DESC, story_id DESC LIMIT ?2",
            params![section, limit as i64],
        )
    }

    /// Stories published at or after `since`, optionally in one section, newest first.
    pub fn stories_since(
        &self,
        section: Option<&str>,
        since: i64,
    ) -> anyhow::Result<Vec<StoryView>> {
        match section {
            Some(s) => self.load_stories(
                "SELECT story_id FROM story_sections WHERE section = ?1 AND published >= ?2
                 ORDER BY published DESC, story_id DESC",
                params![s, since],
            ),
            None => self.load_stories(
                "SELECT id FROM stories WHERE published >= ?1 ORDER BY published DESC, id DESC",
                params![since],
            ),
        }
    }

    fn load_stories(
        &self,
        id_query: &str,
        args: impl rusqlite::Params,
    ) -> anyhow::Result<Vec<StoryView>> {
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare(id_query)?;
            stmt.query_map(args, |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut stories: Vec<StoryView> = Vec::with_capacity(ids.len());
        let mut story_stmt = self
            .conn
            .prepare_cached("SELECT guid, published, updated, first_seen, representative_item FROM stories WHERE id = ?1")?;
        let mut member_stmt = self.conn.prepare_cached(&format!(
            "SELECT {MEMBER_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id
             LEFT JOIN dedup_decisions d ON d.item_id = i.id WHERE i.story_id = ?1 ORDER BY i.published, i.id"
        ))?;
        for id in ids {
            let (guid, published, updated, first_seen, rep): (String, i64, i64, i64, Option<i64>) =
                story_stmt.query_row([id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
            let mut members: Vec<MemberView> = member_stmt
                .query_map([id], member_from_row)?
                .map(|r| r.map(|(m, _)| m))
                .collect::<Result<_, _>>()?;
            if members.is_empty() {
                continue;
            }
            if let Some(pos) = members.iter().position(|m| Some(m.item_id) == rep) {
                let r = members.remove(pos);
                members.insert(0, r);
            }
            let routes = self.routes_of(id)?;
            let sections = routes.iter().map(|r| r.section.clone()).collect();
            stories.push(StoryView {
                id,
                guid,
                published,
                updated,
                first_seen,
                sections,
                routes,
                members,
            });
        }
        Ok(stories)
    }

    /// Every stored item whose link or canonical link is `url`, with the decision that placed it.
    pub fn decisions_for_url(
        &self,
        url: &str,
        canonical: Option<&str>,
    ) -> anyhow::Result<Vec<DecisionRow>> {
        let key = canonical.map(crate::normalize::key64);
        self.decisions_where(
            "i.url = ?1 OR i.guid = ?1 OR (?2 IS NOT NULL AND i.url_key = ?3 AND i.canonical_url = ?2)",
            params![url, canonical, key],
        )
    }

    /// Every member of story `story_id` with the decision that placed it, in insertion order.
    pub fn story_decisions(&self, story_id: i64) -> anyhow::Result<Vec<DecisionRow>> {
        self.decisions_where("i.story_id = ?1", params![story_id])
    }

    /// Items stored after item `after` that joined an existing story, in insertion order, at most
    /// `limit` (the demo's running commentary).
    pub fn joins_after(&self, after: i64, limit: usize) -> anyhow::Result<Vec<DecisionRow>> {
        self.decisions_where(
            "i.id > ?1 AND d.layer IS NOT NULL AND d.layer != 'new' ORDER BY i.id LIMIT ?2",
            params![after, limit as i64],
        )
    }

    /// One story with its members, representative first.
    pub fn story(&self, id: i64) -> anyhow::Result<Option<StoryView>> {
        Ok(self
            .load_stories("SELECT id FROM stories WHERE id = ?1", params![id])?
            .pop())
    }

    fn decisions_where(
        &self,
        condition: &str,
        args: impl rusqlite::Params,
    ) -> anyhow::Result<Vec<DecisionRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {MEMBER_COLUMNS}, st.guid, COALESCE(d.reason, 'no stored story came close'), COALESCE(d.candidates, '[]'),
                    COALESCE(d.decided_at, i.first_seen)
             FROM items i JOIN sources s ON s.id = i.source_id JOIN stories st ON st.id = i.story_id
             LEFT JOIN dedup_decisions d ON d.item_id = i.id
             WHERE {condition}"
        ))?;
        let rows = stmt.query_map(args, |r| {
            let (member, story_id) = member_from_row(r)?;
            Ok(DecisionRow {
                layer: member.layer,
                score: member.score,
                member,
                story_id,
                story_guid: r.get(19)?,
                reason: r.get(20)?,
                candidates: r.get(21)?,
                decided_at: r.get(22)?,
            })
        })?;
        let mut rows: Vec<DecisionRow> = rows.collect::<Result<_, _>>()?;
        rows.sort_by_key(|d| d.member.item_id);
        Ok(rows)
    }

    /// One item as a member view, for naming candidates in `explain`.
    pub fn member(&self, item_id: i64) -> anyhow::Result<Option<MemberView>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM items i JOIN sources s ON s.id = i.source_id
                     LEFT JOIN dedup_decisions d ON d.item_id = i.id WHERE i.id = ?1"
                ),
                [item_id],
                member_from_row,
            )
            .optional()?
            .map(|(m, _)| m))
    }

    /// Items published at or after `since`, in insertion order, for rebuilding the similarity window at
    /// start-up exactly as it was built; their texts are read one at a time ([`Store::item_text`]).
    pub fn window_items(&self, since: i64) -> anyhow::Result<Vec<WindowItem>> {
        let mut stmt = self.conn.prepare(
            "SELECT i.id, i.story_id, i.source_id, i.published, s.merge, s.priority, s.url, i.guid,
                    CASE WHEN d.layer IN ('same-url', 'same-text')
                         THEN json_extract(d.candidates, '$[0].item_id') END,
                    i.id > (SELECT through_item FROM settled)
             FROM items i JOIN sources s ON s.id = i.source_id
             LEFT JOIN dedup_decisions d ON d.item_id = i.id
             WHERE i.published >= ?1 ORDER BY i.id",
        )?;
        let rows = stmt.query_map([since], |r| {
            let url: &str = r.get_ref(6)?.as_str()?;
            let guid: &str = r.get_ref(7)?.as_str()?;
            Ok(WindowItem {
                item_id: r.get(0)?,
                story_id: r.get(1)?,
                source_id: r.get(2)?,
                published: r.get(3)?,
                merge: r.get(4)?,
                priority: r.get(5)?,
                order_key: crate::dedup::order_key(crate::dedup::source_key(url), guid),
                pinned_to: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
                unsettled: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A stored item's plain title and summary, which the similarity window computes its features from.
    pub fn item_text(&self, item_id: i64) -> anyhow::Result<(String, String)> {
        Ok(self
            .conn
            .prepare_cached("SELECT title, summary FROM items WHERE id = ?1")?
            .query_row([item_id], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// The newest publication time of any stored item.
    pub fn newest_published(&self) -> anyhow::Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT max(published) FROM items", [], |r| r.get(0))?)
    }

    /// Counts of (sources, items, stories), for health and metrics.
    pub fn counts(&self) -> anyhow::Result<(i64, i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM sources WHERE active), (SELECT count(*) FROM items),
                    (SELECT count(*) FROM stories)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }
}
