//! The `totpstore` binary: the CLI with every backend of this build.

fn main() -> std::process::ExitCode {
    totpstore::cli::main()
}
