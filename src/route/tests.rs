use std::path::Path;

use super::*;

fn router(sections: &str) -> Router {
    let text = format!(
        "{sections}\n[[sources]]\nname = \"Wire\"\nurl = \"https://wire.example/f\"\nsections = [\"all\"]\n"
    );
    Router::new(&crate::config::parse(Path::new("feeds.toml"), &text).unwrap())
}

const TREE: &str = r#"
[[sections]]
id = "all"
[[sections]]
id = "business"
match = { categories = [" BUSINESS "] }
[[sections]]
id = "crypto"
parent = "business"
match = { keywords = ["bitcoin", "ethereum", "crypto"] }
exclude = { keywords = ["sponsored", "press release"] }
[[sections]]
id = "defi"
parent = "crypto"
match = { keywords = ["decentralised finance"] }
[[sections]]
id = "sports"
match = { categories = ["Sports"] }
exclude = { categories = ["betting"] }
"#;

fn member<'a>(title: &'a str, summary: &'a str, categories: &'a [String]) -> Member<'a> {
    Member {
        item_id: 7,
        source: "Wire",
        listed: &[],
        title,
        summary,
        categories,
    }
}

fn sections(routes: &[Route]) -> Vec<&str> {
    routes.iter().map(|r| r.section.as_str()).collect()
}

#[test]
fn categories_fold_case_and_space_and_keywords_match_whole_words() {
    let r = router(TREE);
    let cats = vec!["business".to_string()];
    let routes = r.route(&[member("Shares rise", "", &cats)]);
    assert_eq!(sections(&routes), ["business"]);
    assert_eq!(routes[0].reasons[0].why, Why::Category);
    // "cryptography" is not the word "crypto"; "Bitcoin's" is "bitcoin" followed by a separate "s".
    assert!(r.route(&[member("Cryptography prize", "", &[])]).is_empty());
    let routes = r.route(&[member("Bitcoin's week", "", &[])]);
    assert_eq!(sections(&routes), ["business", "crypto"]);
    assert_eq!(
        routes[0].reasons,
        vec![Reason {
            why: Why::Child,
            what: "crypto".into(),
            item: None
        }]
    );
    assert_eq!(routes[1].reasons[0].what, "bitcoin");
}

#[test]
fn grandchildren_reach_every_ancestor_and_phrases_stay_within_one_field() {
    let r = router(TREE);
    let routes = r.route(&[member("A new wave of decentralised   finance", "", &[])]);
    assert_eq!(sections(&routes), ["business", "crypto", "defi"]);
    // The phrase is cut between the title and the summary: no match.
    assert!(
        r.route(&[member("Decentralised", "finance grows", &[])])
            .is_empty()
    );
}

#[test]
fn an_exclusion_keeps_the_story_out_of_the_section_and_out_of_its_parents_through_it() {
    let r = router(TREE);
    let routes = r.route(&[member("Bitcoin ETF", "A Press  Release from the fund", &[])]);
    assert!(routes.is_empty(), "{routes:?}");
    // A parent still takes it by its own rule.
    let cats = vec!["Business".to_string()];
    let routes = r.route(&[member("Bitcoin ETF", "A press release", &cats)]);
    assert_eq!(sections(&routes), ["business"]);
    // Any member excludes: the story is the unit.
    let cats = vec!["Sports".to_string()];
    let bet = vec!["Betting".to_string()];
    let routes = r.route(&[member("Cup final", "", &cats), member("Odds", "", &bet)]);
    assert!(routes.is_empty());
}

#[test]
fn sources_route_and_unknown_listed_sections_still_show() {
    let r = router(TREE);
    let listed = vec!["all".to_string(), "elsewhere".to_string()];
    let m = Member {
        listed: &listed,
        ..member("Anything", "", &[])
    };
    let routes = r.route(&[m]);
    assert_eq!(sections(&routes), ["all", "elsewhere"]);
    assert_eq!(routes[0].reasons[0].why, Why::Source);
    assert_eq!(routes[0].reasons[0].what, "Wire");
}

#[test]
fn words_are_unicode_aware() {
    assert_eq!(
        words("Éire's GDP-growth, 3.5%"),
        ["éire", "s", "gdp", "growth", "3", "5"]
    );
    // A combining accent belongs to its word; Han characters are words of their own.
    assert_eq!(words("cafe\u{301} au lait"), ["cafe\u{301}", "au", "lait"]);
    assert_eq!(words("比特币价格"), ["比", "特", "币", "价", "格"]);
    let r = router(
        "[[sections]]\nid = \"all\"\n[[sections]]\nid = \"cn\"\nmatch = { keywords = [\"比特币\", \"ÉCONOMIE\"] }\n",
    );
    assert_eq!(
        sections(&r.route(&[member("今日比特币价格", "", &[])])),
        ["cn"]
    );
    assert_eq!(
        sections(&r.route(&[member("L'économie française", "", &[])])),
        ["cn"]
    );
    assert!(
        r.route(&[member("Économies d'énergie", "", &[])])
            .is_empty()
    );
}

#[test]
fn the_fingerprint_moves_with_the_rules_only() {
    let a = router(TREE);
    let b = router(&TREE.replace("title = \"x\"", ""));
    assert_eq!(a.fingerprint(), b.fingerprint());
    let c = router(&TREE.replace("\"crypto\"]", "\"crypto\", \"nft\"]"));
    assert_ne!(a.fingerprint(), c.fingerprint());
}
