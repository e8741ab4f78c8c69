//! `/status`, for operators: every source's health, last poll, result, next due time and why, and last
//! error (problems first); the hosts that asked for a pause; dedup figures; and a chart of polls and
//! items over the last 24 hours. The health words are shared with `wiredesk sources`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::{Head, chart, count, page, time};
use crate::config::Config;
use crate::pipeline::PollStatus;
use crate::schedule::DueReason;
use crate::store::{SourceRow, SourceState, Store};

/// Sources listed on the page at most; the rest are counted (`wiredesk sources` lists them all).
const MAX_ROWS: usize = 1000;

/// A source's state ([`SourceState`]) in the words `wiredesk sources` and the status page use, ordered
/// so that problems come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceHealth(SourceState);

impl SourceHealth {
    /// The health of `s`.
    pub(crate) fn of(s: &SourceRow) -> SourceHealth {
        SourceHealth(s.state())
    }

    /// The label: "ok", "FAILING", ...; problems in capitals so they stand out in plain text too.
    pub(crate) fn label(self) -> &'static str {
        match self.0 {
            SourceState::Backoff => "FAILING",
            SourceState::Quarantined => "QUARANTINED (probed daily)",
            SourceState::Gone => "GONE (410)",
            SourceState::New => "new",
            SourceState::Ok => "ok",
            SourceState::Paused => "paused (enabled = false)",
            SourceState::Removed => "removed from config",
        }
    }

    /// Whether an operator should look at it.
    pub(crate) fn is_problem(self) -> bool {
        matches!(
            self.0,
            SourceState::Backoff | SourceState::Quarantined | SourceState::Gone
        )
    }

    fn class(self) -> &'static str {
        match self.0 {
            SourceState::Ok => "badge ok",
            SourceState::Backoff | SourceState::Gone => "badge bad",
            SourceState::Quarantined => "badge warn",
            SourceState::New | SourceState::Paused | SourceState::Removed => "badge muted",
        }
    }

    /// Problems first, then what needs no attention.
    fn rank(self) -> u8 {
        match self.0 {
            SourceState::Backoff => 0,
            SourceState::Quarantined => 1,
            SourceState::Gone => 2,
            SourceState::New => 3,
            SourceState::Ok => 4,
            SourceState::Paused => 5,
            SourceState::Removed => 6,
        }
    }
}

impl Ord for SourceHealth {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for SourceHealth {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A source's next poll time and why, in words.
pub(crate) fn next_due_text(s: &SourceRow) -> String {
    if s.gone || s.last_result == Some(PollStatus::Gone) {
        return "never (410 Gone)".into();
    }
    if !s.enabled {
        return "never while paused (enabled = false)".into();
    }
    match (s.next_due, s.due_reason) {
        (Some(t), Some(r)) => format!("{} ({r})", crate::timefmt::human(t)),
        (Some(t), None) => crate::timefmt::human(t),
        (None, _) => "now (never polled)".into(),
    }
}

/// A host that asked to be left alone: until when, and the sources that heard it.
struct PausedHost {
    until: i64,
    sources: Vec<String>,
}

/// Hosts paused by Retry-After now: a source whose next poll waits for Retry-After names its host.
fn paused_hosts(sources: &[SourceRow], now: i64) -> BTreeMap<String, PausedHost> {
    let mut hosts: BTreeMap<String, PausedHost> = BTreeMap::new();
    for s in sources {
        let (Some(until), Some(DueReason::RetryAfter)) = (s.next_due, s.due_reason) else {
            continue;
        };
        if until <= now || !s.active {
            continue;
        }
        let host = url::Url::parse(s.poll_url())
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| {
                    format!(
                        "{h}{}",
                        u.port().map(|p| format!(":{p}")).unwrap_or_default()
                    )
                })
            })
            .unwrap_or_else(|| s.poll_url().to_string());
        let entry = hosts.entry(host).or_insert(PausedHost {
            until,
            sources: Vec::new(),
        });
        entry.until = entry.until.max(until);
        entry.sources.push(s.name.clone());
    }
    hosts
}

