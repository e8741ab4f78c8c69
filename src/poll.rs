//! Polls one source: fetch, parse, normalise, and plan the next poll. Runs on the async runtime (parsing on
//! a blocking thread) and hands its [`PollResult`] to the single ingest writer.

use chrono::{DateTime, Duration, Utc};

use crate::config::PollingConfig;
use crate::fetch::{FetchOutcome, Fetcher};
use crate::ingest::PollResult;
use crate::normalize;
use crate::parse;
use crate::schedule::{self, CronSchedule, DueReason};
use crate::store::{PollRecord, SourceRow};

/// Everything a poll needs besides the source.
pub struct PollContext<'a> {
    /// Slots for parsed results waiting to be stored; a fetched body waits for one before it is parsed.
    pub memory: &'a std::sync::Arc<tokio::sync::Semaphore>,
    /// Slots for parsing: one per core, since parsing is pure CPU work and more threads at it only
    /// switch more and each hold allocator memory.
    pub parsing: &'a tokio::sync::Semaphore,
    /// The HTTP client and its limits.
    pub fetcher: &'a Fetcher,
    /// The source's effective schedule.
    pub schedule: &'a CronSchedule,
    /// Interval bounds, backoff and quarantine.
    pub polling: &'a PollingConfig,
    /// Computes similarity features while parsing, off the writer thread (None: similarity is off).
    pub features: Option<&'a std::sync::Arc<crate::dedup::similar::FeatureExtractor>>,
}

/// Polls `source` once and returns what to store.
pub async fn poll_source(ctx: &PollContext<'_>, source: &SourceRow) -> PollResult {
    let url = source.poll_url().to_string();
    let outcome = ctx.fetcher.fetch(&url, &source.validators).await;
    let now = Utc::now();
    let mut record = PollRecord {
        polled_at: now.timestamp(),
        skip: source.skip,
        ..Default::default()
    };
    let mut items = Vec::new();
    let mut fresh_until = None;
    let mut retry_after = None;
    let mut slot = None;
    let mut features = Vec::new();
    match outcome {
        FetchOutcome::Fetched(fetched) => {
            slot = Some(
                ctx.memory
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the memory semaphore is never closed"),
            );
            let body = fetched.body;
            let content_type = fetched.content_type.clone();
            let final_url = fetched.final_url.clone();
            let extractor = ctx.features.cloned();
            let cpu = ctx
                .parsing
                .acquire()
                .await
                .expect("the parsing semaphore is never closed");
            let parsed = tokio::task::spawn_blocking(move || {
                match parse::parse_feed(&body, content_type.as_deref(), Some(&final_url)) {
                    Ok(p) => {
                        let items = normalize::normalize_feed(&p.feed, &final_url, now);
                        let features = match &extractor {
                            Some(x) => items.iter().map(|i| x.features(i)).collect(),
                            None => Vec::new(),
                        };
                        Ok((normalize::feed_meta(&p.feed), p.skip, (items, features)))
                    }
                    Err(e) => Err(with_discovered_feeds(
                        e.to_string(),
                        &body,
                        content_type.as_deref(),
                        &final_url,
                    )),
                }
            })
            .await;
            drop(cpu);
            match parsed {
                Ok(Ok((meta, skip, (normalized, computed)))) => {
                    record.success = true;
                    record.result = format!("ok: {} entries", normalized.len());
                    record.feed_title = meta.title;
                    record.site_url = meta.site_url;
                    record.ttl_minutes = meta.ttl_minutes;
                    record.skip = skip;
                    record.validators = Some(fetched.validators);
                    items = normalized;
                    features = computed;
                }
                Ok(Err(e)) => fail(&mut record, "parse", &format!("{url}: {e}")),
                Err(e) => fail(
                    &mut record,
                    "parse",
                    &format!("{url}: the parser crashed: {e}"),
                ),
            }
            fresh_until = fetched.hints.fresh_until;
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
            record.ttl_minutes = source.ttl_minutes.map(|t| t as u32);
            fresh_until = hints.fresh_until;
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
            retry_after = e.retry_after;
        }
    }
    if !record.gone {
        let plan = Plan {
            source,
            schedule: ctx.schedule,
            polling: ctx.polling,
            now,
        };
        let (due, reason) = plan.next_due(&record, fresh_until, retry_after);
        record.next_due = Some((due.timestamp(), reason.as_str().to_string()));
    }
    PollResult {
        record,
        items,
        features,
        memory_slot: slot,
    }
}

