//! Work bounds for what strangers' feeds send: how much HTML one entry hands the sanitiser and the text
//! extractor, how deep its markup may nest, and how long one feed's entries may take to normalise, so one
//! feed can never hold a parse thread for seconds.

use std::cell::Cell;
use std::time::Duration;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts, states,
};

/// The most HTML of one entry's field that is read; the rest is cut off. Long-form articles with inline
/// markup stay well under it; a field past it is a mistake or an attack, and its start is what a reader
/// would see anyway.
pub const MAX_HTML_BYTES: usize = 512 * 1024;

/// The deepest element nesting kept as markup. HTML tree building (html5ever, under ammonia) looks through
/// the stack of open elements for many tags, so its time grows with size × depth: one entry of 100,000
/// nested `<div>`s (1.1 MB) took 24 to 33 s. Real articles nest a few dozen elements deep at most.
pub const MAX_DEPTH: usize = 128;

/// The CPU time one feed's entries may take to normalise. A 16 MiB feed of real articles (the body cap)
/// takes 0.35 to 0.5 s; past the budget the feed is refused with a parse error. It is checked between
/// entries, and each entry is bounded by [`MAX_HTML_BYTES`] and [`MAX_DEPTH`] (at most about 70 ms), so a
/// parse thread is never held much longer. CPU time rather than wall time, so a busy machine does not
/// refuse a feed that merely waited for a core.
pub const FEED_BUDGET: Duration = Duration::from_secs(1);

/// A budget of CPU time on the current thread.
pub(crate) struct Budget {
    started: Duration,
    limit: Duration,
}

impl Budget {
    /// Starts spending `limit` of this thread's CPU time.
    pub(crate) fn start(limit: Duration) -> Budget {
        Budget {
            started: thread_cpu_time(),
            limit,
        }
    }

    /// Whether more than the limit has been spent since the start.
    pub(crate) fn exceeded(&self) -> bool {
        thread_cpu_time().saturating_sub(self.started) > self.limit
    }
}

/// The CPU time the calling thread has used.
#[cfg(unix)]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the one timespec it is given a valid pointer to.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Elsewhere wall time since the first call stands in for CPU time.
#[cfg(not(unix))]
fn thread_cpu_time() -> Duration {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(std::time::Instant::now).elapsed()
}

/// `html` cut to at most [`MAX_HTML_BYTES`], at a character boundary and before a tag the cut would split.
pub fn capped(html: &str) -> &str {
    if html.len() <= MAX_HTML_BYTES {
        return html;
    }
    let mut end = MAX_HTML_BYTES;
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &html[..end];
    match cut.rfind('<') {
        Some(open) if !cut[open..].contains('>') => &cut[..open],
        _ => cut,
    }
}

/// Elements that never have content, so their start tags open nothing.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];

/// Elements a later sibling closes implicitly (`<p>a<p>b`, `<li>`, table cells): they do not nest when
/// repeated, and sloppy feeds leave them open, so counting them would only overstate the depth.
const SELF_CLOSING_SIBLINGS: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
    "colgroup", "caption", "rb", "rt", "rtc", "rp",
];

/// Follows the depth of open elements as a tokenizer reads them.
#[derive(Default)]
struct DepthSink {
    depth: Cell<usize>,
    deepest: Cell<usize>,
}

impl TokenSink for DepthSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        let name: &str = &tag.name;
        if VOID.contains(&name) || SELF_CLOSING_SIBLINGS.contains(&name) {
            return TokenSinkResult::Continue;
        }
        match tag.kind {
            TagKind::StartTag => {
                self.depth.set(self.depth.get() + 1);
                self.deepest.set(self.deepest.get().max(self.depth.get()));
                // Raw-text bodies hold no tags, as in a browser.
                let raw = match name {
                    "script" => Some(states::RawKind::ScriptData),
                    "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                        Some(states::RawKind::Rawtext)
                    }
                    "textarea" | "title" => Some(states::RawKind::Rcdata),
                    _ => None,
                };
                if let Some(kind) = raw {
                    return TokenSinkResult::RawData(kind);
                }
            }
            TagKind::EndTag => self.depth.set(self.depth.get().saturating_sub(1)),
        }
        TokenSinkResult::Continue
    }
}

/// The deepest nesting of elements in `html`, read by html5ever's tokenizer (linear in the input).
pub fn nesting_depth(html: &str) -> usize {
    let tokenizer = Tokenizer::new(DepthSink::default(), TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    tokenizer.sink.deepest.get()
}

/// Whether `html` nests deeper than [`MAX_DEPTH`].
pub fn too_deep(html: &str) -> bool {
    // A document cannot nest deeper than it has tags; most bodies are far too short to need a look.
    html.bytes().filter(|&b| b == b'<').count() > MAX_DEPTH && nesting_depth(html) > MAX_DEPTH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_open_elements_the_way_a_tree_builder_does() {
        assert_eq!(nesting_depth("<div><div><b>x</b></div></div>"), 3);
        assert_eq!(nesting_depth("<p>a<p>b<p>c<br><img src=x><hr>"), 0);
        assert_eq!(nesting_depth("<ul><li>a<li>b</ul>"), 1);
        // Tags inside a script are text.
        assert_eq!(nesting_depth("<script>'<div><div>'</script><i>x</i>"), 1);
        // Stray end tags do not go below zero.
        assert_eq!(nesting_depth("</div></div><div>x</div>"), 1);
        assert!(!too_deep(&"<div>".repeat(MAX_DEPTH)));
        assert!(too_deep(&"<div>".repeat(MAX_DEPTH + 1)));
        assert!(!too_deep(&"<p>x</p>".repeat(10_000)));
    }

    #[test]
    fn a_budget_counts_this_threads_cpu_time() {
        let budget = Budget::start(Duration::from_millis(20));
        assert!(!budget.exceeded());
        // Sleeping spends no CPU time; spinning does.
        std::thread::sleep(Duration::from_millis(30));
        assert!(!budget.exceeded());
        let spin = std::time::Instant::now();
        while !budget.exceeded() {
            assert!(
                spin.elapsed() < Duration::from_secs(5),
                "the CPU clock does not move"
            );
        }
    }

    #[test]
    fn a_cap_never_splits_a_character_or_a_tag() {
        let text = "é".repeat(MAX_HTML_BYTES);
        let cut = capped(&text);
        assert!(cut.len() <= MAX_HTML_BYTES && cut.len() > MAX_HTML_BYTES - 2);
        let mut tagged = "a".repeat(MAX_HTML_BYTES - 3);
        tagged.push_str("<img src=x>");
        assert_eq!(capped(&tagged), &tagged[..MAX_HTML_BYTES - 3]);
        assert_eq!(capped("short <b>x</b>"), "short <b>x</b>");
    }
}
