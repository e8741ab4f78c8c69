//! End-to-end tests of the farm over real loopback sockets: feeds, conditional GET, stats,
//! concurrency accounting, the fault paths, `--faults` assignment and shutdown.

use std::time::Duration;

use bytes::Bytes;
use feedfarm::{FarmConfig, FarmHandle, Fault, StatsSnapshot};
use http_body_util::{BodyExt, Empty};
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A plain HTTP/1.1 client; it does not follow redirects or decompress, which is what we want.
type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// A fresh client with its own connection pool.
fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// One fetched response.
struct Fetched {
    /// Status code.
    status: StatusCode,
    /// Response headers.
    headers: HeaderMap,
    /// The whole body.
    body: Bytes,
}

/// Sends a request with extra headers and reads the whole body.
async fn send(
    c: &HttpClient,
    method: Method,
    url: &str,
    extra: &[(header::HeaderName, &str)],
) -> Fetched {
    let mut req = Request::builder().method(method).uri(url);
    for (name, value) in extra {
        req = req.header(name, *value);
    }
    let resp = c
        .request(req.body(Empty::new()).unwrap())
        .await
        .expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Fetched {
        status,
        headers,
        body,
    }
}

/// GET with extra headers.
async fn get(c: &HttpClient, url: &str, extra: &[(header::HeaderName, &str)]) -> Fetched {
    send(c, Method::GET, url, extra).await
}

