//! The memory budget for fetched bodies: how many bytes of bodies, and of what parsing makes of them, the
//! daemon holds at once across all polls, whatever the feeds' sizes.
//!
//! `fetch.max_body_bytes` caps one body; this caps them all together. Without it, ten valid 14.6 MiB feeds
//! took the daemon to 665 MB: bodies waited for a parse thread, and parsed feeds for the writer, bounded
//! only by their count. The budget (`fetch.memory_budget_bytes`) is split in two pools:
//! - **downloads**: a body may grow to [`SMALL_BODY`] freely (the common case, so polling keeps its
//!   concurrency). Past that, the download reserves its most possible size (the Content-Length, else
//!   `max_body_bytes`) from a fifth of the budget, and waits for it if need be;
//! - **parsing**: a downloaded body is charged what parsing it will cost ([`parse_cost`], its own bytes
//!   included) before it is parsed, and the charge shrinks to what its entries keep once parsed; it is
//!   released when they are stored. A body whose cost is more than the whole pool is not parsed at all
//!   (the caller refuses it), so no one parse can take more than the pool.
//!
//! No holder ever waits for more of a pool it already holds: a download reserves once, and a body takes
//! its parse charge before letting go of its download reservation, never the other way round. So the
//! budget cannot deadlock, and a waiting body is at most [`SMALL_BODY`] or already reserved.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes a body may reach before its download must reserve budget.
pub const SMALL_BODY: usize = 256 << 10;

/// Parsing a feed costs about this many times its size (the text, feed-rs's model and the normalised
/// entries side by side): one 15 MB description peaked at 98 MB in `wiredesk inspect`, a 14 MiB feed of
/// 24,000 entries at 99 MB.
const PARSE_FACTOR: u64 = 6;
/// What each entry costs besides its text (feed-rs's model and a normalised item): 100,000 empty
/// `<item/>`s, a 700 KB body, peaked at 115 MB; 300,000 `{"id":"n"}` JSON items, 4.7 MB, at 490 MB.
const ENTRY_COST: u64 = 1 << 10;
/// What any other element costs besides its text: 900,000 `<link href="h"/>` in 14.4 MB peaked at
/// 205 MB.
const ELEMENT_COST: u64 = 160;
/// What an attribute (counted as a `=`) costs: 1.5 million of them in 18 MB peaked at 195 MB.
const ATTRIBUTE_COST: u64 = 64;

/// Permits are KiB, so a pool of any sensible size fits tokio's `u32` acquisitions.
const UNIT: u64 = 1 << 10;

/// The two pools of a daemon's budget, shared by every poll.
pub struct MemoryBudget {
    /// Reservations of downloads past [`SMALL_BODY`].
    downloads: Arc<Semaphore>,
    downloads_units: u32,
    /// Charges of bodies being parsed and of parsed entries waiting to be stored.
    parsing: Arc<Semaphore>,
    parsing_units: u32,
}

/// Budget held: released when dropped.
#[derive(Debug)]
pub struct Charge {
    permit: OwnedSemaphorePermit,
}

impl Charge {
    /// The bytes held.
    pub fn bytes(&self) -> u64 {
        self.permit.num_permits() as u64 * UNIT
    }

    /// Gives back what is held beyond `bytes` (never less than one unit, so a charge stays a charge).
    pub fn shrink_to(&mut self, bytes: u64) {
        let keep = units(bytes).max(1) as usize;
        let held = self.permit.num_permits();
        if held > keep {
            drop(self.permit.split(held - keep));
        }
    }
}

impl MemoryBudget {
    /// A budget of `bytes` in all: a fifth for large downloads, the rest for parsing.
    pub fn new(bytes: u64) -> Arc<Self> {
        let total = units(bytes).max(8);
        let downloads_units = total / 5;
        let parsing_units = total - downloads_units;
        Arc::new(MemoryBudget {
            downloads: Arc::new(Semaphore::new(downloads_units as usize)),
            downloads_units,
            parsing: Arc::new(Semaphore::new(parsing_units as usize)),
            parsing_units,
        })
    }

    /// Reserves room for a download that may reach `bytes`, waiting while other downloads hold it.
    pub async fn reserve_download(&self, bytes: u64) -> Charge {
        let want = units(bytes).clamp(1, self.downloads_units);
        Charge {
            permit: self
                .downloads
                .clone()
                .acquire_many_owned(want)
                .await
                .expect("the budget is never closed"),
        }
    }

    /// Charges `bytes` of parsing, waiting while parsed feeds hold the pool; capped at the whole pool.
    pub async fn charge_parsing(&self, bytes: u64) -> Charge {
        let want = units(bytes).clamp(1, self.parsing_units);
        Charge {
            permit: self
                .parsing
                .clone()
                .acquire_many_owned(want)
                .await
                .expect("the budget is never closed"),
        }
    }

    /// Bytes of the parsing pool free now (tests and metrics).
    pub fn parsing_free(&self) -> u64 {
        self.parsing.available_permits() as u64 * UNIT
    }

