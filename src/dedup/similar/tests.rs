//! Behaviour of the whole matcher: spun copies join, different stories stay apart, no chaining,
//! determinism, rebuilds, learning and eviction.

use super::*;

/// Unrelated background items, so IDF statistics look like a real window.
const FILLER: &[(&str, &str)] = &[
    (
        "Central bank holds interest rates as inflation eases",
        "The central bank kept its benchmark rate unchanged on Thursday, saying price growth had slowed but wages were still rising quickly.",
    ),
    (
        "Storm batters coast, cutting power to thousands",
        "High winds and heavy rain swept the northern coast overnight, felling trees and leaving thousands of homes without electricity.",
    ),
    (
        "Tech giant unveils new phone with longer battery life",
        "The company showed its latest handset at an event in California, promising a faster chip and a battery that lasts two days.",
    ),
    (
        "Champions win derby with late goal",
        "A header in stoppage time gave the champions a 2-1 victory over their city rivals and moved them three points clear at the top.",
    ),
    (
        "Net zero target at risk, climate advisers warn",
        "The government's climate advisers said the country is off track for its net zero goal because heat pump and insulation schemes have stalled.",
    ),
];

/// A matcher holding the filler plus `stories` (each its own story, source 1).
fn window(stories: &[(&str, &str)]) -> (Matcher, i64) {
    window_with(Params::default(), stories)
}

/// Story the copy joins when decided from another source, if any.
fn joins(m: &Matcher, copy: (&str, &str)) -> Option<i64> {
    let f = m.features(copy.0, copy.1);
    m.decide(2, 2_000, &f).story_id
}

const UKRAINE: (&str, &str) = (
    "Ukraine ready to meet Russia but only if ceasefire agreed",
    "Ukraine's president says he is ready to meet the Russian leader for talks, but only if a ceasefire is agreed first, officials in Kyiv said after a night of drone attacks.",
);
const UKRAINE_SPUN: (&str, &str) = (
    "Ukraine prepared to satisfy Russia however provided that ceasefire agreed",
    "Ukraine's president says he is prepared to satisfy the Russian leader for negotiations, however provided that a ceasefire is agreed first, officials in Kyiv said after a dark of drone onslaughts.",
);

#[test]
fn spun_copy_joins_its_original() {
    let (m, last) = window(&[UKRAINE]);
    assert_eq!(joins(&m, UKRAINE_SPUN), Some(last));
    // Headline tickers carry the spun title alone.
    assert_eq!(joins(&m, (UKRAINE_SPUN.0, "")), Some(last));
}

#[test]
fn spun_live_blog_and_net_zero_copies_join() {
    let live = (
        "Ukraine war live: talks stall as winter bites",
        "Follow our live coverage as negotiators break up without agreement and the army got off to a rough start in the new offensive near the front.",
    );
    let live_spun = (
        "Ukraine warfare dwell: negotiations stall as wintertime bites",
        "Follow our dwell reportage as negotiators break up without understanding and the army obtained off to a tough begin in the new offensive near the front.",
    );
    let (m, last) = window(&[live]);
    assert_eq!(joins(&m, live_spun), Some(last));

    // FILLER[4] is "Net zero target at risk, climate advisers warn".
    let nz_spun = (
        "Internet zero mark at peril, clime advisers warn",
        "The government's climate advisers said the state is off track for its internet zero end because heat pump and insulating schemes have stalled.",
    );
    let (m, _) = window(&[]);
    assert_eq!(joins(&m, nz_spun), Some(5));
}

#[test]
fn different_stories_on_one_subject_stay_apart() {
    let a = (
        "Zelenskyy says Ukraine ready for 30-day ceasefire if Russia agrees",
        "Ukrainian President Volodymyr Zelenskyy said Kyiv would accept a 30-day ceasefire proposed by the United States if Moscow also agreed, after talks in Jeddah.",
    );
    let b = (
        "Zelenskyy accuses Russia of stalling ceasefire with new demands",
        "Volodymyr Zelenskyy accused the Kremlin of deliberately dragging out ceasefire talks by adding conditions, as Russian forces pressed attacks in the Kursk region.",
    );
    let (m, _) = window(&[a]);
    assert_eq!(joins(&m, b), None);
    let (m, _) = window(&[UKRAINE]);
    assert_eq!(joins(&m, a), None);

    let day1 = (
        "Ukraine war live: Russian drones hit Kyiv power grid",
        "Follow live updates as Russian drones strike energy infrastructure in Kyiv overnight, leaving thousands without electricity; Zelenskyy calls for more air defence.",
    );
    let day2 = (
        "Ukraine war live: Zelenskyy meets European leaders in Berlin",
        "Follow live updates as Volodymyr Zelenskyy holds talks with European leaders in Berlin on security guarantees, while Russian strikes continue in the east.",
    );
    let (m, _) = window(&[day1]);
    assert_eq!(joins(&m, day2), None);
    assert_eq!(joins(&m, ("Ukraine war live", "")), None);
}

