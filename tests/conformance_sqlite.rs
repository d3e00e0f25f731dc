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
