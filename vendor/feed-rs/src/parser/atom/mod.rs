use std::io::BufRead;

use mediatype::{MediaTypeBuf, names};

use crate::model::LinkTarget::CommentsFeed;
use crate::model::{Category, Content, Entry, Feed, FeedType, Generator, Image, Link, Person, Text};
use crate::parser::util;
use crate::parser::util::if_some_then;
use crate::parser::ParseFeedResult;
use crate::parser::{Parser, common};
use crate::xml::{Element, NS};


/// Parses an Atom feed into our model
pub(crate) fn parse_feed<R: BufRead>(parser: &Parser, root: Element<R>) -> ParseFeedResult<Feed> {
    let mut feed = Feed::new(FeedType::Atom);

    // Extract top-level info
    feed.language = handle_language_attr(&root);

    for child in root.children() {
        let child = child?;
        match child.ns_and_tag() {
            (NS::Atom, "id") => if_some_then(child.child_as_text(), |id| feed.id = id),

            (NS::Atom, "title") => feed.title = handle_text(child)?,

            // wiredesk: Atom 0.3 calls it <modified>
            (NS::Atom, "updated") | (NS::Atom, "modified") => if_some_then(child.child_as_text(), |text| feed.updated = parser.parse_timestamp(&text)),

            (NS::Atom, "author") => if_some_then(handle_person("author", child)?, |person| feed.authors.push(person)),

            (NS::Atom, "link") => if_some_then(handle_link(child), |link| feed.links.push(link)),

            (NS::Atom, "category") => if_some_then(handle_category(child), |category| feed.categories.push(category)),

            (NS::Atom, "contributor") => if_some_then(handle_person("contributor", child)?, |person| feed.contributors.push(person)),

            (NS::Atom, "generator") => feed.generator = handle_generator(child),

            (NS::Atom, "icon") => feed.icon = handle_image(child),

            (NS::Atom, "logo") => feed.logo = handle_image(child),

            // wiredesk: Atom 0.3 <copyright> and <tagline>
            (NS::Atom, "rights") | (NS::Atom, "copyright") => feed.rights = handle_text(child)?,

            (NS::Atom, "subtitle") | (NS::Atom, "tagline") => feed.description = handle_text(child)?,

            (NS::Atom, "entry") => if_some_then(handle_entry(parser, child)?, |entry| feed.entries.push(entry)),

            // Nothing required for unknown elements
            _ => {}
        }
    }

    Ok(feed)
}

/// Parses an Atom entry into our model
///
/// Note that the entry is wrapped in an empty Feed to keep the API consistent
pub(crate) fn parse_entry<R: BufRead>(parser: &Parser, root: Element<R>) -> ParseFeedResult<Feed> {
    let mut feed = Feed::new(FeedType::Atom);

    if_some_then(handle_entry(parser, root)?, |entry| feed.entries.push(entry));

    Ok(feed)
}

// Handles "xml:base" as an attribute (e.g. in Atom feeds)
fn handle_base_attr<R: BufRead>(element: &Element<R>) -> Option<String> {
    element.attr_value("xml:base")
}

// Handles an Atom <category>
fn handle_category<R: BufRead>(element: Element<R>) -> Option<Category> {
    // Always need a term
    if let Some(term) = element.attr_value("term") {
        let mut category = Category::new(&term);

        for attr in element.attributes {
            match attr.name.as_str() {
                "scheme" => category.scheme = Some(attr.value.clone()),
                "label" => category.label = Some(attr.value.clone()),

                // Nothing required for unknown attributes
                _ => {}
            }
        }

        Some(category)
    } else {
        // A missing category isn't fatal
        None
    }
}

