//! The status page's chart: polls per hour (ok, unchanged, failed, stacked) and new items per hour over
//! the last 24 hours, as inline SVG drawn on the server. Colours come from the page's style sheet, so the
//! chart follows the light or dark scheme; the same figures follow in a table for screen readers.

use maud::{Markup, html};

use crate::store::HourTally;

const WIDTH: f64 = 720.0;
const BAR_AREA: f64 = 110.0;
const TOP: f64 = 16.0;
const GAP: f64 = 4.0;

/// The chart and its table for `hours` (oldest first).
pub(super) fn render(hours: &[HourTally]) -> Markup {
    let max_polls = hours
        .iter()
        .map(|h| h.tally.polls())
        .max()
        .unwrap_or(0)
        .max(1);
    let max_items = hours
        .iter()
        .map(|h| h.tally.new_items)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / hours.len().max(1) as f64;
    let bar = (slot - GAP).max(1.0);
    let polls_base = TOP + BAR_AREA;
    let items_top = polls_base + 34.0;
    let items_base = items_top + BAR_AREA * 0.6;
    let height = items_base + 22.0;
    let total_polls: i64 = hours.iter().map(|h| h.tally.polls()).sum();
    let total_failed: i64 = hours.iter().map(|h| h.tally.failed).sum();
    let total_items: i64 = hours.iter().map(|h| h.tally.new_items).sum();
    let summary = format!(
        "Polls and new items per hour over the last 24 hours: {total_polls} polls, {total_failed} failed, \
         {total_items} new items"
    );
    let scale = |n: i64, max: i64, area: f64| n as f64 / max as f64 * area;
    html! {
        svg.chart viewBox={ "0 0 " (WIDTH) " " (height) } role="img" aria-labelledby="chart-title" {
            title id="chart-title" { (summary) }
            text x="0" y="11" { "Polls per hour (most: " (max_polls) ")" }
            line.axis x1="0" x2=(WIDTH) y1=(polls_base) y2=(polls_base) {}
            @for (i, h) in hours.iter().enumerate() {
                @let x = i as f64 * slot;
                @let ok = scale(h.tally.fetched, max_polls, BAR_AREA);
                @let same = scale(h.tally.unchanged, max_polls, BAR_AREA);
                @let bad = scale(h.tally.failed, max_polls, BAR_AREA);
                rect.ok x=(fmt(x)) y=(fmt(polls_base - ok)) width=(fmt(bar)) height=(fmt(ok)) {}
                rect.same x=(fmt(x)) y=(fmt(polls_base - ok - same)) width=(fmt(bar)) height=(fmt(same)) {}
                rect.bad x=(fmt(x)) y=(fmt(polls_base - ok - same - bad)) width=(fmt(bar)) height=(fmt(bad)) {}
            }
            text x="0" y=(fmt(items_top - 6.0)) { "New items per hour (most: " (max_items) ")" }
            line.axis x1="0" x2=(WIDTH) y1=(items_base) y2=(items_base) {}
            @for (i, h) in hours.iter().enumerate() {
                @let n = scale(h.tally.new_items, max_items, BAR_AREA * 0.6);
                rect.items x=(fmt(i as f64 * slot)) y=(fmt(items_base - n)) width=(fmt(bar)) height=(fmt(n)) {}
            }
            @for (i, h) in hours.iter().enumerate().step_by(6) {
                text x=(fmt(i as f64 * slot)) y=(fmt(height - 4.0)) { (hour_label(h.hour)) }
            }
        }
        ul.legend {
            li { span.ok {} "fetched" }
            li { span.same {} "unchanged (304)" }
            li { span.bad {} "failed" }
            li { span.items {} "new items" }
        }
        details {
            summary { "The figures, hour by hour" }
            div.scroll { table {
                thead { tr {
                    th scope="col" { "Hour (UTC)" } th.num scope="col" { "Fetched" } th.num scope="col" { "Unchanged" }
                    th.num scope="col" { "Failed" } th.num scope="col" { "New items" } th.num scope="col" { "Joined a story" }
                } }
                tbody {
                    @for h in hours.iter().rev() {
                        tr {
                            td { (crate::timefmt::human(h.hour)) }
                            td.num { (h.tally.fetched) } td.num { (h.tally.unchanged) } td.num { (h.tally.failed) }
                            td.num { (h.tally.new_items) } td.num { (h.tally.joined) }
                        }
                    }
                }
            } }
        }
    }
}

fn hour_label(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%H:00").to_string())
        .unwrap_or_default()
}

/// A coordinate with one decimal: enough for a 720-unit-wide drawing, and short markup.
fn fmt(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}
