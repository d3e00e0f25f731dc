//! The error type of the core's high-level operations and of the CLI.
//!
//! Messages are lower-case without a closing period; the binary prints `Error: ` once before
//! the whole chain. No variant carries a secret, a key or a password.

use crate::config::ConfigError;
use crate::crypto::CryptoError;
use crate::qr::QrError;
use crate::registry::RegistryConflict;
use crate::store::StoreError;

/// The command that brings a database's schema up to this binary's version.
pub const MIGRATE_COMMAND: &str = "totpstore storage migrate up";

/// Errors of the core's operations and of the command line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given by the user is outside what is accepted.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The flag or setting, e.g. `--digits`.
        what: String,
        /// Why, without repeating a secret.
        reason: String,
    },
    /// Loading the configuration failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The storage backend failed.
    #[error(transparent)]
    Store(StoreError),
    /// The encryption key was refused.
    #[error(transparent)]
    Key(CryptoError),
    /// The user has a configuration and the command may not replace it.
    #[error("{0} already has a TOTP configuration, use --force to overwrite")]
    AlreadyConfigured(String),
    /// The key does not open the database's check value.
    #[error(
        "the encryption key does not match the one this database was initialised with; \
         nothing was written"
    )]
    WrongKey,
    /// The store holds records but no check value, so the key cannot be verified.
    #[error(
        "the database holds TOTP configurations but its encryption check value is missing; \
         refusing to guess the key, nothing was written (restore the totpstore_metadata table \
         from a backup)"
    )]
    CheckValueMissing,
    /// The database's schema is older than this binary's.
    #[error(
        "the database schema is at version {current} but this binary needs version {latest}; \
         run `{MIGRATE_COMMAND}` to migrate it"
    )]
    SchemaOutdated {
        /// Applied version.
        current: u32,
        /// This binary's version.
        latest: u32,
    },
    /// The database's schema is newer than this binary's.
    #[error(
        "the database schema is at version {current}, newer than this binary's version \
         {latest}; use a newer totpstore"
    )]
    SchemaTooNew {
        /// Applied version.
        current: u32,
        /// This binary's version.
        latest: u32,
    },
    /// No backend was selected.
    #[error("no storage backend is configured; set one of: {choices}")]
    NoBackend {
        /// Each compiled-in backend with the flag that selects it.
        choices: String,
    },
    /// No backend is compiled into this binary at all.
    #[error(
        "no storage backend was compiled into this binary; rebuild with one of the cargo \
         features sqlite, mysql or postgres"
    )]
    NoBackendCompiled,
    /// Two linked-in backends claim the same name, section or flag prefix.
    #[error(transparent)]
    Registry(#[from] RegistryConflict),
    /// More than one backend was selected.
    #[error("more than one storage backend is configured ({0}); configure exactly one")]
    SeveralBackends(String),
    /// The selected backend is not compiled into this binary.
    #[error(
        "the {name} storage backend is not enabled in this build; rebuild with \
         `cargo build --features {feature}`"
    )]
    BackendNotCompiled {
        /// Backend name.
        name: String,
        /// The cargo feature that enables it.
        feature: String,
    },
    /// The QR code could not be produced or written.
    #[error(transparent)]
    Qr(QrError),
    /// Standard output was closed when the command started, so its result would be lost.
    #[error(
        "standard output is closed, so the result would be printed nowhere; nothing was done \
         (run the command with its output going to a terminal, a file or a pipe)"
    )]
    StdoutClosed,
    /// The result could not be written to standard output.
    #[error("cannot write the result to standard output")]
    Stdout(#[source] std::io::Error),
    /// The configuration was stored but its URI could not be printed.
    #[error(
        "the TOTP configuration for user '{username}' was saved, but the URI could not be \
         written to standard output: {reason}; run again with --force to replace it"
    )]
    SavedButNotPrinted {
        /// The user whose configuration was saved.
        username: String,
        /// Why the write failed.
        reason: String,
    },
    /// The configuration was stored and its URI printed, but the PNG failed afterwards.
    #[error(
        "the TOTP configuration for user '{username}' was saved and its URI printed, but the \
         PNG was not"
    )]
    SavedWithoutPng {
        /// The user whose configuration was saved.
        username: String,
        /// Why the PNG failed.
        #[source]
        source: QrError,
    },
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        Self::Key(e)
    }
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
