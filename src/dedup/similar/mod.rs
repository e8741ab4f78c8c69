//! The spin-robust matcher (dedup layer 4, "similar"): near-duplicate and spun-copy matching of
//! news items over a sliding time window, and the layer that keeps that window in step with the
//! database. It owns text features, a time-windowed candidate index, synonym-aware verification,
//! shape (kept-in-place) verification, chain-free online clustering, learned substitutions and
//! the WordNet-derived lexicon.
//!
//! Article spinners swap words for thesaurus synonyms chosen sense-blind ("Ukraine ready to meet
//! Russia" -> "Ukraine prepared to satisfy Russia"), so hashes of words fail. Instead:
//! * [`Matcher::features`] strips feed decorations from the title ("UPDATE 2-", " - Outlet"),
//!   tokenizes, lemmatizes (WordNet morphy), drops stopwords (including the connectives spinners
//!   swap) and keeps per content token its lemma ids, from which the [`Lexicon`]'s concept keys
//!   follow. Anchors are numbers, capitalised names and words the thesaurus does not know.
//!   (`tokens`, `features`, `lexicon`)
//! * Candidates come from an inverted index over terms (anchors, title words, the lead of the
//!   summary) and the concepts of title words, within the time window. Only an item's rarest
//!   keys are looked up, long posting lists are read only at their newest end (very long ones
//!   not at all), and at most `Params::max_verify` candidates are verified, so the cost per item
//!   stays bounded however large the window grows. Posting lists keep LEB128 deltas of sequence
//!   numbers. (`index`, `postings`; `window` inserts and evicts)
//! * The window's features live in fixed-size chunks: the newest in memory up to a byte budget, the
//!   rest in an unnamed spill file beside the database, read back when an item is compared. (`spill`)
//! * Verification aligns the two token sequences in order, where two tokens match when
//!   identical or related through WordNet, weighting words by IDF. It scores the titles and the
//!   title plus summary (the shorter text against the same-length prefix of the longer one, so a
//!   cut summary still matches) and penalises inserted or deleted words: a spinner substitutes
//!   word for word, while two reports of one event say similar things in other words and orders.
//!   (`score`)
//! * A spin through a thesaurus we do not know shares no synonym with its original, but it keeps
//!   the number and order of words, and names, numbers and function words in place. When the
//!   word scores fall short, the pair's shapes (a byte per word, function words included) are
//!   aligned within a narrow band; a pair that keeps more of its words in place than two reports
//!   of one event share counts as a spin. Titles alone need the same length, and titles whose
//!   numbers differ never match by shape. (`kept`)
//! * Clustering never merges on one edge: a new item joins a story only when its best member
//!   matches strongly and the story's representative and most other members agree, and never a
//!   story that already has an item from the same source. (`cluster`)
//! * An item is decided as it arrives, against what the window holds then; the window then settles:
//!   the items from the earliest one placed since the last settle on are decided again in the
//!   canonical order (publication time, then a hash of source URL and guid), so the same items in
//!   any arrival order form the same stories. A backlog of unsettled items is decided only when it
//!   settles, not twice. (`settle`)
//! * Confidently aligned story members teach the matcher word substitutions its thesaurus lacks
//!   (a farm's own thesaurus); a substitution counts once several live item pairs show it.
//!   (`learn`)
//! * [`SimilarLayer`] ties the matcher to stored items: it rebuilds the window from the database
//!   at start and adds each feed's items once the feed commits; [`FeatureExtractor`] computes
//!   features away from the writer thread. (`layer`)
//!
//! This file holds what every part shares: [`Params`], the id and key constants, the
//! deterministic hasher and the [`Matcher`]'s state. Each child module adds the `Matcher`
//! methods of one concept; the state's fields are private to this module and its children.
//!
//! Decisions are deterministic: maps are only looked up, never iterated, ties break by the
//! canonical order key, and everything a decision uses (document frequencies, index, stories,
//! learned substitutions) is a function of the live items and their insertion order. A settled
//! window holds its items in canonical order, so a matcher rebuilt by re-inserting them in that
//! order decides exactly like the one it replaces.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

