//! Dates as feeds write them: W3CDTF and ISO 8601 (with their short and ordinal forms), RFC 822 and its
//! variants (two-digit years, long month names, month before day, AM/PM, North American and European zone
//! names), asctime, Perforce, MSSQL, and the Greek, Hungarian and Korean forms feedparser reads. The zone is
//! kept in the result; a string none of these read is counted, so operators can see how many dates fell
//! back to first-seen.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

static UNPARSEABLE: AtomicU64 = AtomicU64::new(0);

/// How many non-empty date strings could not be read since the process started.
pub fn unparseable_dates() -> u64 {
    UNPARSEABLE.load(Ordering::Relaxed)
}

/// Parses a date as feedparser would, counting the strings it cannot read.
pub fn parse_date_counted(text: &str) -> Option<DateTime<FixedOffset>> {
    let parsed = parse_date(text);
    if parsed.is_none() && !text.trim().is_empty() {
        UNPARSEABLE.fetch_add(1, Ordering::Relaxed);
    }
    parsed
}

/// Parses a date in any form feedparser's date tests cover. A missing zone means UTC.
pub fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    rfc822_plain(t)
        .or_else(|| w3c(t))
        .or_else(|| iso_short(t))
        .or_else(|| korean(t))
        .or_else(|| free_form(&regional_to_english(t)))
}

/// The form nearly every RSS feed writes ("Tue, 01 Dec 2026 10:00:00 +0000", four-digit year, numeric or
/// GMT/UT/UTC zone), read by chrono's strict RFC 2822 parser: the general path below allocates and tries
/// several forms first, and cost a tenth of a first poll's CPU. Anything else, including a weekday that does
/// not match the date or a leap second, falls through to the general path, which reads it as before.
fn rfc822_plain(t: &str) -> Option<DateTime<FixedOffset>> {
    let mut words = t.split_ascii_whitespace();
    let zone = words.next_back()?;
    let numeric = zone.len() == 5
        && zone.starts_with(['+', '-'])
        && zone[1..].bytes().all(|b| b.is_ascii_digit());
    if !numeric && !matches!(zone, "GMT" | "UT" | "UTC") {
        return None;
    }
    let four_digit_year = words.any(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()));
    // chrono reads second 60 as a leap second; the general path has its own reading of it.
    if !four_digit_year || t.contains(":60") {
        return None;
    }
    DateTime::parse_from_rfc2822(t).ok()
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_number(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .position(|m| w == *m || (full.iter().any(|f| f.starts_with(&w)) && w.starts_with(m)))
        .map(|i| i as u32 + 1)
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero offset")
}

fn at(date: NaiveDate, time: NaiveTime, zone: FixedOffset) -> Option<DateTime<FixedOffset>> {
    zone.from_local_datetime(&NaiveDateTime::new(date, time))
        .single()
}

/// `±hh:mm`, `±hhmm`, `±hh`, `Z`, and zone names.
fn zone(token: &str) -> Option<FixedOffset> {
    let z = token.trim();
    let upper = z.to_ascii_uppercase();
    let named = match upper.as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "ETC/GMT" | "ETC/UTC" => Some(0),
        "EST" => Some(-5),
        "EDT" => Some(-4),
        "CST" => Some(-6),
        "CDT" => Some(-5),
        "MST" => Some(-7),
        "MDT" => Some(-6),
        "PST" => Some(-8),
        "PDT" => Some(-7),
        // feedparser reads these US zone names without daylight saving as standard time
        "AT" => Some(-4),
        "ET" => Some(-5),
        "CT" => Some(-6),
        "MT" => Some(-7),
        "PT" => Some(-8),
        "MET" | "CET" => Some(1),
        "MEST" | "CEST" => Some(2),
        "BST" => Some(1),
        "EET" => Some(2),
        "EEST" => Some(3),
        "JST" | "KST" => Some(9),
        _ => None,
    };
    if let Some(h) = named {
        return FixedOffset::east_opt(h * 3600);
    }
    let z = upper
        .strip_prefix("GMT")
        .or_else(|| upper.strip_prefix("UTC"))
        .unwrap_or(&upper);
    let (sign, rest) = match z.chars().next()? {
        '+' => (1, &z[1..]),
        '-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || rest.matches(':').count() > 1 {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        3 => (
            digits[..1].parse::<i32>().ok()?,
            digits[1..].parse::<i32>().ok()?,
        ),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// W3CDTF and ISO 8601 extended forms: `2003`, `2003-12`, `2003-12-31`, `2003-12-31T10:14:55.1Z`, a space
