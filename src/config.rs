//! Reads `feeds.toml` into a typed, validated [`Config`].
//!
//! Parsing and validation collect every problem they find, each with the file, line and field, so an operator
//! fixes a broken file in one pass. A reload builds a whole new `Config` before anything swaps it in, which is
//! why nothing here touches shared state.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::schedule::CronSchedule;

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config was read from; relative paths inside it resolve against its folder.
    pub path: PathBuf,
    /// HTTP server settings.
    pub server: ServerConfig,
    /// SQLite settings.
    pub storage: StorageConfig,
    /// Fallback schedule for sources and sections without their own.
    pub default_schedule: CronSchedule,
    /// HTTP client limits.
    pub fetch: FetchConfig,
    /// Bounds on poll intervals, backoff and quarantine.
    pub polling: PollingConfig,
    /// Output settings.
    pub publish: PublishConfig,
    /// Story dedup settings.
    pub dedup: DedupConfig,
    /// Sections in file order.
    pub sections: Vec<Section>,
    /// Sources in file order.
    pub sources: Vec<Source>,
}

/// `[server]`: where the HTTP server listens and how it names itself.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Socket address to bind.
    pub listen: SocketAddr,
    /// Public base URL used for absolute self links, without a trailing slash.
    pub base_url: String,
}

/// `[storage]`: the SQLite file and retention.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Path of the database file (resolved against the config's folder).
    pub path: PathBuf,
    /// Items older than this many days are pruned (tombstones stay).
    pub retention_days: u32,
}

/// `[fetch]`: HTTP client limits and politeness.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Total time allowed for one request, body included.
    pub timeout_secs: u64,
    /// Time allowed to open a connection.
    pub connect_timeout_secs: u64,
    /// Largest body accepted, after decompression.
    pub max_body_bytes: u64,
    /// Requests in flight to one host at once.
    pub per_host: usize,
    /// Requests in flight overall.
    pub global: usize,
    /// Minimum gap between two requests to one host, in milliseconds.
    pub min_host_gap_ms: u64,
    /// The User-Agent header.
    pub user_agent: String,
}

/// `[polling]`: bounds on when a source is polled again.
#[derive(Debug, Clone)]
pub struct PollingConfig {
    /// No source is polled more often than this, whatever its schedule says.
    pub min_interval_secs: i64,
    /// Feed hints (`<ttl>`, Cache-Control, Expires, skipHours) cannot push a poll further out than this.
    pub max_interval_secs: i64,
    /// The first error backoff; it doubles with each consecutive failure.
    pub backoff_base_secs: i64,
    /// The longest error backoff.
    pub backoff_max_secs: i64,
    /// After failing this many days in a row a source is quarantined: probed once a day and reported.
    pub quarantine_after_days: i64,
}

impl Default for PollingConfig {
    fn default() -> Self {
        PollingConfig {
            min_interval_secs: 60,
            max_interval_secs: 86_400,
            backoff_base_secs: 300,
            backoff_max_secs: 43_200,
            quarantine_after_days: 3,
        }
    }
}

/// `[publish]`: what the published feeds hold and where static copies go.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// Stories per published section feed.
    pub items_per_feed: usize,
    /// Optional folder where every rendered document is also written as a file.
    pub static_dir: Option<PathBuf>,
}

/// `[dedup]`: story dedup settings.
#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// How far back a new item looks for stories it may belong to.
    pub window_hours: u32,
    /// Whether the similarity layer runs at all (exact layers always run).
    pub near_duplicates: bool,
    /// Similarity score a copy needs when both items have a summary (0..1).
    pub full_threshold: f32,
    /// Similarity score a copy needs when either item is title-only (0..1).
    pub title_threshold: f32,
    /// Score the story's representative and most other members must also reach (0..1).
    pub member_threshold: f32,
    /// Content words a title needs before a title-only match counts.
    pub min_title_words: usize,
}

impl DedupConfig {
    /// The matcher parameters these settings give.
    pub fn matcher_params(&self) -> crate::dedup::similar::Params {
        crate::dedup::similar::Params {
            window_secs: i64::from(self.window_hours) * 3600,
            full_threshold: self.full_threshold,
            title_threshold: self.title_threshold,
            member_threshold: self.member_threshold,
            min_title_words: self.min_title_words,
            ..Default::default()
        }
    }
}

