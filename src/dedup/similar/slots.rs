//! The window's entry slots: a deque kept in fixed-size chunks. Growing it never moves what it holds: a
//! `VecDeque` of two million entries reallocated at each growth, and for that moment held its old and its
//! new buffer (a tenth of a gigabyte more at the peak of a first poll of 100,000 feeds).

use std::ops::{Index, IndexMut};

/// Slots per chunk (4,096 entries of the window are about 224 KiB).
const CHUNK: usize = 1 << 12;

/// A double-ended queue of `Option<T>`, indexed from its front, appended at the back and popped at the
/// front, in chunks of [`CHUNK`] slots.
#[derive(Debug)]
pub(super) struct Slots<T> {
    chunks: Vec<Box<[Option<T>]>>,
    /// Slots of the first chunk already popped.
    head: usize,
    len: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            chunks: Vec::new(),
            head: 0,
            len: 0,
        }
    }
}

impl<T> Slots<T> {
    /// Number of slots, filled or not.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Slots allocated (the length and the unused ends of the first and last chunks).
    pub(super) fn capacity(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    /// The chunk and the offset in it of slot `k`.
    fn locate(&self, k: usize) -> (usize, usize) {
        let at = self.head + k;
        (at / CHUNK, at % CHUNK)
    }

    /// Slot `k`, if there are that many.
    pub(super) fn get(&self, k: usize) -> Option<&Option<T>> {
        (k < self.len).then(|| {
            let (c, o) = self.locate(k);
            &self.chunks[c][o]
        })
    }

    /// Slot `k` for writing, if there are that many.
    pub(super) fn get_mut(&mut self, k: usize) -> Option<&mut Option<T>> {
        (k < self.len).then(|| {
            let (c, o) = self.locate(k);
            &mut self.chunks[c][o]
        })
    }

    /// The first slot.
    pub(super) fn front(&self) -> Option<&Option<T>> {
        self.get(0)
    }

    /// The slots from the front.
    #[cfg(test)]
    pub(super) fn iter(&self) -> impl Iterator<Item = &Option<T>> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .skip(self.head)
            .take(self.len)
    }

    /// Appends a slot.
    pub(super) fn push_back(&mut self, value: Option<T>) {
        let (c, o) = self.locate(self.len);
        if c == self.chunks.len() {
            self.chunks
                .push(std::iter::repeat_with(|| None).take(CHUNK).collect());
        }
        self.chunks[c][o] = value;
        self.len += 1;
    }

    /// Takes the first slot out.
    pub(super) fn pop_front(&mut self) -> Option<Option<T>> {
        if self.len == 0 {
            return None;
        }
        let value = self.chunks[0][self.head].take();
        self.head += 1;
        self.len -= 1;
        if self.head == CHUNK || self.len == 0 {
            // A few hundred chunk pointers at most move down: cheaper than a deque of chunks to index.
            self.chunks.remove(0);
            self.head = 0;
            if self.len == 0 {
                self.chunks.clear();
            }
        }
        Some(value)
    }
}

impl<T> Index<usize> for Slots<T> {
    type Output = Option<T>;

    fn index(&self, k: usize) -> &Option<T> {
        self.get(k)
            .unwrap_or_else(|| panic!("slot {k} of {}", self.len))
    }
}

impl<T> IndexMut<usize> for Slots<T> {
    fn index_mut(&mut self, k: usize) -> &mut Option<T> {
        let len = self.len;
        self.get_mut(k)
            .unwrap_or_else(|| panic!("slot {k} of {len}"))
    }
}

impl<T: 'static> IntoIterator for Slots<T> {
    type Item = Option<T>;
    type IntoIter = Box<dyn Iterator<Item = Option<T>>>;

    /// The slots from the front, chunk by chunk (each chunk is freed once read).
    fn into_iter(self) -> Self::IntoIter {
        Box::new(
            self.chunks
                .into_iter()
                .flat_map(|c| c.into_vec())
                .skip(self.head)
                .take(self.len),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn slots_behave_as_a_deque_across_chunk_boundaries() {
        let mut slots: Slots<u32> = Slots::default();
        let mut model: VecDeque<Option<u32>> = VecDeque::new();
        // Push more than two chunks, pop past the first boundary, take some slots, push again.
        for round in 0..3u32 {
            for i in 0..(CHUNK as u32 + 777) {
                let v = (i % 5 != 0).then_some(round * 100_000 + i);
                slots.push_back(v);
                model.push_back(v);
            }
            for _ in 0..(CHUNK + 13) {
                assert_eq!(slots.pop_front(), model.pop_front());
            }
            for k in (0..model.len()).step_by(97) {
                assert_eq!(slots.get_mut(k).and_then(Option::take), model[k].take());
            }
            assert_eq!(slots.len(), model.len());
            assert_eq!(slots.front(), model.front());
            assert!(slots.capacity() >= slots.len() && slots.capacity() <= slots.len() + 2 * CHUNK);
            for k in 0..model.len() {
                assert_eq!(slots[k], model[k], "slot {k}");
            }
            assert!(slots.iter().eq(model.iter()));
            assert_eq!(slots.get(model.len()), None);
        }
        let rest: Vec<Option<u32>> = std::mem::take(&mut slots).into_iter().collect();
        assert_eq!(rest, Vec::from(model));
        // Emptied by pops, it holds no chunk.
        let mut slots: Slots<u32> = Slots::default();
        slots.push_back(Some(1));
        slots.pop_front();
        assert_eq!((slots.len(), slots.capacity()), (0, 0));
    }
}