mod cluster;
mod features;
mod index;
mod kept;
mod layer;
mod learn;
mod lexicon;
mod members;
mod memory;
mod postings;
mod score;
mod settle;
mod slots;
mod spill;
mod tokens;
mod window;

#[cfg(test)]
mod tests;

pub use cluster::{Candidate, Decision};
pub use features::Features;
pub use layer::{FeatureExtractor, SimilarLayer, Staged, WindowItem};
pub use lexicon::Lexicon;
pub use memory::WindowMemory;
pub use score::PairScore;
pub use settle::{Moved, Placed, Settled};

/// Tunable thresholds and limits of the matcher.
#[derive(Clone, Debug)]
pub struct Params {
    /// Only items published within this many seconds of each other are compared (72 h).
    pub window_secs: i64,
    /// Content tokens kept per item (title first); the rest of a long summary is ignored.
    pub max_tokens: usize,
    /// Content tokens kept from the title.
    pub max_title_tokens: usize,
    /// Newest entries scanned per posting list; older entries of longer lists are skipped.
    pub posting_scan_cap: usize,
    /// Posting lists longer than this share of the window (and than `posting_scan_cap`) are not
    /// scanned at all: such words are too common to point at a copy.
    pub posting_skip_share: f32,
    /// Summary words (besides anchors) indexed per item: the lead of a summary survives
    /// truncation, and indexing fewer keys keeps inserts, evictions and memory cheap.
    pub max_indexed_summary_words: usize,
    /// Rarest index keys of an item looked up per decision.
    pub max_query_keys: usize,
    /// Candidates with fewer index votes than this share of the leader's are not verified.
    pub min_vote_share: f32,
    /// Candidates need index votes worth this many words unique in the window (a word in one
    /// item of N votes ln N); a copy shares several rare words or concepts with its original.
    pub min_votes: f32,
    /// The same for an item with a summary, whose copy shares summary words as well: one shared
    /// rare word or number is not enough to verify a pair, which kept template-like feeds (a
    /// few hundred words recombined) verifying a false candidate for almost every item.
    pub min_votes_full: f32,
    /// Candidates verified per decision (most index votes first) for an item without a summary.
    pub max_verify: usize,
    /// Candidates verified per decision for an item with a summary. Verifying such a pair reads
    /// the summaries too, several times the cost of two titles, while a copy with a summary
    /// shares enough words to rank at or near the top of the votes.
    pub max_verify_full: usize,
    /// Other story members checked for agreement (the representative first).
    pub max_members_checked: usize,
    /// A title with fewer content words than this is never matched on the title alone.
    pub min_title_words: usize,
    /// Score needed from the best member when both items have a summary.
    pub full_threshold: f32,
    /// Score needed from the best member when either item is title-only.
    pub title_threshold: f32,
    /// Score the representative and the majority of other comparable members must reach.
    pub member_threshold: f32,
    /// Weight of a synonym (related, not identical) token match relative to an identical one.
    pub syn_weight: f32,
    /// Cost of a word inserted or deleted in an aligned pair, relative to the word's weight.
    /// Spinners substitute word for word; two reports of one event differ by indels.
    pub gap_cost: f32,
    /// Share of the pair score taken from the titles when both items have a summary.
    pub title_share: f32,
    /// Learning: a new story member aligned with an earlier one at least this well (unweighted,
    /// gapped) teaches the matcher the word substitutions between them (a farm's thesaurus).
    /// Above 1 disables learning.
    pub learn_threshold: f32,
    /// A learned substitution counts as a synonym once this many live item pairs show it.
    pub learn_min_count: u32,
    /// Size of the pseudo-corpus behind the IDF prior used while few items have been seen.
    pub prior_docs: f32,
    /// Shape evidence (see `kept`) at which a pair with summaries counts as a spin whatever its
    /// words: more of the text's words kept in place than two reports of one event share.
    pub kept_full: f32,
    /// The same for titles alone, which are shorter and need more (and the same length).
    pub kept_title: f32,
    /// Unsettled items past which new items are not decided on arrival, only when the window settles:
    /// settling decides a backlog from its start anyway (see `settle`).
    pub defer_after_items: usize,
    /// Bytes of the window's item features kept in memory; the rest waits in a file in `spill_dir`. Settling
    /// a first poll of 100,000 feeds read them back in canonical order, not the order they were stored, so a
    /// larger share in memory hardly helped: at 32 MiB rather than 64 its settle took as long (47.4 s against
    /// 47.0 s) and its peak was 31 MB lower.
    pub feature_memory: usize,
    /// Where features past `feature_memory` are written (an unnamed file); None keeps them all in memory.
    pub spill_dir: Option<std::path::PathBuf>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            window_secs: 72 * 3600,
            max_tokens: 64,
            max_title_tokens: 24,
            posting_scan_cap: 32,
            max_query_keys: 24,
            max_indexed_summary_words: 12,
            posting_skip_share: 0.02,
            max_verify: 5,
            max_verify_full: 3,
            min_vote_share: 0.4,
            min_votes: 0.5,
            min_votes_full: 0.8,
            max_members_checked: 6,
            min_title_words: 4,
            full_threshold: 0.6,
            title_threshold: 0.6,
            member_threshold: 0.35,
            syn_weight: 0.85,
            title_share: 0.3,
            gap_cost: 0.5,
            prior_docs: 500.0,
            learn_threshold: 0.8,
            learn_min_count: 3,
            kept_full: 0.47,
            kept_title: 0.6,
            defer_after_items: 2_000,
            feature_memory: 32 << 20,
            spill_dir: None,
        }
    }
}

