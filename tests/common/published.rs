//! A published fixture for the reader and validator tests: `../shared/dedup-dev` plus real-world corpus feeds
//! with bylines, dates and HTML summaries, plus the hostile feeds in `tests/data/hostile/`, all served on
//! 127.0.0.1, polled once, and written out as static files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{SourceSpec, config_toml, serve_files, shared_dir};

/// Real-world corpus feeds (relative to `../shared/corpora`) with bylines (RSS `author` with and without
/// e-mail, `dc:creator`, Atom persons), dates in many forms, dateless items and HTML summaries.
pub const CORPUS_FEEDS: &[&str] = &[
    "miniflux/parser/large_rss.xml",
    "miniflux/parser/large_atom.xml",
    "miniflux/parser/small_atom.xml",
    "miniflux/parser/urdu_UTF8.xml",
    "miniflux/parser/encoding_WINDOWS-1251.xml",
    "miniflux/parser/encoding_ISO-8859-1.xml",
    "miniflux/parser/no_encoding_ISO-8859-1.xml",
    "miniflux/parser/rdf_UTF8.xml",
    "feed-rs/fixture/rss2/rss_2.0_bbc.xml",
    "feed-rs/fixture/rss2/rss_2.0_heated.xml",
    "feed-rs/fixture/rss2/rss_2.0_nbcny.xml",
    "feed-rs/fixture/rss2/rss_2.0_spiegel.xml",
    "feed-rs/fixture/rss2/rss_2.0_wirecutter.xml",
    "feed-rs/fixture/rss2/rss_2.0_cloudflare.xml",
    "feed-rs/fixture/rss2/rss_2.0_ghost_2.xml",
    "feed-rs/fixture/rss2/rss_2.0_element_io.xml",
    "feed-rs/fixture/rss2/rss_2.0_reddit.xml",
    "feed-rs/fixture/rss2/rss_2.0_rps.xml",
    "feed-rs/fixture/rss2/rss_2.0_ilgiornale.xml",
    "feed-rs/fixture/rss2/rss_2.0_ilmessaggero.xml",
    "feed-rs/fixture/rss2/rss_2.0_nightvale.xml",
    "feed-rs/fixture/rss2/rss_2.0_ch9.xml",
    "feed-rs/fixture/rss2/rss_2.0_dbengines.xml",
    "feed-rs/fixture/rss2/rss_2.0_example_5.xml",
    "feed-rs/fixture/rss1/rss_1.0_biorxiv.xml",
    "feed-rs/fixture/rss1/rss_1.0_example_1.xml",
    "feed-rs/fixture/rss1/rss_1.0_iso8859.xml",
    "feed-rs/fixture/atom/atom_example_6.xml",
    "feed-rs/fixture/atom/atom_example_reddit.xml",
    "feed-rs/fixture/atom/atom_mediarss_reddit_1.xml",
    "feed-rs/fixture/atom/atom_example_2.xml",
    "feed-rs/fixture/atom/atom_xml_base.xml",
    "rss-crate/data/rss2sample.xml",
    "rss-crate/data/item.xml",
    "rss-crate/data/dublincore.xml",
    "rss-crate/data/rss092.xml",
    "rss-crate/data/rss090.xml",
    "atom-crate/data/entry.xml",
    "atom-crate/data/source.xml",
];

/// The configured title of the hostile section: markup in the configuration is not published either.
pub const HOSTILE_SECTION_TITLE: &str = "<script>alert(0)</script><b>Hostile</b> &amp; desk";
/// That title as every document and page must show it.
pub const HOSTILE_SECTION_SHOWN: &str = "Hostile & desk";

/// The sections of the fixture: the dev set, the corpus feeds, the hostile feeds.
pub const SECTIONS: &[&str] = &["dev", "corpus", "hostile"];

/// A polled and published fixture.
pub struct Published {
    /// Holds the database and the static files.
    pub dir: tempfile::TempDir,
    /// The static files (`feeds/{section}.{rss,atom,json}`).
    pub out: PathBuf,
    /// The base URL the documents name as their own (`base_url`).
    pub base_url: String,
    /// Entries the sources carried, by section (stored items, whether or not they joined a story).
    pub new_items: usize,
}

