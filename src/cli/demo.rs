//! `wiredesk demo`: an offline demo that explains itself. It serves bundled sample feeds on loopback (an
//! original wire, a site that reposts it under tracking links, a content farm that rewrites it, a business
//! paper, and two sources broken on purpose: one whose feed address now serves an HTML page, one that answers
//! 404), writes a config for them into a temporary folder, and runs
//! the real daemon against them. While it runs it says in words what dedup did, one line per merge, and it
//! prints the pages, the feeds and commands to try, spelled so that they work as printed. Ctrl-C, SIGTERM
//! or a closed stdout stop it, and the temporary folder goes with it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use tokio::sync::Notify;

use super::output::is_broken_pipe;
use crate::explain::join_line;
use crate::store::Store;

/// One sample source of the demo.
pub(crate) struct Sample {
    /// File name on the sample server, without `.xml`.
    pub file: &'static str,
    /// Display name, credited in the published feeds.
    pub name: &'static str,
    /// Sections it feeds.
    pub sections: &'static [&'static str],
    /// Preference as a story's original.
    pub priority: i32,
    /// The feed served, or None for a source whose URL answers 404.
    pub body: Option<&'static str>,
}

/// The bundled sample sources. Written for the demo; no real news.
pub(crate) const SAMPLES: &[Sample] = &[
    Sample {
        file: "harbor-wire",
        name: "Harbor Wire",
        sections: &["local"],
        priority: 10,
        body: Some(include_str!("../../demo/harbor-wire.xml")),
    },
    Sample {
        file: "metro-digest",
        name: "Metro Digest",
        sections: &["local"],
        priority: 0,
        body: Some(include_str!("../../demo/metro-digest.xml")),
    },
    Sample {
        file: "daily-buzz",
        name: "Daily Buzz",
        sections: &["local"],
        priority: -5,
        body: Some(include_str!("../../demo/daily-buzz.xml")),
    },
    Sample {
        file: "ledger-times",
        name: "Ledger Times",
        sections: &["business"],
        priority: 5,
        body: Some(include_str!("../../demo/ledger-times.xml")),
    },
    Sample {
        file: "coastline-courier",
        name: "Coastline Courier",
        sections: &["local"],
        priority: 0,
        body: Some(include_str!("../../demo/coastline-courier.xml")),
    },
    Sample {
        file: "valley-post",
        name: "Valley Post",
        sections: &["business"],
        priority: 0,
        body: None,
    },
];

/// The demo's sections: (id, title, description).
const SECTIONS: &[(&str, &str, &str)] = &[
    (
        "local",
        "Local news",
        "The demo's local news, merged from a wire, a reposting site, a content farm and a broken feed",
    ),
    (
        "business",
        "Business",
        "The demo's business news: a business paper, and a source whose feed has gone missing",
    ),
];

/// A copy the demo's hints point `explain` at: the content farm's rewrite of the wire's storm story.
const SPUN_COPY: &str = "https://dailybuzz.example/2026/11/29/tempest-ingrid/";

async fn sample(UrlPath(name): UrlPath<String>, headers: HeaderMap) -> impl IntoResponse {
    let name = name.trim_end_matches(".xml");
    let Some(body) = SAMPLES.iter().find(|s| s.file == name).and_then(|s| s.body) else {
        return (StatusCode::NOT_FOUND, HeaderMap::new(), String::new());
    };
    let etag = format!("\"{}\"", &blake3::hash(body.as_bytes()).to_hex()[..16]);
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, etag.parse().expect("hex is a valid header"));
    out.insert(
        header::CONTENT_TYPE,
        "application/rss+xml; charset=utf-8"
            .parse()
            .expect("valid header"),
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, out, String::new());
    }
    (StatusCode::OK, out, body.to_string())
}

/// Starts the sample-feed server on an ephemeral loopback port and returns its address.
pub(crate) async fn serve_samples() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/samples/{name}", axum::routing::get(sample));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The demo config for samples served at `samples`, with wiredesk on `listen` and its database in `db`.
pub(crate) fn demo_config_toml(samples: SocketAddr, listen: SocketAddr, db: &Path) -> String {
    let mut toml = format!(
        "[server]\nlisten = \"{listen}\"\nbase_url = \"http://{listen}\"\n\n[storage]\npath = {db:?}\n\
         retention_days = 0\n\n[defaults]\nschedule = \"* * * * *\"\n\n\
         # The samples are served on loopback, which wiredesk refuses unless a network is allowed.\n\
         [fetch]\nallow_networks = [\"{}/32\"]\n",
        samples.ip()
    );
    for (id, title, description) in SECTIONS {
        toml.push_str(&format!(
            "\n[[sections]]\nid = \"{id}\"\ntitle = \"{title}\"\ndescription = \"{description}\"\n"
        ));
    }
    for s in SAMPLES {
        let sections: Vec<String> = s.sections.iter().map(|id| format!("\"{id}\"")).collect();
        toml.push_str(&format!(
            "\n[[sources]]\nname = \"{}\"\nurl = \"http://{samples}/samples/{}.xml\"\nsections = [{}]\npriority = {}\n",
            s.name,
            s.file,
            sections.join(", "),
            s.priority
        ));
    }
    toml
}

/// A word for a shell, quoted only when it needs to be.
fn shell_word(word: &str) -> String {
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:+=,@".contains(c));
    if plain && !word.is_empty() {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// How to run this same binary again, as a shell would need it: its full path (it may not be on PATH).
fn this_binary() -> String {
    std::env::current_exe()
        .map(|p| shell_word(&p.to_string_lossy()))
        .unwrap_or_else(|_| "cargo run --release --".into())
}

/// Prints a line; a closed stdout asks the demo to stop (and clean up) rather than panic.
fn say(line: &str, stop: &Notify) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|_| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            if !is_broken_pipe(&e) {
                eprintln!("wiredesk demo: cannot write to stdout: {e}");
            }
            stop.notify_one();
            false
        }
    }
}