/// Adds the feeds an HTML page links to, so the operator sees which URL to configure instead.
fn with_discovered_feeds(
    message: String,
    body: &[u8],
    content_type: Option<&str>,
    base: &str,
) -> String {
    let Ok((text, _)) = parse::decode(body, content_type) else {
        return message;
    };
    let found = parse::discover_feeds(&text, url::Url::parse(base).ok().as_ref());
    if found.is_empty() {
        return message;
    }
    let urls: Vec<String> = found.into_iter().map(|f| f.url).collect();
    format!(
        "this is an HTML page, not a feed; it links to {}: set `url` to one of them",
        urls.join(", ")
    )
}

fn fail(record: &mut PollRecord, kind: &str, message: &str) {
    record.success = false;
    record.result = format!("error ({kind})");
    record.error = Some(message.to_string());
}

/// The inputs that decide a source's next due time.
struct Plan<'a> {
    source: &'a SourceRow,
    schedule: &'a CronSchedule,
    polling: &'a PollingConfig,
    now: DateTime<Utc>,
}

impl Plan<'_> {
    /// The schedule's next time, pushed later (never earlier) by feed hints, Retry-After, backoff,
    /// quarantine, the minimum interval and skipHours/skipDays. The reason names what decided.
    fn next_due(
        &self,
        record: &PollRecord,
        fresh_until: Option<DateTime<Utc>>,
        retry_after: Option<DateTime<Utc>>,
    ) -> (DateTime<Utc>, DueReason) {
        let now = self.now;
        let scheduled = schedule::next_on_schedule(self.schedule, &self.source.url, now);
        let max_hint = now + Duration::seconds(self.polling.max_interval_secs);
        let mut floors: Vec<(DateTime<Utc>, DueReason)> = vec![(
            now + Duration::seconds(self.polling.min_interval_secs),
            DueReason::Schedule,
        )];
        let ttl = record
            .ttl_minutes
            .map(|m| now + Duration::minutes(i64::from(m)));
        if let Some(hint) = ttl.max(fresh_until) {
            floors.push((hint.min(max_hint), DueReason::FeedHint));
        }
        if let Some(t) = retry_after {
            floors.push((t, DueReason::RetryAfter));
        }
        if !record.success {
            floors.push(self.backoff());
        }
        let floor = floors.into_iter().max_by_key(|(t, _)| *t);
        let (due, reason) = schedule::apply_floor(scheduled, floor);
        let allowed = record.skip.next_allowed(due).min(max_hint.max(due));
        if allowed > due {
            (allowed, DueReason::FeedHint)
        } else {
            (due, reason)
        }
    }

    fn backoff(&self) -> (DateTime<Utc>, DueReason) {
        let now = self.now;
        let failing_since = self
            .source
            .first_error_at
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .unwrap_or(now);
        if now - failing_since >= Duration::days(self.polling.quarantine_after_days) {
            return (now + Duration::days(1), DueReason::Quarantine);
        }
        let errors = self.source.consecutive_errors + 1;
        let factor = 1i64 << (errors - 1).clamp(0, 20);
        let wait = self
            .polling
            .backoff_base_secs
            .saturating_mul(factor)
            .min(self.polling.backoff_max_secs);
        (now + Duration::seconds(wait), DueReason::Backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::SkipHints;
    use chrono::TimeZone;

    fn source() -> SourceRow {
        SourceRow {
            id: 1,
            url: "https://a.example/feed".into(),
            name: "A".into(),
            priority: 0,
            merge: true,
            active: true,
            sections: vec![],
            validators: Default::default(),
            next_due: None,
            due_reason: None,
            last_polled: None,
            last_result: None,
            last_success: None,
            consecutive_errors: 0,
            first_error_at: None,
            last_error: None,
            moved_to: None,
            gone: false,
            feed_title: None,
            ttl_minutes: None,
            items_seen: 0,
            skip: SkipHints::default(),
        }
    }

    fn plan<'a>(
        source: &'a SourceRow,
        schedule: &'a CronSchedule,
        polling: &'a PollingConfig,
    ) -> Plan<'a> {
        Plan {
            source,
            schedule,
            polling,
            now: Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 30).unwrap(),
        }
    }

    #[test]
    fn a_healthy_poll_follows_the_schedule_and_respects_ttl() {
        let s = source();
        let sched = CronSchedule::parse("*/5 * * * *").unwrap();
        let polling = PollingConfig::default();
        let p = plan(&s, &sched, &polling);
        let ok = PollRecord {
            success: true,
            ..Default::default()
        };
        let (due, reason) = p.next_due(&ok, None, None);
        assert_eq!(reason, DueReason::Schedule);
        assert!(due > p.now && due <= p.now + Duration::minutes(8), "{due}");
        let ttl = PollRecord {
            success: true,
            ttl_minutes: Some(60),
            ..Default::default()
        };
        assert_eq!(
            p.next_due(&ttl, None, None),
            (p.now + Duration::minutes(60), DueReason::FeedHint)
        );
        let huge = PollRecord {
            success: true,
            ttl_minutes: Some(60 * 24 * 30),
            ..Default::default()
        };
        assert_eq!(
            p.next_due(&huge, None, None).0,
            p.now + Duration::days(1),
            "hints are capped"
        );
    }

    #[test]
    fn failures_back_off_exponentially_then_quarantine() {
        let sched = CronSchedule::parse("* * * * *").unwrap();
        let polling = PollingConfig::default();
        let failed = PollRecord {
            success: false,
            ..Default::default()
        };
        let mut s = source();
        let mut waits = Vec::new();
        for errors in 0..10 {
            s.consecutive_errors = errors;
            s.first_error_at = Some(
                Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
                    .unwrap()
                    .timestamp(),
            );
            let p = plan(&s, &sched, &polling);
            let (due, reason) = p.next_due(&failed, None, None);
            assert_eq!(reason, DueReason::Backoff);
            waits.push((due - p.now).num_seconds());
        }
        assert_eq!(&waits[..4], &[300, 600, 1200, 2400]);
        assert_eq!(*waits.last().unwrap(), 43_200, "capped");
        s.first_error_at = Some(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .unwrap()
                .timestamp(),
        );
        let p = plan(&s, &sched, &polling);
        assert_eq!(
            p.next_due(&failed, None, None),
            (p.now + Duration::days(1), DueReason::Quarantine)
        );
    }

    #[test]
    fn retry_after_wins_when_it_is_later() {
        let s = source();
        let sched = CronSchedule::parse("* * * * *").unwrap();
        let polling = PollingConfig::default();
        let p = plan(&s, &sched, &polling);
        let failed = PollRecord {
            success: false,
            ..Default::default()
        };
        let later = p.now + Duration::hours(2);
        assert_eq!(
            p.next_due(&failed, None, Some(later)),
            (later, DueReason::RetryAfter)
        );
    }

    #[test]
    fn skip_hours_push_the_poll_out() {
        let s = source();
        let sched = CronSchedule::parse("*/5 * * * *").unwrap();
        let polling = PollingConfig::default();
        let p = plan(&s, &sched, &polling);
        let rec = PollRecord {
            success: true,
            skip: SkipHints {
                hours: 1 << 10,
                days: 0,
            },
            ..Default::default()
        };
        let (due, reason) = p.next_due(&rec, None, None);
        assert_eq!(due, Utc.with_ymd_and_hms(2026, 1, 5, 11, 0, 0).unwrap());
        assert_eq!(reason, DueReason::FeedHint);
    }
}
