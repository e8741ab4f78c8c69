//! Work bounds for hostile HTML (issue 16): one item of 100,000 nested `<div>`s (1.1 MB), which took the
//! sanitiser 24 to 33 s before the nesting cap, is read as text within the per-feed budget, and the feed's
//! other items are kept as they are. The parse time is printed for the record (BENCHMARKS.md has timings;
//! tests assert behaviour only).

use std::time::Instant;

use chrono::Utc;

/// An RSS feed with a normal item, one of `depth` nested `<div>`s around a sentence, and another normal item.
fn nested_div_feed(depth: usize) -> Vec<u8> {
    let mut deep = "<div>".repeat(depth);
    deep.push_str("Deep inside, the news.");
    deep.push_str(&"</div>".repeat(depth));
    let item = |n: usize, body: &str| {
        format!(
            "<item><title>Item {n}</title><link>https://deep.example/{n}</link><guid>g{n}</guid>\
             <pubDate>Mon, 02 Jun 2025 1{n}:00:00 GMT</pubDate><description><![CDATA[{body}]]></description></item>"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Deep</title>\
         <link>https://deep.example/</link><description>d</description>{}{}{}</channel></rss>",
        item(1, "<p>A <b>normal</b> story.</p>"),
        item(2, &deep),
        item(3, "<p>Another normal story.</p>")
    )
    .into_bytes()
}

#[test]
fn a_feed_of_100_000_nested_divs_is_read_as_text_within_the_budget() {
    let feed = nested_div_feed(100_000);
    assert!(feed.len() > 1_100_000, "{} bytes", feed.len());
    let started = Instant::now();
    let parsed = wiredesk::parse::parse_feed(&feed, Some("application/rss+xml"), None).unwrap();
    let parse = started.elapsed();
    let items =
        wiredesk::normalize::normalize_feed(&parsed.feed, "https://deep.example/feed", Utc::now())
            .expect("within the per-feed budget");
    let total = started.elapsed();
    println!(
        "nested-div feed ({} bytes, 100,000 nested <div>s): parsed in {parse:?}, parsed and normalised in {total:?}",
        feed.len()
    );
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].content_html, "<p>A <b>normal</b> story.</p>");
    assert_eq!(items[1].content_html, "<p>Deep inside, the news.</p>");
    assert_eq!(items[1].summary, "Deep inside, the news.");
    assert_eq!(items[2].summary, "Another normal story.");
}
