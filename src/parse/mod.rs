//! Turns fetched bytes into feed entries with feed-rs (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed).
//!
//! feed-rs trusts the XML declaration's encoding alone. Real feeds lie about it, so this stage settles the
//! charset first (byte order mark, then the HTTP header, then valid UTF-8, then the declaration, then
//! windows-1252, as browsers do), hands feed-rs UTF-8, and reports which encoding it used.

use feed_rs::model::Feed;

use crate::schedule::SkipHints;

mod charset;
mod codepages;
mod discover;
mod fixups;

pub use charset::decode;
pub use discover::{DiscoveredFeed, discover_feeds};
use fixups::{find_root_start, neutralise_xml_declaration, skip_hints};

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
    // Dates are read as feedparser reads them (see normalize::date); the unreadable ones are counted.
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base_url)
        .timestamp_parser(|text| {
            crate::normalize::date::parse_date_counted(text).map(|d| d.with_timezone(&chrono::Utc))
        })
        .build();
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
    fn a_multibyte_character_after_encoding_equals_does_not_panic() {
        // Found by fuzzing (issue 16): the declaration's quote was sliced as one byte.
        for doc in [
            "<?xml version=\"1.0\" encoding=\u{e9}utf-8\u{e9}?><rss><channel><title>T</title></channel></rss>",
            "<?xml version=\"1.0\" encoding=\u{1F600}?><rss/>",
            "<?xml encoding=",
        ] {
            let mut bytes = doc.as_bytes().to_vec();
            bytes.push(0xFF); // not UTF-8, so the declaration is consulted
            let _ = parse_feed(&bytes, None, None);
        }
    }

    #[test]
    fn utf32_and_ebcdic_documents_are_read() {
        let doc = format!("<?xml version=\"1.0\" encoding=\"utf-32\"?>{RSS}");
        let be: Vec<u8> = doc.chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        let p = parse_feed(&be, None, None).unwrap();
        assert_eq!(p.encoding, "UTF-32BE");
        assert_eq!(
            p.feed.entries[0].title.as_ref().unwrap().content,
            "Caf\u{e9} \u{20ac}"
        );
        let mut le: Vec<u8> = vec![0xFF, 0xFE, 0, 0];
        le.extend(doc.chars().flat_map(|c| (c as u32).to_le_bytes()));
        assert_eq!(parse_feed(&le, None, None).unwrap().encoding, "UTF-32LE");

        let ebcdic = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/corpora/feedparser/tests/encoding/x80_cp037.xml"),
        );
        if let Ok(bytes) = ebcdic {
            let p = parse_feed(&bytes, None, None).unwrap();
            assert_eq!(p.encoding, "IBM037");
        }
    }

    #[test]
    fn python_and_ibm_charset_labels_are_understood() {
        let doc = b"<rss version=\"2.0\"><channel><title>\x80</title></channel></rss>";
        for (label, want) in [
            ("cp850", "\u{c7}"),
            ("ibm437", "\u{c7}"),
            ("windows_1251", "\u{402}"),
            ("macroman", "\u{c4}"),
        ] {
            let p = parse_feed(doc, Some(&format!("text/xml; charset={label}")), None).unwrap();
            assert_eq!(p.feed.title.unwrap().content, want, "{label}");
        }
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
