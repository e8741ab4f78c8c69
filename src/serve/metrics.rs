//! The daemon's metrics, served at `/metrics` in the Prometheus text format (0.0.4) by prometheus-client.
//!
//! Counters move where things happen: every poll in the pipeline's one finishing step, fetch latency and
//! bytes where the fetch returns, requests in the server, publishes in the daemon. Gauges that describe the
//! store (sources by state, stories per section, file sizes, paused hosts) are sampled by the daemon every
//! few seconds ([`Metrics::sample`]) from a read connection of its own, so a scrape never touches SQLite.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::pipeline::{LayerCounts, PollStatus};
use crate::store::{FeedCounts, SourceState, StoreStats};

/// One label and its value.
type Label = [(&'static str, String); 1];

fn label(key: &'static str, value: impl Into<String>) -> Label {
    [(key, value.into())]
}

/// The daemon's metrics.
pub struct Metrics {
    registry: Registry,
    polls: Family<Label, Counter>,
    failures: Family<Label, Counter>,
    fetch_seconds: Histogram,
    fetched_bytes: Counter,
    items: Family<Label, Counter>,
    dedup: Family<Label, Counter>,
    stories: Family<Label, Gauge>,
    sources: Family<Label, Gauge>,
    sources_configured: Gauge,
    hosts_paused: Gauge,
    database_bytes: Gauge,
    wal_bytes: Gauge,
    last_publish: Family<Label, Gauge>,
    last_ingest: Gauge,
    /// Section renders (written by the publisher).
    pub(crate) renders: Arc<AtomicU64>,
    /// HTTP requests served (written by the server).
    pub(crate) http_requests: Arc<AtomicU64>,
    /// HTTP 304 answers (written by the server).
    pub(crate) http_not_modified: Arc<AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Date strings no known form reads, counted process-wide by [`crate::normalize::date`] where feeds are
/// parsed (on the parse threads, far from any `Metrics`); their entries are dated when first seen.
#[derive(Debug)]
struct UnparseableDates;

impl Collector for UnparseableDates {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counter = ConstCounter::new(crate::normalize::date::unparseable_dates());
        let metric = encoder.encode_descriptor(
            "unparseable_dates",
            "Date strings in feeds that no known form reads; an entry with no other date is dated when first seen.",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)
    }
}

/// The counters other modules bump as plain atomics, read at scrape time.
#[derive(Debug)]
struct AtomicCounters(Vec<(&'static str, &'static str, Arc<AtomicU64>)>);

impl Collector for AtomicCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, value) in &self.0 {
            let counter = ConstCounter::new(value.load(Ordering::Relaxed));
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Fresh metrics, all registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("wiredesk");
        let polls = Family::<Label, Counter>::default();
        registry.register(
            "polls",
            "Source polls by result (fetched, unchanged, failed, gone)",
            polls.clone(),
        );
        let failures = Family::<Label, Counter>::default();
        registry.register(
            "poll_failures",
            "Failed polls by kind of failure (http-503, timeout, parse, store, panic, ...)",
            failures.clone(),
        );
        // 10 ms to 41 s: loopback answers in milliseconds, a slow public server in tens of seconds.
        let fetch_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 13));
        registry.register_with_unit(
            "fetch_duration",
            "Time from sending a poll's request to having its whole body (or its error)",
            Unit::Seconds,
            fetch_seconds.clone(),
        );
        let fetched_bytes = Counter::default();
        registry.register_with_unit(
            "fetched",
            "Feed body bytes received, after decompression",
            Unit::Bytes,
            fetched_bytes.clone(),
        );
        let items = Family::<Label, Counter>::default();
        registry.register(
            "items",
            "Items ingested: new, or updated by their source",
            items.clone(),
        );
        let dedup = Family::<Label, Counter>::default();
        registry.register(
            "dedup_decisions",
            "Where dedup placed ingested items, by the layer that decided (same-item: an update; new: a new story)",
            dedup.clone(),
        );
        let stories = Family::<Label, Gauge>::default();
        registry.register("stories", "Stored stories per section", stories.clone());
        let sources = Family::<Label, Gauge>::default();
        registry.register(
            "sources",
            "Sources by state (ok, new, backoff, quarantined, gone, paused, removed)",
            sources.clone(),
        );
        let sources_configured = Gauge::default();
        registry.register(
            "sources_configured",
            "Sources in the configuration",
            sources_configured.clone(),
        );
        let hosts_paused = Gauge::default();
        registry.register(
            "hosts_paused",
            "Hosts paused after a 429 or 503 with Retry-After",
            hosts_paused.clone(),
        );
        let database_bytes = Gauge::default();
        registry.register_with_unit(
            "database_size",
            "Size of the SQLite database file",
            Unit::Bytes,
            database_bytes.clone(),
        );
        let wal_bytes = Gauge::default();
        registry.register_with_unit(
            "wal_size",
            "Size of the SQLite write-ahead log file",
            Unit::Bytes,
            wal_bytes.clone(),
        );
        let last_publish = Family::<Label, Gauge>::default();
        registry.register(
            "last_publish_timestamp_seconds",
            "Unix time each section's feeds were last rendered successfully",
            last_publish.clone(),
        );
        let last_ingest = Gauge::default();
        registry.register(
            "last_ingest_timestamp_seconds",
            "Unix time of the last ingest that stored something",
            last_ingest.clone(),
        );
        let renders = Arc::new(AtomicU64::new(0));
        let http_requests = Arc::new(AtomicU64::new(0));
        let http_not_modified = Arc::new(AtomicU64::new(0));
        registry.register_collector(Box::new(AtomicCounters(vec![
            ("renders", "Section renders.", renders.clone()),
            (
                "http_requests",
                "HTTP requests served.",
                http_requests.clone(),
            ),
            (
                "http_not_modified",
                "HTTP 304 answers.",
                http_not_modified.clone(),
            ),
        ])));
        registry.register_collector(Box::new(UnparseableDates));
        Metrics {
            registry,
            polls,
            failures,
            fetch_seconds,
            fetched_bytes,
            items,
            dedup,
            stories,
            sources,
            sources_configured,
            hosts_paused,
            database_bytes,
            wal_bytes,
            last_publish,
            last_ingest,
            renders,
            http_requests,
            http_not_modified,
        }
    }

    /// Counts one finished poll and what storing it did.
    pub(crate) fn record_poll(
        &self,
        status: &PollStatus,
        counts: &FeedCounts,
        layers: &LayerCounts,
    ) {
        let result = match status {
            PollStatus::Fetched { .. } => "fetched",
            PollStatus::Unchanged => "unchanged",
            PollStatus::Failed(kind) => {
                self.failures
                    .get_or_create(&label("kind", kind.name()))
                    .inc();
                "failed"
            }
            PollStatus::Gone => {
                self.failures
                    .get_or_create(&label("kind", "http-410"))
                    .inc();
                "gone"
            }
        };
        self.polls.get_or_create(&label("result", result)).inc();
        let add = |family: &Family<Label, Counter>, key, value: &str, n: usize| {
            if n > 0 {
                family.get_or_create(&label(key, value)).inc_by(n as u64);
            }
        };
        add(&self.items, "kind", "new", counts.new_items);
        add(&self.items, "kind", "updated", counts.updated_items);
        for (layer, n) in layers.by_name() {
            add(&self.dedup, "layer", layer, n);
        }
        if counts.new_items + counts.updated_items > 0 {
            self.last_ingest.set(chrono::Utc::now().timestamp());
        }
    }

    /// Counts one fetch: how long it took and how many body bytes it brought.
    pub(crate) fn record_fetch(&self, took: Duration, bytes: usize) {
        self.fetch_seconds.observe(took.as_secs_f64());
        self.fetched_bytes.inc_by(bytes as u64);
    }

    /// Records how many sources the config has.
    pub(crate) fn set_sources(&self, n: usize) {
        self.sources_configured.set(n as i64);
    }

    /// Records that `sections` were rendered successfully at `at` (unix secs).
    pub(crate) fn published<'a>(&self, sections: impl IntoIterator<Item = &'a str>, at: i64) {
        for s in sections {
            self.last_publish
                .get_or_create(&label("section", s))
                .set(at);
        }
    }

    /// Takes a sample of the store's gauges: what `stats` says, the sizes of the database at `db` and of its
    /// log, and how many hosts are paused.
    pub fn sample(&self, stats: &StoreStats, db: &Path, hosts_paused: usize) {
        for state in SourceState::ALL {
            let n = stats.sources.get(&state).copied().unwrap_or(0);
            self.sources
                .get_or_create(&label("state", state.as_str()))
                .set(n);
        }
        // Sections a reload removed must disappear, not keep their last count.
        self.stories.clear();
        for (section, n) in &stats.stories {
            self.stories
                .get_or_create(&label("section", section.as_str()))
                .set(*n);
        }
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len() as i64);
        self.database_bytes.set(size(db));
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        self.wal_bytes.set(size(Path::new(&wal)));
        self.hosts_paused.set(hosts_paused as i64);
    }

    /// Unix time of the last ingest that stored something (0: none yet).
    pub(crate) fn last_ingest(&self) -> i64 {
        self.last_ingest.get()
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of an unlabelled counter in an exposition.
    fn counter(text: &str, name: &str) -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    }

    #[test]
    fn a_date_no_form_reads_is_dated_first_seen_and_counted() {
        let m = Metrics::new();
        let before = counter(&m.render(), "wiredesk_unparseable_dates_total");
        let feed = br#"<rss version="2.0"><channel><title>t</title><link>https://e.example/</link>
            <item><title>Undatable</title><link>https://e.example/1</link><pubDate>the day after the storm</pubDate></item>
            </channel></rss>"#;
        let parsed = crate::parse::parse_feed(feed, Some("application/rss+xml"), None).unwrap();
        let now = chrono::Utc::now();
        let items =
            crate::normalize::normalize_feed(&parsed.feed, "https://e.example/feed", now).unwrap();
        assert!(!items[0].date_from_feed);
        assert_eq!(items[0].published, now, "dated when first seen");
        let after = counter(&m.render(), "wiredesk_unparseable_dates_total");
        assert!(after > before, "{before} -> {after}");
    }

    #[test]
    fn the_exposition_names_every_family_once() {
        let m = Metrics::new();
        m.record_poll(
            &PollStatus::Fetched { entries: 3 },
            &FeedCounts {
                new_items: 2,
                updated_items: 1,
                new_stories: 1,
                joined: 1,
            },
            &LayerCounts {
                same_item: 1,
                same_url: 1,
                new: 1,
                ..LayerCounts::default()
            },
        );
        m.record_fetch(Duration::from_millis(30), 1234);
        m.http_requests.fetch_add(2, Ordering::Relaxed);
        let text = m.render();
        for line in [
            "wiredesk_polls_total{result=\"fetched\"} 1",
            "wiredesk_items_total{kind=\"new\"} 2",
            "wiredesk_dedup_decisions_total{layer=\"same-url\"} 1",
            "wiredesk_fetched_bytes_total 1234",
            "wiredesk_fetch_duration_seconds_count 1",
            "wiredesk_http_requests_total 2",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
    }
}
