//! `wiredesk stories`: the current stories with every member item, as text or one JSON object per line.

use anyhow::Context;

use super::output::outln;
use crate::store::StoryView;
use crate::timefmt::{human, rfc3339};

/// Parses `48h`, `7d`, `90m`, `30s` into seconds.
pub(crate) fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .with_context(|| format!("`{s}` is not a duration; write e.g. 48h, 7d or 90m"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" | "" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => anyhow::bail!("`{s}` has an unknown unit `{unit}`; use s, m, h, d or w"),
    };
    Ok(n * mult)
}

/// Prints stories to stdout.
pub(crate) fn print_stories(stories: &[StoryView], json: bool) {
    for story in stories {
        let rep = story.representative();
        if json {
            let members: Vec<_> = story
                .members
                .iter()
                .map(|m| {
                    serde_json::json!({
                        // The link as the member published it, tracking parameters and all; the feeds
                        // credit the canonical one.
                        "url": m.url, "canonical_url": m.canonical_url, "guid": m.guid,
                        "source": m.source_name, "title": m.title,
                        "published": rfc3339(m.published), "score": m.score, "layer": m.layer.as_str(),
                    })
                })
                .collect();
            // Why the story is in each section: [{"section", "reasons": [{"why", "what", "item"}]}].
            let routes: Vec<_> = story
                .routes
                .iter()
                .map(|r| serde_json::json!({"section": r.section, "reasons": r.reasons}))
                .collect();
            let line = serde_json::json!({
                "id": story.guid, "sections": story.sections, "routes": routes, "title": rep.title, "url": rep.url,
                "published": rfc3339(story.published), "updated": rfc3339(story.changed_at()), "members": members,
            });
            outln!("{line}");
        } else {
            outln!(
                "{}  {}  [{}]",
                human(story.published),
                rep.title,
                story.sections.join(", ")
            );
            // Labelled by role: the representative is the original whichever copy arrived first.
            for m in &story.members {
                let role = if m.item_id == rep.item_id {
                    "original"
                } else if m.layer == crate::dedup::Layer::New {
                    "copy"
                } else {
                    m.layer.as_str()
                };
                outln!(
                    "    {:<10} {:.2}  {}  {}",
                    role,
                    m.score,
                    m.source_name,
                    m.url.as_deref().unwrap_or(&m.guid)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_bad_ones_are_explained() {
        assert_eq!(parse_duration("48h").unwrap(), 172_800);
        assert_eq!(parse_duration("7d").unwrap(), 604_800);
        assert_eq!(parse_duration("90m").unwrap(), 5_400);
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .to_string()
                .contains("not a duration")
        );
        assert!(
            parse_duration("3y")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
    }
}
