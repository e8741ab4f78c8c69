//! The static export served by nginx, the way to serve many readers: `poll --once --out DIR` writes every
//! document, nginx serves the folder, and a reader's conditional requests get 304s. Skipped, with a
//! message, where nginx is not installed (`.ci/run` installs it).

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// nginx, stopped when the test ends.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A minimal nginx config serving `root` on `port`, with the feed types wiredesk writes.
fn nginx_conf(dir: &Path, root: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           types {{ application/rss+xml rss; application/atom+xml atom; application/feed+json json;\n\
                    text/x-opml opml; text/html html; }}\n\
           charset utf-8;\n  charset_types application/rss+xml application/atom+xml application/feed+json text/x-opml;\n\
           server {{\n    listen 127.0.0.1:{port};\n    root {};\n    index index.html;\n    etag on;\n  }}\n}}\n",
        root.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_serves_the_static_export_with_conditional_responses() {
    if Command::new("nginx").arg("-v").output().is_err() {
        eprintln!("skipped: nginx is not installed (apt-get install -y nginx)");
        return;
    }
    let (addr, names) = common::serve_feed_dir(&common::shared_dir().join("dedup-dev/feeds")).await;
    let sources: Vec<common::SourceSpec> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                format!("http://{addr}/{n}.xml"),
                vec!["all".to_string()],
                0,
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("public");
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        common::config_toml("127.0.0.1:9", &dir.path().join("w.db"), &["all"], &sources),
    )
    .unwrap();
    wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), Some(&out))
        .await
        .unwrap();
    for doc in [
        "feeds/all.rss",
        "feeds/all.atom",
        "feeds/all.json",
        "feeds.opml",
        "index.html",
    ] {
        assert!(out.join(doc).is_file(), "{doc} was not exported");
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir.path(), &out, port)).unwrap();
    let _nginx = Nginx(
        Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let url = format!("http://127.0.0.1:{port}/feeds/all.rss");
    let up = Instant::now();
    let first = loop {
        match client.get(&url).send().await {
            Ok(r) => break r,
            Err(e) => {
                assert!(
                    up.elapsed() < Duration::from_secs(10),
                    "nginx did not come up: {e}\n{}",
                    std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(first.status(), 200);
    assert_eq!(
        first.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let last_modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let body = first.bytes().await.unwrap();
    assert_eq!(
        &body[..],
        &std::fs::read(out.join("feeds/all.rss")).unwrap()[..],
        "nginx serves the exported bytes"
    );
    let by_etag = client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(by_etag.status(), 304);
    let by_date = client
        .get(&url)
        .header("If-Modified-Since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(by_date.status(), 304);

    // A second export of an unchanged feed rewrites nothing, so nginx's validators hold.
    wiredesk::daemon::poll_once(wiredesk::config::load(&path).unwrap(), Some(&out))
        .await
        .unwrap();
    let again = client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        304,
        "an unchanged export keeps nginx's ETag"
    );
}
