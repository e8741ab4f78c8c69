//! Test helpers: a loopback feed server, config writing, and the published-feed checks (RSS 2.0 rules from
//! `../shared/schemas/README.md`, Atom via jing).

#![allow(dead_code)]

pub mod published;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub mod demo;

/// A child process (the real binary), killed when the test ends.
pub struct Binary(pub Child);

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends signal `name` (`HUP`, `TERM`, ...) to `child` with kill(1).
pub fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// A loopback address:port that was free a moment ago.
pub fn free_addr() -> String {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().to_string()
}

/// The shared test data beside the checkout (or at `WIREDESK_SHARED`): the Atom schema, the parser corpora
/// and the dedup development set. A test that needs it and cannot find it fails with one message that
/// says what is missing and where to get it, instead of a bare "No such file or directory".
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("WIREDESK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let needed = ["schemas/atom.rnc", "corpora", "dedup-dev"];
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|p| !dir.join(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "this test needs the shared test data, and {} is missing {}. It is the project's `shared/` \
         folder (schemas/atom.rnc, corpora/, dedup-dev/), which CI lays beside the checkout: put it at \
         ../shared, or point WIREDESK_SHARED at a copy. Tests that do not need it run without it.",
        dir.display(),
        missing.join(", ")
    );
    dir
}

/// Whether a test may skip for want of a tool: never on CI (CI=true), where `.ci/run` installs them all.
pub fn may_skip(tool: &str, install: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{tool} is missing on CI; .ci/run should have installed it ({install})");
    }
    eprintln!("SKIPPED: {tool} is not installed ({install}; .ci/run does this)");
    true
}

/// Request counters of a [`FeedServer`].
#[derive(Default)]
pub struct Stats {
    /// All requests.
    pub requests: AtomicUsize,
    /// Requests that carried If-None-Match or If-Modified-Since.
    pub conditional: AtomicUsize,
    /// 304 answers.
    pub not_modified: AtomicUsize,
}

#[derive(Clone)]
struct Files {
    files: Arc<HashMap<String, (Vec<u8>, String)>>,
    stats: Arc<Stats>,
    delay: std::time::Duration,
}

/// Serves `files` (URL path → (body, content type)) on 127.0.0.1 with ETag and 304 support.
pub async fn serve_files(files: HashMap<String, (Vec<u8>, String)>) -> (SocketAddr, Arc<Stats>) {
    serve_files_slowly(files, std::time::Duration::ZERO).await
}

/// Serves every file of the folder `dir` at `/{stem}.xml` (as the dedup sets' `feeds/` are laid out) and
/// returns the address and the stems, sorted.
pub async fn serve_feed_dir(dir: &Path) -> (SocketAddr, Vec<String>) {
    let mut files = HashMap::new();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        files.insert(
            format!("/{name}.xml"),
            (std::fs::read(&path).unwrap(), "application/xml".to_string()),
        );
        names.push(name);
    }
    names.sort();
    let (addr, _) = serve_files(files).await;
    (addr, names)
}

/// Like [`serve_files`], answering each request after `delay`.
pub async fn serve_files_slowly(
    files: HashMap<String, (Vec<u8>, String)>,
    delay: std::time::Duration,
) -> (SocketAddr, Arc<Stats>) {
    let stats = Arc::new(Stats::default());
    let state = Files {
        files: Arc::new(files),
        stats: stats.clone(),
        delay,
    };
    let app = Router::new().fallback(serve_one).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, stats)
}

async fn serve_one(State(state): State<Files>, request: Request) -> Response {
    state.stats.requests.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(state.delay).await;
    let headers = request.headers();
    if headers.contains_key(header::IF_NONE_MATCH)
        || headers.contains_key(header::IF_MODIFIED_SINCE)
    {
        state.stats.conditional.fetch_add(1, Ordering::SeqCst);
    }
    let Some((body, content_type)) = state.files.get(request.uri().path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{}\"", &blake3::hash(body).to_hex()[..16]);
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, etag.parse().unwrap());
    out.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        state.stats.not_modified.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    (StatusCode::OK, out, body.clone()).into_response()
}

/// A source line for [`config_toml`]: (name, url, sections, priority).
pub type SourceSpec = (String, String, Vec<String>, i32);

