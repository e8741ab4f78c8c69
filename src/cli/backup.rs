//! `wiredesk backup PATH`: an online, consistent copy of the database, safe while the daemon runs. The copy
//! is written beside the target, checked with `integrity_check`, and only then renamed into place, so PATH
//! is either a good backup or absent.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::Store;

/// Copies the database at `db` to `to`, which must not exist yet.
pub(crate) fn backup(db: &Path, to: &Path) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !to.exists(),
        "{} already exists; name a new file (a backup never overwrites one)",
        to.display()
    );
    let started = std::time::Instant::now();
    let store = Store::open_read_only(db)?;
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    store
        .copy_to(&partial)
        .with_context(|| format!("cannot copy {} to {}", db.display(), partial.display()))?;
    let copy = Store::open_read_only(&partial)?;
    let verdict = copy.integrity_check()?;
    if verdict != "ok" {
        let _ = std::fs::remove_file(&partial);
        anyhow::bail!(
            "the copy of {} failed its integrity check ({verdict}); nothing was written to {}",
            db.display(),
            to.display()
        );
    }
    let (sources, items, stories) = copy.counts()?;
    drop(copy);
    std::fs::rename(&partial, to)
        .with_context(|| format!("cannot move {} to {}", partial.display(), to.display()))?;
    let bytes = std::fs::metadata(to).map_or(0, |m| m.len());
    println!(
        "backed up {} to {}: {sources} sources, {items} items, {stories} stories, {:.1} MB, integrity ok, in {:.1} s",
        db.display(),
        to.display(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    println!(
        "to restore: stop the daemon, copy {} over {}, delete any {}-wal beside it, start the daemon",
        to.display(),
        db.display(),
        db.display()
    );
    Ok(ExitCode::SUCCESS)
}
