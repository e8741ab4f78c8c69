//! Request counters, kept per `Host` header, and their JSON snapshot.
//!
//! Tests use these to assert client behaviour from the server's side: that a per-host concurrency
//! limit is never exceeded (`max_in_flight`), that repeat polls are conditional (`conditional`,
//! `not_modified`) and how often each path was fetched (`paths`). One mutex guards everything; at a
//! few thousand requests per second three short critical sections per request cost nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Counters of one host (or of all hosts, in [`StatsSnapshot::totals`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStats {
    /// Requests received (stats endpoints excluded).
    pub requests: u64,
    /// Requests that carried `If-None-Match` or `If-Modified-Since`.
    pub conditional: u64,
    /// Responses with status 304.
    pub not_modified: u64,
    /// Requests currently being handled (a streaming body counts until it ends or is dropped).
    pub in_flight: u64,
    /// Highest `in_flight` seen since start or the last reset.
    pub max_in_flight: u64,
    /// Responses by status code (as a string key, for JSON); requests never answered are absent.
    #[serde(default)]
    pub statuses: BTreeMap<String, u64>,
    /// Requests by path (query string excluded); empty in `totals`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paths: BTreeMap<String, u64>,
}

/// The JSON document served at `GET /_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Seconds since the farm started.
    pub uptime_secs: f64,
    /// Seconds since the counters were last reset (or since start).
    pub since_reset_secs: f64,
    /// Sums over all hosts; `in_flight`/`max_in_flight` are farm-wide concurrency.
    pub totals: HostStats,
    /// Counters keyed by the request's `Host` header (e.g. `"127.0.1.3:8900"`).
    pub hosts: BTreeMap<String, HostStats>,
}

impl StatsSnapshot {
    /// The counters of one `Host` header value, if that host saw any request.
    pub fn host(&self, host: &str) -> Option<&HostStats> {
        self.hosts.get(host)
    }

    /// Highest per-host `max_in_flight` across all hosts.
    pub fn max_in_flight_per_host(&self) -> u64 {
        self.hosts
            .values()
            .map(|h| h.max_in_flight)
            .max()
            .unwrap_or(0)
    }

    /// Requests for `path` summed over every host.
    pub fn path_count(&self, path: &str) -> u64 {
        self.hosts.values().filter_map(|h| h.paths.get(path)).sum()
    }
}

/// Mutable counters of one host.
#[derive(Debug, Default)]
struct HostCounters {
    /// See [`HostStats::requests`].
    requests: u64,
    /// See [`HostStats::conditional`].
    conditional: u64,
    /// See [`HostStats::not_modified`].
    not_modified: u64,
    /// See [`HostStats::in_flight`]; never reset, only incremented/decremented by guards.
    in_flight: u64,
    /// See [`HostStats::max_in_flight`].
    max_in_flight: u64,
    /// Status code → count.
    statuses: HashMap<u16, u64>,
    /// Path → count.
    paths: HashMap<String, u64>,
}

impl HostCounters {
    /// Zeroes every counter except the live `in_flight`, which guards still own.
    fn reset(&mut self) {
        *self = HostCounters {
            in_flight: self.in_flight,
            max_in_flight: self.in_flight,
            ..HostCounters::default()
        };
    }

    /// Copies the counters into their serialisable form.
    fn snapshot(&self, with_paths: bool) -> HostStats {
        HostStats {
            requests: self.requests,
            conditional: self.conditional,
            not_modified: self.not_modified,
            in_flight: self.in_flight,
            max_in_flight: self.max_in_flight,
            statuses: self
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            paths: if with_paths {
                self.paths.iter().map(|(k, v)| (k.clone(), *v)).collect()
            } else {
                BTreeMap::new()
            },
        }
    }
}

/// Everything under the lock.
#[derive(Debug, Default)]
struct Inner {
    /// Per-host counters.
    hosts: HashMap<String, HostCounters>,
    /// Farm-wide counters (paths unused).
    totals: HostCounters,
    /// When the counters were last reset.
    reset_at: Option<Instant>,
}

/// The farm's counters; share it behind an `Arc`.
#[derive(Debug)]
pub struct Stats {
    /// When the farm started.
    started: Instant,
    /// All counters.
    inner: Mutex<Inner>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }
}

