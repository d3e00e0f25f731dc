//! [`TotpStore`] on MySQL and MariaDB through `sqlx`.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::mysql::{MySqlConnection, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{ConnectOptions, Connection, Row};

use crate::model::{Algorithm, SaveMode, SealedSecret, TotpRecord};
use crate::registry::BackendOptions;
use crate::store::{Migration, SchemaVersion, StoreError, TotpStore, HISTORY_COLUMNS, OWN_TABLES};

use super::config::Settings;
use super::error::{is_deadlock, map, map_connect, map_insert, map_socket_connect, timed_out};
use super::NAME;
use crate::backends::address::Address;

/// Schema migrations, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "initial schema",
    up: include_str!("../../migrations/mysql/0001_initial.sql"),
}];

/// Our migration history. It is created before any other table of ours, so a table of ours
/// without it was not made by totpstore.
const HISTORY: &str = "totpstore_migrations";

/// Connections per store: the CLI uses one at a time; the rest serve concurrent callers.
const POOL_SIZE: u32 = 8;

/// How many times a save that InnoDB picked as a deadlock victim is run again.
const DEADLOCK_RETRIES: u32 = 5;

/// A MySQL or MariaDB database.
pub struct MySqlStore {
    pool: MySqlPool,
    target: String,
    /// How long a statement, or `migrate_up`, waits for another session's lock.
    lock_wait_seconds: u64,
}

// The pool's own Debug shows its connect options, password included.
impl fmt::Debug for MySqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl MySqlStore {
    /// Connects to the server named by the options, within their `timeout`.
    pub async fn connect(options: &BackendOptions) -> Result<Self, StoreError> {
        let settings = Settings::from_options(options)?;
        let target = settings.address.to_string();
        let connect_options = settings.connect_options();

        // One direct connection first, so that a refused connection or a wrong password is
        // reported at once with the driver's reason: the pool would retry a refused
        // connection until its deadline and then report only a timeout.
        let probe = tokio::time::timeout(settings.timeout, connect_options.connect())
            .await
            .map_err(|_| timed_out(&target, settings.timeout))?
            .map_err(|e| match &settings.address {
                Address::Unix(path) => map_socket_connect(e, path, &target, settings.timeout),
                Address::Tcp { .. } => map_connect(e, &target, settings.timeout),
            })?;
        let _ = probe.close().await;

        let lock_wait_seconds = settings.lock_wait_seconds;
        let pool = MySqlPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(settings.timeout)
            // A ping before every query would double the round trips of a short CLI run.
            .test_before_acquire(false)
            // The servers' defaults are 50 s for a row lock and a year for a table lock.
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    sqlx::query("SET SESSION lock_wait_timeout = ?, innodb_lock_wait_timeout = ?")
                        .bind(lock_wait_seconds)
                        .bind(lock_wait_seconds)
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            })
            .connect_lazy_with(connect_options);
        Ok(Self {
            pool,
            target,
            lock_wait_seconds,
        })
    }
}

/// Which of our tables exist, read in one query.
async fn present_tables(conn: &mut MySqlConnection) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name IN \
         ('totp_configurations', 'totpstore_metadata', 'totpstore_migrations')",
    )
    .fetch_all(conn)
    .await
    .map_err(map)
}

/// The highest migration applied; `None` when our history is absent or empty; `ForeignTable`
/// when a table of ours exists without the history, or the history lacks one of our columns.
async fn applied_version(conn: &mut MySqlConnection) -> Result<Option<u32>, StoreError> {
    let mut present = present_tables(conn).await?;
    if !present.iter().any(|t| t == HISTORY) {
        let Some(table) = OWN_TABLES.iter().find(|t| present.iter().any(|p| p == *t)) else {
            return Ok(None);
        };
        // Another process may have created the history and then this table between the
        // reads of the query above; read once more before calling the table foreign.
        present = present_tables(conn).await?;
        if !present.iter().any(|t| t == HISTORY) {
            return Err(StoreError::ForeignTable {
                table: (*table).into(),
            });
        }
    }
    // A foreign table of the history's name would otherwise fail below as an unknown column.
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = ?",
    )
    .bind(HISTORY)
    .fetch_all(&mut *conn)
    .await
    .map_err(map)?;
    let has = |c: &&str| columns.iter().any(|n| n.eq_ignore_ascii_case(c));
    if !HISTORY_COLUMNS.iter().all(has) {
        return Err(StoreError::ForeignTable {
            table: HISTORY.into(),
        });
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT CAST(MAX(version) AS SIGNED) FROM totpstore_migrations")
            .fetch_one(conn)
            .await
            .map_err(map)?;
    version
        .map(|v| {
            u32::try_from(v).map_err(|_| StoreError::Corrupt {
                backend: NAME,
                reason: format!("migration version {v}"),
            })
        })
        .transpose()
}

