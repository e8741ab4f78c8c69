//! Validation: turns the spanned TOML tree into a [`Config`], one line per field, collecting every problem.
//! Defaults come from the `Default` impls in the parent module.

use std::collections::{BTreeMap, HashSet};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};
use url::Url;

use super::chunks::{self, Segments};
use super::error::{ConfigErrors, LineIndex, Problems};
use super::read::{FromToml, Table};
use super::{
    Config, DEFAULT_SCHEDULE, DedupConfig, FetchConfig, LogConfig, PollingConfig, PublishConfig,
    Section, SectionRule, ServerConfig, ShutdownConfig, Source, StorageConfig,
};
use crate::schedule::CronSchedule;

/// Texts from this size on are parsed in pieces (see [`chunks`]): below it the whole parse is small.
const CHUNKED_FROM_BYTES: usize = 1 << 20;

/// `[[sources]]` tables parsed at once when parsing in pieces; only one group's parse tree is held.
const SOURCES_PER_GROUP: usize = 1000;

/// URLs seen so far, each with the field of the first source that has it.
type SeenUrls = BTreeMap<String, String>;

/// Parses and validates config text.
pub(super) fn validate(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    validate_with(path, text, CHUNKED_FROM_BYTES, SOURCES_PER_GROUP)
}

/// [`validate`] with the size from which the text is parsed in pieces and the pieces' size as
/// parameters, so that tests can parse small texts in pieces.
fn validate_with(
    path: &Path,
    text: &str,
    chunked_from: usize,
    group_size: usize,
) -> Result<Config, ConfigErrors> {
    let lines = LineIndex::new(text);
    if text.len() >= chunked_from
        && let Some(segments) = chunks::split(text)
        && segments.sources() > 0
        && let Some(result) = chunked(path, text, &lines, &segments, group_size)
    {
        return result;
    }
    whole(path, text, &lines)
}

/// The whole document parsed at once.
fn whole(path: &Path, text: &str, lines: &LineIndex) -> Result<Config, ConfigErrors> {
    let mut p = Problems::new(lines);
    let (doc, syntax) = DeTable::parse_recoverable(text);
    for e in syntax {
        p.add(e.span(), "syntax", e.message().trim().replace('\n', " "));
    }
    if !p.errors.is_empty() {
        return Err(in_file_order(path, p));
    }
    let root = Table::root(&doc);
    let mut config = build(path, &root, &mut p);
    let tables = root.tables(&mut p, "sources");
    config.sources = sources(&tables, &mut p, &config.sections, &mut SeenUrls::new());
    root.finish(&mut p);
    outcome(path, config, p)
}

/// The document parsed in pieces: all but the `[[sources]]` tables at once, then those tables a group
/// at a time, each group's tree dropped before the next is parsed. `None` when the whole parse must
/// decide: on any syntax error (so that its messages are the usual ones), or when the root itself sets
/// `sources`.
fn chunked(
    path: &Path,
    text: &str,
    lines: &LineIndex,
    segments: &Segments,
    group_size: usize,
) -> Option<Result<Config, ConfigErrors>> {
    let main = segments.main_text(text);
    let (doc, syntax) = DeTable::parse_recoverable(&main);
    let root = Table::root(&doc);
    if !syntax.is_empty() || root.contains("sources") {
        return None;
    }
    let mut p = Problems::new(lines);
    let mut config = build(path, &root, &mut p);
    // Asked for, though absent here, so that unknown root keys get the hints of the whole parse.
    root.tables(&mut p, "sources");
    // Sized once: growing by doubling would hold the old and the new buffer at once.
    config.sources.reserve_exact(segments.sources());
    let mut seen_urls = SeenUrls::new();
    for (range, count) in segments.groups(group_size) {
        let (doc, syntax) = DeTable::parse_recoverable(&text[range.clone()]);
        if !syntax.is_empty() || !holds_sources(doc.get_ref(), count) {
            return None;
        }
        p.offset = range.start;
        let tables = Table::root(&doc).tables_from(&mut p, "sources", config.sources.len());
        let group = sources(&tables, &mut p, &config.sections, &mut seen_urls);
        config.sources.extend(group);
        p.offset = 0;
    }
    root.finish(&mut p);
    Some(outcome(path, config, p))
}

