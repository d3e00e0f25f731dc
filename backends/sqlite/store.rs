//! [`TotpStore`] on SQLite through `sqlx`.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::Row;

use crate::model::{Algorithm, SaveMode, SealedSecret, TotpRecord};
use crate::registry::BackendOptions;
use crate::store::{
    Migration, SchemaVersion, StoreError, TotpStore, HISTORY_COLUMNS, HISTORY_TABLE,
    LOCK_TIMEOUT_OPTION, OWN_TABLES,
};

use super::error::{self, decode, map_insert};
use super::NAME;

/// Schema migrations, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "initial schema",
    up: include_str!("../../migrations/sqlite/0001_initial.sql"),
}];

/// How long a writer waits for another process's lock before giving up, unless the
/// library-only [`LOCK_TIMEOUT_OPTION`] says otherwise.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The database file as the user gave it, for messages.
    path: String,
}

impl SqliteStore {
    /// Opens (creating with mode 0600 if missing, unless the options only inspect) the database
    /// file named by the `path` option.
    pub async fn connect(options: &BackendOptions) -> Result<Self, StoreError> {
        let given = options.require("path")?;
        refuse_special_names(given)?;
        let busy_timeout = options
            .duration(LOCK_TIMEOUT_OPTION)?
            .unwrap_or(BUSY_TIMEOUT);
        let path = PathBuf::from(given);
        refuse_dangling_link(&path)?;
        if options.inspect_only() && !path.exists() {
            return Err(StoreError::Connect {
                backend: NAME,
                target: path.display().to_string(),
                source: "the database file does not exist".into(),
            });
        }
        let created = create_private_file(&path)?;
        // SQLite reads a name starting with `file:` as a URI (sqlx always allows them) and
        // `:memory:` as no file at all; after `./` a name is neither.
        let plain = if path.is_absolute() {
            path.clone()
        } else {
            Path::new(".").join(&path)
        };
        let connect_options = SqliteConnectOptions::new()
            .filename(&plain)
            .create_if_missing(false)
            .busy_timeout(busy_timeout);
        // One connection: SQLite serialises writers anyway, and every caller here runs one
        // statement at a time. With more, a query issued right after another found the first
        // connection still on its way back to the pool and opened a second one (a thread and
        // a file open, about a quarter of a whole `generate` run on a fast disk).
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(connect_options)
            .await
            .map_err(|source| {
                if created {
                    remove_if_empty(&path);
                }
                StoreError::Connect {
                    backend: NAME,
                    target: path.display().to_string(),
                    source: error::explain(source, given),
                }
            })?;
        Ok(Self {
            pool,
            path: given.to_owned(),
        })
    }

    /// Maps a driver error met on this store's file.
    fn map(&self) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        |e| error::map(e, &self.path)
    }
}

/// Refuses the names SQLite would not take as a plain file: `:memory:` (a database that keeps
/// nothing) and `file:` URIs (whose parameters can make it in-memory or read-only, and whose
/// path is not the name given).
fn refuse_special_names(given: &str) -> Result<(), StoreError> {
    let invalid = |reason: String| StoreError::InvalidOption {
        backend: NAME,
        option: "path",
        reason,
    };
    let lower = given.to_ascii_lowercase();
    if lower == ":memory:" {
        return Err(invalid(format!(
            "'{given}' is an in-memory database, which would keep nothing; give the path of a \
             database file (./{given} names a file of that name)"
        )));
    }
    if lower.starts_with("file:") {
        return Err(invalid(format!(
            "'{given}' is an SQLite URI, which this option does not take; give a plain file \
             path (./{given} names a file of that name)"
        )));
    }
    Ok(())
}

