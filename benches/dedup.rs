//! Throughput, latency and memory of the near-duplicate matcher (dedup layer 3) over windows of
//! synthetic news items.
//!
//! usage: `cargo bench --bench dedup [-- SIZE ...]` (default 10000 100000; `DEDUP_BENCH_1M=1`
//! adds 1000000). `DEDUP_BENCH_MEASURE=N` sets how many items are measured per size (20000).
//!
//! Per window size N the matcher is filled with N items spread over its 72 h window (stories
//! taken from the generator's ground truth, so the fill needs no decisions), then N_measure more
//! items run through the whole stage one by one on this thread: features, eviction, decision,
//! insertion; then the window settles the measured items (decides them again in canonical
//! order). Items per second come from the summed per-item times of the stage (the generator is
//! not counted), latencies are per item, and memory is the growth of VmRSS over the fill.
//!
//! Items: titles of 8-14 and summaries of 25-45 words, content words drawn Zipf-distributed
//! from the shipped lexicon's vocabulary (ranked by SemCor frequency), function words between
//! them, capitalised names and numbers as anchors. About 18 % of items are spun copies of a
//! recent item from another source: words swapped for lexicon synonyms, some dropped, summaries
//! sometimes cut or missing.
use std::collections::{HashMap, VecDeque};

/// The allocator the `wiredesk` binary uses, so the stage is measured as it runs in the daemon.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::{Duration, Instant};

use wiredesk::dedup::similar::{Lexicon, Matcher, Params, WindowMemory};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    /// Zipf (s = 1) rank in 0..n: log-uniform, so P(rank r) is proportional to 1/r.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }
}

const FUNCTION_WORDS: &[&str] = &[
    "the", "of", "in", "to", "and", "a", "for", "on", "with", "as", "after", "by", "at", "from",
    "over", "its", "is", "was", "has", "will",
];

/// One generated item: words as (text, lemma id when a lexicon word).
#[derive(Clone)]
struct Text {
    title: Vec<(String, Option<u32>)>,
    summary: Vec<(String, Option<u32>)>,
}

struct Gen {
    rng: Rng,
    lex: &'static Lexicon,
    /// Content vocabulary, most frequent first.
    words: Vec<u32>,
    /// Lemma -> other lemmas sharing one of its own synsets.
    synonyms: HashMap<u32, Vec<u32>>,
    names: Vec<String>,
    /// Recent originals: (text, story, source).
    recent: VecDeque<(Text, i64, i64)>,
    next_story: i64,
}

impl Gen {
    fn new() -> Gen {
        let lex = Lexicon::shipped();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let plain = |i: u32| {
            let w = lex.word(i);
            w.len() >= 3 && w.bytes().all(|b| b.is_ascii_lowercase())
        };
        let mut ids: Vec<u32> = lex.lemma_ids().filter(|&i| plain(i)).collect();
        ids.sort_by_key(|&i| (std::cmp::Reverse(lex.freq_class(i)), i));
        // The most frequent lemmas are mostly function-like ("be", "have"); news content words
        // come from below them.
        let words: Vec<u32> = ids.iter().copied().skip(150).take(30_000).collect();
        let mut by_synset: HashMap<u32, Vec<u32>> = HashMap::new();
        for &i in &ids {
            for &k in lex.keys(i).iter().filter(|&&k| k & 1 == 0) {
                by_synset.entry(k >> 1).or_default().push(i);
            }
        }
        let mut synonyms: HashMap<u32, Vec<u32>> = HashMap::new();
        for &i in &words {
            let mut s: Vec<u32> = lex
                .keys(i)
                .iter()
                .filter(|&&k| k & 1 == 0)
                .flat_map(|&k| by_synset.get(&(k >> 1)).into_iter().flatten().copied())
                .filter(|&j| j != i)
                .collect();
            s.sort_unstable();
            s.dedup();
            if !s.is_empty() {
                synonyms.insert(i, s);
            }
        }
        let syll = [
            "ka", "zor", "mib", "tel", "vun", "dra", "pex", "lom", "qui", "sab", "ren", "tho",
        ];
        let names = (0..20_000)
            .map(|_| {
                let n = 2 + rng.below(2);
                let s: String = (0..n).map(|_| syll[rng.below(syll.len())]).collect();
                let mut c = s.chars();
                let first = c.next().unwrap().to_ascii_uppercase();
                format!("{first}{}", c.as_str())
            })
            .collect();
        Gen {
            rng,
            lex,
            words,
            synonyms,
            names,
            recent: VecDeque::new(),
            next_story: 0,
        }
    }

