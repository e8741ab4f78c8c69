//! Story dedup end to end on `../shared/dedup-dev`: its feeds are served on 127.0.0.1, polled once, listed
//! with `wiredesk stories --json`, and scored with the set's own `tools/score.py`.

mod common;

use std::process::Command;

/// Polls the dev set into a fresh database and returns the scorer's JSON report.
async fn score_dev_set() -> serde_json::Value {
    let dev = common::shared_dir().join("dedup-dev");
    let (addr, names) = common::serve_feed_dir(&dev.join("feeds")).await;
    let wires = common::wire_ids(&dev);
    let sources: Vec<common::SourceSpec> = names
        .iter()
        .map(|n| {
            let priority = if wires.contains(n) { 10 } else { 0 };
            (
                n.clone(),
                format!("http://{addr}/{n}.xml"),
                vec!["all".to_string()],
                priority,
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        common::config_toml(
            "127.0.0.1:9",
            &dir.path().join("dev.db"),
            &["all"],
            &sources,
        ),
    )
    .unwrap();
    let summary = wiredesk::daemon::poll_once(wiredesk::config::load(&config).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(summary.new_items, 2027, "{:?}", summary.failures);

    let stories = Command::new(env!("CARGO_BIN_EXE_wiredesk"))
        .args(["stories", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        stories.status.success(),
        "{}",
        String::from_utf8_lossy(&stories.stderr)
    );
    let stories_path = dir.path().join("stories.jsonl");
    std::fs::write(&stories_path, &stories.stdout).unwrap();
    // For studying misses: WIREDESK_DEV_STORIES=path keeps a copy of the stories the scorer read.
    if let Ok(keep) = std::env::var("WIREDESK_DEV_STORIES") {
        std::fs::copy(&stories_path, keep).unwrap();
    }
    let scored = Command::new("python3")
        .arg(dev.join("tools/score.py"))
        .arg("--truth")
        .arg(dev.join("truth.jsonl"))
        .arg("--stories")
        .arg(&stories_path)
        .output()
        .expect("python3 runs the dev set's scorer");
    assert!(
        scored.status.success(),
        "{}",
        String::from_utf8_lossy(&scored.stderr)
    );
    let text = String::from_utf8(scored.stdout).unwrap();
    let summary_line = text.lines().last().unwrap().to_string();
    let json_end = text.rfind(&summary_line).unwrap();
    println!("dedup-dev: {summary_line}");
    serde_json::from_str(&text[..json_end]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_set_is_folded_without_wrong_merges() {
    let report = score_dev_set().await;
    let recall = |variant: &str| {
        report["recall_by_variant"][variant]["recall"]
            .as_f64()
            .unwrap()
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&report["recall_by_variant"]).unwrap()
    );
    println!(
        "false merges: {} of {} stories; follow-up pairs merged: {}",
        report["false_merges"], report["predicted_stories"], report["followup_pairs_merged"]
    );
    assert_eq!(report["lost_items"], 0);
    assert_eq!(report["unmatched_members"], 0);
    assert_eq!(report["duplicate_members"], 0);
    let pairwise = &report["pairwise"];
    assert!(
        pairwise["precision"].as_f64().unwrap() >= 0.99,
        "pair precision: {pairwise}"
    );
    assert!(
        pairwise["recall"].as_f64().unwrap() >= 0.95,
        "pair recall: {pairwise}"
    );
    assert_eq!(
        report["followup_pairs_merged"], 0,
        "distinct follow-up stories were merged"
    );
    let false_merges = report["false_merges"].as_f64().unwrap();
    let stories = report["predicted_stories"].as_f64().unwrap();
    assert!(
        false_merges / stories < 0.005,
        "{false_merges} of {stories} stories falsely merged"
    );
    for variant in ["repost", "repost_link"] {
        assert!(recall(variant) >= 0.99, "{variant}: {}", recall(variant));
    }
    // Spins of every kind, weighted by how many there are.
    let (mut hit, mut n) = (0.0, 0.0);
    for variant in ["spin", "spin_trunc", "spin_title_only", "respin"] {
        let v = &report["recall_by_variant"][variant];
        hit += v["recall"].as_f64().unwrap() * v["n"].as_f64().unwrap();
        n += v["n"].as_f64().unwrap();
    }
    assert!(hit / n >= 0.90, "spin recall {}", hit / n);
}
