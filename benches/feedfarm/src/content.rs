//! Deterministic feed content: the clock that says which items a feed shows at a given moment, its
//! validators (ETag, Last-Modified), and the RSS 2.0 renderer.
//!
//! Nothing is stored per feed. Every item is derived from `(seed, feed, item index)` by a small
//! hash-based generator, so 10,000 feeds cost no memory and startup is instant; rendering one feed
//! is a few microseconds of word picking and string pushing.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Spacing between the pubDates of the initial items when feeds never grow (one hour).
const STATIC_SPACING_SECS: i64 = 3600;

/// One step of SplitMix64: a fast, well-mixed 64-bit hash used as a counter-based generator.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a seed with two coordinates, so every (feed, item) pair gets an independent stream.
pub fn mix3(seed: u64, a: u64, b: u64) -> u64 {
    mix(mix(mix(seed) ^ a) ^ b.wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// A tiny deterministic generator (SplitMix64 stream) for picking words.
struct Rng(u64);

impl Rng {
    /// The next 64 random bits.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A value in `0..n` (n > 0); the modulo bias is irrelevant for word picking.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Ordinary news words: titles and descriptions are random walks over these. None needs XML escaping.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "government", "minister", "election", "council", "budget", "court", "ruling", "appeal",
    "police", "investigation", "report", "officials", "workers", "strike", "union", "talks", "deal",
    "agreement", "ceasefire", "border", "troops", "attack", "protest", "crowd", "market", "shares",
    "prices", "inflation", "interest", "rates", "bank", "economy", "growth", "recession", "jobs",
    "wages", "housing", "rent", "energy", "oil", "gas", "power", "grid", "climate", "storm",
    "flood", "drought", "wildfire", "heatwave", "temperatures", "scientists", "study", "research",
    "university", "students", "teachers", "schools", "hospital", "doctors", "nurses", "patients",
    "vaccine", "virus", "health", "service", "company", "chief", "executive", "board", "profits",
    "losses", "revenue", "quarter", "investors", "startup", "technology", "software", "chip",
    "factory", "plant", "exports", "imports", "tariffs", "trade", "ports", "shipping", "airline",
    "flights", "airport", "railway", "train", "station", "bridge", "road", "traffic", "city",
    "village", "region", "province", "capital", "residents", "families", "children", "voters",
    "campaign", "party", "leader", "opposition", "parliament", "senate", "vote", "bill", "law",
    "reform", "tax", "spending", "cuts", "plan", "proposal", "review", "inquiry", "scandal",
    "resignation", "rival", "coalition", "summit", "leaders", "president", "prime", "embassy",
    "diplomats", "sanctions", "aid", "refugees", "camp", "crisis", "emergency", "warning", "alert",
    "rescue", "survivors", "victims", "damage", "recovery", "team", "coach", "players", "match",
    "season", "league", "final", "victory", "defeat", "record", "title", "championship", "stadium",
    "fans", "festival", "film", "album", "artist", "museum", "exhibition", "book", "author",
    "award", "prize", "space", "mission", "rocket", "satellite", "launch", "telescope", "planet",
    "ocean", "species", "wildlife", "forest", "river", "farmers", "harvest", "food", "water",
    "supply", "shortage", "demand", "costs", "bills", "households", "pensions", "benefits",
    "welfare", "migration", "visa", "asylum", "security", "defence", "military", "navy", "drone",
    "cyber", "hackers", "data", "privacy", "platform", "users", "social", "media", "network",
    "internet", "phone", "battery", "electric", "cars", "sales", "retail", "shops", "consumers",
    "survey", "poll", "analysis", "figures", "statistics", "rise", "fall", "surge", "slump",
    "boost", "blow", "hit", "push", "bid", "move", "call", "claim", "denies", "confirms",
    "announces", "warns", "urges", "rejects", "backs", "approves", "blocks", "delays", "launches",
    "signs", "seeks", "faces", "wins", "loses", "returns", "opens", "closes", "expands", "reduces",
    "raises", "lowers", "targets", "plans", "considers", "agrees", "fails", "after", "before",
    "amid", "over", "despite", "following", "during", "against", "across", "under", "new", "major",
    "first", "last", "local", "national", "global", "key", "former", "senior", "young", "early",
    "late", "record", "rare", "sudden", "long", "short", "high", "low", "strong", "weak", "fresh",
    "further", "possible", "likely", "official", "public", "private", "independent", "regional",
    "coastal", "northern", "southern", "eastern", "western", "central",
];

/// Proper names: every title carries one, as real headlines do (they are the dedup "anchors").
#[rustfmt::skip]
const NAMES: &[&str] = &[
    "Adler", "Baptiste", "Calloway", "Dimitrov", "Eriksen", "Fontaine", "Gallagher", "Haddad",
    "Ibarra", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov",
    "Quintero", "Rasmussen", "Sandoval", "Takahashi", "Umarov", "Valdez", "Whitfield", "Xu",
    "Yilmaz", "Zielinski", "Arden", "Brightwater", "Carrow", "Dunmore", "Eastholm", "Fernvale",
    "Glenrock", "Harrowgate", "Ironbridge", "Juniper", "Kingsmere", "Larkspur", "Millbrook",
    "Northwick", "Oakhaven", "Pinecrest", "Queensbury", "Ravenmoor", "Stonebridge", "Thornbury",
    "Upton", "Vale", "Westmere", "Yarrow", "Acme", "Borealis", "Cobalt", "Delta", "Equinox",
    "Fulcrum", "Granite", "Helix", "Ionic", "Jetstream", "Keystone", "Lumen", "Meridian", "Nimbus",
];

/// A feed's position in time: which items it shows and what its validators are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedVersion {
    /// How many new items the feed has gained since the farm started (0 when feeds never grow).
    pub generation: u64,
    /// Unix seconds of the newest item's pubDate; also the Last-Modified.
    pub last_modified: i64,
}

/// Everything needed to render any feed: shared, immutable, cheap to clone behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Content {
    /// Seed of every random choice, so two farms with the same seed serve the same words.
    seed: u64,
    /// Items per feed document.
    items: u64,
    /// Unix seconds the farm considers "time zero" (start time); pubDates are relative to it.
    t0: i64,
    /// Seconds between new items in a feed, if feeds grow over time.
    every: Option<u64>,
}

