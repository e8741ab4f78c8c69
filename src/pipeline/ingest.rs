//! The one ingest path: a batch of polled feeds, placed by dedup and written by the store in one commit.
//!
//! Two threads share the work. This one (the writer) runs the exact layers against the database and writes
//! rows; a dedup thread owns the similarity window, decides, and hands out item and story ids taken from the
//! batch's first free ones, so it can place feed *n+1* while the store writes feed *n*. With similarity off
//! the same path runs; the dedup thread then only hands out ids.
//!
//! Each feed lands all or nothing. A batch first runs without per-feed savepoints (cheap); if a feed fails,
//! the batch is rolled back and run again guarded: one feed at a time, each in a savepoint, its items added
//! to the window only once written, so the failed feed is dropped alone. A failure of the store itself
//! (locked, full, read-only, I/O) fails the whole batch as [`Unavailable`], for the caller to retry.

use std::collections::VecDeque;
use std::sync::mpsc::sync_channel;

use super::LayerCounts;
use crate::dedup::similar::{Features, Staged};
use crate::dedup::{self, Ids, Placement, Placer, SourceRef, Verdict};
use crate::normalize::NormalizedItem;
use crate::route::Router;
use crate::store::{self, Batch, Checkpointer, FeedCounts, FeedRows, SourceRow, Store};

/// Feeds placed by the exact layers and not yet written, at most, while the dedup thread works.
const PIPELINE_DEPTH: usize = 4;

/// One polled feed to store: the source's new polling state and the entries to place, if any.
pub(crate) struct StoreJob {
    /// The source with its state after the poll (validators, due time, errors), saved with its entries.
    pub state: SourceRow,
    /// Normalised entries, when a new body was parsed.
    pub items: Vec<NormalizedItem>,
    /// Similarity features of `items`, index for index, when the poll computed them (else empty).
    pub features: Vec<Features>,
    /// Held while the parsed entries are in memory; released when the job is dropped.
    pub _memory: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The parsed entries' share of the memory budget; released when the job is dropped.
    pub _budget: Option<crate::fetch::budget::Charge>,
}

impl StoreJob {
    fn source(&self) -> SourceRef {
        SourceRef {
            id: self.state.id,
            merge: self.state.merge,
            priority: self.state.priority,
            key: dedup::source_key(&self.state.url),
        }
    }
}

/// The store cannot take writes right now; why, in words.
#[derive(Debug, Clone)]
pub(crate) struct Unavailable(pub String);

/// What storing one feed wrote: its counts, which dedup layer placed its entries, and the sections whose
/// feeds changed.
#[derive(Debug, Default, Clone)]
pub struct Stored {
    /// New, updated, founded, joined.
    pub counts: FeedCounts,
    /// By dedup layer.
    pub layers: LayerCounts,
    /// Every section a story it touched is or was in.
    pub sections: Vec<String>,
}

/// What happened to each feed of a batch that committed.
pub(crate) type BatchReports = Vec<Result<Stored, anyhow::Error>>;

/// The database writer: the store connection, dedup's placer and the checkpoint thread.
pub struct Ingester {
    store: Store,
    placer: Placer,
    checkpointer: Option<Checkpointer>,
    /// The section rules new and edited stories are routed by.
    router: std::sync::Arc<Router>,
    /// Whether the store's page cache was widened for new items (see `store::INGEST_CACHE_MIB`).
    cache_widened: bool,
    /// The database's directory, where the similarity window spills features past its memory budget.
    spill_dir: std::path::PathBuf,
}

impl Ingester {
    /// Opens the database at `path` for ingest with these dedup settings.
    pub fn open(
        path: &std::path::Path,
        dedup: &crate::config::DedupConfig,
    ) -> anyhow::Result<Self> {
        let spill_dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        Ok(Ingester {
            store: Store::open(path)?,
            placer: Placer::new(dedup, &spill_dir),
            spill_dir,
            checkpointer: None,
            router: std::sync::Arc::new(Router::default()),
            cache_widened: false,
        })
    }

    /// Moves most WAL checkpointing of the database at `path` (this store's) to a thread of its own.
    pub(crate) fn checkpoint_in_background(
        &mut self,
        path: &std::path::Path,
    ) -> anyhow::Result<()> {
        self.checkpointer = Some(Checkpointer::start(path)?);
        self.store.checkpoint_in_background()
    }

