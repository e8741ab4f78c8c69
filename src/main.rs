//! The `wiredesk` binary: everything lives in the library; see `wiredesk --help`.

fn main() -> std::process::ExitCode {
    wiredesk::cli::main()
}