/// One `[[sections]]` entry: a published feed.
#[derive(Debug, Clone)]
pub struct Section {
    /// Identifier used in URLs (`/feeds/{id}.rss`).
    pub id: String,
    /// Human title of the published feed.
    pub title: String,
    /// Description of the published feed.
    pub description: String,
    /// Schedule for this section's sources when they have none of their own.
    pub schedule: Option<CronSchedule>,
}

/// One `[[sources]]` entry: a feed to poll.
#[derive(Debug, Clone)]
pub struct Source {
    /// Display name, credited in published items.
    pub name: String,
    /// Feed URL; the identity of the source in storage.
    pub url: String,
    /// Section ids the source's stories appear in.
    pub sections: Vec<String>,
    /// The source's own schedule, if set.
    pub schedule: Option<CronSchedule>,
    /// Higher is preferred as a story's representative.
    pub priority: i32,
    /// When false, this source's items never join other stories by similarity (exact layers still apply).
    pub merge: bool,
}

impl Config {
    /// The schedule that applies to a source: its own, else its first section's, else the default.
    pub fn schedule_for<'a>(&'a self, source: &'a Source) -> &'a CronSchedule {
        if let Some(s) = &source.schedule {
            return s;
        }
        source
            .sections
            .iter()
            .filter_map(|id| self.sections.iter().find(|s| &s.id == id))
            .find_map(|s| s.schedule.as_ref())
            .unwrap_or(&self.default_schedule)
    }

    /// Looks a section up by id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }
}

/// Every problem found in a config file.
#[derive(Debug)]
pub struct ConfigErrors {
    /// The file the errors are about.
    pub path: PathBuf,
    /// The problems, in file order.
    pub errors: Vec<ConfigError>,
}

/// One problem: where and what.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted field path, e.g. `sources[3].url`.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match e.line {
                Some(line) => write!(
                    f,
                    "{}:{}: {}: {}",
                    self.path.display(),
                    line,
                    e.field,
                    e.message
                )?,
                None => write!(f, "{}: {}: {}", self.path.display(), e.field, e.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// The raw file shape. `deny_unknown_fields` turns typos into errors instead of silently ignored settings.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    polling: RawPolling,
    #[serde(default)]
    publish: RawPublish,
    #[serde(default)]
    dedup: RawDedup,
    #[serde(default)]
    sections: Vec<RawSection>,
    #[serde(default)]
    sources: Vec<RawSource>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    path: Option<String>,
    retention_days: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    schedule: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    timeout_secs: Option<Spanned<u64>>,
    connect_timeout_secs: Option<Spanned<u64>>,
    max_body_bytes: Option<Spanned<u64>>,
    per_host: Option<Spanned<usize>>,
    global: Option<Spanned<usize>>,
    min_host_gap_ms: Option<u64>,
    user_agent: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolling {
    min_interval_secs: Option<Spanned<i64>>,
    max_interval_secs: Option<Spanned<i64>>,
    backoff_base_secs: Option<Spanned<i64>>,
    backoff_max_secs: Option<Spanned<i64>>,
    quarantine_after_days: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPublish {
    items_per_feed: Option<Spanned<usize>>,
    static_dir: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDedup {
    window_hours: Option<Spanned<u32>>,
    near_duplicates: Option<bool>,
    full_threshold: Option<Spanned<f32>>,
    title_threshold: Option<Spanned<f32>>,
    member_threshold: Option<Spanned<f32>>,
    min_title_words: Option<Spanned<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: Spanned<String>,
    title: Option<String>,
    description: Option<String>,
    schedule: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Option<Spanned<String>>,
    url: Spanned<String>,
    sections: Spanned<Vec<Spanned<String>>>,
    schedule: Option<Spanned<String>>,
    #[serde(default)]
    priority: i32,
    #[serde(default = "default_true")]
    merge: bool,
}

fn default_true() -> bool {
    true
}

/// The User-Agent sent when the config names none: honest, with a way to reach the project.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "wiredesk/",
    env!("CARGO_PKG_VERSION"),
    " (feed aggregator; +https://github.com/wiredesk/wiredesk)"
);

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
        path: path.to_path_buf(),
        errors: vec![ConfigError {
            line: None,
            field: "file".into(),
            message: format!("cannot read it: {e}"),
        }],
    })?;
    parse(path, &text)
}

