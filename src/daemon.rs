//! Wiring: the scheduler loop, the single ingest writer thread, the publisher, the HTTP server, signals
//! (SIGHUP reloads `feeds.toml`; SIGTERM and Ctrl-C stop cleanly) and `poll --once`.
//!
//! Data moves one way: the scheduler starts polls on the async runtime, each poll hands its result to the
//! writer thread (the only SQLite writer), and the writer reports which sections changed to the publisher,
//! which renders them into the cache the server reads.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::config::{self, Config};
use crate::dispatch::Dispatcher;
use crate::fetch::Fetcher;
use crate::ingest::{IngestReport, Ingester, PollResult};
use crate::poll;
use crate::publish::{self, FeedCache};
use crate::schedule::DueReason;
use crate::serve::{self, AppState, Metrics};
use crate::store::{SourceRow, Store};

/// Work for the writer thread.
enum WriterJob {
    Ingest {
        source: Box<SourceRow>,
        result: Box<PollResult>,
        reply: oneshot::Sender<anyhow::Result<(IngestReport, Option<SourceRow>)>>,
    },
    Sync {
        config: Arc<Config>,
        reply: oneshot::Sender<anyhow::Result<Vec<SourceRow>>>,
    },
    Prune {
        retention_days: u32,
    },
}

/// The most feeds one commit takes; bounds how long a batch holds the write lock.
const MAX_BATCH_FEEDS: usize = 256;

/// Fetched bodies parsed and waiting for the writer, at most; more wait (unparsed) for a slot. When the
/// writer falls behind, what waits goes into one commit, and each commit rewrites every page of the random-key
/// indexes (URL and text keys) it touches: 256 made a first poll cycle's commits a third fewer than 128 did,
/// for about 2 MB.
const PARSED_IN_MEMORY: usize = 256;

type IngestReply = oneshot::Sender<anyhow::Result<(IngestReport, Option<SourceRow>)>>;

/// Ingests a batch of polled feeds in one commit and answers each poll.
fn run_batch(
    ingester: &mut Ingester,
    ingests: Vec<(Box<SourceRow>, Box<PollResult>, IngestReply)>,
) {
    let now = Utc::now().timestamp();
    let feeds: Vec<(&SourceRow, &PollResult)> =
        ingests.iter().map(|(s, r, _)| (&**s, &**r)).collect();
    match ingester.ingest_batch(&feeds, now) {
        Ok(reports) => {
            for ((source, _, reply), report) in ingests.into_iter().zip(reports) {
                if let Err(e) = &report {
                    tracing::error!(source = %source.url, "could not store the poll: {e:#}");
                }
                let answer = report.map(|mut r| {
                    let updated = r.source.take();
                    (r, updated)
                });
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            tracing::error!("could not commit {} polled feeds: {e:#}", ingests.len());
            for (_, _, reply) in ingests {
                let _ = reply.send(Err(anyhow::anyhow!("the commit failed: {e:#}")));
            }
        }
    }
}

/// Runs a job that is not an ingest.
fn run_maintenance(ingester: &mut Ingester, job: WriterJob) {
    match job {
        WriterJob::Ingest { .. } => unreachable!("ingests are batched by the caller"),
        WriterJob::Sync { config, reply } => {
            let store = ingester.store_mut();
            let _ = reply.send(store.sync_sources(&config).and_then(|_| store.sources()));
        }
        WriterJob::Prune { retention_days } => {
            let now = Utc::now().timestamp();
            let cutoff = now - i64::from(retention_days) * 86_400;
            match ingester.store_mut().prune(cutoff, now) {
                Ok(n) if n > 0 => tracing::info!(items = n, "pruned items past retention"),
                Ok(_) => {}
                Err(e) => tracing::error!("pruning failed: {e:#}"),
            }
        }
    }
}

/// A handle to the single SQLite writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<WriterJob>,
}

