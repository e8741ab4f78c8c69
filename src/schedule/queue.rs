//! The in-memory order of due times: a min-heap over the `next_due` the store persists, plus the sources
//! being polled right now. Every finished poll comes back through [`DueQueue::reschedule`], so no outcome can
//! drop a source from scheduling. It holds [`ScheduleEntry`]s, not whole rows: a poll reads its source's
//! row when it starts.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use super::DueReason;
use crate::store::{ScheduleEntry, SourceRow};

/// The longest the scheduler sleeps between turns, so its health (the age of its last turn) stays fresh.
pub(crate) const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Which source is due when.
#[derive(Default)]
pub(crate) struct DueQueue {
    /// Sources waiting for their due time, by id.
    waiting: HashMap<i64, ScheduleEntry>,
    /// (due, id); entries whose source was rescheduled or removed since are skipped when popped.
    heap: BinaryHeap<Reverse<(i64, i64)>>,
    /// Sources being polled, with the newer config a reload brought for them meanwhile (`Some(None)`:
    /// removed from the config).
    in_flight: HashMap<i64, Option<Option<ScheduleEntry>>>,
}

impl DueQueue {
    /// A queue of `sources`, each due at its stored time (never-polled sources at once).
    pub(crate) fn new(sources: Vec<ScheduleEntry>, now: i64) -> Self {
        let mut q = DueQueue::default();
        q.replace_sources(sources, now);
        q
    }

    /// Takes a reloaded source list: waiting sources are replaced; sources being polled pick up their new
    /// config when their poll comes back.
    pub(crate) fn replace_sources(&mut self, sources: Vec<ScheduleEntry>, now: i64) {
        self.waiting.clear();
        self.heap.clear();
        for pending in self.in_flight.values_mut() {
            *pending = Some(None);
        }
        for source in sources {
            match self.in_flight.get_mut(&source.id) {
                Some(pending) => *pending = Some(Some(source)),
                None => self.schedule(source, now),
            }
        }
        self.waiting.shrink_to_fit();
    }

    /// Takes back a source whose poll finished, with its new state, and schedules it again.
    pub(crate) fn reschedule(&mut self, done: &SourceRow, now: i64) {
        let mut entry = ScheduleEntry::from(done);
        match self.in_flight.remove(&done.id) {
            Some(Some(None)) => {} // removed from the config while it was polled
            Some(Some(Some(newer))) => {
                // The reload's config, the poll's state.
                entry.active = newer.active;
                entry.enabled = newer.enabled;
                self.schedule(entry, now);
            }
            Some(None) | None => self.schedule(entry, now),
        }
    }

    /// Takes back a source whose poll could not start (its row could not be read) and makes it due again
    /// at `due`.
    pub(crate) fn retry_at(&mut self, mut entry: ScheduleEntry, due: i64, now: i64) {
        if let Some(Some(newer)) = self.in_flight.remove(&entry.id) {
            match newer {
                Some(newer) => (entry.active, entry.enabled) = (newer.active, newer.enabled),
                None => return,
            }
        }
        entry.next_due = Some(due);
        self.schedule(entry, now);
    }

    /// Forgets a source being polled that is no longer in the database.
    pub(crate) fn forget(&mut self, id: i64) {
        self.in_flight.remove(&id);
    }

    fn schedule(&mut self, mut source: ScheduleEntry, now: i64) {
        // Paused (`enabled = false`) sources keep their state and stories but are not polled.
        if !source.polled() {
            return;
        }
        // A source never polled is due now; stored due times survive restarts.
        let due = *source.next_due.get_or_insert(now);
        source.due_reason.get_or_insert(DueReason::New);
        self.heap.push(Reverse((due, source.id)));
        self.waiting.insert(source.id, source);
    }