/// The status page at `now`, and its Last-Modified: the latest poll (so an idle daemon keeps its ETag).
pub(super) fn render(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<u8>, DateTime<Utc>)> {
    let mut sources = store.sources()?;
    sources.sort_by_key(|s| (SourceHealth::of(s), s.id));
    let figures = store.dedup_figures()?;
    let history = store.poll_history(now.timestamp(), 24)?;
    let latest = sources.iter().filter_map(|s| s.last_polled).max();
    let paused = paused_hosts(&sources, now.timestamp());
    let mut tally: BTreeMap<SourceHealth, usize> = BTreeMap::new();
    for s in &sources {
        *tally.entry(SourceHealth::of(s)).or_default() += 1;
    }
    let main = html! {
        h1 { "Status" }
        p.lead {
            (count(sources.len(), "source", "sources")) ": "
            @for (i, (health, n)) in tally.iter().enumerate() {
                @if i > 0 { ", " }
                (n) " " (health.label())
            }
            ". "
            @match latest {
                Some(t) => { "Last poll " (time(t)) "." },
                None => "Nothing polled yet.",
            }
            " Health of the daemon itself: " a href="/healthz" { "/healthz" } "; counters: "
            a href="/metrics" { "/metrics" } "."
        }
        h2 { "The last 24 hours" }
        (chart::render(&history))
        h2 { "Hosts paused" }
        @if paused.is_empty() {
            p { "None: no host has asked wiredesk to wait (429 or 503 with Retry-After)." }
        } @else {
            ul {
                @for (host, p) in &paused {
                    li { strong { (host) } " until " (time(p.until)) ", as asked by " (p.sources.join(", ")) }
                }
            }
        }
        h2 { "Dedup" }
        ul.figures {
            li { strong { (figures.items) } "items stored" }
            li { strong { (figures.stories) } "stories" }
            li { strong { (figures.merged_stories) } "stories with copies" }
            @for (layer, label) in [("same-url", "joined by the same link"), ("same-text", "by the same text"), ("similar", "as rewrites")] {
                li { strong { (figures.joins.get(layer).copied().unwrap_or(0)) } (label) }
            }
        }
        h2 { "Sources" }
        (sources_table(&sources))
        @if sources.len() > MAX_ROWS {
            p { (sources.len() - MAX_ROWS) " more sources, all without problems, are not listed; "
                code { "wiredesk sources" } " lists every one." }
        }
    };
    let head = Head {
        title: "Status",
        feeds: &[],
    };
    let at = latest
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .unwrap_or(now);
    Ok((page(config, head, main), at))
}

fn sources_table(sources: &[SourceRow]) -> Markup {
    html! {
        div.scroll { table {
            caption.meta { "Problems first. Times are UTC." }
            thead { tr {
                th scope="col" { "Source" } th scope="col" { "Health" } th scope="col" { "Last poll" }
                th scope="col" { "Result" } th scope="col" { "Next poll, and why" } th scope="col" { "Last error" }
            } }
            tbody {
                @for s in sources.iter().take(MAX_ROWS) {
                    @let health = SourceHealth::of(s);
                    tr {
                        td { (s.name) br; span.url { (s.poll_url()) } }
                        td { span class=(health.class()) { (health.label()) }
                            @if s.consecutive_errors > 0 {
                                br; span.meta { (count(s.consecutive_errors as usize, "failure", "failures")) " in a row" }
                            }
                        }
                        td { @match s.last_polled { Some(t) => (time(t)), None => "never" } }
                        td { @match s.last_result { Some(r) => (r.to_string()), None => "–" } }
                        td { (next_due_text(s)) }
                        td { @match (&s.last_error, health.is_problem()) {
                            (Some(e), true) => span.error { (e) },
                            (Some(e), false) => span.meta { "before it recovered: " (e) },
                            (None, _) => "–",
                        } }
                    }
                }
            }
        } }
    }
}