/// instead of `T` (MSSQL), and Google's three-digit month (`2003-012-31`).
fn w3c(t: &str) -> Option<DateTime<FixedOffset>> {
    let (date_part, time_part) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], Some(t[i + 1..].trim())),
        None => (t, None),
    };
    let fields: Vec<&str> = date_part.split('-').collect();
    if fields.is_empty() || fields.len() > 3 || fields[0].len() != 4 {
        return None;
    }
    let num = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.len() <= 3 && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let year: i32 = fields[0]
        .chars()
        .all(|c| c.is_ascii_digit())
        .then(|| fields[0].parse().ok())
        .flatten()?;
    let month = fields.get(1).map_or(Some(1), |m| num(m))?;
    let day = fields.get(2).map_or(Some(1), |d| num(d))?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let Some(time_part) = time_part.filter(|s| !s.is_empty()) else {
        return at(date, NaiveTime::MIN, utc());
    };
    if fields.len() != 3 {
        return None;
    }
    // Split the zone off the time: `Z`, or the last `+`/`-`, or a separate token.
    let (clock, zone_text) = if let Some(c) = time_part.strip_suffix(['Z', 'z']) {
        (c.trim(), Some("Z"))
    } else if let Some(i) = time_part.rfind(['+', '-']) {
        (time_part[..i].trim(), Some(&time_part[i..]))
    } else if let Some((c, z)) = time_part.split_once(' ') {
        (c.trim(), Some(z.trim()))
    } else {
        (time_part, None)
    };
    let offset = match zone_text {
        Some(z) => zone(&z.replace(' ', ""))?,
        None => utc(),
    };
    let time = clock_time(clock)?;
    at(date, time, offset)
}

/// `hh:mm`, `hh:mm:ss`, `hh:mm:ss.frac`; the fraction is dropped.
fn clock_time(clock: &str) -> Option<NaiveTime> {
    let clock = clock.split(['.', ',']).next()?;
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let n = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.len() <= 2 && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let h = n(parts[0])?;
    let m = n(parts[1])?;
    let s = parts.get(2).map_or(Some(0), |s| n(s))?;
    // Some feeds write 24:00 for midnight at the end of the day; chrono wants the next day's 00:00.
    NaiveTime::from_hms_opt(h, m, s)
}

/// ISO 8601 basic and two-digit forms feedparser reads: `031231`, `03-12-31`, `-0312`, `-03-12`, `03335`.
fn iso_short(t: &str) -> Option<DateTime<FixedOffset>> {
    if !t.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return None;
    }
    let century = |yy: &str| -> Option<i32> { Some(2000 + yy.parse::<i32>().ok()?) };
    let digits: String = t.chars().filter(|c| *c != '-').collect();
    let date = match (t.starts_with('-'), digits.len(), t.contains('-')) {
        // `-0312` / `-03-12`: two-digit year and month
        (true, 4, _) => {
            NaiveDate::from_ymd_opt(century(&digits[..2])?, digits[2..].parse().ok()?, 1)
        }
        // `031231` / `03-12-31`
        (false, 6, _) => NaiveDate::from_ymd_opt(
            century(&digits[..2])?,
            digits[2..4].parse().ok()?,
            digits[4..].parse().ok()?,
        ),
        // `03335`: two-digit year and day of the year
        (false, 5, false) => {
            NaiveDate::from_yo_opt(century(&digits[..2])?, digits[2..].parse().ok()?)
        }
        // `20031231`
        (false, 8, false) => NaiveDate::from_ymd_opt(
            digits[..4].parse().ok()?,
            digits[4..6].parse().ok()?,
            digits[6..].parse().ok()?,
        ),
        _ => None,
    }?;
    at(date, NaiveTime::MIN, utc())
}