#[test]
fn short_titles_never_match_alone() {
    let (m, _) = window(&[("Ukraine war live", "Follow live updates from Kyiv.")]);
    let f = m.features("Ukraine warfare dwell", "");
    assert!(f.title_words() < 4);
    assert_eq!(m.decide(2, 2_000, &f).story_id, None);
}

#[test]
fn a_cut_summary_still_matches() {
    let (m, last) = window(&[UKRAINE]);
    let cut = (
        "Ukraine prepared to satisfy Russia however provided that ceasefire agreed - Daily Trend Hub",
        "Ukraine's president says he is prepared to satisfy the Russian leader for negotiations\u{2026}",
    );
    assert_eq!(joins(&m, cut), Some(last));
}

#[test]
fn never_joins_a_story_with_the_same_source() {
    let (m, last) = window(&[UKRAINE]);
    let f = m.features(UKRAINE_SPUN.0, UKRAINE_SPUN.1);
    let d = m.decide(1, 2_000, &f);
    assert_eq!(d.story_id, None);
    assert!(d.reason.contains("same source") || d.reason.contains("this source"));
    assert_eq!(d.candidates[0].item_id, last);
}

#[test]
fn no_chaining_through_one_member() {
    // Story: original + a close copy. A text that matches only a rewritten half of the
    // copy must not be pulled in through it.
    let (mut m, last) = window(&[UKRAINE]);
    let f = m.features(UKRAINE_SPUN.0, UKRAINE_SPUN.1);
    assert_eq!(m.decide(2, 2_000, &f).story_id, Some(last));
    m.insert(100, last, 2, 2_000, f);
    let drift = (
        "Ukraine prepared to satisfy Russia however provided that ceasefire agreed",
        "Officials in Brussels said on Friday that European ministers will discuss new sanctions on oil exports and the frozen assets of the central bank next week.",
    );
    let f = m.features(drift.0, drift.1);
    assert_eq!(m.decide(3, 2_100, &f).story_id, None);
}

#[test]
fn decisions_are_deterministic_and_eviction_forgets() {
    let build = || window(&[UKRAINE]).0;
    let (a, b) = (build(), build());
    let f = a.features(UKRAINE_SPUN.0, UKRAINE_SPUN.1);
    let (da, db) = (a.decide(2, 2_000, &f), b.decide(2, 2_000, &f));
    assert_eq!(da.story_id, db.story_id);
    assert_eq!(da.reason, db.reason);
    assert_eq!(da.score, db.score);
    let mut m = build();
    assert_eq!(m.len(), FILLER.len() + 1);
    m.evict_before(1_000 + FILLER.len() as i64 + 1);
    assert_eq!(m.len(), 1);
    m.evict_before(i64::MAX);
    assert!(m.is_empty());
    assert_eq!(m.decide(2, 2_000, &f).story_id, None);
}

#[test]
fn a_rebuilt_window_decides_like_the_running_one() {
    // The daemon rebuilds its matcher after a restart by re-inserting the live items in
    // order; it must then decide exactly as the matcher that ran all along.
    let params = Params {
        window_secs: 3 * 3600,
        ..Params::default()
    };
    let texts: Vec<(&str, &str)> = FILLER.iter().copied().chain([UKRAINE]).collect();
    let mut running = Matcher::new(params.clone());
    let mut log = Vec::new();
    for k in 0..60i64 {
        let (t, s) = texts[k as usize % texts.len()];
        let published = k * 600;
        let f = running.features(t, s);
        running.evict_before(published - params.window_secs);
        let story = running
            .decide(k % 7, published, &f)
            .story_id
            .unwrap_or(1000 + k);
        running.insert(k, story, k % 7, published, f.clone());
        log.push((k, story, k % 7, published, f));
    }
    let cutoff = 59 * 600 - params.window_secs;
    let mut rebuilt = Matcher::new(params.clone());
    for (k, story, src, published, f) in log.iter().filter(|x| x.3 >= cutoff) {
        rebuilt.insert(*k, *story, *src, *published, f.clone());
    }
    assert_eq!(rebuilt.len(), running.len());
    for (t, s) in [UKRAINE_SPUN, FILLER[0], ("Storm batters coast", "")] {
        let f = running.features(t, s);
        let (a, b) = (
            running.decide(9, 60 * 600, &f),
            rebuilt.decide(9, 60 * 600, &f),
        );
        assert_eq!(a.story_id, b.story_id);
        assert_eq!(a.score.to_bits(), b.score.to_bits());
        assert_eq!(a.reason, b.reason);
    }
}

