//! OPML 2.0 listing every section's RSS feed, so a reader subscribes to all of them in one import.

use chrono::{DateTime, Utc};
use html_escape::encode_double_quoted_attribute as attr;

use crate::config::Config;

/// Renders the OPML subscription list.
pub(super) fn render(config: &Config, at: DateTime<Utc>) -> Vec<u8> {
    let base = &config.server.base_url;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n<head>\n",
    );
    out.push_str(&format!(
        "<title>wiredesk sections</title>\n<dateCreated>{}</dateCreated>\n</head>\n<body>\n",
        at.to_rfc2822()
    ));
    for s in &config.sections {
        out.push_str(&format!(
            "<outline type=\"rss\" text=\"{t}\" title=\"{t}\" xmlUrl=\"{base}/feeds/{id}.rss\" htmlUrl=\"{base}/\"/>\n",
            t = attr(&super::plain(&s.title)),
            base = attr(base),
            id = attr(&s.id),
        ));
    }
    out.push_str("</body>\n</opml>\n");
    out.into_bytes()
}
