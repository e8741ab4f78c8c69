//! `wiredesk sources`: every source with its health, last poll, result, next due time and why, and last
//! error, in the words of the status page ([`crate::pages::status`]).

use super::output::outln;
use crate::pages::status::{SourceHealth, next_due_text};
use crate::store::SourceRow;
use crate::timefmt;

/// Prints every source with its polling state.
pub(crate) fn print_sources(sources: &[SourceRow], json: bool) {
    for s in sources {
        if json {
            let line = serde_json::json!({
                "name": s.name, "url": s.url, "active": s.active, "sections": s.sections,
                "health": SourceHealth::of(s).label(),
                "last_polled": s.last_polled.map(timefmt::rfc3339), "last_result": s.last_result.map(|r| r.to_string()),
                "last_success": s.last_success.map(timefmt::rfc3339), "next_due": s.next_due.map(timefmt::rfc3339),
                "due_reason": s.due_reason.map(|r| r.as_str()), "consecutive_errors": s.consecutive_errors,
                "failing_since": s.first_error_at.map(timefmt::rfc3339), "last_error": s.last_error,
                "moved_to": s.moved_to, "gone": s.gone, "items_seen": s.items_seen,
                "enabled": s.enabled, "state": s.state().as_str(),
            });
            outln!("{line}");
            continue;
        }
        outln!("{}  [{}]  {}", s.name, SourceHealth::of(s).label(), s.url);
        outln!(
            "    last poll: {}  result: {}",
            s.last_polled
                .map(timefmt::human)
                .unwrap_or_else(|| "never".into()),
            s.last_result.map_or("-".to_string(), |r| r.to_string())
        );
        outln!("    next due: {}", next_due_text(s));
        if s.consecutive_errors > 0 {
            outln!(
                "    {} failure(s) in a row since {}; last error: {}",
                s.consecutive_errors,
                s.first_error_at.map(timefmt::human).unwrap_or_default(),
                s.last_error.as_deref().unwrap_or("-")
            );
        }
        if let Some(m) = &s.moved_to {
            outln!("    moved permanently to {m}: set `url = \"{m}\"` in feeds.toml");
        }
    }
}
