//! How long a reload that changes the section rules takes to route the stored stories again.
//!
//! usage: `cargo bench --bench reroute [-- STORIES]` (default 100000).
//!
//! A fresh database is filled through the real ingest path with STORIES single-item stories from 20
//! sources (titles and summaries of news-like words, one or two categories each) under one set of rules:
//! a general section, 11 sections of a news site's tree with category and keyword rules, subsections and
//! excludes. Then the rules are changed and every stored story is routed again, as the daemon's writer
//! does after a reload (chunk by chunk, newest first); this is timed three times, alternating between two
//! rule sets so that each run moves stories, and the median is reported with the slowest chunk (how long
//! a poll can wait for the writer meanwhile).

use std::path::Path;
use std::time::{Duration, Instant};

/// The allocator the `wiredesk` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use wiredesk::normalize::NormalizedItem;
use wiredesk::pipeline::Ingester;
use wiredesk::route::Router;
use wiredesk::store::{REROUTE_CHUNK, Store};

const WORDS: &[&str] = &[
    "bank",
    "rates",
    "inflation",
    "market",
    "shares",
    "election",
    "minister",
    "parliament",
    "match",
    "league",
    "coach",
    "bitcoin",
    "crypto",
    "housing",
    "mortgage",
    "rent",
    "startup",
    "software",
    "chip",
    "phone",
    "recipe",
    "restaurant",
    "flight",
    "hotel",
    "museum",
    "festival",
    "vaccine",
    "hospital",
    "doctor",
    "storm",
    "border",
    "talks",
    "summit",
    "budget",
    "tax",
    "oil",
    "prices",
    "growth",
    "jobs",
    "strike",
    "court",
    "ruling",
    "police",
    "school",
    "climate",
    "energy",
    "film",
    "album",
    "final",
    "goal",
    "sponsored",
    "review",
    "travel",
    "beach",
    "city",
    "river",
    "council",
];
const CATEGORIES: &[&str] = &[
    "World",
    "Politics",
    "Business",
    "Economy",
    "Tech",
    "Sports",
    "Health",
    "Lifestyle",
    "Food",
    "Travel",
    "Culture",
    "Markets",
];