// Handles an Atom <content> element
//
// wiredesk: per RFC 4287 section 4.1.3, with Atom 0.3's `mode` attribute: text, html and xhtml are text
// constructs, `+xml` and `/xml` types are inline XML, other `text/` types are escaped text, and any other
// type is base64. A type that does not parse, or a body that cannot be decoded, yields no content instead of
// an error for the whole feed.
fn handle_content<R: BufRead>(element: Element<R>) -> ParseFeedResult<Option<Content>> {
    let content_type = element.attr_value("type");

    if let Some(src) = element.attr_value("src") {
        let mime = content_type
            .as_deref()
            .and_then(|ct| ct.parse::<MediaTypeBuf>().ok())
            .unwrap_or_else(|| MediaTypeBuf::new(names::TEXT, names::HTML));
        return Ok(Some(Content {
            body: None,
            content_type: mime,
            src: Some(Link {
                href: src,
                target: None,
                rel: None,
                media_type: content_type,
                href_lang: None,
                title: None,
                length: None,
            }),
            ..Default::default()
        }));
    }

    Ok(handle_text(element)?.map(|text| Content {
        body: Some(text.content),
        content_type: text.content_type,
        ..Default::default()
    }))
}

// Handles an Atom <entry>
fn handle_entry<R: BufRead>(parser: &Parser, element: Element<R>) -> ParseFeedResult<Option<Entry>> {
    // Note we have started a new MediaRSS entry scope
    parser.mediarss.entry_begin();

    // Parse the entry
    let mut entry = Entry::default();
    for child in element.children() {
        let child = child?;
        match child.ns_and_tag() {
            // Extract the fields from the spec
            (NS::Atom, "id") => if_some_then(child.child_as_text(), |id| entry.id = id),

            (NS::Atom, "title") => entry.title = handle_text(child)?,

            // wiredesk: Atom 0.3 calls it <modified>
            (NS::Atom, "updated") | (NS::Atom, "modified") => if_some_then(child.child_as_text(), |text| entry.updated = parser.parse_timestamp(&text)),

            (NS::Atom, "author") => if_some_then(handle_person("author", child)?, |person| entry.authors.push(person)),

            // wiredesk: the first usable content element wins, and content this parser cannot read is skipped
            // rather than failing the feed
            (NS::Atom, "content") if entry.content.is_none() => {
                let base = handle_base_attr(&child);
                let language = handle_language_attr(&child);
                if let Some(content) = handle_content(child)? {
                    entry.base = base;
                    entry.language = language;
                    entry.content = Some(content);
                }
            }

            (NS::Atom, "link") => if_some_then(handle_link(child), |link| entry.links.push(link)),

            (NS::Atom, "summary") if entry.summary.is_none() => entry.summary = handle_text(child)?,

            (NS::Atom, "category") => if_some_then(handle_category(child), |category| entry.categories.push(category)),

            (NS::Atom, "contributor") => if_some_then(handle_person("contributor", child)?, |person| entry.contributors.push(person)),

            // Some feeds have "pubDate" instead of "published"
            // wiredesk: Atom 0.3 <issued>; its <created> counts when nothing says when the entry was issued
            (NS::Atom, "published") | (NS::Atom, "pubDate") | (NS::Atom, "issued") => {
                if_some_then(child.child_as_text(), |text| entry.published = parser.parse_timestamp(&text).or(entry.published))
            }

            (NS::Atom, "created") if entry.published.is_none() => if_some_then(child.child_as_text(), |text| entry.published = parser.parse_timestamp(&text)),

            (NS::Atom, "rights") => entry.rights = handle_text(child)?,

            // According to https://validator.w3.org/feed/docs/warning/CommentRSS.html we need to support both
            (NS::WellFormedWebComments, "commentRss") | (NS::WellFormedWebComments, "commentRSS") => {
                if_some_then(common::handle_link(Some(CommentsFeed), child), |link| entry.links.push(link))
            }

            // Handle MediaRSS elements
            // wiredesk: Dublin Core, iTunes and Media RSS titles, descriptions, bylines and dates
            (NS::DublinCore | NS::DCTerms | NS::Itunes | NS::MediaRSS, _) if common::handle_extension(parser, &child, &mut entry)? => {}

            (NS::MediaRSS, _) => parser.mediarss.handle_entry_mediarss_element(child)?,

            // Nothing required for unknown elements
            _ => {}
        }
    }

    // Handle completion of an entry, potentially emitting media objects if we've found them along the way
    parser.mediarss.entry_end(&mut entry);

    Ok(Some(entry))
}

