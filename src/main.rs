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

/// Returns freed pages to the system at once. Ingest frees parsed feeds continuously, and with the delay
/// a first poll cycle of 10,000 feeds peaked 36 MB higher; the extra system calls cost nothing measurable.
/// `MIMALLOC_PURGE_DELAY` in the environment still wins.
fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: plain option getter and setter of the linked allocator.
    unsafe {
        if mi_option_get(MI_OPTION_PURGE_DELAY) == BUNDLED_PURGE_DELAY {
            mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        }
    }
}

fn main() -> std::process::ExitCode {
    purge_freed_memory_at_once();
    wiredesk::cli::main()
}