    /// The store, for maintenance between batches (sync, prune).
    pub(crate) fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// New dedup settings (a reload): the window is rebuilt with them when next needed.
    pub(crate) fn reconfigure(&mut self, dedup: &crate::config::DedupConfig) {
        self.placer = Placer::new(dedup, &self.spill_dir);
    }

    /// Routes stories by these section rules from now on (stored stories are routed again separately).
    pub fn set_router(&mut self, router: std::sync::Arc<Router>) {
        self.router = router;
    }

    /// The section rules in force.
    pub fn router(&self) -> std::sync::Arc<Router> {
        self.router.clone()
    }

    /// Forgets the similarity window, which a caught panic may have left half-updated.
    pub(crate) fn forget_window(&mut self) {
        self.placer.forget_window();
    }

    /// Stores one feed's entries with `source`'s state as it is (tests and tools).
    pub fn ingest_one(
        &mut self,
        source: &SourceRow,
        items: Vec<NormalizedItem>,
        now: i64,
    ) -> anyhow::Result<Stored> {
        let job = StoreJob {
            state: source.clone(),
            items,
            features: Vec::new(),
            _memory: None,
            _budget: None,
        };
        match self.ingest(&[&job], now) {
            Ok(mut reports) => reports.pop().expect("one report per feed"),
            Err(Unavailable(why)) => Err(anyhow::anyhow!("{why}")),
        }
    }

    /// Stores a batch of feeds in one commit. Each feed gets its own result: a feed that fails is dropped
    /// alone. `Err` means the store itself failed and nothing was stored.
    pub(crate) fn ingest(
        &mut self,
        jobs: &[&StoreJob],
        now: i64,
    ) -> Result<BatchReports, Unavailable> {
        if let Some(reports) = self.run(jobs, now, false)? {
            return Ok(reports);
        }
        tracing::warn!(
            feeds = jobs.len(),
            "a feed failed to store; storing its batch again feed by feed"
        );
        Ok(self
            .run(jobs, now, true)?
            .expect("a guarded run keeps every feed's own result"))
    }

    /// One run over the batch. Unguarded, `Ok(None)` means a feed failed and the batch was rolled back.
    fn run(
        &mut self,
        jobs: &[&StoreJob],
        now: i64,
        guarded: bool,
    ) -> Result<Option<BatchReports>, Unavailable> {
        let unavailable = |e: &anyhow::Error| {
            Unavailable(store::unavailable(e).unwrap_or_else(|| format!("{e:#}")))
        };
        if jobs.iter().any(|j| !j.items.is_empty()) {
            if !self.cache_widened {
                self.store
                    .widen_cache_for_new_items()
                    .map_err(|e| unavailable(&e))?;
                self.cache_widened = true;
            }
            // A look-up that fails here fails again in the batch, which tells the feed's fault from the
            // store's; until then the window is loaded as before.
            if self.placer.needs_window() && self.brings_new_items(jobs).unwrap_or(true) {
                self.load_window().map_err(|e| unavailable(&e))?;
            }
        }
        let batch = self.store.begin_batch().map_err(|e| unavailable(&e))?;
        let router = self.router.clone();
        let outcome = batch.first_free_ids().and_then(|ids| {
            place_and_write(&batch, &mut self.placer, &router, ids, jobs, now, guarded)
        });
        let reports = match outcome {
            Ok(reports) => reports,
            Err(e) => {
                drop(batch);
                self.placer.forget_window();
                if let Some(why) = store::unavailable(&e) {
                    return Err(Unavailable(why));
                }
                if guarded {
                    // Not one feed's fault (the dedup thread failed, say), and nothing was stored.
                    return Ok(Some(
                        jobs.iter().map(|_| Err(anyhow::anyhow!("{e:#}"))).collect(),
                    ));
                }
                tracing::debug!(error = %format!("{e:#}"), "a feed failed in a batch");
                return Ok(None);
            }
        };
        if let Err(e) = batch.commit() {
            self.placer.forget_window();
            return Err(unavailable(&e));
        }
        if let Some(c) = &self.checkpointer {
            c.committed();
        }
        Ok(Some(reports))
    }

    /// Truncates the write-ahead log when the checkpoint thread asks for it; it asks again later when a
    /// reader held the log. Only called when the writer is idle: during ingest the log would grow straight
    /// back (see `store::checkpoint`).
    pub(crate) fn truncate_log_if_asked(&self) {
        if self
            .checkpointer
            .as_ref()
            .is_some_and(Checkpointer::truncate_wanted)
            && let Err(e) = self.store.truncate_log_now()
        {
            tracing::warn!("truncating the write-ahead log failed (tried again later): {e:#}");
        }
    }

