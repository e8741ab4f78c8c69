//! Fetches one feed over HTTP, politely, and says exactly what happened.
//!
//! This stage owns the reqwest clients, the global and per-host limits, conditional GET, redirects (followed by
//! hand so a permanent move can be told from a temporary one), the outbound address policy ([`address`]) on
//! every hop, and the body cap. It never parses: the bytes go to [`crate::parse`].

pub mod address;
pub mod budget;
pub mod hosts;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use url::Url;

use crate::config::{Config, FetchConfig};
use address::{AddressPolicy, GuardedResolver, Lookup};
use budget::{Charge, MemoryBudget};
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
    /// The download's share of the memory budget, when the body grew past [`budget::SMALL_BODY`]; to be
    /// dropped once the body holds a parse charge.
    pub reservation: Option<Charge>,
}

/// Server hints that push the next poll later.
#[derive(Debug, Clone, Default)]
pub struct CacheHints {
    /// From Cache-Control max-age or Expires.
    pub fresh_until: Option<DateTime<Utc>>,
}

/// Why a poll failed, in a few words the store and `/metrics` can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchErrorKind {
    /// The source URL does not parse.
    BadUrl,
    /// No connection (refused, DNS, TLS).
    Connect,
    /// A time limit ran out.
    Timeout,
    /// The body broke off or did not decode.
    Body,
    /// Any other transport failure.
    Request,
    /// The server answered with this status.
    Http(u16),
    /// The body is over `fetch.max_body_bytes`.
    TooLarge,
    /// A redirect without a usable Location.
    BadRedirect,
    /// Redirects that come back to a URL already visited.
    RedirectLoop,
    /// More than [`MAX_REDIRECTS`] redirects.
    TooManyRedirects,
    /// The outbound address policy refused the address (or the URL's credentials), on the first request
    /// or on a redirect hop.
    RefusedAddress,
}

impl FetchErrorKind {
    /// The short name, e.g. `http-503`, `timeout`, `too-large`.
    pub fn name(self) -> String {
        match self {
            FetchErrorKind::BadUrl => "bad-url".into(),
            FetchErrorKind::Connect => "connect".into(),
            FetchErrorKind::Timeout => "timeout".into(),
            FetchErrorKind::Body => "body".into(),
            FetchErrorKind::Request => "request".into(),
            FetchErrorKind::Http(code) => format!("http-{code}"),
            FetchErrorKind::TooLarge => "too-large".into(),
            FetchErrorKind::BadRedirect => "bad-redirect".into(),
            FetchErrorKind::RedirectLoop => "redirect-loop".into(),
            FetchErrorKind::TooManyRedirects => "too-many-redirects".into(),
            FetchErrorKind::RefusedAddress => "refused-address".into(),
        }
    }

    /// The kind named `name` (the inverse of [`FetchErrorKind::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "bad-url" => FetchErrorKind::BadUrl,
            "connect" => FetchErrorKind::Connect,
            "timeout" => FetchErrorKind::Timeout,
            "body" => FetchErrorKind::Body,
            "request" => FetchErrorKind::Request,
            "too-large" => FetchErrorKind::TooLarge,
            "bad-redirect" => FetchErrorKind::BadRedirect,
            "redirect-loop" => FetchErrorKind::RedirectLoop,
            "too-many-redirects" => FetchErrorKind::TooManyRedirects,
            "refused-address" => FetchErrorKind::RefusedAddress,
            other => FetchErrorKind::Http(other.strip_prefix("http-")?.parse().ok()?),
        })
    }
}

/// Why a poll failed.
#[derive(Debug, Clone)]
pub struct FetchError {
    /// What kind of failure.
    pub kind: FetchErrorKind,
    /// What happened, for the operator.
    pub message: String,
    /// Set on 429 and 503: the host that asked for a pause, and its Retry-After header as sent. How long
    /// the pause lasts is the scheduler's decision ([`crate::schedule::retry_after`]).
    pub pause: Option<PauseRequest>,
}

/// A server's request to be left alone for a while.
#[derive(Debug, Clone)]
pub struct PauseRequest {
    /// The host (with port) that answered.
    pub host: String,
    /// Its Retry-After header, if any.
    pub retry_after: Option<String>,
}

impl FetchError {
    fn new(kind: FetchErrorKind, message: impl Into<String>) -> Self {
        FetchError {
            kind,
            message: message.into(),
            pause: None,
        }
    }
}

/// The HTTP clients with their limits; one per daemon, shared by every poll.
pub struct Fetcher {
    /// One client per address policy in use: the global one, and one for each set of sources allowing
    /// more networks. A client's connection pool then only ever holds connections its policy allowed.
    clients: HashMap<AddressPolicy, reqwest::Client>,
    /// The policy of `[fetch] allow_networks`.
    policy: AddressPolicy,
    /// The policy of each source with `allow_networks` of its own, by source URL.
    source_policies: HashMap<String, AddressPolicy>,
    /// Per-host limits, shared with the fetchers before and after a reload.
    hosts: Arc<HostLimits>,
    max_body: u64,
    timeout_secs: u64,
}

