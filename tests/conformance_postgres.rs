//! The conformance suite on the PostgreSQL backend, one schema per case, on the server named by
//! `TOTPSTORE_TEST_POSTGRES_URL` (skipped with a message when it is unset, failing when `CI` is
//! set); then the behaviours specific to this backend.

#![cfg(feature = "postgres")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::servers::{blocking, loud, postgres, quote, BoxError, FreshPostgres, PostgresServer};
use sqlx::Connection;
use totpstore::backends::postgres::PostgresStore;
use totpstore::storage::{prepare_schema, SchemaPolicy};
use totpstore::{BackendOptions, StoreError, TotpStore};
use totpstore_conformance::{Harness, Location};

struct PostgresHarness(&'static PostgresServer);

struct PostgresLocation(FreshPostgres);

async fn connect(options: BackendOptions) -> Result<Box<dyn TotpStore>, StoreError> {
    let descriptor = totpstore::registry::backend("postgres").expect("postgres is registered");
    (descriptor.connect)(options).await
}

#[async_trait]
impl Harness for PostgresHarness {
    async fn location(&self) -> Result<Box<dyn Location>, BoxError> {
        // Not created here: the store creates its schema on first use.
        Ok(Box::new(PostgresLocation(self.0.new_schema())))
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
impl Location for PostgresLocation {
    async fn connect(&self) -> Result<Box<dyn TotpStore>, StoreError> {
        connect(self.0.options()).await
    }

    async fn create_foreign_table(&self, table: &str) -> Result<(), BoxError> {
        let schema = quote(&self.0.schema);
        let sql = format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; \
             CREATE TABLE {schema}.{} (id INTEGER PRIMARY KEY, note TEXT)",
            quote(table)
        );
        self.0.server.admin_execute(sql).await
    }

    async fn cleanup(&self) {
        self.0.drop_now().await;
    }
}

fn harness() -> Option<PostgresHarness> {
    postgres().map(PostgresHarness)
}

totpstore_conformance::conformance_tests!(harness());

/// Runs `test` on a multi-threaded runtime when the server is configured.
fn with_server<F, Fut>(test: F)
where
    F: FnOnce(&'static PostgresServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(server) = postgres() else { return };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start a runtime")
        .block_on(test(server));
}

/// The tables of `schema`, by name.
async fn tables_in(server: &PostgresServer, schema: &str) -> Vec<String> {
    let mut conn = server.admin().await.expect("admin connection");
    let tables = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = $1 ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&mut conn)
    .await
    .expect("list tables");
    conn.close().await.expect("close");
    tables
}

/// 20 stores, as 20 processes would, initialise one missing schema at once: the schema is
/// created and the migration applied exactly once, and nobody fails.
#[test]
fn concurrent_first_runs_migrate_once() {
    with_server(|server| async move {
        let fresh = server.new_schema();
        let mut stores = Vec::new();
        for _ in 0..20 {
            let store = connect(fresh.options()).await.expect("connect");
            stores.push(Arc::<dyn TotpStore>::from(store));
        }
        let tasks: Vec<_> = stores
            .iter()
            .map(|store| {
                let store = store.clone();
                tokio::spawn(async move {
                    prepare_schema(store.as_ref(), SchemaPolicy::InitialiseEmpty).await
                })
            })
            .collect();
        let mut applied = Vec::new();
        for task in tasks {
            applied.extend(task.await.expect("task").expect("prepare_schema"));
        }
        assert_eq!(applied, vec![1], "version 1 applied once in all");
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
        let location = PostgresLocation(server.new_schema());
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

/// A same-named table in another schema is neither used nor in the way.
#[test]
fn tables_of_other_schemas_are_invisible() {
    with_server(|server| async move {
        let other = PostgresLocation(server.new_schema());
        other
            .create_foreign_table("totp_configurations")
            .await
            .expect("foreign table");
        let ours = server.new_schema();

        let store = connect(ours.options()).await.expect("connect");
        prepare_schema(store.as_ref(), SchemaPolicy::InitialiseEmpty)
            .await
            .expect("initialise");
        assert!(store.list(None, 10).await.expect("list").is_empty());

        let expected = [
            "totp_configurations",
            "totpstore_metadata",
            "totpstore_migrations",
        ];
        assert_eq!(tables_in(server, &ours.schema).await, expected);
        assert_eq!(
            tables_in(server, &other.0.schema).await,
            ["totp_configurations"]
        );
        store.close().await;
        other.cleanup().await;
        ours.drop_now().await;
    });
}

/// A schema name with capitals, a space and a double quote is created and used verbatim.
#[test]
fn schema_names_are_used_verbatim() {
    with_server(|server| async move {
        let name = format!("Odd \"{}\"", common::servers::unique_name("Schema"));
        let fresh = server.schema_named(name.clone());
        let store = connect(fresh.options()).await.expect("connect");
        prepare_schema(store.as_ref(), SchemaPolicy::InitialiseEmpty)
            .await
            .expect("initialise");
        let tables = tables_in(server, &name).await;
        assert_eq!(tables.len(), 3, "{tables:?}");
        assert!(tables_in(server, &name.to_lowercase()).await.is_empty());
        store.close().await;
        fresh.drop_now().await;
    });
}

/// A wrong password is a connect error that names the server and not the password. A server
/// that trusts every connection (as a local test server often does) cannot show it.
#[test]
fn wrong_password_is_a_clear_connect_error() {
    with_server(|server| async move {
        let role = server.role_with_password().await.expect("create a role");
        let mut options = server.options("public");
        options.set("username", role.name.clone());
        options.set_secret("password", role.password.as_str().into());
        connect(options)
            .await
            .expect("the right password is accepted")
            .close()
            .await;

        let mut options = server.options("public");
        let password = format!("{}-wrong", role.password);
        options.set("username", role.name.clone());
        options.set_secret("password", password.as_str().into());
        match connect(options).await {
            Ok(store) => {
                store.close().await;
                loud("!!! PostgreSQL wrong-password check skipped: the server trusts everyone");
            }
            Err(err) => {
                let shown = format!("{err} / {err:?} / {:?}", std::error::Error::source(&err));
                assert!(matches!(err, StoreError::Connect { .. }), "{shown}");
                assert!(shown.contains("password authentication failed"), "{shown}");
                assert!(!shown.contains(&password), "the password leaked: {shown}");
            }
        }
        role.drop_now().await;
    });
}

/// The server's socket folder, and the socket file itself, work as addresses when the server
/// is on this machine.
#[test]
fn unix_socket_addresses_connect() {
    with_server(|server| async move {
        let mut conn = server.admin().await.expect("admin connection");
        let folders: String = sqlx::query_scalar("SHOW unix_socket_directories")
            .fetch_one(&mut conn)
            .await
            .expect("unix_socket_directories");
        let port: String = sqlx::query_scalar("SHOW port")
            .fetch_one(&mut conn)
            .await
            .expect("port");
        conn.close().await.expect("close");
        let folder = folders
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let file = format!("{folder}/.s.PGSQL.{port}");
        if !std::path::Path::new(&file).exists() {
            loud(&format!(
                "!!! PostgreSQL unix socket test skipped: no {file} here"
            ));
            return;
        }
        let fresh = server.new_schema();
        let mut addresses = vec![format!("unix://{file}")];
        // A folder address implies the default port.
        if port == "5432" {
            addresses.push(format!("unix://{folder}"));
        }
        for address in addresses {
            let mut options = fresh.options();
            options.set("address", address.clone());
            let store = connect(options).await.expect(&address);
            assert_eq!(store.schema_version().await.expect("version").current, None);
            store.close().await;
        }
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
    let mut options = BackendOptions::new("postgres");
    options.set("address", address).set("timeout", "1s");
    let started = Instant::now();
    let err = blocking(connect(options))
        .err()
        .expect("a silent server must not be reachable");
    assert!(matches!(err, StoreError::ConnectTimeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

/// The store's `Debug` names the server and schema and never the password.
#[test]
fn debug_hides_the_password() {
    with_server(|server| async move {
        let fresh = server.new_schema();
        let store = PostgresStore::connect(&fresh.options())
            .await
            .expect("connect");
        let shown = format!("{store:?}");
        assert!(shown.contains(&server.url.address()) && shown.contains(&fresh.schema));
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
/// for ever, PostgreSQL's default.
#[test]
fn locks_held_by_another_session_time_out() {
    with_server(|server| async move {
        let fresh = server.new_schema();
        let mut options = fresh.options();
        options.set("lock_timeout", "1s");
        let store = connect(options).await.expect("connect");
        prepare_schema(store.as_ref(), SchemaPolicy::InitialiseEmpty)
            .await
            .expect("initialise");
        let record = totpstore_conformance::record("john", vec![1; 40]);
        let table = format!("{}.totp_configurations", quote(&fresh.schema));

        // A table lock.
        let mut holder = server.admin().await.expect("admin connection");
        let lock = format!("BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE");
        sqlx::raw_sql(sqlx::AssertSqlSafe(lock))
            .execute(&mut holder)
            .await
            .expect("lock the table");
        let outcome = tokio::time::timeout(Duration::from_secs(30), store.load("john"))
            .await
            .expect("the load must give up, not hang");
        assert_lock_timeout(outcome.map(|_| ()));
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut holder)
            .await
            .expect("release");

        // A row lock: an uncommitted insert of the same username.
        let insert = format!(
            "BEGIN; INSERT INTO {table} (username, issuer, algorithm, digits, period, secret, \
             created_at) VALUES ('john', 'i', 'SHA1', 6, 30, '\\x00', now())"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(insert))
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
    let err = outcome.expect_err("a held lock must stop the statement");
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
            ("id INTEGER PRIMARY KEY, note TEXT", "(1, 'x')"),
            ("version INTEGER PRIMARY KEY, checksum TEXT", "(1, 'x')"),
        ] {
            let fresh = server.new_schema();
            let schema = quote(&fresh.schema);
            let sql = format!(
                "CREATE SCHEMA {schema}; \
                 CREATE TABLE {schema}.totpstore_migrations ({columns}); \
                 INSERT INTO {schema}.totpstore_migrations VALUES {row}"
            );
            server
                .admin_execute(sql)
                .await
                .expect("plant the foreign table");

            let store = connect(fresh.options()).await.expect("connect");
            let version = store.schema_version().await;
            let prepared = prepare_schema(store.as_ref(), SchemaPolicy::InitialiseEmpty).await;
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
            assert_eq!(
                tables_in(server, &fresh.schema).await,
                ["totpstore_migrations"],
                "{columns}"
            );
            store.close().await;
            fresh.drop_now().await;
        }
    });
}

fn is_foreign_history(e: &StoreError) -> bool {
    matches!(e, StoreError::ForeignTable { table } if table == "totpstore_migrations")
}
