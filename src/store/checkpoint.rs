//! WAL checkpoints on a thread of their own. Copying committed pages from the write-ahead log back into the
//! database file took a third of the writer's commit time during heavy ingest; here it overlaps ingest.
//!
//! A reader that holds a snapshot (a long `wiredesk stories`, a backup) keeps the log from being copied back
//! and reused, so it grows while the writer goes on. Once the reader lets go, the log must shrink back:
//! whenever the file is larger than [`WAL_SIZE_LIMIT`] and this thread has copied all of it back, it asks the
//! writer to truncate it (every few seconds until that is done), and the writer does once it is idle. The
//! writer does it on its own connection because a truncation by any other connection changes the writer's
//! `data_version`, which is how the writer learns that another process wrote: a truncation from here made
//! the writer drop and reload its similarity window and publish every section again, several times per
//! heavy poll. It waits until it is idle because during ingest the log grows straight back: truncating it
//! there cost block allocation, zeroed pages, synchronous discards and a checkpoint's two fsyncs each time,
//! and a first poll of 100,000 feeds spent a seventh of the writer's time waiting on the disk for them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::Connection;

/// How often, at most, the thread checkpoints: each checkpoint syncs the database file.
const EVERY: Duration = Duration::from_millis(250);

/// The log size the file is cut back to once nothing needs the frames past it (`journal_size_limit`). Heavy
/// ingest keeps the log at a few MiB with the thread copying pages back as they commit.
pub const WAL_SIZE_LIMIT: i64 = 32 << 20;

/// While the log file is larger than [`WAL_SIZE_LIMIT`], how often the thread asks for it to be truncated.
const RETRY_TRUNCATE: Duration = Duration::from_secs(2);

/// Log pages after which the writer checkpoints itself on commit (SQLite's autocheckpoint). The writer is the
/// only one that can let the log start over, since a log is reset only when it was fully copied back
/// before a write began; with the thread copying most pages first, the writer's own checkpoint is short,
/// but it waits on two fsyncs, and the restarted log's header on a third. At 256 MiB rather than 64 MiB, a
/// first poll of 100,000 feeds took 138 s rather than 144-150 s.
pub(super) const WRITER_AUTOCHECKPOINT_PAGES: i64 = 65_536;

/// The writer's `journal_size_limit`, the size it cuts the log file back to when the log starts over: twice
/// what its own checkpoints let the log reach, so that ingest reuses the file's blocks instead of cutting
/// and regrowing it. An idle writer truncates it to nothing when asked (see the module doc).
pub(super) const WRITER_LOG_LIMIT: i64 = WRITER_AUTOCHECKPOINT_PAGES * 4096 * 2;

/// Handle to the checkpoint thread; dropping it stops the thread.
pub struct Checkpointer {
    wake: SyncSender<()>,
    /// Set by the thread when the whole log is back in the database file and the file is oversized.
    truncate: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Starts the thread with its own connection to the database at `path`.
    pub fn start(path: &Path) -> anyhow::Result<Checkpointer> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        // A truncating checkpoint that would have to wait for a reader or the writer gives up at once and is
        // tried again later: this thread must never hold up ingest.
        conn.busy_timeout(Duration::ZERO)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        let wal = wal_path(path);
        let (wake, woken) = sync_channel(1);
        let truncate = Arc::new(AtomicBool::new(false));
        let asks = truncate.clone();
        std::thread::Builder::new()
            .name("wiredesk-checkpoint".into())
            .spawn(move || run(&conn, &wal, &woken, &asks))?;
        Ok(Checkpointer { wake, truncate })
    }

    /// Tells the thread that the writer committed; never blocks.
    pub fn committed(&self) {
        let _ = self.wake.try_send(());
    }

    /// Whether the thread asks the writer to truncate the log now (once per ask).
    pub fn truncate_wanted(&self) -> bool {
        self.truncate.swap(false, Ordering::Relaxed)
    }
}

/// The write-ahead log of the database at `db`.
pub fn wal_path(db: &Path) -> PathBuf {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Checkpoints after commits, at most once per [`EVERY`], and asks for an oversized log to be truncated, until
/// the handle is dropped.
fn run(conn: &Connection, wal: &Path, woken: &Receiver<()>, truncate: &AtomicBool) {
    let oversized = || std::fs::metadata(wal).is_ok_and(|m| m.len() as i64 > WAL_SIZE_LIMIT);
    loop {
        let wait = if oversized() {
            RETRY_TRUNCATE
        } else {
            Duration::from_secs(3600)
        };
        match woken.recv_timeout(wait) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let started = Instant::now();
        // PASSIVE: copies what no reader still needs and never waits for the writer or readers.
        match checkpoint(conn, "PASSIVE") {
            Ok((_, log, copied)) if log == copied && oversized() => {
                // Everything is back in the database file: the writer may cut the log.
                truncate.store(true, Ordering::Relaxed);
            }
            Ok((_, log, copied)) => tracing::trace!(log, copied, "checkpointed"),
            Err(e) => tracing::warn!("checkpoint failed (the writer's own checkpoints go on): {e}"),
        }
        std::thread::sleep(EVERY.saturating_sub(started.elapsed()));
    }
}

/// Runs one checkpoint in `mode`: (busy, frames in the log, frames copied back).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
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

    #[test]
    fn the_log_shrinks_back_once_a_long_reader_lets_go_and_the_writer_sees_no_other_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let writer = crate::store::Store::open(&path).unwrap();
        writer.checkpoint_in_background().unwrap();
        writer
            .conn
            .execute_batch("CREATE TABLE t (x BLOB)")
            .unwrap();
        let checkpointer = Checkpointer::start(&path).unwrap();
        // A reader holds a snapshot while 48 MiB are written: the log cannot be reused, so it grows.
        let reader = Connection::open(&path).unwrap();
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM t;")
            .unwrap();
        for _ in 0..48 {
            writer
                .conn
                .execute_batch(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 256)
                     INSERT INTO t SELECT randomblob(4096) FROM n",
                )
                .unwrap();
            checkpointer.committed();
        }
        let wal = wal_path(&path);
        let wal_len = || std::fs::metadata(&wal).map_or(0, |m| m.len() as i64);
        let grown = wal_len();
        assert!(grown > WAL_SIZE_LIMIT, "the log grew to {grown} bytes only");
        let version = writer.data_version().unwrap();
        reader.execute_batch("COMMIT").unwrap();
        drop(reader);
        // No further write: the thread asks, and the idle writer truncates (as its idle loop does).
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut asked = 0;
        while wal_len() > WAL_SIZE_LIMIT && Instant::now() < deadline {
            if checkpointer.truncate_wanted() {
                asked += 1;
                writer.truncate_log_now().unwrap();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let shrunk = wal_len();
        println!("the log grew to {grown} bytes under a reader and went back to {shrunk}");
        assert!(
            shrunk <= WAL_SIZE_LIMIT,
            "still {shrunk} bytes 30 s after the reader left ({asked} asks)"
        );
        // A truncation by another connection would read as another process's commit, and make the
        // daemon reload its window and publish everything again.
        assert_eq!(
            writer.data_version().unwrap(),
            version,
            "the writer saw its own checkpoints as another writer"
        );
    }
}