/// Whether a group's tree is exactly the `count` `[[sources]]` tables the scanner found: a check that
/// the scanner cut where the parser would.
fn holds_sources(doc: &DeTable, count: usize) -> bool {
    let mut keys = doc.iter();
    match (keys.next(), keys.next()) {
        (Some((key, value)), None) => {
            key.get_ref() == "sources"
                && matches!(value.get_ref(), DeValue::Array(a) if a.len() == count)
        }
        _ => false,
    }
}

/// The config when nothing was wrong, else every problem.
fn outcome(path: &Path, config: Config, p: Problems) -> Result<Config, ConfigErrors> {
    if p.errors.is_empty() {
        Ok(config)
    } else {
        Err(in_file_order(path, p))
    }
}

/// The problems sorted by line; problems on one line keep the order they were found in.
fn in_file_order(path: &Path, p: Problems) -> ConfigErrors {
    let mut errors = p.errors;
    errors.sort_by_key(|e| e.line.unwrap_or(0));
    ConfigErrors {
        path: path.to_path_buf(),
        errors,
    }
}

/// Everything but the sources, which the caller reads next (from the root or group by group).
fn build(path: &Path, root: &Table, p: &mut Problems) -> Config {
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let server = server(&root.table(p, "server"), p);
    let storage = storage(&root.table(p, "storage"), p, &base_dir);
    let defaults = root.table(p, "defaults");
    let default_schedule = defaults
        .get::<String>(p, "schedule")
        .and_then(|s| schedule(p, &s, defaults.field("schedule")))
        .unwrap_or_else(|| CronSchedule::parse(DEFAULT_SCHEDULE).expect("the default parses"));
    defaults.finish(p);
    let fetch = fetch(&root.table(p, "fetch"), p);
    let polling = polling(&root.table(p, "polling"), p);
    let publish = publish(&root.table(p, "publish"), p, &base_dir);
    let dedup = dedup(&root.table(p, "dedup"), p);
    let shutdown = shutdown(&root.table(p, "shutdown"), p);
    let log = log(&root.table(p, "log"), p);
    let section_tables = root.tables(p, "sections");
    if section_tables.is_empty() {
        p.add(
            None,
            "sections",
            "no [[sections]] defined; add at least one",
        );
    }
    let sections = sections(&section_tables, p);
    Config {
        path: path.to_path_buf(),
        server,
        storage,
        default_schedule,
        fetch,
        polling,
        publish,
        dedup,
        shutdown,
        log,
        sections,
        released_sources: None,
        sources: Vec::new(),
    }
}

fn server(t: &Table, p: &mut Problems) -> ServerConfig {
    let d = ServerConfig::default();
    let listen = match t.get::<String>(p, "listen") {
        Some(l) => resolve_listen(l.get_ref()).unwrap_or_else(|| {
            p.add(
                Some(l.span()),
                t.field("listen"),
                format!(
                    "`{}` is not an address:port such as 127.0.0.1:8080 or localhost:8080",
                    l.get_ref()
                ),
            );
            d.listen
        }),
        None => d.listen,
    };
    let base_url = match t.get::<String>(p, "base_url") {
        Some(b) => match Url::parse(b.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                b.get_ref().trim_end_matches('/').to_string()
            }
            _ => {
                p.add(
                    Some(b.span()),
                    t.field("base_url"),
                    format!("`{}` is not an absolute http(s) URL", b.get_ref()),
                );
                String::new()
            }
        },
        None => format!("http://{listen}"),
    };
    let status_page = value(t.get(p, "status_page"), d.status_page);
    let status_listen = t.get::<String>(p, "status_listen").and_then(|l| {
        let problem = match resolve_listen(l.get_ref()) {
            Some(a) if a == listen => format!(
                "`{}` is also `listen`; the status address must be another one (or leave it out to serve \
                 /status on `listen`)",
                l.get_ref()
            ),
            Some(a) => return Some(a),
            None => format!(
                "`{}` is not an address:port such as 127.0.0.1:8081 or localhost:8081",
                l.get_ref()
            ),
        };
        p.add(Some(l.span()), t.field("status_listen"), problem);
        None
    });
    let server = ServerConfig {
        listen,
        base_url,
        max_connections: positive(t, p, "max_connections", d.max_connections),
        header_timeout_secs: positive(t, p, "header_timeout_secs", d.header_timeout_secs),
        status_page,
        status_listen,
    };
    t.finish(p);
    server
}

