//! Decides when each source is due next, and records why.
//!
//! A due time comes from the source's cron schedule, shifted by a per-source jitter so that sources sharing a
//! schedule do not all fire in the same second. It is never earlier than a floor: what the feed asked for
//! (`<ttl>`, Cache-Control, Retry-After) or the error backoff. The result is stored in SQLite by the caller, so a
//! restart continues where it left off.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// A parsed cron expression that remembers how the operator wrote it.
#[derive(Clone)]
pub struct CronSchedule {
    expression: String,
    schedule: cron::Schedule,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.expression)
    }
}

impl CronSchedule {
    /// Parses a standard 5-field crontab line, or a 6-field one whose first field is seconds.
    pub fn parse(expression: &str) -> Result<CronSchedule, String> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let six_field = match fields.len() {
            5 => format!(
                "0 {} {} {} {} {}",
                fields[0],
                fields[1],
                fields[2],
                fields[3],
                crontab_weekdays(fields[4])?
            ),
            6 => fields.join(" "),
            n => {
                return Err(format!(
                    "`{expression}` has {n} fields; write 5 (minute hour day month weekday) or 6 (seconds first)"
                ));
            }
        };
        let schedule = cron::Schedule::from_str(&six_field)
            .map_err(|e| format!("`{expression}` is not a valid cron expression: {e}"))?;
        if schedule.upcoming(Utc).next().is_none() {
            return Err(format!("`{expression}` never fires"));
        }
        Ok(CronSchedule {
            expression: expression.to_string(),
            schedule,
        })
    }

    /// The expression as written in the config.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first firing strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule.after(&t).next()
    }

    /// The typical gap between two firings, measured on the next few.
    pub fn typical_interval(&self, now: DateTime<Utc>) -> Duration {
        let times: Vec<_> = self.schedule.after(&now).take(4).collect();
        times
            .windows(2)
            .map(|w| w[1] - w[0])
            .min()
            .unwrap_or_else(|| Duration::hours(1))
    }
}

/// Rewrites a crontab weekday field (0 or 7 = Sunday) into the `cron` crate's form, which counts Sunday as 1.
/// Names are used so no numbering convention is left to guess.
fn crontab_weekdays(field: &str) -> Result<String, String> {
    const NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    let name = |s: &str| -> Result<String, String> {
        match s.parse::<usize>() {
            Ok(n) if n <= 7 => Ok(NAMES[n].to_string()),
            Ok(n) => Err(format!("weekday {n} is out of range 0-7")),
            Err(_) => Ok(s.to_string()),
        }
    };
    let mut parts = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        let mut range = match range.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (name(a)?, name(b)?);
                // `5-7` means Friday to Sunday; the cron crate cannot wrap, so split it.
                if b == "SUN" && a != "SUN" && step.is_none() {
                    parts.push("SUN".to_string());
                    if a == "SAT" { a } else { format!("{a}-SAT") }
                } else {
                    format!("{a}-{b}")
                }
            }
            None => name(range)?,
        };
        if let Some(s) = step {
            range = format!("{range}/{s}");
        }
        parts.push(range);
    }
    Ok(parts.join(","))
}

/// Why a source is due when it is; shown by `wiredesk sources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueReason {
    /// Never polled yet.
    New,
    /// The cron schedule.
    Schedule,
    /// The feed's `<ttl>` or HTTP caching headers asked for a later time.
    FeedHint,
    /// The server asked for a pause (Retry-After on 429/503).
    RetryAfter,
    /// Recent errors stretched the interval.
    Backoff,
    /// The source failed for so long that it is only probed daily.
    Quarantine,
}

impl DueReason {
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

/// RSS `skipHours` and `skipDays`: hours (GMT) and weekdays the publisher asks aggregators not to poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkipHints {
    /// Bit h set: skip hour h (0-23, GMT).
    pub hours: u32,
    /// Bit d set: skip weekday d (0 = Monday .. 6 = Sunday).
    pub days: u8,
}

impl SkipHints {
    /// Whether a poll at `t` is allowed.
    pub fn allows(&self, t: DateTime<Utc>) -> bool {
        use chrono::{Datelike, Timelike};
        self.hours & (1 << t.hour()) == 0
            && self.days & (1 << t.weekday().num_days_from_monday()) == 0
    }

    /// The first allowed time at or after `t` (the start of the next allowed hour). A publisher that skips
    /// every hour or every day is ignored rather than obeyed into silence.
    pub fn next_allowed(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        use chrono::{DurationRound, Timelike};
        if self.hours.count_ones() >= 24 || self.days.count_ones() >= 7 || self.allows(t) {
            return t;
        }
        let mut hour = t.duration_trunc(Duration::hours(1)).unwrap_or(t);
        for _ in 0..24 * 8 {
            hour += Duration::hours(1);
            if self.allows(hour) {
                return hour.with_second(0).unwrap_or(hour);
            }
        }
        t
    }
}

