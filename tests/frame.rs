//! The failure policy, tried as an operator would meet it, with faults injected on loopback:
//! - another process holds the SQLite write lock for 30 s: `/healthz` says degraded, feeds are still
//!   served, and every source is polled again by itself once the lock is released;
//! - the disk fills up (a small tmpfs; root only): the same, and ingestion resumes when space returns;
//! - one source's refresh panics: the daemon keeps running, the others keep being polled, that source
//!   backs off;
//! - 20 SIGHUPs to the real binary with valid, invalid and unbuildable configs: the daemon serves
//!   throughout, the per-host limit holds, and a Retry-After pause survives every reload.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use feedfarm::{FarmConfig, FarmHandle};

/// Every source polls every 2 s and backs off for 3 s, so the tests see many polls quickly.
const FAST_POLLING: &str = "[polling]\nmin_interval_secs = 1\nbackoff_base_secs = 3\n";

async fn farm(feeds: u64, new_items_every: Option<Duration>) -> FarmHandle {
    feedfarm::start(FarmConfig {
        hosts: 3,
        feeds,
        latency: Duration::from_millis(10),
        new_items_every,
        ..FarmConfig::default()
    })
    .await
    .expect("the farm binds on loopback")
}

/// A config polling `urls` every two seconds, with the database at `db` and `fetch` added to `[fetch]`.
fn config_text(listen: &str, db: &Path, urls: &[String], fetch: &str) -> String {
    let sources: Vec<common::SourceSpec> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| (format!("source {i}"), u.clone(), vec!["all".to_string()], 0))
        .collect();
    let mut toml = common::config_toml(listen, db, &["all"], &sources)
        .replace("schedule = \"0 0 1 1 *\"", "schedule = \"*/2 * * * * *\"");
    // config_toml ends inside `[fetch]`.
    toml.push_str(fetch);
    toml.push_str(FAST_POLLING);
    toml
}

