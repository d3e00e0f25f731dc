//! The conformance suite on the SQLite backend, one temporary file per case.

#![cfg(feature = "sqlite")]

use std::path::PathBuf;

use async_trait::async_trait;
use totpstore::{BackendOptions, StoreError, TotpStore};
use totpstore_conformance::{BoxError, Harness, Location};

struct SqliteHarness;

struct SqliteLocation {
    dir: tempfile::TempDir,
}

impl SqliteLocation {
    fn path(&self) -> PathBuf {
        self.dir.path().join("totpstore.sqlite3")
    }
}

async fn connect_path(path: PathBuf) -> Result<Box<dyn TotpStore>, StoreError> {
    let mut options = BackendOptions::new("sqlite");
    options.set("path", path.to_string_lossy());
    let descriptor = totpstore::registry::backend("sqlite").expect("sqlite is registered");
    (descriptor.connect)(options).await
}

#[async_trait]
impl Harness for SqliteHarness {
    async fn location(&self) -> Result<Box<dyn Location>, BoxError> {
        Ok(Box::new(SqliteLocation {
            dir: tempfile::tempdir()?,
        }))
    }

    async fn connect_unreachable(&self) -> Result<Box<dyn TotpStore>, StoreError> {
        connect_path(PathBuf::from("/nonexistent-totpstore-folder/db.sqlite3")).await
    }
}

#[async_trait]
impl Location for SqliteLocation {
    async fn connect(&self) -> Result<Box<dyn TotpStore>, StoreError> {
        connect_path(self.path()).await
    }

    async fn create_foreign_table(&self, table: &str) -> Result<(), BoxError> {
        use sqlx::Connection;
        let url = format!("sqlite://{}?mode=rwc", self.path().display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await?;
        let sql = format!("CREATE TABLE \"{table}\" (id INTEGER PRIMARY KEY, note TEXT)");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    }

    async fn cleanup(&self) {}
}

totpstore_conformance::conformance_tests!(Some(SqliteHarness));

/// A write that meets another connection's write lock gives up after the store's bound (here
/// 1 s, through the library-only `lock_timeout` option) with a clear error.
#[test]
fn a_lock_held_by_another_connection_times_out() {
    use sqlx::Connection;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start a runtime")
        .block_on(async {
            let location = SqliteLocation {
                dir: tempfile::tempdir().expect("a temporary folder"),
            };
            let mut options = BackendOptions::new("sqlite");
            options
                .set("path", location.path().to_string_lossy())
                .set("lock_timeout", "1s");
            let descriptor = totpstore::registry::backend("sqlite").expect("registered");
            let store = (descriptor.connect)(options).await.expect("connect");
            totpstore::storage::prepare_schema(
                store.as_ref(),
                totpstore::storage::SchemaPolicy::InitialiseEmpty,
            )
            .await
            .expect("initialise");

            let url = format!("sqlite://{}", location.path().display());
            let mut holder = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("a second connection");
            sqlx::raw_sql("BEGIN EXCLUSIVE")
                .execute(&mut holder)
                .await
                .expect("take the write lock");
            let record = totpstore_conformance::record("john", vec![1; 40]);
            let outcome = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                store.save(&record, totpstore::SaveMode::Create),
            )
            .await
            .expect("the save must give up, not hang");

            let err = outcome.expect_err("a held lock must stop the save");
            assert!(matches!(err, StoreError::LockTimeout { .. }), "{err:?}");
            let shown = err.to_string();
            assert!(
                shown.contains("timed out waiting for a lock held by another session"),
                "{shown}"
            );
            holder.close().await.expect("close");
            store.close().await;
        });
}

/// A foreign `totpstore_migrations`, without our `version` column or with it beside columns
/// of its own, is refused as a foreign table rather than failing on a missing column or
/// being adopted; nothing of ours is added.
#[test]
fn foreign_history_table_is_refused() {
    use sqlx::Connection;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start a runtime")
        .block_on(async {
            for (columns, row) in [
                ("id INTEGER PRIMARY KEY, note TEXT", "(1, 'x')"),
                ("version INTEGER PRIMARY KEY, checksum TEXT", "(1, 'x')"),
            ] {
                let location = SqliteLocation {
                    dir: tempfile::tempdir().expect("a temporary folder"),
                };
                let url = format!("sqlite://{}?mode=rwc", location.path().display());
                let mut admin = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("open the file");
                let sql = format!(
                    "CREATE TABLE totpstore_migrations ({columns}); \
                     INSERT INTO totpstore_migrations VALUES {row}"
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .expect("plant the foreign table");

                let store = location.connect().await.expect("connect");
                let version = store.schema_version().await;
                let prepared = totpstore::storage::prepare_schema(
                    store.as_ref(),
                    totpstore::storage::SchemaPolicy::InitialiseEmpty,
                )
                .await;
                let migrated = store.migrate_up().await;

                let foreign = is_foreign_history;
                assert!(
                    version.as_ref().is_err_and(foreign),
                    "{columns}: {version:?}"
                );
                assert!(
                    matches!(&prepared, Err(totpstore::Error::Store(e)) if foreign(e)),
                    "{columns}: {prepared:?}"
                );
                assert!(
                    migrated.as_ref().is_err_and(foreign),
                    "{columns}: {migrated:?}"
                );
                let tables: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                        .fetch_all(&mut admin)
                        .await
                        .expect("list tables");
                assert_eq!(tables, ["totpstore_migrations"], "{columns}");
                admin.close().await.expect("close");
                store.close().await;
            }
        });
}

fn is_foreign_history(e: &StoreError) -> bool {
    matches!(e, StoreError::ForeignTable { table } if table == "totpstore_migrations")
}
