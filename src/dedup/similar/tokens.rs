//! Tokens: splitting text into words and numbers, stripping feed decorations from titles,
//! the stopword list, and how one word enters an item's features ([`Matcher::word_ids`], with its
//! per-thread cache).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::lexicon::{FxStr, LemmaId};
use super::{Matcher, NONE};

/// Function words and the connectives spinners swap ("but" -> "however", "must" -> "should",
/// "only if" -> "provided that"): they carry no story identity, and a spin changes them freely.
/// Sorted, for binary search.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "accordance", "according", "across", "additionally", "after",
    "afterwards", "again", "against", "ahead", "all", "almost", "along", "already", "also",
    "although", "am", "amid", "amidst", "among", "amongst", "an", "and", "another", "any", "are",
    "around", "as", "at", "be", "because", "been", "before", "being", "below", "besides",
    "between", "both", "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "done",
    "down", "during", "each", "either", "else", "even", "ever", "every", "few", "for", "from",
    "further", "furthermore", "had", "has", "have", "having", "he", "hence", "her", "here", "hers",
    "herself", "him", "himself", "his", "how", "however", "i", "if", "in", "into", "is", "it",
    "its", "itself", "just", "least", "less", "many", "may", "me", "meanwhile", "might", "more",
    "moreover", "most", "mr", "mrs", "ms", "much", "must", "my", "myself", "neither",
    "nevertheless", "no", "nonetheless", "nor", "not", "now", "of", "off", "often", "on", "once",
    "only", "onto", "or", "other", "others", "otherwise", "ought", "our", "ours", "ourselves",
    "out", "over", "own", "per", "prior", "provided", "providing", "rather", "regarding",
    "regardless", "said", "same", "say", "says", "shall", "she", "should", "since", "so", "some",
    "spite", "still", "such", "than", "that", "the", "their", "theirs", "them", "themselves",
    "then", "there", "thereby", "therefore", "these", "they", "this", "those", "though", "through",
    "throughout", "thus", "to", "too", "toward", "towards", "under", "unless", "until", "up",
    "upon", "us", "very", "via", "was", "we", "were", "what", "whatever", "when", "whenever",
    "where", "whereas", "whether", "which", "while", "whilst", "who", "whom", "whose", "why",
    "will", "with", "within", "without", "would", "yet", "you", "your", "yours",
];

fn is_stopword(w: &str) -> bool {
    STOPWORDS.binary_search(&w).is_ok()
}

/// FNV-1a, 32 bits: a stable id for words the lexicon does not know (and numbers).
pub(super) fn fnv32(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// How a word enters an item's features (see [`Matcher::word_ids`]).
#[derive(Clone, Copy, Debug)]
pub(super) enum WordIds {
    /// A stopword or a single letter: left out.
    Skip,
    /// A thesaurus word: its lemma ids, [`NONE`] after the last.
    Known([LemmaId; 3]),
    /// A word the thesaurus does not know: hashed, and an anchor when long enough.
    Unknown,
}

/// The raw tokens of a text: their lower-cased forms in one buffer, and how each was written.
pub(super) struct RawToks {
    /// The lower-cased tokens, back to back.
    buf: String,
    toks: Vec<RawTok>,
}

/// Where a raw token's lower-cased form sits in [`RawToks::buf`], and how it was written.
struct RawTok {
    start: u32,
    end: u32,
    capital: bool,
    all_caps: bool,
    number: bool,
    sentence_start: bool,
}

/// One raw token of a text: lower-cased form and how it was written.
#[derive(Clone, Copy)]
pub(super) struct RawWord<'a> {
    pub(super) lower: &'a str,
    pub(super) capital: bool,
    pub(super) all_caps: bool,
    pub(super) number: bool,
    pub(super) sentence_start: bool,
}

impl RawToks {
    /// The tokens in text order.
    pub(super) fn iter(&self) -> impl Iterator<Item = RawWord<'_>> + '_ {
        self.toks.iter().map(|t| RawWord {
            lower: &self.buf[t.start as usize..t.end as usize],
            capital: t.capital,
            all_caps: t.all_caps,
            number: t.number,
            sentence_start: t.sentence_start,
        })
    }

