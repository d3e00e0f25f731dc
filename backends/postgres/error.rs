//! Mapping of `sqlx` errors into [`StoreError`], in one place.

use std::time::Duration;

use crate::store::StoreError;

use super::NAME;

/// An error the server reported, in its own words: the driver's text adds a prefix and, for
/// PostgreSQL, the line of the server's C source that raised it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(super) struct ServerError {
    /// The server's message.
    message: String,
    /// The SQLSTATE, kept for `Debug`.
    code: Option<String>,
}

/// SQLSTATE `lock_not_available`: `lock_timeout` ran out (this crate never uses `NOWAIT`).
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Maps any driver error.
pub(super) fn map(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(LOCK_NOT_AVAILABLE) => {
            StoreError::LockTimeout { backend: NAME }
        }
        sqlx::Error::PoolClosed => StoreError::Closed(NAME),
        sqlx::Error::Database(db) => StoreError::backend(NAME, server_error(db.as_ref())),
        other => StoreError::backend(NAME, other),
    }
}

fn server_error(db: &dyn sqlx::error::DatabaseError) -> ServerError {
    ServerError {
        message: db.message().to_owned(),
        code: db.code().map(|c| c.into_owned()),
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
        sqlx::Error::Database(db) => connect_error(target, server_error(db.as_ref()).into()),
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