    /// `n` content words with function words between them; a fifth are names or numbers.
    fn words(&mut self, n: usize) -> Vec<(String, Option<u32>)> {
        let mut out = Vec::with_capacity(n * 3 / 2);
        for _ in 0..n {
            if self.rng.chance(35) {
                let f = FUNCTION_WORDS[self.rng.zipf(FUNCTION_WORDS.len())];
                out.push((f.to_string(), None));
            }
            let r = self.rng.below(100);
            if r < 15 {
                let k = self.rng.zipf(self.names.len());
                out.push((self.names[k].clone(), None));
            } else if r < 20 {
                out.push((self.rng.below(5000).to_string(), None));
            } else {
                let id = self.words[self.rng.zipf(self.words.len())];
                out.push((self.lex.word(id).to_string(), Some(id)));
            }
        }
        out
    }

    /// A spun copy: 30 % of words swapped for a synonym when the lexicon has one, 5 % dropped,
    /// the summary cut (25 %) or missing (8 %).
    fn spin(&mut self, t: &Text) -> Text {
        let title = self.spin_words(&t.title);
        let mut summary = self.spin_words(&t.summary);
        let r = self.rng.below(100);
        if r < 8 {
            summary.clear();
        } else if r < 33 {
            let keep = summary.len() * (50 + self.rng.below(30)) / 100;
            summary.truncate(keep.max(1));
            summary.push(("\u{2026}".to_string(), None));
        }
        Text { title, summary }
    }

    fn spin_words(&mut self, ws: &[(String, Option<u32>)]) -> Vec<(String, Option<u32>)> {
        let mut out = Vec::with_capacity(ws.len());
        for (w, id) in ws {
            if self.rng.chance(5) {
                continue;
            }
            let swap = id
                .and_then(|i| self.synonyms.get(&i))
                .filter(|_| self.rng.chance(30));
            out.push(match swap {
                Some(s) => {
                    let j = s[(self.rng.next() % s.len() as u64) as usize];
                    (self.lex.word(j).to_string(), Some(j))
                }
                None => (w.clone(), *id),
            });
        }
        out
    }

    /// The next item: (title, summary, story, source, is a copy).
    fn item(&mut self) -> (String, String, i64, i64, bool) {
        if self.recent.len() >= 100 && self.rng.chance(18) {
            let k = self.recent.len() - 1 - self.rng.zipf(self.recent.len());
            let (orig, story, source) = self.recent[k].clone();
            let copy = self.spin(&orig);
            let other = (source + 1 + self.rng.below(498) as i64) % 500;
            let (t, s) = render(&copy);
            return (t, s, story, other, true);
        }
        let nt = 8 + self.rng.below(7);
        let ns = 25 + self.rng.below(21);
        let text = Text {
            title: self.words(nt).into_iter().take(nt).collect(),
            summary: self.words(ns),
        };
        self.next_story += 1;
        let story = self.next_story;
        let source = self.rng.below(500) as i64;
        if self.recent.len() >= 2_000 {
            self.recent.pop_front();
        }
        self.recent.push_back((text.clone(), story, source));
        let (t, s) = render(&text);
        (t, s, story, source, false)
    }
}

/// Title in sentence case; summary as sentences of about 15 words.
fn render(t: &Text) -> (String, String) {
    let cap = |w: &str| {
        let mut c = w.chars();
        c.next()
            .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
    };
    let title: Vec<String> = t
        .title
        .iter()
        .enumerate()
        .map(|(i, (w, _))| if i == 0 { cap(w) } else { w.clone() })
        .collect();
    let mut summary = String::new();
    for (i, (w, _)) in t.summary.iter().enumerate() {
        let start = i % 15 == 0;
        if i > 0 {
            summary.push_str(if start { ". " } else { " " });
        }
        summary.push_str(&if start { cap(w) } else { w.clone() });
    }
    if !summary.is_empty() && !summary.ends_with('\u{2026}') {
        summary.push('.');
    }
    (title.join(" "), summary)
}

