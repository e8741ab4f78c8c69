//! A panic is reported as one log line saying where it happened, never as Rust's default message with a
//! stack trace, even with `RUST_BACKTRACE=1` (which journald would otherwise get line by line). This test
//! sits in its own file because a panic hook is global to the process.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_panic_is_one_log_line_without_a_stack_trace() {
    // SAFETY: set before any other thread of this test binary reads the environment.
    unsafe { std::env::set_var("RUST_BACKTRACE", "1") };
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .init();
    wiredesk::cli::panics_as_log_lines();

    let joined = std::thread::Builder::new()
        .name("poll-7".into())
        .spawn(|| panic!("a feed made the parser trip over {}", 42))
        .unwrap()
        .join();
    assert!(joined.is_err(), "the thread panicked");

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "one line for one panic:\n{log}");
    let line = lines[0];
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains("internal error (a bug in wiredesk; please report it): a feed made the parser trip over 42 at tests/panic_log.rs:"),
        "{line}"
    );
    assert!(line.contains("poll-7"), "the thread is named: {line}");
    assert!(!log.contains("stack backtrace"), "{log}");
}
