//! The window's bookkeeping: adding an item (document frequencies, postings, story, what it
//! teaches) and evicting items that fell out of the time window.

use super::features::Features;
use super::{Entry, Matcher, Members, OOV_BIT, TAG_CONCEPT};

impl Matcher {
    /// The live entry with sequence number `seq`, if any.
    pub(super) fn entry(&self, seq: u64) -> Option<&Entry> {
        self.live_offset(seq as u32)
            .and_then(|k| self.entries[k].as_ref())
    }

    /// Offset of a posting's sequence number in `entries`, or None when evicted. Postings keep
    /// sequence numbers modulo 2^32, which is unambiguous because the window is far smaller.
    fn live_offset(&self, s: u32) -> Option<usize> {
        let k = s.wrapping_sub(self.base as u32) as usize;
        (k < self.entries.len() && self.entries[k].is_some()).then_some(k)
    }

    /// Records a posting list's new length in the dense arrays.
    fn set_posting_len(&mut self, key: u64, len: u32) {
        if key & TAG_CONCEPT != 0 {
            self.concept_lens[key as u32 as usize] = len;
        } else if (key as u32) < OOV_BIT {
            self.term_lens[self.lex.index(key as u32)] = len;
        }
    }

    /// Adds an item (after its story is known) to the window: IDF statistics, index, story. Its
    /// source has priority 0.
    pub fn insert(
        &mut self,
        item_id: i64,
        story_id: i64,
        source_id: i64,
        published: i64,
        f: Features,
    ) {
        self.insert_ranked(item_id, story_id, source_id, 0, published, f);
    }

    /// [`Matcher::insert`] for an item whose source has `priority`.
    pub fn insert_ranked(
        &mut self,
        item_id: i64,
        story_id: i64,
        source_id: i64,
        priority: i32,
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
            priority,
            published,
            f,
            subs: subs.into_boxed_slice(),
        }));
        self.by_time.insert((published, seq));
        self.stories.entry(story_id).or_default().push(seq);
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
