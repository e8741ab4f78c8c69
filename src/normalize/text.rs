//! Plain text from feed HTML: tags dropped, entities decoded, white space folded, and the boilerplate feeds
//! append ("The post … appeared first on …", "Read more", "Continue reading") removed.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts, states,
};

/// Elements whose text is never content.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "noembed", "noframes",
];

/// Elements that break a line: their edges become a space, so "<p>a</p><p>b</p>" reads "a b" while
/// "sa<b>fe</b>" stays one word.
const BREAKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// Collects the text of an HTML fragment as the tokenizer reads it.
#[derive(Default)]
struct TextSink {
    out: RefCell<String>,
    skipping: RefCell<Option<String>>,
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(t) if self.skipping.borrow().is_none() => {
                self.out.borrow_mut().push_str(&t);
            }
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                let mut skipping = self.skipping.borrow_mut();
                match tag.kind {
                    TagKind::EndTag if skipping.as_deref() == Some(name) => *skipping = None,
                    _ if skipping.is_some() => {}
                    TagKind::StartTag if SKIPPED.contains(&name) && !tag.self_closing => {
                        *skipping = Some(name.to_string());
                        // Script and style bodies are raw text, as in a browser, so "<" inside them is no tag.
                        return TokenSinkResult::RawData(if name == "script" {
                            states::RawKind::ScriptData
                        } else {
                            states::RawKind::Rawtext
                        });
                    }
                    _ if BREAKS.contains(&name) => self.out.borrow_mut().push(' '),
                    _ => {}
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// The text an HTML tokenizer reads from `html`: tags and comments dropped, character references decoded.
fn tokenize_text(html: &str) -> String {
    let sink = TextSink::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    tokenizer.sink.out.into_inner()
}

/// Whether plain text still holds what reads as markup (a tag or a comment), i.e. it was entity-escaped.
fn looks_like_markup(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// Converts an HTML fragment (or plain text) to one line of plain text.
///
/// The fragment is read by html5ever's tokenizer, as a browser reads it. Markup that was entity-escaped
/// (`&lt;script&gt;` in an HTML description) is decoded once by that and then stripped as markup too, so no
/// tag reaches a plain-text field; a lone `<` or `a < b` is text and stays. Windows-1252 control characters
/// (U+0080 to U+009F, which feeds mean as curly quotes and dashes) become the characters windows-1252 maps
/// them to.
pub fn html_to_text(html: &str) -> String {
    let html = super::bounds::capped(html);
    if !html.contains(['<', '&']) {
        return plain_text(html);
    }
    let mut text = tokenize_text(html);
    if looks_like_markup(&text) {
        text = tokenize_text(&text);
    }
    plain_text(&text)
}

/// Text that is already plain (Atom `type="text"`): control characters mapped, white space folded.
pub fn plain_text(text: &str) -> String {
    fold_whitespace(&map_c1_controls(text))
}

/// Maps C1 control characters through windows-1252, the way feedparser and browsers read them.
fn map_c1_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if ('\u{80}'..='\u{9f}').contains(&c) {
                let byte = [c as u32 as u8];
                let (mapped, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
                mapped
                    .chars()
                    .next()
                    .filter(|m| !m.is_control())
                    .unwrap_or(' ')
            } else {
                c
            }
        })
        .collect::<String>()
        .into()
}

/// Collapses runs of white space (including no-break spaces) and control characters into one space and trims.
pub fn fold_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // Control characters (NUL, U+0001, ...) separate words like spaces do: they are never text, XML 1.0
    // cannot carry most of them, and a reader that shows them shows garbage.
    for word in s.split(|c: char| c.is_whitespace() || c == '\u{a0}' || c.is_control()) {
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
    fn a_real_tokenizer_reads_attributes_comments_and_escaped_markup() {
        // A `>` inside an attribute value is not the end of the tag.
        assert_eq!(html_to_text(r#"<img alt="a > b" src="x">cat"#), "cat");
        assert_eq!(
            html_to_text("<!-- --> --> Did it <b>run</b>?"),
            "--> Did it run?"
        );
        assert_eq!(
            html_to_text("<p>one</p><p>two</p>sa<b>fe</b>"),
            "one two safe"
        );
        // Entity-escaped markup is decoded once, then stripped: nothing executable is left as text.
        assert_eq!(
            html_to_text("&lt;script&gt;alert(1)&lt;/script&gt;News"),
            "News"
        );
        assert_eq!(html_to_text("&#x3C;b&#x3E;bold&#x3C;/b&#x3E;"), "bold");
        assert_eq!(html_to_text("5 &lt; 6 &amp; a < b"), "5 < 6 & a < b");
        // Windows-1252 controls mean what windows-1252 says.
        assert_eq!(html_to_text("don&#146;t"), "don\u{2019}t");
        assert_eq!(plain_text("don\u{92}t"), "don\u{2019}t");
        assert_eq!(
            plain_text("History of the <blink> tag"),
            "History of the <blink> tag"
        );
    }

    #[test]
    fn no_input_makes_the_text_extractor_panic() {
        for s in [
            "<",
            "&",
            "<!--",
            "<a href='",
            "&#xFFFFFFFF;",
            "\u{0}<\u{0}>",
            "<script>",
            "</",
            "<![CDATA[x",
        ] {
            let _ = html_to_text(s);
        }
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