fn rules(variant: usize) -> String {
    // Two rule sets that differ in keywords and one category, so re-routing moves stories.
    let (economy, money) = if variant == 0 {
        (
            "\"inflation\", \"rates\", \"growth\"",
            "\"mortgage\", \"tax\"",
        )
    } else {
        (
            "\"inflation\", \"jobs\", \"budget\"",
            "\"bank\", \"tax\", \"prices\"",
        )
    };
    let tech = if variant == 0 {
        "\"Tech\""
    } else {
        "\"Tech\", \"Markets\""
    };
    format!(
        r#"
[[sections]]
id = "all"
[[sections]]
id = "world"
match = {{ categories = ["World"], keywords = ["summit", "border"] }}
[[sections]]
id = "politics"
match = {{ categories = ["Politics"], keywords = ["election", "parliament", "minister"] }}
[[sections]]
id = "business"
match = {{ categories = ["Business"] }}
exclude = {{ keywords = ["sponsored"] }}
[[sections]]
id = "economy"
parent = "business"
match = {{ categories = ["Economy"], keywords = [{economy}] }}
[[sections]]
id = "real-estate"
parent = "business"
match = {{ keywords = ["housing", "rent", "mortgage"] }}
[[sections]]
id = "money"
parent = "business"
match = {{ keywords = [{money}] }}
[[sections]]
id = "crypto"
parent = "business"
match = {{ keywords = ["bitcoin", "crypto"] }}
exclude = {{ keywords = ["sponsored", "press release"] }}
[[sections]]
id = "tech"
match = {{ categories = [{tech}], keywords = ["software", "chip", "startup"] }}
[[sections]]
id = "lifestyle"
match = {{ categories = ["Lifestyle"] }}
[[sections]]
id = "food"
parent = "lifestyle"
match = {{ categories = ["Food"], keywords = ["recipe", "restaurant"] }}
[[sections]]
id = "travel"
parent = "lifestyle"
match = {{ categories = ["Travel"], keywords = ["flight", "hotel", "beach"] }}
[[sections]]
id = "culture"
parent = "lifestyle"
match = {{ categories = ["Culture"], keywords = ["museum", "festival", "film", "album"] }}
[[sections]]
id = "health"
match = {{ categories = ["Health"], keywords = ["vaccine", "hospital", "doctor"] }}
[[sections]]
id = "sports"
match = {{ categories = ["Sports"], keywords = ["league", "coach", "goal"] }}
{sources}"#,
        sources = (0..20)
            .map(|i| format!(
                "[[sources]]\nname = \"Source {i}\"\nurl = \"https://s{i}.example/feed\"\nsections = [\"all\"]\n"
            ))
            .collect::<String>()
    )
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.below(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn fill(dir: &Path, stories: usize) -> (wiredesk::config::Config, Duration) {
    let config = wiredesk::config::parse(
        &dir.join("feeds.toml"),
        &format!("[storage]\npath = \"r.db\"\n{}", rules(0)),
    )
    .expect("the bench config parses");
    let mut store = Store::open(&config.storage.path).unwrap();
    store.sync_sources(&config).unwrap();
    let sources = store.sources().unwrap();
    drop(store);
    let exact_only = wiredesk::config::DedupConfig {
        near_duplicates: false,
        ..Default::default()
    };
    let mut ingester = Ingester::open(&config.storage.path, &exact_only).unwrap();
    ingester.set_router(std::sync::Arc::new(Router::new(&config)));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let per_feed = 1_000;
    let base = 1_750_000_000;
    for feed in 0..stories.div_ceil(per_feed) {
        let items: Vec<NormalizedItem> = (0..per_feed.min(stories - feed * per_feed))
            .map(|i| {
                let n = feed * per_feed + i;
                let mut categories = vec![CATEGORIES[rng.below(CATEGORIES.len())].to_string()];
                if rng.below(3) == 0 {
                    categories.push(CATEGORIES[rng.below(CATEGORIES.len())].to_string());
                }
                NormalizedItem {
                    guid: format!("item-{n}"),
                    url: Some(format!("https://s.example/{n}")),
                    title: format!("{} {n}", rng.words(8)),
                    summary: rng.words(30),
                    published: chrono::DateTime::from_timestamp(base + n as i64, 0).unwrap(),
                    date_from_feed: true,
                    categories,
                    ..Default::default()
                }
            })
            .collect();
        let source = &sources[feed % sources.len()];
        ingester
            .ingest_one(source, items, base + stories as i64)
            .unwrap();
    }
    (config, started.elapsed())
}

fn main() {
    let stories: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let (config, took) = fill(dir.path(), stories);
    println!(
        "filled {stories} stories through ingest (routing included) in {:.1} s",
        took.as_secs_f64()
    );
    let mut store = Store::open(&config.storage.path).unwrap();
    let mut runs = Vec::new();
    for run in 0..3 {
        let text = format!("[storage]\npath = \"r.db\"\n{}", rules(1 - run % 2));
        let changed = wiredesk::config::parse(&dir.path().join("feeds.toml"), &text).unwrap();
        let router = Router::new(&changed);
        let started = Instant::now();
        let mut slowest = Duration::ZERO;
        let mut below = None;
        let mut routed = 0;
        let mut sections = std::collections::BTreeSet::new();
        loop {
            let chunk = Instant::now();
            let step = store.reroute_chunk(&router, below, REROUTE_CHUNK).unwrap();
            slowest = slowest.max(chunk.elapsed());
            routed += step.stories;
            sections.extend(step.changed);
            match step.next {
                Some(next) => below = Some(next),
                None => break,
            }
        }
        store.set_routing_fingerprint(router.fingerprint()).unwrap();
        let took = started.elapsed();
        println!(
            "run {}: routed {routed} stories again in {:.2} s ({:.0} stories/s), {} sections changed, \
             slowest chunk of {REROUTE_CHUNK}: {} ms",
            run + 1,
            took.as_secs_f64(),
            routed as f64 / took.as_secs_f64(),
            sections.len(),
            slowest.as_millis()
        );
        runs.push((took, slowest));
    }
    // The last run's rules once more: reading and deciding alone, with nothing to write.
    let text = format!("[storage]\npath = \"r.db\"\n{}", rules(1));
    let same =
        Router::new(&wiredesk::config::parse(&dir.path().join("feeds.toml"), &text).unwrap());
    let started = Instant::now();
    let (routed, changed) = store.reroute_all(&same, REROUTE_CHUNK).unwrap();
    println!(
        "unchanged rules: {routed} stories read and routed in {:.2} s, {} sections changed",
        started.elapsed().as_secs_f64(),
        changed.len()
    );
    runs.sort();
    let (median, slowest) = runs[1];
    println!(
        "median of 3: {:.2} s for {stories} stories; its slowest chunk {} ms",
        median.as_secs_f64(),
        slowest.as_millis()
    );
}
