//! Routing: which sections a story is in, and why. It decides and never writes, like dedup: the store asks
//! a [`Router`] about a story's members and writes the routes it gets back (at ingest, and for every stored
//! story when a reload changes the rules), so publishing stays a read.
//!
//! A story is in a section when a member's source lists the section, or a member matches the section's
//! `match` (a category, compared case-insensitively after trimming; or a keyword, a whole word or phrase of
//! the title or plain summary, in any case), or it is in one of the section's children; and no member
//! matches the section's `exclude`. An excluded story is kept out of the parents *through* that section too;
//! a parent still takes it by its own rules. Sections nest to any depth (validation rules out cycles).
//!
//! Words are Unicode-aware: a word is a run of letters, digits and combining marks (so "café" written with
//! a combining accent stays one word), and each Han, Hiragana or Katakana character is a word of its own,
//! since those scripts put no spaces between words. Everything is compared lower-cased. Matching every
//! keyword of every section costs one Aho-Corasick pass over an item's words, built once per config.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// Why a story is in a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Why {
    /// A member's source lists the section (`what` is the source's name).
    Source,
    /// A member carries one of the section's categories (`what` is the category as the item has it).
    Category,
    /// A member's title or summary has one of the section's keywords (`what` is the keyword).
    Keyword,
    /// The story is in a subsection (`what` is the subsection's id).
    Child,
}

impl Why {
    /// The reason's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Source => "source",
            Why::Category => "category",
            Why::Keyword => "keyword",
            Why::Child => "child",
        }
    }
}

/// One reason a story is in a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Which kind of rule.
    pub why: Why,
    /// The source name, category, keyword or subsection id that matched.
    pub what: String,
    /// The member item that matched (none for `child`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub item: Option<i64>,
}

/// A section a story is in, with every reason (one per kind and value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The section id.
    pub section: String,
    /// Why, in the order found: the section's own rules first, then its subsections.
    pub reasons: Vec<Reason>,
}

/// What routing needs to know about one member of a story.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// The item's row id.
    pub item_id: i64,
    /// Its source's display name.
    pub source: &'a str,
    /// The sections its source lists.
    pub listed: &'a [String],
    /// Plain title.
    pub title: &'a str,
    /// Plain summary.
    pub summary: &'a str,
    /// The item's own categories.
    pub categories: &'a [String],
}

/// Whether a rule adds a story to a section or keeps it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Match,
    Exclude,
}

/// The section rules of one config, compiled.
#[derive(Debug, Default)]
pub struct Router {
    /// Section ids, in file order.
    ids: Vec<String>,
    /// Section id → index.
    index: HashMap<String, usize>,
    /// Parent index of each section.
    parent: Vec<Option<usize>>,
    /// Every section index with descendants before their ancestors.
    bottom_up: Vec<usize>,
    /// Folded category → the sections whose rules name it.
    categories: HashMap<String, Vec<(usize, Side)>>,
    /// Every keyword of every rule as ` word word `, found in ` word word | word ` haystacks.
    keywords: Option<AhoCorasick>,
    /// Pattern id → the keyword as configured and the sections whose rules name it.
    keyword_targets: Vec<(String, Vec<(usize, Side)>)>,
    /// A digest of everything routing depends on, to tell whether stored routes are current.
    fingerprint: String,
}

