//! Dedup decisions in words, by role rather than by arrival: which copy of a story is its original (the
//! representative it publishes) and why, and how each other copy relates to it. A spun copy that arrived
//! first founded the story in the database, but it still reads as the copy. `wiredesk explain`, the demo's
//! running commentary and the `/stories/{id}` page all speak through this module, so they agree.

use std::collections::HashMap;

use crate::dedup::{CandidateNote, Layer};
use crate::store::{DecisionRow, MemberView, Store, StoryView};
use crate::timefmt;

/// A story explained: its original, why that one, and every other copy with its relation.
#[derive(Debug, Clone)]
pub(crate) struct StoryExplained {
    /// The story, representative first.
    pub story: StoryView,
    /// Why the representative is the original, in a clause ("its source has the highest priority (10)").
    pub why_original: String,
    /// Whether the original arrived after a copy of it (and so joined the story that copy founded).
    pub original_arrived_late: bool,
    /// Every other member, in the story's order.
    pub copies: Vec<CopyExplained>,
}

/// One copy and how it relates to the original.
#[derive(Debug, Clone)]
pub(crate) struct CopyExplained {
    /// The copy.
    pub member: MemberView,
    /// A sentence: "'Tempest Ingrid …' (Daily Buzz) is a rewrite of the original, …, similarity 0.79".
    pub sentence: String,
    /// The layer that tied it to the story, and its score.
    pub layer: Layer,
    /// The score of that match (1.0 for exact layers).
    pub score: f64,
}

/// Why a story is in each of its sections, one line per section: "business: category 'Business' on
/// 'Title' (Harbor Wire); subsection crypto".
pub(crate) fn section_lines(story: &StoryView) -> Vec<String> {
    let source_of = |item: Option<i64>| {
        item.and_then(|id| story.members.iter().find(|m| m.item_id == id))
            .map(|m| format!(" on {}", named(m, 50)))
            .unwrap_or_default()
    };
    story
        .routes
        .iter()
        .map(|r| {
            let reasons: Vec<String> = r
                .reasons
                .iter()
                .map(|x| match x.why {
                    crate::route::Why::Source => format!("its source {} lists it", x.what),
                    crate::route::Why::Category => {
                        format!("category '{}'{}", x.what, source_of(x.item))
                    }
                    crate::route::Why::Keyword => {
                        format!("keyword '{}'{}", x.what, source_of(x.item))
                    }
                    crate::route::Why::Child => format!("it is in subsection {}", x.what),
                })
                .collect();
            format!("{}: {}", r.section, reasons.join("; "))
        })
        .collect()
}

/// How a copy relates to the item it matched, as a verb phrase.
pub(crate) fn relation(layer: Layer) -> &'static str {
    match layer {
        Layer::SameUrl => "links to the same page as",
        Layer::SameText => "has the same title and summary as",
        Layer::Similar => "is a rewrite of",
        Layer::New => "is unrelated to",
    }
}

/// A member as a sentence names it: `'Title' (Source)`, the title cut to `max` characters.
pub(crate) fn named(m: &MemberView, max: usize) -> String {
    format!("'{}' ({})", short(&display_title(m), max), m.source_name)
}

/// The member's title, or the start of its summary when it has none.
pub(crate) fn display_title(m: &MemberView) -> String {
    if !m.title.trim().is_empty() {
        return m.title.trim().to_string();
    }
    let words: Vec<&str> = m.summary.split_whitespace().take(12).collect();
    if words.is_empty() {
        "(untitled)".into()
    } else {
        format!("{} …", words.join(" "))
    }
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(2)).collect();
    // At a word boundary when there is one, so no word is left half-written.
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{} …", cut.trim_end())
}

fn score_note(layer: Layer, score: f64) -> String {
    match layer {
        Layer::Similar => format!(", similarity {score:.2}"),
        _ => String::new(),
    }
}

/// The demo's line for an item that joined a story, by role: the copy is "a rewrite of" the original,
/// whichever arrived first.
pub(crate) fn join_line(
    joined: &MemberView,
    matched: &MemberView,
    layer: Layer,
    score: f64,
    joined_is_original: bool,
) -> String {
    if joined_is_original {
        format!(
            "joined: {} is the original; {}, which arrived first, {} it{}",
            named(joined, 60),
            named(matched, 60),
            relation(layer),
            score_note(layer, score)
        )
    } else {
        format!(
            "joined: {} {} {}{}",
            named(joined, 60),
            relation(layer),
            named(matched, 60),
            score_note(layer, score)
        )
    }
}

