//! File-system primitives: the cross-process lock and the atomic replacement of the data file.
//!
//! These functions block; the store runs them on tokio's blocking pool.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long an operation waits for another process's lock before giving up, as long as the
/// SQLite backend waits for its database lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The data file's folder (`.` for a bare file name).
pub fn folder(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The sidecar lock file of `path`: `<path>.lock`.
///
/// The lock is taken on a separate file because the data file is replaced on every write; a
/// lock on the old data file would not exclude a process that opens the new one. The lock
/// file is never removed, since removing it would let two processes lock two different files.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Shared (readers) or exclusive (a writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Many readers at once.
    Shared,
    /// One writer, no readers.
    Exclusive,
}

/// A held lock; released when dropped (closing the file releases an OS file lock).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Takes the lock on `lock_path`, creating the file with mode 0600 if needed, waiting up to
/// [`LOCK_TIMEOUT`] for other holders.
///
/// `File::lock` locks an open file description (`flock` on Unix), so two opens in one
/// process exclude each other just as two processes do; no in-process mutex is needed.
pub fn lock(lock_path: &Path, kind: LockKind) -> io::Result<Lock> {
    let file = create_private(
        OpenOptions::new().read(true).write(true).create(true),
        lock_path,
    )?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        let attempt = match kind {
            LockKind::Shared => file.try_lock_shared(),
            LockKind::Exclusive => file.try_lock(),
        };
        match attempt {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(TryLockError::Error(e)) => return Err(e),
            Err(TryLockError::WouldBlock) if started.elapsed() >= LOCK_TIMEOUT => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "another process has held the lock on '{}' for over {} s",
                        lock_path.display(),
                        LOCK_TIMEOUT.as_secs()
                    ),
                ));
            }
            Err(TryLockError::WouldBlock) => {
                // Polling rather than a blocking lock, so that the wait is bounded.
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
        }
    }
}

/// Reads the data file; a missing file reads as empty.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// Replaces `path` with `bytes` atomically: a new file in the same folder (so that the rename
/// stays on one file system), written and flushed, renamed over `path`, then the folder
/// flushed so that the rename itself survives a crash. Call it while holding the exclusive
/// lock.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = folder(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));

    let written = (|| {
        let mut file = create_private(OpenOptions::new().write(true).create_new(true), &temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
        return written;
    }
    sync_folder(dir)
}

/// Opens with mode 0600 when the file is created, whatever the umask.
fn create_private(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options.open(path)
}

#[cfg(unix)]
fn sync_folder(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder(_dir: &Path) -> io::Result<()> {
    // Other systems cannot open a folder as a file; their rename is flushed with the file.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_writes_a_private_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.json");
        replace(&path, b"one").unwrap();
        replace(&path, b"two").unwrap();

        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("store.json")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn an_exclusive_lock_excludes_other_opens_in_the_same_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir.path().join("store.json"));
        let held = lock(&path, LockKind::Exclusive).unwrap();

        let other = File::open(&path).unwrap();
        assert!(matches!(
            other.try_lock_shared(),
            Err(TryLockError::WouldBlock)
        ));
        drop(held);
        assert!(other.try_lock_shared().is_ok());
    }

    #[test]
    fn shared_locks_coexist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let _a = lock(&path, LockKind::Shared).unwrap();
        let _b = lock(&path, LockKind::Shared).unwrap();
    }
}
