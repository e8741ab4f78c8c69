//! Ingests polled feeds: dedup places each entry, the store writes it, and the poll's outcome is recorded.
//! Feeds that arrive together share one commit, and each feed is all or nothing: a batch runs without
//! per-feed savepoints and, if a feed fails, is rolled back and stored again with a savepoint per feed. This
//! is the only writer and owns the [`Store`]; with similarity on, a dedup thread places feeds while this one
//! stores the ones before (see [`crate::dedup::place`]).

use std::collections::BTreeSet;

use crate::dedup::place::{self, Ids, Placed, Verdict, place_feed};
use crate::dedup::similar::{SimilarLayer, Staged};
use crate::dedup::{self, SourceRef};
use crate::normalize::NormalizedItem;
use crate::store::{Batch, Checkpointer, IngestTx, NewItem, PollRecord, SourceRow, Store};

/// A finished poll of one source, ready to store.
#[derive(Debug, Default)]
pub struct PollResult {
    /// The poll's outcome and the source's next due time.
    pub record: PollRecord,
    /// Normalised entries, when a new body was fetched.
    pub items: Vec<NormalizedItem>,
    /// Similarity features of `items`, index for index, when the poll computed them (else empty).
    pub features: Vec<crate::dedup::near::Features>,
    /// Held while the parsed entries are in memory; released when the result is dropped after storing.
    pub memory_slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// What one ingest changed.
#[derive(Debug, Default, Clone)]
pub struct IngestReport {
    /// Items stored for the first time.
    pub new_items: usize,
    /// Items the source edited.
    pub updated_items: usize,
    /// New items that founded a story.
    pub new_stories: usize,
    /// New items that joined an existing story.
    pub joined: usize,
    /// Sections whose published feeds must be rendered again.
    pub changed_sections: BTreeSet<String>,
    /// The source's state after this poll was recorded, for the scheduler.
    pub source: Option<SourceRow>,
}

/// The single writer: owns the database connection used for ingest and the similarity window.
pub struct Ingester {
    store: Store,
    /// The similarity layer, when enabled: its window (loaded on first need) and the parameters to build it.
    similar: Option<(Option<SimilarLayer>, crate::dedup::near::Params)>,
    /// The checkpoint thread, told of every commit (None: this connection checkpoints alone).
    checkpointer: Option<Checkpointer>,
}

impl Ingester {
    /// Wraps an open store; only the exact dedup layers run.
    pub fn new(store: Store) -> Self {
        Ingester {
            store,
            similar: None,
            checkpointer: None,
        }
    }

    /// Wraps an open store with the similarity layer on. Its window is built from the database when the
    /// first polled entries arrive: a run that only sees 304s never pays for it.
    pub fn with_similarity(
        store: Store,
        params: crate::dedup::near::Params,
    ) -> anyhow::Result<Self> {
        Ok(Ingester {
            store,
            similar: Some((None, params)),
            checkpointer: None,
        })
    }

    /// Moves most WAL checkpointing of the database at `path` (this store's) to a thread of its own.
    pub fn checkpoint_in_background(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        self.checkpointer = Some(Checkpointer::start(path)?);
        self.store.checkpoint_in_background()
    }

    /// Tells the checkpoint thread, if any, that a batch committed.
    fn committed(&self) {
        if let Some(c) = &self.checkpointer {
            c.committed();
        }
    }

    /// Builds the similarity window if it is on, not built yet, and about to be needed.
    fn load_window(&mut self, feeds: &[(&SourceRow, &PollResult)]) -> anyhow::Result<()> {
        if let Some((window @ None, params)) = &mut self.similar
            && feeds.iter().any(|(_, r)| !r.items.is_empty())
        {
            let started = std::time::Instant::now();
            let layer = SimilarLayer::rebuild(&self.store, params.clone())?;
            tracing::info!(
                items = layer.len(),
                took_ms = started.elapsed().as_millis() as u64,
                "similarity window loaded"
            );
            *window = Some(layer);
        }
        Ok(())
    }

    /// The store, for maintenance (sync, prune) between ingests.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Stores one polled feed in its own transaction.
    pub fn ingest(
        &mut self,
        source: &SourceRow,
        result: &PollResult,
        now: i64,
    ) -> anyhow::Result<IngestReport> {
        self.ingest_batch(&[(source, result)], now)?
            .pop()
            .expect("one report per feed")
    }

