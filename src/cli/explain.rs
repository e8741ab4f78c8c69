//! `wiredesk explain URL`: why an item sits in its story, by role: whether it is the story's original or
//! a copy (and of what), the decision as recorded with the candidates compared, and every member of the
//! story. The words come from [`crate::explain`], shared with the `/stories/{id}` page.

use std::process::ExitCode;

use super::output::outln;
use crate::dedup::CandidateNote;
use crate::explain::{self as words, named};
use crate::normalize::url::{absolute, canonical};
use crate::store::Store;
use crate::timefmt;

/// Prints the explanation for every stored item matching `url` (a link in any spelling, or a guid).
pub(crate) fn explain(store: &Store, url: &str) -> anyhow::Result<ExitCode> {
    let canonical_url = absolute(url, None).map(|u| canonical(&u));
    let rows = store.decisions_for_url(url, canonical_url.as_deref())?;
    if rows.is_empty() {
        eprintln!("no stored item has the link or guid {url}");
        return Ok(ExitCode::FAILURE);
    }
    for row in rows {
        let m = &row.member;
        outln!("item {}: \"{}\"", m.item_id, m.title);
        outln!(
            "  from {} ({}), published {}",
            m.source_name,
            m.source_url,
            timefmt::human(m.published)
        );
        outln!("  link {}", m.url.as_deref().unwrap_or("(none)"));
        outln!("  story {} ({})", row.story_id, row.story_guid);
        if let Some(story) = words::explain_story(store, row.story_id)? {
            if story.story.representative().item_id == m.item_id {
                outln!(
                    "  role: the original, because {}{}",
                    story.why_original,
                    if story.original_arrived_late {
                        " (it arrived after a copy; arrival order does not choose the original)"
                    } else {
                        ""
                    }
                );
            } else if let Some(copy) = story.copies.iter().find(|c| c.member.item_id == m.item_id) {
                outln!("  role: a copy: {}", copy.sentence);
            }
            outln!(
                "  recorded: {} by the {} layer, {}",
                if row.layer == crate::dedup::Layer::New {
                    "founded the story"
                } else {
                    "joined the story"
                },
                row.layer,
                timefmt::human(row.decided_at)
            );
            outln!("  reason: {}", row.reason);
            print_candidates(store, &row.candidates)?;
            let sections = words::section_lines(&story.story);
            if sections.is_empty() {
                outln!("  sections: none (no source lists one and no rule matches)");
            } else {
                outln!("  sections (why the story is in each):");
                for line in sections {
                    outln!("    {line}");
                }
            }
            outln!("  the story has {} member(s):", story.story.members.len());
            let rep = story.story.representative();
            outln!(
                "    original  {}  {}",
                named(rep, 60),
                rep.url.as_deref().unwrap_or(&rep.guid)
            );
            for c in &story.copies {
                outln!(
                    "    copy      {}  {}  ({} {:.2})",
                    named(&c.member, 60),
                    c.member.url.as_deref().unwrap_or(&c.member.guid),
                    c.layer,
                    c.score
                );
            }
        }
        outln!();
    }
    Ok(ExitCode::SUCCESS)
}

fn print_candidates(store: &Store, candidates: &str) -> anyhow::Result<()> {
    let candidates: Vec<CandidateNote> = serde_json::from_str(candidates).unwrap_or_default();
    if candidates.is_empty() {
        outln!("  candidates: none came close");
        return Ok(());
    }
    outln!("  candidates compared (best first):");
    for c in candidates {
        let who = store
            .member(c.item_id)?
            .map(|o| named(&o, 60))
            .unwrap_or_else(|| "(pruned item)".into());
        outln!(
            "    item {} in story {}: score {:.2} (title {:.2}, title+summary {:.2}) {who}",
            c.item_id,
            c.story_id,
            c.score,
            c.title_score,
            c.full_score
        );
    }
    Ok(())
}