/// An address:port, with a host name resolved (`localhost:8080`).
fn resolve_listen(text: &str) -> Option<SocketAddr> {
    text.parse()
        .ok()
        .or_else(|| text.to_socket_addrs().ok()?.next())
}

fn storage(t: &Table, p: &mut Problems, base_dir: &Path) -> StorageConfig {
    let d = StorageConfig::default();
    let path = t
        .get::<String>(p, "path")
        .map_or(d.path, |s| PathBuf::from(s.into_inner()));
    let storage = StorageConfig {
        path: base_dir.join(path),
        retention_days: value(t.get(p, "retention_days"), d.retention_days),
    };
    t.finish(p);
    storage
}

fn fetch(t: &Table, p: &mut Problems) -> FetchConfig {
    let d = FetchConfig::default();
    let user_agent = match t.get::<String>(p, "user_agent") {
        Some(ua) if reqwest::header::HeaderValue::from_str(ua.get_ref()).is_err() => {
            p.add(
                Some(ua.span()),
                t.field("user_agent"),
                "must be printable ASCII without control characters (it is sent as an HTTP header)",
            );
            d.user_agent.clone()
        }
        Some(ua) => ua.into_inner(),
        None => d.user_agent.clone(),
    };
    let fetch = FetchConfig {
        timeout_secs: positive(t, p, "timeout_secs", d.timeout_secs),
        connect_timeout_secs: positive(t, p, "connect_timeout_secs", d.connect_timeout_secs),
        max_body_bytes: positive(t, p, "max_body_bytes", d.max_body_bytes),
        memory_budget_bytes: positive(t, p, "memory_budget_bytes", d.memory_budget_bytes),
        per_host: positive(t, p, "per_host", d.per_host),
        global: positive(t, p, "global", d.global),
        min_host_gap_ms: value(t.get(p, "min_host_gap_ms"), d.min_host_gap_ms),
        user_agent,
        allow_networks: networks(t, p),
    };
    t.finish(p);
    fetch
}

fn polling(t: &Table, p: &mut Problems) -> PollingConfig {
    let d = PollingConfig::default();
    let polling = PollingConfig {
        min_interval_secs: positive(t, p, "min_interval_secs", d.min_interval_secs),
        max_interval_secs: positive(t, p, "max_interval_secs", d.max_interval_secs),
        backoff_base_secs: positive(t, p, "backoff_base_secs", d.backoff_base_secs),
        backoff_max_secs: positive(t, p, "backoff_max_secs", d.backoff_max_secs),
        quarantine_after_days: positive(t, p, "quarantine_after_days", d.quarantine_after_days),
    };
    if polling.min_interval_secs > polling.max_interval_secs {
        p.add(
            t.span(),
            t.field("min_interval_secs"),
            "is larger than polling.max_interval_secs",
        );
    }
    t.finish(p);
    polling
}

fn publish(t: &Table, p: &mut Problems, base_dir: &Path) -> PublishConfig {
    let d = PublishConfig::default();
    let publish = PublishConfig {
        items_per_feed: positive(t, p, "items_per_feed", d.items_per_feed),
        static_dir: t
            .get::<String>(p, "static_dir")
            .map(|s| base_dir.join(s.into_inner())),
    };
    t.finish(p);
    publish
}

fn dedup(t: &Table, p: &mut Problems) -> DedupConfig {
    let d = DedupConfig::default();
    let dedup = DedupConfig {
        window_hours: positive(t, p, "window_hours", d.window_hours),
        near_duplicates: value(t.get(p, "near_duplicates"), d.near_duplicates),
        full_threshold: fraction(t, p, "full_threshold", d.full_threshold),
        title_threshold: fraction(t, p, "title_threshold", d.title_threshold),
        member_threshold: fraction(t, p, "member_threshold", d.member_threshold),
        min_title_words: positive(t, p, "min_title_words", d.min_title_words),
        defer_after_items: value(t.get(p, "defer_after_items"), d.defer_after_items),
        feature_memory_mib: value(t.get(p, "feature_memory_mib"), d.feature_memory_mib),
    };
    t.finish(p);
    dedup
}

