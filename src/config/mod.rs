//! Reads `feeds.toml` into a typed, validated [`Config`].
//!
//! The file is parsed into a spanned TOML tree and validated field by field ([`validate`]); every problem is
//! collected with the file, line and field path, so an operator fixes a broken file in one pass. Defaults
//! live in one place: the `Default` impls below. A reload builds a whole new `Config` before anything swaps
//! it in, which is why nothing here touches shared state.

mod chunks;
mod error;
mod read;
#[cfg(test)]
mod reference;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, ConfigErrors};

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
    /// How long a stopping daemon waits for polls and HTTP clients.
    pub shutdown: ShutdownConfig,
    /// Log settings.
    pub log: LogConfig,
    /// Sections in file order.
    pub sections: Vec<Section>,
    /// Sources in file order. Empty in a running pipeline's settings, which keep the configuration
    /// without its source list ([`Config::without_source_list`]); [`Config::source_count`] counts them.
    pub sources: Vec<Source>,
    /// How many sources the file had, once the list itself was let go.
    released_sources: Option<usize>,
}

/// `[server]`: where the HTTP server listens and how it names itself.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Socket address to bind.
    pub listen: SocketAddr,
    /// Public base URL used for absolute self links, without a trailing slash.
    pub base_url: String,
    /// Connections open at once, at most (lowered to what the file descriptor limit allows); at the cap
    /// the oldest is closed for a new one.
    pub max_connections: usize,
    /// Seconds a client has to send a request head, also the longest an idle keep-alive connection stays.
    pub header_timeout_secs: u64,
    /// Whether `/status` (every source's health, for operators) is served.
    pub status_page: bool,
    /// When set, `/status`, `/healthz` and `/metrics` are served on this address, and `/status` is no
    /// longer served on `listen`: operators' pages stay off the public address.
    pub status_listen: Option<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let listen = SocketAddr::from(([127, 0, 0, 1], 8080));
        ServerConfig {
            listen,
            base_url: format!("http://{listen}"),
            max_connections: 1024,
            header_timeout_secs: 10,
            status_page: true,
            status_listen: None,
        }
    }
}

/// `[storage]`: the SQLite file and retention.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Path of the database file (resolved against the config's folder).
    pub path: PathBuf,
    /// Items older than this many days are pruned (tombstones stay); 0 keeps everything.
    pub retention_days: u32,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: PathBuf::from("wiredesk.db"),
            retention_days: 30,
        }
    }
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
    /// Memory for fetched bodies and their parsed entries, across all polls (see [`crate::fetch::budget`]);
    /// read at start.
    pub memory_budget_bytes: u64,
    /// Requests in flight to one host at once.
    pub per_host: usize,
    /// Requests in flight overall.
    pub global: usize,
    /// Minimum gap between two requests to one host, in milliseconds.
    pub min_host_gap_ms: u64,
    /// The User-Agent header.
    pub user_agent: String,
    /// Non-public networks every source may connect to (by default only public addresses are fetched).
    pub allow_networks: Vec<ipnet::IpNet>,
}

/// The User-Agent sent when the config names none: honest, with a way to reach the project.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "wiredesk/",
    env!("CARGO_PKG_VERSION"),
    " (feed aggregator; +https://github.com/wiredesk/wiredesk)"
);

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout_secs: 30,
            connect_timeout_secs: 10,
            max_body_bytes: 16 << 20,
            memory_budget_bytes: 160 << 20,
            per_host: 2,
            global: 64,
            min_host_gap_ms: 0,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            allow_networks: Vec::new(),
        }
    }
}

/// `[polling]`: bounds on when a source is polled again.
#[derive(Debug, Clone)]
pub struct PollingConfig {
    /// No source is polled more often than this, whatever its schedule says.
    pub min_interval_secs: i64,
    /// Feed hints (`<ttl>`, Cache-Control, Expires, skipHours) and Retry-After cannot push a poll further
    /// out than this.
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

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            items_per_feed: 100,
            static_dir: None,
        }
    }
}

