//! Counts that describe the store for `/metrics` and the service status line: sources by state and stories
//! per section. Read on a connection of the caller's (the daemon samples them every few seconds).

use std::collections::BTreeMap;

use super::{SourceState, Store};

/// What the store holds, in counts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StoreStats {
    /// Sources by state (see [`super::SourceRow::state`]).
    pub sources: BTreeMap<SourceState, i64>,
    /// Stories per section, by section id.
    pub stories: Vec<(String, i64)>,
}

/// [`super::SourceRow::state`] in SQL, so that counting 100,000 sources reads no rows into memory; the test
/// below keeps the two in step.
const STATE_SQL: &str =
    "CASE WHEN active = 0 THEN 'removed' WHEN gone THEN 'gone' WHEN enabled = 0 THEN 'paused'
     WHEN due_reason = 'quarantine' THEN 'quarantined' WHEN consecutive_errors > 0 THEN 'backoff'
     WHEN last_polled IS NOT NULL THEN 'ok' ELSE 'new' END";

impl Store {
    /// Sources by state and stories per section.
    pub fn stats(&self) -> anyhow::Result<StoreStats> {
        let mut stats = StoreStats::default();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STATE_SQL}, count(*) FROM sources GROUP BY 1"
        ))?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            let state = SourceState::ALL
                .into_iter()
                .find(|s| s.as_str() == state)
                .ok_or_else(|| anyhow::anyhow!("unknown source state `{state}` in stats"))?;
            stats.sources.insert(state, n);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT section, count(*) FROM story_sections GROUP BY section")?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
            stats.stories.push(row?);
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_counted_in_sql_match_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (url, name) VALUES ('https://a.example/new', 'new');
                 INSERT INTO sources (url, name, last_polled) VALUES ('https://a.example/ok', 'ok', 1);
                 INSERT INTO sources (url, name, last_polled, consecutive_errors, due_reason)
                     VALUES ('https://a.example/b', 'backoff', 1, 2, 'backoff');
                 INSERT INTO sources (url, name, last_polled, consecutive_errors, due_reason)
                     VALUES ('https://a.example/q', 'quarantined', 1, 40, 'quarantine');
                 INSERT INTO sources (url, name, last_polled, gone) VALUES ('https://a.example/g', 'gone', 1, 1);
                 INSERT INTO sources (url, name, enabled) VALUES ('https://a.example/p', 'paused', 0);
                 INSERT INTO sources (url, name, active, gone) VALUES ('https://a.example/r', 'removed', 0, 1);",
            )
            .unwrap();
        let mut from_rows = BTreeMap::new();
        for s in store.sources().unwrap() {
            assert_eq!(s.state().as_str(), s.name, "{s:?}");
            *from_rows.entry(s.state()).or_insert(0) += 1;
        }
        assert_eq!(store.stats().unwrap().sources, from_rows);
        assert_eq!(from_rows.len(), SourceState::ALL.len());
    }
}
