//! The [`TotpStore`] trait every backend implements, and the error type it returns.
//!
//! A store persists [`TotpRecord`]s and a little metadata. It never sees key material or a
//! plaintext secret: sealing and the encryption check happen in [`crate::storage`], above it.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::{SaveMode, TotpRecord};

/// Table (or collection, or key prefix) of the TOTP records. The name is part of the contract:
/// sealed secrets are bound to it, and the conformance suite plants a foreign table of this name.
pub const RECORDS_TABLE: &str = "totp_configurations";
/// Table of store metadata, such as the encryption check value.
pub const METADATA_TABLE: &str = "totpstore_metadata";
/// Table of the schema migration history; its absence beside [`OWN_TABLES`] marks them foreign.
pub const HISTORY_TABLE: &str = "totpstore_migrations";
/// The columns [`HISTORY_TABLE`] has in every backend; a table of that name lacking one of them
/// was not made by totpstore and is refused, like any foreign table of ours.
pub const HISTORY_COLUMNS: &[&str] = &["version", "description", "applied_at"];
/// The tables a backend must refuse to adopt when they exist without [`HISTORY_TABLE`].
pub const OWN_TABLES: &[&str] = &[RECORDS_TABLE, METADATA_TABLE];

/// A backend option that only library callers set (it is no flag and no configuration key):
/// how long a statement may wait for a lock another session holds, as a duration such as `30s`.
pub const LOCK_TIMEOUT_OPTION: &str = "lock_timeout";
/// The server backends' lock wait bound when [`LOCK_TIMEOUT_OPTION`] is unset: generous for
/// statements that take milliseconds, short of the servers' own defaults (a year for MariaDB's
/// table locks, no limit at all on PostgreSQL).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Boxed error from a database driver or file system, kept as the source of a [`StoreError`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Errors a backend returns. Backends map their driver errors into these variants in one place,
/// so the CLI can give the same message whatever the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A create-only save met an existing row (decided by the unique constraint).
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to the {backend} database at {target}")]
    Connect {
        /// Backend name.
        backend: &'static str,
        /// Where it tried to connect, without credentials.
        target: String,
        /// What the driver said.
        #[source]
        source: BoxError,
    },
    /// Connecting took longer than the configured timeout.
    #[error("timed out after {seconds:.1} s connecting to the {backend} database at {target}")]
    ConnectTimeout {
        /// Backend name.
        backend: &'static str,
        /// Where it tried to connect.
        target: String,
        /// The timeout that ran out.
        seconds: f64,
    },
    /// A statement waited longer than the store's bound for a lock another session holds.
    #[error(
        "timed out waiting for a lock held by another session on the {backend} database; \
         try again once that session has finished"
    )]
    LockTimeout {
        /// Backend name.
        backend: &'static str,
    },
    /// A table this tool uses exists but was not created by it.
    #[error(
        "the database already holds a table '{table}' that totpstore did not create; \
         refusing to use it (point totpstore at its own database or schema)"
    )]
    ForeignTable {
        /// The table's name.
        table: String,
    },
    /// An option of the backend is missing or malformed.
    #[error("invalid {backend} option '{option}': {reason}")]
    InvalidOption {
        /// Backend name.
        backend: &'static str,
        /// Option key, as in the configuration file.
        option: &'static str,
        /// What is wrong, without repeating a secret value.
        reason: String,
    },
    /// The store was closed before this call.
    #[error("the {0} store is closed")]
    Closed(&'static str),
    /// The operation is not offered by this backend.
    #[error("the {backend} backend does not support {operation}")]
    Unsupported {
        /// Backend name.
        backend: &'static str,
        /// What was asked.
        operation: &'static str,
    },
    /// Stored data that does not fit the model (an unknown algorithm, a negative period, ...).
    #[error("corrupt row in the {backend} database: {reason}")]
    Corrupt {
        /// Backend name.
        backend: &'static str,
        /// What does not fit.
        reason: String,
    },
    /// Any other failure of the database or file system.
    #[error("{backend} database error")]
    Backend {
        /// Backend name.
        backend: &'static str,
        /// What the driver said.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// Wraps any driver error as [`StoreError::Backend`].
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Backend {
            backend,
            source: source.into(),
        }
    }
}

/// Schema state of a store's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersion {
    /// Highest migration applied, or `None` when the database holds none of our tables.
    pub current: Option<u32>,
    /// Highest migration this binary knows.
    pub latest: u32,
}

/// One schema migration, embedded in the binary.
#[derive(Clone, Copy)]
pub struct Migration {
    /// Monotonic version, starting at 1.
    pub version: u32,
    /// Short description, shown by `storage schema-info`.
    pub description: &'static str,
    /// The SQL (or other backend-specific script) that moves the schema up to `version`.
    pub up: &'static str,
}

impl fmt::Debug for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migration")
            .field("version", &self.version)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// Persistent storage of TOTP records and store metadata.
///
/// Implementations must be safe to share between tasks: the conformance suite calls them
/// concurrently, and a unique constraint on `username` (not a read-then-write) must decide
/// between concurrent create-only saves.
///
/// Methods added to this trait later come with a default body (returning
/// [`StoreError::Unsupported`] where nothing better exists), so a backend crate written against
/// this version keeps compiling.
#[async_trait]
pub trait TotpStore: Send + Sync {
    /// The backend's registry name, used in messages.
    fn backend_name(&self) -> &'static str;

    /// Reports the applied and latest schema versions without changing anything.
    ///
    /// Returns [`StoreError::ForeignTable`] when a table of ours exists without our migration
    /// history, so that a table some other program owns is never adopted.
    async fn schema_version(&self) -> Result<SchemaVersion, StoreError>;

    /// Applies every pending migration, each in its own transaction, and returns the versions
    /// applied. Concurrent callers must not apply a migration twice.
    async fn migrate_up(&self) -> Result<Vec<u32>, StoreError>;

    /// Loads one user's record; `None` when there is none.
    async fn load(&self, username: &str) -> Result<Option<TotpRecord>, StoreError>;

    /// Saves a record in one atomic statement. With [`SaveMode::Create`] an existing row makes it
    /// fail with [`StoreError::AlreadyExists`] and stay unchanged; with [`SaveMode::Overwrite`]
    /// the row is inserted or replaced.
    async fn save(&self, record: &TotpRecord, mode: SaveMode) -> Result<(), StoreError>;

    /// Deletes one user's record; returns whether there was one.
    async fn delete(&self, username: &str) -> Result<bool, StoreError>;

    /// Lists up to `limit` records with usernames strictly after `after`, ordered by the
    /// username's bytes, so that paging with the last username seen visits each row once.
    async fn list(&self, after: Option<&str>, limit: u32) -> Result<Vec<TotpRecord>, StoreError>;

    /// Reads one metadata value.
    async fn get_metadata(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes one metadata value; with [`SaveMode::Create`] an existing key fails with
    /// [`StoreError::AlreadyExists`].
    async fn put_metadata(&self, key: &str, value: &[u8], mode: SaveMode)
        -> Result<(), StoreError>;

    /// Closes connections; later calls fail with [`StoreError::Closed`] or another error, never
    /// a panic.
    async fn close(&self);
}