/// A header as a string.
fn hdr(f: &Fetched, name: header::HeaderName) -> &str {
    f.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Counters of the host that serves feed `k`.
fn host_key(farm: &FarmHandle, k: u64) -> String {
    let l = farm.layout();
    format!("{}:{}", l.host_ip(l.host_of(k)), farm.port)
}

/// Checks that a document is well-formed XML and returns how many `<item>` elements it has.
fn count_items(xml: &[u8]) -> usize {
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut items = 0;
    loop {
        match reader.read_event_into(&mut buf).expect("well-formed XML") {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == "item" => items += 1,
            quick_xml::events::Event::Eof => return items,
            _ => {}
        }
        buf.clear();
    }
}

#[tokio::test]
async fn feed_then_conditional_304_and_stats() {
    let farm = feedfarm::start(FarmConfig::default()).await.unwrap();
    let c = client();
    let url = farm.feed_url(5);
    assert!(
        url.starts_with("http://127.0.1.2:"),
        "feed 5 lives on host 5 mod 4 = 1: {url}"
    );

    let first = get(&c, &url, &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(count_items(&first.body), 20);
    let etag = hdr(&first, header::ETAG).to_owned();
    let last_modified = hdr(&first, header::LAST_MODIFIED).to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    assert!(httpdate::parse_http_date(&last_modified).is_ok());

    // Same bytes again: the content is deterministic.
    let again = get(&c, &url, &[]).await;
    assert_eq!(again.body, first.body);

    let by_etag = get(&c, &url, &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(by_etag.status, StatusCode::NOT_MODIFIED);
    assert!(by_etag.body.is_empty());
    assert_eq!(hdr(&by_etag, header::ETAG), etag);

    let by_date = get(&c, &url, &[(header::IF_MODIFIED_SINCE, &last_modified)]).await;
    assert_eq!(by_date.status, StatusCode::NOT_MODIFIED);

    // A stale validator gets the full feed.
    let stale = get(&c, &url, &[(header::IF_NONE_MATCH, "\"nope\"")]).await;
    assert_eq!(stale.status, StatusCode::OK);

    let stats = farm.stats();
    let host = stats.host(&host_key(&farm, 5)).expect("host counted");
    assert_eq!(host.requests, 5);
    assert_eq!(host.conditional, 3);
    assert_eq!(host.not_modified, 2);
    assert_eq!(host.statuses["200"], 3);
    assert_eq!(host.in_flight, 0);
    assert_eq!(host.paths["/feeds/5.xml"], 5);
    assert_eq!(stats.totals.requests, 5);

    // The same numbers over HTTP, from any host; stats requests are not counted themselves.
    let json = get(&c, &format!("{}/_stats", farm.host_url(3)), &[]).await;
    let over_http: StatsSnapshot = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(over_http.totals.requests, 5);
    assert_eq!(over_http.path_count("/feeds/5.xml"), 5);

    let reset = send(
        &c,
        Method::POST,
        &format!("{}/_stats/reset", farm.host_url(0)),
        &[],
    )
    .await;
    assert_eq!(reset.status, StatusCode::OK);
    assert_eq!(farm.stats().totals.requests, 0);
    assert!(farm.stats().hosts.is_empty());
}

#[tokio::test]
async fn feeds_live_on_their_own_host_only() {
    let farm = feedfarm::start(FarmConfig::default()).await.unwrap();
    let c = client();
    let wrong = format!("{}/feeds/5.xml", farm.host_url(0));
    assert_eq!(get(&c, &wrong, &[]).await.status, StatusCode::NOT_FOUND);
    let beyond = format!("{}/feeds/100.xml", farm.host_url(0));
    assert_eq!(get(&c, &beyond, &[]).await.status, StatusCode::NOT_FOUND);
    let stats = farm.stats();
    assert_eq!(stats.totals.statuses["404"], 2);
}

#[tokio::test]
async fn max_in_flight_counts_concurrent_requests_per_host() {
    let farm = feedfarm::start(FarmConfig {
        latency: Duration::from_millis(200),
        ..Default::default()
    })
    .await
    .unwrap();
    let c = client();
    // Three at once on host 0 (feeds 0, 4, 8), one on host 1.
    let mut fetches = tokio::task::JoinSet::new();
    for k in [0, 4, 8, 1] {
        let (c, url) = (c.clone(), farm.feed_url(k));
        fetches.spawn(async move { get(&c, &url, &[]).await.status });
    }
    while let Some(status) = fetches.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    let stats = farm.stats();
    assert_eq!(stats.host(&host_key(&farm, 0)).unwrap().max_in_flight, 3);
    assert_eq!(stats.host(&host_key(&farm, 1)).unwrap().max_in_flight, 1);
    assert_eq!(stats.max_in_flight_per_host(), 3);
    assert_eq!(stats.totals.max_in_flight, 4);
}

#[tokio::test]
async fn status_faults() {
    let farm = feedfarm::start(FarmConfig::default()).await.unwrap();
    let c = client();
    let on = |path: &str| format!("{}{path}", farm.host_url(2));
    let host = format!("{}:{}", farm.layout().host_ip(2), farm.port);

    let gone = get(&c, &on("/fault/410/7.xml"), &[]).await;
    assert_eq!(gone.status, StatusCode::GONE);

    for (kind, status) in [
        ("301", StatusCode::MOVED_PERMANENTLY),
        ("302", StatusCode::FOUND),
        ("308", StatusCode::PERMANENT_REDIRECT),
    ] {
        let moved = get(&c, &on(&format!("/fault/{kind}/7.xml")), &[]).await;
        assert_eq!(moved.status, status);
        assert_eq!(
            hdr(&moved, header::LOCATION),
            format!("http://{host}/feeds/7.xml")
        );
    }

    let slow = get(&c, &on("/fault/429/7.xml?retry_after=42"), &[]).await;
    assert_eq!(slow.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(hdr(&slow, header::RETRY_AFTER), "42");
    let busy = get(&c, &on("/fault/503/7.xml?retry_after_date=3600"), &[]).await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(httpdate::parse_http_date(hdr(&busy, header::RETRY_AFTER)).is_ok());
    let default_retry = get(&c, &on("/fault/503/7.xml"), &[]).await;
    assert_eq!(hdr(&default_retry, header::RETRY_AFTER), "120");

    // The loop alternates between two URLs forever.
    let a = get(&c, &on("/fault/loop/7.xml"), &[]).await;
    assert_eq!(
        hdr(&a, header::LOCATION),
        format!("http://{host}/fault/loop/7.xml?alt=1")
    );
    let b = get(&c, &on("/fault/loop/7.xml?alt=1"), &[]).await;
    assert_eq!(
        hdr(&b, header::LOCATION),
        format!("http://{host}/fault/loop/7.xml")
    );

    let broken = get(&c, &on("/fault/malformed/7.xml"), &[]).await;
    assert_eq!(broken.status, StatusCode::OK);
    let mut reader = quick_xml::Reader::from_reader(&broken.body[..]);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let well_formed = loop {
        match reader.read_event_into(&mut buf) {
            Err(_) => break false,
            Ok(quick_xml::events::Event::Eof) => break true,
            Ok(_) => buf.clear(),
        }
    };
    assert!(!well_formed, "malformed fault must not parse");

    let statuses: Vec<StatusCode> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(get(&c, &on("/fault/flaky/7.xml?every=2"), &[]).await.status);
        }
        v
    };
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::OK,
            StatusCode::SERVICE_UNAVAILABLE
        ]
    );

    let stats = farm.stats();
    assert_eq!(stats.host(&host).unwrap().paths["/fault/410/7.xml"], 1);
    assert_eq!(stats.host(&host).unwrap().paths["/fault/flaky/7.xml"], 4);
}

