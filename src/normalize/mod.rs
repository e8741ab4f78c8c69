//! Builds the canonical form of each entry: absolute and canonical URLs, plain title and summary without
//! boilerplate, sanitised HTML, and a UTC date that is never missing or in the future.
//!
//! Everything downstream (dedup, store, publish) works on [`NormalizedItem`] and never sees feed-rs types.

pub mod bounds;
pub mod date;
pub mod person;
pub mod sanitize;
pub mod text;
pub mod url;

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use feed_rs::model::{Entry, Feed, FeedType, Text};

use self::text::{html_to_text, key_text, plain_text, strip_boilerplate, truncate_words};

/// Longest plain-text summary kept, in characters.
const SUMMARY_MAX_CHARS: usize = 600;

/// One person credited with an entry, as the feed named them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Byline {
    /// Display name, plain text.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Home page or profile URL, absolute.
    pub uri: Option<String>,
}

/// One entry, normalised.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NormalizedItem {
    /// The entry's id within its source (RSS guid, Atom id, JSON Feed id), or its link when ids repeat.
    pub guid: String,
    /// The item's own link, absolute, as the feed gave it.
    pub url: Option<String>,
    /// The dedup key of `url`.
    pub canonical_url: Option<String>,
    /// Plain-text title (may be empty when the feed has none).
    pub title: String,
    /// Plain-text summary without boilerplate, at most 600 characters.
    pub summary: String,
    /// Sanitised HTML body (content, else summary).
    pub content_html: String,
    /// Author names, comma-separated.
    pub author: Option<String>,
    /// Every author with name, e-mail and URI, in feed order.
    pub authors: Vec<Byline>,
    /// Publication time in UTC.
    pub published: DateTime<Utc>,
    /// When the feed says the entry was last changed, if it says so and the date is plausible.
    pub updated: Option<DateTime<Utc>>,
    /// False when `published` is the first-seen time because the feed's date was missing or absurd.
    pub date_from_feed: bool,
    /// 64-bit hash of the key text of title and summary, when there is enough text for it to identify a story.
    pub content_hash: Option<i64>,
    /// The entry's own categories (RSS `<category>`, Atom `category` term and label, JSON Feed `tags`),
    /// as plain text with inner whitespace as one space, each once; sections route by them.
    pub categories: Vec<String>,
}

/// What a feed says about itself, used for display and polling hints.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FeedMeta {
    /// The feed's title.
    pub title: Option<String>,
    /// The site the feed belongs to.
    pub site_url: Option<String>,
    /// RSS `<ttl>` in minutes.
    pub ttl_minutes: Option<u32>,
}

/// Whether a text field of a feed of this type holds HTML, so that its plain text is what an HTML reader
/// shows, or is plain text already and stays as written.
///
/// RSS says nothing about markup in titles and every RSS reader renders them as HTML, so RSS text is HTML.
/// Atom says it in `type` (RFC 4287 section 3.1): `text` stays text, so "History of the <blink> tag" keeps
/// its word; `html`, `xhtml` and XML types are markup; other media types (base64 bodies) are text. JSON Feed
/// titles and summaries are plain text.
pub fn is_html_text(feed_type: &FeedType, content_type: &str) -> bool {
    match feed_type {
        FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2 => true,
        FeedType::JSON => false,
        FeedType::Atom => {
            let t = content_type.split(';').next().unwrap_or("").trim();
            // feed-rs names XHTML `application/xhtml`.
            t == "text/html" || t.contains("xhtml") || t.ends_with("/xml") || t.ends_with("+xml")
        }
    }
}

/// The plain text of one text construct.
fn text_of(feed_type: &FeedType, t: &Text) -> String {
    if is_html_text(feed_type, t.content_type.as_ref()) {
        html_to_text(&t.content)
    } else {
        plain_text(&t.content)
    }
}

