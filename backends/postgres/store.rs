//! [`TotpStore`] on PostgreSQL through `sqlx`.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};

use crate::model::{Algorithm, SaveMode, SealedSecret, TotpRecord};
use crate::registry::BackendOptions;
use crate::store::{Migration, SchemaVersion, StoreError, TotpStore, HISTORY_COLUMNS, OWN_TABLES};

use super::config::Settings;
use super::error::{map, map_connect, map_insert, map_socket_connect, timed_out};
use super::NAME;
use crate::backends::address::Address;

/// Schema migrations, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "initial schema",
    up: include_str!("../../migrations/postgres/0001_initial.sql"),
}];

/// Our migration history, created in the same transaction as the first migration.
const HISTORY: &str = "totpstore_migrations";

/// Connections per store: the CLI uses one at a time; the rest serve concurrent callers.
const POOL_SIZE: u32 = 8;

/// First key of the advisory lock `migrate_up` takes (ASCII `totp`); the second is the
/// schema's hash, so stores of different schemas do not wait for each other.
const LOCK_CLASS: i32 = 0x746f_7470;

/// A schema of a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
    target: String,
    schema: String,
    quoted_schema: String,
}

// The pool's own Debug shows its connect options, password included.
impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
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

        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(settings.timeout)
            // A ping before every query would double the round trips of a short CLI run.
            .test_before_acquire(false)
            .connect_lazy_with(connect_options);
        Ok(Self {
            pool,
            target,
            quoted_schema: settings.quoted_schema(),
            schema: settings.schema,
        })
    }
}

/// Which of our tables exist in `schema`, read in one query. Any relation of the name counts
/// (a view would block `CREATE TABLE` just the same).
async fn present_tables(conn: &mut PgConnection, schema: &str) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname IN \
         ('totp_configurations', 'totpstore_metadata', 'totpstore_migrations')",
    )
    .bind(schema)
    .fetch_all(conn)
    .await
    .map_err(map)
}

