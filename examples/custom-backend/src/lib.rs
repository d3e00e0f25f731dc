//! A `totpstore` storage backend that keeps every TOTP configuration in one JSON file.
//!
//! It is written the way a crate outside the `totpstore` repository would write a backend,
//! using only the public API, and is the worked example of `docs/adding-a-backend.md`:
//!
//! - [`JsonFileStore`] implements [`totpstore::TotpStore`];
//! - the `inventory::submit!` below registers a [`BackendDescriptor`] named `jsonfile` that owns
//!   the flag `--jsonfile.path` and the configuration key `storage.jsonfile.path`;
//! - [`link`] is what a binary calls so that the linker keeps that registration;
//! - the binary (`src/main.rs`) is the normal `totpstore` command with this backend added.
//!
//! Every change rewrites the whole file: a new file is written beside it, flushed to disk and
//! renamed over the old one, so a reader or a crash sees the old or the new content, never a
//! mix. Writers in any process are serialised by an exclusive OS lock on a sidecar file
//! `<path>.lock`; the read-modify-write under that lock is what makes a create-only save
//! atomic. Both files are created with mode 0600.
//!
//! Limits, acceptable for an example and for a few thousand users: every change rewrites the
//! whole file; the lock is advisory, so only processes that take it (this backend) are kept
//! out; and it relies on `flock` semantics, which some network file systems do not provide.

#![warn(missing_docs)]

mod document;
mod file;
mod store;

pub use store::JsonFileStore;

use totpstore::{BackendDescriptor, BackendOptions, ConnectFuture, OptionSpec, TotpStore};

/// Registry name, used in messages and by `storage backends`.
pub const NAME: &str = "jsonfile";

/// Configuration section: the file is set with `storage.jsonfile.path`.
pub const SECTION: &str = "jsonfile";

/// The options this backend owns.
pub const OPTIONS: &[OptionSpec] = &[OptionSpec::new(
    "path",
    "the path to the JSON file holding the TOTP configurations (created if missing)",
)];

/// The constructor in the registry entry.
pub const CONNECT: fn(BackendOptions) -> ConnectFuture = connect;

fn connect(options: BackendOptions) -> ConnectFuture {
    Box::pin(async move {
        let store = JsonFileStore::connect(&options)?;
        Ok(Box::new(store) as Box<dyn TotpStore>)
    })
}

totpstore::inventory::submit! {
    BackendDescriptor::new(
        NAME,
        SECTION,
        "jsonfile",
        "one JSON file on local disk (example of a third-party backend)",
        OPTIONS,
        CONNECT,
    )
}

/// Keeps this crate's registration in a binary that links it.
///
/// `inventory` registers through a static constructor in this crate's object code. A linker
/// only pulls an object out of a library when something refers to it, so a binary that never
/// names this crate would silently lose the backend. Call this once from `main`.
pub fn link() {
    // black_box stops the reference from being optimised away.
    std::hint::black_box(CONNECT);
}