/// CPU seconds used by this thread, so other load on the machine does not count.
fn thread_cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |k: usize| f.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Row {
    n: usize,
    live: usize,
    fill_s: f64,
    /// Per measured item: features, evict, decide, insert.
    parts: [f64; 4],
    full_ps: f64,
    di_ps: f64,
    cpu_ps: f64,
    di_p50: f64,
    di_p99: f64,
    full_p50: f64,
    full_p99: f64,
    rss_mb: f64,
    /// The matcher's own estimate of the window's heap, after the fill.
    memory: WindowMemory,
    verified: f64,
    copy_recall: f64,
    wrong: usize,
    /// Settling the measured items (deciding them again in canonical order): items per second, and how
    /// many changed story.
    settle_ps: f64,
    settle_moved: usize,
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn run(n: usize, measure: usize) -> Row {
    let mut g = Gen::new();
    // DEDUP_BENCH_SPILL_DIR: keep no closed chunk of features in memory, as a window far past its
    // budget (`dedup.feature_memory_mib`) does, and read them back from a spill file in that directory.
    let spill_dir = std::env::var_os("DEDUP_BENCH_SPILL_DIR").map(std::path::PathBuf::from);
    let params = Params {
        feature_memory: if spill_dir.is_some() { 0 } else { 64 << 20 },
        spill_dir,
        ..Params::default()
    };
    let window = params.window_secs;
    let rss0 = rss_mb();
    let mut m = Matcher::new(params);
    // n items per window at steady state.
    let step = window as f64 / n as f64;
    let t0 = Instant::now();
    for i in 0..n {
        let published = (i as f64 * step) as i64;
        let (t, s, story, source, _) = g.item();
        let f = m.features(&t, &s);
        m.evict_before(published - window);
        m.insert(i as i64, story, source, published, f);
    }
    let fill_s = t0.elapsed().as_secs_f64();
    let rss = rss_mb() - rss0;
    let memory = m.memory();
    let (mut full, mut di) = (Vec::with_capacity(measure), Vec::with_capacity(measure));
    let mut parts = [0f64; 4];
    let (mut verified, mut copies, mut found, mut wrong) = (0usize, 0usize, 0usize, 0usize);
    let cpu0 = thread_cpu_secs();
    let mut gen_cpu = Duration::ZERO;
    for i in n..n + measure {
        let published = (i as f64 * step) as i64;
        let tg = Instant::now();
        let (t, s, story, source, copy) = g.item();
        gen_cpu += tg.elapsed();
        let t0 = Instant::now();
        let f = m.features(&t, &s);
        let t1 = Instant::now();
        m.evict_before(published - window);
        let t2 = Instant::now();
        let d = m.decide(source, published, &f);
        let t3 = Instant::now();
        // A new story takes the generator's story id, so its copies can be checked; a missed
        // copy founds a story of its own.
        let placed = d.story_id.unwrap_or(if copy {
            1_000_000_000_000 + i as i64
        } else {
            story
        });
        m.insert(i as i64, placed, source, published, f);
        let t4 = Instant::now();
        verified += d.verified;
        copies += usize::from(copy);
        found += usize::from(copy && d.story_id == Some(story));
        wrong += usize::from(d.story_id.is_some_and(|s| s != story));
        let dt = [t1 - t0, t2 - t1, t3 - t2, t4 - t3].map(micros);
        for (p, x) in parts.iter_mut().zip(dt) {
            *p += x;
        }
        full.push(dt.iter().sum::<f64>());
        di.push(dt[2] + dt[3]);
    }
    let cpu = thread_cpu_secs() - cpu0 - gen_cpu.as_secs_f64();
    // What the writer does once a poll's items are in: decide the measured span again, in order.
    let ts = Instant::now();
    let mut next_story = 2_000_000_000_000i64;
    let settled = m.settle(((n as f64 * step) as i64, 0), || {
        next_story += 1;
        next_story
    });
    let settle_ps = settled.decided as f64 / ts.elapsed().as_secs_f64().max(1e-9);
    let k = measure as f64;
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    Row {
        n,
        live: m.len(),
        fill_s,
        parts: parts.map(|p| p / k),
        full_ps: k / (sum(&full) / 1e6),
        di_ps: k / (sum(&di) / 1e6),
        cpu_ps: k / cpu.max(1e-9),
        di_p50: pct(&mut di, 0.5),
        di_p99: pct(&mut di, 0.99),
        full_p50: pct(&mut full, 0.5),
        full_p99: pct(&mut full, 0.99),
        rss_mb: rss,
        memory,
        verified: verified as f64 / k,
        copy_recall: found as f64 / copies.max(1) as f64,
        wrong,
        settle_ps,
        settle_moved: settled.moved.len(),
    }
}

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000];
        if std::env::var_os("DEDUP_BENCH_1M").is_some() {
            sizes.push(1_000_000);
        }
    }
    let measure = std::env::var("DEDUP_BENCH_MEASURE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    // Parse the lexicon before any RSS baseline.
    Lexicon::shipped();
    let mut rows = Vec::new();
    for &n in &sizes {
        eprintln!("dedup bench: window of {n} items...");
        let r = run(n, measure);
        eprintln!(
            "  filled in {:.1} s; decide+insert {:.0} items/s",
            r.fill_s, r.di_ps
        );
        rows.push(r);
    }
    println!(
        "\nNear-duplicate matcher, one core, {measure} items measured per window after filling it\n"
    );
    println!(
        "| window | items/s (features+evict+decide+insert) | items/s (decide+insert) | p50 / p99 decide+insert (µs) | p50 / p99 all (µs) | features / evict / decide / insert (µs per item) | verified per item | RSS for window (MB) | copies joined / wrong joins |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} (live {}) | {:.0} (CPU {:.0}) | {:.0} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} / {:.1} / {:.1} | {:.2} | {:.0} | {:.1} % / {} |",
            r.n,
            r.live,
            r.full_ps,
            r.cpu_ps,
            r.di_ps,
            r.di_p50,
            r.di_p99,
            r.full_p50,
            r.full_p99,
            r.parts[0],
            r.parts[1],
            r.parts[2],
            r.parts[3],
            r.verified,
            r.rss_mb,
            100.0 * r.copy_recall,
            r.wrong,
        );
    }
    println!(
        "\nSettling the {measure} measured items (deciding them again in canonical order, as the writer does after a poll):\n"
    );
    println!("| window | items/s settled | items that changed story |");
    println!("|---:|---:|---:|");
    for r in &rows {
        println!("| {} | {:.0} | {} |", r.n, r.settle_ps, r.settle_moved);
    }
    println!(
        "\nWhat the window holds after the fill, as the matcher estimates it (bytes per live item; fixed: MB sized by the lexicon):\n"
    );
    println!(
        "| window | entries | features | taught | postings | by time | stories | terms | total per item | fixed (MB) | total (MB) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let m = &r.memory;
        let per = |b: usize| b as f64 / m.items.max(1) as f64;
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} |",
            r.n,
            per(m.entries),
            per(m.features),
            per(m.taught),
            per(m.postings),
            per(m.by_time),
            per(m.stories),
            per(m.terms),
            m.per_item(),
            m.fixed as f64 / 1e6,
            m.total() as f64 / 1e6,
        );
    }
    for r in &rows {
        let m = &r.memory;
        println!(
            "\nwindow {}: {} posting lists, {:.1} postings per item",
            r.n,
            m.lists,
            m.postings_held as f64 / m.items.max(1) as f64
        );
    }
    if rows.len() > 1 {
        println!(
            "\nGrowth of the per-item cost (decide+insert; all stages) against the window size:\n"
        );
        println!("| from | to | window × | cost × (decide+insert) | cost × (all) |");
        println!("|---:|---:|---:|---:|---:|");
        for w in rows.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            println!(
                "| {} | {} | {:.1} | {:.2} | {:.2} |",
                a.n,
                b.n,
                b.n as f64 / a.n as f64,
                a.di_ps / b.di_ps,
                a.full_ps / b.full_ps
            );
        }
    }
    for r in &rows {
        println!(
            "\nwindow {}: fill {:.1} s ({:.0} items/s features+evict+insert)",
            r.n,
            r.fill_s,
            r.n as f64 / r.fill_s
        );
    }
}
