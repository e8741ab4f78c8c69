//! Storage upkeep: retention (pruning old items behind tombstones, so feeds that still list them cannot
//! bring them back), giving freed space back, and the heartbeat write that tells whether the store takes
//! writes.
//!
//! Under steady churn nothing grows without bound: items and their stories go at the retention cutoff, and
//! a tombstone goes once it is as old again. By then a feed that still lists a dated item has it refused by
//! the retention gate before it reaches the store (`pipeline::refresh`), so only an undated entry listed for
//! twice the retention could come back, once.

use super::Store;

impl Store {
    /// SQLite's `data_version`: it changes when another connection (another process, or another
    /// connection of this one) commits, and never for this connection's own writes.
    pub fn data_version(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Copies the whole log back into the database file and truncates it (the last thing a stopping
    /// writer does, so the files left behind are the database alone). Waits at most `wait` for readers.
    /// Returns whether the log was truncated; when a reader still holds it, it stays and is used at the
    /// next start.
    pub fn checkpoint_truncate(&self, wait: std::time::Duration) -> anyhow::Result<bool> {
        self.conn.busy_timeout(wait)?;
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        self.conn.busy_timeout(super::BUSY_TIMEOUT)?;
        Ok(busy == 0)
    }

    /// Truncates the log if no reader holds it right now, without waiting (see [`super::Checkpointer`]).
    /// Returns whether it was truncated.
    pub fn truncate_log_now(&self) -> anyhow::Result<bool> {
        let truncated = self.checkpoint_truncate(std::time::Duration::ZERO)?;
        if truncated {
            tracing::debug!("the write-ahead log was truncated");
        }
        Ok(truncated)
    }

    /// Writes a consistent copy of the database to `to` (`VACUUM INTO`: one read transaction, so the copy
    /// is the database as of its start, and writers go on meanwhile), compacted.
    pub fn copy_to(&self, to: &std::path::Path) -> anyhow::Result<()> {
        let target = to
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("{} is not a UTF-8 path", to.display()))?;
        self.conn.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    }

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
    /// drops stories left without members and tombstones older than `cutoff` themselves; then gives the
    /// freed pages back to the file system. Returns how many items went.
    pub fn prune(&mut self, cutoff: i64, now: i64) -> anyhow::Result<usize> {
        // One row says whether anything is old enough (migration 0010): scanning the items to learn it read
        // the whole table on every run, and found nothing in most.
        let earliest: Option<i64> =
            self.conn
                .query_row("SELECT earliest FROM prune_horizon WHERE id = 1", [], |r| {
                    r.get(0)
                })?;
        if earliest.is_none_or(|at| at >= cutoff) {
            return Ok(0);
        }
        self.enforce_foreign_keys(true)?;
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM tombstones WHERE pruned_at < ?1", [cutoff])?;
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
        // Exact again, so the next run is skipped until something really is due (ingest only lowers it).
        tx.execute(
            "UPDATE prune_horizon SET earliest = (SELECT min(at) FROM (
                 SELECT min(max(published, first_seen)) AS at FROM items
                 UNION ALL
                 SELECT min(pruned_at) FROM tombstones)) WHERE id = 1",
            [],
        )?;
        tx.commit()?;
        self.reclaim_space()?;
        Ok(n)
    }

    /// Gives free pages back to the file system, a bounded number at a time so that no single step holds
    /// the write lock for long (a database made before incremental vacuum keeps reusing them instead).
    fn reclaim_space(&mut self) -> anyhow::Result<()> {
        /// Pages per step: 8 MiB at the default page size.
        const STEP: i64 = 2048;
        let incremental: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
        if incremental != 2 {
            return Ok(());
        }
        loop {
            let free: i64 = self
                .conn
                .query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
            if free == 0 {
                return Ok(());
            }
            self.conn
                .execute_batch(&format!("PRAGMA incremental_vacuum({STEP})"))?;
            if free <= STEP {
                return Ok(());
            }
        }
    }
}
