//! HTTP: serves the rendered feeds and pages (`/`, `/sections/{id}`, `/stories/{id}`, `/status`; see
//! [`crate::pages`]) with conditional responses (304), gzip and HEAD, plus `/healthz` and `/metrics`. It
//! only reads the [`FeedCache`], the health and the counters; it never touches the database, so a slow
//! poll or a failing store cannot slow it. [`listen`] accepts connections within limits, so slow or idle
//! clients cannot take the server from the others.

pub mod listen;
mod metrics;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

pub use listen::{Limits, serve};
pub(crate) use metrics::Metrics;

use crate::pipeline::Health;
use crate::publish::{FeedCache, Rendered};

/// Which paths one listening address answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `server.listen`: everything, except `/status` while it has its own address.
    Main,
    /// `server.status_listen`, the operators' address: `/status`, `/healthz` and `/metrics` only.
    Operator,
}

impl Scope {
    /// Whether this address answers `path`; `status_elsewhere` says `/status` has its own address.
    fn serves(self, path: &str, status_elsewhere: bool) -> bool {
        match self {
            Scope::Main => !(status_elsewhere && path == crate::pages::STATUS_PATH),
            Scope::Operator => {
                matches!(path, crate::pages::STATUS_PATH | "/healthz" | "/metrics")
            }
        }
    }
}

/// What the server shares with the daemon.
#[derive(Clone)]
pub struct AppState {
    /// Rendered documents.
    pub(crate) cache: FeedCache,
    /// Counters.
    pub(crate) metrics: Arc<Metrics>,
    /// The writer's, the store's and the scheduler's health.
    pub(crate) health: Arc<Health>,
    /// The paths this address answers.
    pub(crate) scope: Scope,
    /// Whether `/status` is served on its own address; a reload may change it while the server runs.
    pub(crate) status_elsewhere: Arc<AtomicBool>,
}

impl AppState {
    /// A server's state with no documents rendered yet, fresh counters and a healthy pipeline: what the
    /// server tests and the `http` fuzz target serve.
    pub fn empty() -> AppState {
        AppState {
            cache: FeedCache::default(),
            metrics: Arc::new(Metrics::new()),
            health: Arc::new(Health::default()),
            scope: Scope::Main,
            status_elsewhere: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The same state for the operators' address.
    pub(crate) fn for_operators(&self) -> AppState {
        AppState {
            scope: Scope::Operator,
            ..self.clone()
        }
    }
}

/// The router: feeds, pages, health and metrics.
pub(crate) fn router(state: AppState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<AppState>, request: Request) -> Response {
    // A bug must not end the connection mid-answer or show the client anything but a plain 500.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| respond(&state, request)))
        .unwrap_or_else(|panic| {
            tracing::error!(
                "answering a request panicked ({}); this is a bug in wiredesk, please report it",
                crate::pipeline::Failure::panic(panic).message
            );
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; the daemon's log says more\n",
            )
                .into_response()
        })
}

fn respond(state: &AppState, request: Request) -> Response {
    state.metrics.http_requests.fetch_add(1, Ordering::Relaxed);
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > listen::MAX_TARGET {
        return (
            StatusCode::URI_TOO_LONG,
            format!(
                "the request target is {target} bytes; at most {} are served\n",
                listen::MAX_TARGET
            ),
        )
            .into_response();
    }
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
        _ if !state
            .scope
            .serves(path, state.status_elsewhere.load(Ordering::Relaxed)) =>
        {
            let hint = match state.scope {
                Scope::Operator => {
                    "this is the operators' address: it serves /status, /healthz and /metrics"
                }
                _ => "the index at / lists the sections",
            };
            (
                StatusCode::NOT_FOUND,
                format!("no such page or feed: {path}; {hint}\n"),
            )
                .into_response()
        }
        "/healthz" => health(state),
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
                format!("no such page or feed: {path}; the index at / lists the sections\n"),
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

/// `/healthz`: 200 when the writer runs, the store takes writes and the scheduler turns; 503 otherwise,
/// with the reason. Feeds are served either way.
fn health(state: &AppState) -> Response {
    let report = state.health.report();
    let mut body = serde_json::to_value(&report).unwrap_or_default();
    body["documents"] = state.cache.paths().len().into();
    body["last_ingest"] = state.metrics.last_ingest().into();
    let status = if report.is_ok() {
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
