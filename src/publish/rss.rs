//! RSS 2.0 rendering with the `rss` crate: one `<item>` per story, crediting the representative's feed in
//! `<source>` and every other member in the description.

use std::collections::BTreeMap;

use chrono::DateTime;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{CategoryBuilder, ChannelBuilder, GuidBuilder, ItemBuilder, SourceBuilder};

use super::{
    SectionFeed, byline_name, plain, story_bylines, story_html, story_title, text_as_html, xml_safe,
};
use crate::normalize::Byline;

/// Plain text for an RSS element: RSS readers read it as HTML, so text that would read as markup is
/// escaped ([`text_as_html`]).
fn text(s: &str) -> String {
    text_as_html(&xml_safe(s)).into_owned()
}

/// The document with `&` and `<` outside CDATA sections written as the hexadecimal character references
/// `&#x26;` and `&#x3C;`, which the RSS Best Practices Profile asks of plain text so readers know it for
/// text. It is the same XML: `&amp;` and `&#x26;` are one character; the `rss` crate writes the named form.
fn hex_references(xml: Vec<u8>) -> Vec<u8> {
    const CDATA_OPEN: &[u8] = b"<![CDATA[";
    let mut out = Vec::with_capacity(xml.len() + xml.len() / 64);
    let mut rest = &xml[..];
    while !rest.is_empty() {
        let (plain, cdata) = match find(rest, CDATA_OPEN) {
            Some(at) => {
                let end = find(&rest[at..], b"]]>").map_or(rest.len(), |e| at + e + 3);
                (&rest[..at], &rest[at..end])
            }
            None => (rest, &rest[rest.len()..]),
        };
        let mut i = 0;
        while i < plain.len() {
            if plain[i..].starts_with(b"&amp;") {
                out.extend_from_slice(b"&#x26;");
                i += 5;
            } else if plain[i..].starts_with(b"&lt;") {
                out.extend_from_slice(b"&#x3C;");
                i += 4;
            } else {
                out.push(plain[i]);
                i += 1;
            }
        }
        out.extend_from_slice(cdata);
        rest = &rest[plain.len() + cdata.len()..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A story's bylines as RSS has them: `<author>` holds one e-mail address (`email (Name)`), so a single
/// byline with an address goes there; every other byline is a `dc:creator` name. An item carries one or
/// the other, never both, since readers take them for the same thing.
fn bylines(bylines: &[Byline]) -> (Option<String>, Vec<String>) {
    if let [one] = bylines
        && let Some(email) = &one.email
    {
        let author = match &one.name {
            Some(name) => format!("{email} ({name})"),
            None => email.clone(),
        };
        return (Some(text(&author)), Vec::new());
    }
    let names = bylines.iter().map(|b| text(byline_name(b))).collect();
    (None, names)
}

/// Renders the section as an RSS 2.0 document.
pub(super) fn render(feed: &SectionFeed) -> Vec<u8> {
    let items = feed
        .stories
        .iter()
        .map(|story| {
            let rep = story.representative();
            let published = DateTime::from_timestamp(rep.published, 0).unwrap_or_default();
            let (author, creators) = bylines(&story_bylines(story));
            let dc = (!creators.is_empty()).then(|| DublinCoreExtension {
                creators,
                ..Default::default()
            });
            // Each section the story is in, parents included, so readers can file it.
            let categories = feed
                .sections_of(story)
                .map(|s| {
                    CategoryBuilder::default()
                        .name(text(&plain(&s.title)))
                        .domain(Some(feed.sections_scheme()))
                        .build()
                })
                .collect::<Vec<_>>();
            ItemBuilder::default()
                .title(Some(text(&story_title(story))))
                .author(author)
                .categories(categories)
                .dublin_core_ext(dc)
                .link(rep.url.clone())
                .description(Some(story_html(story)))
                .guid(Some(
                    GuidBuilder::default()
                        .value(story.guid.clone())
                        .permalink(false)
                        .build(),
                ))
                .pub_date(Some(published.to_rfc2822()))
                .source(Some(
                    SourceBuilder::default()
                        .url(rep.source_url.clone())
                        .title(Some(text(&rep.source_name)))
                        .build(),
                ))
                .build()
        })
        .collect::<Vec<_>>();
    let mut atom = AtomExtension::default();
    let mut self_link = Link::default();
    self_link.set_href(feed.self_url("rss"));
    self_link.set_rel("self");
    self_link.set_mime_type(Some("application/rss+xml".to_string()));
    atom.set_links(vec![self_link]);
    let channel = ChannelBuilder::default()
        .title(text(&plain(&feed.section.title)))
        .link(format!("{}/", feed.base_url))
        .description(text(&plain(&feed.section.description)))
        .language(Some("en".to_string()))
        .generator(Some(format!("wiredesk {}", env!("CARGO_PKG_VERSION"))))
        .last_build_date(Some(feed.updated.to_rfc2822()))
        .namespaces(BTreeMap::from([
            (
                "atom".to_string(),
                "http://www.w3.org/2005/Atom".to_string(),
            ),
            (
                "dc".to_string(),
                "http://purl.org/dc/elements/1.1/".to_string(),
            ),
        ]))
        .atom_ext(Some(atom))
        .items(items)
        .build();
    let mut out = Vec::new();
    channel
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    hex_references(out)
}
