//! What publishers and servers ask of our polling: RSS `skipHours`/`skipDays`, and Retry-After (both the
//! seconds form and the HTTP-date form, each capped so no server can switch a source off for good).

use chrono::{DateTime, Duration, Utc};

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

/// When a server that answered 429 or 503 may be asked again: its Retry-After header (seconds or an HTTP
/// date), never earlier than `now` and never later than `now + cap_secs`. Without a usable header, five
/// minutes: a server that says "too many requests" deserves a pause even when it does not say how long.
pub(crate) fn retry_after(
    header: Option<&str>,
    now: DateTime<Utc>,
    cap_secs: i64,
) -> DateTime<Utc> {
    let requested = header.map(str::trim).and_then(|v| match v.parse::<i64>() {
        Ok(secs) => Some(now + Duration::seconds(secs.clamp(0, cap_secs))),
        Err(_) => httpdate::parse_http_date(v).ok().map(DateTime::<Utc>::from),
    });
    requested
        .unwrap_or(now + Duration::minutes(5))
        .clamp(now, now + Duration::seconds(cap_secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
    fn retry_after_is_capped_in_both_forms() {
        let now = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap();
        let day = 86_400;
        assert_eq!(
            retry_after(Some("120"), now, day),
            now + Duration::seconds(120)
        );
        assert_eq!(
            retry_after(Some("99999999"), now, day),
            now + Duration::days(1)
        );
        assert_eq!(retry_after(Some("-5"), now, day), now);
        assert_eq!(
            retry_after(Some("Mon, 05 Jan 2026 10:30:00 GMT"), now, day),
            now + Duration::minutes(30)
        );
        assert_eq!(
            retry_after(Some("Fri, 31 Dec 9999 23:59:59 GMT"), now, day),
            now + Duration::days(1),
            "a date far in the future is capped like the seconds form"
        );
        assert_eq!(
            retry_after(Some("Thu, 01 Jan 1970 00:00:00 GMT"), now, day),
            now
        );
        assert_eq!(retry_after(None, now, day), now + Duration::minutes(5));
        assert_eq!(
            retry_after(Some("soon"), now, day),
            now + Duration::minutes(5)
        );
    }
}
