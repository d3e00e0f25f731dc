//! Mapping of `sqlx` errors into [`StoreError`], in one place.

use std::path::Path;
use std::time::Duration;

use crate::backends::address::{is_socket, sockets_in};
use crate::backends::server_errors;
use crate::store::StoreError;

use super::config::socket_folder_and_port;

use super::NAME;

/// SQLSTATE `lock_not_available`: `lock_timeout` ran out (this crate never uses `NOWAIT`).
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Maps any driver error.
pub(super) fn map(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(LOCK_NOT_AVAILABLE) => {
            StoreError::LockTimeout { backend: NAME }
        }
        other => server_errors::map(NAME, other),
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

/// Maps a failed connection to the unix socket address `path` (a folder, or a socket file):
/// when the file system shows why, names the socket file that was looked for, since the
/// driver only reports "No such file or directory".
pub(super) fn map_socket_connect(
    e: sqlx::Error,
    path: &Path,
    target: &str,
    timeout: Duration,
) -> StoreError {
    if !matches!(e, sqlx::Error::Io(_)) {
        return map_connect(e, target, timeout);
    }
    let (folder, port) = socket_folder_and_port(path);
    let file = folder.join(format!(".s.PGSQL.{port}"));
    let message = match (std::fs::metadata(&folder), std::fs::metadata(&file)) {
        (Err(missing), _) if missing.kind() == std::io::ErrorKind::NotFound => {
            format!("the socket folder '{}' does not exist", folder.display())
        }
        (Ok(meta), _) if !meta.is_dir() => format!(
            "'{}' is neither a socket folder nor a socket file named .s.PGSQL.<port>",
            path.display()
        ),
        (_, Err(missing)) if missing.kind() == std::io::ErrorKind::NotFound => {
            let others = sockets_in(&folder, |name| name.starts_with(".s.PGSQL."));
            let hint = match others.first() {
                Some(other) => format!(
                    "the folder holds {}; to use one, name its socket file, as in unix://{}",
                    others
                        .iter()
                        .filter_map(|o| o.file_name())
                        .map(|n| n.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join(", "),
                    other.display()
                ),
                None => "the server is not running, or its sockets are in another folder \
                         (SHOW unix_socket_directories on the server names them)"
                    .to_owned(),
            };
            format!("there is no socket '{}'; {hint}", file.display())
        }
        (_, Ok(meta)) if !is_socket(&meta.file_type()) => {
            format!("'{}' is not a socket", file.display())
        }
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