impl Fetcher {
    /// Builds the client from `[fetch]`, sharing `hosts` (whose limits it sets to the config's).
    pub fn new(cfg: &FetchConfig, hosts: Arc<HostLimits>) -> anyhow::Result<Fetcher> {
        Fetcher::build(cfg, &[], hosts, address::system_lookup())
    }

    /// Builds the clients of a whole configuration: `[fetch]`, and each source's own `allow_networks`.
    pub fn for_config(config: &Config, hosts: Arc<HostLimits>) -> anyhow::Result<Fetcher> {
        Fetcher::for_config_with_lookup(config, hosts, address::system_lookup())
    }

    /// [`Fetcher::for_config`] resolving names with `lookup` (tests: names that resolve to loopback).
    #[doc(hidden)]
    pub fn for_config_with_lookup(
        config: &Config,
        hosts: Arc<HostLimits>,
        lookup: Lookup,
    ) -> anyhow::Result<Fetcher> {
        let sources: Vec<(String, &[ipnet::IpNet])> = config
            .sources
            .iter()
            .filter(|s| !s.allow_networks.is_empty())
            .map(|s| (s.url.clone(), s.allow_networks.as_slice()))
            .collect();
        Fetcher::build(&config.fetch, &sources, hosts, lookup)
    }

    fn build(
        cfg: &FetchConfig,
        sources: &[(String, &[ipnet::IpNet])],
        hosts: Arc<HostLimits>,
        lookup: Lookup,
    ) -> anyhow::Result<Fetcher> {
        let policy = AddressPolicy::new(cfg.allow_networks.iter().copied());
        let source_policies: HashMap<String, AddressPolicy> = sources
            .iter()
            .map(|(url, nets)| (url.clone(), policy.with(nets)))
            .collect();
        let mut clients = HashMap::new();
        for p in std::iter::once(&policy).chain(source_policies.values()) {
            if !clients.contains_key(p) {
                clients.insert(p.clone(), client(cfg, p, &lookup)?);
            }
        }
        hosts.set_limits(
            cfg.global,
            cfg.per_host,
            Duration::from_millis(cfg.min_host_gap_ms),
        );
        Ok(Fetcher {
            clients,
            policy,
            source_policies,
            hosts,
            max_body: cfg.max_body_bytes,
            timeout_secs: cfg.timeout_secs,
        })
    }

    /// Polls `url` for the source configured at `source_url`, under that source's address policy, with
    /// a body past [`budget::SMALL_BODY`] reserving its room in `budget`.
    pub async fn fetch_for(
        &self,
        source_url: &str,
        url: &str,
        known: &Validators,
        budget: &MemoryBudget,
    ) -> FetchOutcome {
        let policy = self.source_policies.get(source_url).unwrap_or(&self.policy);
        self.fetch_with(policy, url, known, Some(budget)).await
    }

    /// Polls `url`, conditionally when validators are known, within the global and per-host limits, under
    /// the `[fetch]` address policy.
    pub async fn fetch(&self, url: &str, known: &Validators) -> FetchOutcome {
        self.fetch_with(&self.policy, url, known, None).await
    }

