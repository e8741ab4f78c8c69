//! The daemon's health as `/healthz` reports it: whether the database writer runs, whether the store takes
//! writes (and why not), and how long ago the scheduler last turned. The writer and the scheduler write it;
//! the server reads it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// The scheduler is stuck when its last turn is older than this (it turns at least every 30 s).
const SCHEDULER_STALE: Duration = Duration::from_secs(90);

/// Shared health state.
#[derive(Default)]
pub struct Health {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    writer: WriterState,
    /// Why the store cannot take writes, and since when; None while it can.
    store_down: Option<(String, Instant)>,
    /// The scheduler's last turn; None when no scheduler runs (`poll --once`) or before its first.
    scheduler_turn: Option<Instant>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum WriterState {
    #[default]
    Starting,
    Running,
    Stopped,
}

/// A snapshot of the health, as `/healthz` serves it.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// `ok`, `degraded` (the store takes no writes; feeds are still served) or `failing`.
    pub status: &'static str,
    /// `running`, `starting` or `stopped`.
    pub writer: String,
    /// `writable`, or why not.
    pub store: String,
    /// Seconds the store has been unwritable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_down_secs: Option<u64>,
    /// Seconds since the scheduler's last turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler_turn_secs_ago: Option<f64>,
}

impl HealthReport {
    /// Whether everything is as it should be.
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }
}

impl Health {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("health lock"))
    }

    /// The writer thread is up.
    pub(crate) fn writer_running(&self) {
        self.with(|s| s.writer = WriterState::Running);
    }

    /// The writer thread has ended.
    pub(crate) fn writer_stopped(&self) {
        self.with(|s| s.writer = WriterState::Stopped);
    }

    /// A write went through.
    pub(crate) fn store_writable(&self) {
        self.with(|s| s.store_down = None);
    }

    /// A write failed because of the store itself (see [`crate::store::unavailable`]).
    pub(crate) fn store_unwritable(&self, why: &str) {
        self.with(|s| match &mut s.store_down {
            Some((reason, _)) => *reason = why.to_string(),
            None => s.store_down = Some((why.to_string(), Instant::now())),
        });
    }

    /// Whether the store currently refuses writes.
    pub fn store_is_down(&self) -> bool {
        self.with(|s| s.store_down.is_some())
    }

    /// The scheduler finished a turn.
    pub(crate) fn scheduler_turned(&self) {
        self.with(|s| s.scheduler_turn = Some(Instant::now()));
    }

    /// The health now.
    pub fn report(&self) -> HealthReport {
        self.with(|s| {
            let turn_age = s.scheduler_turn.map(|t| t.elapsed());
            let stuck = turn_age.is_some_and(|a| a > SCHEDULER_STALE);
            let status = if s.writer == WriterState::Stopped || stuck {
                "failing"
            } else if s.store_down.is_some() {
                "degraded"
            } else {
                "ok"
            };
            HealthReport {
                status,
                writer: serde_json::to_value(s.writer)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                store: match &s.store_down {
                    Some((why, _)) => why.clone(),
                    None => "writable".into(),
                },
                store_down_secs: s.store_down.as_ref().map(|(_, t)| t.elapsed().as_secs()),
                scheduler_turn_secs_ago: turn_age.map(|a| (a.as_secs_f64() * 10.0).round() / 10.0),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_degrades_and_recovery_clears_it() {
        let h = Health::default();
        h.writer_running();
        h.scheduler_turned();
        assert!(h.report().is_ok());
        h.store_unwritable("the disk is full");
        let r = h.report();
        assert_eq!(
            (r.status, r.store.as_str()),
            ("degraded", "the disk is full")
        );
        h.store_writable();
        assert!(h.report().is_ok());
        h.writer_stopped();
        assert_eq!(h.report().status, "failing");
    }
}
