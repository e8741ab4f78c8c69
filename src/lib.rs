//! wiredesk: a wire desk daemon. It polls news feeds on schedules, folds reposted and spun copies of a story
//! into one, stores everything in SQLite, and republishes one clean feed per section.
//!
//! The modules follow one item through the tree, in data order:
//! config → schedule → fetch → parse → normalize → dedup → store → publish (feeds, and [`pages`] for
//! people) → serve.
//! [`pipeline`] runs one source's refresh through those stages and holds the one failure policy;
//! [`daemon`] wires the stages into tasks; [`cli`] is the command line. The public surface is what the
//! binary, the tests and the benchmarks use; everything else is crate-private.

#![warn(unreachable_pub)]

/// `feeds.toml` → a validated [`config::Config`].
pub mod config;

/// When each source is due, and why.
pub mod schedule;

/// HTTP: conditional GET, redirects, body caps, per-host politeness.
pub mod fetch;

/// Bytes → feed entries, whatever the charset.
pub mod parse;

/// Entries → canonical items: URLs, plain text, sanitised HTML, dates.
pub mod normalize;

/// Where an item goes: same item, same story, or a new story.
pub mod dedup;

/// SQLite: the only module that speaks SQL.
pub mod store;

/// Stories → RSS, Atom, JSON Feed, OPML.
pub(crate) mod publish;

/// HTTP server: feeds, pages, health, metrics.
pub mod serve;

/// The HTML pages people read: sections, stories, operator status.
pub(crate) mod pages;

/// Dedup decisions told in words, by role (the original, its copies).
pub(crate) mod explain;

/// Times as people read them, one format everywhere.
pub(crate) mod timefmt;

/// One source's refresh, the writer, the failure policy.
pub mod pipeline;

/// The systemd notify protocol: READY, STATUS, WATCHDOG, STOPPING.
pub(crate) mod notify;

/// Wiring: the scheduler loop, reloads, signals, `poll --once`.
pub mod daemon;

/// The command line.
pub mod cli;
