//! The command line: parses arguments with clap and runs one command; one file per command that needs more
//! than a few lines. `main.rs` only calls [`main`].
//!
//! Exit codes: 0 success; 1 `poll --once` finished but at least one source failed (each is listed on
//! stderr), or `check` found errors, or `explain` found no such item; 2 the command could not run (a bad
//! config, a database that cannot be opened, a bad argument).

pub(crate) mod backup;
pub(crate) mod demo;
pub(crate) mod explain;
pub(crate) mod import_opml;
pub mod inspect;
pub(crate) mod log;

pub use log::panics_as_log_lines;
pub(crate) mod output;
mod progress;
pub(crate) mod sources;
pub(crate) mod stories;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{CommandFactory, Parser, Subcommand};

use crate::config::{self, Config};
use crate::store::Store;
use output::outln;

/// wiredesk polls news feeds on schedules, folds reposted and rewritten copies of a story into one story,
/// and republishes one clean RSS, Atom and JSON feed per section, plus pages to read them in a browser.
#[derive(Parser, Debug)]
#[command(
    name = "wiredesk",
    version,
    about,
    long_about = None,
    disable_help_subcommand = true,
    after_help = "Start here: `wiredesk demo` runs an offline demo with bundled feeds.\n\
                  Every command reads feeds.toml in the current folder unless --config says otherwise.\n\
                  `wiredesk help COMMAND` (or `wiredesk COMMAND --help`) tells more about one command."
)]
pub struct Cli {
    /// The config file (sections, sources, storage); relative paths in it resolve against its folder.
    #[arg(
        long,
        short,
        global = true,
        default_value = "feeds.toml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
    /// How log lines look on stderr: human (no timestamps under journald) or json (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = log::LogFormat::Human)]
    pub log_format: log::LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: poll on schedules, publish, serve HTTP; SIGHUP reloads the config, SIGTERM stops.
    Run,
    /// Check the config (and everything a reload would build from it); print every error with its line.
    Check,
    /// Poll every source once, store, publish, then exit: 0 when all succeeded, 1 when any failed.
    #[command(
        after_help = "On a terminal a progress bar shows the sources polled; the summary and each \
                            failure (once) are printed at the end."
    )]
    Poll {
        /// Required: poll once and exit (the daemon that polls on schedules is `wiredesk run`).
        #[arg(long)]
        once: bool,
        /// Also write every published feed and page into this folder, for a static web server.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// List the stored stories, newest first, each with every copy of it.
    Stories {
        /// Only the stories of this section (its `id` in feeds.toml).
        #[arg(long, value_name = "ID")]
        section: Option<String>,
        /// Only stories published within this long: 90m, 48h, 7d, 2w; default: every stored story.
        #[arg(long, value_name = "AGE")]
        since: Option<String>,
        /// Print one JSON object per story per line instead.
        #[arg(long)]
        json: bool,
    },
    /// Explain why an item sits in its story: which copy is the original, and what it was compared with.
    Explain {
        /// The item's link (any spelling: tracking parameters, http or www do not matter) or its guid.
        url: String,
    },
    /// Fetch or read one feed and show how wiredesk parses and normalises it (nothing is stored).
    Inspect {
        /// A feed URL, a web page URL (the feeds it links to are listed) or a file.
        target: String,
        /// Print one JSON object per entry per line instead.
        #[arg(long)]
        json: bool,
        /// Also allow this non-public network (CIDR or address, repeatable); by default only public
        /// addresses are fetched, as in the daemon.
        #[arg(long, value_name = "CIDR", value_parser = parse_network)]
        allow_network: Vec<ipnet::IpNet>,
    },
    /// List every source: health, last poll and its result, next poll and why, last error.
    Sources {
        /// Print one JSON object per source per line instead.
        #[arg(long)]
        json: bool,
    },
    /// Write an online, consistent copy of the database to PATH (safe while the daemon runs).
    Backup {
        /// Where to write the copy; must not exist.
        path: PathBuf,
    },
    /// Print `[[sources]]` TOML for an OPML file's feeds that the config does not have yet.
    ImportOpml {
        /// The OPML file (a reader's subscription export, or a wiredesk's /feeds.opml).
        file: PathBuf,
        /// Put every feed in this section (default: the section named like its folder, else the first).
        #[arg(long)]
        section: Option<String>,
    },
    /// Run an offline demo: bundled sample feeds (with reposts, a rewritten copy and two broken sources)
    /// served on loopback, the real pipeline, and pages and feeds to open; Ctrl-C stops and cleans up.
    Demo {
        /// The address to serve the demo's pages and feeds on; port 0 picks a free port (the first line
        /// printed says which).
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
        listen: String,
    },
    /// Print the help of wiredesk or of one command.
    Help {
        /// The command to explain.
        command: Option<String>,
    },
}

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    log::init(cli.log_format, default_log_filter(&cli.command));
    log::panics_as_log_lines();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wiredesk: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// What a command logs unless `WIREDESK_LOG`, `RUST_LOG` or `[log] level` says otherwise. The daemon logs
