//! The similarity layer in the pipeline: the spin-robust [`Matcher`] over a window of recent items, kept in
//! step with the database. It is rebuilt from stored items at start (in insertion order, so it decides
//! exactly as before the restart) and fed each feed's items as that feed's savepoint commits.

use super::{Features, Matcher, Params, Placed, Settled};
use crate::dedup::{CandidateNote, Decision, Layer, SourceRef};
use crate::normalize::NormalizedItem;

/// Computes text features away from the writer thread. Features depend only on the lexicon and the
/// parameters, never on the window, so an empty matcher computes exactly what the live one would.
///
/// The matcher, and with it the lexicon (about 10 MB), is only built for the first new item: a cycle in
/// which every feed is unchanged never needs it.
pub struct FeatureExtractor {
    params: Params,
    matcher: std::sync::OnceLock<Matcher>,
}

impl FeatureExtractor {
    /// An extractor for matchers built with `params`.
    pub fn new(params: Params) -> Self {
        FeatureExtractor {
            params,
            matcher: std::sync::OnceLock::new(),
        }
    }

    /// Text features of an item.
    pub fn features(&self, item: &NormalizedItem) -> Features {
        self.matcher
            .get_or_init(|| Matcher::new(self.params.clone()))
            .features(&item.title, &item.summary)
    }
}

/// The matcher plus the bookkeeping that ties it to stored items.
pub struct SimilarLayer {
    matcher: Matcher,
    window_secs: i64,
    /// Newest publication time seen; the window ends here (item time, not wall time, so replays and
    /// backfills behave like live polling).
    newest: i64,
    /// The canonical place (published, order key) of the earliest item added since the window last
    /// settled: settling decides everything from there again.
    unsettled: Option<(i64, u64)>,
    /// Items added since the window last settled.
    backlog: usize,
    /// A backlog of this many unsettled items (a first poll, a catch-up after downtime) is not decided on
    /// arrival ([`Params::defer_after_items`]): settling decides every item from the earliest unsettled
    /// one on anyway, and a backlog's items arrive in no useful order, so deciding them twice would only
    /// double the work. Below it, items are decided as they arrive, and the settle that follows moves the
    /// few that an out-of-order arrival misplaced.
    defer_after: usize,
}

/// A stored item as the window needs it, read back from the store at start.
#[derive(Debug, Clone)]
pub struct WindowItem {
    /// Item row id.
    pub item_id: i64,
    /// Its story.
    pub story_id: i64,
    /// Its source.
    pub source_id: i64,
    /// Publication time.
    pub published: i64,
    /// Whether its source allows similarity merging.
    pub merge: bool,
    /// Its source's priority.
    pub priority: i32,
    /// Its canonical order key ([`crate::dedup::order_key`]).
    pub order_key: u64,
    /// The item an exact layer joined it to, or 0.
    pub pinned_to: i64,
    /// Stored after the window last settled, so still to be settled.
    pub unsettled: bool,
}

/// An item placed in the current feed, to add to the window once its feed commits.
pub struct Staged {
    placed: Placed,
    features: Features,
    /// Not decided on arrival (see [`Params::defer_after_items`]): the next settle decides it.
    deferred: bool,
}

impl SimilarLayer {
    /// An empty window.
    pub fn new(params: Params) -> Self {
        SimilarLayer {
            window_secs: params.window_secs,
            defer_after: params.defer_after_items,
            matcher: Matcher::new(params),
            newest: i64::MIN,
            unsettled: None,
            backlog: 0,
        }
    }

    /// A window holding `items` (stored items of the window's span) from sources that allow merging,
    /// added in canonical order, which is the order a settled window holds them in; items stored since
    /// the last settle are settled next. `text` reads an item's plain title and summary, one at a time as
    /// it is added: two million items' texts held at once were 725 MB of a 1.2 GB heap peak.
    pub fn rebuild<E>(
        mut items: Vec<WindowItem>,
        params: Params,
        mut text: impl FnMut(i64) -> Result<(String, String), E>,
    ) -> Result<Self, E> {
        let mut layer = SimilarLayer::new(params);
        items.retain(|w| w.merge);
        items.sort_by_key(|w| (w.published, w.order_key, w.item_id));
        let unsettled = items
            .iter()
            .find(|w| w.unsettled)
            .map(|w| (w.published, w.order_key));
        let backlog = items.iter().filter(|w| w.unsettled).count();
        for w in items {
            let (title, summary) = text(w.item_id)?;
            let features = layer.matcher.features(&title, &summary);
            layer.add(Staged {
                placed: Placed {
                    item_id: w.item_id,
                    story_id: w.story_id,
                    source_id: w.source_id,
                    priority: w.priority,
                    published: w.published,
                    order_key: w.order_key,
                    pinned_to: w.pinned_to,
                },
                features,
                deferred: false,
            });
        }
        layer.unsettled = unsettled;
        layer.backlog = backlog;
        Ok(layer)
    }

