//! Each story's live members in the window. Nearly every story has one member: those stories sit in a map
//! of 16-byte slots, and only the stories with more keep a list, in a second map. One map of lists took
//! 69 bytes per item at two million one-item stories, and its doubling at 1.8 million added 70 MB.

use super::{FxMap, Members};

/// Story -> its live members' sequence numbers, in insertion order (the first is the representative).
#[derive(Debug, Default)]
pub(super) struct StoryMembers {
    /// Stories with one live member.
    one: FxMap<i64, u64>,
    /// Stories with two or more.
    many: FxMap<i64, Members>,
}

impl StoryMembers {
    /// Number of stories.
    pub(super) fn len(&self) -> usize {
        self.one.len() + self.many.len()
    }

    /// Whether `story` has a live member.
    pub(super) fn contains(&self, story: i64) -> bool {
        self.one.contains_key(&story) || self.many.contains_key(&story)
    }

    /// The live members of `story` (none when it has none).
    pub(super) fn get(&self, story: i64) -> Members {
        match self.one.get(&story) {
            Some(&seq) => Members::from_buf([seq]),
            None => self.many.get(&story).cloned().unwrap_or_default(),
        }
    }

    /// Adds the item `seq` to `story`, after its other members.
    pub(super) fn push(&mut self, story: i64, seq: u64) {
        if let Some(list) = self.many.get_mut(&story) {
            list.push(seq);
        } else if let Some(first) = self.one.remove(&story) {
            self.many.insert(story, Members::from_slice(&[first, seq]));
        } else {
            self.one.insert(story, seq);
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
                    self.one.insert(story, last);
                }
                _ => {}
            }
        } else if self.one.get(&story) == Some(&seq) {
            self.one.remove(&story);
        }
    }

    /// The two maps' slot capacities (one-member stories, stories with a list) and the lists' heap bytes.
    pub(super) fn footprint(&self) -> (usize, usize, usize) {
        let lists = self
            .many
            .values()
            .filter(|m| m.spilled())
            .map(|m| m.capacity() * size_of::<u64>())
            .sum();
        (self.one.capacity(), self.many.capacity(), lists)
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
}
