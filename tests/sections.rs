//! Sections over `../shared/dedup-dev`, whose items carry `<category>` tags (World, Sports, Business,
//! Sci/Tech): a general section of every source, `business` by category, `markets` (a subsection of
//! business) by keywords with an `exclude`, and `energy` (a subsection of markets) by keywords. The feeds
//! are served on 127.0.0.1 and polled once; the published feeds are read back and every story in each is
//! checked against the rules, evaluated here independently on the source feeds' own XML: every story in a
//! feed qualifies, none that qualifies is missing, a parent carries its children's stories, and excluded
//! words never appear. Then a reload with other rules routes the stored stories again.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use regex::Regex;

/// One item of a source feed, as the test reads it.
struct SourceItem {
    title: String,
    summary: String,
    categories: Vec<String>,
}

/// The rules of one run, as the test evaluates them.
struct Rules {
    business_categories: Vec<&'static str>,
    markets_keywords: Vec<&'static str>,
    markets_exclude_keywords: Vec<&'static str>,
    markets_exclude_categories: Vec<&'static str>,
    energy_keywords: Vec<&'static str>,
}

fn list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("{w:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

impl Rules {
    fn toml(&self) -> String {
        let mut t = format!(
            "[[sections]]\nid = \"all\"\ntitle = \"All\"\n\
             [[sections]]\nid = \"business\"\ntitle = \"Business\"\nmatch = {{ categories = {} }}\n\
             [[sections]]\nid = \"markets\"\ntitle = \"Markets\"\nparent = \"business\"\n\
             match = {{ keywords = {} }}\n",
            list(&self.business_categories),
            list(&self.markets_keywords),
        );
        if !self.markets_exclude_keywords.is_empty() || !self.markets_exclude_categories.is_empty()
        {
            t.push_str(&format!(
                "exclude = {{ keywords = {}, categories = {} }}\n",
                list(&self.markets_exclude_keywords),
                list(&self.markets_exclude_categories)
            ));
        }
        t.push_str(&format!(
            "[[sections]]\nid = \"energy\"\ntitle = \"Energy\"\nparent = \"markets\"\n\
             match = {{ keywords = {} }}\n",
            list(&self.energy_keywords)
        ));
        t
    }
}

/// A whole-word, any-case matcher for these words or phrases (the test's own, not wiredesk's).
fn words_regex(words: &[&str]) -> Option<Regex> {
    if words.is_empty() {
        return None;
    }
    let alternatives: Vec<String> = words
        .iter()
        .map(|w| {
            w.split_whitespace()
                .map(regex::escape)
                .collect::<Vec<_>>()
                .join(r"\s+")
        })
        .collect();
    Some(Regex::new(&format!(r"(?i)\b(?:{})\b", alternatives.join("|"))).unwrap())
}

fn any_text(re: &Option<Regex>, item: &SourceItem) -> bool {
    re.as_ref()
        .is_some_and(|re| re.is_match(&item.title) || re.is_match(&item.summary))
}

fn any_category(categories: &[&str], item: &SourceItem) -> bool {
    item.categories.iter().any(|c| {
        categories
            .iter()
            .any(|k| k.trim().eq_ignore_ascii_case(c.trim()))
    })
}

/// The sections each story must be in under `rules`, from its members' source items.
fn expected(rules: &Rules, members: &[&SourceItem]) -> BTreeSet<&'static str> {
    let markets_kw = words_regex(&rules.markets_keywords);
    let markets_ex = words_regex(&rules.markets_exclude_keywords);
    let energy_kw = words_regex(&rules.energy_keywords);
    let mut out = BTreeSet::from(["all"]);
    let excluded = members
        .iter()
        .any(|m| any_text(&markets_ex, m) || any_category(&rules.markets_exclude_categories, m));
    let energy = members.iter().any(|m| any_text(&energy_kw, m));
    if energy {
        out.insert("energy");
    }
    let markets = !excluded && (energy || members.iter().any(|m| any_text(&markets_kw, m)));
    if markets {
        out.insert("markets");
    }
    if markets
        || members
            .iter()
            .any(|m| any_category(&rules.business_categories, m))
    {
        out.insert("business");
    }
    out
}