/// Sentinel for "no lemma" while a token's lemmas are collected.
const NONE: u32 = u32::MAX;
/// Term ids at or above this are hashes of words WordNet does not know, and of numbers.
const OOV_BIT: u32 = 1 << 31;
/// Index-key tag of concept (synset) keys; term keys have tag 0.
const TAG_CONCEPT: u64 = 1 << 32;
/// Words with more concept keys than this are too vague to index by concept.
const MAX_INDEXED_KEYS: usize = 6;

/// A small, fast, deterministic hasher (FxHash) for the matcher's internal maps, which are only
/// ever looked up, never iterated, so their order cannot leak into decisions.
#[derive(Default, Clone, Copy)]
struct Fx(u64);
impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
}
/// A map with the [`Fx`] hasher.
type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// A story's live members' sequence numbers; most stories have one, kept without an allocation.
type Members = smallvec::SmallVec<[u64; 1]>;

/// One item in the window.
#[derive(Debug)]
struct Entry {
    item_id: i64,
    story_id: i64,
    source_id: i64,
    /// Its source's priority (the story's lead is its member from the highest).
    priority: i32,
    /// Whether it has summary text: the index checks it for every candidate, without reading features.
    has_summary: bool,
    /// Whether it waits for the next settle outside the index (see [`Matcher::defer_placed`]).
    waiting: bool,
    published: i64,
    /// Its place in the canonical order, after `published`: a hash of its source's URL and its guid, so
    /// that ties break the same way whatever order items arrived in (see `settle`).
    order_key: u64,
    /// Where its features are in the window's store ([`Matcher::feat`] reads them).
    f: spill::FeatRef,
}

