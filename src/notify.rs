//! systemd's notify protocol (`Type=notify`), through the sd-notify crate: READY=1 once the database is open
//! and the server listens, a STATUS= line, RELOADING=1 around a reload, STOPPING=1 on the way out, and
//! WATCHDOG=1 pings sent only while the daemon's [`Health`] is ok: the scheduler turns, the writer runs and
//! the store takes writes. Outside systemd (no `NOTIFY_SOCKET`) every call does nothing.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;

use crate::pipeline::Health;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot tell systemd how the service is doing (NOTIFY_SOCKET): {e}");
    }
}

/// The service is up: the database is open and the HTTP server listens.
pub(crate) fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A new one-line status for `systemctl status`.
pub(crate) fn status(line: &str) {
    send(&[NotifyState::Status(line)]);
}

/// A reload starts (systemd shows "reloading" until [`reloaded`]).
pub(crate) fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// The reload is over, put in force or refused.
pub(crate) fn reloaded() {
    send(&[NotifyState::Ready]);
}

/// The daemon is stopping.
pub(crate) fn stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// When systemd asked for watchdog pings (`WatchdogSec=`), starts a task that pings at half that period
/// while `health` is ok and withholds them otherwise, so that systemd restarts a daemon whose scheduler is
/// stuck or whose store takes no writes. None when no watchdog is configured.
pub(crate) fn start_watchdog(health: Arc<Health>) -> Option<tokio::task::JoinHandle<()>> {
    let period = sd_notify::watchdog_enabled()?;
    let every = (period / 2).max(Duration::from_millis(100));
    tracing::info!(
        period_ms = period.as_millis() as u64,
        "systemd watchdog: pinging while healthy"
    );
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        let mut withheld = false;
        loop {
            tick.tick().await;
            let report = health.report();
            if report.is_ok() {
                if withheld {
                    tracing::info!("healthy again: watchdog pings resume");
                    withheld = false;
                }
                send(&[NotifyState::Watchdog]);
            } else if !withheld {
                tracing::error!(
                    status = report.status,
                    store = %report.store,
                    writer = %report.writer,
                    "unhealthy: withholding watchdog pings; systemd restarts the service if this lasts {} s",
                    period.as_secs()
                );
                withheld = true;
            }
        }
    }))
}
