//! Rendering tests on hand-made stories: bylines, credits, text that reads as markup, and `updated`.

use chrono::{DateTime, Utc};

use super::{SectionFeed, atom, json, rss};
use crate::config::Section;
use crate::dedup::Layer;
use crate::normalize::Byline;
use crate::store::{MemberView, StoryView};

fn byline(name: Option<&str>, email: Option<&str>, uri: Option<&str>) -> Byline {
    Byline {
        name: name.map(String::from),
        email: email.map(String::from),
        uri: uri.map(String::from),
    }
}

/// A member of source `source` titled `title`, published at `published` (unix seconds).
fn member(source: &str, title: &str, published: i64, authors: Vec<Byline>) -> MemberView {
    let slug: String = title.chars().filter(char::is_ascii_alphanumeric).collect();
    MemberView {
        item_id: published,
        source_id: 1,
        source_name: source.into(),
        source_url: format!("https://{source}.example/feed"),
        site_url: None,
        guid: slug.clone(),
        url: Some(format!("https://{source}.example/{slug}?utm_source=rss")),
        title: title.into(),
        summary: "A summary.".into(),
        content_html: "<p>Body.</p>".into(),
        author: None,
        authors,
        published,
        layer: Layer::New,
        score: 0.0,
        canonical_url: Some(format!("https://{source}.example/{slug}")),
        first_seen: published,
        item_updated: published,
    }
}

fn story(id: i64, members: Vec<MemberView>) -> StoryView {
    StoryView {
        id,
        guid: format!("urn:uuid:00000000-0000-0000-0000-{id:012}"),
        published: members[0].published,
        updated: members[0].published,
        first_seen: members[0].published,
        sections: vec!["world".into()],
        routes: Vec::new(),
        members,
    }
}

/// The section's documents as (RSS, Atom, JSON).
fn render(stories: Vec<StoryView>) -> (String, String, serde_json::Value) {
    let section = Section {
        id: "world".into(),
        title: "World".into(),
        description: "World news".into(),
        schedule: None,
        parent: None,
        matches: Default::default(),
        exclude: Default::default(),
    };
    let all = [section.clone()];
    let feed = SectionFeed {
        section: &section,
        all_sections: &all,
        base_url: "https://desk.example",
        updated: DateTime::<Utc>::from_timestamp(1_750_000_000, 0).unwrap(),
        stories,
    };
    (
        String::from_utf8(rss::render(&feed)).unwrap(),
        String::from_utf8(atom::render(&feed)).unwrap(),
        serde_json::from_slice(&json::render(&feed)).unwrap(),
    )
}

#[test]
fn one_byline_with_an_address_is_the_rss_author_everywhere_else_a_person() {
    let by = byline(Some("Editorial Board"), Some("ed@wire.example"), None);
    let (rss, atom, json) = render(vec![story(
        1,
        vec![member("wire", "Budget passes", 1_750_000_000, vec![by])],
    )]);
    assert!(
        rss.contains("<author>ed@wire.example (Editorial Board)</author>"),
        "{rss}"
    );
    assert!(
        !rss.contains("<dc:creator>"),
        "author or dc:creator, never both"
    );
    assert!(
        atom.contains(
            "<author><name>Editorial Board</name><email>ed@wire.example</email></author>"
        ),
        "{atom}"
    );
    assert_eq!(
        json["items"][0]["authors"],
        serde_json::json!([{"name": "Editorial Board", "url": "mailto:ed@wire.example"}])
    );
}

#[test]
fn several_bylines_are_creators_and_a_missing_one_credits_the_source() {
    let two = vec![
        byline(Some("Jane Doe"), Some("jane@wire.example"), None),
        byline(Some("Ali Khan"), None, Some("https://wire.example/ali")),
    ];
    let (rss, atom, json) = render(vec![
        story(1, vec![member("wire", "Budget passes", 1_750_000_000, two)]),
        story(
            2,
            vec![member("farm", "Storm hits coast", 1_749_990_000, vec![])],
        ),
    ]);
    assert!(
        rss.contains("<dc:creator>Jane Doe</dc:creator><dc:creator>Ali Khan</dc:creator>"),
        "{rss}"
    );
    assert!(rss.contains("<dc:creator>farm</dc:creator>"), "{rss}");
    assert!(!rss.contains("<author>"), "{rss}");
    assert!(
        atom.contains("<author><name>Ali Khan</name><uri>https://wire.example/ali</uri></author>"),
        "{atom}"
    );
    assert!(
        atom.contains("<author><name>farm</name></author>"),
        "{atom}"
    );
    assert_eq!(
        json["items"][1]["authors"],
        serde_json::json!([{"name": "farm"}])
    );
}

