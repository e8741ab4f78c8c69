//! Near-duplicate and spun-copy matching of news items (dedup layer 3): text features,
//! a time-windowed candidate index, synonym-aware verification and chain-free online clustering.
//!
//! Article spinners swap words for thesaurus synonyms chosen sense-blind ("Ukraine ready to meet
//! Russia" -> "Ukraine prepared to satisfy Russia"), so hashes of words fail. Instead:
//! * [`Matcher::features`] strips feed decorations from the title ("UPDATE 2-", " - Outlet"),
//!   tokenizes, lemmatizes (WordNet morphy), drops stopwords (including the connectives spinners
//!   swap) and keeps per content token its lemma ids, from which the [`Lexicon`]'s concept keys
//!   follow. Anchors are numbers, capitalised names and words the thesaurus does not know.
//! * Candidates come from an inverted index over terms (anchors, title words, the lead of the
//!   summary) and the concepts of title words, within the time window. Only an item's rarest
//!   keys are looked up, long posting lists are read only at their newest end (very long ones
//!   not at all), and at most `Params::max_verify` candidates are verified, so the cost per item
//!   stays bounded however large the window grows.
//! * Verification aligns the two token sequences in order, where two tokens match when
//!   identical or related through WordNet, weighting words by IDF. It scores the titles and the
//!   title plus summary (the shorter text against the same-length prefix of the longer one, so a
//!   cut summary still matches) and penalises inserted or deleted words: a spinner substitutes
//!   word for word, while two reports of one event say similar things in other words and orders.
//! * Clustering never merges on one edge: a new item joins a story only when its best member
//!   matches strongly and the story's representative and most other members agree, and never a
//!   story that already has an item from the same source.
//! * Confidently aligned story members teach the matcher word substitutions its thesaurus lacks
//!   (a farm's own thesaurus); a substitution counts once several live item pairs show it.
//!
//! Decisions are deterministic: maps are only looked up, never iterated, ties break by item id,
//! and everything a decision uses (document frequencies, index, stories, learned substitutions)
//! is a function of the live items and their insertion order. A matcher rebuilt by re-inserting
//! the live items in order therefore decides exactly like the one it replaces.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

mod layer;
mod lexicon;

pub use layer::{FeatureExtractor, SimilarLayer, Staged};
pub use lexicon::Lexicon;
use lexicon::{FxStr, LemmaId};

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

/// One content token: its term id (primary lemma or hashed unknown word) and up to two
/// alternative lemmas (e.g. "left" -> left, leave).
#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    term: u32,
    /// (position, lemma) pairs, flattened.
    alts: &'a [u32],
}

impl Tok<'_> {
    fn term(&self) -> u32 {
        self.term
    }
    /// The term and the alternative lemmas.
    fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.term).chain(self.alts.chunks_exact(2).map(|a| a[1]))
    }
    fn lemmas(&self) -> impl Iterator<Item = LemmaId> + '_ {
        self.ids().filter(|&i| i < OOV_BIT)
    }
}

#[derive(Debug)]
struct FeatInner {
    /// The term id of each content token (the title's first), then the alternative lemmas of
    /// ambiguous tokens as (token position, lemma) pairs by position. The window holds hundreds of
    /// thousands of items, so a token takes 4 bytes and all of them share one allocation.
    data: Box<[u32]>,
    /// How many tokens `data` starts with (at most 64).
    n_terms: u8,
    /// How many of the tokens come from the title.
    title_len: u8,
    /// Whether the item has summary text (headline tickers have none).
    has_summary: bool,
    /// Bit i set: token i is an anchor (number, name, word the thesaurus does not know).
    anchors: u64,
    /// What deciding and inserting the item need, computed with the features on the poll tasks'
    /// threads instead of the single writer's. Items in the window keep only the tokens.
    prep: Option<Box<Prep>>,
}

impl FeatInner {
    /// The tokens in order.
    fn toks(&self) -> impl Iterator<Item = Tok<'_>> + Clone + '_ {
        let mut rest = self.alt_pairs();
        self.terms().iter().enumerate().map(move |(i, &term)| {
            let n = rest
                .chunks_exact(2)
                .take_while(|a| a[0] as usize == i)
                .count();
            let (alts, tail) = rest.split_at(2 * n);
            rest = tail;
            Tok { term, alts }
        })
    }

    /// The term id of each token.
    fn terms(&self) -> &[u32] {
        &self.data[..usize::from(self.n_terms)]
    }

    /// The alternative lemmas, as flattened (position, lemma) pairs.
    fn alt_pairs(&self) -> &[u32] {
        &self.data[usize::from(self.n_terms)..]
    }

    /// Number of tokens.
    fn len(&self) -> usize {
        usize::from(self.n_terms)
    }

    /// Number of tokens from the title.
    fn title_len(&self) -> usize {
        usize::from(self.title_len)
    }
}

/// Per-item tables that depend on the lexicon alone, never on the window.
#[derive(Debug)]
struct Prep {
    /// Index keys and their vote shares (see [`Matcher::index_keys`]).
    keys: Box<[(u64, f32)]>,
    /// Distinct term ids, sorted (for document frequencies).
    terms: Box<[u32]>,
    /// (lemma or term id, mask of tokens having it), sorted by id: the exact half of a probe.
    ids: Box<[(u32, u64)]>,
}

/// Pre-computed text features of one item (tokens, lemmas, concept keys, anchors). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Features(Arc<FeatInner>);

impl Features {
    /// Number of content words in the title (after stopwords and decorations are removed).
    pub fn title_words(&self) -> usize {
        self.0.title_len()
    }
    /// Number of content tokens kept (title and summary).
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when the item has no content token at all.
    pub fn is_empty(&self) -> bool {
        self.0.n_terms == 0
    }
    /// Whether the item has summary text.
    pub fn has_summary(&self) -> bool {
        self.0.has_summary
    }
    /// Number of anchor tokens (numbers, names, words the thesaurus does not know).
    pub fn anchors(&self) -> usize {
        self.0.anchors.count_ones() as usize
    }
}

/// One verified candidate.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The candidate item.
    pub item_id: i64,
    /// The story it belongs to.
    pub story_id: i64,
    /// Synonym-aware overlap of the two titles (0..1).
    pub title_score: f32,
    /// Synonym-aware overlap of title plus summary (0..1; the title score when either item is
    /// title-only).
    pub full_score: f32,
    /// Share of the shorter text's weight that is matched (0..1).
    pub coverage: f32,
    /// The combined score compared with the thresholds.
    pub score: f32,
}

/// The outcome of [`Matcher::decide`].
#[derive(Clone, Debug)]
pub struct Decision {
    /// Some(story) = join it; None = start a new story.
    pub story_id: Option<i64>,
    /// Score of the winning (or best rejected) candidate.
    pub score: f32,
    /// Operator-readable reason.
    pub reason: String,
    /// The best few candidates, best first.
    pub candidates: Vec<Candidate>,
    /// How many candidates were verified (a cost metric).
    pub verified: usize,
}

/// Scores of one pair of items (see [`Matcher::compare`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PairScore {
    /// Title overlap.
    pub title: f32,
    /// Title plus summary overlap (shorter text against the longer one's prefix).
    pub full: f32,
    /// Coverage of the shorter text.
    pub coverage: f32,
    /// Combined score: the title and text alignments with indels penalised (see
    /// `Params::gap_cost`); below `Params::member_threshold` the unpenalised upper bound.
    pub score: f32,
    /// Whether the pair was judged on titles only (either side has no summary).
    pub title_only: bool,
    /// Whether the pair can be judged at all: with a title-only side, both titles need
    /// `min_title_words` content words.
    pub comparable: bool,
}

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
type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// A story's live members' sequence numbers; most stories have one, kept without an allocation.
type Members = smallvec::SmallVec<[u64; 1]>;

/// One item in the window.
#[derive(Debug)]
struct Entry {
    item_id: i64,
    story_id: i64,
    source_id: i64,
    published: i64,
    f: Features,
    /// Substitutions learned when this item joined its story: (earlier member's sequence
    /// number, substitution key). Each is withdrawn when either item leaves the window.
    subs: Box<[(u64, u64)]>,
}

