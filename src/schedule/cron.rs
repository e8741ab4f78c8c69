//! Cron schedules as operators write them: a standard 5-field crontab line (0 and 7 are Sunday), a 6-field
//! one with seconds first, or a macro (`@hourly`, `@daily`, ...), with one-line errors naming the field.
//! Also the per-source jitter that keeps sources sharing a schedule from firing in the same second.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

/// A parsed cron expression that remembers how the operator wrote it. Cheap to clone: a parsed schedule
/// holds a few kilobytes of field sets, and every source of a section shares its section's.
#[derive(Clone)]
pub struct CronSchedule {
    expression: Arc<str>,
    schedule: Arc<cron::Schedule>,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.expression)
    }
}

/// The crontab macros and the 5-field lines they stand for.
const MACROS: &[(&str, &str)] = &[
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// The fields of a 5-field line: name and allowed numeric range.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("weekday", 0, 7),
];

impl CronSchedule {
    /// Parses a crontab line (5 fields, or 6 with seconds first) or a macro such as `@hourly`.
    pub fn parse(expression: &str) -> Result<CronSchedule, String> {
        let trimmed = expression.trim();
        let line = match MACROS.iter().find(|(m, _)| m.eq_ignore_ascii_case(trimmed)) {
            Some((_, line)) => *line,
            None if trimmed.starts_with('@') => {
                let names: Vec<&str> = MACROS.iter().map(|(m, _)| *m).collect();
                return Err(format!(
                    "`{expression}` is not a cron macro; use one of {}",
                    names.join(", ")
                ));
            }
            None => trimmed,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let six_field = match fields.len() {
            5 => {
                for (text, (name, lo, hi)) in fields.iter().zip(FIELDS) {
                    check_range(expression, text, name, lo, hi)?;
                }
                format!(
                    "0 {} {} {} {} {}",
                    fields[0],
                    fields[1],
                    fields[2],
                    fields[3],
                    crontab_weekdays(fields[4])?
                )
            }
            6 => {
                check_range(expression, fields[0], "second", 0, 59)?;
                for (text, (name, lo, hi)) in fields[1..].iter().zip(FIELDS) {
                    check_range(expression, text, name, lo, hi)?;
                }
                fields.join(" ")
            }
            n => {
                return Err(format!(
                    "`{expression}` has {n} fields; write 5 (minute hour day month weekday), 6 (seconds first) or a macro such as @hourly"
                ));
            }
        };
        let schedule = cron::Schedule::from_str(&six_field).map_err(|e| {
            let why = e.to_string();
            let first = why.lines().next().unwrap_or("").trim();
            format!("`{expression}` is not a valid cron expression: {first}")
        })?;
        if schedule.upcoming(Utc).next().is_none() {
            return Err(format!("`{expression}` never fires"));
        }
        Ok(CronSchedule {
            expression: expression.into(),
            schedule: Arc::new(schedule),
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

    /// The next due time on the schedule alone: the first firing after `now`, shifted by the source's
    /// jitter. Jitter is at most half the interval and at most 10 minutes, so a schedule keeps its rhythm.
    pub fn next_for(&self, url: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        let interval = self.typical_interval(now).num_seconds();
        let jitter = Duration::seconds(jitter_secs(url, (interval / 2).min(600)));
        self.next_after(now - jitter)
            .map(|t| t + jitter)
            .unwrap_or(now + Duration::hours(24))
    }
}

/// Checks every number in one field (`5`, `1-5`, `*/15`, `1,3`) against the field's range, so that a
/// mistake reads as one line naming the field ("minute 61 is out of range 0-59").
fn check_range(expression: &str, field: &str, name: &str, lo: u32, hi: u32) -> Result<(), String> {
    for part in field.split(',') {
        let (range, step) = part.split_once('/').unwrap_or((part, ""));
        if !step.is_empty() && step.parse::<u32>().map_or(true, |s| s == 0) {
            return Err(format!(
                "`{expression}`: the step `/{step}` of the {name} field must be a positive number"
            ));
        }
        for n in range.split('-') {
            if let Ok(v) = n.parse::<u32>()
                && !(lo..=hi).contains(&v)
            {
                return Err(format!(
                    "`{expression}`: {name} {v} is out of range {lo}-{hi}"
                ));
            }
        }
    }
    Ok(())
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

/// A stable offset in `[0, max)` seconds derived from the source URL, so sources sharing a schedule spread out.
pub(crate) fn jitter_secs(url: &str, max_secs: i64) -> i64 {
    if max_secs <= 1 {
        return 0;
    }
    let h = blake3::hash(url.as_bytes());
    let n = u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"));
    (n % max_secs as u64) as i64
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
    fn six_fields_macros_and_one_line_errors() {
        assert_eq!(
            CronSchedule::parse("30 */5 * * * *")
                .unwrap()
                .next_after(Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap())
                .unwrap()
                .second(),
            30
        );
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 10, 7, 0).unwrap();
        let hourly = CronSchedule::parse("@hourly").unwrap();
        assert_eq!(
            hourly.next_after(t).unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 5, 11, 0, 0).unwrap()
        );
        assert_eq!(hourly.expression(), "@hourly");
        assert!(CronSchedule::parse("@DAILY").is_ok());
        for (bad, says) in [
            ("* * *", "has 3 fields"),
            ("61 * * * *", "minute 61 is out of range 0-59"),
            ("0 24 * * *", "hour 24 is out of range 0-23"),
            ("0 9 * * 8", "weekday 8 is out of range 0-7"),
            ("*/0 * * * *", "step `/0` of the minute field"),
            ("@sometimes", "not a cron macro"),
            ("every tuesday * * *", "not a valid cron expression"),
        ] {
            let err = CronSchedule::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains('\n'), "{bad}: {err}");
        }
    }

    #[test]
    fn jitter_is_stable_bounded_and_spreads_sources() {
        let s = CronSchedule::parse("*/10 * * * *").unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 1).unwrap();
        let times: std::collections::BTreeSet<_> = (0..50)
            .map(|i| s.next_for(&format!("https://h.example/{i}.rss"), now))
            .collect();
        assert!(
            times.len() > 30,
            "jitter should spread 50 sources, got {} distinct times",
            times.len()
        );
        for t in &times {
            assert!(*t > now && *t <= now + Duration::minutes(15), "{t}");
        }
        assert_eq!(s.next_for("https://a/", now), s.next_for("https://a/", now));
    }
}