/// Extracts feed-level facts.
pub fn feed_meta(feed: &Feed) -> FeedMeta {
    FeedMeta {
        title: feed
            .title
            .as_ref()
            .map(|t| text_of(&feed.feed_type, t))
            .filter(|t| !t.is_empty()),
        site_url: feed
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .map(|l| l.href.clone()),
        ttl_minutes: feed.ttl,
    }
}

/// Why a feed's entries were not normalised: they cost more than the budget.
#[derive(Debug, thiserror::Error)]
#[error(
    "normalising its entries took over {budget:?} of CPU time (stopped after {done} of {total}); a feed \
     this costly is refused"
)]
pub struct OverBudget {
    /// Entries normalised when the budget ran out.
    pub done: usize,
    /// Entries in the feed.
    pub total: usize,
    /// The budget.
    pub budget: std::time::Duration,
}

/// Normalises every entry of a feed fetched from `feed_url` at `now`, within [`bounds::FEED_BUDGET`].
pub fn normalize_feed(
    feed: &Feed,
    feed_url: &str,
    now: DateTime<Utc>,
) -> Result<Vec<NormalizedItem>, OverBudget> {
    normalize_feed_within(feed, feed_url, now, bounds::FEED_BUDGET)
}

/// Normalises every entry of a feed, refusing it once the entries have cost more than `budget` of this
/// thread's CPU time (checked between entries).
pub fn normalize_feed_within(
    feed: &Feed,
    feed_url: &str,
    now: DateTime<Utc>,
    budget: std::time::Duration,
) -> Result<Vec<NormalizedItem>, OverBudget> {
    let base = ::url::Url::parse(feed_url).ok();
    let spending = bounds::Budget::start(budget);
    let total = feed.entries.len();
    let mut items: Vec<NormalizedItem> = Vec::with_capacity(total);
    for entry in &feed.entries {
        items.push(normalize_entry(entry, &feed.feed_type, base.as_ref(), now));
        if items.len() < total && spending.exceeded() {
            return Err(OverBudget {
                done: items.len(),
                total,
                budget,
            });
        }
    }
    keep_feed_order_without_dates(&mut items);
    // Some feeds give every item the same guid; then the link is the only identity that works.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for item in &items {
        *counts.entry(item.guid.as_str()).or_default() += 1;
    }
    let repeated: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(g, _)| g.to_string())
        .collect();
    if !repeated.is_empty() {
        for item in &mut items {
            if repeated.contains(&item.guid)
                && let Some(u) = &item.url
            {
                item.guid = u.clone();
            }
        }
    }
    Ok(items)
}

/// Entries without a usable date all fall back to the same first-seen time, so readers (and the section
/// feeds, newest first) would show them in any order and Atom would give them one `updated` value. The
/// n-th entry of the feed is dated n seconds before first-seen instead: the feed's own order (newest first)
/// is kept, and no two of its entries share a time. Later polls date their new entries later still.
fn keep_feed_order_without_dates(items: &mut [NormalizedItem]) {
    for (position, item) in items.iter_mut().enumerate() {
        if !item.date_from_feed {
            item.published -= Duration::seconds(position as i64);
        }
    }
}

