//! Politeness: how many requests may be in flight to one host and overall, the minimum gap between requests
//! to one host, and pauses a host asked for with 429/503 + Retry-After.
//!
//! Limits key on the URL's host (with port), so one server is never hammered whichever of its feeds is due.
//! The table outlives any one [`super::Fetcher`]: a reload builds a new HTTP client but keeps every host's
//! in-flight count, gap and pause, and only adjusts the limits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Duration, Instant};

/// The per-host state shared by every fetcher of a daemon's life.
pub struct HostLimits {
    /// Requests in flight overall, at most; sized by [`HostLimits::set_limits`].
    global: Arc<Semaphore>,
    /// The size `global` should have.
    global_size: AtomicUsize,
    /// Permits to retire as they come back, after the global limit was lowered.
    global_debt: AtomicUsize,
    per_host: AtomicUsize,
    min_gap_ms: AtomicU64,
    hosts: Mutex<HashMap<String, HostState>>,
}

struct HostState {
    /// Requests in flight now.
    running: usize,
    /// Woken when a request finishes, so a waiter re-checks the limit.
    freed: Arc<Notify>,
    /// The earliest time the next request may start (min gap and Retry-After both push it).
    not_before: Instant,
}

/// Held while a request to a host is in flight; dropping it frees the host slot and the global one.
pub struct HostPermit {
    limits: Arc<HostLimits>,
    host: String,
    global: Option<OwnedSemaphorePermit>,
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        if let Some(permit) = self.global.take() {
            let retire = self
                .limits
                .global_debt
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
                .is_ok();
            if retire {
                permit.forget();
            }
        }
        let mut hosts = self.limits.hosts.lock().expect("host table lock");
        if let Some(state) = hosts.get_mut(&self.host) {
            state.running -= 1;
            state.freed.notify_waiters();
        }
    }
}

