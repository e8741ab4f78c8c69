//! JSON Feed 1.1 rendering. Credits go in the `_wiredesk` extension object of each item.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat};
use serde_json::{Value, json};

use super::{SectionFeed, byline_name, story_bylines, story_html, story_title, story_updated};
use crate::normalize::Byline;

fn rfc3339(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Makes plain text safe for a reader that renders it as HTML: each `<` that would open a tag, a comment
/// or a declaration (a `<` followed by an ASCII letter, `/`, `!` or `?`) becomes U+FF1C FULLWIDTH
/// LESS-THAN SIGN `＜`. The matching `>` stays, so the text still reads as it did ("History of the ＜blink>
/// tag"), and a `<` that opens nothing (`a < b`, `<3`) stays too.
///
/// RSS and Atom escape such text in XML; JSON has no such escape, and JSON Feed's plain-text fields
/// (`title`, `summary`, author names, ...) are shown as HTML by careless readers.
fn defuse_markup(text: &str) -> Cow<'_, str> {
    let opens = |i: usize| {
        text.as_bytes()
            .get(i + 1)
            .is_some_and(|&b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?'))
    };
    let mut openers = text
        .match_indices('<')
        .map(|(i, _)| i)
        .filter(|&i| opens(i))
        .peekable();
    if openers.peek().is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut copied = 0;
    // `<` is ASCII, so `i` and `i + 1` are character boundaries.
    for i in openers {
        out.push_str(&text[copied..i]);
        out.push('\u{FF1C}');
        copied = i + 1;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Applies [`defuse_markup`] to every string of a JSON Feed document that is plain text: all of them but
/// `content_html` (sanitised HTML) and URLs (members whose name ends in `url`). `key` is the name of the
/// object member `value` is (or is inside, for arrays).
fn defuse_plain_text(key: &str, value: &mut Value) {
    match value {
        Value::String(s) if key != "content_html" && !key.ends_with("url") => {
            if let Cow::Owned(safe) = defuse_markup(s) {
                *s = safe;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| defuse_plain_text(key, v)),
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| defuse_plain_text(k, v)),
        _ => {}
    }
}

/// One JSON Feed author: a name, and a URL (the byline's page, else a `mailto:` link, which JSON Feed 1.1
/// allows) when there is one.
fn author(b: &Byline) -> serde_json::Value {
    let mut a = json!({ "name": byline_name(b) });
    if let Some(url) = b
        .uri
        .clone()
        .or_else(|| b.email.as_ref().map(|e| format!("mailto:{e}")))
    {
        a["url"] = json!(url);
    }
    a
}

/// Renders the section as a JSON Feed 1.1 document.
pub(super) fn render(feed: &SectionFeed) -> Vec<u8> {
    let items: Vec<_> = feed
        .stories
        .iter()
        .map(|story| {
            let rep = story.representative();
            let members: Vec<_> = story
                .members
                .iter()
                .map(|m| {
                    json!({
                        "source": m.source_name,
                        "feed_url": m.source_url,
                        "url": m.url,
                        "canonical_url": m.canonical_url,
                        "author": m.author,
                        "title": m.title,
                        "date_published": rfc3339(m.published),
                        "match": m.layer.as_str(),
                    })
                })
                .collect();
            let sections: Vec<_> = feed
                .sections_of(story)
                .map(|s| {
                    let reasons = story
                        .routes
                        .iter()
                        .find(|r| r.section == s.id)
                        .map(|r| r.reasons.clone())
                        .unwrap_or_default();
                    json!({"id": s.id, "title": super::plain(&s.title), "reasons": reasons})
                })
                .collect();
            let tags: Vec<String> = feed.sections_of(story).map(|s| super::plain(&s.title)).collect();
            let mut item = json!({
                "id": story.guid,
                "tags": tags,
                "title": story_title(story),
                "content_html": story_html(story),
                "date_published": rfc3339(rep.published),
                "date_modified": story_updated(story).to_rfc3339_opts(SecondsFormat::Micros, true),
                "authors": story_bylines(story).iter().map(author).collect::<Vec<_>>(),
                "_wiredesk": {"about": "https://github.com/wiredesk/wiredesk#json-feed-extension", "members": members, "sections": sections},
            });
            if let Some(u) = &rep.url {
                item["url"] = json!(u);
            }
            if !rep.summary.is_empty() {
                item["summary"] = json!(rep.summary);
            }
            item
        })
        .collect();
    let mut doc = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": super::plain(&feed.section.title),
        "description": super::plain(&feed.section.description),
        "home_page_url": format!("{}/", feed.base_url),
        "feed_url": feed.self_url("json"),
        "language": "en",
        "items": items,
    });
    defuse_plain_text("", &mut doc);
    serde_json::to_vec_pretty(&doc).expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defuse_markup_replaces_only_the_less_than_signs_that_open_markup() {
        for (text, want) in [
            ("a < b", "a < b"),
            ("<3", "<3"),
            ("a<=b, 1 <2", "a<=b, 1 <2"),
            ("trailing <", "trailing <"),
            ("History of the <blink> tag", "History of the ＜blink> tag"),
            ("</x", "＜/x"),
            ("<!-- note -->", "＜!-- note -->"),
            ("<!DOCTYPE html>", "＜!DOCTYPE html>"),
            ("<?php echo 1 ?>", "＜?php echo 1 ?>"),
            ("<<b>>", "<＜b>>"),
            (
                "Bridge repairs <b onmouseover=alert(1)>close</b> the road",
                "Bridge repairs ＜b onmouseover=alert(1)>close＜/b> the road",
            ),
            ("Zürich — <i>café</i> ☕<", "Zürich — ＜i>café＜/i> ☕<"),
            ("日本<script>", "日本＜script>"),
            ("<é", "<é"),
            ("", ""),
        ] {
            assert_eq!(defuse_markup(text), want, "{text:?}");
        }
        assert!(matches!(defuse_markup("a < b"), Cow::Borrowed(_)));
    }

    #[test]
    fn defuse_plain_text_spares_html_and_urls() {
        let mut doc = json!({
            "title": "<b>t",
            "content_html": "<p>kept</p>",
            "url": "https://example.org/<a",
            "tags": ["<i>x"],
            "authors": [{"name": "<s>Jane", "url": "mailto:<x@example.org"}],
            "_wiredesk": {"members": [{"title": "</b>", "feed_url": "https://example.org/<f"}]},
        });
        defuse_plain_text("", &mut doc);
        assert_eq!(
            doc,
            json!({
                "title": "＜b>t",
                "content_html": "<p>kept</p>",
                "url": "https://example.org/<a",
                "tags": ["＜i>x"],
                "authors": [{"name": "＜s>Jane", "url": "mailto:<x@example.org"}],
                "_wiredesk": {"members": [{"title": "＜/b>", "feed_url": "https://example.org/<f"}]},
            })
        );
    }
}
