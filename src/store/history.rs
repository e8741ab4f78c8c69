//! Poll history: how many polls succeeded, changed nothing or failed, and how many items arrived, per hour.
//! The writer adds each stored batch's counts ([`PollTally`]); the status page charts the last 24 hours.

use rusqlite::params;

use super::Store;

/// Hours of history kept; older rows are dropped as new ones are written.
const KEEP_HOURS: i64 = 24 * 7;

/// Counts of one batch of polls, or of one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollTally {
    /// Polls that brought a new body.
    pub fetched: i64,
    /// Polls answered 304 or with the same body.
    pub unchanged: i64,
    /// Polls that failed (410 Gone included).
    pub failed: i64,
    /// Items stored for the first time.
    pub new_items: i64,
    /// New items that joined an existing story.
    pub joined: i64,
}

impl PollTally {
    /// Whether it counts nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == PollTally::default()
    }

    /// Polls of any result.
    pub fn polls(&self) -> i64 {
        self.fetched + self.unchanged + self.failed
    }
}

/// One hour of history: its start (unix seconds) and its counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourTally {
    /// Start of the hour, unix seconds.
    pub hour: i64,
    /// What happened in it.
    pub tally: PollTally,
}

impl Store {
    /// Adds `tally` to the hour holding `now`, and forgets hours past a week.
    pub fn record_polls(&self, now: i64, tally: &PollTally) -> anyhow::Result<()> {
        if tally.is_empty() {
            return Ok(());
        }
        let hour = now - now.rem_euclid(3600);
        self.conn
            .prepare_cached(
                "INSERT INTO poll_history (hour, fetched, unchanged, failed, new_items, joined)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(hour) DO UPDATE SET fetched = fetched + ?2, unchanged = unchanged + ?3,
                     failed = failed + ?4, new_items = new_items + ?5, joined = joined + ?6",
            )?
            .execute(params![
                hour,
                tally.fetched,
                tally.unchanged,
                tally.failed,
                tally.new_items,
                tally.joined
            ])?;
        self.conn
            .prepare_cached("DELETE FROM poll_history WHERE hour < ?1")?
            .execute([hour - KEEP_HOURS * 3600])?;
        Ok(())
    }

    /// The `hours` hours up to and including the one holding `now`, oldest first; an hour without polls
    /// counts zero.
    pub fn poll_history(&self, now: i64, hours: usize) -> anyhow::Result<Vec<HourTally>> {
        let last = now - now.rem_euclid(3600);
        let first = last - (hours as i64 - 1) * 3600;
        let mut stmt = self.conn.prepare_cached(
            "SELECT hour, fetched, unchanged, failed, new_items, joined FROM poll_history
             WHERE hour >= ?1 AND hour <= ?2",
        )?;
        let stored: std::collections::HashMap<i64, PollTally> = stmt
            .query_map([first, last], |r| {
                Ok((
                    r.get(0)?,
                    PollTally {
                        fetched: r.get(1)?,
                        unchanged: r.get(2)?,
                        failed: r.get(3)?,
                        new_items: r.get(4)?,
                        joined: r.get(5)?,
                    },
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok((0..hours as i64)
            .map(|i| {
                let hour = first + i * 3600;
                HourTally {
                    hour,
                    tally: stored.get(&hour).copied().unwrap_or_default(),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_add_up_per_hour_and_old_hours_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.db")).unwrap();
        let t0 = 1_795_939_200; // 2026-11-29 08:00 UTC
        let batch = PollTally {
            fetched: 2,
            unchanged: 1,
            failed: 1,
            new_items: 5,
            joined: 1,
        };
        store.record_polls(t0 + 10, &batch).unwrap();
        store.record_polls(t0 + 3599, &batch).unwrap();
        store.record_polls(t0 + 3600, &batch).unwrap();
        let h = store.poll_history(t0 + 3600, 3).unwrap();
        assert_eq!(
            h.iter()
                .map(|h| (h.hour, h.tally.polls()))
                .collect::<Vec<_>>(),
            vec![(t0 - 3600, 0), (t0, 8), (t0 + 3600, 4)]
        );
        assert_eq!(h[1].tally.new_items, 10);
        // A week later the first hours are gone.
        store
            .record_polls(t0 + KEEP_HOURS * 3600 + 3600, &batch)
            .unwrap();
        let rows: i64 = store
            .conn
            .query_row("SELECT count(*) FROM poll_history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2);
    }
}
