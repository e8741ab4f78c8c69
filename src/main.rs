//! The `wiredesk` binary: everything lives in the library; see `wiredesk --help`.

/// mimalloc instead of glibc malloc: parse tasks on many threads allocate and free feed trees
/// constantly, and glibc's arenas spent a fifth of the first poll cycle's CPU in malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc.h (v3): milliseconds that freed pages stay committed.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
/// Its default in the bundled mimalloc (`src/options.c`); reading it back confirms the option's index.
const BUNDLED_PURGE_DELAY: std::ffi::c_long = 1000;

/// How long freed pages stay committed, in milliseconds. Ingest frees parsed feeds continuously: with the
/// bundled second, a first poll cycle of 10,000 feeds peaked 36 MB higher. Purging at once (0) makes a page
/// freed by one feed and reused by the next one go back to the system and fault in again: malloc's page path
/// was 6.5 % of a 100,000-feed first cycle's samples, and 10 ms took 5-11 % off the CPU of 10k and 100k
/// first cycles for 5-8 MB more at peak.
const PURGE_DELAY_MS: std::ffi::c_long = 10;

/// Returns freed pages to the system soon (see [`PURGE_DELAY_MS`]). `MIMALLOC_PURGE_DELAY` in the
/// environment still wins.
fn purge_freed_memory_soon() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: plain option getter and setter of the linked allocator.
    unsafe {
        if mi_option_get(MI_OPTION_PURGE_DELAY) == BUNDLED_PURGE_DELAY {
            mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
        }
    }
}

fn main() -> std::process::ExitCode {
    purge_freed_memory_soon();
    wiredesk::cli::main()
}
