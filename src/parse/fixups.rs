//! Repairs applied to the decoded text before feed-rs reads it: the XML declaration loses its now-wrong
//! `encoding`, and RSS `skipHours`/`skipDays` are read (feed-rs drops them). Everything else feed-rs could
//! not read is fixed in the vendored feed-rs itself (`vendor/feed-rs/VENDORED.md`), not in the bytes.

use std::borrow::Cow;

use crate::schedule::SkipHints;

/// Rewrites the XML declaration without its `encoding`, since the text is UTF-8 now whatever it declared.
/// Every `<?xml …?>` loses it, not only a leading one: quick-xml panics when a declaration naming an
/// encoding comes after other text (a fuzzer found it; `tests/fuzz_regressions.rs`).
pub(super) fn neutralise_xml_declaration(text: &str) -> Cow<'_, str> {
    let declares = |decl: &str| decl.contains("encoding");
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(at) = text[from..].find("<?xml").map(|i| from + i) {
        let Some(end) = text[at..].find("?>").map(|i| at + i + 2) else {
            break;
        };
        if declares(&text[at..end]) {
            out.push_str(&text[copied..at]);
            out.push_str("<?xml version=\"1.0\"?>");
            copied = end;
        }
        from = end;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Reads `<skipHours><hour>N</hour>…` and `<skipDays><day>Monday</day>…` from an RSS channel.
pub(super) fn skip_hints(text: &str) -> SkipHints {
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

/// Byte offset of the root element's `<`, skipping the prolog, comments, doctype and processing instructions.
pub(super) fn find_root_start(text: &str) -> Option<usize> {
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