    /// Appends a token whose lower-cased form was just written to the end of `buf` from `start`.
    fn push(
        &mut self,
        start: usize,
        capital: bool,
        all_caps: bool,
        number: bool,
        sentence_start: bool,
    ) {
        self.toks.push(RawTok {
            start: start as u32,
            end: self.buf.len() as u32,
            capital,
            all_caps,
            number,
            sentence_start,
        });
    }
}

/// The character at byte offset `i` of `text`, if any.
fn char_at(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|r| r.chars().next())
}

/// Whether the character at byte offset `i` of `text` is a letter.
fn letter_at(text: &str, i: usize) -> bool {
    match text.as_bytes().get(i) {
        Some(b) if b.is_ascii() => b.is_ascii_alphabetic(),
        Some(_) => char_at(text, i).is_some_and(char::is_alphabetic),
        None => false,
    }
}

/// Splits text into word tokens (letters with inner apostrophes; possessive 's dropped) and
/// number tokens (digits with inner . , :), noting capitalisation and sentence starts.
pub(super) fn raw_tokens(text: &str) -> RawToks {
    // Every item's title and summary pass through here on the poll tasks: words are scanned byte by
    // byte, and only a word with a letter or apostrophe beyond ASCII takes the general path.
    let bytes = text.as_bytes();
    let mut out = RawToks {
        buf: String::with_capacity(text.len()),
        toks: Vec::with_capacity(text.len() / 6 + 1),
    };
    let mut i = 0;
    let mut sentence_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphabetic() || (!b.is_ascii() && letter_at(text, i)) {
            i = word_token(text, i, sentence_start, &mut out);
            sentence_start = false;
        } else if b.is_ascii_digit() {
            let start = out.buf.len();
            while i < bytes.len() {
                let c = bytes[i];
                let inner = matches!(c, b'.' | b',' | b':')
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                if !c.is_ascii_digit() && !inner {
                    break;
                }
                if c != b',' {
                    out.buf.push(char::from(c));
                }
                i += 1;
            }
            out.push(start, false, false, true, sentence_start);
            sentence_start = false;
        } else {
            if matches!(b, b'.' | b'!' | b'?' | b':' | b';') {
                sentence_start = true;
            }
            i += if b.is_ascii() {
                1
            } else {
                char_at(text, i).map_or(1, char::len_utf8)
            };
        }
    }
    out
}

/// Reads the word starting at byte `i` of `text` into `out`; returns the offset after it.
fn word_token(text: &str, mut i: usize, sentence_start: bool, out: &mut RawToks) -> usize {
    let bytes = text.as_bytes();
    let from = i;
    let mut plain = true;
    loop {
        match bytes.get(i) {
            Some(b) if b.is_ascii_alphabetic() => i += 1,
            Some(b'\'') if letter_at(text, i + 1) => i += 1,
            Some(b) if !b.is_ascii() => {
                let Some(c) = char_at(text, i) else { break };
                let len = c.len_utf8();
                if !(c.is_alphabetic() || (c == '\u{2019}' && letter_at(text, i + len))) {
                    break;
                }
                plain = false;
                i += len;
            }
            _ => break,
        }
    }
    // A word of ASCII letters and straight apostrophes is a slice of the text; only a typographic
    // apostrophe (read as a straight one) or a letter beyond ASCII needs a copy.
    let word: Cow<str> = if plain {
        Cow::Borrowed(&text[from..i])
    } else {
        Cow::Owned(
            text[from..i]
                .chars()
                .map(|c| if c == '\u{2019}' { '\'' } else { c })
                .collect(),
        )
    };
    // The possessive is ASCII, so cutting its bytes leaves whole characters.
    let kept = match word.as_bytes() {
        [.., b'\'', b's' | b'S'] => word.len() - 2,
        _ => word.len(),
    };
    let word = &word[..kept];
    let start = out.buf.len();
    if plain || word.is_ascii() {
        let b = word.as_bytes();
        let capital = b[0].is_ascii_uppercase();
        let all_caps = b.len() > 1 && b.iter().all(u8::is_ascii_uppercase);
        out.buf.push_str(word);
        out.buf[start..].make_ascii_lowercase();
        out.push(start, capital, all_caps, false, sentence_start);
    } else {
        let capital = word.chars().next().is_some_and(char::is_uppercase);
        let all_caps = word.chars().nth(1).is_some() && word.chars().all(char::is_uppercase);
        // The whole word at once: a final sigma lower-cases by its place in the word.
        out.buf.push_str(&word.to_lowercase());
        out.push(start, capital, all_caps, false, sentence_start);
    }
    i
}

