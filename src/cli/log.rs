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

/// Reports a panic as one error line in the log, with where it happened, instead of Rust's default message
/// and stack trace (printed even to journald when `RUST_BACKTRACE` is set). The daemon catches panics in a
/// refresh and carries on, so an operator needs the line, not a trace; a developer who wants the trace sets
/// `WIREDESK_BACKTRACE=1`.
pub fn panics_as_log_lines() {
    let default = std::panic::take_hook();
    let traced = std::env::var_os("WIREDESK_BACKTRACE").is_some_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        if traced {
            return default(info);
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            "internal error (a bug in wiredesk; please report it): {message}{at}"
        );
    }));
}
