//! Hostile feeds against the real daemon: billion laughs, external entities, XML nested 100,000 deep, a
//! 1 GiB body, gzip, deflate and brotli bombs, an endless drip, invalid UTF-8 and NUL bytes, 100,000 items,
//! dates in year 0 and 9999, and scripts, event handlers, CSS and `javascript:`/`data:` links in every text
//! field. Each source ends in a clear logged error and backoff, or is stored harmless; the others are
//! unaffected; the daemon's peak memory stays bounded.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use feedfarm::{FarmConfig, FaultParams};

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
                    <title>Hostile</title><link>http://hostile.example/</link><description>d</description>";
const TAIL: &str = "</channel></rss>\n";

fn billion_laughs() -> Vec<u8> {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n <!ENTITY lol \"lol\">\n");
    for level in 2..=9 {
        let prev = if level == 2 {
            "lol".to_string()
        } else {
            format!("lol{}", level - 1)
        };
        doc.push_str(&format!(
            " <!ENTITY lol{level} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str(
        "]>\n<rss version=\"2.0\"><channel><title>Laughs &lol9;</title><link>http://laughs.example/</link>\
         <description>&lol9;</description><item><title>Laughing matters in the council chamber &lol9;</title>\
         <link>http://laughs.example/1</link><description>&lol9;</description><guid>laugh-1</guid></item>",
    );
    doc.push_str(TAIL);
    doc.into_bytes()
}

/// External entities naming a local file and a loopback URL (whose server counts its requests).
fn external_entities(spy: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n <!ENTITY file SYSTEM \"file:///etc/passwd\">\n \
         <!ENTITY net SYSTEM \"http://{spy}/xxe\">\n <!ENTITY % remote SYSTEM \"http://{spy}/dtd\"> %remote;\n]>\n\
         <rss version=\"2.0\"><channel><title>Entities</title><link>http://xxe.example/</link><description>d</description>\
         <item><title>Entities reach the harbour office &file; &net;</title><link>http://xxe.example/1</link>\
         <description>Leak: &file; &net;</description><guid>xxe-1</guid></item>{TAIL}"
    )
    .into_bytes()
}

fn nested(depth: usize) -> Vec<u8> {
    format!(
        "{HEAD}<item><title>Deep</title><link>http://deep.example/1</link><description>x</description>{}{}</item>{TAIL}",
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    )
    .into_bytes()
}

fn invalid_utf8_and_nul() -> Vec<u8> {
    let mut doc = HEAD.as_bytes().to_vec();
    doc.extend_from_slice(
        b"<item><title>Broken \xc3\x28 bytes \x00 and \x01 in the ferry timetable \xff</title>\
          <link>http://bytes.example/1</link><description>NUL\x00inside \xed\xa0\x80 a surrogate and \x0b</description>\
          <author>nul\x00@bytes.example (N\x00L)</author><guid>bytes-1</guid></item>",
    );
    doc.extend_from_slice(TAIL.as_bytes());
    doc
}

fn many_items(n: usize) -> Vec<u8> {
    let mut doc = HEAD.to_string();
    for i in 0..n {
        doc.push_str(&format!(
            "<item><title>Item {i}</title><guid>many-{i}</guid></item>"
        ));
    }
    doc.push_str(TAIL);
    doc.into_bytes()
}

fn absurd_dates() -> Vec<u8> {
    format!(
        "{HEAD}<item><title>The year zero story about old calendars</title><link>http://dates.example/0</link>\
         <pubDate>Sat, 01 Jan 0000 00:00:00 GMT</pubDate><guid>year-0</guid></item>\
         <item><title>The far future story about new calendars</title><link>http://dates.example/9999</link>\
         <pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate><guid>year-9999</guid></item>\
         <item><title>A negative date story about sundials</title><link>http://dates.example/neg</link>\
         <pubDate>-0001-01-01T00:00:00Z</pubDate><guid>year-neg</guid></item>{TAIL}"
    )
    .into_bytes()
}