#[test]
fn the_credit_list_names_each_members_byline_and_canonical_link() {
    let rep = member(
        "wire",
        "Budget passes",
        1_750_000_000,
        vec![byline(Some("Jane Doe"), None, None)],
    );
    let copy = member(
        "farm",
        "Budget passes",
        1_750_000_100,
        vec![byline(None, Some("desk@farm.example"), None)],
    );
    let (rss, _, _) = render(vec![story(1, vec![rep, copy])]);
    assert!(
        rss.contains(
            "<ul><li><a href=\"https://farm.example/Budgetpasses\">farm</a> (by desk@farm.example)</li></ul>"
        ),
        "{rss}"
    );
}

#[test]
fn plain_text_that_reads_as_markup_is_escaped_so_readers_see_the_text() {
    let mut m = member(
        "wire",
        "History of the <blink> tag",
        1_750_000_000,
        vec![byline(Some("Q&A Desk"), None, None)],
    );
    m.source_name = "AT&T Wire".into();
    m.summary = "Why <script> tags & 1&1 are text".into();
    m.content_html = "<p>Fish &amp; chips</p>".into();
    let plain = member("farm", "Markets & money", 1_749_990_000, vec![]);
    let (rss, atom, json) = render(vec![story(1, vec![m]), story(2, vec![plain])]);

    // RSS: HTML that reads back as the text, with & and < as hexadecimal references outside CDATA.
    assert!(
        rss.contains("<title>History of the &#x26;lt;blink&#x26;gt; tag</title>"),
        "{rss}"
    );
    assert!(rss.contains("<title>Markets &#x26; money</title>"), "{rss}");
    assert!(
        rss.contains("<dc:creator>Q&#x26;A Desk</dc:creator>"),
        "{rss}"
    );
    assert!(
        rss.contains("<p>Fish &amp; chips</p>"),
        "CDATA is untouched: {rss}"
    );
    let doc = roxmltree::Document::parse(&rss).unwrap();
    let titles: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("title") && n.parent().unwrap().has_tag_name("item"))
        .map(|n| n.text().unwrap())
        .collect();
    // What a browser shows for HTML without tags: its entities decoded.
    let read = |html: &str| html_escape::decode_html_entities(html).into_owned();
    assert_eq!(read(titles[0]), "History of the <blink> tag");
    assert_eq!(read(titles[1]), "Markets & money");

    // Atom: escaped type="html" whenever the text holds < or &; type="text" otherwise.
    assert!(
        atom.contains(r#"<title type="html">History of the &amp;lt;blink&amp;gt; tag</title>"#),
        "{atom}"
    );
    assert!(
        atom.contains(r#"<summary type="html">Why &amp;lt;script&amp;gt; tags &amp;amp; 1&amp;amp;1 are text</summary>"#),
        "{atom}"
    );
    assert!(atom.contains("<title>World</title>"), "{atom}");
    // JSON Feed text is plain, with `＜` for each `<` that would open a tag (JSON cannot escape it).
    assert_eq!(json["items"][0]["title"], "History of the ＜blink> tag");
    assert_eq!(
        json["items"][0]["summary"],
        "Why ＜script> tags & 1&1 are text"
    );
}

#[test]
fn stories_that_changed_in_the_same_second_keep_distinct_updated_times() {
    let at = 1_750_000_000;
    let (_, atom, json) = render(vec![
        story(7, vec![member("wire", "Budget passes", at, vec![])]),
        story(8, vec![member("farm", "Storm hits coast", at, vec![])]),
    ]);
    let doc = roxmltree::Document::parse(&atom).unwrap();
    let updated: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("updated") && n.parent().unwrap().has_tag_name("entry"))
        .map(|n| n.text().unwrap())
        .collect();
    assert_eq!(
        updated,
        [
            "2025-06-15T15:06:40.000007+00:00",
            "2025-06-15T15:06:40.000008+00:00"
        ]
    );
    assert_eq!(
        json["items"][0]["date_modified"],
        "2025-06-15T15:06:40.000007Z"
    );
    assert_eq!(json["items"][0]["date_published"], "2025-06-15T15:06:40Z");
}
