//! Plain text from feed HTML: tags dropped, entities decoded, white space folded, and the boilerplate feeds
//! append ("The post … appeared first on …", "Read more", "Continue reading") removed.

/// Elements whose text is never content.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "head", "iframe", "object", "svg",
];

/// Converts an HTML fragment (or plain text) to one line of plain text.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut skipping: Option<String> = None;
    while let Some(lt) = rest.find('<') {
        if skipping.is_none() {
            out.push_str(&rest[..lt]);
        }
        let after = &rest[lt + 1..];
        // A `<` that does not open a tag (e.g. "a < b") is text.
        let opens_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
        if !opens_tag {
            if skipping.is_none() {
                out.push('<');
            }
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[..gt];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match &skipping {
            Some(open) if tag.starts_with('/') && *open == name => skipping = None,
            Some(_) => {}
            None if !tag.starts_with('/')
                && !tag.ends_with('/')
                && SKIPPED.contains(&name.as_str()) =>
            {
                skipping = Some(name)
            }
            None => out.push(' '),
        }
        rest = &after[gt + 1..];
    }
    if skipping.is_none() {
        out.push_str(rest);
    }
    let decoded = html_escape::decode_html_entities(&out);
    fold_whitespace(&decoded)
}

/// Collapses runs of white space (including no-break spaces) into one space and trims.
pub fn fold_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c == '\u{a0}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Removes trailing feed boilerplate from a plain-text summary.
pub fn strip_boilerplate(text: &str) -> String {
    let mut t = text.trim().to_string();
    // WordPress: "The post <title> appeared first on <site>."
    if let Some(at) = t.rfind("The post ")
        && t[at..].contains(" appeared first on ")
    {
        t.truncate(at);
    }
    loop {
        let before = t.len();
        let trimmed = t.trim_end();
        let lower = trimmed.to_lowercase();
        for tail in [
            "read more",
            "read more »",
            "read more...",
            "continue reading",
            "continue reading →",
            "[…]",
            "[...]",
            "(more…)",
            "(more...)",
        ] {
            if lower.ends_with(tail) {
                let cut = trimmed.len() - tail.len();
                // Only cut at a char boundary that also exists in the original (case folding can shift bytes).
                if trimmed.is_char_boundary(cut) {
                    t.truncate(cut);
                }
                break;
            }
        }
        t = t.trim_end().to_string();
        if t.len() == before {
            break;
        }
    }
    t
}

/// Shortens text to at most `max` characters at a word boundary, marking the cut with "…".
pub fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => &cut[..],
    };
    format!(
        "{}…",
        cut.trim_end_matches(|c: char| c.is_ascii_punctuation() || c == ' ')
    )
}

/// The text used for exact-content keys: lower case, quotes and dashes folded, punctuation dropped.
pub fn key_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    // Most text is ASCII; lower-casing it byte by byte skips the Unicode case tables.
    let lowered: std::borrow::Cow<str> = if text.is_ascii() {
        std::borrow::Cow::Owned(text.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Owned(text.chars().flat_map(char::to_lowercase).collect())
    };
    for c in lowered.chars() {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else if c != '\'' && c != '\u{2019}' && c != '\u{2018}' {
            space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_readable_text() {
        assert_eq!(
            html_to_text(
                "<p>One&nbsp;<b>two</b></p><p>three &amp; four</p><script>alert(1)</script>"
            ),
            "One two three & four"
        );
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(
            html_to_text("<img src=x.png/>Caption<br/>line"),
            "Caption line"
        );
        assert_eq!(html_to_text("<style>p{}</style>kept"), "kept");
    }

    #[test]
    fn boilerplate_tails_are_removed() {
        assert_eq!(
            strip_boilerplate(
                "Markets rallied. The post Markets rally appeared first on Daily Trend Hub."
            ),
            "Markets rallied."
        );
        assert_eq!(
            strip_boilerplate("Markets rallied. Read more"),
            "Markets rallied."
        );
        assert_eq!(strip_boilerplate("Markets rallied […]"), "Markets rallied");
        assert_eq!(strip_boilerplate("Nothing to strip"), "Nothing to strip");
    }

    #[test]
    fn key_text_ignores_case_quotes_and_punctuation() {
        assert_eq!(
            key_text("Ukraine\u{2019}s “ready” – to meet!"),
            key_text("ukraine's \"ready\" - to meet")
        );
        assert_ne!(key_text("ready to meet"), key_text("ready to greet"));
    }

    #[test]
    fn truncation_cuts_at_a_word() {
        assert_eq!(truncate_words("alpha beta gamma delta", 13), "alpha beta…");
        assert_eq!(truncate_words("short", 10), "short");
    }
}