    /// Bytes of the parsing pool in all.
    pub fn parsing_total(&self) -> u64 {
        u64::from(self.parsing_units) * UNIT
    }
}

fn units(bytes: u64) -> u32 {
    bytes.div_ceil(UNIT).min(u64::from(u32::MAX)) as u32
}

/// What parsing a body will cost, estimated without parsing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseCost {
    /// Bytes, from the body's size and a count of its entries, elements and attributes, so that a small
    /// body of many tiny entries is not charged as little as its size.
    pub bytes: u64,
    /// `<item>` and `<entry>` tags (with any prefix) of an XML body, a slight over-estimate of its
    /// entries; of a JSON body, its objects (entries and everything else).
    pub entries: usize,
    /// Whether the body is JSON.
    pub json: bool,
}

/// Estimates what parsing `body` will cost.
pub fn parse_cost(body: &[u8]) -> ParseCost {
    let json = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{' || b == b'[');
    let (entries, elements, attributes) = if json {
        let objects = memchr::memchr_iter(b'{', body).count();
        let strings = memchr::memchr_iter(b'"', body).count() / 2;
        (objects, strings, 0)
    } else {
        let (entries, elements) = count_xml_nodes(body);
        (entries, elements, memchr::memchr_iter(b'=', body).count())
    };
    ParseCost {
        bytes: PARSE_FACTOR * body.len() as u64
            + ENTRY_COST * entries as u64
            + ELEMENT_COST * elements as u64
            + ATTRIBUTE_COST * attributes as u64,
        entries,
        json,
    }
}

/// (entries, other elements) of an XML body, counted from its start tags.
fn count_xml_nodes(body: &[u8]) -> (usize, usize) {
    let (mut entries, mut elements) = (0, 0);
    for at in memchr::memchr_iter(b'<', body) {
        let rest = &body[at + 1..];
        if !rest
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        {
            continue;
        }
        // Skip a namespace prefix (`atom:entry`).
        let name_end = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        let local = match name.iter().rposition(|&b| b == b':') {
            Some(i) => &name[i + 1..],
            None => name,
        };
        if local.eq_ignore_ascii_case(b"item") || local.eq_ignore_ascii_case(b"entry") {
            entries += 1;
        } else {
            elements += 1;
        }
    }
    (entries, elements)
}

/// What normalised entries keep in memory until they are stored, estimated from their text.
pub fn kept_cost(items: &[crate::normalize::NormalizedItem], feature_tokens: usize) -> u64 {
    let text: usize = items
        .iter()
        .map(|i| {
            i.guid.len()
                + i.url.as_ref().map_or(0, String::len)
                + i.canonical_url.as_ref().map_or(0, String::len)
                + i.title.len()
                + i.summary.len()
                + i.content_html.len()
                + i.author.as_ref().map_or(0, String::len)
                + 256
        })
        .sum();
    text as u64 + 32 * feature_tokens as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dense_entries_cost_more_than_their_bytes() {
        let tiny = "<rss><channel>".to_string() + &"<item/>".repeat(1000) + "</channel></rss>";
        let cost = parse_cost(tiny.as_bytes());
        assert_eq!((cost.entries, cost.json), (1000, false));
        assert!(cost.bytes > 1000 * ENTRY_COST, "{cost:?}");
        let atom = "<feed><atom:entry><title>t</title></atom:entry><entry/></feed>";
        assert_eq!(parse_cost(atom.as_bytes()).entries, 2);
        let json = r#" {"items": [{"id": "1"}, {"id": "2"}]}"#;
        let cost = parse_cost(json.as_bytes());
        assert_eq!((cost.entries, cost.json), (3, true));
        assert!(
            cost.bytes >= 3 * ENTRY_COST,
            "each object is charged as an entry"
        );
        assert_eq!(
            parse_cost(b"</item><!-- <item").entries,
            1,
            "closing tags are not counted"
        );
        let plain = "<rss><channel><item><title>t</title></item></channel></rss>";
        assert!(parse_cost(plain.as_bytes()).bytes >= 6 * plain.len() as u64);
    }

    #[tokio::test]
    async fn charges_wait_for_room_and_shrinking_makes_room() {
        let budget = MemoryBudget::new(5 << 20);
        let pool = budget.parsing_total();
        assert_eq!(pool, 4 << 20);
        // More than the pool is capped at the pool: it runs alone.
        let mut big = budget.charge_parsing(100 << 20).await;
        assert_eq!(big.bytes(), pool);
        let waiting =
            tokio::time::timeout(Duration::from_millis(50), budget.charge_parsing(1 << 20));
        assert!(waiting.await.is_err(), "nothing is left");
        big.shrink_to(3 << 20);
        let small = budget.charge_parsing(1 << 20).await;
        assert_eq!(budget.parsing_free(), 0);
        drop((big, small));
        assert_eq!(budget.parsing_free(), pool);
        let download = budget.reserve_download(u64::MAX).await;
        assert_eq!(download.bytes(), 1 << 20, "a fifth of the budget at most");
    }
}