/// Normalises one entry of a feed of `feed_type`; `base` resolves relative links.
///
/// Content precedence: the plain summary comes from the entry's summary (RSS `description`, Atom
/// `summary`, then `dc:description`, `itunes:summary`, `media:description`), else from its content; the
/// kept HTML from its content (`content:encoded`, Atom `content`, XHTML `body`, `fullitem`), else from its
/// summary. Plain-text constructs are escaped into the HTML, never parsed as markup.
pub fn normalize_entry(
    entry: &Entry,
    feed_type: &FeedType,
    base: Option<&::url::Url>,
    now: DateTime<Utc>,
) -> NormalizedItem {
    let item_base = entry
        .base
        .as_deref()
        .and_then(|b| self::url::absolute(b, base))
        .or_else(|| base.cloned());
    let link = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .chain(entry.links.iter())
        .find_map(|l| self::url::absolute(&l.href, item_base.as_ref()).map(|u| (u, l.href.trim())))
        .or_else(|| {
            // An RSS guid that is a permalink is the link when <link> is missing.
            entry
                .id
                .starts_with("http")
                .then(|| self::url::absolute(&entry.id, None))
                .flatten()
                .map(|u| (u, entry.id.trim()))
        });
    // The link as the feed wrote it when it was absolute already (a URL parser lower-cases hosts and
    // re-encodes paths); the parsed form resolves, canonicalises and identifies.
    let (link, link_as_written) = match link {
        Some((u, raw)) => {
            let written = if ::url::Url::parse(raw).is_ok() {
                raw.to_string()
            } else {
                u.to_string()
            };
            (Some(u), Some(written))
        }
        None => (None, None),
    };
    let title = entry
        .title
        .as_ref()
        .map(|t| text_of(feed_type, t))
        .unwrap_or_default();
    // Each body as HTML: markup types as they are, plain text escaped so it stays text.
    let as_html = |body: &str, content_type: &str| -> String {
        if is_html_text(feed_type, content_type) {
            body.to_string()
        } else {
            html_escape::encode_text(body).into_owned()
        }
    };
    let summary_html = entry
        .summary
        .as_ref()
        .map(|s| as_html(&s.content, s.content_type.as_ref()));
    // Content says what it is in its media type, in every format.
    let content_is_markup = entry.content.as_ref().is_some_and(|c| {
        let t = c.content_type.as_ref();
        t == "text/html" || t.contains("xhtml") || t.ends_with("/xml") || t.ends_with("+xml")
    });
    let content_body = entry.content.as_ref().and_then(|c| c.body.as_deref());
    let content_html = content_body.map(|b| {
        if content_is_markup {
            b.to_string()
        } else {
            html_escape::encode_text(b).into_owned()
        }
    });
    // Each body is read as what it is: markup through the HTML tokenizer, plain text as written. Reading
    // escaped plain text as HTML would decode it and then strip "<blink>" from "Why <blink> died".
    let summary_text = match (&entry.summary, content_body) {
        (Some(s), _) => text_of(feed_type, s),
        (None, Some(b)) if content_is_markup => html_to_text(b),
        (None, Some(b)) => plain_text(b),
        (None, None) => String::new(),
    };
    let summary = truncate_words(&strip_boilerplate(&summary_text), SUMMARY_MAX_CHARS);
    let html_source = content_html
        .as_deref()
        .or(summary_html.as_deref())
        .unwrap_or_default();
    let link_base = link.as_ref().or(item_base.as_ref());
    let content_html = self::sanitize::sanitize_html(html_source, link_base);

    let feed_date = entry.published.or(entry.updated);
    let plausible = |d: &DateTime<Utc>| {
        *d <= now + Duration::days(1) && *d >= Utc.with_ymd_and_hms(1995, 1, 1, 0, 0, 0).unwrap()
    };
    let (published, date_from_feed) = match feed_date.filter(plausible) {
        Some(d) => (d, true),
        None => (now, false),
    };
    let updated = entry.updated.filter(plausible).filter(|u| *u >= published);
    let authors: Vec<Byline> = entry
        .authors
        .iter()
        .filter_map(|p| {
            self::person::byline(
                p.name.as_deref(),
                p.email.as_deref(),
                p.uri.as_deref(),
                item_base.as_ref(),
            )
        })
        .collect();
    let author = Some(
        authors
            .iter()
            .filter_map(self::person::display)
            .collect::<Vec<_>>()
            .join(", "),
    )
    .filter(|a| !a.is_empty());

    let guid = if entry.id.trim().is_empty() {
        link.as_ref().map(|l| l.to_string()).unwrap_or_default()
    } else {
        entry.id.trim().to_string()
    };
    let mut categories: Vec<String> = Vec::new();
    for c in &entry.categories {
        for name in std::iter::once(c.term.as_str()).chain(c.label.as_deref()) {
            let name = plain_text(name)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if !name.is_empty()
                && !categories
                    .iter()
                    .any(|k| k.to_lowercase() == name.to_lowercase())
            {
                categories.push(name);
            }
        }
    }
    NormalizedItem {
        categories,
        content_hash: content_hash(&title, &summary),
        canonical_url: link.as_ref().map(self::url::canonical),
        url: link_as_written,
        guid,
        title,
        summary,
        content_html,
        author,
        authors,
        published,
        updated,
        date_from_feed,
    }
}