impl Router {
    /// Compiles the section rules of `config` (and the sections each source lists).
    pub fn new(config: &Config) -> Router {
        let ids: Vec<String> = config.sections.iter().map(|s| s.id.clone()).collect();
        let index: HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        let parent: Vec<Option<usize>> = config
            .sections
            .iter()
            .map(|s| s.parent.as_ref().and_then(|p| index.get(p).copied()))
            .collect();
        let depth = |mut i: usize| {
            let mut d = 0;
            while let Some(p) = parent[i] {
                d += 1;
                i = p;
                if d > parent.len() {
                    break; // a cycle, which validation refuses; stop rather than loop
                }
            }
            d
        };
        let mut bottom_up: Vec<usize> = (0..ids.len()).collect();
        bottom_up.sort_by_key(|&i| std::cmp::Reverse(depth(i)));

        let mut categories: HashMap<String, Vec<(usize, Side)>> = HashMap::new();
        let mut keyword_index: HashMap<String, usize> = HashMap::new();
        let mut keyword_targets: Vec<(String, Vec<(usize, Side)>)> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        for (i, s) in config.sections.iter().enumerate() {
            for (rule, side) in [(&s.matches, Side::Match), (&s.exclude, Side::Exclude)] {
                for c in &rule.categories {
                    categories
                        .entry(fold_category(c))
                        .or_default()
                        .push((i, side));
                }
                for k in &rule.keywords {
                    let words = words(k);
                    if words.is_empty() {
                        continue;
                    }
                    let pattern = format!(" {} ", words.join(" "));
                    let id = *keyword_index.entry(pattern.clone()).or_insert_with(|| {
                        patterns.push(pattern);
                        keyword_targets.push((k.clone(), Vec::new()));
                        keyword_targets.len() - 1
                    });
                    keyword_targets[id].1.push((i, side));
                }
            }
        }
        let keywords = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .expect("keyword patterns are short literals")
        });
        Router {
            fingerprint: fingerprint(config),
            ids,
            index,
            parent,
            bottom_up,
            categories,
            keywords,
            keyword_targets,
        }
    }

    /// A digest of the rules and of the sections each source lists: stored routes made under another
    /// fingerprint are out of date.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The sections a story with these members is in, in config order (sections a source lists that the
    /// config does not define come last), each with its reasons.
    pub fn route(&self, members: &[Member]) -> Vec<Route> {
        let n = self.ids.len();
        let mut direct: Vec<Vec<Reason>> = vec![Vec::new(); n];
        let mut excluded = vec![false; n];
        let mut unknown: Vec<Route> = Vec::new();
        let add = |list: &mut Vec<Reason>, why: Why, what: &str, item: Option<i64>| {
            if !list.iter().any(|r| r.why == why && r.what == what) {
                list.push(Reason {
                    why,
                    what: what.to_string(),
                    item,
                });
            }
        };
        let mut haystack = String::new();
        for m in members {
            for s in m.listed {
                match self.index.get(s) {
                    Some(&i) => add(&mut direct[i], Why::Source, m.source, Some(m.item_id)),
                    None => match unknown.iter_mut().find(|r| &r.section == s) {
                        Some(r) => add(&mut r.reasons, Why::Source, m.source, Some(m.item_id)),
                        None => unknown.push(Route {
                            section: s.clone(),
                            reasons: vec![Reason {
                                why: Why::Source,
                                what: m.source.to_string(),
                                item: Some(m.item_id),
                            }],
                        }),
                    },
                }
            }
            for c in m.categories {
                for &(i, side) in self.categories.get(&fold_category(c)).into_iter().flatten() {
                    match side {
                        Side::Match => {
                            add(&mut direct[i], Why::Category, c.trim(), Some(m.item_id))
                        }
                        Side::Exclude => excluded[i] = true,
                    }
                }
            }
            if let Some(ac) = &self.keywords {
                haystack.clear();
                haystack.push(' ');
                push_words(m.title, &mut haystack);
                // A phrase never spans the title and the summary.
                haystack.push_str("| ");
                push_words(m.summary, &mut haystack);
                for found in ac.find_overlapping_iter(&haystack) {
                    let (keyword, targets) = &self.keyword_targets[found.pattern().as_usize()];
                    for &(i, side) in targets {
                        match side {
                            Side::Match => {
                                add(&mut direct[i], Why::Keyword, keyword, Some(m.item_id))
                            }
                            Side::Exclude => excluded[i] = true,
                        }
                    }
                }
            }
        }
        let mut inside = vec![false; n];
        for &i in &self.bottom_up {
            if excluded[i] {
                direct[i].clear();
                continue;
            }
            if !direct[i].is_empty() {
                inside[i] = true;
            }
            if inside[i]
                && let Some(p) = self.parent[i]
            {
                inside[p] = true;
                let child = self.ids[i].clone();
                direct[p].push(Reason {
                    why: Why::Child,
                    what: child,
                    item: None,
                });
            }
        }
        let mut routes: Vec<Route> = (0..n)
            .filter(|&i| inside[i] && !excluded[i])
            .map(|i| Route {
                section: self.ids[i].clone(),
                reasons: std::mem::take(&mut direct[i]),
            })
            .collect();
        routes.extend(unknown);
        routes
    }
}

/// A category as compared: trimmed, inner whitespace as one space, lower-cased.
fn fold_category(c: &str) -> String {
    c.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The words of `text`, lower-cased: runs of letters, digits and combining marks, and each Han, Hiragana
/// or Katakana character alone. Anything else (spaces, punctuation, hyphens, apostrophes) separates words.
pub fn words(text: &str) -> Vec<String> {
    let mut joined = String::new();
    push_words(text, &mut joined);
    joined.split_whitespace().map(str::to_string).collect()
}

/// Appends the words of `text` to `out`, each followed by one space.
fn push_words(text: &str, out: &mut String) {
    let mut in_word = false;
    for c in text.chars() {
        if is_ideograph(c) {
            if in_word {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
            out.push(' ');
            in_word = false;
        } else if c.is_alphanumeric() || (in_word && is_combining_mark(c)) {
            out.extend(c.to_lowercase());
            in_word = true;
        } else if in_word {
            out.push(' ');
            in_word = false;
        }
    }
    if in_word {
        out.push(' ');
    }
}

/// Scripts written without spaces between words, where each character counts as a word.
fn is_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x3FFFF) // CJK Extensions B and later
}

/// Combining marks (accents written as separate characters), which belong to the word before them.
fn is_combining_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A | 0x064B..=0x065F
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E
        | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200C..=0x200D | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Everything routing depends on, hashed: each section's parent and rules, and each source's name and
/// listed sections.
fn fingerprint(config: &Config) -> String {
    let mut h = blake3::Hasher::new();
    let mut put = |s: &str| {
        h.update(s.as_bytes());
        h.update(&[0]);
    };
    for s in &config.sections {
        put("section");
        put(&s.id);
        put(s.parent.as_deref().unwrap_or(""));
        for (name, rule) in [("match", &s.matches), ("exclude", &s.exclude)] {
            put(name);
            rule.categories.iter().for_each(|c| put(&fold_category(c)));
            put("keywords");
            rule.keywords.iter().for_each(|k| put(&words(k).join(" ")));
        }
    }
    for s in &config.sources {
        put("source");
        put(&s.url);
        put(&s.name);
        let mut listed = s.sections.clone();
        listed.sort();
        listed.dedup();
        listed.iter().for_each(|l| put(l));
    }
    h.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests;
