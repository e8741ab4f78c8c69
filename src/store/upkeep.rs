//! Storage upkeep: retention (pruning old items behind tombstones, so feeds that still list them cannot
//! bring them back), and the heartbeat write that tells whether the store takes writes.

use super::Store;

impl Store {
    /// Writes the heartbeat row, to learn whether the store takes writes while nothing else is written.
    pub fn probe_write(&mut self) -> anyhow::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR REPLACE INTO heartbeat (id, at) VALUES (1, ?1)",
            [chrono::Utc::now().timestamp()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes items older than `cutoff` (unix secs), keeping tombstones so feeds cannot bring them back, and
    /// drops stories left without members. Returns how many items went.
    pub fn prune(&mut self, cutoff: i64, now: i64) -> anyhow::Result<usize> {
        // The published index answers this at once; the story clean-up below is only needed after deletes.
        let due: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM items WHERE published < ?1 AND first_seen < ?1)",
            [cutoff],
            |r| r.get(0),
        )?;
        if !due {
            return Ok(0);
        }
        self.enforce_foreign_keys(true)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO tombstones (source_id, guid, pruned_at)
             SELECT source_id, guid, ?2 FROM items WHERE published < ?1 AND first_seen < ?1",
            (cutoff, now),
        )?;
        let n = tx.execute(
            "DELETE FROM items WHERE published < ?1 AND first_seen < ?1",
            [cutoff],
        )?;
        tx.execute(
            "DELETE FROM stories WHERE NOT EXISTS (SELECT 1 FROM items WHERE items.story_id = stories.id)",
            [],
        )?;
        tx.execute(
            "UPDATE stories SET representative_item = (SELECT i.id FROM items i JOIN sources s ON s.id = i.source_id
                 WHERE i.story_id = stories.id ORDER BY s.priority DESC, i.published, i.id LIMIT 1)
             WHERE representative_item NOT IN (SELECT id FROM items)",
            [],
        )?;
        tx.commit()?;
        Ok(n)
    }
}