impl Writer {
    /// Opens the database and starts the writer thread.
    pub fn start(
        db: &Path,
        dedup: &crate::config::DedupConfig,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Writer> {
        let store = Store::open(db)?;
        let mut ingester = if dedup.near_duplicates {
            Ingester::with_similarity(store, dedup.matcher_params())?
        } else {
            Ingester::new(store)
        };
        ingester.checkpoint_in_background(db)?;
        let (tx, mut rx) = mpsc::channel::<WriterJob>(256);
        std::thread::Builder::new()
            .name("wiredesk-writer".into())
            .spawn(move || {
                let mut ingester = ingester;
                while let Some(first) = rx.blocking_recv() {
                    // Group commit: take every job already waiting, up to a bound, and ingest them together.
                    let mut jobs = vec![first];
                    while jobs.len() < MAX_BATCH_FEEDS {
                        match rx.try_recv() {
                            Ok(job) => jobs.push(job),
                            Err(_) => break,
                        }
                    }
                    let mut ingests = Vec::new();
                    for job in jobs {
                        match job {
                            WriterJob::Ingest {
                                source,
                                result,
                                reply,
                            } => ingests.push((source, result, reply)),
                            other => run_maintenance(&mut ingester, other),
                        }
                    }
                    if !ingests.is_empty() {
                        let started = std::time::Instant::now();
                        run_batch(&mut ingester, ingests);
                        metrics
                            .writer_busy_micros
                            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    }
                }
                metrics.writer_ok.store(false, Ordering::Relaxed);
            })?;
        Ok(Writer { jobs: tx })
    }

    async fn ingest(
        &self,
        source: SourceRow,
        result: PollResult,
    ) -> anyhow::Result<(IngestReport, Option<SourceRow>)> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(WriterJob::Ingest {
                source: Box::new(source),
                result: Box::new(result),
                reply,
            })
            .await
            .context("the database writer has stopped")?;
        answer.await.context("the database writer has stopped")?
    }

    /// Makes the sources table match `config` and returns every source.
    pub async fn sync(&self, config: Arc<Config>) -> anyhow::Result<Vec<SourceRow>> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(WriterJob::Sync { config, reply })
            .await
            .context("the database writer has stopped")?;
        answer.await.context("the database writer has stopped")?
    }

    async fn prune(&self, retention_days: u32) {
        if retention_days > 0 {
            let _ = self.jobs.send(WriterJob::Prune { retention_days }).await;
        }
    }
}

/// Renders sections into the cache from a read connection of its own.
#[derive(Clone)]
pub struct Publisher {
    cache: FeedCache,
    db: PathBuf,
    reader: Arc<Mutex<Option<Store>>>,
    metrics: Arc<Metrics>,
}

impl Publisher {
    /// A publisher for the database at `db`.
    pub fn new(cache: FeedCache, db: &Path, metrics: Arc<Metrics>) -> Self {
        Publisher {
            cache,
            db: db.to_path_buf(),
            reader: Arc::new(Mutex::new(None)),
            metrics,
        }
    }

    /// Renders `only` these sections (all when None) on a blocking thread.
    pub async fn render(
        &self,
        config: Arc<Config>,
        only: Option<Vec<String>>,
    ) -> anyhow::Result<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut reader = this.reader.lock().expect("publisher lock");
            if reader.is_none() {
                *reader = Some(Store::open_read_only(&this.db)?);
            }
            let store = reader.as_ref().expect("opened above");
            publish::render(&config, store, &this.cache, only.as_deref())?;
            this.metrics.renders.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .await?
    }
}

/// The outcome counts of a poll run.
#[derive(Debug, Default, Clone)]
pub struct PollSummary {
    /// Sources polled.
    pub polled: usize,
    /// Polls with a new body.
    pub fetched: usize,
    /// Polls answered 304 or unchanged.
    pub unchanged: usize,
    /// Failed polls, with their messages.
    pub failures: Vec<String>,
    /// New items stored.
    pub new_items: usize,
    /// New stories.
    pub new_stories: usize,
    /// Items that joined an existing story.
    pub joined: usize,
}

/// The long-lived parts shared by `run` and `poll --once`.
struct Engine {
    /// Computes similarity features in the poll tasks (None when similarity is off).
    features: Option<Arc<crate::dedup::similar::FeatureExtractor>>,
    /// Bounds polled-but-unstored results in memory when the writer falls behind.
    memory: Arc<tokio::sync::Semaphore>,
    /// Parsing slots, one per core (see [`poll::PollContext::parsing`]).
    parsing: Arc<tokio::sync::Semaphore>,
    config: Arc<Config>,
    /// Each source's effective schedule, by URL.
    schedules: HashMap<String, crate::schedule::CronSchedule>,
    fetcher: Arc<Fetcher>,
    writer: Writer,
    publisher: Publisher,
    metrics: Arc<Metrics>,
}