/// Validates config text; `path` names the file in errors and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let lines = LineIndex::new(text);
    let fail = |errors| ConfigErrors {
        path: path.to_path_buf(),
        errors,
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| lines.line(s.start));
        fail(vec![ConfigError {
            line,
            field: "syntax".into(),
            message: e.message().trim().to_string(),
        }])
    })?;
    let mut v = Validator {
        lines: &lines,
        errors: Vec::new(),
    };
    let config = v.build(path, raw);
    if v.errors.is_empty() {
        Ok(config)
    } else {
        v.errors.sort_by_key(|e| e.line.unwrap_or(0));
        Err(fail(v.errors))
    }
}

/// Byte offset to line number, for spans.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

struct Validator<'a> {
    lines: &'a LineIndex,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    fn error(
        &mut self,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            line: span.map(|s| self.lines.line(s.start)),
            field: field.into(),
            message: message.into(),
        });
    }

    fn schedule(&mut self, raw: &Spanned<String>, field: String) -> Option<CronSchedule> {
        match CronSchedule::parse(raw.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(Some(raw.span()), field, e);
                None
            }
        }
    }

    fn positive<T: PartialOrd + Default + Copy>(
        &mut self,
        raw: &Option<Spanned<T>>,
        field: &str,
        default: T,
    ) -> T {
        match raw {
            Some(v) if *v.get_ref() <= T::default() => {
                self.error(Some(v.span()), field, "must be greater than 0");
                default
            }
            Some(v) => *v.get_ref(),
            None => default,
        }
    }

    fn fraction(&mut self, raw: &Option<Spanned<f32>>, field: &str, default: f32) -> f32 {
        match raw {
            Some(v) if !(0.0..=1.0).contains(v.get_ref()) => {
                self.error(Some(v.span()), field, "must be between 0 and 1");
                default
            }
            Some(v) => *v.get_ref(),
            None => default,
        }
    }

    fn build(&mut self, path: &Path, raw: RawConfig) -> Config {
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();

        let listen = match &raw.server.listen {
            Some(l) => l.get_ref().parse().unwrap_or_else(|_| {
                self.error(
                    Some(l.span()),
                    "server.listen",
                    format!(
                        "`{}` is not an address:port such as 127.0.0.1:8080",
                        l.get_ref()
                    ),
                );
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }),
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let base_url = match &raw.server.base_url {
            Some(b) => match Url::parse(b.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    b.get_ref().trim_end_matches('/').to_string()
                }
                _ => {
                    self.error(
                        Some(b.span()),
                        "server.base_url",
                        format!("`{}` is not an absolute http(s) URL", b.get_ref()),
                    );
                    String::new()
                }
            },
            None => format!("http://{listen}"),
        };

        let default_schedule = match &raw.defaults.schedule {
            Some(s) => self.schedule(s, "defaults.schedule".into()),
            None => None,
        }
        .unwrap_or_else(|| {
            CronSchedule::parse("*/15 * * * *").expect("the built-in default schedule parses")
        });

        let fetch = FetchConfig {
            timeout_secs: self.positive(&raw.fetch.timeout_secs, "fetch.timeout_secs", 30),
            connect_timeout_secs: self.positive(
                &raw.fetch.connect_timeout_secs,
                "fetch.connect_timeout_secs",
                10,
            ),
            max_body_bytes: self.positive(
                &raw.fetch.max_body_bytes,
                "fetch.max_body_bytes",
                16 << 20,
            ),
            per_host: self.positive(&raw.fetch.per_host, "fetch.per_host", 2),
            global: self.positive(&raw.fetch.global, "fetch.global", 64),
            min_host_gap_ms: raw.fetch.min_host_gap_ms.unwrap_or(0),
            user_agent: raw
                .fetch
                .user_agent
                .unwrap_or_else(|| DEFAULT_USER_AGENT.to_string()),
        };
        let d = PollingConfig::default();
        let polling = PollingConfig {
            min_interval_secs: self.positive(
                &raw.polling.min_interval_secs,
                "polling.min_interval_secs",
                d.min_interval_secs,
            ),
            max_interval_secs: self.positive(
                &raw.polling.max_interval_secs,
                "polling.max_interval_secs",
                d.max_interval_secs,
            ),
            backoff_base_secs: self.positive(
                &raw.polling.backoff_base_secs,
                "polling.backoff_base_secs",
                d.backoff_base_secs,
            ),
            backoff_max_secs: self.positive(
                &raw.polling.backoff_max_secs,
                "polling.backoff_max_secs",
                d.backoff_max_secs,
            ),
            quarantine_after_days: self.positive(
                &raw.polling.quarantine_after_days,
                "polling.quarantine_after_days",
                d.quarantine_after_days,
            ),
        };
        if polling.min_interval_secs > polling.max_interval_secs {
            self.error(
                raw.polling.min_interval_secs.as_ref().map(|s| s.span()),
                "polling.min_interval_secs",
                "is larger than polling.max_interval_secs",
            );
        }
        let publish = PublishConfig {
            items_per_feed: self.positive(
                &raw.publish.items_per_feed,
                "publish.items_per_feed",
                100,
            ),
            static_dir: raw.publish.static_dir.map(|d| base_dir.join(d)),
        };
        let defaults = crate::dedup::similar::Params::default();
        let dedup = DedupConfig {
            window_hours: self.positive(&raw.dedup.window_hours, "dedup.window_hours", 72),
            near_duplicates: raw.dedup.near_duplicates.unwrap_or(true),
            full_threshold: self.fraction(
                &raw.dedup.full_threshold,
                "dedup.full_threshold",
                defaults.full_threshold,
            ),
            title_threshold: self.fraction(
                &raw.dedup.title_threshold,
                "dedup.title_threshold",
                defaults.title_threshold,
            ),
            member_threshold: self.fraction(
                &raw.dedup.member_threshold,
                "dedup.member_threshold",
                defaults.member_threshold,
            ),
            min_title_words: self.positive(
                &raw.dedup.min_title_words,
                "dedup.min_title_words",
                defaults.min_title_words,
            ),
        };

        let mut sections = Vec::new();
        let mut section_ids = HashSet::new();
        for (i, s) in raw.sections.iter().enumerate() {
            let id = s.id.get_ref();
            let field = format!("sections[{i}].id");
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.error(
                    Some(s.id.span()),
                    field,
                    format!("`{id}` must be non-empty and use only letters, digits, '-' and '_' (it is part of URLs)"),
                );
            } else if !section_ids.insert(id.clone()) {
                self.error(
                    Some(s.id.span()),
                    field,
                    format!("section `{id}` is defined twice"),
                );
            }
            let schedule = s
                .schedule
                .as_ref()
                .and_then(|sc| self.schedule(sc, format!("sections[{i}].schedule")));
            let title = s.title.clone().unwrap_or_else(|| id.clone());
            sections.push(Section {
                id: id.clone(),
                description: s
                    .description
                    .clone()
                    .unwrap_or_else(|| format!("{title}, from wiredesk")),
                title,
                schedule,
            });
        }
        if raw.sections.is_empty() {
            self.error(
                None,
                "sections",
                "no [[sections]] defined; add at least one",
            );
        }

        let mut sources = Vec::new();
        let mut seen_urls: BTreeMap<String, usize> = BTreeMap::new();
        for (i, s) in raw.sources.iter().enumerate() {
            let url = s.url.get_ref().trim();
            match Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    let key = u.as_str().to_string();
                    if let Some(first) = seen_urls.insert(key, i) {
                        self.error(
                            Some(s.url.span()),
                            format!("sources[{i}].url"),
                            format!(
                                "`{url}` is already the url of sources[{first}]; remove one of them"
                            ),
                        );
                    }
                }
                Ok(_) => self.error(
                    Some(s.url.span()),
                    format!("sources[{i}].url"),
                    format!("`{url}` must be an http or https URL"),
                ),
                Err(e) => self.error(
                    Some(s.url.span()),
                    format!("sources[{i}].url"),
                    format!("`{url}` is not a valid URL: {e}"),
                ),
            }
            if s.sections.get_ref().is_empty() {
                self.error(
                    Some(s.sections.span()),
                    format!("sources[{i}].sections"),
                    "lists no section; name at least one",
                );
            }
            for sec in s.sections.get_ref() {
                if !section_ids.contains(sec.get_ref()) {
                    self.error(
                        Some(sec.span()),
                        format!("sources[{i}].sections"),
                        format!(
                            "unknown section `{}`; defined sections are: {}",
                            sec.get_ref(),
                            sections
                                .iter()
                                .map(|s| s.id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
            let schedule = s
                .schedule
                .as_ref()
                .and_then(|sc| self.schedule(sc, format!("sources[{i}].schedule")));
            let name = match &s.name {
                Some(n) if !n.get_ref().trim().is_empty() => n.get_ref().trim().to_string(),
                _ => Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_else(|| url.to_string()),
            };
            sources.push(Source {
                name,
                url: url.to_string(),
                sections: s
                    .sections
                    .get_ref()
                    .iter()
                    .map(|x| x.get_ref().clone())
                    .collect(),
                schedule,
                priority: s.priority,
                merge: s.merge,
            });
        }

        Config {
            path: path.to_path_buf(),
            server: ServerConfig { listen, base_url },
            storage: StorageConfig {
                path: base_dir.join(raw.storage.path.unwrap_or_else(|| "wiredesk.db".into())),
                retention_days: raw.storage.retention_days.unwrap_or(30),
            },
            default_schedule,
            fetch,
            polling,
            publish,
            dedup,
            sections,
            sources,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse(Path::new("feeds.toml"), text) {
            Ok(_) => vec![],
            Err(e) => e.to_string().lines().map(str::to_string).collect(),
        }
    }

    const GOOD: &str = r#"
[server]
listen = "127.0.0.1:9000"
base_url = "https://news.example.org/"

[defaults]
schedule = "*/10 * * * *"

[[sections]]
id = "world"
title = "World"
schedule = "*/5 * * * *"

[[sources]]
name = "Wire"
url = "https://wire.example/world.rss"
sections = ["world"]
priority = 10
"#;

    #[test]
    fn a_good_file_parses_with_defaults_filled_in() {
        let c = parse(Path::new("/etc/wiredesk/feeds.toml"), GOOD).unwrap();
        assert_eq!(c.server.base_url, "https://news.example.org");
        assert_eq!(c.sources[0].priority, 10);
        assert_eq!(c.storage.path, Path::new("/etc/wiredesk/wiredesk.db"));
        assert_eq!(c.schedule_for(&c.sources[0]).expression(), "*/5 * * * *");
        assert_eq!(c.fetch.per_host, 2);
    }

    #[test]
    fn every_error_is_reported_with_its_line_and_field() {
        let text = r#"
[[sections]]
id = "world"

[[sources]]
url = "not a url"
sections = ["world"]

[[sources]]
url = "https://a.example/feed"
sections = ["nope"]
schedule = "every tuesday"

[[sources]]
url = "https://a.example/feed"
sections = ["world"]
"#;
        let errs = errors(text);
        assert_eq!(errs.len(), 4, "{errs:#?}");
        assert!(
            errs[0].starts_with("feeds.toml:6: sources[0].url:"),
            "{}",
            errs[0]
        );
        assert!(errs[1].starts_with("feeds.toml:11: sources[1].sections: unknown section `nope`"));
        assert!(
            errs[2].starts_with("feeds.toml:12: sources[1].schedule:"),
            "{}",
            errs[2]
        );
        assert!(
            errs[3].contains("already the url of sources[1]"),
            "{}",
            errs[3]
        );
    }

    #[test]
    fn an_unknown_key_is_an_error_with_its_line() {
        let errs = errors("[[sections]]\nid = \"a\"\ntitel = \"A\"\n");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("feeds.toml:3: syntax:"), "{}", errs[0]);
        assert!(errs[0].contains("titel"), "{}", errs[0]);
    }

    #[test]
    fn zero_limits_are_rejected() {
        let errs = errors("[fetch]\nper_host = 0\n[[sections]]\nid = \"a\"\n");
        assert_eq!(
            errs,
            vec!["feeds.toml:2: fetch.per_host: must be greater than 0"]
        );
    }
}