/// A stable offset in `[0, max)` seconds derived from the source URL, so sources sharing a schedule spread out.
pub fn jitter_secs(url: &str, max_secs: i64) -> i64 {
    if max_secs <= 1 {
        return 0;
    }
    let h = blake3::hash(url.as_bytes());
    let n = u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"));
    (n % max_secs as u64) as i64
}

/// The next due time on the schedule alone: the first firing after `now`, shifted by the source's jitter.
/// Jitter is at most half the interval and at most 10 minutes, so a schedule keeps its rhythm.
pub fn next_on_schedule(schedule: &CronSchedule, url: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    let interval = schedule.typical_interval(now).num_seconds();
    let jitter = Duration::seconds(jitter_secs(url, (interval / 2).min(600)));
    schedule
        .next_after(now - jitter)
        .map(|t| t + jitter)
        .unwrap_or(now + Duration::hours(24))
}

/// Picks the later of the schedule's time and a floor, and says which one decided.
pub fn apply_floor(
    scheduled: DateTime<Utc>,
    floor: Option<(DateTime<Utc>, DueReason)>,
) -> (DateTime<Utc>, DueReason) {
    match floor {
        Some((t, reason)) if t > scheduled => (t, reason),
        _ => (scheduled, DueReason::Schedule),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Timelike};

    #[test]
    fn five_field_crontab_fires_on_the_minute() {
        let s = CronSchedule::parse("*/15 * * * *").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 10, 7, 30).unwrap();
        assert_eq!(
            s.next_after(t).unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 5, 10, 15, 0).unwrap()
        );
        assert_eq!(s.typical_interval(t), Duration::minutes(15));
    }

    #[test]
    fn crontab_weekday_numbers_mean_what_crontab_means() {
        // 2026-01-05 is a Monday; crontab weekday 1 is Monday, 0 and 7 are Sunday.
        let monday = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
        let next = |e: &str| CronSchedule::parse(e).unwrap().next_after(monday).unwrap();
        assert_eq!(next("0 9 * * 1").weekday(), chrono::Weekday::Mon);
        assert_eq!(next("0 9 * * 0").weekday(), chrono::Weekday::Sun);
        assert_eq!(next("0 9 * * 7").weekday(), chrono::Weekday::Sun);
        assert_eq!(next("0 9 * * 5-7").weekday(), chrono::Weekday::Fri);
        assert_eq!(next("0 9 * * 2-3").weekday(), chrono::Weekday::Tue);
    }

    #[test]
    fn six_fields_with_seconds_are_accepted_and_bad_ones_explained() {
        assert_eq!(
            CronSchedule::parse("30 */5 * * * *")
                .unwrap()
                .next_after(Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap())
                .unwrap()
                .second(),
            30
        );
        let err = CronSchedule::parse("* * *").unwrap_err();
        assert!(err.contains("has 3 fields"), "{err}");
        assert!(CronSchedule::parse("61 * * * *").is_err());
        assert!(CronSchedule::parse("0 9 * * 8").is_err());
    }

    #[test]
    fn jitter_is_stable_bounded_and_spreads_sources() {
        let s = CronSchedule::parse("*/10 * * * *").unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 1).unwrap();
        let times: std::collections::BTreeSet<_> = (0..50)
            .map(|i| next_on_schedule(&s, &format!("https://h.example/{i}.rss"), now))
            .collect();
        assert!(
            times.len() > 30,
            "jitter should spread 50 sources, got {} distinct times",
            times.len()
        );
        for t in &times {
            assert!(*t > now && *t <= now + Duration::minutes(15), "{t}");
        }
        assert_eq!(
            next_on_schedule(&s, "https://a/", now),
            next_on_schedule(&s, "https://a/", now)
        );
    }

    #[test]
    fn skip_hours_and_days_move_a_poll_to_the_next_allowed_hour() {
        // 2026-01-05 is a Monday.
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 2, 30, 0).unwrap();
        let skip = SkipHints {
            hours: (1 << 2) | (1 << 3),
            days: 0,
        };
        assert!(!skip.allows(t));
        assert_eq!(
            skip.next_allowed(t),
            Utc.with_ymd_and_hms(2026, 1, 5, 4, 0, 0).unwrap()
        );
        let weekend = SkipHints {
            hours: 0,
            days: 0b1100000,
        };
        let sat = Utc.with_ymd_and_hms(2026, 1, 10, 9, 0, 0).unwrap();
        assert_eq!(
            weekend.next_allowed(sat),
            Utc.with_ymd_and_hms(2026, 1, 12, 0, 0, 0).unwrap()
        );
        let silly = SkipHints {
            hours: 0xFF_FFFF,
            days: 0,
        };
        assert_eq!(silly.next_allowed(t), t);
    }

    #[test]
    fn a_floor_only_ever_delays() {
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap();
        assert_eq!(apply_floor(t, None), (t, DueReason::Schedule));
        let later = t + Duration::minutes(5);
        assert_eq!(
            apply_floor(t, Some((later, DueReason::RetryAfter))),
            (later, DueReason::RetryAfter)
        );
        assert_eq!(
            apply_floor(later, Some((t, DueReason::FeedHint))),
            (later, DueReason::Schedule)
        );
    }
}
