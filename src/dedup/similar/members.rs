//! Each story's live members in the window. Nearly every story has one member: those stories sit in a map
//! of 8-byte slots (the story id and the member's sequence number, 32 bits each), and only the stories with
//! more keep a list, in a second map. One map of lists took 69 bytes per item at two million one-item
//! stories, and its doubling at 1.8 million added 70 MB; 16-byte slots took 71 MB at two million, and their
//! last doubling was the peak of a first poll of 100,000 feeds.

use super::{FxMap, Members};

/// Story -> its live members' sequence numbers, in insertion order (the first is the representative).
#[derive(Debug, Default)]
pub(super) struct StoryMembers {
    /// Stories with one live member and an id below 2^32 (every story until a database founds four
    /// billion): story -> the member's sequence number modulo 2^32.
    one: FxMap<u32, u32>,
    /// Stories with one live member and a larger id.
    one_wide: FxMap<i64, u64>,
    /// Stories with two or more.
    many: FxMap<i64, Members>,
    /// The newest sequence number added. Live members are within 2^32 below it (the window is far smaller),
    /// which recovers a sequence number from its low 32 bits.
    newest: u64,
}

impl StoryMembers {
    /// Number of stories.
    pub(super) fn len(&self) -> usize {
        self.one.len() + self.one_wide.len() + self.many.len()
    }

    /// Whether `story` has a live member.
    pub(super) fn contains(&self, story: i64) -> bool {
        self.sole(story).is_some() || self.many.contains_key(&story)
    }

    /// The live members of `story` (none when it has none).
    pub(super) fn get(&self, story: i64) -> Members {
        match self.sole(story) {
            Some(seq) => Members::from_buf([seq]),
            None => self.many.get(&story).cloned().unwrap_or_default(),
        }
    }

    /// Adds the item `seq` to `story`, after its other members.
    pub(super) fn push(&mut self, story: i64, seq: u64) {
        self.newest = self.newest.max(seq);
        if let Some(list) = self.many.get_mut(&story) {
            list.push(seq);
        } else if let Some(first) = self.take_sole(story) {
            self.many.insert(story, Members::from_slice(&[first, seq]));
        } else {
            self.set_sole(story, seq);
        }
    }

    /// Takes the item `seq` out of `story`, forgetting the story once it has no member.
    pub(super) fn remove(&mut self, story: i64, seq: u64) {
        if let Some(list) = self.many.get_mut(&story) {
            list.retain(|m| *m != seq);
            match list[..] {
                [] => {
                    self.many.remove(&story);
                }
                [last] => {
                    self.many.remove(&story);
                    self.set_sole(story, last);
                }
                _ => {}
            }
        } else if self.sole(story) == Some(seq) {
            self.take_sole(story);
        }
    }

    /// The slot capacities of the maps (one-member stories with narrow ids, with wide ids, stories with a
    /// list) and the lists' heap bytes.
    pub(super) fn footprint(&self) -> (usize, usize, usize, usize) {
        let lists = self
            .many
            .values()
            .filter(|m| m.spilled())
            .map(|m| m.capacity() * size_of::<u64>())
            .sum();
        (
            self.one.capacity(),
            self.one_wide.capacity(),
            self.many.capacity(),
            lists,
        )
    }

    /// The member of a one-member `story`.
    fn sole(&self, story: i64) -> Option<u64> {
        match u32::try_from(story) {
            Ok(narrow) => self.one.get(&narrow).map(|&low| self.full_seq(low)),
            Err(_) => self.one_wide.get(&story).copied(),
        }
    }

    /// Records `seq` as the one member of `story`.
    fn set_sole(&mut self, story: i64, seq: u64) {
        match u32::try_from(story) {
            Ok(narrow) => {
                self.one.insert(narrow, seq as u32);
            }
            Err(_) => {
                self.one_wide.insert(story, seq);
            }
        }
    }

    /// Forgets the one member of `story`, returning it.
    fn take_sole(&mut self, story: i64) -> Option<u64> {
        match u32::try_from(story) {
            Ok(narrow) => self.one.remove(&narrow).map(|low| self.full_seq(low)),
            Err(_) => self.one_wide.remove(&story),
        }
    }

    /// The live sequence number whose low 32 bits are `low`.
    fn full_seq(&self, low: u32) -> u64 {
        self.newest - u64::from((self.newest as u32).wrapping_sub(low))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_insertion_order_as_stories_grow_and_shrink() {
        let mut s = StoryMembers::default();
        s.push(7, 1);
        assert_eq!(s.get(7).as_slice(), &[1]);
        s.push(7, 4);
        s.push(7, 9);
        s.push(8, 2);
        assert_eq!(s.get(7).as_slice(), &[1, 4, 9]);
        assert_eq!(s.len(), 2);
        s.remove(7, 1);
        assert_eq!(s.get(7).as_slice(), &[4, 9], "the next member leads");
        s.remove(7, 9);
        assert_eq!(s.get(7).as_slice(), &[4]);
        // Back to one member, it grows again after that member.
        s.push(7, 12);
        assert_eq!(s.get(7).as_slice(), &[4, 12]);
        s.remove(7, 4);
        s.remove(7, 12);
        assert!(!s.contains(7));
        // Removing an item that is not a member changes nothing.
        s.remove(8, 3);
        assert_eq!(s.get(8).as_slice(), &[2]);
        s.remove(8, 2);
        assert_eq!((s.len(), s.get(8).len()), (0, 0));
    }

    #[test]
    fn wide_story_ids_and_sequence_numbers_past_32_bits_read_back_whole() {
        let mut s = StoryMembers::default();
        let wide = i64::from(u32::MAX) + 5;
        let seq = (7u64 << 32) - 2;
        // Members on both sides of a 2^32 boundary of the sequence numbers, in narrow and wide stories.
        s.push(3, seq);
        s.push(wide, seq + 1);
        s.push(4, seq + 3);
        assert_eq!(s.get(3).as_slice(), &[seq]);
        assert_eq!(s.get(wide).as_slice(), &[seq + 1]);
        assert_eq!(s.get(4).as_slice(), &[seq + 3]);
        s.push(wide, seq + 4);
        assert_eq!(s.get(wide).as_slice(), &[seq + 1, seq + 4]);
        s.remove(wide, seq + 1);
        assert_eq!(s.get(wide).as_slice(), &[seq + 4]);
        assert!(s.contains(wide) && s.contains(3));
        // A narrow id and a wide one with the same low 32 bits are different stories.
        assert!(!s.contains(i64::from(u32::MAX) + 1 + 3));
        s.remove(3, seq);
        s.remove(wide, seq + 4);
        assert_eq!(s.len(), 1);
        assert_eq!(s.get(4).as_slice(), &[seq + 3]);
    }
}
