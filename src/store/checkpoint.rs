//! WAL checkpoints on a thread of their own. Copying committed pages from the write-ahead log back into the
//! database file took a third of the writer's commit time during heavy ingest; here it overlaps ingest.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::Connection;

/// How often, at most, the thread checkpoints: each checkpoint syncs the database file.
const EVERY: Duration = Duration::from_millis(250);

/// Log pages after which the writer checkpoints itself on commit (SQLite's autocheckpoint). The writer is the
/// only one that can let the log start over, since a log is reset only when it was fully copied back
/// before a write began; with the thread copying most pages first, the writer's own checkpoint is short.
pub(super) const WRITER_AUTOCHECKPOINT_PAGES: i64 = 16_384;

/// Handle to the checkpoint thread; dropping it stops the thread.
pub(crate) struct Checkpointer {
    wake: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the thread with its own connection to the database at `path`.
    pub(crate) fn start(path: &Path) -> anyhow::Result<Checkpointer> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let (wake, woken) = sync_channel(1);
        std::thread::Builder::new()
            .name("wiredesk-checkpoint".into())
            .spawn(move || run(&conn, &woken))?;
        Ok(Checkpointer { wake })
    }

    /// Tells the thread that the writer committed; never blocks.
    pub(crate) fn committed(&self) {
        let _ = self.wake.try_send(());
    }
}

/// Checkpoints after commits, at most once per [`EVERY`], until the handle is dropped.
fn run(conn: &Connection, woken: &Receiver<()>) {
    while woken.recv().is_ok() {
        let started = Instant::now();
        // PASSIVE: copies what no reader still needs and never waits for the writer or readers.
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        }) {
            Ok((log, copied)) => tracing::trace!(log, copied, "checkpointed"),
            Err(e) => tracing::warn!("checkpoint failed (the writer's own checkpoints go on): {e}"),
        }
        std::thread::sleep(EVERY.saturating_sub(started.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_copies_committed_pages_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x TEXT);",
            )
            .unwrap();
        let checkpointer = Checkpointer::start(&path).unwrap();
        writer
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
                 INSERT INTO t SELECT printf('%0200d', i) FROM n;",
            )
            .unwrap();
        let file_len = || std::fs::metadata(&path).unwrap().len();
        let before = file_len();
        assert!(before < 100_000, "the rows are still only in the log");
        checkpointer.committed();
        let deadline = Instant::now() + Duration::from_secs(10);
        while file_len() < 400_000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            file_len() >= 400_000,
            "{} bytes after a checkpoint",
            file_len()
        );
    }
}
