//! Atom 1.0 rendering with `atom_syndication`: one entry per story, with `atom:source` for the representative's
//! feed and a `rel="related"` link for every other member.

use atom_syndication::{
    Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Source, Text,
};
use chrono::DateTime;

use super::{
    SectionFeed, byline_name, plain, story_bylines, story_html, story_title, story_updated,
    xml_safe,
};

fn link(href: &str, rel: &str, mime: Option<&str>, title: Option<&str>) -> Link {
    Link {
        href: href.to_string(),
        rel: rel.to_string(),
        mime_type: mime.map(str::to_string),
        title: title.map(xml_safe),
        ..Default::default()
    }
}

/// A plain-text construct. Text with `<` or `&` goes as escaped `type="html"`, which every reader reads
/// back as exactly the text; `type="text"` holding "</b>" or "1&1" looks like undeclared markup to readers
/// that guess (and to the W3C validator).
fn text(s: &str) -> Text {
    let s = xml_safe(s);
    if s.contains(['<', '&']) {
        Text::html(html_escape::encode_text(&s).into_owned())
    } else {
        Text::plain(s)
    }
}

fn fixed(ts: i64) -> FixedDateTime {
    DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .fixed_offset()
}

/// Renders the section as an Atom 1.0 document.
pub(super) fn render(feed: &SectionFeed) -> Vec<u8> {
    let entries = feed
        .stories
        .iter()
        .map(|story| {
            let rep = story.representative();
            let mut links = Vec::new();
            if let Some(u) = &rep.url {
                links.push(link(u, "alternate", Some("text/html"), None));
            }
            for m in &story.members[1..] {
                if let Some(u) = m.canonical_url.as_ref().or(m.url.as_ref()) {
                    links.push(link(u, "related", Some("text/html"), Some(&m.source_name)));
                }
            }
            let categories = feed
                .sections_of(story)
                .map(|s| Category {
                    term: s.id.clone(),
                    scheme: Some(feed.sections_scheme()),
                    label: Some(plain(&s.title)),
                })
                .collect();
            Entry {
                categories,
                id: story.guid.clone(),
                title: text(&story_title(story)),
                updated: story_updated(story).fixed_offset(),
                published: Some(fixed(rep.published)),
                // An Atom person needs a name; a byline that is only an address is named by it.
                authors: story_bylines(story)
                    .iter()
                    .map(|b| Person {
                        name: byline_name(b).to_string(),
                        email: b.email.clone(),
                        uri: b.uri.clone(),
                        ..Default::default()
                    })
                    .collect(),
                links,
                summary: (!rep.summary.is_empty()).then(|| text(&rep.summary)),
                content: Some(Content {
                    value: Some(story_html(story)),
                    content_type: Some("html".to_string()),
                    ..Default::default()
                }),
                source: Some(Source {
                    title: text(&rep.source_name),
                    id: rep.source_url.clone(),
                    updated: fixed(rep.published),
                    links: std::iter::once(link(&rep.source_url, "self", None, None))
                        .chain(
                            rep.site_url
                                .as_deref()
                                .map(|s| link(s, "alternate", Some("text/html"), None)),
                        )
                        .collect(),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let doc = Feed {
        id: feed.self_url("atom"),
        title: text(&plain(&feed.section.title)),
        subtitle: Some(text(&plain(&feed.section.description))),
        updated: feed.updated.fixed_offset(),
        authors: vec![Person {
            name: "wiredesk".into(),
            ..Default::default()
        }],
        generator: Some(Generator {
            value: "wiredesk".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        links: vec![
            link(
                &feed.self_url("atom"),
                "self",
                Some("application/atom+xml"),
                None,
            ),
            link(
                &format!("{}/", feed.base_url),
                "alternate",
                Some("text/html"),
                None,
            ),
        ],
        entries,
        ..Default::default()
    };
    let mut out = Vec::new();
    doc.write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}
