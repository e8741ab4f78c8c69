//! One posting list of the candidate index: the sequence numbers (mod 2^32) of the items holding a key, in
//! insertion order, kept as LEB128 deltas. Postings were most of the window's memory at four bytes each;
//! a delta between items holding the same word takes one to three.
//!
//! LEB128 reads backwards as well as forwards (a byte below 0x80 ends a number), so the newest entries,
//! which the index scans, are decoded from the end without touching the rest of the list.

/// Sequence numbers in insertion order (see the module doc).
#[derive(Debug, Default, Clone)]
pub(super) struct Postings {
    /// Deltas from each entry to the next, from the entry at `head` on.
    deltas: Vec<u8>,
    /// Where the live deltas start: entries popped from the front leave their bytes until compaction.
    head: u32,
    /// The first and the last entry.
    first: u32,
    last: u32,
    len: u32,
}

/// Appends `v` as LEB128.
fn put(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads the LEB128 number at `at`, with the offset after it.
fn get(bytes: &[u8], mut at: usize) -> (u32, usize) {
    let (mut v, mut shift) = (0u32, 0);
    loop {
        let b = bytes[at];
        at += 1;
        v |= u32::from(b & 0x7f) << shift;
        if b < 0x80 {
            return (v, at);
        }
        shift += 7;
    }
}

/// Reads the LEB128 number ending just before `end`, with its start offset: its last byte holds the
/// highest bits, so one pass backwards decodes it.
fn get_back(bytes: &[u8], end: usize) -> (u32, usize) {
    let mut start = end - 1;
    let mut v = u32::from(bytes[start]);
    while start > 0 && bytes[start - 1] >= 0x80 {
        start -= 1;
        v = v << 7 | u32::from(bytes[start] & 0x7f);
    }
    (v, start)
}

impl Postings {
    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    /// The oldest entry.
    pub(super) fn front(&self) -> Option<u32> {
        (self.len > 0).then_some(self.first)
    }

    /// Appends the newest entry.
    pub(super) fn push(&mut self, s: u32) {
        if self.len == 0 {
            self.first = s;
        } else {
            if self.deltas.len() == self.deltas.capacity() {
                // Grow by a quarter: most lists are short and stay so.
                self.deltas.reserve_exact((self.deltas.len() / 4).max(4));
            }
            put(&mut self.deltas, s.wrapping_sub(self.last));
        }
        self.last = s;
        self.len += 1;
    }

    /// Removes the oldest entry.
    pub(super) fn pop_front(&mut self) {
        match self.len {
            0 => {}
            1 => *self = Postings::default(),
            _ => {
                let (d, next) = get(&self.deltas, self.head as usize);
                self.first = self.first.wrapping_add(d);
                self.head = next as u32;
                self.len -= 1;
                if self.head as usize * 2 > self.deltas.len() {
                    self.deltas.drain(..self.head as usize);
                    self.head = 0;
                    self.deltas
                        .shrink_to(self.deltas.len() + self.deltas.len() / 4);
                }
            }
        }
    }

    /// The newest `n` entries (or all), newest first.
    pub(super) fn newest(&self, n: usize) -> impl Iterator<Item = u32> + '_ {
        let mut end = self.deltas.len();
        let mut cur = self.last;
        (0..n.min(self.len())).map(move |i| {
            if i > 0 {
                let (d, start) = get_back(&self.deltas, end);
                cur = cur.wrapping_sub(d);
                end = start;
            }
            cur
        })
    }

    /// Every entry, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let mut at = self.head as usize;
        let mut cur = self.first;
        (0..self.len()).map(move |i| {
            if i > 0 {
                let (d, next) = get(&self.deltas, at);
                cur = cur.wrapping_add(d);
                at = next;
            }
            cur
        })
    }

    /// Removes `target` if the list holds it. Entries ascend by `rank` (the offset from the window's
    /// base), and the search starts at the newest end, since an item taken out of order is usually one
    /// inserted late; the deltas around it merge into one.
    pub(super) fn remove(&mut self, target: u32, rank: impl Fn(u32) -> u32) {
        let wanted = rank(target);
        let head = self.head as usize;
        let mut end = self.deltas.len();
        // The delta after `cur`, and where it ends.
        let mut trail: Option<(u32, usize)> = None;
        let mut cur = self.last;
        for _ in 0..self.len {
            let r = rank(cur);
            if r < wanted {
                return;
            }
            if end == head {
                // `cur` is the first entry.
                if r == wanted {
                    self.pop_front();
                }
                return;
            }
            let (d, start) = get_back(&self.deltas, end);
            if r == wanted {
                match trail {
                    None => {
                        self.deltas.truncate(start);
                        self.last = cur.wrapping_sub(d);
                    }
                    Some((after, trail_end)) => {
                        let mut merged = Vec::with_capacity(5);
                        put(&mut merged, d.wrapping_add(after));
                        self.deltas.splice(start..trail_end, merged);
                    }
                }
                self.len -= 1;
                return;
            }
            trail = Some((d, end));
            cur = cur.wrapping_sub(d);
            end = start;
        }
    }

    /// Keeps only the entries `keep` accepts.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        let kept: Vec<u32> = self.iter().filter(|&s| keep(s)).collect();
        if kept.len() == self.len() {
            return;
        }
        let mut fresh = Postings::default();
        fresh
            .deltas
            .reserve_exact(self.deltas.len() - self.head as usize);
        for s in kept {
            fresh.push(s);
        }
        fresh.deltas.shrink_to_fit();
        *self = fresh;
    }

    /// Heap bytes held.
    pub(super) fn capacity_bytes(&self) -> usize {
        self.deltas.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_reads_back_forwards_backwards_and_after_pops_and_filters() {
        let mut values = Vec::new();
        let mut p = Postings::default();
        let mut s = u32::MAX - 1000;
        for i in 0..5000u32 {
            // Deltas of one to four LEB128 bytes, and a wrap past 2^32 (a window spans far less than 2^32).
            s = s.wrapping_add(1 + (i * 7919) % [3, 300, 70_000, 3_000_000][i as usize % 4]);
            p.push(s);
            values.push(s);
        }
        assert_eq!(p.iter().collect::<Vec<_>>(), values);
        let newest: Vec<u32> = p.newest(32).collect();
        assert_eq!(
            newest,
            values.iter().rev().take(32).copied().collect::<Vec<_>>()
        );
        for _ in 0..3000 {
            p.pop_front();
        }
        values.drain(..3000);
        assert_eq!(p.front(), values.first().copied());
        assert_eq!(p.newest(1).next(), values.last().copied());
        assert_eq!(p.iter().collect::<Vec<_>>(), values);
        assert_eq!(p.newest(10_000).count(), 2000);
        p.retain(|s| s % 3 != 0);
        values.retain(|s| s % 3 != 0);
        assert_eq!(p.len(), values.len());
        assert_eq!(p.iter().collect::<Vec<_>>(), values);
        assert_eq!(
            p.newest(5).collect::<Vec<_>>(),
            values.iter().rev().take(5).copied().collect::<Vec<_>>()
        );
        // Removing the newest, a middle, the oldest and an absent entry.
        let rank = |s: u32| s.wrapping_sub(u32::MAX - 1000);
        for target in [
            values[values.len() - 1],
            values[values.len() / 2],
            values[0],
            values[1] + 1,
        ] {
            p.remove(target, rank);
            values.retain(|&v| v != target);
            assert_eq!(p.len(), values.len());
            assert_eq!(p.iter().collect::<Vec<_>>(), values);
            assert_eq!(p.newest(1).next(), values.last().copied());
        }
        p.push(values[values.len() - 1].wrapping_add(9));
        values.push(values[values.len() - 1].wrapping_add(9));
        assert_eq!(
            p.newest(3).collect::<Vec<_>>(),
            values.iter().rev().take(3).copied().collect::<Vec<_>>()
        );
        while p.len() > 0 {
            p.pop_front();
        }
        assert_eq!(p.front(), None);
        p.push(7);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![7]);
    }
}