impl HostLimits {
    /// Limits with `global` concurrent requests, `per_host` to one host, and `min_gap` between request
    /// starts to one host.
    pub fn new(global: usize, per_host: usize, min_gap: Duration) -> Arc<Self> {
        Arc::new(HostLimits {
            global: Arc::new(Semaphore::new(global.max(1))),
            global_size: AtomicUsize::new(global.max(1)),
            global_debt: AtomicUsize::new(0),
            per_host: AtomicUsize::new(per_host.max(1)),
            min_gap_ms: AtomicU64::new(min_gap.as_millis() as u64),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// Applies new limits (a reload). Requests already in flight finish; a lower limit holds for new ones
    /// as soon as enough of them have.
    pub fn set_limits(&self, global: usize, per_host: usize, min_gap: Duration) {
        let (new, old) = (
            global.max(1),
            self.global_size.swap(global.max(1), Ordering::AcqRel),
        );
        if new > old {
            // Cancel retirements still owed before adding permits.
            let mut add = new - old;
            while add > 0 {
                match self
                    .global_debt
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
                {
                    Ok(_) => add -= 1,
                    Err(_) => break,
                }
            }
            self.global.add_permits(add);
        } else if new < old {
            let owed = old - new;
            let retired = self.global.forget_permits(owed);
            self.global_debt.fetch_add(owed - retired, Ordering::AcqRel);
        }
        self.per_host.store(per_host.max(1), Ordering::Relaxed);
        self.min_gap_ms
            .store(min_gap.as_millis() as u64, Ordering::Relaxed);
        let hosts = self.hosts.lock().expect("host table lock");
        for state in hosts.values() {
            state.freed.notify_waiters();
        }
    }

    /// Waits for a free slot on `host` (and for its minimum gap and any pause), then for a global slot.
    /// The host slot comes first: a request waiting for a busy host must not hold one of the global slots.
    pub async fn acquire(self: &Arc<Self>, host: &str) -> HostPermit {
        let mut permit = self.acquire_host(host).await;
        permit.global = Some(
            self.global
                .clone()
                .acquire_owned()
                .await
                .expect("the global semaphore is never closed"),
        );
        permit
    }

    async fn acquire_host(self: &Arc<Self>, host: &str) -> HostPermit {
        loop {
            let (freed, wait_until) = {
                let mut hosts = self.hosts.lock().expect("host table lock");
                let state = entry(&mut hosts, host);
                let now = Instant::now();
                if state.running < self.per_host.load(Ordering::Relaxed) && state.not_before <= now
                {
                    state.running += 1;
                    let gap = Duration::from_millis(self.min_gap_ms.load(Ordering::Relaxed));
                    state.not_before = now + gap;
                    return HostPermit {
                        limits: self.clone(),
                        host: host.to_string(),
                        global: None,
                    };
                }
                let wait_until = (state.not_before > now).then_some(state.not_before);
                (state.freed.clone(), wait_until)
            };
            let notified = freed.notified();
            match wait_until {
                Some(t) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(t) => {}
                        _ = notified => {}
                    }
                }
                None => {
                    // A request may have finished between the lock above and `notified()`: enable the
                    // waiter, then look again, so that wake-up cannot be missed.
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    if self.has_room(host) {
                        continue;
                    }
                    notified.await;
                }
            }
        }
    }

    fn has_room(&self, host: &str) -> bool {
        let hosts = self.hosts.lock().expect("host table lock");
        hosts.get(host).is_none_or(|s| {
            s.running < self.per_host.load(Ordering::Relaxed) && s.not_before <= Instant::now()
        })
    }

    /// Records that `host` asked for a pause; every source on it waits until `until`.
    pub fn pause(&self, host: &str, until: chrono::DateTime<chrono::Utc>) {
        let wait = (until - chrono::Utc::now()).to_std().unwrap_or_default();
        let mut hosts = self.hosts.lock().expect("host table lock");
        let state = entry(&mut hosts, host);
        state.not_before = state.not_before.max(Instant::now() + wait);
    }

    /// Hosts whose pause has not ended yet.
    pub fn paused(&self) -> usize {
        let now = Instant::now();
        let hosts = self.hosts.lock().expect("host table lock");
        hosts
            .values()
            .filter(|s| s.not_before > now + Duration::from_secs(1))
            .count()
    }
}

/// The state of `host`, created free and unpaused when first seen.
fn entry<'a>(hosts: &'a mut HashMap<String, HostState>, host: &str) -> &'a mut HostState {
    hosts.entry(host.to_string()).or_insert_with(|| HostState {
        running: 0,
        freed: Arc::new(Notify::new()),
        not_before: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn peak_with(limits: &Arc<HostLimits>, tasks: usize) -> usize {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let (limits, running, peak) = (limits.clone(), running.clone(), peak.clone());
            handles.push(tokio::spawn(async move {
                let _p = limits.acquire("a.example").await;
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        peak.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn no_more_than_per_host_requests_run_at_once_and_limits_change_in_place() {
        let limits = HostLimits::new(64, 2, Duration::ZERO);
        assert_eq!(peak_with(&limits, 10).await, 2);
        limits.set_limits(64, 3, Duration::ZERO);
        assert_eq!(peak_with(&limits, 10).await, 3);
        limits.set_limits(64, 1, Duration::ZERO);
        assert_eq!(peak_with(&limits, 10).await, 1);
    }

    #[tokio::test]
    async fn the_global_limit_shrinks_and_grows_while_requests_run() {
        let limits = HostLimits::new(4, 4, Duration::ZERO);
        let held: Vec<HostPermit> =
            futures_util::future::join_all(["a", "b", "c", "d"].map(|h| limits.acquire(h))).await;
        limits.set_limits(2, 4, Duration::ZERO);
        drop(held);
        // Only two may run now.
        let two = futures_util::future::join_all(["e", "f"].map(|h| limits.acquire(h))).await;
        let third = tokio::time::timeout(Duration::from_millis(50), limits.acquire("g")).await;
        assert!(third.is_err(), "a third request must wait");
        limits.set_limits(3, 4, Duration::ZERO);
        let third = tokio::time::timeout(Duration::from_millis(50), limits.acquire("g")).await;
        assert!(third.is_ok(), "raising the limit lets it in");
        drop(two);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_delays_the_next_request_to_that_host_only_and_survives_new_limits() {
        let limits = HostLimits::new(64, 2, Duration::ZERO);
        limits.pause(
            "slow.example",
            chrono::Utc::now() + chrono::Duration::seconds(30),
        );
        limits.set_limits(64, 4, Duration::ZERO);
        assert_eq!(limits.paused(), 1);
        let start = Instant::now();
        drop(limits.acquire("other.example").await);
        assert!(start.elapsed() < Duration::from_secs(1));
        drop(limits.acquire("slow.example").await);
        assert!(start.elapsed() >= Duration::from_secs(29));
    }
}