/// Every item of every dev-set feed by (feed name, guid), read from the XML with roxmltree.
fn source_items(dev: &Path) -> HashMap<(String, String), SourceItem> {
    let tags = Regex::new("<[^>]*>").unwrap();
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(dev.join("feeds")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let xml = std::fs::read_to_string(&path).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        for node in doc
            .descendants()
            .filter(|n| matches!(n.tag_name().name(), "item" | "entry"))
        {
            let child = |tag: &str| {
                node.children()
                    .find(|c| c.tag_name().name() == tag)
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .trim()
                    .to_string()
            };
            let guid = match node.tag_name().name() {
                "item" => child("guid"),
                _ => child("id"),
            };
            let summary = match node.tag_name().name() {
                "item" => child("description"),
                _ => child("summary"),
            };
            let categories = node
                .children()
                .filter(|c| c.tag_name().name() == "category")
                .filter_map(|c| c.attribute("term").or(c.text()))
                .map(str::to_string)
                .collect();
            out.insert(
                (name.clone(), guid),
                SourceItem {
                    title: child("title"),
                    summary: tags.replace_all(&summary, " ").to_string(),
                    categories,
                },
            );
        }
    }
    out
}

/// The story guids of a published RSS feed, with each item's categories and its text (title and body).
fn published(out: &Path, section: &str) -> BTreeMap<String, (Vec<String>, String)> {
    let xml = std::fs::read_to_string(out.join(format!("feeds/{section}.rss"))).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let tags = Regex::new("<[^>]*>").unwrap();
    doc.descendants()
        .filter(|n| n.tag_name().name() == "item")
        .map(|item| {
            let text_of = |tag: &str| {
                item.children()
                    .find(|c| c.tag_name().name() == tag)
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .to_string()
            };
            let categories = item
                .children()
                .filter(|c| c.tag_name().name() == "category")
                .filter_map(|c| c.text().map(str::to_string))
                .collect();
            let text = format!(
                "{} {}",
                text_of("title"),
                tags.replace_all(&text_of("description"), " ")
            );
            (text_of("guid"), (categories, text))
        })
        .collect()
}

