//! The small HTML index page: each section with its subscribe links.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::config::Config;

/// Renders `/`.
pub(super) fn render_index(config: &Config) -> Vec<u8> {
    let base = &config.server.base_url;
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wiredesk</title>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <link rel=\"alternate\" type=\"text/x-opml\" title=\"All sections\" href=\"/feeds.opml\">\n",
    );
    for s in &config.sections {
        out.push_str(&format!(
            "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"{}\" href=\"{}/feeds/{}.rss\">\n",
            attr(&s.title),
            attr(base),
            attr(&s.id)
        ));
    }
    out.push_str("<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}</style>\n");
    out.push_str(
        "</head><body><h1>wiredesk</h1><p>Subscribe to a section in your feed reader.</p><ul>\n",
    );
    for s in &config.sections {
        let id = attr(&s.id);
        out.push_str(&format!(
            "<li><strong>{}</strong>: <a href=\"/feeds/{id}.rss\">RSS</a> · <a href=\"/feeds/{id}.atom\">Atom</a> · \
             <a href=\"/feeds/{id}.json\">JSON Feed</a></li>\n",
            text(&s.title)
        ));
    }
    out.push_str("</ul><p><a href=\"/feeds.opml\">All sections (OPML)</a></p></body></html>\n");
    out.into_bytes()
}
