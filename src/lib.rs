//! wiredesk: a wire desk daemon. It polls news feeds on schedules, folds reposted and spun copies of a story
//! into one, stores everything in SQLite, and republishes one clean feed per section.
//!
//! The modules follow the data, in order:
//! config → schedule → fetch → parse → normalize → dedup → store → publish → serve.
//! `poll` and `ingest` run one source through those stages; `daemon` wires the stages into tasks.

pub mod config;
pub mod dedup;
pub mod fetch;
pub mod normalize;
pub mod parse;
pub mod publish;
pub mod schedule;
pub mod serve;
pub mod store;

pub mod daemon;
pub mod dispatch;
pub mod ingest;
pub mod poll;

pub mod cli;
pub mod demo;
pub mod explain;
pub mod inspect;
