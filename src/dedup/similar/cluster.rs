//! Clustering: whether a new item joins a story, under the no-chaining agreement rule and the
//! same-source rule.

use super::features::{FeatInner, Features};
use super::score::{PairScore, Probe, Scratch};
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

/// A verified candidate: its scores against the new item, and its window entry.
type Scored<'m> = (PairScore, &'m Entry);

/// The reason given when no item in the window shares a rare key with the new item.
const NO_CANDIDATE: &str = "no candidate shares a word or concept in the window";

/// How a story's members judged a new item that matched one of them (see
/// [`Matcher::agreement`]).
struct Agreement {
    /// Comparable members that match, the matched member included.
    agree: usize,
    /// Comparable members checked, the matched member included.
    total: usize,
    /// False when the representative was checked, comparable and did not match.
    rep_ok: bool,
}

impl Agreement {
    /// The representative and a majority of the comparable members match.
    fn holds(&self) -> bool {
        self.rep_ok && self.agree * 2 >= self.total
    }
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
        self.decide_inner(source_id, published, &f.0)
    }

    /// [`Matcher::decide`] on features as the window holds them.
    pub(super) fn decide_inner(&self, source_id: i64, published: i64, f: &FeatInner) -> Decision {
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

    /// The clustering rule. Candidates are verified and tried best first, one story each: the
    /// item joins the first story that passes the same-source rule and the agreement rule, and
    /// otherwise founds a story of its own.
    fn decide_with(
        &self,
        source_id: i64,
        published: i64,
        f: &FeatInner,
        scratch: &mut Scratch,
    ) -> Decision {
        let found = self.candidate_entries(published, f, scratch);
        // Most new items share no rare key with anything: they need no probe at all.
        if found.is_empty() {
            return Decision {
                story_id: None,
                score: 0.0,
                reason: NO_CANDIDATE.to_string(),
                candidates: Vec::new(),
                verified: 0,
            };
        }
        let probe = self.probe(f);
        let scored = self.verify(&probe, found, scratch);
        let candidates = best_candidates(&scored);
        let mut reason = self.no_match_reason(scored.first());
        let mut tried: Vec<i64> = Vec::new();
        for (s, e) in &scored {
            if !self.passes(s) || tried.contains(&e.story_id) {
                continue;
            }
            tried.push(e.story_id);
            let members = self.live_members(e.story_id);
            if has_source(&members, source_id) {
                reason = format!(
                    "story {} matched item {} ({:.2}) but already has an item from this source",
                    e.story_id, e.item_id, s.score
                );
                continue;
            }
            let a = self.agreement(&probe, e, &members, &scored, scratch);
            if !a.holds() {
                reason = format!(
                    "story {} matched item {} ({:.2}) but only {} of {} members agree",
                    e.story_id, e.item_id, s.score, a.agree, a.total
                );
                continue;
            }
            return Decision {
                story_id: Some(e.story_id),
                score: s.score,
                reason: format!(
                    "title {:.2} and text {:.2} (coverage {:.2}){} vs item {} ({} of {} story members agree)",
                    s.title,
                    s.full,
                    s.coverage,
                    kept_note(s),
                    e.item_id,
                    a.agree,
                    a.total
                ),
                candidates,
                verified: scored.len(),
            };
        }
        Decision {
            story_id: None,
            score: scored.first().map_or(0.0, |x| x.0.score),
            reason,
            candidates,
            verified: scored.len(),
        }
    }

    /// The window entries the index proposes for verification, most votes first.
    fn candidate_entries(
        &self,
        published: i64,
        f: &FeatInner,
        scratch: &mut Scratch,
    ) -> Vec<&Entry> {
        self.candidates(published, f, scratch)
            .into_iter()
            .filter_map(|k| self.entries[k].as_ref())
            .collect()
    }

    /// Scores the candidates against the probe, best first (ties: canonical order key).
    fn verify<'m>(
        &'m self,
        probe: &Probe,
        found: Vec<&'m Entry>,
        scratch: &mut Scratch,
    ) -> Vec<Scored<'m>> {
        let feats: Vec<FeatInner> = found.iter().map(|e| self.feat(e)).collect();
        self.warm(feats.iter());
        let mut scored: Vec<Scored<'m>> = found
            .into_iter()
            .zip(&feats)
            .map(|(e, f)| (self.score_pair(probe, f, scratch), e))
            .collect();
        scored.sort_by(|x, y| {
            y.0.score
                .total_cmp(&x.0.score)
                .then(x.1.order_key.cmp(&y.1.order_key))
        });
        scored
    }

    /// Why the best candidate does not join, before any story is tried.
    fn no_match_reason(&self, best: Option<&Scored>) -> String {
        let p = &self.params;
        match best {
            None => NO_CANDIDATE.to_string(),
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
        }
    }

    /// A story's live members, its lead first: the member from the highest-priority source, then the
    /// earliest published (then the canonical order key), much as the store picks the original it
    /// publishes. The order is a function of the members alone, never of the order they arrived in,
    /// so the agreement rule asks the same of a new item whichever copy happened to come first.
    pub(super) fn live_members(&self, story_id: i64) -> Vec<&Entry> {
        let mut members: Vec<&Entry> = self
            .stories
            .get(story_id)
            .iter()
            .filter_map(|&q| self.entry(q))
            .collect();
        members.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(a.published.cmp(&b.published))
                .then(a.order_key.cmp(&b.order_key))
        });
        members
    }

    /// The agreement (no-chaining) rule: besides `matched`, the story's lead and a majority of the
    /// other comparable members (up to `max_members_checked`, lead first) must also match, so one
    /// strong edge cannot pull an item into a story.
    fn agreement(
        &self,
        probe: &Probe,
        matched: &Entry,
        members: &[&Entry],
        scored: &[Scored],
        scratch: &mut Scratch,
    ) -> Agreement {
        let p = &self.params;
        let mut a = Agreement {
            agree: 1,
            total: 1,
            rep_ok: true,
        };
        for (k, m) in members
            .iter()
            .filter(|m| m.item_id != matched.item_id)
            .take(p.max_members_checked)
            .enumerate()
        {
            let ms = self.member_score(probe, m, scored, scratch);
            if !ms.comparable {
                continue;
            }
            let ok = ms.score >= p.member_threshold;
            a.total += 1;
            a.agree += usize::from(ok);
            if k == 0 && !ok && members[0].item_id == m.item_id {
                a.rep_ok = false;
            }
        }
        a
    }

    /// A member's score against the probe; members already verified as candidates are not
    /// scored twice.
    fn member_score(
        &self,
        probe: &Probe,
        m: &Entry,
        scored: &[Scored],
        scratch: &mut Scratch,
    ) -> PairScore {
        match scored.iter().find(|(_, c)| c.item_id == m.item_id) {
            Some((known, _)) => *known,
            None => self.score_pair(probe, &self.feat(m), scratch),
        }
    }
}

/// The same-source rule: a text match never joins a story that already has an item from the
/// new item's source (live blogs and daily digests look alike every day).
fn has_source(members: &[&Entry], source_id: i64) -> bool {
    members.iter().any(|m| m.source_id == source_id)
}

/// The shape evidence behind a match, when the words alone fell short: a spin through a
/// thesaurus we do not know.
fn kept_note(s: &PairScore) -> String {
    if s.kept > 0.0 {
        format!(", {:.0} % of its words kept in place", s.kept * 100.0)
    } else {
        String::new()
    }
}

/// The best few verified candidates, best first, as reported in a [`Decision`].
fn best_candidates(scored: &[Scored]) -> Vec<Candidate> {
    scored
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
        .collect()
}