/// Greek and Hungarian month and day names replaced with English ones, so the RFC 822 reader takes them.
fn regional_to_english(t: &str) -> String {
    const GREEK: [(&str, &str); 19] = [
        ("Ιαν", "Jan"),
        ("Φεβ", "Feb"),
        ("Μάώ", "Mar"),
        ("Μαώ", "Mar"),
        ("Απρ", "Apr"),
        ("Μάι", "May"),
        ("Μαϊ", "May"),
        ("Μαι", "May"),
        ("Ιούν", "Jun"),
        ("Ιον", "Jun"),
        ("Ιούλ", "Jul"),
        ("Ιολ", "Jul"),
        ("Αύγ", "Aug"),
        ("Αυγ", "Aug"),
        ("Σεπ", "Sep"),
        ("Οκτ", "Oct"),
        ("Νοέ", "Nov"),
        ("Νοε", "Nov"),
        ("Δεκ", "Dec"),
    ];
    const GREEK_DAYS: [&str; 7] = ["Κυρ", "Δευ", "Τρι", "Τετ", "Πεμ", "Παρ", "Σαβ"];
    const HUNGARIAN: [(&str, &str); 12] = [
        ("január", "01"),
        ("február", "02"),
        ("március", "03"),
        ("április", "04"),
        ("május", "05"),
        ("június", "06"),
        ("július", "07"),
        ("augusztus", "08"),
        ("szeptember", "09"),
        ("október", "10"),
        ("november", "11"),
        ("december", "12"),
    ];
    let mut out = t.to_string();
    for (from, to) in GREEK {
        out = out.replace(from, to);
    }
    for d in GREEK_DAYS {
        out = out.replace(d, "Sun");
    }
    for (from, to) in HUNGARIAN {
        // `2004-július-13T9:15-05:00`
        out = out.replace(&format!("-{from}-"), &format!("-{to}-"));
    }
    // A one-digit hour after `T` (the Hungarian form writes `T9:15`).
    if let Some(i) = out.find('T')
        && out[i + 1..].find(':') == Some(1)
    {
        out.insert(i + 1, '0');
    }
    if let Some(d) = w3c(&out) {
        // With its month as a number the Hungarian form is W3CDTF; hand it on in a form the reader takes.
        return d.to_rfc2822();
    }
    out
}

/// Korean forms: Nate (`2004-05-25 오후 11:23:17`) and OnBlog (`2004년 05월 28일  01:31:15`), both KST.
fn korean(t: &str) -> Option<DateTime<FixedOffset>> {
    let kst = FixedOffset::east_opt(9 * 3600)?;
    if t.contains('년') && t.contains('월') && t.contains('일') {
        let n: Vec<u32> = t
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().ok())
            .collect::<Option<_>>()?;
        if n.len() < 5 {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(n[0] as i32, n[1], n[2])?;
        let time = NaiveTime::from_hms_opt(n[3], n[4], n.get(5).copied().unwrap_or(0))?;
        return at(date, time, kst);
    }
    if t.contains("오전") || t.contains("오후") {
        let pm = t.contains("오후");
        let mut parts = t.split_whitespace();
        let date: Vec<&str> = parts.next()?.split('-').collect();
        let date = NaiveDate::from_ymd_opt(
            date.first()?.parse().ok()?,
            date.get(1)?.parse().ok()?,
            date.get(2)?.parse().ok()?,
        )?;
        parts.next()?;
        let time = clock_time(parts.next()?)?;
        let time = if pm && time.format("%H").to_string() != "12" {
            time + chrono::Duration::hours(12)
        } else {
            time
        };
        return at(date, time, kst);
    }
    None
}

