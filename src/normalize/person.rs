//! Bylines: an author as name, e-mail and URI, from Atom persons and from the free-text forms RSS and Dublin
//! Core use (`email (Name)`, `Name <email>`, `Name`, `mailto:` links), with names made plain text.

use super::Byline;
use super::text::html_to_text;

/// Reads one feed-rs person. feed-rs already splits some RSS strings, and leaves the name in brackets
/// (`(Editorial Board)`) when it does, so both halves are read again here.
pub fn byline(
    name: Option<&str>,
    email: Option<&str>,
    uri: Option<&str>,
    base: Option<&url::Url>,
) -> Option<Byline> {
    let mut out = match (name.map(str::trim).filter(|n| !n.is_empty()), email) {
        (Some(n), None) => parse(n),
        (n, e) => Byline {
            name: n.map(unbracket).map(plain).filter(|n| !n.is_empty()),
            email: e.map(clean_email).filter(|e| !e.is_empty()),
            uri: None,
        },
    };
    if out.email.is_none() && out.name.as_deref().is_some_and(looks_like_email) {
        out.email = out.name.take().map(|n| clean_email(&n));
    }
    out.uri = uri
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .and_then(|u| super::url::absolute(u, base))
        .map(String::from);
    (out.name.is_some() || out.email.is_some() || out.uri.is_some()).then_some(out)
}

/// Splits a free-text author string into name and e-mail.
pub fn parse(raw: &str) -> Byline {
    let raw = raw.trim();
    // `me@example.com (Example editor)`
    if let Some(open) = raw.find('(')
        && raw.ends_with(')')
        && looks_like_email(raw[..open].trim())
    {
        return Byline {
            name: Some(plain(&raw[open + 1..raw.len() - 1])).filter(|n| !n.is_empty()),
            email: Some(clean_email(&raw[..open])),
            uri: None,
        };
    }
    // `Example editor <me@example.com>` and `Example editor (me@example.com)`
    for (open, close) in [('<', '>'), ('(', ')'), ('[', ']')] {
        if let Some(at) = raw.rfind(open)
            && raw.ends_with(close)
            && looks_like_email(&raw[at + 1..raw.len() - 1])
        {
            return Byline {
                name: Some(plain(raw[..at].trim())).filter(|n| !n.is_empty()),
                email: Some(clean_email(&raw[at + 1..raw.len() - 1])),
                uri: None,
            };
        }
    }
    if looks_like_email(raw) {
        return Byline {
            name: None,
            email: Some(clean_email(raw)),
            uri: None,
        };
    }
    Byline {
        name: Some(plain(raw)).filter(|n| !n.is_empty()),
        email: None,
        uri: None,
    }
}

/// The byline as one display string: the name, else the address.
pub fn display(b: &Byline) -> Option<&str> {
    b.name.as_deref().or(b.email.as_deref())
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim().trim_start_matches("mailto:");
    match s.split_once('@') {
        Some((user, host)) => {
            !user.is_empty()
                && host.contains('.')
                && !s.contains(char::is_whitespace)
                && !host.starts_with('.')
                && !host.ends_with('.')
        }
        None => false,
    }
}

fn clean_email(s: &str) -> String {
    s.trim()
        .trim_start_matches("mailto:")
        .trim_matches(|c| matches!(c, '<' | '>' | '(' | ')' | '[' | ']'))
        .trim()
        .to_string()
}

fn unbracket(s: &str) -> &str {
    let s = s.trim();
    for (open, close) in [('(', ')'), ('<', '>'), ('[', ']')] {
        if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            return inner.trim();
        }
    }
    s
}

/// Names are plain text: markup is decoded once and dropped.
fn plain(s: &str) -> String {
    html_to_text(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(name: Option<&str>, email: Option<&str>) -> Byline {
        Byline {
            name: name.map(String::from),
            email: email.map(String::from),
            uri: None,
        }
    }

    #[test]
    fn the_usual_author_forms_are_split_into_name_and_email() {
        assert_eq!(
            parse("me@example.com (Example editor)"),
            b(Some("Example editor"), Some("me@example.com"))
        );
        assert_eq!(
            parse("Example editor <me@example.com>"),
            b(Some("Example editor"), Some("me@example.com"))
        );
        assert_eq!(
            parse("Example editor (mailto:me@example.com)"),
            b(Some("Example editor"), Some("me@example.com"))
        );
        assert_eq!(parse("me@example.com"), b(None, Some("me@example.com")));
        assert_eq!(parse("Jane Doe"), b(Some("Jane Doe"), None));
        assert_eq!(
            parse("Smith, J. (Staff)"),
            b(Some("Smith, J. (Staff)"), None)
        );
    }

    #[test]
    fn a_split_feed_rs_person_is_repaired_and_names_are_plain() {
        let got = byline(Some("(Editorial Board)"), Some("ed@x.example"), None, None).unwrap();
        assert_eq!(got, b(Some("Editorial Board"), Some("ed@x.example")));
        let got = byline(
            Some("<img src=x onerror=alert(1)>Mallory"),
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(got.name.as_deref(), Some("Mallory"));
        let base = url::Url::parse("https://x.example/feed").unwrap();
        let got = byline(Some("A"), None, Some("/people/a"), Some(&base)).unwrap();
        assert_eq!(got.uri.as_deref(), Some("https://x.example/people/a"));
        assert!(byline(Some("  "), None, None, None).is_none());
    }
}
