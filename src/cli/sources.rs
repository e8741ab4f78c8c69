//! `wiredesk sources`: every source with its last poll, result, next due time and why, and last error.

use super::explain::when;
use crate::pipeline::PollStatus;
use crate::store::{SourceRow, SourceState};

/// Prints every source with its polling state.
pub(crate) fn print_sources(sources: &[SourceRow], json: bool) {
    for s in sources {
        if json {
            let line = serde_json::json!({
                "name": s.name, "url": s.url, "active": s.active, "sections": s.sections,
                "last_polled": s.last_polled, "last_result": s.last_result.map(|r| r.to_string()), "last_success": s.last_success,
                "next_due": s.next_due, "due_reason": s.due_reason.map(|r| r.as_str()), "consecutive_errors": s.consecutive_errors,
                "failing_since": s.first_error_at, "last_error": s.last_error, "moved_to": s.moved_to,
                "gone": s.gone, "items_seen": s.items_seen, "enabled": s.enabled, "state": s.state().as_str(),
            });
            println!("{line}");
            continue;
        }
        let status = match s.state() {
            SourceState::Removed => "removed from config",
            SourceState::Gone => "GONE (410)",
            SourceState::Paused => "paused (enabled = false)",
            SourceState::Quarantined => "QUARANTINED (probed daily)",
            SourceState::Backoff => "FAILING",
            SourceState::Ok => "ok",
            SourceState::New => "new",
        };
        println!("{}  [{status}]  {}", s.name, s.url);
        println!(
            "    last poll: {}  result: {}",
            s.last_polled.map(when).unwrap_or_else(|| "never".into()),
            s.last_result.map_or("-".to_string(), |r| r.to_string())
        );
        println!("    next due: {}", describe_due(s));
        if s.consecutive_errors > 0 {
            println!(
                "    {} failure(s) in a row since {}; last error: {}",
                s.consecutive_errors,
                s.first_error_at.map(when).unwrap_or_default(),
                s.last_error.as_deref().unwrap_or("-")
            );
        }
        if let Some(m) = &s.moved_to {
            println!("    moved permanently to {m}: set `url = \"{m}\"` in feeds.toml");
        }
    }
}

/// A source's next poll time and its reason.
fn describe_due(source: &SourceRow) -> String {
    if source.gone || source.last_result == Some(PollStatus::Gone) {
        return "never (410 Gone)".into();
    }
    if !source.enabled {
        return "never while paused".into();
    }
    match (source.next_due, source.due_reason) {
        (Some(t), Some(r)) => format!("{} ({r})", when(t)),
        (Some(t), None) => when(t),
        (None, _) => "now (never polled)".into(),
    }
}
