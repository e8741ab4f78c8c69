//! `/stories/{id}`: why the copies of a story are one story, in words, the way `wiredesk explain` says it:
//! which copy is the original and why, how each other copy relates to it, and what the matcher compared.

use std::collections::HashMap;

use maud::html;

use super::{Head, page, section_path, time};
use crate::config::{Config, Section};
use crate::dedup::CandidateNote;
use crate::explain::{self, display_title, named};
use crate::normalize::url::without_tracking;
use crate::store::{Store, StoryView};

/// Every source's priority, by source id, for saying why an original is the original.
pub(super) fn priorities(store: &Store) -> anyhow::Result<HashMap<i64, i32>> {
    store.source_priorities()
}

/// The explanation page of `story`.
pub(super) fn render(
    config: &Config,
    store: &Store,
    story: StoryView,
    priorities: &HashMap<i64, i32>,
) -> anyhow::Result<Vec<u8>> {
    let decisions = store.story_decisions(story.id)?;
    let e = explain::explain(story, &decisions, priorities);
    let rep = e.story.representative();
    let title = display_title(rep);
    // In file order, so a parent comes before its subsections.
    let sections: Vec<&Section> = config
        .sections
        .iter()
        .filter(|s| e.story.sections.contains(&s.id))
        .collect();
    let names: HashMap<i64, String> = e
        .story
        .members
        .iter()
        .map(|m| (m.item_id, named(m, 80)))
        .collect();
    let main = html! {
        h1 { (title) }
        p.meta {
            "In "
            @for (i, s) in sections.iter().enumerate() {
                @if i > 0 { ", " }
                a href=(section_path(&s.id)) { (s.title) }
            }
            " · story " (e.story.id) " · " code { (e.story.guid) }
        }
        @let why = explain::section_lines(&e.story);
        @if !why.is_empty() {
            details {
                summary { "Why it is in these sections" }
                ul { @for line in &why { li { (line) } } }
            }
        }
        h2 { "The original" }
        p {
            @match &rep.url {
                Some(u) => a href=(without_tracking(u)) { (named(rep, 120)) },
                None => (named(rep, 120)),
            }
            ", published " (time(rep.published)) ". It is the original because " (e.why_original) "."
            @if e.original_arrived_late {
                " It arrived after a copy of it; wiredesk chooses the original by source priority and "
                "publication time, never by arrival."
            }
        }
        @if e.copies.is_empty() {
            p { "No other source carried this story." }
        } @else {
            h2 { "The copies" }
            ol {
                @for c in &e.copies {
                    li {
                        (c.sentence) "."
                        @if let Some(u) = &c.member.url {
                            " " a href=(without_tracking(u)) { "Open this copy" }
                        }
                    }
                }
            }
        }
        h2 { "What the matcher compared" }
        p { "Each item was compared with the stories already stored when it arrived; these are the decisions "
            "as recorded, in arrival order." }
        @for d in &decisions {
            details {
                summary { (names.get(&d.member.item_id).cloned().unwrap_or_default()) ", " (d.layer) }
                p { "Decided " (time(d.decided_at)) ": " (d.reason) }
                @let candidates: Vec<CandidateNote> = serde_json::from_str(&d.candidates).unwrap_or_default();
                @if candidates.is_empty() {
                    p { "No stored story came close." }
                } @else {
                    div.scroll { table {
                        caption { "Candidates, best first" }
                        thead { tr { th scope="col" { "Item" } th.num scope="col" { "Score" }
                            th.num scope="col" { "Title" } th.num scope="col" { "Title and summary" } } }
                        tbody {
                            @for c in &candidates {
                                tr {
                                    td { (names.get(&c.item_id).cloned().unwrap_or_else(|| format!("item {} (story {})", c.item_id, c.story_id))) }
                                    td.num { (format!("{:.2}", c.score)) }
                                    td.num { (format!("{:.2}", c.title_score)) }
                                    td.num { (format!("{:.2}", c.full_score)) }
                                }
                            }
                        }
                    } }
                }
            }
        }
        p.meta { "The same from the command line: " code { "wiredesk explain "
            (rep.url.as_deref().unwrap_or(&rep.guid)) } }
    };
    let head = Head {
        title: &title,
        feeds: &sections,
    };
    Ok(page(config, head, main))
}
