//! What a spinner keeps: the shape of an item's text (every word, function words included, in
//! order), and how much of one item's shape another keeps in place.
//!
//! An article spinner swaps words for entries of its thesaurus one for one, and leaves names,
//! numbers, function words, words its thesaurus lacks and the words it skipped where they were.
//! A copy spun through a thesaurus we have never seen shares no synonym with its original, but
//! it keeps the number and order of words and, at most positions, the word itself. Two reports
//! of one event written by different people do not: their words fall at other positions. So the
//! share of positions holding the same word, after a banded alignment that allows a phrase swap
//! to shift the rest by a word or two, tells a spin from a rewrite without knowing the thesaurus.
//!
//! The shape is a byte per word (a hash), at most [`SHAPE_TITLE`] words of the title and
//! [`SHAPE_TEXT`] of the summary: positions are compared, never words looked up, so a byte is
//! enough (two different words collide at one position 1 time in 256).

use super::tokens::{RawToks, fnv32};

/// Words of the title kept in the shape.
pub(super) const SHAPE_TITLE: usize = 20;
/// Words of the summary kept in the shape (a cut copy keeps the lead).
pub(super) const SHAPE_TEXT: usize = 28;
/// The longest shape.
pub(super) const SHAPE_LEN: usize = SHAPE_TITLE + SHAPE_TEXT;
/// How far (in words) the alignment may drift from the diagonal: a spinner's phrase swap
/// ("only if" -> "provided that") shifts the rest by a word.
const BAND: usize = 3;
/// Summary words both items need before their summaries' shapes count.
const MIN_TEXT_WORDS: usize = 8;
/// Title words a title-only shape match needs.
const MIN_TITLE_WORDS: usize = 5;

/// One word of a shape.
fn shape_byte(lower: &str) -> u8 {
    let h = fnv32(lower);
    (h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24)) as u8
}

/// The shape of an item: title words then summary words, a byte each, and how many are the
/// title's.
pub(super) fn shape(title: &RawToks, summary: &RawToks) -> (Vec<u8>, usize) {
    let mut out: Vec<u8> = title
        .iter()
        .take(SHAPE_TITLE)
        .map(|t| shape_byte(t.lower))
        .collect();
    let n_title = out.len();
    out.extend(summary.iter().take(SHAPE_TEXT).map(|t| shape_byte(t.lower)));
    (out, n_title)
}

/// A hash of the numbers among `toks`, in order; 0 when there are none.
pub(super) fn numbers(toks: &RawToks) -> u32 {
    toks.iter()
        .filter(|t| t.number)
        .fold(0, |h, t| (h.rotate_left(7) ^ fnv32(t.lower)).max(1))
}

