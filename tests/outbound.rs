//! The outbound address policy against real loopback servers: a source allowed `127.0.0.1/32` still has
//! every other non-public form refused, on the first request and on redirects from an allowed server, and
//! names that resolve to a refused address are refused at the connection, however they resolve.

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wiredesk::fetch::hosts::HostLimits;
use wiredesk::fetch::{FetchErrorKind, FetchOutcome, Fetcher};
use wiredesk::store::Store;

const FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Public</title>
<link>http://example.org/</link><description>d</description>
<item><title>A public story about the harbour</title><link>http://example.org/a</link></item>
</channel></rss>"#;

const SECRET: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Internal</title>
<link>http://example.org/</link><description>d</description>
<item><title>INTERNAL SECRET admin panel</title><link>http://example.org/secret</link></item>
</channel></rss>"#;

/// A server answering `/feed.xml` with a feed, `/hop/{i}` with a 302 to `targets[i]`, and anything else
/// with `body`; it counts its requests.
#[derive(Clone)]
struct Server {
    targets: Arc<Mutex<Vec<String>>>,
    body: &'static str,
    requests: Arc<AtomicUsize>,
}

async fn answer(State(s): State<Server>, request: Request) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    let path = request.uri().path();
    if let Some(i) = path.strip_prefix("/hop/") {
        let target = s.targets.lock().unwrap()[i.parse::<usize>().unwrap()].clone();
        return (StatusCode::FOUND, [(header::LOCATION, target)]).into_response();
    }
    // Closing after each answer makes every fetch open a new connection, so each one resolves anew.
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml"),
            (header::CONNECTION, "close"),
        ],
        s.body,
    )
        .into_response()
}

