//! Wiring: the scheduler loop that starts refreshes, the publisher, the HTTP server and signals (SIGHUP
//! reloads `feeds.toml`; SIGTERM and Ctrl-C stop), and `poll --once`. The stages and the failure policy
//! live in their modules; this file only connects them.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::task::JoinSet;

use crate::config::{self, Config};
use crate::pipeline::{Health, Pipeline, PollStatus, Refreshed, Settings};
use crate::publish::{self, FeedCache, Publisher};
use crate::schedule::dispatch::Dispatcher;
use crate::schedule::queue::DueQueue;
use crate::serve::{self, AppState, Metrics, Scope};
use crate::store::{ScheduleEntry, SourceReader, SourceRow, SourceState, Store, StoreStats};

/// The outcome counts of `poll --once`.
#[derive(Debug, Default, Clone)]
pub struct PollSummary {
    /// Sources polled.
    pub polled: usize,
    /// Polls with a new body.
    pub fetched: usize,
    /// Polls answered 304 or unchanged.
    pub unchanged: usize,
    /// Failed polls: (source name, what happened).
    pub failures: Vec<(String, String)>,
    /// New items stored.
    pub new_items: usize,
    /// New stories.
    pub new_stories: usize,
    /// Items that joined an existing story.
    pub joined: usize,
}

impl PollSummary {
    /// The daemon's summary line: what the polls since the last one came to.
    fn log_line(&self) -> String {
        format!(
            "{} polls: {} fetched, {} unchanged, {} failed; {} new items, {} merged into existing stories",
            self.polled,
            self.fetched,
            self.unchanged,
            self.failures.len(),
            self.new_items,
            self.joined
        )
    }

    fn add(&mut self, done: &Refreshed) {
        self.polled += 1;
        match done.status {
            PollStatus::Fetched { .. } => self.fetched += 1,
            PollStatus::Unchanged => self.unchanged += 1,
            PollStatus::Failed(_) | PollStatus::Gone => {}
        }
        if let Some(f) = &done.failure {
            self.failures.push((
                done.source.name.clone(),
                done.source
                    .last_error
                    .clone()
                    .unwrap_or_else(|| f.message.clone()),
            ));
        }
        self.new_items += done.counts.new_items;
        self.new_stories += done.counts.new_stories;
        self.joined += done.counts.joined;
    }
}

/// How often the store's gauges in `/metrics` are sampled.
const SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// How often the daemon logs its summary line.
const SUMMARY_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// How often, at most, the daemon renders `/status` again while polls finish.
const STATUS_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// Refreshes run as tasks; each returns the source's new state.
type Refreshes = JoinSet<Refreshed>;

fn spawn_refresh(tasks: &mut Refreshes, pipeline: &Arc<Pipeline>, source: SourceRow) {
    let pipeline = pipeline.clone();
    tasks.spawn(async move { pipeline.refresh(source).await });
}

/// Why a due source's poll did not start.
enum NotStarted {
    /// No source has its id any more.
    Gone,
    /// Its row could not be read.
    Unreadable(anyhow::Error),
}

/// Starts a poll of every source the dispatcher lets start now, reading each one's row from `rows` in one
/// snapshot (the scheduler holds only [`ScheduleEntry`]s). A source whose poll cannot start is handed to `not_started`,
/// already finished in the dispatcher.
fn start_polls(
    dispatch: &mut Dispatcher,
    tasks: &mut Refreshes,
    pipeline: &Arc<Pipeline>,
    rows: &mut SourceReader,
    mut not_started: impl FnMut(ScheduleEntry, NotStarted),
) {
    while let Some(entry) = dispatch.next_to_start() {
        match rows.read(entry.id) {
            Ok(Some(mut row)) => {
                // The due time and reason the scheduler went by: a never-polled source's are only there.
                row.next_due = entry.next_due;
                row.due_reason = entry.due_reason;
                spawn_refresh(tasks, pipeline, row);
            }
            Ok(None) => {
                dispatch.finished(entry.id);
                not_started(entry, NotStarted::Gone);
            }
            Err(e) => {
                dispatch.finished(entry.id);
                not_started(entry, NotStarted::Unreadable(e));
            }
        }
    }
    rows.end_turn();
}