/// what it does; one-shot commands only what went wrong. `poll --once` lists each failed source in its
/// summary and the demo tells each in words, so their per-source warnings would say everything twice.
fn default_log_filter(command: &Command) -> &'static str {
    match command {
        Command::Run => "info",
        Command::Poll { .. } | Command::Demo { .. } => "warn,wiredesk::pipeline::refresh=error",
        _ => "warn",
    }
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
            let runtime = runtime()?;
            runtime.block_on(crate::daemon::run(&cli.config))?;
            // Connections the server dropped at its deadline may still have tasks; they go with the runtime.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            Ok(ExitCode::SUCCESS)
        }
        Command::Poll { once, out } => {
            if !once {
                anyhow::bail!(
                    "`wiredesk poll` needs --once; to poll on schedules, run `wiredesk run`"
                );
            }
            poll_once(load(&cli.config)?, out.as_deref())
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
        Command::Backup { path } => {
            let config = load(&cli.config)?;
            backup::backup(&config.storage.path, &path)
        }
        Command::ImportOpml { file, section } => {
            let config = load(&cli.config)?;
            import_opml::import(&config, &file, section.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { listen } => runtime()?.block_on(demo::run(&listen)),
        Command::Help { command } => help(command.as_deref()),
    }
}

/// A network for `--allow-network`: a CIDR, or one address.
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is not a network such as 10.0.0.0/8 or fd00::/8"))
}

/// `wiredesk help [COMMAND]`: the long help of wiredesk or of one command.
fn help(command: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut cli = Cli::command();
    let text = match command {
        None => cli.render_long_help(),
        Some(name) => match cli.find_subcommand_mut(name) {
            Some(sub) => sub.render_long_help(),
            None => {
                let names: Vec<String> = Cli::command()
                    .get_subcommands()
                    .map(|c| c.get_name().to_string())
                    .collect();
                anyhow::bail!("no command `{name}`; the commands are {}", names.join(", "));
            }
        },
    };
    outln!("{}", text.to_string().trim_end());
    Ok(ExitCode::SUCCESS)
}

/// `wiredesk poll --once`: a progress bar on a terminal, then the summary on stdout and each failure once
/// on stderr; 1 when any source failed.
fn poll_once(config: Config, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let progress = progress::PollProgress::start();
    let summary = runtime()?.block_on(crate::daemon::poll_once_with_progress(
        config,
        out,
        &mut |summary, total| progress.update(summary, total),
    ));
    drop(progress);
    let summary = summary?;
    outln!(
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
    if let Err(e) = storage_writable(&config.storage.path) {
        eprintln!("{}: storage.path: {e:#}", path.display());
        return Ok(ExitCode::FAILURE);
    }
    outln!(
        "{}: ok ({} sections, {} sources)",
        path.display(),
        config.sections.len(),
        config.sources.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Whether the daemon could write the database at `db`: the file (if there) opens for writing, and a file
/// can be created in its folder (or, when the folder does not exist yet, in the nearest one that does,
/// where the daemon would create it). Creating a file is the only test that sees read-only mounts and
/// systemd's sandbox.
fn storage_writable(db: &Path) -> anyhow::Result<()> {
    let hint = "the daemon could not store anything; point [storage] path at a writable folder \
                (under systemd: path = \"/var/lib/wiredesk/wiredesk.db\", the unit's StateDirectory)";
    if db.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(db)
            .with_context(|| format!("{} cannot be written; {hint}", db.display()))?;
    }
    let mut dir = db.parent().unwrap_or(Path::new(".")).to_path_buf();
    if dir.as_os_str().is_empty() {
        dir = PathBuf::from(".");
    }
    while !dir.exists() {
        match dir.parent() {
            Some(up) if !up.as_os_str().is_empty() => dir = up.to_path_buf(),
            _ => break,
        }
    }
    let probe = dir.join(format!(".wiredesk-check-{}", std::process::id()));
    std::fs::File::create(&probe)
        .with_context(|| format!("the folder {} is not writable; {hint}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
