//! Story dedup: decides whether an entry is an update of an item we have, another copy of a story we have,
//! or a new story, and says why.
//!
//! Layers run cheapest first and the first that decides wins:
//! 1. **same item**: same source and guid: an update (or nothing, when the text did not change);
//! 2. **same URL**: the same canonical URL in any source;
//! 3. **same text**: the same normalised title and summary in another source;
//! 4. **similar**: the spin-robust matcher (when enabled), for reposts and spun copies;
//! 5. otherwise a new story.
//!
//! Text layers never join a story that already has a member from the item's own source: live blogs and daily
//! digests of one source look alike day after day, and only a shared URL or guid may say they are one story.

pub mod place;
pub mod similar;

use serde::Serialize;

use crate::normalize::NormalizedItem;
use crate::store::IngestTx;

/// A new story's decision is stored for `explain` only when a candidate scored at least this (a near miss).
/// Below it nothing came close, which is the common case: in a first poll of 10,000 feeds, 60,000 rows
/// held nothing but scores of 0.1-0.2.
pub const NEAR_MISS_SCORE: f64 = 0.3;

/// Where an entry goes.
#[derive(Debug, Clone)]
pub enum Placement {
    /// Already stored and unchanged, or pruned before: nothing to do.
    Skip,
    /// Already stored with different text: rewrite it in place.
    Update {
        /// The stored item.
        item_id: i64,
        /// Its story.
        story_id: i64,
    },
    /// A new item, placed by a layer.
    Insert(Decision),
}

/// A placement decision for a new item, as stored in `dedup_decisions`.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The story to join, or None for a new story.
    pub story_id: Option<i64>,
    /// Which layer decided.
    pub layer: Layer,
    /// 1.0 for exact layers; the similarity score otherwise.
    pub score: f64,
    /// Operator-readable reason.
    pub reason: String,
    /// The candidates considered, best first.
    pub candidates: Vec<CandidateNote>,
}

/// One candidate a decision considered, kept for `explain`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CandidateNote {
    /// The stored item compared with.
    pub item_id: i64,
    /// Its story.
    pub story_id: i64,
    /// Overall score.
    pub score: f64,
    /// Title-only score.
    pub title_score: f64,
    /// Title plus summary score.
    pub full_score: f64,
}

/// The dedup layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Same canonical URL.
    SameUrl,
    /// Same normalised text.
    SameText,
    /// Similar text (reposts, spins).
    Similar,
    /// Nothing matched.
    New,
}

impl Layer {
    /// Stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::SameUrl => "same-url",
            Layer::SameText => "same-text",
            Layer::Similar => "similar",
            Layer::New => "new",
        }
    }
}

/// The source an entry came from, as dedup needs it.
#[derive(Debug, Clone, Copy)]
pub struct SourceRef {
    /// Source row id.
    pub id: i64,
    /// Whether similarity may join its items to other stories.
    pub merge: bool,
}

/// What the exact layers may skip for one feed, learnt once per feed instead of once per item.
#[derive(Debug, Clone, Copy)]
pub struct FeedFacts {
    /// The source already has stored items (otherwise nothing in its feed can be an update).
    pub source_has_items: bool,
    /// Some item was ever pruned (otherwise no tombstone can match).
    pub tombstones: bool,
}

/// Runs the exact layers against the database.
pub fn place_exact(
    tx: &IngestTx,
    source: SourceRef,
    item: &NormalizedItem,
    facts: FeedFacts,
) -> anyhow::Result<Option<Placement>> {
    let existing = if facts.source_has_items {
        tx.existing_item(source.id, &item.guid)?
    } else {
        None
    };
    if let Some(existing) = existing {
        let same = existing.content_hash == item.content_hash
            && existing.title == item.title
            && existing.summary == item.summary;
        return Ok(Some(if same {
            Placement::Skip
        } else {
            Placement::Update {
                item_id: existing.item_id,
                story_id: existing.story_id,
            }
        }));
    }
    if facts.tombstones && tx.is_tombstoned(source.id, &item.guid)? {
        return Ok(Some(Placement::Skip));
    }
    if let Some(url) = &item.canonical_url
        && let Some(m) = tx.by_canonical_url(url)?
    {
        return Ok(Some(Placement::Insert(exact(
            m.story_id,
            m.item_id,
            Layer::SameUrl,
            format!("same canonical URL {url} as item {}", m.item_id),
        ))));
    }
    if let Some(hash) = item.content_hash
        && let Some(m) = tx.by_content_hash(hash, source.id)?
    {
        return Ok(Some(Placement::Insert(exact(
            m.story_id,
            m.item_id,
            Layer::SameText,
            format!("same title and summary text as item {}", m.item_id),
        ))));
    }
    Ok(None)
}

fn exact(story_id: i64, item_id: i64, layer: Layer, reason: String) -> Decision {
    Decision {
        story_id: Some(story_id),
        layer,
        score: 1.0,
        reason,
        candidates: vec![CandidateNote {
            item_id,
            story_id,
            score: 1.0,
            title_score: 1.0,
            full_score: 1.0,
        }],
    }
}

/// The decision for an item no layer matched.
pub fn new_story(reason: String, candidates: Vec<CandidateNote>, score: f64) -> Decision {
    Decision {
        story_id: None,
        layer: Layer::New,
        score,
        reason,
        candidates,
    }
}

/// The published GUID of a story founded by `item_guid` from the feed `source_url`: a name-based UUID, so it
/// never changes for the life of the story and comes out the same if the database is rebuilt.
pub fn story_guid(source_url: &str, item_guid: &str) -> String {
    let h = blake3::hash(format!("{source_url}\n{item_guid}").as_bytes());
    let b = h.as_bytes();
    // RFC 9562 version 8 (custom) with the RFC variant bits.
    let hex =
        |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "urn:uuid:{}-{}-8{}-{:x}{}-{}",
        hex(0..4),
        hex(4..6),
        &hex(6..8)[1..],
        0x8 | (b[8] & 0x3),
        &hex(8..10)[1..],
        hex(10..16)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn story_guids_are_stable_uuids() {
        let g = story_guid("https://a.example/feed", "item-1");
        assert_eq!(g, story_guid("https://a.example/feed", "item-1"));
        assert_ne!(g, story_guid("https://a.example/feed", "item-2"));
        let uuid = g.strip_prefix("urn:uuid:").unwrap();
        let parts: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12],
            "{g}"
        );
        assert!(parts[2].starts_with('8'), "{g}");
        assert!(
            matches!(parts[3].chars().next().unwrap(), '8' | '9' | 'a' | 'b'),
            "{g}"
        );
    }
}
