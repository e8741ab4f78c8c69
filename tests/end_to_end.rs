//! End to end over real loopback HTTP: sample feeds are served on 127.0.0.1, the daemon polls them, and every
//! published section feed is fetched over HTTP and checked (RSS rules, Atom schema, JSON Feed, 304, gzip).

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{atom_problems, config_toml, rss_problems, serve_files, shared_dir};

/// The dedup-dev feeds as (URL path, body, content type).
fn dev_feeds() -> HashMap<String, (Vec<u8>, String)> {
    let dir = shared_dir().join("dedup-dev/feeds");
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        files.insert(
            format!("/feeds/{name}"),
            (std::fs::read(&path).unwrap(), "application/xml".to_string()),
        );
    }
    files
}

fn sources_for(
    addr: std::net::SocketAddr,
    files: &HashMap<String, (Vec<u8>, String)>,
) -> Vec<common::SourceSpec> {
    let mut paths: Vec<&String> = files.keys().collect();
    paths.sort();
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = p
                .trim_start_matches("/feeds/")
                .trim_end_matches(".xml")
                .to_string();
            let wire = [
                "meridian-wire",
                "harbour-press",
                "capital-newsdesk",
                "northern-ledger",
            ]
            .contains(&name.as_str());
            let mut sections = vec!["all".to_string()];
            sections.push(if wire { "wires" } else { "others" }.to_string());
            if i % 3 == 0 {
                sections.push("mixed".into());
            }
            (
                name,
                format!("http://{addr}{p}"),
                sections,
                if wire { 10 } else { 0 },
            )
        })
        .collect()
}

