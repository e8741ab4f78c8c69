//! The `wiredesk` binary: everything lives in the library; see `wiredesk --help`.

/// mimalloc instead of glibc malloc: parse tasks on many threads allocate and free feed trees
/// constantly, and glibc's arenas spent a fifth of the first poll cycle's CPU in malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    wiredesk::cli::main()
}
