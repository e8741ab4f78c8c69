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
//!
//! Dedup decides and never writes: the exact layers ([`exact`]) look keys up through the [`ExactKeys`]
//! trait, which the store implements; [`place`] turns verdicts into [`Placement`]s with ids; the store
//! turns placements into rows.

pub(crate) mod exact;
pub(crate) mod place;
pub mod similar;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub(crate) use exact::{ExactKeys, KeyMatch, StoredItem, Verdict};
pub(crate) use place::{Ids, Placement, Placer};

/// A new story's decision is stored for `explain` only when a candidate scored at least this (a near miss).
/// Below it nothing came close, which is the common case: in a first poll of 10,000 feeds, 60,000 rows
/// held nothing but scores of 0.1-0.2.
const NEAR_MISS_SCORE: f64 = 0.3;

/// Whether a candidate's score makes a new story's decision worth a row for `explain` (a near miss).
pub(crate) fn is_near_miss(score: f64) -> bool {
    score >= NEAR_MISS_SCORE
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

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Layer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Layer::SameUrl, Layer::SameText, Layer::Similar, Layer::New]
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a dedup layer"))
    }
}

/// The source an entry came from, as dedup needs it.
#[derive(Debug, Clone, Copy)]
pub struct SourceRef {
    /// Source row id.
    pub id: i64,
    /// Whether similarity may join its items to other stories.
    pub merge: bool,
    /// Its `priority`: a story's original is its member from the highest-priority source.
    pub priority: i32,
    /// A hash of its feed URL ([`source_key`]), from which its items' canonical order keys follow.
    pub key: u64,
}

/// The hash of a source's feed URL that its items' [`order_key`]s start from.
pub fn source_key(url: &str) -> u64 {
    crate::normalize::key64(url) as u64
}

/// An item's place in the canonical order after its publication time: a hash of its source's URL and its
/// guid. It depends on nothing that arrival order changes (row ids, config order), so items settle into
/// the same stories whatever order they were polled in.
pub fn order_key(source_key: u64, guid: &str) -> u64 {
    crate::normalize::key64(&format!("{source_key:016x}\n{guid}")) as u64
}

impl Decision {
    /// A join decided by an exact key.
    pub fn exact(m: KeyMatch, layer: Layer, reason: String) -> Decision {
        Decision {
            story_id: Some(m.story_id),
            layer,
            score: 1.0,
            reason,
            candidates: vec![CandidateNote {
                item_id: m.item_id,
                story_id: m.story_id,
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

    /// Whether `explain` needs this decision kept: every join, and a new story only when a candidate came
    /// close. Nothing even close is the common case and is reported without a stored row.
    pub fn is_notable(&self) -> bool {
        self.story_id.is_some() || self.candidates.iter().any(|c| is_near_miss(c.score))
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