async fn get(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = client.get(url);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_polls_publishes_and_serves_valid_feeds() {
    let files = dev_feeds();
    let (feeds_addr, feed_stats) = serve_files(files.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    let sources = sources_for(feeds_addr, &files);
    let toml = config_toml(
        &listen,
        &dir.path().join("w.db"),
        &["all", "wires", "others", "mixed"],
        &sources,
    );
    let config_path = dir.path().join("feeds.toml");
    std::fs::write(&config_path, &toml).unwrap();
    let config = wiredesk::config::load(&config_path).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(wiredesk::daemon::run_with_listener(
        config_path.clone(),
        config,
        listener,
        async {
            let _ = stopped.await;
        },
    ));

    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let base = format!("http://{listen}");
    // Wait until every source was polled and the renders caught up.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let metrics = get(&client, &format!("{base}/metrics"), &[])
            .await
            .text()
            .await
            .unwrap();
        let fetched = metrics
            .lines()
            .find(|l| l.starts_with("wiredesk_polls_total{result=\"fetched\"}"))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        let renders = metrics
            .lines()
            .find(|l| l.starts_with("wiredesk_renders_total"))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        if fetched == sources.len() && renders >= 2 {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "polls did not finish: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(feed_stats.requests.load(Ordering::SeqCst), sources.len());

    let health = get(&client, &format!("{base}/healthz"), &[]).await;
    assert_eq!(health.status(), 200);

    for section in ["all", "wires", "others", "mixed"] {
        for ext in ["rss", "atom", "json"] {
            let url = format!("{base}/feeds/{section}.{ext}");
            let first = get(&client, &url, &[]).await;
            assert_eq!(first.status(), 200, "{url}");
            let etag = first.headers()["etag"].to_str().unwrap().to_string();
            assert!(
                etag.starts_with('"') && !etag.starts_with("W/"),
                "strong ETag expected: {etag}"
            );
            assert!(first.headers().contains_key("last-modified"));
            let get_headers = first.headers().clone();
            let body = first.text().await.unwrap();
            match ext {
                "rss" => {
                    let problems = rss_problems(&body);
                    assert!(problems.is_empty(), "{url}: {problems:#?}");
                    assert_eq!(
                        body.matches("<item>").count(),
                        100,
                        "{url}: items_per_feed stories"
                    );
                    assert!(
                        body.contains(&format!("<atom:link href=\"{url}\" rel=\"self\"")),
                        "{url}"
                    );
                }
                "atom" => {
                    let problems = atom_problems(&body, dir.path());
                    assert!(problems.is_empty(), "{url}: {problems:#?}");
                }
                _ => {
                    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
                    assert_eq!(doc["version"], "https://jsonfeed.org/version/1.1");
                    assert_eq!(doc["feed_url"], url);
                    let items = doc["items"].as_array().unwrap();
                    assert_eq!(items.len(), 100);
                    for item in items {
                        assert!(item["id"].as_str().unwrap().starts_with("urn:uuid:"));
                        assert!(item["content_html"].as_str().unwrap().contains("Source: "));
                        assert!(!item["_wiredesk"]["members"].as_array().unwrap().is_empty());
                    }
                }
            }
            let again = get(&client, &url, &[("If-None-Match", &etag)]).await;
            assert_eq!(again.status(), 304, "{url} with If-None-Match");
            assert!(again.bytes().await.unwrap().is_empty());
            let lm = get(&client, &url, &[]).await.headers()["last-modified"]
                .to_str()
                .unwrap()
                .to_string();
            assert_eq!(
                get(&client, &url, &[("If-Modified-Since", &lm)])
                    .await
                    .status(),
                304
            );

            let gz = get(&client, &url, &[("Accept-Encoding", "gzip")]).await;
            assert_eq!(gz.headers()["content-encoding"], "gzip");
            let gz_etag = gz.headers()["etag"].to_str().unwrap().to_string();
            assert_ne!(gz_etag, etag, "each encoding is its own representation");
            let mut unzipped = String::new();
            flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..])
                .read_to_string(&mut unzipped)
                .unwrap();
            assert_eq!(unzipped, body);

            // HEAD answers with GET's headers, Content-Length (the body's length) included.
            let head = client.head(&url).send().await.unwrap();
            assert_eq!(head.status(), 200);
            assert_eq!(head.headers()["etag"].to_str().unwrap(), etag);
            assert_eq!(
                head.headers()["content-length"].to_str().unwrap(),
                body.len().to_string(),
                "{url}: HEAD Content-Length"
            );
            let without_date = |h: &reqwest::header::HeaderMap| {
                let mut h: Vec<(String, String)> = h
                    .iter()
                    .filter(|(k, _)| *k != "date")
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
                    .collect();
                h.sort();
                h
            };
            assert_eq!(
                without_date(head.headers()),
                without_date(&get_headers),
                "{url}: HEAD and GET headers"
            );
            assert!(head.bytes().await.unwrap().is_empty());
        }
    }
    // Stories credit every member: reposts of a wire story show up as "Also reported by".
    let all = get(&client, &format!("{base}/feeds/all.rss"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        all.contains("Also reported by"),
        "no story credits a second source"
    );

    let opml = get(&client, &format!("{base}/feeds.opml"), &[])
        .await
        .text()
        .await
        .unwrap();
    let doc = roxmltree::Document::parse(&opml).unwrap();
    let outlines: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("outline"))
        .collect();
    assert_eq!(outlines.len(), 4);
    assert_eq!(
        outlines[0].attribute("xmlUrl"),
        Some(format!("{base}/feeds/all.rss").as_str())
    );
    assert_eq!(get(&client, &format!("{base}/"), &[]).await.status(), 200);
    assert_eq!(
        get(&client, &format!("{base}/feeds/nope.rss"), &[])
            .await
            .status(),
        404
    );
    assert_eq!(
        client
            .post(format!("{base}/feeds/all.rss"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );

    stop.send(()).unwrap();
    daemon.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_poll_is_conditional_and_stores_nothing_new() {
    let files = dev_feeds();
    let (addr, stats) = serve_files(files.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let sources = sources_for(addr, &files);
    let toml = config_toml(
        "127.0.0.1:9",
        &dir.path().join("w.db"),
        &["all", "wires", "others", "mixed"],
        &sources,
    );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, toml).unwrap();

    let first = wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(first.polled, sources.len());
    assert_eq!(first.fetched, sources.len(), "{:?}", first.failures);
    assert_eq!(first.new_items, 2027, "every dev-set item is stored");
    assert_eq!(stats.conditional.load(Ordering::SeqCst), 0);

    let out = dir.path().join("public");
    let second = wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), Some(&out))
        .await
        .unwrap();
    assert_eq!(second.unchanged, sources.len());
    assert_eq!(second.new_items, 0);
    assert_eq!(
        stats.conditional.load(Ordering::SeqCst),
        sources.len(),
        "every repeat poll is conditional"
    );
    assert_eq!(stats.not_modified.load(Ordering::SeqCst), sources.len());
    // The static copies are the same documents the server would send.
    assert!(out.join("feeds/all.rss").exists() && out.join("feeds/all.atom").exists());
    assert!(out.join("feeds.opml").exists() && out.join("index.html").exists());
}

#[test]
fn the_feed_checkers_reject_broken_documents() {
    let bad_rss = r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title><link>/rel</link>
        <item><title>A</title><description><p>raw</p></description><guid>g</guid><pubDate>2025-01-06T09:00:00Z</pubDate></item>
        <item><title>B</title><description>x</description><guid>g</guid></item></channel></rss>"#;
    let problems = rss_problems(bad_rss).join("\n");
    for rule in ["rule 2", "rule 4", "rule 5", "rule 6", "rule 7", "rule 9"] {
        assert!(problems.contains(rule), "{rule} not caught:\n{problems}");
    }
    let dir = tempfile::tempdir().unwrap();
    let bad_atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id><updated>2025-01-06T09:00:00</updated>
        <entry><title>e</title><id>posts/1</id><updated>2025-01-06T09:00:00Z</updated></entry>
        <entry><title>no updated</title><id>urn:x:2</id><author><name>a</name></author></entry></feed>"#;
    let problems = atom_problems(bad_atom, dir.path()).join("\n");
    assert!(problems.contains("jing:"), "{problems}");
    assert!(problems.contains("not RFC 3339"), "{problems}");
    assert!(problems.contains("not an absolute IRI"), "{problems}");
    assert!(problems.contains("has no author"), "{problems}");
}