/// Words of `a` matched in place in `b`: the best alignment within [`BAND`] of the diagonal where
/// a same word scores 1, a different word 0 and a word skipped on one side -1, and whatever is
/// left over at the end of either is free (a copy may cut the text). Symmetric in `a` and `b`.
fn kept_in_place(a: &[u8], b: &[u8]) -> usize {
    const NEG: i32 = i32::MIN / 4;
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb == 0 {
        return 0;
    }
    // Row i holds columns i-BAND ..= i+BAND as (score, matches): tuples order by score, then by more
    // matches, so `max` picks the better path. Cells outside the matrix stay far below any real score.
    const WIDTH: usize = 2 * BAND + 1;
    let mut prev = [(NEG, 0i32); WIDTH];
    let mut cur = [(NEG, 0i32); WIDTH];
    let col = |i: usize, k: usize| (i + k).checked_sub(BAND);
    // Row 0: only leading gaps in `b`.
    for (k, cell) in prev.iter_mut().enumerate() {
        if let Some(j) = col(0, k).filter(|&j| j <= nb) {
            *cell = (-(j as i32), 0);
        }
    }
    let mut best = (0i32, 0i32);
    for i in 1..=na {
        for k in 0..WIDTH {
            cur[k] = match col(i, k) {
                None => (NEG, 0),
                Some(j) if j > nb => (NEG, 0),
                Some(0) => (-(i as i32), 0),
                Some(j) => {
                    let same = i32::from(a[i - 1] == b[j - 1]);
                    let (s, m) = prev[k];
                    // Diagonal: same k in the previous row; up (skip a word of `a`): column j is k + 1
                    // in the previous row; left (skip a word of `b`): column j - 1 in this row.
                    let mut c = (s + same, m + same);
                    if k + 1 < WIDTH {
                        c = c.max((prev[k + 1].0 - 1, prev[k + 1].1));
                    }
                    if k > 0 {
                        c = c.max((cur[k - 1].0 - 1, cur[k - 1].1));
                    }
                    if j == nb {
                        best = best.max(c);
                    }
                    c
                }
            };
        }
        if i == na {
            best = cur.iter().fold(best, |b, &c| b.max(c));
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    best.1.max(0) as usize
}

/// How much of its shape a pair keeps in place (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Kept {
    /// Share of the longer title's words kept in place.
    pub(super) title: f32,
    /// Share of the shorter summary's words kept in place (None when either is too short).
    pub(super) text: Option<f32>,
    /// Whether the titles have the same number of words (a spinner keeps it).
    pub(super) same_title_len: bool,
    /// Words in the shorter title.
    pub(super) title_words: usize,
}

impl Kept {
    /// The pair's combined evidence: mostly the summary, which is longer and so harder to match
    /// by chance; the title alone when there is no summary to compare.
    pub(super) fn combined(&self) -> f32 {
        match self.text {
            Some(t) => 0.3 * self.title + 0.7 * t,
            None => self.title,
        }
    }

    /// Whether a title-only comparison may rest on the shape: same length, long enough that a
    /// chance match of a few words in place is unlikely.
    pub(super) fn title_shape_usable(&self) -> bool {
        self.same_title_len && self.title_words >= MIN_TITLE_WORDS
    }
}

/// Compares two shapes (title words first, `ta`/`tb` of them).
pub(super) fn compare(a: &[u8], ta: usize, b: &[u8], tb: usize) -> Kept {
    let (at, ax) = a.split_at(ta.min(a.len()));
    let (bt, bx) = b.split_at(tb.min(b.len()));
    let title = kept_in_place(at, bt) as f32 / at.len().max(bt.len()).max(1) as f32;
    let n = ax.len().min(bx.len());
    let text = (n >= MIN_TEXT_WORDS).then(|| {
        let cut = n + BAND;
        kept_in_place(&ax[..ax.len().min(cut)], &bx[..bx.len().min(cut)]) as f32 / n as f32
    });
    Kept {
        title,
        text,
        same_title_len: at.len() == bt.len(),
        title_words: at.len().min(bt.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tokens::raw_tokens;
    use super::*;

    fn shape_of(title: &str, summary: &str) -> (Vec<u8>, usize) {
        shape(&raw_tokens(title), &raw_tokens(summary))
    }

    const HARBOUR: (&str, &str) = (
        "Harbour authority delays vote on new container terminal",
        "The Port of Lisbon authority said on Tuesday it would delay a vote on the 400 million \
         euro container terminal until March, after fishermen and residents of the Alcantara \
         district protested against the plan.",
    );
    const HARBOUR_BLIND: (&str, &str) = (
        "Harbour pilgrimage delays vote on new sandwich terminal",
        "The Port of Lisbon mattress said on Tuesday it would harvest a ribbon on the 400 million \
         euro pencil cathedral until March, after violinists and tenants of the Alcantara \
         meadow whistled against the blanket.",
    );

    fn kept(a: (&str, &str), b: (&str, &str)) -> Kept {
        let (sa, ta) = shape_of(a.0, a.1);
        let (sb, tb) = shape_of(b.0, b.1);
        compare(&sa, ta, &sb, tb)
    }

    #[test]
    fn alignment_counts_words_in_place_and_allows_a_shift() {
        let w = |s: &str| -> Vec<u8> { s.bytes().collect() };
        assert_eq!(kept_in_place(&w("abcdef"), &w("abcdef")), 6);
        assert_eq!(kept_in_place(&w("abcdef"), &w("axcxex")), 3);
        // A two-word phrase for one word shifts the rest by one: all else is still in place.
        assert_eq!(kept_in_place(&w("abcdefgh"), &w("abXYdefgh")), 7);
        // A cut copy: the rest of the longer one is free.
        assert_eq!(kept_in_place(&w("abcdefgh"), &w("abcd")), 4);
        // The same words far apart are not in place.
        assert_eq!(kept_in_place(&w("abcdefgh"), &w("efghabcd")), 0);
        assert_eq!(kept_in_place(&w(""), &w("abc")), 0);
        for (x, y) in [("abcdefgh", "abXYdefgh"), ("axbycz", "abc"), ("a", "ba")] {
            assert_eq!(kept_in_place(&w(x), &w(y)), kept_in_place(&w(y), &w(x)));
        }
    }

    /// A spin by a thesaurus no lexicon knows (written for this test the way such a spinner
    /// works): the substitutes are unrelated words, but the names, numbers and function words
    /// stay where they were.
    #[test]
    fn a_blind_spin_keeps_its_shape() {
        let k = kept(HARBOUR, HARBOUR_BLIND);
        assert!(k.text.unwrap() >= 0.7, "{k:?}");
        assert!(k.combined() >= 0.6, "{k:?}");
        assert!(k.same_title_len);
    }

    /// A follow-up story shares names and much vocabulary, but its words are elsewhere.
    #[test]
    fn a_follow_up_does_not_keep_the_shape() {
        let first = (
            "Yankees beat Red Sox 5-3 in the opener",
            "Derek Jeter hit a two-run homer in the eighth inning as the New York Yankees beat \
             the Boston Red Sox 5-3 on Tuesday in the opener of their series.",
        );
        let next = (
            "Red Sox rally to stun Yankees in game two",
            "The Boston Red Sox scored four runs in the ninth inning on Wednesday to beat the \
             New York Yankees 6-5 and even their series at one game each.",
        );
        let k = kept(first, next);
        assert!(k.combined() < 0.35, "{k:?}");
    }
}
