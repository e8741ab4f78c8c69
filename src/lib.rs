//! wiredesk: a wire desk daemon. It polls news feeds on schedules, folds reposted and spun copies of a story
//! into one, stores everything in SQLite, and republishes one clean feed per section.
//!
//! The modules follow one item through the tree, in data order:
//! config → schedule → fetch → parse → normalize → dedup → store → publish (feeds, and [`pages`] for
//! people) → serve.
//! [`pipeline`] runs one source's refresh through those stages and holds the one failure policy;
//! [`daemon`] wires the stages into tasks; [`cli`] is the command line.

pub mod config;
pub mod dedup;
pub mod fetch;
pub mod normalize;
pub mod parse;
pub mod publish;
pub mod schedule;
pub mod serve;
pub mod store;

pub mod pages;

pub mod cli;
pub mod daemon;
pub mod explain;
pub mod pipeline;
pub mod timefmt;
