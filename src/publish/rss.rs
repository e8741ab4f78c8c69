//! RSS 2.0 rendering with the `rss` crate: one `<item>` per story, crediting the representative's feed in
//! `<source>` and every other member in the description.

use std::collections::BTreeMap;

use chrono::DateTime;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{ChannelBuilder, GuidBuilder, ItemBuilder, SourceBuilder};

use super::{SectionFeed, byline_name, plain, story_bylines, story_html, story_title, xml_safe};
use crate::normalize::Byline;

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
        return (Some(author), Vec::new());
    }
    let names = bylines.iter().map(|b| byline_name(b).to_string()).collect();
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
            ItemBuilder::default()
                .title(Some(story_title(story)))
                .author(author)
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
                        .title(Some(xml_safe(&rep.source_name)))
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
        .title(plain(&feed.section.title))
        .link(format!("{}/", feed.base_url))
        .description(plain(&feed.section.description))
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
    out
}