/// Removes feed decorations from a title: a leading "UPDATE 2-", "BREAKING:" or "LIVE:" tag and
/// a trailing " - Outlet" or " | Outlet" of at most four capitalised words.
pub(super) fn strip_title_decorations(title: &str) -> &str {
    let mut t = title.trim();
    if let Some(pos) = t.find([':', '-']) {
        let head = t[..pos].trim();
        let letters: String = head.chars().filter(|c| c.is_alphabetic()).collect();
        if letters.len() >= 4
            && letters.chars().all(char::is_uppercase)
            && head
                .chars()
                .all(|c| c.is_alphabetic() || c.is_ascii_digit() || c == ' ')
            && head.split_whitespace().count() <= 2
            && t[pos + 1..].split_whitespace().count() >= 3
        {
            t = t[pos + 1..].trim_start();
        }
    }
    for sep in [" | ", " - ", " \u{2013} ", " \u{2014} "] {
        if let Some(pos) = t.rfind(sep) {
            let tail = t[pos + sep.len()..].trim();
            let words: Vec<&str> = tail.split_whitespace().collect();
            if !words.is_empty()
                && words.len() <= 4
                && words.iter().all(|w| {
                    w.chars()
                        .next()
                        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
                })
                && t[..pos].split_whitespace().count() >= 3
            {
                t = t[..pos].trim_end();
                break;
            }
        }
    }
    t
}