impl Published {
    /// The path of a section's document of one format.
    pub fn document(&self, section: &str, ext: &str) -> PathBuf {
        self.out.join(format!("feeds/{section}.{ext}"))
    }

    /// The URL a section's document names as its own.
    pub fn self_url(&self, section: &str, ext: &str) -> String {
        format!("{}/feeds/{section}.{ext}", self.base_url)
    }
}

fn hostile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hostile")
}

/// The fixture, published once for all the tests of a test binary (the first caller publishes it, the
/// others wait). It lives in the target's scratch directory, since a static is never dropped.
pub fn shared_fixture() -> &'static Published {
    static FIXTURE: std::sync::OnceLock<Published> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(publish_fixture_in(env!("CARGO_TARGET_TMPDIR")))
    })
}

/// Serves the fixture's feeds on 127.0.0.1, polls them once and writes every document and page out, in a
/// new directory under `scratch`.
async fn publish_fixture_in(scratch: impl AsRef<Path>) -> Published {
    let mut files: HashMap<String, (Vec<u8>, String)> = HashMap::new();
    let mut sources: Vec<(String, String, &str)> = Vec::new();
    let dev = shared_dir().join("dedup-dev/feeds");
    let mut dev_files: Vec<PathBuf> = std::fs::read_dir(&dev)
        .unwrap_or_else(|e| panic!("{}: {e}", dev.display()))
        .map(|e| e.unwrap().path())
        .collect();
    dev_files.sort();
    for path in dev_files {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        sources.push((name.clone(), format!("/dev/{name}.xml"), "dev"));
        files.insert(
            format!("/dev/{name}.xml"),
            (std::fs::read(&path).unwrap(), "application/xml".into()),
        );
    }
    for rel in CORPUS_FEEDS {
        let path = shared_dir().join("corpora").join(rel);
        let url = format!("/corpus/{rel}");
        sources.push((rel.to_string(), url.clone(), "corpus"));
        files.insert(
            url,
            (
                std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                "application/xml".into(),
            ),
        );
    }
    let mut hostile: Vec<PathBuf> = std::fs::read_dir(hostile_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    hostile.sort();
    for path in hostile {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let url = format!("/hostile/{name}");
        sources.push((format!("hostile {name}"), url.clone(), "hostile"));
        files.insert(
            url,
            (std::fs::read(&path).unwrap(), "application/xml".into()),
        );
    }
    let (addr, _) = serve_files(files).await;
    // Each source its own priority: sources are polled concurrently, and among copies of one story
    // published at the same time the first stored would otherwise be the original, so the published
    // documents (and the validator's findings) would change from run to run.
    let count = sources.len() as i32;
    let specs: Vec<SourceSpec> = sources
        .into_iter()
        .enumerate()
        .map(|(i, (name, path, section))| {
            (
                name,
                format!("http://{addr}{path}"),
                vec![section.to_string()],
                count - i as i32,
            )
        })
        .collect();
    let dir = tempfile::tempdir_in(scratch).unwrap();
    let out = dir.path().join("public");
    let config = dir.path().join("feeds.toml");
    let mut toml = config_toml("127.0.0.1:9", &dir.path().join("p.db"), SECTIONS, &specs).replace(
        "title = \"Section hostile\"",
        &format!("title = {HOSTILE_SECTION_TITLE:?}"),
    );
    // Every story of every section is published, so every item meets the validator and the readers.
    toml.push_str("[publish]\nitems_per_feed = 5000\n");
    std::fs::write(&config, toml).unwrap();
    let summary = wiredesk::daemon::poll_once(wiredesk::config::load(&config).unwrap(), Some(&out))
        .await
        .unwrap();
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    // For studying a failure: WIREDESK_PUBLISHED_OUT=dir keeps a copy of the published documents.
    if let Some(keep) = std::env::var_os("WIREDESK_PUBLISHED_OUT") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for entry in std::fs::read_dir(out.join("feeds")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, keep.join(path.file_name().unwrap())).unwrap();
        }
    }
    Published {
        new_items: summary.new_items,
        dir,
        out,
        base_url: "http://127.0.0.1:9".into(),
    }
}
