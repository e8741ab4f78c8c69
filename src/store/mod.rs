//! SQLite storage: the only module that speaks SQL.
//!
//! The database runs in WAL mode, so readers (publishing, the CLI) never block the single writer (ingest).
//! The schema lives in `migrations/` as numbered SQL files, applied at open in one transaction each. Fetched
//! feeds are written in batches ([`Batch`]), each feed all or nothing, so a crash or kill leaves either all
//! of a feed's items or none of them. This module turns dedup's placements into rows and answers its
//! exact-key look-ups; it decides nothing about where an item goes.

mod checkpoint;
mod history;
mod ingest;
mod overview;
mod routes;
mod settle;
mod sources;
mod stats;
mod stories;
mod upkeep;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};

pub use checkpoint::{Checkpointer, WAL_SIZE_LIMIT, wal_path};
pub(crate) use history::{HourTally, PollTally};
pub use ingest::FeedCounts;
pub(crate) use ingest::{Batch, FeedRows};
pub use routes::{REROUTE_CHUNK, RerouteStep};
pub use sources::{ScheduleEntry, SourceReader, SourceRow, SourceState};
pub use stats::StoreStats;
pub use stories::{DecisionRow, MemberView, StoryView};

/// The migrations, in order. Append new files; never edit a released one.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/0001_initial.sql")),
    M::up(include_str!("../../migrations/0002_skip_hints.sql")),
    M::up(include_str!("../../migrations/0003_typed_poll_results.sql")),
    M::up(include_str!("../../migrations/0004_paused_sources.sql")),
    M::up(include_str!("../../migrations/0005_poll_history.sql")),
    M::up(include_str!("../../migrations/0006_item_authors.sql")),
    M::up(include_str!("../../migrations/0007_section_routes.sql")),
    M::up(include_str!("../../migrations/0008_source_record.sql")),
    M::up(include_str!("../../migrations/0009_settled.sql")),
    M::up(include_str!("../../migrations/0010_prune_horizon.sql")),
];

/// How long a connection waits for the write lock before a statement fails with "database is locked".
/// Short enough that a held lock shows up in `/healthz` soon; the writer retries on its own.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the database cannot be written at all right now (another process holds the lock, the disk is full,
/// the file is read-only, an I/O error), as opposed to a problem with the rows being written. Such a
/// condition is waited out and retried, never blamed on a feed. None for any other error.
pub fn unavailable(e: &anyhow::Error) -> Option<String> {
    use rusqlite::ErrorCode::*;
    e.chain().find_map(|cause| {
        let rusqlite::Error::SqliteFailure(f, msg) = cause.downcast_ref::<rusqlite::Error>()?
        else {
            return None;
        };
        let what = match f.code {
            DatabaseBusy | DatabaseLocked => "the database is locked by another process",
            DiskFull => "the disk is full",
            ReadOnly => "the database is read-only",
            SystemIoFailure => "an I/O error",
            CannotOpen => "the database file cannot be opened",
            OutOfMemory => "SQLite ran out of memory",
            DatabaseCorrupt | NotADatabase => "the database file is damaged",
            _ => return None,
        };
        Some(match msg {
            Some(m) => format!("{what} ({m})"),
            None => what.to_string(),
        })
    })
}

