//! The single database writer: a thread that owns the ingest connection and the similarity window, takes
//! jobs from the async side, groups the polled feeds that wait into one commit, and applies the failure
//! policy for the store:
//! - the store itself failing (locked by another process, disk full, read-only, I/O) is waited out: the
//!   batch is kept and retried with backoff while `/healthz` says degraded and why, so nothing polled is
//!   lost and every source comes back without a signal once the store recovers;
//! - one feed failing is that feed's failure alone (see [`super::ingest`]);
//! - a panic is caught, the feeds of that batch are retried one by one so only the culprit fails, and the
//!   thread goes on.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use super::health::Health;
use super::ingest::{BatchReports, Ingester, StoreJob, Stored, Unavailable};
use super::outcome::PollStatus;
use crate::config::{Config, DedupConfig};
use crate::route::Router;
use crate::store::{PollTally, REROUTE_CHUNK, ScheduleEntry};

/// The most feeds one commit takes; bounds how long a batch holds the write lock (about 1.5 s for 1,024
/// feeds of 20 new items at 2,000,000 stored, well inside other writers' 5 s busy timeout). As many as
/// [`super::PARSED_IN_MEMORY`], so that one commit can take everything that waits.
const MAX_BATCH_FEEDS: usize = super::PARSED_IN_MEMORY;

/// The first wait after a store failure; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between two attempts at a failing store.
const RETRY_MAX: Duration = Duration::from_secs(30);
/// When the writer has nothing to do for this long, it checks that the store still takes writes, so that
/// `/healthz` notices a full disk or a held lock even while no feed changes.
const PROBE_EVERY: Duration = Duration::from_secs(30);
/// How often the writer looks for commits by other processes (`poll --once` beside the daemon, a restore
/// through SQLite), so that the daemon publishes them within a few seconds.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Why a feed was not stored.
#[derive(Debug)]
pub(crate) enum StoreError {
    /// Its rows could not be written (a problem with this feed); the poll counts as failed.
    Feed(String),
    /// The store took no writes until the writer gave up (shutdown, or `poll --once`'s deadline).
    Unavailable(String),
}

/// How long the writer keeps retrying a store that takes no writes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Patience {
    /// Until the daemon stops.
    Forever,
    /// At most this long per batch (`poll --once`: report and exit rather than hang).
    AtMost(Duration),
}

enum Job {
    Store {
        job: Box<StoreJob>,
        reply: oneshot::Sender<Result<Stored, StoreError>>,
    },
    Sync {
        config: Arc<Config>,
        reply: oneshot::Sender<anyhow::Result<Vec<ScheduleEntry>>>,
    },
    Prune {
        retention_days: u32,
    },
    Reconfigure {
        dedup: DedupConfig,
    },
    /// Answer once stored stories are routed by the current rules, with the sections that changed.
    Routed {
        reply: oneshot::Sender<Vec<String>>,
    },
    /// Checkpoint, answer and stop (shutdown).
    Close {
        reply: oneshot::Sender<()>,
    },
}

/// A handle to the writer thread. The thread ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
    /// Set to make a retrying writer give up (shutdown).
    stop: Arc<AtomicBool>,
    /// Counts the commits other processes made, as the writer noticed them.
    others: tokio::sync::watch::Receiver<u64>,
    /// Counts finished re-routes of the stored stories (after a reload changed the section rules).
    rerouted: tokio::sync::watch::Receiver<u64>,
}

/// Routing every stored story again by new rules, a chunk at a time between batches of polls.
struct Reroute {
    router: Arc<Router>,
    /// Stories below this id are still to do (None: start from the newest).
    below: Option<i64>,
    stories: usize,
    changed: BTreeSet<String>,
    started: Instant,
}

