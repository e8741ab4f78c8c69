//! The command line: parses arguments with clap and runs one command. `main.rs` only calls [`main`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::store::{Store, StoryView};

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
    /// Validate the config and print every error with its line.
    Check,
    /// Poll every source once, ingest, publish, then exit.
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
            ExitCode::FAILURE
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
        Command::Check => match config::load(&cli.config) {
            Ok(c) => {
                println!(
                    "{}: ok ({} sections, {} sources)",
                    cli.config.display(),
                    c.sections.len(),
                    c.sources.len()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                eprintln!("{} error(s)", e.errors.len());
                Ok(ExitCode::FAILURE)
            }
        },
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
            for f in &summary.failures {
                eprintln!("  failed: {f}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Stories {
            section,
            since,
            json,
        } => {
            let config = load(&cli.config)?;
            let since = match since.as_deref() {
                Some(s) => Utc::now().timestamp() - parse_duration(s)?,
                None => i64::MIN,
            };
            let store = Store::open_read_only(&config.storage.path)?;
            if let Some(s) = &section
                && config.section(s).is_none()
            {
                anyhow::bail!("no section `{s}` in {}", cli.config.display());
            }
            print_stories(&store.stories_since(section.as_deref(), since)?, json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { url } => {
            let config = load(&cli.config)?;
            let store = Store::open_read_only(&config.storage.path)?;
            crate::explain::explain(&store, &url)
        }
        Command::Inspect { target, json } => {
            runtime()?.block_on(crate::inspect::inspect(&target, json))
        }
        Command::Sources { json } => {
            let config = load(&cli.config)?;
            let store = Store::open_read_only(&config.storage.path)?;
            crate::explain::print_sources(&store.sources()?, json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { listen } => {
            let addr = listen
                .parse()
                .with_context(|| format!("`{listen}` is not an address:port"))?;
            runtime()?.block_on(crate::demo::run(addr))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Parses `48h`, `7d`, `90m`, `30s` into seconds.
pub fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .with_context(|| format!("`{s}` is not a duration; write e.g. 48h, 7d or 90m"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" | "" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => anyhow::bail!("`{s}` has an unknown unit `{unit}`; use s, m, h, d or w"),
    };
    Ok(n * mult)
}

fn rfc3339(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn print_stories(stories: &[StoryView], json: bool) {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for story in stories {
        let rep = story.representative();
        if json {
            let members: Vec<_> = story
                .members
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "url": m.url, "guid": m.guid, "source": m.source_name, "title": m.title,
                        "published": rfc3339(m.published), "score": m.score, "layer": m.layer,
                    })
                })
                .collect();
            let line = serde_json::json!({
                "id": story.guid, "sections": story.sections, "title": rep.title, "url": rep.url,
                "published": rfc3339(story.published), "updated": rfc3339(story.updated), "members": members,
            });
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(
                out,
                "{}  {}  [{}]",
                rfc3339(story.published),
                rep.title,
                story.sections.join(", ")
            );
            for m in &story.members {
                let _ = writeln!(
                    out,
                    "    {:<10} {:.2}  {}  {}",
                    if m.layer.is_empty() { "-" } else { &m.layer },
                    m.score,
                    m.source_name,
                    m.url.as_deref().unwrap_or(&m.guid)
                );
            }
        }
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_bad_ones_are_explained() {
        assert_eq!(parse_duration("48h").unwrap(), 172_800);
        assert_eq!(parse_duration("7d").unwrap(), 604_800);
        assert_eq!(parse_duration("90m").unwrap(), 5_400);
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .to_string()
                .contains("not a duration")
        );
        assert!(
            parse_duration("3y")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
