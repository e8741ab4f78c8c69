//! `/sections/{id}`: a section's stories, newest first. Each shows its original (title linking to it,
//! source, time, summary), then "Also reported by N sources", which opens the list of copies without any
//! script (`<details>`), and a link to the story's explanation.

use maud::{Markup, html};

use super::{Head, count, page, story_path, subscribe, time};
use crate::config::{Config, Section};
use crate::dedup::Layer;
use crate::explain::display_title;
use crate::normalize::url::without_tracking;
use crate::store::{MemberView, StoryView};

/// Characters of a summary shown on a section page.
const SUMMARY_CHARS: usize = 320;

/// The page of section `s` with its `stories` (newest first).
pub(super) fn render(config: &Config, s: &Section, stories: &[StoryView]) -> Vec<u8> {
    // Where the section sits in the tree: its parents above, its subsections below.
    let ancestors: Vec<&Section> = config.lineage(&s.id).into_iter().skip(1).rev().collect();
    let children: Vec<&Section> = config.children_of(Some(&s.id)).collect();
    let main = html! {
        @if !ancestors.is_empty() {
            nav aria-label="Parent sections" {
                p.meta {
                    @for a in &ancestors {
                        a href=(super::section_path(&a.id)) { (a.title) } " › "
                    }
                    (s.title)
                }
            }
        }
        h1 { (s.title) }
        p.lead { (s.description) }
        (subscribe(s))
        @if !children.is_empty() {
            nav aria-label="Subsections" {
                p.meta {
                    "Also carries the stories of its subsections: "
                    @for (i, c) in children.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(super::section_path(&c.id)) { (c.title) }
                    }
                }
            }
        }
        @if stories.is_empty() {
            p { "No stories yet: its sources have not been polled, or carried nothing. The "
                a href="/status" { "status page" } " says which." }
        } @else {
            ol.stories {
                @for story in stories { li { (story_card(story)) } }
            }
        }
    };
    let feeds = [s];
    let head = Head {
        title: &s.title,
        feeds: &feeds,
    };
    page(config, head, main)
}

fn story_card(story: &StoryView) -> Markup {
    let rep = story.representative();
    let others = &story.members[1..];
    let mut sources: Vec<&str> = others
        .iter()
        .filter(|m| m.source_id != rep.source_id)
        .map(|m| m.source_name.as_str())
        .collect();
    sources.sort_unstable();
    sources.dedup();
    html! {
        article aria-labelledby={ "story-" (story.id) } {
            h2 id={ "story-" (story.id) } { (link_or_text(rep, &display_title(rep))) }
            p.meta { (rep.source_name) " · " (time(rep.published)) }
            @if !rep.summary.trim().is_empty() {
                p.summary { (shorten(&rep.summary, SUMMARY_CHARS)) }
            }
            @if !others.is_empty() {
                details {
                    summary { "Also reported by " (count(sources.len().max(1), "source", "sources")) }
                    ul {
                        @for m in others {
                            li {
                                (link_or_text(m, &display_title(m))) " — " (m.source_name) ", " (time(m.published))
                                " (" (how(m)) ")"
                            }
                        }
                    }
                }
            }
            p.meta { a href=(story_path(story.id)) {
                @if others.is_empty() { "How wiredesk placed it" } @else { "Why these are one story" }
            } }
        }
    }
}

/// A member's title as a link to it (without tracking parameters), or plain text when it has no link.
fn link_or_text(m: &MemberView, text: &str) -> Markup {
    html! {
        @match &m.url {
            Some(u) => a href=(without_tracking(u)) { (text) },
            None => (text),
        }
    }
}

/// How a copy came to be in the story, in a few words.
pub(super) fn how(m: &MemberView) -> String {
    match m.layer {
        Layer::SameUrl => "same link".into(),
        Layer::SameText => "same title and summary".into(),
        Layer::Similar => format!("rewritten, similarity {:.2}", m.score),
        Layer::New => "arrived first".into(),
    }
}

fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut} …")
}