/// `wiredesk stories --json` (optionally for one section), one JSON value per story.
fn stories(config: &Path, section: Option<&str>) -> Vec<serde_json::Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wiredesk"));
    cmd.args(["stories", "--json", "--config"]).arg(config);
    if let Some(s) = section {
        cmd.args(["--section", s]);
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const SECTIONS: [&str; 4] = ["all", "business", "markets", "energy"];

/// Polls (or re-polls) with `rules`, then checks every published feed against them.
async fn poll_and_check(
    dir: &Path,
    sources_toml: &str,
    rules: &Rules,
    items: &HashMap<(String, String), SourceItem>,
) {
    let config = dir.join("feeds.toml");
    let out = dir.join("public");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = \"dev.db\"\nretention_days = 0\n[publish]\nitems_per_feed = 5000\n\
             [fetch]\nallow_networks = [\"127.0.0.1/32\"]\n[defaults]\nschedule = \"0 0 1 1 *\"\n{}{sources_toml}",
            rules.toml()
        ),
    )
    .unwrap();
    wiredesk::daemon::poll_once(wiredesk::config::load(&config).unwrap(), Some(&out))
        .await
        .unwrap();

    let all = stories(&config, None);
    assert_eq!(all.len(), published(&out, "all").len());
    let mut want: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut story_sections: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for story in &all {
        let members: Vec<&SourceItem> = story["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let key = (
                    m["source"].as_str().unwrap().to_string(),
                    m["guid"].as_str().unwrap().to_string(),
                );
                items
                    .get(&key)
                    .unwrap_or_else(|| panic!("{key:?} is in no dev-set feed"))
            })
            .collect();
        let id = story["id"].as_str().unwrap().to_string();
        let sections = expected(rules, &members);
        // stories --json says why the story is in each section, and names exactly those sections.
        let routed: BTreeSet<&str> = story["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert!(!r["reasons"].as_array().unwrap().is_empty(), "{r}");
                r["section"].as_str().unwrap()
            })
            .collect();
        assert_eq!(routed, sections, "story {id}: {}", story["title"]);
        for &s in &sections {
            want.entry(s).or_default().insert(id.clone());
        }
        story_sections.insert(id, sections);
    }
    let excluded = words_regex(&rules.markets_exclude_keywords);
    let mut counts = Vec::new();
    for section in SECTIONS {
        let feed = published(&out, section);
        let got: BTreeSet<String> = feed.keys().cloned().collect();
        let want = want.remove(section).unwrap_or_default();
        let extra: Vec<_> = got.difference(&want).collect();
        let missing: Vec<_> = want.difference(&got).collect();
        assert!(
            extra.is_empty(),
            "{section}: stories that do not qualify: {extra:?}"
        );
        assert!(
            missing.is_empty(),
            "{section}: qualifying stories missing: {missing:?}"
        );
        // Each item names all its sections as categories (in file order), parents included.
        let title = |s: &str| format!("{}{}", s[..1].to_uppercase(), &s[1..]);
        for (guid, (categories, text)) in &feed {
            let titles: Vec<String> = SECTIONS
                .iter()
                .filter(|s| story_sections[guid].contains(*s))
                .map(|s| title(s))
                .collect();
            assert_eq!(categories, &titles, "{guid} in {section}");
            if section == "markets"
                && let Some(re) = &excluded
            {
                assert!(
                    !re.is_match(text),
                    "{section} carries an excluded word: {text}"
                );
            }
        }
        // `stories --section` follows the tree too.
        let listed: BTreeSet<String> = stories(&dir.join("feeds.toml"), Some(section))
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(listed, got, "stories --section {section}");
        counts.push(format!("{section} {}", got.len()));
    }
    let business = published(&out, "business");
    let markets = published(&out, "markets");
    let energy = published(&out, "energy");
    assert!(
        markets.keys().all(|g| business.contains_key(g)),
        "business carries markets"
    );
    // Energy's stories reach markets and business, except those markets' exclusion keeps out.
    let kept_out = energy.keys().filter(|g| !markets.contains_key(*g)).count();
    assert!(
        energy
            .keys()
            .filter(|g| markets.contains_key(*g))
            .all(|g| business.contains_key(g))
    );
    let by_child = business
        .keys()
        .filter(|g| {
            all.iter().any(|s| {
                s["id"] == **g
                    && s["routes"].as_array().unwrap().iter().any(|r| {
                        r["section"] == "business"
                            && r["reasons"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .all(|x| x["why"] == "child")
                    })
            })
        })
        .count();
    println!(
        "stories per section: {}; business stories there only through markets: {by_child}; \
         energy stories kept out of markets (and so of business) by its exclude: {kept_out}",
        counts.join(", ")
    );
    if !rules.markets_exclude_keywords.is_empty() {
        assert!(kept_out > 0, "the exclusion is exercised");
    }
    assert!(
        by_child > 0,
        "the parent carries stories only its child takes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_set_is_routed_by_source_category_keyword_and_subsection() {
    let dev = common::shared_dir().join("dedup-dev");
    let items = source_items(&dev);
    let mut sources_toml = String::new();
    let (addr, names) = common::serve_feed_dir(&dev.join("feeds")).await;
    for n in &names {
        sources_toml.push_str(&format!(
            "[[sources]]\nname = {n:?}\nurl = \"http://{addr}/{n}.xml\"\nsections = [\"all\"]\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = Rules {
        // Trimmed and compared in any case.
        business_categories: vec![" business "],
        markets_keywords: vec!["oil", "stocks", "shares", "wall street", "investors"],
        markets_exclude_keywords: vec!["google", "press release"],
        markets_exclude_categories: vec!["SPORTS"],
        energy_keywords: vec!["oil", "crude", "opec"],
    };
    poll_and_check(dir.path(), &sources_toml, &rules, &items).await;

    // A reload with other rules: nothing new is polled (the feeds are unchanged), and every stored
    // story is routed again by the new rules.
    let rules = Rules {
        business_categories: vec!["Business", "Sci/Tech"],
        markets_keywords: vec!["shares", "profit"],
        markets_exclude_keywords: vec![],
        markets_exclude_categories: vec![],
        energy_keywords: vec!["oil prices"],
    };
    poll_and_check(dir.path(), &sources_toml, &rules, &items).await;
}
