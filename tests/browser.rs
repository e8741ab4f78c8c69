//! The pages in a real browser: headless Chromium, driven over WebDriver (chromedriver and fantoccini),
//! against the real `wiredesk demo`. The index lists the sections; a section page shows a story whose
//! "Also reported by" opens without scripts, with its explanation one click away; the status page shows
//! the broken sources. Screenshots of each page in the light and the dark scheme are saved to
//! `target/screenshots/`, and the browser's console must stay free of errors throughout.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::demo::Demo;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// A chromedriver process on a free loopback port, ended when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Option<Driver> {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Driver { child, url })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command chromedriver has beyond the W3C set: `POST /session/{id}/{path}` with a JSON body.
#[derive(Debug)]
struct Vendor {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for Vendor {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or(""),
            self.path
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Console entries of level SEVERE since the last call (chromedriver's log endpoint drains them).
async fn console_errors(client: &Client) -> Vec<String> {
    let logs = client
        .issue_cmd(Vendor {
            path: "se/log",
            body: json!({ "type": "browser" }),
        })
        .await
        .expect("chromedriver hands out the browser's console log");
    logs.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Makes the page report `prefers-color-scheme: dark` (or light) through the DevTools protocol.
async fn color_scheme(client: &Client, scheme: &str) {
    client
        .issue_cmd(Vendor {
            path: "goog/cdp/execute",
            body: json!({
                "cmd": "Emulation.setEmulatedMedia",
                "params": { "features": [{ "name": "prefers-color-scheme", "value": scheme }] }
            }),
        })
        .await
        .expect("chromedriver passes DevTools commands on");
}

async fn screenshot(client: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn body_text(client: &Client) -> String {
    client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_and_an_operator_find_what_they_need_in_chromium() {
    let Some(driver) = Driver::start() else {
        if common::may_skip(
            "chromedriver",
            "apt-get install -y chromium chromium-driver",
        ) {
            return;
        }
        unreachable!()
    };
    let mut demo = Demo::start();
    demo.wait_until_polled();
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1100,900",
            format!("--user-data-dir={}", profile.path().display()),
        ]}),
    );
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session starts");
    let base = demo.base.clone();
    let mut errors = Vec::new();

    // The index lists both sections, each linking to its page.
    client.goto(&format!("{base}/")).await.unwrap();
    let sections: Vec<String> = {
        let mut names = Vec::new();
        for a in client
            .find_all(Locator::Css(".sections h2 a"))
            .await
            .unwrap()
        {
            names.push(a.text().await.unwrap());
        }
        names
    };
    assert_eq!(sections, ["Local news", "Business"]);
    screenshot(&client, "index-light").await;
    errors.extend(console_errors(&client).await);

    // A section page: the storm story, "Also reported by" opens by a click, no script involved.
    client
        .find(Locator::LinkText("Local news"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let storm = client
        .find(Locator::XPath(
            "//article[.//h2[contains(., 'Storm Ingrid')]]",
        ))
        .await
        .expect("the section shows the storm story");
    let summary = storm.find(Locator::Css("details summary")).await.unwrap();
    assert_eq!(summary.text().await.unwrap(), "Also reported by 1 source");
    summary.click().await.unwrap();
    let copies = storm.find(Locator::Css("details ul")).await.unwrap();
    let copies = copies.text().await.unwrap();
    assert!(
        copies.contains("Tempest Ingrid") && copies.contains("Daily Buzz"),
        "{copies}"
    );
    screenshot(&client, "section-light").await;
    errors.extend(console_errors(&client).await);

    // Its explanation is one click away, in words.
    storm
        .find(Locator::LinkText("Why these are one story"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = body_text(&client).await;
    assert!(
        text.contains("is a rewrite of the original, 'Storm Ingrid"),
        "{text}"
    );
    assert!(text.contains("highest priority"), "{text}");
    screenshot(&client, "story-light").await;
    errors.extend(console_errors(&client).await);

    // The status page shows the broken sources.
    client
        .find(Locator::LinkText("Status"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let row = client
        .find(Locator::XPath("//tr[contains(., 'Coastline Courier')]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        row.contains("FAILING") && row.contains("error (parse)"),
        "{row}"
    );
    let row = client
        .find(Locator::XPath("//tr[contains(., 'Valley Post')]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("FAILING") && row.contains("http-404"), "{row}");
    screenshot(&client, "status-light").await;
    errors.extend(console_errors(&client).await);

    // Every page again in the dark scheme.
    color_scheme(&client, "dark").await;
    for (name, path) in [
        ("index", "/".to_string()),
        ("section", "/sections/local".to_string()),
        ("status", "/status".to_string()),
    ] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        if name == "section" {
            client
                .find(Locator::Css("details summary"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        let background: String = client
            .execute(
                "return getComputedStyle(document.documentElement).backgroundColor",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(background, "rgb(21, 22, 24)", "{name} is not dark");
        screenshot(&client, &format!("{name}-dark")).await;
        errors.extend(console_errors(&client).await);
    }
    client.close().await.unwrap();
    assert!(
        errors.is_empty(),
        "the browser console logged errors: {errors:#?}"
    );
    eprintln!(
        "screenshots: {}/target/screenshots/*.png; console: no errors",
        env!("CARGO_MANIFEST_DIR")
    );
    assert!(demo.stop().success());
}
