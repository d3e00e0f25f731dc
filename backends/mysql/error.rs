//! Mapping of `sqlx` errors into [`StoreError`], in one place.

use std::path::Path;
use std::time::Duration;

use crate::backends::address::{is_socket, sockets_in};
use crate::backends::server_errors;
use crate::store::StoreError;

use super::NAME;

/// `ER_LOCK_WAIT_TIMEOUT`: a row or table lock (`innodb_lock_wait_timeout`) or a metadata
/// lock (`lock_wait_timeout`) was not granted in time.
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;

/// Maps any driver error.
pub(super) fn map(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let number = db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(|db| db.number());
        if number == Some(ER_LOCK_WAIT_TIMEOUT) {
            return StoreError::LockTimeout { backend: NAME };
        }
    }
    server_errors::map(NAME, e)
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
    server_errors::map_connect(NAME, e, target, timeout)
}

/// A driver error explained for the operator: what is wrong, and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Explained {
    message: String,
    #[source]
    source: sqlx::Error,
}

/// Maps a failed connection to the unix socket `path`: when the file system shows why (a
/// folder, nothing, a file that is no socket), says so, since the driver only reports
/// "Connection refused" or "No such file or directory".
pub(super) fn map_socket_connect(
    e: sqlx::Error,
    path: &Path,
    target: &str,
    timeout: Duration,
) -> StoreError {
    if !matches!(e, sqlx::Error::Io(_)) {
        return map_connect(e, target, timeout);
    }
    let shown = path.display();
    let message = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let example = match sockets_in(path, |_| true).first() {
                Some(socket) => format!("unix://{}", socket.display()),
                None => format!(
                    "unix://{shown}/mysqld.sock (SELECT @@socket on the server shows its path)"
                ),
            };
            return StoreError::InvalidOption {
                backend: NAME,
                option: "address",
                reason: format!(
                    "'{shown}' is a folder; give the server's socket file in it, such as \
                     {example}"
                ),
            };
        }
        Ok(meta) if !is_socket(&meta.file_type()) => format!(
            "'{shown}' is not a socket; give the server's socket file (SELECT @@socket on the \
             server shows its path)"
        ),
        Err(missing) if missing.kind() == std::io::ErrorKind::NotFound => format!(
            "there is no socket at '{shown}'; the server is not running, or its socket is \
             elsewhere (SELECT @@socket on the server shows its path)"
        ),
        _ => return map_connect(e, target, timeout),
    };
    connect_error(target, Box::new(Explained { message, source: e }))
}

fn connect_error(target: &str, source: crate::store::BoxError) -> StoreError {
    server_errors::connect_error(NAME, target, source)
}

/// The connect timeout ran out.
pub(super) fn timed_out(target: &str, timeout: Duration) -> StoreError {
    server_errors::timed_out(NAME, target, timeout)
}

/// Whether InnoDB chose this statement as a deadlock victim (error 1213, SQLSTATE 40001).
///
/// Concurrent `INSERT ... ON DUPLICATE KEY UPDATE`s of one key can deadlock on the unique
/// index's locks; the statement was rolled back whole, so running it again is safe.
pub(super) fn is_deadlock(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("40001"))
}