/// The best candidate of a decision that lies in `story_id`: the member the item was matched with.
fn matched_in(row: &DecisionRow, story_id: i64) -> Option<CandidateNote> {
    let candidates: Vec<CandidateNote> = serde_json::from_str(&row.candidates).unwrap_or_default();
    candidates.into_iter().find(|c| c.story_id == story_id)
}

/// Explains story `story_id`, or None when there is no such story.
pub(crate) fn explain_story(
    store: &Store,
    story_id: i64,
) -> anyhow::Result<Option<StoryExplained>> {
    let Some(story) = store.story(story_id)? else {
        return Ok(None);
    };
    let decisions = store.story_decisions(story_id)?;
    let priorities: HashMap<i64, i32> = store
        .sources()?
        .into_iter()
        .map(|s| (s.id, s.priority))
        .collect();
    Ok(Some(explain(story, &decisions, &priorities)))
}

/// Explains `story` from its members' `decisions` and their sources' `priorities`.
pub(crate) fn explain(
    story: StoryView,
    decisions: &[DecisionRow],
    priorities: &HashMap<i64, i32>,
) -> StoryExplained {
    let rep = story.representative().clone();
    let by_item: HashMap<i64, &DecisionRow> =
        decisions.iter().map(|d| (d.member.item_id, d)).collect();
    let member = |id: i64| story.members.iter().find(|m| m.item_id == id);
    let mut copies = Vec::new();
    for m in &story.members[1..] {
        let own = by_item.get(&m.item_id).copied();
        let joined_by = own
            .filter(|d| d.layer != Layer::New)
            .and_then(|d| Some((d, matched_in(d, story.id)?)));
        let (layer, score, sentence) = match joined_by {
            Some((d, c)) => {
                let target = match member(c.item_id) {
                    Some(t) if t.item_id == rep.item_id => {
                        format!("the original, {}", named(t, 80))
                    }
                    Some(t) => format!("{}, another copy in this story", named(t, 80)),
                    None => "an item since pruned".to_string(),
                };
                (
                    d.layer,
                    d.score,
                    format!(
                        "{} {} {target}{}",
                        named(m, 80),
                        relation(d.layer),
                        score_note(d.layer, d.score)
                    ),
                )
            }
            None => founder_sentence(m, &story, decisions, &rep),
        };
        copies.push(CopyExplained {
            member: m.clone(),
            sentence,
            layer,
            score,
        });
    }
    let original_arrived_late = story.members[1..].iter().any(|m| m.item_id < rep.item_id);
    StoryExplained {
        why_original: why_original(&story, priorities),
        original_arrived_late,
        story,
        copies,
    }
}

/// A copy that founded the story (it arrived first): the member that later matched it says how they relate.
fn founder_sentence(
    founder: &MemberView,
    story: &StoryView,
    decisions: &[DecisionRow],
    rep: &MemberView,
) -> (Layer, f64, String) {
    let matcher = decisions.iter().find(|d| {
        d.layer != Layer::New
            && matched_in(d, story.id).is_some_and(|c| c.item_id == founder.item_id)
    });
    match matcher {
        Some(d) => {
            let who = if d.member.item_id == rep.item_id {
                format!("the original, {}", named(rep, 80))
            } else {
                format!("{}, another copy in this story", named(&d.member, 80))
            };
            (
                d.layer,
                d.score,
                format!(
                    "{} {} {who}{}; it arrived first and founded the story, and the other joined it",
                    named(founder, 80),
                    relation(d.layer),
                    score_note(d.layer, d.score)
                ),
            )
        }
        None => (
            Layer::New,
            0.0,
            format!(
                "{} arrived first; no stored decision names the match (it may have been pruned)",
                named(founder, 80)
            ),
        ),
    }
}

