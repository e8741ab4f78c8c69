//! The `feedfarm` command line: `serve` runs a farm until SIGINT/SIGTERM, `toml` prints a wiredesk
//! config that subscribes to every feed of a farm.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use feedfarm::wiredesk_toml::{self, TomlOptions};
use feedfarm::{FarmConfig, FarmLayout, FaultParams, FaultSpec};

/// Help text for `--faults`, shared by both subcommands.
const FAULTS_HELP: &str = "\
Assign faults to a fraction of the normal /feeds/{k}.xml paths, as comma-separated NAME=FRACTION \
pairs, e.g. 429=0.01,503=0.01,301=0.005,410=0.005,timeout=0.005,malformed=0.01. \
NAMEs: 429 503 (with Retry-After), 301 302 308 (to /moved/{k}.xml, a clean copy), 410, loop, \
drip, hang (alias timeout), malformed, huge, gzipbomb, deflatebomb, brotlibomb, flaky. Fractions are in [0,1] and sum to \
at most 1. Each feed draws one number from --seed, so the assignment is deterministic and \
permanent for the life of the farm; `feedfarm toml` with the same SPEC and seed marks the same feeds.";

/// Loopback RSS feed farm for wiredesk benchmarks and fault-injection tests.
#[derive(Debug, Parser)]
#[command(name = "feedfarm", version, about)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the farm until SIGINT/SIGTERM.
    ///
    /// Feed k is at http://BASE_IP+(k mod hosts):PORT/feeds/{k}.xml. Fault paths
    /// /fault/{429,503,301,302,308,410,loop,drip,hang,malformed,huge,gzipbomb,deflatebomb,brotlibomb,flaky}/{k}.xml work on
    /// every host (query knobs: retry_after=SECS, retry_after_date=SECS, mb=N, every=N).
    /// Counters: GET /_stats[?paths=0], POST /_stats/reset. The first stdout line is
    /// `feedfarm listening port=PORT ...`, so --port 0 can be scripted.
    Serve(ServeArgs),
    /// Print a wiredesk feeds.toml subscribing to every feed of a farm.
    Toml(TomlArgs),
}

/// Where the farm lives; shared by `serve` and `toml` so both agree on URLs.
#[derive(Debug, Args)]
struct LayoutArgs {
    /// Number of loopback addresses (hosts) to listen on.
    #[arg(long, default_value_t = 100)]
    hosts: u32,
    /// Number of feeds; feed k is served by host k mod hosts.
    #[arg(long, default_value_t = 10_000)]
    feeds: u64,
    /// Port on every host (serve: 0 picks a free one).
    #[arg(long, default_value_t = 8900)]
    port: u16,
    /// First host address; host h is BASE_IP + h (must stay inside 127.0.0.0/8).
    #[arg(long, default_value = "127.0.1.1")]
    base_ip: Ipv4Addr,
    /// Fault SPEC (see the long help).
    #[arg(long, value_name = "SPEC", long_help = FAULTS_HELP)]
    faults: Option<FaultSpec>,
    /// Seed of the feed content and of the fault assignment.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl LayoutArgs {
    /// The layout these arguments describe.
    fn layout(&self) -> FarmLayout {
        FarmLayout {
            hosts: self.hosts,
            feeds: self.feeds,
            port: self.port,
            base_ip: self.base_ip,
        }
    }
}

