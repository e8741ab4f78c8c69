//! The WordNet-derived lexicon used by spin-robust near-duplicate matching: lemmatisation
//! (WordNet "morphy": exception lists plus detachment suffix rules) and, per lemma, its set of
//! concept keys (synsets, adjective-cluster heads, one-pointer neighbours).
//!
//! The data is `data/lexicon.bin`, built by `tools/build_lexicon.py` from WordNet 3.0 (licence in
//! `data/WORDNET-LICENSE`) and embedded in the binary, so nothing is downloaded at run time.
//!
//! Concept keys are `2 * synset + flag`: flag 0 ("own") is a synset the lemma belongs to (or the
//! head of its adjective cluster), flag 1 ("related") is a synset one pointer away (hypernym,
//! also-see, verb group, attribute, domain, pertainym and the pertainym's hypernyms, which is
//! how thesauri such as MyThes list "related terms": lunar -> satellite). Two lemmas are
//! [`related`] when they share a synset that is "own" for at least one of them: synonyms,
//! cluster mates, and a word with its direct hypernym match, but two siblings under a common
//! hypernym (Monday/Tuesday under "weekday") do not. Words are never collapsed to one sense:
//! spinners pick senses blindly (live -> dwell, net -> internet, meet -> satisfy).
//!
//! Hyphenated WordNet lemmas are also known joined ("cease-fire" -> "ceasefire"), since the
//! tokenizer splits on hyphens and news text often writes such words solid.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// Identifier of a lemma in the lexicon: the offset of its block in the lexicon's packed
/// array, so that its concept keys are one memory access away (see [`Lexicon::lemma_ids`]).
pub(super) type LemmaId = u32;

/// Part-of-speech bits stored per lemma.
const POS_NOUN: u8 = 1;
const POS_VERB: u8 = 2;
const POS_ADJ: u8 = 4;

/// Morphy's detachment rules per part of speech: (suffix, replacement).
const NOUN_RULES: &[(&str, &str)] = &[
    ("s", ""),
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
];
const VERB_RULES: &[(&str, &str)] = &[
    ("s", ""),
    ("ies", "y"),
    ("es", "e"),
    ("es", ""),
    ("ed", "e"),
    ("ed", ""),
    ("ing", "e"),
    ("ing", ""),
];
const ADJ_RULES: &[(&str, &str)] = &[("er", ""), ("est", ""), ("er", "e"), ("est", "e")];

/// FxHash over 8-byte chunks: lemma lookups are the hot path of tokenizing, and SipHash's
/// flooding protection is not needed for a fixed, trusted vocabulary. Lookups only; the maps
/// are never iterated, so no order leaks out.
#[derive(Default, Clone, Copy)]
pub(super) struct FxStr(u64);

impl Hasher for FxStr {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        let mut last = 0u64;
        for (k, &b) in chunks.remainder().iter().enumerate() {
            last |= u64::from(b) << (8 * k);
        }
        self.0 = (self.0.rotate_left(5) ^ last ^ (bytes.len() as u64) << 56)
            .wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type StrMap<V> = HashMap<&'static str, V, BuildHasherDefault<FxStr>>;

/// The embedded lexicon bytes (see `tools/build_lexicon.py` for the layout).
static SHIPPED_BYTES: &[u8] = include_bytes!("../../../data/lexicon.bin");

/// A parsed lexicon: vocabulary, part-of-speech masks, frequency classes, concept keys and
/// morphological exceptions. Immutable after construction.
pub struct Lexicon {
    /// Lemma strings, sorted by bytes.
    words: Vec<&'static str>,
    /// Lemma string -> id (lookup only; never iterated, so no order leaks out).
    ids: StrMap<LemmaId>,
    /// One block per lemma, in `words` order: a header (number of keys in bits 0..16,
    /// frequency class in bits 16..20, part-of-speech mask in bits 20..24), the lemma's index
    /// in `words`, then its sorted concept keys. A [`LemmaId`] is the offset of its block.
    blocks: Vec<u32>,
    /// Inflected form -> (base lemma, part-of-speech bit), from WordNet's `*.exc` lists.
    exc: StrMap<Vec<(LemmaId, u8)>>,
    /// One more than the largest synset number in any concept key.
    synset_bound: usize,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("lemmas", &self.words.len())
            .field("blocks", &self.blocks.len())
            .field("exceptions", &self.exc.len())
            .finish()
    }
}

