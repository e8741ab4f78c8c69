//! Logging: tracing to stderr, human-readable on a terminal (with colour) and under systemd's journal
//! (without timestamps or colour: journald stamps every line itself), or one JSON object per line with
//! `--log-format json`. The level comes from `WIREDESK_LOG` or `RUST_LOG` when set, else from `[log] level`
//! in the config once the daemon has read it (and again on every reload), else a default.

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// How log lines look.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable; timestamps and colour only where nothing else adds them.
    #[default]
    Human,
    /// One JSON object per line, with a timestamp, level, target, message and fields.
    Json,
}

/// The handle that changes the level after start, when no environment variable fixed it.
static LEVEL: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// The level the environment asks for, if any (`WIREDESK_LOG` first, then `RUST_LOG`).
fn level_from_env() -> Option<String> {
    ["WIREDESK_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
}

/// Whether stderr is the journal's stream: systemd sets `JOURNAL_STREAM` to its device and inode, and a
/// child that redirected stderr elsewhere inherits the variable, so both are compared.
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    stream.to_string_lossy() == format!("{}:{}", meta.dev(), meta.ino())
}

/// Starts logging to stderr in `format`, at the environment's level or `default`.
pub(crate) fn init(format: LogFormat, default: &str) {
    let filter = level_from_env()
        .and_then(|l| EnvFilter::try_new(&l).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    // Lines go above a `poll --once` progress bar rather than through it.
    let layer = tracing_subscriber::fmt::layer().with_writer(super::progress::LogWriter);
    let installed = match format {
        LogFormat::Json => registry.with(layer.json()).try_init(),
        LogFormat::Human if stderr_is_journal() => registry
            .with(layer.without_time().with_ansi(false).with_target(false))
            .try_init(),
        LogFormat::Human => registry
            .with(
                layer
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_target(false),
            )
            .try_init(),
    };
    if installed.is_ok() {
        let _ = LEVEL.set(handle);
    }
}

/// Puts the config's `[log] level` in force, unless `WIREDESK_LOG` or `RUST_LOG` set one (they win).
/// The config validated the filter already; a no-op when logging was not started here (tests).
pub(crate) fn apply_config_level(level: &str) {
    if level_from_env().is_some() {
        return;
    }
    if let (Some(handle), Ok(filter)) = (LEVEL.get(), EnvFilter::try_new(level))
        && let Err(e) = handle.reload(filter)
    {
        tracing::warn!("cannot change the log level to `{level}`: {e}");
    }
}