/// Arguments of `feedfarm serve`.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Hosts, feeds, port, faults and seed.
    #[command(flatten)]
    layout: LayoutArgs,
    /// Items per feed.
    #[arg(long, default_value_t = 20)]
    items: u64,
    /// Delay before every response, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Each feed gains a new item every N seconds (changing its ETag); feeds are static if unset.
    #[arg(long, value_name = "N")]
    new_items_every_secs: Option<u64>,
    /// Retry-After seconds of 429/503 faults assigned by --faults (and the /fault/ default).
    #[arg(long, default_value_t = 120)]
    retry_after_secs: u64,
    /// MiB streamed by the huge fault by default.
    #[arg(long, default_value_t = 8)]
    huge_mb: u64,
    /// The flaky fault answers every Nth request with 503 by default.
    #[arg(long, default_value_t = 3)]
    flaky_every: u64,
    /// MiB the gzipbomb, deflatebomb and brotlibomb faults inflate to.
    #[arg(long, default_value_t = 1024)]
    bomb_mib: u64,
    /// Tokio worker threads; 1 keeps the farm to one core next to the client under test.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seconds shutdown waits for in-flight requests before dropping connections.
    #[arg(long, default_value_t = 2)]
    grace_secs: u64,
}

/// Arguments of `feedfarm toml`.
#[derive(Debug, Args)]
struct TomlArgs {
    /// Hosts, feeds, port, faults and seed (use the same values as `serve`).
    #[command(flatten)]
    layout: LayoutArgs,
    /// `[defaults] schedule` of the config (5- or 6-field cron).
    #[arg(long, default_value = "*/5 * * * *")]
    schedule: String,
    /// `[storage] path` of the config.
    #[arg(long, value_name = "PATH", default_value = "wiredesk-bench.db")]
    db: String,
    /// Point faulty sources at explicit /fault/{kind}/{k}.xml URLs (then serve needs no --faults).
    #[arg(long)]
    explicit_fault_urls: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Toml(args) => toml(args),
    }
}

/// Runs `feedfarm toml`.
fn toml(args: TomlArgs) -> ExitCode {
    let layout = args.layout.layout();
    if let Err(e) = layout.validate() {
        eprintln!("feedfarm: {e}");
        return ExitCode::from(2);
    }
    let text = wiredesk_toml::render(&TomlOptions {
        layout,
        schedule: args.schedule,
        db: args.db,
        faults: args.layout.faults.clone().unwrap_or_default(),
        seed: args.layout.seed,
        explicit_fault_urls: args.explicit_fault_urls,
    });
    // A closed pipe (e.g. `| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// Runs `feedfarm serve` on a runtime with `--threads` workers.
fn serve(args: ServeArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("feedfarm: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve_async(args))
}

/// Starts the farm, prints where it listens, and waits for SIGINT/SIGTERM.
async fn serve_async(args: ServeArgs) -> ExitCode {
    let cfg = FarmConfig {
        hosts: args.layout.hosts,
        feeds: args.layout.feeds,
        items: args.items,
        latency: Duration::from_millis(args.latency_ms),
        port: args.layout.port,
        base_ip: args.layout.base_ip,
        new_items_every: args.new_items_every_secs.map(Duration::from_secs),
        faults: args.layout.faults.clone().unwrap_or_default(),
        seed: args.layout.seed,
        fault_params: FaultParams {
            retry_after_secs: args.retry_after_secs,
            huge_mb: args.huge_mb,
            flaky_every: args.flaky_every.max(1),
            bomb_mib: args.bomb_mib,
        },
        shutdown_grace: Duration::from_secs(args.grace_secs),
    };
    let farm = match feedfarm::start(cfg).await {
        Ok(farm) => farm,
        Err(e) => {
            eprintln!("feedfarm: {e}");
            return ExitCode::FAILURE;
        }
    };
    let layout = farm.layout();
    let faulty = (0..layout.feeds)
        .filter(|&k| farm.fault_of(k).is_some())
        .count();
    println!(
        "feedfarm listening port={} hosts={} ({}..{}) feeds={} faulty_feeds={} example={}",
        farm.port,
        layout.hosts,
        layout.host_ip(0),
        layout.host_ip(layout.hosts - 1),
        layout.feeds,
        faulty,
        farm.feed_url(0),
    );
    let _ = std::io::stdout().flush();
    wait_for_signal().await;
    eprintln!("feedfarm: shutting down");
    farm.stop().await;
    ExitCode::SUCCESS
}

/// Resolves on SIGINT or SIGTERM.
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
