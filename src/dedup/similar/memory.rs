//! What the window's memory is made of: an estimate of the heap bytes each of the matcher's structures
//! holds, from their lengths and capacities, so a benchmark (and an operator) can see where the bytes
//! per item go without a heap profiler.

use std::mem::size_of;

use super::{Entry, Matcher, Members};

/// Estimated heap bytes of a matcher's window, by structure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowMemory {
    /// Items in the window.
    pub items: usize,
    /// Posting lists in the candidate index.
    pub lists: usize,
    /// Postings in the candidate index.
    pub postings_held: usize,
    /// The entry slots (one per sequence number, live or not, and spare capacity).
    pub entries: usize,
    /// Each live item's tokens, alternative lemmas and shape, as far as they are held in memory.
    pub features: usize,
    /// Bytes of features in the spill file (not part of the total).
    pub spilled: usize,
    /// The substitutions each item taught.
    pub taught: usize,
    /// The candidate index: map buckets and posting lists.
    pub postings: usize,
    /// The eviction order.
    pub by_time: usize,
    /// Stories and their member lists.
    pub stories: usize,
    /// Document frequencies of words the lexicon does not know, and learned substitutions.
    pub terms: usize,
    /// Arrays sized by the lexicon (frequencies and list lengths per lemma and concept): fixed,
    /// whatever the window holds.
    pub fixed: usize,
}

impl WindowMemory {
    /// All of it.
    pub fn total(&self) -> usize {
        self.entries
            + self.features
            + self.taught
            + self.postings
            + self.by_time
            + self.stories
            + self.terms
            + self.fixed
    }

    /// Bytes per item of everything that grows with the window (all but `fixed`).
    pub fn per_item(&self) -> f64 {
        (self.total() - self.fixed) as f64 / self.items.max(1) as f64
    }
}

/// Bytes a hash map's table takes: a bucket and a control byte per slot. hashbrown keeps at least
/// an eighth of the slots free, so its slot count is the next power of two of capacity × 8/7.
fn table_bytes<K, V>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let slots = (capacity * 8 / 7).next_power_of_two();
    slots * (size_of::<(K, V)>() + 1)
}

/// What an allocation of `n` bytes takes from the allocator: mimalloc's size classes are about an
/// eighth apart above 64 bytes, so an eighth is added on average (and 8-byte steps below).
pub(super) fn alloc_bytes(n: usize) -> usize {
    match n {
        0 => 0,
        1..=64 => n.next_multiple_of(8),
        _ => n + n / 16,
    }
}

impl Matcher {
    /// Estimated heap bytes the window holds, by structure.
    pub fn memory(&self) -> WindowMemory {
        let (features, spilled) = self.feats.bytes();
        let taught = table_bytes::<u64, Box<[(u64, u64)]>>(self.taught.capacity())
            + self
                .taught
                .values()
                .map(|s| alloc_bytes(s.len() * size_of::<(u64, u64)>()))
                .sum::<usize>();
        let postings = table_bytes::<u64, super::postings::Postings>(self.postings.capacity())
            + self
                .postings
                .values()
                .map(|l| alloc_bytes(l.capacity_bytes()))
                .sum::<usize>();
        // A B-tree leaf holds up to 11 keys and is, after ascending inserts, about half full.
        let by_time = self.by_time.len() * size_of::<u64>() * 2;
        let (one, one_wide, many, lists) = self.stories.footprint();
        let stories = table_bytes::<u32, u32>(one)
            + table_bytes::<i64, u64>(one_wide)
            + table_bytes::<i64, Members>(many)
            + alloc_bytes(lists);
        let terms = table_bytes::<u32, u32>(self.df.capacity())
            + table_bytes::<u64, u32>(self.learned.capacity())
            + table_bytes::<u32, Vec<u32>>(self.partners.capacity())
            + self
                .partners
                .values()
                .map(|v| alloc_bytes(v.capacity() * 4))
                .sum::<usize>();
        let fixed =
            (self.term_lens.capacity() + self.concept_lens.capacity() + self.df_lex.capacity())
                * size_of::<u32>();
        WindowMemory {
            items: self.live,
            lists: self.postings.len(),
            postings_held: self
                .postings
                .values()
                .map(super::postings::Postings::len)
                .sum(),
            entries: self.entries.capacity() * size_of::<Option<Entry>>()
                + table_bytes::<u64, i64>(self.pinned.capacity()),
            features,
            spilled,
            taught,
            postings,
            by_time,
            stories,
            terms,
            fixed,
        }
    }
}
