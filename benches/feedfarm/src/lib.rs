//! `feedfarm`: a loopback RSS feed farm for wiredesk benchmarks and fault-injection tests.
//!
//! The farm listens on many loopback addresses (127.0.1.1, 127.0.1.2, …) on one port, so a client
//! sees many distinct hosts without any network setup: Linux routes all of 127.0.0.0/8 to `lo`.
//! Feed `k` lives on host `k mod hosts` at `/feeds/{k}.xml`; fault paths (`/fault/{kind}/{k}.xml`)
//! work on every host. Counters per `Host` header are served at `/_stats` and via
//! [`FarmHandle::stats`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let farm = feedfarm::start(feedfarm::FarmConfig { hosts: 4, feeds: 40, ..Default::default() }).await?;
//! let url = farm.feed_url(7); // http://127.0.1.4:{port}/feeds/7.xml
//! // ... point the client under test at `url` ...
//! assert!(farm.stats().max_in_flight_per_host() <= 2);
//! farm.shutdown();
//! # Ok(()) }
//! ```

pub mod body;
pub mod content;
pub mod faults;
mod server;
pub mod stats;
pub mod wiredesk_toml;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultParams, FaultSpec};
pub use stats::{HostStats, StatsSnapshot};

/// Everything that shapes a farm. `Default` is a small, fast farm for in-process tests
/// (4 hosts, 100 feeds, no latency, an ephemeral port); the CLI's defaults are the benchmark farm.
#[derive(Debug, Clone)]
pub struct FarmConfig {
    /// Number of loopback addresses to listen on, starting at `base_ip`.
    pub hosts: u32,
    /// Number of feeds; feed `k` is served by host `k mod hosts`.
    pub feeds: u64,
    /// Items per feed document.
    pub items: u64,
    /// Delay before every response (an async sleep; costs no CPU).
    pub latency: Duration,
    /// Port on every host; 0 picks a free port (the same one on all hosts).
    pub port: u16,
    /// First loopback address; host `h` is `base_ip + h`. Must stay inside 127.0.0.0/8.
    pub base_ip: Ipv4Addr,
    /// If set, each feed gains a new item this often (which changes its ETag).
    pub new_items_every: Option<Duration>,
    /// Faults assigned to a fraction of the normal `/feeds/{k}.xml` paths.
    pub faults: FaultSpec,
    /// Seed of all content and fault assignment.
    pub seed: u64,
    /// Defaults for fault knobs (Retry-After, huge size, flaky period).
    pub fault_params: FaultParams,
    /// How long shutdown waits for in-flight requests before dropping connections.
    pub shutdown_grace: Duration,
}

impl Default for FarmConfig {
    fn default() -> Self {
        FarmConfig {
            hosts: 4,
            feeds: 100,
            items: 20,
            latency: Duration::ZERO,
            port: 0,
            base_ip: Ipv4Addr::new(127, 0, 1, 1),
            new_items_every: None,
            faults: FaultSpec::default(),
            seed: 1,
            fault_params: FaultParams::default(),
            shutdown_grace: Duration::from_secs(2),
        }
    }
}

/// Where things live in a farm: host addresses and URLs. Shared by the server and the TOML writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FarmLayout {
    /// Number of hosts.
    pub hosts: u32,
    /// Number of feeds.
    pub feeds: u64,
    /// Port on every host.
    pub port: u16,
    /// Address of host 0.
    pub base_ip: Ipv4Addr,
}

impl FarmLayout {
    /// Checks that there is at least one host and that every host address is a loopback address.
    pub fn validate(&self) -> Result<(), String> {
        if self.hosts == 0 {
            return Err("--hosts must be at least 1".into());
        }
        let first = u32::from(self.base_ip);
        let last = first.checked_add(self.hosts - 1);
        let in_lo = |ip: u32| Ipv4Addr::from(ip).octets()[0] == 127;
        match last {
            Some(last) if in_lo(first) && in_lo(last) => Ok(()),
            _ => Err(format!(
                "{} hosts from {} leave 127.0.0.0/8; only loopback addresses are allowed",
                self.hosts, self.base_ip
            )),
        }
    }

    /// Address of host `h`.
    pub fn host_ip(&self, h: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base_ip) + h)
    }

    /// Index of the host that serves feed `k`.
    pub fn host_of(&self, k: u64) -> u32 {
        (k % u64::from(self.hosts)) as u32
    }

    /// `http://IP:PORT` of host `h`.
    pub fn host_url(&self, h: u32) -> String {
        format!("http://{}:{}", self.host_ip(h), self.port)
    }

    /// The URL of feed `k` on its own host.
    pub fn feed_url(&self, k: u64) -> String {
        format!("{}/feeds/{k}.xml", self.host_url(self.host_of(k)))
    }

    /// The explicit fault URL `/fault/{fault}/{k}.xml` on feed `k`'s host.
    pub fn fault_url(&self, fault: Fault, k: u64) -> String {
        format!("{}/fault/{fault}/{k}.xml", self.host_url(self.host_of(k)))
    }
}

/// A running farm. Dropping it shuts the farm down (without waiting).
#[derive(Debug)]
pub struct FarmHandle {
    /// The port every host listens on (resolved when the config asked for 0).
    pub port: u16,
    /// Shared server state (config, counters).
    farm: Arc<server::Farm>,
    /// Set to true to start shutdown.
    shutdown: watch::Sender<bool>,
    /// The supervisor task that completes when everything has stopped.
    stopped: Option<JoinHandle<()>>,
}

impl FarmHandle {
    /// The farm's addresses and URLs.
    pub fn layout(&self) -> FarmLayout {
        self.farm.layout
    }

    /// The URL of feed `k` on its own host.
    pub fn feed_url(&self, k: u64) -> String {
        self.farm.layout.feed_url(k)
    }

    /// `http://IP:PORT` of host `h`.
    pub fn host_url(&self, h: u32) -> String {
        self.farm.layout.host_url(h)
    }

    /// A snapshot of all counters, including per-path counts.
    pub fn stats(&self) -> StatsSnapshot {
        self.farm.stats.snapshot(true)
    }

    /// Zeroes the counters (requests still in flight stay counted as in flight).
    pub fn reset_stats(&self) {
        self.farm.stats.reset();
    }

    /// The fault `--faults` assigned to `/feeds/{k}.xml`, if any.
    pub fn fault_of(&self, k: u64) -> Option<Fault> {
        self.farm.fault_of(k)
    }

    /// Starts shutdown: stop accepting, let in-flight requests finish within the grace period.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Shuts down (if not already) and waits until every listener and connection is gone.
    pub async fn stop(mut self) {
        self.shutdown();
        if let Some(task) = self.stopped.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FarmHandle {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// Binds every host and starts serving on the current Tokio runtime.
///
/// Fails if the layout leaves 127.0.0.0/8 or an address cannot be bound (e.g. the port is taken).
pub async fn start(cfg: FarmConfig) -> std::io::Result<FarmHandle> {
    let (farm, listeners) = server::bind(cfg).await?;
    let port = farm.layout.port;
    let (shutdown, stopped) = server::spawn(farm.clone(), listeners);
    Ok(FarmHandle {
        port,
        farm,
        shutdown,
        stopped: Some(stopped),
    })
}
