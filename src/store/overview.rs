//! Figures for the web pages: each section's story count and last change, and the dedup totals (stories,
//! items, joins by layer) that the status page shows.

use std::collections::BTreeMap;

use rusqlite::params;

use super::Store;
use crate::dedup::Layer;

/// A section's figures for the index page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionFigures {
    /// Stories stored in the section.
    pub stories: i64,
    /// The newest story's publication time, if any.
    pub newest: Option<i64>,
}

/// Dedup totals for the status page.
#[derive(Debug, Clone, Default)]
pub struct DedupFigures {
    /// Stored items.
    pub items: i64,
    /// Stored stories.
    pub stories: i64,
    /// Stories with more than one member.
    pub merged_stories: i64,
    /// Items that joined a story, by the layer that placed them.
    pub joins: BTreeMap<String, i64>,
}

impl Store {
    /// The figures of section `id`: one index range each.
    pub fn section_figures(&self, id: &str) -> anyhow::Result<SectionFigures> {
        Ok(self.conn.query_row(
            "SELECT count(*), max(published) FROM story_sections WHERE section = ?1",
            params![id],
            |r| {
                Ok(SectionFigures {
                    stories: r.get(0)?,
                    newest: r.get(1)?,
                })
            },
        )?)
    }

    /// The ids of the newest `limit` stories of a section, newest first (what its page shows).
    pub fn section_story_ids(&self, id: &str, limit: usize) -> anyhow::Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT story_id FROM story_sections WHERE section = ?1
             ORDER BY published DESC, story_id DESC LIMIT ?2",
        )?;
        Ok(stmt
            .query_map(params![id, limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    /// Items, stories, merged stories and joins by layer.
    pub fn dedup_figures(&self) -> anyhow::Result<DedupFigures> {
        let (_, items, stories) = self.counts()?;
        let mut joins = BTreeMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT layer, count(*) FROM dedup_decisions WHERE layer != ?1 GROUP BY layer",
        )?;
        for row in stmt.query_map([Layer::New.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (layer, n) = row?;
            joins.insert(layer, n);
        }
        let merged_stories = self.conn.query_row(
            "SELECT count(DISTINCT story_id) FROM dedup_decisions WHERE layer != ?1",
            [Layer::New.as_str()],
            |r| r.get(0),
        )?;
        Ok(DedupFigures {
            items,
            stories,
            merged_stories,
            joins,
        })
    }
}
