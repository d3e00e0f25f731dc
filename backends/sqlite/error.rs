//! Mapping of `sqlx` errors into [`StoreError`], in one place.

use crate::store::StoreError;

use super::NAME;

/// Maps any driver error.
pub(super) fn map(e: sqlx::Error) -> StoreError {
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