    async fn fetch_with(
        &self,
        policy: &AddressPolicy,
        url: &str,
        known: &Validators,
        budget: Option<&MemoryBudget>,
    ) -> FetchOutcome {
        let client = &self.clients[policy];
        let mut current = match Url::parse(url) {
            Ok(u) => u,
            Err(e) => {
                return FetchOutcome::Failed(FetchError::new(
                    FetchErrorKind::BadUrl,
                    format!("`{url}` is not a URL: {e}"),
                ));
            }
        };
        let mut permanent = true;
        let mut seen = vec![current.to_string()];
        for _hop in 0..=MAX_REDIRECTS {
            if let Err(refused) = policy.check_url(&current) {
                return FetchOutcome::Failed(refused_error(&refused, &seen));
            }
            let host = host_key(&current);
            let _slots = self.hosts.acquire(&host).await;
            let mut request = client.get(current.clone());
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
                Err(e) => return FetchOutcome::Failed(self.classify(&e, &seen)),
            };
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let Some(location) = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                else {
                    return FetchOutcome::Failed(FetchError::new(
                        FetchErrorKind::BadRedirect,
                        format!("{status} without a Location header"),
                    ));
                };
                let next = match current.join(location) {
                    Ok(n) => n,
                    Err(e) => {
                        return FetchOutcome::Failed(FetchError::new(
                            FetchErrorKind::BadRedirect,
                            format!("{status} to `{location}`, which is not a URL: {e}"),
                        ));
                    }
                };
                if !matches!(next.scheme(), "http" | "https") {
                    return FetchOutcome::Failed(FetchError::new(
                        FetchErrorKind::BadRedirect,
                        format!("{status} to `{next}`: only http and https are followed"),
                    ));
                }
                permanent &= matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                if seen.contains(&next.to_string()) {
                    return FetchOutcome::Failed(FetchError::new(
                        FetchErrorKind::RedirectLoop,
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
                .finish(
                    response,
                    &host,
                    known,
                    moved_to,
                    current.to_string(),
                    budget,
                )
                .await;
        }
        FetchOutcome::Failed(FetchError::new(
            FetchErrorKind::TooManyRedirects,
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
        budget: Option<&MemoryBudget>,
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
                FetchErrorKind::Http(status.as_u16()),
                format!("server answered {status}"),
            );
            if matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ) {
                err.pause = Some(PauseRequest {
                    host: host.to_string(),
                    retry_after: header_str(&headers, header::RETRY_AFTER),
                });
            }
            return FetchOutcome::Failed(err);
        }
        if let Some(len) = response.content_length()
            && len > self.max_body
            && headers.get(header::CONTENT_ENCODING).is_none()
        {
            return FetchOutcome::Failed(too_large(self.max_body));
        }
        // reqwest drops Content-Length when it decompresses, so a known length is the body's own.
        let most = response
            .content_length()
            .unwrap_or(self.max_body)
            .min(self.max_body) as usize;
        let mut reservation = None;
        let mut body: Vec<u8> = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let len = body.len() + chunk.len();
                    if len as u64 > self.max_body {
                        return FetchOutcome::Failed(too_large(self.max_body));
                    }
                    if reservation.is_none()
                        && len > budget::SMALL_BODY
                        && let Some(budget) = budget
                    {
                        reservation = Some(budget.reserve_download(most as u64).await);
                    }
                    if len > body.capacity() {
                        // Doubling, but never past the most the body may reach: the reservation covers
                        // the capacity, not just the length.
                        let cap = (body.capacity() * 2)
                            .max(len)
                            .max(16 << 10)
                            .min(most.max(len));
                        body.reserve_exact(cap - body.len());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return FetchOutcome::Failed(self.classify(&e, &[])),
            }
        }
        if body.capacity() > body.len() + body.len() / 8 {
            body.shrink_to_fit();
        }
        let body = Bytes::from(body);
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
            reservation,
        })
    }
}

impl Fetcher {
    /// Names a transport failure; a timeout says which limit it hit, a refusal which address and how it
    /// was reached (`seen`: the URLs so far, redirects included).
    fn classify(&self, e: &reqwest::Error, seen: &[String]) -> FetchError {
        if let Some(refused) = address::refusal_in(e) {
            return refused_error(refused, seen);
        }
        let mut err = classify_reqwest_error(e);
        if err.kind == FetchErrorKind::Timeout {
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

/// One client under `policy`: redirects off (they are followed by hand, each hop checked), names resolved
/// through the policy, and no proxy, since a proxy would resolve and connect where the policy cannot see.
fn client(
    cfg: &FetchConfig,
    policy: &AddressPolicy,
    lookup: &Lookup,
) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(cfg.user_agent.clone())
        .timeout(Duration::from_secs(cfg.timeout_secs))
        .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs))
        .read_timeout(Duration::from_secs(cfg.timeout_secs.min(30)))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(cfg.per_host)
        .no_proxy()
        .dns_resolver(GuardedResolver::new(policy.clone(), lookup.clone()))
        .build()?)
}

/// A refusal as a fetch error, with the redirects that led to it.
fn refused_error(refused: &address::Refused, seen: &[String]) -> FetchError {
    let mut message = refused.to_string();
    if seen.len() > 1 {
        message = format!("{message} (redirected: {})", seen.join(" → "));
    }
    FetchError::new(FetchErrorKind::RefusedAddress, message)
}

fn too_large(max: u64) -> FetchError {
    FetchError::new(
        FetchErrorKind::TooLarge,
        format!("body is larger than the {max}-byte cap (fetch.max_body_bytes); download aborted"),
    )
}

fn classify_reqwest_error(e: &reqwest::Error) -> FetchError {
    let kind = if e.is_timeout() {
        FetchErrorKind::Timeout
    } else if e.is_connect() {
        FetchErrorKind::Connect
    } else if e.is_decode() || e.is_body() {
        FetchErrorKind::Body
    } else {
        FetchErrorKind::Request
    };
    // reqwest's Display hides the root cause; the chain names it (refused, reset, bad certificate...). The
    // URL it repeats is left out: the stored error and the log line name the source already.
    let mut message = match e.url() {
        Some(url) => e.to_string().replace(&format!(" for url ({url})"), ""),
        None => e.to_string(),
    };
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
