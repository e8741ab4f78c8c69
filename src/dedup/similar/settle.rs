//! Settling: making the window's stories one answer whatever order their items arrived in.
//!
//! Online, an item is decided against what the window holds when it arrives, so the same items polled in
//! another order can form other stories: a copy that arrives before its original founds a story of its
//! own, and whether a later copy agrees with "the story" depends on which copies came first. Settling
//! decides the items again in the *canonical order* (publication time, then a hash of the source's URL and
//! the item's guid), against a window that holds exactly the items before each one in that order.
//!
//! The items taken out stay counted in the document frequencies while they are decided again, so
//! every decision weighs words by the whole window, as a decision online late in a poll does: the
//! earliest items of the span are not judged by a near-empty window.
//!
//! The window keeps the invariant that its settled items were inserted in canonical order. Items placed
//! since the last settle all come at or after the earliest of them, so settling takes out every item from
//! that point on, and inserts them again one by one in canonical order, each decided afresh. The result is
//! a function of the live items alone: any arrival order that ends with the same items settles to the same
//! stories. Only items whose story changed are reported, for the store to move.
//!
//! A backlog (a first poll of many feeds, a catch-up after downtime) is not decided on arrival at all: its
//! items arrive in no useful order, so every one of them would be decided again here. Past
//! [`super::Params::defer_after_items`] unsettled items, new items found stories of their own and wait outside the
//! index, counted only in the document frequencies; settling takes them with the rest and decides each once.
//! Those that join a story move, and the others report the decision that left them alone.
//!
//! Items an exact layer placed (same URL, same text) are not decided by similarity: each group of them
//! goes where its canonically first member goes, and a group tied to an item outside the settled span
//! stays in that item's story.

use super::features::FeatInner;
use super::spill::FeatRef;
use super::{Entry, FxMap, Matcher};

/// An item as the window stores it: where it sits and what its canonical place is.
#[derive(Clone, Copy, Debug)]
pub struct Placed {
    /// Item row id.
    pub item_id: i64,
    /// Its story.
    pub story_id: i64,
    /// Its source.
    pub source_id: i64,
    /// Its source's priority.
    pub priority: i32,
    /// Publication time.
    pub published: i64,
    /// Its place in the canonical order after `published` (see [`super::super::order_key`]).
    pub order_key: u64,
    /// The item an exact layer joined it to, or 0.
    pub pinned_to: i64,
}

/// An item whose story changed when the window settled.
#[derive(Clone, Debug)]
pub struct Moved {
    /// The item.
    pub item_id: i64,
    /// The story it was in.
    pub from: i64,
    /// The story it is in now: an existing one, or one `new_story` handed out.
    pub to: i64,
    /// The decision that put it there. None when its stored decision stands: it followed the item an exact
    /// layer joined it to, or it is itself such an item and led its group (the stored row keeps the tie,
    /// which rebuilding the window after a restart reads back).
    pub decision: Option<super::Decision>,
}

/// What a settle did.
#[derive(Debug, Default)]
pub struct Settled {
    /// Items decided (again, unless they arrived in a backlog).
    pub decided: usize,
    /// Items whose story changed.
    pub moved: Vec<Moved>,
    /// Items of a backlog, decided here for the first time, that stayed in the story they founded on
    /// arrival although a candidate came close: their decisions, for `explain` (a backlog's other items
    /// need no row, as on arrival, and holding millions of decisions would cost more than the window).
    pub founded: Vec<(i64, i64, super::Decision)>,
}

/// Items placed together by exact layers within the settled span, by canonical position: each joins its
/// canonically first member's story. A union-find whose root is always the member first in canonical
/// order; a position it has no parent for is a root.
#[derive(Default)]
struct Groups(FxMap<usize, usize>);

impl Groups {
    fn root(&mut self, i: usize) -> usize {
        let mut r = i;
        while let Some(&up) = self.0.get(&r) {
            r = up;
        }
        // Path compression: everything on the way now points at the root.
        let mut k = i;
        while let Some(&up) = self.0.get(&k) {
            if up != r {
                self.0.insert(k, r);
            }
            k = up;
        }
        r
    }
    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        if a != b {
            self.0.insert(a.max(b), a.min(b));
        }
    }
}