fn shutdown(t: &Table, p: &mut Problems) -> ShutdownConfig {
    let d = ShutdownConfig::default();
    let shutdown = ShutdownConfig {
        poll_deadline_secs: positive(t, p, "poll_deadline_secs", d.poll_deadline_secs),
        http_deadline_secs: positive(t, p, "http_deadline_secs", d.http_deadline_secs),
    };
    t.finish(p);
    shutdown
}

fn log(t: &Table, p: &mut Problems) -> LogConfig {
    let d = LogConfig::default();
    let level = match t.get::<String>(p, "level") {
        Some(l) => match tracing_subscriber::EnvFilter::try_new(l.get_ref()) {
            Ok(_) => l.into_inner(),
            Err(e) => {
                p.add(
                    Some(l.span()),
                    t.field("level"),
                    format!(
                        "`{}` is not a log filter ({e}); use a level such as \"info\" or \"warn,wiredesk=debug\"",
                        l.get_ref()
                    ),
                );
                d.level
            }
        },
        None => d.level,
    };
    t.finish(p);
    LogConfig { level }
}

fn sections(tables: &[Table], p: &mut Problems) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut ids = HashSet::new();
    let mut parents: Vec<Option<Spanned<String>>> = Vec::new();
    for t in tables {
        let id = t.required::<String>(p, "id");
        if let Some(id) = &id {
            let valid = !id.get_ref().is_empty()
                && id
                    .get_ref()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                p.add(
                    Some(id.span()),
                    t.field("id"),
                    format!(
                        "`{}` must be non-empty and use only letters, digits, '-' and '_' (it is part of URLs)",
                        id.get_ref()
                    ),
                );
            } else if !ids.insert(id.get_ref().clone()) {
                p.add(
                    Some(id.span()),
                    t.field("id"),
                    format!("section `{}` is defined twice", id.get_ref()),
                );
            }
        }
        let title = t.get::<String>(p, "title").map(Spanned::into_inner);
        let description = t.get::<String>(p, "description").map(Spanned::into_inner);
        let schedule = t
            .get::<String>(p, "schedule")
            .and_then(|s| schedule(p, &s, t.field("schedule")));
        let parent = t.get::<String>(p, "parent");
        let matches = rule(t, p, "match");
        let exclude = rule(t, p, "exclude");
        t.finish(p);
        let id = id.map(Spanned::into_inner).unwrap_or_default();
        let title = title.unwrap_or_else(|| id.clone());
        sections.push(Section {
            description: description.unwrap_or_else(|| format!("{title}, from wiredesk")),
            id,
            title,
            schedule,
            parent: parent.as_ref().map(|p| p.get_ref().clone()),
            matches,
            exclude,
        });
        parents.push(parent);
    }
    section_tree(tables, p, &sections, &parents);
    sections
}

/// Checks that every `parent` names a section and that following parents never comes back to where it
/// started; a cycle is reported once, at the first of its sections in the file.
fn section_tree(
    tables: &[Table],
    p: &mut Problems,
    sections: &[Section],
    parents: &[Option<Spanned<String>>],
) {
    let index: BTreeMap<&str, usize> = sections
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    for (i, parent) in parents.iter().enumerate() {
        let Some(parent) = parent else { continue };
        if !index.contains_key(parent.get_ref().as_str()) {
            let known: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
            p.add(
                Some(parent.span()),
                tables[i].field("parent"),
                format!(
                    "unknown section `{}`; defined sections are: {}",
                    parent.get_ref(),
                    known.join(", ")
                ),
            );
        }
    }
    for (start, parent) in parents.iter().enumerate() {
        let Some(parent) = parent else { continue };
        let mut path = vec![start];
        let mut at = index.get(parent.get_ref().as_str()).copied();
        while let Some(i) = at {
            if i == start {
                // Reported at the cycle's first section in file order, so each cycle is one error.
                if path.iter().all(|&j| j >= start) {
                    let names: Vec<&str> = path
                        .iter()
                        .chain(std::iter::once(&start))
                        .map(|&j| sections[j].id.as_str())
                        .collect();
                    p.add(
                        Some(parent.span()),
                        tables[start].field("parent"),
                        format!(
                            "sections form a cycle: {}; a section cannot be its own ancestor",
                            names.join(" → ")
                        ),
                    );
                }
                break;
            }
            if path.contains(&i) {
                break; // a cycle further up, reported from its own first section
            }
            path.push(i);
            at = parents[i]
                .as_ref()
                .and_then(|p| index.get(p.get_ref().as_str()).copied());
        }
    }
}