    /// Stores several polled feeds in one commit. Each feed gets its own result: a feed that fails is rolled
    /// back alone and the others are kept. The outer error means the commit itself failed (nothing stored).
    pub fn ingest_batch(
        &mut self,
        feeds: &[(&SourceRow, &PollResult)],
        now: i64,
    ) -> anyhow::Result<Vec<anyhow::Result<IngestReport>>> {
        self.load_window(feeds)?;
        if let Some(reports) = self.ingest_all_or_nothing(feeds, now)? {
            return Ok(reports);
        }
        tracing::warn!(
            feeds = feeds.len(),
            "a feed failed to store; storing its batch again feed by feed"
        );
        self.load_window(feeds)?;
        self.ingest_feed_by_feed(feeds, now)
    }

    /// The fast path: every feed of the batch without a savepoint. None when a feed failed, after rolling
    /// back the whole batch and dropping the similarity window, which had taken the batch's items.
    fn ingest_all_or_nothing(
        &mut self,
        feeds: &[(&SourceRow, &PollResult)],
        now: i64,
    ) -> anyhow::Result<Option<Vec<anyhow::Result<IngestReport>>>> {
        let Ingester { store, similar, .. } = self;
        let batch = store.begin_batch()?;
        let ids = Ids::first_free(&batch)?;
        let outcome = match similar.as_mut().and_then(|(l, _)| l.as_mut()) {
            Some(layer) => ingest_pipelined(&batch, layer, ids, feeds, now),
            None => ingest_serially(&batch, ids, feeds, now),
        };
        let reports = match outcome {
            Ok(reports) => reports,
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "a feed failed in a batch");
                drop(batch);
                self.drop_window();
                return Ok(None);
            }
        };
        if let Err(e) = batch.commit() {
            self.drop_window();
            return Err(e);
        }
        self.committed();
        Ok(Some(reports))
    }

    /// The careful path: each feed in its own savepoint, so a failed feed is rolled back alone.
    fn ingest_feed_by_feed(
        &mut self,
        feeds: &[(&SourceRow, &PollResult)],
        now: i64,
    ) -> anyhow::Result<Vec<anyhow::Result<IngestReport>>> {
        let mut batch = self.store.begin_batch()?;
        let mut ids = Ids::first_free(&batch)?;
        let mut reports = Vec::with_capacity(feeds.len());
        for (source, result) in feeds {
            if result.items.is_empty() {
                reports.push(record_poll_only(&batch, source, result));
                continue;
            }
            let tx = batch.feed()?;
            let layer = self.similar.as_ref().and_then(|(l, _)| l.as_ref());
            let outcome = ingest_feed(&tx, layer, &mut ids, source, result, now).and_then(|r| {
                tx.commit()?;
                Ok(r)
            });
            // A failed feed's savepoint is dropped, which rolls back its writes only.
            reports.push(outcome.map(|(report, staged)| {
                if let Some((Some(layer), _)) = &mut self.similar {
                    staged.into_iter().for_each(|s| layer.add(s));
                }
                report
            }));
        }
        if let Err(e) = batch.commit() {
            self.drop_window();
            return Err(e);
        }
        self.committed();
        Ok(reports)
    }

    /// Forgets the similarity window after a rollback: it holds items that were never stored. It is built
    /// again from what was, when next needed.
    fn drop_window(&mut self) {
        if let Some((window, _)) = &mut self.similar {
            *window = None;
        }
    }
}

/// Stores a batch's feeds one after another on this thread (the exact layers only: nothing to overlap).
fn ingest_serially(
    batch: &Batch,
    mut ids: Ids,
    feeds: &[(&SourceRow, &PollResult)],
    now: i64,
) -> anyhow::Result<Vec<anyhow::Result<IngestReport>>> {
    let mut reports = Vec::with_capacity(feeds.len());
    for (source, result) in feeds {
        if result.items.is_empty() {
            reports.push(record_poll_only(batch, source, result));
            continue;
        }
        let (report, _) =
            ingest_feed(&batch.feed_unguarded(), None, &mut ids, source, result, now)?;
        reports.push(Ok(report));
    }
    Ok(reports)
}