impl Writer {
    /// Opens the database and starts the writer thread.
    pub(crate) fn start(
        db: &Path,
        dedup: &DedupConfig,
        health: Arc<Health>,
        patience: Patience,
    ) -> anyhow::Result<Writer> {
        let mut ingester = Ingester::open(db, dedup)?;
        ingester.checkpoint_in_background(db)?;
        let (tx, rx) = mpsc::channel::<Job>(MAX_BATCH_FEEDS);
        let stop = Arc::new(AtomicBool::new(false));
        let (noticed, others) = tokio::sync::watch::channel(0);
        let (rerouted_tx, rerouted) = tokio::sync::watch::channel(0);
        let data_version = ingester.store_mut().data_version()?;
        let thread = WriterThread {
            ingester,
            health: health.clone(),
            patience,
            stop: stop.clone(),
            data_version,
            noticed,
            probed: Instant::now(),
            reroute: None,
            rerouted: rerouted_tx,
            waiting_for_routes: Vec::new(),
            rerouted_sections: BTreeSet::new(),
        };
        std::thread::Builder::new()
            .name("wiredesk-writer".into())
            .spawn(move || thread.run(rx))
            .context("cannot start the database writer thread")?;
        health.writer_running();
        Ok(Writer {
            jobs: tx,
            stop,
            others,
            rerouted,
        })
    }

    /// Changes whenever the writer notices that another process committed to the database.
    pub(crate) fn other_writers(&self) -> tokio::sync::watch::Receiver<u64> {
        self.others.clone()
    }

    /// Changes whenever the writer has routed every stored story by new section rules.
    pub(crate) fn rerouted(&self) -> tokio::sync::watch::Receiver<u64> {
        self.rerouted.clone()
    }

    /// Waits until every stored story is routed by the section rules of the last sync, and returns the
    /// sections that re-routing changed since the last call.
    pub(crate) async fn routed(&self) -> Vec<String> {
        let (reply, answer) = oneshot::channel();
        if self.send(Job::Routed { reply }).await.is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }

    async fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the database writer has stopped".into()))
    }

    /// Stores one polled feed (with its source's new state) and says what that changed.
    pub(crate) async fn store(&self, job: StoreJob) -> Result<Stored, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Store {
            job: Box::new(job),
            reply,
        })
        .await?;
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the database writer has stopped".into(),
            ))
        })
    }

    /// Makes the sources table match `config` and returns every source.
    pub(crate) async fn sync(&self, config: Arc<Config>) -> anyhow::Result<Vec<ScheduleEntry>> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Sync { config, reply })
            .await
            .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?
    }

    /// Prunes items past retention (0 keeps everything).
    pub(crate) async fn prune(&self, retention_days: u32) {
        if retention_days > 0 {
            let _ = self.send(Job::Prune { retention_days }).await;
        }
    }

    /// Applies new dedup settings.
    pub(crate) async fn reconfigure(&self, dedup: DedupConfig) {
        let _ = self.send(Job::Reconfigure { dedup }).await;
    }

    /// Stops the writer after what it has in hand: it checkpoints the log into the database file, then
    /// ends. Waits at most `deadline`; a writer still busy then is left to the process's exit (SQLite rolls
    /// an unfinished transaction back).
    pub(crate) async fn close(&self, deadline: Duration) {
        let (reply, answer) = oneshot::channel();
        let closed = tokio::time::timeout(deadline, async {
            if self.send(Job::Close { reply }).await.is_ok() {
                let _ = answer.await;
            }
        })
        .await;
        if closed.is_err() {
            tracing::warn!(
                "the database writer did not finish within {} s; its transaction is rolled back",
                deadline.as_secs()
            );
        }
    }

    /// Makes a writer that is waiting out a store failure give up, so the daemon can stop.
    pub(crate) fn give_up(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct WriterThread {
    ingester: Ingester,
    health: Arc<Health>,
    patience: Patience,
    stop: Arc<AtomicBool>,
    /// The database's `data_version` as this connection last read it.
    data_version: i64,
    /// Bumped when another process committed.
    noticed: tokio::sync::watch::Sender<u64>,
    /// When the store was last written or probed.
    probed: Instant,
    /// The re-route in progress, if the rules changed.
    reroute: Option<Reroute>,
    /// Bumped when a re-route finishes.
    rerouted: tokio::sync::watch::Sender<u64>,
    /// Callers of [`Writer::routed`] waiting for the re-route to finish.
    waiting_for_routes: Vec<oneshot::Sender<Vec<String>>>,
    /// Sections re-routing changed, not yet handed to a [`Writer::routed`] caller.
    rerouted_sections: BTreeSet<String>,
}

type Reply = oneshot::Sender<Result<Stored, StoreError>>;

impl WriterThread {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        // A small runtime of its own, only to wait for the next job with a timeout.
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!("the database writer cannot start: {e}");
                self.health.writer_stopped();
                return;
            }
        };
        let mut closed = None;
        loop {
            self.notice_other_writers();
            // A re-route goes a chunk at a time, and polled feeds that wait are stored between chunks.
            if self.reroute.is_some() {
                self.reroute_step();
            }
            let next = if self.reroute.is_some() {
                match rx.try_recv() {
                    Ok(job) => Ok(Some(job)),
                    Err(mpsc::error::TryRecvError::Empty) => continue,
                    Err(mpsc::error::TryRecvError::Disconnected) => Ok(None),
                }
            } else {
                runtime.block_on(async { tokio::time::timeout(WATCH_EVERY, rx.recv()).await })
            };
            let first = match next {
                Ok(Some(job)) => job,
                Ok(None) => break,
                Err(_idle) => {
                    self.settle();
                    self.ingester.truncate_log_if_asked();
                    if self.probed.elapsed() >= PROBE_EVERY {
                        self.probe();
                    }
                    continue;
                }
            };
            self.probed = Instant::now();
            // Group commit: take every job already waiting, up to a bound, and store them together.
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH_FEEDS {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let mut feeds: Vec<(Box<StoreJob>, Reply)> = Vec::new();
            let mut close = None;
            for job in jobs {
                match job {
                    Job::Store { job, reply } => feeds.push((job, reply)),
                    Job::Close { reply } => close = Some(reply),
                    other => self.maintain(other),
                }
            }
            if !feeds.is_empty() {
                self.store(feeds);
            }
            if let Some(reply) = close {
                self.settle();
                self.checkpoint_and_stop();
                closed = Some(reply);
                break;
            }
        }
        let health = self.health.clone();
        // The similarity window and the page cache go before the closer hears back: `poll --once` renders
        // next, and at 100,000 sources the window alone is hundreds of megabytes.
        drop(self);
        health.writer_stopped();
        if let Some(reply) = closed {
            let _ = reply.send(());
        }
    }

    /// Stores a batch, waiting out store failures, and answers every feed.
    fn store(&mut self, feeds: Vec<(Box<StoreJob>, Reply)>) {
        let jobs: Vec<&StoreJob> = feeds.iter().map(|(j, _)| &**j).collect();
        let answers = self.with_patience(|writer| writer.ingest_catching_panics(&jobs));
        let answers: Vec<Result<Stored, StoreError>> = match answers {
            Ok(reports) => reports
                .into_iter()
                .map(|r| r.map_err(|e| StoreError::Feed(format!("{e:#}"))))
                .collect(),
            Err(Unavailable(why)) => jobs
                .iter()
                .map(|_| Err(StoreError::Unavailable(why.clone())))
                .collect(),
        };
        self.record_history(&jobs, &answers);
        drop(jobs);
        for ((_, reply), answer) in feeds.into_iter().zip(answers) {
            let _ = reply.send(answer);
        }
    }

    /// Adds the stored polls of a batch to the hourly poll history (the status page's chart). The history
    /// is a convenience: a failure to write it is logged and costs nothing else.
    fn record_history(&mut self, jobs: &[&StoreJob], answers: &[Result<Stored, StoreError>]) {
        let mut tally = PollTally::default();
        for (job, answer) in jobs.iter().zip(answers) {
            let Ok(Stored { counts, .. }) = answer else {
                continue;
            };
            match job.state.last_result {
                Some(PollStatus::Fetched { .. }) => tally.fetched += 1,
                Some(PollStatus::Unchanged) => tally.unchanged += 1,
                Some(PollStatus::Failed(_) | PollStatus::Gone) => tally.failed += 1,
                None => continue,
            }
            tally.new_items += counts.new_items as i64;
            tally.joined += counts.joined as i64;
        }
        if tally == PollTally::default() {
            return;
        }
        let now = Utc::now().timestamp();
        if let Err(e) = self.ingester.store_mut().record_polls(now, &tally) {
            tracing::debug!("the poll history was not written: {e:#}");
        }
    }

    /// Runs `attempt` until the store takes it, waiting with backoff while it is unavailable, for as long
    /// as the writer's patience lasts.
    fn with_patience<T>(
        &mut self,
        mut attempt: impl FnMut(&mut Self) -> Result<T, Unavailable>,
    ) -> Result<T, Unavailable> {
        let started = Instant::now();
        let mut wait = RETRY_FIRST;
        loop {
            match attempt(self) {
                Ok(v) => {
                    self.health.store_writable();
                    return Ok(v);
                }
                Err(Unavailable(why)) => {
                    self.health.store_unwritable(&why);
                    let out_of_patience = match self.patience {
                        Patience::Forever => false,
                        Patience::AtMost(limit) => started.elapsed() + wait > limit,
                    };
                    if out_of_patience || self.stop.load(Ordering::Relaxed) {
                        return Err(Unavailable(why));
                    }
                    tracing::error!(
                        retry_in_secs = wait.as_secs(),
                        "the database takes no writes: {why}; polled feeds wait in memory and are stored once it does"
                    );
                    let until = Instant::now() + wait;
                    while Instant::now() < until && !self.stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    wait = (wait * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// Stores a batch; after a panic, stores its feeds one at a time so that only the culprit fails.
    fn ingest_catching_panics(&mut self, jobs: &[&StoreJob]) -> Result<BatchReports, Unavailable> {
        let now = Utc::now().timestamp();
        match catch_unwind(AssertUnwindSafe(|| self.ingester.ingest(jobs, now))) {
            Ok(result) => result,
            Err(payload) => {
                tracing::error!(
                    feeds = jobs.len(),
                    "storing a batch panicked ({}); storing its feeds one by one",
                    super::Failure::panic(payload).message
                );
                self.ingester.forget_window();
                let mut reports = Vec::with_capacity(jobs.len());
                for job in jobs {
                    match catch_unwind(AssertUnwindSafe(|| self.ingester.ingest(&[job], now))) {
                        Ok(result) => reports.push(result?.pop().expect("one report per feed")),
                        Err(payload) => {
                            self.ingester.forget_window();
                            reports.push(Err(anyhow::anyhow!(
                                "{}",
                                super::Failure::panic(payload).message
                            )));
                        }
                    }
                }
                Ok(reports)
            }
        }
    }

    /// Runs a job that is not an ingest.
    fn maintain(&mut self, job: Job) {
        match job {
            Job::Store { .. } | Job::Close { .. } => {
                unreachable!("feeds and closing are handled by the caller")
            }
            Job::Sync { config, reply } => {
                let store = self.ingester.store_mut();
                let synced = store
                    .sync_sources(&config)
                    .and_then(|_| store.schedule_entries());
                if synced.is_ok() {
                    self.new_rules(&config);
                }
                let _ = reply.send(synced);
            }
            Job::Routed { reply } => {
                self.settle();
                if self.reroute.is_none() {
                    let _ = reply.send(
                        std::mem::take(&mut self.rerouted_sections)
                            .into_iter()
                            .collect(),
                    );
                } else {
                    self.waiting_for_routes.push(reply);
                }
            }
            Job::Prune { retention_days } => {
                let now = Utc::now().timestamp();
                let cutoff = now - i64::from(retention_days) * 86_400;
                match self.ingester.store_mut().prune(cutoff, now) {
                    Ok(n) if n > 0 => tracing::info!(items = n, "pruned items past retention"),
                    Ok(_) => {}
                    Err(e) => tracing::error!("pruning failed: {e:#}"),
                }
            }
            Job::Reconfigure { dedup } => self.ingester.reconfigure(&dedup),
        }
    }

    /// Puts the section rules of `config` in force for new stories, and starts routing the stored ones
    /// again when they were routed by other rules (or a re-route by rules since replaced was under way).
    fn new_rules(&mut self, config: &Config) {
        let router = Arc::new(Router::new(config));
        self.ingester.set_router(router.clone());
        let stored = match self.ingester.store_mut().routing_fingerprint() {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("cannot read which rules routed the stored stories: {e:#}");
                None
            }
        };
        if self.reroute.is_some() || stored.as_deref() != Some(router.fingerprint()) {
            tracing::info!("the section rules changed; routing the stored stories again");
            self.reroute = Some(Reroute {
                router,
                below: None,
                stories: 0,
                changed: BTreeSet::new(),
                started: Instant::now(),
            });
        }
    }

    /// Routes one chunk of stored stories again; after the last, records the rules and tells the daemon.
    fn reroute_step(&mut self) {
        let Some(r) = self.reroute.as_mut() else {
            return;
        };
        let store = self.ingester.store_mut();
        match store.reroute_chunk(&r.router, r.below, REROUTE_CHUNK) {
            Ok(step) => {
                r.stories += step.stories;
                r.changed.extend(step.changed);
                r.below = step.next;
                if step.next.is_some() {
                    return;
                }
                if let Err(e) = store.set_routing_fingerprint(r.router.fingerprint()) {
                    tracing::warn!(
                        "the new routing rules were not recorded (routed again at the next start): {e:#}"
                    );
                }
                let r = self.reroute.take().expect("a re-route in progress");
                tracing::info!(
                    stories = r.stories,
                    sections_changed = r.changed.len(),
                    took_ms = r.started.elapsed().as_millis() as u64,
                    "stored stories routed by the new section rules"
                );
                self.rerouted_sections.extend(r.changed);
                if !self.waiting_for_routes.is_empty() {
                    for reply in self.waiting_for_routes.drain(..) {
                        let _ = reply.send(self.rerouted_sections.iter().cloned().collect());
                    }
                    self.rerouted_sections.clear();
                }
                self.rerouted.send_modify(|n| *n += 1);
            }
            Err(e) => {
                // Left in progress: retried after a pause, from the same chunk.
                tracing::warn!("routing stored stories again failed, retrying: {e:#}");
                std::thread::sleep(RETRY_FIRST);
            }
        }
    }

    /// Settles the stories placed since the last settle, once no polled feed waits (see
    /// `dedup::similar::settle`), and has the sections that changed published again. A failure is logged
    /// and costs nothing else: the items stay unsettled and are settled again later.
    fn settle(&mut self) {
        match self.ingester.settle(Utc::now().timestamp()) {
            Ok(changed) if changed.is_empty() => {}
            Ok(changed) => {
                self.rerouted_sections.extend(changed);
                self.rerouted.send_modify(|n| *n += 1);
            }
            Err(e) => tracing::warn!("settling stories failed; trying again later: {e:#}"),
        }
    }

    /// The last write of a stopping writer: the log goes back into the database file.
    fn checkpoint_and_stop(&mut self) {
        match self
            .ingester
            .store_mut()
            .checkpoint_truncate(Duration::from_secs(1))
        {
            Ok(true) => tracing::info!("the write-ahead log is checkpointed into the database"),
            Ok(false) => tracing::info!(
                "a reader still holds the write-ahead log; it is checkpointed at the next start"
            ),
            Err(e) => {
                tracing::warn!("the final checkpoint failed (the next start redoes it): {e:#}")
            }
        }
    }

    /// Tells the daemon when another process committed since the last look: its feeds must be rendered
    /// again. The similarity window is dropped too (it is rebuilt from the database when next needed), since
    /// a restore may have changed every row under it.
    fn notice_other_writers(&mut self) {
        let Ok(version) = self.ingester.store_mut().data_version() else {
            return;
        };
        if version != self.data_version {
            tracing::debug!(
                was = self.data_version,
                now = version,
                "another connection committed"
            );
            self.data_version = version;
            self.ingester.forget_window();
            self.noticed.send_modify(|n| *n += 1);
        }
    }

    /// Checks that the store takes a write, for `/healthz`, while no feed is being stored.
    fn probe(&mut self) {
        self.probed = Instant::now();
        match self.ingester.store_mut().probe_write() {
            Ok(()) => self.health.store_writable(),
            Err(e) => {
                let why = crate::store::unavailable(&e).unwrap_or_else(|| format!("{e:#}"));
                tracing::warn!("the database takes no writes: {why}");
                self.health.store_unwritable(&why);
            }
        }
    }
}
