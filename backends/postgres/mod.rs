//! PostgreSQL backend: a schema of a database on a PostgreSQL 12+ server.
//!
//! Tables (see `migrations/postgres/`), in the configured schema (`public` by default; created
//! on first use if missing, and used verbatim as a quoted identifier, so `Auth` is not `auth`):
//!
//! - `totp_configurations`: one row per user. `username` is `TEXT COLLATE "C"` with a unique
//!   constraint, so names compare and sort byte for byte whatever the database's collation;
//!   `secret` is `BYTEA`, timestamps are `TIMESTAMPTZ`.
//! - `totpstore_metadata`: `key` (`TEXT COLLATE "C"`) to `value` (`BYTEA`).
//! - `totpstore_migrations`: the schema history, committed with the first migration.
//!
//! Every connection starts with `search_path` set to the schema alone, so the SQL names tables
//! unqualified and never reaches a same-named table in another schema.
//!
//! The address, user, database and schema are the configured ones whatever libpq's
//! environment variables say: `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE` have no effect,
//! `PGHOSTADDR` none for an IP address or a socket, and with a host name it is refused rather
//! than followed. `PGPASSWORD` is used when no password is configured.
//!
//! A unix socket address names either the socket's folder (`unix:///run/postgresql`, port
//! 5432) or the socket file, whose name carries the port (`unix:///tmp/.s.PGSQL.5433`).
//!
//! Capabilities and limits:
//!
//! - a create-only save is one `INSERT` that the unique constraint decides; an overwrite is one
//!   `INSERT ... ON CONFLICT (username) DO UPDATE`;
//! - `migrate_up` runs each migration in a transaction holding a transaction-scoped advisory
//!   lock keyed by the schema, so concurrent first runs apply each migration once;
//! - connecting is bounded by `timeout` (default 5 s); every session sets `lock_timeout` to
//!   30 s (the library-only option `lock_timeout` changes it), which bounds every wait for
//!   another session's lock, the advisory lock included, and a lock that is not granted in
//!   time is reported as such. `statement_timeout` is left alone: the statements are small,
//!   and a lock is what they can wait on. A server that stops answering mid-run can still
//!   stall a command;
//! - no TLS: the driver is built without a TLS implementation, so connections are plain TCP
//!   or a unix socket;
//! - a pooler in transaction mode (PgBouncer) would not keep the session's `search_path`; use
//!   session mode or connect to the server directly.

mod config;
mod error;
mod store;

pub use config::{OPTIONS, SECTION};
pub use store::PostgresStore;

use crate::registry::{BackendDescriptor, BackendOptions, ConnectFuture};

/// Registry name.
pub const NAME: &str = "postgres";

/// The constructor registered for this backend.
pub const DESCRIPTOR_CONNECT: fn(BackendOptions) -> ConnectFuture = connect;

fn connect(options: BackendOptions) -> ConnectFuture {
    Box::pin(async move {
        let store = PostgresStore::connect(&options).await?;
        Ok(Box::new(store) as Box<dyn crate::TotpStore>)
    })
}

inventory::submit! {
    BackendDescriptor::new(
        NAME,
        SECTION,
        "postgres",
        "PostgreSQL 12+ server",
        OPTIONS,
        DESCRIPTOR_CONNECT,
    )
}
