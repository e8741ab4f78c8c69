//! Body → charset decode → parse → normalise → dedup features, as a refresh runs them, plus the memory
//! budget's estimate and, for bodies that are not feeds, the discovery of the feeds an HTML page links to.
//! The first byte picks the Content-Type header the body came with.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wiredesk::dedup::similar::{FeatureExtractor, Params};

const CONTENT_TYPES: [Option<&str>; 7] = [
    None,
    Some("application/rss+xml"),
    Some("text/xml; charset=iso-8859-1"),
    Some("application/xml; charset=\"utf-16\""),
    Some("text/html; charset=utf-8"),
    Some("application/feed+json"),
    Some("application/atom+xml; charset=bogus"),
];

const BASE: &str = "https://feeds.example/news/feed.xml";

static FEATURES: OnceLock<FeatureExtractor> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[pick as usize % CONTENT_TYPES.len()];
    let _ = wiredesk::fetch::budget::parse_cost(body);
    match wiredesk::parse::parse_feed(body, content_type, Some(BASE)) {
        Ok(parsed) => {
            // A fixed "now", so a crash reproduces whatever day it is run.
            let now = chrono::DateTime::from_timestamp(1_796_000_000, 0).unwrap();
            let _ = wiredesk::normalize::feed_meta(&parsed.feed);
            // Over the per-feed CPU budget is a clean refusal, not a finding.
            let Ok(items) = wiredesk::normalize::normalize_feed(&parsed.feed, BASE, now) else {
                return;
            };
            let extractor = FEATURES.get_or_init(|| FeatureExtractor::new(Params::default()));
            let tokens: usize = items.iter().map(|i| extractor.features(i).len()).sum();
            let _ = wiredesk::fetch::budget::kept_cost(&items, tokens);
        }
        Err(_) => {
            if let Ok((text, _)) = wiredesk::parse::decode(body, content_type) {
                let base = url::Url::parse(BASE).ok();
                let _ = wiredesk::parse::discover_feeds(&text, base.as_ref());
            }
        }
    }
});