/// A connection to the wiredesk database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        }
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        configure(&conn)
            .with_context(|| format!("cannot configure the database {}", path.display()))?;
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut conn)
            .with_context(|| format!("cannot migrate the database {}", path.display()))?;
        Ok(Store { conn })
    }

    /// Lets this connection's page cache grow to [`INGEST_CACHE_MIB`]: the writer's, once it stores new items.
    pub(crate) fn widen_cache_for_new_items(&self) -> anyhow::Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -1024 * INGEST_CACHE_MIB)
            .context("cannot widen the database page cache")
    }

    /// Shrinks the page cache back to every connection's 8 MiB and hands the freed memory back to the system:
    /// before a long settle, during which the writer reads and writes little while the similarity window
    /// grows to its largest. The next ingest of new items widens it again.
    pub(crate) fn narrow_cache(&self) -> anyhow::Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -CACHE_KIB)
            .and_then(|()| self.conn.execute_batch("PRAGMA shrink_memory"))
            .context("cannot shrink the database page cache")?;
        // SQLite allocates its pages with the C allocator, which keeps freed memory for reuse unless asked.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only walks and releases glibc's own free lists.
        unsafe {
            libc::malloc_trim(0);
        }
        Ok(())
    }

    /// Opens an existing database read-only, for readers running beside the daemon.
    pub fn open_read_only(path: &Path) -> anyhow::Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| {
            format!(
                "cannot open the database {} (has wiredesk run yet?)",
                path.display()
            )
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(Store { conn })
    }

    /// Hands most checkpointing to a [`Checkpointer`]'s thread: this connection then checkpoints on commit
    /// only when the log has grown past 256 MiB, and keeps the log file at up to twice that while it writes.
    pub fn checkpoint_in_background(&self) -> anyhow::Result<()> {
        self.conn.pragma_update(
            None,
            "wal_autocheckpoint",
            checkpoint::WRITER_AUTOCHECKPOINT_PAGES,
        )?;
        self.conn
            .pragma_update(None, "journal_size_limit", checkpoint::WRITER_LOG_LIMIT)?;
        Ok(())
    }

    /// The exact layers' look-ups over what is committed, outside any batch.
    pub(crate) fn keys(&self) -> &impl crate::dedup::ExactKeys<Error = anyhow::Error> {
        &self.conn
    }

    /// Starts a transaction for several feeds (see [`Batch`]).
    pub fn begin_batch(&mut self) -> anyhow::Result<Batch<'_>> {
        // Ingest references only rows it read or wrote in this same transaction, or sources, which are never
        // deleted; checking each item's three references cost 12 % of a first poll cycle. Deleting (prune,
        // sync) turns the checks and their cascades back on.
        self.enforce_foreign_keys(false)?;
        // Immediate: the write lock is taken before the batch reads the next free ids (see `Batch::next_ids`).
        Ok(Batch::new(self.conn.transaction_with_behavior(
            rusqlite::TransactionBehavior::Immediate,
        )?))
    }

    /// Turns foreign-key enforcement (and its cascades) on or off for this connection. Only takes effect
    /// outside a transaction.
    pub(crate) fn enforce_foreign_keys(&self, on: bool) -> anyhow::Result<()> {
        // Setting the pragma expires every prepared statement of the connection, even to the value it
        // has, so each batch would compile all of its cached statements again (a fifth of the writer's
        // CPU in an unchanged 100k cycle); reading it expires nothing.
        let current: bool = self
            .conn
            .prepare_cached("PRAGMA foreign_keys")?
            .query_row([], |r| r.get(0))?;
        if current != on {
            self.conn
                .pragma_update(None, "foreign_keys", if on { "ON" } else { "OFF" })?;
        }
        Ok(())
    }

    /// Runs `PRAGMA integrity_check` and returns its verdict (`ok` when healthy).
    pub fn integrity_check(&self) -> anyhow::Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// The writer's page cache, at most, in MiB. Ingest touches index pages scattered by hash (URL and text keys,
/// sections by publication time); once those indexes outgrow the 8 MiB every connection has, each insert
/// reads its leaf pages back from the operating system. At 2,000,000 items (benches/poll.sh 100000 1000)
/// 64 MiB cut the first cycle from 292.6 to 258.0 s for 68 MB more at peak; SQLite fills the cache only as
/// pages are read, so a small database costs nothing more. A cycle that stores nothing new keeps 8 MiB: it
/// only rewrites source rows, and at 100,000 sources the larger cache cost it 55 MB.
const INGEST_CACHE_MIB: i64 = 64;

