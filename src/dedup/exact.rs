//! The exact layers: same item (source and guid), same canonical URL, same normalised text. They look keys
//! up through [`ExactKeys`], which the store implements over the transaction being written, so dedup stays
//! pure logic and never sees a database type.
//!
//! An entry is judged against stored items and against the entries before it in its own feed, as if each
//! entry had been written before the next one was looked up.

use std::collections::{HashMap, HashSet};

use super::{Decision, Layer, SourceRef};
use crate::normalize::NormalizedItem;

/// The exact-key look-ups dedup needs.
pub(crate) trait ExactKeys {
    /// Why a look-up failed (the store's error).
    type Error;
    /// Whether the source has any stored item; when it has none, no entry of its feed can be an update.
    fn source_has_items(&self, source_id: i64) -> Result<bool, Self::Error>;
    /// Whether any item was ever pruned; when none was, tombstone look-ups are skipped.
    fn any_tombstones(&self) -> Result<bool, Self::Error>;
    /// The stored item with this source and guid.
    fn item_by_guid(&self, source_id: i64, guid: &str) -> Result<Option<StoredItem>, Self::Error>;
    /// Whether retention pruned this item before.
    fn is_tombstoned(&self, source_id: i64, guid: &str) -> Result<bool, Self::Error>;
    /// The earliest stored item with this canonical URL.
    fn by_canonical_url(&self, canonical_url: &str) -> Result<Option<KeyMatch>, Self::Error>;
    /// The earliest stored item with this text key whose story has no member from `source_id` yet.
    fn by_content_hash(&self, hash: i64, source_id: i64) -> Result<Option<KeyMatch>, Self::Error>;
}

/// An item already stored for a source and guid.
#[derive(Debug, Clone)]
pub(crate) struct StoredItem {
    /// Its row id.
    pub item_id: i64,
    /// Its story.
    pub story_id: i64,
    /// Its stored text key, to tell an edit from a re-listing.
    pub content_hash: Option<i64>,
    /// Its stored title.
    pub title: String,
    /// Its stored summary.
    pub summary: String,
}

/// A stored item that an exact key points at.
#[derive(Debug, Clone, Copy)]
pub struct KeyMatch {
    /// The matching item.
    pub item_id: i64,
    /// Its story.
    pub story_id: i64,
}

/// What the exact layers made of one entry.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    /// Already stored and unchanged, pruned before, or a repeat of an earlier entry of the feed.
    Skip,
    /// A stored item that its source edited.
    Update {
        /// The stored item.
        item_id: i64,
        /// Its story.
        story_id: i64,
    },
    /// The same guid as the earlier new entry at this index, with other text: it rewrites that item.
    UpdateEarlier(usize),
    /// A new item that an exact layer placed in a stored story.
    Join(Decision),
    /// A new item with the same canonical URL as the earlier new entry at this index: it joins its story.
    JoinEarlier(usize),
    /// A new item that no exact layer placed: similarity decides, or it founds a story.
    Open,
}

impl Verdict {
    /// Whether the entry becomes a new item.
    pub(crate) fn is_new(&self) -> bool {
        matches!(
            self,
            Verdict::Join(_) | Verdict::JoinEarlier(_) | Verdict::Open
        )
    }
}

/// Runs the exact layers over every entry of a feed.
pub(crate) fn verdicts<K: ExactKeys>(
    keys: &K,
    source: SourceRef,
    items: &[NormalizedItem],
) -> Result<Vec<Verdict>, K::Error> {
    let has_items = keys.source_has_items(source.id)?;
    let tombstones = keys.any_tombstones()?;
    let mut verdicts: Vec<Verdict> = Vec::with_capacity(items.len());
    // The feed's earlier entries by guid (the latest one) and its earlier new items by canonical URL (the
    // first one), which the store does not hold yet.
    let mut by_guid: HashMap<&str, usize> = HashMap::new();
    let mut by_url: HashMap<&str, usize> = HashMap::new();
    // Stored stories that new items of this feed joined: the same-text layer skips a story that has an item
    // from this source, and these will have one.
    let mut joined: HashSet<i64> = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(j) = by_guid.insert(&item.guid, i) {
            if same_text(&items[j], item) {
                verdicts.push(Verdict::Skip);
                continue;
            }
            if verdicts[j].is_new() || matches!(verdicts[j], Verdict::UpdateEarlier(_)) {
                verdicts.push(Verdict::UpdateEarlier(j));
                continue;
            }
        }
        let stored = if has_items {
            keys.item_by_guid(source.id, &item.guid)?
        } else {
            None
        };
        let verdict = if let Some(stored) = stored {
            if stored.content_hash == item.content_hash
                && stored.title == item.title
                && stored.summary == item.summary
            {
                Verdict::Skip
            } else {
                Verdict::Update {
                    item_id: stored.item_id,
                    story_id: stored.story_id,
                }
            }
        } else if tombstones && keys.is_tombstoned(source.id, &item.guid)? {
            Verdict::Skip
        } else if let Some(m) = match &item.canonical_url {
            Some(url) => keys.by_canonical_url(url)?,
            None => None,
        } {
            let url = item.canonical_url.as_deref().unwrap_or_default();
            Verdict::Join(Decision::exact(
                m,
                Layer::SameUrl,
                format!("same canonical URL {url} as item {}", m.item_id),
            ))
        } else if let Some(m) = match item.content_hash {
            Some(hash) => keys.by_content_hash(hash, source.id)?,
            None => None,
        } {
            // The story already has (or will have) an item of this source: text may not join it.
            if joined.contains(&m.story_id) {
                Verdict::Open
            } else {
                Verdict::Join(Decision::exact(
                    m,
                    Layer::SameText,
                    format!("same title and summary text as item {}", m.item_id),
                ))
            }
        } else if let Some(&j) = item.canonical_url.as_deref().and_then(|u| by_url.get(u)) {
            Verdict::JoinEarlier(j)
        } else {
            Verdict::Open
        };
        if verdict.is_new()
            && let Some(url) = item.canonical_url.as_deref()
        {
            by_url.entry(url).or_insert(i);
        }
        if let Verdict::Join(Decision {
            story_id: Some(s), ..
        }) = &verdict
        {
            joined.insert(*s);
        }
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

fn same_text(a: &NormalizedItem, b: &NormalizedItem) -> bool {
    a.content_hash == b.content_hash && a.title == b.title && a.summary == b.summary
}

/// Whether the exact layers could match an entry of `later` against an unwritten entry of `earlier`: the
/// same source (guids), or a shared canonical URL or text key. A feed that may must wait until the earlier
/// one is written before its keys are looked up.
pub(crate) fn may_depend_on(
    later: (SourceRef, &[NormalizedItem]),
    earlier: (SourceRef, &[NormalizedItem]),
) -> bool {
    later.0.id == earlier.0.id
        || later.1.iter().any(|a| {
            earlier.1.iter().any(|b| {
                (a.content_hash.is_some() && a.content_hash == b.content_hash)
                    || (a.canonical_url.is_some() && a.canonical_url == b.canonical_url)
            })
        })
}
