//! The pipeline frame: one source's refresh top-down ([`refresh`]), the single database writer
//! ([`writer`]) with the one ingest path ([`ingest`]), the vocabulary of outcomes ([`outcome`]) and the
//! daemon's health ([`health`]). The failure policy lives here and nowhere else:
//! - one source's failure (fetch, parse, store, or a panic) is logged once, counted, and that source backs
//!   off and is polled again; nothing stops because of one source;
//! - a store that takes no writes is waited out with backoff, `/healthz` says degraded, and polling
//!   resumes by itself when it recovers;
//! - a reload builds new [`Settings`] completely before they replace the old ones; per-host state (limits
//!   in flight, pauses) lives in a table that outlives them.

pub(crate) mod health;
pub(crate) mod ingest;
pub(crate) mod outcome;
pub(crate) mod refresh;
pub(crate) mod writer;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Semaphore;

pub(crate) use health::Health;
pub use ingest::Ingester;
pub(crate) use outcome::{Failure, LayerCounts};
pub use outcome::{FailureKind, PollStatus};
pub(crate) use refresh::Refreshed;
pub use refresh::set_refresh_hook;

use crate::config::Config;
use crate::dedup::similar::FeatureExtractor;
use crate::fetch::Fetcher;
use crate::fetch::budget::MemoryBudget;
use crate::fetch::hosts::HostLimits;
use crate::schedule::CronSchedule;
use crate::serve::Metrics;
use crate::store::ScheduleEntry;
use writer::{Patience, Writer};

/// Polled feeds parsed and waiting for the writer, at most; more wait (unparsed) for a slot. When the
/// writer falls behind, what waits goes into one commit, and each commit rewrites every page of the
/// random-key indexes (URL and text keys) it touches: 256 made a first poll cycle's commits a third fewer
/// than 128 did, for about 2 MB; at 100,000 feeds, 1,024 cut the first cycle from 229 to 209 s (CPU 305 ->
/// 279 s) and its peak did not grow, since fewer page rewrites also leave less in the log.
pub(crate) const PARSED_IN_MEMORY: usize = 1024;

/// Everything a configuration builds, so that a reload can build it all before swapping any of it in.
pub struct Settings {
    /// The configuration, without its source list: the sources are synced into the database before
    /// settings are put in force, and everything built from the list is below.
    pub config: Arc<Config>,
    /// The HTTP client (its user agent and timeouts come from the config).
    fetcher: Fetcher,
    /// The effective schedule of each source whose schedule is not the default, by URL: at 100,000
    /// sources a map of every one took tens of megabytes, and most sources take the default.
    schedules: HashMap<String, CronSchedule>,
    /// Computes similarity features on the poll threads (None when similarity is off).
    features: Option<Arc<FeatureExtractor>>,
}

impl Settings {
    /// Builds everything `config` needs; fails, changing nothing, when any part cannot be built.
    pub fn build(config: Arc<Config>, hosts: &Arc<HostLimits>) -> anyhow::Result<Settings> {
        let fetcher = Fetcher::for_config(&config, hosts.clone())?;
        let schedules = config
            .sources
            .iter()
            .filter_map(|s| {
                let schedule = config.schedule_for(s);
                (!std::ptr::eq(schedule, &config.default_schedule))
                    .then(|| (s.url.clone(), schedule.clone()))
            })
            .collect();
        let features = config
            .dedup
            .near_duplicates
            .then(|| Arc::new(FeatureExtractor::new(config.dedup.matcher_params())));
        let config = if config.sources.is_empty() {
            config
        } else {
            Arc::new(config.without_source_list())
        };
        Ok(Settings {
            config,
            fetcher,
            schedules,
            features,
        })
    }

    /// The schedule of the source at `url` (the default for a source the config no longer has).
    fn schedule_for(&self, url: &str) -> &CronSchedule {
        self.schedules
            .get(url)
            .unwrap_or(&self.config.default_schedule)
    }
}

