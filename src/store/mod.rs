//! SQLite storage: the only module that speaks SQL.
//!
//! The database runs in WAL mode, so readers (publishing, the CLI) never block the single writer (ingest).
//! The schema lives in `migrations/` as numbered SQL files, applied at open in one transaction each. Every
//! fetched feed is ingested in one transaction ([`IngestTx`]), so a crash or kill leaves either all of a
//! feed's items or none of them.

mod checkpoint;
mod ingest;
mod sources;
mod stories;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};

pub use checkpoint::Checkpointer;
pub use ingest::{Batch, ExistingItem, IngestTx, NewItem, StoryMatch};
pub use sources::{PollRecord, SourceRow};
pub use stories::{DecisionRow, MemberView, StoryView, WindowItem};

/// The migrations, in order. Append new files; never edit a released one.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/0001_initial.sql")),
    M::up(include_str!("../../migrations/0002_skip_hints.sql")),
];

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
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(Store { conn })
    }

    /// Hands most checkpointing to a [`Checkpointer`]'s thread: this connection then checkpoints on commit
    /// only when the log has grown past 64 MiB.
    pub fn checkpoint_in_background(&self) -> anyhow::Result<()> {
        self.conn.pragma_update(
            None,
            "wal_autocheckpoint",
            checkpoint::WRITER_AUTOCHECKPOINT_PAGES,
        )?;
        Ok(())
    }

    /// Starts a transaction for one feed on its own (tests; ingest uses [`Store::begin_batch`]).
    #[cfg(test)]
    pub fn begin_ingest(&mut self) -> anyhow::Result<IngestTx<'_>> {
        Ok(IngestTx::new(self.conn.savepoint()?))
    }

    /// Starts a transaction for several feeds, each in its own savepoint (see [`Batch`]).
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
        self.conn
            .pragma_update(None, "foreign_keys", if on { "ON" } else { "OFF" })?;
        Ok(())
    }

    /// Runs `PRAGMA integrity_check` and returns its verdict (`ok` when healthy).
    pub fn integrity_check(&self) -> anyhow::Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
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

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
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
    conn.pragma_update(None, "cache_size", -8_192)?;
    conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
    // Each feed's savepoint journals the pages it changes; in memory that costs no write system calls.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormalizedItem;

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
        // Syncing the same config again writes nothing.
        let changes = store.conn.total_changes();
        store
            .sync_sources(&config_with(dir.path(), &first))
            .unwrap();
        assert_eq!(store.conn.total_changes(), changes);
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
    }

    #[test]
    fn recording_a_poll_returns_the_row_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name) VALUES ('https://a.example/f', 'A');
                 INSERT INTO source_sections (source_id, section) VALUES (1, 'world');",
            )
            .unwrap();
        let record = PollRecord {
            polled_at: 1_000,
            result: "ok: 3 entries".into(),
            success: true,
            validators: Some(crate::fetch::Validators {
                etag: Some("\"e1\"".into()),
                last_modified: Some("Sun, 29 Nov 2026 10:00:00 GMT".into()),
                body_hash: Some("abc".into()),
            }),
            next_due: Some((4_600, "schedule".into())),
            feed_title: Some("A feed".into()),
            ttl_minutes: Some(30),
            ..PollRecord::default()
        };
        let batch = store.begin_batch().unwrap();
        let returned = batch.record_poll(1, &record).unwrap();
        batch.commit().unwrap();
        let mut stored = store.sources().unwrap().pop().unwrap();
        assert_eq!(stored.sections, vec!["world".to_string()]);
        stored.sections.clear();
        assert_eq!(format!("{returned:?}"), format!("{stored:?}"));
        assert_eq!(
            (returned.next_due, returned.validators.etag.as_deref()),
            (Some(4_600), Some("\"e1\""))
        );
    }

    #[test]
    fn pruning_keeps_tombstones_and_drops_empty_stories() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("p.db")).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO sources (url, name) VALUES ('https://a.example/f', 'A')",
                [],
            )
            .unwrap();
        let item = test_item;
        let sections = ["world".to_string()];
        // Through a batch, as the daemon ingests (foreign-key checks off), so the cascades below prove
        // that pruning turns them back on.
        let mut batch = store.begin_batch().unwrap();
        let (first_item, first_story) = batch.next_ids().unwrap();
        let tx = batch.feed().unwrap();
        for (k, (guid, t)) in [("old", 1_000), ("new", 9_000)].into_iter().enumerate() {
            let it = item(guid, t);
            let (item_id, story_id) = (first_item + k as i64, first_story + k as i64);
            tx.insert_with_new_story(
                &NewItem {
                    source_id: 1,
                    sections: &sections,
                    item: &it,
                    now: t,
                },
                guid,
                item_id,
                story_id,
            )
            .unwrap();
            tx.record_decision(item_id, story_id, "new", 0.0, "test", "[]", t)
                .unwrap();
        }
        tx.commit().unwrap();
        batch.commit().unwrap();
        assert_eq!(
            store.prune(500, 10_000).unwrap(),
            0,
            "nothing is older than the cutoff"
        );
        assert_eq!(store.prune(5_000, 10_000).unwrap(), 1);
        let (_, items, stories) = store.counts().unwrap();
        assert_eq!((items, stories), (1, 1));
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
        let tx = store.begin_ingest().unwrap();
        assert!(
            tx.is_tombstoned(1, "old").unwrap(),
            "a pruned item cannot come back"
        );
        assert!(!tx.is_tombstoned(1, "new").unwrap());
    }

    #[test]
    fn a_new_member_moves_updated_keeps_the_guid_and_may_become_representative() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name, priority) VALUES ('https://farm.example/f', 'Farm', 0);
                 INSERT INTO sources (url, name, priority) VALUES ('https://wire.example/f', 'Wire', 10);",
            )
            .unwrap();
        let item = test_item;
        let sections = ["world".to_string()];
        let (copy, original) = (item("copy", 2_000), item("original", 1_000));
        let tx = store.begin_ingest().unwrap();
        tx.insert_with_new_story(
            &NewItem {
                source_id: 1,
                sections: &sections,
                item: &copy,
                now: 5_000,
            },
            "urn:x:1",
            1,
            1,
        )
        .unwrap();
        tx.insert_into_story(
            &NewItem {
                source_id: 2,
                sections: &sections,
                item: &original,
                now: 6_000,
            },
            2,
            1,
        )
        .unwrap();
        tx.commit().unwrap();
        let stories = store.section_stories("world", 10).unwrap();
        assert_eq!(stories.len(), 1);
        let s = &stories[0];
        assert_eq!(s.guid, "urn:x:1", "the GUID stays");
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