/// A section's `match` or `exclude` table: categories and keywords. Present but naming nothing is an error
/// (it would match nothing, which is never what was meant); so is an empty or wordless entry.
fn rule(t: &Table, p: &mut Problems, key: &'static str) -> SectionRule {
    let r = t.table(p, key);
    let read = |name: &'static str, p: &mut Problems| -> Vec<String> {
        let Some(list) = r.list::<String>(p, name) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, v) in list.get_ref().iter().enumerate() {
            let text = v.get_ref().split_whitespace().collect::<Vec<_>>().join(" ");
            let field = format!("{}[{i}]", r.field(name));
            if text.is_empty() {
                p.add(Some(v.span()), field, "is empty; remove it");
            } else if name == "keywords" && crate::route::words(&text).is_empty() {
                p.add(
                    Some(v.span()),
                    field,
                    format!("`{text}` has no letters or digits to match as a word"),
                );
            } else {
                out.push(text);
            }
        }
        out
    };
    let rule = SectionRule {
        categories: read("categories", p),
        keywords: read("keywords", p),
    };
    r.finish(p);
    if let Some(span) = r.span()
        && rule.is_empty()
        && !p.errors.iter().any(|e| e.field.starts_with(&r.field("")))
    {
        p.add(
            Some(span),
            t.field(key),
            format!(
                "is empty, so it would {}; list categories = [...] or keywords = [...], or remove it",
                if key == "match" {
                    "route no story here"
                } else {
                    "keep no story out"
                }
            ),
        );
    }
    rule
}

