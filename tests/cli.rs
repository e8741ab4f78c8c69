//! The command line as a newcomer meets it, through the real binary: every command ends quietly with 0
//! when its reader closes the pipe (`wiredesk sources | head`), the demo's printed hints work exactly as
//! printed, the demo removes its temporary folder when stopped, `help` works with `--help`, and `check`
//! reports every error of a file at once, one line each.

mod common;

use std::process::{Command, Output, Stdio};

use common::demo::Demo;

const BIN: &str = env!("CARGO_BIN_EXE_wiredesk");

/// Runs wiredesk with `args` and its stdout a pipe whose reader is already gone, as when `head` has
/// exited.
fn with_closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The demo's data folder and config, from its printed lines.
fn demo_paths(demo: &mut Demo) -> (std::path::PathBuf, String) {
    let line = demo.wait_for_line(|l| l.contains("; data in "));
    let dir = std::path::PathBuf::from(line.rsplit("; data in ").next().unwrap());
    (dir.clone(), dir.join("feeds.toml").display().to_string())
}

#[test]
fn every_command_ends_quietly_when_its_reader_goes_away() {
    let mut demo = Demo::start();
    demo.wait_until_polled();
    let (_, config) = demo_paths(&mut demo);
    let feed = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/harbor-wire.xml");
    let spun = "https://dailybuzz.example/2026/11/29/tempest-ingrid/";
    let commands: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["--version"],
        vec!["help"],
        vec!["help", "--help"],
        vec!["help", "poll"],
        vec!["poll", "--help"],
        vec!["--config", &config, "check"],
        vec!["--config", &config, "sources"],
        vec!["--config", &config, "sources", "--json"],
        vec!["--config", &config, "stories"],
        vec!["--config", &config, "stories", "--json"],
        vec!["--config", &config, "explain", spun],
        vec!["inspect", feed],
        vec!["inspect", "--json", feed],
    ];
    for args in &commands {
        let out = with_closed_stdout(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "wiredesk {args:?} into a closed pipe: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "wiredesk {args:?}: {}",
            text(&out.stderr)
        );
    }
    // And through a real `head`, with pipefail so that wiredesk's own status counts.
    for cmd in [
        "sources",
        "stories",
        "explain https://dailybuzz.example/2026/11/29/tempest-ingrid/",
    ] {
        let line = format!("set -o pipefail; {BIN} --config {config} {cmd} | head -n 1");
        let out = Command::new("bash").args(["-c", &line]).output().unwrap();
        assert!(out.status.success(), "{line}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 1, "{line}");
    }
    assert!(demo.stop().success());
}

#[test]
fn the_demo_hints_work_as_printed_and_it_cleans_up_after_itself() {
    let mut demo = Demo::start();
    demo.wait_until_polled();
    let (dir, _) = demo_paths(&mut demo);
    assert!(dir.join("demo.db").exists());
    let printed = demo.stdout();
    let hints: Vec<&str> = printed
        .lines()
        .skip_while(|l| !l.starts_with("try, while it runs:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    assert_eq!(hints.len(), 3, "{printed}");
    for hint in &hints {
        // Run by a shell with an empty PATH but for the basics: the hint must name the binary itself.
        let out = Command::new("sh")
            .args(["-c", hint])
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert!(out.status.success(), "{hint}: {}", text(&out.stderr));
        assert!(!out.stdout.is_empty(), "{hint} printed nothing");
    }
    let stories = Command::new("sh").args(["-c", hints[0]]).output().unwrap();
    assert!(text(&stories.stdout).contains("Storm Ingrid forces closure of coastal roads"));
    let explained = Command::new("sh").args(["-c", hints[2]]).output().unwrap();
    let explained = text(&explained.stdout);
    // By role: the spin is the copy, whichever arrived first.
    assert!(
        explained.contains("role: a copy: 'Tempest Ingrid"),
        "{explained}"
    );
    assert!(
        explained.contains("is a rewrite of the original, 'Storm Ingrid"),
        "{explained}"
    );
    for line in ["pages:", "/sections/local", "/status", "/feeds/local.rss"] {
        assert!(
            printed.contains(line),
            "the demo did not print {line}:\n{printed}"
        );
    }
    assert!(demo.stop().success());
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[test]
fn the_demo_stops_cleanly_when_its_output_is_closed() {
    // A temporary folder of its own, so the check below sees only this demo's folder.
    let tmp = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn check_reports_every_error_at_once_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    // Three real errors and one typo.
    std::fs::write(
        &path,
        "[defaults]\nschedule = \"61 * * * *\"\n\
         [[sections]]\nid = \"world\"\ntitel = \"World\"\n\
         [[sources]]\nname = \"A\"\nurl = \"not a url\"\nsections = [\"world\"]\n\
         [[sources]]\nname = \"B\"\nurl = \"https://b.example/feed\"\nsections = [\"nope\"]\n",
    )
    .unwrap();
    let out = run(&["--config", path.to_str().unwrap(), "check"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stderr);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 5, "four errors and the count:\n{report}");
    assert_eq!(lines[4], "4 error(s)");
    assert!(lines[0].contains(":2: defaults.schedule:"), "{report}");
    assert!(
        lines[1].contains(":5: sections[0].titel: unknown key `titel`; did you mean `title`?"),
        "{report}"
    );
    assert!(lines[2].contains(":8: sources[0].url:"), "{report}");
    assert!(
        lines[3].contains(":13: sources[1].sections: unknown section `nope`"),
        "{report}"
    );

    std::fs::write(
        &path,
        "[defaults]\nschedule = \"@hourly\"\n[[sections]]\nid = \"world\"\n",
    )
    .unwrap();
    let out = run(&["--config", path.to_str().unwrap(), "check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn check_reports_section_tree_errors_and_passes_the_shipped_feeds_toml() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        "[[sections]]\nid = \"business\"\nparent = \"crypto\"\n\
         [[sections]]\nid = \"crypto\"\nparent = \"business\"\nmatch = { keywords = [\"bitcoin\"] }\n\
         [[sections]]\nid = \"food\"\nparent = \"lifestyle\"\nmatch = {}\n",
    )
    .unwrap();
    let out = run(&["--config", path.to_str().unwrap(), "check"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stderr);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 4, "three errors and the count:\n{report}");
    assert!(
        lines[0].contains(
            ":3: sections[0].parent: sections form a cycle: business → crypto → business"
        ),
        "{report}"
    );
    assert!(
        lines[1].contains(":10: sections[2].parent: unknown section `lifestyle`"),
        "{report}"
    );
    assert!(
        lines[2].contains(":11: sections[2].match: is empty"),
        "{report}"
    );

    // The shipped file, with its news site's tree, checks clean (its database beside a copy of it).
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/feeds.toml"), &path).unwrap();
    let out = run(&["--config", path.to_str().unwrap(), "check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("15 sections"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn help_reads_well_and_help_help_works() {
    let out = run(&["help", "--help"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["help", "demo"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("--listen"));
    let out = run(&["--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("Start here: `wiredesk demo`"), "{help}");
    let out = run(&["help", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no command `frobnicate`"));
}
