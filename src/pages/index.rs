//! `/`: every section with its description, story count, last change and subscribe links, subsections
//! nested under their parents; the head announces every feed for autodiscovery.

use std::collections::HashMap;

use maud::{Markup, html};

use super::{Head, count, page, section_path, subscribe, time};
use crate::config::{Config, Section};
use crate::store::Store;

/// The index page, and the newest story's time over all sections (its Last-Modified).
pub(super) fn render(config: &Config, store: &Store) -> anyhow::Result<(Vec<u8>, Option<i64>)> {
    let mut rows = Vec::with_capacity(config.sections.len());
    for s in &config.sections {
        rows.push((s, store.section_figures(&s.id)?));
    }
    let newest = rows.iter().filter_map(|(_, f)| f.newest).max();
    let figures: HashMap<&str, (usize, Option<i64>)> = rows
        .iter()
        .map(|(s, f)| (s.id.as_str(), (f.stories as usize, f.newest)))
        .collect();
    let feeds: Vec<&Section> = config.sections.iter().collect();
    let main = html! {
        h1 { "Sections" }
        p.lead {
            "Each section gathers the stories of its sources, and the stories of any source its rules pick \
             by category or keyword; a section also carries its subsections' stories. Copies of one story, reposted or rewritten, are "
            "folded into one entry that credits every source. Read a section here, or subscribe to it in a "
            "feed reader."
        }
        (tree(config, &figures, None))
        p { a href="/feeds.opml" { "Every section at once (OPML)" } }
    };
    let head = Head {
        title: "Sections",
        feeds: &feeds,
    };
    Ok((page(config, head, main), newest))
}

/// The sections under `parent` as a list, each with its own subsections listed inside it.
fn tree(
    config: &Config,
    figures: &HashMap<&str, (usize, Option<i64>)>,
    parent: Option<&str>,
) -> Markup {
    html! {
        ul.sections {
            @for s in config.children_of(parent) {
                li {
                    @if parent.is_none() {
                        h2 { a href=(section_path(&s.id)) { (s.title) } }
                    } @else {
                        h3 { a href=(section_path(&s.id)) { (s.title) } }
                    }
                    p { (s.description) }
                    @if let Some((stories, newest)) = figures.get(s.id.as_str()) {
                        p.meta {
                            (count(*stories, "story", "stories"))
                            @if let Some(t) = newest {
                                " · newest " (time(*t))
                            } @else {
                                " · nothing yet"
                            }
                        }
                    }
                    (subscribe(s))
                    @if config.children_of(Some(&s.id)).next().is_some() {
                        (tree(config, figures, Some(&s.id)))
                    }
                }
            }
        }
    }
}
