//! HTML to plain text and sanitising, as normalise runs them on every title, summary and content; the
//! sanitised HTML must never keep a script element or an event handler.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let text = wiredesk::normalize::text::html_to_text(&html);
    let _ = wiredesk::normalize::text::strip_boilerplate(&text);
    let _ = wiredesk::normalize::text::key_text(&text);
    let _ = wiredesk::normalize::text::truncate_words(&text, 40);
    let base = url::Url::parse("https://feeds.example/a/b.html").ok();
    let clean = wiredesk::normalize::sanitize::sanitize_html(&html, base.as_ref());
    let lower = clean.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script survived: {clean}");
});
