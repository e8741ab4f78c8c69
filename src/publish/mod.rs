//! Renders each section's stories into RSS 2.0, Atom 1.0 and JSON Feed 1.1, plus one OPML, all from one
//! model ([`SectionFeed`]); the HTML pages ([`crate::pages`]) are rendered in the same pass.
//!
//! Rendering happens only when a section changed. The bytes, a strong ETag and Last-Modified are kept in a
//! [`FeedCache`] that the HTTP server reads, and can also be written out as static files.

mod atom;
mod json;
mod opml;
mod rss;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::config::{Config, Section};
use crate::normalize::Byline;
use crate::store::{Store, StoryView};

/// One section's feed, ready to render.
pub(crate) struct SectionFeed<'a> {
    /// The section.
    pub section: &'a Section,
    /// The public base URL, without a trailing slash.
    pub base_url: &'a str,
    /// Newest first.
    pub stories: Vec<StoryView>,
    /// The latest change to any story in it (or now, when empty).
    pub updated: DateTime<Utc>,
    /// Every configured section, in file order, to name each story's sections.
    pub all_sections: &'a [Section],
}

impl SectionFeed<'_> {
    /// The sections a story is in, in file order: published as each item's categories.
    pub(crate) fn sections_of<'s>(
        &'s self,
        story: &'s StoryView,
    ) -> impl Iterator<Item = &'s Section> {
        self.all_sections
            .iter()
            .filter(|s| story.sections.contains(&s.id))
    }

    /// The URL that names the section taxonomy (each section's page is under it).
    pub(crate) fn sections_scheme(&self) -> String {
        format!("{}/sections/", self.base_url)
    }

    /// The absolute URL a format of this feed is served at.
    pub(crate) fn self_url(&self, ext: &str) -> String {
        format!("{}/feeds/{}.{ext}", self.base_url, self.section.id)
    }
}

/// One rendered document with its HTTP validators.
#[derive(Clone, Debug)]
pub(crate) struct Rendered {
    /// The bytes to serve.
    pub body: Bytes,
    /// The Content-Type to send.
    pub content_type: &'static str,
    /// Strong ETag, quoted.
    pub etag: String,
    /// The same bytes gzip-compressed, made once so each request costs nothing extra.
    pub gzip: Bytes,
    /// Last-Modified.
    pub last_modified: DateTime<Utc>,
}

impl Rendered {
    /// A document of `content_type`, with its ETag and gzip form made now.
    pub(crate) fn new(
        body: Vec<u8>,
        content_type: &'static str,
        last_modified: DateTime<Utc>,
    ) -> Self {
        use std::io::Write;
        let etag = format!("\"{}\"", &blake3::hash(&body).to_hex()[..32]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body).expect("writing to a Vec cannot fail");
        Rendered {
            gzip: Bytes::from(gz.finish().expect("writing to a Vec cannot fail")),
            body: Bytes::from(body),
            content_type,
            etag,
            last_modified,
        }
    }
}

/// The rendered documents by URL path (`/feeds/world.rss`, `/feeds.opml`, `/`), shared with the server.
#[derive(Clone, Default)]
pub(crate) struct FeedCache {
    inner: Arc<RwLock<HashMap<String, Rendered>>>,
}

impl FeedCache {
    /// The document served at `path`.
    pub(crate) fn get(&self, path: &str) -> Option<Rendered> {
        self.inner
            .read()
            .expect("feed cache lock")
            .get(path)
            .cloned()
    }

    /// Every cached path, sorted.
    pub(crate) fn paths(&self) -> Vec<String> {
        let mut p: Vec<String> = self
            .inner
            .read()
            .expect("feed cache lock")
            .keys()
            .cloned()
            .collect();
        p.sort();
        p
    }

    /// Drops every document whose path `gone` accepts.
    pub(crate) fn remove_where(&self, gone: impl Fn(&str) -> bool) {
        self.inner
            .write()
            .expect("feed cache lock")
            .retain(|path, _| !gone(path));
    }

    /// Stores a document; returns whether its bytes changed.
    pub(crate) fn put(&self, path: &str, doc: Rendered) -> bool {
        let mut map = self.inner.write().expect("feed cache lock");
        // Keep the old ETag and date when the bytes did not change, so conditional clients see 304.
        if map.get(path).is_some_and(|old| old.etag == doc.etag) {
            return false;
        }
        map.insert(path.to_string(), doc);
        true
    }
}

