//! Ingests polled feeds: dedup places each entry, the store writes it, and the poll's outcome is recorded.
//! Each feed is all or nothing (its own savepoint); feeds that arrive together share one commit. This is the
//! only writer; it runs on one thread and owns the [`Store`].

use std::collections::BTreeSet;

use crate::dedup::similar::{SimilarLayer, Staged};
use crate::dedup::{self, Placement, SourceRef};
use crate::normalize::NormalizedItem;
use crate::store::{IngestTx, NewItem, PollRecord, SourceRow, Store};

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
}

impl Ingester {
    /// Wraps an open store; only the exact dedup layers run.
    pub fn new(store: Store) -> Self {
        Ingester {
            store,
            similar: None,
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
        })
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
        let batch = self.store.begin_batch()?;
        let mut reports = Vec::with_capacity(feeds.len());
        let mut failed = false;
        for (source, result) in feeds {
            if result.items.is_empty() {
                // One UPDATE: a failed statement changes nothing, so the batch can go on.
                reports.push(record_poll_only(&batch, source, result));
                continue;
            }
            let tx = batch.feed_unguarded();
            let layer = self.similar.as_ref().and_then(|(l, _)| l.as_ref());
            match ingest_feed(&tx, layer, source, result, now) {
                Ok((report, staged)) => {
                    // Later feeds of this batch must see this one: a repost may arrive in the same batch.
                    if let Some((Some(layer), _)) = &mut self.similar {
                        staged.into_iter().for_each(|s| layer.add(s));
                    }
                    reports.push(Ok(report));
                }
                Err(e) => {
                    tracing::debug!(source = %source.url, error = %format!("{e:#}"), "feed failed in a batch");
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            drop(batch);
            self.drop_window();
            return Ok(None);
        }
        if let Err(e) = batch.commit() {
            self.drop_window();
            return Err(e);
        }
        Ok(Some(reports))
    }

    /// The careful path: each feed in its own savepoint, so a failed feed is rolled back alone.
    fn ingest_feed_by_feed(
        &mut self,
        feeds: &[(&SourceRow, &PollResult)],
        now: i64,
    ) -> anyhow::Result<Vec<anyhow::Result<IngestReport>>> {
        let mut batch = self.store.begin_batch()?;
        let mut reports = Vec::with_capacity(feeds.len());
        for (source, result) in feeds {
            if result.items.is_empty() {
                reports.push(record_poll_only(&batch, source, result));
                continue;
            }
            let tx = batch.feed()?;
            let layer = self.similar.as_ref().and_then(|(l, _)| l.as_ref());
            let outcome = ingest_feed(&tx, layer, source, result, now).and_then(|r| {
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

/// Records the poll of a feed that brought no entries to store (unchanged, or failed).
fn record_poll_only(
    batch: &crate::store::Batch,
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

/// Places and writes every item of one feed, then records the poll. Returns what to add to the similarity
/// window once the feed commits.
fn ingest_feed(
    tx: &IngestTx,
    similar: Option<&SimilarLayer>,
    source: &SourceRow,
    result: &PollResult,
    now: i64,
) -> anyhow::Result<(IngestReport, Vec<Staged>)> {
    let mut report = IngestReport::default();
    let mut staged = Vec::new();
    if result.items.is_empty() {
        report.source = Some(with_sections(
            tx.record_poll(source.id, &result.record)?,
            source,
        ));
        return Ok((report, staged));
    }
    // A source with `merge = false` neither joins other stories by similarity nor is joined by them.
    let similar = similar.filter(|_| source.merge);
    let facts = dedup::FeedFacts {
        source_has_items: tx.source_has_items(source.id)?,
        tombstones: tx.has_tombstones()?,
    };
    let source_ref = SourceRef {
        id: source.id,
        merge: source.merge,
    };
    for (index, item) in result.items.iter().enumerate() {
        let mut features = result.features.get(index).cloned();
        let placement = match (dedup::place_exact(tx, source_ref, item, facts)?, similar) {
            (Some(p), _) => p,
            (None, Some(layer)) => {
                let f = features.take().unwrap_or_else(|| layer.features(item));
                let decision = layer.place(source_ref, item, &f);
                features = Some(f);
                Placement::Insert(decision)
            }
            (None, None) => Placement::Insert(dedup::new_story(
                "no stored story matched".into(),
                Vec::new(),
                0.0,
            )),
        };
        match placement {
            Placement::Skip => {}
            Placement::Update { item_id, story_id } => {
                tx.update_item(item_id, story_id, item, now)?;
                report.updated_items += 1;
            }
            Placement::Insert(decision) => {
                let new = NewItem {
                    source_id: source.id,
                    sections: &source.sections,
                    item,
                    now,
                };
                let (item_id, story_id) = match decision.story_id {
                    Some(story_id) => {
                        report.joined += 1;
                        (tx.insert_into_story(&new, story_id)?, story_id)
                    }
                    None => {
                        report.new_stories += 1;
                        tx.insert_with_new_story(&new, &dedup::story_guid(&source.url, &item.guid))?
                    }
                };
                // A new story with nothing even close is the common case; `explain` reports it without a row.
                if decision.story_id.is_some() || !decision.candidates.is_empty() {
                    tx.record_decision(
                        item_id,
                        story_id,
                        decision.layer.as_str(),
                        decision.score,
                        &decision.reason,
                        &serde_json::to_string(&decision.candidates)?,
                        now,
                    )?;
                }
                report.new_items += 1;
                if let Some(layer) = similar {
                    let f = features.take().unwrap_or_else(|| layer.features(item));
                    staged.push(SimilarLayer::stage(item_id, story_id, source.id, item, f));
                }
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
    Ok((report, staged))
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
