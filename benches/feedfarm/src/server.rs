//! The HTTP side: binding one listener per loopback host, the connection lifecycle (including
//! shutdown), routing, conditional GET, and the fault responses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{OnceCell, mpsc, watch};
use tokio::task::JoinHandle;

use crate::body::FarmBody;
use crate::content::{Content, unix_to_system};
use crate::faults::{self, Fault, FaultParams};
use crate::stats::{InFlight, Stats};
use crate::{FarmConfig, FarmLayout};

/// Content type of every feed response.
const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";

/// Listen backlog: a benchmark client may open a few hundred connections at once.
const BACKLOG: u32 = 1024;

/// Shared, read-mostly state of a running farm.
#[derive(Debug)]
pub(crate) struct Farm {
    /// Addresses and URLs (with the resolved port).
    pub(crate) layout: FarmLayout,
    /// The configuration the farm was started with.
    cfg: FarmConfig,
    /// Feed generator.
    content: Content,
    /// Request counters.
    pub(crate) stats: Arc<Stats>,
    /// Request counts of `flaky` paths, independent of stats resets.
    flaky: Mutex<HashMap<String, u64>>,
    /// The `huge` body parts, rendered on first use.
    huge: OnceLock<(Bytes, Bytes, Bytes)>,
    /// The compression bombs, each compressed on first use.
    bombs: [OnceCell<Bytes>; 3],
}

impl Farm {
    /// The fault the SPEC assigned to `/feeds/{k}.xml`.
    pub(crate) fn fault_of(&self, k: u64) -> Option<Fault> {
        self.cfg.faults.assign(self.cfg.seed, k)
    }
}

