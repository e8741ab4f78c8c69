//! The web pages people read: `/` (the sections and how to subscribe), `/sections/{id}` (a section's
//! stories, each with the sources that also carried it), `/stories/{id}` (why those copies are one story)
//! and `/status` (for operators: every source's health, paused hosts, dedup figures, the last 24 hours).
//!
//! Pages are rendered from the store's read side into the same [`FeedCache`] the feeds live in, so the
//! server answers them exactly like feeds (strong ETag, 304, gzip, HEAD) and never touches the database.
//! Templates are maud: compile-time checked, escaped by default. Every page is plain HTML with one inline
//! style sheet (light and dark, by `prefers-color-scheme`): no scripts, no external assets.

mod chart;
mod index;
mod section;
pub(crate) mod status;
mod story;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::config::{Config, Section};
use crate::publish::{FeedCache, Rendered};
use crate::store::Store;
use crate::timefmt;

/// The cache path of the status page.
pub(crate) const STATUS_PATH: &str = "/status";

/// The cache path of a section's page.
pub(crate) fn section_path(id: &str) -> String {
    format!("/sections/{id}")
}

/// The cache path of a story's page.
pub(crate) fn story_path(id: i64) -> String {
    format!("/stories/{id}")
}

const STORY_PREFIX: &str = "/stories/";
const HTML: &str = "text/html; charset=utf-8";

/// Renders the index, the pages of every section (or only `only`) and of the stories on them, into
/// `cache`, and returns the paths whose bytes changed. Story pages no section shows any more are dropped.
pub(crate) fn render(
    config: &Config,
    store: &Store,
    cache: &FeedCache,
    only: Option<&[String]>,
) -> anyhow::Result<Vec<String>> {
    let config = &with_plain_sections(config);
    let mut changed = Vec::new();
    let mut put = |path: String, doc: Rendered| {
        if cache.put(&path, doc) {
            changed.push(path);
        }
    };
    let now = Utc::now();
    let limit = config.publish.items_per_feed;
    let mut shown: HashSet<i64> = HashSet::new();
    let priorities = story::priorities(store)?;
    for s in &config.sections {
        if only.is_some_and(|o| !o.contains(&s.id)) {
            shown.extend(store.section_story_ids(&s.id, limit)?);
            continue;
        }
        let stories = store.section_stories(&s.id, limit)?;
        shown.extend(stories.iter().map(|st| st.id));
        let at = stories
            .iter()
            .map(|st| st.updated.max(st.published))
            .max()
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .unwrap_or(now);
        let page = section::render(config, s, &stories);
        put(section_path(&s.id), Rendered::new(page, HTML, at));
        for st in stories {
            let at = DateTime::from_timestamp(st.updated.max(st.published), 0).unwrap_or(now);
            let path = story_path(st.id);
            let page = story::render(config, store, st, &priorities)?;
            put(path, Rendered::new(page, HTML, at));
        }
    }
    cache.remove_where(|path| {
        path.strip_prefix(STORY_PREFIX)
            .and_then(|id| id.parse::<i64>().ok())
            .is_some_and(|id| !shown.contains(&id))
    });
    let (index, newest) = index::render(config, store)?;
    let at = newest
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .unwrap_or(now);
    put("/".to_string(), Rendered::new(index, HTML, at));
    if !config.server.status_page {
        cache.remove_where(|path| path == STATUS_PATH);
    }
    Ok(changed)
}

/// Renders `/status` into `cache` (or removes it, when the config turns the page off).
pub(crate) fn render_status(
    config: &Config,
    store: &Store,
    cache: &FeedCache,
) -> anyhow::Result<()> {
    if !config.server.status_page {
        cache.remove_where(|path| path == STATUS_PATH);
        return Ok(());
    }
    let (page, at) = status::render(&with_plain_sections(config), store, Utc::now())?;
    cache.put(STATUS_PATH, Rendered::new(page, HTML, at));
    Ok(())
}

/// The config with its section titles and descriptions as plain text, as the feeds publish them: markup
/// in the configuration ("<b>World</b>") is shown as neither markup nor escaped tags on any page.
fn with_plain_sections(config: &Config) -> Config {
    // Without the sources: no page lists them, and a deep copy of 100,000 of them took tens of megabytes
    // at every render.
    let mut config = config.without_source_list();
    for s in &mut config.sections {
        s.title = crate::publish::plain(&s.title);
        s.description = crate::publish::plain(&s.description);
    }
    config
}

/// What the `<head>` of a page carries besides the basics.
struct Head<'a> {
    /// The page's title (the site name is appended).
    title: &'a str,
    /// Sections whose feeds to announce with `<link rel="alternate">`.
    feeds: &'a [&'a Section],
}

