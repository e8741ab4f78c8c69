//! Placing one feed's entries in two steps, so that they can run on two threads. The exact layers read the
//! store and give each entry a [`Verdict`]; then the similarity layer decides the entries no exact layer
//! placed, and every new item gets its ids (see [`Ids`]). The second step needs no database: it can place
//! feed *n+1* while the store writes feed *n*.
//!
//! An entry is judged against stored items and against the entries before it in its own feed, as if each
//! entry had been written before the next one was looked up.

use std::collections::{HashMap, HashSet};

use super::similar::{Features, SimilarLayer, Staged};
use super::{Decision, FeedFacts, Layer, Placement, SourceRef};
use crate::normalize::NormalizedItem;
use crate::store::{Batch, IngestTx};

/// What the exact layers made of one entry.
#[derive(Debug, Clone)]
pub enum Verdict {
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
    fn is_new(&self) -> bool {
        matches!(
            self,
            Verdict::Join(_) | Verdict::JoinEarlier(_) | Verdict::Open
        )
    }
}

/// Where an entry goes, with the ids of what it creates.
#[derive(Debug, Clone)]
pub enum Placed {
    /// Nothing to write.
    Skip,
    /// Rewrite a stored item.
    Update {
        /// The item.
        item_id: i64,
        /// Its story.
        story_id: i64,
    },
    /// Insert a new item.
    Insert {
        /// The new item's id.
        item_id: i64,
        /// The story it joins, or founds when `new_story`.
        story_id: i64,
        /// Whether the item founds the story.
        new_story: bool,
        /// Why, for `explain`.
        decision: Decision,
    },
}

impl Placed {
    /// The (item, story) this entry was written to, if any.
    fn ids(&self) -> Option<(i64, i64)> {
        match *self {
            Placed::Skip => None,
            Placed::Update { item_id, story_id }
            | Placed::Insert {
                item_id, story_id, ..
            } => Some((item_id, story_id)),
        }
    }
}

/// Hands out item and story ids in order, from the first free ones of the batch being written.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    /// The next item id.
    pub item: i64,
    /// The next story id.
    pub story: i64,
}

impl Ids {
    /// The first free ids of the batch being written.
    pub fn first_free(batch: &Batch) -> anyhow::Result<Ids> {
        let (item, story) = batch.next_ids()?;
        Ok(Ids { item, story })
    }

    fn next_item(&mut self) -> i64 {
        self.item += 1;
        self.item - 1
    }
    fn next_story(&mut self) -> i64 {
        self.story += 1;
        self.story - 1
    }
}

/// Runs the exact layers over every entry of a feed.
pub fn exact_verdicts(
    tx: &IngestTx,
    source: SourceRef,
    items: &[NormalizedItem],
) -> anyhow::Result<Vec<Verdict>> {
    let facts = FeedFacts {
        source_has_items: tx.source_has_items(source.id)?,
        tombstones: tx.has_tombstones()?,
    };
    let mut verdicts: Vec<Verdict> = Vec::with_capacity(items.len());
    // The feed's earlier entries by guid (the latest one) and its earlier new items by canonical URL (the
    // first one), which the store does not hold yet.
    let mut by_guid: HashMap<&str, usize> = HashMap::new();
    let mut by_url: HashMap<&str, usize> = HashMap::new();
    // Stored stories that new items of this feed joined: the same-text layer skips a story that has an item
    // from this source, and these will have one.
    let mut joined: HashSet<i64> = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let earlier = by_guid.insert(&item.guid, i);
        if let Some(j) = earlier {
            let e = &items[j];
            if e.content_hash == item.content_hash
                && e.title == item.title
                && e.summary == item.summary
            {
                verdicts.push(Verdict::Skip);
                continue;
            }
            if verdicts[j].is_new() || matches!(verdicts[j], Verdict::UpdateEarlier(_)) {
                verdicts.push(Verdict::UpdateEarlier(j));
                continue;
            }
        }
        let verdict = match super::place_exact(tx, source, item, facts)? {
            Some(Placement::Skip) => Verdict::Skip,
            Some(Placement::Update { item_id, story_id }) => Verdict::Update { item_id, story_id },
            Some(Placement::Insert(d)) => match d.story_id {
                Some(s) if d.layer == Layer::SameText && joined.contains(&s) => Verdict::Open,
                _ => Verdict::Join(d),
            },
            None => match item.canonical_url.as_deref().and_then(|u| by_url.get(u)) {
                Some(&j) => Verdict::JoinEarlier(j),
                None => Verdict::Open,
            },
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

/// Places every entry of a feed from its verdicts: similarity (when `layer` is given and the source allows
/// merging) decides the open ones, and new items and stories get ids. Returns the placements and what to
/// add to the window once the feed is stored.
pub fn place_feed(
    layer: Option<&SimilarLayer>,
    ids: &mut Ids,
    source: SourceRef,
    items: &[NormalizedItem],
    features: &[Features],
    verdicts: Vec<Verdict>,
) -> (Vec<Placed>, Vec<Staged>) {
    // A source with `merge = false` neither joins other stories by similarity nor is joined by them.
    let similar = layer.filter(|_| source.merge);
    let mut placed: Vec<Placed> = Vec::with_capacity(items.len());
    let mut staged = Vec::new();
    for (i, (item, verdict)) in items.iter().zip(verdicts).enumerate() {
        // Computed here only when the poll did not (it normally has): similarity and the window need them.
        let f = similar.map(|l| features.get(i).cloned().unwrap_or_else(|| l.features(item)));
        let p = match verdict {
            Verdict::Skip => Placed::Skip,
            Verdict::Update { item_id, story_id } => Placed::Update { item_id, story_id },
            Verdict::UpdateEarlier(j) => match placed[j].ids() {
                Some((item_id, story_id)) => Placed::Update { item_id, story_id },
                None => Placed::Skip,
            },
            Verdict::Join(decision) => Placed::Insert {
                item_id: ids.next_item(),
                story_id: decision.story_id.expect("an exact join names its story"),
                new_story: false,
                decision,
            },
            Verdict::JoinEarlier(j) => {
                let (earlier, story_id) = placed[j].ids().expect("the earlier entry is new");
                let url = item.canonical_url.as_deref().unwrap_or_default();
                Placed::Insert {
                    item_id: ids.next_item(),
                    story_id,
                    new_story: false,
                    decision: super::exact(
                        story_id,
                        earlier,
                        Layer::SameUrl,
                        format!("same canonical URL {url} as item {earlier}"),
                    ),
                }
            }
            Verdict::Open => {
                let decision = match similar {
                    Some(l) => l.place(
                        source,
                        item,
                        f.as_ref().expect("computed with similarity on"),
                    ),
                    None => super::new_story("no stored story matched".into(), Vec::new(), 0.0),
                };
                let item_id = ids.next_item();
                match decision.story_id {
                    Some(story_id) => Placed::Insert {
                        item_id,
                        story_id,
                        new_story: false,
                        decision,
                    },
                    None => Placed::Insert {
                        item_id,
                        story_id: ids.next_story(),
                        new_story: true,
                        decision,
                    },
                }
            }
        };
        if let (
            Some(f),
            Placed::Insert {
                item_id, story_id, ..
            },
        ) = (f, &p)
        {
            staged.push(SimilarLayer::stage(*item_id, *story_id, source.id, item, f));
        }
        placed.push(p);
    }
    (placed, staged)
}