/// Binds all hosts on one port. With port 0 the first host picks the port and the others follow;
/// if another process holds that port on a later address, it starts over with a new port.
pub(crate) async fn bind(cfg: FarmConfig) -> io::Result<(Arc<Farm>, Vec<TcpListener>)> {
    let mut layout = FarmLayout {
        hosts: cfg.hosts,
        feeds: cfg.feeds,
        port: cfg.port,
        base_ip: cfg.base_ip,
    };
    layout
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let attempts = if cfg.port == 0 { 20 } else { 1 };
    let mut last_err = None;
    for _ in 0..attempts {
        match bind_all(&layout) {
            Ok((port, listeners)) => {
                layout.port = port;
                let content = Content::new(
                    cfg.seed,
                    cfg.items,
                    cfg.new_items_every.map(|d| d.as_secs().max(1)),
                    SystemTime::now(),
                );
                let farm = Farm {
                    layout,
                    content,
                    cfg,
                    stats: Arc::new(Stats::default()),
                    flaky: Mutex::new(HashMap::new()),
                    huge: OnceLock::new(),
                    bombs: Default::default(),
                };
                return Ok((Arc::new(farm), listeners));
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && cfg.port == 0 => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("could not bind")))
}

/// One bind attempt over every host; returns the port used.
fn bind_all(layout: &FarmLayout) -> io::Result<(u16, Vec<TcpListener>)> {
    let mut port = layout.port;
    let mut listeners = Vec::with_capacity(layout.hosts as usize);
    for h in 0..layout.hosts {
        let addr = SocketAddr::from((layout.host_ip(h), port));
        let socket = TcpSocket::new_v4()?;
        // Lets a farm restart on the same port while old connections sit in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        socket
            .bind(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
        let listener = socket.listen(BACKLOG)?;
        if port == 0 {
            port = listener.local_addr()?.port();
        }
        listeners.push(listener);
    }
    Ok((port, listeners))
}

/// Spawns the accept loops and the supervisor; returns the shutdown switch and the supervisor.
pub(crate) fn spawn(
    farm: Arc<Farm>,
    listeners: Vec<TcpListener>,
) -> (watch::Sender<bool>, JoinHandle<()>) {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (kill_tx, kill_rx) = watch::channel(false);
    // Every connection task holds a sender clone; `recv()` returning None means all are gone.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let loops: Vec<JoinHandle<()>> = listeners
        .into_iter()
        .enumerate()
        .map(|(h, listener)| {
            tokio::spawn(accept_loop(
                farm.clone(),
                listener,
                h as u32,
                shutdown_rx.clone(),
                kill_rx.clone(),
                alive_tx.clone(),
            ))
        })
        .collect();
    drop(alive_tx);
    let mut shutdown = shutdown_rx;
    let grace = farm.cfg.shutdown_grace;
    let supervisor = tokio::spawn(async move {
        // A dropped sender also means "shut down".
        let _ = shutdown.wait_for(|s| *s).await;
        for l in loops {
            let _ = l.await;
        }
        if tokio::time::timeout(grace, alive_rx.recv()).await.is_err() {
            // Hanging and dripping requests never finish by themselves: cut them off.
            kill_tx.send_replace(true);
            let _ = alive_rx.recv().await;
        }
    });
    (shutdown_tx, supervisor)
}

/// Accepts connections on one host until shutdown.
async fn accept_loop(
    farm: Arc<Farm>,
    listener: TcpListener,
    host: u32,
    mut shutdown: watch::Receiver<bool>,
    kill: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(
                    farm.clone(),
                    stream,
                    host,
                    shutdown.clone(),
                    kill.clone(),
                    alive.clone(),
                ));
            }
            // Out of file descriptors or a connection reset before accept: back off briefly.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Serves one keep-alive HTTP/1.1 connection until it closes, shutdown drains it, or it is killed.
async fn serve_connection(
    farm: Arc<Farm>,
    stream: tokio::net::TcpStream,
    host: u32,
    mut shutdown: watch::Receiver<bool>,
    mut kill: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
) {
    let svc = service_fn(move |req| handle(farm.clone(), host, req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = shutdown.wait_for(|s| *s), if !draining => {
                // Finish the current request, then close instead of keeping alive.
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = kill.wait_for(|k| *k) => return,
        }
    }
}

/// Handles one request: stats endpoints directly, everything else counted and delayed.
async fn handle(
    farm: Arc<Farm>,
    local_host: u32,
    req: Request<Incoming>,
) -> Result<Response<FarmBody>, Infallible> {
    let path = req.uri().path();
    if path == "/_stats" || path.starts_with("/_stats/") {
        return Ok(stats_endpoint(&farm, &req));
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let conditional = req.headers().contains_key(header::IF_NONE_MATCH)
        || req.headers().contains_key(header::IF_MODIFIED_SINCE);
    let guard = farm.stats.begin(host, path, conditional);
    if !farm.cfg.latency.is_zero() {
        tokio::time::sleep(farm.cfg.latency).await;
    }
    Ok(route(&farm, local_host, &req, guard).await)
}

/// `GET /_stats[?paths=0]` and `POST /_stats/reset`.
fn stats_endpoint(farm: &Farm, req: &Request<Incoming>) -> Response<FarmBody> {
    let path = req.uri().path();
    match (req.method(), path) {
        (&Method::GET, "/_stats") => {
            let with_paths = query_param(req, "paths") != Some("0");
            let snap = farm.stats.snapshot(with_paths);
            let json = serde_json::to_vec_pretty(&snap).unwrap_or_default();
            simple(StatusCode::OK, "application/json", json)
        }
        (&Method::POST, "/_stats/reset") => {
            farm.stats.reset();
            simple(StatusCode::OK, "application/json", "{\"reset\":true}\n")
        }
        _ => simple(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "use GET /_stats or POST /_stats/reset\n",
        ),
    }
}

/// Dispatches a counted request by path.
async fn route(
    farm: &Farm,
    local_host: u32,
    req: &Request<Incoming>,
    guard: InFlight,
) -> Response<FarmBody> {
    let path = req.uri().path();
    let mut parts = path.trim_start_matches('/').split('/');
    let resp = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("feeds"), Some(file), None, None) => match feed_number(file) {
            // A feed lives on one host only, so a client that mixes up hosts gets a 404.
            Some(k) if k < farm.layout.feeds && farm.layout.host_of(k) == local_host => {
                match farm.fault_of(k) {
                    Some(fault) => {
                        return serve_fault(
                            farm,
                            req,
                            fault,
                            k,
                            farm.cfg.fault_params,
                            true,
                            guard,
                        )
                        .await;
                    }
                    None => serve_feed(farm, req, k),
                }
            }
            _ => not_found(),
        },
        (Some("moved"), Some(file), None, None) => match feed_number(file) {
            Some(k) if k < farm.layout.feeds => serve_feed(farm, req, k),
            _ => not_found(),
        },
        (Some("fault"), Some(kind), Some(file), None) => {
            match (kind.parse::<Fault>(), feed_number(file)) {
                (Ok(fault), Some(k)) => {
                    let params = params_from_query(req, farm.cfg.fault_params);
                    return serve_fault(farm, req, fault, k, params, false, guard).await;
                }
                _ => not_found(),
            }
        }
        (Some(""), None, None, None) => simple(StatusCode::OK, "text/plain", INDEX_TEXT),
        _ => not_found(),
    };
    guard.status(resp.status().as_u16());
    resp
}

/// The text served at `/`.
const INDEX_TEXT: &str = "feedfarm: /feeds/{k}.xml (on host k mod hosts), /fault/{kind}/{k}.xml \
(kinds: 429 503 301 302 308 410 loop drip hang malformed huge gzipbomb deflatebomb brotlibomb flaky), \
GET /_stats, POST /_stats/reset\n";

/// Parses `"{k}.xml"`.
fn feed_number(file: &str) -> Option<u64> {
    file.strip_suffix(".xml")?.parse().ok()
}

/// The value of one query parameter (no percent-decoding: the farm's parameters are numbers).
fn query_param<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

/// Fault knobs, with `retry_after`, `mb` and `every` from the query overriding the defaults.
fn params_from_query(req: &Request<Incoming>, defaults: FaultParams) -> FaultParams {
    let num = |name| query_param(req, name).and_then(|v| v.parse::<u64>().ok());
    FaultParams {
        retry_after_secs: num("retry_after").unwrap_or(defaults.retry_after_secs),
        huge_mb: num("mb").unwrap_or(defaults.huge_mb),
        flaky_every: num("every").unwrap_or(defaults.flaky_every).max(1),
        ..defaults
    }
}

/// Serves the current version of feed `k`, or 304 if the client's validators match it.
fn serve_feed(farm: &Farm, req: &Request<Incoming>, k: u64) -> Response<FarmBody> {
    let version = farm.content.version(k, SystemTime::now());
    let etag = farm.content.etag(k, version);
    let last_modified = httpdate::fmt_http_date(unix_to_system(version.last_modified));
    let fresh = client_is_fresh(req.headers(), &etag, version.last_modified);
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, &last_modified);
    let resp = if fresh {
        builder
            .status(StatusCode::NOT_MODIFIED)
            .body(FarmBody::empty())
    } else {
        let doc = farm.content.render(k, version, &farm.layout.feed_url(k));
        builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, RSS_TYPE)
            .body(FarmBody::full(doc))
    };
    resp.unwrap_or_else(|_| internal_error())
}