/// The page frame: head with autodiscovery links and the style sheet, the site navigation, and `main`.
fn page(config: &Config, head: Head, main: Markup) -> Vec<u8> {
    let base = &config.server.base_url;
    // With /status on the operators' own address, the same page is read there too, where only the public
    // address serves the rest of the site: the site's links then name the public address.
    let site = if config.server.status_listen.is_some() {
        base.as_str()
    } else {
        ""
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (head.title) " · wiredesk" }
                // An empty icon: browsers would otherwise ask for /favicon.ico and log the 404.
                link rel="icon" href="data:,";
                @for s in head.feeds {
                    link rel="alternate" type="application/rss+xml" title={ (s.title) " (RSS)" }
                        href={ (base) "/feeds/" (s.id) ".rss" };
                    link rel="alternate" type="application/atom+xml" title={ (s.title) " (Atom)" }
                        href={ (base) "/feeds/" (s.id) ".atom" };
                    link rel="alternate" type="application/feed+json" title={ (s.title) " (JSON Feed)" }
                        href={ (base) "/feeds/" (s.id) ".json" };
                }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header {
                    nav aria-label="Site" {
                        a.brand href={ (site) "/" } { "wiredesk" }
                        a href={ (site) "/" } { "Sections" }
                        @if config.server.status_page && config.server.status_listen.is_none() {
                            a href=(STATUS_PATH) { "Status" }
                        }
                        a href={ (site) "/feeds.opml" } { "OPML" }
                    }
                }
                main id="main" { (main) }
                footer {
                    p { "wiredesk folds reposted and rewritten copies of a story into one, and credits every source." }
                }
            }
        }
    };
    markup.into_string().into_bytes()
}

/// A `<time>` element for a unix time, in the one human format.
fn time(ts: i64) -> Markup {
    html! { time datetime=(timefmt::rfc3339(ts)) { (timefmt::human(ts)) } }
}

/// The subscribe links of a section.
fn subscribe(s: &Section) -> Markup {
    html! {
        ul.subscribe aria-label={ "Subscribe to " (s.title) } {
            li { a href={ "/feeds/" (s.id) ".rss" } { "RSS" } }
            li { a href={ "/feeds/" (s.id) ".atom" } { "Atom" } }
            li { a href={ "/feeds/" (s.id) ".json" } { "JSON Feed" } }
        }
    }
}

/// "1 source", "3 sources".
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// One style sheet for every page: system fonts, readable line length, light and dark colour schemes
/// with contrast above 4.5:1, visible focus, and a table layout that scrolls on narrow screens.
const STYLE: &str = r#"
:root{--bg:#fdfdfc;--fg:#1b1b1b;--muted:#565656;--line:#d9d9d6;--link:#0b57a4;--card:#f3f3f0;
--ok:#1d7a3a;--bad:#b3261e;--warn:#8a5a00;--chart-ok:#2e7d4f;--chart-same:#8fb39b;--chart-bad:#c0392b;--chart-items:#1f5fa8}
@media (prefers-color-scheme:dark){:root{--bg:#151618;--fg:#e8e8e6;--muted:#a9a9a6;--line:#34363a;--link:#8cc4ff;
--card:#1e2023;--ok:#6fd08c;--bad:#ff8a80;--warn:#f2c25c;--chart-ok:#5cbf84;--chart-same:#3f6b50;--chart-bad:#ff7b6e;--chart-items:#79b4ff}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{font:1rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:58rem;margin:0 auto;padding:0 1rem 2rem}
a{color:var(--link)}
a:focus-visible,summary:focus-visible{outline:3px solid var(--link);outline-offset:2px}
.skip{position:absolute;left:-999px}
.skip:focus{left:1rem;top:1rem;background:var(--bg);padding:.3rem .6rem}
header nav{display:flex;gap:1.2rem;align-items:baseline;border-bottom:1px solid var(--line);padding:.9rem 0;margin-bottom:1.2rem;flex-wrap:wrap}
header .brand{font-weight:700;font-size:1.15rem;color:var(--fg);text-decoration:none;margin-right:auto}
h1{font-size:1.7rem;line-height:1.25;margin:.4rem 0 .6rem}
h2{font-size:1.2rem;line-height:1.3;margin:1.6rem 0 .5rem}
.lead,.meta,footer{color:var(--muted)}
.meta{font-size:.92rem;margin:.2rem 0}
footer{border-top:1px solid var(--line);margin-top:2.5rem;padding-top:.6rem;font-size:.9rem}
ul.subscribe{list-style:none;display:flex;gap:.8rem;padding:0;margin:.3rem 0;flex-wrap:wrap}
.sections,.stories{list-style:none;padding:0}
.sections>li,.stories>li{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.8rem 1rem;margin:.8rem 0}
.sections h2,.stories h2,.sections h3{margin:.1rem 0 .3rem}
.sections .sections>li{background:var(--bg)}
.summary{margin:.4rem 0}
details{margin:.5rem 0}
summary{cursor:pointer;font-weight:600}
details ul{margin:.4rem 0;padding-left:1.2rem}
.badge{font-weight:700;white-space:nowrap}
.badge.ok{color:var(--ok)}.badge.bad{color:var(--bad)}.badge.warn{color:var(--warn)}.badge.muted{color:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid var(--line)}
th{font-weight:600}
td.num,th.num{text-align:right}
.error{color:var(--bad);overflow-wrap:anywhere}
.url{color:var(--muted);font-size:.85rem;overflow-wrap:anywhere}
time{white-space:nowrap}
.figures{display:flex;gap:1.5rem;flex-wrap:wrap;padding:0;list-style:none}
.figures strong{display:block;font-size:1.4rem}
svg.chart{width:100%;height:auto;max-width:46rem}
svg .ok{fill:var(--chart-ok)}svg .same{fill:var(--chart-same)}svg .bad{fill:var(--chart-bad)}svg .items{fill:var(--chart-items)}
svg .axis{stroke:var(--line)}svg text{fill:var(--muted);font-size:11px}
.legend{display:flex;gap:1rem;flex-wrap:wrap;list-style:none;padding:0;font-size:.9rem}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-.05rem}
.legend .ok{background:var(--chart-ok)}.legend .same{background:var(--chart-same)}.legend .bad{background:var(--chart-bad)}.legend .items{background:var(--chart-items)}
"#;
