//! wiredesk: Microsoft's Channel Definition Format (CDF, 1997), which feedparser reads: a `<CHANNEL>` root
//! with `HREF` and `LASTMOD` attributes, `<TITLE>` and `<ABSTRACT>` children and `<ITEM>`s shaped the same.
//! It is reported as RSS 0.x, the family it preceded, so the model needs no new feed type.

use std::io::BufRead;

use crate::model::{Entry, Feed, FeedType, Link, Text};
use crate::parser::util::if_some_then;
use crate::parser::{ParseFeedResult, Parser};
use crate::xml::Element;

/// Parses a CDF `<CHANNEL>` into the model.
pub(crate) fn parse<R: BufRead>(parser: &Parser, root: Element<R>) -> ParseFeedResult<Feed> {
    let mut feed = Feed::new(FeedType::RSS0);
    if_some_then(attr(&root, "href"), |href| feed.links.push(Link::new(href, root.xml_base.as_ref())));
    feed.updated = attr(&root, "lastmod").and_then(|t| parser.parse_timestamp(&t));
    for child in root.children() {
        let child = child?;
        match child.name.to_ascii_lowercase().as_str() {
            "title" => feed.title = child.child_as_text().map(Text::new),
            "abstract" => feed.description = child.child_as_text().map(Text::new),
            "item" => {
                let mut entry = Entry::default();
                if_some_then(attr(&child, "href"), |href| entry.links.push(Link::new(href, child.xml_base.as_ref())));
                entry.updated = attr(&child, "lastmod").and_then(|t| parser.parse_timestamp(&t));
                for grandchild in child.children() {
                    let grandchild = grandchild?;
                    match grandchild.name.to_ascii_lowercase().as_str() {
                        "title" => entry.title = grandchild.child_as_text().map(Text::new),
                        "abstract" => entry.summary = grandchild.child_as_text().map(Text::new),
                        _ => {}
                    }
                }
                feed.entries.push(entry);
            }
            _ => {}
        }
    }
    Ok(feed)
}

/// CDF attribute names are written in upper case, but readers never insisted.
fn attr<R: BufRead>(element: &Element<R>, name: &str) -> Option<String> {
    element.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name)).map(|a| a.value.clone())
}