    /// Settles the similarity window when items were placed since it last settled (see
    /// `dedup::similar::settle`) and writes what moved. Returns the sections whose feeds changed.
    pub(crate) fn settle(
        &mut self,
        now: i64,
    ) -> anyhow::Result<std::collections::BTreeSet<String>> {
        if !self.placer.needs_settle() {
            return Ok(Default::default());
        }
        let started = std::time::Instant::now();
        if self.cache_widened && self.placer.backlog() >= NARROW_CACHE_AFTER {
            // Only memory is at stake: a cache that stays wide costs the settle nothing else.
            match self.store.narrow_cache() {
                Ok(()) => self.cache_widened = false,
                Err(e) => tracing::warn!("the page cache stays at its ingest size: {e:#}"),
            }
        }
        let mut next_story = self.store.next_story_id()?;
        let through_item = self.store.last_item_id()?;
        let settled = self.placer.settle(&mut next_story);
        match self.store.write_settled(
            &settled.moved,
            &settled.founded,
            &self.router,
            through_item,
            now,
        ) {
            Ok(sections) => {
                tracing::info!(
                    decided = settled.decided,
                    moved = settled.moved.len(),
                    took_ms = started.elapsed().as_millis() as u64,
                    "stories settled in canonical order"
                );
                // After a large settle (a first poll of many sources), say what the window holds: it is
                // most of the process's memory then. Measuring walks every posting list, so not each time.
                if settled.decided >= WINDOW_REPORT_AFTER
                    && let Some(m) = self.placer.window_memory()
                {
                    tracing::info!(
                        items = m.items,
                        posting_lists = m.lists,
                        mb = m.total() / (1 << 20),
                        bytes_per_item = m.per_item() as u64,
                        entries_mb = m.entries / (1 << 20),
                        features_mb = m.features / (1 << 20),
                        spilled_mb = m.spilled / (1 << 20),
                        postings_mb = m.postings / (1 << 20),
                        by_time_mb = m.by_time / (1 << 20),
                        stories_mb = m.stories / (1 << 20),
                        "similarity window memory (estimated)"
                    );
                }
                Ok(sections)
            }
            Err(e) => {
                // The window already holds the settled stories; it is loaded again from the store, and the
                // items are settled again, when next needed.
                self.placer.forget_window();
                Err(e)
            }
        }
    }

