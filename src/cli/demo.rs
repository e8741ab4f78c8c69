//! `wiredesk demo`: an offline demo. It serves bundled sample feeds (with reposts and a spun copy) on
//! loopback, points a temporary wiredesk at them and runs the daemon, printing the subscribe URLs.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;

/// The bundled sample feeds: (file name, section, priority, body). Written for the demo; no real news.
pub const SAMPLE_FEEDS: &[(&str, &str, i32, &str)] = &[
    (
        "harbor-wire",
        "local",
        10,
        include_str!("../../demo/harbor-wire.xml"),
    ),
    (
        "metro-digest",
        "local",
        0,
        include_str!("../../demo/metro-digest.xml"),
    ),
    (
        "daily-buzz",
        "local",
        -5,
        include_str!("../../demo/daily-buzz.xml"),
    ),
];

async fn sample(Path(name): Path<String>, headers: HeaderMap) -> impl IntoResponse {
    let name = name.trim_end_matches(".xml");
    let Some((_, _, _, body)) = SAMPLE_FEEDS.iter().find(|(n, ..)| *n == name) else {
        return (StatusCode::NOT_FOUND, HeaderMap::new(), String::new());
    };
    let etag = format!("\"{}\"", &blake3::hash(body.as_bytes()).to_hex()[..16]);
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, etag.parse().expect("hex is a valid header"));
    out.insert(
        header::CONTENT_TYPE,
        "application/rss+xml; charset=utf-8"
            .parse()
            .expect("valid header"),
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, out, String::new());
    }
    (StatusCode::OK, out, body.to_string())
}

/// Starts the sample-feed server on an ephemeral loopback port and returns its address.
pub async fn serve_samples() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/samples/{name}", axum::routing::get(sample));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The demo config for samples served at `samples`, with wiredesk on `listen` and its database in `db`.
pub fn demo_config_toml(samples: SocketAddr, listen: SocketAddr, db: &std::path::Path) -> String {
    let mut toml = format!(
        "[server]\nlisten = \"{listen}\"\nbase_url = \"http://{listen}\"\n\n[storage]\npath = {db:?}\nretention_days = 0\n\n\
         [defaults]\nschedule = \"* * * * *\"\n\n\
         # The samples are served on loopback, which wiredesk refuses unless a network is allowed.\n\
         [fetch]\nallow_networks = [\"{}/32\"]\n\n[[sections]]\nid = \"local\"\ntitle = \"Local news\"\n\
         description = \"The demo's local news, merged from three sample sources\"\n",
        samples.ip()
    );
    for (name, section, priority, _) in SAMPLE_FEEDS {
        toml.push_str(&format!(
            "\n[[sources]]\nname = \"{name}\"\nurl = \"http://{samples}/samples/{name}.xml\"\nsections = [\"{section}\"]\npriority = {priority}\n"
        ));
    }
    toml
}

/// Runs the demo until Ctrl-C.
pub async fn run(listen: SocketAddr) -> anyhow::Result<()> {
    let samples = serve_samples().await?;
    let dir = std::env::temp_dir().join(format!("wiredesk-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{listen} is busy ({e}); using a free port instead");
            tokio::net::TcpListener::bind("127.0.0.1:0").await?
        }
    };
    let listen = listener.local_addr()?;
    let config_path = dir.join("feeds.toml");
    std::fs::write(
        &config_path,
        demo_config_toml(samples, listen, &dir.join("demo.db")),
    )?;
    let config = crate::config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "wiredesk demo: sample feeds on http://{samples}/samples/, data in {}",
        dir.display()
    );
    println!("subscribe to:");
    for ext in ["rss", "atom", "json"] {
        println!("  http://{listen}/feeds/local.{ext}");
    }
    println!("  http://{listen}/feeds.opml   (all sections)");
    println!("  http://{listen}/             (index)");
    println!(
        "then try: wiredesk --config {} stories",
        config_path.display()
    );
    println!("press Ctrl-C to stop");
    crate::daemon::run_with_listener(config_path, config, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