/// Refuses a symbolic link whose target is missing: SQLite would only say that it is "unable
/// to open database file", and following it to create the target would put the database
/// somewhere the path does not name.
fn refuse_dangling_link(path: &Path) -> Result<(), StoreError> {
    let Ok(target) = std::fs::read_link(path) else {
        return Ok(());
    };
    let Err(e) = std::fs::metadata(path) else {
        return Ok(());
    };
    let why = if e.kind() == std::io::ErrorKind::NotFound {
        "which does not exist".to_owned()
    } else {
        format!("which cannot be followed ({e})")
    };
    Err(StoreError::InvalidOption {
        backend: NAME,
        option: "path",
        reason: format!(
            "'{}' is a symbolic link to '{}', {why}; point the path at the database file \
             itself, or restore the link's target",
            path.display(),
            target.display()
        ),
    })
}

/// Removes a database file this process has just created, if nothing has been written to it:
/// a refused path must not leave an empty file behind.
fn remove_if_empty(path: &Path) {
    if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        let _ = std::fs::remove_file(path);
    }
}

/// The highest applied migration, `None` when the file holds none of our tables, or
/// `ForeignTable` when one of our table names exists without our migration history, or the
/// history lacks one of our columns.
///
/// The table names are read in one statement, so they come from one snapshot: with separate
/// queries, another process initialising the file in between made a fresh file look as if
/// a foreign program owned our tables.
async fn read_version(conn: &mut SqliteConnection, path: &str) -> Result<Option<u32>, StoreError> {
    let map = |e| error::map(e, path);
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *conn)
            .await
            .map_err(map)?;
    let exists = |table: &str| tables.iter().any(|t| t == table);
    if !exists("totpstore_migrations") {
        if let Some(table) = OWN_TABLES.iter().find(|t| exists(t)) {
            return Err(StoreError::ForeignTable {
                table: (*table).into(),
            });
        }
        return Ok(None);
    }
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
        .bind(HISTORY_TABLE)
        .fetch_all(&mut *conn)
        .await
        .map_err(map)?;
    if !HISTORY_COLUMNS
        .iter()
        .all(|c| columns.iter().any(|n| n == c))
    {
        return Err(StoreError::ForeignTable {
            table: HISTORY_TABLE.into(),
        });
    }
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM totpstore_migrations")
        .fetch_one(&mut *conn)
        .await
        .map_err(map)?;
    Ok(version.map(|v| v as u32))
}

/// Creates the database file with mode 0600 if it does not exist, so that SQLite (which would
/// use the process umask) never creates it world-readable; returns whether it created it. Its
/// folder must exist.
fn create_private_file(path: &Path) -> Result<bool, StoreError> {
    let invalid = |reason: String| StoreError::InvalidOption {
        backend: NAME,
        option: "path",
        reason,
    };
    if path.is_dir() {
        return Err(invalid(format!(
            "'{}' is a folder, not a database file",
            path.display()
        )));
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(invalid(format!(
            "the folder '{}' does not exist",
            parent.display()
        )));
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(StoreError::Connect {
            backend: NAME,
            target: path.display().to_string(),
            source: e.into(),
        }),
    }
}

fn record_from_row(row: &SqliteRow) -> Result<TotpRecord, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        backend: NAME,
        reason,
    };
    let algorithm: String = row.try_get("algorithm").map_err(decode)?;
    let digits: i64 = row.try_get("digits").map_err(decode)?;
    let period: i64 = row.try_get("period").map_err(decode)?;
    Ok(TotpRecord {
        username: row.try_get("username").map_err(decode)?,
        issuer: row.try_get("issuer").map_err(decode)?,
        algorithm: Algorithm::from_str(&algorithm).map_err(|e| corrupt(e.to_string()))?,
        digits: u32::try_from(digits).map_err(|_| corrupt(format!("digits {digits}")))?,
        period: u32::try_from(period).map_err(|_| corrupt(format!("period {period}")))?,
        secret: SealedSecret(row.try_get("secret").map_err(decode)?),
        created_at: row
            .try_get::<DateTime<Utc>, _>("created_at")
            .map_err(decode)?,
        last_used_at: row
            .try_get::<Option<DateTime<Utc>>, _>("last_used_at")
            .map_err(decode)?,
    })
}