    /// Every source due at `now`, marked as being polled.
    pub(crate) fn take_due(&mut self, now: i64) -> Vec<ScheduleEntry> {
        let mut due = Vec::new();
        while let Some(Reverse((t, id))) = self.heap.peek().copied() {
            if t > now {
                break;
            }
            self.heap.pop();
            if self.waiting.get(&id).is_some_and(|s| s.next_due == Some(t)) {
                let s = self.waiting.remove(&id).expect("present");
                self.in_flight.insert(id, None);
                due.push(s);
            }
        }
        due
    }

    /// How long until the next source is due, at most [`MAX_SLEEP`].
    pub(crate) fn wait_time(&self, now: i64) -> Duration {
        self.heap
            .peek()
            .map(|Reverse((t, _))| Duration::from_secs((t - now).max(0) as u64))
            .unwrap_or(MAX_SLEEP)
            .clamp(Duration::from_millis(200), MAX_SLEEP)
    }

    /// Sources being polled.
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: i64, due: Option<i64>) -> SourceRow {
        SourceRow {
            id,
            url: format!("https://a.example/{id}"),
            active: true,
            enabled: true,
            next_due: due,
            ..SourceRow::default()
        }
    }

    fn entry(id: i64, due: Option<i64>) -> ScheduleEntry {
        ScheduleEntry::from(&source(id, due))
    }

    fn ids(v: Vec<ScheduleEntry>) -> Vec<i64> {
        v.into_iter().map(|s| s.id).collect()
    }

    #[test]
    fn due_sources_come_out_in_order_and_come_back_after_their_poll() {
        let mut q = DueQueue::new(
            vec![entry(1, Some(100)), entry(2, None), entry(3, Some(50))],
            10,
        );
        assert_eq!(ids(q.take_due(10)), vec![2], "never polled: due at once");
        assert_eq!(ids(q.take_due(100)), vec![3, 1]);
        assert_eq!(q.in_flight(), 3);
        let mut done = source(3, Some(200));
        done.due_reason = Some(DueReason::Backoff);
        q.reschedule(&done, 101);
        assert_eq!(q.in_flight(), 2);
        assert!(q.take_due(199).is_empty());
        let again = q.take_due(200);
        assert_eq!(
            (again[0].id, again[0].due_reason),
            (3, Some(DueReason::Backoff))
        );
    }

    #[test]
    fn paused_sources_are_never_due() {
        let mut paused = entry(1, Some(0));
        paused.enabled = false;
        let mut q = DueQueue::new(vec![paused, entry(2, Some(0))], 0);
        assert_eq!(ids(q.take_due(1_000)), vec![2]);
    }

    #[test]
    fn a_reload_reaches_sources_that_are_being_polled() {
        let mut q = DueQueue::new(
            vec![entry(1, Some(0)), entry(2, Some(0)), entry(3, Some(0))],
            0,
        );
        assert_eq!(q.take_due(0).len(), 3);
        // The reload pauses source 1, drops source 2 and keeps source 3 while all three are polled.
        let mut paused = entry(1, Some(0));
        paused.enabled = false;
        q.replace_sources(vec![paused, entry(3, Some(0))], 1);
        for id in [1, 2, 3] {
            q.reschedule(&source(id, Some(60)), 2);
        }
        assert_eq!(ids(q.take_due(60)), vec![3]);
        assert_eq!(q.in_flight(), 1);
    }

    #[test]
    fn a_poll_that_could_not_start_is_due_again_and_a_reload_still_reaches_it() {
        let mut q = DueQueue::new(vec![entry(1, Some(0)), entry(2, Some(0))], 0);
        let mut due = q.take_due(0);
        q.retry_at(due.remove(0), 30, 1);
        assert_eq!(q.wait_time(1), Duration::from_secs(29));
        assert_eq!(ids(q.take_due(30)), vec![1]);
        // Source 2 was taken before a reload dropped it: its retry does not bring it back.
        q.replace_sources(vec![entry(1, Some(0))], 31);
        q.retry_at(due.remove(0), 40, 31);
        q.retry_at(entry(1, Some(0)), 40, 31);
        assert_eq!(ids(q.take_due(40)), vec![1]);
        assert_eq!(q.in_flight(), 1);
    }
}