/// Markup meant to run in a reader: scripts, event handlers, CSS tricks and dangerous URLs.
const HTML_PAYLOAD: &str = "<p onclick=\"alert(1)\" style=\"background:url(javascript:alert(2))\">Text</p>\
    <script>alert(3)</script><a href=\"javascript:alert(4)\">a</a><a href=\" JaVaScRiPt:alert(5)\">b</a>\
    <a href=\"java&#x09;script:alert(6)\">c</a><a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==\">d</a>\
    <img src=\"x\" onerror=\"alert(8)\"><style>body{behavior:url(x.htc);-moz-binding:url(x.xml)}</style>\
    <div style=\"width:expression(alert(9));position:fixed;top:0;left:0;width:100%;height:100%\">overlay</div>\
    <iframe src=\"javascript:alert(10)\"></iframe><svg onload=\"alert(11)\"><circle/></svg>\
    <object data=\"data:text/html,x\"></object><embed src=\"javascript:alert(12)\">\
    <form action=\"javascript:alert(13)\"><button formaction=\"javascript:alert(14)\">go</button></form>\
    <base href=\"javascript:alert(15)//\"><meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(16)\">\
    <math><mtext><table><mglyph><style><img src=x onerror=alert(17)></style></mglyph></table></mtext></math>";

fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// RSS, Atom and JSON Feed documents with the payload in every field each format has.
fn scripted() -> [(String, Vec<u8>); 3] {
    let p = escaped(HTML_PAYLOAD);
    let rss = format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Scripted &lt;script&gt;alert(20)&lt;/script&gt;</title>\
         <link>javascript:alert(21)</link><description>{p}</description>\
         <item><title>Council &lt;script&gt;alert(22)&lt;/script&gt; votes on the harbour &#x3C;img src=x onerror=alert(23)&#x3E;</title>\
         <link>javascript:alert(24)</link><description>{p}</description><content:encoded><![CDATA[{HTML_PAYLOAD}]]></content:encoded>\
         <author>mallory@evil.example (&lt;img src=x onerror=alert(25)&gt;Mallory)</author>\
         <dc:creator>&lt;svg onload=alert(26)&gt;Mallory</dc:creator><category>&lt;script&gt;alert(27)&lt;/script&gt;</category>\
         <guid isPermaLink=\"true\">javascript:alert(28)</guid></item>\
         <item><title>Ferry &lt;b onmouseover=alert(29)&gt;timetable&lt;/b&gt; changes for the winter season</title>\
         <link>data:text/html;base64,PHNjcmlwdD5hbGVydCgzMCk8L3NjcmlwdD4=</link>\
         <description>&amp;lt;script&amp;gt;alert(31)&amp;lt;/script&amp;gt; double escaped</description>\
         <guid>scripted-2</guid><enclosure url=\"javascript:alert(32)\" type=\"audio/mpeg\" length=\"1\"/></item>\
         </channel></rss>"
    );
    let atom = format!(
        "<?xml version=\"1.0\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"html\">&lt;script&gt;alert(40)&lt;/script&gt;</title>\
         <id>urn:x:scripted</id><updated>2026-11-30T10:00:00Z</updated><link href=\"javascript:alert(41)\"/>\
         <entry><id>urn:x:a1</id><title type=\"html\">Rail &lt;script&gt;alert(42)&lt;/script&gt; strike called off by the union</title>\
         <updated>2026-11-30T10:00:00Z</updated><link rel=\"alternate\" href=\"javascript:alert(43)\"/>\
         <author><name>&lt;img src=x onerror=alert(44)&gt;Eve</name><uri>javascript:alert(45)</uri></author>\
         <summary type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(46)</script><p onclick=\"alert(47)\">s</p></div></summary>\
         <content type=\"html\">{p}</content></entry>\
         <entry><id>urn:x:a2</id><title type=\"text\">Budget &lt;iframe src=javascript:alert(48)&gt; passes in a late vote</title>\
         <updated>2026-11-30T11:00:00Z</updated><link href=\"data:text/html,&lt;script&gt;alert(49)&lt;/script&gt;\"/>\
         <content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">{HTML_PAYLOAD_XHTML}</div></content></entry></feed>",
        HTML_PAYLOAD_XHTML =
            "<a href=\"javascript:alert(50)\">x</a><img src=\"x\" onerror=\"alert(51)\"/>"
    );
    let json = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "<script>alert(60)</script>",
        "home_page_url": "javascript:alert(61)",
        "items": [
            {
                "id": "j1",
                "url": "javascript:alert(62)",
                "external_url": "data:text/html,<script>alert(63)</script>",
                "title": "Hospital <script>alert(64)</script> opens a new wing for the winter",
                "content_html": HTML_PAYLOAD,
                "summary": "<img src=x onerror=alert(65)>summary",
                "image": "javascript:alert(66)",
                "authors": [{"name": "<svg onload=alert(67)>Trudy", "url": "javascript:alert(68)"}],
                "tags": ["<script>alert(69)</script>"],
                "date_published": "2026-11-30T12:00:00Z"
            },
            {
                "id": "j2",
                "url": "http://json.example/2",
                "title": "Bridge repairs <b onmouseover=alert(70)>close</b> the river road",
                "content_text": "<script>alert(71)</script> plain text that looks like markup",
                "date_published": "2026-11-30T13:00:00Z"
            }
        ]
    });
    [
        ("/scripted.rss".into(), rss.into_bytes()),
        ("/scripted.atom".into(), atom.into_bytes()),
        ("/scripted.json".into(), serde_json::to_vec(&json).unwrap()),
    ]
}

