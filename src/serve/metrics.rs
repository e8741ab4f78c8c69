//! Counters shown at `/metrics` in the Prometheus text format; written by the pipeline and the server.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::pipeline::PollStatus;
use crate::store::FeedCounts;

/// The daemon's counters.
#[derive(Default)]
pub struct Metrics {
    /// Polls that fetched and parsed a new body.
    polls_fetched: AtomicU64,
    /// Polls answered 304 or with an unchanged body.
    polls_unchanged: AtomicU64,
    /// Polls that failed, by failure kind (`http-503`, `parse`, `store`, `panic`, ...).
    failures: Mutex<BTreeMap<String, u64>>,
    /// Items stored for the first time.
    items_new: AtomicU64,
    /// Items edited by their source.
    items_updated: AtomicU64,
    /// Items that founded a story.
    stories_new: AtomicU64,
    /// Items that joined an existing story.
    stories_joined: AtomicU64,
    /// Section renders.
    pub(crate) renders: AtomicU64,
    /// HTTP requests served.
    pub(crate) http_requests: AtomicU64,
    /// HTTP 304 answers.
    pub(crate) http_not_modified: AtomicU64,
    /// Unix time of the last ingest.
    last_ingest: AtomicI64,
    /// Active sources in the config.
    sources: AtomicI64,
}

impl Metrics {
    /// Fresh counters.
    pub fn new() -> Self {
        Metrics::default()
    }

    /// Counts one finished poll and what storing it did.
    pub(crate) fn record_poll(&self, status: &PollStatus, counts: &FeedCounts) {
        match status {
            PollStatus::Fetched { .. } => self.polls_fetched.fetch_add(1, Ordering::Relaxed),
            PollStatus::Unchanged => self.polls_unchanged.fetch_add(1, Ordering::Relaxed),
            PollStatus::Failed(kind) => {
                *self
                    .failures
                    .lock()
                    .expect("metrics lock")
                    .entry(kind.name())
                    .or_default() += 1;
                0
            }
            PollStatus::Gone => {
                *self
                    .failures
                    .lock()
                    .expect("metrics lock")
                    .entry("http-410".into())
                    .or_default() += 1;
                0
            }
        };
        let add = |counter: &AtomicU64, n: usize| counter.fetch_add(n as u64, Ordering::Relaxed);
        add(&self.items_new, counts.new_items);
        add(&self.items_updated, counts.updated_items);
        add(&self.stories_new, counts.new_stories);
        add(&self.stories_joined, counts.joined);
        if counts.new_items + counts.updated_items > 0 {
            self.last_ingest
                .store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
        }
    }

    /// Records how many sources the config has.
    pub(crate) fn set_sources(&self, n: usize) {
        self.sources.store(n as i64, Ordering::Relaxed);
    }

    /// Unix time of the last ingest that stored something (0: none yet).
    pub(crate) fn last_ingest(&self) -> i64 {
        self.last_ingest.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut put = |name: &str, kind: &str, help: &str, lines: Vec<(String, u64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in lines {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let failures = self.failures.lock().expect("metrics lock").clone();
        put(
            "wiredesk_polls_total",
            "counter",
            "Source polls by result.",
            vec![
                ("{result=\"fetched\"}".into(), c(&self.polls_fetched)),
                ("{result=\"unchanged\"}".into(), c(&self.polls_unchanged)),
                ("{result=\"failed\"}".into(), failures.values().sum()),
            ],
        );
        put(
            "wiredesk_poll_failures_total",
            "counter",
            "Failed polls by kind of failure.",
            failures
                .into_iter()
                .map(|(kind, n)| (format!("{{kind=\"{kind}\"}}"), n))
                .collect(),
        );
        put(
            "wiredesk_items_total",
            "counter",
            "Items ingested, by kind.",
            vec![
                ("{kind=\"new\"}".into(), c(&self.items_new)),
                ("{kind=\"updated\"}".into(), c(&self.items_updated)),
            ],
        );
        put(
            "wiredesk_dedup_total",
            "counter",
            "New items by story placement.",
            vec![
                ("{placement=\"new_story\"}".into(), c(&self.stories_new)),
                ("{placement=\"joined\"}".into(), c(&self.stories_joined)),
            ],
        );
        put(
            "wiredesk_renders_total",
            "counter",
            "Section renders.",
            vec![(String::new(), c(&self.renders))],
        );
        put(
            "wiredesk_http_requests_total",
            "counter",
            "HTTP requests served.",
            vec![(String::new(), c(&self.http_requests))],
        );
        put(
            "wiredesk_http_not_modified_total",
            "counter",
            "HTTP 304 answers.",
            vec![(String::new(), c(&self.http_not_modified))],
        );
        put(
            "wiredesk_sources",
            "gauge",
            "Configured sources.",
            vec![(
                String::new(),
                self.sources.load(Ordering::Relaxed).max(0) as u64,
            )],
        );
        put(
            "wiredesk_last_ingest_timestamp_seconds",
            "gauge",
            "Unix time of the last ingest that stored something.",
            vec![(String::new(), self.last_ingest().max(0) as u64)],
        );
        out
    }
}
