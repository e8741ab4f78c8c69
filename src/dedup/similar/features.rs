//! Features: the tokens, lemmas and anchors kept per item, and the tables derived from them
//! once, on the poll tasks' threads (index keys, distinct terms, id masks).

use std::borrow::Cow;
use std::sync::Arc;

use super::kept;
use super::lexicon::LemmaId;
use super::tokens::{RawWord, WordIds, fnv32, raw_tokens, strip_title_decorations};
use super::{MAX_INDEXED_KEYS, Matcher, NONE, OOV_BIT, TAG_CONCEPT};

/// One content token: its term id (primary lemma or hashed unknown word) and up to two
/// alternative lemmas (e.g. "left" -> left, leave).
#[derive(Clone, Copy, Debug)]
pub(super) struct Tok<'a> {
    term: u32,
    /// Its alternative lemmas, packed as [`ALT_POS_SHIFT`] describes.
    alts: &'a [u32],
}

impl Tok<'_> {
    /// The primary lemma, or the hash of a word the thesaurus does not know.
    pub(super) fn term(&self) -> u32 {
        self.term
    }
    /// The term and the alternative lemmas.
    pub(super) fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.term).chain(self.alts.iter().map(|&a| a & ALT_LEMMA_MASK))
    }
    /// The ids that are thesaurus lemmas.
    pub(super) fn lemmas(&self) -> impl Iterator<Item = LemmaId> + '_ {
        self.ids().filter(|&i| i < OOV_BIT)
    }
}

/// Words of [`FeatInner::data`] before the tokens: the lengths, the title's numbers and the anchor mask.
const HEADER_WORDS: usize = 4;
/// An alternative lemma is stored in one word, its token's position (below 64) in the top bits:
/// lemma ids are offsets into the lexicon's block table, far below 2^26 (the lexicon checks it).
const ALT_POS_SHIFT: u32 = 26;
/// The lemma bits of a packed alternative.
const ALT_LEMMA_MASK: u32 = (1 << ALT_POS_SHIFT) - 1;
/// The largest lemma id an alternative can hold.
pub(super) const MAX_ALT_LEMMA: u32 = ALT_LEMMA_MASK;

/// An item's features: its tokens, flags and shape in one allocation, and (while it is being decided or
/// inserted) the tables that needs. The window keeps only the words, in its [`super::spill`] store.
#[derive(Debug)]
pub(super) struct FeatInner {
    /// One allocation, since the window holds hundreds of thousands of items:
    /// * a header of [`HEADER_WORDS`]: token count, title tokens, shape length and the shape's title
    ///   words (a byte each); a hash of the title's numbers in order (0 without any: a spinner keeps
    ///   numbers, so a pair whose titles' numbers differ is never a spin by shape, "Nets 96, Bobcats 89");
    ///   and the anchor mask (bit i set: token i is a number, a name or a word the thesaurus does not
    ///   know), low word first;
    /// * the term id of each content token (the title's first, at most 64);
    /// * the alternative lemmas of ambiguous tokens by position, packed (see [`ALT_POS_SHIFT`]);
    /// * the item's shape (see [`kept`]), four bytes to a word.
    data: Box<[u32]>,
    /// What deciding and inserting the item need, computed with the features on the poll tasks'
    /// threads instead of the single writer's. Items in the window keep only `data`.
    pub(super) prep: Option<Box<Prep>>,
}

