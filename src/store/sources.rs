//! Source rows: syncing them with the config, and their polling state (validators, due times, errors).

use rusqlite::params;

use super::Store;
use crate::config::Config;
use crate::fetch::Validators;
use crate::schedule::SkipHints;

/// The column list every source query reads, in [`SourceRow`] field order.
/// The columns [`source_from_row`] reads, in its order.
macro_rules! source_column_list {
    () => {
        "id, url, name, priority, merge, active, etag, last_modified, body_hash, next_due, due_reason,
                last_polled, last_result, last_success, consecutive_errors, first_error_at, last_error,
                moved_to, gone, feed_title, ttl_minutes, items_seen, skip_hours, skip_days"
    };
}

macro_rules! source_columns {
    () => {
        concat!("SELECT ", source_column_list!(), " FROM sources")
    };
}

/// A source as stored, with its polling state.
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
    /// Sections it feeds.
    pub sections: Vec<String>,
    /// Conditional GET state.
    pub validators: Validators,
    /// Next poll time (unix secs), if scheduled.
    pub next_due: Option<i64>,
    /// Why `next_due` is what it is.
    pub due_reason: Option<String>,
    /// Last poll time.
    pub last_polled: Option<i64>,
    /// One-line result of the last poll.
    pub last_result: Option<String>,
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
    /// The feed's `<ttl>`, minutes.
    pub ttl_minutes: Option<i64>,
    /// Items ever stored from it.
    pub items_seen: i64,
    /// The feed's skipHours/skipDays.
    pub skip: SkipHints,
}

impl SourceRow {
    /// The URL to poll: the permanent redirect target when there is one.
    pub fn poll_url(&self) -> &str {
        self.moved_to.as_deref().unwrap_or(&self.url)
    }
}

/// The outcome of one poll, as stored.
#[derive(Debug, Clone, Default)]
pub struct PollRecord {
    /// When the poll happened.
    pub polled_at: i64,
    /// One line for `wiredesk sources`.
    pub result: String,
    /// Whether the poll succeeded (200 or 304).
    pub success: bool,
    /// New validators, on success.
    pub validators: Option<Validators>,
    /// The error message, on failure.
    pub error: Option<String>,
    /// A newly learnt permanent redirect.
    pub moved_to: Option<String>,
    /// The server said 410.
    pub gone: bool,
    /// The next poll time and why.
    pub next_due: Option<(i64, String)>,
    /// Feed title, when parsed.
    pub feed_title: Option<String>,
    /// Feed site URL, when parsed.
    pub site_url: Option<String>,
    /// Feed `<ttl>`, when parsed.
    pub ttl_minutes: Option<u32>,
    /// The feed's skipHours/skipDays (kept from the last parse on a 304).
    pub skip: SkipHints,
}

