//! Restarts: decisions already made never change, and after a restart the similarity window is rebuilt from
//! the database, so copies that arrive later still join the stories founded before it; a story that did
//! not change keeps its `updated` time across the restart.

mod common;

use std::collections::{BTreeMap, HashMap};

/// Story id → (JSON `date_modified`, member count) in a section's published JSON Feed.
fn modified(out: &std::path::Path) -> BTreeMap<String, (String, usize)> {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("feeds/all.json")).unwrap()).unwrap();
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                (
                    i["date_modified"].as_str().unwrap().to_string(),
                    i["_wiredesk"]["members"].as_array().unwrap().len(),
                ),
            )
        })
        .collect()
}

type Decisions = BTreeMap<i64, (i64, String, i64)>;

/// item id → (story id, layer, score in millionths), for every stored item.
fn decisions(db: &std::path::Path) -> Decisions {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT i.id, i.story_id, COALESCE(d.layer, 'new'), CAST(COALESCE(d.score, 0) * 1e6 AS INTEGER)
             FROM items i LEFT JOIN dedup_decisions d ON d.item_id = i.id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_survive_a_restart_and_later_copies_join_earlier_stories() {
    let dev = common::shared_dir().join("dedup-dev/feeds");
    let mut names: Vec<String> = std::fs::read_dir(&dev)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    names.sort();
    let files: HashMap<String, (Vec<u8>, String)> = names
        .iter()
        .map(|n| {
            (
                format!("/{n}.xml"),
                (
                    std::fs::read(dev.join(format!("{n}.xml"))).unwrap(),
                    "application/xml".into(),
                ),
            )
        })
        .collect();
    let (addr, _) = common::serve_files(files).await;
    let wires = [
        "meridian-wire",
        "harbour-press",
        "capital-newsdesk",
        "northern-ledger",
    ];
    // Before the restart: the wires and every other farm. After it: the rest.
    let (mut before, mut after): (Vec<&String>, Vec<&String>) = (Vec::new(), Vec::new());
    for (i, n) in names.iter().enumerate() {
        if wires.contains(&n.as_str()) || i % 2 == 0 {
            before.push(n);
        } else {
            after.push(n);
        }
    }
    let spec = |ns: &[&String]| -> Vec<common::SourceSpec> {
        ns.iter()
            .map(|n| {
                let p = if wires.contains(&n.as_str()) { 10 } else { 0 };
                (
                    n.to_string(),
                    format!("http://{addr}/{n}.xml"),
                    vec!["all".to_string()],
                    p,
                )
            })
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let path = dir.path().join("feeds.toml");
    let out = dir.path().join("public");
    // Every story is published, so every story's `updated` can be compared.
    let config = |specs: &[common::SourceSpec]| {
        common::config_toml("127.0.0.1:9", &db, &["all"], specs)
            + "[publish]\nitems_per_feed = 5000\n"
    };

    std::fs::write(&path, config(&spec(&before))).unwrap();
    wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), Some(&out))
        .await
        .unwrap();
    let first = decisions(&db);
    let modified_before = modified(&out);
    assert!(first.len() > 1000);

    // A new process: nothing of the matcher survives but what is in the database.
    let all: Vec<&String> = before.iter().chain(after.iter()).copied().collect();
    std::fs::write(&path, config(&spec(&all))).unwrap();
    let summary = wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), Some(&out))
        .await
        .unwrap();
    assert_eq!(summary.new_items + first.len(), 2027);
    let second = decisions(&db);
    for (item, decision) in &first {
        assert_eq!(
            second.get(item),
            Some(decision),
            "the decision for item {item} changed after a restart"
        );
    }
    let max_first_item = *first.keys().max().unwrap();
    let max_first_story = first.values().map(|d| d.0).max().unwrap();
    let joined_by_similarity = second
        .iter()
        .filter(|(item, (story, layer, _))| {
            **item > max_first_item && *story <= max_first_story && layer == "similar"
        })
        .count();
    println!(
        "{} decisions kept across the restart; {joined_by_similarity} later copies joined earlier stories",
        first.len()
    );
    assert!(
        joined_by_similarity > 100,
        "only {joined_by_similarity} later copies joined earlier stories by similarity"
    );

    // `updated` means the story changed: kept by every story no member joined, after the restart too.
    let modified_after = modified(&out);
    let (mut kept, mut grew) = (0, 0);
    for (id, (when, members)) in &modified_before {
        let (when_after, members_after) = &modified_after[id];
        if members_after == members {
            assert_eq!(
                when_after, when,
                "story {id} did not change, but its updated time moved"
            );
            kept += 1;
        } else {
            assert!(when_after >= when, "story {id}: updated went back");
            grew += 1;
        }
    }
    println!("{kept} unchanged stories kept their updated time; {grew} stories gained members");
    assert!(kept > 100 && grew > 100, "{kept} kept, {grew} grew");
}
