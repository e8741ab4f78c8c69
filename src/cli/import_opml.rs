//! `wiredesk import-opml FILE [--section ID]`: prints `[[sources]]` tables for the feeds an OPML file
//! lists, for the operator to review and paste into `feeds.toml`; it never edits the config. Feeds already
//! configured (or listed twice) are skipped. Each feed goes to `--section` when given, else to the section
//! whose id or title matches the folder outline it sits in, else to the first section, with a comment.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;

use crate::config::Config;

/// One feed an OPML file lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpmlFeed {
    /// Its `title` or `text`.
    pub name: String,
    /// Its `xmlUrl`.
    pub url: String,
    /// The titles of the folder outlines around it, outermost first.
    pub folders: Vec<String>,
}

/// Every outline with an `xmlUrl`, in document order, nested folders included.
pub(crate) fn feeds(text: &str) -> anyhow::Result<Vec<OpmlFeed>> {
    let doc = roxmltree::Document::parse(text).context("not well-formed XML")?;
    let root = doc.root_element();
    anyhow::ensure!(
        root.tag_name().name().eq_ignore_ascii_case("opml"),
        "the root element is <{}>, not <opml>",
        root.tag_name().name()
    );
    let attr = |n: roxmltree::Node, name: &str| {
        n.attributes()
            .find(|a| a.name().eq_ignore_ascii_case(name))
            .map(|a| a.value().trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut out = Vec::new();
    for outline in root.descendants().filter(|n| n.has_tag_name("outline")) {
        let Some(url) = attr(outline, "xmlUrl") else {
            continue;
        };
        let mut folders: Vec<String> = outline
            .ancestors()
            .skip(1)
            .filter(|a| a.has_tag_name("outline"))
            .filter_map(|a| attr(a, "title").or_else(|| attr(a, "text")))
            .collect();
        folders.reverse();
        let name = attr(outline, "title")
            .or_else(|| attr(outline, "text"))
            .unwrap_or_else(|| url.clone());
        out.push(OpmlFeed { name, url, folders });
    }
    Ok(out)
}

/// The `[[sources]]` TOML for the feeds of `text` that `config` does not have yet, with a summary comment.
pub(crate) fn sources_toml(
    config: &Config,
    text: &str,
    section: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(s) = section {
        anyhow::ensure!(
            config.section(s).is_some(),
            "no section `{s}` in {}; the sections are: {}",
            config.path.display(),
            config
                .sections
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let key = |u: &str| {
        url::Url::parse(u)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| u.to_string())
    };
    let mut known: HashSet<String> = config.sources.iter().map(|s| key(&s.url)).collect();
    let all = feeds(text)?;
    let mut out = String::new();
    let (mut added, mut configured, mut refused) = (0, 0, Vec::new());
    for feed in &all {
        match url::Url::parse(&feed.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                refused.push(feed.url.clone());
                continue;
            }
        }
        if !known.insert(key(&feed.url)) {
            configured += 1;
            continue;
        }
        let matched = feed.folders.iter().rev().find_map(|f| {
            config
                .sections
                .iter()
                .find(|s| s.id.eq_ignore_ascii_case(f) || s.title.eq_ignore_ascii_case(f))
        });
        let (id, note) = match (section, matched) {
            (Some(s), _) => (s.to_string(), None),
            (None, Some(s)) => (s.id.clone(), None),
            (None, None) => (
                config.sections[0].id.clone(),
                Some(match feed.folders.last() {
                    Some(f) => format!("no section matches the folder \"{f}\"; review"),
                    None => "not in a folder; review the section".to_string(),
                }),
            ),
        };
        out.push_str("\n[[sources]]\n");
        if let Some(note) = note {
            out.push_str(&format!("# {note}\n"));
        }
        out.push_str(&format!(
            "name = {}\nurl = {}\nsections = [{}]\n",
            toml::Value::String(feed.name.clone()),
            toml::Value::String(feed.url.clone()),
            toml::Value::String(id)
        ));
        added += 1;
    }
    let mut head = format!(
        "# {added} feed(s) to add from the OPML file; {configured} already configured or listed twice were skipped\n"
    );
    for url in &refused {
        head.push_str(&format!("# skipped `{url}`: not an http(s) URL\n"));
    }
    Ok(head + &out)
}

/// Reads the OPML file at `path` and prints its new feeds as `[[sources]]` TOML.
pub(crate) fn import(config: &Config, path: &Path, section: Option<&str>) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let toml = sources_toml(config, &text, section)
        .with_context(|| format!("{} is not an OPML file wiredesk can read", path.display()))?;
    print!("{toml}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "[[sections]]\nid = \"world\"\ntitle = \"World\"\n\
        [[sections]]\nid = \"tech\"\ntitle = \"Technology\"\n\
        [[sources]]\nurl = \"http://continental.example/rss\"\nsections = [\"world\"]\n";

    #[test]
    fn a_reader_export_becomes_sources_in_the_matching_sections() {
        let text = include_str!("../../tests/data/subscriptions.opml");
        let config = crate::config::parse(Path::new("feeds.toml"), CONFIG).unwrap();
        let out = sources_toml(&config, text, None).unwrap();
        // What it prints is TOML that the config reader accepts once appended.
        let merged = crate::config::parse(Path::new("feeds.toml"), &format!("{CONFIG}{out}"))
            .unwrap_or_else(|e| panic!("{e}\n{out}"));
        let added: Vec<(&str, &str, &str)> = merged.sources[1..]
            .iter()
            .map(|s| (s.name.as_str(), s.url.as_str(), s.sections[0].as_str()))
            .collect();
        assert_eq!(
            added,
            vec![
                (
                    "Harbor Wire — World",
                    "https://harbor-wire.example/world/rss.xml",
                    "world"
                ),
                (
                    "The Meridian & Echo",
                    "https://meridian.example/feeds/all.atom?lang=en&edition=intl",
                    "world"
                ),
                (
                    "https://untitled.example/feed/",
                    "https://untitled.example/feed/",
                    "world"
                ),
                (
                    "Byte Ledger",
                    "https://byteledger.example/index.xml",
                    "tech"
                ),
                (
                    "Morning Briefing \"Audio\"",
                    "https://audio.example/briefing.rss",
                    "world"
                ),
                (
                    "Loose feed at the top",
                    "https://loose.example/rss",
                    "world"
                ),
            ],
            "{out}"
        );
        assert!(out.starts_with("# 6 feed(s) to add"), "{out}");
        assert!(
            out.contains("2 already configured or listed twice"),
            "{out}"
        );
        assert!(out.contains("skipped `gopher://old.example/feed`"), "{out}");
        assert!(
            out.contains("no section matches the folder \"Podcasts\""),
            "{out}"
        );
        let forced = sources_toml(&config, text, Some("tech")).unwrap();
        assert_eq!(
            forced.matches("sections = [\"tech\"]").count(),
            6,
            "{forced}"
        );
        assert!(sources_toml(&config, text, Some("nope")).is_err());
        assert!(sources_toml(&config, "<html/>", None).is_err());
    }
}
