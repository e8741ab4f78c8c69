//! The memory budget against the real daemon: ten valid 14.6 MiB feeds polled at once keep its peak
//! resident memory under 300 MB (without the budget they took it past 400 MB).

mod common;

use std::collections::HashMap;

const TAIL: &str = "</channel></rss>\n";

/// A feed of about `mib` MiB: long, distinct items, as a full-text feed has.
fn big_feed(k: usize, mib: f64) -> Vec<u8> {
    const WORDS: [&str; 24] = [
        "harbour", "council", "vote", "budget", "strike", "rail", "port", "ferry", "storm",
        "flood", "minister", "court", "trial", "school", "hospital", "market", "housing", "energy",
        "river", "bridge", "tunnel", "union", "wage", "pension",
    ];
    let target = (mib * 1024.0 * 1024.0) as usize;
    let mut doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Big {k}</title>\
         <link>http://big{k}.example/</link><description>d</description>\n"
    );
    let mut state = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut word = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        WORDS[(state % WORDS.len() as u64) as usize]
    };
    let mut i = 0;
    while doc.len() < target - 3000 {
        let title: Vec<&str> = (0..9).map(|_| word()).collect();
        let text: Vec<&str> = (0..420).map(|_| word()).collect();
        doc.push_str(&format!(
            "<item><title>{} {k}-{i}</title><link>http://big{k}.example/{i}</link><guid>big{k}-{i}</guid>\
             <description>{}</description><pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate></item>\n",
            title.join(" "),
            text.join(" ")
        ));
        i += 1;
    }
    doc.push_str(TAIL);
    doc.into_bytes()
}

#[test]
fn ten_feeds_of_14_6_mib_stay_within_the_memory_budget() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let files: HashMap<String, (Vec<u8>, String)> = (0..10)
        .map(|k| {
            (
                format!("/big{k}.xml"),
                (big_feed(k, 14.6), "application/rss+xml".to_string()),
            )
        })
        .collect();
    let (addr, _) = rt.block_on(common::serve_files(files));
    let specs: Vec<common::SourceSpec> = (0..10)
        .map(|k| {
            (
                format!("big {k}"),
                format!("http://{addr}/big{k}.xml"),
                vec!["all".to_string()],
                0,
            )
        })
        .collect();
    let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen_addr = listen.local_addr().unwrap().to_string();
    drop(listen);
    let dir = tempfile::tempdir().unwrap();
    // Every source at once: no host limit holds them back, so only the budget does.
    let toml = common::config_toml(&listen_addr, &dir.path().join("b.db"), &["all"], &specs)
        + "per_host = 10\n";
    let daemon = common::Daemon::start(dir.path(), &toml);
    let rows = daemon.wait_polled(10);
    for (name, row) in &rows {
        assert!(
            row["last_result"].as_str().unwrap().starts_with("ok"),
            "{name}: {row}"
        );
    }
    let peak = daemon.peak_rss_mb();
    daemon.stop();
    eprintln!("ten 14.6 MiB feeds: daemon peak RSS {peak} MB");
    assert!(peak < 300, "the daemon peaked at {peak} MB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_too_costly_for_the_budget_or_too_many_entries_fails_unparsed() {
    let dense_json = format!(
        "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"t\",\"items\":[{}]}}",
        vec!["{\"id\":\"x\"}"; 60_000].join(",")
    );
    let files: HashMap<String, (Vec<u8>, String)> = HashMap::from([
        (
            "/big.xml".into(),
            (big_feed(0, 3.0), "application/rss+xml".into()),
        ),
        (
            "/small.xml".into(),
            (big_feed(1, 0.1), "application/rss+xml".into()),
        ),
        (
            "/dense.json".into(),
            (dense_json.into_bytes(), "application/feed+json".into()),
        ),
    ]);
    let (addr, _) = common::serve_files(files).await;
    let specs: Vec<common::SourceSpec> = ["big.xml", "small.xml", "dense.json"]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                format!("http://{addr}/{f}"),
                vec!["all".into()],
                0,
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    // 10 MiB in all leaves 8 MiB for parsing: a 3 MiB feed would take about 19.
    let toml = common::config_toml("127.0.0.1:9", &dir.path().join("c.db"), &["all"], &specs)
        + "memory_budget_bytes = 10485760\n";
    std::fs::write(&path, toml).unwrap();
    let summary = wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(summary.fetched, 1, "{:?}", summary.failures);
    let failures: HashMap<&str, &str> = summary
        .failures
        .iter()
        .map(|(n, why)| (n.as_str(), why.as_str()))
        .collect();
    assert!(
        failures["big.xml"].contains("parsing it would take about 19 MB, more than the 8 MB"),
        "{failures:?}"
    );
    assert!(
        failures["dense.json"].contains("60001 JSON objects"),
        "{failures:?}"
    );
}