/// The lines printed once the demo serves: where to look and what to try.
fn welcome(listen: SocketAddr, samples: SocketAddr, dir: &Path, config: &Path) -> Vec<String> {
    let base = format!("http://{listen}");
    let bin = this_binary();
    let config = shell_word(&config.to_string_lossy());
    let mut lines = vec![
        format!("wiredesk demo: serving on {base}/"),
        format!(
            "  {} sample sources on http://{samples}/samples/ (two are broken on purpose); data in {}",
            SAMPLES.len(),
            dir.display()
        ),
        "pages:".into(),
        format!("  {base}/                    the sections"),
        format!(
            "  {base}/sections/local      a section: each story once, with the sources that also carried it"
        ),
        format!(
            "  {base}/status              for operators: every source's health, including the broken ones"
        ),
        "feeds (subscribe in a feed reader):".into(),
    ];
    for (id, ..) in SECTIONS {
        lines.push(format!(
            "  {base}/feeds/{id}.rss   {base}/feeds/{id}.atom   {base}/feeds/{id}.json"
        ));
    }
    lines.push(format!("  {base}/feeds.opml         every section at once"));
    lines.push("try, while it runs:".into());
    lines.push(format!("  {bin} --config {config} stories"));
    lines.push(format!("  {bin} --config {config} sources"));
    lines.push(format!("  {bin} --config {config} explain {SPUN_COPY}"));
    lines.push("press Ctrl-C to stop; the temporary folder is removed".into());
    lines
}

/// Resolves on Ctrl-C, SIGTERM or `stop`.
async fn stopped(stop: Arc<Notify>) {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = stop.notified() => {}
    }
}

/// Says what dedup did as the demo's polls land: one line per item that joined a story, by role.
async fn commentary(db: std::path::PathBuf, stop: Arc<Notify>) {
    let mut store = None;
    let mut after = 0;
    let mut told_failures = std::collections::HashSet::new();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        if store.is_none() {
            store = Store::open_read_only(&db).ok();
        }
        let Some(s) = &store else { continue };
        let Ok(lines) = new_lines(s, &mut after, &mut told_failures) else {
            continue;
        };
        for line in lines {
            if !say(&line, &stop) {
                return;
            }
        }
    }
}

/// The commentary since item `after`: joins, then sources that failed for the first time.
fn new_lines(
    store: &Store,
    after: &mut i64,
    told_failures: &mut std::collections::HashSet<i64>,
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for row in store.joins_after(*after, 100)? {
        *after = row.member.item_id;
        let Some(story) = store.story(row.story_id)? else {
            continue;
        };
        let candidates: Vec<crate::dedup::CandidateNote> =
            serde_json::from_str(&row.candidates).unwrap_or_default();
        let Some(matched) = candidates
            .iter()
            .find(|c| c.story_id == row.story_id)
            .and_then(|c| story.members.iter().find(|m| m.item_id == c.item_id))
        else {
            continue;
        };
        let is_original = story.representative().item_id == row.member.item_id;
        lines.push(join_line(
            &row.member,
            matched,
            row.layer,
            row.score,
            is_original,
        ));
    }
    for s in store.sources()? {
        if s.consecutive_errors > 0 && told_failures.insert(s.id) {
            lines.push(format!(
                "failed: {} ({}); the status page shows it",
                s.name,
                s.last_error.as_deref().unwrap_or("no message")
            ));
        }
    }
    Ok(lines)
}

/// Runs the demo until Ctrl-C, SIGTERM or a closed stdout, then removes its temporary folder.
pub(crate) async fn run(listen: &str) -> anyhow::Result<ExitCode> {
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("`{listen}` is not an address:port such as 127.0.0.1:8080"))?;
    let samples = serve_samples().await?;
    let dir = tempfile::Builder::new()
        .prefix("wiredesk-demo-")
        .tempdir()
        .context("cannot create a temporary folder for the demo")?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{addr} is busy ({e}); using a free port instead");
            tokio::net::TcpListener::bind("127.0.0.1:0").await?
        }
    };
    let listen = listener.local_addr()?;
    let config_path = dir.path().join("feeds.toml");
    let db = dir.path().join("demo.db");
    std::fs::write(&config_path, demo_config_toml(samples, listen, &db))?;
    let config = crate::config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let stop = Arc::new(Notify::new());
    for line in welcome(listen, samples, dir.path(), &config_path) {
        if !say(&line, &stop) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let talk = tokio::spawn(commentary(db, stop.clone()));
    let result =
        crate::daemon::run_with_listener(config_path, config, listener, stopped(stop)).await;
    talk.abort();
    drop(dir);
    result.map(|()| ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_quote_only_what_a_shell_would_split() {
        assert_eq!(
            shell_word("/tmp/wiredesk-demo-x1/feeds.toml"),
            "/tmp/wiredesk-demo-x1/feeds.toml"
        );
        assert_eq!(shell_word("/home/a b/wiredesk"), "'/home/a b/wiredesk'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_demo_config_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let text = demo_config_toml(addr, addr, &dir.path().join("d.db"));
        let config = crate::config::parse(&dir.path().join("feeds.toml"), &text).unwrap();
        assert_eq!(config.sources.len(), SAMPLES.len());
        assert_eq!(config.sections.len(), SECTIONS.len());
    }
}
