//! Turns fetched bytes into feed entries with feed-rs (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed).
//!
//! feed-rs trusts the XML declaration's encoding alone. Real feeds lie about it, so this stage settles the
//! charset first (byte order mark, then the HTTP header, then valid UTF-8, then the declaration, then
//! windows-1252, as browsers do), hands feed-rs UTF-8, and reports which encoding it used.

use std::borrow::Cow;

use encoding_rs::Encoding;
use feed_rs::model::Feed;

use crate::schedule::SkipHints;

/// A parsed feed and how its bytes were read.
pub struct ParsedFeed {
    /// The feed-rs model.
    pub feed: Feed,
    /// The character encoding that was used, e.g. `UTF-8` or `windows-1252`.
    pub encoding: &'static str,
    /// RSS `skipHours`/`skipDays`, which feed-rs does not keep.
    pub skip: SkipHints,
}

/// Why a document could not be read as a feed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses a feed. `content_type` is the HTTP header, if any; `base_url` resolves relative links.
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    base_url: Option<&str>,
) -> Result<ParsedFeed, ParseError> {
    let (text, encoding) = decode(bytes, content_type)?;
    let text = neutralise_xml_declaration(&text);
    let text = normalise_rss_version(&text);
    let parser = feed_rs::parser::Builder::new().base_uri(base_url).build();
    let feed = parser
        .parse(text.as_bytes())
        .map_err(|e| ParseError(describe(&e, &text)))?;
    let skip = skip_hints(&text);
    Ok(ParsedFeed {
        feed,
        encoding,
        skip,
    })
}

fn describe(e: &feed_rs::parser::ParseFeedError, text: &str) -> String {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return "the document is empty".into();
    }
    let lower: String = trimmed
        .chars()
        .take(200)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return "this is an HTML page, not a feed (try `wiredesk inspect` on it to find its feed links)".into();
    }
    if matches!(
        e,
        feed_rs::parser::ParseFeedError::ParseError(feed_rs::parser::ParseErrorKind::NoFeedRoot)
    ) {
        let root: String = find_root_start(text)
            .map(|i| {
                text[i + 1..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == ':' || *c == '-')
                    .collect()
            })
            .unwrap_or_default();
        return match root.as_str() {
            "" => "no XML root element and no JSON object: not a feed".into(),
            "rss" if !text.contains("<channel") => {
                "an <rss> document without a <channel>: no feed in it".into()
            }
            r => format!(
                "the root element <{r}> is not a feed (expected <rss>, <rdf:RDF> or <feed>)"
            ),
        };
    }
    format!("not a readable feed: {e}")
}

/// Decodes to UTF-8 and names the encoding used.
pub fn decode<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
) -> Result<(Cow<'a, str>, &'static str), ParseError> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Ok((text, enc.name()));
    }
    if let Some(enc) = utf32_without_bom(bytes) {
        return Err(ParseError(format!(
            "the document is {enc}, which is not supported; serve it as UTF-8"
        )));
    }
    let from_header = content_type
        .and_then(charset_param)
        .and_then(|c| Encoding::for_label(c.as_bytes()));
    // UTF-16 without a BOM still starts with `<` next to a zero byte.
    let sniffed_utf16 = match bytes {
        [b'<', 0, b'?', 0, ..] => Some(encoding_rs::UTF_16LE),
        [0, b'<', 0, b'?', ..] => Some(encoding_rs::UTF_16BE),
        _ => None,
    };
    let chosen = if let Some(enc) = sniffed_utf16 {
        enc
    } else if let Some(enc) =
        from_header.filter(|e| *e != encoding_rs::UTF_8 || std::str::from_utf8(bytes).is_ok())
    {
        enc
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((Cow::Borrowed(text), "UTF-8"));
    } else {
        declared_encoding(bytes)
            .and_then(|label| Encoding::for_label(label.as_bytes()))
            .filter(|e| *e != encoding_rs::UTF_8)
            .unwrap_or(encoding_rs::WINDOWS_1252)
    };
    let (text, _, _) = chosen.decode(bytes);
    Ok((text, chosen.name()))
}

fn utf32_without_bom(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0, 0, 0, b'<', ..] | [0, 0, 0xFE, 0xFF, ..] => Some("UTF-32BE"),
        [b'<', 0, 0, 0, ..] | [0xFF, 0xFE, 0, 0, ..] => Some("UTF-32LE"),
        _ => None,
    }
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

/// The `encoding` named in an XML declaration, read as ASCII.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(200)];
    let head = String::from_utf8_lossy(head);
    let decl = head.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next()?;
    let rest = &rest[1..];
    Some(rest[..rest.find(quote)?].to_string())
}

/// Rewrites the XML declaration without its `encoding`, since the text is UTF-8 now whatever it declared.
fn neutralise_xml_declaration(text: &str) -> Cow<'_, str> {
    let start = text.len() - text.trim_start().len();
    let body = &text[start..];
    if !body.starts_with("<?xml") {
        return Cow::Borrowed(text);
    }
    match body.find("?>") {
        Some(end) if body[..end].contains("encoding") => {
            Cow::Owned(format!("<?xml version=\"1.0\"?>{}", &body[end + 2..]))
        }
        _ => Cow::Borrowed(text),
    }
}