impl Content {
    /// Content for `items` items per feed, growing by one item every `every` seconds if set.
    pub fn new(seed: u64, items: u64, every: Option<u64>, t0: SystemTime) -> Self {
        let t0 = t0
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs() as i64;
        Content {
            seed,
            items: items.max(1),
            t0,
            every: every.filter(|&n| n > 0),
        }
    }

    /// Per-feed phase so that growing feeds do not all change in the same second.
    fn phase(&self, feed: u64) -> i64 {
        match self.every {
            Some(n) => (mix3(self.seed, feed, 0xFEED) % n) as i64,
            None => 0,
        }
    }

    /// Seconds between consecutive item pubDates.
    fn spacing(&self) -> i64 {
        self.every.map_or(STATIC_SPACING_SECS, |n| n as i64)
    }

    /// Unix seconds of item `index`'s pubDate; item `items - 1` is the newest at generation 0.
    fn pub_date(&self, feed: u64, index: u64) -> i64 {
        self.t0 + (index as i64 - self.items as i64 + 1) * self.spacing() - self.phase(feed)
    }

    /// Which version of `feed` is current at `now`.
    pub fn version(&self, feed: u64, now: SystemTime) -> FeedVersion {
        let generation = match self.every {
            Some(n) => {
                let now = now
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO)
                    .as_secs() as i64;
                let elapsed = (now - self.t0 + self.phase(feed)).max(0);
                (elapsed / n as i64) as u64
            }
            None => 0,
        };
        FeedVersion {
            generation,
            last_modified: self.pub_date(feed, generation + self.items - 1),
        }
    }

    /// The strong ETag of a version; it changes exactly when the document's bytes change.
    pub fn etag(&self, feed: u64, version: FeedVersion) -> String {
        format!(
            "\"ff-{:x}-{:x}-{}-{}-{}\"",
            self.seed, self.t0, self.items, feed, version.generation
        )
    }

    /// Renders the RSS 2.0 document of `feed` at `version`; `self_url` is the feed's own URL.
    pub fn render(&self, feed: u64, version: FeedVersion, self_url: &str) -> String {
        // ~ 700 bytes per item plus the channel header; one allocation in the common case.
        let mut out = String::with_capacity(1024 + 800 * self.items as usize);
        self.render_header(feed, version, self_url, &mut out);
        let newest = version.generation + self.items - 1;
        for index in (version.generation..=newest).rev() {
            self.render_item(feed, index, &mut out);
        }
        out.push_str("</channel>\n</rss>\n");
        out
    }

    /// Writes the XML prolog and `<channel>` metadata.
    pub fn render_header(&self, feed: u64, version: FeedVersion, self_url: &str, out: &mut String) {
        let name = NAMES[(mix3(self.seed, feed, 0xC4A2) % NAMES.len() as u64) as usize];
        let lm = httpdate::fmt_http_date(unix_to_system(version.last_modified));
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n\
             <channel>\n\
             <title>{name} Daily Wire {feed}</title>\n\
             <link>https://feed{feed}.farm.example/</link>\n\
             <atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n\
             <description>Synthetic news feed {feed} served by feedfarm for wiredesk benchmarks.</description>\n\
             <language>en</language>\n\
             <lastBuildDate>{lm}</lastBuildDate>\n\
             <generator>feedfarm</generator>\n",
            xml_escape(self_url)
        );
    }

    /// Writes one `<item>`: a ~10-word title, ~40-word description, link, guid and pubDate.
    pub fn render_item(&self, feed: u64, index: u64, out: &mut String) {
        let mut rng = Rng(mix3(self.seed, feed, index));
        out.push_str("<item>\n<title>");
        let title_start = out.len();
        write_title(&mut rng, out);
        let slug_words: Vec<&str> = out[title_start..].split(' ').take(5).collect();
        let slug = slug_words.join("-").to_ascii_lowercase();
        out.push_str("</title>\n<link>");
        let _ = write!(
            out,
            "https://feed{feed}.farm.example/news/{index}/{slug}.html"
        );
        // A fifth of the links carry tracking parameters, as real feeds' links often do.
        if rng.below(5) == 0 {
            out.push_str("?utm_source=rss&amp;utm_medium=feed");
        }
        out.push_str("</link>\n<description>");
        write_description(&mut rng, out);
        let date = httpdate::fmt_http_date(unix_to_system(self.pub_date(feed, index)));
        let _ = write!(
            out,
            "</description>\n<guid isPermaLink=\"false\">ff-{:x}-{feed}-{index}</guid>\n<pubDate>{date}</pubDate>\n</item>\n",
            self.seed
        );
    }
}