fn normal_feed() -> Vec<u8> {
    format!(
        "{HEAD}<item><title>Harbour council approves the new ferry terminal plan</title>\
         <link>http://normal.example/ferry</link><description>The council voted 7 to 2.</description>\
         <guid>normal-1</guid><pubDate>Mon, 30 Nov 2026 09:00:00 GMT</pubDate></item>{TAIL}"
    )
    .into_bytes()
}

fn rss_file(body: Vec<u8>) -> (Vec<u8>, String) {
    (body, "application/rss+xml".to_string())
}

#[test]
fn hostile_feeds_fail_alone_with_clear_errors_and_memory_stays_bounded() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let farm = rt
        .block_on(feedfarm::start(FarmConfig {
            hosts: 1,
            feeds: 4,
            fault_params: FaultParams {
                bomb_mib: 1024,
                ..FaultParams::default()
            },
            ..FarmConfig::default()
        }))
        .unwrap();
    // The farm compresses each bomb on first use (a GiB of brotli takes seconds); do that now, so the
    // daemon's short timeout meets the bombs and not the compression.
    let warm = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .unwrap();
    for kind in ["gzipbomb", "deflatebomb", "brotlibomb"] {
        let url = format!("{}/fault/{kind}/0.xml", farm.host_url(0));
        rt.block_on(async { warm.get(url).send().await.unwrap().bytes().await.unwrap() });
    }
    let (spy, spy_stats) = rt.block_on(common::serve_files(HashMap::new()));
    let mut files: HashMap<String, (Vec<u8>, String)> = HashMap::from([
        ("/normal.xml".into(), rss_file(normal_feed())),
        ("/laughs.xml".into(), rss_file(billion_laughs())),
        (
            "/entities.xml".into(),
            rss_file(external_entities(&spy.to_string())),
        ),
        ("/deep.xml".into(), rss_file(nested(100_000))),
        ("/bytes.xml".into(), rss_file(invalid_utf8_and_nul())),
        ("/many.xml".into(), rss_file(many_items(100_000))),
        ("/dates.xml".into(), rss_file(absurd_dates())),
    ]);
    for (path, body) in scripted() {
        files.insert(path, (body, "application/xml".into()));
    }
    let (addr, _) = rt.block_on(common::serve_files(files));
    let host = farm.host_url(0);
    let sources: Vec<(&str, String)> = vec![
        ("normal", format!("http://{addr}/normal.xml")),
        ("farm", farm.feed_url(0)),
        ("laughs", format!("http://{addr}/laughs.xml")),
        ("entities", format!("http://{addr}/entities.xml")),
        ("deep", format!("http://{addr}/deep.xml")),
        ("huge", format!("{host}/fault/huge/1.xml?mb=1024")),
        ("gzip", format!("{host}/fault/gzipbomb/1.xml")),
        ("deflate", format!("{host}/fault/deflatebomb/2.xml")),
        ("brotli", format!("{host}/fault/brotlibomb/3.xml")),
        ("drip", format!("{host}/fault/drip/1.xml")),
        ("bytes", format!("http://{addr}/bytes.xml")),
        ("many", format!("http://{addr}/many.xml")),
        ("dates", format!("http://{addr}/dates.xml")),
        ("scripted rss", format!("http://{addr}/scripted.rss")),
        ("scripted atom", format!("http://{addr}/scripted.atom")),
        ("scripted json", format!("http://{addr}/scripted.json")),
    ];
    let specs: Vec<common::SourceSpec> = sources
        .iter()
        .map(|(n, u)| (n.to_string(), u.clone(), vec!["all".to_string()], 0))
        .collect();
    let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen_addr = listen.local_addr().unwrap().to_string();
    drop(listen);
    let dir = tempfile::tempdir().unwrap();
    // Every minute, so that backoff decides the next poll; a 3 s timeout ends the drip.
    let toml = common::config_toml(&listen_addr, &dir.path().join("h.db"), &["all"], &specs)
        .replace("schedule = \"0 0 1 1 *\"", "schedule = \"* * * * *\"")
        + "timeout_secs = 3\n";
    let daemon = common::Daemon::start(dir.path(), &toml);
    let rows = daemon.wait_polled(sources.len());
    let peak = daemon.peak_rss_mb();

    let result = |name: &str| {
        rows[name]["last_result"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let error = |name: &str| {
        rows[name]["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for ok in ["normal", "farm", "laughs", "entities", "bytes", "dates"] {
        assert!(
            result(ok).starts_with("ok"),
            "{ok}: {} {}",
            result(ok),
            error(ok)
        );
    }
    for name in ["scripted rss", "scripted atom", "scripted json"] {
        assert!(result(name).starts_with("ok"), "{name}: {}", error(name));
    }
    let failing = [
        ("deep", "error (parse)", "nests elements deeper"),
        ("huge", "error (too-large)", "16777216-byte cap"),
        ("gzip", "error (too-large)", "16777216-byte cap"),
        ("deflate", "error (too-large)", "16777216-byte cap"),
        ("brotli", "error (too-large)", "16777216-byte cap"),
        ("drip", "error (timeout)", "fetch.timeout_secs"),
        (
            "many",
            "error (parse)",
            "100000 entries, more than the 10000",
        ),
    ];
    for (name, kind, says) in failing {
        assert_eq!(result(name), kind, "{name}: {}", error(name));
        assert!(error(name).contains(says), "{name}: {}", error(name));
        assert_eq!(rows[name]["due_reason"], "backoff", "{name} backs off");
    }
    assert_eq!(
        spy_stats.requests.load(Ordering::SeqCst),
        0,
        "no external entity was fetched"
    );

    // What was stored and published carries neither laughs nor files, and the feeds stay valid.
    let client = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("http://{listen_addr}{path}");
        rt.block_on(async { client.get(url).send().await.unwrap().text().await.unwrap() })
    };
    let wait_published = Instant::now();
    let rss = loop {
        let rss = get("/feeds/all.rss");
        if rss.contains("Harbour council approves")
            || wait_published.elapsed() > Duration::from_secs(30)
        {
            break rss;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let atom = get("/feeds/all.atom");
    let json = get("/feeds/all.json");
    assert!(
        rss.contains("Harbour council approves"),
        "the normal feed is published"
    );
    assert!(
        rss.contains("Laughing matters"),
        "the laughing feed is stored, unexpanded"
    );
    for doc in [&rss, &atom, &json] {
        assert!(!doc.contains("lollollol"), "an entity was expanded");
        assert!(
            !doc.contains("root:x:0:0") && !doc.contains("/bin/"),
            "a file leaked"
        );
    }
    // Rule 7 (no markup in titles) is left to `no_published_plain_text_field_carries_markup`: entity-escaped
    // markup arrives here as text, which RSS escapes, and that test tells a `<` opening a tag from one that
    // does not.
    let problems: Vec<String> = common::rss_problems(&rss)
        .into_iter()
        .filter(|p| !p.starts_with("rule 7: markup in title"))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = common::atom_problems(&atom, dir.path());
    assert!(problems.is_empty(), "{problems:#?}");
    serde_json::from_str::<serde_json::Value>(&json).expect("the JSON feed parses");

    let log = daemon.stop();
    for (name, kind, _) in failing {
        let kind = kind.trim_start_matches("error (").trim_end_matches(')');
        assert!(
            log.lines().any(|l| l.contains("WARN")
                && l.contains(&format!("source={name} "))
                && l.contains(&format!("kind={kind}"))),
            "no warning for {name} ({kind}) in the log:\n{log}"
        );
    }
    assert!(!log.contains("panicked"), "{log}");
    eprintln!("hostile feeds: daemon peak RSS {peak} MB");
    assert!(peak < 300, "the daemon peaked at {peak} MB");
}

/// What the scripted feeds (and the one of invalid bytes) become once published, polled once: every
/// published document, by name.
fn published() -> &'static HashMap<String, String> {
    static OUT: OnceLock<HashMap<String, String>> = OnceLock::new();
    OUT.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut files: HashMap<String, (Vec<u8>, String)> = scripted()
            .into_iter()
            .map(|(p, b)| (p, (b, "application/xml".to_string())))
            .collect();
        files.insert("/scripted.bytes".into(), rss_file(invalid_utf8_and_nul()));
        let (addr, _) = rt.block_on(common::serve_files(files));
        let specs: Vec<common::SourceSpec> = ["rss", "atom", "json", "bytes"]
            .iter()
            .map(|f| {
                (
                    format!("scripted {f}"),
                    format!("http://{addr}/scripted.{f}"),
                    vec!["all".to_string()],
                    0,
                )
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feeds.toml");
        std::fs::write(
            &path,
            common::config_toml("127.0.0.1:9", &dir.path().join("s.db"), &["all"], &specs),
        )
        .unwrap();
        let out = dir.path().join("public");
        let summary = rt
            .block_on(wiredesk::daemon::poll_once(
                wiredesk::config::load(&path).unwrap(),
                Some(&out),
            ))
            .unwrap();
        assert_eq!(summary.fetched, 4, "{:?}", summary.failures);
        let mut docs = HashMap::new();
        for entry in walk(&out) {
            let name = entry.strip_prefix(&out).unwrap().display().to_string();
            docs.insert(name, std::fs::read_to_string(&entry).unwrap());
        }
        assert!(
            docs.keys().any(|k| k.ends_with("all.rss")),
            "{:?}",
            docs.keys()
        );
        docs
    })
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// One published value: which document and field it is, and whether it is HTML, a URL or plain text.
#[derive(Debug)]
struct Field {
    at: String,
    kind: Kind,
    value: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Html,
    Url,
    Text,
    /// A page of wiredesk's own (the index), where nothing from a feed belongs.
    Page,
}

/// Every value of every published feed, decoded once (as a reader decodes it).
fn fields() -> Vec<Field> {
    let mut fields = Vec::new();
    for (name, doc) in published() {
        if name.ends_with(".json") {
            let v: serde_json::Value = serde_json::from_str(doc).unwrap();
            json_fields(&format!("{name}:"), &v, &mut fields);
        } else if name.ends_with(".rss") || name.ends_with(".atom") || name.ends_with(".opml") {
            let xml = roxmltree::Document::parse(doc).unwrap();
            for node in xml.descendants().filter(|n| n.is_element()) {
                let tag = node.tag_name().name();
                let at = format!("{name}:{tag}");
                for attr in node.attributes() {
                    let kind =
                        if matches!(attr.name(), "href" | "url" | "src" | "xmlUrl" | "htmlUrl") {
                            Kind::Url
                        } else {
                            Kind::Text
                        };
                    fields.push(Field {
                        at: format!("{at}@{}", attr.name()),
                        kind,
                        value: attr.value().into(),
                    });
                }
                let text: String = node
                    .children()
                    .filter(|c| c.is_text())
                    .filter_map(|c| c.text())
                    .collect();
                if text.trim().is_empty() {
                    continue;
                }
                let html = tag == "description"
                    || (matches!(tag, "content" | "summary" | "title")
                        && node.attribute("type") == Some("html"));
                let url = matches!(tag, "link" | "docs" | "uri" | "icon" | "logo")
                    || (tag == "guid" && node.attribute("isPermaLink") != Some("false"))
                    || (tag == "id" && name.ends_with(".atom"));
                let kind = if html {
                    Kind::Html
                } else if url {
                    Kind::Url
                } else {
                    Kind::Text
                };
                fields.push(Field {
                    at,
                    kind,
                    value: text,
                });
            }
        } else {
            fields.push(Field {
                at: name.clone(),
                kind: Kind::Page,
                value: doc.clone(),
            });
        }
    }
    fields
}

fn json_fields(at: &str, v: &serde_json::Value, out: &mut Vec<Field>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                json_fields(&format!("{at}.{k}"), v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                json_fields(&format!("{at}[{i}]"), v, out);
            }
        }
        serde_json::Value::String(s) => {
            let key = at.rsplit('.').next().unwrap_or_default();
            let kind = if key == "content_html" {
                Kind::Html
            } else if key.ends_with("url")
                || matches!(key, "image" | "banner_image" | "icon" | "favicon")
            {
                Kind::Url
            } else {
                Kind::Text
            };
            out.push(Field {
                at: at.to_string(),
                kind,
                value: s.clone(),
            });
        }
        _ => {}
    }
}

/// A URL a reader would run or render as a document of its own.
fn dangerous_url(url: &str) -> bool {
    // Browsers drop white space and control characters from schemes before reading them.
    let folded: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    ["javascript:", "vbscript:", "data:", "livescript:"]
        .iter()
        .any(|s| folded.starts_with(s))
}

/// What in an HTML value would run in a reader: script-capable elements, event handler attributes,
/// dangerous URLs in attributes, and style (CSS can overlay a page or, in old engines, run script).
fn executable_html(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    for tag in [
        "<script", "<style", "<iframe", "<frame", "<object", "<embed", "<svg", "<math", "<form",
        "<base", "<meta", "<link", "<button", "<input",
    ] {
        if lower.contains(tag) {
            found.push(tag.to_string());
        }
    }
    // Attributes of every tag.
    let mut rest = lower.as_str();
    while let Some(open) = rest.find('<') {
        let tag_end = rest[open..].find('>').map_or(rest.len(), |e| open + e);
        let tag = &rest[open + 1..tag_end];
        for (i, _) in tag.match_indices("on") {
            let before = tag[..i].chars().last();
            let name: String = tag[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            let after = tag[i + name.len()..].trim_start();
            if before.is_some_and(|c| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
                && name.len() > 2
                && after.starts_with('=')
            {
                found.push(format!("handler {name}"));
            }
        }
        if tag.contains("style=") {
            found.push("style attribute".into());
        }
        for attr in ["href=", "src=", "action=", "formaction=", "data="] {
            for (i, _) in tag.match_indices(attr) {
                let value = tag[i + attr.len()..].trim_start_matches(['"', '\'']);
                if dangerous_url(&html_escape::decode_html_entities(value)) {
                    found.push(format!("{attr} {}", &value[..value.len().min(30)]));
                }
            }
        }
        rest = &rest[tag_end.min(rest.len())..];
        if rest.is_empty() {
            break;
        }
        rest = &rest[1.min(rest.len())..];
    }
    found
}

fn offenders(kind: Kind, check: impl Fn(&str) -> Vec<String>) -> Vec<String> {
    fields()
        .into_iter()
        .filter(|f| f.kind == kind)
        .flat_map(|f| {
            check(&f.value).into_iter().map(move |what| {
                format!(
                    "{}: {what} in {:?}",
                    f.at,
                    f.value.chars().take(120).collect::<String>()
                )
            })
        })
        .collect()
}

#[test]
fn no_published_html_runs_scripts_handlers_or_css() {
    let bad = offenders(Kind::Html, executable_html);
    assert!(bad.is_empty(), "{bad:#?}");
}

/// The pages show the stories' titles, so a payload may appear there as escaped text; it must never appear
/// as markup that runs (the pages themselves carry no script at all).
#[test]
fn no_page_runs_what_a_feed_sent() {
    let bad = offenders(Kind::Page, |page| {
        // The pages' own chrome: one inline style sheet, meta tags, alternate links and `data:,`, an empty
        // icon that keeps browsers from asking for /favicon.ico. Nothing a feed sent may add to it.
        executable_html(page)
            .into_iter()
            .filter(|f| !matches!(f.as_str(), "<style" | "<meta" | "<link" | "href= data:,\""))
            .collect()
    });
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn no_published_value_carries_control_characters() {
    let bad: Vec<String> = fields()
        .into_iter()
        .filter(|f| {
            f.value
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        })
        .map(|f| {
            format!(
                "{}: {:?}",
                f.at,
                f.value.chars().take(80).collect::<String>()
            )
        })
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn no_published_link_is_a_javascript_or_data_url() {
    let bad = offenders(Kind::Url, |u| {
        if dangerous_url(u) {
            vec!["dangerous URL".into()]
        } else {
            vec![]
        }
    });
    assert!(bad.is_empty(), "{bad:#?}");
}

/// Markup in a plain-text value: a `<` that opens a tag, a comment or a declaration.
fn markup(text: &str) -> Vec<String> {
    let opens_tag = text.match_indices('<').any(|(i, _)| {
        text[i + 1..].starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
    });
    if opens_tag {
        vec!["markup".into()]
    } else {
        vec![]
    }
}

/// RSS and Atom escape such text in XML; JSON Feed has no escape, so `src/publish/json.rs` turns each `<`
/// that opens markup in a plain-text field into `＜` (`Bridge repairs ＜b onmouseover=…>`).
#[test]
fn no_published_plain_text_field_carries_markup() {
    let bad = offenders(Kind::Text, markup);
    assert!(bad.is_empty(), "{bad:#?}");
}
