//! The command line: parses arguments with clap and runs one command; one file per command that needs more
//! than a few lines. `main.rs` only calls [`main`].
//!
//! Exit codes: 0 success; 1 `poll --once` finished but at least one source failed (each is listed on
//! stderr), or `check` found errors, or `explain` found no such item; 2 the command could not run (a bad
//! config, a database that cannot be opened, a bad argument).

pub mod demo;
pub mod explain;
pub mod inspect;
pub mod sources;
pub mod stories;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::store::Store;

/// wiredesk: polls news feeds, folds reposted and spun copies into stories, and republishes clean feeds.
#[derive(Parser, Debug)]
#[command(name = "wiredesk", version, about, long_about = None)]
pub struct Cli {
    /// The config file.
    #[arg(long, short, global = true, default_value = "feeds.toml")]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: schedule, poll, publish and serve until SIGTERM; SIGHUP reloads the config.
    Run,
    /// Validate the config (everything a reload would build) and print every error with its line.
    Check,
    /// Poll every source once, ingest, publish, then exit (1 when a source failed).
    Poll {
        /// Required: poll once and exit (the daemon is `wiredesk run`).
        #[arg(long)]
        once: bool,
        /// Also write the rendered feeds into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// List stories with every member item.
    Stories {
        /// Only this section.
        #[arg(long)]
        section: Option<String>,
        /// Only stories published within this long (e.g. 48h, 7d, 90m); default: all stored.
        #[arg(long)]
        since: Option<String>,
        /// One JSON object per story per line.
        #[arg(long)]
        json: bool,
    },
    /// Explain why an item sits in its story.
    Explain {
        /// The item's link (any spelling) or guid.
        url: String,
    },
    /// Fetch or read one feed and show how wiredesk parses and normalises it.
    Inspect {
        /// A feed URL, an HTML page URL (its feeds are discovered) or a file.
        target: String,
        /// One JSON object per entry per line.
        #[arg(long)]
        json: bool,
        /// Also allow this non-public network (CIDR or address, repeatable); by default only public
        /// addresses are fetched, as in the daemon.
        #[arg(long, value_name = "CIDR", value_parser = parse_network)]
        allow_network: Vec<ipnet::IpNet>,
    },
    /// List every source with its last poll, result, next due time and why, and last error.
    Sources {
        /// One JSON object per source per line.
        #[arg(long)]
        json: bool,
    },
    /// Offline demo: serve bundled sample feeds on loopback and run the daemon against them.
    Demo {
        /// Address for the demo's wiredesk server.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
}

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Run | Command::Demo { .. }));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wiredesk: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(daemon: bool) {
    let default = if daemon { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WIREDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn load(path: &Path) -> anyhow::Result<Config> {
    config::load(path).map_err(|e| {
        anyhow::anyhow!(
            "{e}\n(run `wiredesk check --config {}` after fixing it)",
            path.display()
        )
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check => check(&cli.config),
        Command::Run => {
            runtime()?.block_on(crate::daemon::run(&cli.config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Poll { once, out } => {
            if !once {
                anyhow::bail!(
                    "`wiredesk poll` needs --once; to poll on schedules, run `wiredesk run`"
                );
            }
            let config = load(&cli.config)?;
            let summary = runtime()?.block_on(crate::daemon::poll_once(config, out.as_deref()))?;
            println!(
                "polled {} sources: {} fetched, {} unchanged, {} failed; {} new items, {} new stories, {} joined existing stories",
                summary.polled,
                summary.fetched,
                summary.unchanged,
                summary.failures.len(),
                summary.new_items,
                summary.new_stories,
                summary.joined
            );
            for (source, why) in &summary.failures {
                eprintln!("  failed: {source}: {why}");
            }
            Ok(if summary.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Stories {
            section,
            since,
            json,
        } => {
            let config = load(&cli.config)?;
            let since = match since.as_deref() {
                Some(s) => Utc::now().timestamp() - stories::parse_duration(s)?,
                None => i64::MIN,
            };
            let store = Store::open_read_only(&config.storage.path)?;
            if let Some(s) = &section
                && config.section(s).is_none()
            {
                anyhow::bail!("no section `{s}` in {}", cli.config.display());
            }
            stories::print_stories(&store.stories_since(section.as_deref(), since)?, json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { url } => {
            let config = load(&cli.config)?;
            let store = Store::open_read_only(&config.storage.path)?;
            explain::explain(&store, &url)
        }
        Command::Inspect {
            target,
            json,
            allow_network,
        } => runtime()?.block_on(inspect::inspect(&target, json, &allow_network)),
        Command::Sources { json } => {
            let config = load(&cli.config)?;
            let store = Store::open_read_only(&config.storage.path)?;
            sources::print_sources(&store.sources()?, json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { listen } => {
            let addr = listen
                .parse()
                .with_context(|| format!("`{listen}` is not an address:port"))?;
            runtime()?.block_on(demo::run(addr))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A network for `--allow-network`: a CIDR, or one address.
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is not a network such as 10.0.0.0/8 or fd00::/8"))
}

/// `wiredesk check`: the file, and everything a reload would build from it (the HTTP client among them).
fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match config::load(path) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("{e}");
            eprintln!("{} error(s)", e.errors.len());
            return Ok(ExitCode::FAILURE);
        }
    };
    let hosts = crate::fetch::hosts::HostLimits::new(1, 1, std::time::Duration::ZERO);
    if let Err(e) = crate::pipeline::Settings::build(config.clone(), &hosts) {
        eprintln!(
            "{}: the configuration cannot be put in force: {e:#}",
            path.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{}: ok ({} sections, {} sources)",
        path.display(),
        config.sections.len(),
        config.sources.len()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
