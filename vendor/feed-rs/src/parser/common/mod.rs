use crate::model::{Entry, Episode, Link, LinkTarget, Person, Season, Text};
use crate::parser::{ParseFeedResult, Parser};
use crate::xml::{Element, NS};
use chrono::{DateTime, Utc};
use std::io::BufRead;

/// Handles <content:encoded>
pub(crate) fn handle_encoded<R: BufRead>(element: Element<R>) -> ParseFeedResult<Option<Text>> {
    Ok(element.child_as_text().map(Text::html))
}

// Handles episode elements in the Podcast or iTunes namespace
pub fn handle_episode<R: BufRead>(element: Element<R>) -> Option<Episode> {
    element.child_as_text().and_then(|n| n.parse().ok()).map(|number| Episode {
        display: element.attr_value("display"),
        number,
    })
}

// Handles <link>
pub(crate) fn handle_link<R: BufRead>(target: Option<LinkTarget>, element: Element<R>) -> Option<Link> {
    element.child_as_text().map(|s| {
        let mut link = Link::new(s, element.xml_base.as_ref());
        link.target = target;
        link
    })
}

// Handles season elements in the Podcast or iTunes namespace
pub fn handle_season<R: BufRead>(element: Element<R>) -> Option<Season> {
    element.child_as_text().and_then(|n| n.parse().ok()).map(|number| Season {
        name: element.attr_value("name"),
        number,
    })
}

// Handles <title>, <description> etc
pub(crate) fn handle_text<R: BufRead>(element: Element<R>) -> Option<Text> {
    element.child_as_text().map(Text::new)
}

/// Handles date/time
pub(crate) fn handle_timestamp<R: BufRead>(parser: &Parser, element: Element<R>) -> Option<DateTime<Utc>> {
    if let Some(text) = element.child_as_text() {
        parser.parse_timestamp(&text)
    } else {
        None
    }
}

/// wiredesk: the extension elements feedparser reads on an item or entry of any format. Returns whether the
/// element was one of them (and consumed).
///
/// Precedence, so that the format's own elements always win and the first of several alternatives counts:
/// - title: the format's own, then `dc:title`, then `media:title`;
/// - summary: the format's own, then `dc:description`, then `itunes:summary`, then `media:description`;
/// - authors: the format's own and `dc:creator` (and the non-standard `dc:author`) in document order, then
///   `itunes:author` when there is no other;
/// - dates: `dcterms:issued` (else `dcterms:created`) is the publication date when the format gave none,
///   `dcterms:modified` the update date.
pub(crate) fn handle_extension<R: BufRead>(parser: &Parser, element: &Element<R>, entry: &mut Entry) -> ParseFeedResult<bool> {
    let text = || element.child_as_text().map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    match element.ns_and_tag() {
        (NS::DublinCore, "title") | (NS::MediaRSS, "title") => {
            if entry.title.is_none() {
                entry.title = text().map(Text::new);
            }
        }
        (NS::DublinCore, "description") | (NS::Itunes, "summary") | (NS::MediaRSS, "description") => {
            if entry.summary.is_none() {
                let html = element.ns_and_tag().0 == NS::MediaRSS && element.attr_value("type").as_deref() == Some("html");
                entry.summary = text().map(|t| if html { Text::html(t) } else { Text::new(t) });
            }
        }
        (NS::DublinCore, "creator") | (NS::DublinCore, "author") => {
            if let Some(name) = text() {
                entry.authors.push(Person::parse(&name).role("creator"));
            }
        }
        (NS::Itunes, "author") => {
            if let Some(name) = text() {
                if entry.authors.is_empty() {
                    entry.authors.push(Person::parse(&name).role("author"));
                }
            }
            // iTunes handlers may want it too; it is only a byline here
            return Ok(false);
        }
        (NS::DCTerms, "issued") | (NS::DCTerms, "created") => {
            if entry.published.is_none() {
                entry.published = text().and_then(|t| parser.parse_timestamp(&t));
            }
        }
        (NS::DCTerms, "modified") => {
            if entry.updated.is_none() {
                entry.updated = text().and_then(|t| parser.parse_timestamp(&t));
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}
