//! JSON Feed 1.1 rendering. Credits go in the `_wiredesk` extension object of each item.

use chrono::{DateTime, SecondsFormat};
use serde_json::json;

use super::{SectionFeed, byline_name, story_bylines, story_html, story_title, story_updated};
use crate::normalize::Byline;

fn rfc3339(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
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
    let doc = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": super::plain(&feed.section.title),
        "description": super::plain(&feed.section.description),
        "home_page_url": format!("{}/", feed.base_url),
        "feed_url": feed.self_url("json"),
        "language": "en",
        "items": items,
    });
    serde_json::to_vec_pretty(&doc).expect("a JSON value always serialises")
}