/// Reads a LEB128 varint at `*at`, advancing it.
fn varint(b: &[u8], at: &mut usize) -> Result<u32, String> {
    let mut v: u32 = 0;
    let mut shift = 0;
    loop {
        let byte = *b.get(*at).ok_or("lexicon: truncated varint")?;
        *at += 1;
        v |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
        if shift > 28 {
            return Err("lexicon: varint too long".into());
        }
    }
}

fn read_u32(b: &[u8], at: &mut usize) -> Result<u32, String> {
    let s = b.get(*at..*at + 4).ok_or("lexicon: truncated header")?;
    *at += 4;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Takes the next `\n`-terminated UTF-8 line at `*at`.
fn line(b: &'static [u8], at: &mut usize) -> Result<&'static str, String> {
    let rest = b.get(*at..).ok_or("lexicon: truncated")?;
    let n = rest
        .iter()
        .position(|&c| c == b'\n')
        .ok_or("lexicon: missing newline")?;
    *at += n + 1;
    std::str::from_utf8(&rest[..n]).map_err(|e| format!("lexicon: {e}"))
}

/// Keys a and b (each sorted) are related: they share a synset that is "own" for either side.
fn related(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i] >> 1, b[j] >> 1);
        if x < y {
            i += 1;
        } else if y < x {
            j += 1;
        } else {
            // At most one key per synset on each side (own wins at build time).
            if (a[i] & 1) == 0 || (b[j] & 1) == 0 {
                return true;
            }
            i += 1;
            j += 1;
        }
    }
    false
}