impl Stats {
    /// Locks the counters, ignoring poisoning (a panicking handler must not freeze the stats).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a new request and returns the guard that keeps it "in flight" until dropped.
    pub fn begin(self: &Arc<Self>, host: &str, path: &str, conditional: bool) -> InFlight {
        let mut inner = self.lock();
        let Inner { hosts, totals, .. } = &mut *inner;
        for c in [hosts_entry(hosts, host), totals] {
            c.requests += 1;
            c.conditional += u64::from(conditional);
            c.in_flight += 1;
            c.max_in_flight = c.max_in_flight.max(c.in_flight);
        }
        let h = hosts_entry(hosts, host);
        match h.paths.get_mut(path) {
            Some(n) => *n += 1,
            None => {
                h.paths.insert(path.to_owned(), 1);
            }
        }
        InFlight {
            stats: Arc::clone(self),
            host: host.to_owned(),
        }
    }

    /// Records the status a request was answered with.
    fn record_status(&self, host: &str, status: u16) {
        let mut inner = self.lock();
        let Inner { hosts, totals, .. } = &mut *inner;
        for c in [hosts_entry(hosts, host), totals] {
            *c.statuses.entry(status).or_insert(0) += 1;
            c.not_modified += u64::from(status == 304);
        }
    }

    /// Marks a request as finished.
    fn end(&self, host: &str) {
        let mut inner = self.lock();
        let Inner { hosts, totals, .. } = &mut *inner;
        for c in [hosts_entry(hosts, host), totals] {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }

    /// Zeroes all counters except those of requests still in flight.
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.totals.reset();
        inner.hosts.values_mut().for_each(HostCounters::reset);
        // Hosts with nothing in flight disappear, so a snapshot after reset lists only new traffic.
        inner.hosts.retain(|_, c| c.in_flight > 0);
        inner.reset_at = Some(Instant::now());
    }

    /// A consistent copy of all counters; `with_paths = false` omits the (large) per-path maps.
    pub fn snapshot(&self, with_paths: bool) -> StatsSnapshot {
        let inner = self.lock();
        let now = Instant::now();
        StatsSnapshot {
            uptime_secs: now.duration_since(self.started).as_secs_f64(),
            since_reset_secs: now
                .duration_since(inner.reset_at.unwrap_or(self.started))
                .as_secs_f64(),
            totals: inner.totals.snapshot(false),
            hosts: inner
                .hosts
                .iter()
                .map(|(k, v)| (k.clone(), v.snapshot(with_paths)))
                .collect(),
        }
    }
}

/// Looks up a host's counters, allocating the key only the first time the host is seen.
fn hosts_entry<'a>(
    hosts: &'a mut HashMap<String, HostCounters>,
    host: &str,
) -> &'a mut HostCounters {
    if !hosts.contains_key(host) {
        hosts.insert(host.to_owned(), HostCounters::default());
    }
    hosts.get_mut(host).expect("inserted above")
}

/// Keeps one request counted as in flight; dropping it (response sent, body ended, or client gone)
/// ends the request.
#[derive(Debug)]
pub struct InFlight {
    /// The counters to decrement.
    stats: Arc<Stats>,
    /// The `Host` header the request was counted under.
    host: String,
}

impl InFlight {
    /// Records the response status of this request.
    pub fn status(&self, status: u16) {
        self.stats.record_status(&self.host, status);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.stats.end(&self.host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_max_in_flight() {
        let s = Arc::new(Stats::default());
        let a = s.begin("h1", "/feeds/1.xml", false);
        let b = s.begin("h1", "/feeds/1.xml", true);
        b.status(304);
        drop(b);
        a.status(200);
        drop(a);
        let _c = s.begin("h2", "/x", false);
        let snap = s.snapshot(true);
        let h1 = snap.host("h1").unwrap();
        assert_eq!(h1.requests, 2);
        assert_eq!(h1.conditional, 1);
        assert_eq!(h1.not_modified, 1);
        assert_eq!(h1.max_in_flight, 2);
        assert_eq!(h1.in_flight, 0);
        assert_eq!(h1.paths["/feeds/1.xml"], 2);
        assert_eq!(snap.totals.requests, 3);
        assert_eq!(snap.totals.in_flight, 1);
        s.reset();
        let snap = s.snapshot(true);
        assert!(snap.host("h1").is_none());
        assert_eq!(snap.host("h2").unwrap().in_flight, 1);
        assert_eq!(snap.totals.requests, 0);
    }
}
