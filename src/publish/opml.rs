//! OPML 2.0 listing every section's RSS feed, so a reader subscribes to all of them in one import.

use chrono::{DateTime, Utc};
use html_escape::encode_double_quoted_attribute as attr;

use crate::config::Config;

/// Renders the OPML subscription list.
pub(super) fn render(config: &Config, at: DateTime<Utc>) -> Vec<u8> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n<head>\n",
    );
    out.push_str(&format!(
        "<title>wiredesk sections</title>\n<dateCreated>{}</dateCreated>\n</head>\n<body>\n",
        at.to_rfc2822()
    ));
    outlines(config, None, 0, &mut out);
    out.push_str("</body>\n</opml>\n");
    out.into_bytes()
}

/// The outlines of the sections under `parent`, each with its subsections nested inside it (a reader shows
/// them as folders; a parent's own feed already carries its subsections' stories).
fn outlines(config: &Config, parent: Option<&str>, depth: usize, out: &mut String) {
    let base = &config.server.base_url;
    for s in config.children_of(parent) {
        let indent = " ".repeat(depth * 2);
        let head = format!(
            "{indent}<outline type=\"rss\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{base}/feeds/{id}.rss\" htmlUrl=\"{base}/sections/{id}\"",
            t = attr(&super::plain(&s.title)),
            base = attr(base),
            id = attr(&s.id),
        );
        if config.children_of(Some(&s.id)).next().is_none() {
            out.push_str(&format!("{head}/>\n"));
        } else {
            out.push_str(&format!("{head}>\n"));
            outlines(config, Some(&s.id), depth + 1, out);
            out.push_str(&format!("{indent}</outline>\n"));
        }
    }
}
