//! Scoring: the probe of a new item, synonym-aware matching of tokens, IDF weights, and the
//! order-aware alignments that score a pair of items ([`PairScore`]).

use std::borrow::Cow;

use super::features::{FeatInner, Features, merge_masks};
use super::kept::{self, Kept};
use super::{FxMap, Matcher, OOV_BIT};

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
    /// How much of its shape the pair keeps in place (see `kept`), when the word scores alone
    /// fell short and the shape was compared; 0 otherwise.
    pub kept: f32,
}

/// Pre-computed view of the new item, to verify many candidates against it cheaply.
pub(super) struct Probe<'a> {
    pub(super) f: &'a FeatInner,
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
    /// One bit per synset hash (other bits of the hash than the slot's): most synsets looked up belong to
    /// no probe token, and their bit, mostly clear, ends the lookup before the probe sequence, which
    /// was a third of scoring a pair.
    present: [u64; PRESENT_WORDS],
}

/// Words of [`ConceptTable::present`]: 8,192 bits for the few hundred synsets of a probe.
const PRESENT_WORDS: usize = 128;

/// The bit of `synset` in [`ConceptTable::present`]: the top bits of the multiplicative hash, which
/// the slot index (bits 7 and up) does not use for tables of up to 4,096 slots.
fn present_bit(synset: u32) -> (usize, u64) {
    let h = synset.wrapping_mul(0x9e37_79b1) >> 19;
    ((h >> 6) as usize, 1u64 << (h & 63))
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
            present: [0; PRESENT_WORDS],
        }
    }

    fn slot(&self, synset: u32) -> usize {
        (synset.wrapping_mul(0x9e37_79b1) as usize >> 7) & self.mask
    }

    fn add(&mut self, synset: u32, own: u64, rel: u64) {
        let (word, bit) = present_bit(synset);
        self.present[word] |= bit;
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
        let (word, bit) = present_bit(synset);
        if self.present[word] & bit == 0 {
            return None;
        }
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
pub(super) struct Scratch {
    /// Related-token mask of the probe per candidate term (words recur across candidates).
    pub(super) memo: FxMap<u32, u64>,
    /// Match rows of the current candidate.
    rows: Vec<(u64, u64)>,
    /// IDF weight per term (looked up once per decision).
    pub(super) idf: FxMap<u32, f32>,
    /// Weights of the current candidate's tokens.
    wb: Vec<f32>,
    /// Index votes per entry offset; all zero between decisions (only touched slots are
    /// written, and they are reset after use), so summing votes needs no sort.
    pub(super) votes: Vec<f32>,
    /// Entry offsets voted for in the current decision, repeats included.
    pub(super) voted: Vec<u32>,
}

/// Tokens of the longer text compared with a shorter text of `short` tokens: the same length
/// plus slack for an added word or a split connective (a cut summary is a prefix).
pub(super) fn prefix_len(short: usize) -> usize {
    short + short / 8 + 2
}

/// Mask of the first `n` token positions.
fn low_mask(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

impl Matcher {
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
        let n = self.docs as f32 + self.params.prior_docs;
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

    /// IDF weight per token of `f`.
    fn weights(&self, f: &FeatInner) -> Vec<f32> {
        f.terms().iter().map(|&t| self.idf(t)).collect()
    }

    /// The probe of `f`, learned substitutions included.
    pub(super) fn probe<'a>(&self, f: &'a FeatInner) -> Probe<'a> {
        self.probe_with(f, true)
    }

    /// The probe of `f`; `learned` adds learned substitutions to the lexicon's relations.
    pub(super) fn probe_with<'a>(&self, f: &'a FeatInner, learned: bool) -> Probe<'a> {
        self.warm(std::iter::once(f));
        let n_keys: usize = f
            .toks()
            .map(|t| t.lemmas().map(|l| self.lex.keys(l).len()).sum::<usize>())
            .sum();
        let mut concepts = ConceptTable::with_capacity(n_keys);
        for (i, t) in f.toks().enumerate() {
            let bit = 1u64 << i;
            for l in t.lemmas() {
                for &k in self.lex.keys(l) {
                    let (own, rel) = if k & 1 == 0 { (bit, 0) } else { (0, bit) };
                    concepts.add(k >> 1, own, rel);
                }
            }
        }
        let ids = match &f.prep {
            Some(p) => Cow::Borrowed(&p.ids[..]),
            None => Cow::Owned(Self::compute_ids(f)),
        };
        let mut subs: Vec<(u32, u64)> = Vec::new();
        if learned && !self.partners.is_empty() {
            for (i, &t) in f.terms().iter().enumerate() {
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
    pub(super) fn match_rows(
        &self,
        probe: &Probe,
        b: &FeatInner,
        memo: &mut FxMap<u32, u64>,
        rows: &mut Vec<(u64, u64)>,
        need: usize,
    ) {
        rows.clear();
        rows.extend(b.toks().take(need).map(|t| {
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
    pub(super) fn warm<'b>(&self, items: impl Iterator<Item = &'b FeatInner> + Clone) {
        let mut sink = 0u32;
        for f in items.clone() {
            sink = sink.wrapping_add(f.len() as u32);
        }
        for f in items {
            for t in f.toks() {
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
    pub(super) fn score_pair(
        &self,
        probe: &Probe,
        b: &FeatInner,
        scratch: &mut Scratch,
    ) -> PairScore {
        // Only the candidate tokens the scores can use: its title against a title-only item,
        // else the prefix that is compared with the shorter text.
        let (la, lb) = (probe.f.len(), b.len());
        let need = if !probe.f.has_summary() || !b.has_summary() {
            b.title_len()
        } else if la <= lb {
            lb.min(prefix_len(la))
        } else {
            lb
        };
        self.match_rows(probe, b, &mut scratch.memo, &mut scratch.rows, need);
        let mut bw = std::mem::take(&mut scratch.wb);
        bw.clear();
        bw.extend(
            b.terms()
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
        b: &FeatInner,
        rows: &[(u64, u64)],
        bw: &[f32],
    ) -> PairScore {
        let p = &self.params;
        let a = probe.f;
        let wsum = |w: &[f32], n: usize| w[..n].iter().sum::<f32>().max(1e-6);
        let (ta, tb) = (a.title_len(), b.title_len());
        let (ma, mb) = self.align(probe, rows, bw, ta, tb);
        let (wa, wb) = (wsum(&probe.w, ta), wsum(bw, tb));
        let title = (ma + mb) / (wa + wb);
        let title_ok = ta.min(tb) >= p.min_title_words;
        let title_only = !a.has_summary() || !b.has_summary();
        if title_only {
            // Coverage of the shorter title, so an added word alone does not carry a match.
            let cov = if wa <= wb { ma / wa } else { mb / wb };
            let mut score = if title_ok { title.min(cov) } else { 0.0 };
            if score >= p.member_threshold {
                score = score.min(self.gapped(probe, rows, bw, ta, tb, p.gap_cost) / (wa + wb));
            }
            let mut kept = 0.0;
            if title_ok && score < p.title_threshold {
                let k = shape_kept(a, b);
                if k.title_shape_usable() {
                    kept = k.title;
                    score = score.max(kept_score(kept, p.kept_title, p.title_threshold));
                }
            }
            return PairScore {
                title,
                full: title,
                coverage: cov,
                score,
                title_only,
                comparable: title_ok,
                kept,
            };
        }
        // A copy may cut the summary ("..."): compare the shorter text with the same-length
        // prefix of the longer one, plus slack for an added word or a split connective.
        let (la, lb) = (a.len(), b.len());
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
        let mut kept = 0.0;
        if score < p.full_threshold {
            let k = shape_kept(a, b);
            if k.text.is_some() {
                kept = k.combined();
                score = score.max(kept_score(kept, p.kept_full, p.full_threshold));
            } else if title_ok && k.title_shape_usable() {
                kept = k.title;
                score = score.max(kept_score(kept, p.kept_title, p.full_threshold));
            }
        }
        PairScore {
            title,
            full,
            coverage,
            score,
            title_only,
            comparable: true,
            kept,
        }
    }

    /// Scores two feature sets against each other with the current IDF statistics.
    pub fn compare(&self, a: &Features, b: &Features) -> PairScore {
        let probe = self.probe(&a.0);
        self.score_pair(&probe, &b.0, &mut Scratch::default())
    }
}

/// How much of its shape a pair keeps in place; nothing when their titles' numbers differ, which
/// a spinner never changes.
fn shape_kept(a: &FeatInner, b: &FeatInner) -> Kept {
    if a.title_numbers() != b.title_numbers() {
        return Kept::default();
    }
    let (sa, na, ta) = a.shape();
    let (sb, nb, tb) = b.shape();
    kept::compare(&sa[..na], ta, &sb[..nb], tb)
}

/// The pair score that shape evidence `kept` stands for: `pass` (the threshold for the
/// pair's kind) at `kept_threshold`, rising one for one above it, and falling five times
/// faster below it, so that only a little under the threshold still counts as a member's
/// agreement (`Params::member_threshold`) and a chance match of function words counts as
/// nothing.
fn kept_score(kept: f32, kept_threshold: f32, pass: f32) -> f32 {
    let s = if kept >= kept_threshold {
        pass + (kept - kept_threshold)
    } else {
        pass - 5.0 * (kept_threshold - kept)
    };
    s.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_concept_table_finds_every_synset_added_and_no_other() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as u32 % 120_000
        };
        let added: Vec<u32> = (0..900).map(|_| next()).collect();
        let mut table = ConceptTable::with_capacity(added.len());
        for (i, &s) in added.iter().enumerate() {
            table.add(s, 1 << (i % 64), 1 << ((i + 1) % 64));
        }
        let mut expect: std::collections::HashMap<u32, (u64, u64)> = Default::default();
        for (i, &s) in added.iter().enumerate() {
            let m = expect.entry(s).or_default();
            m.0 |= 1 << (i % 64);
            m.1 |= 1 << ((i + 1) % 64);
        }
        for (&s, &m) in &expect {
            assert_eq!(table.get(s), Some(m), "synset {s}");
        }
        let mut stopped_early = 0;
        for s in 0..120_000u32 {
            if !expect.contains_key(&s) {
                assert_eq!(table.get(s), None, "synset {s} was never added");
                let (word, bit) = present_bit(s);
                stopped_early += usize::from(table.present[word] & bit == 0);
            }
        }
        // The bits are what makes a miss cheap: most absent synsets must stop there.
        assert!(
            stopped_early > 100_000,
            "{stopped_early} misses stopped at the bits"
        );
    }
}
