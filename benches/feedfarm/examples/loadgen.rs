//! A bounded load generator for measuring the farm itself (loopback only, stops by itself).
//!
//! `per-host` workers per host each keep one keep-alive HTTP/1.1 connection and walk through that
//! host's feeds; a global semaphore caps the total in flight. It speaks just enough HTTP to read
//! `Content-Length` bodies, so its own CPU cost stays small next to the farm's.
//!
//! ```text
//! cargo run --release --example loadgen -- --hosts 100 --feeds 10000 --port 8900 --secs 20
//! ```

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Load generator arguments.
#[derive(Debug, Parser)]
struct Args {
    /// Hosts of the farm.
    #[arg(long, default_value_t = 100)]
    hosts: u32,
    /// Feeds of the farm.
    #[arg(long, default_value_t = 10_000)]
    feeds: u64,
    /// Port of the farm.
    #[arg(long, default_value_t = 8900)]
    port: u16,
    /// First host address (must be loopback).
    #[arg(long, default_value = "127.0.1.1")]
    base_ip: Ipv4Addr,
    /// Workers (connections) per host.
    #[arg(long, default_value_t = 2)]
    per_host: u32,
    /// Cap on requests in flight over all hosts.
    #[arg(long, default_value_t = 200)]
    global: usize,
    /// How long to run.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Send If-None-Match with the last ETag seen for each feed (exercises the 304 path).
    #[arg(long)]
    conditional: bool,
    /// Tokio worker threads of the generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Totals shared by all workers.
#[derive(Default)]
struct Totals {
    /// Completed requests.
    requests: AtomicU64,
    /// 200 responses.
    ok: AtomicU64,
    /// 304 responses.
    not_modified: AtomicU64,
    /// Other statuses and I/O errors.
    errors: AtomicU64,
    /// Body bytes read.
    bytes: AtomicU64,
    /// Sum of request latencies in microseconds.
    latency_us: AtomicU64,
    /// Largest request latency in microseconds.
    max_latency_us: AtomicU64,
}

fn main() {
    let args = Args::parse();
    assert_eq!(args.base_ip.octets()[0], 127, "loopback only");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(args));
}

/// Starts the workers, waits `secs`, prints the totals.
async fn run(args: Args) {
    let totals = Arc::new(Totals::default());
    let permits = Arc::new(Semaphore::new(args.global));
    let deadline = Instant::now() + Duration::from_secs(args.secs);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for h in 0..args.hosts {
        for w in 0..args.per_host {
            let ip = Ipv4Addr::from(u32::from(args.base_ip) + h);
            // This worker's feeds: those of host h, split between the host's workers.
            let feeds: Vec<u64> = (u64::from(h)..args.feeds)
                .step_by(args.hosts as usize)
                .skip(w as usize)
                .step_by(args.per_host as usize)
                .collect();
            workers.spawn(worker(
                ip,
                args.port,
                feeds,
                args.conditional,
                deadline,
                permits.clone(),
                totals.clone(),
            ));
        }
    }
    while workers.join_next().await.is_some() {}
    let secs = started.elapsed().as_secs_f64();
    let n = totals.requests.load(Ordering::Relaxed);
    println!(
        "requests={n} secs={secs:.1} req_per_s={:.0} ok={} not_modified={} errors={} body_mb={:.1} mean_latency_ms={:.1} max_latency_ms={:.1}",
        n as f64 / secs,
        totals.ok.load(Ordering::Relaxed),
        totals.not_modified.load(Ordering::Relaxed),
        totals.errors.load(Ordering::Relaxed),
        totals.bytes.load(Ordering::Relaxed) as f64 / 1e6,
        totals.latency_us.load(Ordering::Relaxed) as f64 / n.max(1) as f64 / 1e3,
        totals.max_latency_us.load(Ordering::Relaxed) as f64 / 1e3,
    );
}

/// Fetches `feeds` round-robin on one keep-alive connection until the deadline.
async fn worker(
    ip: Ipv4Addr,
    port: u16,
    feeds: Vec<u64>,
    conditional: bool,
    deadline: Instant,
    permits: Arc<Semaphore>,
    totals: Arc<Totals>,
) {
    if feeds.is_empty() {
        return;
    }
    let mut etags: Vec<Option<String>> = vec![None; feeds.len()];
    let mut conn: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut i = 0;
    while Instant::now() < deadline {
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        let k = feeds[i % feeds.len()];
        let slot = i % feeds.len();
        i += 1;
        let t = Instant::now();
        let stream = match conn.as_mut() {
            Some(s) => s,
            None => match TcpStream::connect((ip, port)).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    conn.insert(s)
                }
                Err(_) => {
                    totals.errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let inm = match (&etags[slot], conditional) {
            (Some(tag), true) => format!("If-None-Match: {tag}\r\n"),
            _ => String::new(),
        };
        let req = format!("GET /feeds/{k}.xml HTTP/1.1\r\nHost: {ip}:{port}\r\n{inm}\r\n");
        let result = exchange(stream, req.as_bytes(), &mut buf).await;
        let us = t.elapsed().as_micros() as u64;
        match result {
            Some((status, etag, body_len)) => {
                totals.requests.fetch_add(1, Ordering::Relaxed);
                totals.latency_us.fetch_add(us, Ordering::Relaxed);
                totals.max_latency_us.fetch_max(us, Ordering::Relaxed);
                totals.bytes.fetch_add(body_len as u64, Ordering::Relaxed);
                match status {
                    200 => {
                        totals.ok.fetch_add(1, Ordering::Relaxed);
                        etags[slot] = etag;
                    }
                    304 => {
                        totals.not_modified.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        totals.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            None => {
                totals.errors.fetch_add(1, Ordering::Relaxed);
                conn = None;
            }
        }
    }
}

/// Writes one request and reads one `Content-Length` response: (status, ETag, body length).
async fn exchange(
    stream: &mut TcpStream,
    req: &[u8],
    buf: &mut Vec<u8>,
) -> Option<(u16, Option<String>, usize)> {
    stream.write_all(req).await.ok()?;
    buf.clear();
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let mut length = 0usize;
    let mut etag = None;
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            } else if name.eq_ignore_ascii_case("etag") {
                etag = Some(value.trim().to_owned());
            }
        }
    }
    let mut have = buf.len() - head_end;
    while have < length {
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        have += n;
    }
    Some((status, etag, length))
}