/// `[dedup]`: story dedup settings.
#[derive(Debug, Clone, PartialEq)]
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
    /// Unsettled items past which new ones are decided only when the window settles (a backlog).
    pub defer_after_items: usize,
    /// Megabytes of the window's item features kept in memory; the rest waits in a file beside the database.
    pub feature_memory_mib: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        let matcher = crate::dedup::similar::Params::default();
        DedupConfig {
            window_hours: 72,
            near_duplicates: true,
            full_threshold: matcher.full_threshold,
            title_threshold: matcher.title_threshold,
            member_threshold: matcher.member_threshold,
            min_title_words: matcher.min_title_words,
            defer_after_items: matcher.defer_after_items,
            feature_memory_mib: matcher.feature_memory >> 20,
        }
    }
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
            defer_after_items: self.defer_after_items,
            feature_memory: self.feature_memory_mib << 20,
            ..Default::default()
        }
    }
}

/// `[shutdown]`: deadlines for a stopping daemon. Both run at once, so a stop takes at most the larger of
/// the two plus a WAL checkpoint; keep them well inside systemd's `TimeoutStopSec` (30 s in the shipped unit).
#[derive(Debug, Clone, PartialEq)]
pub struct ShutdownConfig {
    /// Seconds in-flight polls get to finish; polls still running then are cut off and their
    /// transactions rolled back (the sources are polled again at the next start).
    pub poll_deadline_secs: u64,
    /// Seconds HTTP clients get to finish their requests; connections still open then are closed.
    pub http_deadline_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig {
            poll_deadline_secs: 10,
            http_deadline_secs: 5,
        }
    }
}

/// `[log]`: what the daemon logs.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// A tracing filter (`info`, `warn,wiredesk=debug`, ...); `RUST_LOG` or `WIREDESK_LOG` override it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
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
    /// The section this one is a subsection of: the parent's feed also carries this section's stories.
    pub parent: Option<String>,
    /// Stories from any source whose items match this join the section (`match = {...}`).
    pub matches: SectionRule,
    /// Stories with any item matching this never join the section, nor its parents through it.
    pub exclude: SectionRule,
}

/// A `match` or `exclude` rule of a section: an item matches when it carries one of the categories or has
/// one of the keywords (a whole word or phrase) in its title or summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SectionRule {
    /// Category names, compared case-insensitively after trimming.
    pub categories: Vec<String>,
    /// Words or phrases, matched whole and in any case.
    pub keywords: Vec<String>,
}

impl SectionRule {
    /// True when the rule names nothing (it then matches no item).
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.keywords.is_empty()
    }
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
    /// Non-public networks this source may connect to, besides `[fetch] allow_networks`.
    pub allow_networks: Vec<ipnet::IpNet>,
    /// When false, the source is paused: not polled, its stored stories stay published.
    pub enabled: bool,
}

/// The default schedule when `[defaults] schedule` is not set.
pub(crate) const DEFAULT_SCHEDULE: &str = "*/15 * * * *";

impl Config {
    /// How many sources the file lists, whether or not this copy still holds the list.
    pub fn source_count(&self) -> usize {
        self.released_sources.unwrap_or(self.sources.len())
    }

    /// This configuration without its source list. Once the sources are synced, the database holds
    /// them and the schedules and the HTTP client are built, so the daemon keeps this copy: at 100,000
    /// sources, letting the list go took an unchanged `poll --once` from 126 to 107 MB at its peak.
    pub fn without_source_list(&self) -> Config {
        Config {
            path: self.path.clone(),
            server: self.server.clone(),
            storage: self.storage.clone(),
            default_schedule: self.default_schedule.clone(),
            fetch: self.fetch.clone(),
            polling: self.polling.clone(),
            publish: self.publish.clone(),
            dedup: self.dedup.clone(),
            shutdown: self.shutdown.clone(),
            log: self.log.clone(),
            sections: self.sections.clone(),
            sources: Vec::new(),
            released_sources: Some(self.source_count()),
        }
    }

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

