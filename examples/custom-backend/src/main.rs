//! The `totpstore` command with the JSON-file backend linked in beside the built-in ones.

fn main() -> std::process::ExitCode {
    // Without a reference to the backend crate the linker may drop its registration.
    totpstore_jsonfile::link();
    totpstore::cli::main()
}
