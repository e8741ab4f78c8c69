//! Learning: word substitutions a farm makes that the thesaurus lacks, taught by confidently
//! aligned story members and withdrawn when either item leaves the window.

use super::features::FeatInner;
use super::score::{Probe, prefix_len};
use super::{FxMap, Matcher, Members, OOV_BIT};

/// Key of a learned substitution between two terms (order-free).
fn sub_key(a: u32, b: u32) -> u64 {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    u64::from(x) << 32 | u64::from(y)
}

impl Matcher {
    /// Number of distinct learned substitutions held (and how many reach `learn_min_count`).
    pub fn learned_substitutions(&self) -> (usize, usize) {
        let strong = self
            .learned
            .values()
            .filter(|&&c| c >= self.params.learn_min_count)
            .count();
        (self.learned.len(), strong)
    }

    /// Learns the word substitutions between a new story member and each earlier live member
    /// it aligns with confidently; returns them as (member's sequence number, key).
    ///
    /// The alignment is unweighted and ignores what was learned before, so what an item pair
    /// teaches depends on the two items alone, and the learned state (the pairs of live items)
    /// is the same in a matcher rebuilt from the live items.
    pub(super) fn learn(&mut self, story_id: i64, f: &FeatInner) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        if self.params.learn_threshold > 1.0 || !f.has_summary() {
            return out;
        }
        let members: Members = self.stories.get(story_id);
        if members.is_empty() {
            return out;
        }
        let probe = self.probe_with(f, false);
        for seq in members {
            let Some(m) = self.entry(seq) else {
                continue;
            };
            for (a, b) in self.substitutions(&probe, &self.feat(m)) {
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
    fn substitutions(&self, probe: &Probe, b: &FeatInner) -> Vec<(u32, u32)> {
        let a = probe.f;
        if !b.has_summary() {
            return Vec::new();
        }
        let (la, lb) = (a.len(), b.len());
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
                let (ta, tb) = (a.terms()[i - 1], b.terms()[j - 1]);
                let anchor = a.anchors() & bit != 0 || b.anchors() & (1u64 << (j - 1)) != 0;
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
    pub(super) fn count_sub(&mut self, key: u64, delta: i32) {
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
}
