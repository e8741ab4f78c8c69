//! When each source is due, and why. This stage is the one owner of that decision:
//! - [`cron`]: the operator's schedules, with a stable per-source jitter;
//! - [`hints`]: what publishers and servers ask for (skipHours/skipDays, Retry-After, capped);
//! - [`plan`]: the next due time after a poll: the schedule pushed later (never earlier) by the minimum
//!   interval, feed hints, Retry-After, error backoff and quarantine, with a typed [`DueReason`];
//! - [`queue`]: the in-memory order of due times, rebuilt from SQLite at start, so a restart continues;
//! - [`dispatch`]: due sources queued per host, started a few at a time and hosts in turn.

pub(crate) mod cron;
pub(crate) mod dispatch;
pub(crate) mod hints;
pub(crate) mod plan;
pub(crate) mod queue;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

pub use cron::CronSchedule;
pub use hints::SkipHints;
pub(crate) use hints::retry_after;
pub(crate) use plan::Streak;

/// Why a source is due when it is; stored with the due time and shown by `wiredesk sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueReason {
    /// Never polled yet.
    New,
    /// The cron schedule.
    Schedule,
    /// The feed's `<ttl>`, HTTP caching headers or skipHours/skipDays asked for a later time.
    FeedHint,
    /// The server asked for a pause (Retry-After on 429/503).
    RetryAfter,
    /// Recent errors stretched the interval.
    Backoff,
    /// The source failed for so long that it is only probed daily.
    Quarantine,
}

impl DueReason {
    /// Every reason, for parsing.
    const ALL: [DueReason; 6] = [
        DueReason::New,
        DueReason::Schedule,
        DueReason::FeedHint,
        DueReason::RetryAfter,
        DueReason::Backoff,
        DueReason::Quarantine,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            DueReason::New => "new",
            DueReason::Schedule => "schedule",
            DueReason::FeedHint => "feed-hint",
            DueReason::RetryAfter => "retry-after",
            DueReason::Backoff => "backoff",
            DueReason::Quarantine => "quarantine",
        }
    }
}

impl fmt::Display for DueReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DueReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DueReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a due reason"))
    }
}

/// A next poll time and what decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// When.
    pub at: DateTime<Utc>,
    /// Why then.
    pub reason: DueReason,
}
