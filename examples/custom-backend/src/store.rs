//! [`TotpStore`] on one JSON file: every call locks, reads the whole file, and (for a change)
//! writes the whole file back.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use totpstore::{
    async_trait, BackendOptions, SaveMode, SchemaVersion, StoreError, TotpRecord, TotpStore,
};

use crate::document::{self, hex_decode, hex_encode, Contents, Document, StoredTotp};
use crate::file::{self, LockKind};
use crate::NAME;

/// A store on one JSON file.
#[derive(Debug)]
pub struct JsonFileStore {
    path: Arc<Path>,
    closed: AtomicBool,
}

impl JsonFileStore {
    /// Checks the `path` option and returns a store on it. Nothing is created yet: the file
    /// appears on the first write, as the schema does on the SQL backends.
    pub fn connect(options: &BackendOptions) -> Result<Self, StoreError> {
        let path = PathBuf::from(options.require("path")?);
        if path.is_dir() {
            return Err(StoreError::InvalidOption {
                backend: NAME,
                option: "path",
                reason: format!("'{}' is a folder, not a file", path.display()),
            });
        }
        let folder = file::folder(&path);
        if !folder.is_dir() {
            return Err(StoreError::Connect {
                backend: NAME,
                target: path.display().to_string(),
                source: format!("the folder '{}' does not exist", folder.display()).into(),
            });
        }
        Ok(Self {
            path: path.into(),
            closed: AtomicBool::new(false),
        })
    }

    /// The data file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the file's contents under a shared lock.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Contents) -> Result<T, StoreError> + Send + 'static,
    {
        self.blocking(LockKind::Shared, move |path| {
            let bytes = file::read(path).map_err(io_error)?;
            f(document::parse(path, &bytes)?)
        })
        .await
    }

    /// Runs `f` on the initialised document under the exclusive lock, and writes the document
    /// back when `f` says it changed it. The lock is held from the read to the rename, so no
    /// other writer can slip in between: this is what makes `save` with `SaveMode::Create`
    /// atomic.
    async fn update<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Document) -> Result<(T, bool), StoreError> + Send + 'static,
    {
        self.blocking(LockKind::Exclusive, move |path| {
            let bytes = file::read(path).map_err(io_error)?;
            let mut document = match document::parse(path, &bytes)? {
                Contents::Current(document) => document,
                Contents::Uninitialised => return Err(not_initialised(path)),
                Contents::Newer(version) => return Err(too_new(version)),
            };
            let (result, changed) = f(&mut document)?;
            if changed {
                file::replace(path, &document.to_bytes()?).map_err(io_error)?;
            }
            Ok(result)
        })
        .await
    }

    /// Takes the lock and runs `f` on the blocking pool, since file I/O and lock waits block.
    async fn blocking<T, F>(&self, kind: LockKind, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Path) -> Result<T, StoreError> + Send + 'static,
    {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed(NAME));
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let _lock = file::lock(&file::lock_path(&path), kind).map_err(io_error)?;
            f(&path)
        })
        .await
        .map_err(|e| StoreError::backend(NAME, e))?
    }
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::backend(NAME, e)
}

fn not_initialised(path: &Path) -> StoreError {
    let reason = format!("'{}' holds no totpstore data yet", path.display());
    StoreError::backend(NAME, reason)
}

fn too_new(version: u32) -> StoreError {
    let reason = format!("the file is at format version {version}, newer than this binary's");
    StoreError::backend(NAME, reason)
}

