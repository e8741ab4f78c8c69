//! Fault kinds, the `--faults` SPEC that assigns them to a fraction of feeds, and the fixed
//! payloads some faults need (malformed XML, the huge-feed block, the gzip bomb).

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use bytes::Bytes;

use crate::content::{Content, mix3};

/// Salt that separates fault assignment from content generation in the seed space.
const FAULT_SALT: u64 = 0xFA17_FA17;

/// One misbehaviour the farm can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// 429 Too Many Requests with `Retry-After`.
    TooManyRequests,
    /// 503 Service Unavailable with `Retry-After`.
    Unavailable,
    /// 301 Moved Permanently to the clean feed.
    MovedPermanently,
    /// 302 Found to the clean feed.
    Found,
    /// 308 Permanent Redirect to the clean feed.
    PermanentRedirect,
    /// 410 Gone.
    Gone,
    /// 301 between two URLs forever.
    RedirectLoop,
    /// 200 whose body arrives at one byte per second, forever.
    Drip,
    /// The connection is accepted and the request never answered.
    Hang,
    /// 200 with broken XML.
    Malformed,
    /// 200 streaming many MiB of valid-looking XML.
    Huge,
    /// 200 with a gzip body that inflates to 1 GiB.
    GzipBomb,
    /// 200 with a deflate (zlib) body that inflates to 1 GiB.
    DeflateBomb,
    /// 200 with a brotli body that inflates to 1 GiB.
    BrotliBomb,
    /// Every Nth request is a 503, the others the normal feed.
    Flaky,
}

impl Fault {
    /// Every fault, in SPEC/documentation order.
    pub const ALL: [Fault; 15] = [
        Fault::TooManyRequests,
        Fault::Unavailable,
        Fault::MovedPermanently,
        Fault::Found,
        Fault::PermanentRedirect,
        Fault::Gone,
        Fault::RedirectLoop,
        Fault::Drip,
        Fault::Hang,
        Fault::Malformed,
        Fault::Huge,
        Fault::GzipBomb,
        Fault::DeflateBomb,
        Fault::BrotliBomb,
        Fault::Flaky,
    ];

    /// The name used in `/fault/{name}/{k}.xml` paths and in SPECs.
    pub fn name(self) -> &'static str {
        match self {
            Fault::TooManyRequests => "429",
            Fault::Unavailable => "503",
            Fault::MovedPermanently => "301",
            Fault::Found => "302",
            Fault::PermanentRedirect => "308",
            Fault::Gone => "410",
            Fault::RedirectLoop => "loop",
            Fault::Drip => "drip",
            Fault::Hang => "hang",
            Fault::Malformed => "malformed",
            Fault::Huge => "huge",
            Fault::GzipBomb => "gzipbomb",
            Fault::DeflateBomb => "deflatebomb",
            Fault::BrotliBomb => "brotlibomb",
            Fault::Flaky => "flaky",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        // "timeout" reads better in soak specs; it is the same as "hang".
        if s == "timeout" {
            return Ok(Fault::Hang);
        }
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
                format!("unknown fault {s:?} (known: {}, timeout)", names.join(", "))
            })
    }
}

/// Fractions of the normal `/feeds/{k}.xml` paths that serve each fault, e.g.
/// `429=0.01,503=0.01,301=0.005,410=0.005,timeout=0.005,malformed=0.01`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    /// (fault, fraction) pairs; fractions sum to at most 1.
    entries: Vec<(Fault, f64)>,
}

impl FaultSpec {
    /// True when no feed gets a fault.
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|(_, p)| *p <= 0.0)
    }

    /// The fault permanently assigned to feed `k` under `seed`, if any.
    ///
    /// Each feed draws one uniform number from the seed; the faults own consecutive slices of
    /// [0, 1) in SPEC order, so the assignment is deterministic and the fractions are exact in
    /// expectation.
    pub fn assign(&self, seed: u64, feed: u64) -> Option<Fault> {
        if self.is_empty() {
            return None;
        }
        let u = (mix3(seed ^ FAULT_SALT, feed, 1) >> 11) as f64 / (1u64 << 53) as f64;
        let mut acc = 0.0;
        for &(fault, p) in &self.entries {
            acc += p;
            if u < acc {
                return Some(fault);
            }
        }
        None
    }
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, frac) = part
                .split_once('=')
                .ok_or_else(|| format!("fault spec entry {part:?} is not NAME=FRACTION"))?;
            let fault: Fault = name.trim().parse()?;
            let frac: f64 = frac
                .trim()
                .parse()
                .map_err(|_| format!("fault spec entry {part:?}: {frac:?} is not a number"))?;
            if !(0.0..=1.0).contains(&frac) {
                return Err(format!(
                    "fault spec entry {part:?}: fraction must be in [0, 1]"
                ));
            }
            entries.push((fault, frac));
        }
        let total: f64 = entries.iter().map(|(_, p)| p).sum();
        if total > 1.0 + 1e-9 {
            return Err(format!("fault fractions sum to {total}, more than 1"));
        }
        Ok(FaultSpec { entries })
    }
}