/// Applies the pending migrations; the caller holds the migration lock.
async fn apply_pending(conn: &mut MySqlConnection) -> Result<Vec<u32>, StoreError> {
    let current = applied_version(conn).await?.unwrap_or(0);
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS totpstore_migrations (version INT NOT NULL PRIMARY KEY, \
         description VARCHAR(255) NOT NULL, applied_at DATETIME(6) NOT NULL) \
         ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
    )
    .execute(&mut *conn)
    .await
    .map_err(map)?;

    let mut applied = Vec::new();
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        // DDL commits implicitly, so there is no transaction to roll back: the statements are
        // idempotent and the history row is written last, so an interrupted run is repeated.
        sqlx::raw_sql(migration.up)
            .execute(&mut *conn)
            .await
            .map_err(map)?;
        sqlx::query(
            "INSERT INTO totpstore_migrations (version, description, applied_at) \
             VALUES (?, ?, ?)",
        )
        .bind(i64::from(migration.version))
        .bind(migration.description)
        .bind(Utc::now().naive_utc())
        .execute(&mut *conn)
        .await
        .map_err(map)?;
        applied.push(migration.version);
    }
    Ok(applied)
}

/// A `u32` field as the signed 32-bit integer the columns hold.
fn int(value: u32, what: &str) -> Result<i32, StoreError> {
    i32::try_from(value)
        .map_err(|_| StoreError::backend(NAME, format!("{what} {value} does not fit the column")))
}

fn record_from_row(row: &MySqlRow) -> Result<TotpRecord, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        backend: NAME,
        reason,
    };
    let username: Vec<u8> = row.try_get("username").map_err(map)?;
    let algorithm: String = row.try_get("algorithm").map_err(map)?;
    let digits: i32 = row.try_get("digits").map_err(map)?;
    let period: i32 = row.try_get("period").map_err(map)?;
    Ok(TotpRecord {
        username: String::from_utf8(username)
            .map_err(|_| corrupt("a username is not valid UTF-8".into()))?,
        issuer: row.try_get("issuer").map_err(map)?,
        algorithm: Algorithm::from_str(&algorithm).map_err(|e| corrupt(e.to_string()))?,
        digits: u32::try_from(digits).map_err(|_| corrupt(format!("digits {digits}")))?,
        period: u32::try_from(period).map_err(|_| corrupt(format!("period {period}")))?,
        secret: SealedSecret(row.try_get("secret").map_err(map)?),
        created_at: row.try_get::<DateTime<Utc>, _>("created_at").map_err(map)?,
        last_used_at: row
            .try_get::<Option<DateTime<Utc>>, _>("last_used_at")
            .map_err(map)?,
    })
}

