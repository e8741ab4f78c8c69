//! `wiredesk inspect`: fetch or read one feed and show how it parses and normalises, or which feeds an HTML
//! page links to.

use std::process::ExitCode;

use chrono::Utc;

use crate::fetch::hosts::HostLimits;
use crate::fetch::{FetchOutcome, Fetcher, Validators};
use crate::normalize::{self, NormalizedItem};
use crate::parse;
use crate::timefmt;

use super::output::outln;

/// Inspects a URL or file and prints the result. A URL is fetched under the daemon's address policy, with
/// `allow` opted in.
pub async fn inspect(target: &str, json: bool, allow: &[ipnet::IpNet]) -> anyhow::Result<ExitCode> {
    let (bytes, content_type, base) = if target.starts_with("http://")
        || target.starts_with("https://")
    {
        let cfg = crate::config::FetchConfig {
            allow_networks: allow.to_vec(),
            ..Default::default()
        };
        let hosts = HostLimits::new(cfg.global, cfg.per_host, std::time::Duration::ZERO);
        let fetcher = Fetcher::new(&cfg, hosts)?;
        match fetcher.fetch(target, &Validators::default()).await {
            FetchOutcome::Fetched(f) => (f.body.to_vec(), f.content_type, f.final_url),
            FetchOutcome::Gone => anyhow::bail!("{target}: 410 Gone"),
            FetchOutcome::Unchanged { .. } => {
                anyhow::bail!("{target}: the server answered 304 to an unconditional request")
            }
            FetchOutcome::Failed(e) if e.kind == crate::fetch::FetchErrorKind::RefusedAddress => {
                anyhow::bail!(
                    "{target}: {} (here: `wiredesk inspect --allow-network CIDR`)",
                    e.message
                )
            }
            FetchOutcome::Failed(e) => anyhow::bail!("{target}: {}", e.message),
        }
    } else {
        let bytes =
            std::fs::read(target).map_err(|e| anyhow::anyhow!("{target}: cannot read it: {e}"))?;
        let base = std::path::absolute(target)
            .ok()
            .and_then(|p| url::Url::from_file_path(p).ok())
            .map(|u| u.to_string())
            .unwrap_or_default();
        (bytes, None, base)
    };
    inspect_bytes(target, &bytes, content_type.as_deref(), &base, json)
}

/// Parses and prints one document. Errors name the target and the reason in one line.
pub fn inspect_bytes(
    target: &str,
    bytes: &[u8],
    content_type: Option<&str>,
    base: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let parsed = match without_panics(target, || {
        parse::parse_feed(bytes, content_type, Some(base))
    })? {
        Ok(p) => p,
        Err(e) => {
            let (text, _) =
                without_panics(target, || parse::decode(bytes, content_type))?.unwrap_or_default();
            let found = parse::discover_feeds(&text, url::Url::parse(base).ok().as_ref());
            if found.is_empty() {
                anyhow::bail!("{target}: {e}");
            }
            outln!("{target} is an HTML page; it links to these feeds:");
            for f in found {
                outln!(
                    "  {}  ({}{})",
                    f.url,
                    f.media_type,
                    f.title.map(|t| format!(", \"{t}\"")).unwrap_or_default()
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    let meta = normalize::feed_meta(&parsed.feed);
    let items = without_panics(target, || {
        normalize::normalize_feed(&parsed.feed, base, Utc::now())
    })?
    .map_err(|e| anyhow::anyhow!("{target}: {e}"))?;
    if json {
        for item in &items {
            outln!("{}", item_json(item));
        }
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{target}");
    outln!(
        "  format {:?}, encoding {}, title {:?}, site {}, ttl {}",
        parsed.feed.feed_type,
        parsed.encoding,
        meta.title.unwrap_or_default(),
        meta.site_url.unwrap_or_else(|| "-".into()),
        meta.ttl_minutes
            .map(|t| format!("{t} min"))
            .unwrap_or_else(|| "-".into())
    );
    outln!("  {} entries", items.len());
    for (i, item) in items.iter().enumerate() {
        outln!(
            "  [{i}] {}",
            if item.title.is_empty() {
                "(no title)"
            } else {
                &item.title
            }
        );
        outln!("      guid      {}", item.guid);
        outln!("      link      {}", item.url.as_deref().unwrap_or("-"));
        outln!(
            "      canonical {}",
            item.canonical_url.as_deref().unwrap_or("-")
        );
        outln!(
            "      published {}{}",
            timefmt::human_at(item.published),
            if item.date_from_feed {
                ""
            } else {
                " (first seen: the feed's date was missing or absurd)"
            }
        );
        let summary: String = item.summary.chars().take(160).collect();
        outln!("      summary   {summary}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `f`, turning a panic (a bug, which the daemon survives too) into one line of error instead of an
/// abort with a trace.
fn without_panics<T>(target: &str, f: impl FnOnce() -> T) -> anyhow::Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.map_err(|panic| {
        anyhow::anyhow!(
            "{target}: wiredesk could not read it: {}",
            crate::pipeline::Failure::panic(panic)
                .message
                .replace("the refresh panicked", "the parser panicked")
        )
    })
}

fn item_json(item: &NormalizedItem) -> serde_json::Value {
    serde_json::json!({
        "guid": item.guid, "url": item.url, "canonical_url": item.canonical_url, "title": item.title,
        "summary": item.summary, "author": item.author, "published": item.published.to_rfc3339(),
        "date_from_feed": item.date_from_feed, "content_hash": item.content_hash,
        "content_html_bytes": item.content_html.len(),
    })
}
