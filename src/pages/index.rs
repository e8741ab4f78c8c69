//! `/`: every section with its description, story count, last change and subscribe links; the head
//! announces every feed for autodiscovery.

use maud::html;

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
    let feeds: Vec<&Section> = config.sections.iter().collect();
    let main = html! {
        h1 { "Sections" }
        p.lead {
            "Each section gathers the stories of its sources. Copies of one story, reposted or rewritten, are "
            "folded into one entry that credits every source. Read a section here, or subscribe to it in a "
            "feed reader."
        }
        ul.sections {
            @for (s, figures) in &rows {
                li {
                    h2 { a href=(section_path(&s.id)) { (s.title) } }
                    p { (s.description) }
                    p.meta {
                        (count(figures.stories as usize, "story", "stories"))
                        @if let Some(t) = figures.newest {
                            " · newest " (time(t))
                        } @else {
                            " · nothing yet"
                        }
                    }
                    (subscribe(s))
                }
            }
        }
        p { a href="/feeds.opml" { "Every section at once (OPML)" } }
    };
    let head = Head {
        title: "Sections",
        feeds: &feeds,
    };
    Ok((page(config, head, main), newest))
}