impl Matcher {
    /// Settles every live item at or after `since` in the canonical order (see the module doc), handing
    /// out ids for stories it founds from `new_story`. Returns what moved.
    pub fn settle(&mut self, since: (i64, u64), mut new_story: impl FnMut() -> i64) -> Settled {
        let seqs: Vec<u64> = self
            .by_time
            .range(super::window::time_key(since.0, 0)..)
            .map(|&key| self.seq_from_low(key as u32))
            .filter(|&seq| {
                self.entry(seq)
                    .is_some_and(|e| (e.published, e.order_key) >= since)
            })
            .collect();
        // The backlog's buffer takes the items decided again too: at millions of items, a second vector
        // of them cost hundreds of megabytes. Deferred items all come at or after `since`, which the
        // earliest of them set.
        let mut taken: Vec<Entry> = std::mem::take(&mut self.deferred);
        let mut pins: FxMap<i64, i64> = std::mem::take(&mut self.deferred_pins);
        self.remove_many_indexed(&seqs, &mut taken, &mut pins);
        // The key is unique (item ids are), so an unstable sort gives the one order, without the stable
        // sort's scratch buffer of half the span (56 MB at two million items).
        taken.sort_unstable_by_key(|e| (e.published, e.order_key, e.item_id));
        let pin = |e: &Entry| pins.get(&e.item_id).copied().unwrap_or(0);
        // Exact-layer ties within the span, by canonical position. Few items have one, so they live in
        // maps, not in vectors as long as the span.
        let targets: FxMap<i64, ()> = pins.values().map(|&pinned_to| (pinned_to, ())).collect();
        let at: FxMap<i64, usize> = taken
            .iter()
            .enumerate()
            .filter(|(_, e)| targets.contains_key(&e.item_id))
            .map(|(i, e)| (e.item_id, i))
            .collect();
        let mut groups = Groups::default();
        // A group tied to an item outside the span stays in the story it is in (its first such tie's).
        let mut anchored: FxMap<usize, i64> = FxMap::default();
        for (i, e) in taken.iter().enumerate() {
            let pinned_to = pin(e);
            if pinned_to != 0
                && let Some(&j) = at.get(&pinned_to)
            {
                groups.join(i, j);
            }
        }
        for (i, e) in taken.iter().enumerate() {
            let pinned_to = pin(e);
            if pinned_to != 0 && !at.contains_key(&pinned_to) {
                let r = groups.root(i);
                anchored.entry(r).or_insert(e.story_id);
            }
        }
        let mut settled = Settled::default();
        // The story of each item in a group (roots are read by their members).
        let mut story_of: FxMap<usize, i64> = FxMap::default();
        // Taken from the back, in canonical order, so that the buffer shrinks as the window grows again.
        taken.reverse();
        for i in 0..taken.len() {
            let Some(e) = taken.pop() else {
                break;
            };
            let pinned_to = pin(&e);
            if taken.capacity() > 4096 && taken.len() < taken.capacity() / 2 {
                taken.shrink_to_fit();
            }
            let waited = e.waiting;
            // Deciding and inserting the item both read its tables: computed once, for one item at a time.
            let mut f = self.feat(&e);
            self.prepare(&mut f);
            let r = groups.root(i);
            let (story, decision) = if r != i {
                (story_of[&r], None)
            } else if let Some(&s) = anchored.get(&r) {
                (s, None)
            } else {
                settled.decided += 1;
                let d = self.decide_inner(e.source_id, e.published, &f);
                let story = match d.story_id {
                    Some(s) => s,
                    // A story keeps its id while one of its items still founds it; the others that
                    // leave get new ones.
                    None if !self.stories.contains(e.story_id) => e.story_id,
                    None => new_story(),
                };
                // A pinned item that leads its group keeps its exact-layer row: overwritten by this decision,
                // the tie would be lost at the next start, and the item it matched decided apart from it.
                (story, (pinned_to == 0).then_some(d))
            };
            if pinned_to != 0 || at.contains_key(&e.item_id) {
                story_of.insert(i, story);
            }
            if story != e.story_id {
                settled.moved.push(Moved {
                    item_id: e.item_id,
                    from: e.story_id,
                    to: story,
                    decision,
                });
            } else if waited
                && let Some(d) = decision
                && d.candidates
                    .iter()
                    .any(|c| crate::dedup::is_near_miss(f64::from(c.score)))
            {
                settled.founded.push((e.item_id, story, d));
            }
            self.reinsert(e, &f, pinned_to, story);
        }
        self.repack_if_sparse();
        settled
    }

    /// Puts a taken entry (whose features are `f`) back, in `story`, learning again from its new story's
    /// members. Its terms never left the document frequencies, nor its features the store.
    fn reinsert(&mut self, e: Entry, f: &FeatInner, pinned_to: i64, story: i64) {
        let placed = Placed {
            story_id: story,
            ..e.placed(pinned_to)
        };
        self.insert_indexed(placed, e.f, f);
    }

    /// Settling leaves the slots of the items it took out empty until eviction reaches them; when they
    /// outnumber the live items, the window is rebuilt in its (canonical) order, which frees them and
    /// decides nothing.
    fn repack_if_sparse(&mut self) {
        if self.entries.len() <= 2 * self.live + 1024 {
            return;
        }
        let (entries, base) = (std::mem::take(&mut self.entries), self.base);
        let mut fresh = Matcher::new(self.params.clone());
        // The features stay where they are: the fresh window takes the store over.
        std::mem::swap(&mut fresh.feats, &mut self.feats);
        for (k, e) in entries.into_iter().enumerate() {
            if let Some(e) = e {
                let pinned_to = self.pinned.get(&(base + k as u64)).copied().unwrap_or(0);
                let f = fresh.feat(&e);
                fresh.count_terms(&f, true);
                fresh.insert_indexed(e.placed(pinned_to), e.f, &f);
            }
        }
        *self = fresh;
    }
}

impl Entry {
    /// The entry of a placed item whose features the store holds at `f` (the inverse of [`Entry::placed`]).
    pub(super) fn of(p: &Placed, f: FeatRef, has_summary: bool) -> Entry {
        Entry {
            item_id: p.item_id,
            story_id: p.story_id,
            source_id: p.source_id,
            priority: p.priority,
            has_summary,
            waiting: false,
            published: p.published,
            order_key: p.order_key,
            f,
        }
    }

    /// Where the entry sits, as it was inserted, with the item an exact layer joined it to (or 0).
    fn placed(&self, pinned_to: i64) -> Placed {
        Placed {
            item_id: self.item_id,
            story_id: self.story_id,
            source_id: self.source_id,
            priority: self.priority,
            published: self.published,
            order_key: self.order_key,
            pinned_to,
        }
    }
}
