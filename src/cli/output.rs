//! Standard output for commands whose output is often piped: `wiredesk sources | head` must end quietly
//! with status 0 once `head` has read enough, not panic on the closed pipe. [`outln!`] writes a line and,
//! when the reader has gone, exits at once with 0; any other write error ends the command with 1.

use std::io::Write;

/// Writes one formatted line to stdout; see the module doc for what a closed pipe does.
macro_rules! outln {
    () => { $crate::cli::output::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::output::line(format_args!($($arg)*)) };
}
pub(crate) use outln;

/// Writes `args` and a newline to stdout.
pub(crate) fn line(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}") {
        exit_on_write_error(e);
    }
}

/// Ends the process after a failed write to stdout: quietly with 0 when the reader closed the pipe (it
/// read what it wanted), else with 1 and the reason.
pub(crate) fn exit_on_write_error(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("wiredesk: cannot write the output: {e}");
    std::process::exit(1);
}

/// Whether `e` (anywhere in its chain) is a closed pipe.
pub(crate) fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}
