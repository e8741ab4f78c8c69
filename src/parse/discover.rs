//! Feed discovery: the feeds an HTML page advertises with `<link rel="alternate">`.

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
pub(super) fn tag_attributes(inside: &str) -> Vec<(String, String)> {
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