#[tokio::test]
async fn streaming_faults_huge_and_gzipbomb() {
    // A 64 MiB bomb: compressing the default GiB takes ~8 s in an unoptimised test build.
    let farm = feedfarm::start(FarmConfig {
        fault_params: feedfarm::FaultParams {
            bomb_mib: 64,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let c = client();
    let huge = get(
        &c,
        &format!("{}/fault/huge/3.xml?mb=2", farm.host_url(0)),
        &[],
    )
    .await;
    assert_eq!(huge.status, StatusCode::OK);
    assert!(
        huge.headers.get(header::CONTENT_LENGTH).is_none(),
        "streamed, not sized"
    );
    assert!(huge.body.len() >= 2 << 20 && huge.body.len() < (2 << 20) + (128 << 10));
    assert!(count_items(&huge.body) > 1000);

    let bomb = get(
        &c,
        &format!("{}/fault/gzipbomb/3.xml", farm.host_url(0)),
        &[],
    )
    .await;
    assert_eq!(bomb.status, StatusCode::OK);
    assert_eq!(hdr(&bomb, header::CONTENT_ENCODING), "gzip");
    assert!(
        bomb.body.len() < 1 << 20,
        "compressed size {}",
        bomb.body.len()
    );
    // Real gzip of an XML prolog and whitespace, inflating to exactly the configured size.
    let mut dec = flate2::read::GzDecoder::new(&bomb.body[..]);
    let mut first = vec![0u8; 1 << 20];
    std::io::Read::read_exact(&mut dec, &mut first).unwrap();
    assert!(first.starts_with(b"<?xml"));
    assert!(first[first.len() - 100..].iter().all(|&b| b == b' '));
    let rest = std::io::copy(&mut dec, &mut std::io::sink()).unwrap();
    assert_eq!(rest + (1 << 20), 64 << 20);

    // The deflate and brotli bombs inflate to the same.
    for (kind, coding) in [("deflatebomb", "deflate"), ("brotlibomb", "br")] {
        let bomb = get(&c, &format!("{}/fault/{kind}/3.xml", farm.host_url(0)), &[]).await;
        assert_eq!(hdr(&bomb, header::CONTENT_ENCODING), coding);
        assert!(bomb.body.len() < 1 << 20, "{kind}: {}", bomb.body.len());
        let inflated = if coding == "br" {
            let mut dec = brotli::Decompressor::new(&bomb.body[..], 1 << 16);
            std::io::copy(&mut dec, &mut std::io::sink()).unwrap()
        } else {
            let mut dec = flate2::read::ZlibDecoder::new(&bomb.body[..]);
            std::io::copy(&mut dec, &mut std::io::sink()).unwrap()
        };
        assert_eq!(inflated, 64 << 20, "{kind}");
    }
}

#[tokio::test]
async fn hang_and_drip_stay_in_flight_until_the_client_leaves() {
    let farm = feedfarm::start(FarmConfig {
        shutdown_grace: Duration::from_millis(200),
        ..Default::default()
    })
    .await
    .unwrap();
    let addr = format!("{}:{}", farm.layout().host_ip(0), farm.port);

    let mut hang = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!("GET /fault/hang/1.xml HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    hang.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(300), hang.read(&mut buf)).await;
    assert!(read.is_err(), "hang must not answer");
    assert_eq!(farm.stats().totals.in_flight, 1);

    let mut drip = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!("GET /fault/drip/1.xml HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    drip.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let started = std::time::Instant::now();
    // The body is chunked: each byte arrives as its own `1\r\nX\r\n` chunk.
    while !got.ends_with(b"1\r\n?\r\n") {
        let n = drip.read(&mut buf).await.unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    // Headers and the first byte come at once, the second byte a second later.
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert_eq!(farm.stats().totals.in_flight, 2);

    drop(hang);
    drop(drip);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while farm.stats().totals.in_flight > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "in_flight never dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Shutdown does not wait forever on a hanging request: the grace period cuts it off.
    let mut hang = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!("GET /fault/hang/1.xml HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    hang.write_all(req.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(Duration::from_secs(3), farm.stop())
        .await
        .expect("stop within grace");
    let n = hang.read(&mut buf).await.unwrap_or(0);
    assert_eq!(n, 0, "connection closed by shutdown");
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn fault_spec_assigns_faults_to_normal_feed_paths() {
    let farm = feedfarm::start(FarmConfig {
        feeds: 400,
        faults: "410=0.1,301=0.1,429=0.1".parse().unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let c = client();
    let pick = |f: Fault| {
        (0..400)
            .find(|&k| farm.fault_of(k) == Some(f))
            .expect("some feed has it")
    };
    let assigned = (0..400).filter(|&k| farm.fault_of(k).is_some()).count();
    assert!(
        (90..=150).contains(&assigned),
        "~30% assigned, got {assigned}"
    );

    let k = pick(Fault::Gone);
    assert_eq!(
        get(&c, &farm.feed_url(k), &[]).await.status,
        StatusCode::GONE
    );

    let k = pick(Fault::MovedPermanently);
    let moved = get(&c, &farm.feed_url(k), &[]).await;
    assert_eq!(moved.status, StatusCode::MOVED_PERMANENTLY);
    let location = hdr(&moved, header::LOCATION).to_owned();
    assert!(location.ends_with(&format!("/moved/{k}.xml")), "{location}");
    let target = get(&c, &location, &[]).await;
    assert_eq!(target.status, StatusCode::OK);
    assert_eq!(count_items(&target.body), 20);

    let k = pick(Fault::TooManyRequests);
    let slow = get(&c, &farm.feed_url(k), &[]).await;
    assert_eq!(slow.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(hdr(&slow, header::RETRY_AFTER), "120");

    let clean = (0..400).find(|&k| farm.fault_of(k).is_none()).unwrap();
    assert_eq!(
        get(&c, &farm.feed_url(clean), &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn growing_feeds_change_etag() {
    let farm = feedfarm::start(FarmConfig {
        new_items_every: Some(Duration::from_secs(1)),
        ..Default::default()
    })
    .await
    .unwrap();
    let c = client();
    let url = farm.feed_url(9);
    let first = get(&c, &url, &[]).await;
    let etag = hdr(&first, header::ETAG).to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = get(&c, &url, &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(
        later.status,
        StatusCode::OK,
        "a new item arrived, so the old ETag is stale"
    );
    assert_ne!(hdr(&later, header::ETAG), etag);
    assert_eq!(count_items(&later.body), 20);
    let newest_guid = |b: &Bytes| {
        let s = String::from_utf8_lossy(b).into_owned();
        s.split("<guid").nth(1).unwrap().to_owned()
    };
    assert_ne!(newest_guid(&first.body), newest_guid(&later.body));
}