/// Reads `[[sources]]` tables; `seen_urls` spans every table of the file, so that a URL listed twice is
/// found even when the two tables are read in different groups.
fn sources(
    tables: &[Table],
    p: &mut Problems,
    sections: &[Section],
    seen_urls: &mut SeenUrls,
) -> Vec<Source> {
    let mut sources = Vec::new();
    for t in tables {
        let url = t.required::<String>(p, "url");
        let url_text = url.as_ref().map(|u| u.get_ref().trim().to_string());
        if let (Some(span), Some(text)) = (url.as_ref().map(Spanned::span), &url_text) {
            match Url::parse(text) {
                Ok(u) if !u.username().is_empty() || u.password().is_some() => p.add(
                    Some(span),
                    t.field("url"),
                    format!(
                        "`{text}` carries credentials (user:pass@); wiredesk refuses such URLs, remove them"
                    ),
                ),
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    if let Some(first) = seen_urls.insert(u.to_string(), t.field("url")) {
                        p.add(
                            Some(span),
                            t.field("url"),
                            format!("`{text}` is already {first}; remove one of them"),
                        );
                    }
                }
                Ok(_) => p.add(
                    Some(span),
                    t.field("url"),
                    format!("`{text}` must be an http or https URL"),
                ),
                Err(e) => p.add(
                    Some(span),
                    t.field("url"),
                    format!("`{text}` is not a valid URL: {e}"),
                ),
            }
        }
        let listed = t.list::<String>(p, "sections");
        match &listed {
            None => p.add(
                t.span(),
                t.field("sections"),
                "is missing; list the sections this source feeds, e.g. sections = [\"world\"]",
            ),
            Some(l) if l.get_ref().is_empty() => p.add(
                Some(l.span()),
                t.field("sections"),
                "lists no section; name at least one",
            ),
            Some(l) => {
                for s in l.get_ref() {
                    if !sections.iter().any(|known| &known.id == s.get_ref()) {
                        let known: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
                        p.add(
                            Some(s.span()),
                            t.field("sections"),
                            format!(
                                "unknown section `{}`; defined sections are: {}",
                                s.get_ref(),
                                known.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        let schedule = t
            .get::<String>(p, "schedule")
            .and_then(|s| schedule(p, &s, t.field("schedule")));
        let name = t
            .get::<String>(p, "name")
            .map(Spanned::into_inner)
            .filter(|n| !n.trim().is_empty());
        let priority = value(t.get(p, "priority"), 0);
        let merge = value(t.get(p, "merge"), true);
        let allow_networks = networks(t, p);
        let enabled = value(t.get(p, "enabled"), true);
        t.finish(p);
        let url = url_text.unwrap_or_default();
        let name = name.map(|n| n.trim().to_string()).unwrap_or_else(|| {
            Url::parse(&url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| url.clone())
        });
        sources.push(Source {
            name,
            sections: listed
                .map(|l| {
                    // Collected in place, the list would keep the spanned list's buffer: room for six
                    // names where most sources list one, 14 MB of 100,000 sources' config.
                    let mut names: Vec<String> = l
                        .into_inner()
                        .into_iter()
                        .map(Spanned::into_inner)
                        .collect();
                    names.shrink_to_fit();
                    names
                })
                .unwrap_or_default(),
            url,
            schedule,
            priority,
            merge,
            allow_networks,
            enabled,
        });
    }
    sources
}

/// `allow_networks`: a list of CIDR networks (`10.0.0.0/8`, `fd00::/8`) or single addresses.
fn networks(t: &Table, p: &mut Problems) -> Vec<ipnet::IpNet> {
    let Some(list) = t.list::<String>(p, "allow_networks") else {
        return Vec::new();
    };
    let field = t.field("allow_networks");
    let mut nets = Vec::new();
    for (i, item) in list.into_inner().into_iter().enumerate() {
        let text = item.get_ref().trim();
        let parsed = text.parse::<ipnet::IpNet>().ok().or_else(|| {
            text.parse::<std::net::IpAddr>()
                .ok()
                .map(ipnet::IpNet::from)
        });
        match parsed {
            Some(net) => nets.push(net),
            None => p.add(
                Some(item.span()),
                format!("{field}[{i}]"),
                format!(
                    "`{text}` is not a network: write a CIDR such as \"10.0.0.0/8\" or \"fd00::/8\", or one address"
                ),
            ),
        }
    }
    nets
}

/// A set value, else the default.
fn value<T>(v: Option<Spanned<T>>, default: T) -> T {
    v.map_or(default, Spanned::into_inner)
}

/// A value that must be above zero.
fn positive<T: FromToml + PartialOrd + Default + Copy>(
    t: &Table,
    p: &mut Problems,
    key: &'static str,
    default: T,
) -> T {
    match t.get::<T>(p, key) {
        Some(v) if *v.get_ref() <= T::default() => {
            p.add(Some(v.span()), t.field(key), "must be greater than 0");
            default
        }
        v => value(v, default),
    }
}

/// A value between 0 and 1.
fn fraction(t: &Table, p: &mut Problems, key: &'static str, default: f32) -> f32 {
    match t.get::<f32>(p, key) {
        Some(v) if !(0.0..=1.0).contains(v.get_ref()) => {
            p.add(Some(v.span()), t.field(key), "must be between 0 and 1");
            default
        }
        v => value(v, default),
    }
}

fn schedule(p: &mut Problems, raw: &Spanned<String>, field: String) -> Option<CronSchedule> {
    CronSchedule::parse(raw.get_ref())
        .map_err(|e| p.add(Some(raw.span()), field, e))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/etc/wiredesk/feeds.toml";

    /// A result as text: the config's Debug form, or every error with its line and field.
    fn shown(result: Result<Config, ConfigErrors>) -> String {
        match result {
            Ok(c) => format!("{c:?}"),
            Err(e) => format!("{:#?}", e.errors),
        }
    }

    /// The whole parse and the parse in groups of two tables, which must be taken (no fallback).
    fn both_ways(text: &str) -> (String, String) {
        let path = Path::new(PATH);
        let lines = LineIndex::new(text);
        let segments = chunks::split(text).expect("the scanner reads the text");
        assert!(segments.sources() > 0, "the text has [[sources]] tables");
        let chunked = chunked(path, text, &lines, &segments, 2).expect("no fallback");
        (shown(whole(path, text, &lines)), shown(chunked))
    }

    /// The errors of the parse in groups of two, as `line: field: message`.
    fn chunked_errors(text: &str) -> Vec<String> {
        let Err(e) = validate_with(Path::new(PATH), text, 0, 2) else {
            panic!("the text is invalid");
        };
        e.errors
            .iter()
            .map(|e| format!("{}: {}: {}", e.line.unwrap_or(0), e.field, e.message))
            .collect()
    }

    /// `n` sources, the `i`th in section `s{i % 2}` with its own URL.
    fn sources_text(n: usize) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "[[sources]]\nname = \"feed {i}\"\nurl = \"https://h{i}.example/f\"\nsections = [\"s{}\"]\n\n",
                    i % 2
                )
            })
            .collect()
    }

    const SECTIONS: &str = "[[sections]]\nid = \"s0\"\n\n[[sections]]\nid = \"s1\"\n\n";

    const MIXED: &str = r#"# top comment
[server]
listen = "127.0.0.1:9000"

[[sections]]
id = "s0"
match = { keywords = ["rust"] }

[[sources]] # the first one
name = """
[[sources]]
url = "https://not.a.source/"
"""
url = "https://a.example/feed"
sections = [
  "s0",   # a comment ] with a bracket
  "s1",
]

[dedup]
window_hours = 12

  [[sources]]
name = '''
[dedup]
'''
url = "https://b.example/feed"
sections = ["s1"]
allow_networks = ["10.0.0.0/8"]
priority = 3

[[sections]]
id = "s1"
exclude = { categories = ["ads"] }

[[sources]]
url = "https://c.example/feed"
sections = ["s0"]
schedule = "*/7 * * * *"
enabled = false
[[sources]]
url = "https://d.example/feed"
sections = ["s0", "s1"]
merge = false

[[sources]]
url = "https://e.example/feed"
sections = ["s1"]
[fetch]
per_host = 4
"#;

    #[test]
    fn the_shipped_file_reads_the_same_in_groups() {
        let (at_once, in_groups) = both_ways(include_str!("../../feeds.toml"));
        assert!(at_once.starts_with("Config {"), "{at_once}");
        assert_eq!(at_once, in_groups);
    }

    #[test]
    fn sources_among_other_tables_strings_and_arrays_read_the_same_in_groups() {
        let (at_once, in_groups) = both_ways(MIXED);
        assert!(at_once.starts_with("Config {"), "{at_once}");
        assert!(at_once.contains("https://e.example/feed"), "{at_once}");
        assert_eq!(at_once, in_groups);
    }

    #[test]
    fn crlf_line_endings_read_the_same_in_groups() {
        let (at_once, in_groups) = both_ways(&MIXED.replace('\n', "\r\n"));
        assert!(at_once.starts_with("Config {"), "{at_once}");
        assert_eq!(at_once, in_groups);
    }

    #[test]
    fn many_sources_read_the_same_in_groups_and_from_the_default_size_on() {
        let text = format!("{SECTIONS}{}", sources_text(501));
        let (at_once, in_groups) = both_ways(&text);
        assert!(at_once.contains("feed 500"), "parsed");
        assert_eq!(at_once, in_groups);
        let big = format!("{SECTIONS}{}", sources_text(15_000));
        assert!(big.len() >= CHUNKED_FROM_BYTES);
        let (path, lines) = (Path::new(PATH), LineIndex::new(&big));
        let segments = chunks::split(&big).unwrap();
        let in_groups =
            chunked(path, &big, &lines, &segments, SOURCES_PER_GROUP).expect("no fallback");
        let at_once = shown(whole(path, &big, &lines));
        assert_eq!(shown(in_groups), at_once);
        assert_eq!(shown(validate(path, &big)), at_once);
    }

    #[test]
    fn errors_in_groups_have_the_lines_and_global_paths_of_the_whole_parse() {
        let mut text = format!("{SECTIONS}{}", sources_text(5));
        text = text.replacen("name = \"feed 3\"", "name = \"feed 3\"\ntitel = \"x\"", 1);
        text = text.replacen("https://h4.example/f", "https://h0.example/f", 1);
        text.push_str("[[sources]]\nsections = [\"nope\"]\n");
        text.push_str("surprise = 1\n");
        let (at_once, in_groups) = both_ways(&text);
        assert_eq!(at_once, in_groups);
        let line_of = |needle: &str| text[..text.find(needle).unwrap()].lines().count() + 1;
        assert_eq!(
            chunked_errors(&text),
            vec![
                format!(
                    "{}: sources[3].titel: unknown key `titel`; known keys here: url, sections, schedule, name, priority, merge, allow_networks, enabled",
                    line_of("titel")
                ),
                format!(
                    "{}: sources[4].url: `https://h0.example/f` is already sources[0].url; remove one of them",
                    line_of(
                        "url = \"https://h0.example/f\"\nsections = [\"s0\"]\n\n[[sources]]\nsections"
                    )
                ),
                format!(
                    "{}: sources[5].url: is missing; it must be a string",
                    line_of("[[sources]]\nsections = [\"nope\"]")
                ),
                format!(
                    "{}: sources[5].sections: unknown section `nope`; defined sections are: s0, s1",
                    line_of("sections = [\"nope\"]")
                ),
                format!(
                    "{}: sources[5].surprise: unknown key `surprise`; known keys here: url, sections, schedule, name, priority, merge, allow_networks, enabled",
                    line_of("surprise")
                ),
            ]
        );
    }

    #[test]
    fn an_unknown_root_key_gets_the_same_hint_in_groups() {
        let text = format!("sourcs = 1\n{SECTIONS}{}", sources_text(3));
        let (at_once, in_groups) = both_ways(&text);
        assert!(at_once.contains("did you mean `sources`?"), "{at_once}");
        assert_eq!(at_once, in_groups);
    }

    #[test]
    fn a_syntax_error_in_a_source_falls_back_to_the_whole_parse() {
        let path = Path::new(PATH);
        let open_string = format!("{SECTIONS}{}", sources_text(5)).replacen(
            "name = \"feed 3\"",
            "name = \"feed 3",
            1,
        );
        assert!(
            chunks::split(&open_string).is_none(),
            "an open one-line string stops the scanner"
        );
        let twice = format!("{SECTIONS}{}", sources_text(5)).replacen(
            "name = \"feed 3\"",
            "name = \"feed 3\"\nname = \"again\"",
            1,
        );
        let lines = LineIndex::new(&twice);
        let segments = chunks::split(&twice).unwrap();
        assert!(chunked(path, &twice, &lines, &segments, 2).is_none());
        for text in [&open_string, &twice] {
            assert_eq!(
                shown(validate_with(path, text, 0, 2)),
                shown(whole(path, text, &LineIndex::new(text)))
            );
        }
        let errors = chunked_errors(&twice);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let line = twice[..twice.find("name = \"again\"").unwrap()]
            .lines()
            .count()
            + 1;
        assert!(
            errors[0].starts_with(&format!("{line}: syntax: ")),
            "{errors:#?}"
        );
    }

    #[test]
    fn sources_outside_array_tables_fall_back_to_the_whole_parse() {
        let path = Path::new(PATH);
        let sub_table = format!("{SECTIONS}{}[sources.extra]\nx = 1\n", sources_text(3));
        let root_key = format!("sources = []\n{SECTIONS}");
        let root_key_and_tables = format!("sources = []\n{SECTIONS}{}", sources_text(3));
        let inline = format!(
            "sources = [{{ url = \"https://a.example/f\", sections = [\"s0\"] }}]\n{SECTIONS}"
        );
        for text in [&sub_table, &root_key, &root_key_and_tables, &inline] {
            let lines = LineIndex::new(text);
            if let Some(segments) = chunks::split(text) {
                assert!(
                    segments.sources() == 0 || chunked(path, text, &lines, &segments, 2).is_none(),
                    "{text}"
                );
            }
            assert_eq!(
                shown(validate_with(path, text, 0, 2)),
                shown(whole(path, text, &lines)),
                "{text}"
            );
        }
        assert!(chunks::split(&sub_table).is_none());
        assert!(shown(validate_with(path, &inline, 0, 2)).starts_with("Config {"));
    }
}
