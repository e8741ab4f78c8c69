//! The window's bookkeeping: adding an item (document frequencies, postings, story, what it
//! teaches) and evicting items that fell out of the time window.

use super::features::{FeatInner, Features};
use super::slots::Slots;
use super::spill::FeatRef;
use super::{Entry, Matcher, Members, OOV_BIT, Placed, TAG_CONCEPT};

/// Offset in `entries` (whose first slot has sequence number `base`) of a posting's sequence number `s`,
/// or None when that item left the window. Postings keep sequence numbers modulo 2^32, which is
/// unambiguous because the window is far smaller. A free function, so that it can be used while a posting
/// list is borrowed mutably.
fn live_slot(entries: &Slots<Entry>, base: u64, s: u32) -> Option<usize> {
    let k = s.wrapping_sub(base as u32) as usize;
    (k < entries.len() && entries[k].is_some()).then_some(k)
}

/// An item's key in the eviction order: its publication time in seconds (clamped to 32 bits; the entry keeps
/// the exact time) above its sequence number modulo 2^32. Half the bytes of a (time, sequence number) pair,
/// in a B-tree that holds every item of the window.
pub(super) fn time_key(published: i64, seq: u64) -> u64 {
    (published.clamp(0, i64::from(u32::MAX)) as u64) << 32 | u64::from(seq as u32)
}

impl Matcher {
    /// The full sequence number of a live item from the low 32 bits a posting or [`time_key`] keeps.
    pub(super) fn seq_from_low(&self, low: u32) -> u64 {
        self.base + u64::from(low.wrapping_sub(self.base as u32))
    }

    /// The live entry with sequence number `seq`, if any.
    pub(super) fn entry(&self, seq: u64) -> Option<&Entry> {
        self.live_offset(seq as u32)
            .and_then(|k| self.entries[k].as_ref())
    }

    /// Offset of a posting's sequence number in `entries`, or None when evicted (see [`live_slot`]).
    fn live_offset(&self, s: u32) -> Option<usize> {
        live_slot(&self.entries, self.base, s)
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

    /// [`Matcher::insert`] for an item whose source has `priority`; its order key is its id.
    pub fn insert_ranked(
        &mut self,
        item_id: i64,
        story_id: i64,
        source_id: i64,
        priority: i32,
        published: i64,
        f: Features,
    ) {
        self.insert_placed(
            Placed {
                item_id,
                story_id,
                source_id,
                priority,
                published,
                order_key: item_id as u64,
                pinned_to: 0,
            },
            f,
        );
    }

    /// Adds a placed item to the window.
    pub fn insert_placed(&mut self, p: Placed, f: Features) {
        self.insert_window(p, f.into_inner());
    }

    /// Adds a placed item that the next [`Matcher::settle`] decides and indexes: until then it only counts
    /// in the document frequencies, so nothing decided meanwhile can join it.
    pub fn defer_placed(&mut self, p: Placed, f: Features) {
        let f = f.into_inner();
        self.count_terms(&f, true);
        let r = self.feats.put(f.words());
        let e = Entry {
            waiting: true,
            ..Entry::of(&p, r, f.has_summary())
        };
        if p.pinned_to != 0 {
            self.deferred_pins.insert(p.item_id, p.pinned_to);
        }
        self.deferred.push(e);
    }

    /// Drops the deferred items published before `cutoff`, which the window would have evicted.
    pub(super) fn evict_deferred_before(&mut self, cutoff: i64) {
        let mut deferred = std::mem::take(&mut self.deferred);
        deferred.retain(|e| {
            let kept = e.published >= cutoff;
            if !kept {
                let f = self.feat(e);
                self.count_terms(&f, false);
                self.feats.release(e.f);
                self.deferred_pins.remove(&e.item_id);
            }
            kept
        });
        self.deferred = deferred;
    }

    /// [`Matcher::insert_placed`] for features as the window holds them (or about to).
    pub(super) fn insert_window(&mut self, p: Placed, f: FeatInner) {
        self.count_terms(&f, true);
        let r = self.feats.put(f.words());
        self.insert_indexed(p, r, &f);
    }

    /// Adds (or withdraws) an item's terms to the document frequencies.
    pub(super) fn count_terms(&mut self, f: &FeatInner, add: bool) {
        for &t in Self::terms(f).iter() {
            if t < OOV_BIT {
                let c = &mut self.df_lex[self.lex.index(t)];
                *c = if add { *c + 1 } else { c.saturating_sub(1) };
            } else if add {
                *self.df.entry(t).or_insert(0) += 1;
            } else if let Some(c) = self.df.get_mut(&t) {
                *c -= 1;
                if *c == 0 {
                    self.df.remove(&t);
                }
            }
        }
        if add {
            self.docs += 1;
        } else {
            self.docs -= 1;
        }
    }

    /// Adds an item whose features `f` the store holds at `r` to the index and its story, leaving the
    /// document frequencies as they are.
    pub(super) fn insert_indexed(&mut self, p: Placed, r: FeatRef, f: &FeatInner) {
        let seq = self.base + self.entries.len() as u64;
        for &(k, _) in self.index_keys(f).iter() {
            let list = self.postings.entry(k).or_default();
            list.push(seq as u32);
            let len = list.len() as u32;
            self.set_posting_len(k, len);
        }
        self.live += 1;
        let subs = self.learn(p.story_id, f);
        if !subs.is_empty() {
            self.taught.insert(seq, subs.into_boxed_slice());
        }
        if p.pinned_to != 0 {
            self.pinned.insert(seq, p.pinned_to);
        }
        self.entries
            .push_back(Some(Entry::of(&p, r, f.has_summary())));
        self.by_time.insert(time_key(p.published, seq));
        self.stories.push(p.story_id, seq);
    }

    /// Drops items published before `cutoff` from the window.
    pub fn evict_before(&mut self, cutoff: i64) {
        let cut = time_key(cutoff, 0);
        while let Some(&key) = self.by_time.first() {
            if key >= cut {
                break;
            }
            self.by_time.pop_first();
            self.remove(self.seq_from_low(key as u32));
        }
    }

    /// Takes the item with sequence number `seq` out of the window, if it is live: its statistics,
    /// postings, story membership, what it taught and its stored features.
    fn remove(&mut self, seq: u64) {
        let Some((e, _)) = self.take_entry(seq) else {
            return;
        };
        let f = self.feat(&e);
        self.count_terms(&f, false);
        self.feats.release(e.f);
        // Lists are in insertion order, so evicted items usually sit at the front; an item evicted out
        // of order is looked for from the list's newest end (offsets from `base` ascend).
        let (base, entries) = (self.base as u32, &self.entries);
        let dead = |s: u32| live_slot(entries, self.base, s).is_none();
        let off = seq.wrapping_sub(self.base) as u32;
        let keys = self.index_keys(&f);
        let mut lens = Vec::with_capacity(keys.len());
        for &(key, _) in keys.iter() {
            if let Some(list) = self.postings.get_mut(&key) {
                while list.front().is_some_and(dead) {
                    list.pop_front();
                }
                // Only an item evicted out of order can still be in the list.
                if list.front().is_some_and(|s| s.wrapping_sub(base) < off) {
                    list.remove(seq as u32, |s| s.wrapping_sub(base));
                }
                lens.push((key, list.len() as u32));
            }
        }
        self.set_lens(lens);
        self.leave_story(seq, &e);
        self.trim_front();
    }

    /// Takes many items out of the index and their stories, as settling does, leaving the document
    /// frequencies and the stored features as they are. Each posting list they are in is filtered once,
    /// where removing them one by one would search and shift every list once per item in it (quadratic
    /// in a long list). Appends the live ones to `taken`, in `seqs` order, and records in `pins` the item an
    /// exact layer joined each to, if any.
    pub(super) fn remove_many_indexed(
        &mut self,
        seqs: &[u64],
        taken: &mut Vec<Entry>,
        pins: &mut super::FxMap<i64, i64>,
    ) {
        taken.reserve(seqs.len());
        let mut keys: Vec<u64> = Vec::new();
        for &seq in seqs {
            let Some((e, pinned_to)) = self.take_entry(seq) else {
                continue;
            };
            keys.extend(self.index_keys(&self.feat(&e)).iter().map(|&(k, _)| k));
            self.leave_story(seq, &e);
            if pinned_to != 0 {
                pins.insert(e.item_id, pinned_to);
            }
            taken.push(e);
        }
        keys.sort_unstable();
        keys.dedup();
        let (base, entries) = (self.base, &self.entries);
        let live = |s: u32| live_slot(entries, base, s).is_some();
        let mut lens = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(list) = self.postings.get_mut(&key) {
                list.retain(live);
                lens.push((key, list.len() as u32));
            }
        }
        self.set_lens(lens);
        self.trim_front();
    }

