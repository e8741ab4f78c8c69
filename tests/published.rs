//! Published feeds as a careful editor would publish them: every section's RSS and Atom, after polling the dev
//! set, real-world corpus feeds and hostile feeds, pass the W3C Feed Validator (`../shared/validators`) with
//! no error and none of the warnings that mean a wrong date, markup in text or an unsafe document.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::published::{SECTIONS, publish_fixture};

/// Warning classes that mean the document is wrong, not merely unusual: repeated `updated` (every story
/// "changed now"), markup in plain text, invalid or unsafe HTML, absurd dates and RFC 822 dates readers
/// misread.
const REFUSED: &[&str] = &[
    "DuplicateUpdated",
    "ContainsHTML",
    "ContainsUndeclaredHTML",
    "NotHtml",
    "SecurityRisk",
    "SecurityRiskAttr",
    "DangerousStyleAttr",
    "ImplausibleDate",
    "ProblematicalRFC822Date",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_section_passes_the_w3c_feed_validator() {
    let published = publish_fixture().await;
    let validator = common::shared_dir().join("validators/feedcheck.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&validator).arg("--json");
    for section in SECTIONS {
        for ext in ["rss", "atom"] {
            cmd.arg(format!(
                "{}={}",
                published.document(section, ext).display(),
                published.self_url(section, ext)
            ));
        }
    }
    let out = cmd.output().expect("python3 runs feedcheck.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "feedcheck.py needs html5lib (apt-get install -y python3-html5lib): {stderr}"
    );
    let mut errors = Vec::new();
    let mut refused = Vec::new();
    let mut warnings: BTreeMap<String, usize> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let report: serde_json::Value = serde_json::from_str(line).unwrap();
        let doc = report["document"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        for e in report["errors"].as_array().unwrap() {
            errors.push(format!("{doc}: {e}"));
        }
        for w in report["warnings"].as_array().unwrap() {
            let class = w["class"].as_str().unwrap();
            let n = w["count"].as_u64().unwrap() as usize;
            println!(
                "{doc}: {n} x {class}: {} (first at {})",
                w["message"], w["first"]
            );
            *warnings.entry(class.to_string()).or_default() += n;
            if REFUSED.contains(&class) {
                refused.push(format!("{doc}: {w}"));
            }
        }
    }
    println!("warnings by class: {warnings:?}");
    assert!(errors.is_empty(), "validator errors: {errors:#?}");
    assert!(refused.is_empty(), "refused warnings: {refused:#?}");
}
