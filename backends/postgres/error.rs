//! Mapping of `sqlx` errors into [`StoreError`], in one place.

use std::time::Duration;

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

/// Maps a failed connection attempt; `target` is the address without credentials.
pub(super) fn map_connect(e: sqlx::Error, target: &str, timeout: Duration) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut => timed_out(target, timeout),
        // The server's own words ("Access denied for user ...", "database ... does not
        // exist"), without the driver's prefix and PostgreSQL's source-line suffix.
        sqlx::Error::Database(db) => connect_error(target, db.message().to_owned().into()),
        other => connect_error(target, other.into()),
    }
}

fn connect_error(target: &str, source: crate::store::BoxError) -> StoreError {
    StoreError::Connect {
        backend: NAME,
        target: target.to_owned(),
        source,
    }
}

/// The connect timeout ran out.
pub(super) fn timed_out(target: &str, timeout: Duration) -> StoreError {
    StoreError::ConnectTimeout {
        backend: NAME,
        target: target.to_owned(),
        seconds: timeout.as_secs_f64(),
    }
}
