//! Error mapping shared by the server backends (MySQL/MariaDB and PostgreSQL): the server's
//! own words without the driver's prefix, and the connect failures. Each backend's `error.rs`
//! keeps what differs (its lock-timeout codes, its socket hints) and calls these with its name.

use std::time::Duration;

use crate::store::{BoxError, StoreError};

/// An error the server reported, in its own words: the driver's text adds a prefix and, for
/// PostgreSQL, the line of the server's C source that raised it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ServerError {
    /// The server's message.
    message: String,
    /// The SQLSTATE, kept for `Debug`.
    code: Option<String>,
}

/// The server's error as a [`ServerError`].
pub(crate) fn server_error(db: &dyn sqlx::error::DatabaseError) -> ServerError {
    ServerError {
        message: db.message().to_owned(),
        code: db.code().map(|c| c.into_owned()),
    }
}

/// Any driver error outside connecting: a closed pool is `Closed`, the rest `Backend`.
pub(crate) fn map(backend: &'static str, e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolClosed => StoreError::Closed(backend),
        sqlx::Error::Database(db) => StoreError::backend(backend, server_error(db.as_ref())),
        other => StoreError::backend(backend, other),
    }
}

/// A failed connection attempt; `target` is the address without credentials.
pub(crate) fn map_connect(
    backend: &'static str,
    e: sqlx::Error,
    target: &str,
    timeout: Duration,
) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut => timed_out(backend, target, timeout),
        sqlx::Error::Database(db) => {
            connect_error(backend, target, server_error(db.as_ref()).into())
        }
        other => connect_error(backend, target, other.into()),
    }
}

/// `StoreError::Connect` for `target`.
pub(crate) fn connect_error(backend: &'static str, target: &str, source: BoxError) -> StoreError {
    StoreError::Connect {
        backend,
        target: target.to_owned(),
        source,
    }
}

/// The connect timeout ran out.
pub(crate) fn timed_out(backend: &'static str, target: &str, timeout: Duration) -> StoreError {
    StoreError::ConnectTimeout {
        backend,
        target: target.to_owned(),
        seconds: timeout.as_secs_f64(),
    }
}