/// RFC 9110 §13.1: `If-None-Match` (weak comparison) wins; otherwise `If-Modified-Since`.
fn client_is_fresh(headers: &HeaderMap, etag: &str, last_modified: i64) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let Ok(inm) = inm.to_str() else { return false };
        let ours = etag.trim_start_matches("W/");
        return inm
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == ours);
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .is_some_and(|since| last_modified <= since.as_secs() as i64)
}

/// Serves `fault` for feed `k`. `assigned` is true when the SPEC put the fault on `/feeds/{k}.xml`;
/// redirects then point at `/moved/{k}.xml` (a clean copy) instead of back at the faulty path.
async fn serve_fault(
    farm: &Farm,
    req: &Request<Incoming>,
    fault: Fault,
    k: u64,
    params: FaultParams,
    assigned: bool,
    guard: InFlight,
) -> Response<FarmBody> {
    let target = if assigned { "moved" } else { "feeds" };
    let resp = match fault {
        Fault::TooManyRequests => retry_later(req, StatusCode::TOO_MANY_REQUESTS, params),
        Fault::Unavailable => retry_later(req, StatusCode::SERVICE_UNAVAILABLE, params),
        Fault::MovedPermanently => redirect(
            req,
            StatusCode::MOVED_PERMANENTLY,
            &format!("/{target}/{k}.xml"),
        ),
        Fault::Found => redirect(req, StatusCode::FOUND, &format!("/{target}/{k}.xml")),
        Fault::PermanentRedirect => redirect(
            req,
            StatusCode::PERMANENT_REDIRECT,
            &format!("/{target}/{k}.xml"),
        ),
        Fault::Gone => simple(StatusCode::GONE, "text/plain", "gone\n"),
        Fault::RedirectLoop => {
            // Alternate between the plain path and the same path with `?alt=1`, forever.
            let path = req.uri().path();
            let next = if query_param(req, "alt").is_some() {
                path.to_owned()
            } else {
                format!("{path}?alt=1")
            };
            redirect(req, StatusCode::MOVED_PERMANENTLY, &next)
        }
        Fault::Drip => {
            guard.status(200);
            return rss_response(FarmBody::drip(guard));
        }
        Fault::Hang => {
            // Holding `guard` here keeps the request in flight until the client gives up.
            std::future::pending::<()>().await;
            unreachable!("pending() never completes");
        }
        Fault::Malformed => rss_response(FarmBody::full(faults::malformed_body(k))),
        Fault::Huge => {
            let (head, block, tail) = farm
                .huge
                .get_or_init(|| faults::huge_parts(&farm.content))
                .clone();
            let repeats = (params.huge_mb << 20).div_ceil(block.len() as u64);
            guard.status(200);
            return rss_response(FarmBody::chunks(head, block, repeats, tail, guard));
        }
        Fault::GzipBomb | Fault::DeflateBomb | Fault::BrotliBomb => {
            let (coding, slot) = match fault {
                Fault::GzipBomb => (faults::Coding::Gzip, 0),
                Fault::DeflateBomb => (faults::Coding::Deflate, 1),
                _ => (faults::Coding::Brotli, 2),
            };
            let bomb = farm.bombs[slot]
                .get_or_init(|| async {
                    let mib = farm.cfg.fault_params.bomb_mib;
                    tokio::task::spawn_blocking(move || faults::bomb(coding, mib))
                        .await
                        .unwrap_or_default()
                })
                .await
                .clone();
            let mut resp = rss_response(FarmBody::full(bomb));
            resp.headers_mut().insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(coding.header()),
            );
            resp
        }
        Fault::Flaky => {
            let n = {
                let mut counts = farm.flaky.lock().unwrap_or_else(|e| e.into_inner());
                let n = counts.entry(req.uri().path().to_owned()).or_insert(0);
                *n += 1;
                *n
            };
            if n % params.flaky_every == 0 {
                simple(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "flaky\n")
            } else {
                serve_feed(farm, req, k)
            }
        }
    };
    guard.status(resp.status().as_u16());
    resp
}

