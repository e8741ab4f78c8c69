//! `wiredesk explain URL`: why an item sits in its story: the layer that placed it, the candidates compared
//! and their scores, and the story's members.

use std::process::ExitCode;

use chrono::DateTime;

use crate::dedup::CandidateNote;
use crate::dedup::Layer;
use crate::normalize::url::{absolute, canonical};
use crate::store::Store;

/// A time as operators read it in reports.
pub(crate) fn when(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "?".into())
}

/// Prints the decision for every stored item matching `url` (a link in any spelling, or a guid).
pub(crate) fn explain(store: &Store, url: &str) -> anyhow::Result<ExitCode> {
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
        let verdict = match row.layer {
            Layer::New => "started a new story".to_string(),
            Layer::SameUrl => "joined because its link is the same page".to_string(),
            Layer::SameText => "joined because its title and summary are the same text".to_string(),
            Layer::Similar => format!(
                "joined because its text is similar enough (score {:.2})",
                row.score
            ),
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
                    o.layer,
                    o.url.as_deref().unwrap_or(&o.guid)
                );
            }
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}
