//! Splits a large config at its top-level table headers, so that the `[[sources]]` tables can be parsed a
//! group at a time instead of holding one parse tree (and one token list) for the whole file.
//!
//! The scanner is deliberately narrow: it refuses (returns `None`) anything it is not sure about, and the
//! caller then parses the whole document as before. It only has to be right about where headers are; the
//! TOML parser still checks every byte of every piece.

use std::ops::Range;

/// The document cut at its top-level headers: where each piece is and whether it is a `[[sources]]` table.
#[derive(Debug)]
pub(super) struct Segments {
    /// Byte ranges of the pieces, in file order; together they cover the whole text.
    ranges: Vec<Range<usize>>,
    /// Whether the piece at the same position is a `[[sources]]` table.
    source: Vec<bool>,
}

impl Segments {
    /// Starts a new, still empty piece at byte `start` (a line start); `split` grows it line by line.
    fn open(&mut self, start: usize, source: bool) {
        self.ranges.push(start..start);
        self.source.push(source);
    }

    /// Number of `[[sources]]` tables found.
    pub(super) fn sources(&self) -> usize {
        self.source.iter().filter(|&&s| s).count()
    }

    /// The text without its `[[sources]]` tables: each is blanked to spaces (its final newline kept) so
    /// that byte offsets, and so lines, stay those of `text`. Trailing source tables are cut off instead:
    /// the parser sizes its token list by the length of what it reads.
    pub(super) fn main_text(&self, text: &str) -> String {
        let end = self
            .ranges
            .iter()
            .zip(&self.source)
            .rev()
            .find(|(_, s)| !**s)
            .map_or(0, |(r, _)| r.end);
        let mut main = String::with_capacity(end);
        for (r, &source) in self.ranges.iter().zip(&self.source) {
            if r.start >= end {
                break;
            }
            let piece = &text[r.clone()];
            if !source {
                main.push_str(piece);
                continue;
            }
            let newline = piece.ends_with('\n');
            main.extend(std::iter::repeat_n(' ', piece.len() - usize::from(newline)));
            if newline {
                main.push('\n');
            }
        }
        main
    }

    /// Byte ranges of runs of adjacent `[[sources]]` tables, at most `size` tables each, with the number
    /// of tables in each.
    pub(super) fn groups(&self, size: usize) -> Vec<(Range<usize>, usize)> {
        let mut groups: Vec<(Range<usize>, usize)> = Vec::new();
        let mut open = false;
        for (r, &source) in self.ranges.iter().zip(&self.source) {
            if !source {
                open = false;
                continue;
            }
            match groups.last_mut() {
                Some((g, n)) if open && *n < size => {
                    g.end = r.end;
                    *n += 1;
                }
                _ => groups.push((r.clone(), 1)),
            }
            open = true;
        }
        groups
    }
}

/// Cuts `text` at its top-level headers; `None` when the scanner is unsure or a header names a part of
/// `sources` other than `[[sources]]` itself (such files are parsed whole).
pub(super) fn split(text: &str) -> Option<Segments> {
    if text.starts_with('\u{feff}') {
        return None;
    }
    let mut segments = Segments {
        ranges: Vec::new(),
        source: Vec::new(),
    };
    segments.open(0, false);
    let mut state = State::default();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let indented = line.trim_start_matches([' ', '\t']);
        if state.at_top() && indented.starts_with('[') {
            segments.open(at, header(indented)?);
        } else {
            state.scan(line)?;
        }
        at += line.len();
        segments.ranges.last_mut().expect("opened above").end = at;
    }
    state.at_top().then_some(segments)
}

/// Where the scanner is between lines: inside a multi-line string or an open array or inline table.
#[derive(Default)]
struct State {
    /// The delimiter of the open multi-line string, if any.
    string: Option<u8>,
    /// Open `[` and `{` of values.
    depth: usize,
}

impl State {
    /// True when the next line may start with a table header.
    fn at_top(&self) -> bool {
        self.string.is_none() && self.depth == 0
    }