/// How long a source whose row could not be read waits before its poll is tried again.
const UNREADABLE_RETRY_SECS: i64 = 60;

/// Polls every active source once, stores everything, renders the sections that changed, and returns the
/// counts. `out` also writes every rendered document there as static files.
pub async fn poll_once(config: Config, out: Option<&Path>) -> anyhow::Result<PollSummary> {
    poll_once_with_progress(config, out, &mut |_, _| {}).await
}

/// [`poll_once`], telling `progress` the counts so far and the number of sources to poll: once before
/// the first poll ends, then after each.
pub async fn poll_once_with_progress(
    config: Config,
    out: Option<&Path>,
    progress: &mut dyn FnMut(&PollSummary, usize),
) -> anyhow::Result<PollSummary> {
    let started = std::time::Instant::now();
    let metrics = Arc::new(Metrics::new());
    let config = Arc::new(config);
    let pipeline = Arc::new(Pipeline::start(
        &config,
        metrics.clone(),
        Arc::new(Health::default()),
        true,
    )?);
    let sources = pipeline.sync_sources(&config).await?;
    // From here on the database holds the sources; the settings' copy of the config has no list.
    drop(config);
    let config = pipeline.config();
    tracing::info!(
        sources = sources.len(),
        took_ms = started.elapsed().as_millis() as u64,
        "opened and synced"
    );
    let mut dispatch = Dispatcher::new(
        config.fetch.global,
        config.fetch.per_host,
        crate::pipeline::PARSED_IN_MEMORY,
    );
    let mut total = 0;
    for s in sources.into_iter().filter(ScheduleEntry::polled) {
        dispatch.push(s);
        total += 1;
    }
    let mut rows = SourceReader::open(&config.storage.path)?;
    let mut tasks = Refreshes::new();
    let mut summary = PollSummary::default();
    progress(&summary, total);
    let mut changed: BTreeSet<String> = BTreeSet::new();
    loop {
        start_polls(
            &mut dispatch,
            &mut tasks,
            &pipeline,
            &mut rows,
            |entry, why| {
                let why = match why {
                    NotStarted::Gone => "it was removed from the database while due".to_string(),
                    NotStarted::Unreadable(e) => format!("its row could not be read: {e:#}"),
                };
                tracing::error!(source = %entry.poll_url, "not polled: {why}");
                summary.failures.push((entry.poll_url.to_string(), why));
            },
        );
        let Some(done) = tasks.join_next().await else {
            break;
        };
        // A refresh catches its own panics; a task can only fail to join if the runtime is shutting down.
        let done = done.context("a refresh task was cancelled")?;
        dispatch.finished(done.source.id);
        summary.add(&done);
        progress(&summary, total);
        changed.extend(done.changed_sections);
    }
    // Rules changed since the last run route the stored stories again first (the writer did it between polls).
    changed.extend(pipeline.routed().await);
    tracing::info!(
        took_ms = started.elapsed().as_millis() as u64,
        "polled and stored"
    );
    pipeline.prune().await;
    // The writer goes first: it has stored everything, and what it holds (the similarity window above all)
    // would otherwise sit beside the renderer's memory.
    pipeline.close(WRITER_CLOSE).await;
    // Like the daemon, render only the sections whose stories changed; static files need every document.
    let cache = FeedCache::default();
    let publisher = Publisher::new(cache.clone(), &config.storage.path, metrics);
    let only = match out {
        Some(_) => None,
        None => Some(changed.into_iter().collect::<Vec<_>>()),
    };
    if only.as_ref().is_none_or(|o| !o.is_empty()) {
        publisher.render(config.clone(), only).await?;
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
    let listener = bind(config.server.listen, "server.listen").await?;
    let mut signals = StopSignals::new()?;
    let shutdown = async move {
        let first = signals.recv().await;
        tracing::info!("{first}: stopping (send it again to exit at once)");
        // A second signal ends the process at once; SQLite rolls back whatever was being written.
        tokio::spawn(async move {
            let second = signals.recv().await;
            tracing::warn!("{second} again: exiting at once");
            std::process::exit(1);
        });
    };
    run_with_listener(config_path.to_path_buf(), config, listener, shutdown).await
}

/// Binds `addr`, naming the config key it came from (`server.listen`) when that fails.
async fn bind(addr: SocketAddr, key: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({key})"))
}

/// The HTTP server, which a reload may move to another address.
struct Server {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    fn start(
        listener: tokio::net::TcpListener,
        state: AppState,
        config: &Config,
    ) -> anyhow::Result<Server> {
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let limits = serve::Limits::new(
            config.server.max_connections,
            std::time::Duration::from_secs(config.server.header_timeout_secs),
            config.fetch.global,
        );
        let task = tokio::spawn(serve::serve(listener, state, limits, async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        Ok(Server { addr, stop, task })
    }

    /// Stops in the background: a reload that moves a server must not wait on the old one's clients.
    fn stop_in_background(self, deadline: Duration) {
        tokio::spawn(async move {
            if let Err(e) = self.stop(deadline).await {
                tracing::warn!("an old HTTP server stopped with an error: {e:#}");
            }
        });
    }

    /// Stops accepting, lets requests in progress finish for at most `deadline`, then drops the server and
    /// with it every connection still open (a slow or half-open client cannot hold the daemon up).
    async fn stop(self, deadline: Duration) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        let mut task = self.task;
        match tokio::time::timeout(deadline, &mut task).await {
            Ok(joined) => joined??,
            Err(_) => {
                task.abort();
                tracing::warn!(
                    "HTTP clients still connected after {} s (shutdown.http_deadline_secs); their connections are closed",
                    deadline.as_secs()
                );
            }
        }
        Ok(())
    }
}

/// The daemon on an already-bound listener, stopping when `shutdown` resolves. Tests call this directly.
pub async fn run_with_listener(
    config_path: PathBuf,
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let config = Arc::new(config);
    let pipeline = Arc::new(Pipeline::start(
        &config,
        metrics.clone(),
        health.clone(),
        false,
    )?);
    crate::cli::log::apply_config_level(&config.log.level);
    metrics.set_sources(config.source_count());
    let sources = pipeline.sync_sources(&config).await?;
    // From here on the database holds the sources; the settings' copy of the config has no list.
    drop(config);
    let config = pipeline.config();
    let cache = FeedCache::default();
    let publisher = Publisher::new(cache.clone(), &config.storage.path, metrics.clone());
    publisher.render(config.clone(), None).await?;
    metrics.published(
        config.sections.iter().map(|s| s.id.as_str()),
        Utc::now().timestamp(),
    );
    let sampler = Sampler::open(&config.storage.path, metrics.clone())?;
    let mut stats = sampler.sample(pipeline.hosts().paused()).await;
    publisher.render_status(config.clone()).await?;

    let state = AppState {
        cache,
        metrics,
        health: health.clone(),
        scope: Scope::Main,
        status_elsewhere: Arc::new(AtomicBool::new(config.server.status_listen.is_some())),
    };
    // Both addresses listen before either answers, so a client that saw /healthz on one finds the other.
    let operators_listener = match config.server.status_listen {
        Some(addr) => Some(bind(addr, "server.status_listen").await?),
        None => None,
    };
    let mut server = Server::start(listener, state.clone(), &config)?;
    let mut operators = operators_listener
        .map(|l| Server::start(l, state.for_operators(), &config))
        .transpose()?;
    tracing::info!(addr = %server.addr, sources = config.source_count(), sections = config.sections.len(), "wiredesk is running");
    if let Some(o) = &operators {
        tracing::info!(addr = %o.addr, "/status, /healthz and /metrics are served on their own address");
    }
    for s in &config.sections {
        tracing::info!(
            "section {}: {}/feeds/{}.rss",
            s.title,
            config.server.base_url,
            s.id
        );
    }
    let mut status = status_line(stats.as_ref(), &config, 0);
    crate::notify::ready(&status);
    let watchdog = crate::notify::start_watchdog(health.clone());

    let shutdown = tokio::spawn(shutdown);
    tokio::pin!(shutdown);
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut queue = DueQueue::new(sources, Utc::now().timestamp());
    let mut rows = SourceReader::open(&config.storage.path)?;
    let mut tasks = Refreshes::new();
    let mut dispatch = Dispatcher::new(
        config.fetch.global,
        config.fetch.per_host,
        crate::pipeline::PARSED_IN_MEMORY,
    );
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    let mut render_tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut prune_tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    let mut sample_tick = tokio::time::interval(SAMPLE_EVERY);
    let mut other_writers = pipeline.other_writers();
    let mut rerouted = pipeline.rerouted();
    // One info line a minute sums up the polls; each source's state changes are logged as they happen.
    let mut minute = PollSummary::default();
    let mut summary_tick =
        tokio::time::interval_at(tokio::time::Instant::now() + SUMMARY_EVERY, SUMMARY_EVERY);
    // The status page changes with every poll; rendering it at most this often bounds its cost with
    // 100,000 sources, and an idle daemon renders nothing.
    let mut status_tick = tokio::time::interval(STATUS_EVERY);
    status_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polled_since_status = false;
    loop {
        let now = Utc::now().timestamp();
        for source in queue.take_due(now) {
            dispatch.push(source);
        }
        start_polls(
            &mut dispatch,
            &mut tasks,
            &pipeline,
            &mut rows,
            |entry, why| match why {
                NotStarted::Gone => {
                    tracing::warn!(source = %entry.poll_url, "no longer in the database; not polled");
                    queue.forget(entry.id);
                }
                NotStarted::Unreadable(e) => {
                    tracing::error!(
                        source = %entry.poll_url,
                        "its row could not be read; trying again in {UNREADABLE_RETRY_SECS} s: {e:#}"
                    );
                    queue.retry_at(entry, now + UNREADABLE_RETRY_SECS, now);
                }
            },
        );
        health.scheduler_turned();
        let sleep = tokio::time::sleep(queue.wait_time(now));
        tokio::select! {
            _ = &mut shutdown => break,
            _ = hangups.recv() => {
                crate::notify::reloading();
                let reloaded = reload(&config_path, &pipeline, &mut server, &mut operators, &state).await;
                crate::notify::reloaded();
                match reloaded {
                    Ok(sources) => {
                        let config = pipeline.config();
                        dispatch.set_limits(
                            config.fetch.global,
                            config.fetch.per_host,
                            crate::pipeline::PARSED_IN_MEMORY,
                        );
                        queue.replace_sources(sources, Utc::now().timestamp());
                        crate::cli::log::apply_config_level(&config.log.level);
                        render(&publisher, &state.metrics, config, None).await;
                        polled_since_status = true;
                        tracing::info!("reloaded {}", config_path.display());
                    }
                    Err(e) => tracing::error!("reload refused, the old config keeps running:\n{e:#}"),
                }
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                match done {
                    Ok(done) => {
                        dispatch.finished(done.source.id);
                                        minute.add(&done);
                        dirty.extend(done.changed_sections);
                        queue.reschedule(&done.source, Utc::now().timestamp());
                        polled_since_status = true;
                    }
                    // A refresh catches its own panics, so only a cancelled task gets here.
                    Err(e) => tracing::error!("a refresh task ended abnormally: {e}"),
                }
            }
            _ = render_tick.tick() => {
                if !dirty.is_empty() {
                    let only: Vec<String> = std::mem::take(&mut dirty).into_iter().collect();
                    render(&publisher, &state.metrics, pipeline.config(), Some(only)).await;
                }
            }
            _ = status_tick.tick(), if polled_since_status => {
                polled_since_status = false;
                if let Err(e) = publisher.render_status(pipeline.config()).await {
                    tracing::error!("rendering the status page failed: {e:#}");
                }
            }
            _ = prune_tick.tick() => pipeline.prune().await,
            Ok(()) = other_writers.changed() => {
                tracing::info!("another process changed the database; publishing every section again");
                render(&publisher, &state.metrics, pipeline.config(), None).await;
            }
            Ok(()) = rerouted.changed() => {
                render(&publisher, &state.metrics, pipeline.config(), None).await;
            }
            _ = sample_tick.tick() => {
                stats = sampler.sample(pipeline.hosts().paused()).await.or(stats);
                let line = status_line(stats.as_ref(), &pipeline.config(), tasks.len());
                if line != status {
                    crate::notify::status(&line);
                    status = line;
                }
            }
            _ = summary_tick.tick() => {
                if minute.polled > 0 {
                    tracing::info!("last minute: {}", std::mem::take(&mut minute).log_line());
                }
            }
            _ = sleep => {}
        }
    }
    let deadlines = pipeline.config().shutdown.clone();
    let (polls, http) = (
        Duration::from_secs(deadlines.poll_deadline_secs),
        Duration::from_secs(deadlines.http_deadline_secs),
    );
    tracing::info!(
        in_flight = tasks.len(),
        "stopping: no new polls; polls in flight get {} s, HTTP clients {} s",
        polls.as_secs(),
        http.as_secs()
    );
    crate::notify::stopping(&format!("stopping: {} polls in flight", tasks.len()));
    if let Some(w) = watchdog {
        w.abort();
    }
    pipeline.stop_waiting_for_the_store();
    // Polls and HTTP clients wind down together, each within its own deadline.
    let operators_stopped = async {
        match operators {
            Some(o) => o.stop(http).await,
            None => Ok(()),
        }
    };
    let (server_stopped, operators_stopped, ()) = tokio::join!(
        server.stop(http),
        operators_stopped,
        finish_polls(&mut tasks, polls)
    );
    operators_stopped?;
    // The writer stores what the finished polls handed it, checkpoints the log and stops.
    pipeline.close(WRITER_CLOSE).await;
    server_stopped
}

/// How long the writer gets, after the polls' deadline, to commit what it holds and checkpoint the log.
const WRITER_CLOSE: Duration = Duration::from_secs(5);

/// Lets in-flight polls finish for at most `deadline`, then cuts the rest off: their fetches are dropped and
/// nothing of theirs is stored, so those sources are simply polled again at the next start.
async fn finish_polls(tasks: &mut Refreshes, deadline: Duration) {
    let finished = tokio::time::timeout(deadline, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            cut_off = tasks.len(),
            "polls still running after {} s (shutdown.poll_deadline_secs) are cut off",
            deadline.as_secs()
        );
        tasks.shutdown().await;
    }
}

/// The one-line status systemd shows: sources by state and polls in flight.
fn status_line(stats: Option<&StoreStats>, config: &Config, polling: usize) -> String {
    let Some(stats) = stats else {
        return format!("{} sources; {polling} polling", config.source_count());
    };
    let n = |states: &[SourceState]| -> i64 {
        states
            .iter()
            .map(|s| stats.sources.get(s).copied().unwrap_or(0))
            .sum()
    };
    format!(
        "{} sources: {} ok, {} new, {} failing, {} paused, {} gone; {polling} polling",
        config.source_count(),
        n(&[SourceState::Ok]),
        n(&[SourceState::New]),
        n(&[SourceState::Backoff, SourceState::Quarantined]),
        n(&[SourceState::Paused]),
        n(&[SourceState::Gone]),
    )
}

/// Renders `only` these sections (all when None) and records the publish in `/metrics`; a failure is
/// logged, and the sections are rendered again at their next change.
async fn render(
    publisher: &Publisher,
    metrics: &Metrics,
    config: Arc<Config>,
    only: Option<Vec<String>>,
) {
    let sections: Vec<String> = match &only {
        Some(o) => o.clone(),
        None => config.sections.iter().map(|s| s.id.clone()).collect(),
    };
    match publisher.render(config, only).await {
        Ok(()) => metrics.published(sections.iter().map(String::as_str), Utc::now().timestamp()),
        Err(e) => tracing::error!("rendering {} failed: {e:#}", sections.join(", ")),
    }
}

/// Samples the store's gauges for `/metrics` on a read connection of its own.
struct Sampler {
    db: PathBuf,
    store: Arc<std::sync::Mutex<Store>>,
    metrics: Arc<Metrics>,
}

impl Sampler {
    fn open(db: &Path, metrics: Arc<Metrics>) -> anyhow::Result<Sampler> {
        Ok(Sampler {
            db: db.to_path_buf(),
            store: Arc::new(std::sync::Mutex::new(Store::open_read_only(db)?)),
            metrics,
        })
    }

    /// Takes one sample and returns it; a failure is logged and the gauges keep their last values.
    async fn sample(&self, hosts_paused: usize) -> Option<StoreStats> {
        let (db, store, metrics) = (self.db.clone(), self.store.clone(), self.metrics.clone());
        let sampled = tokio::task::spawn_blocking(move || {
            let stats = store.lock().expect("sampler lock").stats()?;
            metrics.sample(&stats, &db, hosts_paused);
            anyhow::Ok(stats)
        })
        .await;
        match sampled {
            Ok(Ok(stats)) => Some(stats),
            Ok(Err(e)) => {
                tracing::warn!("sampling the store for /metrics failed: {e:#}");
                None
            }
            Err(e) => {
                tracing::warn!("sampling the store for /metrics failed: {e}");
                None
            }
        }
    }
}

/// Reloads the config file, all or nothing: the new configuration, its HTTP client and, when a listen
/// address changed, the new listeners are all built before anything is swapped; any failure keeps the old
/// configuration running. Returns the synced sources.
async fn reload(
    path: &Path,
    pipeline: &Arc<Pipeline>,
    server: &mut Server,
    operators: &mut Option<Server>,
    state: &AppState,
) -> anyhow::Result<Vec<ScheduleEntry>> {
    let new = Arc::new(config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?);
    let old = pipeline.config();
    let settings = Settings::build(new.clone(), pipeline.hosts())?;
    if new.storage.path != old.storage.path {
        anyhow::bail!(
            "storage.path changed from {} to {}; that takes a restart",
            old.storage.path.display(),
            new.storage.path.display()
        );
    }
    let listener = if new.server.listen != server.addr {
        Some(bind(new.server.listen, "server.listen").await?)
    } else {
        None
    };
    let operators_moved = new.server.status_listen != operators.as_ref().map(|o| o.addr);
    let operators_listener = match new.server.status_listen {
        Some(addr) if operators_moved => Some(bind(addr, "server.status_listen").await?),
        _ => None,
    };
    let sources = pipeline.sync_sources(&new).await?;
    pipeline.apply(settings).await;
    let http_deadline = Duration::from_secs(new.shutdown.http_deadline_secs);
    if let Some(listener) = listener {
        let moved = Server::start(listener, state.clone(), &new)?;
        let old = std::mem::replace(server, moved);
        tracing::info!(from = %old.addr, to = %server.addr, "the HTTP server moved");
        old.stop_in_background(http_deadline);
    }
    if operators_moved {
        let moved = match operators_listener {
            Some(l) => Some(Server::start(l, state.for_operators(), &new)?),
            None => None,
        };
        state
            .status_elsewhere
            .store(moved.is_some(), Ordering::Relaxed);
        match &moved {
            Some(m) => {
                tracing::info!(addr = %m.addr, "/status, /healthz and /metrics moved to their own address")
            }
            None => tracing::info!("/status is served on server.listen again"),
        }
        if let Some(old) = std::mem::replace(operators, moved) {
            old.stop_in_background(http_deadline);
        }
    }
    Ok(sources)
}

/// SIGTERM and SIGINT (Ctrl-C), watched from the start so that none is missed between the first and the
/// second.
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> anyhow::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            term: signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot watch for SIGINT")?,
        })
    }

    /// Waits for the next one and names it.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
