//! Source rows: syncing them with the config, and their polling state (validators, due times, errors),
//! which the pipeline computes and this module persists as typed values.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use crate::config::Config;
use crate::fetch::Validators;
use crate::pipeline::PollStatus;
use crate::schedule::{DueReason, SkipHints, Streak};

/// The columns [`source_from_row`] reads, in its order.
macro_rules! source_column_list {
    () => {
        "id, url, name, priority, merge, active, etag, last_modified, body_hash, next_due, due_reason,
                last_polled, last_result, last_success, consecutive_errors, first_error_at, last_error,
                moved_to, gone, feed_title, site_url, ttl_minutes, items_seen, skip_hours, skip_days, enabled"
    };
}

/// A source as stored: its config and its polling state.
#[derive(Debug, Clone, Default)]
pub struct SourceRow {
    /// Row id.
    pub id: i64,
    /// Configured feed URL.
    pub url: String,
    /// Display name.
    pub name: String,
    /// Representative preference.
    pub priority: i32,
    /// Whether similarity may join its items to other stories.
    pub merge: bool,
    /// Still in the config.
    pub active: bool,
    /// Not paused (`enabled = false` in the config pauses polling).
    pub enabled: bool,
    /// Sections it feeds.
    pub sections: Vec<String>,
    /// Conditional GET state.
    pub validators: Validators,
    /// Next poll time (unix secs), if scheduled.
    pub next_due: Option<i64>,
    /// Why `next_due` is what it is.
    pub due_reason: Option<DueReason>,
    /// Last poll time.
    pub last_polled: Option<i64>,
    /// What the last poll came to.
    pub last_result: Option<PollStatus>,
    /// Last successful poll time.
    pub last_success: Option<i64>,
    /// Failures since the last success.
    pub consecutive_errors: i64,
    /// When the current run of failures began.
    pub first_error_at: Option<i64>,
    /// The last error message.
    pub last_error: Option<String>,
    /// Where a permanent redirect points.
    pub moved_to: Option<String>,
    /// The server said 410 Gone.
    pub gone: bool,
    /// The feed's own title.
    pub feed_title: Option<String>,
    /// The site the feed belongs to.
    pub site_url: Option<String>,
    /// The feed's `<ttl>`, minutes.
    pub ttl_minutes: Option<i64>,
    /// Items ever stored from it.
    pub items_seen: i64,
    /// The feed's skipHours/skipDays.
    pub skip: SkipHints,
}

/// What the scheduler keeps of a source between its polls. The rest of the row waits in the database and
/// is read when a poll starts ([`Store::source`]): holding every source's whole row took some 130 MB at
/// 100,000 sources, before a single feed was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleEntry {
    /// Row id.
    pub id: i64,
    /// The URL polled, whose host the dispatcher queues it by (see [`SourceRow::poll_url`]).
    pub poll_url: Box<str>,
    /// Next poll time (unix secs), if scheduled.
    pub next_due: Option<i64>,
    /// Why `next_due` is what it is.
    pub due_reason: Option<DueReason>,
    /// Still in the config.
    pub active: bool,
    /// Not paused.
    pub enabled: bool,
    /// The server said 410 Gone.
    pub gone: bool,
}

impl ScheduleEntry {
    /// Whether it is polled at all: configured, not paused and not gone.
    pub fn polled(&self) -> bool {
        self.active && self.enabled && !self.gone
    }
}

impl From<&SourceRow> for ScheduleEntry {
    fn from(row: &SourceRow) -> Self {
        ScheduleEntry {
            id: row.id,
            poll_url: row.poll_url().into(),
            next_due: row.next_due,
            due_reason: row.due_reason,
            active: row.active,
            enabled: row.enabled,
            gone: row.gone,
        }
    }
}

/// What state a source is in, as `wiredesk sources`, `/metrics` and the state-change log lines name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceState {
    /// Polled and fine.
    Ok,
    /// Configured, never polled yet.
    New,
    /// Failing, backing off between polls.
    Backoff,
    /// Failing for days: probed once a day.
    Quarantined,
    /// The server said 410 Gone: no longer polled.
    Gone,
    /// `enabled = false` in the config: not polled.
    Paused,
    /// No longer in the config.
    Removed,
}

