//! Fetches one feed over HTTP, politely, and says exactly what happened.
//!
//! This stage owns the reqwest client, the global and per-host limits, conditional GET, redirects (followed by
//! hand so a permanent move can be told from a temporary one) and the body cap. It never parses: the bytes go to
//! [`crate::parse`].

pub mod hosts;

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::FetchConfig;
use hosts::HostLimits;

/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// What the fetcher remembers about a source between polls.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    /// The ETag exactly as the server sent it.
    pub etag: Option<String>,
    /// The Last-Modified value exactly as the server sent it.
    pub last_modified: Option<String>,
    /// blake3 of the last body, for servers that ignore conditional requests.
    pub body_hash: Option<String>,
}

/// The result of one poll.
#[derive(Debug)]
pub enum FetchOutcome {
    /// A new body to parse.
    Fetched(Fetched),
    /// 304, or a 200 whose body hashes the same as last time.
    Unchanged {
        /// Validators to keep (a 304 may carry new ones).
        validators: Validators,
        /// Caching hints from the response.
        hints: CacheHints,
        /// Set when the answer came through a permanent redirect.
        moved_to: Option<String>,
    },
    /// 410 Gone: stop polling.
    Gone,
    /// Anything else.
    Failed(FetchError),
}

/// A body that needs parsing, with what came with it.
#[derive(Debug)]
pub struct Fetched {
    /// The raw, decompressed body.
    pub body: Bytes,
    /// The URL that answered, after redirects; relative links resolve against it.
    pub final_url: String,
    /// Content-Type header, for the charset.
    pub content_type: Option<String>,
    /// New validators to store.
    pub validators: Validators,
    /// Caching hints from the response.
    pub hints: CacheHints,
    /// Set when every redirect on the way was permanent (301/308): the new URL to poll.
    pub moved_to: Option<String>,
}

/// Server hints that push the next poll later.
#[derive(Debug, Clone, Default)]
pub struct CacheHints {
    /// From Cache-Control max-age or Expires.
    pub fresh_until: Option<DateTime<Utc>>,
}

/// Why a poll failed.
#[derive(Debug, Clone)]
pub struct FetchError {
    /// Short machine-friendly class, e.g. `http-503`, `timeout`, `too-large`.
    pub kind: String,
    /// What happened, for the operator.
    pub message: String,
    /// When the server asked us to come back (429/503 Retry-After).
    pub retry_after: Option<DateTime<Utc>>,
}

impl FetchError {
    fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        FetchError {
            kind: kind.into(),
            message: message.into(),
            retry_after: None,
        }
    }
}

/// The HTTP client with its limits; one per daemon, shared by every poll.
pub struct Fetcher {
    client: reqwest::Client,
    global: Arc<Semaphore>,
    /// Per-host limits, shared so the scheduler can see host pauses.
    pub hosts: Arc<HostLimits>,
    max_body: u64,
    timeout_secs: u64,
}

