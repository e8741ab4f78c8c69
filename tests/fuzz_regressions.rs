//! Inputs the fuzz targets (`fuzz/`) found, each kept as a test of the normal suite. The inputs are inline;
//! the fuzz corpora keep them too.

mod common;

use std::collections::HashMap;
use std::process::Command;

/// A body that is not UTF-8 and whose XML declaration has a curly quote after `encoding=`.
const MULTIBYTE_QUOTE: &[u8] =
    b"<?xml version=\"1.0\" encoding=\xe2\x80\x9cutf-8\xe2\x80\x9d?><rss version=\"2.0\"><channel>\
      <title>\xff</title></channel></rss>";

#[test]
fn a_multibyte_quote_after_encoding_does_not_panic() {
    let outcome = std::panic::catch_unwind(|| {
        let _ = wiredesk::parse::parse_feed(MULTIBYTE_QUOTE, None, None);
    });
    assert!(outcome.is_ok(), "parse_feed panicked");
}

/// What the `feed` target found in its first minute (minimised; its first byte chose no Content-Type
/// here): bytes that are not UTF-8, then an XML declaration naming an encoding, not at the start. quick-xml
/// 0.42 (the newest) panicked in `set_encoding` when feed-rs asked it to switch that late (fixed in the
/// vendored feed-rs).
const LATE_DECLARATION: &[u8] =
    b"\n : \xff\xffz\x88^\xff\xfe\x80r tim<?xml vern=\"1.0\"encoding=\"windows-1252\"?>";

#[test]
fn a_late_xml_declaration_does_not_panic() {
    let outcome = std::panic::catch_unwind(|| {
        let _ = wiredesk::parse::parse_feed(LATE_DECLARATION, None, None);
    });
    assert!(outcome.is_ok(), "parse_feed panicked");
}

/// What the `feed` target found after eight minutes (minimised): an e-mail address followed by a
/// multi-byte character (here \x91, a curly quote in windows-1252) in `managingEditor`. feed-rs 3.0.0 (the
/// newest) sliced one byte past the address for the name and panicked (fixed in the vendored feed-rs). An
/// em dash does it as well, in any person field (`author` below), so real feeds can.
const EMAIL_THEN_MULTIBYTE: &[u8] = b"<rss r><channel><managingEditor>e@b.zo\x91\n";
/// The same before the address (the feed target's third find, minimised): \x9b is `›` in windows-1252,
/// and the name was cut one byte before the address.
const MULTIBYTE_THEN_EMAIL: &[u8] =
    b"<rss version=\"2.0\"><channel><title>t</title><managingEditor>edit\x9bor@example.com</managingEditor>\
      </channel></rss>";
const EMAIL_THEN_DASH: &str = "<rss version=\"2.0\"><channel><title>t</title><item><title>Dash</title>\
    <author>news@example.org\u{2014}Jane Doe</author><guid>d1</guid></item></channel></rss>";

#[test]
fn an_email_followed_by_a_multibyte_character_does_not_panic() {
    for body in [
        EMAIL_THEN_MULTIBYTE,
        MULTIBYTE_THEN_EMAIL,
        EMAIL_THEN_DASH.as_bytes(),
    ] {
        let outcome = std::panic::catch_unwind(|| {
            let _ = wiredesk::parse::parse_feed(body, None, None);
        });
        assert!(outcome.is_ok(), "parse_feed panicked on {body:?}");
    }
    // The name is still cut from the address, the dash with it.
    let parsed = wiredesk::parse::parse_feed(EMAIL_THEN_DASH.as_bytes(), None, None).unwrap();
    let author = &parsed.feed.entries[0].authors[0];
    assert_eq!(author.name.as_deref(), Some("Jane Doe"));
    assert_eq!(author.email.as_deref(), Some("news@example.org"));
}

/// The daemon reads each of them as a feed or fails it as a parse error, never as a panic; the other source is
/// stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_reads_or_refuses_every_found_input_without_a_panic() {
    let normal =
        b"<rss version=\"2.0\"><channel><title>n</title><item><title>The ferry runs again on \
                   the winter timetable</title><guid>n1</guid></item></channel></rss>";
    let bodies: [(&str, &[u8]); 6] = [
        ("quote", MULTIBYTE_QUOTE),
        ("late", LATE_DECLARATION),
        ("email", EMAIL_THEN_MULTIBYTE),
        ("editor", MULTIBYTE_THEN_EMAIL),
        ("dash", EMAIL_THEN_DASH.as_bytes()),
        ("normal", normal),
    ];
    let files: HashMap<String, (Vec<u8>, String)> = bodies
        .iter()
        .map(|(n, b)| {
            (
                format!("/{n}.xml"),
                (b.to_vec(), "application/rss+xml".to_string()),
            )
        })
        .collect();
    let (addr, _) = common::serve_files(files).await;
    let specs: Vec<common::SourceSpec> = bodies
        .iter()
        .map(|(n, _)| {
            (
                n.to_string(),
                format!("http://{addr}/{n}.xml"),
                vec!["all".into()],
                0,
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    let toml = common::config_toml("127.0.0.1:9", &dir.path().join("r.db"), &["all"], &specs)
        .replace("schedule = \"0 0 1 1 *\"", "schedule = \"* * * * *\"");
    std::fs::write(&path, toml).unwrap();
    let summary = wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), None)
        .await
        .unwrap();
    assert!(
        summary
            .failures
            .iter()
            .all(|(_, why)| !why.contains("panicked")),
        "{:?}",
        summary.failures
    );
    let config = wiredesk::config::load(&path).unwrap();
    let store = wiredesk::store::Store::open_read_only(&config.storage.path).unwrap();
    let rows = store.sources().unwrap();
    assert_eq!(rows.len(), bodies.len());
    for row in rows {
        let result = row.last_result.map(|r| r.to_string()).unwrap_or_default();
        assert!(
            result == "error (parse)" || result.starts_with("ok"),
            "{}: {result}",
            row.name
        );
        if result == "error (parse)" {
            assert_eq!(
                row.due_reason.map(|r| r.as_str()),
                Some("backoff"),
                "{}",
                row.name
            );
        } else if row.name == "normal" || row.name == "dash" {
            assert!(result.starts_with("ok"), "{}: {result}", row.name);
        }
    }
}

#[test]
fn inspect_reads_the_found_inputs_without_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("quote.xml", MULTIBYTE_QUOTE),
        ("late.xml", LATE_DECLARATION),
        ("email.xml", EMAIL_THEN_MULTIBYTE),
        ("editor.xml", MULTIBYTE_THEN_EMAIL),
        ("dash.xml", EMAIL_THEN_DASH.as_bytes()),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, body).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_wiredesk"))
            .arg("inspect")
            .arg(&file)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("stack backtrace") && !stderr.contains("panicked at"),
            "{stderr}"
        );
        // A parser panic, should one come back, is one line naming the file, exit 2; a parse error is too.
        if stderr.contains("could not read it") {
            assert_eq!(out.status.code(), Some(2), "{stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
            assert!(
                stderr.contains(&format!("{name}: wiredesk could not read it")),
                "{stderr}"
            );
        }
    }
}