/// The online near-duplicate matcher over a sliding time window.
pub struct Matcher {
    params: Params,
    lex: &'static Lexicon,
    /// Entries by sequence number: `entries[seq - base]`; `None` once evicted.
    entries: VecDeque<Option<Entry>>,
    /// Sequence number of `entries[0]`.
    base: u64,
    /// Items in the window.
    live: usize,
    /// Eviction order: (published, seq).
    by_time: BTreeSet<(i64, u64)>,
    /// Candidate index: key -> sequence numbers (mod 2^32) in insertion order; evicted ones
    /// are skipped when read and trimmed from the front.
    postings: FxMap<u64, VecDeque<u32>>,
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
    stories: FxMap<i64, Members>,
    /// Learned substitution (smaller term << 32 | larger term) -> live item pairs showing it.
    learned: FxMap<u64, u32>,
    /// Term -> terms it has a usable learned substitution with (count at least
    /// `learn_min_count`; lookups only).
    partners: FxMap<u32, Vec<u32>>,
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

/// Function words and the connectives spinners swap ("but" -> "however", "must" -> "should",
/// "only if" -> "provided that"): they carry no story identity, and a spin changes them freely.
/// Sorted, for binary search.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "accordance", "according", "across", "additionally", "after",
    "afterwards", "again", "against", "ahead", "all", "almost", "along", "already", "also",
    "although", "am", "amid", "amidst", "among", "amongst", "an", "and", "another", "any", "are",
    "around", "as", "at", "be", "because", "been", "before", "being", "below", "besides",
    "between", "both", "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "done",
    "down", "during", "each", "either", "else", "even", "ever", "every", "few", "for", "from",
    "further", "furthermore", "had", "has", "have", "having", "he", "hence", "her", "here", "hers",
    "herself", "him", "himself", "his", "how", "however", "i", "if", "in", "into", "is", "it",
    "its", "itself", "just", "least", "less", "many", "may", "me", "meanwhile", "might", "more",
    "moreover", "most", "mr", "mrs", "ms", "much", "must", "my", "myself", "neither",
    "nevertheless", "no", "nonetheless", "nor", "not", "now", "of", "off", "often", "on", "once",
    "only", "onto", "or", "other", "others", "otherwise", "ought", "our", "ours", "ourselves",
    "out", "over", "own", "per", "prior", "provided", "providing", "rather", "regarding",
    "regardless", "said", "same", "say", "says", "shall", "she", "should", "since", "so", "some",
    "spite", "still", "such", "than", "that", "the", "their", "theirs", "them", "themselves",
    "then", "there", "thereby", "therefore", "these", "they", "this", "those", "though", "through",
    "throughout", "thus", "to", "too", "toward", "towards", "under", "unless", "until", "up",
    "upon", "us", "very", "via", "was", "we", "were", "what", "whatever", "when", "whenever",
    "where", "whereas", "whether", "which", "while", "whilst", "who", "whom", "whose", "why",
    "will", "with", "within", "without", "would", "yet", "you", "your", "yours",
];

fn is_stopword(w: &str) -> bool {
    STOPWORDS.binary_search(&w).is_ok()
}

/// FNV-1a, 32 bits: a stable id for words the lexicon does not know (and numbers).
fn fnv32(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// How a word enters an item's features (see [`Matcher::word_ids`]).
#[derive(Clone, Copy, Debug)]
enum WordIds {
    /// A stopword or a single letter: left out.
    Skip,
    /// A thesaurus word: its lemma ids, [`NONE`] after the last.
    Known([LemmaId; 3]),
    /// A word the thesaurus does not know: hashed, and an anchor when long enough.
    Unknown,
}

/// A raw token of the text: lower-cased form and how it was written.
struct RawTok {
    lower: String,
    capital: bool,
    all_caps: bool,
    number: bool,
    sentence_start: bool,
}

/// Splits text into word tokens (letters with inner apostrophes; possessive 's dropped) and
/// number tokens (digits with inner . , :), noting capitalisation and sentence starts.
fn raw_tokens(text: &str) -> Vec<RawTok> {
    // The character at byte offset `i` and its length in bytes.
    let at = |i: usize| {
        text.get(i..)
            .and_then(|r| r.chars().next().map(|c| (c, c.len_utf8())))
    };
    let mut out = Vec::new();
    let mut word = String::new();
    let mut i = 0;
    let mut sentence_start = true;
    while let Some((c, len)) = at(i) {
        if c.is_alphabetic() {
            word.clear();
            while let Some((c, len)) = at(i) {
                if c.is_alphabetic() {
                    word.push(c);
                } else if (c == '\'' || c == '\u{2019}')
                    && at(i + len).is_some_and(|(next, _)| next.is_alphabetic())
                {
                    word.push('\'');
                } else {
                    break;
                }
                i += len;
            }
            let word = word
                .strip_suffix("'s")
                .or_else(|| word.strip_suffix("'S"))
                .unwrap_or(&word);
            let capital = word.chars().next().is_some_and(char::is_uppercase);
            let all_caps = word.chars().nth(1).is_some() && word.chars().all(char::is_uppercase);
            out.push(RawTok {
                lower: if word.is_ascii() {
                    word.to_ascii_lowercase()
                } else {
                    word.to_lowercase()
                },
                capital,
                all_caps,
                number: false,
                sentence_start,
            });
            sentence_start = false;
        } else if c.is_ascii_digit() {
            let mut num = String::new();
            while let Some((c, len)) = at(i) {
                let inner = matches!(c, '.' | ',' | ':')
                    && at(i + len).is_some_and(|(next, _)| next.is_ascii_digit());
                if !c.is_ascii_digit() && !inner {
                    break;
                }
                if c != ',' {
                    num.push(c);
                }
                i += len;
            }
            out.push(RawTok {
                lower: num,
                capital: false,
                all_caps: false,
                number: true,
                sentence_start,
            });
            sentence_start = false;
        } else {
            if matches!(c, '.' | '!' | '?' | ':' | ';') {
                sentence_start = true;
            }
            i += len;
        }
    }
    out
}

/// Removes feed decorations from a title: a leading "UPDATE 2-", "BREAKING:" or "LIVE:" tag and
/// a trailing " - Outlet" or " | Outlet" of at most four capitalised words.
fn strip_title_decorations(title: &str) -> &str {
    let mut t = title.trim();
    if let Some(pos) = t.find([':', '-']) {
        let head = t[..pos].trim();
        let letters: String = head.chars().filter(|c| c.is_alphabetic()).collect();
        if letters.len() >= 4
            && letters.chars().all(char::is_uppercase)
            && head
                .chars()
                .all(|c| c.is_alphabetic() || c.is_ascii_digit() || c == ' ')
            && head.split_whitespace().count() <= 2
            && t[pos + 1..].split_whitespace().count() >= 3
        {
            t = t[pos + 1..].trim_start();
        }
    }
    for sep in [" | ", " - ", " \u{2013} ", " \u{2014} "] {
        if let Some(pos) = t.rfind(sep) {
            let tail = t[pos + sep.len()..].trim();
            let words: Vec<&str> = tail.split_whitespace().collect();
            if !words.is_empty()
                && words.len() <= 4
                && words.iter().all(|w| {
                    w.chars()
                        .next()
                        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
                })
                && t[..pos].split_whitespace().count() >= 3
            {
                t = t[..pos].trim_end();
                break;
            }
        }
    }
    t
}

/// Pre-computed view of the new item, to verify many candidates against it cheaply.
struct Probe<'a> {
    f: &'a Features,
    /// IDF weight per token.
    w: Vec<f32>,
    /// (lemma or term id, mask of probe tokens having it), sorted by id.
    ids: Cow<'a, [(u32, u64)]>,
    /// The probe's concepts: synset -> (mask of tokens owning it, mask of tokens related to it).
    concepts: ConceptTable,
    /// (learned substitute term, mask of probe tokens it substitutes), sorted by term.
    learned: Vec<(u32, u64)>,
}

/// Open-addressing hash table from synset to token masks: built once per decision without
/// sorting, and looked up for every concept key of every candidate token. The probed slots are
/// small (key and index), so a lookup that misses touches little memory.
struct ConceptTable {
    /// (synset + 1, index into `masks`); synset + 1 == 0 marks an empty slot.
    slots: Vec<(u32, u32)>,
    /// (mask of tokens owning the synset, mask of tokens related to it).
    masks: Vec<(u64, u64)>,
    mask: usize,
}

impl ConceptTable {
    fn with_capacity(n: usize) -> Self {
        let size = (n * 2).next_power_of_two().max(64);
        // Reuse this thread's last table: a fresh one per decision costs an allocation and
        // page-cold memory.
        let (mut slots, mut masks) = TABLE_BUFS.take();
        slots.clear();
        slots.resize(size, (0, 0));
        masks.clear();
        masks.reserve(n);
        ConceptTable {
            slots,
            masks,
            mask: size - 1,
        }
    }

    fn slot(&self, synset: u32) -> usize {
        (synset.wrapping_mul(0x9e37_79b1) as usize >> 7) & self.mask
    }

