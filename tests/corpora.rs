//! Every file of `../shared/corpora` goes through `inspect` and through ingestion into a real SQLite file.
//! Nothing may panic, and a file that cannot be parsed gets a one-line error naming the file and the reason.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use chrono::Utc;
use wiredesk::pipeline::Ingester;
use wiredesk::store::Store;

fn corpus_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else {
                let name = p.file_name().unwrap().to_string_lossy();
                if !(name == "SOURCE.md" || name == "README.md" || name.starts_with("LICENSE")) {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&common::shared_dir().join("corpora"), &mut out);
    out
}

#[test]
fn every_corpus_file_is_inspected_and_ingested_without_panicking() {
    let files = corpus_files();
    assert!(
        files.len() > 2400,
        "expected the whole corpus, found {} files",
        files.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("feeds.toml");
    let sources: Vec<common::SourceSpec> = [
        "feedparser",
        "feed-rs",
        "miniflux",
        "rss-crate",
        "atom-crate",
    ]
    .iter()
    .map(|c| {
        (
            c.to_string(),
            format!("https://{c}.example/feed"),
            vec!["all".to_string()],
            0,
        )
    })
    .collect();
    std::fs::write(
        &config_path,
        common::config_toml("127.0.0.1:9", &dir.path().join("c.db"), &["all"], &sources),
    )
    .unwrap();
    let config = wiredesk::config::load(&config_path).unwrap();
    let mut store = Store::open(&config.storage.path).unwrap();
    store.sync_sources(&config).unwrap();
    let rows = store.sources().unwrap();
    drop(store);
    let exact_only = wiredesk::config::DedupConfig {
        near_duplicates: false,
        ..Default::default()
    };
    let mut ingester = Ingester::open(&config.storage.path, &exact_only).unwrap();

    let (mut parsed, mut refused, mut entries, mut panics) = (0, 0, 0, Vec::new());
    let mut by_corpus = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for file in &files {
        let rel = file
            .strip_prefix(common::shared_dir().join("corpora"))
            .unwrap();
        let corpus = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let bytes = std::fs::read(file).unwrap();
        let name = file.display().to_string();
        let base = format!("https://{corpus}.example/{}", rel.display());

        let inspected = catch_unwind(AssertUnwindSafe(|| {
            wiredesk::cli::inspect::inspect_bytes(&name, &bytes, None, &base, true)
        }));
        match inspected {
            Err(_) => panics.push(format!("inspect panicked on {name}")),
            Ok(Err(e)) => {
                let msg = format!("{e:#}");
                assert!(!msg.contains('\n'), "error is not one line: {msg}");
                assert!(
                    msg.starts_with(&name),
                    "error does not name the file: {msg}"
                );
            }
            Ok(Ok(_)) => {}
        }

        let source = rows.iter().find(|s| s.name == corpus).unwrap();
        let ingested = catch_unwind(AssertUnwindSafe(|| -> anyhow::Result<usize> {
            let parsed = wiredesk::parse::parse_feed(&bytes, None, Some(&base))?;
            let items =
                wiredesk::normalize::normalize_feed(&parsed.feed, &base, Utc::now()).unwrap();
            let n = items.len();
            ingester.ingest_one(source, items, Utc::now().timestamp())?;
            Ok(n)
        }));
        let slot = by_corpus.entry(corpus).or_default();
        match ingested {
            Err(_) => panics.push(format!("ingest panicked on {name}")),
            Ok(Ok(n)) => {
                parsed += 1;
                slot.0 += 1;
                entries += n;
            }
            Ok(Err(_)) => {
                refused += 1;
                slot.1 += 1;
            }
        }
    }
    println!(
        "corpus: {} files, {parsed} parsed and ingested ({entries} entries), {refused} refused",
        files.len()
    );
    for (corpus, (ok, bad)) in &by_corpus {
        println!("  {corpus}: {ok} parsed, {bad} refused");
    }
    assert!(panics.is_empty(), "{panics:#?}");
    let store = Store::open(&config.storage.path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    // The parser must read the bulk of the corpus; a collapse here is a regression. feed-rs's `.serde.json`
    // baselines are not feeds, so they are run but not counted.
    let feeds = files
        .iter()
        .filter(|f| !f.to_string_lossy().ends_with(".serde.json"))
        .count();
    assert!(
        parsed * 100 / feeds >= 93,
        "only {parsed} of {feeds} feed files parsed"
    );
}