/// The ids of a dedup set's wire sources (`kind = "wire"` in its `manifest.json`), which the set's tests
/// give a higher `priority`.
pub fn wire_ids(set: &Path) -> Vec<String> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(set.join("manifest.json")).unwrap()).unwrap();
    manifest["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "wire")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// A feeds.toml for tests: retention off (the corpora are old), database in `db`. It ends with a `[fetch]`
/// table that opts in exactly the loopback addresses the sources use (wiredesk refuses non-public
/// addresses by default), so a caller may append more `[fetch]` keys, and further tables after them.
pub fn config_toml(listen: &str, db: &Path, sections: &[&str], sources: &[SourceSpec]) -> String {
    let mut t = format!(
        "[server]\nlisten = \"{listen}\"\nbase_url = \"http://{listen}\"\n[storage]\npath = {db:?}\nretention_days = 0\n\
         [defaults]\nschedule = \"0 0 1 1 *\"\n"
    );
    for s in sections {
        t.push_str(&format!(
            "[[sections]]\nid = \"{s}\"\ntitle = \"Section {s}\"\n"
        ));
    }
    let mut addresses = std::collections::BTreeSet::new();
    for (name, url, secs, prio) in sources {
        let secs: Vec<String> = secs.iter().map(|s| format!("\"{s}\"")).collect();
        t.push_str(&format!(
            "[[sources]]\nname = {name:?}\nurl = \"{url}\"\nsections = [{}]\npriority = {prio}\n",
            secs.join(", ")
        ));
        if let Some(url::Host::Ipv4(ip)) = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host().map(|h| h.to_owned()))
        {
            addresses.insert(format!("\"{ip}/32\""));
        }
    }
    let allowed: Vec<String> = addresses.into_iter().collect();
    t.push_str(&format!(
        "[fetch]\nallow_networks = [{}]\n",
        allowed.join(", ")
    ));
    t
}

/// Problems with an RSS 2.0 document, by the rules in `shared/schemas/README.md`. Empty means it passes.
pub fn rss_problems(xml: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !xml.starts_with("<?xml version=\"1.0\" encoding=\"")
        || !xml[..60.min(xml.len())].to_lowercase().contains("utf-8")
    {
        problems.push("rule 8: missing a UTF-8 XML declaration".into());
    }
    if xml
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        problems.push("rule 8: control characters".into());
    }
    let doc = match roxmltree::Document::parse(xml) {
        Ok(d) => d,
        Err(e) => return vec![format!("rule 8: not well-formed: {e}")],
    };
    let root = doc.root_element();
    if root.tag_name().name() != "rss" || root.attribute("version") != Some("2.0") {
        problems.push("rule 1: root is not <rss version=\"2.0\">".into());
    }
    let channels: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("channel"))
        .collect();
    if channels.len() != 1 {
        return vec![format!("rule 1: {} channels", channels.len())];
    }
    let channel = channels[0];
    let child_text = |n: roxmltree::Node, name: &str| {
        n.children()
            .find(|c| {
                c.is_element() && c.tag_name().name() == name && c.tag_name().namespace().is_none()
            })
            .map(|c| c.text().unwrap_or("").to_string())
    };
    for name in ["title", "link", "description"] {
        if child_text(channel, name).is_none_or(|t| t.trim().is_empty()) {
            problems.push(format!("rule 2: channel {name} missing or empty"));
        }
    }
    let is_abs = |u: &str| u.starts_with("http://") || u.starts_with("https://");
    let check_date = |what: &str, d: &str, problems: &mut Vec<String>| {
        if chrono::DateTime::parse_from_rfc2822(d).is_err()
            || d.split_whitespace().nth(3).is_none_or(|y| y.len() != 4)
        {
            problems.push(format!(
                "rule 4: {what} `{d}` is not an RFC 822 date with a 4-digit year"
            ));
        }
    };
    if let Some(d) = child_text(channel, "lastBuildDate") {
        check_date("lastBuildDate", &d, &mut problems);
    }
    if !channel.children().any(|c| {
        c.tag_name().name() == "link"
            && c.tag_name().namespace() == Some("http://www.w3.org/2005/Atom")
            && c.attribute("rel") == Some("self")
    }) {
        problems.push("rule 9: no atom:link rel=self".into());
    }
    let mut guids = std::collections::HashSet::new();
    for item in channel.children().filter(|n| n.has_tag_name("item")) {
        let title = child_text(item, "title");
        let description = child_text(item, "description");
        if title.as_deref().is_none_or(|t| t.trim().is_empty()) || description.is_none() {
            problems.push("rule 3: item without title and description".into());
        }
        for name in ["title", "description"] {
            if let Some(node) = item.children().find(|c| c.has_tag_name(name))
                && node.children().any(|c| c.is_element())
            {
                problems.push(format!("rule 7: raw element inside <{name}>"));
            }
        }
        if title
            .as_deref()
            .is_some_and(|t| t.contains('<') && t.contains('>'))
        {
            problems.push(format!("rule 7: markup in title {title:?}"));
        }
        if let Some(d) = child_text(item, "pubDate") {
            check_date("pubDate", &d, &mut problems);
        }
        if let Some(l) = child_text(item, "link")
            && !is_abs(&l)
        {
            problems.push(format!("rule 5: item link `{l}` is not absolute"));
        }
        if let Some(src) = item.children().find(|c| c.has_tag_name("source"))
            && !src.attribute("url").is_some_and(is_abs)
        {
            problems.push("rule 5: source url not absolute".into());
        }
        match item.children().find(|c| c.has_tag_name("guid")) {
            Some(g) => {
                let v = g.text().unwrap_or("").to_string();
                if g.attribute("isPermaLink") != Some("false") && !is_abs(&v) {
                    problems.push(format!("rule 5: permalink guid `{v}` is not absolute"));
                }
                if !guids.insert(v.clone()) {
                    problems.push(format!("rule 6: duplicate guid {v}"));
                }
            }
            None => problems.push("rule 6: item without guid".into()),
        }
    }
    problems
}