impl Fetcher {
    /// Builds the client from `[fetch]`.
    pub fn new(cfg: &FetchConfig) -> anyhow::Result<Fetcher> {
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs))
            .read_timeout(Duration::from_secs(cfg.timeout_secs.min(30)))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(cfg.per_host)
            .build()?;
        Ok(Fetcher {
            client,
            global: Arc::new(Semaphore::new(cfg.global)),
            hosts: Arc::new(HostLimits::new(
                cfg.per_host,
                Duration::from_millis(cfg.min_host_gap_ms),
            )),
            max_body: cfg.max_body_bytes,
            timeout_secs: cfg.timeout_secs,
        })
    }

    /// Polls `url`, conditionally when validators are known, within the global and per-host limits.
    pub async fn fetch(&self, url: &str, known: &Validators) -> FetchOutcome {
        let mut current = match Url::parse(url) {
            Ok(u) => u,
            Err(e) => {
                return FetchOutcome::Failed(FetchError::new(
                    "bad-url",
                    format!("`{url}` is not a URL: {e}"),
                ));
            }
        };
        let mut permanent = true;
        let mut seen = vec![current.to_string()];
        for _hop in 0..=MAX_REDIRECTS {
            let host = host_key(&current);
            // Host slot first: a request waiting for a busy host must not hold one of the global slots.
            let _host = self.hosts.acquire(&host).await;
            let _global = self
                .global
                .acquire()
                .await
                .expect("the global semaphore is never closed");
            let mut request = self.client.get(current.clone());
            // Validators belong to the URL they came from, or to where it moved permanently.
            if permanent {
                if let Some(etag) = &known.etag {
                    request = request.header(header::IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &known.last_modified {
                    request = request.header(header::IF_MODIFIED_SINCE, lm);
                }
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => return FetchOutcome::Failed(self.classify(&e)),
            };
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let Some(location) = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                else {
                    return FetchOutcome::Failed(FetchError::new(
                        format!("http-{}", status.as_u16()),
                        format!("{status} without a Location header"),
                    ));
                };
                let next = match current.join(location) {
                    Ok(n) => n,
                    Err(e) => {
                        return FetchOutcome::Failed(FetchError::new(
                            "bad-redirect",
                            format!("{status} to `{location}`, which is not a URL: {e}"),
                        ));
                    }
                };
                permanent &= matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                if seen.contains(&next.to_string()) {
                    return FetchOutcome::Failed(FetchError::new(
                        "redirect-loop",
                        format!("redirect loop: {} → {next}", seen.join(" → ")),
                    ));
                }
                seen.push(next.to_string());
                current = next;
                continue;
            }
            let moved_to = (permanent && seen.len() > 1).then(|| current.to_string());
            // The body is read while both slots are held, so limits count whole transfers.
            return self
                .finish(response, &host, known, moved_to, current.to_string())
                .await;
        }
        FetchOutcome::Failed(FetchError::new(
            "too-many-redirects",
            format!("more than {MAX_REDIRECTS} redirects: {}", seen.join(" → ")),
        ))
    }

    async fn finish(
        &self,
        mut response: reqwest::Response,
        host: &str,
        known: &Validators,
        moved_to: Option<String>,
        final_url: String,
    ) -> FetchOutcome {
        let status = response.status();
        let headers = response.headers().clone();
        let hints = cache_hints(&headers);
        if status == StatusCode::NOT_MODIFIED {
            return FetchOutcome::Unchanged {
                validators: merge_validators(&headers, known, known.body_hash.clone()),
                hints,
                moved_to,
            };
        }
        if status == StatusCode::GONE {
            return FetchOutcome::Gone;
        }
        if !status.is_success() {
            let mut err = FetchError::new(
                format!("http-{}", status.as_u16()),
                format!("server answered {status}"),
            );
            if matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ) {
                let until = retry_after(&headers)
                    .unwrap_or_else(|| Utc::now() + chrono::Duration::minutes(5));
                self.hosts.pause(host, until);
                err.retry_after = Some(until);
                err.message = format!("server answered {status}; it asked to wait until {until}");
            }
            return FetchOutcome::Failed(err);
        }
        if let Some(len) = response.content_length()
            && len > self.max_body
            && headers.get(header::CONTENT_ENCODING).is_none()
        {
            return FetchOutcome::Failed(too_large(self.max_body));
        }
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > self.max_body {
                        return FetchOutcome::Failed(too_large(self.max_body));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return FetchOutcome::Failed(self.classify(&e)),
            }
        }
        let body = body.freeze();
        let hash = blake3::hash(&body).to_hex().to_string();
        let validators = merge_validators(&headers, known, Some(hash.clone()));
        if known.body_hash.as_deref() == Some(hash.as_str()) {
            return FetchOutcome::Unchanged {
                validators,
                hints,
                moved_to,
            };
        }
        FetchOutcome::Fetched(Fetched {
            body,
            final_url,
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            validators,
            hints,
            moved_to,
        })
    }
}

impl Fetcher {
    /// Names a transport failure; a timeout says which limit it hit.
    fn classify(&self, e: &reqwest::Error) -> FetchError {
        let mut err = classify_reqwest_error(e);
        if err.kind == "timeout" {
            err.message = format!(
                "no complete answer within {} s (fetch.timeout_secs); the server is too slow or stalled",
                self.timeout_secs
            );
        }
        err
    }
}

/// The key per-host limits use: host and explicit port.
pub fn host_key(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

fn too_large(max: u64) -> FetchError {
    FetchError::new(
        "too-large",
        format!("body is larger than the {max}-byte cap (fetch.max_body_bytes); download aborted"),
    )
}

fn classify_reqwest_error(e: &reqwest::Error) -> FetchError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_decode() || e.is_body() {
        "body"
    } else {
        "request"
    };
    // reqwest's Display hides the root cause; the chain names it (refused, reset, bad certificate...).
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    FetchError::new(kind, message)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn merge_validators(
    headers: &HeaderMap,
    known: &Validators,
    body_hash: Option<String>,
) -> Validators {
    Validators {
        etag: header_str(headers, header::ETAG).or_else(|| known.etag.clone()),
        last_modified: header_str(headers, header::LAST_MODIFIED)
            .or_else(|| known.last_modified.clone()),
        body_hash,
    }
}

fn retry_after(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let v = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<i64>() {
        // A day is the most any server gets to switch us off by header alone.
        return Some(Utc::now() + chrono::Duration::seconds(secs.clamp(0, 86_400)));
    }
    httpdate::parse_http_date(v).ok().map(DateTime::<Utc>::from)
}

fn cache_hints(headers: &HeaderMap) -> CacheHints {
    let now = Utc::now();
    let max_age = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(|cc| {
            cc.split(',')
                .filter_map(|d| d.trim().strip_prefix("max-age="))
                .find_map(|n| n.trim_matches('"').parse::<i64>().ok())
        })
        .map(|s| now + chrono::Duration::seconds(s.max(0)));
    let expires = || {
        headers
            .get(header::EXPIRES)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .map(DateTime::<Utc>::from)
            .filter(|t| *t > now)
    };
    CacheHints {
        fresh_until: max_age.or_else(expires),
    }
}
