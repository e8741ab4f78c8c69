//! Crash safety: `wiredesk poll --once` is killed with SIGKILL in the middle of a large poll. The database
//! must pass `PRAGMA integrity_check`, hold each feed's items all-or-nothing, and the next poll must complete
//! without duplicating a story.

mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FEEDS: usize = 300;
const ITEMS: usize = 60;

fn synthetic_feed(k: usize) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Feed {k}</title>\
         <link>https://f{k}.example/</link><description>Synthetic feed {k}</description>"
    );
    for i in 0..ITEMS {
        xml.push_str(&format!(
            "<item><title>Feed {k} reports event {i} with code {}</title><link>https://f{k}.example/story/{i}</link>\
             <guid>f{k}-{i}</guid><pubDate>Mon, 02 Jun 2025 {:02}:{:02}:00 GMT</pubDate>\
             <description>Details of event {i} from feed {k}: marker {} and marker {}.</description></item>",
            k * 1000 + i,
            i % 24,
            i % 60,
            k * 7919 + i,
            i * 104_729 + k
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_poll_loses_nothing_committed_and_duplicates_nothing() {
    let files: HashMap<String, (Vec<u8>, String)> = (0..FEEDS)
        .map(|k| {
            (
                format!("/f/{k}.xml"),
                (
                    synthetic_feed(k).into_bytes(),
                    "application/rss+xml".to_string(),
                ),
            )
        })
        .collect();
    // One host, 2 connections, 20 ms per response: the poll takes seconds, so the kill lands mid-way.
    let (addr, _stats) = common::serve_files_slowly(files, Duration::from_millis(20)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let sources: Vec<common::SourceSpec> = (0..FEEDS)
        .map(|k| {
            (
                format!("feed {k}"),
                format!("http://{addr}/f/{k}.xml"),
                vec!["all".to_string()],
                0,
            )
        })
        .collect();
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        common::config_toml("127.0.0.1:9", &db, &["all"], &sources),
    )
    .unwrap();

    let bin = env!("CARGO_BIN_EXE_wiredesk");
    let mut child = Command::new(bin)
        .args(["poll", "--once", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while count(&db, "SELECT count(*) FROM items") < (ITEMS * 5) as i64 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the poll never started storing items"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the poll finished before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let items_after_kill = count(&db, "SELECT count(*) FROM items");
    assert!(
        items_after_kill < (FEEDS * ITEMS) as i64,
        "the kill came too late to test anything"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // Each feed is one transaction: a source has all of its items or none.
    let partial = count(
        &db,
        &format!(
            "SELECT count(*) FROM (SELECT source_id, count(*) n FROM items GROUP BY source_id HAVING n != {ITEMS})"
        ),
    );
    assert_eq!(partial, 0, "a feed was half-ingested");
    drop(conn);

    let status = Command::new(bin)
        .args(["poll", "--once", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        count(&db, "SELECT count(*) FROM items"),
        (FEEDS * ITEMS) as i64
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM stories"),
        (FEEDS * ITEMS) as i64,
        "a story was duplicated"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM (SELECT canonical_url FROM items GROUP BY canonical_url HAVING count(DISTINCT story_id) > 1)"
        ),
        0
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    println!(
        "killed after {items_after_kill} of {} items; the second poll completed",
        FEEDS * ITEMS
    );
}