/// Validates an Atom document with `jing -c shared/schemas/atom.rnc`, plus the RFC 4287 rules the schema
/// cannot check (zoned dates, absolute unique ids, authors).
pub fn atom_problems(xml: &str, scratch: &Path) -> Vec<String> {
    let file = scratch.join(format!(
        "atom-{}.xml",
        blake3::hash(xml.as_bytes()).to_hex()
    ));
    std::fs::write(&file, xml).unwrap();
    let schema = shared_dir().join("schemas/atom.rnc");
    let out = std::process::Command::new("jing")
        .arg("-c")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("jing is needed for the Atom checks: apt-get install -y jing");
    let mut problems = Vec::new();
    if !out.status.success() {
        problems.push(format!(
            "jing: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let doc = roxmltree::Document::parse(xml).unwrap();
    let mut ids = std::collections::HashSet::new();
    for n in doc.descendants() {
        match n.tag_name().name() {
            "updated" | "published" => {
                let t = n.text().unwrap_or("");
                if chrono::DateTime::parse_from_rfc3339(t).is_err() {
                    problems.push(format!("date `{t}` is not RFC 3339 with a zone"));
                }
            }
            "entry" => {
                let id = n
                    .children()
                    .find(|c| c.has_tag_name("id"))
                    .and_then(|c| c.text())
                    .unwrap_or("");
                if !(id.starts_with("urn:") || id.starts_with("http") || id.starts_with("tag:")) {
                    problems.push(format!("entry id `{id}` is not an absolute IRI"));
                }
                if !ids.insert(id.to_string()) {
                    problems.push(format!("duplicate entry id {id}"));
                }
                if !n.children().any(|c| c.has_tag_name("author")) {
                    problems.push(format!("entry {id} has no author"));
                }
            }
            _ => {}
        }
    }
    problems
}

/// A `wiredesk run` child process logging to `daemon.log` beside its config, killed when dropped.
pub struct Daemon {
    child: Child,
    config: PathBuf,
    log: PathBuf,
}

impl Daemon {
    pub fn start(dir: &Path, toml: &str) -> Daemon {
        let config = dir.join("feeds.toml");
        std::fs::write(&config, toml).unwrap();
        let log = dir.join("daemon.log");
        let child = Command::new(env!("CARGO_BIN_EXE_wiredesk"))
            .args(["run", "--config"])
            .arg(&config)
            .env("WIREDESK_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, config, log }
    }

    /// `wiredesk sources --json`, by source name.
    pub fn sources(&self) -> HashMap<String, serde_json::Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_wiredesk"))
            .args(["sources", "--json", "--config"])
            .arg(&self.config)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| (v["name"].as_str().unwrap_or_default().to_string(), v))
            .collect()
    }

    /// Waits until every source has been polled once, generously (a loaded 2-core box).
    pub fn wait_polled(&self, count: usize) -> HashMap<String, serde_json::Value> {
        let start = Instant::now();
        loop {
            let sources = self.sources();
            let polled = sources
                .values()
                .filter(|s| !s["last_result"].is_null())
                .count();
            if polled == count {
                return sources;
            }
            assert!(
                start.elapsed() < Duration::from_secs(240),
                "only {polled} of {count} sources polled; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The child's peak resident memory so far, in MB.
    pub fn peak_rss_mb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        kb / 1024
    }

    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
