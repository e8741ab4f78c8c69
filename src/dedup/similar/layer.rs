//! The similarity layer in the pipeline: the spin-robust [`Matcher`] over a window of recent items, kept in
//! step with the database. It is rebuilt from stored items at start (in insertion order, so it decides
//! exactly as before the restart) and fed each feed's items as that feed's savepoint commits.

use super::{Features, Matcher, Params};
use crate::dedup::{CandidateNote, Decision, Layer, SourceRef};
use crate::normalize::NormalizedItem;

/// Computes text features away from the writer thread. Features depend only on the lexicon and the
/// parameters, never on the window, so an empty matcher computes exactly what the live one would.
pub struct FeatureExtractor(Matcher);

impl FeatureExtractor {
    /// An extractor for matchers built with `params`.
    pub fn new(params: Params) -> Self {
        FeatureExtractor(Matcher::new(params))
    }

    /// Text features of an item.
    pub fn features(&self, item: &NormalizedItem) -> Features {
        self.0.features(&item.title, &item.summary)
    }
}

/// The matcher plus the bookkeeping that ties it to stored items.
pub struct SimilarLayer {
    matcher: Matcher,
    window_secs: i64,
    /// Newest publication time seen; the window ends here (item time, not wall time, so replays and
    /// backfills behave like live polling).
    newest: i64,
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
    /// Plain title.
    pub title: String,
    /// Plain summary.
    pub summary: String,
    /// Whether its source allows similarity merging.
    pub merge: bool,
    /// Its source's priority.
    pub priority: i32,
}

/// An item placed in the current feed, to add to the window once its feed commits.
pub struct Staged {
    item_id: i64,
    story_id: i64,
    source_id: i64,
    priority: i32,
    published: i64,
    features: Features,
}

impl SimilarLayer {
    /// An empty window.
    pub fn new(params: Params) -> Self {
        SimilarLayer {
            window_secs: params.window_secs,
            matcher: Matcher::new(params),
            newest: i64::MIN,
        }
    }

    /// A window holding `items` (stored items of the window's span, oldest insertion first) from sources
    /// that allow merging, added in insertion order so that it decides exactly as before a restart.
    pub fn rebuild(items: Vec<WindowItem>, params: Params) -> Self {
        let mut layer = SimilarLayer::new(params);
        for w in items.into_iter().filter(|w| w.merge) {
            let features = layer.matcher.features(&w.title, &w.summary);
            layer.add(Staged {
                item_id: w.item_id,
                story_id: w.story_id,
                source_id: w.source_id,
                priority: w.priority,
                published: w.published,
                features,
            });
        }
        layer
    }

    /// Items in the window.
    pub fn len(&self) -> usize {
        self.matcher.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_empty()
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
        Decision {
            story_id: d.story_id,
            layer: if d.story_id.is_some() {
                Layer::Similar
            } else {
                Layer::New
            },
            score: f64::from(d.score),
            reason: d.reason,
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

    /// An item to add once its feed commits.
    pub fn stage(
        item_id: i64,
        story_id: i64,
        source: SourceRef,
        item: &NormalizedItem,
        features: Features,
    ) -> Staged {
        Staged {
            item_id,
            story_id,
            source_id: source.id,
            priority: source.priority,
            published: item.published.timestamp(),
            features,
        }
    }

    /// Adds a committed item to the window and drops items that fell out of it.
    pub fn add(&mut self, s: Staged) {
        self.matcher.insert_ranked(
            s.item_id,
            s.story_id,
            s.source_id,
            s.priority,
            s.published,
            s.features,
        );
        if s.published > self.newest {
            self.newest = s.published;
            self.matcher.evict_before(self.newest - self.window_secs);
        }
    }
}