    fn add(&mut self, synset: u32, own: u64, rel: u64) {
        let mut i = self.slot(synset);
        loop {
            let (key, idx) = self.slots[i];
            if key == synset + 1 {
                let m = &mut self.masks[idx as usize];
                m.0 |= own;
                m.1 |= rel;
                return;
            }
            if key == 0 {
                self.slots[i] = (synset + 1, self.masks.len() as u32);
                self.masks.push((own, rel));
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    fn get(&self, synset: u32) -> Option<(u64, u64)> {
        let mut i = self.slot(synset);
        loop {
            let (key, idx) = self.slots[i];
            if key == synset + 1 {
                return Some(self.masks[idx as usize]);
            }
            if key == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }
}

impl Drop for ConceptTable {
    fn drop(&mut self) {
        let bufs = (
            std::mem::take(&mut self.slots),
            std::mem::take(&mut self.masks),
        );
        TABLE_BUFS.set(bufs);
    }
}

/// The buffers of a [`ConceptTable`]: slots and masks.
type TableBufs = (Vec<(u32, u32)>, Vec<(u64, u64)>);

thread_local! {
    /// The buffers of this thread's last dropped [`ConceptTable`].
    static TABLE_BUFS: std::cell::Cell<TableBufs> =
        const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

/// Buffers reused across the pairs of one decision.
#[derive(Default)]
struct Scratch {
    /// Related-token mask of the probe per candidate term (words recur across candidates).
    memo: FxMap<u32, u64>,
    /// Match rows of the current candidate.
    rows: Vec<(u64, u64)>,
    /// IDF weight per term (looked up once per decision).
    idf: FxMap<u32, f32>,
    /// Weights of the current candidate's tokens.
    wb: Vec<f32>,
    /// Index votes per entry offset; all zero between decisions (only touched slots are
    /// written, and they are reset after use), so summing votes needs no sort.
    votes: Vec<f32>,
    /// Entry offsets voted for in the current decision, repeats included.
    voted: Vec<u32>,
}

/// Tokens of the longer text compared with a shorter text of `short` tokens: the same length
/// plus slack for an added word or a split connective (a cut summary is a prefix).
fn prefix_len(short: usize) -> usize {
    short + short / 8 + 2
}

/// Key of a learned substitution between two terms (order-free).
fn sub_key(a: u32, b: u32) -> u64 {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    u64::from(x) << 32 | u64::from(y)
}

/// Sorts (id, token mask) pairs by id and merges the masks of equal ids.
fn merge_masks(pairs: &mut Vec<(u32, u64)>) {
    pairs.sort_unstable_by_key(|x| x.0);
    pairs.dedup_by(|b, a| {
        let same = a.0 == b.0;
        if same {
            a.1 |= b.1;
        }
        same
    });
}

/// Mask of the first `n` token positions.
fn low_mask(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

impl Matcher {
    /// A matcher with an empty window.
    pub fn new(params: Params) -> Self {
        Matcher {
            params,
            lex: Lexicon::shipped(),
            entries: VecDeque::new(),
            base: 0,
            live: 0,
            by_time: BTreeSet::new(),
            postings: FxMap::default(),
            term_lens: vec![0; Lexicon::shipped().len()],
            concept_lens: vec![0; Lexicon::shipped().synset_bound()],
            df: FxMap::default(),
            df_lex: vec![0; Lexicon::shipped().len()],
            stories: FxMap::default(),
            learned: FxMap::default(),
            partners: FxMap::default(),
        }
    }

    /// The parameters in use.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Number of items in the window.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Number of distinct learned substitutions held (and how many reach `learn_min_count`).
    pub fn learned_substitutions(&self) -> (usize, usize) {
        let strong = self
            .learned
            .values()
            .filter(|&&c| c >= self.params.learn_min_count)
            .count();
        (self.learned.len(), strong)
    }

    /// True when the window holds no item.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Text features of an item; `title` and `summary` are plain text.
    pub fn features(&self, title: &str, summary: &str) -> Features {
        let p = &self.params;
        let title = strip_title_decorations(title);
        let t_raw = raw_tokens(title);
        let s_raw = raw_tokens(summary);
        // In a Title Case headline capitals say nothing about names.
        let long: Vec<&RawTok> = t_raw.iter().filter(|t| t.lower.len() > 3).collect();
        let title_case =
            !long.is_empty() && long.iter().filter(|t| t.capital).count() * 10 >= long.len() * 7;
        let mut toks: Vec<u32> = Vec::new();
        let mut alts: Vec<(u8, u32)> = Vec::new();
        let mut title_len = 0;
        let mut has_summary = false;
        let mut anchors = 0u64;
        for (part, raw) in [(0, &t_raw), (1, &s_raw)] {
            for r in raw.iter() {
                if toks.len() >= p.max_tokens.min(64)
                    || (part == 0 && toks.len() >= p.max_title_tokens)
                {
                    break;
                }
                let word = if r.number {
                    WordIds::Unknown
                } else {
                    self.word_ids(&r.lower)
                };
                let (ids, mut anchor) = match word {
                    WordIds::Skip => continue,
                    WordIds::Known(ids) => (ids, false),
                    WordIds::Unknown => (
                        [fnv32(&r.lower) | OOV_BIT, NONE, NONE],
                        r.number || r.lower.len() >= 3,
                    ),
                };
                has_summary |= part == 1;
                if r.all_caps || (r.capital && !r.sentence_start && !(part == 0 && title_case)) {
                    anchor = true;
                }
                anchors |= u64::from(anchor) << toks.len();
                let pos = toks.len() as u8;
                alts.extend(ids[1..].iter().filter(|&&x| x != NONE).map(|&x| (pos, x)));
                toks.push(ids[0]);
            }
            if part == 0 {
                title_len = toks.len();
            }
        }
        let n_terms = toks.len() as u8;
        toks.extend(alts.iter().flat_map(|&(pos, id)| [u32::from(pos), id]));
        let mut inner = FeatInner {
            data: toks.into_boxed_slice(),
            n_terms,
            title_len: title_len as u8,
            has_summary,
            anchors,
            prep: None,
        };
        inner.prep = Some(Box::new(Prep {
            keys: self.compute_index_keys(&inner).into_boxed_slice(),
            terms: Self::compute_terms(&inner).into_boxed_slice(),
            ids: Self::compute_ids(&inner).into_boxed_slice(),
        }));
        Features(Arc::new(inner))
    }

    /// How a lower-cased word enters the features. Remembered per thread: news text repeats its
    /// words, and analysing one takes up to two dozen lookups (stopwords, suffix rules). The
    /// cache is keyed by the word alone, which is sound because every matcher uses the shipped
    /// lexicon and the built-in stopwords.
    fn word_ids(&self, lower: &str) -> WordIds {
        const MAX_CACHED: usize = 1 << 16;
        const MAX_WORD: usize = 32;
        type Cache = HashMap<Box<str>, WordIds, BuildHasherDefault<FxStr>>;
        thread_local! {
            static CACHE: std::cell::RefCell<Cache> = std::cell::RefCell::new(Cache::default());
        }
        let analyse = || {
            if lower.chars().nth(1).is_none() || is_stopword(lower) {
                return WordIds::Skip;
            }
            let mut lemmas = [NONE; 3];
            match self.lex.analyze_into(lower, &mut lemmas) {
                0 => WordIds::Unknown,
                _ => WordIds::Known(lemmas),
            }
        };
        if lower.len() > MAX_WORD {
            return analyse();
        }
        CACHE.with_borrow_mut(|cache| {
            if let Some(&w) = cache.get(lower) {
                return w;
            }
            let w = analyse();
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(lower.into(), w);
            w
        })
    }

    /// What the window keeps of an item: its tokens, without the tables only deciding needs.
    fn compact(f: &Features) -> Features {
        let inner = &f.0;
        Features(Arc::new(FeatInner {
            data: inner.data.clone(),
            n_terms: inner.n_terms,
            title_len: inner.title_len,
            has_summary: inner.has_summary,
            anchors: inner.anchors,
            prep: None,
        }))
    }

    /// Distinct term ids of an item, sorted (for document frequencies).
    fn terms(f: &Features) -> Cow<'_, [u32]> {
        match &f.0.prep {
            Some(p) => Cow::Borrowed(&p.terms),
            None => Cow::Owned(Self::compute_terms(&f.0)),
        }
    }

    fn compute_terms(inner: &FeatInner) -> Vec<u32> {
        let mut terms: Vec<u32> = inner.terms().to_vec();
        terms.sort_unstable();
        terms.dedup();
        terms
    }

    /// (id, mask of tokens having it) for every lemma and term id of an item, sorted by id.
    fn compute_ids(inner: &FeatInner) -> Vec<(u32, u64)> {
        let mut ids: Vec<(u32, u64)> =
            Vec::with_capacity(inner.len() + inner.alt_pairs().len() / 2);
        for (i, t) in inner.toks().enumerate() {
            ids.extend(t.ids().map(|id| (id, 1u64 << i)));
        }
        merge_masks(&mut ids);
        ids
    }

    /// Candidate-index keys of an item, sorted and deduplicated: every term, and the concepts
    /// of title words (so a spun title still finds its original through a shared synset). Each
    /// key comes with its vote share: 2 for an anchor (spinners rarely change those), 1 for
    /// another term, and 1/k for each of the k concept keys of a word, so that a polysemous
    /// word does not outvote the rest of the title.
    fn index_keys<'f>(&self, f: &'f Features) -> Cow<'f, [(u64, f32)]> {
        match &f.0.prep {
            Some(p) => Cow::Borrowed(&p.keys),
            None => Cow::Owned(self.compute_index_keys(&f.0)),
        }
    }

    fn compute_index_keys(&self, inner: &FeatInner) -> Vec<(u64, f32)> {
        let mut keys: Vec<(u64, f32)> = inner
            .toks()
            .enumerate()
            .filter(|&(i, _)| {
                i < inner.title_len() + self.params.max_indexed_summary_words
                    || inner.anchors & (1u64 << i) != 0
            })
            .map(|(i, t)| {
                let anchor = inner.anchors & (1u64 << i) != 0;
                (u64::from(t.term()), if anchor { 2.0 } else { 1.0 })
            })
            .collect();
        for t in inner.toks().take(inner.title_len()) {
            for l in t.lemmas() {
                // Own synsets only: a substitute shares one with the original (synonyms, cluster
                // mates); hypernym substitutes are left to the other words of the item.
                let lk = self.lex.keys(l);
                let own = lk.iter().filter(|&&k| k & 1 == 0).count();
                if own > 0 && own <= MAX_INDEXED_KEYS {
                    let share = 1.0 / own as f32;
                    keys.extend(
                        lk.iter()
                            .filter(|&&k| k & 1 == 0)
                            .map(|&k| (TAG_CONCEPT | u64::from(k >> 1), share)),
                    );
                }
            }
        }
        // Sort by key, largest share first, then keep one entry per key.
        keys.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(y.1.total_cmp(&x.1)));
        keys.dedup_by_key(|x| x.0);
        keys
    }

    /// Number of live items containing a term.
    fn df_of(&self, term: u32) -> u32 {
        if term < OOV_BIT {
            self.df_lex[self.lex.index(term)]
        } else {
            self.df.get(&term).copied().unwrap_or(0)
        }
    }

    /// IDF weight of a term, with a frequency-class prior so an empty window is sane.
    fn idf(&self, term: u32) -> f32 {
        let n = self.live as f32 + self.params.prior_docs;
        let df = self.df_of(term) as f32;
        // SemCor tag counts c suggest a document share of about c / 5750 for 40-word items.
        let prior = if term < OOV_BIT {
            let c = (1u32 << self.lex.freq_class(term)) as f32 - 1.0;
            self.params.prior_docs * (c / 5750.0).min(0.5)
        } else {
            0.0
        };
        ((n + 1.0) / (df + prior + 1.0)).ln().max(0.05)
    }

    fn weights(&self, f: &Features) -> Vec<f32> {
        f.0.terms().iter().map(|&t| self.idf(t)).collect()
    }

    fn probe<'a>(&self, f: &'a Features) -> Probe<'a> {
        self.probe_with(f, true)
    }

