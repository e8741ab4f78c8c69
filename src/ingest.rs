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
        let mut batch = self.store.begin_batch()?;
        let mut reports = Vec::with_capacity(feeds.len());
        for (source, result) in feeds {
            if result.items.is_empty() {
                reports.push(batch.record_poll(source.id, &result.record).map(|row| {
                    IngestReport {
                        source: Some(with_sections(row, source)),
                        ..IngestReport::default()
                    }
                }));
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
                // Later feeds of this batch must see this one: a repost may arrive in the same batch.
                if let Some((Some(layer), _)) = &mut self.similar {
                    staged.into_iter().for_each(|s| layer.add(s));
                }
                report
            }));
        }
        if let Err(e) = batch.commit() {
            // The window holds items that were never stored; build it again from what was, when next needed.
            if let Some((window, _)) = &mut self.similar {
                *window = None;
            }
            return Err(e);
        }
        Ok(reports)
    }
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
