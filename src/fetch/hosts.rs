//! Per-host politeness: how many requests may be in flight to one host, the minimum gap between them, and
//! pauses a host asked for with 429/503 + Retry-After.
//!
//! Limits key on the URL's host (with port), so one server is never hammered whichever of its feeds is due.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Duration, Instant};

/// The shared per-host state of the fetcher.
pub struct HostLimits {
    per_host: usize,
    min_gap: Duration,
    hosts: Mutex<HashMap<String, HostState>>,
}

struct HostState {
    permits: Arc<Semaphore>,
    /// The earliest time the next request may start (min gap and Retry-After both push it).
    not_before: Instant,
}

/// Held while a request to a host is in flight.
pub struct HostPermit {
    _permit: OwnedSemaphorePermit,
}

impl HostLimits {
    /// Limits with `per_host` concurrent requests and `min_gap` between request starts to one host.
    pub fn new(per_host: usize, min_gap: Duration) -> Self {
        HostLimits {
            per_host: per_host.max(1),
            min_gap,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    fn semaphore(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().expect("host map lock");
        hosts
            .entry(host.to_string())
            .or_insert_with(|| HostState {
                permits: Arc::new(Semaphore::new(self.per_host)),
                not_before: Instant::now(),
            })
            .permits
            .clone()
    }

    /// Waits for a free slot on `host`, then for its minimum gap, and returns the slot.
    pub async fn acquire(&self, host: &str) -> HostPermit {
        let permit = self
            .semaphore(host)
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        loop {
            let wait_until = {
                let mut hosts = self.hosts.lock().expect("host map lock");
                let state = hosts.get_mut(host).expect("entry created by semaphore()");
                let now = Instant::now();
                if state.not_before <= now {
                    state.not_before = now + self.min_gap;
                    None
                } else {
                    Some(state.not_before)
                }
            };
            match wait_until {
                None => break,
                Some(t) => tokio::time::sleep_until(t).await,
            }
        }
        HostPermit { _permit: permit }
    }

    /// Records that `host` asked for a pause; every source on it waits until `until`.
    pub fn pause(&self, host: &str, until: chrono::DateTime<chrono::Utc>) {
        let _ = self.semaphore(host);
        let mut hosts = self.hosts.lock().expect("host map lock");
        let state = hosts.get_mut(host).expect("entry created above");
        let wait = (until - chrono::Utc::now()).to_std().unwrap_or_default();
        state.not_before = state.not_before.max(Instant::now() + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn no_more_than_per_host_requests_run_at_once() {
        let limits = Arc::new(HostLimits::new(2, Duration::ZERO));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (limits, running, peak) = (limits.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let _p = limits.acquire("a.example").await;
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_delays_the_next_request_to_that_host_only() {
        let limits = HostLimits::new(2, Duration::ZERO);
        limits.pause(
            "slow.example",
            chrono::Utc::now() + chrono::Duration::seconds(30),
        );
        let start = Instant::now();
        let _ = limits.acquire("other.example").await;
        assert!(start.elapsed() < Duration::from_secs(1));
        let _ = limits.acquire("slow.example").await;
        assert!(start.elapsed() >= Duration::from_secs(29));
    }
}