/// Knobs of faults that have a size or a period; the query string of an explicit `/fault/` path
/// overrides them per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultParams {
    /// `Retry-After` seconds for 429/503 (query `retry_after`).
    pub retry_after_secs: u64,
    /// MiB streamed by `huge` (query `mb`).
    pub huge_mb: u64,
    /// `flaky` answers every Nth request with 503 (query `every`).
    pub flaky_every: u64,
    /// MiB the gzip bomb inflates to (fixed per farm: the bomb is compressed once).
    pub bomb_mib: u64,
}

impl Default for FaultParams {
    fn default() -> Self {
        FaultParams {
            retry_after_secs: 120,
            huge_mb: 8,
            flaky_every: 3,
            bomb_mib: 1024,
        }
    }
}

/// A feed document that breaks off mid-item, with an undefined entity and a mismatched tag.
pub fn malformed_body(feed: u64) -> Bytes {
    Bytes::from(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n<channel>\n\
         <title>Malformed feed {feed}</title>\n<item>\n<title>Broken &nbsp; entity & stray ampersand</title>\n\
         <description>unclosed <b>bold</description>\n</itemz>\n<item>\n<title>Cut off mid-"
    ))
}

/// The parts of the `huge` body: channel header, a ~64 KiB block of items, and the footer.
pub fn huge_parts(content: &Content) -> (Bytes, Bytes, Bytes) {
    let version = content.version(0, SystemTime::now());
    let mut head = String::new();
    content.render_header(
        0,
        version,
        "http://feedfarm.invalid/fault/huge/0.xml",
        &mut head,
    );
    let mut block = String::with_capacity(70 * 1024);
    let mut index = 0;
    while block.len() < 64 * 1024 {
        content.render_item(0, index, &mut block);
        index += 1;
    }
    (
        Bytes::from(head),
        Bytes::from(block),
        Bytes::from_static(b"</channel>\n</rss>\n"),
    )
}

/// A content coding a bomb can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// `Content-Encoding: gzip`.
    Gzip,
    /// `Content-Encoding: deflate` (a zlib stream, as RFC 9110 defines it).
    Deflate,
    /// `Content-Encoding: br`.
    Brotli,
}

impl Coding {
    /// The `Content-Encoding` value.
    pub fn header(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
        }
    }
}

/// A gzip stream of an XML prolog followed by spaces, `mib` MiB inflated (1 GiB → ~4.9 MB).
///
/// Level 1 compresses a GiB in ~0.2 s (optimised build); better levels shrink it to ~1 MB but take
/// ~1.7 s of CPU. Call it once (the server caches it) and off the async threads.
pub fn gzip_bomb(mib: u64) -> Bytes {
    bomb(Coding::Gzip, mib)
}

/// An XML prolog followed by spaces, `mib` MiB inflated, compressed in `coding`. Call it once (the
/// server caches each) and off the async threads.
pub fn bomb(coding: Coding, mib: u64) -> Bytes {
    let prolog = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">";
    let chunk = vec![b' '; 1 << 20];
    let write = |out: &mut dyn std::io::Write| -> std::io::Result<()> {
        out.write_all(prolog)?;
        let mut left = (mib << 20).saturating_sub(prolog.len() as u64);
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            out.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        out.flush()
    };
    // Writing into a Vec cannot fail.
    let bytes = match coding {
        Coding::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            write(&mut enc).expect("in-memory gzip");
            enc.finish().expect("in-memory gzip")
        }
        Coding::Deflate => {
            let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            write(&mut enc).expect("in-memory zlib");
            enc.finish().expect("in-memory zlib")
        }
        Coding::Brotli => {
            // Quality 1 with a 4 MiB window: a GiB of spaces in well under a second, to a few KB.
            let mut enc = brotli::CompressorWriter::new(Vec::new(), 1 << 16, 1, 22);
            write(&mut enc).expect("in-memory brotli");
            enc.into_inner()
        }
    };
    Bytes::from(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_and_assigns_fractions() {
        let spec: FaultSpec = "429=0.1, 410=0.05,timeout=0.05".parse().unwrap();
        let n = 20_000;
        let count = |f: Fault| (0..n).filter(|&k| spec.assign(1, k) == Some(f)).count() as f64;
        assert!((count(Fault::TooManyRequests) / n as f64 - 0.1).abs() < 0.01);
        assert!((count(Fault::Gone) / n as f64 - 0.05).abs() < 0.01);
        assert!((count(Fault::Hang) / n as f64 - 0.05).abs() < 0.01);
        assert_eq!(spec.assign(1, 77), spec.assign(1, 77));
    }

    #[test]
    fn spec_rejects_bad_input() {
        assert!("nope=0.1".parse::<FaultSpec>().is_err());
        assert!("429=2".parse::<FaultSpec>().is_err());
        assert!("429=0.6,503=0.6".parse::<FaultSpec>().is_err());
        assert!("429".parse::<FaultSpec>().is_err());
        assert!("".parse::<FaultSpec>().unwrap().is_empty());
    }

    #[test]
    fn every_fault_name_round_trips() {
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>().unwrap(), f);
        }
    }
}