/// A 429/503 with `Retry-After` in seconds, or as an HTTP date if `retry_after_date=SECS` is given.
fn retry_later(
    req: &Request<Incoming>,
    status: StatusCode,
    params: FaultParams,
) -> Response<FarmBody> {
    let value = match query_param(req, "retry_after_date").and_then(|v| v.parse::<u64>().ok()) {
        Some(secs) => httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(secs)),
        None => params.retry_after_secs.to_string(),
    };
    let mut resp = simple(status, "text/plain", "slow down\n");
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// A redirect to `path_and_query` on the same host, as an absolute URL when `Host` is known.
fn redirect(
    req: &Request<Incoming>,
    status: StatusCode,
    path_and_query: &str,
) -> Response<FarmBody> {
    let location = match req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    {
        Some(host) => format!("http://{host}{path_and_query}"),
        None => path_and_query.to_owned(),
    };
    Response::builder()
        .status(status)
        .header(header::LOCATION, location)
        .body(FarmBody::empty())
        .unwrap_or_else(|_| internal_error())
}

/// A 200 feed response with the given body.
fn rss_response(body: FarmBody) -> Response<FarmBody> {
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(RSS_TYPE));
    resp
}

/// A response with a status, a content type and a small body.
fn simple(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<FarmBody> {
    let mut resp = Response::new(FarmBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// 404 for unknown paths and feeds asked of the wrong host.
fn not_found() -> Response<FarmBody> {
    simple(StatusCode::NOT_FOUND, "text/plain", "not found\n")
}

/// 500, only reachable if a header value we built were invalid.
fn internal_error() -> Response<FarmBody> {
    simple(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/plain",
        "internal error\n",
    )
}