/// A daemon running in this process.
struct Daemon {
    base: String,
    db: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    async fn start(dir: &Path, db: PathBuf, urls: &[String]) -> Daemon {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen = listener.local_addr().unwrap().to_string();
        let path = dir.join("feeds.toml");
        std::fs::write(&path, config_text(&listen, &db, urls, "")).unwrap();
        let config = wiredesk::config::load(&path).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(wiredesk::daemon::run_with_listener(
            path,
            config,
            listener,
            async {
                let _ = stopped.await;
            },
        ));
        let base = format!("http://{listen}");
        let up = Instant::now();
        while reqwest::get(format!("{base}/healthz")).await.is_err() {
            assert!(
                up.elapsed() < Duration::from_secs(30),
                "the daemon did not come up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Daemon {
            base,
            db,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the daemon stops")
            .unwrap()
            .unwrap();
    }
}

/// `/healthz`: its status code and body.
async fn healthz(client: &reqwest::Client, base: &str) -> (u16, String) {
    let r = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {base}/healthz: {e}"));
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The status of GET `path`.
async fn status_of(client: &reqwest::Client, base: &str, path: &str) -> u16 {
    client
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {base}{path}: {e}"))
        .status()
        .as_u16()
}

/// A source's polling state as stored: (url, last_polled, last_result, due_reason, consecutive_errors).
type Polled = (String, Option<i64>, Option<String>, Option<String>, i64);

/// Every source's polling state, read beside the daemon.
fn sources(db: &Path) -> Vec<Polled> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT url, last_polled, last_result, due_reason, consecutive_errors FROM sources ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Waits until `check` holds, polling every 200 ms, for at most `limit`.
async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn items(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_write_lock_degrades_health_and_polling_resumes_by_itself() {
    let farm = farm(60, Some(Duration::from_secs(2))).await;
    let urls: Vec<String> = (0..60).map(|k| farm.feed_url(k)).collect();
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), dir.path().join("w.db"), &urls).await;
    let client = reqwest::Client::new();
    eventually(Duration::from_secs(60), "every source polled once", || {
        sources(&daemon.db).iter().all(|s| s.1.is_some())
    })
    .await;

    // Another process takes the write lock and keeps it for 30 s.
    let lock = rusqlite::Connection::open(&daemon.db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let held = Instant::now();
    let mut degraded = Vec::new();
    while held.elapsed() < Duration::from_secs(30) {
        let (code, body) = healthz(&client, &daemon.base).await;
        if code == 503 {
            degraded.push(body);
        }
        assert_eq!(
            status_of(&client, &daemon.base, "/feeds/all.rss").await,
            200,
            "feeds are served while the store is locked"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    let released = now();
    assert!(
        !degraded.is_empty(),
        "/healthz never said the store was unwritable during a 30 s lock"
    );
    assert!(
        degraded
            .iter()
            .any(|b| b.contains("\"degraded\"") && b.contains("locked")),
        "{degraded:?}"
    );
    println!(
        "/healthz answered 503 {} times during the hold; first: {}",
        degraded.len(),
        degraded[0]
    );

    // No signal, no restart: every source is polled again within the writer's backoff.
    let recovered = Instant::now();
    eventually(
        Duration::from_secs(60),
        "every source polled after the lock was released",
        || {
            sources(&daemon.db)
                .iter()
                .all(|s| s.1.unwrap_or(0) >= released)
        },
    )
    .await;
    println!(
        "every source was polled again {:.1} s after the release",
        recovered.elapsed().as_secs_f64()
    );
    let (code, body) = healthz(&client, &daemon.base).await;
    assert_eq!(code, 200, "{body}");
    daemon.stop().await;
}

/// Unmounts the tmpfs when the test ends, whatever happens.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        // The daemon's threads close the database a moment after it stops.
        for _ in 0..50 {
            if Command::new("umount")
                .arg(&self.0)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_degrades_health_and_ingestion_resumes_when_space_returns() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } != 0 {
        eprintln!("skipped: mounting a small tmpfs to fill needs root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&disk)
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        eprintln!("skipped: `mount -t tmpfs` failed here (no CAP_SYS_ADMIN in this container?)");
        return;
    }
    let _mount = Mount(disk.clone());

    let farm = farm(30, Some(Duration::from_secs(1))).await;
    let urls: Vec<String> = (0..30).map(|k| farm.feed_url(k)).collect();
    let daemon = Daemon::start(dir.path(), disk.join("w.db"), &urls).await;
    let client = reqwest::Client::new();
    eventually(Duration::from_secs(60), "every source polled once", || {
        sources(&daemon.db).iter().all(|s| s.1.is_some())
    })
    .await;

    // Fill the disk to the last byte.
    let filler = disk.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 << 10];
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
    }
    let full = Instant::now();
    let mut degraded = None;
    while full.elapsed() < Duration::from_secs(90) {
        let (code, body) = healthz(&client, &daemon.base).await;
        assert_eq!(
            status_of(&client, &daemon.base, "/feeds/all.rss").await,
            200,
            "feeds are served while the disk is full"
        );
        if code == 503 {
            degraded = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let degraded = degraded.expect("/healthz never reported the full disk");
    assert!(degraded.contains("full"), "{degraded}");
    println!(
        "/healthz degraded {:.1} s after the disk filled: {degraded}",
        full.elapsed().as_secs_f64()
    );

    // Space comes back: ingestion resumes with no signal.
    std::fs::remove_file(&filler).unwrap();
    let before = items(&daemon.db);
    let freed = now();
    eventually(
        Duration::from_secs(90),
        "new items stored after space returned",
        || {
            items(&daemon.db) > before
                && sources(&daemon.db)
                    .iter()
                    .all(|s| s.1.unwrap_or(0) >= freed)
        },
    )
    .await;
    let mut ok = false;
    for _ in 0..50 {
        if healthz(&client, &daemon.base).await.0 == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok, "/healthz stayed degraded after space returned");
    daemon.stop().await;
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_refresh_backs_off_and_the_others_keep_polling() {
    let farm = farm(6, None).await;
    let urls: Vec<String> = (0..6).map(|k| farm.feed_url(k)).collect();
    let doomed = urls[0].clone();
    let target = doomed.clone();
    wiredesk::pipeline::set_refresh_hook(Some(Arc::new(move |url: &str| {
        if url == target {
            panic!("a test-injected bug while refreshing {url}");
        }
    })));
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(dir.path(), dir.path().join("w.db"), &urls).await;
    let client = reqwest::Client::new();
    // The doomed source panics, backs off 3 s, panics again, backs off 6 s...
    eventually(
        Duration::from_secs(60),
        "the panicking source failed twice",
        || {
            sources(&daemon.db)
                .iter()
                .any(|s| s.0 == doomed && s.4 >= 2)
        },
    )
    .await;
    assert!(!daemon.task.is_finished(), "the daemon keeps running");
    let rows = sources(&daemon.db);
    let row = rows.iter().find(|s| s.0 == doomed).unwrap();
    assert_eq!(row.2.as_deref(), Some("error (panic)"));
    assert_eq!(row.3.as_deref(), Some("backoff"));
    let stats = farm.stats();
    assert_eq!(
        stats.path_count("/feeds/0.xml"),
        0,
        "the panic struck before the fetch"
    );
    for k in 1..6 {
        let n = stats.path_count(&format!("/feeds/{k}.xml"));
        assert!(n >= 2, "feed {k} was polled only {n} times");
    }
    let (code, _) = healthz(&client, &daemon.base).await;
    assert_eq!(
        code, 200,
        "one source's bug does not make the daemon unhealthy"
    );
    let metrics = client
        .get(format!("{}/metrics", daemon.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("wiredesk_poll_failures_total{kind=\"panic\"}")),
        "{metrics}"
    );
    wiredesk::pipeline::set_refresh_hook(None);
    daemon.stop().await;
}

use common::{Binary, free_addr, signal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_reloads_keep_serving_keep_limits_and_keep_pauses() {
    let farm = farm(30, None).await;
    // Host 0 serves feeds 0, 3, 6, ... and this one, which answers 429 with a 60 s Retry-After.
    let limited = format!("{}/fault/429/0.xml?retry_after=60", farm.host_url(0));
    let mut urls: Vec<String> = (0..30).map(|k| farm.feed_url(k)).collect();
    urls.push(limited.clone());
    let dir = tempfile::tempdir().unwrap();
    let listen = free_addr();
    let db = dir.path().join("w.db");
    let path = dir.path().join("feeds.toml");
    let valid = |n: usize| {
        // Each valid config renames one source, so a reload really changes something.
        config_text(&listen, &db, &urls, "per_host = 2\n").replace(
            "name = \"source 5\"",
            &format!("name = \"source 5, reload {n}\""),
        )
    };
    std::fs::write(&path, valid(0)).unwrap();
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_wiredesk"))
        .args(["run", "--config"])
        .arg(&path)
        .env("WIREDESK_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let child = Binary(child);
    let base = format!("http://{listen}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let up = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "the daemon did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Wait for the 429: from then on host 0 is paused for 60 s.
    eventually(Duration::from_secs(30), "the 429 was answered", || {
        farm.stats().path_count("/fault/429/0.xml") >= 1
    })
    .await;
    let paused_at = Instant::now();
    let host0 = format!("127.0.1.1:{}", farm.port);
    let host0_requests = || farm.stats().host(&host0).map_or(0, |h| h.requests);
    // Requests to host 0 already in flight when the 429 came may still land.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let host0_before = host0_requests();
    let others_before = farm.stats().totals.requests - host0_before;

    // A valid config, one that does not validate, and one that validates but cannot be put in force
    // (its listen address is taken), in turn.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let mut refused = 0;
    for n in 1..=20 {
        let text = match n % 3 {
            0 => valid(n),
            1 => valid(n).replace("[fetch]\n", "[fetch]\nuser_agent = \"bad\\u0007agent\"\n"),
            _ => valid(n).replace(
                &format!("listen = \"{listen}\""),
                &format!("listen = \"{busy_addr}\""),
            ),
        };
        if n % 3 != 0 {
            refused += 1;
        }
        std::fs::write(&path, text).unwrap();
        signal(&child.0, "HUP");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (code, body) = healthz(&client, &base).await;
        assert_eq!(code, 200, "after reload {n}: {body}");
        assert_eq!(status_of(&client, &base, "/feeds/all.rss").await, 200);
    }
    drop(busy);
    assert!(
        paused_at.elapsed() < Duration::from_secs(45),
        "the reloads took too long to prove the pause held"
    );
    assert_eq!(
        host0_requests(),
        host0_before,
        "host 0 was polled during its Retry-After pause, across 20 reloads"
    );
    let others_after = farm.stats().totals.requests - host0_requests();
    assert!(
        others_after > others_before + 30,
        "the other hosts kept being polled: {others_before} -> {others_after}"
    );
    let stats = farm.stats();
    assert!(
        stats.max_in_flight_per_host() <= 2,
        "the per-host limit was exceeded: {}",
        stats.max_in_flight_per_host()
    );
    signal(&child.0, "TERM");
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap();
    let reloaded = log.matches("reloaded").count();
    let refusals = log.matches("reload refused").count();
    assert_eq!(
        (reloaded, refusals),
        (20 - refused, refused),
        "every valid config was put in force and every bad one refused:\n{log}"
    );
    assert!(log.contains("fetch.user_agent"), "{log}");
    assert!(log.contains("cannot listen on"), "{log}");
    println!(
        "20 reloads ({} refused); host 0 saw no request for {:.1} s of its pause; max {} in flight per host",
        refused,
        paused_at.elapsed().as_secs_f64(),
        stats.max_in_flight_per_host()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_once_exits_1_when_a_source_fails_and_0_when_none_does() {
    let farm = farm(4, None).await;
    let broken = format!("{}/fault/malformed/1.xml", farm.host_url(1));
    let dir = tempfile::tempdir().unwrap();
    let run = |urls: &[String]| {
        let path = dir.path().join("feeds.toml");
        std::fs::write(
            &path,
            config_text("127.0.0.1:9", &dir.path().join("w.db"), urls, ""),
        )
        .unwrap();
        Command::new(env!("CARGO_BIN_EXE_wiredesk"))
            .args(["poll", "--once", "--config"])
            .arg(&path)
            .output()
            .unwrap()
    };
    let good: Vec<String> = (0..4).map(|k| farm.feed_url(k)).collect();
    let ok = run(&good);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Nothing of the run holds the log at its end, so it is checkpointed away: the database is one file.
    let wal = std::fs::metadata(dir.path().join("w.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "{}", String::from_utf8_lossy(&ok.stderr));
    let mut with_broken = good.clone();
    with_broken.push(broken.clone());
    let failed = run(&with_broken);
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(
        stderr.matches(broken.as_str()).count(),
        1,
        "the failure is listed once, naming the URL:\n{stderr}"
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_wiredesk"))
        .args(["poll", "--once", "--config"])
        .arg(dir.path().join("absent.toml"))
        .output()
        .unwrap();
    assert_eq!(
        missing.status.code(),
        Some(2),
        "a run that cannot start exits 2"
    );
}
