//! One source's refresh, top-down, the way Miniflux's `RefreshFeed` reads: fetch → parse → normalise →
//! features → place and store → next due. Every outcome, good or bad and a panic included, ends in
//! [`Pipeline::finish`], which logs it once, counts it, and hands the source's new state back to the
//! scheduler. That is the whole failure policy for one source: it backs off and is polled again; nothing
//! else stops.

use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;

use super::ingest::{StoreJob, Stored};
use super::outcome::{Failure, FailureKind, LayerCounts, PollStatus};
use super::writer::StoreError;
use super::{Pipeline, Settings};
use crate::dedup::similar::Features;
use crate::fetch::budget::{self, Charge};
use crate::fetch::{CacheHints, FetchOutcome, Validators};
use crate::normalize::{self, FeedMeta, NormalizedItem};
use crate::parse;
use crate::schedule::plan::{self, PollFacts};
use crate::schedule::{self, DueReason, SkipHints};
use crate::store::{FeedCounts, SourceRow};

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        let why = match e {
            StoreError::Feed(why) | StoreError::Unavailable(why) => why,
        };
        Failure::new(
            FailureKind::Store,
            format!("the poll could not be recorded: {why}"),
        )
    }
}

/// A source after its refresh: the new state for the scheduler and what happened, for the caller's report.
#[derive(Debug)]
pub(crate) struct Refreshed {
    /// The source's state now (due time, validators, errors), as stored.
    pub source: SourceRow,
    /// What the poll came to.
    pub status: PollStatus,
    /// Why it failed, if it did.
    pub failure: Option<Failure>,
    /// What storing it changed.
    pub counts: FeedCounts,
    /// Which dedup layers placed its entries.
    pub layers: LayerCounts,
    /// Sections whose published feeds must be rendered again.
    pub changed_sections: Vec<String>,
}

/// What fetching and parsing brought.
enum Polled {
    /// A new body, parsed and normalised.
    New {
        meta: FeedMeta,
        skip: SkipHints,
        items: Vec<NormalizedItem>,
        features: Vec<Features>,
        memory: tokio::sync::OwnedSemaphorePermit,
        charge: Charge,
        validators: Validators,
        hints: CacheHints,
        moved_to: Option<String>,
    },
    /// 304, or the same body as last time.
    Unchanged {
        validators: Validators,
        hints: CacheHints,
        moved_to: Option<String>,
    },
    /// 410 Gone.
    Gone,
}

/// Entries read from one feed, at most. A feed with more is an archive, not news, and would cost the
/// similarity window and the store as much as hundreds of feeds: it fails, with the count, unparsed when
/// its tags already show it.
pub(crate) const MAX_ENTRIES: usize = 10_000;
/// JSON objects a JSON feed may have per entry it may have (authors, attachments, extensions).
const JSON_OBJECTS_PER_ENTRY: usize = 5;

/// A function the refresh calls first with the URL it polls: a test's way to make one refresh panic.
type RefreshHook = std::sync::Arc<dyn Fn(&str) + Send + Sync>;
static REFRESH_HOOK: std::sync::RwLock<Option<RefreshHook>> = std::sync::RwLock::new(None);

/// Installs (or with None removes) a hook every refresh calls with the URL it polls. For tests of the
/// failure policy only.
#[doc(hidden)]
pub fn set_refresh_hook(hook: Option<RefreshHook>) {
    *REFRESH_HOOK.write().expect("hook lock") = hook;
}

