//! Candidate lookup: which items in the window share enough rare index keys with a new item
//! to be worth verifying.

use super::features::FeatInner;
use super::postings::Postings;
use super::score::Scratch;
use super::{Matcher, OOV_BIT, TAG_CONCEPT};

impl Matcher {
    /// Candidate entry offsets from the index, most votes first (ties: newest first).
    ///
    /// Only the `max_query_keys` rarest keys of the item are looked up (anchors count as
    /// rarer), lists longer than the skip length are ignored and only the newest
    /// `posting_scan_cap` entries of a list are read, so the cost is bounded however large the
    /// window grows.
    pub(super) fn candidates(
        &self,
        published: i64,
        f: &FeatInner,
        scratch: &mut Scratch,
    ) -> Vec<usize> {
        let p = &self.params;
        let skip_len = ((self.docs as f32 * p.posting_skip_share) as usize).max(p.posting_scan_cap);
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
        let lists: Vec<(f32, &Postings)> = ranked
            .iter()
            .filter_map(|&(_, k, share)| Some((share, self.postings.get(&k)?)))
            .collect();
        let n = self.docs as f32 + 1.0;
        let (votes, voted) = (&mut scratch.votes, &mut scratch.voted);
        if votes.len() < self.entries.len() {
            votes.resize(self.entries.len(), 0.0);
        }
        voted.clear();
        for (share, list) in lists {
            let w = (n / list.len() as f32).ln().max(0.1) * share.min(1.0);
            // Only the cheap range check here: touching every entry would cost a cache miss
            // per vote; liveness and the time window are checked for the winners only. The order
            // within a list does not matter: each item gets one vote per list.
            let (base, len) = (self.base as u32, self.entries.len());
            for k in list
                .newest(p.posting_scan_cap)
                .map(|s| s.wrapping_sub(base) as usize)
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
                        && (votes >= floor_full || !(f.has_summary() && e.has_summary))
                })
            })
            .map(|x| x.0 as usize)
            .take(if f.has_summary() {
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
            self.postings.get(&key).map_or(0, Postings::len)
        }
    }
}