#[test]
fn learns_a_farms_substitutions_and_forgets_them_on_eviction() {
    // A farm keeps writing "revenue" for "income", which WordNet does not relate.
    let stories = [
        (
            "Retailer reports record income as holiday sales surge",
            "The retailer said quarterly income climbed to a record as shoppers spent heavily over the holidays, beating analyst forecasts.",
        ),
        (
            "Airline income falls as fuel costs soar",
            "The airline said its income fell sharply in the second quarter because jet fuel prices rose and fewer business travellers flew.",
        ),
        (
            "Chipmaker doubles income on strong demand",
            "The chipmaker said income doubled in the latest quarter thanks to strong demand for processors used in data centres and phones.",
        ),
    ];
    let lex = Lexicon::shipped();
    let (inc, rev) = (lex.id("income").unwrap(), lex.id("revenue").unwrap());
    assert!(!lex.related_ids(inc, rev));
    let (mut m, _) = window(&[]);
    let a = m.features("Income at the bakery chain rises", "");
    let b = m.features("Revenue at the bakery chain rises", "");
    let before = m.compare(&a, &b).score;
    for (k, (t, s)) in stories.iter().enumerate() {
        let id = 100 + 2 * k as i64;
        let f = m.features(t, s);
        m.insert(id, id, 1, 3_000 + id, f);
        let spun = (
            t.replace("income", "revenue"),
            s.replace("income", "revenue"),
        );
        let f = m.features(&spun.0, &spun.1);
        assert_eq!(m.decide(2, 3_000 + id, &f).story_id, Some(id));
        m.insert(id + 1, id, 2, 3_001 + id, f);
    }
    assert!(m.learned_substitutions().1 >= 1);
    assert!(m.compare(&a, &b).score > before);
    m.evict_before(3_103);
    assert_eq!(m.learned_substitutions().1, 0);
}

#[test]
fn empty_window_and_empty_text_are_safe() {
    let m = Matcher::new(Params::default());
    let f = m.features("", "");
    assert!(f.is_empty());
    assert_eq!(m.decide(1, 0, &f).story_id, None);
    let d = m.decide(1, 0, &m.features(UKRAINE.0, UKRAINE.1));
    assert_eq!(d.story_id, None);
    assert!(d.candidates.is_empty());
}