impl Pipeline {
    /// Refreshes one source and returns its new state. Never fails and never panics.
    pub(crate) async fn refresh(&self, source: SourceRow) -> Refreshed {
        let settings = self.settings();
        let now = Utc::now();
        let done = AssertUnwindSafe(self.refresh_with(&settings, &source, now))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                // Past fetching (which catches its own panics, to record them), a panic cannot be
                // recorded either; the source is still rescheduled, so no bug can drop it.
                let failure = Failure::panic(panic);
                self.unrecorded(&settings, source.clone(), now, failure)
            });
        self.finish(&source, done)
    }

    /// The refresh proper; may panic only past fetching and parsing.
    async fn refresh_with(
        &self,
        settings: &Settings,
        source: &SourceRow,
        now: DateTime<Utc>,
    ) -> Refreshed {
        let polled = AssertUnwindSafe(self.fetch_and_parse(settings, source, now))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(Failure::panic(panic)));
        let (job, status, failure) = next_state(settings, source, now, polled);
        let state = job.state.clone();
        match self.writer.store(job).await {
            Ok(Stored {
                counts,
                layers,
                sections,
            }) => Refreshed {
                source: SourceRow {
                    items_seen: state.items_seen + counts.new_items as i64,
                    ..state
                },
                status,
                failure,
                // Routing says which sections the stories it touched are or were in, whatever the source lists.
                changed_sections: sections,
                counts,
                layers,
            },
            Err(StoreError::Feed(why)) => {
                // Its entries could not be written: the poll failed after all, and is recorded as such.
                let failure = Failure::new(
                    FailureKind::Store,
                    format!("its entries could not be stored: {why}"),
                );
                let (job, status, failure) = next_state(settings, source, now, Err(failure));
                let state = job.state.clone();
                match self.writer.store(job).await {
                    Ok(_) => Refreshed {
                        source: state,
                        status,
                        failure,
                        counts: FeedCounts::default(),
                        layers: LayerCounts::default(),
                        changed_sections: Vec::new(),
                    },
                    Err(e) => self.unrecorded(settings, source.clone(), now, e.into()),
                }
            }
            Err(e) => self.unrecorded(settings, source.clone(), now, e.into()),
        }
    }

    /// Fetches and parses; any failure is a [`Failure`] to record.
    async fn fetch_and_parse(
        &self,
        settings: &Settings,
        source: &SourceRow,
        now: DateTime<Utc>,
    ) -> Result<Polled, Failure> {
        let url = source.poll_url().to_string();
        let hook = REFRESH_HOOK.read().expect("hook lock").clone();
        if let Some(hook) = hook {
            hook(&url);
        }
        let started = std::time::Instant::now();
        let outcome = settings
            .fetcher
            .fetch_for(&source.url, &url, &source.validators, &self.budget)
            .await;
        let bytes = match &outcome {
            FetchOutcome::Fetched(f) => f.body.len(),
            _ => 0,
        };
        self.metrics.record_fetch(started.elapsed(), bytes);
        let fetched = match outcome {
            FetchOutcome::Fetched(f) => f,
            FetchOutcome::Unchanged {
                validators,
                hints,
                moved_to,
            } => {
                return Ok(Polled::Unchanged {
                    validators,
                    hints,
                    moved_to,
                });
            }
            FetchOutcome::Gone => return Ok(Polled::Gone),
            FetchOutcome::Failed(e) => {
                let mut failure = Failure::new(FailureKind::Fetch(e.kind), e.message);
                if let Some(pause) = e.pause {
                    let cap = settings.config.polling.max_interval_secs;
                    let until = schedule::retry_after(pause.retry_after.as_deref(), now, cap);
                    self.hosts.pause(&pause.host, until);
                    failure.retry_after = Some(until);
                    failure.message = format!(
                        "{}; the host is paused until {}",
                        failure.message,
                        crate::timefmt::human_at(until)
                    );
                }
                return Err(failure);
            }
        };
        // A slot for the parsed entries first: when the writer falls behind, bodies wait unparsed.
        let memory = self
            .memory
            .clone()
            .acquire_owned()
            .await
            .expect("the memory semaphore is never closed");
        // Then the memory parsing will take; only once that is held does a large body's download
        // reservation go, so a waiting body is always accounted for.
        let body = fetched.body;
        let cost = if body.len() > budget::SMALL_BODY {
            let scanned = body.clone();
            tokio::task::spawn_blocking(move || budget::parse_cost(&scanned))
                .await
                .map_err(|e| Failure::new(FailureKind::Parse, e.to_string()))?
        } else {
            budget::parse_cost(&body)
        };
        if cost.json && cost.entries > JSON_OBJECTS_PER_ENTRY * MAX_ENTRIES {
            return Err(Failure::new(
                FailureKind::Parse,
                format!(
                    "the feed has {} JSON objects, more than {JSON_OBJECTS_PER_ENTRY} for each of the \
                     {MAX_ENTRIES} entries wiredesk reads from one feed; it was not parsed",
                    cost.entries
                ),
            ));
        }
        if !cost.json && cost.entries > MAX_ENTRIES {
            return Err(too_many_entries(cost.entries, "about "));
        }
        if cost.bytes > self.budget.parsing_total() {
            return Err(Failure::new(
                FailureKind::Parse,
                format!(
                    "parsing it would take about {} MB, more than the {} MB that fetch.memory_budget_bytes \
                     leaves for parsing; it was not parsed (raise the budget to read it)",
                    cost.bytes >> 20,
                    self.budget.parsing_total() >> 20
                ),
            ));
        }
        let mut charge = self.budget.charge_parsing(cost.bytes).await;
        drop(fetched.reservation);
        let cpu = self
            .parsing
            .acquire()
            .await
            .expect("the parsing semaphore is never closed");
        let extractor = settings.features.clone();
        let content_type = fetched.content_type.clone();
        let base = fetched.final_url.clone();
        let retention_days = settings.config.storage.retention_days;
        let parsed = tokio::task::spawn_blocking(move || {
            yield_to_the_writer();
            let p =
                parse::parse_feed(&body, content_type.as_deref(), Some(&base)).map_err(|e| {
                    Failure::new(
                        FailureKind::Parse,
                        with_discovered_feeds(e.to_string(), &body, content_type.as_deref(), &base),
                    )
                })?;
            drop(body);
            if p.feed.entries.len() > MAX_ENTRIES {
                return Err(too_many_entries(p.feed.entries.len(), ""));
            }
            let mut items = normalize::normalize_feed(&p.feed, &base, now)
                .map_err(|e| Failure::new(FailureKind::Parse, e.to_string()))?;
            drop_past_retention(&mut items, retention_days, now);
            let features: Vec<Features> = match &extractor {
                Some(x) => items.iter().map(|i| x.features(i)).collect(),
                None => Vec::new(),
            };
            Ok::<_, Failure>((normalize::feed_meta(&p.feed), p.skip, items, features))
        })
        .await;
        drop(cpu);
        let (meta, skip, items, features) = match parsed {
            Ok(Ok(p)) => p,
            Ok(Err(failure)) => return Err(failure),
            Err(join) if join.is_panic() => return Err(Failure::panic(join.into_panic())),
            Err(join) => return Err(Failure::new(FailureKind::Parse, join.to_string())),
        };
        let tokens = features.iter().map(Features::len).sum();
        charge.shrink_to(budget::kept_cost(&items, tokens));
        Ok(Polled::New {
            meta,
            skip,
            items,
            features,
            memory,
            charge,
            validators: fetched.validators,
            hints: fetched.hints,
            moved_to: fetched.moved_to,
        })
    }

    /// The source when its poll could not be recorded at all (the writer stopped or gave up): its stored
    /// state stands, and it is due again as after a failure, in memory only.
    fn unrecorded(
        &self,
        settings: &Settings,
        source: SourceRow,
        now: DateTime<Utc>,
        failure: Failure,
    ) -> Refreshed {
        // Due again as after one more failure; its stored streak stands, since nothing was recorded.
        let facts = PollFacts {
            streak: source.streak(),
            skip: source.skip,
            ..PollFacts::default()
        };
        let schedule = settings.schedule_for(&source.url);
        let due = plan::next_due(&source.url, schedule, &settings.config.polling, now, &facts);
        Refreshed {
            source: SourceRow {
                next_due: Some(due.at.timestamp()),
                due_reason: Some(due.reason),
                ..source
            },
            status: PollStatus::Failed(failure.kind),
            failure: Some(failure),
            counts: FeedCounts::default(),
            layers: LayerCounts::default(),
            changed_sections: Vec::new(),
        }
    }

    /// The one place every refresh ends: count it, log it when the source's state changed (failing,
    /// recovered, moved, gone, quarantined; each poll otherwise only at debug, and in the daemon's
    /// minute summary), and return it.
    fn finish(&self, before: &SourceRow, done: Refreshed) -> Refreshed {
        let name = &done.source.name;
        self.metrics
            .record_poll(&done.status, &done.counts, &done.layers);
        let now = &done.source;
        match &done.failure {
            Some(_) if now.gone && !before.gone => tracing::warn!(
                source = %name,
                state = "gone",
                "410 Gone: polling stopped; remove it from feeds.toml"
            ),
            Some(f)
                if now.due_reason == Some(DueReason::Quarantine)
                    && before.due_reason != Some(DueReason::Quarantine) =>
            {
                tracing::warn!(
                    source = %name,
                    state = "quarantined",
                    kind = %f.kind.name(),
                    "quarantined after {} failed polls; probed once a day from now on. Last error: {}",
                    now.consecutive_errors,
                    f.message
                )
            }
            Some(f) if before.consecutive_errors == 0 => tracing::warn!(
                source = %name,
                state = "failing",
                kind = %f.kind.name(),
                "failing: {}",
                f.message
            ),
            Some(f) => tracing::debug!(
                source = %name,
                kind = %f.kind.name(),
                failures = now.consecutive_errors,
                "still failing: {}",
                f.message
            ),
            None if before.consecutive_errors > 0 => tracing::info!(
                source = %name,
                state = "recovered",
                "recovered after {} failed poll(s)",
                before.consecutive_errors
            ),
            None => tracing::debug!(
                source = %name,
                result = %done.status,
                new = done.counts.new_items,
                "polled"
            ),
        }
        if let Some(to) = &done.source.moved_to
            && before.moved_to.as_ref() != Some(to)
        {
            tracing::warn!(
                source = %name,
                state = "moved",
                "moved permanently to {to}; wiredesk polls the new URL now. Set `url = \"{to}\"` in feeds.toml to silence this"
            );
        }
        done
    }
}