/// The long-lived parts shared by `run` and `poll --once`.
pub struct Pipeline {
    settings: RwLock<Arc<Settings>>,
    /// Per-host politeness, kept across reloads.
    hosts: Arc<HostLimits>,
    writer: Writer,
    /// Bounds polled-but-unstored results in memory by count when the writer falls behind.
    memory: Arc<Semaphore>,
    /// Bounds fetched bodies and their parsed entries in memory by bytes, whatever the feeds' sizes.
    budget: Arc<MemoryBudget>,
    /// Parsing slots, one per core: parsing is pure CPU work, and more threads at it only switch more and
    /// each hold allocator memory.
    parsing: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

impl Pipeline {
    /// Opens the database, starts the writer and builds the settings of `config`. `poll_once` selects the
    /// patience of a one-shot run: a store that takes no writes for a minute ends it with an error. The
    /// caller syncs `config`'s sources next ([`Pipeline::sync_sources`]); the settings keep no source list.
    pub fn start(
        config: &Arc<Config>,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        poll_once: bool,
    ) -> anyhow::Result<Pipeline> {
        let hosts = HostLimits::new(
            config.fetch.global,
            config.fetch.per_host,
            Duration::from_millis(config.fetch.min_host_gap_ms),
        );
        let settings = Settings::build(config.clone(), &hosts)?;
        let patience = if poll_once {
            Patience::AtMost(Duration::from_secs(60))
        } else {
            Patience::Forever
        };
        let writer = Writer::start(
            &config.storage.path,
            &config.dedup,
            health.clone(),
            patience,
        )?;
        Ok(Pipeline {
            settings: RwLock::new(Arc::new(settings)),
            hosts,
            writer,
            memory: Arc::new(Semaphore::new(PARSED_IN_MEMORY)),
            budget: MemoryBudget::new(config.fetch.memory_budget_bytes),
            parsing: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            metrics,
            health,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.read().expect("settings lock").clone()
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.settings().config.clone()
    }

    /// The per-host table, for building settings that will replace the current ones.
    pub fn hosts(&self) -> &Arc<HostLimits> {
        &self.hosts
    }

    /// The daemon's health.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Makes the sources table match `config` and returns every source's schedule entry (the store is
    /// written here, so a reload does this before swapping settings).
    pub async fn sync_sources(&self, config: &Arc<Config>) -> anyhow::Result<Vec<ScheduleEntry>> {
        self.writer.sync(config.clone()).await
    }

    /// Waits until every stored story is routed by the current section rules; returns the sections that
    /// re-routing changed.
    pub async fn routed(&self) -> Vec<String> {
        self.writer.routed().await
    }

    /// Changes whenever stored stories were routed again by new section rules (render every section).
    pub(crate) fn rerouted(&self) -> tokio::sync::watch::Receiver<u64> {
        self.writer.rerouted()
    }

    /// Puts built settings in force: polls that start from now on use them.
    pub async fn apply(&self, settings: Settings) {
        let fetch = &settings.config.fetch;
        self.hosts.set_limits(
            fetch.global,
            fetch.per_host,
            Duration::from_millis(fetch.min_host_gap_ms),
        );
        let (was, now) = (
            self.config().fetch.memory_budget_bytes,
            fetch.memory_budget_bytes,
        );
        if was != now {
            tracing::warn!(
                "fetch.memory_budget_bytes changed from {was} to {now}; the new budget takes a restart"
            );
        }
        let dedup_changed = self.config().dedup != settings.config.dedup;
        let dedup = settings.config.dedup.clone();
        *self.settings.write().expect("settings lock") = Arc::new(settings);
        if dedup_changed {
            self.writer.reconfigure(dedup).await;
        }
        self.metrics.set_sources(self.config().source_count());
    }

    /// Prunes items past the configured retention.
    pub async fn prune(&self) {
        self.writer
            .prune(self.config().storage.retention_days)
            .await;
    }

    /// Changes whenever another process commits to the database (`poll --once` beside the daemon, a
    /// restore through SQLite): the published feeds must then be rendered again.
    pub fn other_writers(&self) -> tokio::sync::watch::Receiver<u64> {
        self.writer.other_writers()
    }

    /// Stops the writer once it has stored what it holds, checkpointing the log; waits at most `deadline`.
    pub async fn close(&self, deadline: Duration) {
        self.writer.close(deadline).await;
    }

    /// Makes a writer that waits out a store failure give up (shutdown).
    pub fn stop_waiting_for_the_store(&self) {
        self.writer.give_up();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keep_each_sources_schedule_but_not_the_source_list() {
        let text = "[[sections]]\nid = \"world\"\nschedule = \"*/5 * * * *\"\n\
                    [[sections]]\nid = \"local\"\n\
                    [[sources]]\nurl = \"https://a.example/feed\"\nsections = [\"world\"]\n\
                    [[sources]]\nurl = \"https://b.example/feed\"\nsections = [\"local\"]\n\
                    schedule = \"0 * * * *\"\n\
                    [[sources]]\nurl = \"https://c.example/feed\"\nsections = [\"local\"]\n";
        let path = std::path::Path::new("/srv/wiredesk/feeds.toml");
        let config = Arc::new(crate::config::parse(path, text).unwrap());
        let hosts = HostLimits::new(64, 2, Duration::ZERO);
        let settings = Settings::build(config.clone(), &hosts).unwrap();

        assert!(settings.config.sources.is_empty());
        assert_eq!(settings.config.source_count(), 3);
        let schedule = |url: &str| settings.schedule_for(url).expression().to_string();
        assert_eq!(schedule("https://a.example/feed"), "*/5 * * * *");
        assert_eq!(schedule("https://b.example/feed"), "0 * * * *");
        assert_eq!(
            schedule("https://c.example/feed"),
            config.default_schedule.expression()
        );
        // Settings rebuilt from a slim copy (as `check` and reloads may) still count the sources.
        assert_eq!(
            Settings::build(settings.config.clone(), &hosts)
                .unwrap()
                .config
                .source_count(),
            3
        );
    }
}
