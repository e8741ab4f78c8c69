//! Polite polling against the feed farm (`benches/feedfarm`), a loopback server that counts requests and
//! concurrent connections per Host and injects faults: per-host limits, conditional GET, Retry-After, 410,
//! permanent and temporary redirects, body caps, gzip bombs, drips, hangs and redirect loops.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use feedfarm::{FarmConfig, FarmHandle, FaultParams};
use wiredesk::fetch::FetchErrorKind;
use wiredesk::fetch::hosts::HostLimits;
use wiredesk::store::{SourceRow, Store};

async fn farm(hosts: u32, feeds: u64, latency_ms: u64) -> FarmHandle {
    feedfarm::start(FarmConfig {
        hosts,
        feeds,
        latency: Duration::from_millis(latency_ms),
        fault_params: FaultParams {
            retry_after_secs: 120,
            bomb_mib: 1024,
            huge_mb: 64,
            ..FaultParams::default()
        },
        ..FarmConfig::default()
    })
    .await
    .expect("the farm binds on loopback")
}

/// Writes a config for `urls` with extra `[fetch]` lines (which may open further tables) and returns its path.
/// `config_toml` ends inside `[fetch]`, having allowed the farm's loopback addresses.
fn config(dir: &Path, urls: &[String], fetch: &str) -> std::path::PathBuf {
    let sources: Vec<common::SourceSpec> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| (format!("source {i}"), u.clone(), vec!["all".to_string()], 0))
        .collect();
    // Every minute, so that backoff and Retry-After (not the schedule) decide the next poll.
    let mut toml = common::config_toml("127.0.0.1:9", &dir.join("p.db"), &["all"], &sources)
        .replace("schedule = \"0 0 1 1 *\"", "schedule = \"* * * * *\"");
    toml.push_str(&format!("{fetch}\n"));
    let path = dir.join("feeds.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

async fn poll(path: &Path) -> wiredesk::daemon::PollSummary {
    wiredesk::daemon::poll_once(wiredesk::config::load(path).unwrap(), None)
        .await
        .unwrap()
}

fn source(path: &Path, url: &str) -> SourceRow {
    let config = wiredesk::config::load(path).unwrap();
    let store = Store::open_read_only(&config.storage.path).unwrap();
    store
        .sources()
        .unwrap()
        .into_iter()
        .find(|s| s.url == url)
        .unwrap()
}

/// The source's last result as `wiredesk sources` shows it.
fn result(row: &SourceRow) -> String {
    row.last_result.map(|r| r.to_string()).unwrap_or_default()
}

/// Why the source is due when it is.
fn reason(row: &SourceRow) -> &'static str {
    row.due_reason.map(|r| r.as_str()).unwrap_or_default()
}