// Handles an Atom <generator>
fn handle_generator<R: BufRead>(element: Element<R>) -> Option<Generator> {
    element.child_as_text().map(|content| {
        let mut generator = Generator::new(&content);

        for attr in element.attributes {
            match attr.name.as_str() {
                "uri" => generator.uri = Some(attr.value.clone()),
                "version" => generator.version = Some(attr.value.clone()),
                // Nothing required for unknown attributes
                _ => {}
            }
        }

        generator
    })
}

// Handles an Atom <icon> or <logo>
fn handle_image<R: BufRead>(element: Element<R>) -> Option<Image> {
    element
        .child_as_text()
        .map(|raw_uri| {
            util::parse_uri(&raw_uri, element.xml_base.as_ref())
                .map(|parsed| parsed.to_string())
                .unwrap_or(raw_uri)
        })
        .map(Image::new)
}

// Handles "xml:lang" as an attribute (e.g. in Atom feeds)
fn handle_language_attr<R: BufRead>(element: &Element<R>) -> Option<String> {
    element.attr_value("xml:lang")
}

// Handles an Atom <link>
pub(crate) fn handle_link<R: BufRead>(element: Element<R>) -> Option<Link> {
    // Always need an href
    element.attr_value("href").map(|href| {
        let mut link = Link::new(href, element.xml_base.as_ref());

        for attr in element.attributes {
            match attr.name.as_str() {
                "rel" => link.rel = Some(attr.value.clone()),
                "type" => link.media_type = Some(attr.value.clone()),
                "hreflang" => link.href_lang = Some(attr.value.clone()),
                "title" => link.title = Some(attr.value.clone()),
                "length" => link.length = attr.value.parse::<u64>().ok(),

                // Nothing required for unrecognised attributes
                _ => {}
            }
        }

        // Default "rel" to "alternate" if not set
        if link.rel.is_none() {
            link.rel = Some(String::from("alternate"));
        }

        link
    })
}

// Handles an Atom <author> or <contributor>
fn handle_person<R: BufRead>(role: &str, element: Element<R>) -> ParseFeedResult<Option<Person>> {
    let mut maybe_name = None;
    let mut maybe_uri = None;
    let mut maybe_email = None;
    for child in element.children() {
        let child = child?;
        let tag_name = child.name.as_str();
        let child_text = child.child_as_text();
        match (tag_name, child_text) {
            // Extract the fields from the spec
            ("name", Some(name)) => maybe_name = Some(name),
            // wiredesk: Atom 0.3 says <url>; some feeds say <homepage>
            ("uri", uri) | ("url", uri) | ("homepage", uri) => maybe_uri = uri.or(maybe_uri),
            ("email", email) => maybe_email = email,

            // Nothing required for unknown elements
            _ => {}
        }
    }

    // Need either a name or an email (wiredesk: or a URI, which alone still identifies the person)
    let person = if maybe_name.is_some() || maybe_email.is_some() || maybe_uri.is_some() {
        let mut person = Person::empty();
        person.name = maybe_name;
        person.email = maybe_email;
        person.role = Some(role.into());
        person.uri = maybe_uri;
        Some(person)
    } else {
        None
    };

    Ok(person)
}

