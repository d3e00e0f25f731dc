//! MySQL and MariaDB backend: a database on a MySQL 8 or MariaDB 10.5+ server.
//!
//! Tables (see `migrations/mysql/`), all InnoDB and utf8mb4:
//!
//! - `totp_configurations`: one row per user. `username` is `VARBINARY(400)` with a unique
//!   index, so names compare and sort byte for byte (`John` and `john`, `john` and `john `
//!   are different users), which the default utf8mb4 collations, case-insensitive and
//!   PAD SPACE, would not do; 400 bytes hold 100 four-byte characters. `secret` is a `BLOB`,
//!   timestamps are `DATETIME(6)` holding UTC (the driver sets the session's `time_zone` to
//!   `+00:00`).
//! - `totpstore_metadata`: `key` (`VARBINARY`) to `value` (`BLOB`).
//! - `totpstore_migrations`: the schema history, created before the other tables.
//!
//! Capabilities and limits:
//!
//! - a create-only save is one `INSERT` that the unique index decides; an overwrite is one
//!   `INSERT ... ON DUPLICATE KEY UPDATE`, run again if InnoDB picks it as a deadlock victim;
//! - `migrate_up` holds a server-wide `GET_LOCK` named after the database, so concurrent first
//!   runs apply each migration once; MySQL DDL is not transactional, so the migrations are
//!   idempotent instead;
//! - connecting is bounded by `timeout` (default 5 s); every session sets `lock_wait_timeout`
//!   and `innodb_lock_wait_timeout` to 30 s (the library-only option `lock_timeout` changes
//!   it), which with the `GET_LOCK` wait bounds every wait for another session's lock, and a
//!   lock that is not granted in time is reported as such; a server that stops answering
//!   mid-run can still stall a command;
//! - no TLS: the driver is built without a TLS implementation, so connections are plain TCP
//!   or a unix socket.

mod config;
mod error;
mod store;

pub use config::{OPTIONS, SECTION};
pub use store::MySqlStore;

use crate::registry::{BackendDescriptor, BackendOptions, ConnectFuture};

/// Registry name.
pub const NAME: &str = "mysql";

/// The constructor registered for this backend.
pub const DESCRIPTOR_CONNECT: fn(BackendOptions) -> ConnectFuture = connect;

fn connect(options: BackendOptions) -> ConnectFuture {
    Box::pin(async move {
        let store = MySqlStore::connect(&options).await?;
        Ok(Box::new(store) as Box<dyn crate::TotpStore>)
    })
}

inventory::submit! {
    BackendDescriptor::new(
        NAME,
        SECTION,
        "mysql",
        "MySQL 8 or MariaDB 10.5+ server",
        OPTIONS,
        DESCRIPTOR_CONNECT,
    )
}