/// The source's state after a poll, and the job that stores it with the poll's entries.
fn next_state(
    settings: &Settings,
    source: &SourceRow,
    now: DateTime<Utc>,
    polled: Result<Polled, Failure>,
) -> (StoreJob, PollStatus, Option<Failure>) {
    let mut s = source.clone();
    let mut items = Vec::new();
    let mut features = Vec::new();
    let mut memory = None;
    let mut charge = None;
    let mut facts = PollFacts {
        streak: source.streak(),
        ttl_minutes: source.ttl_minutes.map(|t| t as u32),
        skip: source.skip,
        ..PollFacts::default()
    };
    let (status, failure) = match polled {
        Ok(Polled::New {
            meta,
            skip,
            items: entries,
            features: computed,
            memory: slot,
            charge: held,
            validators,
            hints,
            moved_to,
        }) => {
            let status = PollStatus::Fetched {
                entries: entries.len(),
            };
            s.validators = validators;
            s.feed_title = meta.title.or(s.feed_title);
            // The feed's own site link is published (Atom `source`): only a web URL is kept, whatever
            // the feed claims (`javascript:`, `data:`).
            s.site_url = meta.site_url.filter(|u| is_web_url(u)).or(s.site_url);
            s.ttl_minutes = meta.ttl_minutes.map(i64::from);
            s.skip = skip;
            s.moved_to = moved_to.or(s.moved_to);
            facts.ttl_minutes = meta.ttl_minutes;
            facts.skip = skip;
            facts.fresh_until = hints.fresh_until;
            items = entries;
            features = computed;
            memory = Some(slot);
            charge = Some(held);
            (status, None)
        }
        Ok(Polled::Unchanged {
            validators,
            hints,
            moved_to,
        }) => {
            s.validators = validators;
            s.moved_to = moved_to.or(s.moved_to);
            facts.fresh_until = hints.fresh_until;
            (PollStatus::Unchanged, None)
        }
        Ok(Polled::Gone) => {
            let failure = Failure::new(
                FailureKind::Fetch(crate::fetch::FetchErrorKind::Http(410)),
                "410 Gone; polling stopped. Remove it from feeds.toml",
            );
            s.gone = true;
            (PollStatus::Gone, Some(failure))
        }
        Err(failure) => {
            facts.retry_after = failure.retry_after;
            (PollStatus::Failed(failure.kind), Some(failure))
        }
    };
    let success = status.is_success();
    facts.success = success;
    let now_secs = now.timestamp();
    s.last_polled = Some(now_secs);
    s.last_result = Some(status);
    let streak = source.streak().after(success, now_secs);
    s.consecutive_errors = streak.consecutive_errors;
    s.first_error_at = streak.failing_since;
    if success {
        s.last_success = Some(now_secs);
    }
    if let Some(f) = &failure {
        s.last_error = Some(format!("{}: {}", source.poll_url(), f.message));
    }
    if s.gone {
        s.next_due = None;
    } else {
        let schedule = settings.schedule_for(&source.url);
        let due = plan::next_due(&source.url, schedule, &settings.config.polling, now, &facts);
        s.next_due = Some(due.at.timestamp());
        s.due_reason = Some(due.reason);
    }
    (
        StoreJob {
            state: s,
            items,
            features,
            _memory: memory,
            _budget: charge,
        },
        status,
        failure,
    )
}

