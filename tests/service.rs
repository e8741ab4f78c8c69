//! wiredesk as a service, tried on the real binary over loopback:
//! - the systemd unit verifies and rates at most 2.0 in `systemd-analyze security` (when systemd-analyze
//!   is there; CI installs it);
//! - the notify protocol over a NOTIFY_SOCKET the test binds: READY=1 once the listener is up, WATCHDOG=1
//!   while healthy, none while another process holds the write lock, again once it lets go, STOPPING=1;
//! - SIGTERM during slow polls with slow and half-open HTTP clients: exit 0 within the deadlines, and the
//!   database passes integrity_check; a second signal exits at once;
//! - /metrics parsed by a Prometheus text parser, its counters moving as polls happen; a backup taken
//!   during ingestion; import-opml of the daemon's own /feeds.opml;
//! - `poll --once` beside the daemon shows up in its published feeds within seconds.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use feedfarm::{FarmConfig, FarmHandle};

const BIN: &str = env!("CARGO_BIN_EXE_wiredesk");

use common::{Binary, free_addr, signal};

async fn farm(feeds: u64, latency: Duration, new_items_every: Option<Duration>) -> FarmHandle {
    feedfarm::start(FarmConfig {
        hosts: 2,
        feeds,
        latency,
        new_items_every,
        ..FarmConfig::default()
    })
    .await
    .expect("the farm binds on loopback")
}

/// A config polling `urls` every two seconds into `db`, serving on `listen`, with `extra` appended.
fn config_text(listen: &str, db: &Path, urls: &[String], extra: &str) -> String {
    let sources: Vec<common::SourceSpec> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| (format!("source {i}"), u.clone(), vec!["all".to_string()], 0))
        .collect();
    let mut toml = common::config_toml(listen, db, &["all"], &sources)
        .replace("schedule = \"0 0 1 1 *\"", "schedule = \"*/2 * * * * *\"");
    toml.push_str("[polling]\nmin_interval_secs = 1\nbackoff_base_secs = 2\n");
    toml.push_str(extra);
    toml
}

/// Starts `wiredesk run` on `config` with `env`, its log in `log`.
fn start(config: &Path, log: &Path, env: &[(&str, String)]) -> Binary {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--config"])
        .arg(config)
        .env("WIREDESK_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Binary(cmd.spawn().unwrap())
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let up = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "the daemon did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Waits for the child to exit, for at most `limit`; its exit code and how long it took.
fn wait_exit(child: &mut Child, limit: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), started.elapsed());
        }
        assert!(
            started.elapsed() < limit,
            "still running {limit:?} after the signal"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_unit_verifies_and_is_hardened() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: systemd-analyze is missing (apt-get install -y systemd; .ci/run does)");
        return;
    }
    // The unit names the installed binary; point it at this build so `verify` can check it exists.
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/wiredesk.service"),
    )
    .unwrap()
    .replace("/usr/local/bin/wiredesk", BIN);
    let path = dir.path().join("wiredesk.service");
    std::fs::write(&path, unit).unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stderr).to_string();
    assert!(verify.status.success() && said.trim().is_empty(), "{said}");
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&security.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    let exposure: f64 = line
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure in `{line}`"));
    println!("{}", line.trim());
    assert!(exposure <= 2.0, "{line}");
}

/// What a NOTIFY_SOCKET received, with the time each datagram arrived.
type Received = Arc<Mutex<Vec<(Instant, String)>>>;

fn listen_for_notifications(socket: UnixDatagram) -> Received {
    let got: Received = Arc::default();
    let sink = got.clone();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match socket.recv(&mut buf) {
                Ok(n) => sink.lock().unwrap().push((
                    Instant::now(),
                    String::from_utf8_lossy(&buf[..n]).to_string(),
                )),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
            if Arc::strong_count(&sink) == 1 {
                return;
            }
        }
    });
    got
}

