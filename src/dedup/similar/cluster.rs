//! Clustering: whether a new item joins a story, under the no-chaining agreement rule and the
//! same-source rule.

use super::features::Features;
use super::score::{PairScore, Scratch};
use super::{Entry, Matcher};

/// One verified candidate.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The candidate item.
    pub item_id: i64,
    /// The story it belongs to.
    pub story_id: i64,
    /// Synonym-aware overlap of the two titles (0..1).
    pub title_score: f32,
    /// Synonym-aware overlap of title plus summary (0..1; the title score when either item is
    /// title-only).
    pub full_score: f32,
    /// Share of the shorter text's weight that is matched (0..1).
    pub coverage: f32,
    /// The combined score compared with the thresholds.
    pub score: f32,
}

/// The outcome of [`Matcher::decide`].
#[derive(Clone, Debug)]
pub struct Decision {
    /// Some(story) = join it; None = start a new story.
    pub story_id: Option<i64>,
    /// Score of the winning (or best rejected) candidate.
    pub score: f32,
    /// Operator-readable reason.
    pub reason: String,
    /// The best few candidates, best first.
    pub candidates: Vec<Candidate>,
    /// How many candidates were verified (a cost metric).
    pub verified: usize,
}

impl Matcher {
    /// Whether a pair scores above the threshold for its kind (title-only or with summaries).
    fn passes(&self, s: &PairScore) -> bool {
        let p = &self.params;
        s.comparable
            && s.score
                >= if s.title_only {
                    p.title_threshold
                } else {
                    p.full_threshold
                }
    }

    /// Decides whether a new item joins an existing story; deterministic for a given window.
    pub fn decide(&self, source_id: i64, published: i64, f: &Features) -> Decision {
        // Reuse this thread's buffers: allocating and growing them per decision showed up as a
        // tenth of the cost. Their contents never outlive one decision.
        thread_local! {
            static SCRATCH: std::cell::Cell<Option<Box<Scratch>>> = const { std::cell::Cell::new(None) };
        }
        let mut scratch = SCRATCH.with(|c| c.take()).unwrap_or_default();
        scratch.memo.clear();
        scratch.idf.clear();
        let d = self.decide_with(source_id, published, f, &mut scratch);
        SCRATCH.with(|c| c.set(Some(scratch)));
        d
    }

    fn decide_with(
        &self,
        source_id: i64,
        published: i64,
        f: &Features,
        scratch: &mut Scratch,
    ) -> Decision {
        let p = &self.params;
        let found: Vec<&Entry> = self
            .candidates(published, f, scratch)
            .into_iter()
            .filter_map(|k| self.entries[k].as_ref())
            .collect();
        // Most new items share no rare key with anything: they need no probe at all.
        if found.is_empty() {
            return Decision {
                story_id: None,
                score: 0.0,
                reason: "no candidate shares a word or concept in the window".to_string(),
                candidates: Vec::new(),
                verified: 0,
            };
        }
        let probe = self.probe(f);
        self.warm(found.iter().map(|e| &e.f));
        let mut scored: Vec<(PairScore, &Entry)> = found
            .into_iter()
            .map(|e| (self.score_pair(&probe, &e.f, scratch), e))
            .collect();
        scored.sort_by(|x, y| {
            y.0.score
                .total_cmp(&x.0.score)
                .then(x.1.item_id.cmp(&y.1.item_id))
        });
        let candidates: Vec<Candidate> = scored
            .iter()
            .take(5)
            .map(|(s, e)| Candidate {
                item_id: e.item_id,
                story_id: e.story_id,
                title_score: s.title,
                full_score: s.full,
                coverage: s.coverage,
                score: s.score,
            })
            .collect();
        let best_score = scored.first().map_or(0.0, |x| x.0.score);
        let mut reason = match scored.first() {
            None => "no candidate shares a word or concept in the window".to_string(),
            Some((s, e)) if !s.comparable => format!(
                "best candidate item {} not comparable: a title-only match needs {} content words",
                e.item_id, p.min_title_words
            ),
            Some((s, e)) => format!(
                "best candidate item {} scored {:.2} (title {:.2}, text {:.2}), below {:.2}",
                e.item_id,
                s.score,
                s.title,
                s.full,
                if s.title_only {
                    p.title_threshold
                } else {
                    p.full_threshold
                }
            ),
        };
        let mut tried: Vec<i64> = Vec::new();
        for (s, e) in &scored {
            if !self.passes(s) || tried.contains(&e.story_id) {
                continue;
            }
            tried.push(e.story_id);
            let members: Vec<&Entry> = self
                .stories
                .get(&e.story_id)
                .map(|m| m.iter().filter_map(|&q| self.entry(q)).collect())
                .unwrap_or_default();
            if members.iter().any(|m| m.source_id == source_id) {
                reason = format!(
                    "story {} matched item {} ({:.2}) but already has an item from this source",
                    e.story_id, e.item_id, s.score
                );
                continue;
            }
            // Agreement: the representative and a majority of the other comparable members
            // must also match, so one strong edge cannot pull an item into a story.
            let (mut agree, mut total, mut rep_ok) = (1, 1, true);
            for (k, m) in members
                .iter()
                .filter(|m| m.item_id != e.item_id)
                .take(p.max_members_checked)
                .enumerate()
            {
                // Members already verified as candidates are not scored twice.
                let ms = match scored.iter().find(|(_, c)| c.item_id == m.item_id) {
                    Some((known, _)) => *known,
                    None => self.score_pair(&probe, &m.f, scratch),
                };
                if !ms.comparable {
                    continue;
                }
                let ok = ms.score >= p.member_threshold;
                total += 1;
                agree += usize::from(ok);
                if k == 0 && !ok && members[0].item_id == m.item_id {
                    rep_ok = false;
                }
            }
            if !rep_ok || agree * 2 < total {
                reason = format!(
                    "story {} matched item {} ({:.2}) but only {} of {} members agree",
                    e.story_id, e.item_id, s.score, agree, total
                );
                continue;
            }
            return Decision {
                story_id: Some(e.story_id),
                score: s.score,
                reason: format!(
                    "title {:.2} and text {:.2} (coverage {:.2}) vs item {} ({} of {} story members agree)",
                    s.title, s.full, s.coverage, e.item_id, agree, total
                ),
                candidates,
                verified: scored.len(),
            };
        }
        Decision {
            story_id: None,
            score: best_score,
            reason,
            candidates,
            verified: scored.len(),
        }
    }
}