impl SourceState {
    /// Every state, in display order.
    pub const ALL: [SourceState; 7] = [
        SourceState::Ok,
        SourceState::New,
        SourceState::Backoff,
        SourceState::Quarantined,
        SourceState::Gone,
        SourceState::Paused,
        SourceState::Removed,
    ];

    /// The name in logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Ok => "ok",
            SourceState::New => "new",
            SourceState::Backoff => "backoff",
            SourceState::Quarantined => "quarantined",
            SourceState::Gone => "gone",
            SourceState::Paused => "paused",
            SourceState::Removed => "removed",
        }
    }
}

impl SourceRow {
    /// The source's state, from its config and polling state.
    pub fn state(&self) -> SourceState {
        if !self.active {
            SourceState::Removed
        } else if self.gone {
            SourceState::Gone
        } else if !self.enabled {
            SourceState::Paused
        } else if self.due_reason == Some(DueReason::Quarantine) {
            SourceState::Quarantined
        } else if self.consecutive_errors > 0 {
            SourceState::Backoff
        } else if self.last_polled.is_some() {
            SourceState::Ok
        } else {
            SourceState::New
        }
    }

    /// The URL to poll: the permanent redirect target when there is one.
    pub fn poll_url(&self) -> &str {
        self.moved_to.as_deref().unwrap_or(&self.url)
    }

    /// Its run of failures.
    pub fn streak(&self) -> Streak {
        Streak {
            consecutive_errors: self.consecutive_errors,
            failing_since: self.first_error_at,
        }
    }
}

impl Store {
    /// Makes the sources table match the config: inserts new sources, updates names, priorities and sections,
    /// and marks sources no longer configured inactive (their stories stay).
    pub fn sync_sources(&mut self, config: &Config) -> anyhow::Result<()> {
        // Every start and every reload syncs, and usually nothing changed: compare first and write only the
        // sources that differ, instead of rewriting 100,000 rows and their sections each time.
        let changes = self.changes_from(config)?;
        self.enforce_foreign_keys(true)?;
        let tx = self.conn.transaction()?;
        for &i in &changes.upserts {
            let s = &config.sources[i];
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO sources (url, name, priority, merge, active, enabled)
                     VALUES (?1, ?2, ?3, ?4, 1, ?5)
                     ON CONFLICT(url) DO UPDATE SET name = ?2, priority = ?3, merge = ?4, active = 1,
                         enabled = ?5
                     RETURNING id",
                )?
                .query_row(
                    params![s.url, s.name, s.priority, s.merge, s.enabled],
                    |r| r.get(0),
                )?;
            tx.prepare_cached("DELETE FROM source_sections WHERE source_id = ?1")?
                .execute([id])?;
            for section in sorted_sections(s) {
                tx.prepare_cached(
                    "INSERT INTO source_sections (source_id, section) VALUES (?1, ?2)",
                )?
                .execute(params![id, section])?;
            }
        }
        for &id in &changes.retired {
            tx.prepare_cached("UPDATE sources SET active = 0 WHERE id = ?1")?
                .execute([id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// What syncing `config` has to write: the stored sources and their sections, read in id order side
    /// by side, each looked up among the configured ones by URL. A map of every stored source by URL was
    /// the peak of an unchanged `poll --once` at 100,000 sources (about 25 MB beside the config); this
    /// holds one stored row at a time and an index of the config's URLs.
    fn changes_from(&self, config: &Config) -> anyhow::Result<SourceChanges> {
        let sources = &config.sources;
        let by_url: std::collections::HashMap<&str, usize> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.url.as_str(), i))
            .collect();
        let mut stored = vec![false; sources.len()];
        let mut changes = SourceChanges::default();
        let mut rows_stmt = self.conn.prepare_cached(
            "SELECT id, url, name, priority, merge, active, enabled FROM sources ORDER BY id",
        )?;
        let mut sections_stmt = self.conn.prepare_cached(
            "SELECT source_id, section FROM source_sections ORDER BY source_id, section",
        )?;
        let mut section_rows = sections_stmt.query([])?;
        let mut next_section = || -> rusqlite::Result<Option<(i64, String)>> {
            section_rows
                .next()?
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .transpose()
        };
        let mut pending = next_section()?;
        let mut sections: Vec<String> = Vec::new();
        let mut rows = rows_stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            sections.clear();
            while let Some((source, section)) = pending.take_if(|(source, _)| *source <= id) {
                if source == id {
                    sections.push(section);
                }
                pending = next_section()?;
            }
            let active: bool = r.get(5)?;
            let Some(&i) = by_url.get(r.get_ref(1)?.as_str()?) else {
                if active {
                    changes.retired.push(id);
                }
                continue;
            };
            stored[i] = true;
            let s = &sources[i];
            let unchanged = active
                && r.get_ref(2)?.as_str()? == s.name
                && r.get::<_, i32>(3)? == s.priority
                && r.get::<_, bool>(4)? == s.merge
                && r.get::<_, bool>(6)? == s.enabled
                && sections.iter().map(String::as_str).eq(sorted_sections(s));
            if !unchanged {
                changes.upserts.push(i);
            }
        }
        changes
            .upserts
            .extend((0..sources.len()).filter(|&i| !stored[i]));
        // New sources get their ids in file order, as listings show them.
        changes.upserts.sort_unstable();
        Ok(changes)
    }

