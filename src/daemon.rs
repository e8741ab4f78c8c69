//! Wiring: the scheduler loop that starts refreshes, the publisher, the HTTP server and signals (SIGHUP
//! reloads `feeds.toml`; SIGTERM and Ctrl-C stop), and `poll --once`. The stages and the failure policy
//! live in their modules; this file only connects them.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use tokio::task::JoinSet;

use crate::config::{self, Config};
use crate::pipeline::{Health, Pipeline, PollStatus, Refreshed, Settings};
use crate::publish::{self, FeedCache, Publisher};
use crate::schedule::dispatch::Dispatcher;
use crate::schedule::queue::DueQueue;
use crate::serve::{self, AppState, Metrics};
use crate::store::SourceRow;

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

/// Refreshes run as tasks; each returns the source's new state.
type Refreshes = JoinSet<Refreshed>;

fn spawn_refresh(tasks: &mut Refreshes, pipeline: &Arc<Pipeline>, source: SourceRow) {
    let pipeline = pipeline.clone();
    tasks.spawn(async move { pipeline.refresh(source).await });
}

/// Polls every active source once, stores everything, renders the sections that changed, and returns the
/// counts. `out` also writes every rendered document there as static files.
pub async fn poll_once(config: Config, out: Option<&Path>) -> anyhow::Result<PollSummary> {
    let started = std::time::Instant::now();
    let metrics = Arc::new(Metrics::new());
    let pipeline = Arc::new(Pipeline::start(
        config,
        metrics.clone(),
        Arc::new(Health::default()),
        true,
    )?);
    let config = pipeline.config();
    let sources = pipeline.sync_sources(&config).await?;
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
    for s in sources.into_iter().filter(|s| s.active && !s.gone) {
        dispatch.push(s);
    }
    let mut tasks = Refreshes::new();
    let mut summary = PollSummary::default();
    let mut changed: BTreeSet<String> = BTreeSet::new();
    loop {
        while let Some(source) = dispatch.next_to_start() {
            spawn_refresh(&mut tasks, &pipeline, source);
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        // A refresh catches its own panics; a task can only fail to join if the runtime is shutting down.
        let done = done.context("a refresh task was cancelled")?;
        dispatch.finished(done.source.id);
        summary.add(&done);
        changed.extend(done.changed_sections);
    }
    tracing::info!(
        took_ms = started.elapsed().as_millis() as u64,
        "polled and stored"
    );
    pipeline.prune().await;
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
    let listener = bind(config.server.listen).await?;
    run_with_listener(
        config_path.to_path_buf(),
        config,
        listener,
        shutdown_signal(),
    )
    .await
}

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (server.listen)"))
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

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await??;
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
    let pipeline = Arc::new(Pipeline::start(
        config,
        metrics.clone(),
        health.clone(),
        false,
    )?);
    let config = pipeline.config();
    metrics.set_sources(config.sources.len());
    let sources = pipeline.sync_sources(&config).await?;
    let cache = FeedCache::default();
    let publisher = Publisher::new(cache.clone(), &config.storage.path, metrics.clone());
    publisher.render(config.clone(), None).await?;

    let state = AppState {
        cache,
        metrics,
        health: health.clone(),
    };
    let mut server = Server::start(listener, state.clone(), &config)?;
    tracing::info!(addr = %server.addr, sources = config.sources.len(), sections = config.sections.len(), "wiredesk is running");
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
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut queue = DueQueue::new(sources, Utc::now().timestamp());
    let mut tasks = Refreshes::new();
    let mut dispatch = Dispatcher::new(
        config.fetch.global,
        config.fetch.per_host,
        crate::pipeline::PARSED_IN_MEMORY,
    );
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    let mut render_tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut prune_tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        let now = Utc::now().timestamp();
        for source in queue.take_due(now) {
            dispatch.push(source);
        }
        while let Some(source) = dispatch.next_to_start() {
            spawn_refresh(&mut tasks, &pipeline, source);
        }
        health.scheduler_turned();
        let sleep = tokio::time::sleep(queue.wait_time(now));
        tokio::select! {
            _ = &mut shutdown => break,
            _ = hangups.recv() => {
                match reload(&config_path, &pipeline, &mut server, &state).await {
                    Ok(sources) => {
                        let config = pipeline.config();
                        dispatch.set_limits(
                            config.fetch.global,
                            config.fetch.per_host,
                            crate::pipeline::PARSED_IN_MEMORY,
                        );
                        queue.replace_sources(sources, Utc::now().timestamp());
                        if let Err(e) = publisher.render(config, None).await {
                            tracing::error!("rendering after the reload failed: {e:#}");
                        }
                        tracing::info!("reloaded {}", config_path.display());
                    }
                    Err(e) => tracing::error!("reload refused, the old config keeps running:\n{e:#}"),
                }
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                match done {
                    Ok(done) => {
                        dispatch.finished(done.source.id);
                        dirty.extend(done.changed_sections);
                        queue.reschedule(done.source, Utc::now().timestamp());
                    }
                    // A refresh catches its own panics, so only a cancelled task gets here.
                    Err(e) => tracing::error!("a refresh task ended abnormally: {e}"),
                }
            }
            _ = render_tick.tick() => {
                if !dirty.is_empty() {
                    let only: Vec<String> = std::mem::take(&mut dirty).into_iter().collect();
                    if let Err(e) = publisher.render(pipeline.config(), Some(only)).await {
                        tracing::error!("rendering failed: {e:#}");
                    }
                }
            }
            _ = prune_tick.tick() => pipeline.prune().await,
            _ = sleep => {}
        }
    }
    tracing::info!(in_flight = tasks.len(), "stopping");
    pipeline.stop_waiting_for_the_store();
    // In-flight polls get a moment to land; anything cut off is simply polled again next start.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    server.stop().await
}

/// Reloads the config file, all or nothing: the new configuration, its HTTP client and, when the listen
/// address changed, the new listener are all built before anything is swapped; any failure keeps the old
/// configuration running. Returns the synced sources.
async fn reload(
    path: &Path,
    pipeline: &Arc<Pipeline>,
    server: &mut Server,
    state: &AppState,
) -> anyhow::Result<Vec<SourceRow>> {
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
        Some(bind(new.server.listen).await?)
    } else {
        None
    };
    let sources = pipeline.sync_sources(&new).await?;
    pipeline.apply(settings).await;
    if let Some(listener) = listener {
        let moved = Server::start(listener, state.clone(), &new)?;
        let old = std::mem::replace(server, moved);
        tracing::info!(from = %old.addr, to = %server.addr, "the HTTP server moved");
        // The old server finishes its requests in the background; the loop must not wait on its clients.
        tokio::spawn(async move {
            if let Err(e) = old.stop().await {
                tracing::warn!("the old HTTP server stopped with an error: {e:#}");
            }
        });
    }
    Ok(sources)
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!("cannot watch for SIGTERM ({e}); stop with Ctrl-C");
            let _ = ctrl_c.await;
        }
    }
}
