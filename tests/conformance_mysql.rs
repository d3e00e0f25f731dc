//! The conformance suite on the MySQL/MariaDB backend, one database per case, on the server
//! named by `TOTPSTORE_TEST_MYSQL_URL` (skipped with a message when it is unset, failing when
//! `CI` is set); then the behaviours specific to this backend.

#![cfg(feature = "mysql")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::servers::{blocking, mysql, BoxError, FreshMySql, MySqlServer};
use sqlx::{AssertSqlSafe, Connection};
use totpstore::backends::mysql::MySqlStore;
use totpstore::{BackendOptions, StoreError, TotpStore};
use totpstore_conformance::{Harness, Location};

struct MySqlHarness(&'static MySqlServer);

struct MySqlLocation(FreshMySql);

async fn connect(options: BackendOptions) -> Result<Box<dyn TotpStore>, StoreError> {
    let descriptor = totpstore::registry::backend("mysql").expect("mysql is registered");
    (descriptor.connect)(options).await
}

#[async_trait]
impl Harness for MySqlHarness {
    async fn location(&self) -> Result<Box<dyn Location>, BoxError> {
        Ok(Box::new(MySqlLocation(self.0.create_database().await?)))
    }

    async fn connect_unreachable(&self) -> Result<Box<dyn TotpStore>, StoreError> {
        let mut options = self.0.options("unreachable");
        options
            .set("address", "tcp://127.0.0.1:1")
            .set("timeout", "2s");
        connect(options).await
    }
}

#[async_trait]
impl Location for MySqlLocation {
    async fn connect(&self) -> Result<Box<dyn TotpStore>, StoreError> {
        connect(self.0.options()).await
    }

    async fn create_foreign_table(&self, table: &str) -> Result<(), BoxError> {
        let mut conn = self.0.server.admin().await?;
        let sql = format!(
            "CREATE TABLE `{}`.`{table}` (id INT PRIMARY KEY, note TEXT)",
            self.0.database
        );
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }

    async fn cleanup(&self) {
        self.0.drop_now().await;
    }
}

fn harness() -> Option<MySqlHarness> {
    mysql().map(MySqlHarness)
}

totpstore_conformance::conformance_tests!(harness());

/// Runs `test` on a multi-threaded runtime when the server is configured.
fn with_server<F, Fut>(test: F)
where
    F: FnOnce(&'static MySqlServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(server) = mysql() else { return };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start a runtime")
        .block_on(test(server));
}

/// 20 stores, as 20 processes would, initialise one empty database at once: the migration
/// is applied exactly once and nobody fails.
#[test]
fn concurrent_first_runs_migrate_once() {
    with_server(|server| async move {
        let fresh = server.create_database().await.expect("create a database");
        let mut stores = Vec::new();
        for _ in 0..20 {
            stores.push(Arc::<dyn TotpStore>::from(
                connect(fresh.options()).await.expect("connect"),
            ));
        }
        let tasks: Vec<_> = stores
            .iter()
            .map(|store| {
                let store = store.clone();
                tokio::spawn(async move {
                    totpstore::storage::prepare_schema(
                        store.as_ref(),
                        totpstore::storage::SchemaPolicy::InitialiseEmpty,
                    )
                    .await
                })
            })
            .collect();
        let mut applied = Vec::new();
        for task in tasks {
            applied.extend(task.await.expect("task").expect("prepare_schema"));
        }
        assert_eq!(applied, vec![1], "version 1 applied once in all");
        let version = stores[0].schema_version().await.expect("version");
        assert_eq!(version.current, Some(version.latest));
        for store in &stores {
            store.close().await;
        }
        fresh.drop_now().await;
    });
}

/// A foreign `totpstore_metadata` is refused as well as a foreign `totp_configurations`.
#[test]
fn foreign_metadata_table_is_refused() {
    with_server(|server| async move {
        let location = MySqlLocation(server.create_database().await.expect("create a database"));
        location
            .create_foreign_table("totpstore_metadata")
            .await
            .expect("foreign table");
        let store = location.connect().await.expect("connect");
        let err = store.migrate_up().await.expect_err("must refuse");
        assert!(
            matches!(&err, StoreError::ForeignTable { table } if table == "totpstore_metadata"),
            "{err:?}"
        );
        store.close().await;
        location.cleanup().await;
    });
}

/// A wrong password is a connect error that names the server and not the password.
#[test]
fn wrong_password_is_a_clear_connect_error() {
    with_server(|server| async move {
        let mut options = server.options(&server.url.database);
        let password = "not-the-password-8f3e1c";
        options.set_secret("password", password.into());
        let err = connect(options)
            .await
            .err()
            .expect("a wrong password must be refused");
        let shown = format!("{err} / {err:?} / {:?}", std::error::Error::source(&err));
        assert!(matches!(err, StoreError::Connect { .. }), "{shown}");
        assert!(shown.contains("Access denied"), "{shown}");
        assert!(!shown.contains(password), "the password leaked: {shown}");
    });
}

/// The server's unix socket, when it is on this machine, works as an address.
#[test]
fn unix_socket_address_connects() {
    with_server(|server| async move {
        let mut conn = server.admin().await.expect("admin connection");
        let socket: String = sqlx::query_scalar("SELECT @@socket")
            .fetch_one(&mut conn)
            .await
            .expect("@@socket");
        conn.close().await.expect("close");
        if !std::path::Path::new(&socket).exists() {
            common::servers::loud(&format!("!!! unix socket test skipped: no {socket} here"));
            return;
        }
        let fresh = server.create_database().await.expect("create a database");
        let mut options = fresh.options();
        options.set("address", format!("unix://{socket}"));
        let store = connect(options).await.expect("connect through the socket");
        assert_eq!(store.schema_version().await.expect("version").current, None);
        store.close().await;
        fresh.drop_now().await;
    });
}

/// A server that accepts the connection and never answers runs into the timeout, not a hang.
#[test]
fn silent_server_runs_into_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("tcp://{}", listener.local_addr().expect("address"));
    // Accepts and holds every connection without a byte.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let mut options = BackendOptions::new("mysql");
    options
        .set("address", address)
        .set("timeout", "1s")
        .set("database", "d")
        .set("username", "u");
    let started = Instant::now();
    let outcome = blocking(connect(options));
    let err = outcome
        .err()
        .expect("a silent server must not be reported as reachable");
    assert!(matches!(err, StoreError::ConnectTimeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

/// The store's `Debug` names the server and never the password.
#[test]
fn debug_hides_the_password() {
    with_server(|server| async move {
        let fresh = server.create_database().await.expect("create a database");
        let store = MySqlStore::connect(&fresh.options())
            .await
            .expect("connect");
        let shown = format!("{store:?}");
        assert!(shown.contains(&server.url.address()), "{shown}");
        assert!(!shown.to_lowercase().contains("password"), "{shown}");
        if let Some(password) = &server.url.password {
            assert!(!shown.contains(password.as_str()), "{shown}");
        }
        store.close().await;
        fresh.drop_now().await;
    });
}

/// A statement that meets a lock another session holds gives up after the store's bound (here
/// 1 s, through the library-only `lock_timeout` option) with a clear error, rather than waiting
/// for the server's own default, which is a year for a table lock on MariaDB.
#[test]
fn locks_held_by_another_session_time_out() {
    with_server(|server| async move {
        let fresh = server.create_database().await.expect("create a database");
        let mut options = fresh.options();
        options.set("lock_timeout", "1s");
        let store = connect(options).await.expect("connect");
        totpstore::storage::prepare_schema(
            store.as_ref(),
            totpstore::storage::SchemaPolicy::InitialiseEmpty,
        )
        .await
        .expect("initialise");
        let record = totpstore_conformance::record("john", vec![1; 40]);
        let table = format!("`{}`.totp_configurations", fresh.database);

        // A table lock (a metadata lock, bounded by lock_wait_timeout).
        let mut holder = server.admin().await.expect("admin connection");
        sqlx::raw_sql(AssertSqlSafe(format!("LOCK TABLES {table} WRITE")))
            .execute(&mut holder)
            .await
            .expect("lock the table");
        let outcome = tokio::time::timeout(
            Duration::from_secs(30),
            store.save(&record, totpstore::SaveMode::Create),
        )
        .await
        .expect("the save must give up, not hang");
        assert_lock_timeout(outcome);
        sqlx::raw_sql("UNLOCK TABLES")
            .execute(&mut holder)
            .await
            .expect("unlock");

        // A row lock (bounded by innodb_lock_wait_timeout).
        let insert = format!(
            "BEGIN; INSERT INTO {table} (username, issuer, algorithm, digits, period, secret, \
             created_at) VALUES ('john', 'i', 'SHA1', 6, 30, x'00', NOW())"
        );
        sqlx::raw_sql(AssertSqlSafe(insert))
            .execute(&mut holder)
            .await
            .expect("hold a row lock");
        let outcome = tokio::time::timeout(
            Duration::from_secs(30),
            store.save(&record, totpstore::SaveMode::Overwrite),
        )
        .await
        .expect("the save must give up, not hang");
        assert_lock_timeout(outcome);

        holder.close().await.expect("close");
        store.close().await;
        fresh.drop_now().await;
    });
}

fn assert_lock_timeout(outcome: Result<(), StoreError>) {
    let err = outcome.expect_err("a held lock must stop the save");
    assert!(matches!(err, StoreError::LockTimeout { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("timed out waiting for a lock held by another session"),
        "{shown}"
    );
}

/// A foreign `totpstore_migrations`, without our `version` column or with it beside columns
/// of its own, is refused as a foreign table rather than failing on a missing column or
/// being adopted; nothing of ours is added.
#[test]
fn foreign_history_table_is_refused() {
    with_server(|server| async move {
        for (columns, row) in [
            ("id INT PRIMARY KEY, note TEXT", "(1, 'x')"),
            ("version INT PRIMARY KEY, checksum TEXT", "(1, 'x')"),
        ] {
            let fresh = server.create_database().await.expect("create a database");
            let table = format!("`{}`.totpstore_migrations", fresh.database);
            let mut admin = server.admin().await.expect("admin connection");
            let sql = format!("CREATE TABLE {table} ({columns}); INSERT INTO {table} VALUES {row}");
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .expect("plant the foreign table");

            let store = connect(fresh.options()).await.expect("connect");
            let version = store.schema_version().await;
            let prepared = totpstore::storage::prepare_schema(
                store.as_ref(),
                totpstore::storage::SchemaPolicy::InitialiseEmpty,
            )
            .await;
            let migrated = store.migrate_up().await;

            assert!(
                version.as_ref().is_err_and(is_foreign_history),
                "{columns}: {version:?}"
            );
            assert!(
                matches!(&prepared, Err(totpstore::Error::Store(e)) if is_foreign_history(e)),
                "{columns}: {prepared:?}"
            );
            assert!(
                migrated.as_ref().is_err_and(is_foreign_history),
                "{columns}: {migrated:?}"
            );
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = ?",
            )
            .bind(&fresh.database)
            .fetch_all(&mut admin)
            .await
            .expect("list tables");
            assert_eq!(tables, ["totpstore_migrations"], "{columns}");
            admin.close().await.expect("close");
            store.close().await;
            fresh.drop_now().await;
        }
    });
}

fn is_foreign_history(e: &StoreError) -> bool {
    matches!(e, StoreError::ForeignTable { table } if table == "totpstore_migrations")
}