impl Store {
    /// Makes the sources table match the config: inserts new sources, updates names, priorities and sections,
    /// and marks sources no longer configured inactive (their stories stay).
    pub fn sync_sources(&mut self, config: &Config) -> anyhow::Result<()> {
        // Every start and every reload syncs, and usually nothing changed: compare first and write only the
        // sources that differ, instead of rewriting 100,000 rows and their sections each time.
        let stored: std::collections::HashMap<String, SourceRow> = self
            .sources()?
            .into_iter()
            .map(|s| (s.url.clone(), s))
            .collect();
        self.enforce_foreign_keys(true)?;
        let tx = self.conn.transaction()?;
        let mut configured = std::collections::HashSet::new();
        for s in &config.sources {
            configured.insert(s.url.as_str());
            let mut sections = s.sections.clone();
            sections.sort();
            sections.dedup();
            if let Some(row) = stored.get(&s.url)
                && row.active
                && row.name == s.name
                && row.priority == s.priority
                && row.merge == s.merge
                && row.sections == sections
            {
                continue;
            }
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO sources (url, name, priority, merge, active) VALUES (?1, ?2, ?3, ?4, 1)
                     ON CONFLICT(url) DO UPDATE SET name = ?2, priority = ?3, merge = ?4, active = 1
                     RETURNING id",
                )?
                .query_row(params![s.url, s.name, s.priority, s.merge], |r| r.get(0))?;
            tx.prepare_cached("DELETE FROM source_sections WHERE source_id = ?1")?
                .execute([id])?;
            for section in &sections {
                tx.prepare_cached(
                    "INSERT INTO source_sections (source_id, section) VALUES (?1, ?2)",
                )?
                .execute(params![id, section])?;
            }
        }
        for row in stored.values() {
            if row.active && !configured.contains(row.url.as_str()) {
                tx.prepare_cached("UPDATE sources SET active = 0 WHERE id = ?1")?
                    .execute([row.id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every source, active first, in id order.
    pub fn sources(&self) -> anyhow::Result<Vec<SourceRow>> {
        let mut sections = std::collections::HashMap::<i64, Vec<String>>::new();
        let sections_sql =
            "SELECT source_id, section FROM source_sections ORDER BY source_id, section";
        let sources_sql = concat!(source_columns!(), " ORDER BY active DESC, id");
        let mut stmt = self.conn.prepare_cached(sections_sql)?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, section) = row?;
            sections.entry(id).or_default().push(section);
        }
        let mut stmt = self.conn.prepare_cached(sources_sql)?;
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

impl super::IngestTx<'_> {
    /// Stores the outcome of a poll in the same transaction as its items, in one statement: the common
    /// unchanged poll of a large config is mostly this write. Returns the source's new state (without its
    /// sections), which the scheduler needs next.
    pub fn record_poll(&self, source_id: i64, p: &PollRecord) -> anyhow::Result<SourceRow> {
        record_poll(&self.tx, source_id, p)
    }
}

impl super::Batch<'_> {
    /// Stores the outcome of a poll that brought no entries. One statement is atomic on its own, so it
    /// needs no savepoint: an unchanged poll (a 304) costs this single UPDATE. Returns the source's new state
    /// (without its sections).
    pub fn record_poll(&self, source_id: i64, p: &PollRecord) -> anyhow::Result<SourceRow> {
        record_poll(&self.tx, source_id, p)
    }
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
        ttl_minutes: r.get(20)?,
        items_seen: r.get(21)?,
        skip: SkipHints {
            hours: r.get(22)?,
            days: r.get(23)?,
        },
    })
}

/// The UPDATE behind both `record_poll`s; it returns the updated row, so nothing reads it back.
fn record_poll(
    conn: &rusqlite::Connection,
    source_id: i64,
    p: &PollRecord,
) -> anyhow::Result<SourceRow> {
    let v = p.validators.as_ref();
    let (due, reason) = match &p.next_due {
        Some((t, r)) => (Some(*t), Some(r.as_str())),
        None => (None, None),
    };
    Ok(conn
        .prepare_cached(concat!(
                "UPDATE sources SET
                    last_polled = ?2,
                    last_result = ?3,
                    last_success = CASE WHEN ?4 THEN ?2 ELSE last_success END,
                    consecutive_errors = CASE WHEN ?4 THEN 0 ELSE consecutive_errors + 1 END,
                    first_error_at = CASE WHEN ?4 THEN NULL ELSE COALESCE(first_error_at, ?2) END,
                    last_error = CASE WHEN ?4 THEN last_error ELSE ?5 END,
                    etag = CASE WHEN ?6 THEN ?7 ELSE etag END,
                    last_modified = CASE WHEN ?6 THEN ?8 ELSE last_modified END,
                    body_hash = CASE WHEN ?6 THEN ?9 ELSE body_hash END,
                    moved_to = COALESCE(?10, moved_to),
                    gone = CASE WHEN ?11 THEN 1 ELSE gone END,
                    next_due = CASE WHEN ?11 THEN NULL WHEN ?12 IS NOT NULL THEN ?12 ELSE next_due END,
                    due_reason = COALESCE(?13, due_reason),
                    feed_title = COALESCE(?14, feed_title),
                    site_url = COALESCE(?15, site_url),
                    ttl_minutes = CASE WHEN ?4 THEN ?16 ELSE ttl_minutes END,
                    skip_hours = CASE WHEN ?4 THEN ?17 ELSE skip_hours END,
                    skip_days = CASE WHEN ?4 THEN ?18 ELSE skip_days END
                 WHERE id = ?1 RETURNING ",
            source_column_list!()
        ),
            )?
            .query_row(params![
                source_id,
                p.polled_at,
                p.result,
                p.success,
                p.error,
                v.is_some(),
                v.and_then(|v| v.etag.as_deref()),
                v.and_then(|v| v.last_modified.as_deref()),
                v.and_then(|v| v.body_hash.as_deref()),
                p.moved_to,
                p.gone,
                due,
                reason,
                p.feed_title,
                p.site_url,
                p.ttl_minutes,
                p.skip.hours,
                p.skip.days
            ], source_from_row)?)
}
