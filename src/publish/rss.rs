//! RSS 2.0 rendering with the `rss` crate: one `<item>` per story, crediting the representative's feed in
//! `<source>` and every other member in the description.

use std::collections::BTreeMap;

use chrono::DateTime;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{CategoryBuilder, ChannelBuilder, GuidBuilder, ItemBuilder, SourceBuilder};

use super::{SectionFeed, plain, story_html, story_title, xml_safe};

/// Renders the section as an RSS 2.0 document.
pub(super) fn render(feed: &SectionFeed) -> Vec<u8> {
    let items = feed
        .stories
        .iter()
        .map(|story| {
            let rep = story.representative();
            let published = DateTime::from_timestamp(rep.published, 0).unwrap_or_default();
            // RSS <author> must be an e-mail address; a byline without one is a dc:creator.
            let creators: Vec<String> = rep
                .author
                .as_deref()
                .map(|a| {
                    a.split(", ")
                        .map(|n| xml_safe(n.trim()))
                        .filter(|n| !n.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let dc = (!creators.is_empty()).then(|| DublinCoreExtension {
                creators,
                ..Default::default()
            });
            // Each section the story is in, parents included, so readers can file it.
            let categories = feed
                .sections_of(story)
                .map(|s| {
                    CategoryBuilder::default()
                        .name(plain(&s.title))
                        .domain(Some(feed.sections_scheme()))
                        .build()
                })
                .collect::<Vec<_>>();
            ItemBuilder::default()
                .title(Some(story_title(story)))
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