#[async_trait]
impl TotpStore for SqliteStore {
    fn backend_name(&self) -> &'static str {
        NAME
    }

    async fn schema_version(&self) -> Result<SchemaVersion, StoreError> {
        let latest = MIGRATIONS.last().map_or(0, |m| m.version);
        let mut conn = self.pool.acquire().await.map_err(self.map())?;
        Ok(SchemaVersion {
            current: read_version(&mut conn, &self.path).await?,
            latest,
        })
    }

    async fn migrate_up(&self) -> Result<Vec<u32>, StoreError> {
        // BEGIN IMMEDIATE takes the write lock before reading the version, so two processes
        // initialising the same file apply each migration once.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(self.map())?;
        let current = match read_version(&mut tx, &self.path).await? {
            Some(version) => version,
            None => {
                sqlx::query(
                    "CREATE TABLE totpstore_migrations (version INTEGER PRIMARY KEY NOT NULL, \
                     description TEXT NOT NULL, applied_at TEXT NOT NULL)",
                )
                .execute(&mut *tx)
                .await
                .map_err(self.map())?;
                0
            }
        };

        let mut applied = Vec::new();
        for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
            sqlx::raw_sql(migration.up)
                .execute(&mut *tx)
                .await
                .map_err(self.map())?;
            sqlx::query(
                "INSERT INTO totpstore_migrations (version, description, applied_at) \
                 VALUES (?, ?, ?)",
            )
            .bind(i64::from(migration.version))
            .bind(migration.description)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await
            .map_err(self.map())?;
            applied.push(migration.version);
        }
        tx.commit().await.map_err(self.map())?;
        Ok(applied)
    }

    async fn load(&self, username: &str) -> Result<Option<TotpRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT username, issuer, algorithm, digits, period, secret, created_at, \
             last_used_at FROM totp_configurations WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.map())?;
        row.as_ref().map(record_from_row).transpose()
    }

    async fn save(&self, record: &TotpRecord, mode: SaveMode) -> Result<(), StoreError> {
        let sql = match mode {
            SaveMode::Create => {
                "INSERT INTO totp_configurations (username, issuer, algorithm, digits, period, \
                 secret, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            }
            SaveMode::Overwrite => {
                "INSERT INTO totp_configurations (username, issuer, algorithm, digits, period, \
                 secret, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (username) DO UPDATE SET issuer = excluded.issuer, \
                 algorithm = excluded.algorithm, digits = excluded.digits, \
                 period = excluded.period, secret = excluded.secret, \
                 created_at = excluded.created_at, last_used_at = excluded.last_used_at"
            }
        };
        sqlx::query(sql)
            .bind(&record.username)
            .bind(&record.issuer)
            .bind(record.algorithm.as_str())
            .bind(i64::from(record.digits))
            .bind(i64::from(record.period))
            .bind(&record.secret.0)
            .bind(record.created_at)
            .bind(record.last_used_at)
            .execute(&self.pool)
            .await
            .map_err(|e| map_insert(e, &record.username, &self.path))?;
        Ok(())
    }

    async fn delete(&self, username: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM totp_configurations WHERE username = ?")
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(self.map())?;
        Ok(done.rows_affected() > 0)
    }

    async fn list(&self, after: Option<&str>, limit: u32) -> Result<Vec<TotpRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT username, issuer, algorithm, digits, period, secret, created_at, \
             last_used_at FROM totp_configurations WHERE ?1 IS NULL OR username > ?1 \
             ORDER BY username LIMIT ?2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(self.map())?;
        rows.iter().map(record_from_row).collect()
    }

    async fn get_metadata(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT value FROM totpstore_metadata WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.map())
    }

    async fn put_metadata(
        &self,
        key: &str,
        value: &[u8],
        mode: SaveMode,
    ) -> Result<(), StoreError> {
        let sql = match mode {
            SaveMode::Create => "INSERT INTO totpstore_metadata (key, value) VALUES (?, ?)",
            SaveMode::Overwrite => {
                "INSERT INTO totpstore_metadata (key, value) VALUES (?, ?) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            }
        };
        sqlx::query(sql)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(|e| map_insert(e, key, &self.path))?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
