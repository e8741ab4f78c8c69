//! Polls one source: fetch, parse, normalise, and plan the next poll. Runs on the async runtime (parsing on
//! a blocking thread) and hands its [`PollResult`] to the single ingest writer.

use chrono::{DateTime, Duration, Utc};

use crate::fetch::{FetchOutcome, Fetcher};
use crate::ingest::PollResult;
use crate::normalize::{self, FeedMeta};
use crate::parse;
use crate::schedule::{self, CronSchedule, DueReason};
use crate::store::{PollRecord, SourceRow};

/// Error backoff starts here and doubles per consecutive failure.
const BACKOFF_BASE: Duration = Duration::minutes(5);
/// Error backoff never exceeds this.
const BACKOFF_MAX: Duration = Duration::hours(12);
/// A source failing for this long is only probed once a day.
const QUARANTINE_AFTER: Duration = Duration::days(3);
/// Feed hints (`<ttl>`, Cache-Control) cannot push a poll further out than this.
const HINT_MAX: Duration = Duration::hours(24);

/// Polls `source` once and returns what to store.
pub async fn poll_source(
    fetcher: &Fetcher,
    source: &SourceRow,
    schedule: &CronSchedule,
) -> PollResult {
    let started = Utc::now();
    let url = source.poll_url().to_string();
    let outcome = fetcher.fetch(&url, &source.validators).await;
    let now = Utc::now();
    let mut record = PollRecord {
        polled_at: now.timestamp(),
        ..Default::default()
    };
    let mut items = Vec::new();
    let mut floor: Option<(DateTime<Utc>, DueReason)> = None;
    match outcome {
        FetchOutcome::Fetched(fetched) => {
            let body = fetched.body;
            let content_type = fetched.content_type.clone();
            let final_url = fetched.final_url.clone();
            let parsed = tokio::task::spawn_blocking(move || {
                parse::parse_feed(&body, content_type.as_deref(), Some(&final_url)).map(|p| {
                    (
                        normalize::feed_meta(&p.feed),
                        normalize::normalize_feed(&p.feed, &final_url, now),
                    )
                })
            })
            .await;
            match parsed {
                Ok(Ok((meta, normalized))) => {
                    record.success = true;
                    record.result = format!("ok: {} entries", normalized.len());
                    floor = hint_floor(&meta, fetched.hints.fresh_until, now);
                    record.feed_title = meta.title;
                    record.site_url = meta.site_url;
                    record.ttl_minutes = meta.ttl_minutes;
                    record.validators = Some(fetched.validators);
                    items = normalized;
                }
                Ok(Err(e)) => fail(&mut record, "parse", &format!("{url}: {e}")),
                Err(e) => fail(
                    &mut record,
                    "parse",
                    &format!("{url}: the parser crashed: {e}"),
                ),
            }
            record.moved_to = fetched.moved_to;
        }
        FetchOutcome::Unchanged {
            validators,
            hints,
            moved_to,
        } => {
            record.success = true;
            record.result = "not modified".into();
            record.validators = Some(validators);
            record.moved_to = moved_to;
            let meta = FeedMeta {
                ttl_minutes: source.ttl_minutes.map(|t| t as u32),
                ..Default::default()
            };
            floor = hint_floor(&meta, hints.fresh_until, now);
        }
        FetchOutcome::Gone => {
            record.gone = true;
            fail(
                &mut record,
                "gone",
                &format!("{url}: 410 Gone; polling stopped. Remove it from feeds.toml"),
            );
        }
        FetchOutcome::Failed(e) => {
            fail(&mut record, &e.kind, &format!("{url}: {}", e.message));
            if let Some(t) = e.retry_after {
                floor = Some((t, DueReason::RetryAfter));
            }
        }
    }
    if !record.gone {
        record.next_due = Some(plan_next(source, schedule, &record, floor, now));
    }
    tracing::debug!(source = %source.url, result = %record.result, took_ms = (Utc::now() - started).num_milliseconds(), "polled");
    PollResult { record, items }
}

fn fail(record: &mut PollRecord, kind: &str, message: &str) {
    record.success = false;
    record.result = format!("error ({kind})");
    record.error = Some(message.to_string());
}

/// The later of `<ttl>` and the HTTP freshness time, capped so a feed cannot switch itself off.
fn hint_floor(
    meta: &FeedMeta,
    fresh_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DueReason)> {
    let ttl = meta.ttl_minutes.map(|m| now + Duration::minutes(m as i64));
    let hint = ttl.max(fresh_until)?;
    Some((hint.min(now + HINT_MAX), DueReason::FeedHint))
}

/// The next due time and its reason, after a poll with `record`'s outcome.
fn plan_next(
    source: &SourceRow,
    schedule: &CronSchedule,
    record: &PollRecord,
    floor: Option<(DateTime<Utc>, DueReason)>,
    now: DateTime<Utc>,
) -> (i64, String) {
    let scheduled = schedule::next_on_schedule(schedule, &source.url, now);
    let floor = if record.success {
        floor
    } else {
        let failing_since = source
            .first_error_at
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .unwrap_or(now);
        let errors = source.consecutive_errors + 1;
        let backoff = if now - failing_since >= QUARANTINE_AFTER {
            (now + Duration::days(1), DueReason::Quarantine)
        } else {
            let factor = 1i32 << (errors - 1).clamp(0, 16);
            let wait = (BACKOFF_BASE * factor).min(BACKOFF_MAX);
            (now + wait, DueReason::Backoff)
        };
        Some(match floor {
            Some(f) if f.0 > backoff.0 => f,
            _ => backoff,
        })
    };
    let (due, reason) = schedule::apply_floor(scheduled, floor);
    (due.timestamp(), reason.as_str().to_string())
}
