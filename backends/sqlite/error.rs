//! Mapping of `sqlx` errors into [`StoreError`], in one place.

use crate::store::{BoxError, StoreError};

use super::NAME;

/// `SQLITE_BUSY`: another connection held the lock for longer than the busy timeout.
const SQLITE_BUSY: i32 = 5;

/// The primary result code of a database error (SQLite reports extended codes, whose low
/// byte is the primary one).
fn primary_code(e: &sqlx::Error) -> Option<i32> {
    match e {
        sqlx::Error::Database(db) => db.code()?.parse::<i32>().ok().map(|c| c & 0xff),
        _ => None,
    }
}

/// `SQLITE_READONLY`: the file, or the folder where its journal goes, is not writable.
const SQLITE_READONLY: i32 = 8;
/// `SQLITE_CANTOPEN`: the file (or its journal) cannot be opened.
const SQLITE_CANTOPEN: i32 = 14;
/// `SQLITE_NOTADB`: the file is not an SQLite database.
const SQLITE_NOTADB: i32 = 26;

/// A driver error explained for the operator: which file, what is wrong with it, the fix.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Explained {
    message: String,
    #[source]
    source: sqlx::Error,
}

/// The driver's error, with an explanation naming the database file `path` (as the user gave
/// it) when the driver's own words would not say which file or what to do.
pub(super) fn explain(e: sqlx::Error, path: &str) -> BoxError {
    let message = match primary_code(&e) {
        Some(SQLITE_NOTADB) => format!(
            "'{path}' is not a SQLite database (or it is encrypted or damaged); point the sqlite \
             path at a totpstore database or at a new file"
        ),
        Some(SQLITE_READONLY) => format!(
            "'{path}' is read-only: this user may not write the file or the folder that holds \
             it; make both writable"
        ),
        Some(SQLITE_CANTOPEN) => format!(
            "cannot open '{path}' or its journal; check that the file and its folder are \
             readable and writable by this user"
        ),
        _ => return e.into(),
    };
    Box::new(Explained { message, source: e })
}

/// Maps any driver error met on the database file `path`.
pub(super) fn map(e: sqlx::Error, path: &str) -> StoreError {
    if primary_code(&e) == Some(SQLITE_BUSY) {
        return StoreError::LockTimeout { backend: NAME };
    }
    match e {
        sqlx::Error::PoolClosed => StoreError::Closed(NAME),
        other => StoreError::Backend {
            backend: NAME,
            source: explain(other, path),
        },
    }
}

/// Maps an insert's error, turning a unique violation into `AlreadyExists(what)`.
pub(super) fn map_insert(e: sqlx::Error, what: &str, path: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::AlreadyExists(what.to_owned())
        }
        _ => map(e, path),
    }
}

/// Maps an error decoding a column.
pub(super) fn decode(e: sqlx::Error) -> StoreError {
    StoreError::backend(NAME, e)
}