/// Reads `<skipHours><hour>N</hour>…` and `<skipDays><day>Monday</day>…` from an RSS channel.
fn skip_hints(text: &str) -> SkipHints {
    fn section<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
        let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(&text[start..end])
    }
    fn values<'a>(block: &'a str, tag: &str) -> Vec<&'a str> {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        block
            .split(open.as_str())
            .skip(1)
            .filter_map(|v| v.split(close.as_str()).next().map(str::trim))
            .collect()
    }
    let mut hints = SkipHints::default();
    if let Some(block) = section(text, "skipHours") {
        for h in values(block, "hour")
            .into_iter()
            .filter_map(|v| v.parse::<u32>().ok())
        {
            // RSS 2.0 says 0-23; some feeds write 24 for midnight.
            hints.hours |= 1 << (h % 24);
        }
    }
    if let Some(block) = section(text, "skipDays") {
        const DAYS: [&str; 7] = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        for d in values(block, "day") {
            if let Some(i) = DAYS.iter().position(|n| n.eq_ignore_ascii_case(d)) {
                hints.days |= 1 << i;
            }
        }
    }
    hints
}

/// A feed an HTML page advertises with `<link rel="alternate" type="application/rss+xml" ...>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredFeed {
    /// The link's title attribute, if any.
    pub title: Option<String>,
    /// The absolute feed URL.
    pub url: String,
    /// The advertised media type.
    pub media_type: String,
}

/// Finds the feeds an HTML page links to, resolved against `base`.
pub fn discover_feeds(html: &str, base: Option<&url::Url>) -> Vec<DiscoveredFeed> {
    const FEED_TYPES: &[&str] = &[
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "text/xml",
    ];
    let mut found = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<link").map(|i| i + at) {
        let Some(end) = lower[start..].find('>').map(|i| i + start) else {
            break;
        };
        let attrs = tag_attributes(&html[start + 5..end]);
        at = end;
        let get = |name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let rel_ok = get("rel").is_some_and(|r| {
            r.split_whitespace()
                .any(|t| t.eq_ignore_ascii_case("alternate"))
        });
        let media_type = get("type").unwrap_or_default().to_ascii_lowercase();
        if !rel_ok || !FEED_TYPES.contains(&media_type.as_str()) {
            continue;
        }
        let Some(href) = get("href") else { continue };
        let url = match base {
            Some(b) => b.join(&href).map(|u| u.to_string()).unwrap_or(href),
            None => href,
        };
        if !found.iter().any(|f: &DiscoveredFeed| f.url == url) {
            found.push(DiscoveredFeed {
                title: get("title").map(|t| html_escape::decode_html_entities(&t).into_owned()),
                url,
                media_type,
            });
        }
    }
    found
}

/// Attribute name/value pairs of one tag's inside, names lower-cased.
fn tag_attributes(inside: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = inside.trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace() || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let close = inner.find(q).unwrap_or(inner.len());
                    (&inner[..close], inner.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let close = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..close], &after[close..])
                }
            };
            out.push((name, value.to_string()));
            rest = remaining.trim_start();
        } else {
            if !name.is_empty() {
                out.push((name, String::new()));
            }
            rest = rest.trim_start_matches('/').trim_start();
            if name_end == 0 && !rest.is_empty() {
                rest = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
            }
        }
    }
    out
}

/// feed-rs recognises `<rss>` only with version 2.0, 0.91 or 0.92. Real feeds omit the attribute or write
/// 0.93, 0.94 or 2.0.1; all of those are RSS 2.0 in practice, so the root is rewritten to say so.
fn normalise_rss_version(text: &str) -> Cow<'_, str> {
    let Some(start) = find_root_start(text) else {
        return Cow::Borrowed(text);
    };
    let rest = &text[start..];
    let is_rss = rest.starts_with("<rss")
        && rest[4..].starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/');
    if !is_rss {
        return Cow::Borrowed(text);
    }
    let Some(end) = rest.find('>') else {
        return Cow::Borrowed(text);
    };
    let tag = &rest[..end];
    let version = tag_attributes(&tag[4..])
        .into_iter()
        .find(|(k, _)| k == "version")
        .map(|(_, v)| v);
    match version.as_deref() {
        Some("2.0" | "0.91" | "0.92") => Cow::Borrowed(text),
        Some(_) => {
            let attrs: Vec<(String, String)> = tag_attributes(&tag[4..]);
            let mut new_tag = String::from("<rss version=\"2.0\"");
            for (k, v) in attrs.into_iter().filter(|(k, _)| k != "version") {
                new_tag.push_str(&format!(" {k}=\"{}\"", v.replace('"', "&quot;")));
            }
            Cow::Owned(format!(
                "{}{}{}",
                &text[..start],
                new_tag.trim_end_matches('/'),
                &rest[end..]
            ))
        }
        None => Cow::Owned(format!(
            "{}<rss version=\"2.0\"{}",
            &text[..start],
            &rest[4..]
        )),
    }
}

