//! Operator reports: `wiredesk explain` (why an item sits in its story) and `wiredesk sources` (how each
//! source is being polled).

use std::process::ExitCode;

use chrono::DateTime;

use crate::dedup::CandidateNote;
use crate::normalize::url::{absolute, canonical};
use crate::store::{SourceRow, Store};

fn when(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "?".into())
}

/// Prints the decision for every stored item matching `url` (a link in any spelling, or a guid).
pub fn explain(store: &Store, url: &str) -> anyhow::Result<ExitCode> {
    let canonical_url = absolute(url, None).map(|u| canonical(&u));
    let rows = store.decisions_for_url(url, canonical_url.as_deref())?;
    if rows.is_empty() {
        eprintln!("no stored item has the link or guid {url}");
        return Ok(ExitCode::FAILURE);
    }
    for row in rows {
        let m = &row.member;
        println!("item {}: \"{}\"", m.item_id, m.title);
        println!(
            "  from {} ({}), published {}",
            m.source_name,
            m.source_url,
            when(m.published)
        );
        println!("  link {}", m.url.as_deref().unwrap_or("(none)"));
        println!("  story {} ({})", row.story_id, row.story_guid);
        let verdict = match row.layer.as_str() {
            "new" => "started a new story".to_string(),
            "same-url" => "joined because its link is the same page".to_string(),
            "same-text" => "joined because its title and summary are the same text".to_string(),
            "similar" => format!(
                "joined because its text is similar enough (score {:.2})",
                row.score
            ),
            other => format!("placed by layer {other}"),
        };
        println!("  decision: {verdict}, {}", when(row.decided_at));
        println!("  reason: {}", row.reason);
        let candidates: Vec<CandidateNote> =
            serde_json::from_str(&row.candidates).unwrap_or_default();
        if candidates.is_empty() {
            println!("  candidates: none came close");
        } else {
            println!("  candidates compared (best first):");
            for c in candidates {
                let who = store
                    .member(c.item_id)?
                    .map(|o| format!("\"{}\" from {}", o.title, o.source_name))
                    .unwrap_or_else(|| "(pruned item)".into());
                println!(
                    "    item {} in story {}: score {:.2} (title {:.2}, title+summary {:.2}) {who}",
                    c.item_id, c.story_id, c.score, c.title_score, c.full_score
                );
            }
        }
        let story = store
            .stories_since(None, i64::MIN)?
            .into_iter()
            .find(|s| s.id == row.story_id);
        if let Some(story) = story {
            println!("  the story has {} member(s):", story.members.len());
            for o in &story.members {
                println!(
                    "    {} {}  {}  {}",
                    if o.item_id == story.representative().item_id {
                        "*"
                    } else {
                        "-"
                    },
                    o.source_name,
                    if o.layer.is_empty() { "-" } else { &o.layer },
                    o.url.as_deref().unwrap_or(&o.guid)
                );
            }
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints every source with its polling state.
pub fn print_sources(sources: &[SourceRow], json: bool) {
    for s in sources {
        if json {
            let line = serde_json::json!({
                "name": s.name, "url": s.url, "active": s.active, "sections": s.sections,
                "last_polled": s.last_polled, "last_result": s.last_result, "last_success": s.last_success,
                "next_due": s.next_due, "due_reason": s.due_reason, "consecutive_errors": s.consecutive_errors,
                "failing_since": s.first_error_at, "last_error": s.last_error, "moved_to": s.moved_to,
                "gone": s.gone, "items_seen": s.items_seen,
            });
            println!("{line}");
            continue;
        }
        let status = if !s.active {
            "removed from config"
        } else if s.gone {
            "GONE (410)"
        } else if s.due_reason.as_deref() == Some("quarantine") {
            "QUARANTINED (probed daily)"
        } else if s.consecutive_errors > 0 {
            "FAILING"
        } else if s.last_polled.is_some() {
            "ok"
        } else {
            "new"
        };
        println!("{}  [{status}]  {}", s.name, s.url);
        println!(
            "    last poll: {}  result: {}",
            s.last_polled.map(when).unwrap_or_else(|| "never".into()),
            s.last_result.as_deref().unwrap_or("-")
        );
        println!("    next due: {}", crate::daemon::describe_due(s));
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