async fn serve(addr: SocketAddr, body: &'static str) -> (SocketAddr, Server) {
    let server = Server {
        targets: Arc::default(),
        body,
        requests: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(answer).with_state(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, server)
}

/// An internal server on 127.0.0.3 and on [::1], on the same port, serving the secret.
async fn internal() -> (u16, Server, Server) {
    let (v4, inside) = serve("127.0.0.3:0".parse().unwrap(), SECRET).await;
    let (_, inside6) = serve(SocketAddr::new("::1".parse().unwrap(), v4.port()), SECRET).await;
    (v4.port(), inside, inside6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_non_public_form_is_refused_directly_and_on_redirects_and_the_source_backs_off() {
    let (port, inside, inside6) = internal().await;
    let (public, outside) = serve("127.0.0.1:0".parse().unwrap(), FEED).await;
    let p = public.port();
    // The eight forms. `localhost` and `0.0.0.0` point at the allowed server's port, and the credentials
    // at the allowed address itself, so following any of them would succeed.
    let forms: Vec<(String, &str)> = vec![
        (format!("http://127.0.0.3:{port}/0.xml"), "127.0.0.3"),
        (format!("http://2130706435:{port}/1.xml"), "127.0.0.3"),
        (format!("http://0x7f000003:{port}/2.xml"), "127.0.0.3"),
        (format!("http://localhost:{p}/3.xml"), "::1"),
        (format!("http://0.0.0.0:{p}/4.xml"), "0.0.0.0"),
        (format!("http://[::1]:{port}/5.xml"), "::1"),
        (
            format!("http://[::ffff:127.0.0.3]:{port}/6.xml"),
            "::ffff:127.0.0.3",
        ),
        (
            format!("http://user:pass@127.0.0.1:{p}/7.xml"),
            "credentials",
        ),
    ];
    *outside.targets.lock().unwrap() = forms.iter().map(|(u, _)| u.clone()).collect();

    let mut sources: Vec<common::SourceSpec> = vec![(
        "public".into(),
        format!("http://{public}/feed.xml"),
        vec!["all".into()],
        0,
    )];
    for (i, (url, _)) in forms.iter().enumerate() {
        sources.push((
            format!("hop {i}"),
            format!("http://{public}/hop/{i}"),
            vec!["all".into()],
            0,
        ));
        // Credentials in a configured URL are a config error, so that form is only tried as a redirect.
        if !url.contains('@') {
            sources.push((format!("direct {i}"), url.clone(), vec!["all".into()], 0));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let toml = common::config_toml("127.0.0.1:9", &dir.path().join("o.db"), &["all"], &sources);
    // Only the public server's address is opted in, whatever config_toml found in the URLs.
    let (head, _) = toml.rsplit_once("allow_networks = ").unwrap();
    // Every minute, so that the backoff (not the schedule) decides the next poll.
    let toml = format!("{head}allow_networks = [\"127.0.0.1/32\"]\n")
        .replace("schedule = \"0 0 1 1 *\"", "schedule = \"* * * * *\"");
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, toml).unwrap();

    let summary = wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(
        summary.fetched, 1,
        "only the public feed: {:?}",
        summary.failures
    );
    assert_eq!(summary.failures.len(), sources.len() - 1);

    let config = wiredesk::config::load(&path).unwrap();
    let store = Store::open_read_only(&config.storage.path).unwrap();
    let rows: HashMap<String, _> = store
        .sources()
        .unwrap()
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let check = |name: &str, named: &str| {
        let row = &rows[name];
        assert_eq!(
            row.last_result.map(|r| r.to_string()).as_deref(),
            Some("error (refused-address)"),
            "{name}: {:?}",
            row.last_error
        );
        let err = row.last_error.as_deref().unwrap();
        assert!(err.contains(named), "{name} names {named}: {err}");
        let what_to_do = if named == "credentials" {
            "sends none"
        } else {
            "allow_networks"
        };
        assert!(err.contains(what_to_do), "{name} says what to do: {err}");
        assert_eq!(
            row.due_reason.map(|r| r.as_str()),
            Some("backoff"),
            "{name}"
        );
        assert!(row.next_due.is_some(), "{name} is polled again");
    };
    for (i, (url, named)) in forms.iter().enumerate() {
        check(&format!("hop {i}"), named);
        let err = rows[&format!("hop {i}")].last_error.clone().unwrap();
        assert!(err.contains("redirected"), "the hop is shown: {err}");
        if !url.contains('@') {
            check(&format!("direct {i}"), named);
        }
    }
    assert_eq!(
        inside.requests.load(Ordering::SeqCst),
        0,
        "127.0.0.3 was never reached"
    );
    assert_eq!(
        inside6.requests.load(Ordering::SeqCst),
        0,
        "::1 was never reached"
    );
    let titles: Vec<String> = store
        .stories_since(None, i64::MIN)
        .unwrap()
        .into_iter()
        .map(|s| format!("{s:?}"))
        .collect();
    assert!(!titles.is_empty());
    assert!(
        titles.iter().all(|t| !t.contains("INTERNAL SECRET")),
        "nothing internal was stored"
    );
}

/// A lookup from a fixed table; `rebind.test` answers 127.0.0.1 the first time and 127.0.0.3 after.
fn table_lookup() -> wiredesk::fetch::address::Lookup {
    let calls = Arc::new(AtomicUsize::new(0));
    Arc::new(move |host: String| {
        let calls = calls.clone();
        Box::pin(async move {
            let ips: Vec<IpAddr> = match host.as_str() {
                "feeds.test" => vec!["127.0.0.1".parse().unwrap()],
                "inside.test" => vec!["127.0.0.3".parse().unwrap()],
                // A public address first, so a resolver checking only one would pass it.
                "mixed.test" => vec![
                    "93.184.216.34".parse().unwrap(),
                    "127.0.0.3".parse().unwrap(),
                ],
                "rebind.test" if calls.fetch_add(1, Ordering::SeqCst) == 0 => {
                    vec!["127.0.0.1".parse().unwrap()]
                }
                "rebind.test" => vec!["127.0.0.3".parse().unwrap()],
                _ => return Err(std::io::Error::other(format!("no such test name {host}"))),
            };
            Ok(ips)
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_resolving_to_refused_addresses_are_refused_at_the_connection() {
    let (port, inside, _inside6) = internal().await;
    let (public, outside) = serve("127.0.0.1:0".parse().unwrap(), FEED).await;
    let p = public.port();
    let config = wiredesk::config::parse(
        std::path::Path::new("feeds.toml"),
        "[fetch]\nallow_networks = [\"127.0.0.1/32\"]\n[[sections]]\nid = \"a\"\n",
    )
    .unwrap();
    let hosts = HostLimits::new(8, 2, std::time::Duration::ZERO);
    let fetcher = Fetcher::for_config_with_lookup(&config, hosts, table_lookup()).unwrap();
    let refused = |outcome: FetchOutcome, named: &str| match outcome {
        FetchOutcome::Failed(e) => {
            assert_eq!(e.kind, FetchErrorKind::RefusedAddress, "{}", e.message);
            assert!(e.message.contains(named), "{named}: {}", e.message);
            e.message
        }
        other => panic!("{named} was fetched: {other:?}"),
    };
    let known = Default::default();

    // An allowed name works through the guarded resolver.
    let ok = fetcher
        .fetch(&format!("http://feeds.test:{p}/feed.xml"), &known)
        .await;
    assert!(matches!(ok, FetchOutcome::Fetched(_)), "{ok:?}");

    let message = refused(
        fetcher
            .fetch(&format!("http://inside.test:{port}/secret.xml"), &known)
            .await,
        "127.0.0.3",
    );
    assert!(
        message.contains("inside.test"),
        "the name is shown too: {message}"
    );
    refused(
        fetcher
            .fetch(&format!("http://mixed.test:{port}/secret.xml"), &known)
            .await,
        "127.0.0.3",
    );
    for name in ["localhost", "LOCALHOST.", "api.localhost"] {
        refused(
            fetcher
                .fetch(&format!("http://{name}:{p}/feed.xml"), &known)
                .await,
            "::1",
        );
    }

    // From an allowed server, redirects to the names are refused too.
    *outside.targets.lock().unwrap() = vec![
        format!("http://inside.test:{port}/secret.xml"),
        format!("http://localhost:{p}/feed.xml"),
    ];
    for hop in 0..2 {
        let message = refused(
            fetcher
                .fetch(&format!("http://{public}/hop/{hop}"), &known)
                .await,
            "refused",
        );
        assert!(message.contains("redirected"), "{message}");
    }

    // DNS rebinding: the name passed once, then answers an internal address. The check is on the
    // address connected to, so the second connection is refused.
    let first = fetcher
        .fetch(&format!("http://rebind.test:{p}/feed.xml"), &known)
        .await;
    assert!(matches!(first, FetchOutcome::Fetched(_)), "{first:?}");
    refused(
        fetcher
            .fetch(&format!("http://rebind.test:{p}/feed.xml"), &known)
            .await,
        "127.0.0.3",
    );
    assert_eq!(inside.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn inspect_refuses_loopback_unless_allowed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (public, _) = rt.block_on(serve("127.0.0.1:0".parse().unwrap(), FEED));
    let url = format!("http://{public}/feed.xml");
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_wiredesk"))
            .arg("inspect")
            .arg(&url)
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("refused to connect to 127.0.0.1, a loopback address")
            && stderr.contains("--allow-network"),
        "{stderr}"
    );
    let allowed = run(&["--allow-network", "127.0.0.1/32"]);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    assert!(String::from_utf8_lossy(&allowed.stdout).contains("A public story"));
}

/// A source's own `allow_networks` opens its network to that source alone, added to `[fetch]`'s: the same
/// internal server is fetched for it and refused for the source without it, and `::1` stays refused for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_allowed_a_network_reaches_it_and_no_other_source_does() {
    let (port, inside, inside6) = internal().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let toml = format!(
        "[storage]\npath = {db:?}\n[defaults]\nschedule = \"* * * * *\"\n\
         [fetch]\nallow_networks = [\"127.0.0.1/32\"]\n[[sections]]\nid = \"all\"\n\
         [[sources]]\nname = \"intranet\"\nurl = \"http://127.0.0.3:{port}/a.xml\"\nsections = [\"all\"]\n\
         allow_networks = [\"127.0.0.3/32\"]\n\
         [[sources]]\nname = \"intranet over v6\"\nurl = \"http://[::1]:{port}/b.xml\"\nsections = [\"all\"]\n\
         allow_networks = [\"127.0.0.3/32\"]\n\
         [[sources]]\nname = \"stranger\"\nurl = \"http://127.0.0.3:{port}/c.xml\"\nsections = [\"all\"]\n"
    );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, toml).unwrap();
    let summary = wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(summary.fetched, 1, "{:?}", summary.failures);
    assert_eq!(inside.requests.load(Ordering::SeqCst), 1, "only intranet's");
    assert_eq!(inside6.requests.load(Ordering::SeqCst), 0);
    let store = Store::open_read_only(&db).unwrap();
    for row in store.sources().unwrap() {
        let result = row.last_result.map(|r| r.to_string()).unwrap_or_default();
        match row.name.as_str() {
            "intranet" => assert!(result.starts_with("ok"), "{result}"),
            named => {
                assert_eq!(result, "error (refused-address)", "{named}");
                let err = row.last_error.unwrap_or_default();
                let address = if named == "stranger" {
                    "127.0.0.3"
                } else {
                    "::1"
                };
                assert!(err.contains(address), "{named}: {err}");
            }
        }
    }
}
