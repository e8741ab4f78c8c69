//! The accept loop and the limits that keep the server answering whatever its clients do.
//!
//! Readers are strangers too. Without limits, 300 slowloris connections were held for a minute and an idle
//! one for over 100 s, and with 256 file descriptors `/healthz` timed out. So:
//! - a request head must arrive within [`Limits::header_timeout`], counted from when the connection starts
//!   waiting for it: a slow head, a connection that sends nothing and an idle keep-alive connection all
//!   end there;
//! - heads are at most 16 KiB and 64 headers (431 beyond), request targets at most [`MAX_TARGET`] bytes
//!   (414), and only HTTP/1 is spoken;
//! - at most [`Limits::max_connections`] are open, which never exceeds what the file descriptor limit
//!   leaves after polling's own needs. At the cap nothing more is accepted until the oldest connection
//!   has had [`GRACE`], and then it is closed for the next one. So the connections waiting meanwhile queue
//!   in the kernel, in order, with their requests already sent, and a health check behind a flood of slow
//!   clients is served after a fraction of a second: the flood rotates through the slots, each member
//!   holding one for [`GRACE`], while the check needs one for a millisecond. Closing the oldest at once
//!   instead, or closing the newest, only makes the flood reconnect in a storm that no check survives.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinSet;

use super::AppState;

/// The longest request target (path and query) served; longer ones get 414.
pub const MAX_TARGET: usize = 2048;
/// The largest request head (request line and headers).
const MAX_HEAD: usize = 16 << 10;
/// The most header fields in a request.
const MAX_HEADERS: usize = 64;
/// At the cap, how long a connection is left alone before it may be closed to make room.
pub const GRACE: Duration = Duration::from_millis(100);
/// How long open connections get to finish when the server stops.
const DRAIN: Duration = Duration::from_secs(5);
/// File descriptors kept for everything else (SQLite files, the writer's and the publisher's
/// connections, logs, the runtime), on top of one per concurrent poll.
const OTHER_FDS: u64 = 64;

/// What the server allows its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once; at the cap the oldest is closed for a new one.
    pub max_connections: usize,
    /// Time for a request head to arrive, idle keep-alive included.
    pub header_timeout: Duration,
}

impl Limits {
    /// The limits of `[server]`, with the connection cap lowered to what the process's file descriptor
    /// limit leaves once `polls` concurrent polls (`fetch.global`) and the rest have theirs.
    pub fn new(max_connections: usize, header_timeout: Duration, polls: usize) -> Limits {
        let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        let spare = nofile.saturating_sub(polls as u64 + OTHER_FDS);
        let max = (max_connections as u64).min(spare).max(4) as usize;
        if max < max_connections {
            tracing::warn!(
                "serving at most {max} connections, not server.max_connections = {max_connections}: the \
                 file descriptor limit is {nofile} (raise it with `ulimit -n` or LimitNOFILE=)"
            );
        }
        Limits {
            max_connections: max,
            header_timeout,
        }
    }
}

/// The open connections, oldest first, each with when it was accepted and the way to close it (taken once
/// it has been told to close: it still holds its descriptor until its task ends, so it still counts).
#[derive(Default)]
struct Open {
    next: u64,
    connections: BTreeMap<u64, (Instant, Option<oneshot::Sender<()>>)>,
}

impl Open {
    /// Makes room for one more connection if it can: None when there is room now, else how long to wait
    /// before asking again (a connection ending wakes the caller sooner).
    fn make_room(&mut self, max: usize) -> Option<Duration> {
        if self.connections.len() < max {
            return None;
        }
        let oldest = self
            .connections
            .values_mut()
            .find(|(_, close)| close.is_some());
        let Some((opened, close)) = oldest else {
            // All are closing already: wait for one to go.
            return Some(GRACE);
        };
        let age = opened.elapsed();
        if age < GRACE {
            return Some(GRACE - age);
        }
        if let Some(close) = close.take() {
            let _ = close.send(());
        }
        Some(GRACE)
    }
}

/// Serves `state` on `listener` within `limits` until `shutdown` resolves, then lets open connections
/// finish for a few seconds.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let open = Arc::new(Mutex::new(Open::default()));
    let freed = Arc::new(Notify::new());
    let (stopping, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    'serving: loop {
        // Room first: at the cap, new connections wait in the listen queue, in order.
        loop {
            let room = open
                .lock()
                .expect("connection table lock")
                .make_room(limits.max_connections);
            let Some(wait) = room else { break };
            tokio::select! {
                _ = &mut shutdown => break 'serving,
                _ = tokio::time::sleep(wait) => {}
                _ = freed.notified() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors or a connection reset before accept: wait, do not spin.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (close, closed) = oneshot::channel();
        let id = {
            let mut open = open.lock().expect("connection table lock");
            let id = open.next;
            open.next += 1;
            open.connections.insert(id, (Instant::now(), Some(close)));
            id
        };
        let (state, open, freed, stopped) =
            (state.clone(), open.clone(), freed.clone(), stopped.clone());
        tasks.spawn(async move {
            connection(stream, state, limits, closed, stopped).await;
            open.lock()
                .expect("connection table lock")
                .connections
                .remove(&id);
            freed.notify_one();
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::info!(
            connections = tasks.len(),
            "closing connections still open after the drain"
        );
        tasks.shutdown().await;
    }
    Ok(())
}

/// Serves one connection until it ends, is closed to make room, or the server stops (then gracefully).
async fn connection<I>(
    io: I,
    state: AppState,
    limits: Limits,
    closed: oneshot::Receiver<()>,
    mut stopped: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = builder(limits).serve_connection(
        TokioIo::new(io),
        TowerToHyperService::new(super::router(state)),
    );
    tokio::pin!(conn);
    tokio::select! {
        // Errors here are the client's (a reset, a timeout, a malformed head answered with 400): nothing
        // to report beyond debug.
        done = conn.as_mut() => {
            if let Err(e) = done {
                tracing::debug!("connection ended: {e}");
            }
        }
        _ = closed => tracing::debug!("closed the oldest connection to make room for a new one"),
        // The watch's guard must not live across the drain below.
        _ = async { drop(stopped.wait_for(|s| *s).await) } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

fn builder(limits: Limits) -> hyper::server::conn::http1::Builder {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .max_buf_size(2 * MAX_HEAD);
    http
}

/// Serves one connection over any byte stream, with the server's limits and its whole request handling
/// (the fuzz target's entry point: it feeds arbitrary bytes here).
#[doc(hidden)]
pub async fn serve_connection<I>(io: I, state: AppState, limits: Limits)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (_close, closed) = oneshot::channel();
    let (_stopping, stopped) = watch::channel(false);
    connection(io, state, limits, closed, stopped).await;
}
