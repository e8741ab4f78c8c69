//! Tokens: splitting text into words and numbers, stripping feed decorations from titles,
//! the stopword list, and how one word enters an item's features ([`Matcher::word_ids`], with its
//! per-thread cache).

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

/// A raw token of the text: lower-cased form and how it was written.
pub(super) struct RawTok {
    pub(super) lower: String,
    pub(super) capital: bool,
    pub(super) all_caps: bool,
    pub(super) number: bool,
    pub(super) sentence_start: bool,
}

/// Splits text into word tokens (letters with inner apostrophes; possessive 's dropped) and
/// number tokens (digits with inner . , :), noting capitalisation and sentence starts.
pub(super) fn raw_tokens(text: &str) -> Vec<RawTok> {
    // The character at byte offset `i` and its length in bytes.
    let at = |i: usize| {
        text.get(i..)
            .and_then(|r| r.chars().next().map(|c| (c, c.len_utf8())))
    };
    let mut out = Vec::new();
    let mut word = String::new();
    let mut i = 0;
    let mut sentence_start = true;
    while let Some((c, len)) = at(i) {
        if c.is_alphabetic() {
            word.clear();
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
            let all_caps = word.chars().nth(1).is_some() && word.chars().all(char::is_uppercase);
            out.push(RawTok {
                lower: if word.is_ascii() {
                    word.to_ascii_lowercase()
                } else {
                    word.to_lowercase()
                },
                capital,
                all_caps,
                number: false,
                sentence_start,
            });
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
            out.push(RawTok {
                lower: num,
                capital: false,
                all_caps: false,
                number: true,
                sentence_start,
            });
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
        let words: Vec<&str> = toks.iter().map(|t| t.lower.as_str()).collect();
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
        let words: Vec<&str> = toks.iter().map(|t| t.lower.as_str()).collect();
        assert_eq!(words, ["players", "3", "4"]);
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