    /// Every stored source's priority, by id: what a story's explanation ranks its copies by. Pages read
    /// this after every change, where whole rows would hold every source's polling state (tens of MB at
    /// 100,000 sources).
    pub fn source_priorities(&self) -> anyhow::Result<std::collections::HashMap<i64, i32>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, priority FROM sources")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Each source's sections, sorted, by source id.
    fn sections_by_source(&self) -> anyhow::Result<std::collections::HashMap<i64, Vec<String>>> {
        let mut sections = std::collections::HashMap::<i64, Vec<String>>::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT source_id, section FROM source_sections ORDER BY source_id, section",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, section) = row?;
            sections.entry(id).or_default().push(section);
        }
        Ok(sections)
    }

    /// Every source's schedule entry, active first, in id order: what a scheduler starts from.
    pub fn schedule_entries(&self) -> anyhow::Result<Vec<ScheduleEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, coalesce(moved_to, url), next_due, due_reason, active, enabled, gone
             FROM sources ORDER BY active DESC, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ScheduleEntry {
                id: r.get(0)?,
                poll_url: r.get::<_, String>(1)?.into_boxed_str(),
                next_due: r.get(2)?,
                due_reason: r.get(3)?,
                active: r.get(4)?,
                enabled: r.get(5)?,
                gone: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One source's whole row with its sections, or None when no source has this id.
    pub fn source(&self, id: i64) -> anyhow::Result<Option<SourceRow>> {
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            source_column_list!(),
            " FROM sources WHERE id = ?1"
        ))?;
        let Some(mut row) = stmt.query_row([id], source_from_row).optional()? else {
            return Ok(None);
        };
        let mut sections = self.conn.prepare_cached(
            "SELECT section FROM source_sections WHERE source_id = ?1 ORDER BY section",
        )?;
        row.sections = sections
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(Some(row))
    }

    /// Every source, active first, in id order.
    pub fn sources(&self) -> anyhow::Result<Vec<SourceRow>> {
        let mut sections = self.sections_by_source()?;
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT ",
            source_column_list!(),
            " FROM sources ORDER BY active DESC, id"
        ))?;
        let rows = stmt.query_map([], source_from_row)?;
        let mut out = Vec::new();
        for row in rows {
            let mut row = row?;
            row.sections = sections.remove(&row.id).unwrap_or_default();
            out.push(row);
        }
        Ok(out)
    }
}

/// Reads the rows of sources whose polls start, a burst of them from one read snapshot.
///
/// A snapshot begun after the writer committed starts with a cold page cache, which it does all the time
/// while polls finish: the polls a scheduler turn starts (all of them at first, then a few) share one. No
/// snapshot outlives its turn ([`SourceReader::end_turn`]): one held open all the time, even renewed every
/// 250 ms, kept the write-ahead log from ever starting over, and a first poll of 100,000 feeds took 14 s
/// longer as the log grew and every page look-up searched more of it.
pub struct SourceReader {
    store: Store,
    /// Whether a read transaction is open.
    in_snapshot: bool,
}

impl SourceReader {
    /// Opens the database at `path` for reading rows.
    pub fn open(path: &std::path::Path) -> anyhow::Result<SourceReader> {
        Ok(SourceReader {
            store: Store::open_read_only(path)?,
            in_snapshot: false,
        })
    }