/// An absolute http(s) URL.
fn is_web_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

fn too_many_entries(n: usize, about: &str) -> Failure {
    Failure::new(
        FailureKind::Parse,
        format!(
            "the feed has {about}{n} entries, more than the {MAX_ENTRIES} wiredesk reads from one feed; \
             it looks like an archive: subscribe to a feed of recent entries instead"
        ),
    )
}

/// Drops entries dated (by their feed) before the retention cutoff: they would be pruned at the next upkeep,
/// and once pruned, their tombstones are not kept forever. Undated entries are dated when first seen and
/// always pass. `retention_days` 0 keeps everything.
fn drop_past_retention(items: &mut Vec<NormalizedItem>, retention_days: u32, now: DateTime<Utc>) {
    if retention_days == 0 {
        return;
    }
    let cutoff = now - chrono::Duration::days(i64::from(retention_days));
    items.retain(|i| !i.date_from_feed || i.published >= cutoff);
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

/// How much lower than the rest of the daemon parsing runs (a nice value). The database writer is the one
/// stage that cannot run in parallel, and on a machine whose cores parsing keeps busy it waited for a
/// core: in a first poll of 100,000 feeds on 2 cores it was runnable nearly all the time but ran only
/// three fifths of it. Parsing has slack (many feeds wait in parallel), the writer has none.
const PARSE_NICENESS: i32 = 5;

/// Lowers the calling (blocking pool) thread's priority by [`PARSE_NICENESS`], once per thread. Raising one's
/// own nice value needs no privilege; where it fails (a seccomp filter, say), parsing runs as before.
fn yield_to_the_writer() {
    thread_local! {
        static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if LOWERED.replace(true) {
        return;
    }
    // On Linux the nice value is per thread: PRIO_PROCESS with a thread id sets that thread's alone.
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id, with no pointers involved.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, now + PARSE_NICENESS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_parsing_thread_lowers_its_own_priority_once_and_leaves_other_threads_alone() {
        // SAFETY: reads the calling thread's own nice value.
        let nice = || unsafe {
            libc::getpriority(
                libc::PRIO_PROCESS,
                libc::syscall(libc::SYS_gettid) as libc::id_t,
            )
        };
        let before = nice();
        let (first, second) = std::thread::spawn(move || {
            let start = nice();
            yield_to_the_writer();
            let once = nice();
            yield_to_the_writer();
            (once - start, nice() - start)
        })
        .join()
        .unwrap();
        assert_eq!(first, PARSE_NICENESS.min(19 - before));
        assert_eq!(second, first, "the second call lowered it again");
        assert_eq!(nice(), before, "another thread's priority changed");
    }

    #[test]
    fn entries_dated_before_retention_are_dropped_and_undated_ones_kept() {
        let now = DateTime::from_timestamp(100 * 86_400, 0).unwrap();
        let entry = |guid: &str, days_ago: i64, dated: bool| NormalizedItem {
            guid: guid.into(),
            url: None,
            canonical_url: None,
            title: guid.into(),
            summary: String::new(),
            content_html: String::new(),
            author: None,
            published: now - chrono::Duration::days(days_ago),
            date_from_feed: dated,
            content_hash: None,
            ..Default::default()
        };
        let all = vec![
            entry("fresh", 1, true),
            entry("old", 31, true),
            entry("undated", 31, false),
        ];
        let mut items = all.clone();
        drop_past_retention(&mut items, 30, now);
        let kept: Vec<&str> = items.iter().map(|i| i.guid.as_str()).collect();
        assert_eq!(kept, vec!["fresh", "undated"]);
        let mut items = all;
        drop_past_retention(&mut items, 0, now);
        assert_eq!(items.len(), 3, "0 keeps everything");
    }
}