fn pings_between(got: &Received, from: Instant, to: Instant) -> usize {
    got.lock()
        .unwrap()
        .iter()
        .filter(|(t, m)| *t >= from && *t < to && m.lines().any(|l| l == "WATCHDOG=1"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_ready_after_listening_and_watchdog_only_while_writable() {
    let farm = farm(10, Duration::from_millis(10), Some(Duration::from_secs(1))).await;
    let urls: Vec<String> = (0..10).map(|k| farm.feed_url(k)).collect();
    let dir = tempfile::tempdir().unwrap();
    let listen = free_addr();
    let db = dir.path().join("n.db");
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, config_text(&listen, &db, &urls, "")).unwrap();
    let socket_path = dir.path().join("notify.sock");
    let got = listen_for_notifications(UnixDatagram::bind(&socket_path).unwrap());
    // A 1 s watchdog: pings every 0.5 s while healthy.
    let mut child = start(
        &config,
        &dir.path().join("daemon.log"),
        &[
            ("NOTIFY_SOCKET", socket_path.display().to_string()),
            ("WATCHDOG_USEC", "1000000".into()),
        ],
    );
    let started = Instant::now();
    let ready_at = loop {
        if let Some((t, _)) = got
            .lock()
            .unwrap()
            .iter()
            .find(|(_, m)| m.lines().any(|l| l == "READY=1"))
        {
            break *t;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no READY=1 within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // READY=1 came after the listener was up: a connection right now succeeds.
    assert!(
        std::net::TcpStream::connect(&listen).is_ok(),
        "READY=1 arrived before the server listened"
    );
    let ready = got
        .lock()
        .unwrap()
        .iter()
        .find(|(t, _)| *t == ready_at)
        .unwrap()
        .1
        .clone();
    assert!(ready.contains("STATUS=10 sources"), "{ready}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let healthy = pings_between(&got, ready_at, Instant::now());
    assert!(healthy >= 4, "{healthy} pings in 3 healthy seconds");

    // Another process holds the write lock: the writer cannot store, health degrades, pings stop.
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let locked = Instant::now();
    let client = reqwest::Client::new();
    let base = format!("http://{listen}");
    let mut degraded_at = None;
    while locked.elapsed() < Duration::from_secs(40) {
        let r = client.get(format!("{base}/healthz")).send().await.unwrap();
        if r.status() == 503 {
            degraded_at = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let degraded_at = degraded_at.expect("/healthz never said degraded under a held lock");
    // From a moment after health went bad, no ping for 4 s (8 periods).
    let quiet_from = degraded_at + Duration::from_millis(700);
    tokio::time::sleep(Duration::from_millis(4_700)).await;
    let during = pings_between(&got, quiet_from, Instant::now());
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    let released = Instant::now();
    assert_eq!(
        during, 0,
        "watchdog pings went on while the store took no writes"
    );
    // They resume once the store takes writes again (the writer retries within its backoff).
    let mut resumed = None;
    while released.elapsed() < Duration::from_secs(45) {
        if pings_between(&got, released, Instant::now()) >= 2 {
            resumed = Some(released.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let resumed = resumed.expect("no watchdog ping within 45 s after the lock was released");
    signal(&child.0, "TERM");
    let (code, _) = wait_exit(&mut child.0, Duration::from_secs(20));
    assert_eq!(code, Some(0));
    let all = got.lock().unwrap().clone();
    assert!(
        all.iter()
            .any(|(_, m)| m.lines().any(|l| l == "STOPPING=1")),
        "no STOPPING=1"
    );
    println!(
        "READY=1 {:.1} s after start; {healthy} pings in 3 s; /healthz degraded {:.1} s into the lock, no ping for the 4 s after; pings again {:.1} s after the release",
        (ready_at - started).as_secs_f64(),
        (degraded_at - locked).as_secs_f64(),
        resumed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_slow_polls_and_slow_clients_exits_within_the_deadlines() {
    // Every answer takes 6 s, so polls are in flight when the signal comes.
    let farm = farm(20, Duration::from_secs(6), Some(Duration::from_secs(1))).await;
    let urls: Vec<String> = (0..20).map(|k| farm.feed_url(k)).collect();
    let dir = tempfile::tempdir().unwrap();
    let listen = free_addr();
    let db = dir.path().join("s.db");
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        config_text(
            &listen,
            &db,
            &urls,
            "[shutdown]\npoll_deadline_secs = 3\nhttp_deadline_secs = 2\n",
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let mut child = start(&config, &log, &[]);
    let client = reqwest::Client::new();
    let base = format!("http://{listen}");
    wait_healthy(&client, &base).await;
    // Let a first round land and the next be in flight.
    let started = Instant::now();
    while farm.stats().totals.requests < 25 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the farm saw no second round"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A half-open client (headers never finished), a slow one (one byte a second), and one that reads
    // nothing of a response it asked for.
    let mut half_open = std::net::TcpStream::connect(&listen).unwrap();
    half_open
        .write_all(b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let slow_addr = listen.clone();
    let slow = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(&slow_addr).unwrap();
        for b in b"GET /feeds/all.rss HTTP/1.1\r\nHost: slow\r\n\r\n" {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1000));
        }
    });
    let mut not_reading = std::net::TcpStream::connect(&listen).unwrap();
    not_reading
        .write_all(b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    signal(&child.0, "TERM");
    let (code, took) = wait_exit(&mut child.0, Duration::from_secs(25));
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, Some(0), "{text}");
    // The deadlines run together: the larger (3 s) plus the writer's close and a loaded machine's slack.
    assert!(took < Duration::from_secs(9), "took {took:?}:\n{text}");
    assert!(text.contains("stopping: no new polls"), "{text}");
    assert_eq!(integrity(&db), "ok");
    // The server is gone: the half-open client's connection was closed.
    half_open
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        matches!(half_open.read(&mut buf), Ok(0) | Err(_)),
        "the half-open connection is still served"
    );
    drop(not_reading);
    let _ = slow.join();
    println!(
        "SIGTERM with polls in flight and 3 slow HTTP clients: exit 0 after {:.2} s (deadlines: polls 3 s, HTTP 2 s); integrity ok",
        took.as_secs_f64()
    );

    // A second signal does not wait for anything.
    let mut child = start(&config, &log, &[]);
    wait_healthy(&client, &base).await;
    let polled = farm.stats().totals.requests;
    while farm.stats().totals.requests < polled + 5 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal(&child.0, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child.0, "TERM");
    let (code, took) = wait_exit(&mut child.0, Duration::from_secs(10));
    assert_eq!(code, Some(1), "a second signal exits at once, with 1");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(integrity(&db), "ok");
    println!(
        "a second SIGTERM 0.3 s after the first: exit 1 after {:.2} s; integrity ok",
        took.as_secs_f64()
    );
}

/// The value of every sample of `name` in a scrape, summed.
fn total(scrape: &prometheus_parse::Scrape, name: &str) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => 0.0,
        })
        .sum()
}

async fn scrape(client: &reqwest::Client, base: &str) -> prometheus_parse::Scrape {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .unwrap_or_else(|e| panic!("{e}:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_backups_hold_committed_stories_and_the_opml_round_trips() {
    let farm = farm(30, Duration::from_millis(10), Some(Duration::from_secs(1))).await;
    let urls: Vec<String> = (0..30).map(|k| farm.feed_url(k)).collect();
    let dir = tempfile::tempdir().unwrap();
    let listen = free_addr();
    let db = dir.path().join("m.db");
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, config_text(&listen, &db, &urls, "")).unwrap();
    let _child = start(&config, &dir.path().join("daemon.log"), &[]);
    let client = reqwest::Client::new();
    let base = format!("http://{listen}");
    wait_healthy(&client, &base).await;

    // /metrics parses, and its counters move as polls happen.
    let first = scrape(&client, &base).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let second = scrape(&client, &base).await;
    for name in [
        "wiredesk_polls_total",
        "wiredesk_fetch_duration_seconds",
        "wiredesk_fetched_bytes_total",
        "wiredesk_items_total",
        "wiredesk_dedup_decisions_total",
    ] {
        let (a, b) = (total(&first, name), total(&second, name));
        assert!(b > a, "{name} did not move: {a} then {b}");
        println!("{name}: {a} then {b}");
    }
    let ok_sources = second
        .samples
        .iter()
        .find(|s| s.metric == "wiredesk_sources" && s.labels.get("state") == Some("ok"))
        .map(|s| match s.value {
            prometheus_parse::Value::Gauge(v) => v,
            _ => -1.0,
        });
    assert_eq!(ok_sources, Some(30.0));
    assert!(total(&second, "wiredesk_database_size_bytes") > 0.0);
    assert!(
        second
            .samples
            .iter()
            .any(|s| s.metric == "wiredesk_last_publish_timestamp_seconds"
                && s.labels.get("section") == Some("all"))
    );

    // A backup while the daemon ingests holds every story committed before it started.
    let before: Vec<String> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn.prepare("SELECT guid FROM stories").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let copy = dir.path().join("backup.db");
    let out = Command::new(BIN)
        .args(["backup", "--config"])
        .arg(&config)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(integrity(&copy), "ok");
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let missing = before
        .iter()
        .filter(|g| {
            conn.query_row("SELECT count(*) FROM stories WHERE guid = ?1", [g], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
                == 0
        })
        .count();
    assert_eq!(
        missing, 0,
        "stories committed before the backup are missing from it"
    );
    print!(
        "{} ({} stories before it started)",
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or(""),
        before.len()
    );
    println!();
    let again = Command::new(BIN)
        .args(["backup", "--config"])
        .arg(&config)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!again.status.success(), "a backup never overwrites a file");

    // The daemon's own /feeds.opml goes through import-opml into another wiredesk's config.
    let opml = client
        .get(format!("{base}/feeds.opml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let opml_path = dir.path().join("feeds.opml");
    std::fs::write(&opml_path, &opml).unwrap();
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        "[storage]\npath = \"other.db\"\n[[sections]]\nid = \"wires\"\ntitle = \"Wires\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["import-opml", "--config"])
        .arg(&other)
        .arg(&opml_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let merged = format!("{}{printed}", std::fs::read_to_string(&other).unwrap());
    let parsed =
        wiredesk::config::parse(&other, &merged).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    let imported: Vec<(&str, &str)> = parsed
        .sources
        .iter()
        .map(|s| (s.url.as_str(), s.sections[0].as_str()))
        .collect();
    let rss = format!("{base}/feeds/all.rss");
    assert_eq!(imported, vec![(rss.as_str(), "wires")], "{printed}");
    // Importing it again into the merged config adds nothing.
    std::fs::write(&other, &merged).unwrap();
    let out = Command::new(BIN)
        .args(["import-opml", "--config"])
        .arg(&other)
        .arg(&opml_path)
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.starts_with("# 0 feed(s) to add"), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_once_beside_the_daemon_shows_up_in_its_feeds_within_seconds() {
    // One feed whose body the test switches; the daemon polls it once at start (its schedule is yearly).
    let body = Arc::new(Mutex::new(rss_with(&["First story on the wire"])));
    let served = body.clone();
    let app = axum::Router::new().route(
        "/feed.xml",
        axum::routing::get(move || {
            let b = served.lock().unwrap().clone();
            async move { ([("content-type", "application/rss+xml")], b) }
        }),
    );
    let feeds = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feed_url = format!("http://{}/feed.xml", feeds.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(feeds, app).await });
    let dir = tempfile::tempdir().unwrap();
    let listen = free_addr();
    let db = dir.path().join("x.db");
    let config = dir.path().join("feeds.toml");
    let sources = vec![("wire".to_string(), feed_url, vec!["all".to_string()], 0)];
    std::fs::write(
        &config,
        common::config_toml(&listen, &db, &["all"], &sources),
    )
    .unwrap();
    let _child = start(&config, &dir.path().join("daemon.log"), &[]);
    let client = reqwest::Client::new();
    let base = format!("http://{listen}");
    wait_healthy(&client, &base).await;
    let feed = || async {
        client
            .get(format!("{base}/feeds/all.rss"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let up = Instant::now();
    while !feed().await.contains("First story on the wire") {
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "the first poll never showed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    *body.lock().unwrap() = rss_with(&[
        "First story on the wire",
        "Second story, stored by poll once",
    ]);
    let out = Command::new(BIN)
        .args(["poll", "--once", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = Instant::now();
    while !feed().await.contains("Second story, stored by poll once") {
        assert!(
            stored.elapsed() < Duration::from_secs(10),
            "the daemon still serves the old feed 10 s after poll --once stored a new item"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "an item stored by poll --once was in the daemon's feed {:.1} s later",
        stored.elapsed().as_secs_f64()
    );
}

/// An RSS document with one item per title.
fn rss_with(titles: &[&str]) -> String {
    let items: String = titles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "<item><title>{t}</title><link>https://wire.example/{i}</link><guid>https://wire.example/{i}</guid>\
                 <description>Body of {t}, with enough words to stand alone.</description>\
                 <pubDate>Tue, 01 Dec 2026 1{i}:00:00 GMT</pubDate></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title><link>https://wire.example/</link>\
         <description>d</description>{items}</channel></rss>"
    )
}

/// `server.status_listen` takes `/status` off the public address onto its own, which also answers
/// `/healthz` and `/metrics` and nothing else; a reload that drops the key brings `/status` back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_moves_to_its_own_address_and_back_on_reload() {
    let farm = farm(2, Duration::ZERO, None).await;
    let dir = tempfile::tempdir().unwrap();
    let (listen, operators) = (free_addr(), free_addr());
    let db = dir.path().join("s.db");
    let urls: Vec<String> = (0..2).map(|k| farm.feed_url(k)).collect();
    let base_config = config_text(&listen, &db, &urls, "");
    let with_status = base_config.replace(
        "[storage]",
        &format!("status_listen = \"{operators}\"\n[storage]"),
    );
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, &with_status).unwrap();
    let daemon = start(&config, &dir.path().join("daemon.log"), &[]);
    let client = reqwest::Client::new();
    let (public, private) = (format!("http://{listen}"), format!("http://{operators}"));
    wait_healthy(&client, &public).await;
    let get = |url: String| {
        let client = client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };

    let (code, body) = get(format!("{public}/status")).await;
    assert_eq!(code, 404, "/status left the public address: {body}");
    let (code, index) = get(format!("{public}/")).await;
    assert_eq!(code, 200);
    assert!(
        !index.contains("href=\"/status\""),
        "the public pages do not link to a page they do not serve"
    );
    assert_eq!(get(format!("{public}/feeds/all.rss")).await.0, 200);
    let (code, status) = get(format!("{private}/status")).await;
    assert_eq!(code, 200);
    assert!(status.contains("source 0"), "{status}");
    assert!(
        status.contains(&format!("href=\"{public}/\"")),
        "the status page on the operators' address links to the sections on the public one"
    );
    assert_eq!(get(format!("{private}/healthz")).await.0, 200);
    assert_eq!(get(format!("{private}/metrics")).await.0, 200);
    let (code, body) = get(format!("{private}/feeds/all.rss")).await;
    assert_eq!(code, 404);
    assert!(body.contains("operators' address"), "{body}");

    // Dropping the key on a reload brings /status back to the public address and closes the other.
    std::fs::write(&config, &base_config).unwrap();
    signal(&daemon.0, "HUP");
    let moved = Instant::now();
    while get(format!("{public}/status")).await.0 != 200 {
        assert!(
            moved.elapsed() < Duration::from_secs(20),
            "/status did not come back after the reload"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .get(format!("{private}/healthz"))
        .send()
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "the operators' address still answers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