/// The highest migration applied; `None` when our history is absent or empty; `ForeignTable`
/// when a table of ours exists without the history, or the history lacks one of our columns.
async fn applied_version(conn: &mut PgConnection, schema: &str) -> Result<Option<u32>, StoreError> {
    let mut present = present_tables(conn, schema).await?;
    if !present.iter().any(|t| t == HISTORY) {
        let Some(table) = OWN_TABLES.iter().find(|t| present.iter().any(|p| p == *t)) else {
            return Ok(None);
        };
        // The history commits with the tables, but outside a transaction each query sees the
        // latest commit: read once more before calling the table foreign.
        present = present_tables(conn, schema).await?;
        if !present.iter().any(|t| t == HISTORY) {
            return Err(StoreError::ForeignTable {
                table: (*table).into(),
            });
        }
    }
    // A foreign table of the history's name would otherwise fail below as an unknown column.
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(schema)
    .bind(HISTORY)
    .fetch_all(&mut *conn)
    .await
    .map_err(map)?;
    if !HISTORY_COLUMNS
        .iter()
        .all(|c| columns.iter().any(|n| n == c))
    {
        return Err(StoreError::ForeignTable {
            table: HISTORY.into(),
        });
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version)::bigint FROM totpstore_migrations")
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

/// A `u32` field as the signed 32-bit integer the columns hold.
fn int(value: u32, what: &str) -> Result<i32, StoreError> {
    i32::try_from(value)
        .map_err(|_| StoreError::backend(NAME, format!("{what} {value} does not fit the column")))
}

fn record_from_row(row: &PgRow) -> Result<TotpRecord, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        backend: NAME,
        reason,
    };
    let algorithm: String = row.try_get("algorithm").map_err(map)?;
    let digits: i32 = row.try_get("digits").map_err(map)?;
    let period: i32 = row.try_get("period").map_err(map)?;
    Ok(TotpRecord {
        username: row.try_get("username").map_err(map)?,
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

impl PostgresStore {
    /// Applies the next pending migration in one transaction under the advisory lock; `None`
    /// when there is none left.
    async fn apply_next(&self) -> Result<Option<u32>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map)?;
        // Held until the transaction ends; a concurrent caller waits here (up to the session's
        // lock_timeout), then finds the version it would have applied already recorded.
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(LOCK_CLASS)
            .bind(&self.schema)
            .execute(&mut *tx)
            .await
            .map_err(map)?;

        // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the
        // database even when the schema exists, which an application's user often lacks.
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1")
                .bind(&self.schema)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
        if exists.is_none() {
            // DDL takes no parameters; the name is a quoted identifier (see config.rs).
            let sql = format!("CREATE SCHEMA {}", self.quoted_schema);
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .map_err(map)?;
        }

        let current = applied_version(&mut tx, &self.schema).await?.unwrap_or(0);
        let Some(migration) = MIGRATIONS.iter().find(|m| m.version > current) else {
            tx.rollback().await.map_err(map)?;
            return Ok(None);
        };
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS totpstore_migrations (version INTEGER PRIMARY KEY, \
             description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        sqlx::raw_sql(migration.up)
            .execute(&mut *tx)
            .await
            .map_err(map)?;
        sqlx::query(
            "INSERT INTO totpstore_migrations (version, description, applied_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(int(migration.version, "version")?)
        .bind(migration.description)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        tx.commit().await.map_err(map)?;
        Ok(Some(migration.version))
    }
}

#[async_trait]
impl TotpStore for PostgresStore {
    fn backend_name(&self) -> &'static str {
        NAME
    }

    async fn schema_version(&self) -> Result<SchemaVersion, StoreError> {
        let latest = MIGRATIONS.last().map_or(0, |m| m.version);
        let mut conn = self.pool.acquire().await.map_err(map)?;
        Ok(SchemaVersion {
            current: applied_version(&mut conn, &self.schema).await?,
            latest,
        })
    }

    async fn migrate_up(&self) -> Result<Vec<u32>, StoreError> {
        let mut applied = Vec::new();
        while let Some(version) = self.apply_next().await? {
            applied.push(version);
        }
        Ok(applied)
    }

    async fn load(&self, username: &str) -> Result<Option<TotpRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT username, issuer, algorithm, digits, period, secret, created_at, \
             last_used_at FROM totp_configurations WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?;
        row.as_ref().map(record_from_row).transpose()
    }

    async fn save(&self, record: &TotpRecord, mode: SaveMode) -> Result<(), StoreError> {
        let sql = match mode {
            SaveMode::Create => {
                "INSERT INTO totp_configurations (username, issuer, algorithm, digits, period, \
                 secret, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            }
            SaveMode::Overwrite => {
                "INSERT INTO totp_configurations (username, issuer, algorithm, digits, period, \
                 secret, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (username) DO UPDATE SET issuer = EXCLUDED.issuer, \
                 algorithm = EXCLUDED.algorithm, digits = EXCLUDED.digits, \
                 period = EXCLUDED.period, secret = EXCLUDED.secret, \
                 created_at = EXCLUDED.created_at, last_used_at = EXCLUDED.last_used_at"
            }
        };
        sqlx::query(sql)
            .bind(&record.username)
            .bind(&record.issuer)
            .bind(record.algorithm.as_str())
            .bind(int(record.digits, "digits")?)
            .bind(int(record.period, "period")?)
            .bind(&record.secret.0)
            .bind(record.created_at)
            .bind(record.last_used_at)
            .execute(&self.pool)
            .await
            .map_err(|e| map_insert(e, &record.username))?;
        Ok(())
    }

    async fn delete(&self, username: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM totp_configurations WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list(&self, after: Option<&str>, limit: u32) -> Result<Vec<TotpRecord>, StoreError> {
        // Two statements rather than `$1 IS NULL OR username > $1`, so both use the index.
        let rows = match after {
            None => {
                sqlx::query(
                    "SELECT username, issuer, algorithm, digits, period, secret, created_at, \
                     last_used_at FROM totp_configurations ORDER BY username LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
            Some(after) => {
                sqlx::query(
                    "SELECT username, issuer, algorithm, digits, period, secret, created_at, \
                     last_used_at FROM totp_configurations WHERE username > $1 \
                     ORDER BY username LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(map)?;
        rows.iter().map(record_from_row).collect()
    }

    async fn get_metadata(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT value FROM totpstore_metadata WHERE key = $1")
            .bind(key)
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
            SaveMode::Create => "INSERT INTO totpstore_metadata (key, value) VALUES ($1, $2)",
            SaveMode::Overwrite => {
                "INSERT INTO totpstore_metadata (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            }
        };
        sqlx::query(sql)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(|e| map_insert(e, key))?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
