//! Retention under steady churn, on a real SQLite file with a simulated clock: 20 sources publish 10 items
//! every half day and keep listing each item for 1.75 days; retention is 1 day and upkeep runs every cycle.
//! Items past retention go, feeds that still list them do not bring them back (their tombstones refuse
//! them), and after a few days the database, its log, the items and the tombstones stop growing.

use std::path::Path;

use chrono::DateTime;
use wiredesk::normalize::NormalizedItem;
use wiredesk::pipeline::Ingester;
use wiredesk::store::Store;

const SOURCES: usize = 20;
const ITEMS_PER_CYCLE: usize = 10;
const CYCLE_SECS: i64 = 43_200;
/// Each feed lists its last 35 items: 1.75 days at 20 a day.
const LISTED: usize = 35;
const RETENTION_SECS: i64 = 86_400;
const CYCLES: usize = 40;

fn item(source: usize, n: usize, at: i64) -> NormalizedItem {
    // About 1.5 KB of text per item, as a news summary with some markup would be.
    let body = format!("Report {n} from source {source}. ").repeat(40);
    NormalizedItem {
        guid: format!("s{source}-{n}"),
        url: Some(format!("https://s{source}.example/{n}")),
        canonical_url: Some(format!("https://s{source}.example/{n}")),
        title: format!("Source {source} headline number {n} about the harbour"),
        summary: body.clone(),
        content_html: format!("<p>{body}</p>"),
        author: None,
        published: DateTime::from_timestamp(at, 0).unwrap(),
        date_from_feed: true,
        content_hash: None,
        ..Default::default()
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

#[test]
fn retention_prunes_keeps_pruned_items_out_and_storage_stops_growing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("churn.db");
    let mut toml = format!(
        "[storage]\npath = {db:?}\nretention_days = 1\n[dedup]\nnear_duplicates = false\n\
         [[sections]]\nid = \"all\"\n"
    );
    for s in 0..SOURCES {
        toml.push_str(&format!(
            "[[sources]]\nname = \"s{s}\"\nurl = \"https://s{s}.example/feed\"\nsections = [\"all\"]\n"
        ));
    }
    let config = wiredesk::config::parse(&dir.path().join("feeds.toml"), &toml).unwrap();
    let mut upkeep = Store::open(&db).unwrap();
    upkeep.sync_sources(&config).unwrap();
    let sources = upkeep.sources().unwrap();
    let mut ingester = Ingester::open(&db, &config.dedup).unwrap();
    // As in the daemon, a thread of its own copies committed pages back from the log.
    let checkpointer = wiredesk::store::Checkpointer::start(&db).unwrap();
    let wal = wiredesk::store::wal_path(&db);

    let start = 1_800_000_000;
    let mut sizes = Vec::new();
    let mut refused_total = 0;
    for cycle in 0..CYCLES {
        let now = start + cycle as i64 * CYCLE_SECS;
        let mut refused = 0;
        for (k, source) in sources.iter().enumerate() {
            // The feed lists its newest items; the oldest of them may already be pruned.
            let newest = (cycle + 1) * ITEMS_PER_CYCLE;
            let listed: Vec<NormalizedItem> = (newest.saturating_sub(LISTED)..newest)
                .map(|n| item(k, n, start + (n / ITEMS_PER_CYCLE) as i64 * CYCLE_SECS))
                .collect();
            let tombstoned = listed
                .iter()
                .filter(|i| i.published.timestamp() < now - RETENTION_SECS)
                .count();
            let stored = ingester.ingest_one(source, listed, now).unwrap();
            checkpointer.committed();
            refused += tombstoned;
            assert!(
                stored.counts.new_items <= ITEMS_PER_CYCLE,
                "cycle {cycle}: {} new items from source {k}; pruned items came back",
                stored.counts.new_items
            );
        }
        refused_total += refused;
        upkeep.prune(now - RETENTION_SECS, now).unwrap();
        checkpointer.committed();
        // The checkpoint thread runs at most every 250 ms; give it its turn, as the daemon's pace would.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let old = count(
            &db,
            &format!(
                "SELECT count(*) FROM items WHERE published < {}",
                now - RETENTION_SECS
            ),
        );
        assert_eq!(
            old, 0,
            "cycle {cycle}: items past retention are still stored"
        );
        sizes.push((
            count(&db, "SELECT count(*) FROM items"),
            count(&db, "SELECT count(*) FROM tombstones"),
            size(&db),
            size(&wal),
        ));
    }
    assert!(
        refused_total > 1_000,
        "the feeds listed only {refused_total} pruned items; the test proves nothing"
    );
    for (cycle, (items, tombstones, db_bytes, wal_bytes)) in sizes.iter().enumerate() {
        if cycle % 5 == 4 {
            println!(
                "cycle {:2} (day {:4.1}): {items} items, {tombstones} tombstones, database {:.2} MB, WAL {:.2} MB",
                cycle + 1,
                (cycle + 1) as f64 / 2.0,
                *db_bytes as f64 / 1e6,
                *wal_bytes as f64 / 1e6
            );
        }
    }
    println!("{refused_total} listings of pruned items were refused");
    // From day 5 on the counts are flat, and the files grow no further.
    let steady = &sizes[10..];
    let first = steady[0];
    for (k, s) in steady.iter().enumerate() {
        assert_eq!(
            (s.0, s.1),
            (first.0, first.1),
            "cycle {}: items and tombstones still change",
            k + 10
        );
    }
    let db_max_mid = sizes[10..20].iter().map(|s| s.2).max().unwrap();
    let db_max_end = sizes[20..].iter().map(|s| s.2).max().unwrap();
    assert!(
        db_max_end <= db_max_mid + db_max_mid / 20,
        "the database kept growing: {db_max_mid} then {db_max_end} bytes"
    );
    let wal_max = sizes.iter().map(|s| s.3).max().unwrap();
    assert!(
        wal_max as i64 <= wiredesk::store::WAL_SIZE_LIMIT,
        "the log reached {wal_max} bytes"
    );
    drop(ingester);
    assert_eq!(upkeep.integrity_check().unwrap(), "ok");
}