/// Why the representative is the original: the rule is highest source priority, then the source's record
/// as the origin of shared stories, then earliest published.
fn why_original(story: &StoryView, priorities: &HashMap<i64, i32>) -> String {
    let rep = story.representative();
    if story.members.len() == 1 {
        return "it is the only copy".into();
    }
    let priority = |m: &MemberView| priorities.get(&m.source_id).copied().unwrap_or(0);
    let best_other = story.members[1..].iter().map(priority).max().unwrap_or(0);
    if priority(rep) > best_other {
        format!(
            "its source has the highest priority ({} against {best_other})",
            priority(rep)
        )
    } else if story.members[1..]
        .iter()
        .any(|m| priority(m) == priority(rep) && m.published < rep.published)
    {
        // Only the sources' records (see the store's `OriginalCandidate`) put a later member first.
        "its source is usually the original of the stories it shares, and the copy dated earlier comes \
         from a source whose items are usually copies"
            .into()
    } else {
        format!(
            "it was published first, at {}, among the copies from sources of the highest priority",
            timefmt::human(rep.published)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(item_id: i64, source: &str, title: &str, layer: Layer, score: f64) -> MemberView {
        MemberView {
            item_id,
            source_id: item_id,
            source_name: source.into(),
            source_url: format!("http://{source}.example/feed"),
            site_url: None,
            guid: format!("g{item_id}"),
            url: Some(format!("https://{source}.example/{item_id}")),
            title: title.into(),
            summary: String::new(),
            content_html: String::new(),
            author: None,
            authors: Vec::new(),
            published: 1_795_941_000 + item_id,
            layer,
            score,
            canonical_url: None,
            first_seen: 1_795_941_000 + item_id,
            item_updated: 1_795_941_000 + item_id,
        }
    }

    fn decision(m: &MemberView, matched: Option<i64>) -> DecisionRow {
        let candidates = match matched {
            Some(id) => format!(
                r#"[{{"item_id":{id},"story_id":1,"score":{s},"title_score":{s},"full_score":{s}}}]"#,
                s = m.score
            ),
            None => "[]".into(),
        };
        DecisionRow {
            member: m.clone(),
            story_id: 1,
            story_guid: "urn:uuid:x".into(),
            layer: m.layer,
            score: m.score,
            reason: String::new(),
            candidates,
            decided_at: 0,
        }
    }

    #[test]
    fn a_spun_copy_that_arrived_first_still_reads_as_the_copy() {
        // Item 1, the spin, founded the story; item 2, the original, joined it and became representative.
        let spin = member(
            1,
            "Daily Buzz",
            "Tempest Ingrid compels closing",
            Layer::New,
            0.0,
        );
        let original = member(
            2,
            "Harbor Wire",
            "Storm Ingrid forces closure",
            Layer::Similar,
            0.79,
        );
        let story = StoryView {
            id: 1,
            guid: "urn:uuid:x".into(),
            published: original.published,
            updated: 0,
            first_seen: 0,
            sections: vec!["local".into()],
            routes: vec![],
            members: vec![original.clone(), spin.clone()],
        };
        let decisions = [decision(&spin, None), decision(&original, Some(1))];
        let priorities = HashMap::from([(1, -5), (2, 10)]);
        let e = explain(story, &decisions, &priorities);
        assert!(e.original_arrived_late);
        assert_eq!(
            e.why_original,
            "its source has the highest priority (10 against -5)"
        );
        assert_eq!(
            e.copies[0].sentence,
            "'Tempest Ingrid compels closing' (Daily Buzz) is a rewrite of the original, \
             'Storm Ingrid forces closure' (Harbor Wire), similarity 0.79; it arrived first and \
             founded the story, and the other joined it"
        );
        assert_eq!(
            join_line(&original, &spin, Layer::Similar, 0.79, true),
            "joined: 'Storm Ingrid forces closure' (Harbor Wire) is the original; 'Tempest Ingrid \
             compels closing' (Daily Buzz), which arrived first, is a rewrite of it, similarity 0.79"
        );
    }

    #[test]
    fn a_copy_that_joined_names_what_it_matched() {
        let original = member(1, "Harbor Wire", "Tram line approved", Layer::New, 0.0);
        let repost = member(2, "Metro Digest", "Tram line approved", Layer::SameUrl, 1.0);
        let story = StoryView {
            id: 1,
            guid: "urn:uuid:x".into(),
            published: original.published,
            updated: 0,
            first_seen: 0,
            sections: vec![],
            routes: vec![],
            members: vec![original.clone(), repost.clone()],
        };
        let decisions = [decision(&repost, Some(1))];
        let e = explain(story, &decisions, &HashMap::new());
        assert!(!e.original_arrived_late);
        assert!(
            e.why_original.starts_with("it was published first"),
            "{}",
            e.why_original
        );
        assert_eq!(
            e.copies[0].sentence,
            "'Tram line approved' (Metro Digest) links to the same page as the original, \
             'Tram line approved' (Harbor Wire)"
        );
        assert_eq!(
            join_line(&repost, &original, Layer::SameUrl, 1.0, false),
            "joined: 'Tram line approved' (Metro Digest) links to the same page as 'Tram line approved' (Harbor Wire)"
        );
    }
}