fn path_of(url: &str) -> String {
    url::Url::parse(url).unwrap().path().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_host_limit_holds_and_repeat_polls_are_conditional() {
    let farm = farm(4, 60, 40).await;
    let urls: Vec<String> = (0..60).map(|k| farm.feed_url(k)).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &urls, "per_host = 2\nglobal = 64");

    let first = poll(&path).await;
    assert_eq!(first.fetched, 60, "{:?}", first.failures);
    let stats = farm.stats();
    assert_eq!(
        stats.max_in_flight_per_host(),
        2,
        "the limit is reached and never exceeded"
    );
    assert_eq!(stats.totals.conditional, 0);

    farm.reset_stats();
    let second = poll(&path).await;
    assert_eq!(second.unchanged, 60);
    let stats = farm.stats();
    assert_eq!(stats.totals.requests, 60);
    assert_eq!(
        stats.totals.conditional, 60,
        "every repeat poll is conditional"
    );
    assert_eq!(stats.totals.not_modified, 60);
    assert!(stats.max_in_flight_per_host() <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_pauses_the_source_and_its_whole_host() {
    let farm = farm(2, 10, 0).await;
    let limited = format!("{}/fault/429/0.xml?retry_after=120", farm.host_url(0));
    let dir = tempfile::tempdir().unwrap();
    // A short backoff, so the server's Retry-After is what decides.
    let path = config(
        dir.path(),
        std::slice::from_ref(&limited),
        "[polling]\nbackoff_base_secs = 30",
    );
    let before = chrono::Utc::now().timestamp();
    let summary = poll(&path).await;
    assert_eq!(summary.failures.len(), 1);
    assert!(
        summary.failures[0].1.contains("429"),
        "{:?}",
        summary.failures
    );
    let row = source(&path, &limited);
    assert_eq!(reason(&row), "retry-after");
    assert!(
        row.next_due.unwrap() >= before + 119,
        "next poll honours Retry-After: {:?}",
        row.next_due
    );

    // The pause covers every feed on that host, not just the one that got the 503: the fetcher reports
    // the host and its Retry-After, and every fetch to that host waits once the host is paused.
    let mut fetch = wiredesk::config::load(&path).unwrap().fetch;
    // The config allowed only the source's host; these fetches go to the farm's other hosts too.
    fetch.allow_networks = vec![
        feedfarm::wiredesk_toml::covering_network(&farm.layout())
            .parse()
            .unwrap(),
    ];
    let hosts = HostLimits::new(fetch.global, fetch.per_host, Duration::ZERO);
    let fetcher = wiredesk::fetch::Fetcher::new(&fetch, hosts.clone()).unwrap();
    let short = format!("{}/fault/503/0.xml?retry_after=2", farm.host_url(0));
    let outcome = fetcher.fetch(&short, &Default::default()).await;
    let wiredesk::fetch::FetchOutcome::Failed(e) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(e.kind, FetchErrorKind::Http(503));
    let pause = e.pause.expect("a 503 asks for a pause");
    assert_eq!(pause.retry_after.as_deref(), Some("2"));
    hosts.pause(
        &pause.host,
        chrono::Utc::now() + chrono::Duration::seconds(2),
    );
    let start = Instant::now();
    let other_host = fetcher.fetch(&farm.feed_url(1), &Default::default()).await;
    assert!(matches!(
        other_host,
        wiredesk::fetch::FetchOutcome::Fetched(_)
    ));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "another host is not paused"
    );
    let same_host = fetcher.fetch(&farm.feed_url(2), &Default::default()).await;
    assert!(matches!(
        same_host,
        wiredesk::fetch::FetchOutcome::Fetched(_)
    ));
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "the paused host waited: {:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_is_never_polled_again() {
    let farm = farm(1, 4, 0).await;
    let gone = format!("{}/fault/410/1.xml", farm.host_url(0));
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &[gone.clone(), farm.feed_url(0)], "");
    poll(&path).await;
    poll(&path).await;
    assert_eq!(farm.stats().path_count(&path_of(&gone)), 1);
    assert_eq!(farm.stats().path_count("/feeds/0.xml"), 2);
    let row = source(&path, &gone);
    assert!(row.gone && row.next_due.is_none());
    assert!(row.last_error.unwrap().contains("410 Gone"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_redirect_is_recorded_and_the_old_url_left_alone() {
    let farm = farm(1, 4, 0).await;
    let moved = format!("{}/fault/301/2.xml", farm.host_url(0));
    let temporary = format!("{}/fault/302/3.xml", farm.host_url(0));
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &[moved.clone(), temporary.clone()], "");
    let first = poll(&path).await;
    assert_eq!(first.fetched, 2, "{:?}", first.failures);
    let row = source(&path, &moved);
    assert_eq!(row.moved_to.as_deref(), Some(farm.feed_url(2).as_str()));
    assert!(
        source(&path, &temporary).moved_to.is_none(),
        "a 302 is not a move"
    );

    poll(&path).await;
    let stats = farm.stats();
    assert_eq!(
        stats.path_count(&path_of(&moved)),
        1,
        "the old URL is not polled again"
    );
    assert_eq!(stats.path_count("/feeds/2.xml"), 2);
    assert_eq!(
        stats.path_count(&path_of(&temporary)),
        2,
        "a 302 source keeps its URL"
    );
}

/// The process's peak resident memory, from /proc.
fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_bodies_and_gzip_bombs_are_cut_off_with_memory_bounded() {
    let farm = farm(1, 4, 0).await;
    let huge = format!("{}/fault/huge/1.xml?mb=64", farm.host_url(0));
    let bomb = format!("{}/fault/gzipbomb/2.xml", farm.host_url(0));
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        &[huge.clone(), bomb.clone()],
        "max_body_bytes = 4194304",
    );
    let summary = poll(&path).await;
    assert_eq!(summary.failures.len(), 2, "{:?}", summary.failures);
    for url in [&huge, &bomb] {
        let row = source(&path, url);
        assert_eq!(result(&row), "error (too-large)", "{url}");
        assert!(row.last_error.unwrap().contains("4194304-byte cap"));
    }
    // 64 MiB of body and a 1 GiB inflated bomb went by; neither was held in memory.
    assert!(peak_rss_mb() < 200, "peak RSS {} MB", peak_rss_mb());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drips_hangs_and_redirect_loops_end_with_clear_errors() {
    let farm = farm(1, 4, 0).await;
    let drip = format!("{}/fault/drip/0.xml", farm.host_url(0));
    let hang = format!("{}/fault/hang/1.xml", farm.host_url(0));
    let looping = format!("{}/fault/loop/2.xml", farm.host_url(0));
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        &[drip.clone(), hang.clone(), looping.clone()],
        "timeout_secs = 2",
    );
    let start = Instant::now();
    let summary = poll(&path).await;
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "the poll took {:?}",
        start.elapsed()
    );
    assert_eq!(summary.failures.len(), 3);
    assert_eq!(result(&source(&path, &drip)), "error (timeout)");
    assert_eq!(result(&source(&path, &hang)), "error (timeout)");
    let looped = source(&path, &looping);
    assert_eq!(result(&looped), "error (redirect-loop)");
    assert!(
        looped.last_error.unwrap().contains(" → "),
        "the loop is shown"
    );
    for url in [&drip, &hang, &looping] {
        assert_eq!(reason(&source(&path, url)), "backoff", "{url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_feeds_fail_alone_and_the_others_are_stored() {
    let farm = farm(1, 4, 0).await;
    let broken = format!("{}/fault/malformed/1.xml", farm.host_url(0));
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &[broken.clone(), farm.feed_url(0)], "");
    let summary = poll(&path).await;
    assert_eq!(summary.fetched, 1);
    assert_eq!(summary.new_items, 20);
    let row = source(&path, &broken);
    assert_eq!(result(&row), "error (parse)");
    let err = row.last_error.unwrap();
    assert!(err.starts_with(&broken) && !err.contains('\n'), "{err}");
}