/// Converts Unix seconds (possibly negative) to a `SystemTime`.
pub fn unix_to_system(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

/// Writes a headline: a capitalised word, a proper name, 7-10 more words, sometimes a number.
fn write_title(rng: &mut Rng, out: &mut String) {
    let words = 8 + rng.below(4);
    let name_at = rng.below(3);
    let number_at = if rng.below(3) == 0 {
        rng.below(words)
    } else {
        usize::MAX
    };
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        if i == name_at {
            out.push_str(NAMES[rng.below(NAMES.len())]);
        } else if i == number_at {
            let _ = write!(out, "{}", 2 + rng.below(998));
        } else {
            let w = WORDS[rng.below(WORDS.len())];
            if i == 0 {
                push_capitalised(w, out);
            } else {
                out.push_str(w);
            }
        }
    }
}

/// Writes a ~40-word summary in two or three sentences.
fn write_description(rng: &mut Rng, out: &mut String) {
    let sentences = 2 + rng.below(2);
    let total = 36 + rng.below(10);
    let per = total / sentences;
    for s in 0..sentences {
        if s > 0 {
            out.push(' ');
        }
        for i in 0..per {
            if i > 0 {
                out.push(' ');
            }
            if i == 1 && rng.below(2) == 0 {
                out.push_str(NAMES[rng.below(NAMES.len())]);
                continue;
            }
            let w = WORDS[rng.below(WORDS.len())];
            if i == 0 {
                push_capitalised(w, out);
            } else {
                out.push_str(w);
            }
        }
        out.push('.');
    }
}

/// Appends `w` with its first ASCII letter upper-cased.
fn push_capitalised(w: &str, out: &mut String) {
    let mut chars = w.chars();
    if let Some(c) = chars.next() {
        out.push(c.to_ascii_uppercase());
        out.push_str(chars.as_str());
    }
}

/// Escapes the five XML special characters.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(every: Option<u64>) -> Content {
        Content::new(
            7,
            20,
            every,
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
    }

    #[test]
    fn render_is_deterministic_and_sized() {
        let c = content(None);
        let v = c.version(3, SystemTime::now());
        let a = c.render(3, v, "http://127.0.1.4:1/feeds/3.xml");
        let b = c.render(3, v, "http://127.0.1.4:1/feeds/3.xml");
        assert_eq!(a, b);
        assert_eq!(a.matches("<item>").count(), 20);
        assert!(a.len() > 8_000 && a.len() < 30_000, "len {}", a.len());
    }

    #[test]
    fn titles_and_guids_are_unique_within_a_feed() {
        let c = content(None);
        let doc = c.render(11, c.version(11, SystemTime::now()), "x");
        let mut titles: Vec<&str> = doc.split("<title>").skip(2).collect();
        titles.sort();
        titles.dedup();
        assert_eq!(titles.len(), 20);
    }

    #[test]
    fn growing_feeds_change_version_over_time() {
        let c = content(Some(60));
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let v0 = c.version(5, start);
        let v1 = c.version(5, start + Duration::from_secs(61));
        assert_eq!(v0.generation, 0);
        // The per-feed phase (< 60 s) makes the first change land within the first minute.
        assert!(v1.generation >= 1);
        assert_ne!(c.etag(5, v0), c.etag(5, v1));
        assert!(v1.last_modified > v0.last_modified);
        assert!(v1.last_modified <= 1_700_000_061);
    }
}