#[async_trait]
impl TotpStore for MySqlStore {
    fn backend_name(&self) -> &'static str {
        NAME
    }

    async fn schema_version(&self) -> Result<SchemaVersion, StoreError> {
        let latest = MIGRATIONS.last().map_or(0, |m| m.version);
        let mut conn = self.pool.acquire().await.map_err(map)?;
        Ok(SchemaVersion {
            current: applied_version(&mut conn).await?,
            latest,
        })
    }

    async fn migrate_up(&self) -> Result<Vec<u32>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map)?;
        // GET_LOCK names are server-wide, so the name carries the database; SHA1 keeps it
        // within the 64 characters allowed. The version is read again under the lock.
        let locked: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(GET_LOCK(CONCAT('totpstore:', SHA1(DATABASE())), ?) AS SIGNED)",
        )
        .bind(self.lock_wait_seconds)
        .fetch_one(&mut *conn)
        .await
        .map_err(map)?;
        if locked != Some(1) {
            return Err(StoreError::LockTimeout { backend: NAME });
        }
        let outcome = apply_pending(&mut conn).await;
        let released = sqlx::query("DO RELEASE_LOCK(CONCAT('totpstore:', SHA1(DATABASE())))")
            .execute(&mut *conn)
            .await;
        if released.is_err() {
            // Never hand a connection that may still hold the lock back to the pool.
            conn.close_on_drop();
        }
        outcome
    }

    async fn load(&self, username: &str) -> Result<Option<TotpRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT username, issuer, algorithm, digits, period, secret, created_at, \
             last_used_at FROM totp_configurations WHERE username = ?",
        )
        .bind(username.as_bytes())
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?;
        row.as_ref().map(record_from_row).transpose()
    }

    async fn save(&self, record: &TotpRecord, mode: SaveMode) -> Result<(), StoreError> {
        let sql = match mode {
            SaveMode::Create => {
                "INSERT INTO totp_configurations (username, issuer, algorithm, digits, period, \
                 secret, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            }
            // VALUES() rather than a row alias: MariaDB has no `AS new` syntax, and MySQL 8
            // still accepts VALUES() (with a deprecation note).
            SaveMode::Overwrite => {
                "INSERT INTO totp_configurations (username, issuer, algorithm, digits, period, \
                 secret, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE issuer = VALUES(issuer), \
                 algorithm = VALUES(algorithm), digits = VALUES(digits), \
                 period = VALUES(period), secret = VALUES(secret), \
                 created_at = VALUES(created_at), last_used_at = VALUES(last_used_at)"
            }
        };
        let digits = int(record.digits, "digits")?;
        let period = int(record.period, "period")?;
        let mut attempt = 0;
        loop {
            let done = sqlx::query(sql)
                .bind(record.username.as_bytes())
                .bind(&record.issuer)
                .bind(record.algorithm.as_str())
                .bind(digits)
                .bind(period)
                .bind(&record.secret.0)
                // As DATETIME, not the driver's default TIMESTAMP: MariaDB turns a TIMESTAMP
                // parameter past 2038-01-19 into NULL.
                .bind(record.created_at.naive_utc())
                .bind(record.last_used_at.map(|t| t.naive_utc()))
                .execute(&self.pool)
                .await;
            match done {
                Ok(_) => return Ok(()),
                Err(e) if is_deadlock(&e) && attempt < DEADLOCK_RETRIES => attempt += 1,
                Err(e) => return Err(map_insert(e, &record.username)),
            }
        }
    }

    async fn delete(&self, username: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM totp_configurations WHERE username = ?")
            .bind(username.as_bytes())
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list(&self, after: Option<&str>, limit: u32) -> Result<Vec<TotpRecord>, StoreError> {
        // Two statements rather than `? IS NULL OR username > ?`, so both use the index.
        let rows = match after {
            None => {
                sqlx::query(
                    "SELECT username, issuer, algorithm, digits, period, secret, created_at, \
                     last_used_at FROM totp_configurations ORDER BY username LIMIT ?",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
            Some(after) => {
                sqlx::query(
                    "SELECT username, issuer, algorithm, digits, period, secret, created_at, \
                     last_used_at FROM totp_configurations WHERE username > ? \
                     ORDER BY username LIMIT ?",
                )
                .bind(after.as_bytes())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(map)?;
        rows.iter().map(record_from_row).collect()
    }

    async fn get_metadata(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT value FROM totpstore_metadata WHERE `key` = ?")
            .bind(key.as_bytes())
            .fetch_optional(&self.pool)
            .await
            .map_err(map)
    }

    async fn put_metadata(
        &self,
        key: &str,
        value: &[u8],
        mode: SaveMode,
    ) -> Result<(), StoreError> {
        let sql = match mode {
            SaveMode::Create => "INSERT INTO totpstore_metadata (`key`, value) VALUES (?, ?)",
            SaveMode::Overwrite => {
                "INSERT INTO totpstore_metadata (`key`, value) VALUES (?, ?) \
                 ON DUPLICATE KEY UPDATE value = VALUES(value)"
            }
        };
        let mut attempt = 0;
        loop {
            let done = sqlx::query(sql)
                .bind(key.as_bytes())
                .bind(value)
                .execute(&self.pool)
                .await;
            match done {
                Ok(_) => return Ok(()),
                Err(e) if is_deadlock(&e) && attempt < DEADLOCK_RETRIES => attempt += 1,
                Err(e) => return Err(map_insert(e, key)),
            }
        }
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