impl FeatInner {
    /// Packs an item's parts into one allocation.
    fn pack(
        terms: &[u32],
        alts: &[(u8, u32)],
        title_len: usize,
        shape: &[u8],
        shape_title: usize,
        title_numbers: u32,
        anchors: u64,
    ) -> FeatInner {
        let mut data =
            Vec::with_capacity(HEADER_WORDS + terms.len() + alts.len() + shape.len().div_ceil(4));
        data.push(u32::from_le_bytes([
            terms.len() as u8,
            title_len as u8,
            shape.len() as u8,
            shape_title as u8,
        ]));
        data.push(title_numbers);
        data.push(anchors as u32);
        data.push((anchors >> 32) as u32);
        data.extend_from_slice(terms);
        data.extend(
            alts.iter()
                .map(|&(pos, id)| u32::from(pos) << ALT_POS_SHIFT | id),
        );
        data.extend(shape.chunks(4).map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        }));
        FeatInner {
            data: data.into_boxed_slice(),
            prep: None,
        }
    }

    /// The header's four length bytes: tokens, title tokens, shape, shape's title words.
    fn lens(&self) -> [u8; 4] {
        self.data[0].to_le_bytes()
    }

    /// A hash of the title's numbers in order (0 without any).
    pub(super) fn title_numbers(&self) -> u32 {
        self.data[1]
    }

    /// Bit i set: token i is an anchor (number, name, word the thesaurus does not know).
    pub(super) fn anchors(&self) -> u64 {
        u64::from(self.data[2]) | u64::from(self.data[3]) << 32
    }

    /// Whether the item has summary text (headline tickers have none): tokens beyond the title's.
    pub(super) fn has_summary(&self) -> bool {
        self.len() > self.title_len()
    }

    /// The tokens in order.
    pub(super) fn toks(&self) -> impl Iterator<Item = Tok<'_>> + Clone + '_ {
        let mut rest = self.alts();
        self.terms().iter().enumerate().map(move |(i, &term)| {
            let n = rest
                .iter()
                .take_while(|&&a| (a >> ALT_POS_SHIFT) as usize == i)
                .count();
            let (alts, tail) = rest.split_at(n);
            rest = tail;
            Tok { term, alts }
        })
    }

    /// The term id of each token.
    pub(super) fn terms(&self) -> &[u32] {
        &self.data[HEADER_WORDS..HEADER_WORDS + self.len()]
    }

    /// The packed alternative lemmas.
    fn alts(&self) -> &[u32] {
        &self.data[HEADER_WORDS + self.len()..self.data.len() - self.shape_words()]
    }

    /// Words of `data` the packed shape takes.
    fn shape_words(&self) -> usize {
        usize::from(self.lens()[2]).div_ceil(4)
    }

    /// The shape (see [`kept`]), unpacked: its bytes in a buffer, how many there are and how many
    /// are the title's.
    pub(super) fn shape(&self) -> ([u8; kept::SHAPE_LEN], usize, usize) {
        let mut out = [0u8; kept::SHAPE_LEN];
        let words = &self.data[self.data.len() - self.shape_words()..];
        for (chunk, w) in out.chunks_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes()[..chunk.len()]);
        }
        let [_, _, len, title] = self.lens();
        (out, usize::from(len), usize::from(title))
    }

    /// Number of tokens.
    pub(super) fn len(&self) -> usize {
        usize::from(self.lens()[0])
    }

    /// Number of tokens from the title.
    pub(super) fn title_len(&self) -> usize {
        usize::from(self.lens()[1])
    }

    /// The packed words, as the window stores them (see [`super::spill`]).
    pub(super) fn words(&self) -> &[u32] {
        &self.data
    }

    /// Features from words [`FeatInner::words`] gave, without the deciding tables. No words (a spill file
    /// that could not be read) reads as an item without tokens.
    pub(super) fn from_words(data: Box<[u32]>) -> FeatInner {
        let data = if data.len() < HEADER_WORDS {
            vec![0; HEADER_WORDS].into_boxed_slice()
        } else {
            data
        };
        FeatInner { data, prep: None }
    }
}

/// Per-item tables that depend on the lexicon alone, never on the window.
#[derive(Debug)]
pub(super) struct Prep {
    /// Index keys and their vote shares (see [`Matcher::index_keys`]).
    keys: Box<[(u64, f32)]>,
    /// Distinct term ids, sorted (for document frequencies).
    terms: Box<[u32]>,
    /// (lemma or term id, mask of tokens having it), sorted by id: the exact half of a probe.
    pub(super) ids: Box<[(u32, u64)]>,
}

/// Pre-computed text features of one item (tokens, lemmas, concept keys, anchors). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Features(pub(super) Arc<FeatInner>);

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
        self.0.len() == 0
    }
    /// Whether the item has summary text.
    pub fn has_summary(&self) -> bool {
        self.0.has_summary()
    }
    /// Number of anchor tokens (numbers, names, words the thesaurus does not know).
    pub fn anchors(&self) -> usize {
        self.0.anchors().count_ones() as usize
    }

    /// The features themselves, taken over when no one else holds them; otherwise a copy of their
    /// tokens (whose tables are computed again when needed).
    pub(super) fn into_inner(self) -> FeatInner {
        match Arc::try_unwrap(self.0) {
            Ok(inner) => inner,
            Err(shared) => FeatInner {
                data: shared.data.clone(),
                prep: None,
            },
        }
    }
}