/// Words a title without a summary needs before it alone may identify a story; "Australia news live:" or
/// "Ukraine war live updates" must not.
const MIN_TITLE_ONLY_WORDS: usize = 6;

/// The exact-content key: the same normalised title and summary mean the same story. Short title-only items
/// (live-blog headers, "Breaking news") get none, since different stories share them.
pub fn content_hash(title: &str, summary: &str) -> Option<i64> {
    let title_key = key_text(title);
    let summary_key = key_text(summary);
    let words = title_key.split(' ').filter(|w| !w.is_empty()).count();
    if summary_key.split(' ').filter(|w| !w.is_empty()).count() < 8 && words < MIN_TITLE_ONLY_WORDS
    {
        return None;
    }
    if title_key.is_empty() && summary_key.is_empty() {
        return None;
    }
    Some(key64(&format!("{title_key}\n{summary_key}")))
}

/// A 64-bit key for an index: the first 8 bytes of blake3. Integer keys keep indexes small, which matters
/// because each random insert dirties a page that the commit writes out.
pub fn key64(text: &str) -> i64 {
    let h = blake3::hash(text.as_bytes());
    i64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Feed {
        feed_rs::parser::parse(xml.as_bytes()).unwrap()
    }

    #[test]
    fn an_rss_item_is_normalised() {
        let now = Utc.with_ymd_and_hms(2025, 6, 2, 12, 0, 0).unwrap();
        let feed = parse(
            r#"<rss version="2.0"><channel><title>T</title><item>
            <title>Markets &amp; &lt;b&gt;money&lt;/b&gt;</title><link>/story/1?utm_source=rss</link>
            <guid isPermaLink="false">G1</guid><pubDate>Mon, 02 Jun 2025 11:29:02 GMT</pubDate>
            <description><![CDATA[<p>Stocks rose <script>x()</script>today.</p> The post Stocks appeared first on Site.]]></description>
            </item><item><title>No date</title><pubDate>Mon, 02 Jun 2099 11:29:02 GMT</pubDate></item></channel></rss>"#,
        );
        let items = normalize_feed(&feed, "https://www.site.example/feed.xml", now).unwrap();
        let a = &items[0];
        assert_eq!(a.guid, "G1");
        assert_eq!(a.title, "Markets & money");
        assert_eq!(
            a.url.as_deref(),
            Some("https://www.site.example/story/1?utm_source=rss")
        );
        assert_eq!(
            a.canonical_url.as_deref(),
            Some("https://site.example/story/1")
        );
        assert_eq!(a.summary, "Stocks rose today.");
        assert!(!a.content_html.contains("script"));
        assert!(a.date_from_feed);
        assert_eq!(
            a.published,
            Utc.with_ymd_and_hms(2025, 6, 2, 11, 29, 2).unwrap()
        );
        let b = &items[1];
        assert!(
            !b.date_from_feed,
            "a date in 2099 is absurd and falls back to first-seen"
        );
        // Second in the feed: a second before first-seen, to keep the feed's order.
        assert_eq!(b.published, now - Duration::seconds(1));
    }

    #[test]
    fn entries_without_dates_keep_the_feed_order() {
        let now = Utc.with_ymd_and_hms(2025, 6, 2, 12, 0, 0).unwrap();
        let feed = parse(
            r#"<rss version="2.0"><channel><title>T</title>
            <item><title>Newest</title><guid>a</guid></item>
            <item><title>Dated</title><guid>b</guid><pubDate>Mon, 02 Jun 2025 08:00:00 GMT</pubDate></item>
            <item><title>Oldest</title><guid>c</guid></item></channel></rss>"#,
        );
        let items = normalize_feed(&feed, "https://a.example/feed", now).unwrap();
        assert_eq!(items[0].published, now);
        assert_eq!(
            items[1].published,
            Utc.with_ymd_and_hms(2025, 6, 2, 8, 0, 0).unwrap()
        );
        assert_eq!(items[2].published, now - Duration::seconds(2));
        assert!(!items[2].date_from_feed);
    }

    #[test]
    fn plain_text_summaries_keep_their_angle_brackets() {
        let now = Utc::now();
        let atom = parse(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:x</id><updated>2025-06-02T00:00:00Z</updated>
            <entry><title type="text">History of the &lt;blink&gt; tag</title><id>urn:1</id><updated>2025-06-02T00:00:00Z</updated>
            <summary type="text">Why &lt;blink&gt; and &lt;marquee&gt; died; 5 &lt; 6.</summary></entry>
            <entry><title type="html">&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;Strike</title><id>urn:2</id>
            <updated>2025-06-02T00:00:00Z</updated><content type="text">&lt;b&gt;kept&lt;/b&gt; as text</content></entry></feed>"#,
        );
        let items = normalize_feed(&atom, "https://a.example/feed", now).unwrap();
        assert_eq!(items[0].title, "History of the <blink> tag");
        assert_eq!(items[0].summary, "Why <blink> and <marquee> died; 5 < 6.");
        assert_eq!(items[1].title, "Strike");
        assert_eq!(items[1].summary, "<b>kept</b> as text");
        assert_eq!(items[1].content_html, "&lt;b&gt;kept&lt;/b&gt; as text");
        let json = parse(
            r#"{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [{"id": "1",
            "title": "Why <script> tags are text", "summary": "<img src=x onerror=alert(1)> is text",
            "authors": [{"name": "<b onmouseover=alert(5)>Oscar</b>"}]}]}"#,
        );
        let items = normalize_feed(&json, "https://a.example/feed.json", now).unwrap();
        assert_eq!(items[0].title, "Why <script> tags are text");
        assert_eq!(items[0].summary, "<img src=x onerror=alert(1)> is text");
        assert_eq!(items[0].author.as_deref(), Some("Oscar"));
    }

    #[test]
    fn a_feed_over_its_budget_is_refused_between_entries() {
        let feed = parse(&format!(
            "<rss version=\"2.0\"><channel><title>T</title>{}</channel></rss>",
            "<item><title>A</title><description>&lt;p&gt;x&lt;/p&gt;</description></item>"
                .repeat(3)
        ));
        let url = "https://a.example/feed";
        let e =
            normalize_feed_within(&feed, url, Utc::now(), std::time::Duration::ZERO).unwrap_err();
        assert_eq!((e.done, e.total), (1, 3));
        assert!(e.to_string().contains("stopped after 1 of 3"), "{e}");
        assert_eq!(normalize_feed(&feed, url, Utc::now()).unwrap().len(), 3);
    }

    #[test]
    fn repeated_guids_fall_back_to_links() {
        let feed = parse(
            r#"<rss version="2.0"><channel><title>T</title>
            <item><title>A</title><link>https://a.example/1</link><guid>same</guid></item>
            <item><title>B</title><link>https://a.example/2</link><guid>same</guid></item></channel></rss>"#,
        );
        let items = normalize_feed(&feed, "https://a.example/feed", Utc::now()).unwrap();
        assert_eq!(items[0].guid, "https://a.example/1");
        assert_eq!(items[1].guid, "https://a.example/2");
    }

    #[test]
    fn short_title_only_items_get_no_content_key() {
        assert!(content_hash("Australia news live:", "").is_none());
        assert!(content_hash("Ukraine war live updates", "").is_none());
        assert!(content_hash("Six words make a headline key", "").is_some());
        assert_eq!(
            content_hash("Ukraine “ready” to talk", "Kyiv says so."),
            content_hash("ukraine \"ready\" to talk", "Kyiv says so")
        );
    }
}