impl Lexicon {
    /// The lexicon shipped in the binary (parsed once, on first use).
    pub fn shipped() -> &'static Lexicon {
        static LEX: OnceLock<Lexicon> = OnceLock::new();
        LEX.get_or_init(|| Lexicon::from_bytes(SHIPPED_BYTES).expect("embedded lexicon is valid"))
    }

    /// Parses a lexicon in the `tools/build_lexicon.py` format.
    pub fn from_bytes(b: &'static [u8]) -> Result<Lexicon, String> {
        const MAGIC: &[u8] = b"WDLEX1\n";
        if !b.starts_with(MAGIC) {
            return Err("lexicon: bad magic".into());
        }
        let mut at = MAGIC.len();
        let n_words = read_u32(b, &mut at)? as usize;
        let n_exc = read_u32(b, &mut at)? as usize;
        let _n_synsets = read_u32(b, &mut at)?;
        let mut words = Vec::with_capacity(n_words);
        for _ in 0..n_words {
            words.push(line(b, &mut at)?);
        }
        let pos = b.get(at..at + n_words).ok_or("lexicon: truncated pos")?;
        at += n_words;
        let freq = b.get(at..at + n_words).ok_or("lexicon: truncated freq")?;
        at += n_words;
        let mut blocks: Vec<u32> = Vec::with_capacity(n_words * 8);
        let mut synset_bound = 0usize;
        let mut ids: StrMap<LemmaId> = StrMap::default();
        ids.reserve(n_words);
        for (ix, w) in words.iter().enumerate() {
            let id = blocks.len() as LemmaId;
            ids.insert(w, id);
            let n = varint(b, &mut at)?;
            if n >= 1 << 16 {
                return Err(format!("lexicon: {w} has too many keys"));
            }
            let header = n | u32::from(freq[ix] & 15) << 16 | u32::from(pos[ix] & 15) << 20;
            blocks.push(header);
            blocks.push(ix as u32);
            let mut prev = 0u32;
            for _ in 0..n {
                prev += varint(b, &mut at)?;
                blocks.push(prev);
            }
            synset_bound = synset_bound.max((prev >> 1) as usize + 1);
        }
        // Features pack a token's position beside an alternative lemma in one word.
        if blocks.len() > super::features::MAX_ALT_LEMMA as usize {
            return Err(format!(
                "lexicon: {} block words, more than lemma ids can address",
                blocks.len()
            ));
        }
        let mut exc: StrMap<Vec<(LemmaId, u8)>> = StrMap::default();
        for _ in 0..n_exc {
            let l = line(b, &mut at)?;
            let mut parts = l.split(' ');
            let (Some(infl), Some(base), Some(p)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("lexicon: bad exception line {l:?}"));
            };
            let bit = match p {
                "n" => POS_NOUN,
                "v" => POS_VERB,
                "a" => POS_ADJ,
                _ => 8,
            };
            if let Some(&id) = ids.get(base) {
                exc.entry(infl).or_default().push((id, bit));
            }
        }
        Ok(Lexicon {
            words,
            ids,
            blocks,
            exc,
            synset_bound,
        })
    }

    /// One more than the largest synset number in a concept key (`key >> 1`): synsets index arrays of
    /// this length.
    pub fn synset_bound(&self) -> usize {
        self.synset_bound
    }

    /// Number of lemmas.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when the lexicon has no lemmas.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Id of a lemma spelled exactly so (lower case), if WordNet knows it.
    pub fn id(&self, lemma: &str) -> Option<LemmaId> {
        self.ids.get(lemma).copied()
    }

    /// One more than the largest lemma id: ids index arrays of this length.
    pub fn id_bound(&self) -> usize {
        self.blocks.len()
    }

    /// All lemma ids, in the order of their spellings.
    pub fn lemma_ids(&self) -> impl Iterator<Item = LemmaId> + '_ {
        let mut at = 0usize;
        std::iter::from_fn(move || {
            let header = *self.blocks.get(at)?;
            let id = at as LemmaId;
            at += 2 + (header & 0xffff) as usize;
            Some(id)
        })
    }

    /// The spelling of a lemma id.
    pub fn word(&self, id: LemmaId) -> &'static str {
        self.words[self.index(id)]
    }

    /// Dense index of a lemma id (its rank in spelling order, below [`Lexicon::len`]), for
    /// per-lemma arrays far smaller than ones indexed by id. It sits next to the lemma's
    /// header, so reading it costs no extra cache miss once the lemma's keys are read.
    pub fn index(&self, id: LemmaId) -> usize {
        self.blocks[id as usize + 1] as usize
    }

    /// Frequency class of a lemma (0 = unseen in SemCor .. 15 = very common).
    pub fn freq_class(&self, id: LemmaId) -> u8 {
        ((self.blocks[id as usize] >> 16) & 15) as u8
    }

    /// Part-of-speech mask of a lemma (bit 0 noun, 1 verb, 2 adjective, 3 adverb).
    fn pos(&self, id: LemmaId) -> u8 {
        ((self.blocks[id as usize] >> 20) & 15) as u8
    }

    /// Concept keys of a lemma id (sorted, deduplicated).
    pub fn keys(&self, id: LemmaId) -> &[u32] {
        let at = id as usize;
        let n = (self.blocks[at] & 0xffff) as usize;
        &self.blocks[at + 2..at + 2 + n]
    }

    /// Concept keys of a lemma (sorted, deduplicated); empty when unknown.
    pub fn concepts(&self, lemma: &str) -> &[u32] {
        self.id(lemma).map_or(&[], |id| self.keys(id))
    }

    /// All WordNet base forms of a lower-cased word, most likely first, at most 3: the word
    /// itself when it is a lemma, then exception-list bases, then suffix-rule bases (morphy).
    pub fn analyze(&self, word: &str) -> Vec<LemmaId> {
        let mut ids = [0; 3];
        let n = self.analyze_into(word, &mut ids);
        ids[..n].to_vec()
    }

    /// [`Lexicon::analyze`] without allocating: fills `out` and returns how many it found.
    pub fn analyze_into(&self, word: &str, out: &mut [LemmaId; 3]) -> usize {
        let mut n = 0;
        let mut push = |id: LemmaId| {
            if n < 3 && !out[..n].contains(&id) {
                out[n] = id;
                n += 1;
            }
        };
        if let Some(id) = self.id(word) {
            push(id);
        }
        if let Some(bases) = self.exc.get(word) {
            for &(id, _) in bases {
                push(id);
            }
        }
        let mut buf = String::with_capacity(word.len() + 2);
        for (rules, bit) in [
            (NOUN_RULES, POS_NOUN),
            (VERB_RULES, POS_VERB),
            (ADJ_RULES, POS_ADJ),
        ] {
            for &(suf, rep) in rules {
                // Keep a stem of at least two letters: "is" -> "i" is noise.
                if word.len() < suf.len() + 2 || !word.ends_with(suf) {
                    continue;
                }
                buf.clear();
                buf.push_str(&word[..word.len() - suf.len()]);
                buf.push_str(rep);
                if let Some(id) = self.id(&buf)
                    && self.pos(id) & bit != 0
                {
                    push(id);
                }
            }
        }
        n
    }

    /// Base form of a lower-cased word (WordNet morphy; the word itself when unknown).
    pub fn lemma<'a>(&'a self, word: &'a str) -> Cow<'a, str> {
        match self.analyze(word).first() {
            Some(&id) => Cow::Borrowed(self.word(id)),
            None => Cow::Borrowed(word),
        }
    }

    /// Whether two lemma ids are related (share a concept; see the module docs).
    pub fn related_ids(&self, a: LemmaId, b: LemmaId) -> bool {
        a == b || related(self.keys(a), self.keys(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: &str, b: &str) -> bool {
        let l = Lexicon::shipped();
        let (x, y) = (l.analyze(a), l.analyze(b));
        x.iter().any(|&i| y.iter().any(|&j| l.related_ids(i, j)))
    }

    #[test]
    fn lemmatises_like_morphy() {
        let l = Lexicon::shipped();
        assert_eq!(l.lemma("ran"), "run");
        assert_eq!(l.lemma("mice"), "mouse");
        assert_eq!(l.lemma("bombs"), "bomb");
        assert_eq!(l.lemma("arrested"), "arrest");
        assert_eq!(l.lemma("choosed"), "choose"); // spinners re-inflect crudely
        assert_eq!(l.lemma("zzyzxq"), "zzyzxq");
        assert_eq!(l.lemma("prepared"), "prepared");
        assert!(l.analyze("prepared").contains(&l.id("prepare").unwrap()));
    }

    #[test]
    fn concepts_are_sorted_and_unknown_is_empty() {
        let l = Lexicon::shipped();
        let c = l.concepts("meet");
        assert!(!c.is_empty());
        assert!(c.windows(2).all(|w| w[0] < w[1]));
        assert!(l.concepts("qwxzv").is_empty());
    }

    #[test]
    fn spinner_substitutions_are_related() {
        for (a, b) in [
            ("meet", "satisfy"),
            ("ready", "prepared"),
            ("live", "dwell"),
            ("net", "internet"),
            ("war", "warfare"),
            ("rough", "tough"),
            ("start", "begin"),
            ("got", "obtained"),
            ("four", "quaternity"),
            ("ceasefire", "truce"),
            ("lunar", "satellite"),
            ("income", "earnings"),
        ] {
            assert!(rel(a, b), "{a} ~ {b}");
        }
    }

    #[test]
    fn siblings_and_unrelated_words_are_not() {
        assert!(!rel("monday", "tuesday"));
        assert!(!rel("ceasefire", "election"));
        assert!(!rel("football", "parliament"));
    }
}
