//! Story dedup gives one answer whatever order the items arrive in: `../shared/dedup-unknown` (blind spins,
//! copies dated before their original) is polled with its feeds in several orders, the items of every feed
//! shuffled too and one feed fetched at a time, and once split over two runs; twice more with every item
//! left for the settle to decide (`dedup.defer_after_items = 0`, as a backlog is) and no features held in
//! memory past the open chunk (`dedup.feature_memory_mib = 0`: the rest are read back from the spill file).
//! Every run must form exactly the same stories.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// A story as a set of its members' guids; a partition is the set of stories.
type Partition = BTreeSet<Vec<String>>;

/// A small deterministic shuffle (xorshift), so the test needs no random crate and always runs the same.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// The feed `xml` with its items (or entries) in shuffled order.
fn shuffle_items(xml: &str, seed: u64) -> String {
    let tag = if xml.contains("<entry>") {
        "entry"
    } else {
        "item"
    };
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut blocks: Vec<&str> = Vec::new();
    let mut rest = xml;
    let first = xml.find(&open).expect("the feed has items");
    while let Some(start) = rest.find(&open) {
        let end = start + rest[start..].find(&close).expect("every item closes") + close.len();
        blocks.push(&rest[start..end]);
        rest = &rest[end..];
    }
    shuffle(&mut blocks, seed);
    format!("{}{}{}", &xml[..first], blocks.concat(), rest)
}

/// Polls `feeds` (names, in this order, served from `dir`) once into the database at `db`, with `extra`
/// appended to the configuration.
async fn poll(dir: &Path, db: &Path, names: &[String], wires: &[String], extra: &str) {
    let (addr, _) = common::serve_feed_dir(dir).await;
    let sources: Vec<common::SourceSpec> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                format!("http://{addr}/{n}.xml"),
                vec!["all".to_string()],
                if wires.contains(n) { 10 } else { 0 },
            )
        })
        .collect();
    let config = db.with_extension("toml");
    let toml = common::config_toml("127.0.0.1:9", db, &["all"], &sources) + "global = 1\n" + extra;
    std::fs::write(&config, toml).unwrap();
    let summary = wiredesk::daemon::poll_once(wiredesk::config::load(&config).unwrap(), None)
        .await
        .unwrap();
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
}

/// The stories stored in the database `db` (configured by `db.toml`), whose published GUIDs must be
/// unique (a story settling founds is not named like the one its founder left).
fn partition(db: &Path) -> Partition {
    let conn = rusqlite::Connection::open(db).unwrap();
    let shared_guids: i64 = conn
        .query_row(
            "SELECT count(*) - count(DISTINCT guid) FROM stories",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(shared_guids, 0, "stories share a GUID");
    drop(conn);
    let out = Command::new(env!("CARGO_BIN_EXE_wiredesk"))
        .args(["stories", "--json", "--config"])
        .arg(db.with_extension("toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let story: serde_json::Value = serde_json::from_str(line).unwrap();
            let mut guids: Vec<String> = story["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["guid"].as_str().unwrap().to_string())
                .collect();
            guids.sort();
            guids
        })
        .collect()
}

/// What differs between two partitions, for the failure message.
fn difference(a: &Partition, b: &Partition) -> String {
    let only = |x: &Partition, y: &Partition| -> Vec<String> {
        x.difference(y).take(5).map(|s| s.join(" + ")).collect()
    };
    format!(
        "{} stories only in the first, {} only in the second; e.g. {:?} vs {:?}",
        a.difference(b).count(),
        b.difference(a).count(),
        only(a, b),
        only(b, a)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_arrival_order_gives_the_same_stories() {
    let set = common::shared_dir().join("dedup-unknown");
    let wires = common::wire_ids(&set);
    let mut names: Vec<String> = std::fs::read_dir(set.join("feeds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".xml").map(str::to_string))
        .collect();
    names.sort();
    let scratch = tempfile::tempdir().unwrap();

    let mut runs: Vec<(String, Partition)> = Vec::new();
    for seed in 0..6u64 {
        let dir = scratch.path().join(format!("feeds-{seed}"));
        std::fs::create_dir(&dir).unwrap();
        for n in &names {
            let xml = std::fs::read_to_string(set.join("feeds").join(format!("{n}.xml"))).unwrap();
            let xml = if seed == 0 {
                xml
            } else {
                shuffle_items(&xml, seed)
            };
            std::fs::write(dir.join(format!("{n}.xml")), xml).unwrap();
        }
        let mut order = names.clone();
        match seed {
            0 => {}
            1 => order.reverse(),
            _ => shuffle(&mut order, seed),
        }
        let db = scratch.path().join(format!("order-{seed}.db"));
        // Seeds 4 and 5 decide nothing on arrival: the settle decides every item, moving the copies. They
        // also keep the window's features on disk, as a window past its memory budget does.
        let extra = if seed >= 4 {
            "[dedup]\ndefer_after_items = 0\nfeature_memory_mib = 0\n"
        } else {
            ""
        };
        if seed == 3 || seed == 5 {
            // Split over two runs: the second run's items settle among the first's.
            let (first, second) = order.split_at(order.len() / 2);
            poll(&dir, &db, first, &wires, extra).await;
            poll(&dir, &db, second, &wires, extra).await;
        } else {
            poll(&dir, &db, &order, &wires, extra).await;
        }
        runs.push((format!("order {seed}"), partition(&db)));
    }
    let (first_name, first) = &runs[0];
    assert!(
        first.len() > 400 && first.iter().any(|s| s.len() > 3),
        "the set should fold into a few hundred stories, some with many copies: {} stories",
        first.len()
    );
    for (name, p) in &runs[1..] {
        assert!(
            p == first,
            "{name} formed other stories than {first_name}: {}",
            difference(first, p)
        );
    }
}