impl Engine {
    async fn start(
        config: Arc<Config>,
        cache: FeedCache,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<(Engine, Vec<SourceRow>)> {
        let writer = Writer::start(&config.storage.path, &config.dedup, metrics.clone())?;
        let sources = writer.sync(config.clone()).await?;
        let publisher = Publisher::new(cache, &config.storage.path, metrics.clone());
        let fetcher = Arc::new(Fetcher::new(&config.fetch)?);
        metrics
            .sources
            .store(config.sources.len() as i64, Ordering::Relaxed);
        Ok((
            Engine {
                features: config.dedup.near_duplicates.then(|| {
                    Arc::new(crate::dedup::similar::FeatureExtractor::new(
                        config.dedup.matcher_params(),
                    ))
                }),
                memory: Arc::new(tokio::sync::Semaphore::new(PARSED_IN_MEMORY)),
                parsing: Arc::new(tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                )),
                schedules: schedules_by_url(&config),
                config,
                fetcher,
                writer,
                publisher,
                metrics,
            },
            sources,
        ))
    }

    /// Polls one source and stores the result; returns the source's new state.
    fn spawn_poll(&self, tasks: &mut JoinSet<PollDone>, source: SourceRow) {
        let fetcher = self.fetcher.clone();
        let writer = self.writer.clone();
        let metrics = self.metrics.clone();
        let schedule = self
            .schedules
            .get(&source.url)
            .cloned()
            .unwrap_or_else(|| self.config.default_schedule.clone());
        let polling = self.config.polling.clone();
        let memory = self.memory.clone();
        let parsing = self.parsing.clone();
        let features = self.features.clone();
        tasks.spawn(async move {
            let ctx = poll::PollContext {
                features: features.as_ref(),
                memory: &memory,
                parsing: &parsing,
                fetcher: &fetcher,
                schedule: &schedule,
                polling: &polling,
            };
            let result = poll::poll_source(&ctx, &source).await;
            let counter = match (
                &result.record.success,
                result.items.is_empty() && result.record.result == "not modified",
            ) {
                (false, _) => &metrics.polls_failed,
                (true, true) => &metrics.polls_unchanged,
                (true, false) => &metrics.polls_fetched,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let record = result.record.clone();
            let id = source.id;
            match writer.ingest(source, result).await {
                Ok((report, updated)) => {
                    metrics.record_ingest(&report);
                    PollDone {
                        id,
                        record,
                        report: Ok(report),
                        updated,
                    }
                }
                Err(e) => PollDone {
                    id,
                    record,
                    report: Err(e),
                    updated: None,
                },
            }
        });
    }
}

fn schedules_by_url(config: &Config) -> HashMap<String, crate::schedule::CronSchedule> {
    config
        .sources
        .iter()
        .map(|s| (s.url.clone(), config.schedule_for(s).clone()))
        .collect()
}

struct PollDone {
    id: i64,
    record: crate::store::PollRecord,
    report: anyhow::Result<IngestReport>,
    updated: Option<SourceRow>,
}

fn log_poll(source: &SourceRow, done: &PollDone) {
    if let Some(err) = &done.record.error {
        tracing::warn!(source = %source.name, "{err}");
    }
    if let Some(m) = &done.record.moved_to
        && source.moved_to.as_deref() != Some(m)
    {
        tracing::warn!(
            source = %source.name,
            "{} moved permanently to {m}; wiredesk polls the new URL now. Update `url` in feeds.toml to silence this",
            source.url
        );
    }
}

/// Polls every active source once, stores everything, renders every section, and returns the counts.
/// `out` also writes the rendered documents there as static files.
pub async fn poll_once(config: Config, out: Option<&Path>) -> anyhow::Result<PollSummary> {
    let config = Arc::new(config);
    let cache = FeedCache::default();
    let started = std::time::Instant::now();
    let (engine, sources) =
        Engine::start(config.clone(), cache.clone(), Arc::new(Metrics::new())).await?;
    tracing::info!(
        sources = sources.len(),
        took_ms = started.elapsed().as_millis() as u64,
        "opened and synced"
    );
    let active: Vec<SourceRow> = sources
        .into_iter()
        .filter(|s| s.active && !s.gone)
        .collect();
    let total = active.len();
    let by_id: HashMap<i64, SourceRow> = active.iter().map(|s| (s.id, s.clone())).collect();
    let mut dispatch =
        Dispatcher::new(config.fetch.global, config.fetch.per_host, PARSED_IN_MEMORY);
    active.into_iter().for_each(|s| dispatch.push(s));
    let mut tasks = JoinSet::new();
    while let Some(source) = dispatch.next_to_start() {
        engine.spawn_poll(&mut tasks, source);
    }
    let progress = std::io::stderr().is_terminal();
    let mut summary = PollSummary::default();
    let mut changed: BTreeSet<String> = BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        let done = done.context("a poll task panicked")?;
        dispatch.finished(done.id);
        while let Some(source) = dispatch.next_to_start() {
            engine.spawn_poll(&mut tasks, source);
        }
        let source = &by_id[&done.id];
        log_poll(source, &done);
        summary.polled += 1;
        match (&done.record.error, &done.record.result[..]) {
            (Some(e), _) => summary.failures.push(e.clone()),
            (None, "not modified") => summary.unchanged += 1,
            (None, _) => summary.fetched += 1,
        }
        let report = done
            .report
            .with_context(|| format!("storing {} failed", source.url))?;
        summary.new_items += report.new_items;
        summary.new_stories += report.new_stories;
        summary.joined += report.joined;
        changed.extend(report.changed_sections);
        if progress {
            eprint!(
                "\rpolled {}/{total} sources, {} new items",
                summary.polled, summary.new_items
            );
        }
    }
    if progress {
        eprintln!();
    }
    tracing::info!(
        took_ms = started.elapsed().as_millis() as u64,
        writer_busy_ms = engine.metrics.writer_busy_micros.load(Ordering::Relaxed) / 1000,
        "polled and stored"
    );
    engine.writer.prune(config.storage.retention_days).await;
    // Like the daemon, render only the sections whose stories changed; static files need every document.
    let only = match out {
        Some(_) => None,
        None => Some(changed.into_iter().collect::<Vec<_>>()),
    };
    if only.as_ref().is_none_or(|o| !o.is_empty()) {
        engine.publisher.render(config.clone(), only).await?;
        tracing::info!(took_ms = started.elapsed().as_millis() as u64, "rendered");
    }
    if let Some(dir) = out {
        publish::write_static(&cache, dir)?;
    }
    Ok(summary)
}