/// Feeds placed by the exact layers and not yet written, at most, while the dedup thread works.
const PIPELINE_DEPTH: usize = 4;

/// Stores a batch's feeds on two threads: this one runs the exact layers and writes, a dedup thread runs
/// the similarity layer and keeps its window. While the store writes feed *n*, dedup places feed *n+1*.
/// Any error fails the whole batch (the caller rolls it back).
fn ingest_pipelined(
    batch: &Batch,
    layer: &mut SimilarLayer,
    mut ids: Ids,
    feeds: &[(&SourceRow, &PollResult)],
    now: i64,
) -> anyhow::Result<Vec<anyhow::Result<IngestReport>>> {
    use std::sync::mpsc::sync_channel;
    std::thread::scope(|scope| {
        let (to_dedup, verdicts) = sync_channel::<(usize, Vec<Verdict>)>(PIPELINE_DEPTH);
        let (to_store, placements) = sync_channel::<(usize, Vec<Placed>)>(PIPELINE_DEPTH);
        let dedup = std::thread::Builder::new()
            .name("wiredesk-dedup".into())
            .spawn_scoped(scope, move || {
                for (k, verdicts) in verdicts {
                    let (source, result) = feeds[k];
                    let (placed, staged) = place_feed(
                        Some(layer),
                        &mut ids,
                        source_ref(source),
                        &result.items,
                        &result.features,
                        verdicts,
                    );
                    // The next feed must see this one: a repost may arrive in the same batch.
                    staged.into_iter().for_each(|s| layer.add(s));
                    if to_store.send((k, placed)).is_err() {
                        break;
                    }
                }
            })?;
        let mut reports: Vec<Option<anyhow::Result<IngestReport>>> =
            feeds.iter().map(|_| None).collect();
        let write = |k: usize| -> anyhow::Result<IngestReport> {
            let (placed_k, placed) = placements
                .recv()
                .map_err(|_| anyhow::anyhow!("the dedup thread stopped"))?;
            debug_assert_eq!(placed_k, k);
            let (source, result) = feeds[k];
            write_feed(&batch.feed_unguarded(), source, result, &placed, now)
        };
        // Feeds sent to dedup and not yet written, oldest first. A few in flight let this thread run the
        // exact layers ahead while dedup works, so that neither waits on every feed for the other.
        let mut in_flight: std::collections::VecDeque<usize> = Default::default();
        let mut run = || -> anyhow::Result<()> {
            for (k, (source, result)) in feeds.iter().enumerate() {
                // The exact layers read the store, so a feed that may match an unwritten one waits for it.
                if let Some(last) = in_flight
                    .iter()
                    .rposition(|&j| depends_on(feeds[k], feeds[j]))
                {
                    for j in in_flight.drain(..=last) {
                        reports[j] = Some(Ok(write(j)?));
                    }
                }
                if result.items.is_empty() {
                    reports[k] = Some(record_poll_only(batch, source, result));
                    continue;
                }
                let tx = batch.feed_unguarded();
                let verdicts = place::exact_verdicts(&tx, source_ref(source), &result.items)?;
                to_dedup
                    .send((k, verdicts))
                    .map_err(|_| anyhow::anyhow!("the dedup thread stopped"))?;
                in_flight.push_back(k);
                if in_flight.len() > PIPELINE_DEPTH {
                    let j = in_flight.pop_front().expect("not empty");
                    reports[j] = Some(Ok(write(j)?));
                }
            }
            for j in in_flight.drain(..) {
                reports[j] = Some(Ok(write(j)?));
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

/// Whether the exact layers could match an entry of `later` against an unwritten entry of `earlier`: the
/// same source (guids), or a shared canonical URL or text key.
fn depends_on(later: (&SourceRow, &PollResult), earlier: (&SourceRow, &PollResult)) -> bool {
    later.0.id == earlier.0.id
        || later.1.items.iter().any(|a| {
            earlier.1.items.iter().any(|b| {
                (a.content_hash.is_some() && a.content_hash == b.content_hash)
                    || (a.canonical_url.is_some() && a.canonical_url == b.canonical_url)
            })
        })
}

/// What dedup needs to know of a source.
fn source_ref(source: &SourceRow) -> SourceRef {
    SourceRef {
        id: source.id,
        merge: source.merge,
    }
}

/// Records the poll of a feed that brought no entries to store (unchanged, or failed).
fn record_poll_only(
    batch: &Batch,
    source: &SourceRow,
    result: &PollResult,
) -> anyhow::Result<IngestReport> {
    batch
        .record_poll(source.id, &result.record)
        .map(|row| IngestReport {
            source: Some(with_sections(row, source)),
            ..IngestReport::default()
        })
}

/// Places and writes every entry of one feed on this thread. Returns what to add to the similarity window
/// once the feed commits.
fn ingest_feed(
    tx: &IngestTx,
    layer: Option<&SimilarLayer>,
    ids: &mut Ids,
    source: &SourceRow,
    result: &PollResult,
    now: i64,
) -> anyhow::Result<(IngestReport, Vec<Staged>)> {
    let verdicts = place::exact_verdicts(tx, source_ref(source), &result.items)?;
    let (placed, staged) = place_feed(
        layer,
        ids,
        source_ref(source),
        &result.items,
        &result.features,
        verdicts,
    );
    Ok((write_feed(tx, source, result, &placed, now)?, staged))
}

/// Writes one placed feed and records its poll.
fn write_feed(
    tx: &IngestTx,
    source: &SourceRow,
    result: &PollResult,
    placed: &[Placed],
    now: i64,
) -> anyhow::Result<IngestReport> {
    let mut report = IngestReport::default();
    for (item, placed) in result.items.iter().zip(placed) {
        match placed {
            Placed::Skip => {}
            Placed::Update { item_id, story_id } => {
                tx.update_item(*item_id, *story_id, item, now)?;
                report.updated_items += 1;
            }
            Placed::Insert {
                item_id,
                story_id,
                new_story,
                decision,
            } => {
                let new = NewItem {
                    source_id: source.id,
                    sections: &source.sections,
                    item,
                    now,
                };
                if *new_story {
                    report.new_stories += 1;
                    let guid = dedup::story_guid(&source.url, &item.guid);
                    tx.insert_with_new_story(&new, &guid, *item_id, *story_id)?;
                } else {
                    report.joined += 1;
                    tx.insert_into_story(&new, *item_id, *story_id)?;
                }
                // A new story with nothing even close is the common case; `explain` reports it without a row.
                if decision.story_id.is_some()
                    || decision
                        .candidates
                        .iter()
                        .any(|c| c.score >= dedup::NEAR_MISS_SCORE)
                {
                    tx.record_decision(
                        *item_id,
                        *story_id,
                        decision.layer.as_str(),
                        decision.score,
                        &decision.reason,
                        &serde_json::to_string(&decision.candidates)?,
                        now,
                    )?;
                }
                report.new_items += 1;
            }
        }
    }
    tx.add_items_seen(source.id, report.new_items)?;
    report.source = Some(with_sections(
        tx.record_poll(source.id, &result.record)?,
        source,
    ));
    if report.new_items + report.updated_items > 0 {
        report
            .changed_sections
            .extend(source.sections.iter().cloned());
    }
    Ok(report)
}

/// A source's freshly recorded state with its sections, which a poll never changes.
fn with_sections(mut row: SourceRow, source: &SourceRow) -> SourceRow {
    row.sections = source.sections.clone();
    row
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn polled(items: Vec<NormalizedItem>) -> PollResult {
        let x = FeatureExtractor::new(Default::default());
        PollResult {
            features: items.iter().map(|i| x.features(i)).collect(),
            items,
            ..PollResult::default()
        }
    }

    const TITLE: &str = "Harbour authority approves Kestrel Bay ferry terminal expansion";
    const SUMMARY: &str = "The Kestrel Bay harbour authority voted on Tuesday to expand the ferry \
        terminal, adding two berths and a passenger hall by 2027 at a cost of 40 million.";
    const OTHER_TITLE: &str = "Glassworks museum reopens Alderney gallery after roof repairs";
    const OTHER_SUMMARY: &str = "The Alderney glassworks museum reopened its east gallery on \
        Saturday after eighteen months of roof repairs, with a new display of Victorian lamps.";

    /// A store with sources one, two and three (ids 1, 2, 3), all in section "a".
    fn store_with_three_sources(dir: &std::path::Path) -> (Store, Vec<SourceRow>) {
        let text = "[storage]\npath = \"s.db\"\n[[sections]]\nid = \"a\"\ntitle = \"A\"\n\
            [[sources]]\nname = \"one\"\nurl = \"https://one.example/f\"\nsections = [\"a\"]\n\
            [[sources]]\nname = \"two\"\nurl = \"https://two.example/f\"\nsections = [\"a\"]\n\
            [[sources]]\nname = \"three\"\nurl = \"https://three.example/f\"\nsections = [\"a\"]\n";
        let config = crate::config::parse(&dir.join("feeds.toml"), text).unwrap();
        let mut store = Store::open(&dir.join("s.db")).unwrap();
        store.sync_sources(&config).unwrap();
        let sources = store.sources().unwrap();
        (store, sources)
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
            let (store, sources) = store_with_three_sources(dir.path());
            let mut ingester = if similarity {
                Ingester::with_similarity(store, Default::default()).unwrap()
            } else {
                Ingester::new(store)
            };
            let one = polled(vec![
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
            ]);
            // Other sources in the same batch: the same URL as "a", and the same text as "b" under another URL.
            // Neither can join by similarity: "c" says something else, and source three does not merge.
            let two = polled(vec![NormalizedItem {
                summary: OTHER_SUMMARY.into(),
                ..keyed("c", "https://x.example/a", "Copied headline")
            }]);
            let mut three_source = sources[2].clone();
            three_source.merge = false;
            let three = polled(vec![keyed(
                "d",
                "https://y.example/d",
                "Second headline with the same link",
            )]);
            let reports = ingester
                .ingest_batch(
                    &[
                        (&sources[0], &one),
                        (&sources[1], &two),
                        (&three_source, &three),
                    ],
                    1_700_000_100,
                )
                .unwrap();
            let one_report = reports[0].as_ref().unwrap();
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
                let report = report.as_ref().unwrap();
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
        let (store, sources) = store_with_three_sources(dir.path());
        let mut ours = Ingester::new(store);
        // A first batch loads our key filter.
        let first = polled(vec![keyed("a", "https://x.example/a", "First headline")]);
        ours.ingest(&sources[0], &first, 1_700_000_100).unwrap();
        // Another writer (a `poll --once` beside the daemon) stores an item.
        let mut theirs = Ingester::new(Store::open(&dir.path().join("s.db")).unwrap());
        let other = polled(vec![
            keyed("b", "https://y.example/b", "Other headline"),
            keyed("e", "https://y.example/e", "Third headline"),
        ]);
        theirs.ingest(&sources[1], &other, 1_700_000_200).unwrap();
        // Our next batch finds it by URL and by text.
        let copies = polled(vec![
            keyed("c", "https://y.example/b", "Same link"),
            keyed("d", "https://z.example/d", "Third headline"),
        ]);
        let report = ours.ingest(&sources[2], &copies, 1_700_000_300).unwrap();
        assert_eq!((report.new_items, report.joined), (2, 2));
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
        let (one, two, three) = (&sources[0], &sources[1], &sources[2]);
        // A source that is not in the database: recording its poll fails after its items were written.
        let missing = SourceRow {
            id: 999,
            url: "https://gone.example/f".into(),
            merge: true,
            sections: vec!["a".into()],
            ..SourceRow::default()
        };
        let mut ingester = Ingester::with_similarity(store, Default::default()).unwrap();
        let good = polled(vec![item("g1", TITLE, SUMMARY)]);
        let bad = polled(vec![item("b1", OTHER_TITLE, OTHER_SUMMARY)]);
        let reports = ingester
            .ingest_batch(&[(one, &good), (&missing, &bad)], 1_700_000_100)
            .unwrap();
        assert_eq!(reports[0].as_ref().unwrap().new_stories, 1);
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
        let reposts = polled(vec![
            item("r1", TITLE, SUMMARY),
            item("r2", OTHER_TITLE, OTHER_SUMMARY),
        ]);
        let report = ingester.ingest(two, &reposts, 1_700_000_200).unwrap();
        assert_eq!((report.joined, report.new_stories), (1, 1));
        let spun = polled(vec![item("s2", OTHER_TITLE, OTHER_SUMMARY)]);
        let report = ingester.ingest(three, &spun, 1_700_000_300).unwrap();
        assert_eq!(report.joined, 1, "joins r2, which was stored");
    }
}
