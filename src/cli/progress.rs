//! `poll --once` on a terminal: an indicatif progress bar on stderr, with log lines printed above it
//! rather than through it. [`LogWriter`] is the tracing writer for every command; while a bar is shown it
//! suspends the bar for each log line, so the two never share a line.

use std::io::Write;
use std::sync::RwLock;

use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::fmt::MakeWriter;

use crate::daemon::PollSummary;

/// The bar on screen, if any; the log writer looks here before each line.
static BAR: RwLock<Option<ProgressBar>> = RwLock::new(None);

/// Writes tracing's lines to stderr, above the progress bar when one is shown.
pub(crate) struct LogWriter;

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine;
    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
    }
}

/// One log event, collected and written whole when tracing drops it.
pub(crate) struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let write = || {
            // A log line that cannot be written (stderr closed) is dropped: logging must not end a command.
            let _ = std::io::stderr().lock().write_all(&self.0);
        };
        let bar = BAR.read().expect("progress bar lock").clone();
        match bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

/// The progress of `poll --once`: a bar on a terminal, nothing otherwise.
pub(crate) struct PollProgress {
    bar: Option<ProgressBar>,
}

impl PollProgress {
    /// A bar on stderr when stderr is a terminal.
    pub(crate) fn start() -> PollProgress {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return PollProgress { bar: None };
        }
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} sources polled  {msg}  [{elapsed}]")
                .expect("a valid template"),
        );
        *BAR.write().expect("progress bar lock") = Some(bar.clone());
        PollProgress { bar: Some(bar) }
    }

    /// Shows the counts so far of `total` sources.
    pub(crate) fn update(&self, summary: &PollSummary, total: usize) {
        let Some(bar) = &self.bar else { return };
        bar.set_length(total as u64);
        bar.set_position(summary.polled as u64);
        bar.set_message(format!(
            "{} failed, {} new items",
            summary.failures.len(),
            summary.new_items
        ));
    }
}

impl Drop for PollProgress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            *BAR.write().expect("progress bar lock") = None;
        }
    }
}
