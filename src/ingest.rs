//! Ingests one polled feed: dedup places each entry, the store writes it, and the poll's outcome is recorded,
//! all in one transaction. This is the only writer; it runs on one thread and owns the [`Store`].

use std::collections::BTreeSet;

use crate::dedup::{self, Placement, SourceRef};
use crate::normalize::NormalizedItem;
use crate::store::{NewItem, PollRecord, SourceRow, Store};

/// A finished poll of one source, ready to store.
#[derive(Debug, Default)]
pub struct PollResult {
    /// The poll's outcome and the source's next due time.
    pub record: PollRecord,
    /// Normalised entries, when a new body was fetched.
    pub items: Vec<NormalizedItem>,
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
}

/// The single writer: owns the database connection used for ingest.
pub struct Ingester {
    store: Store,
}

impl Ingester {
    /// Wraps an open store.
    pub fn new(store: Store) -> Self {
        Ingester { store }
    }

    /// The store, for maintenance (sync, prune) between ingests.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Places and stores every item of `result`, then records the poll, in one transaction.
    pub fn ingest(
        &mut self,
        source: &SourceRow,
        result: &PollResult,
        now: i64,
    ) -> anyhow::Result<IngestReport> {
        let mut report = IngestReport::default();
        let tx = self.store.begin_ingest()?;
        let source_ref = SourceRef {
            id: source.id,
            merge: source.merge,
        };
        for item in &result.items {
            let placement = match dedup::place_exact(&tx, source_ref, item)? {
                Some(p) => p,
                None => Placement::Insert(dedup::new_story(
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
                            tx.insert_with_new_story(
                                &new,
                                &dedup::story_guid(&source.url, &item.guid),
                            )?
                        }
                    };
                    let candidates = serde_json::to_string(&decision.candidates)?;
                    tx.record_decision(
                        item_id,
                        story_id,
                        decision.layer.as_str(),
                        decision.score,
                        &decision.reason,
                        &candidates,
                        now,
                    )?;
                    report.new_items += 1;
                }
            }
        }
        tx.record_poll(source.id, &result.record)?;
        tx.commit()?;
        if report.new_items + report.updated_items > 0 {
            report
                .changed_sections
                .extend(source.sections.iter().cloned());
        }
        Ok(report)
    }
}
