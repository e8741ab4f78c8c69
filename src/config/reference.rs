//! The README's configuration reference, checked against the code: every key the reader knows is in the
//! table, every key in the table is known, and every default the table gives as a TOML value is the
//! default the `Default` impls (and the reader) really apply. A file that sets each documented key to
//! its documented default must read exactly like a file that sets nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const README: &str = include_str!("../../README.md");

/// The documented rows: key (`fetch.per_host`, `sources[].url`) → default cell.
fn documented() -> BTreeMap<String, String> {
    let start = README
        .find("## Configuration reference")
        .expect("the README has a configuration reference");
    README[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| key |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect()
}

/// The documented default as a TOML value, when the cell is exactly one backticked value that parses.
fn literal(cell: &str) -> Option<String> {
    let inner = cell.strip_prefix('`')?.strip_suffix('`')?;
    (!inner.contains('`') && toml::from_str::<toml::Table>(&format!("v = {inner}")).is_ok())
        .then(|| inner.to_string())
}

/// Values for the required keys, so that the file reads.
fn required(key: &str) -> &'static str {
    match key {
        "sections[].id" => "\"a\"",
        "sources[].url" => "\"https://a.example/feed\"",
        "sources[].sections" => "[\"a\"]",
        other => panic!("the README calls `{other}` required; give the test a value for it"),
    }
}

/// A feeds.toml from `entries` (key → TOML value), tables in a fixed order.
fn file(entries: &BTreeMap<String, String>) -> String {
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in entries {
        // `sections[].match.keywords` is the key `match.keywords` of a `[[sections]]` table (a dotted key).
        let (table, name) = key.split_once('.').expect("keys are table.key");
        tables
            .entry(table.to_string())
            .or_default()
            .push(format!("{name} = {value}"));
    }
    let mut text = String::new();
    for (table, lines) in tables {
        match table.strip_suffix("[]") {
            Some(array) => text.push_str(&format!("[[{array}]]\n")),
            None => text.push_str(&format!("[{table}]\n")),
        }
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
    }
    text
}

fn parse(text: &str) -> super::Config {
    super::parse(Path::new("/etc/wiredesk/feeds.toml"), text)
        .unwrap_or_else(|e| panic!("{e}\nin:\n{text}"))
}

#[test]
fn the_readme_documents_every_key_with_its_real_default() {
    let rows = documented();
    let mut minimal = BTreeMap::new();
    let mut with_defaults = BTreeMap::new();
    for (key, cell) in &rows {
        if cell == "required" {
            minimal.insert(key.clone(), required(key).to_string());
            with_defaults.insert(key.clone(), required(key).to_string());
        } else if let Some(value) = literal(cell) {
            with_defaults.insert(key.clone(), value);
        }
    }
    let bare = parse(&file(&minimal));
    let documented_defaults = parse(&file(&with_defaults));
    assert_eq!(
        format!("{documented_defaults:#?}"),
        format!("{bare:#?}"),
        "a documented default differs from the real one"
    );

    // Every key the reader knows is documented: an unknown key's error lists the known ones.
    let probe = "zz_not_a_key";
    let mut probing = minimal.clone();
    let tables: BTreeSet<&str> = rows
        .keys()
        .filter_map(|k| k.rsplit_once('.'))
        .map(|(t, _)| t)
        .collect();
    for table in &tables {
        probing.insert(format!("{table}.{probe}"), "1".into());
    }
    let errors = super::parse(Path::new("feeds.toml"), &file(&probing)).unwrap_err();
    assert_eq!(errors.errors.len(), tables.len(), "{errors}");
    assert!(
        errors
            .errors
            .iter()
            .all(|e| e.message.starts_with("unknown key")),
        "{errors}"
    );
    for e in &errors.errors {
        let table = e.field.trim_end_matches(probe).trim_end_matches('.');
        let table = table.replace("[0]", "[]");
        let known = e
            .message
            .split("known keys here: ")
            .nth(1)
            .unwrap_or_else(|| panic!("no list of known keys in `{}`", e.message));
        for key in known.split(", ") {
            let full = format!("{table}.{key}");
            // A sub-table (`sections[].match`) is documented through its keys.
            let sub_table = rows.keys().any(|k| k.starts_with(&format!("{full}.")));
            assert!(
                rows.contains_key(&full) || sub_table,
                "`{full}` is not in the README's configuration reference"
            );
        }
    }
}