/// RFC 822 and its real-world variants, asctime and Perforce: read word by word. A month name, a day, a
/// year (two digits mean 20xx), an optional clock with AM/PM, and an optional zone, in any of the orders
/// feeds use. Anything left unread makes the whole string unreadable.
fn free_form(t: &str) -> Option<DateTime<FixedOffset>> {
    let cleaned = t.replace(',', " ");
    let mut month = None;
    let mut day = None;
    let mut year = None;
    let mut time = None;
    let mut offset = None;
    let mut pm = None;
    let mut numbers: Vec<&str> = Vec::new();
    for word in cleaned.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if let Some(m) = month_number(word).filter(|_| month.is_none()) {
            month = Some(m);
        } else if ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .any(|d| lower.starts_with(d))
            && word.chars().all(char::is_alphabetic)
        {
            // the weekday says nothing a date does not
        } else if lower == "am" || lower == "pm" {
            pm = Some(lower == "pm");
        } else if word.contains(':')
            && time.is_none()
            && word.chars().next().is_some_and(|c| c.is_ascii_digit())
        {
            // `08:19:53`, or `22:40:00-01:01` with the zone attached
            let (clock, z) = match word.find(['+', '-']) {
                Some(i) => (&word[..i], Some(&word[i..])),
                None => (word, None),
            };
            time = Some(clock_time(clock)?);
            if let Some(z) = z {
                offset = Some(zone(z)?);
            }
        } else if word.contains('/') && word.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            // Perforce: `2006/09/15`
            let p: Vec<&str> = word.split('/').collect();
            if p.len() != 3 {
                return None;
            }
            year = Some(p[0].parse::<i32>().ok()?);
            month = Some(p[1].parse().ok()?);
            day = Some(p[2].parse().ok()?);
        } else if word.chars().all(|c| c.is_ascii_digit()) {
            numbers.push(word);
        } else if offset.is_none()
            && let Some(z) = zone(word)
        {
            offset = Some(z);
        } else {
            return None;
        }
    }
    for n in numbers {
        match (n.len(), day, year) {
            (1 | 2, None, _) => day = Some(n.parse().ok()?),
            (2, Some(_), None) => year = Some(2000 + n.parse::<i32>().ok()?),
            (4, _, None) => year = Some(n.parse().ok()?),
            _ => return None,
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, month?, day?)?;
    let mut time = time.unwrap_or(NaiveTime::MIN);
    if let Some(pm) = pm {
        let h = time.format("%H").to_string().parse::<u32>().ok()?;
        let h = match (pm, h) {
            (true, 1..=11) => h + 12,
            (false, 12) => 0,
            _ => h,
        };
        time = NaiveTime::from_hms_opt(
            h,
            time.format("%M").to_string().parse().ok()?,
            time.format("%S").to_string().parse().ok()?,
        )?;
    }
    at(date, time, offset.unwrap_or_else(utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Utc};

    /// feedparser's date test cases (tests/test_date_parsers.py of feedparser 6), as (input, UTC time or
    /// None). Years before 1900 and the 9999-with-bad-zone cases are feedparser's own limits and kept.
    /// Year, month, day, hour, minute, second in UTC.
    type Ymdhms = (i32, u32, u32, u32, u32, u32);

    const CASES: &[(&str, Option<Ymdhms>)] = &[
        (
            "\u{039a}\u{03c5}\u{03c1}, 11 \u{0399}\u{03bf}\u{03cd}\u{03bb} 2004 12:00:00 EST",
            Some((2004, 7, 11, 17, 0, 0)),
        ),
        (
            "2004-j\u{fa}lius-13T9:15-05:00",
            Some((2004, 7, 13, 14, 15, 0)),
        ),
        ("-0312", Some((2003, 12, 1, 0, 0, 0))),
        ("031231", Some((2003, 12, 31, 0, 0, 0))),
        ("03-12-31", Some((2003, 12, 31, 0, 0, 0))),
        ("-03-12", Some((2003, 12, 1, 0, 0, 0))),
        ("03335", Some((2003, 12, 1, 0, 0, 0))),
        (
            "2003-12-31T10:14:55.1234Z",
            Some((2003, 12, 31, 10, 14, 55)),
        ),
        (
            "2003-012-31T10:14:55+00:00",
            Some((2003, 12, 31, 10, 14, 55)),
        ),
        (
            "2004-05-25 \u{c624}\u{d6c4} 11:23:17",
            Some((2004, 5, 25, 14, 23, 17)),
        ),
        (
            "2004\u{b144} 05\u{c6d4} 28\u{c77c}  01:31:15",
            Some((2004, 5, 27, 16, 31, 15)),
        ),
        (
            "Fri, 2006/09/15 08:19:53 EDT",
            Some((2006, 9, 15, 12, 19, 53)),
        ),
        (
            "Thu, 30 Apr 2015 08:57:00 MET",
            Some((2015, 4, 30, 7, 57, 0)),
        ),
        (
            "Thu, 30 Apr 2015 08:57:00 MEST",
            Some((2015, 4, 30, 6, 57, 0)),
        ),
        (
            "Thu, 01 Jan 04 19:48:21 GMT",
            Some((2004, 1, 1, 19, 48, 21)),
        ),
        (
            "Thu, 01 Jan 2004 19:48:21 GMT",
            Some((2004, 1, 1, 19, 48, 21)),
        ),
        (
            "Thu,  5 Apr 2012 10:00:00 GMT",
            Some((2012, 4, 5, 10, 0, 0)),
        ),
        (
            "Wed, 19 Aug 2009 18:28:00 Etc/GMT",
            Some((2009, 8, 19, 18, 28, 0)),
        ),
        (
            "Wed, 19 Feb 2012 22:40:00 GMT-01:01",
            Some((2012, 2, 19, 23, 41, 0)),
        ),
        (
            "Wed, 19 Feb 2012 22:40:00 -01:01",
            Some((2012, 2, 19, 23, 41, 0)),
        ),
        (
            "Mon, 13 Feb, 2012 06:28:00 UTC",
            Some((2012, 2, 13, 6, 28, 0)),
        ),
        ("Thu, 01 Jan 2004 00:00 GMT", Some((2004, 1, 1, 0, 0, 0))),
        ("Thu, 01 Jan 2004", Some((2004, 1, 1, 0, 0, 0))),
        (
            "Mon, 26 January 2004 16:31:00 AT",
            Some((2004, 1, 26, 20, 31, 0)),
        ),
        (
            "Mon, 26 January 2004 16:31:00 ET",
            Some((2004, 1, 26, 21, 31, 0)),
        ),
        (
            "Mon, 26 January 2004 16:31:00 CT",
            Some((2004, 1, 26, 22, 31, 0)),
        ),
        (
            "Mon, 26 January 2004 16:31:00 MT",
            Some((2004, 1, 26, 23, 31, 0)),
        ),
        (
            "Mon, 26 January 2004 16:31:00 PT",
            Some((2004, 1, 27, 0, 31, 0)),
        ),
        (
            "Thu Aug 30 2012 17:26:16 +0200",
            Some((2012, 8, 30, 15, 26, 16)),
        ),
        ("Sun, 16 Dec 2012 1:2:3:4 GMT", None),
        ("Sun, 16 zzz 2012 11:47:32 GMT", None),
        ("Sun, Dec x 2012 11:47:32 GMT", None),
        ("Sun, 16 Dec zz 11:47:32 GMT", None),
        ("Sun, 16 Dec 2012 11:47:32 +zz:00", None),
        ("Sun, 16 Dec 2012 11:47:32 +00:zz", None),
        ("Sun, 99 Jun 2009 12:00:00 GMT", None),
        ("Sun Jan  4 16:29:06 2004", Some((2004, 1, 4, 16, 29, 6))),
        (
            "Sun Jul 15 01:16:00 +0000 2012",
            Some((2012, 7, 15, 1, 16, 0)),
        ),
        ("2003-12-31T10:14:55Z", Some((2003, 12, 31, 10, 14, 55))),
        (
            "2003-12-31T10:14:55-08:00",
            Some((2003, 12, 31, 18, 14, 55)),
        ),
        (
            "2003-12-31T18:14:55+08:00",
            Some((2003, 12, 31, 10, 14, 55)),
        ),
        (
            "2007-04-23T23:25:47.538+10:00",
            Some((2007, 4, 23, 13, 25, 47)),
        ),
        ("2003-12-31", Some((2003, 12, 31, 0, 0, 0))),
        ("2003-12", Some((2003, 12, 1, 0, 0, 0))),
        ("2003", Some((2003, 1, 1, 0, 0, 0))),
        ("2004-02-28T18:14:55-08:00", Some((2004, 2, 29, 2, 14, 55))),
        ("2003-02-28T18:14:55-08:00", Some((2003, 3, 1, 2, 14, 55))),
        ("2000-02-28T18:14:55-08:00", Some((2000, 2, 29, 2, 14, 55))),
        ("9999-12-31T23:59:59-99:99", None),
        ("2003-12-31T25:14:55Z", None),
        ("2003-12-31T10:61:55Z", None),
        ("2003-12-31T10:14:61Z", None),
        // feedparser's W3CDTF reader refuses this, but its _parse_date, like this one, reads it as ISO 8601
        // year 22, day 13.
        ("22013", Some((2022, 1, 13, 0, 0, 0))),
        ("013", None),
        ("2013-01-27-01", None),
        ("2013-01-28T11:30:00-06:00Textra", None),
        ("2013-xx-27", None),
        ("2013-01-28T09:xx:00Z", None),
        ("2013-01-28T09:00:00+00:xx", None),
        ("2004-07-08 23:56:58 -00:20", Some((2004, 7, 9, 0, 16, 58))),
        ("2004-07-08 23:56:58", Some((2004, 7, 8, 23, 56, 58))),
        ("2004-07-08 23:56:58.0", Some((2004, 7, 8, 23, 56, 58))),
        // Issue 13: a real corpus feed's form.
        (
            "Sat, Dec 16 2023 02:02:33 PM",
            Some((2023, 12, 16, 14, 2, 33)),
        ),
    ];

    #[test]
    fn feedparser_date_cases_pass() {
        let mut failed = Vec::new();
        for (input, want) in CASES {
            let got = parse_date(input).map(|d| {
                let u = d.with_timezone(&Utc);
                (
                    u.year(),
                    u.month(),
                    u.day(),
                    u.hour(),
                    u.minute(),
                    u.second(),
                )
            });
            if got != *want {
                failed.push(format!("{input:?}: got {got:?}, want {want:?}"));
            }
        }
        let passed = CASES.len() - failed.len();
        println!("date cases: {passed}/{} pass", CASES.len());
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn the_rfc822_fast_path_reads_what_the_general_path_reads() {
        let cases = [
            "Tue, 01 Dec 2026 10:00:00 +0000",
            "Tue, 1 Dec 2026 10:00:00 GMT",
            "Wed, 02 Oct 2002 08:00:00 EST",
            "Wed, 02 Oct 2002 13:00:00 +0130",
            "02 Oct 2002 13:00:00 -0800",
            "Sun, 31 Dec 2023 23:59:60 +0000",
            "Thu, 01 Jan 1970 00:00:00 UT",
            "Mon, 29 Feb 2016 12:30:00 UTC",
        ];
        for c in cases {
            let general = free_form(&regional_to_english(c));
            let fast = rfc822_plain(c);
            if fast.is_some() {
                assert_eq!(fast, general, "{c}");
            }
            assert_eq!(parse_date(c), general, "{c}");
        }
        assert!(
            rfc822_plain(cases[0]).is_some(),
            "the common form takes the fast path"
        );
        // A weekday that does not match the date is the general path's to judge.
        assert!(rfc822_plain("Mon, 01 Dec 2026 10:00:00 +0000").is_none());
        assert!(parse_date("Mon, 01 Dec 2026 10:00:00 +0000").is_some());
        // Two-digit years are the general path's (feedparser's reading).
        assert!(rfc822_plain("Tue, 01 Dec 26 10:00:00 +0000").is_none());
    }

    #[test]
    fn the_zone_is_kept_and_failures_are_counted() {
        let d = parse_date("2003-12-31T10:14:55-08:00").unwrap();
        assert_eq!(d.offset().local_minus_utc(), -8 * 3600);
        let before = unparseable_dates();
        assert!(parse_date_counted("not a date").is_none());
        assert!(parse_date_counted("").is_none());
        assert!(unparseable_dates() > before);
    }
}
