//! Hands due sources to poll tasks a few at a time, taking hosts in turn.
//!
//! Spawning a task for every due source at once (10,000 at startup) costs a task's whole future per source
//! before any of them can run, about 100 MB, and all but `fetch.global` of them would only wait on a
//! permit. The dispatcher keeps due sources in per-host queues instead and starts a task only while fewer
//! than `max_tasks` run and the source's host has fewer than `max_per_host`, so one slow or paused host
//! cannot take every task slot, and hosts are served round-robin.

use std::collections::{HashMap, VecDeque};

use url::Url;

use crate::fetch::host_key;
use crate::store::ScheduleEntry;

/// Due sources waiting for a poll task, queued per host.
#[derive(Debug, Default)]
pub(crate) struct Dispatcher {
    queues: HashMap<String, VecDeque<ScheduleEntry>>,
    /// Hosts with queued sources, in the order they get their next turn.
    turns: VecDeque<String>,
    /// Poll tasks running per host.
    running: HashMap<String, usize>,
    /// Source id -> host, for the tasks running.
    host_of: HashMap<i64, String>,
    max_tasks: usize,
    max_per_host: usize,
}

impl Dispatcher {
    /// A dispatcher for fetch limits of `global` requests in flight and `per_host` per host, with up to
    /// `parsed` polled feeds waiting for the writer. A task holds its slot until its feed is stored, so the
    /// fetch limits stay busy only if there are slots for the fetching, the waiting and the next in line.
    pub(crate) fn new(global: usize, per_host: usize, parsed: usize) -> Self {
        let mut d = Dispatcher::default();
        d.set_limits(global, per_host, parsed);
        d
    }

    /// Applies new limits (after a reload); queued sources stay queued.
    pub(crate) fn set_limits(&mut self, global: usize, per_host: usize, parsed: usize) {
        self.max_tasks = global.max(1) * 2 + parsed;
        self.max_per_host = per_host.max(1) * 4;
    }

    /// Queues a due source.
    pub(crate) fn push(&mut self, source: ScheduleEntry) {
        let host = source_host(&source);
        let queue = self.queues.entry(host.clone()).or_default();
        if queue.is_empty() {
            self.turns.push_back(host);
        }
        queue.push_back(source);
    }

    /// Poll tasks running.
    pub(crate) fn running(&self) -> usize {
        self.host_of.len()
    }

    /// The next source to start a task for, if the limits allow one now.
    pub(crate) fn next_to_start(&mut self) -> Option<ScheduleEntry> {
        if self.running() >= self.max_tasks {
            return None;
        }
        // Each host gets one look per call; hosts at their limit keep their place in the rotation.
        for _ in 0..self.turns.len() {
            let host = self.turns.pop_front()?;
            let running = self.running.get(&host).copied().unwrap_or(0);
            if running >= self.max_per_host {
                self.turns.push_back(host);
                continue;
            }
            let queue = self
                .queues
                .get_mut(&host)
                .expect("a host in turn has a queue");
            let source = queue
                .pop_front()
                .expect("a host in turn has a queued source");
            if queue.is_empty() {
                self.queues.remove(&host);
            } else {
                // Hosts drain in turn, so every queue keeps most of its buffer until the last round; a
                // first poll of 100,000 feeds on 1,000 hosts held some 40 MB of taken slots to its end.
                if queue.len() < queue.capacity() / 4 {
                    queue.shrink_to_fit();
                }
                self.turns.push_back(host.clone());
            }
            *self.running.entry(host.clone()).or_default() += 1;
            self.host_of.insert(source.id, host);
            return Some(source);
        }
        None
    }

    /// Records that the task polling source `id` finished.
    pub(crate) fn finished(&mut self, id: i64) {
        if let Some(host) = self.host_of.remove(&id)
            && let Some(n) = self.running.get_mut(&host)
        {
            *n -= 1;
            if *n == 0 {
                self.running.remove(&host);
            }
        }
    }
}

/// The host a source is fetched from: its `moved_to` URL's once it moved.
fn source_host(source: &ScheduleEntry) -> String {
    Url::parse(&source.poll_url)
        .map(|u| host_key(&u))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SourceRow;

    fn source(id: i64, host: &str) -> ScheduleEntry {
        ScheduleEntry::from(&row(id, host))
    }

    fn row(id: i64, host: &str) -> SourceRow {
        SourceRow {
            id,
            url: format!("http://{host}/feed/{id}"),
            ..SourceRow::default()
        }
    }

    /// Sources queued and not yet started.
    fn queued(d: &Dispatcher) -> usize {
        d.queues.values().map(VecDeque::len).sum()
    }

    fn drain(d: &mut Dispatcher) -> Vec<i64> {
        std::iter::from_fn(|| d.next_to_start())
            .map(|s| s.id)
            .collect()
    }

    #[test]
    fn hosts_take_turns_and_limits_hold() {
        // 1 in flight globally, 1 waiting to be stored, 1 per host: 3 tasks, 4 per host.
        let mut d = Dispatcher::new(1, 1, 1);
        for id in 0..6 {
            d.push(source(id, "a.example"));
        }
        d.push(source(10, "b.example"));
        d.push(source(11, "c.example"));
        // a, b, c: the task limit of 3 stops it there.
        assert_eq!(drain(&mut d), vec![0, 10, 11]);
        assert_eq!((d.running(), queued(&d)), (3, 5));
        // b and c have nothing left, so a gets the freed slots up to its limit of 4.
        d.finished(10);
        d.finished(11);
        assert_eq!(drain(&mut d), vec![1, 2]);
        d.set_limits(4, 1, 0);
        assert_eq!(drain(&mut d), vec![3]);
        assert_eq!((d.running(), queued(&d)), (4, 2));
        d.finished(0);
        assert_eq!(drain(&mut d), vec![4]);
    }

    #[test]
    fn a_draining_queue_gives_back_the_slots_it_took() {
        let mut d = Dispatcher::new(1_000, 1_000, 0);
        for id in 0..1_000 {
            d.push(source(id, "a.example"));
        }
        let full = d.queues["a.example"].capacity();
        assert!(full >= 1_000);
        for _ in 0..990 {
            let s = d.next_to_start().expect("a source to start");
            d.finished(s.id);
        }
        let left = &d.queues["a.example"];
        assert_eq!(left.len(), 10);
        assert!(
            left.capacity() < 40,
            "10 queued sources hold {} slots (from {full})",
            left.capacity()
        );
        assert_eq!(drain(&mut d), (990..1_000).collect::<Vec<_>>());
    }

    #[test]
    fn a_moved_source_counts_against_its_new_host() {
        let mut d = Dispatcher::new(8, 1, 0);
        for id in 4..8 {
            d.push(source(id, "new.example"));
        }
        let mut moved = row(1, "old.example");
        moved.moved_to = Some("http://new.example/feed".into());
        d.push(ScheduleEntry::from(&moved));
        d.push(source(2, "new.example"));
        d.push(source(3, "new.example"));
        // The moved source takes one of new.example's 4 slots.
        assert_eq!(drain(&mut d).len(), 4);
        assert_eq!(queued(&d), 3);
    }
}
