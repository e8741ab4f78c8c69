//! The next poll of a source after a poll: its cron time, pushed later (never earlier) by the minimum
//! interval, feed hints, Retry-After, error backoff, quarantine and skipHours/skipDays, with the reason
//! that decided. Pure: the caller persists the result with the poll it follows.

use chrono::{DateTime, Duration, Utc};

use super::hints::SkipHints;
use super::{CronSchedule, Due, DueReason};
use crate::config::PollingConfig;

/// A source's run of failures, which backoff and quarantine read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Streak {
    /// Failed polls in a row.
    pub consecutive_errors: i64,
    /// When the run began (unix secs); None while healthy.
    pub failing_since: Option<i64>,
}

impl Streak {
    /// The streak after one more poll at `now`.
    pub fn after(self, success: bool, now: i64) -> Streak {
        if success {
            Streak::default()
        } else {
            Streak {
                consecutive_errors: self.consecutive_errors + 1,
                failing_since: self.failing_since.or(Some(now)),
            }
        }
    }
}

/// What a poll told the planner.
#[derive(Debug, Clone, Default)]
pub(crate) struct PollFacts {
    /// Whether the poll succeeded (a new body or an unchanged one).
    pub success: bool,
    /// The streak before this poll.
    pub streak: Streak,
    /// The feed's `<ttl>`, minutes.
    pub ttl_minutes: Option<u32>,
    /// Cache-Control max-age or Expires.
    pub fresh_until: Option<DateTime<Utc>>,
    /// When a 429/503 server asked to be polled again (already capped, see [`super::retry_after`]).
    pub retry_after: Option<DateTime<Utc>>,
    /// The feed's skipHours/skipDays.
    pub skip: SkipHints,
}

/// The source's next due time after a poll at `now` that `facts` describe.
pub(crate) fn next_due(
    url: &str,
    schedule: &CronSchedule,
    polling: &PollingConfig,
    now: DateTime<Utc>,
    facts: &PollFacts,
) -> Due {
    let scheduled = schedule.next_for(url, now);
    let max_hint = now + Duration::seconds(polling.max_interval_secs);
    let mut floors = vec![Due {
        at: now + Duration::seconds(polling.min_interval_secs),
        reason: DueReason::Schedule,
    }];
    let ttl = facts
        .ttl_minutes
        .map(|m| now + Duration::minutes(i64::from(m)));
    if let Some(hint) = ttl.max(facts.fresh_until) {
        floors.push(Due {
            at: hint.min(max_hint),
            reason: DueReason::FeedHint,
        });
    }
    if let Some(at) = facts.retry_after {
        floors.push(Due {
            at: at.min(max_hint),
            reason: DueReason::RetryAfter,
        });
    }
    if !facts.success {
        floors.push(backoff(polling, now, facts.streak));
    }
    let floor = floors.into_iter().max_by_key(|d| d.at);
    let due = match floor {
        Some(f) if f.at > scheduled => f,
        _ => Due {
            at: scheduled,
            reason: DueReason::Schedule,
        },
    };
    let allowed = facts.skip.next_allowed(due.at).min(max_hint.max(due.at));
    if allowed > due.at {
        Due {
            at: allowed,
            reason: DueReason::FeedHint,
        }
    } else {
        due
    }
}

/// The wait after one more failure: doubling from `backoff_base_secs` up to `backoff_max_secs`, or a daily
/// probe once the source has failed for `quarantine_after_days`.
fn backoff(polling: &PollingConfig, now: DateTime<Utc>, before: Streak) -> Due {
    let failing_since = before
        .failing_since
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .unwrap_or(now);
    if now - failing_since >= Duration::days(polling.quarantine_after_days) {
        return Due {
            at: now + Duration::days(1),
            reason: DueReason::Quarantine,
        };
    }
    let factor = 1i64 << before.consecutive_errors.clamp(0, 20);
    let wait = polling
        .backoff_base_secs
        .saturating_mul(factor)
        .min(polling.backoff_max_secs);
    Due {
        at: now + Duration::seconds(wait),
        reason: DueReason::Backoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 30).unwrap()
    }

    fn plan(schedule: &str, facts: &PollFacts) -> Due {
        let sched = CronSchedule::parse(schedule).unwrap();
        next_due(
            "https://a.example/feed",
            &sched,
            &PollingConfig::default(),
            now(),
            facts,
        )
    }

    fn ok() -> PollFacts {
        PollFacts {
            success: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_healthy_poll_follows_the_schedule_and_respects_ttl() {
        let due = plan("*/5 * * * *", &ok());
        assert_eq!(due.reason, DueReason::Schedule);
        assert!(
            due.at > now() && due.at <= now() + Duration::minutes(8),
            "{due:?}"
        );
        let ttl = PollFacts {
            ttl_minutes: Some(60),
            ..ok()
        };
        assert_eq!(
            plan("*/5 * * * *", &ttl),
            Due {
                at: now() + Duration::minutes(60),
                reason: DueReason::FeedHint
            }
        );
        let huge = PollFacts {
            ttl_minutes: Some(60 * 24 * 30),
            ..ok()
        };
        assert_eq!(
            plan("*/5 * * * *", &huge).at,
            now() + Duration::days(1),
            "hints are capped"
        );
    }

    #[test]
    fn failures_back_off_exponentially_then_quarantine() {
        let started = Utc
            .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
            .unwrap()
            .timestamp();
        let mut waits = Vec::new();
        for errors in 0..10 {
            let facts = PollFacts {
                streak: Streak {
                    consecutive_errors: errors,
                    failing_since: Some(started),
                },
                ..Default::default()
            };
            let due = plan("* * * * *", &facts);
            assert_eq!(due.reason, DueReason::Backoff);
            waits.push((due.at - now()).num_seconds());
        }
        assert_eq!(&waits[..4], &[300, 600, 1200, 2400]);
        assert_eq!(*waits.last().unwrap(), 43_200, "capped");
        let long_ago = PollFacts {
            streak: Streak {
                consecutive_errors: 40,
                failing_since: Some(
                    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                        .unwrap()
                        .timestamp(),
                ),
            },
            ..Default::default()
        };
        assert_eq!(
            plan("* * * * *", &long_ago),
            Due {
                at: now() + Duration::days(1),
                reason: DueReason::Quarantine
            }
        );
    }

    #[test]
    fn retry_after_wins_when_it_is_later_and_is_capped() {
        let later = now() + Duration::hours(2);
        let facts = PollFacts {
            retry_after: Some(later),
            ..Default::default()
        };
        assert_eq!(
            plan("* * * * *", &facts),
            Due {
                at: later,
                reason: DueReason::RetryAfter
            }
        );
        let forever = PollFacts {
            retry_after: Some(now() + Duration::days(3650)),
            ..Default::default()
        };
        assert_eq!(plan("* * * * *", &forever).at, now() + Duration::days(1));
    }

    #[test]
    fn skip_hours_push_the_poll_out() {
        let facts = PollFacts {
            skip: SkipHints {
                hours: 1 << 10,
                days: 0,
            },
            ..ok()
        };
        let due = plan("*/5 * * * *", &facts);
        assert_eq!(due.at, Utc.with_ymd_and_hms(2026, 1, 5, 11, 0, 0).unwrap());
        assert_eq!(due.reason, DueReason::FeedHint);
    }

    #[test]
    fn the_streak_counts_failures_and_resets_on_success() {
        let s = Streak::default().after(false, 100).after(false, 200);
        assert_eq!(
            s,
            Streak {
                consecutive_errors: 2,
                failing_since: Some(100)
            }
        );
        assert_eq!(s.after(true, 300), Streak::default());
    }
}
