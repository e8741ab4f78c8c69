//! CPU per item: feed-rs's parse alone, wiredesk's parse and normalise, and the whole `wiredesk poll --once`
//! (fetch, parse, normalise, dedup, store, publish), all over the same farm feeds in one run, so that the
//! pipeline's cost per item can be read against the parser's.
//!
//! usage: `cargo bench --bench parse [-- FEEDS]` (default 2000 feeds of 20 items on 10 loopback hosts).
//!
//! The farm runs in this process with no latency. Its bodies are fetched once; feed-rs (the vendored copy
//! wiredesk links) and then `wiredesk::parse` + `wiredesk::normalize` run over them on this thread, three
//! times each, and the best time counts. Then the real binary polls the same farm into a fresh database,
//! and its CPU (user + system, from the kernel's accounting of waited-for children) is divided by the
//! items it stored. Parsing there runs on every core, so the poll's CPU is compared, not its wall time.

use std::time::{Duration, Instant};

/// The allocator the `wiredesk` binary uses, so parsing is measured as it runs in the daemon.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU seconds (user + system) of this process and of its waited-for children, from /proc/self/stat.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime, stime, cutime, cstime are fields 14-17 of the line, 11-14 after the command name.
    let tick = 100.0;
    ((f[11] + f[12]) / tick, (f[13] + f[14]) / tick)
}

/// The best of three runs of `work`, in CPU seconds of this thread's process.
fn best_of_three(mut work: impl FnMut() -> usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut items = 0;
    for _ in 0..3 {
        let (before, _) = cpu_seconds();
        let started = Instant::now();
        items = work();
        let (after, _) = cpu_seconds();
        // The tick is 10 ms; wall time on one thread is the finer clock when it is close.
        let cpu = (after - before).max(started.elapsed().as_secs_f64() * 0.9);
        best = best.min(cpu);
    }
    (best, items)
}

fn main() {
    let feeds: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let farm = runtime
        .block_on(feedfarm::start(feedfarm::FarmConfig {
            hosts: 10,
            feeds,
            items: 20,
            ..feedfarm::FarmConfig::default()
        }))
        .expect("the farm binds on 127.0.1.x");
    let layout = farm.layout();

    let bodies: Vec<(String, Vec<u8>)> = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut out = Vec::with_capacity(feeds as usize);
        for k in 0..feeds {
            let url = farm.feed_url(k);
            let body = client
                .get(&url)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .expect("the farm answers")
                .bytes()
                .await
                .expect("a body");
            out.push((url, body.to_vec()));
        }
        out
    });
    let bytes: usize = bodies.iter().map(|(_, b)| b.len()).sum();

    let (feed_rs_cpu, feed_rs_items) = best_of_three(|| {
        bodies
            .iter()
            .map(|(_, b)| {
                feed_rs::parser::parse(&b[..])
                    .expect("farm feeds parse")
                    .entries
                    .len()
            })
            .sum()
    });
    let now = chrono::Utc::now();
    let (wiredesk_cpu, wiredesk_items) = best_of_three(|| {
        bodies
            .iter()
            .map(|(url, b)| {
                let parsed = wiredesk::parse::parse_feed(b, Some("application/rss+xml"), Some(url))
                    .expect("farm feeds parse");
                wiredesk::normalize::normalize_feed(&parsed.feed, url, now)
                    .expect("farm feeds are within budget")
                    .len()
            })
            .sum()
    });

    let dir = std::env::temp_dir().join(format!("wiredesk-parse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let config = dir.join("feeds.toml");
    let toml = feedfarm::wiredesk_toml::render(&feedfarm::wiredesk_toml::TomlOptions {
        layout,
        schedule: "0 0 1 1 *".into(),
        db: dir.join("bench.db").display().to_string(),
        faults: feedfarm::FaultSpec::default(),
        seed: 1,
        explicit_fault_urls: false,
    });
    std::fs::write(&config, toml).expect("the config is written");
    let (_, children_before) = cpu_seconds();
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wiredesk"))
        .args(["poll", "--once", "--config"])
        .arg(&config)
        .output()
        .expect("wiredesk runs");
    let poll_wall = started.elapsed();
    let (_, children_after) = cpu_seconds();
    let poll_cpu = children_after - children_before;
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wiredesk poll --once failed: {summary}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = summary
        .split(';')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("the summary says how many new items were stored");
    let _ = std::fs::remove_dir_all(&dir);

    let per = |cpu: f64, n: usize| cpu * 1e6 / n.max(1) as f64;
    let base = per(feed_rs_cpu, feed_rs_items);
    println!(
        "{feeds} farm feeds, {} entries, {:.1} MB; {} cores",
        feed_rs_items,
        bytes as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("| stage | items | CPU s | CPU µs per item | × feed-rs |");
    println!("|---|---:|---:|---:|---:|");
    for (stage, cpu, n) in [
        (
            "feed-rs parse (vendored), one thread",
            feed_rs_cpu,
            feed_rs_items,
        ),
        (
            "wiredesk parse + normalise, one thread",
            wiredesk_cpu,
            wiredesk_items,
        ),
        ("wiredesk poll --once, whole process", poll_cpu, stored),
    ] {
        println!(
            "| {stage} | {n} | {cpu:.2} | {:.1} | {:.1} |",
            per(cpu, n),
            per(cpu, n) / base
        );
    }
    println!();
    println!(
        "poll --once: {:.2} s wall; {}",
        poll_wall.as_secs_f64(),
        summary.trim()
    );
    farm.shutdown();
    std::thread::sleep(Duration::from_millis(100));
}