/// The online near-duplicate matcher over a sliding time window.
pub struct Matcher {
    params: Params,
    lex: &'static Lexicon,
    /// Entries by sequence number: `entries[seq - base]`; `None` once evicted.
    entries: slots::Slots<Entry>,
    /// Sequence number of `entries[0]`.
    base: u64,
    /// Items in the window.
    live: usize,
    /// Items counted in the document frequencies: the live ones, and while settling also those taken
    /// out to be decided again (IDF is the whole window's, whatever point of it is being decided).
    docs: usize,
    /// Eviction order, by [`window::time_key`]: publication time, then sequence number.
    by_time: BTreeSet<u64>,
    /// Candidate index: key -> sequence numbers (mod 2^32) in insertion order; evicted ones
    /// are skipped when read and trimmed from the front.
    postings: FxMap<u64, postings::Postings>,
    /// Posting list length per thesaurus term (by [`Lexicon::index`]) and per concept (by
    /// synset): ranking an item's keys reads these small arrays instead of the map.
    term_lens: Vec<u32>,
    concept_lens: Vec<u32>,
    /// Document frequency among live items of terms the lexicon does not know.
    df: FxMap<u32, u32>,
    /// Document frequency of lexicon terms, indexed by [`Lexicon::index`] (a plain array: no
    /// hashing, and small enough to stay in cache, unlike one indexed by lemma id).
    df_lex: Vec<u32>,
    /// Story -> its live members' sequence numbers in insertion order (first = representative).
    stories: members::StoryMembers,
    /// Item (sequence number) -> the substitutions learned when it joined its story: (earlier member's
    /// sequence number, substitution key). Each is withdrawn when either item leaves the window. Most
    /// items teach nothing, so this lives beside the entries, not in them.
    taught: FxMap<u64, Box<[(u64, u64)]>>,
    /// Item (sequence number) -> the item an exact layer (same URL, same text) joined it to: such an item
    /// goes where that item goes and is never decided by similarity. Few are, so not in the entries.
    pinned: FxMap<u64, i64>,
    /// Learned substitution (smaller term << 32 | larger term) -> live item pairs showing it.
    learned: FxMap<u64, u32>,
    /// Term -> terms it has a usable learned substitution with (count at least
    /// `learn_min_count`; lookups only).
    partners: FxMap<u32, Vec<u32>>,
    /// Items added while a backlog waits to settle, each with the item an exact layer joined it to (or 0):
    /// counted in the document frequencies, but indexed only when settling decides them, so that a backlog
    /// is decided once, in canonical order, instead of once on arrival and again when it settles.
    deferred: Vec<Entry>,
    /// Deferred item (by id) -> the item an exact layer joined it to; few have one, so not in the vector
    /// above, which at millions of items took 8 bytes more per item for a field nearly always 0.
    deferred_pins: FxMap<i64, i64>,
    /// The features of every item above: in memory up to `Params::feature_memory`, the rest on disk.
    feats: spill::FeatureStore,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("items", &self.live)
            .field("postings", &self.postings.len())
            .field("stories", &self.stories.len())
            .finish()
    }
}

impl Matcher {
    /// A matcher with an empty window.
    pub fn new(params: Params) -> Self {
        Matcher {
            feats: spill::FeatureStore::new(params.feature_memory, params.spill_dir.as_deref()),
            params,
            lex: Lexicon::shipped(),
            entries: slots::Slots::default(),
            base: 0,
            live: 0,
            docs: 0,
            by_time: BTreeSet::new(),
            postings: FxMap::default(),
            term_lens: vec![0; Lexicon::shipped().len()],
            concept_lens: vec![0; Lexicon::shipped().synset_bound()],
            df: FxMap::default(),
            df_lex: vec![0; Lexicon::shipped().len()],
            stories: members::StoryMembers::default(),
            taught: FxMap::default(),
            pinned: FxMap::default(),
            learned: FxMap::default(),
            partners: FxMap::default(),
            deferred: Vec::new(),
            deferred_pins: FxMap::default(),
        }
    }

    /// The parameters in use.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Number of items in the window, those waiting for the next settle included.
    pub fn len(&self) -> usize {
        self.live + self.deferred.len()
    }

    /// True when the window holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The features of a window entry, read from the store.
    fn feat(&self, e: &Entry) -> features::FeatInner {
        features::FeatInner::from_words(self.feats.get(e.f))
    }
}