    /// The sections whose parent is `id` (None: the top-level sections), in file order.
    pub fn children_of<'a>(
        &'a self,
        id: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections
            .iter()
            .filter(move |s| s.parent.as_deref() == id)
    }

    /// `id` and its ancestors, nearest first (validation rules out cycles; a cycle stops the walk).
    pub fn lineage<'a>(&'a self, id: &'a str) -> Vec<&'a Section> {
        let mut out: Vec<&Section> = Vec::new();
        let mut next = self.section(id);
        while let Some(s) = next {
            if out.iter().any(|o| o.id == s.id) {
                break;
            }
            out.push(s);
            next = s.parent.as_deref().and_then(|p| self.section(p));
        }
        out
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors::whole_file(path.to_path_buf(), format!("cannot read it: {e}"))
    })?;
    parse(path, &text)
}

/// Validates config text; `path` names the file in errors and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    validate::validate(path, text)
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
        assert!(errs[3].contains("is already sources[1].url"), "{}", errs[3]);
    }

    #[test]
    fn unknown_keys_wrong_types_and_missing_fields_are_all_reported() {
        let text = "[fetch]\nper_host = \"two\"\nuser_agent = \"bad\\u0007agent\"\n\
                    [[sections]]\nid = \"a\"\ntitel = \"A\"\n\
                    [[sources]]\nurl = \"https://a.example/f\"\n\
                    [[sources]]\nsections = [\"a\"]\nmerge = 1\n";
        let errs = errors(text);
        assert_eq!(
            errs,
            vec![
                "feeds.toml:2: fetch.per_host: must be an integer",
                "feeds.toml:3: fetch.user_agent: must be printable ASCII without control characters (it is sent as an HTTP header)",
                "feeds.toml:6: sections[0].titel: unknown key `titel`; did you mean `title`?",
                "feeds.toml:7: sources[0].sections: is missing; list the sections this source feeds, e.g. sections = [\"world\"]",
                "feeds.toml:9: sources[1].url: is missing; it must be a string",
                "feeds.toml:11: sources[1].merge: must be true or false",
            ]
        );
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let errs = errors("[[sections]]\nid = \"a\n");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].starts_with("feeds.toml:2: syntax:"), "{}", errs[0]);
    }

    #[test]
    fn the_status_address_must_differ_from_listen() {
        let errs = errors(
            "[server]\nlisten = \"127.0.0.1:9000\"\nstatus_listen = \"127.0.0.1:9000\"\n[[sections]]\nid = \"a\"\n",
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("feeds.toml:3: server.status_listen:"),
            "{}",
            errs[0]
        );
        let c = parse(
            Path::new("feeds.toml"),
            "[server]\nstatus_listen = \"localhost:9001\"\n[[sections]]\nid = \"a\"\n",
        )
        .unwrap();
        assert_eq!(c.server.status_listen.map(|a| a.port()), Some(9001));
    }

    #[test]
    fn listen_takes_host_names() {
        let c = parse(
            Path::new("feeds.toml"),
            "[server]\nlisten = \"localhost:9000\"\n[[sections]]\nid = \"a\"\n",
        )
        .unwrap();
        assert_eq!(c.server.listen.port(), 9000);
        assert!(c.server.listen.ip().is_loopback());
    }

    #[test]
    fn allowed_networks_parse_globally_and_per_source_and_bad_ones_name_their_item() {
        let c = parse(
            Path::new("feeds.toml"),
            "[fetch]\nallow_networks = [\"10.0.0.0/8\", \"fd00::/8\"]\n[[sections]]\nid = \"a\"\n\
             [[sources]]\nurl = \"http://10.1.1.1/f\"\nsections = [\"a\"]\nallow_networks = [\"127.0.0.1\"]\n",
        )
        .unwrap();
        assert_eq!(c.fetch.allow_networks.len(), 2);
        assert_eq!(c.sources[0].allow_networks[0].to_string(), "127.0.0.1/32");
        assert!(
            parse(Path::new("f"), "[[sections]]\nid = \"a\"\n")
                .unwrap()
                .fetch
                .allow_networks
                .is_empty()
        );
        let errs = errors(
            "[fetch]\nallow_networks = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n[[sections]]\nid = \"a\"\n\
             [[sources]]\nurl = \"http://a.example/f\"\nsections = [\"a\"]\n\
             allow_networks = \"10.0.0.0/8\"\n\
             [[sources]]\nurl = \"http://me:secret@b.example/f\"\nsections = [\"a\"]\n",
        );
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(
            errs[0].starts_with(
                "feeds.toml:2: fetch.allow_networks[1]: `10.0.0.0/33` is not a network"
            ),
            "{}",
            errs[0]
        );
        assert_eq!(
            errs[1],
            "feeds.toml:8: sources[0].allow_networks: must be a list of strings"
        );
        assert!(
            errs[2].contains("sources[1].url: `http://me:secret@b.example/f` carries credentials")
        );
    }

    #[test]
    fn operations_keys_have_defaults_and_are_checked() {
        let c = parse(Path::new("feeds.toml"), GOOD).unwrap();
        assert_eq!(c.shutdown, ShutdownConfig::default());
        assert_eq!(c.log.level, "info");
        assert!(c.sources[0].enabled);
        let text = format!(
            "{GOOD}enabled = false\n[shutdown]\npoll_deadline_secs = 3\nhttp_deadline_secs = 2\n\
             [log]\nlevel = \"warn,wiredesk=debug\"\n"
        );
        let c = parse(Path::new("feeds.toml"), &text).unwrap();
        assert!(!c.sources[0].enabled);
        assert_eq!(
            (c.shutdown.poll_deadline_secs, c.shutdown.http_deadline_secs),
            (3, 2)
        );
        assert_eq!(c.log.level, "warn,wiredesk=debug");
        let errs = errors(&format!(
            "{GOOD}enabled = \"no\"\n[shutdown]\npoll_deadline_secs = 0\n[log]\nlevel = \"info,=\"\n"
        ));
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(
            errs[0].contains("sources[0].enabled: must be true or false"),
            "{}",
            errs[0]
        );
        assert!(
            errs[1].contains("shutdown.poll_deadline_secs: must be greater than 0"),
            "{}",
            errs[1]
        );
        assert!(
            errs[2].contains("log.level: `info,=` is not a log filter"),
            "{}",
            errs[2]
        );
    }

    #[test]
    fn sections_nest_and_their_rules_are_read() {
        let text = "[[sections]]\nid = \"business\"\nmatch = { categories = [\" Business \", \"economy\"] }\n\
                    [[sections]]\nid = \"crypto\"\nparent = \"business\"\n\
                    match = { keywords = [\"bitcoin\", \"crypto\"] }\n\
                    exclude = { keywords = [\"sponsored\", \"press   release\"], categories = [\"ads\"] }\n";
        let c = parse(Path::new("feeds.toml"), text).unwrap();
        assert_eq!(c.sections[0].matches.categories, ["Business", "economy"]);
        assert_eq!(c.sections[1].parent.as_deref(), Some("business"));
        assert_eq!(
            c.sections[1].exclude.keywords,
            ["sponsored", "press release"]
        );
        assert_eq!(c.sections[1].exclude.categories, ["ads"]);
        let lineage: Vec<&str> = c.lineage("crypto").iter().map(|s| s.id.as_str()).collect();
        assert_eq!(lineage, ["crypto", "business"]);
    }

    #[test]
    fn a_cycle_an_unknown_parent_and_an_empty_match_are_errors_with_line_and_field() {
        let text = "[[sections]]\nid = \"a\"\nparent = \"c\"\n\
                    [[sections]]\nid = \"b\"\nparent = \"a\"\n\
                    [[sections]]\nid = \"c\"\nparent = \"b\"\n\
                    [[sections]]\nid = \"d\"\nparent = \"nowhere\"\n\
                    [[sections]]\nid = \"e\"\nmatch = { keywords = [] }\n\
                    [[sections]]\nid = \"f\"\nparent = \"f\"\nexclude = { keywords = [\"--\"] }\n";
        assert_eq!(
            errors(text),
            vec![
                "feeds.toml:3: sections[0].parent: sections form a cycle: a → c → b → a; a section cannot be its own ancestor",
                "feeds.toml:12: sections[3].parent: unknown section `nowhere`; defined sections are: a, b, c, d, e, f",
                "feeds.toml:15: sections[4].match: is empty, so it would route no story here; list categories = [...] or keywords = [...], or remove it",
                "feeds.toml:18: sections[5].parent: sections form a cycle: f → f; a section cannot be its own ancestor",
                "feeds.toml:19: sections[5].exclude.keywords[0]: `--` has no letters or digits to match as a word",
            ]
        );
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
