//! Placing one feed's entries once the exact layers gave their [`Verdict`]s: the similarity layer decides
//! the entries no exact layer placed, and every new item and story gets its ids. This needs no database, so
//! it can place feed *n+1* on one thread while the store writes feed *n* on another.

use super::exact::Verdict;
use super::similar::{Features, Params, Settled, SimilarLayer, Staged, WindowItem};
use super::{Decision, Layer, SourceRef};
use crate::config::DedupConfig;
use crate::normalize::NormalizedItem;

/// Where an entry goes, with the ids of what it creates.
#[derive(Debug, Clone)]
pub enum Placement {
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

impl Placement {
    /// The (item, story) this entry was written to, if any.
    fn ids(&self) -> Option<(i64, i64)> {
        match *self {
            Placement::Skip => None,
            Placement::Update { item_id, story_id }
            | Placement::Insert {
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
    fn next_item(&mut self) -> i64 {
        self.item += 1;
        self.item - 1
    }
    fn next_story(&mut self) -> i64 {
        self.story += 1;
        self.story - 1
    }
}

/// Decides where entries go; owns the similarity window when that layer is on.
pub(crate) struct Placer {
    /// The similarity layer's parameters, when it is on.
    params: Option<Params>,
    /// Its window of recent items; None until first needed (a run that only sees 304s never pays for it)
    /// and after a rollback, which left it holding items that were never stored.
    window: Option<SimilarLayer>,
}

impl Placer {
    /// A placer for these settings whose window's features past its memory budget go to a file in
    /// `spill_dir` (the database's directory); its window is loaded when first needed.
    pub(crate) fn new(config: &DedupConfig, spill_dir: &std::path::Path) -> Self {
        Placer {
            params: config.near_duplicates.then(|| Params {
                spill_dir: Some(spill_dir.to_path_buf()),
                ..config.matcher_params()
            }),
            window: None,
        }
    }

    /// The oldest publication time the window holds, given the newest stored one (None: nothing to load).
    pub(crate) fn window_start(&self, newest_published: Option<i64>) -> Option<i64> {
        Some(newest_published? - self.params.as_ref()?.window_secs)
    }

    /// Whether the window must be loaded before placing.
    pub(crate) fn needs_window(&self) -> bool {
        self.params.is_some() && self.window.is_none()
    }

    /// Builds the window from stored items (in insertion order, so it decides exactly as before a restart),
    /// reading each one's title and summary with `text`.
    pub(crate) fn load_window<E>(
        &mut self,
        items: Vec<WindowItem>,
        text: impl FnMut(i64) -> Result<(String, String), E>,
    ) -> Result<(), E> {
        if let Some(params) = &self.params {
            self.window = Some(SimilarLayer::rebuild(items, params.clone(), text)?);
        }
        Ok(())
    }

    /// Forgets the window after a rollback; it is loaded again from what was stored, when next needed.
    pub(crate) fn forget_window(&mut self) {
        self.window = None;
    }

    /// Items in the window.
    pub(crate) fn window_len(&self) -> usize {
        self.window.as_ref().map_or(0, SimilarLayer::len)
    }

    /// An estimate of the window's heap bytes (None without a window).
    pub(crate) fn window_memory(&self) -> Option<crate::dedup::similar::WindowMemory> {
        self.window.as_ref().map(SimilarLayer::memory)
    }

    /// Places every entry of a feed from its verdicts: similarity (when on and the source allows merging)
    /// decides the open ones, and new items and stories get ids. Returns the placements and what to add to
    /// the window ([`Placer::stage`]) once the feed is known to be stored.
    pub(crate) fn place_feed(
        &self,
        ids: &mut Ids,
        source: SourceRef,
        items: &[NormalizedItem],
        features: &[Features],
        verdicts: Vec<Verdict>,
    ) -> (Vec<Placement>, Vec<Staged>) {
        // A source with `merge = false` neither joins other stories by similarity nor is joined by them.
        let similar = self.window.as_ref().filter(|_| source.merge);
        // Deciding on arrival is wasted on a backlog, which the next settle decides from its start anyway.
        let defer = similar.is_some_and(SimilarLayer::deferring);
        let mut placed: Vec<Placement> = Vec::with_capacity(items.len());
        let mut staged = Vec::new();
        for (i, (item, verdict)) in items.iter().zip(verdicts).enumerate() {
            // Computed here only when the poll did not (it normally has).
            let f = similar.map(|l| features.get(i).cloned().unwrap_or_else(|| l.features(item)));
            let p = match verdict {
                Verdict::Skip => Placement::Skip,
                Verdict::Update { item_id, story_id } => Placement::Update { item_id, story_id },
                Verdict::UpdateEarlier(j) => match placed[j].ids() {
                    Some((item_id, story_id)) => Placement::Update { item_id, story_id },
                    None => Placement::Skip,
                },
                Verdict::Join(decision) => Placement::Insert {
                    item_id: ids.next_item(),
                    story_id: decision.story_id.expect("an exact join names its story"),
                    new_story: false,
                    decision,
                },
                Verdict::JoinEarlier(j) => {
                    let (earlier, story_id) = placed[j].ids().expect("the earlier entry is new");
                    let url = item.canonical_url.as_deref().unwrap_or_default();
                    Placement::Insert {
                        item_id: ids.next_item(),
                        story_id,
                        new_story: false,
                        decision: Decision::exact(
                            super::exact::KeyMatch {
                                item_id: earlier,
                                story_id,
                            },
                            Layer::SameUrl,
                            format!("same canonical URL {url} as item {earlier}"),
                        ),
                    }
                }
                Verdict::Open => {
                    let decision = match (similar, &f) {
                        (Some(_), Some(_)) if defer => Decision::new_story(
                            "arrived in a backlog: the similarity layer decides it when the window settles"
                                .into(),
                            Vec::new(),
                            0.0,
                        ),
                        (Some(l), Some(f)) => l.place(source, item, f),
                        _ => Decision::new_story("no stored story matched".into(), Vec::new(), 0.0),
                    };
                    let item_id = ids.next_item();
                    match decision.story_id {
                        Some(story_id) => Placement::Insert {
                            item_id,
                            story_id,
                            new_story: false,
                            decision,
                        },
                        None => Placement::Insert {
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
                Placement::Insert {
                    item_id,
                    story_id,
                    decision,
                    ..
                },
            ) = (f, &p)
            {
                let pinned_to = match decision.layer {
                    Layer::SameUrl | Layer::SameText => {
                        decision.candidates.first().map_or(0, |c| c.item_id)
                    }
                    Layer::Similar | Layer::New => 0,
                };
                staged.push(SimilarLayer::stage(
                    *item_id, *story_id, source, item, pinned_to, f, defer,
                ));
            }
            placed.push(p);
        }
        (placed, staged)
    }

    /// Items placed since the window last settled (see [`SimilarLayer::backlog`]).
    pub(crate) fn backlog(&self) -> usize {
        self.window.as_ref().map_or(0, SimilarLayer::backlog)
    }

    /// Whether items were placed since the window last settled (see [`SimilarLayer::settle`]).
    pub(crate) fn needs_settle(&self) -> bool {
        self.window.as_ref().is_some_and(SimilarLayer::needs_settle)
    }

    /// Settles the window: decides again, in canonical order, every item from the earliest one placed
    /// since the last settle, and returns the items whose story changed. Stories it founds take ids from
    /// `next_story` on.
    pub(crate) fn settle(&mut self, next_story: &mut i64) -> Settled {
        match &mut self.window {
            Some(window) => window.settle(|| {
                *next_story += 1;
                *next_story - 1
            }),
            None => Settled::default(),
        }
    }

    /// Adds a stored feed's new items to the window, so that later entries can join them.
    pub(crate) fn stage(&mut self, staged: Vec<Staged>) {
        if let Some(window) = &mut self.window {
            staged.into_iter().for_each(|s| window.add(s));
        }
    }
}
