//! The HTTP server's limits: slowloris against the real binary with 256 file descriptors leaves `/healthz`
//! answering throughout; silent, slow and idle connections are closed after the head timeout; heads and
//! request targets are bounded; nothing but a plain status ever reaches the client.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Slowloris: connects, sends the start of a head, then one more header line a second, and reconnects
/// when a send finds the connection closed, until `stop`. Counts the closes.
async fn slow_client(addr: String, stop: Arc<AtomicBool>, closed: Arc<AtomicUsize>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
            .await
            .is_err()
        {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if s.write_all(b"X-Slow: still here\r\n").await.is_err() {
                closed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Sends a whole request on a fresh connection and returns the status line and how long it took.
async fn probe(addr: &str, request: &[u8]) -> (String, Duration) {
    let start = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(request).await.ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        Some(String::from_utf8_lossy(&buf).into_owned())
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    let status = answer.lines().next().unwrap_or("no answer").to_string();
    (status, start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_with_256_descriptors_leaves_healthz_answering() {
    let dir = tempfile::tempdir().unwrap();
    let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listen.local_addr().unwrap().to_string();
    drop(listen);
    let toml = common::config_toml(&addr, &dir.path().join("s.db"), &["all"], &[])
        .replace("[storage]", "header_timeout_secs = 4\n[storage]");
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, toml).unwrap();
    let log = dir.path().join("daemon.log");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" run --config \"$1\"")
        .arg(env!("CARGO_BIN_EXE_wiredesk"))
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let healthz = b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
    let up = Instant::now();
    while !probe(&addr, healthz).await.0.contains("200") {
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "the daemon did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let closed = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..300)
        .map(|_| tokio::spawn(slow_client(addr.clone(), stop.clone(), closed.clone())))
        .collect();
    // Probe for three head timeouts while the 300 hold on and reconnect.
    let mut latencies = Vec::new();
    let attack = Instant::now();
    while attack.elapsed() < Duration::from_secs(12) {
        let (status, took) = probe(&addr, healthz).await;
        assert!(
            status.contains("200"),
            "probe {} answered {status:?} after {took:?}; log:\n{}",
            latencies.len(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        latencies.push(took);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        let _ = a.await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log).unwrap();

    latencies.sort();
    let max = *latencies.last().unwrap();
    let median = latencies[latencies.len() / 2];
    eprintln!(
        "slowloris: {} healthz probes, median {median:?}, max {max:?}; slow connections closed {} times",
        latencies.len(),
        closed.load(Ordering::Relaxed)
    );
    // Generous, for a loaded 2-core box: the point is that every probe is answered at all.
    assert!(max < Duration::from_secs(8), "a probe took {max:?}");
    assert!(
        closed.load(Ordering::Relaxed) >= 300,
        "slow connections were closed and had to reconnect"
    );
    assert!(
        !log.contains("Too many open files"),
        "the cap kept the daemon within its descriptors:\n{log}"
    );
    assert!(
        log.contains("serving at most"),
        "the cap follows the descriptor limit:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

/// An in-process server with a one-second head timeout.
async fn server() -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let state = wiredesk::serve::AppState::empty();
    let limits = wiredesk::serve::Limits {
        max_connections: 64,
        header_timeout: Duration::from_secs(1),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(wiredesk::serve::serve(listener, state, limits, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Reads until the server closes the connection; returns what came and when it closed.
async fn until_closed(s: &mut TcpStream) -> (String, Duration) {
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf)).await;
    (String::from_utf8_lossy(&buf).into_owned(), start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_slow_and_idle_connections_are_closed_after_the_head_timeout() {
    let (addr, _stop) = server().await;
    // Silent: connects and sends nothing.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    // Slow: half a head, then nothing.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    // Idle: one whole request on a keep-alive connection, then nothing.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    for (what, s) in [
        ("silent", &mut silent),
        ("slow", &mut slow),
        ("idle", &mut idle),
    ] {
        let (answer, took) = until_closed(s).await;
        assert!(
            took < Duration::from_secs(10),
            "{what} stayed open {took:?}"
        );
        if what == "idle" {
            assert!(
                answer.starts_with("HTTP/1.1 503") || answer.starts_with("HTTP/1.1 200"),
                "{answer}"
            );
        }
        assert!(
            !answer.contains("panicked") && !answer.contains("backtrace"),
            "{answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_and_targets_are_bounded_and_errors_are_plain() {
    let (addr, _stop) = server().await;
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 << 10)
    );
    let (status, _) = probe(&addr, big_header.as_bytes()).await;
    assert!(status.contains("431"), "{status}");
    let many_headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: a\r\n{}\r\n",
        (0..100)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect::<String>()
    );
    let (status, _) = probe(&addr, many_headers.as_bytes()).await;
    assert!(status.contains("431"), "{status}");
    let long_path = format!(
        "GET /{} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "p".repeat(3000)
    );
    let (status, _) = probe(&addr, long_path.as_bytes()).await;
    assert!(status.contains("414"), "{status}");
    for garbage in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\n\r\n",
    ] {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(garbage).await.unwrap();
        let (answer, took) = until_closed(&mut s).await;
        assert!(took < Duration::from_secs(10));
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
            "{garbage:?}: {answer}"
        );
    }
    // The server still answers.
    let (status, _) = probe(&addr, b"GET /healthz HTTP/1.0\r\n\r\n").await;
    assert!(
        status.contains(" 200") || status.contains(" 503"),
        "{status}"
    );
}