// Directly handles an Atom <title>, <summary>, <rights> or <subtitle> element
//
// wiredesk: reads every text construct type of RFC 4287 and Atom 0.3 (see `handle_content`), so one unusual
// element never fails the feed: an empty element is an empty text, and an undecodable one is skipped.
pub(crate) fn handle_text<R: BufRead>(element: Element<R>) -> ParseFeedResult<Option<Text>> {
    let type_attr = element.attr_value("type").map(|t| t.trim().to_ascii_lowercase());
    let mode = element.attr_value("mode").map(|m| m.trim().to_ascii_lowercase());
    let kind = TextKind::of(type_attr.as_deref(), mode.as_deref());

    let text = match kind {
        TextKind::Plain | TextKind::Html | TextKind::Escaped(_) => element.child_as_text_sloppy()?.unwrap_or_default(),
        TextKind::Xhtml | TextKind::Xml(_) => element.children_as_xhtml()?.unwrap_or_default(),
        TextKind::Base64(_) => match decode_base64(&element.child_as_text().unwrap_or_default()) {
            Some(t) => t,
            None => return Ok(None),
        },
    };
    let mut out = Text::new(text);
    out.content_type = match kind {
        TextKind::Plain => MediaTypeBuf::new(names::TEXT, names::PLAIN),
        TextKind::Html => MediaTypeBuf::new(names::TEXT, names::HTML),
        TextKind::Xhtml => MediaTypeBuf::new(names::APPLICATION, names::XHTML),
        TextKind::Escaped(m) | TextKind::Xml(m) | TextKind::Base64(m) => m,
    };
    Ok(Some(out))
}

/// How a text construct's body is carried.
enum TextKind {
    Plain,
    Html,
    Xhtml,
    /// Escaped text of a `text/*` type other than plain and HTML.
    Escaped(MediaTypeBuf),
    /// Inline XML (`+xml`, `/xml`).
    Xml(MediaTypeBuf),
    /// Base64 of any other media type (and Atom 0.3 `mode="base64"`).
    Base64(MediaTypeBuf),
}

impl TextKind {
    fn of(type_attr: Option<&str>, mode: Option<&str>) -> TextKind {
        let mime = |t: &str| t.parse::<MediaTypeBuf>().ok();
        let base = match type_attr.unwrap_or("text") {
            "text" | "text/plain" => TextKind::Plain,
            "html" | "text/html" => TextKind::Html,
            "xhtml" | "application/xhtml+xml" => TextKind::Xhtml,
            t if t.ends_with("+xml") || t.ends_with("/xml") => match mime(t) {
                Some(m) => TextKind::Xml(m),
                None => TextKind::Plain,
            },
            t if t.starts_with("text/") => match mime(t) {
                Some(m) => TextKind::Escaped(m),
                None => TextKind::Plain,
            },
            t => match mime(t) {
                Some(m) => TextKind::Base64(m),
                // A type that is not a media type at all is most likely text with a typo in its type.
                None => TextKind::Plain,
            },
        };
        // Atom 0.3 says how the body is carried in `mode`, whatever its type.
        let html_or = |k: TextKind| match k {
            TextKind::Xhtml => TextKind::Html,
            k => k,
        };
        let as_media = |k: &TextKind| match k {
            TextKind::Plain => MediaTypeBuf::new(names::TEXT, names::PLAIN),
            TextKind::Html => MediaTypeBuf::new(names::TEXT, names::HTML),
            TextKind::Xhtml => MediaTypeBuf::new(names::APPLICATION, names::XHTML),
            TextKind::Escaped(m) | TextKind::Xml(m) | TextKind::Base64(m) => m.clone(),
        };
        match mode {
            Some("escaped") => match base {
                TextKind::Base64(m) | TextKind::Xml(m) => TextKind::Escaped(m),
                k => html_or(k),
            },
            Some("base64") => TextKind::Base64(as_media(&base)),
            Some("xml") => match base {
                TextKind::Plain | TextKind::Html | TextKind::Xhtml => TextKind::Xhtml,
                TextKind::Escaped(m) | TextKind::Xml(m) | TextKind::Base64(m) => TextKind::Xml(m),
            },
            _ => base,
        }
    }
}

/// Decodes base64 text (white space allowed, as feeds wrap it) to UTF-8; `None` when it is not base64.
fn decode_base64(text: &str) -> Option<String> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.trim_end_matches('=').as_bytes()))
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}
