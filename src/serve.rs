//! HTTP: serves the rendered feeds with conditional responses (304), gzip and HEAD, plus `/healthz` and
//! `/metrics`. It only reads the [`FeedCache`]; it never touches the database, so a slow poll cannot slow it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::publish::{FeedCache, Rendered};

/// Counters shown at `/metrics`; written by the daemon, read by the server.
#[derive(Default)]
pub struct Metrics {
    /// Polls that fetched and parsed a new body.
    pub polls_fetched: AtomicU64,
    /// Polls answered 304 or with an unchanged body.
    pub polls_unchanged: AtomicU64,
    /// Polls that failed.
    pub polls_failed: AtomicU64,
    /// Items stored for the first time.
    pub items_new: AtomicU64,
    /// Items edited by their source.
    pub items_updated: AtomicU64,
    /// Items that founded a story.
    pub stories_new: AtomicU64,
    /// Items that joined an existing story.
    pub stories_joined: AtomicU64,
    /// Section renders.
    pub renders: AtomicU64,
    /// HTTP requests served.
    pub http_requests: AtomicU64,
    /// HTTP 304 answers.
    pub http_not_modified: AtomicU64,
    /// Unix time of the last ingest.
    pub last_ingest: AtomicI64,
    /// Microseconds the database writer spent ingesting (its saturation shows as this growing like wall time).
    pub writer_busy_micros: AtomicU64,
    /// Active sources in the config.
    pub sources: AtomicI64,
    /// Cleared when the ingest writer has stopped working.
    pub writer_ok: AtomicBool,
}

impl Metrics {
    /// Fresh counters with the writer marked healthy.
    pub fn new() -> Self {
        let m = Metrics::default();
        m.writer_ok.store(true, Ordering::Relaxed);
        m
    }

    /// Counts what one ingest stored.
    pub fn record_ingest(&self, report: &crate::ingest::IngestReport) {
        let add = |counter: &AtomicU64, n: usize| counter.fetch_add(n as u64, Ordering::Relaxed);
        add(&self.items_new, report.new_items);
        add(&self.items_updated, report.updated_items);
        add(&self.stories_new, report.new_stories);
        add(&self.stories_joined, report.joined);
        self.last_ingest
            .store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
    }

    fn render(&self) -> String {
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut put = |name: &str, kind: &str, help: &str, lines: Vec<(String, u64)>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, v) in lines {
                out.push_str(&format!("{name}{labels} {v}\n"));
            }
        };
        put(
            "wiredesk_polls_total",
            "counter",
            "Source polls by result.",
            vec![
                ("{result=\"fetched\"}".into(), c(&self.polls_fetched)),
                ("{result=\"unchanged\"}".into(), c(&self.polls_unchanged)),
                ("{result=\"failed\"}".into(), c(&self.polls_failed)),
            ],
        );
        put(
            "wiredesk_items_total",
            "counter",
            "Items ingested, by kind.",
            vec![
                ("{kind=\"new\"}".into(), c(&self.items_new)),
                ("{kind=\"updated\"}".into(), c(&self.items_updated)),
            ],
        );
        put(
            "wiredesk_dedup_total",
            "counter",
            "New items by story placement.",
            vec![
                ("{placement=\"new_story\"}".into(), c(&self.stories_new)),
                ("{placement=\"joined\"}".into(), c(&self.stories_joined)),
            ],
        );
        put(
            "wiredesk_renders_total",
            "counter",
            "Section renders.",
            vec![(String::new(), c(&self.renders))],
        );
        put(
            "wiredesk_http_requests_total",
            "counter",
            "HTTP requests served.",
            vec![(String::new(), c(&self.http_requests))],
        );
        put(
            "wiredesk_http_not_modified_total",
            "counter",
            "HTTP 304 answers.",
            vec![(String::new(), c(&self.http_not_modified))],
        );
        put(
            "wiredesk_writer_busy_seconds_total",
            "counter",
            "Time the database writer spent ingesting.",
            vec![(String::new(), c(&self.writer_busy_micros) / 1_000_000)],
        );
        put(
            "wiredesk_sources",
            "gauge",
            "Configured sources.",
            vec![(
                String::new(),
                self.sources.load(Ordering::Relaxed).max(0) as u64,
            )],
        );
        put(
            "wiredesk_last_ingest_timestamp_seconds",
            "gauge",
            "Unix time of the last ingest.",
            vec![(
                String::new(),
                self.last_ingest.load(Ordering::Relaxed).max(0) as u64,
            )],
        );
        out
    }
}

/// What the server shares with the daemon.
#[derive(Clone)]
pub struct AppState {
    /// Rendered documents.
    pub cache: FeedCache,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

/// The router: feeds, index, health and metrics.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<AppState>, request: Request) -> Response {
    state.metrics.http_requests.fetch_add(1, Ordering::Relaxed);
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD {
        let mut r = (
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        )
            .into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let path = request.uri().path();
    let response = match path {
        "/healthz" => health(&state),
        "/metrics" => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            state.metrics.render(),
        )
            .into_response(),
        _ => match state.cache.get(path) {
            Some(doc) => conditional(&doc, request.headers(), &state.metrics),
            None => (
                StatusCode::NOT_FOUND,
                format!("no such feed: {path}; the index at / lists the sections\n"),
            )
                .into_response(),
        },
    };
    if method == Method::HEAD {
        // HEAD answers with GET's headers, Content-Length included (RFC 9110 section 9.3.2): the length is
        // the body's, which is known for every response here, so it is set before the body is dropped.
        let (mut parts, body) = response.into_parts();
        if let Some(len) = axum::body::HttpBody::size_hint(&body).exact() {
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        return Response::from_parts(parts, Body::empty());
    }
    response
}

fn health(state: &AppState) -> Response {
    let ok = state.metrics.writer_ok.load(Ordering::Relaxed);
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "failing" },
        "writer": if ok { "ok" } else { "stopped" },
        "last_ingest": state.metrics.last_ingest.load(Ordering::Relaxed),
        "documents": state.cache.paths().len(),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Answers a document request, honouring If-None-Match, If-Modified-Since and Accept-Encoding.
fn conditional(doc: &Rendered, headers: &HeaderMap, metrics: &Metrics) -> Response {
    let gzip = accepts_gzip(headers);
    // Each encoding is its own representation, so each gets its own strong ETag.
    let etag = if gzip {
        format!("{}-gz\"", doc.etag.trim_end_matches('"'))
    } else {
        doc.etag.clone()
    };
    let last_modified = httpdate::fmt_http_date(doc.last_modified.into());
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag || t == doc.etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| {
                DateTime::<Utc>::from(since).timestamp() >= doc.last_modified.timestamp()
            }),
    };
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, last_modified)
        .header(header::CACHE_CONTROL, "public, max-age=60")
        .header(header::VARY, "Accept-Encoding");
    if not_modified {
        metrics.http_not_modified.fetch_add(1, Ordering::Relaxed);
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .expect("valid response");
    }
    builder = builder.header(header::CONTENT_TYPE, doc.content_type);
    let body = if gzip {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
        doc.gzip.clone()
    } else {
        doc.body.clone()
    };
    builder.body(Body::from(body)).expect("valid response")
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}