/// Sorts (id, token mask) pairs by id and merges the masks of equal ids.
pub(super) fn merge_masks(pairs: &mut Vec<(u32, u64)>) {
    pairs.sort_unstable_by_key(|x| x.0);
    pairs.dedup_by(|b, a| {
        let same = a.0 == b.0;
        if same {
            a.1 |= b.1;
        }
        same
    });
}

impl Matcher {
    /// Text features of an item; `title` and `summary` are plain text.
    pub fn features(&self, title: &str, summary: &str) -> Features {
        let p = &self.params;
        let title = strip_title_decorations(title);
        let t_raw = raw_tokens(title);
        let s_raw = raw_tokens(summary);
        // In a Title Case headline capitals say nothing about names.
        let long: Vec<RawWord> = t_raw.iter().filter(|t| t.lower.len() > 3).collect();
        let title_case =
            !long.is_empty() && long.iter().filter(|t| t.capital).count() * 10 >= long.len() * 7;
        let mut toks: Vec<u32> = Vec::new();
        let mut alts: Vec<(u8, u32)> = Vec::new();
        let mut title_len = 0;
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
                    self.word_ids(r.lower)
                };
                let (ids, mut anchor) = match word {
                    WordIds::Skip => continue,
                    WordIds::Known(ids) => (ids, false),
                    WordIds::Unknown => (
                        [fnv32(r.lower) | OOV_BIT, NONE, NONE],
                        r.number || r.lower.len() >= 3,
                    ),
                };
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
        let (shape, shape_title) = kept::shape(&t_raw, &s_raw);
        let mut inner = FeatInner::pack(
            &toks,
            &alts,
            title_len,
            &shape,
            shape_title,
            kept::numbers(&t_raw),
            anchors,
        );
        self.prepare(&mut inner);
        Features(Arc::new(inner))
    }

    /// Computes the tables deciding and inserting an item read, unless it has them.
    pub(super) fn prepare(&self, inner: &mut FeatInner) {
        if inner.prep.is_none() {
            inner.prep = Some(Box::new(Prep {
                keys: self.compute_index_keys(inner).into_boxed_slice(),
                terms: Self::compute_terms(inner).into_boxed_slice(),
                ids: Self::compute_ids(inner).into_boxed_slice(),
            }));
        }
    }

    /// Distinct term ids of an item, sorted (for document frequencies).
    pub(super) fn terms(f: &FeatInner) -> Cow<'_, [u32]> {
        match &f.prep {
            Some(p) => Cow::Borrowed(&p.terms),
            None => Cow::Owned(Self::compute_terms(f)),
        }
    }

    /// [`Matcher::terms`], computed.
    fn compute_terms(inner: &FeatInner) -> Vec<u32> {
        let mut terms: Vec<u32> = inner.terms().to_vec();
        terms.sort_unstable();
        terms.dedup();
        terms
    }

    /// (id, mask of tokens having it) for every lemma and term id of an item, sorted by id.
    pub(super) fn compute_ids(inner: &FeatInner) -> Vec<(u32, u64)> {
        let mut ids: Vec<(u32, u64)> = Vec::with_capacity(inner.len() + inner.alts().len());
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
    pub(super) fn index_keys<'f>(&self, f: &'f FeatInner) -> Cow<'f, [(u64, f32)]> {
        match &f.prep {
            Some(p) => Cow::Borrowed(&p.keys),
            None => Cow::Owned(self.compute_index_keys(f)),
        }
    }

    /// [`Matcher::index_keys`], computed.
    fn compute_index_keys(&self, inner: &FeatInner) -> Vec<(u64, f32)> {
        let mut keys: Vec<(u64, f32)> = inner
            .toks()
            .enumerate()
            .filter(|&(i, _)| {
                i < inner.title_len() + self.params.max_indexed_summary_words
                    || inner.anchors() & (1u64 << i) != 0
            })
            .map(|(i, t)| {
                let anchor = inner.anchors() & (1u64 << i) != 0;
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
}