    /// The probe of `f`; `learned` adds learned substitutions to the lexicon's relations.
    fn probe_with<'a>(&self, f: &'a Features, learned: bool) -> Probe<'a> {
        self.warm(std::iter::once(f));
        let n_keys: usize =
            f.0.toks()
                .map(|t| t.lemmas().map(|l| self.lex.keys(l).len()).sum::<usize>())
                .sum();
        let mut concepts = ConceptTable::with_capacity(n_keys);
        for (i, t) in f.0.toks().enumerate() {
            let bit = 1u64 << i;
            for l in t.lemmas() {
                for &k in self.lex.keys(l) {
                    let (own, rel) = if k & 1 == 0 { (bit, 0) } else { (0, bit) };
                    concepts.add(k >> 1, own, rel);
                }
            }
        }
        let ids = match &f.0.prep {
            Some(p) => Cow::Borrowed(&p.ids[..]),
            None => Cow::Owned(Self::compute_ids(&f.0)),
        };
        let mut subs: Vec<(u32, u64)> = Vec::new();
        if learned && !self.partners.is_empty() {
            for (i, &t) in f.0.terms().iter().enumerate() {
                let Some(ps) = self.partners.get(&t) else {
                    continue;
                };
                subs.extend(ps.iter().map(|&q| (q, 1u64 << i)));
            }
            merge_masks(&mut subs);
        }
        Probe {
            f,
            w: self.weights(f),
            ids,
            concepts,
            learned: subs,
        }
    }

    /// For each token of `b`: (mask of identical probe tokens, mask of related probe tokens).
    /// `memo` caches the related mask per term within one decision (words recur across
    /// candidates, and walking a polysemous word's concept keys is the costly part).
    fn match_rows(
        &self,
        probe: &Probe,
        b: &Features,
        memo: &mut FxMap<u32, u64>,
        rows: &mut Vec<(u64, u64)>,
        need: usize,
    ) {
        rows.clear();
        rows.extend(b.0.toks().take(need).map(|t| {
            let mut exact = 0u64;
            for id in t.ids() {
                if let Ok(k) = probe.ids.binary_search_by_key(&id, |x| x.0) {
                    exact |= probe.ids[k].1;
                }
            }
            // Words the thesaurus does not know have no synonyms.
            if t.term() >= OOV_BIT {
                return (exact, 0);
            }
            let learned = match probe.learned.binary_search_by_key(&t.term(), |x| x.0) {
                Ok(k) => probe.learned[k].1,
                Err(_) => 0,
            };
            if let Some(&syn) = memo.get(&t.term()) {
                return (exact, (syn | learned) & !exact);
            }
            let mut syn = 0u64;
            for l in t.lemmas() {
                for &key in self.lex.keys(l) {
                    if let Some((own, rel)) = probe.concepts.get(key >> 1) {
                        // Related when the synset is "own" on at least one side.
                        syn |= if key & 1 == 0 { own | rel } else { own };
                    }
                }
            }
            memo.insert(t.term(), syn);
            (exact, (syn | learned) & !exact)
        }));
    }

    /// Best order-preserving one-to-one alignment of the first `na` probe tokens with the first
    /// `nb` candidate tokens; returns (matched probe weight, matched candidate weight).
    fn align(
        &self,
        probe: &Probe,
        rows: &[(u64, u64)],
        bw: &[f32],
        na: usize,
        nb: usize,
    ) -> (f32, f32) {
        let syn = self.params.syn_weight;
        let amask = low_mask(na);
        // Weighted longest common subsequence over the sparse match pairs, candidate tokens j in
        // order and, within one j, probe positions i descending (so a candidate token is used
        // once), with a prefix-maximum Fenwick tree over probe positions. Each tree node holds
        // (chain value, matched probe weight, matched candidate weight).
        let n = na.clamp(1, 64);
        let mut tree = [(0.0f32, 0.0f32, 0.0f32); 65];
        let mut best = (0.0f32, 0.0f32, 0.0f32);
        for (j, &(ex, sy)) in rows.iter().enumerate().take(nb) {
            let mut m = (ex | sy) & amask;
            while m != 0 {
                let i = 63 - m.leading_zeros() as usize;
                m &= !(1u64 << i);
                let f = if ex & (1u64 << i) != 0 { 1.0 } else { syn };
                let (wa, wb) = (probe.w[i] * f, bw[j] * f);
                let mut q = (0.0f32, 0.0f32, 0.0f32);
                let mut k = i;
                while k > 0 {
                    if tree[k].0 > q.0 {
                        q = tree[k];
                    }
                    k &= k - 1;
                }
                let v = (q.0 + wa + wb, q.1 + wa, q.2 + wb);
                if v.0 > best.0 {
                    best = v;
                }
                let mut k = i + 1;
                while k <= n {
                    if v.0 > tree[k].0 {
                        tree[k] = v;
                    }
                    k += k & k.wrapping_neg();
                }
            }
        }
        (best.1, best.2)
    }

    /// Semi-global alignment score of probe tokens `0..na` with candidate tokens `0..nb`: a
    /// match earns both tokens' weights (scaled for synonyms), a substitution is free, and a
    /// token skipped on one side only (an insertion or deletion) costs `gap` times its weight.
    /// Trailing gaps are free, since a copy may cut the text. A spinner substitutes word for
    /// word and keeps the order; two reports of one event say similar things in other words
    /// and orders, which shows up as indels. Returns the best total, at least 0.
    fn gapped(
        &self,
        probe: &Probe,
        rows: &[(u64, u64)],
        bw: &[f32],
        na: usize,
        nb: usize,
        gap: f32,
    ) -> f32 {
        let syn = self.params.syn_weight;
        let (na, nb) = (na.min(64), nb.min(rows.len()));
        let mut prev = [0f32; 65];
        let mut cur = [0f32; 65];
        for i in 1..=na {
            prev[i] = prev[i - 1] - gap * probe.w[i - 1];
        }
        let mut best = prev[na];
        for j in 1..=nb {
            let (ex, sy) = rows[j - 1];
            let wb = bw[j - 1];
            cur[0] = prev[0] - gap * wb;
            for i in 1..=na {
                let bit = 1u64 << (i - 1);
                let wa = probe.w[i - 1];
                let diag = if ex & bit != 0 {
                    wa + wb
                } else if sy & bit != 0 {
                    syn * (wa + wb)
                } else {
                    0.0
                };
                cur[i] = (prev[i - 1] + diag)
                    .max(prev[i] - gap * wb)
                    .max(cur[i - 1] - gap * wa);
            }
            best = best.max(cur[na]);
            std::mem::swap(&mut prev, &mut cur);
        }
        for &v in &prev[..=na] {
            best = best.max(v);
        }
        best.max(0.0)
    }

    /// Reads the memory that scoring `items` will read (their tokens, the lexicon blocks of
    /// their lemmas and their document frequencies) in one pass of independent loads. Scoring
    /// itself walks it in dependent steps (token, then lemma, then concepts), so each cache
    /// miss there would stall alone; here the misses of all tokens overlap.
    fn warm<'b>(&self, items: impl Iterator<Item = &'b Features> + Clone) {
        let mut sink = 0u32;
        for f in items.clone() {
            sink = sink.wrapping_add(f.0.len() as u32);
        }
        for f in items {
            for t in f.0.toks() {
                sink = sink.wrapping_add(self.df_of(t.term()));
                for l in t.lemmas() {
                    sink = sink.wrapping_add(u32::from(self.lex.freq_class(l)));
                }
            }
        }
        std::hint::black_box(sink);
    }

    /// Scores a candidate against the probe. Weights come from the current window's document
    /// frequencies (never from insert time), so the matcher's state is a function of the live
    /// items alone and a rebuilt matcher decides exactly like the one it replaces.
    fn score_pair(&self, probe: &Probe, b: &Features, scratch: &mut Scratch) -> PairScore {
        // Only the candidate tokens the scores can use: its title against a title-only item,
        // else the prefix that is compared with the shorter text.
        let (la, lb) = (probe.f.0.len(), b.0.len());
        let need = if !probe.f.0.has_summary || !b.0.has_summary {
            b.0.title_len()
        } else if la <= lb {
            lb.min(prefix_len(la))
        } else {
            lb
        };
        self.match_rows(probe, b, &mut scratch.memo, &mut scratch.rows, need);
        let mut bw = std::mem::take(&mut scratch.wb);
        bw.clear();
        bw.extend(
            b.0.terms()
                .iter()
                .map(|&t| *scratch.idf.entry(t).or_insert_with(|| self.idf(t))),
        );
        let s = self.score_rows(probe, b, &scratch.rows, &bw);
        scratch.wb = bw;
        s
    }

    /// [`Matcher::score_pair`] once the match rows and the candidate's weights are known.
    fn score_rows(
        &self,
        probe: &Probe,
        b: &Features,
        rows: &[(u64, u64)],
        bw: &[f32],
    ) -> PairScore {
        let p = &self.params;
        let a = probe.f;
        let wsum = |w: &[f32], n: usize| w[..n].iter().sum::<f32>().max(1e-6);
        let (ta, tb) = (a.0.title_len(), b.0.title_len());
        let (ma, mb) = self.align(probe, rows, bw, ta, tb);
        let (wa, wb) = (wsum(&probe.w, ta), wsum(bw, tb));
        let title = (ma + mb) / (wa + wb);
        let title_ok = ta.min(tb) >= p.min_title_words;
        let title_only = !a.0.has_summary || !b.0.has_summary;
        if title_only {
            // Coverage of the shorter title, so an added word alone does not carry a match.
            let cov = if wa <= wb { ma / wa } else { mb / wb };
            let mut score = if title_ok { title.min(cov) } else { 0.0 };
            if score >= p.member_threshold {
                score = score.min(self.gapped(probe, rows, bw, ta, tb, p.gap_cost) / (wa + wb));
            }
            return PairScore {
                title,
                full: title,
                coverage: cov,
                score,
                title_only,
                comparable: title_ok,
            };
        }
        // A copy may cut the summary ("..."): compare the shorter text with the same-length
        // prefix of the longer one, plus slack for an added word or a split connective.
        let (la, lb) = (a.0.len(), b.0.len());
        let (na, nb) = if la <= lb {
            (la, lb.min(prefix_len(la)))
        } else {
            (la.min(prefix_len(lb)), lb)
        };
        let (fa, fb) = self.align(probe, rows, bw, na, nb);
        let (wfa, wfb) = (wsum(&probe.w, na), wsum(bw, nb));
        let full = (fa + fb) / (wfa + wfb);
        let coverage = if la <= lb { fa / wfa } else { fb / wfb };
        // A short title is too weak to count on its own, so it then only adds to the text.
        let share = if title_ok { p.title_share } else { 0.0 };
        let mut score = share * title + (1.0 - share) * full;
        // The gapped score is never above the plain alignment, so only pairs that could still
        // reach a threshold pay for it.
        if score >= p.member_threshold {
            let gt = self.gapped(probe, rows, bw, ta, tb, p.gap_cost) / (wa + wb);
            let gf = self.gapped(probe, rows, bw, na, nb, p.gap_cost) / (wfa + wfb);
            score = share * gt + (1.0 - share) * gf;
        }
        PairScore {
            title,
            full,
            coverage,
            score,
            title_only,
            comparable: true,
        }
    }

    /// Scores two feature sets against each other with the current IDF statistics.
    pub fn compare(&self, a: &Features, b: &Features) -> PairScore {
        let probe = self.probe(a);
        self.score_pair(&probe, b, &mut Scratch::default())
    }

    fn entry(&self, seq: u64) -> Option<&Entry> {
        self.live_offset(seq as u32)
            .and_then(|k| self.entries[k].as_ref())
    }

    /// Offset of a posting's sequence number in `entries`, or None when evicted. Postings keep
    /// sequence numbers modulo 2^32, which is unambiguous because the window is far smaller.
    fn live_offset(&self, s: u32) -> Option<usize> {
        let k = s.wrapping_sub(self.base as u32) as usize;
        (k < self.entries.len() && self.entries[k].is_some()).then_some(k)
    }

    /// Candidate entry offsets from the index, most votes first (ties: newest first).
    ///
    /// Only the `max_query_keys` rarest keys of the item are looked up (anchors count as
    /// rarer), lists longer than the skip length are ignored and only the newest
    /// `posting_scan_cap` entries of a list are read, so the cost is bounded however large the
    /// window grows.
    fn candidates(&self, published: i64, f: &Features, scratch: &mut Scratch) -> Vec<usize> {
        let p = &self.params;
        let skip_len = ((self.live as f32 * p.posting_skip_share) as usize).max(p.posting_scan_cap);
        // Rank the keys by list length from the dense length arrays, and look up only the lists
        // that will be read: most keys of an item are common words and concepts.
        let mut ranked: Vec<(usize, u64, f32)> = self
            .index_keys(f)
            .iter()
            .filter_map(|&(k, share)| {
                let len = self.posting_len(k);
                let rank = if share > 1.0 { len / 2 } else { len };
                (len > 0 && len <= skip_len).then_some((rank, k, share))
            })
            .collect();
        ranked.sort_unstable_by_key(|x| (x.0, x.1));
        ranked.truncate(p.max_query_keys);
        let lists: Vec<(f32, &VecDeque<u32>)> = ranked
            .iter()
            .filter_map(|&(_, k, share)| Some((share, self.postings.get(&k)?)))
            .collect();
        let n = self.live as f32 + 1.0;
        let (votes, voted) = (&mut scratch.votes, &mut scratch.voted);
        if votes.len() < self.entries.len() {
            votes.resize(self.entries.len(), 0.0);
        }
        voted.clear();
        // Touch the scanned end of every list first: these loads are independent, so their
        // cache misses overlap instead of stalling the vote loop one list at a time.
        let mut sink = 0u32;
        for (_, list) in &lists {
            let from = list.len().saturating_sub(p.posting_scan_cap);
            sink = sink.wrapping_add(list.get(from).copied().unwrap_or(0));
            sink = sink.wrapping_add(list.back().copied().unwrap_or(0));
        }
        std::hint::black_box(sink);
        for (share, list) in lists {
            let w = (n / list.len() as f32).ln().max(0.1) * share.min(1.0);
            let from = list.len().saturating_sub(p.posting_scan_cap);
            // Only the cheap range check here: touching every entry would cost a cache miss
            // per vote; liveness and the time window are checked for the winners only.
            let (base, len) = (self.base as u32, self.entries.len());
            for k in list
                .range(from..)
                .map(|&s| s.wrapping_sub(base) as usize)
                .filter(|&k| k < len)
            {
                // Pushed on every vote (no data-dependent branch); repeats are dropped below.
                voted.push(k as u32);
                votes[k] += w;
            }
        }
        // Votes are positive, so a slot already taken (zero) is a repeat.
        let mut acc: Vec<(u32, f32)> = voted
            .iter()
            .filter_map(|&k| {
                let v = std::mem::take(&mut votes[k as usize]);
                (v > 0.0).then_some((k, v))
            })
            .collect();
        let order = |x: &(u32, f32), y: &(u32, f32)| y.1.total_cmp(&x.1).then(y.0.cmp(&x.0));
        let keep = (2 * p.max_verify).min(acc.len());
        if keep > 0 && keep < acc.len() {
            acc.select_nth_unstable_by(keep - 1, order);
            acc.truncate(keep);
        }
        acc.sort_by(order);
        // Candidates far behind the leader rarely win verification; skipping them keeps the
        // verification cost low when many items share a few words.
        let floor = acc.first().map_or(0.0, |x| x.1 * p.min_vote_share);
        let floor = floor.max(p.min_votes * n.ln());
        let floor_full = p.min_votes_full * n.ln();
        acc.into_iter()
            .take_while(|x| x.1 >= floor)
            .filter(|&(k, votes)| {
                self.entries[k as usize].as_ref().is_some_and(|e| {
                    (e.published - published).abs() <= p.window_secs
                        && (votes >= floor_full || !(f.0.has_summary && e.f.0.has_summary))
                })
            })
            .map(|x| x.0 as usize)
            .take(if f.0.has_summary {
                p.max_verify_full
            } else {
                p.max_verify
            })
            .collect()
    }

    /// Length of the posting list of an index key (0 when it has none): from the dense arrays
    /// for thesaurus words and concepts, from the map itself for other words.
    fn posting_len(&self, key: u64) -> usize {
        if key & TAG_CONCEPT != 0 {
            self.concept_lens[key as u32 as usize] as usize
        } else if (key as u32) < OOV_BIT {
            self.term_lens[self.lex.index(key as u32)] as usize
        } else {
            self.postings.get(&key).map_or(0, VecDeque::len)
        }
    }

    /// Records a posting list's new length in the dense arrays.
    fn set_posting_len(&mut self, key: u64, len: u32) {
        if key & TAG_CONCEPT != 0 {
            self.concept_lens[key as u32 as usize] = len;
        } else if (key as u32) < OOV_BIT {
            self.term_lens[self.lex.index(key as u32)] = len;
        }
    }

    fn passes(&self, s: &PairScore) -> bool {
        let p = &self.params;
        s.comparable
            && s.score
                >= if s.title_only {
                    p.title_threshold
                } else {
                    p.full_threshold
                }
    }

    /// Decides whether a new item joins an existing story; deterministic for a given window.
    pub fn decide(&self, source_id: i64, published: i64, f: &Features) -> Decision {
        // Reuse this thread's buffers: allocating and growing them per decision showed up as a
        // tenth of the cost. Their contents never outlive one decision.
        thread_local! {
            static SCRATCH: std::cell::Cell<Option<Box<Scratch>>> = const { std::cell::Cell::new(None) };
        }
        let mut scratch = SCRATCH.with(|c| c.take()).unwrap_or_default();
        scratch.memo.clear();
        scratch.idf.clear();
        let d = self.decide_with(source_id, published, f, &mut scratch);
        SCRATCH.with(|c| c.set(Some(scratch)));
        d
    }

    fn decide_with(
        &self,
        source_id: i64,
        published: i64,
        f: &Features,
        scratch: &mut Scratch,
    ) -> Decision {
        let p = &self.params;
        let found: Vec<&Entry> = self
            .candidates(published, f, scratch)
            .into_iter()
            .filter_map(|k| self.entries[k].as_ref())
            .collect();
        // Most new items share no rare key with anything: they need no probe at all.
        if found.is_empty() {
            return Decision {
                story_id: None,
                score: 0.0,
                reason: "no candidate shares a word or concept in the window".to_string(),
                candidates: Vec::new(),
                verified: 0,
            };
        }
        let probe = self.probe(f);
        self.warm(found.iter().map(|e| &e.f));
        let mut scored: Vec<(PairScore, &Entry)> = found
            .into_iter()
            .map(|e| (self.score_pair(&probe, &e.f, scratch), e))
            .collect();
        scored.sort_by(|x, y| {
            y.0.score
                .total_cmp(&x.0.score)
                .then(x.1.item_id.cmp(&y.1.item_id))
        });
        let candidates: Vec<Candidate> = scored
            .iter()
            .take(5)
            .map(|(s, e)| Candidate {
                item_id: e.item_id,
                story_id: e.story_id,
                title_score: s.title,
                full_score: s.full,
                coverage: s.coverage,
                score: s.score,
            })
            .collect();
        let best_score = scored.first().map_or(0.0, |x| x.0.score);
        let mut reason = match scored.first() {
            None => "no candidate shares a word or concept in the window".to_string(),
            Some((s, e)) if !s.comparable => format!(
                "best candidate item {} not comparable: a title-only match needs {} content words",
                e.item_id, p.min_title_words
            ),
            Some((s, e)) => format!(
                "best candidate item {} scored {:.2} (title {:.2}, text {:.2}), below {:.2}",
                e.item_id,
                s.score,
                s.title,
                s.full,
                if s.title_only {
                    p.title_threshold
                } else {
                    p.full_threshold
                }
            ),
        };
        let mut tried: Vec<i64> = Vec::new();
        for (s, e) in &scored {
            if !self.passes(s) || tried.contains(&e.story_id) {
                continue;
            }
            tried.push(e.story_id);
            let members: Vec<&Entry> = self
                .stories
                .get(&e.story_id)
                .map(|m| m.iter().filter_map(|&q| self.entry(q)).collect())
                .unwrap_or_default();
            if members.iter().any(|m| m.source_id == source_id) {
                reason = format!(
                    "story {} matched item {} ({:.2}) but already has an item from this source",
                    e.story_id, e.item_id, s.score
                );
                continue;
            }
            // Agreement: the representative and a majority of the other comparable members
            // must also match, so one strong edge cannot pull an item into a story.
            let (mut agree, mut total, mut rep_ok) = (1, 1, true);
            for (k, m) in members
                .iter()
                .filter(|m| m.item_id != e.item_id)
                .take(p.max_members_checked)
                .enumerate()
            {
                // Members already verified as candidates are not scored twice.
                let ms = match scored.iter().find(|(_, c)| c.item_id == m.item_id) {
                    Some((known, _)) => *known,
                    None => self.score_pair(&probe, &m.f, scratch),
                };
                if !ms.comparable {
                    continue;
                }
                let ok = ms.score >= p.member_threshold;
                total += 1;
                agree += usize::from(ok);
                if k == 0 && !ok && members[0].item_id == m.item_id {
                    rep_ok = false;
                }
            }
            if !rep_ok || agree * 2 < total {
                reason = format!(
                    "story {} matched item {} ({:.2}) but only {} of {} members agree",
                    e.story_id, e.item_id, s.score, agree, total
                );
                continue;
            }
            return Decision {
                story_id: Some(e.story_id),
                score: s.score,
                reason: format!(
                    "title {:.2} and text {:.2} (coverage {:.2}) vs item {} ({} of {} story members agree)",
                    s.title, s.full, s.coverage, e.item_id, agree, total
                ),
                candidates,
                verified: scored.len(),
            };
        }
        Decision {
            story_id: None,
            score: best_score,
            reason,
            candidates,
            verified: scored.len(),
        }
    }

    /// Adds an item (after its story is known) to the window: IDF statistics, index, story.
    pub fn insert(
        &mut self,
        item_id: i64,
        story_id: i64,
        source_id: i64,
        published: i64,
        f: Features,
    ) {
        for &t in Self::terms(&f).iter() {
            if t < OOV_BIT {
                self.df_lex[self.lex.index(t)] += 1;
            } else {
                *self.df.entry(t).or_insert(0) += 1;
            }
        }
        let seq = self.base + self.entries.len() as u64;
        for &(k, _) in self.index_keys(&f).iter() {
            let list = self.postings.entry(k).or_default();
            // Grow by a quarter, not double: postings are most of the window's memory, and doubling left
            // two fifths of their capacity unused.
            if list.len() == list.capacity() {
                list.reserve_exact((list.len() / 4).max(4));
            }
            list.push_back(seq as u32);
            let len = list.len() as u32;
            self.set_posting_len(k, len);
        }
        self.live += 1;
        let subs = self.learn(story_id, &f);
        let f = Self::compact(&f);
        self.entries.push_back(Some(Entry {
            item_id,
            story_id,
            source_id,
            published,
            f,
            subs: subs.into_boxed_slice(),
        }));
        self.by_time.insert((published, seq));
        self.stories.entry(story_id).or_default().push(seq);
    }

    /// Learns the word substitutions between a new story member and each earlier live member
    /// it aligns with confidently; returns them as (member's sequence number, key).
    ///
    /// The alignment is unweighted and ignores what was learned before, so what an item pair
    /// teaches depends on the two items alone, and the learned state (the pairs of live items)
    /// is the same in a matcher rebuilt from the live items.
    fn learn(&mut self, story_id: i64, f: &Features) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        if self.params.learn_threshold > 1.0 || !f.0.has_summary {
            return out;
        }
        let members: Members = self.stories.get(&story_id).cloned().unwrap_or_default();
        if members.is_empty() {
            return out;
        }
        let probe = self.probe_with(f, false);
        for seq in members {
            let Some(m) = self.entry(seq) else {
                continue;
            };
            for (a, b) in self.substitutions(&probe, &m.f) {
                let key = sub_key(a, b);
                // One vote per new item and substitution, however many members show it.
                if !out.iter().any(|&(_, k)| k == key) {
                    out.push((seq, key));
                }
            }
        }
        for &(_, key) in &out {
            self.count_sub(key, 1);
        }
        out
    }

    /// Word substitutions on the best unweighted gapped alignment of the probe with `b`, if
    /// that alignment matches at least `learn_threshold` of the compared tokens: aligned pairs
    /// of different, unrelated thesaurus words that are not anchors (names may be a farm's
    /// own, numbers never change).
    fn substitutions(&self, probe: &Probe, b: &Features) -> Vec<(u32, u32)> {
        let a = probe.f;
        if !b.0.has_summary {
            return Vec::new();
        }
        let (la, lb) = (a.0.len(), b.0.len());
        let (na, nb) = if la <= lb {
            (la, lb.min(prefix_len(la)))
        } else {
            (la.min(prefix_len(lb)), lb)
        };
        let (na, nb) = (na.min(64), nb.min(64));
        let mut rows = Vec::new();
        self.match_rows(probe, b, &mut FxMap::default(), &mut rows, nb);
        let gap = self.params.gap_cost;
        // dp[j][i]: best score aligning b[..j] with a[..i]; 2 per match, -gap per indel.
        let w = na + 1;
        let mut dp = vec![0f32; (nb + 1) * w];
        for (i, v) in dp.iter_mut().enumerate().take(na + 1) {
            *v = -gap * i as f32;
        }
        for j in 1..=nb {
            dp[j * w] = -gap * j as f32;
            let m = rows[j - 1].0 | rows[j - 1].1;
            for i in 1..=na {
                let diag = if m & (1u64 << (i - 1)) != 0 { 2.0 } else { 0.0 };
                dp[j * w + i] = (dp[(j - 1) * w + i - 1] + diag)
                    .max(dp[(j - 1) * w + i] - gap)
                    .max(dp[j * w + i - 1] - gap);
            }
        }
        if dp[nb * w + na] / ((na + nb) as f32) < self.params.learn_threshold {
            return Vec::new();
        }
        let mut out = Vec::new();
        let (mut i, mut j) = (na, nb);
        while i > 0 && j > 0 {
            let bit = 1u64 << (i - 1);
            let m = rows[j - 1].0 | rows[j - 1].1;
            let here = dp[j * w + i];
            let diag = if m & bit != 0 { 2.0 } else { 0.0 };
            if here == dp[(j - 1) * w + i - 1] + diag {
                let (ta, tb) = (a.0.terms()[i - 1], b.0.terms()[j - 1]);
                let anchor = a.0.anchors & bit != 0 || b.0.anchors & (1u64 << (j - 1)) != 0;
                if m & bit == 0 && !anchor && ta < OOV_BIT && tb < OOV_BIT {
                    out.push((ta, tb));
                }
                i -= 1;
                j -= 1;
            } else if here == dp[(j - 1) * w + i] - gap {
                j -= 1;
            } else {
                i -= 1;
            }
        }
        out
    }

    /// Adds `delta` (+1 or -1) to a learned substitution's count, keeping the partner lists of
    /// usable substitutions.
    fn count_sub(&mut self, key: u64, delta: i32) {
        let (a, b) = ((key >> 32) as u32, key as u32);
        let c = self.learned.entry(key).or_insert(0);
        let before = *c;
        *c = c.saturating_add_signed(delta);
        let after = *c;
        if after == 0 {
            self.learned.remove(&key);
        }
        let min = self.params.learn_min_count.max(1);
        let (before, after) = (u32::from(before >= min), u32::from(after >= min));
        if before == 0 && after > 0 {
            self.partners.entry(a).or_default().push(b);
            self.partners.entry(b).or_default().push(a);
        } else if before > 0 && after == 0 {
            for (x, y) in [(a, b), (b, a)] {
                if let Some(ps) = self.partners.get_mut(&x) {
                    ps.retain(|&q| q != y);
                    if ps.is_empty() {
                        self.partners.remove(&x);
                    }
                }
            }
        }
    }

    /// Drops items published before `cutoff` from the window.
    pub fn evict_before(&mut self, cutoff: i64) {
        while let Some(&(t, seq)) = self.by_time.first() {
            if t >= cutoff {
                break;
            }
            self.by_time.pop_first();
            let Some(e) = self.entries[(seq - self.base) as usize].take() else {
                continue;
            };
            self.live -= 1;
            for &t in Self::terms(&e.f).iter() {
                if t < OOV_BIT {
                    self.df_lex[self.lex.index(t)] -= 1;
                } else if let Some(c) = self.df.get_mut(&t) {
                    *c -= 1;
                    if *c == 0 {
                        self.df.remove(&t);
                    }
                }
            }
            // Lists are in insertion order, so evicted items usually sit at the front; an item
            // evicted out of order is found by binary search (offsets from `base` ascend).
            let (base, entries) = (self.base as u32, &self.entries);
            let dead = |s: u32| {
                let k = s.wrapping_sub(base) as usize;
                k >= entries.len() || entries[k].is_none()
            };
            let off = seq.wrapping_sub(self.base) as u32;
            let keys = self.index_keys(&e.f);
            let mut lens = Vec::with_capacity(keys.len());
            for &(key, _) in keys.iter() {
                if let Some(list) = self.postings.get_mut(&key) {
                    while list.front().is_some_and(|&s| dead(s)) {
                        list.pop_front();
                    }
                    // Only an item evicted out of order can still be in the list.
                    if list.front().is_some_and(|&s| s.wrapping_sub(base) < off)
                        && let Ok(i) = list.binary_search_by_key(&off, |&s| s.wrapping_sub(base))
                    {
                        list.remove(i);
                    }
                    let len = list.len() as u32;
                    if len == 0 {
                        self.postings.remove(&key);
                    }
                    lens.push((key, len));
                }
            }
            for (key, len) in lens {
                self.set_posting_len(key, len);
            }
            if let Some(st) = self.stories.get_mut(&e.story_id) {
                st.retain(|m| *m != seq);
                if st.is_empty() {
                    self.stories.remove(&e.story_id);
                }
            }
            // Withdraw what this item taught, and what later members learned from it.
            let mut withdrawn: Vec<u64> = e.subs.iter().map(|x| x.1).collect();
            let members: Members = self.stories.get(&e.story_id).cloned().unwrap_or_default();
            for m in members {
                let k = m.wrapping_sub(self.base) as usize;
                if let Some(Some(x)) = self.entries.get_mut(k)
                    && x.subs.iter().any(|&(partner, _)| partner == seq)
                {
                    withdrawn.extend(
                        x.subs
                            .iter()
                            .filter(|&&(partner, _)| partner == seq)
                            .map(|x| x.1),
                    );
                    x.subs = x.subs.iter().copied().filter(|x| x.0 != seq).collect();
                }
            }
            for key in withdrawn {
                self.count_sub(key, -1);
            }
        }
        while let Some(None) = self.entries.front() {
            self.entries.pop_front();
            self.base += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unrelated background items, so IDF statistics look like a real window.
    const FILLER: &[(&str, &str)] = &[
        (
            "Central bank holds interest rates as inflation eases",
            "The central bank kept its benchmark rate unchanged on Thursday, saying price growth had slowed but wages were still rising quickly.",
        ),
        (
            "Storm batters coast, cutting power to thousands",
            "High winds and heavy rain swept the northern coast overnight, felling trees and leaving thousands of homes without electricity.",
        ),
        (
            "Tech giant unveils new phone with longer battery life",
            "The company showed its latest handset at an event in California, promising a faster chip and a battery that lasts two days.",
        ),
        (
            "Champions win derby with late goal",
            "A header in stoppage time gave the champions a 2-1 victory over their city rivals and moved them three points clear at the top.",
        ),
        (
            "Net zero target at risk, climate advisers warn",
            "The government's climate advisers said the country is off track for its net zero goal because heat pump and insulation schemes have stalled.",
        ),
    ];

    /// A matcher holding the filler plus `stories` (each its own story, source 1).
    fn window(stories: &[(&str, &str)]) -> (Matcher, i64) {
        let mut m = Matcher::new(Params::default());
        let mut id = 0;
        for (t, s) in FILLER.iter().chain(stories) {
            id += 1;
            let f = m.features(t, s);
            m.insert(id, id, 1, 1_000 + id, f);
        }
        (m, id)
    }

    /// Story the copy joins when decided from another source, if any.
    fn joins(m: &Matcher, copy: (&str, &str)) -> Option<i64> {
        let f = m.features(copy.0, copy.1);
        m.decide(2, 2_000, &f).story_id
    }

    const UKRAINE: (&str, &str) = (
        "Ukraine ready to meet Russia but only if ceasefire agreed",
        "Ukraine's president says he is ready to meet the Russian leader for talks, but only if a ceasefire is agreed first, officials in Kyiv said after a night of drone attacks.",
    );
    const UKRAINE_SPUN: (&str, &str) = (
        "Ukraine prepared to satisfy Russia however provided that ceasefire agreed",
        "Ukraine's president says he is prepared to satisfy the Russian leader for negotiations, however provided that a ceasefire is agreed first, officials in Kyiv said after a dark of drone onslaughts.",
    );

    #[test]
    fn spun_copy_joins_its_original() {
        let (m, last) = window(&[UKRAINE]);
        assert_eq!(joins(&m, UKRAINE_SPUN), Some(last));
        // Headline tickers carry the spun title alone.
        assert_eq!(joins(&m, (UKRAINE_SPUN.0, "")), Some(last));
    }

    #[test]
    fn spun_live_blog_and_net_zero_copies_join() {
        let live = (
            "Ukraine war live: talks stall as winter bites",
            "Follow our live coverage as negotiators break up without agreement and the army got off to a rough start in the new offensive near the front.",
        );
        let live_spun = (
            "Ukraine warfare dwell: negotiations stall as wintertime bites",
            "Follow our dwell reportage as negotiators break up without understanding and the army obtained off to a tough begin in the new offensive near the front.",
        );
        let (m, last) = window(&[live]);
        assert_eq!(joins(&m, live_spun), Some(last));

        // FILLER[4] is "Net zero target at risk, climate advisers warn".
        let nz_spun = (
            "Internet zero mark at peril, clime advisers warn",
            "The government's climate advisers said the state is off track for its internet zero end because heat pump and insulating schemes have stalled.",
        );
        let (m, _) = window(&[]);
        assert_eq!(joins(&m, nz_spun), Some(5));
    }

    #[test]
    fn different_stories_on_one_subject_stay_apart() {
        let a = (
            "Zelenskyy says Ukraine ready for 30-day ceasefire if Russia agrees",
            "Ukrainian President Volodymyr Zelenskyy said Kyiv would accept a 30-day ceasefire proposed by the United States if Moscow also agreed, after talks in Jeddah.",
        );
        let b = (
            "Zelenskyy accuses Russia of stalling ceasefire with new demands",
            "Volodymyr Zelenskyy accused the Kremlin of deliberately dragging out ceasefire talks by adding conditions, as Russian forces pressed attacks in the Kursk region.",
        );
        let (m, _) = window(&[a]);
        assert_eq!(joins(&m, b), None);
        let (m, _) = window(&[UKRAINE]);
        assert_eq!(joins(&m, a), None);

        let day1 = (
            "Ukraine war live: Russian drones hit Kyiv power grid",
            "Follow live updates as Russian drones strike energy infrastructure in Kyiv overnight, leaving thousands without electricity; Zelenskyy calls for more air defence.",
        );
        let day2 = (
            "Ukraine war live: Zelenskyy meets European leaders in Berlin",
            "Follow live updates as Volodymyr Zelenskyy holds talks with European leaders in Berlin on security guarantees, while Russian strikes continue in the east.",
        );
        let (m, _) = window(&[day1]);
        assert_eq!(joins(&m, day2), None);
        assert_eq!(joins(&m, ("Ukraine war live", "")), None);
    }

    #[test]
    fn short_titles_never_match_alone() {
        let (m, _) = window(&[("Ukraine war live", "Follow live updates from Kyiv.")]);
        let f = m.features("Ukraine warfare dwell", "");
        assert!(f.title_words() < 4);
        assert_eq!(m.decide(2, 2_000, &f).story_id, None);
    }

    #[test]
    fn a_cut_summary_still_matches() {
        let (m, last) = window(&[UKRAINE]);
        let cut = (
            "Ukraine prepared to satisfy Russia however provided that ceasefire agreed - Daily Trend Hub",
            "Ukraine's president says he is prepared to satisfy the Russian leader for negotiations\u{2026}",
        );
        assert_eq!(joins(&m, cut), Some(last));
    }

    #[test]
    fn never_joins_a_story_with_the_same_source() {
        let (m, last) = window(&[UKRAINE]);
        let f = m.features(UKRAINE_SPUN.0, UKRAINE_SPUN.1);
        let d = m.decide(1, 2_000, &f);
        assert_eq!(d.story_id, None);
        assert!(d.reason.contains("same source") || d.reason.contains("this source"));
        assert_eq!(d.candidates[0].item_id, last);
    }

    #[test]
    fn no_chaining_through_one_member() {
        // Story: original + a close copy. A text that matches only a rewritten half of the
        // copy must not be pulled in through it.
        let (mut m, last) = window(&[UKRAINE]);
        let f = m.features(UKRAINE_SPUN.0, UKRAINE_SPUN.1);
        assert_eq!(m.decide(2, 2_000, &f).story_id, Some(last));
        m.insert(100, last, 2, 2_000, f);
        let drift = (
            "Ukraine prepared to satisfy Russia however provided that ceasefire agreed",
            "Officials in Brussels said on Friday that European ministers will discuss new sanctions on oil exports and the frozen assets of the central bank next week.",
        );
        let f = m.features(drift.0, drift.1);
        assert_eq!(m.decide(3, 2_100, &f).story_id, None);
    }

    #[test]
    fn decisions_are_deterministic_and_eviction_forgets() {
        let build = || window(&[UKRAINE]).0;
        let (a, b) = (build(), build());
        let f = a.features(UKRAINE_SPUN.0, UKRAINE_SPUN.1);
        let (da, db) = (a.decide(2, 2_000, &f), b.decide(2, 2_000, &f));
        assert_eq!(da.story_id, db.story_id);
        assert_eq!(da.reason, db.reason);
        assert_eq!(da.score, db.score);
        let mut m = build();
        assert_eq!(m.len(), FILLER.len() + 1);
        m.evict_before(1_000 + FILLER.len() as i64 + 1);
        assert_eq!(m.len(), 1);
        m.evict_before(i64::MAX);
        assert!(m.is_empty());
        assert_eq!(m.decide(2, 2_000, &f).story_id, None);
    }

    #[test]
    fn a_rebuilt_window_decides_like_the_running_one() {
        // The daemon rebuilds its matcher after a restart by re-inserting the live items in
        // order; it must then decide exactly as the matcher that ran all along.
        let params = Params {
            window_secs: 3 * 3600,
            ..Params::default()
        };
        let texts: Vec<(&str, &str)> = FILLER.iter().copied().chain([UKRAINE]).collect();
        let mut running = Matcher::new(params.clone());
        let mut log = Vec::new();
        for k in 0..60i64 {
            let (t, s) = texts[k as usize % texts.len()];
            let published = k * 600;
            let f = running.features(t, s);
            running.evict_before(published - params.window_secs);
            let story = running
                .decide(k % 7, published, &f)
                .story_id
                .unwrap_or(1000 + k);
            running.insert(k, story, k % 7, published, f.clone());
            log.push((k, story, k % 7, published, f));
        }
        let cutoff = 59 * 600 - params.window_secs;
        let mut rebuilt = Matcher::new(params.clone());
        for (k, story, src, published, f) in log.iter().filter(|x| x.3 >= cutoff) {
            rebuilt.insert(*k, *story, *src, *published, f.clone());
        }
        assert_eq!(rebuilt.len(), running.len());
        for (t, s) in [UKRAINE_SPUN, FILLER[0], ("Storm batters coast", "")] {
            let f = running.features(t, s);
            let (a, b) = (
                running.decide(9, 60 * 600, &f),
                rebuilt.decide(9, 60 * 600, &f),
            );
            assert_eq!(a.story_id, b.story_id);
            assert_eq!(a.score.to_bits(), b.score.to_bits());
            assert_eq!(a.reason, b.reason);
        }
    }

    #[test]
    fn learns_a_farms_substitutions_and_forgets_them_on_eviction() {
        // A farm keeps writing "revenue" for "income", which WordNet does not relate.
        let stories = [
            (
                "Retailer reports record income as holiday sales surge",
                "The retailer said quarterly income climbed to a record as shoppers spent heavily over the holidays, beating analyst forecasts.",
            ),
            (
                "Airline income falls as fuel costs soar",
                "The airline said its income fell sharply in the second quarter because jet fuel prices rose and fewer business travellers flew.",
            ),
            (
                "Chipmaker doubles income on strong demand",
                "The chipmaker said income doubled in the latest quarter thanks to strong demand for processors used in data centres and phones.",
            ),
        ];
        let lex = Lexicon::shipped();
        let (inc, rev) = (lex.id("income").unwrap(), lex.id("revenue").unwrap());
        assert!(!lex.related_ids(inc, rev));
        let (mut m, _) = window(&[]);
        let a = m.features("Income at the bakery chain rises", "");
        let b = m.features("Revenue at the bakery chain rises", "");
        let before = m.compare(&a, &b).score;
        for (k, (t, s)) in stories.iter().enumerate() {
            let id = 100 + 2 * k as i64;
            let f = m.features(t, s);
            m.insert(id, id, 1, 3_000 + id, f);
            let spun = (
                t.replace("income", "revenue"),
                s.replace("income", "revenue"),
            );
            let f = m.features(&spun.0, &spun.1);
            assert_eq!(m.decide(2, 3_000 + id, &f).story_id, Some(id));
            m.insert(id + 1, id, 2, 3_001 + id, f);
        }
        assert!(m.learned_substitutions().1 >= 1);
        assert!(m.compare(&a, &b).score > before);
        m.evict_before(3_103);
        assert_eq!(m.learned_substitutions().1, 0);
    }

    #[test]
    fn empty_window_and_empty_text_are_safe() {
        let m = Matcher::new(Params::default());
        let f = m.features("", "");
        assert!(f.is_empty());
        assert_eq!(m.decide(1, 0, &f).story_id, None);
        let d = m.decide(1, 0, &m.features(UKRAINE.0, UKRAINE.1));
        assert_eq!(d.story_id, None);
        assert!(d.candidates.is_empty());
    }

    #[test]
    fn one_shared_number_does_not_make_a_candidate_of_a_template_item() {
        // A template-like feed: every item recombines the same 300 words around a number.
        let lex = Lexicon::shipped();
        let words: Vec<&str> = lex
            .lemma_ids()
            .map(|id| lex.word(id))
            .filter(|w| w.len() > 3 && w.bytes().all(|b| b.is_ascii_lowercase()))
            .step_by(97)
            .take(300)
            .collect();
        let mut x: u64 = 7;
        let mut text = |n: usize| -> String {
            (0..n)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    words[(x >> 33) as usize % words.len()]
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let items: Vec<(String, String)> = (0..3_000)
            .map(|id| (format!("{} {}", text(8), 100 + id % 500), text(40)))
            .collect();
        let probe = (format!("{} 120", text(8)), text(40));
        let verified = |params: Params| {
            let mut m = Matcher::new(params);
            for (id, (t, s)) in (1..).zip(&items) {
                let f = m.features(t, s);
                m.insert(id, id, id, 1_000, f);
            }
            let d = m.decide(9_999, 1_000, &m.features(&probe.0, &probe.1));
            assert_eq!(d.story_id, None);
            d.verified
        };
        // It shares a number with 6 items and its words with hundreds: not worth verifying anything.
        assert_eq!(verified(Params::default()), 0);
        // Under the floor for title-only items, the number alone would have made candidates.
        let loose = Params {
            min_votes_full: Params::default().min_votes,
            ..Params::default()
        };
        assert!(verified(loose) > 0);
    }

    #[test]
    fn tokens_keep_words_numbers_and_how_they_were_written() {
        let toks = raw_tokens("Macron\u{2019}s plan: O'Neill's 1,250.5 MPs. Élan vital!");
        let words: Vec<&str> = toks.iter().map(|t| t.lower.as_str()).collect();
        assert_eq!(
            words,
            [
                "macron", "plan", "o'neill", "1250.5", "mps", "élan", "vital"
            ]
        );
        let flags: Vec<(bool, bool, bool, bool)> = toks
            .iter()
            .map(|t| (t.capital, t.all_caps, t.number, t.sentence_start))
            .collect();
        assert_eq!(
            flags,
            [
                (true, false, false, true),
                (false, false, false, false),
                (true, false, false, true),
                (false, false, true, false),
                (true, false, false, false),
                (true, false, false, true),
                (false, false, false, false),
            ]
        );
        // A trailing apostrophe or separator is not part of a word or number.
        let toks = raw_tokens("players' 3, 4");
        let words: Vec<&str> = toks.iter().map(|t| t.lower.as_str()).collect();
        assert_eq!(words, ["players", "3", "4"]);
    }

    #[test]
    fn strips_decorations() {
        assert_eq!(
            strip_title_decorations("UPDATE 2-Oil prices rise again today - Daily Trend Hub"),
            "Oil prices rise again today"
        );
        assert_eq!(
            strip_title_decorations("BREAKING: Four men arrested over Jakarta bomb"),
            "Four men arrested over Jakarta bomb"
        );
        assert_eq!(
            strip_title_decorations("Ukraine war live"),
            "Ukraine war live"
        );
    }

    #[test]
    fn stopwords_are_sorted() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }
}
