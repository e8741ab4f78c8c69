//! Body → charset decode → parse → normalise → dedup features, as a refresh runs them, plus the memory
//! budget's estimate and, for bodies that are not feeds, the discovery of the feeds an HTML page links to.
//! The first byte picks the Content-Type header the body came with.

#![no_main]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Once, OnceLock};

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

/// Panics found and not fixed here, by file and line: each has an ignored test in
/// `tests/fuzz_regressions.rs`, and the daemon contains them (the source fails as `panic` and backs off).
/// They are let through to the `catch_unwind` below instead of ending the run, so the fuzzer looks past
/// them; any other panic is a crash as usual.
const KNOWN_PANICS: [(&str, u32); 3] = [
    // `&rest[1..]` after `encoding=` with a multi-byte quote; fixed in the fidelity branch's parse/.
    ("src/parse.rs", 158),
    // quick-xml 0.42 (the newest) `set_encoding` on an XML declaration that is not at the start.
    ("quick-xml-0.42.0/src/encoding.rs", 380),
    // feed-rs 3.0.0 (the newest) slices one byte past an e-mail address in a person's name.
    ("feed-rs-3.0.0/src/parser/util/mod.rs", 157),
];

static FEATURES: OnceLock<FeatureExtractor> = OnceLock::new();

fn let_known_panics_unwind() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let crash = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let known = info.location().is_some_and(|l| {
                KNOWN_PANICS
                    .iter()
                    .any(|(file, line)| l.file().ends_with(file) && l.line() == *line)
            });
            if !known {
                crash(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_known_panics_unwind();
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[pick as usize % CONTENT_TYPES.len()];
    let _ = wiredesk::fetch::budget::parse_cost(body);
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        wiredesk::parse::parse_feed(body, content_type, Some(BASE))
    }));
    match parsed {
        // A known panic (any other one aborted in the hook).
        Err(_) => {}
        Ok(Ok(parsed)) => {
            // A fixed "now", so a crash reproduces whatever day it is run.
            let now = chrono::DateTime::from_timestamp(1_796_000_000, 0).unwrap();
            let items = wiredesk::normalize::normalize_feed(&parsed.feed, BASE, now);
            let _ = wiredesk::normalize::feed_meta(&parsed.feed);
            let extractor = FEATURES.get_or_init(|| FeatureExtractor::new(Params::default()));
            let tokens: usize = items.iter().map(|i| extractor.features(i).len()).sum();
            let _ = wiredesk::fetch::budget::kept_cost(&items, tokens);
        }
        Ok(Err(_)) => {
            if let Ok(Ok((text, _))) =
                catch_unwind(AssertUnwindSafe(|| wiredesk::parse::decode(body, content_type)))
            {
                let base = url::Url::parse(BASE).ok();
                let _ = wiredesk::parse::discover_feeds(&text, base.as_ref());
            }
        }
    }
});
