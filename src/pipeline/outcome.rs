//! The vocabulary of outcomes: what a poll came to ([`PollStatus`], stored with the source) and why a
//! refresh failed ([`Failure`]). Everything that reports an outcome (logs, `/metrics`, `wiredesk sources`,
//! `poll --once`) reads these types, never strings.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::dedup::{Layer, Placement};
use crate::fetch::FetchErrorKind;

/// What kind of failure ended a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The HTTP exchange failed.
    Fetch(FetchErrorKind),
    /// The body is not a feed wiredesk can read.
    Parse,
    /// The feed's entries could not be stored.
    Store,
    /// A bug: the refresh panicked. Caught, logged and backed off like any failure.
    Panic,
}

impl FailureKind {
    /// The short name used in logs, `/metrics` and the stored result (`http-503`, `parse`, ...).
    pub fn name(self) -> String {
        match self {
            FailureKind::Fetch(k) => k.name(),
            FailureKind::Parse => "parse".into(),
            FailureKind::Store => "store".into(),
            FailureKind::Panic => "panic".into(),
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "parse" => FailureKind::Parse,
            "store" => FailureKind::Store,
            "panic" => FailureKind::Panic,
            other => FailureKind::Fetch(FetchErrorKind::from_name(other)?),
        })
    }
}

/// What a poll came to, as `wiredesk sources` shows it and the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStatus {
    /// A new body was parsed.
    Fetched {
        /// Entries in it.
        entries: usize,
    },
    /// 304, or the same body as last time.
    Unchanged,
    /// The refresh failed.
    Failed(FailureKind),
    /// 410 Gone: polling stopped.
    Gone,
}

impl PollStatus {
    /// Whether the poll succeeded.
    pub fn is_success(self) -> bool {
        matches!(self, PollStatus::Fetched { .. } | PollStatus::Unchanged)
    }
}

impl fmt::Display for PollStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollStatus::Fetched { entries } => write!(f, "ok: {entries} entries"),
            PollStatus::Unchanged => f.write_str("not modified"),
            PollStatus::Failed(kind) => write!(f, "error ({})", kind.name()),
            PollStatus::Gone => f.write_str("gone (410)"),
        }
    }
}

impl FromStr for PollStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a poll result");
        if s == "not modified" {
            return Ok(PollStatus::Unchanged);
        }
        if s == "gone (410)" {
            return Ok(PollStatus::Gone);
        }
        if let Some(n) = s
            .strip_prefix("ok: ")
            .and_then(|r| r.strip_suffix(" entries"))
        {
            return Ok(PollStatus::Fetched {
                entries: n.parse().map_err(|_| bad())?,
            });
        }
        let kind = s
            .strip_prefix("error (")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(bad)?;
        FailureKind::from_name(kind)
            .map(PollStatus::Failed)
            .ok_or_else(bad)
    }
}

/// Where dedup placed one feed's written entries, by the layer that decided, for `/metrics`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LayerCounts {
    /// Edits of a stored item (same source and guid).
    pub same_item: usize,
    /// New items that joined a story by canonical URL.
    pub same_url: usize,
    /// New items that joined a story by normalised text.
    pub same_text: usize,
    /// New items that joined a story by similarity.
    pub similar: usize,
    /// New items that founded a story.
    pub new: usize,
}

impl LayerCounts {
    /// The counts of `placements` (entries with nothing to write are not decisions worth counting).
    pub fn of(placements: &[Placement]) -> Self {
        let mut c = LayerCounts::default();
        for p in placements {
            match p {
                Placement::Skip => {}
                Placement::Update { .. } => c.same_item += 1,
                Placement::Insert { decision, .. } => match decision.layer {
                    Layer::SameUrl => c.same_url += 1,
                    Layer::SameText => c.same_text += 1,
                    Layer::Similar => c.similar += 1,
                    Layer::New => c.new += 1,
                },
            }
        }
        c
    }

    /// Each layer's name (as `explain` and `/metrics` show it) and count.
    pub fn by_name(&self) -> [(&'static str, usize); 5] {
        [
            ("same-item", self.same_item),
            (Layer::SameUrl.as_str(), self.same_url),
            (Layer::SameText.as_str(), self.same_text),
            (Layer::Similar.as_str(), self.similar),
            (Layer::New.as_str(), self.new),
        ]
    }
}

/// Why one refresh failed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// What happened, in a line, for the operator (without the source's name: the log line names it).
    pub message: String,
    /// When the server asked to be left alone until (429/503), already capped.
    pub retry_after: Option<DateTime<Utc>>,
}

impl Failure {
    /// A failure of `kind` with `message`.
    pub(crate) fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A caught panic, with its message when it had one.
    pub(crate) fn panic(payload: Box<dyn std::any::Any + Send>) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Failure::new(
            FailureKind::Panic,
            format!("the refresh panicked ({what}); this is a bug in wiredesk, please report it"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_statuses_round_trip_through_their_text() {
        for status in [
            PollStatus::Fetched { entries: 20 },
            PollStatus::Unchanged,
            PollStatus::Gone,
            PollStatus::Failed(FailureKind::Parse),
            PollStatus::Failed(FailureKind::Panic),
            PollStatus::Failed(FailureKind::Store),
            PollStatus::Failed(FailureKind::Fetch(FetchErrorKind::Http(503))),
            PollStatus::Failed(FailureKind::Fetch(FetchErrorKind::RedirectLoop)),
            PollStatus::Failed(FailureKind::Fetch(FetchErrorKind::Timeout)),
        ] {
            assert_eq!(status.to_string().parse::<PollStatus>(), Ok(status));
        }
        assert_eq!(
            PollStatus::Failed(FailureKind::Fetch(FetchErrorKind::Http(429))).to_string(),
            "error (http-429)"
        );
        assert!("error (frobbed)".parse::<PollStatus>().is_err());
    }
}