#[async_trait]
impl TotpStore for JsonFileStore {
    fn backend_name(&self) -> &'static str {
        NAME
    }

    async fn schema_version(&self) -> Result<SchemaVersion, StoreError> {
        let current = self
            .read(|contents| {
                Ok(match contents {
                    Contents::Uninitialised => None,
                    Contents::Newer(version) => Some(version),
                    Contents::Current(document) => document
                        .totpstore_migrations
                        .iter()
                        .map(|m| m.version)
                        .max(),
                })
            })
            .await?;
        Ok(SchemaVersion {
            current,
            latest: document::LATEST_VERSION,
        })
    }

    async fn migrate_up(&self) -> Result<Vec<u32>, StoreError> {
        // Not through `update`, which refuses an uninitialised file; the exclusive lock makes
        // a second process wait and then find the file initialised.
        self.blocking(LockKind::Exclusive, |path| {
            let bytes = file::read(path).map_err(io_error)?;
            match document::parse(path, &bytes)? {
                Contents::Uninitialised => {
                    file::replace(path, &Document::initial().to_bytes()?).map_err(io_error)?;
                    Ok(vec![document::LATEST_VERSION])
                }
                // Version 1 is the only format so far: an initialised file is current.
                Contents::Current(_) | Contents::Newer(_) => Ok(Vec::new()),
            }
        })
        .await
    }

    async fn load(&self, username: &str) -> Result<Option<TotpRecord>, StoreError> {
        let username = username.to_owned();
        self.read(move |contents| match contents {
            Contents::Current(document) => document
                .totp_configurations
                .get(&username)
                .map(|stored| stored.to_record(&username))
                .transpose(),
            Contents::Uninitialised => Ok(None),
            Contents::Newer(version) => Err(too_new(version)),
        })
        .await
    }

    async fn save(&self, record: &TotpRecord, mode: SaveMode) -> Result<(), StoreError> {
        let username = record.username.clone();
        let stored = StoredTotp::from_record(record);
        self.update(move |document| {
            let rows = &mut document.totp_configurations;
            if mode == SaveMode::Create && rows.contains_key(&username) {
                return Err(StoreError::AlreadyExists(username));
            }
            rows.insert(username, stored);
            Ok(((), true))
        })
        .await
    }

    async fn delete(&self, username: &str) -> Result<bool, StoreError> {
        let username = username.to_owned();
        self.update(move |document| {
            let removed = document.totp_configurations.remove(&username).is_some();
            Ok((removed, removed))
        })
        .await
    }

    async fn list(&self, after: Option<&str>, limit: u32) -> Result<Vec<TotpRecord>, StoreError> {
        let after = after.map(str::to_owned);
        self.read(move |contents| match contents {
            Contents::Current(document) => {
                let start = after.map_or(Bound::Unbounded, Bound::Excluded);
                document
                    .totp_configurations
                    .range((start, Bound::Unbounded))
                    .take(limit as usize)
                    .map(|(username, stored)| stored.to_record(username))
                    .collect()
            }
            Contents::Uninitialised => Ok(Vec::new()),
            Contents::Newer(version) => Err(too_new(version)),
        })
        .await
    }

    async fn get_metadata(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_owned();
        self.read(move |contents| match contents {
            Contents::Current(document) => document
                .totpstore_metadata
                .get(&key)
                .map(|hex| {
                    hex_decode(hex).map_err(|reason| StoreError::Corrupt {
                        backend: NAME,
                        reason: format!("metadata {key:?}: {reason}"),
                    })
                })
                .transpose(),
            Contents::Uninitialised => Ok(None),
            Contents::Newer(version) => Err(too_new(version)),
        })
        .await
    }

    async fn put_metadata(
        &self,
        key: &str,
        value: &[u8],
        mode: SaveMode,
    ) -> Result<(), StoreError> {
        let key = key.to_owned();
        let value = hex_encode(value);
        self.update(move |document| {
            let entries = &mut document.totpstore_metadata;
            if mode == SaveMode::Create && entries.contains_key(&key) {
                return Err(StoreError::AlreadyExists(key));
            }
            entries.insert(key, value);
            Ok(((), true))
        })
        .await
    }

    async fn close(&self) {
        // Nothing stays open between calls; the flag makes later calls fail as on SQL stores.
        self.closed.store(true, Ordering::Release);
    }
}