impl Matcher {
    /// How a lower-cased word enters the features. Remembered per thread: news text repeats its
    /// words, and analysing one takes up to two dozen lookups (stopwords, suffix rules). The
    /// cache is keyed by the word alone, which is sound because every matcher uses the shipped
    /// lexicon and the built-in stopwords.
    pub(super) fn word_ids(&self, lower: &str) -> WordIds {
        const MAX_CACHED: usize = 1 << 16;
        const MAX_WORD: usize = 32;
        type Cache = HashMap<Box<str>, WordIds, BuildHasherDefault<FxStr>>;
        thread_local! {
            static CACHE: std::cell::RefCell<Cache> = std::cell::RefCell::new(Cache::default());
        }
        let analyse = || {
            if lower.chars().nth(1).is_none() || is_stopword(lower) {
                return WordIds::Skip;
            }
            let mut lemmas = [NONE; 3];
            match self.lex.analyze_into(lower, &mut lemmas) {
                0 => WordIds::Unknown,
                _ => WordIds::Known(lemmas),
            }
        };
        if lower.len() > MAX_WORD {
            return analyse();
        }
        CACHE.with_borrow_mut(|cache| {
            if let Some(&w) = cache.get(lower) {
                return w;
            }
            let w = analyse();
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(lower.into(), w);
            w
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_words_numbers_and_how_they_were_written() {
        let toks = raw_tokens("Macron\u{2019}s plan: O'Neill's 1,250.5 MPs. Élan vital!");
        let words: Vec<&str> = toks.iter().map(|t| t.lower).collect();
        assert_eq!(
            words,
            [
                "macron", "plan", "o'neill", "1250.5", "mps", "élan", "vital"
            ]
        );
        let flags: Vec<(bool, bool, bool, bool)> = toks
            .iter()
            .map(|t| (t.capital, t.all_caps, t.number, t.sentence_start))
            .collect();
        assert_eq!(
            flags,
            [
                (true, false, false, true),
                (false, false, false, false),
                (true, false, false, true),
                (false, false, true, false),
                (true, false, false, false),
                (true, false, false, true),
                (false, false, false, false),
            ]
        );
        // A trailing apostrophe or separator is not part of a word or number.
        let toks = raw_tokens("players' 3, 4");
        let words: Vec<&str> = toks.iter().map(|t| t.lower).collect();
        assert_eq!(words, ["players", "3", "4"]);
    }

    /// The tokenizer as first written, a character at a time: the byte scanner must agree with it.
    fn reference_tokens(text: &str) -> Vec<(String, bool, bool, bool, bool)> {
        let at = |i: usize| {
            text.get(i..)
                .and_then(|r| r.chars().next().map(|c| (c, c.len_utf8())))
        };
        let mut out = Vec::new();
        let mut i = 0;
        let mut sentence_start = true;
        while let Some((c, len)) = at(i) {
            if c.is_alphabetic() {
                let mut word = String::new();
                while let Some((c, len)) = at(i) {
                    if c.is_alphabetic() {
                        word.push(c);
                    } else if (c == '\'' || c == '\u{2019}')
                        && at(i + len).is_some_and(|(next, _)| next.is_alphabetic())
                    {
                        word.push('\'');
                    } else {
                        break;
                    }
                    i += len;
                }
                let word = word
                    .strip_suffix("'s")
                    .or_else(|| word.strip_suffix("'S"))
                    .unwrap_or(&word);
                let capital = word.chars().next().is_some_and(char::is_uppercase);
                let all_caps =
                    word.chars().nth(1).is_some() && word.chars().all(char::is_uppercase);
                out.push((
                    word.to_lowercase(),
                    capital,
                    all_caps,
                    false,
                    sentence_start,
                ));
                sentence_start = false;
            } else if c.is_ascii_digit() {
                let mut num = String::new();
                while let Some((c, len)) = at(i) {
                    let inner = matches!(c, '.' | ',' | ':')
                        && at(i + len).is_some_and(|(next, _)| next.is_ascii_digit());
                    if !c.is_ascii_digit() && !inner {
                        break;
                    }
                    if c != ',' {
                        num.push(c);
                    }
                    i += len;
                }
                out.push((num, false, false, true, sentence_start));
                sentence_start = false;
            } else {
                if matches!(c, '.' | '!' | '?' | ':' | ';') {
                    sentence_start = true;
                }
                i += len;
            }
        }
        out
    }

    fn tokens_of(text: &str) -> Vec<(String, bool, bool, bool, bool)> {
        raw_tokens(text)
            .iter()
            .map(|t| {
                let w = (t.lower.to_string(), t.capital, t.all_caps, t.number);
                (w.0, w.1, w.2, w.3, t.sentence_start)
            })
            .collect()
    }

    #[test]
    fn the_byte_scanner_tokenizes_as_the_character_scanner_did() {
        // Pieces that meet at every kind of boundary: apostrophes of both kinds before and after
        // letters, possessives, accented and non-Latin letters, a final sigma, a dotted capital I
        // that lower-cases to two characters, digits with separators, and sentence ends.
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "word",
            "WORD",
            "Word",
            "'",
            "\u{2019}",
            "'s",
            "'S",
            "\u{2019}s",
            " ",
            "  ",
            "1",
            "2,5",
            "3.",
            ".",
            ",",
            ":",
            ";",
            "!",
            "?",
            "-",
            "É",
            "é",
            "ß",
            "ΟΔΟΣ",
            "Σ",
            "İ",
            "日本",
            "\u{301}",
            "ǅ",
            "x\u{2019}y",
            "O'NEILL",
            "\u{a0}",
            "9:30",
            "\t",
            "Ⅻ",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
            }
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            assert_eq!(tokens_of(&text), reference_tokens(&text), "text {text:?}");
        }
        // And real feed text: every file of the dedup development set.
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/dedup-dev/feeds");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert_eq!(tokens_of(&text), reference_tokens(&text));
            files += 1;
        }
        assert!(files > 0, "no feeds in {}", dir.display());
    }

    #[test]
    fn strips_decorations() {
        assert_eq!(
            strip_title_decorations("UPDATE 2-Oil prices rise again today - Daily Trend Hub"),
            "Oil prices rise again today"
        );
        assert_eq!(
            strip_title_decorations("BREAKING: Four men arrested over Jakarta bomb"),
            "Four men arrested over Jakarta bomb"
        );
        assert_eq!(
            strip_title_decorations("Ukraine war live"),
            "Ukraine war live"
        );
    }

    #[test]
    fn stopwords_are_sorted() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }
}