/// Every connection's page cache, in KiB (see `configure`).
const CACHE_KIB: i64 = 8_192;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Pages freed by pruning go back to the file system bit by bit (see `Store::prune`). This only takes
    // effect on a new database, before its first table; older ones keep reusing freed pages instead.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    // Ingest alone uses about 20 statements; rusqlite's default cache of 16 made them evict each other and
    // be parsed again on every feed.
    conn.set_prepared_statement_cache_capacity(64);
    // WAL + NORMAL: a crash may lose the last commits, never corrupt; readers do not block the writer.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // An 8 MiB page cache per connection: ingest appends rows and touches index pages scattered by hash, which
    // the operating system's page cache serves nearly as fast. In benches/poll.sh 8, 16 and 32 MiB polled
    // equally fast, and each halving saved 16-25 MB of peak RSS. Checkpointing every 32 MiB of WAL rather
    // than every 4 MiB copies a page that many batches touch back into the database once, not many times.
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
    // When the log starts over, its file is cut back to this size: a reader that held it for long made it
    // grow, and it must not stay that size (the writer, which keeps a larger log while it ingests, truncates
    // it when idle; see `checkpoint`).
    conn.pragma_update(None, "journal_size_limit", checkpoint::WAL_SIZE_LIMIT)?;
    // Each feed's savepoint journals the pages it changes; in memory that costs no write system calls.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormalizedItem;
    use rusqlite::OptionalExtension;

    /// A minimal item with a link, published at `published` (unix secs).
    fn test_item(guid: &str, published: i64) -> NormalizedItem {
        NormalizedItem {
            guid: guid.into(),
            url: Some(format!("https://x.example/{guid}")),
            canonical_url: None,
            title: guid.into(),
            summary: String::new(),
            content_html: String::new(),
            author: None,
            published: chrono::DateTime::from_timestamp(published, 0).unwrap(),
            date_from_feed: true,
            content_hash: None,
            ..Default::default()
        }
    }

    /// A config with sections a, b, c and the given `[[sources]]` tables.
    fn config_with(dir: &Path, sources: &str) -> crate::config::Config {
        let text = format!(
            "[storage]\npath = \"s.db\"\n\
             [[sections]]\nid = \"a\"\ntitle = \"A\"\n\
             [[sections]]\nid = \"b\"\ntitle = \"B\"\n\
             [[sections]]\nid = \"c\"\ntitle = \"C\"\n{sources}"
        );
        crate::config::parse(&dir.join("feeds.toml"), &text).unwrap()
    }

    /// Syncs `config` again, which was synced last, and checks that nothing was written.
    fn assert_resync_writes_nothing(store: &mut Store, config: &crate::config::Config) {
        let written = store.conn.total_changes();
        store.sync_sources(config).unwrap();
        assert_eq!(
            store.conn.total_changes(),
            written,
            "an unchanged config writes nothing"
        );
    }

    #[test]
    fn sync_matches_stored_and_configured_sources_whatever_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let config = |sources: &[(&str, &str)]| {
            let tables: String = sources
                .iter()
                .map(|(url, name)| {
                    format!("[[sources]]\nname = \"{name}\"\nurl = \"{url}\"\nsections = [\"b\", \"a\"]\n")
                })
                .collect();
            config_with(dir.path(), &tables)
        };
        // File order is not URL order, one URL is a prefix of another, and upper case sorts first.
        let first = config(&[
            ("https://m.example/f2", "n"),
            ("https://m.example/f", "n"),
            ("https://Z.example/x", "n"),
            ("https://b.example/x", "n"),
            ("https://y.example/x", "n"),
        ]);
        store.sync_sources(&first).unwrap();
        let urls: Vec<String> = store
            .sources()
            .unwrap()
            .into_iter()
            .map(|s| s.url)
            .collect();
        assert_eq!(
            urls,
            first
                .sources
                .iter()
                .map(|s| s.url.clone())
                .collect::<Vec<_>>()
        );
        assert_resync_writes_nothing(&mut store, &first);

        // Added before, between and after the stored ones, one renamed, two gone.
        let second = config(&[
            ("https://zz.example/x", "n"),
            ("https://m.example/f3", "n"),
            ("https://m.example/f", "renamed"),
            ("https://a.example/x", "n"),
            ("https://Z.example/x", "n"),
            ("https://m.example/f2", "n"),
        ]);
        store.sync_sources(&second).unwrap();
        let mut rows: Vec<(String, String, bool, Vec<String>)> = store
            .sources()
            .unwrap()
            .into_iter()
            .map(|s| (s.url, s.name, s.active, s.sections))
            .collect();
        rows.sort();
        let row = |url: &str, name: &str, active: bool| {
            (
                url.to_string(),
                name.to_string(),
                active,
                vec!["a".to_string(), "b".to_string()],
            )
        };
        assert_eq!(
            rows,
            vec![
                row("https://Z.example/x", "n", true),
                row("https://a.example/x", "n", true),
                row("https://b.example/x", "n", false),
                row("https://m.example/f", "renamed", true),
                row("https://m.example/f2", "n", true),
                row("https://m.example/f3", "n", true),
                row("https://y.example/x", "n", false),
                row("https://zz.example/x", "n", true),
            ]
        );
        assert_resync_writes_nothing(&mut store, &second);
    }

    #[test]
    fn sync_writes_only_what_changed_and_retires_removed_sources() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let source = |name: &str, sections: &str, priority: i32| {
            format!(
                "[[sources]]\nname = \"{name}\"\nurl = \"https://{name}.example/f\"\n\
                 sections = [{sections}]\npriority = {priority}\n"
            )
        };
        let first = format!(
            "{}{}",
            source("one", "\"b\", \"a\"", 0),
            source("two", "\"c\"", 0)
        );
        store
            .sync_sources(&config_with(dir.path(), &first))
            .unwrap();
        assert_resync_writes_nothing(&mut store, &config_with(dir.path(), &first));
        // "one" changes sections and priority, "two" goes, "three" comes.
        let second = format!(
            "{}{}",
            source("one", "\"c\"", 5),
            source("three", "\"a\"", 0)
        );
        store
            .sync_sources(&config_with(dir.path(), &second))
            .unwrap();
        let rows: Vec<(String, bool, i32, Vec<String>)> = store
            .sources()
            .unwrap()
            .into_iter()
            .map(|s| (s.name, s.active, s.priority, s.sections))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("one".to_string(), true, 5, vec!["c".to_string()]),
                ("three".to_string(), true, 0, vec!["a".to_string()]),
                ("two".to_string(), false, 0, vec!["c".to_string()]),
            ]
        );
        // Pausing a source is stored, and so is resuming it.
        let paused = first.replace(
            "priority = 0\n[[sources]]\nname = \"two\"",
            "priority = 0\nenabled = false\n[[sources]]\nname = \"two\"",
        );
        assert_ne!(paused, first);
        store
            .sync_sources(&config_with(dir.path(), &paused))
            .unwrap();
        let one = |store: &Store| {
            store
                .sources()
                .unwrap()
                .into_iter()
                .find(|s| s.name == "one")
                .unwrap()
        };
        assert_eq!(
            (one(&store).enabled, one(&store).state()),
            (false, SourceState::Paused)
        );
        // And back: "two" returns with its old id.
        store
            .sync_sources(&config_with(dir.path(), &first))
            .unwrap();
        let two = store
            .sources()
            .unwrap()
            .into_iter()
            .find(|s| s.name == "two");
        assert_eq!(two.map(|s| (s.id, s.active)), Some((2, true)));
        assert!(one(&store).enabled, "resumed");
    }

    /// Source `id` as a row with the sections it feeds.
    fn row(store: &Store, id: i64) -> SourceRow {
        store
            .sources()
            .unwrap()
            .into_iter()
            .find(|s| s.id == id)
            .unwrap()
    }

    /// Writes `items` of `source` in one batch, each placed as a new story or into the story named.
    fn write(
        store: &mut Store,
        source: &SourceRow,
        items: &[(NormalizedItem, Option<i64>)],
        now: i64,
    ) {
        use crate::dedup::{Decision, Placement};
        let batch = store.begin_batch().unwrap();
        let mut ids = batch.first_free_ids().unwrap();
        let placements: Vec<Placement> = items
            .iter()
            .map(|(_, story)| {
                let item_id = ids.item;
                ids.item += 1;
                let story_id = story.unwrap_or_else(|| {
                    ids.story += 1;
                    ids.story - 1
                });
                Placement::Insert {
                    item_id,
                    story_id,
                    new_story: story.is_none(),
                    decision: Decision::new_story("test".into(), Vec::new(), 0.0),
                }
            })
            .collect();
        let entries: Vec<NormalizedItem> = items.iter().map(|(i, _)| i.clone()).collect();
        let tx = batch.feed(true).unwrap();
        tx.write(&FeedRows {
            source,
            items: &entries,
            placements: &placements,
            now,
            router: &crate::route::Router::default(),
        })
        .unwrap();
        tx.commit().unwrap();
        batch.commit().unwrap();
    }

    #[test]
    fn a_saved_polling_state_reads_back_typed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name) VALUES ('https://a.example/f', 'A');
                 INSERT INTO source_sections (source_id, section) VALUES (1, 'world');",
            )
            .unwrap();
        let mut polled = row(&store, 1);
        polled.validators = crate::fetch::Validators {
            etag: Some("\"e1\"".into()),
            last_modified: Some("Sun, 29 Nov 2026 10:00:00 GMT".into()),
            body_hash: Some("abc".into()),
        };
        polled.next_due = Some(4_600);
        polled.due_reason = Some(crate::schedule::DueReason::RetryAfter);
        polled.last_polled = Some(1_000);
        polled.last_result = Some(crate::pipeline::PollStatus::Failed(
            crate::pipeline::FailureKind::Fetch(crate::fetch::FetchErrorKind::Http(503)),
        ));
        polled.consecutive_errors = 2;
        polled.first_error_at = Some(900);
        polled.feed_title = Some("A feed".into());
        polled.ttl_minutes = Some(30);
        polled.moved_to = Some("https://b.example/f".into());
        let batch = store.begin_batch().unwrap();
        batch.feed(false).unwrap().save_state(&polled, 3).unwrap();
        batch.commit().unwrap();
        let stored = row(&store, 1);
        polled.items_seen = 3;
        assert_eq!(format!("{polled:?}"), format!("{stored:?}"));
        // A poll starts from the row read by its id; between polls the scheduler keeps only an entry,
        // which is polled at the address the source moved to.
        let by_id = store.source(1).unwrap().expect("source 1");
        assert_eq!(format!("{by_id:?}"), format!("{stored:?}"));
        assert!(store.source(99).unwrap().is_none());
        assert_eq!(
            store.schedule_entries().unwrap(),
            vec![ScheduleEntry::from(&stored)]
        );
        assert_eq!(
            &*ScheduleEntry::from(&stored).poll_url,
            "https://b.example/f"
        );
        assert_eq!(
            stored.last_result.map(|r| r.to_string()).as_deref(),
            Some("error (http-503)")
        );
        // A state that no longer fits the schema's source is refused, not silently dropped.
        let mut missing = polled.clone();
        missing.id = 99;
        let batch = store.begin_batch().unwrap();
        assert!(batch.feed(false).unwrap().save_state(&missing, 0).is_err());
    }

    #[test]
    fn batches_keep_the_writers_statements_compiled_and_switch_foreign_keys_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("p.db")).unwrap();
        store
            .conn
            .execute_batch("INSERT INTO sources (url, name) VALUES ('https://a.example/f', 'A');")
            .unwrap();
        let polled = row(&store, 1);
        let foreign_keys = |store: &Store| -> bool {
            store
                .conn
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .unwrap()
        };
        for _ in 0..3 {
            let batch = store.begin_batch().unwrap();
            batch.first_free_ids().unwrap();
            batch.feed(false).unwrap().save_state(&polled, 0).unwrap();
            batch.commit().unwrap();
            assert!(!foreign_keys(&store), "ingest runs without the checks");
        }
        // Setting the pragma, even to the value it has, expires every prepared statement: three batches
        // must not have compiled the id look-up again.
        let sql = "SELECT coalesce(max(id), 0) + 1 FROM items";
        let reprepared = store
            .conn
            .prepare_cached(sql)
            .unwrap()
            .get_status(rusqlite::StatementStatus::RePrepare);
        assert_eq!(reprepared, 0, "batches recompiled the cached statements");
        store.enforce_foreign_keys(true).unwrap();
        assert!(foreign_keys(&store), "pruning and sync get their cascades");
        store.enforce_foreign_keys(false).unwrap();
        assert!(!foreign_keys(&store));
    }

    #[test]
    fn a_reader_sees_every_row_written_before_its_turn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let mut store = Store::open(&path).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name) VALUES ('https://a.example/f', 'A');
                 INSERT INTO sources (url, name) VALUES ('https://b.example/f', 'B');
                 INSERT INTO source_sections (source_id, section) VALUES (1, 'world');",
            )
            .unwrap();
        let mut reader = SourceReader::open(&path).unwrap();
        let first = reader.read(1).unwrap().expect("source 1");
        assert_eq!(
            (
                first.name.as_str(),
                first.sections.as_slice(),
                first.validators.etag.clone()
            ),
            ("A", &["world".to_string()][..], None)
        );
        // Its poll stores a new state; the next turn reads it.
        let mut polled = first.clone();
        polled.validators.etag = Some("\"e1\"".into());
        let batch = store.begin_batch().unwrap();
        batch.feed(false).unwrap().save_state(&polled, 0).unwrap();
        batch.commit().unwrap();
        reader.end_turn();
        let again = reader.read(1).unwrap().expect("source 1");
        assert_eq!(again.validators.etag.as_deref(), Some("\"e1\""));
        assert_eq!(reader.read(2).unwrap().map(|s| s.name), Some("B".into()));
        assert!(reader.read(3).unwrap().is_none());
    }

    /// The stored prune horizon (migration 0010).
    fn prune_horizon(store: &Store) -> Option<i64> {
        store
            .conn
            .query_row("SELECT earliest FROM prune_horizon", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn the_prune_horizon_is_the_earliest_moment_a_stored_row_can_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        // A database made before migration 0010, with an item published in the future (it goes by its
        // publication time), one first seen after it was published (by that), and a tombstone.
        {
            let mut conn = Connection::open(&path).unwrap();
            Migrations::from_slice(&MIGRATIONS[..9])
                .to_latest(&mut conn)
                .unwrap();
            conn.execute_batch(
                "INSERT INTO sources (url, name) VALUES ('https://a.example/f', 'A');
                 INSERT INTO stories (id, guid, published, first_seen, updated) VALUES (1, 's', 0, 0, 0);
                 INSERT INTO items (source_id, guid, title, summary, content_html, published, date_from_feed,
                                    first_seen, updated, story_id)
                 VALUES (1, 'future', 't', '', '', 8000, 1, 3000, 3000, 1),
                        (1, 'late', 't', '', '', 1000, 1, 6000, 6000, 1);
                 INSERT INTO tombstones (source_id, guid, pruned_at) VALUES (1, 'gone', 7000);",
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(
            prune_horizon(&store),
            Some(6_000),
            "the migration reads what is stored"
        );
        assert_eq!(store.prune(6_000, 9_000).unwrap(), 0, "nothing is due yet");
        assert_eq!(
            store.prune(6_001, 9_000).unwrap(),
            1,
            "'late' is due at 6,000"
        );
        assert_eq!(
            prune_horizon(&store),
            Some(7_000),
            "then the old tombstone is next ('future' goes at 8,000, the new tombstone at 9,000)"
        );
        let empty = Store::open(&dir.path().join("e.db")).unwrap();
        assert_eq!(
            prune_horizon(&empty),
            None,
            "nothing stored, nothing to prune"
        );
    }

    #[test]
    fn pruning_keeps_tombstones_and_drops_empty_stories() {
        use crate::dedup::ExactKeys;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("p.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name) VALUES ('https://a.example/f', 'A');
                 INSERT INTO source_sections (source_id, section) VALUES (1, 'world');",
            )
            .unwrap();
        // Through a batch, as the daemon ingests (foreign-key checks off), so the cascades below prove
        // that pruning turns them back on.
        let source = row(&store, 1);
        write(
            &mut store,
            &source,
            &[(test_item("old", 1_000), None)],
            1_000,
        );
        write(
            &mut store,
            &source,
            &[(test_item("new", 9_000), None)],
            9_000,
        );
        store
            .conn
            .execute_batch(
                "INSERT INTO dedup_decisions (item_id, story_id, layer, score, reason, decided_at)
                 SELECT id, story_id, 'new', 0.5, 'test', 0 FROM items",
            )
            .unwrap();
        assert_eq!(
            store.prune(500, 10_000).unwrap(),
            0,
            "nothing is older than the cutoff"
        );
        assert_eq!(store.prune(5_000, 10_000).unwrap(), 1);
        let (_, items, stories) = store.counts().unwrap();
        assert_eq!((items, stories), (1, 1));
        assert_eq!(
            prune_horizon(&store),
            Some(9_000),
            "after pruning, the horizon is the newest item's, which is older than the tombstone made at 10,000"
        );
        let count = |table: &str| -> i64 {
            store
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(
            (count("story_sections"), count("dedup_decisions")),
            (1, 1),
            "the pruned story's section row and decision went with it"
        );
        let batch = store.begin_batch().unwrap();
        let tx = batch.feed(false).unwrap();
        assert!(
            tx.keys().is_tombstoned(1, "old").unwrap(),
            "a pruned item cannot come back"
        );
        assert!(!tx.keys().is_tombstoned(1, "new").unwrap());
    }

    #[test]
    fn a_new_member_moves_updated_keeps_the_guid_and_may_become_representative() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name, priority) VALUES ('https://farm.example/f', 'Farm', 0);
                 INSERT INTO sources (url, name, priority) VALUES ('https://wire.example/f', 'Wire', 10);
                 INSERT INTO source_sections (source_id, section) VALUES (1, 'world'), (2, 'world');",
            )
            .unwrap();
        let (farm, wire) = (row(&store, 1), row(&store, 2));
        write(
            &mut store,
            &farm,
            &[(test_item("copy", 2_000), None)],
            5_000,
        );
        write(
            &mut store,
            &wire,
            &[(test_item("original", 1_000), Some(1))],
            6_000,
        );
        let stories = store.section_stories("world", 10).unwrap();
        assert_eq!(stories.len(), 1);
        let s = &stories[0];
        assert_eq!(
            s.guid,
            crate::dedup::story_guid("https://farm.example/f", "copy"),
            "the GUID stays"
        );
        assert_eq!(s.updated, 6_000, "a new member moves updated");
        assert_eq!(
            s.representative().source_name,
            "Wire",
            "the higher-priority source represents the story"
        );
        assert_eq!(s.published, 1_000);
        assert_eq!(s.members.len(), 2);
    }

    #[test]
    fn settled_moves_found_empty_and_recount_stories() {
        use crate::dedup::similar::Moved;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name) VALUES ('https://wire.example/f', 'Wire');
                 INSERT INTO sources (url, name) VALUES ('https://farm.example/f', 'Farm');
                 INSERT INTO sources (url, name) VALUES ('https://blog.example/f', 'Blog');
                 INSERT INTO source_sections (source_id, section) VALUES (1, 'a'), (2, 'a'), (3, 'b');",
            )
            .unwrap();
        let (wire, farm, blog) = (row(&store, 1), row(&store, 2), row(&store, 3));
        // Online: the farm's copy (item 2) founded story 2 before the wire's original (item 1, story 1),
        // and the blog's item (3) joined the farm's story.
        write(&mut store, &wire, &[(test_item("w", 1_000), None)], 5_000);
        write(&mut store, &farm, &[(test_item("f", 1_100), None)], 5_000);
        write(
            &mut store,
            &blog,
            &[(test_item("b", 1_200), Some(2))],
            5_000,
        );
        let guid_of = |store: &Store, story: i64| -> Option<String> {
            store
                .conn
                .query_row("SELECT guid FROM stories WHERE id = ?1", [story], |r| {
                    r.get(0)
                })
                .optional()
                .unwrap()
        };
        let story_one = guid_of(&store, 1).unwrap();
        // Settled: the farm's copy joins the wire's story, and the blog's item is a story of its own.
        let next = store.next_story_id().unwrap();
        assert_eq!(next, 3);
        let moved = [
            Moved {
                item_id: 2,
                from: 2,
                to: 1,
                decision: None,
            },
            Moved {
                item_id: 3,
                from: 2,
                to: next,
                decision: None,
            },
        ];
        let router = crate::route::Router::new(&config_with(
            dir.path(),
            "[[sources]]\nname = \"Wire\"\nurl = \"https://wire.example/f\"\nsections = [\"a\"]\n\
             [[sources]]\nname = \"Farm\"\nurl = \"https://farm.example/f\"\nsections = [\"a\"]\n\
             [[sources]]\nname = \"Blog\"\nurl = \"https://blog.example/f\"\nsections = [\"b\"]\n",
        ));
        let through = store.last_item_id().unwrap();
        let changed = store
            .write_settled(&moved, &[], &router, through, 6_000)
            .unwrap();
        assert_eq!(changed.into_iter().collect::<Vec<_>>(), vec!["a", "b"]);
        let stories_of = |store: &Store| -> Vec<(i64, i64)> {
            let mut stmt = store
                .conn
                .prepare("SELECT id, story_id FROM items ORDER BY id")
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(stories_of(&store), vec![(1, 1), (2, 1), (3, 3)]);
        assert_eq!(
            guid_of(&store, 1),
            Some(story_one),
            "a story keeps its GUID"
        );
        assert_eq!(guid_of(&store, 2), None, "a story settling emptied is gone");
        assert_eq!(
            guid_of(&store, 3),
            Some(crate::dedup::story_guid(
                "https://blog.example/f",
                "b\nsettled into story 3"
            )),
            "a story settling founded is named after its founder and its id"
        );
        let guids: i64 = store
            .conn
            .query_row("SELECT count(DISTINCT guid) FROM stories", [], |r| r.get(0))
            .unwrap();
        assert_eq!(guids, 2);
        let sections = |story: i64| -> Vec<String> {
            let mut stmt = store
                .conn
                .prepare("SELECT section FROM story_sections WHERE story_id = ?1 ORDER BY section")
                .unwrap();
            stmt.query_map([story], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(
            (sections(1), sections(2), sections(3)),
            (vec!["a".to_string()], vec![], vec!["b".to_string()])
        );
        // The records count what the stories are now: the wire is the original of the one shared story.
        let records: Vec<(i64, i64)> = {
            let mut stmt = store
                .conn
                .prepare("SELECT original_items, shared_items FROM sources ORDER BY id")
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(records, vec![(1, 1), (0, 1), (0, 0)]);
        let settled: i64 = store
            .conn
            .query_row("SELECT through_item FROM settled", [], |r| r.get(0))
            .unwrap();
        assert_eq!(settled, 3);
    }

    #[test]
    fn a_source_that_usually_copies_does_not_become_the_original_by_dating_its_copy_earlier() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name) VALUES ('https://farm.example/f', 'Farm');
                 INSERT INTO sources (url, name) VALUES ('https://wire.example/f', 'Wire');
                 INSERT INTO source_sections (source_id, section) VALUES (1, 'world'), (2, 'world');",
            )
            .unwrap();
        let (farm, wire) = (row(&store, 1), row(&store, 2));
        // Four stories the wire published and the farm copied later: the wire's record is 5 in 6, the
        // farm's 1 in 6.
        for k in 0..4i64 {
            write(
                &mut store,
                &wire,
                &[(test_item(&format!("w{k}"), 1_000 + k), None)],
                5_000,
            );
            write(
                &mut store,
                &farm,
                &[(test_item(&format!("f{k}"), 1_100 + k), Some(k + 1))],
                5_000,
            );
        }
        let record = |store: &Store, id: i64| -> (i64, i64) {
            store
                .conn
                .query_row(
                    "SELECT original_items, shared_items FROM sources WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        assert_eq!(record(&store, 2), (4, 4));
        assert_eq!(record(&store, 1), (0, 4));
        // The farm's next copy claims an earlier time than the wire's story and arrives first.
        write(
            &mut store,
            &farm,
            &[(test_item("f-early", 900), None)],
            6_000,
        );
        write(
            &mut store,
            &wire,
            &[(test_item("w-late", 1_000), Some(5))],
            6_000,
        );
        let stories = store.section_stories("world", 10).unwrap();
        let s = stories
            .iter()
            .find(|s| s.members.len() == 2 && s.published <= 1_000)
            .unwrap();
        assert_eq!(
            s.representative().source_name,
            "Wire",
            "the record outranks the claimed time"
        );
        assert_eq!(s.published, 1_000);
        assert_eq!(
            s.guid,
            crate::dedup::story_guid("https://farm.example/f", "f-early"),
            "the GUID stays"
        );
        assert_eq!(record(&store, 2), (5, 5));
        assert_eq!(record(&store, 1), (0, 5));
        // Between sources of equal standing the earlier time still decides.
        let add_source = |id: i64, url: &str, name: &str| {
            store
                .conn
                .execute(
                    "INSERT INTO sources (url, name) VALUES (?1, ?2)",
                    [url, name],
                )
                .unwrap();
            store
                .conn
                .execute(
                    "INSERT INTO source_sections (source_id, section) VALUES (?1, 'world')",
                    [id],
                )
                .unwrap();
            row(&store, id)
        };
        let third = add_source(3, "https://other.example/f", "Other");
        let fourth = add_source(4, "https://more.example/f", "More");
        write(&mut store, &third, &[(test_item("o", 3_000), None)], 7_000);
        write(
            &mut store,
            &fourth,
            &[(test_item("m", 2_500), Some(6))],
            7_000,
        );
        let stories = store.section_stories("world", 10).unwrap();
        let s = stories
            .iter()
            .find(|s| s.members.iter().any(|m| m.source_name == "More"))
            .unwrap();
        assert_eq!(s.representative().source_name, "More");
    }

    #[test]
    fn bylines_are_stored_with_name_email_and_uri() {
        use crate::normalize::Byline;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name) VALUES ('https://wire.example/f', 'Wire');
                 INSERT INTO source_sections (source_id, section) VALUES (1, 'world');",
            )
            .unwrap();
        let bylines = vec![
            Byline {
                name: Some("Editorial Board".into()),
                email: Some("ed@wire.example".into()),
                uri: None,
            },
            Byline {
                name: Some("Jane Doe".into()),
                email: None,
                uri: Some("https://wire.example/jane".into()),
            },
        ];
        let item = NormalizedItem {
            author: Some("Editorial Board, Jane Doe".into()),
            authors: bylines.clone(),
            ..test_item("a", 1_000)
        };
        let wire = row(&store, 1);
        write(&mut store, &wire, &[(item, None)], 2_000);
        let read = |store: &Store| {
            store.section_stories("world", 1).unwrap()[0]
                .representative()
                .authors
                .clone()
        };
        assert_eq!(read(&store), bylines);
        // Rows stored before the column existed have only the joined names.
        store
            .conn
            .execute_batch("UPDATE items SET authors = NULL")
            .unwrap();
        let names: Vec<Option<String>> = read(&store).into_iter().map(|b| b.name).collect();
        assert_eq!(
            names,
            [Some("Editorial Board".into()), Some("Jane Doe".into())]
        );
    }

    #[test]
    fn store_failures_are_told_from_row_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let mut store = Store::open(&path).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        store.conn.busy_timeout(Duration::from_millis(10)).unwrap();
        let locked = store.begin_batch().err().expect("the lock is held");
        let why = unavailable(&locked).expect("a held lock is the store's condition");
        assert!(why.contains("locked"), "{why}");
        other.execute_batch("ROLLBACK").unwrap();
        let batch = store.begin_batch().unwrap();
        let bad = batch
            .feed(false)
            .unwrap()
            .save_state(&SourceRow::default(), 0)
            .unwrap_err();
        assert_eq!(
            unavailable(&bad),
            None,
            "a missing row is not the store's condition"
        );
    }

    #[test]
    fn migrations_are_valid_and_open_twice() {
        Migrations::from_slice(MIGRATIONS).validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/w.db");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