#[test]
fn one_shared_number_does_not_make_a_candidate_of_a_template_item() {
    // A template-like feed: every item recombines the same 300 words around a number.
    let lex = Lexicon::shipped();
    let words: Vec<&str> = lex
        .lemma_ids()
        .map(|id| lex.word(id))
        .filter(|w| w.len() > 3 && w.bytes().all(|b| b.is_ascii_lowercase()))
        .step_by(97)
        .take(300)
        .collect();
    let mut x: u64 = 7;
    let mut text = |n: usize| -> String {
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                words[(x >> 33) as usize % words.len()]
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let items: Vec<(String, String)> = (0..3_000)
        .map(|id| (format!("{} {}", text(8), 100 + id % 500), text(40)))
        .collect();
    let probe = (format!("{} 120", text(8)), text(40));
    let verified = |params: Params| {
        let mut m = Matcher::new(params);
        for (id, (t, s)) in (1..).zip(&items) {
            let f = m.features(t, s);
            m.insert(id, id, id, 1_000, f);
        }
        let d = m.decide(9_999, 1_000, &m.features(&probe.0, &probe.1));
        assert_eq!(d.story_id, None);
        d.verified
    };
    // It shares a number with 6 items and its words with hundreds: not worth verifying anything.
    assert_eq!(verified(Params::default()), 0);
    // Under the floor for title-only items, the number alone would have made candidates.
    let loose = Params {
        min_votes_full: Params::default().min_votes,
        ..Params::default()
    };
    assert!(verified(loose) > 0);
}

/// Written the way a spinner with a thesaurus no lexicon knows works: unrelated substitutes, and
/// the names, numbers, function words and skipped words left in place.
const HARBOUR: (&str, &str) = (
    "Harbour authority delays vote on new container terminal",
    "The Port of Lisbon authority said on Tuesday it would delay a vote on the 400 million euro \
     container terminal until March, after fishermen and residents of the Alcantara district \
     protested against the plan.",
);
const HARBOUR_BLIND: (&str, &str) = (
    "Harbour pilgrimage delays vote on new sandwich terminal",
    "The Port of Lisbon mattress said on Tuesday it would harvest a ribbon on the 400 million euro \
     pencil cathedral until March, after violinists and tenants of the Alcantara meadow \
     whistled against the blanket.",
);
/// The next story about the same terminal: the same names and much of the vocabulary, other words
/// in other places.
const HARBOUR_NEXT: (&str, &str) = (
    "Lisbon approves container terminal after harbour vote",
    "Lisbon's port authority approved the 400 million euro container terminal on Friday by seven \
     votes to two, ending months of protests by fishermen and residents in the Alcantara district.",
);

/// A matcher whose shape rule (see `kept`) never fires.
fn without_shapes() -> Params {
    Params {
        kept_full: 2.0,
        kept_title: 2.0,
        ..Params::default()
    }
}

/// [`window`] with other parameters.
fn window_with(params: Params, stories: &[(&str, &str)]) -> (Matcher, i64) {
    let mut m = Matcher::new(params);
    let mut id = 0;
    for (t, s) in FILLER.iter().chain(stories) {
        id += 1;
        let f = m.features(t, s);
        m.insert(id, id, 1, 1_000 + id, f);
    }
    (m, id)
}

#[test]
fn a_blind_spin_joins_by_what_it_kept_in_place() {
    // The words alone do not make it a copy: its substitutes are no synonyms.
    let (m, _) = window_with(without_shapes(), &[HARBOUR]);
    assert_eq!(joins(&m, HARBOUR_BLIND), None);
    let (m, last) = window(&[HARBOUR]);
    let f = m.features(HARBOUR_BLIND.0, HARBOUR_BLIND.1);
    let d = m.decide(2, 2_000, &f);
    assert_eq!(d.story_id, Some(last), "{}", d.reason);
    assert!(d.reason.contains("kept in place"), "{}", d.reason);
}

#[test]
fn a_blind_spun_headline_joins_only_at_the_same_length() {
    let title = |t: &'static str| (t, "");
    let original =
        title("Harbour authority in Lisbon delays the vote on its new container terminal");
    let spun = title("Harbour pilgrimage in Lisbon delays the ribbon on its new sandwich terminal");
    let (m, _) = window_with(without_shapes(), &[original]);
    assert_eq!(joins(&m, spun), None);
    let (m, last) = window(&[original]);
    assert_eq!(joins(&m, spun), Some(last));
    // One word more, and the words kept in place no longer say it is the same headline.
    assert_eq!(
        joins(
            &m,
            title(
                "Harbour pilgrimage in Lisbon delays the ribbon on its new sandwich terminal plan"
            )
        ),
        None
    );
}

#[test]
fn a_headline_with_other_numbers_is_no_spin_by_shape() {
    let (m, _) = window(&[]);
    let f = |t: &str| m.features(t, "");
    let original =
        f("Harbour authority in Lisbon delays the vote on its 2 new terminals for a year");
    let same = m.compare(
        &original,
        &f("Lantern pilgrimage in Lisbon noodles the ribbon on its 2 new cathedrals for a year"),
    );
    assert!(same.kept >= 0.6, "{same:?}");
    // A spinner keeps numbers: the same shape with another number is another story.
    let other = m.compare(
        &original,
        &f("Lantern pilgrimage in Lisbon noodles the ribbon on its 3 new cathedrals for a year"),
    );
    assert_eq!(other.kept, 0.0, "{other:?}");
    assert!(other.score < same.score, "{other:?} {same:?}");
}

#[test]
fn a_follow_up_with_the_same_names_stays_apart() {
    let (m, _) = window(&[HARBOUR]);
    assert_eq!(joins(&m, HARBOUR_NEXT), None);
    let (m, _) = window(&[HARBOUR_BLIND]);
    assert_eq!(joins(&m, HARBOUR_NEXT), None);
}

#[test]
fn the_lead_a_new_item_must_match_is_the_original_whatever_came_first() {
    let mut m = Matcher::new(Params::default());
    let f = |m: &Matcher, x: (&str, &str)| m.features(x.0, x.1);
    // The farm's copy arrives first, and claims an earlier time; the wire's original joins it.
    let copy = f(&m, HARBOUR_BLIND);
    m.insert_ranked(1, 7, 21, 0, 900, copy);
    let original = f(&m, HARBOUR);
    m.insert_ranked(2, 7, 20, 10, 1_000, original);
    let lead = |m: &Matcher| m.live_members(7).first().map(|e| e.item_id);
    assert_eq!(lead(&m), Some(2), "priority first");
    // At equal priority the earliest published leads, not the first stored.
    let mut m = Matcher::new(Params::default());
    let a = f(&m, HARBOUR);
    m.insert_ranked(1, 7, 21, 0, 1_000, a);
    let b = f(&m, HARBOUR_BLIND);
    m.insert_ranked(2, 7, 20, 0, 900, b);
    assert_eq!(lead(&m), Some(2));
}

/// A second spin of [`HARBOUR`], through a thesaurus a lexicon knows.
const HARBOUR_SPUN: (&str, &str) = (
    "Harbour authority postpones ballot on new container terminal",
    "The Port of Lisbon authority said on Tuesday it would postpone a ballot on the 400 million euro \
     container terminal until March, after fishermen and residents of the Alcantara district \
     objected against the proposal.",
);

/// One item of an arrival-order test: id, source, publication time, title and summary.
type Arrival<'a> = (i64, i64, i64, (&'a str, &'a str));

/// Stories as sorted sets of item ids.
type Partition = Vec<Vec<i64>>;

/// The harbour story (a wire, two copies from one farm, a follow-up) and the Ukraine one with a copy, for
/// the arrival-order tests.
const ARRIVALS: [Arrival<'static>; 6] = [
    (10, 20, 1_000, HARBOUR),
    (11, 21, 1_100, HARBOUR_BLIND),
    (12, 21, 1_200, HARBOUR_SPUN),
    (13, 22, 1_300, HARBOUR_NEXT),
    (14, 20, 1_050, UKRAINE),
    (15, 23, 1_150, UKRAINE_SPUN),
];

/// Places `items` online in `order` (decide, then insert, as the pipeline does), settles the window, and
/// returns the partition (sorted sets of item ids) before and after settling.
fn online_then_settled(items: &[Arrival], order: &[usize]) -> (Partition, Partition) {
    arrived_then_settled(items, order, false).0
}

/// [`online_then_settled`], or with `defer` each item left undecided in a story of its own, as a backlog
/// is; also returns what the settle did.
fn arrived_then_settled(
    items: &[Arrival],
    order: &[usize],
    defer: bool,
) -> ((Partition, Partition), Settled) {
    arrived_then_settled_with(Params::default(), items, order, defer)
}

/// [`arrived_then_settled`] with these parameters.
fn arrived_then_settled_with(
    params: Params,
    items: &[Arrival],
    order: &[usize],
    defer: bool,
) -> ((Partition, Partition), Settled) {
    let mut m = Matcher::new(params);
    let mut next_story = 100;
    for (k, (t, s)) in FILLER.iter().enumerate() {
        let f = m.features(t, s);
        let id = k as i64 + 1;
        m.insert(id, id, 1, 500 + id, f);
    }
    for &k in order {
        let (id, source, published, (t, s)) = items[k];
        let f = m.features(t, s);
        let decided = if defer {
            None
        } else {
            m.decide(source, published, &f).story_id
        };
        let story = decided.unwrap_or_else(|| {
            next_story += 1;
            next_story
        });
        let placed = Placed {
            item_id: id,
            story_id: story,
            source_id: source,
            priority: 0,
            published,
            order_key: crate::dedup::order_key(source as u64, &format!("item-{id}")),
            pinned_to: 0,
        };
        if defer {
            m.defer_placed(placed, f);
        } else {
            m.insert_placed(placed, f);
        }
    }
    let partition = |m: &Matcher| -> Vec<Vec<i64>> {
        let mut stories: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
        for e in m.entries.iter().flatten().filter(|e| e.item_id >= 10) {
            stories.entry(e.story_id).or_default().push(e.item_id);
        }
        let mut p: Vec<Vec<i64>> = stories.into_values().collect();
        p.iter_mut().for_each(|s| s.sort_unstable());
        p.sort();
        p
    };
    let online = partition(&m);
    let earliest = items.iter().map(|i| i.2).min().expect("items");
    let settled = m.settle((earliest, 0), || {
        next_story += 1;
        next_story
    });
    assert_eq!(settled.decided, items.len(), "every item is decided again");
    assert_eq!(
        m.len(),
        FILLER.len() + items.len(),
        "every item is in the window"
    );
    ((online, partition(&m)), settled)
}

#[test]
fn settling_gives_one_partition_whatever_the_arrival_order() {
    // Two copies of the harbour story from one farm (source 21): online, whichever arrives first joins
    // the wire's story and the same-source rule keeps the other out; settled, the earlier copy does.
    let items = ARRIVALS;
    let orders: [[usize; 6]; 5] = [
        [0, 1, 2, 3, 4, 5],
        [2, 1, 0, 5, 4, 3],
        [3, 2, 1, 0, 5, 4],
        [1, 2, 3, 5, 0, 4],
        [5, 3, 0, 4, 2, 1],
    ];
    let runs: Vec<_> = orders
        .iter()
        .map(|o| online_then_settled(&items, o))
        .collect();
    let online: std::collections::BTreeSet<&Vec<Vec<i64>>> = runs.iter().map(|r| &r.0).collect();
    assert!(
        online.len() > 1,
        "arrival order should matter online: {online:?}"
    );
    for (o, (_, settled)) in orders.iter().zip(&runs) {
        assert_eq!(settled, &runs[0].1, "order {o:?}");
    }
    // The canonical answer: the earlier farm copy joins the wire's story, the follow-up stays apart.
    assert_eq!(
        runs[0].1,
        vec![vec![10, 11], vec![12], vec![13], vec![14, 15]]
    );
}

#[test]
fn a_deferred_backlog_settles_to_the_partition_of_items_decided_on_arrival() {
    let items = ARRIVALS;
    let canonical = online_then_settled(&items, &[0, 1, 2, 3, 4, 5]).1;
    for order in [[0, 1, 2, 3, 4, 5], [5, 3, 0, 4, 2, 1], [2, 1, 0, 5, 4, 3]] {
        let ((online, settled), what) = arrived_then_settled(&items, &order, true);
        assert!(
            online.is_empty(),
            "a backlog waits outside the index: {online:?}"
        );
        assert_eq!(settled, canonical, "order {order:?}");
        // The two copies that join move; of the four that stay, the ones a candidate came close to keep
        // the decision that left them alone: the second farm copy and the follow-up, not the originals.
        let mut moved: Vec<i64> = what.moved.iter().map(|m| m.item_id).collect();
        moved.sort_unstable();
        assert_eq!(moved, vec![11, 15], "order {order:?}");
        let mut stayed: Vec<i64> = what.founded.iter().map(|f| f.0).collect();
        stayed.sort_unstable();
        assert_eq!(stayed, vec![12, 13], "order {order:?}");
    }
}

#[test]
fn features_read_back_from_the_spill_file_decide_as_features_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let spilling = Params {
        feature_memory: 0,
        spill_dir: Some(dir.path().to_path_buf()),
        ..Params::default()
    };
    for (order, defer) in [([0, 1, 2, 3, 4, 5], false), ([5, 3, 0, 4, 2, 1], true)] {
        let (kept, kept_did) = arrived_then_settled(&ARRIVALS, &order, defer);
        let (spilled, spilled_did) =
            arrived_then_settled_with(spilling.clone(), &ARRIVALS, &order, defer);
        assert_eq!(spilled, kept, "order {order:?}");
        assert_eq!(spilled_did.moved.len(), kept_did.moved.len());
        assert_eq!(spilled_did.founded.len(), kept_did.founded.len());
    }
    let (mut m, _) = window_with(spilling, &[UKRAINE, HARBOUR, HARBOUR_NEXT, HARBOUR_SPUN]);
    assert!(m.memory().spilled > 0, "the closed chunks went to the file");
    assert!(joins(&m, UKRAINE_SPUN).is_some());
    // Eviction reads every item's features back to withdraw its terms: nothing is left counted.
    m.evict_before(i64::MAX);
    assert!(m.is_empty());
    assert!(m.df.is_empty() && m.df_lex.iter().all(|&c| c == 0));
}