/// Byte offset of the root element's `<`, skipping the prolog, comments, doctype and processing instructions.
fn find_root_start(text: &str) -> Option<usize> {
    let mut at = 0;
    loop {
        let i = text[at..].find('<')? + at;
        let rest = &text[i..];
        if rest.starts_with("<?") {
            at = i + rest.find("?>")? + 2;
        } else if rest.starts_with("<!--") {
            at = i + rest.find("-->")? + 3;
        } else if rest.starts_with("<!") {
            at = i + rest.find('>')? + 1;
        } else {
            return Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = "<rss version=\"2.0\"><channel><title>T</title><item><title>Caf\u{e9} \u{20ac}</title><link>/a</link></item></channel></rss>";

    #[test]
    fn utf8_bytes_win_over_a_wrong_declaration() {
        let doc = format!("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{RSS}");
        let p = parse_feed(doc.as_bytes(), None, Some("https://x.example/feed")).unwrap();
        assert_eq!(p.encoding, "UTF-8");
        assert_eq!(
            p.feed.entries[0].title.as_ref().unwrap().content,
            "Caf\u{e9} \u{20ac}"
        );
        assert_eq!(p.feed.entries[0].links[0].href, "https://x.example/a");
    }

    #[test]
    fn a_latin1_declaration_is_used_when_the_bytes_are_not_utf8() {
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>T</title><item><title>Caf\xe9</title></item></channel></rss>";
        let p = parse_feed(doc, None, None).unwrap();
        assert_eq!(p.encoding, "windows-1252");
        assert_eq!(
            p.feed.entries[0].title.as_ref().unwrap().content,
            "Caf\u{e9}"
        );
    }

    #[test]
    fn the_http_charset_wins_and_utf16_with_a_bom_is_read() {
        let doc = b"<rss version=\"2.0\"><channel><title>T</title><item><title>\xe9t\xe9</title></item></channel></rss>";
        let p = parse_feed(doc, Some("text/xml; charset=\"iso-8859-1\""), None).unwrap();
        assert_eq!(
            p.feed.entries[0].title.as_ref().unwrap().content,
            "\u{e9}t\u{e9}"
        );

        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                format!("<?xml version=\"1.0\" encoding=\"utf-16\"?>{RSS}")
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        let p = parse_feed(&utf16, None, None).unwrap();
        assert_eq!(p.encoding, "UTF-16LE");
        assert_eq!(
            p.feed.entries[0].title.as_ref().unwrap().content,
            "Caf\u{e9} \u{20ac}"
        );
    }

    #[test]
    fn skip_hours_and_days_are_read() {
        let doc = "<rss version=\"2.0\"><channel><title>T</title><skipHours><hour>0</hour><hour> 23 </hour><hour>24</hour></skipHours>\
                   <skipDays><day>Saturday</day><day>sunday</day><day>Funday</day></skipDays></channel></rss>";
        let p = parse_feed(doc.as_bytes(), None, None).unwrap();
        assert_eq!(
            p.skip,
            SkipHints {
                hours: 1 | (1 << 23),
                days: 0b110_0000
            }
        );
    }

    #[test]
    fn feeds_advertised_by_a_page_are_discovered() {
        let base = url::Url::parse("https://site.example/news/").unwrap();
        let html = r#"<html><head><LINK rel="alternate" type="application/rss+xml" title="All &amp; more" href="/rss.xml">
            <link rel=alternate type=application/atom+xml href=atom.xml />
            <link rel="stylesheet" type="text/css" href="s.css"><link rel="alternate" hreflang="fr" href="/fr/"></head></html>"#;
        let found = discover_feeds(html, Some(&base));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].url, "https://site.example/rss.xml");
        assert_eq!(found[0].title.as_deref(), Some("All & more"));
        assert_eq!(found[1].url, "https://site.example/news/atom.xml");
        assert_eq!(found[1].media_type, "application/atom+xml");
    }

    #[test]
    fn rss_roots_without_a_known_version_are_read_as_rss_2() {
        for root in [
            "<rss>",
            "<rss version=\"0.94\">",
            "<rss version='2.0.1' xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\">",
        ] {
            let doc = format!(
                "<?xml version=\"1.0\"?><!-- c --><!DOCTYPE rss>{root}<channel><title>T</title><item><title>A</title></item></channel></rss>"
            );
            let p =
                parse_feed(doc.as_bytes(), None, None).unwrap_or_else(|e| panic!("{root}: {e}"));
            assert_eq!(p.feed.entries.len(), 1, "{root}");
        }
    }

    #[test]
    fn html_and_garbage_get_clear_errors() {
        let e = parse_feed(b"<!DOCTYPE html><html><head></head></html>", None, None)
            .err()
            .unwrap();
        assert!(e.0.contains("HTML page"), "{e}");
        let e = parse_feed(b"", None, None).err().unwrap();
        assert_eq!(e.0, "the document is empty");
    }
}