    /// Items in the window.
    pub fn len(&self) -> usize {
        self.matcher.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_empty()
    }

    /// An estimate of the window's heap bytes, by structure (see [`WindowMemory`]).
    pub fn memory(&self) -> super::WindowMemory {
        self.matcher.memory()
    }

    /// Text features of an item.
    pub fn features(&self, item: &NormalizedItem) -> Features {
        self.matcher.features(&item.title, &item.summary)
    }

    /// Decides whether the item joins a story in the window (layer `similar`) or founds one (`new`).
    pub fn place(&self, source: SourceRef, item: &NormalizedItem, features: &Features) -> Decision {
        let d = self
            .matcher
            .decide(source.id, item.published.timestamp(), features);
        Self::decision(&d)
    }

    /// Whether so many items wait to settle that new ones are left for the settle to decide (see
    /// [`Params::defer_after_items`]).
    pub fn deferring(&self) -> bool {
        self.backlog >= self.defer_after
    }

    /// An item to add once its feed commits; `pinned_to` is the item an exact layer joined it to, or 0;
    /// `deferred` when it was not decided on arrival.
    pub fn stage(
        item_id: i64,
        story_id: i64,
        source: SourceRef,
        item: &NormalizedItem,
        pinned_to: i64,
        features: Features,
        deferred: bool,
    ) -> Staged {
        Staged {
            placed: Placed {
                item_id,
                story_id,
                source_id: source.id,
                priority: source.priority,
                published: item.published.timestamp(),
                order_key: crate::dedup::order_key(source.key, &item.guid),
                pinned_to,
            },
            features,
            deferred,
        }
    }

    /// Adds a committed item to the window and drops items that fell out of it.
    pub fn add(&mut self, s: Staged) {
        let published = s.placed.published;
        let place = (published, s.placed.order_key);
        if self.unsettled.is_none_or(|u| place < u) {
            self.unsettled = Some(place);
        }
        self.backlog += 1;
        if s.deferred {
            self.matcher.defer_placed(s.placed, s.features);
        } else {
            self.matcher.insert_placed(s.placed, s.features);
        }
        if published > self.newest {
            self.newest = published;
            self.matcher.evict_before(self.newest - self.window_secs);
        }
    }
}

impl SimilarLayer {
    /// Items added since the window last settled, which the next settle decides (at least).
    pub fn backlog(&self) -> usize {
        self.backlog
    }

    /// Whether items were added since the window last settled.
    pub fn needs_settle(&self) -> bool {
        self.unsettled.is_some()
    }

    /// Decides every item from the earliest unsettled one on again, in canonical order (see `settle`), and
    /// returns what moved, with decisions in the pipeline's terms. New stories take ids from `new_story`.
    pub fn settle(&mut self, new_story: impl FnMut() -> i64) -> Settled {
        let Some(since) = self.unsettled.take() else {
            return Settled::default();
        };
        self.backlog = 0;
        self.matcher
            .evict_deferred_before(self.newest.saturating_sub(self.window_secs));
        self.matcher.settle(since, new_story)
    }

    /// A matcher decision as the pipeline records it.
    pub fn decision(d: &super::Decision) -> Decision {
        Decision {
            story_id: d.story_id,
            layer: if d.story_id.is_some() {
                Layer::Similar
            } else {
                Layer::New
            },
            score: f64::from(d.score),
            reason: d.reason.clone(),
            candidates: d
                .candidates
                .iter()
                .map(|c| CandidateNote {
                    item_id: c.item_id,
                    story_id: c.story_id,
                    score: f64::from(c.score),
                    title_score: f64::from(c.title_score),
                    full_score: f64::from(c.full_score),
                })
                .collect(),
        }
    }
}
