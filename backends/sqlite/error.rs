//! Mapping of `sqlx` errors into [`StoreError`], in one place.

use crate::store::StoreError;

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

/// Maps any driver error.
pub(super) fn map(e: sqlx::Error) -> StoreError {
    if primary_code(&e) == Some(SQLITE_BUSY) {
        return StoreError::LockTimeout { backend: NAME };
    }
    match e {
        sqlx::Error::PoolClosed => StoreError::Closed(NAME),
        other => StoreError::backend(NAME, other),
    }
}

/// Maps an insert's error, turning a unique violation into `AlreadyExists(what)`.
pub(super) fn map_insert(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::AlreadyExists(what.to_owned())
        }
        _ => map(e),
    }
}
