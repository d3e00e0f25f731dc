//! SQLite backend: the embedded default, one database file on local disk.
//!
//! Tables (see `migrations/sqlite/`): `totp_configurations` with a `UNIQUE` username in the
//! default `BINARY` collation, `totpstore_metadata` for the encryption check value, and
//! `totpstore_migrations` for the schema history. The database file is created with mode 0600.
//!
//! The `path` option is a plain file path. `:memory:` (a database that would keep nothing) and
//! `file:` URIs (whose parameters can make the database in-memory or read-only, and whose path
//! is not the name given) are refused, before anything is created; `./file:x` names a file
//! called `file:x`. SQLite is handed the path with `./` before a relative one, so it never
//! reads a name as a URI. A symbolic link whose target is missing is refused rather than
//! followed to create the target. A file this backend has just created for a connection that
//! fails is removed again.
//!
//! Concurrent processes are serialised by SQLite's file lock; a writer waits up to the busy
//! timeout (10 s; the library-only option `lock_timeout` changes it) for another to finish,
//! then reports that it timed out waiting for a lock.

mod config;
mod error;
mod store;

pub use config::{OPTIONS, SECTION};
pub use store::SqliteStore;

use crate::registry::{BackendDescriptor, BackendOptions, ConnectFuture};

/// Registry name.
pub const NAME: &str = "sqlite";

/// The constructor registered for this backend.
pub const DESCRIPTOR_CONNECT: fn(BackendOptions) -> ConnectFuture = connect;

fn connect(options: BackendOptions) -> ConnectFuture {
    Box::pin(async move {
        let store = SqliteStore::connect(&options).await?;
        Ok(Box::new(store) as Box<dyn crate::TotpStore>)
    })
}

inventory::submit! {
    BackendDescriptor::new(
        NAME,
        SECTION,
        "sqlite",
        "SQLite database file (embedded, no server)",
        OPTIONS,
        DESCRIPTOR_CONNECT,
    )
}