/// Text fields must be valid XML: drop control characters other than tab and newlines.
pub(crate) fn xml_safe(s: &str) -> String {
    s.chars()
        .filter(|&c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .filter(|&c| !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .collect()
}

/// When a story last changed, as Atom `updated` and JSON `date_modified` publish it: [`StoryView::changed_at`]
/// (whole seconds) with the story's id in the microseconds. Stories that change in the same second are
/// common (a feed that dates every item alike, two joins stored by one poll), and readers take entries
/// with one `updated` for one revision (the W3C validator warns of it). The id keeps each story's time
/// distinct within any document, the same on every render, and true to the second.
pub(crate) fn story_updated(story: &StoryView) -> DateTime<Utc> {
    let micros = story.id.rem_euclid(1_000_000) as u32;
    DateTime::from_timestamp(story.changed_at(), micros * 1_000).unwrap_or_default()
}

/// The title to publish for a story: the representative's, or the start of its summary when it has none.
pub(crate) fn story_title(story: &StoryView) -> String {
    let rep = story.representative();
    if !rep.title.trim().is_empty() {
        return xml_safe(&rep.title);
    }
    let words: Vec<&str> = rep.summary.split_whitespace().take(12).collect();
    if words.is_empty() {
        "(untitled)".into()
    } else {
        xml_safe(&format!("{}…", words.join(" ")))
    }
}

/// The bylines a story is published with: its representative's, else its source, credited by name (a
/// wire desk credits the outlet when the reporter is not named).
pub(crate) fn story_bylines(story: &StoryView) -> Vec<Byline> {
    let rep = story.representative();
    let named: Vec<Byline> = rep
        .authors
        .iter()
        .filter(|b| b.name.is_some() || b.email.is_some())
        .map(|b| Byline {
            name: b
                .name
                .as_deref()
                .map(xml_safe)
                .filter(|n| !n.trim().is_empty()),
            email: b
                .email
                .as_deref()
                .map(xml_safe)
                .filter(|e| !e.trim().is_empty()),
            uri: b.uri.clone(),
        })
        .filter(|b| b.name.is_some() || b.email.is_some())
        .collect();
    if !named.is_empty() {
        return named;
    }
    vec![Byline {
        name: Some(xml_safe(&rep.source_name)),
        ..Byline::default()
    }]
}

/// A byline's display name: its name, else its e-mail address.
pub(crate) fn byline_name(b: &Byline) -> &str {
    b.name.as_deref().or(b.email.as_deref()).unwrap_or_default()
}

/// Plain text as HTML that an HTML reader reads back as exactly that text: as written when it would be
/// read so (almost always: "a < b", "AT&T"), else with `&`, `<` and `>` escaped ("History of the <blink>
/// tag", "Why <script> tags are text", a literal "&amp;"). RSS readers render titles and names as HTML,
/// so this is what keeps a plain-text title from becoming markup, or losing a word, in their hands.
pub(crate) fn text_as_html(text: &str) -> std::borrow::Cow<'_, str> {
    use crate::normalize::text::{html_to_text, plain_text};
    if !text.contains(['<', '&']) || html_to_text(text) == plain_text(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(html_escape::encode_text(text).into_owned())
}

/// Configured text (section titles and descriptions) as plain text: markup in the config is not published.
pub(crate) fn plain(s: &str) -> String {
    xml_safe(&crate::normalize::text::html_to_text(s))
}

/// The HTML body of a published story: the representative's content, then the credits as a real list.
///
/// The body goes in a `<div>` (a `<p>` around content that has paragraphs of its own would nest them), an
/// empty body gives no element at all, and each credit links to the member's canonical URL (tracking
/// parameters stripped) with the member's byline when it has one.
pub(crate) fn story_html(story: &StoryView) -> String {
    let rep = story.representative();
    let body = rep.content_html.trim();
    let mut html = if !body.is_empty() {
        format!("<div>{body}</div>")
    } else if !rep.summary.trim().is_empty() {
        format!("<p>{}</p>", html_escape::encode_text(rep.summary.trim()))
    } else {
        String::new()
    };
    let credit = |m: &crate::store::MemberView| {
        let name = html_escape::encode_text(&m.source_name).into_owned();
        let link = m.canonical_url.as_deref().or(m.url.as_deref());
        let mut out = match link {
            Some(u) => format!(
                "<a href=\"{}\">{name}</a>",
                html_escape::encode_double_quoted_attribute(u)
            ),
            None => name,
        };
        let by: Vec<&str> = m
            .authors
            .iter()
            .map(byline_name)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if !by.is_empty() {
            out.push_str(&format!(
                " (by {})",
                html_escape::encode_text(&by.join(", "))
            ));
        }
        out
    };
    html.push_str(&format!("<p>Source: {}</p>", credit(rep)));
    let others: Vec<String> = story.members[1..]
        .iter()
        .map(|m| format!("<li>{}</li>", credit(m)))
        .collect();
    if !others.is_empty() {
        html.push_str(&format!(
            "<p>Also reported by:</p><ul>{}</ul>",
            others.concat()
        ));
    }
    xml_safe(&html).replace("]]>", "]]&gt;")
}

/// Renders every section (or only `only`) into `cache`, and into `static_dir` when configured.
pub(crate) fn render(
    config: &Config,
    store: &Store,
    cache: &FeedCache,
    only: Option<&[String]>,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut latest = None::<DateTime<Utc>>;
    let mut changed: Vec<String> = Vec::new();
    for section in &config.sections {
        if only.is_some_and(|o| !o.contains(&section.id)) {
            continue;
        }
        let stories = store.section_stories(&section.id, config.publish.items_per_feed)?;
        // The document holds only these stories, so its last change is theirs.
        let updated = stories
            .iter()
            .map(StoryView::changed_at)
            .max()
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .unwrap_or(now);
        latest = latest.max(Some(updated));
        let feed = SectionFeed {
            section,
            base_url: &config.server.base_url,
            stories,
            updated,
            all_sections: &config.sections,
        };
        let id = &section.id;
        let documents = [
            (
                "rss",
                rss::render(&feed),
                "application/rss+xml; charset=utf-8",
            ),
            (
                "atom",
                atom::render(&feed),
                "application/atom+xml; charset=utf-8",
            ),
            (
                "json",
                json::render(&feed),
                "application/feed+json; charset=utf-8",
            ),
        ];
        for (ext, body, content_type) in documents {
            let path = format!("/feeds/{id}.{ext}");
            if cache.put(&path, Rendered::new(body, content_type, updated)) {
                changed.push(path);
            }
        }
    }
    if only.is_none() || cache.get("/feeds.opml").is_none() {
        let at = latest.unwrap_or(now);
        let opml = Rendered::new(opml::render(config, at), "text/x-opml; charset=utf-8", at);
        if cache.put("/feeds.opml", opml) {
            changed.push("/feeds.opml".to_string());
        }
    }
    changed.extend(crate::pages::render(config, store, cache, only)?);
    // Only documents whose bytes changed are written again.
    if let Some(dir) = &config.publish.static_dir {
        write_documents(cache, dir, &changed)?;
    }
    Ok(())
}

/// Writes every cached document under `dir`.
pub(crate) fn write_static(cache: &FeedCache, dir: &Path) -> anyhow::Result<()> {
    write_documents(cache, dir, &cache.paths())
}

/// Writes the cached documents at `paths` under `dir` (write then rename, so readers never see half a file).
fn write_documents(cache: &FeedCache, dir: &Path, paths: &[String]) -> anyhow::Result<()> {
    for path in paths {
        let doc = cache.get(path).expect("path rendered into the cache");
        // Pages have no extension in their URL (`/sections/world`): as files they are folders with an
        // index.html, which static servers serve at that URL.
        let rel = path.trim_start_matches('/');
        let rel = if Path::new(rel).extension().is_none() {
            Path::new(rel).join("index.html")
        } else {
            Path::new(rel).to_path_buf()
        };
        let target = dir.join(rel);
        // A file that already holds these bytes is left alone, so a static server's validators (its ETag
        // and Last-Modified come from the file's size and mtime) stay valid and readers get 304s.
        if std::fs::read(&target).is_ok_and(|old| old == doc.body) {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let tmp = target.with_extension("tmp");
        std::fs::write(&tmp, &doc.body)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(())
}

/// Renders sections into the cache from a read connection of its own, on a blocking thread.
#[derive(Clone)]
pub(crate) struct Publisher {
    cache: FeedCache,
    db: std::path::PathBuf,
    reader: Arc<std::sync::Mutex<Option<Store>>>,
    metrics: Arc<crate::serve::Metrics>,
}

impl Publisher {
    /// A publisher for the database at `db`.
    pub(crate) fn new(cache: FeedCache, db: &Path, metrics: Arc<crate::serve::Metrics>) -> Self {
        Publisher {
            cache,
            db: db.to_path_buf(),
            reader: Arc::new(std::sync::Mutex::new(None)),
            metrics,
        }
    }

    /// Renders `only` these sections (all when None).
    pub(crate) async fn render(
        &self,
        config: Arc<Config>,
        only: Option<Vec<String>>,
    ) -> anyhow::Result<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut reader = this.reader.lock().expect("publisher lock");
            if reader.is_none() {
                *reader = Some(Store::open_read_only(&this.db)?);
            }
            let store = reader.as_ref().expect("opened above");
            let rendered = render(&config, store, &this.cache, only.as_deref());
            if rendered.is_err() {
                // A broken read connection is opened again next time.
                *reader = None;
            }
            rendered?;
            this.metrics
                .renders
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })
        .await?
    }

    /// Renders the status page alone (it changes with every poll, not only when stories do).
    pub(crate) async fn render_status(&self, config: Arc<Config>) -> anyhow::Result<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut reader = this.reader.lock().expect("publisher lock");
            if reader.is_none() {
                *reader = Some(Store::open_read_only(&this.db)?);
            }
            let store = reader.as_ref().expect("opened above");
            let rendered = crate::pages::render_status(&config, store, &this.cache);
            if rendered.is_err() {
                *reader = None;
            }
            rendered
        })
        .await?
    }
}