/// Runs the daemon until SIGTERM or Ctrl-C: schedule, poll, publish, serve. SIGHUP reloads the config file.
pub async fn run(config_path: &Path) -> anyhow::Result<()> {
    let config = config::load(config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {} (server.listen)", config.server.listen))?;
    run_with_listener(
        config_path.to_path_buf(),
        config,
        listener,
        shutdown_signal(),
    )
    .await
}

/// The daemon on an already-bound listener, stopping when `shutdown` resolves. Tests call this directly.
pub async fn run_with_listener(
    config_path: PathBuf,
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let cache = FeedCache::default();
    let metrics = Arc::new(Metrics::new());
    let (mut engine, sources) =
        Engine::start(config.clone(), cache.clone(), metrics.clone()).await?;
    engine.publisher.render(config.clone(), None).await?;

    let addr = listener.local_addr()?;
    let app = serve::router(AppState {
        cache: cache.clone(),
        metrics: metrics.clone(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
    });
    tracing::info!(%addr, sources = config.sources.len(), sections = config.sections.len(), "wiredesk is running");
    for s in &config.sections {
        tracing::info!(
            "section {}: {}/feeds/{}.rss",
            s.title,
            config.server.base_url,
            s.id
        );
    }

    let shutdown = tokio::spawn(shutdown);
    tokio::pin!(shutdown);
    let mut hangups = hangup_stream()?;
    let mut state = Scheduler::new(sources);
    let mut tasks: JoinSet<PollDone> = JoinSet::new();
    let mut dispatch =
        Dispatcher::new(config.fetch.global, config.fetch.per_host, PARSED_IN_MEMORY);
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    let mut render_tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut prune_tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        for source in state.take_due(Utc::now().timestamp()) {
            dispatch.push(source);
        }
        while let Some(source) = dispatch.next_to_start() {
            engine.spawn_poll(&mut tasks, source);
        }
        let sleep = tokio::time::sleep(state.wait_time());
        tokio::select! {
            _ = &mut shutdown => break,
            _ = hangups.recv() => {
                match reload(&config_path, &engine).await {
                    Ok((new_config, sources)) => {
                        engine.schedules = schedules_by_url(&new_config);
                        engine.config = new_config.clone();
                        engine.fetcher = Arc::new(Fetcher::new(&new_config.fetch)?);
                        dispatch.set_limits(
                            new_config.fetch.global,
                            new_config.fetch.per_host,
                            PARSED_IN_MEMORY,
                        );
                        metrics.sources.store(new_config.sources.len() as i64, Ordering::Relaxed);
                        state.replace_sources(sources);
                        engine.publisher.render(new_config, None).await?;
                        tracing::info!("reloaded {}", config_path.display());
                    }
                    Err(e) => tracing::error!("reload refused, the old config keeps running:\n{e:#}"),
                }
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                let done = done.context("a poll task panicked")?;
                dispatch.finished(done.id);
                if let Some(source) = state.in_flight.remove(&done.id) {
                    log_poll(&source, &done);
                }
                match done.report {
                    Ok(report) => dirty.extend(report.changed_sections),
                    Err(e) => tracing::error!("{e:#}"),
                }
                if let Some(updated) = done.updated {
                    state.schedule(updated);
                }
            }
            _ = render_tick.tick() => {
                if !dirty.is_empty() {
                    let only: Vec<String> = std::mem::take(&mut dirty).into_iter().collect();
                    if let Err(e) = engine.publisher.render(engine.config.clone(), Some(only)).await {
                        tracing::error!("rendering failed: {e:#}");
                    }
                }
            }
            _ = prune_tick.tick() => engine.writer.prune(engine.config.storage.retention_days).await,
            _ = sleep => {}
        }
    }
    tracing::info!(in_flight = tasks.len(), "stopping");
    // In-flight polls get a moment to land; anything cut off is simply polled again next start.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    let _ = stop_tx.send(true);
    server.await??;
    Ok(())
}

async fn reload(path: &Path, engine: &Engine) -> anyhow::Result<(Arc<Config>, Vec<SourceRow>)> {
    let new = config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    if new.server.listen != engine.config.server.listen
        || new.storage.path != engine.config.storage.path
    {
        tracing::warn!("server.listen and storage.path take effect after a restart");
    }
    let new = Arc::new(new);
    let sources = engine.writer.sync(new.clone()).await?;
    Ok((new, sources))
}

/// Which sources are due when: an in-memory heap over the due times stored in SQLite.
struct Scheduler {
    sources: HashMap<i64, SourceRow>,
    heap: BinaryHeap<Reverse<(i64, i64)>>,
    in_flight: HashMap<i64, SourceRow>,
}

impl Scheduler {
    fn new(sources: Vec<SourceRow>) -> Self {
        let mut s = Scheduler {
            sources: HashMap::new(),
            heap: BinaryHeap::new(),
            in_flight: HashMap::new(),
        };
        s.replace_sources(sources);
        s
    }

    fn replace_sources(&mut self, sources: Vec<SourceRow>) {
        self.sources.clear();
        self.heap.clear();
        for source in sources {
            if !self.in_flight.contains_key(&source.id) {
                self.schedule(source);
            }
        }
    }

    fn schedule(&mut self, mut source: SourceRow) {
        if !source.active || source.gone {
            return;
        }
        // A source never polled is due now; stored due times survive restarts.
        let due = *source.next_due.get_or_insert(Utc::now().timestamp());
        if source.due_reason.is_none() {
            source.due_reason = Some(DueReason::New.as_str().into());
        }
        self.heap.push(Reverse((due, source.id)));
        self.sources.insert(source.id, source);
    }

    fn take_due(&mut self, now: i64) -> Vec<SourceRow> {
        let mut due = Vec::new();
        while let Some(Reverse((t, id))) = self.heap.peek().copied() {
            if t > now {
                break;
            }
            self.heap.pop();
            // Stale heap entries (rescheduled or removed sources) are skipped.
            match self.sources.get(&id) {
                Some(s) if s.next_due == Some(t) => {
                    let s = self.sources.remove(&id).expect("present");
                    self.in_flight.insert(id, s.clone());
                    due.push(s);
                }
                _ => {}
            }
        }
        due
    }

    fn wait_time(&self) -> std::time::Duration {
        let now = Utc::now().timestamp();
        self.heap
            .peek()
            .map(|Reverse((t, _))| std::time::Duration::from_secs((t - now).clamp(0, 60) as u64))
            .unwrap_or(std::time::Duration::from_secs(60))
            .max(std::time::Duration::from_millis(200))
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn hangup_stream() -> anyhow::Result<tokio::signal::unix::Signal> {
    Ok(tokio::signal::unix::signal(
        tokio::signal::unix::SignalKind::hangup(),
    )?)
}

/// A source's next poll time and its reason, as `wiredesk sources` shows it.
pub fn describe_due(source: &SourceRow) -> String {
    match (source.next_due, &source.due_reason) {
        (_, _) if source.gone => "never (410 Gone)".into(),
        (Some(t), Some(r)) => format!(
            "{} ({r})",
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.to_rfc3339())
                .unwrap_or_default()
        ),
        (Some(t), None) => chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default(),
        (None, _) => "now (never polled)".into(),
    }
}