    /// Follows one line that is not a header; `None` when it does not read as TOML the scanner knows.
    fn scan(&mut self, line: &str) -> Option<()> {
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if let Some(quote) = self.string {
                i = self.in_multiline(b, i, quote)?;
                continue;
            }
            match b[i] {
                b'#' => return Some(()),
                q @ (b'"' | b'\'') if b[i..].starts_with(&[q; 3]) => {
                    self.string = Some(q);
                    i += 3;
                }
                q @ (b'"' | b'\'') => i = string_end(b, i + 1, q)?,
                b'[' | b'{' => {
                    self.depth += 1;
                    i += 1;
                }
                b']' | b'}' => {
                    self.depth = self.depth.checked_sub(1)?;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        Some(())
    }

    /// One step inside a multi-line string: past an escape, past a run of quotes (closing the string
    /// when the run is a delimiter, with up to two quotes of content before it), or past one byte.
    fn in_multiline(&mut self, b: &[u8], i: usize, quote: u8) -> Option<usize> {
        if b[i] == b'\\' && quote == b'"' {
            return Some(i + 2);
        }
        if b[i] != quote {
            return Some(i + 1);
        }
        let run = b[i..].iter().take_while(|&&c| c == quote).count();
        if run >= 3 {
            if run > 5 {
                return None;
            }
            self.string = None;
        }
        Some(i + run)
    }
}

/// The index just past the closing quote of a one-line string whose content starts at `i`; `None` when
/// the line ends first.
fn string_end(b: &[u8], mut i: usize, quote: u8) -> Option<usize> {
    while i < b.len() {
        match b[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\n' | b'\r' => return None,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Reads a header line (from its `[`): `Some(true)` for `[[sources]]`, `Some(false)` for a header that
/// does not name `sources`, `None` for anything else.
fn header(line: &str) -> Option<bool> {
    let array = line.starts_with("[[");
    let mut rest = &line[if array { 2 } else { 1 }..];
    let mut keys = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        let (key, after) = key(rest)?;
        keys.push(key);
        rest = after.trim_start_matches([' ', '\t']);
        match rest.strip_prefix('.') {
            Some(after) => rest = after,
            None => break,
        }
    }
    rest = rest.strip_prefix(if array { "]]" } else { "]" })?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let end_of_line = matches!(rest, "" | "\n" | "\r\n") || rest.starts_with('#');
    if !end_of_line {
        return None;
    }
    match keys.as_slice() {
        [Key::Bare("sources")] if array => Some(true),
        [Key::Bare("sources") | Key::Quoted("sources"), ..] => None,
        _ => Some(false),
    }
}

/// One part of a dotted header key.
enum Key<'a> {
    /// Written without quotes.
    Bare(&'a str),
    /// Written in quotes, without escapes.
    Quoted(&'a str),
}

/// The key part at the start of `s` and what follows it; `None` for an empty part, an escape in a
/// quoted part (it could spell `sources`) or a character the scanner does not know in a bare one.
fn key(s: &str) -> Option<(Key<'_>, &str)> {
    if let Some(q) = s.chars().next().filter(|c| matches!(c, '"' | '\'')) {
        let inner = &s[1..];
        let close = inner.find(q)?;
        let name = &inner[..close];
        if name.contains(['\\', '\n', '\r']) {
            return None;
        }
        return Some((Key::Quoted(name), &inner[close + 1..]));
    }
    let len = s
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
        .count();
    let after = &s[len..];
    let known_end = after.is_empty() || after.starts_with([' ', '\t', '.', ']']);
    (len > 0 && known_end).then(|| (Key::Bare(&s[..len]), after))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The segments as (text, is a source table).
    fn pieces(text: &str) -> Option<Vec<(&str, bool)>> {
        let s = split(text)?;
        Some(
            s.ranges
                .iter()
                .zip(&s.source)
                .map(|(r, &src)| (&text[r.clone()], src))
                .collect(),
        )
    }

    #[test]
    fn headers_cut_the_text_and_sources_tables_are_marked() {
        let text = "a = 1\n[server]\nx = 2\n[[ sources ]] # one\nurl = \"u\"\n  [[sections]]\nid = \"a\"\n";
        assert_eq!(
            pieces(text).unwrap(),
            vec![
                ("a = 1\n", false),
                ("[server]\nx = 2\n", false),
                ("[[ sources ]] # one\nurl = \"u\"\n", true),
                ("  [[sections]]\nid = \"a\"\n", false),
            ]
        );
    }

    #[test]
    fn brackets_inside_strings_arrays_and_comments_are_not_headers() {
        let text = "[[sources]]\nnote = \"\"\"\n[[sources]]\n\"\"\"\nlit = '''\n[x]\n'''\n\
                    list = [\n  [1, 2],\n]\nt = { a = [\n] }\n# [[sources]\nq = \"[\" # ]\n\
                    e = \"\"\"a \\\"\"\"\n[[sources]]\n\"\"\"\"\"\n[[sources]]\n";
        let found = pieces(text).unwrap();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[2].0.starts_with("[[sources]]\n") && found[2].1);
        assert!(found[1].0.ends_with("\"\"\"\"\"\n"), "{found:#?}");
    }

    #[test]
    fn headers_about_sources_or_that_the_scanner_cannot_read_refuse_the_split() {
        for text in [
            "[[sources]]\n[sources.extra]\n",
            "[[sources.x]]\n",
            "[\"sources\"]\n",
            "[[ 'sources' ]]\n",
            "[sources]\n",
            "[\"\\u0073ources\"]\n",
            "[a] b = 1\n",
            "[[a]\n",
            "a = \"open\n[x]\n",
            "a = [\n",
            "a = ]\n",
            "a = \"\"\"\n[x]\n",
            "\u{feff}[x]\n",
        ] {
            assert!(split(text).is_none(), "{text:?}");
        }
        assert!(split("[news_sources]\n[\"a.b\"]\n['x'.y]\n").is_some());
    }

    #[test]
    fn the_main_text_keeps_offsets_and_groups_are_runs_of_sources() {
        let text = "[a]\n[[sources]]\nx = 1\r\n[[sources]]\n[b]\n[[sources]]\n[[sources]]\n[[sources]]\ny = 2";
        let s = split(text).unwrap();
        assert_eq!(s.sources(), 5);
        let main = s.main_text(text);
        assert_eq!(
            main,
            format!("[a]\n{}\n{}\n[b]\n", " ".repeat(18), " ".repeat(11))
        );
        let groups: Vec<(&str, usize)> = s
            .groups(2)
            .into_iter()
            .map(|(r, n)| (&text[r], n))
            .collect();
        assert_eq!(
            groups,
            vec![
                ("[[sources]]\nx = 1\r\n[[sources]]\n", 2),
                ("[[sources]]\n[[sources]]\n", 2),
                ("[[sources]]\ny = 2", 1),
            ]
        );
    }
}
