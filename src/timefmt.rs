//! How times are written: one format wherever people read them (the CLI's text output, the web pages, the
//! messages `wiredesk sources` shows), and RFC 3339 wherever programs read them (`--json`, feeds).

use chrono::{DateTime, SecondsFormat, Utc};

/// A unix time as people read it: `2026-11-29 08:30 UTC`; `?` for a time out of range.
pub(crate) fn human(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0).map_or_else(|| "?".into(), human_at)
}

/// A date-time as people read it: `2026-11-29 08:30 UTC`.
pub(crate) fn human_at(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A unix time for programs: RFC 3339 in UTC with whole seconds (`2026-11-29T08:30:00Z`); empty when out
/// of range.
pub(crate) fn rfc3339(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_and_programs_each_get_one_format() {
        assert_eq!(human(1_795_941_000), "2026-11-29 08:30 UTC");
        assert_eq!(rfc3339(1_795_941_000), "2026-11-29T08:30:00Z");
        assert_eq!(human(i64::MAX), "?");
    }
}