    /// Source `id`'s row as last stored before this turn began, or None when no source has this id.
    pub fn read(&mut self, id: i64) -> anyhow::Result<Option<SourceRow>> {
        if !self.in_snapshot {
            self.store.conn.execute_batch("BEGIN")?;
            self.in_snapshot = true;
        }
        let row = self.store.source(id);
        if row.is_err() {
            self.end_turn();
        }
        row
    }

    /// Ends the turn's snapshot: rows read after this see every write committed before.
    pub fn end_turn(&mut self) {
        if std::mem::take(&mut self.in_snapshot) {
            // A read transaction has nothing to commit; ending it cannot lose anything.
            let _ = self.store.conn.execute_batch("COMMIT");
        }
    }
}

/// What a sync writes: configured sources to insert or update (indices into the config's list), and stored
/// ones the config no longer has, to retire (row ids).
#[derive(Debug, Default)]
struct SourceChanges {
    upserts: Vec<usize>,
    retired: Vec<i64>,
}

/// A configured source's sections, sorted and without repeats, as the store keeps them.
fn sorted_sections(source: &crate::config::Source) -> impl Iterator<Item = &str> {
    let mut sections: Vec<&str> = source.sections.iter().map(String::as_str).collect();
    sections.sort_unstable();
    sections.dedup();
    sections.into_iter()
}

/// A source row read with the columns of `source_column_list!`; its sections are left empty.
fn source_from_row(r: &rusqlite::Row) -> rusqlite::Result<SourceRow> {
    Ok(SourceRow {
        id: r.get(0)?,
        url: r.get(1)?,
        name: r.get(2)?,
        priority: r.get(3)?,
        merge: r.get(4)?,
        active: r.get(5)?,
        sections: Vec::new(),
        validators: Validators {
            etag: r.get(6)?,
            last_modified: r.get(7)?,
            body_hash: r.get(8)?,
        },
        next_due: r.get(9)?,
        due_reason: r.get(10)?,
        last_polled: r.get(11)?,
        last_result: r.get(12)?,
        last_success: r.get(13)?,
        consecutive_errors: r.get(14)?,
        first_error_at: r.get(15)?,
        last_error: r.get(16)?,
        moved_to: r.get(17)?,
        gone: r.get(18)?,
        feed_title: r.get(19)?,
        site_url: r.get(20)?,
        ttl_minutes: r.get(21)?,
        items_seen: r.get(22)?,
        skip: SkipHints {
            hours: r.get(23)?,
            days: r.get(24)?,
        },
        enabled: r.get(25)?,
    })
}

/// Writes a source's polling state as the pipeline computed it, plus `new_items` to its count. One
/// statement: the common unchanged poll of a large config is mostly this write.
pub(super) fn save_state(conn: &Connection, s: &SourceRow, new_items: usize) -> anyhow::Result<()> {
    let updated = conn.prepare_cached(
        "UPDATE sources SET etag = ?2, last_modified = ?3, body_hash = ?4, next_due = ?5, due_reason = ?6,
                last_polled = ?7, last_result = ?8, last_success = ?9, consecutive_errors = ?10,
                first_error_at = ?11, last_error = ?12, moved_to = ?13, gone = ?14, feed_title = ?15,
                site_url = ?16, ttl_minutes = ?17, skip_hours = ?18, skip_days = ?19,
                items_seen = items_seen + ?20
         WHERE id = ?1",
    )?
    .execute(params![
        s.id,
        s.validators.etag,
        s.validators.last_modified,
        s.validators.body_hash,
        s.next_due,
        s.due_reason,
        s.last_polled,
        s.last_result,
        s.last_success,
        s.consecutive_errors,
        s.first_error_at,
        s.last_error,
        s.moved_to,
        s.gone,
        s.feed_title,
        s.site_url,
        s.ttl_minutes,
        s.skip.hours,
        s.skip.days,
        new_items as i64,
    ])?;
    anyhow::ensure!(updated == 1, "source {} is not in the database", s.id);
    Ok(())
}

/// Typed values stored as their text form, read back strictly: a value this version cannot read is an
/// error naming it, not a silent default.
macro_rules! text_column {
    ($t:ty) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.to_string()))
            }
        }
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e: String| FromSqlError::Other(e.into()))
            }
        }
    };
}
text_column!(DueReason);
text_column!(PollStatus);
text_column!(crate::dedup::Layer);