    /// Takes the live entry `seq` out of its slot and the eviction order; with it, the item an exact layer
    /// joined it to (or 0).
    fn take_entry(&mut self, seq: u64) -> Option<(Entry, i64)> {
        let e = self
            .entries
            .get_mut(seq.checked_sub(self.base)? as usize)?
            .take()?;
        self.by_time.remove(&time_key(e.published, seq));
        self.live -= 1;
        let pinned_to = self.pinned.remove(&seq).unwrap_or(0);
        Some((e, pinned_to))
    }

    /// Records posting lists' new lengths, dropping the lists left empty.
    fn set_lens(&mut self, lens: Vec<(u64, u32)>) {
        for (key, len) in lens {
            if len == 0 {
                self.postings.remove(&key);
            }
            self.set_posting_len(key, len);
        }
    }

    /// Takes the removed entry `seq` out of its story, withdrawing what it taught and what later members
    /// learned from it.
    fn leave_story(&mut self, seq: u64, e: &Entry) {
        self.stories.remove(e.story_id, seq);
        let mut withdrawn: Vec<u64> = self
            .taught
            .remove(&seq)
            .map(|subs| subs.iter().map(|x| x.1).collect())
            .unwrap_or_default();
        let members: Members = self.stories.get(e.story_id);
        for m in members {
            if let Some(subs) = self.taught.get_mut(&m)
                && subs.iter().any(|&(partner, _)| partner == seq)
            {
                withdrawn.extend(
                    subs.iter()
                        .filter(|&&(partner, _)| partner == seq)
                        .map(|x| x.1),
                );
                let kept: Box<[(u64, u64)]> = subs.iter().copied().filter(|x| x.0 != seq).collect();
                if kept.is_empty() {
                    self.taught.remove(&m);
                } else {
                    *subs = kept;
                }
            }
        }
        for key in withdrawn {
            self.count_sub(key, -1);
        }
    }

    /// Drops the empty slots at the front of the entries.
    fn trim_front(&mut self) {
        while let Some(None) = self.entries.front() {
            self.entries.pop_front();
            self.base += 1;
        }
    }
}