    /// Whether an entry of the batch is one the exact layers do not know, the only kind that can need the
    /// similarity window. Feeds that come back listing only stored items (a server that changed its
    /// validators, a feed without any) then never load it, which at two million items took half a minute
    /// and a gigabyte. The batch decides the same, as nothing else writes in between.
    fn brings_new_items(&self, jobs: &[&StoreJob]) -> anyhow::Result<bool> {
        for job in jobs.iter().filter(|j| !j.items.is_empty()) {
            let verdicts = dedup::exact::verdicts(self.store.keys(), job.source(), &job.items)?;
            if verdicts.iter().any(dedup::Verdict::is_new) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn load_window(&mut self) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let since = self.placer.window_start(self.store.newest_published()?);
        let items = match since {
            Some(since) => self.store.window_items(since)?,
            None => Vec::new(),
        };
        let store = &self.store;
        self.placer
            .load_window(items, |item_id| store.item_text(item_id))?;
        tracing::info!(
            items = self.placer.window_len(),
            took_ms = started.elapsed().as_millis() as u64,
            "similarity window loaded"
        );
        Ok(())
    }
}

/// Items a settle decides before the window's memory is logged.
const WINDOW_REPORT_AFTER: usize = 100_000;

/// Items in a settle's backlog from which the writer gives its page cache back first: such a settle takes
/// seconds to minutes, writes little, and is when the window is largest. At 2,000,000 items the cache was
/// 64 MiB of the first cycle's peak.
const NARROW_CACHE_AFTER: usize = 100_000;

/// What the writer tells the dedup thread.
enum ToDedup {
    /// Place feed `k` from its exact verdicts.
    Place(usize, Vec<Verdict>),
    /// Guarded runs: whether the feed placed last was written, so its items may join the window.
    Written(bool),
}

/// Places and writes every feed of a batch on two threads. Unguarded, any error fails the whole batch (the
/// caller rolls it back); guarded, a feed's own failure is its result, and only a store failure is an error.
#[allow(clippy::too_many_arguments)] // the batch's parts; bundling them would only rename them
fn place_and_write(
    batch: &Batch,
    placer: &mut Placer,
    router: &Router,
    mut ids: Ids,
    jobs: &[&StoreJob],
    now: i64,
    guarded: bool,
) -> anyhow::Result<BatchReports> {
    if jobs.iter().all(|job| job.items.is_empty()) {
        // Nothing to place: an unchanged cycle's batches start no dedup thread (a thread per batch
        // was a tenth of the writer's CPU in an unchanged 100,000-feed cycle).
        return jobs
            .iter()
            .map(|job| save_without_entries(batch, job, guarded))
            .collect();
    }
    std::thread::scope(|scope| {
        let (to_dedup, from_writer) = sync_channel::<ToDedup>(PIPELINE_DEPTH);
        let (to_writer, placements) = sync_channel::<(usize, Vec<Placement>)>(PIPELINE_DEPTH);
        let dedup = std::thread::Builder::new()
            .name("wiredesk-dedup".into())
            .spawn_scoped(scope, move || {
                let mut unwritten: Vec<Staged> = Vec::new();
                for message in from_writer {
                    match message {
                        ToDedup::Place(k, verdicts) => {
                            let job = jobs[k];
                            let (placed, staged) = placer.place_feed(
                                &mut ids,
                                job.source(),
                                &job.items,
                                &job.features,
                                verdicts,
                            );
                            // Unguarded, the next feed must see this one at once (a repost may be in the
                            // same batch); guarded, only once it is known to be written.
                            if guarded {
                                unwritten = staged;
                            } else {
                                placer.stage(staged);
                            }
                            if to_writer.send((k, placed)).is_err() {
                                break;
                            }
                        }
                        ToDedup::Written(ok) => {
                            let staged = std::mem::take(&mut unwritten);
                            if ok {
                                placer.stage(staged);
                            }
                        }
                    }
                }
            })?;
        let mut reports: Vec<Option<Result<Stored, anyhow::Error>>> =
            jobs.iter().map(|_| None).collect();
        let write = |k: usize| -> anyhow::Result<Result<Stored, anyhow::Error>> {
            let (placed_k, placed) = placements
                .recv()
                .map_err(|_| anyhow::anyhow!("the dedup thread stopped"))?;
            debug_assert_eq!(placed_k, k);
            let job = jobs[k];
            let tx = batch.feed(guarded)?;
            let layers = LayerCounts::of(&placed);
            let written = tx
                .write(&FeedRows {
                    source: &job.state,
                    items: &job.items,
                    placements: &placed,
                    now,
                    router,
                })
                .map(|w| Stored {
                    counts: w.counts,
                    layers,
                    sections: w.sections.into_iter().collect(),
                });
            if !guarded {
                return Ok(Ok(written?));
            }
            let written = written.and_then(|stored| tx.commit().map(|()| stored));
            let _ = to_dedup.send(ToDedup::Written(written.is_ok()));
            match written {
                Err(e) if store::unavailable(&e).is_some() => Err(e),
                other => Ok(other),
            }
        };
        // Feeds sent to dedup and not yet written, oldest first. A few in flight let this thread run the
        // exact layers ahead while dedup works, so that neither waits on every feed for the other.
        let depth = if guarded { 0 } else { PIPELINE_DEPTH };
        let mut in_flight: VecDeque<usize> = VecDeque::new();
        let mut run = || -> anyhow::Result<()> {
            for (k, job) in jobs.iter().enumerate() {
                // The exact layers read the store, so a feed that may match an unwritten one waits for it.
                if let Some(last) = in_flight.iter().rposition(|&j| {
                    dedup::exact::may_depend_on(
                        (job.source(), &job.items),
                        (jobs[j].source(), &jobs[j].items),
                    )
                }) {
                    for j in in_flight.drain(..=last) {
                        reports[j] = Some(write(j)?);
                    }
                }
                if job.items.is_empty() {
                    reports[k] = Some(save_without_entries(batch, job, guarded)?);
                    continue;
                }
                let verdicts = match dedup::exact::verdicts(
                    batch.feed(false)?.keys(),
                    job.source(),
                    &job.items,
                ) {
                    Ok(v) => v,
                    Err(e) if guarded && store::unavailable(&e).is_none() => {
                        reports[k] = Some(Err(e));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                to_dedup
                    .send(ToDedup::Place(k, verdicts))
                    .map_err(|_| anyhow::anyhow!("the dedup thread stopped"))?;
                in_flight.push_back(k);
                if in_flight.len() > depth {
                    let j = in_flight.pop_front().expect("not empty");
                    reports[j] = Some(write(j)?);
                }
            }
            for j in in_flight.drain(..) {
                reports[j] = Some(write(j)?);
            }
            Ok(())
        };
        let outcome = run();
        // Closing both channels ends the dedup thread whether it waits to receive or to send.
        drop(to_dedup);
        drop(placements);
        if dedup.join().is_err() {
            anyhow::bail!("the dedup thread panicked");
        }
        outcome?;
        Ok(reports
            .into_iter()
            .map(|r| r.expect("every feed was stored"))
            .collect())
    })
}

/// Stores the state of a poll that brought no entries. Unguarded, any error fails the batch; guarded, only
/// a store failure does.
fn save_without_entries(
    batch: &Batch,
    job: &StoreJob,
    guarded: bool,
) -> anyhow::Result<Result<Stored, anyhow::Error>> {
    // One statement is atomic on its own: an unchanged poll costs this single UPDATE.
    match batch.feed(false)?.save_state(&job.state, 0) {
        Err(e) if !guarded || store::unavailable(&e).is_some() => Err(e),
        other => Ok(other.map(|()| Stored::default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DedupConfig;
    use crate::dedup::similar::FeatureExtractor;

    /// An item with a summary, so that the similarity layer can judge it.
    fn item(guid: &str, title: &str, summary: &str) -> NormalizedItem {
        NormalizedItem {
            guid: guid.into(),
            url: Some(format!("https://x.example/{guid}")),
            canonical_url: None,
            title: title.into(),
            summary: summary.into(),
            content_html: String::new(),
            author: None,
            published: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            date_from_feed: true,
            content_hash: None,
            ..Default::default()
        }
    }

    /// A polled feed of `source` with these entries and their features.
    fn polled(source: &SourceRow, items: Vec<NormalizedItem>) -> StoreJob {
        let x = FeatureExtractor::new(Default::default());
        StoreJob {
            state: source.clone(),
            features: items.iter().map(|i| x.features(i)).collect(),
            items,
            _memory: None,
            _budget: None,
        }
    }

    /// An ingester over the store at `dir/s.db`, with or without the similarity layer.
    fn ingester(dir: &std::path::Path, similarity: bool) -> Ingester {
        let dedup = DedupConfig {
            near_duplicates: similarity,
            ..DedupConfig::default()
        };
        Ingester::open(&dir.join("s.db"), &dedup).unwrap()
    }

    fn ingest(ingester: &mut Ingester, jobs: &[&StoreJob], now: i64) -> BatchReports {
        ingester.ingest(jobs, now).map_err(|u| u.0).unwrap()
    }

    const TITLE: &str = "Harbour authority approves Kestrel Bay ferry terminal expansion";
    const SUMMARY: &str = "The Kestrel Bay harbour authority voted on Tuesday to expand the ferry \
        terminal, adding two berths and a passenger hall by 2027 at a cost of 40 million.";
    const OTHER_TITLE: &str = "Glassworks museum reopens Alderney gallery after roof repairs";
    const OTHER_SUMMARY: &str = "The Alderney glassworks museum reopened its east gallery on \
        Saturday after eighteen months of roof repairs, with a new display of Victorian lamps.";

    /// A store with sources one, two and three (ids 1, 2, 3), all in section "a".
    fn store_with_three_sources(dir: &std::path::Path) -> Vec<SourceRow> {
        let text = "[storage]\npath = \"s.db\"\n[[sections]]\nid = \"a\"\ntitle = \"A\"\n\
            [[sources]]\nname = \"one\"\nurl = \"https://one.example/f\"\nsections = [\"a\"]\n\
            [[sources]]\nname = \"two\"\nurl = \"https://two.example/f\"\nsections = [\"a\"]\n\
            [[sources]]\nname = \"three\"\nurl = \"https://three.example/f\"\nsections = [\"a\"]\n";
        let config = crate::config::parse(&dir.join("feeds.toml"), text).unwrap();
        let mut store = Store::open(&dir.join("s.db")).unwrap();
        store.sync_sources(&config).unwrap();
        store.sources().unwrap()
    }

    /// (guid, story id, title) of every stored item, by item id.
    fn stored(dir: &std::path::Path) -> Vec<(String, i64, String)> {
        let reader = rusqlite::Connection::open(dir.join("s.db")).unwrap();
        let mut stmt = reader
            .prepare("SELECT guid, story_id, title FROM items ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// An entry with a canonical URL and a text key, as normalisation makes them.
    fn keyed(guid: &str, url: &str, title: &str) -> NormalizedItem {
        NormalizedItem {
            canonical_url: Some(url.into()),
            content_hash: crate::normalize::content_hash(title, SUMMARY),
            ..item(guid, title, SUMMARY)
        }
    }

    #[test]
    fn entries_see_earlier_entries_of_their_feed_and_batch() {
        for similarity in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let sources = store_with_three_sources(dir.path());
            let mut ingester = ingester(dir.path(), similarity);
            let one = polled(
                &sources[0],
                vec![
                    keyed(
                        "a",
                        "https://x.example/a",
                        "First headline about harbour ferries",
                    ),
                    // The same guid again with other text: an edit of the entry above.
                    keyed(
                        "a",
                        "https://x.example/a",
                        "First headline about harbour ferries, updated",
                    ),
                    // The same guid and text again: nothing.
                    keyed(
                        "a",
                        "https://x.example/a",
                        "First headline about harbour ferries, updated",
                    ),
                    // Another guid with the same canonical URL: the same story.
                    keyed(
                        "b",
                        "https://x.example/a",
                        "Second headline with the same link",
                    ),
                ],
            );
            // Other sources in the same batch: the same URL as "a", and the same text as "b" under another URL.
            // Neither can join by similarity: "c" says something else, and source three does not merge.
            let two = polled(
                &sources[1],
                vec![NormalizedItem {
                    summary: OTHER_SUMMARY.into(),
                    ..keyed("c", "https://x.example/a", "Copied headline")
                }],
            );
            let mut three_source = sources[2].clone();
            three_source.merge = false;
            let three = polled(
                &three_source,
                vec![keyed(
                    "d",
                    "https://y.example/d",
                    "Second headline with the same link",
                )],
            );
            let reports = ingest(&mut ingester, &[&one, &two, &three], 1_700_000_100);
            let one_report = &reports[0].as_ref().unwrap().counts;
            assert_eq!(
                (
                    one_report.new_items,
                    one_report.updated_items,
                    one_report.new_stories
                ),
                (2, 1, 1),
                "similarity {similarity}"
            );
            for report in &reports[1..] {
                let report = &report.as_ref().unwrap().counts;
                assert_eq!((report.new_items, report.joined), (1, 1));
            }
            let items = stored(dir.path());
            let story = items[0].1;
            assert_eq!(
                items,
                vec![
                    (
                        "a".into(),
                        story,
                        "First headline about harbour ferries, updated".into()
                    ),
                    (
                        "b".into(),
                        story,
                        "Second headline with the same link".into()
                    ),
                    ("c".into(), story, "Copied headline".into()),
                    (
                        "d".into(),
                        story,
                        "Second headline with the same link".into()
                    ),
                ],
                "similarity {similarity}"
            );
        }
    }

    #[test]
    fn the_exact_layers_see_items_another_process_stored() {
        let dir = tempfile::tempdir().unwrap();
        let sources = store_with_three_sources(dir.path());
        let mut ours = ingester(dir.path(), false);
        let first = polled(
            &sources[0],
            vec![keyed("a", "https://x.example/a", "First headline")],
        );
        ingest(&mut ours, &[&first], 1_700_000_100);
        // Another writer (a `poll --once` beside the daemon) stores an item.
        let mut theirs = ingester(dir.path(), false);
        let other = polled(
            &sources[1],
            vec![
                keyed("b", "https://y.example/b", "Other headline"),
                keyed("e", "https://y.example/e", "Third headline"),
            ],
        );
        ingest(&mut theirs, &[&other], 1_700_000_200);
        // Our next batch finds it by URL and by text.
        let copies = polled(
            &sources[2],
            vec![
                keyed("c", "https://y.example/b", "Same link"),
                keyed("d", "https://z.example/d", "Third headline"),
            ],
        );
        let report = ingest(&mut ours, &[&copies], 1_700_000_300)
            .pop()
            .unwrap()
            .unwrap()
            .counts;
        assert_eq!((report.new_items, report.joined), (2, 2));
    }

    #[test]
    fn the_window_is_loaded_only_once_an_entry_is_new_to_the_exact_layers() {
        let dir = tempfile::tempdir().unwrap();
        let sources = store_with_three_sources(dir.path());
        let mut first = ingester(dir.path(), true);
        let feed = vec![
            item("a", TITLE, SUMMARY),
            item("b", OTHER_TITLE, OTHER_SUMMARY),
        ];
        ingest(&mut first, &[&polled(&sources[0], feed)], 1_700_000_100);
        drop(first);
        // After a restart the same feed comes back whole (its server changed its validators), one entry
        // edited: nothing in it can need the similarity layer.
        let mut restarted = ingester(dir.path(), true);
        let again = polled(
            &sources[0],
            vec![
                item("a", TITLE, SUMMARY),
                item("b", OTHER_TITLE, "The museum's east gallery reopened."),
            ],
        );
        let counts = ingest(&mut restarted, &[&again], 1_700_000_200)
            .pop()
            .unwrap()
            .unwrap()
            .counts;
        assert_eq!((counts.new_items, counts.updated_items), (0, 1));
        assert!(
            restarted.placer.needs_window(),
            "a batch of stored entries loaded the window"
        );
        // A copy from another source is new: the window is loaded then, from what is stored, and it joins.
        let copy = polled(&sources[1], vec![item("c", TITLE, SUMMARY)]);
        let counts = ingest(&mut restarted, &[&copy], 1_700_000_300)
            .pop()
            .unwrap()
            .unwrap()
            .counts;
        assert!(!restarted.placer.needs_window());
        assert_eq!((counts.new_items, counts.joined), (1, 1));
    }

    #[test]
    fn a_feed_that_fails_in_a_batch_is_dropped_alone_and_the_window_stays_true() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[storage]\npath = \"s.db\"\n[[sections]]\nid = \"a\"\ntitle = \"A\"\n\
            [[sources]]\nname = \"one\"\nurl = \"https://one.example/f\"\nsections = [\"a\"]\n\
            [[sources]]\nname = \"two\"\nurl = \"https://two.example/f\"\nsections = [\"a\"]\n\
            [[sources]]\nname = \"three\"\nurl = \"https://three.example/f\"\nsections = [\"a\"]\n";
        let config = crate::config::parse(&dir.path().join("feeds.toml"), text).unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store.sync_sources(&config).unwrap();
        let sources = store.sources().unwrap();
        drop(store);
        let (one, two, three) = (&sources[0], &sources[1], &sources[2]);
        // A source that is not in the database: saving its poll fails after its items were written.
        let missing = SourceRow {
            id: 999,
            url: "https://gone.example/f".into(),
            merge: true,
            sections: vec!["a".into()],
            ..SourceRow::default()
        };
        let mut ingester = ingester(dir.path(), true);
        let good = polled(one, vec![item("g1", TITLE, SUMMARY)]);
        let bad = polled(&missing, vec![item("b1", OTHER_TITLE, OTHER_SUMMARY)]);
        let reports = ingest(&mut ingester, &[&good, &bad], 1_700_000_100);
        assert_eq!(reports[0].as_ref().unwrap().counts.new_stories, 1);
        assert!(
            reports[1].is_err(),
            "the feed of a missing source must fail"
        );
        let reader = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        let count = |sql: &str| -> i64 { reader.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT count(*) FROM items WHERE guid = 'g1'"), 1);
        assert_eq!(count("SELECT count(*) FROM items WHERE guid = 'b1'"), 0);
        // The window holds what was stored and nothing that was rolled back: a repost of the stored item
        // joins its story, and a repost of the dropped one founds a story of its own.
        let reposts = polled(
            two,
            vec![
                item("r1", TITLE, SUMMARY),
                item("r2", OTHER_TITLE, OTHER_SUMMARY),
            ],
        );
        let report = ingest(&mut ingester, &[&reposts], 1_700_000_200)
            .pop()
            .unwrap()
            .unwrap()
            .counts;
        assert_eq!((report.joined, report.new_stories), (1, 1));
        let spun = polled(three, vec![item("s2", OTHER_TITLE, OTHER_SUMMARY)]);
        let report = ingest(&mut ingester, &[&spun], 1_700_000_300)
            .pop()
            .unwrap()
            .unwrap()
            .counts;
        assert_eq!(report.joined, 1, "joins r2, which was stored");
    }
}
