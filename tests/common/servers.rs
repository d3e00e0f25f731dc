//! The MySQL/MariaDB and PostgreSQL servers the integration tests run against, named by
//! `TOTPSTORE_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306/test`) and
//! `TOTPSTORE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`).
//!
//! [`mysql()`] and [`postgres()`] decide once per test binary whether the server can be used.
//! Without the variable, or with a server that does not answer, they print one line on stderr
//! saying the run is skipped and how to enable it, and return `None`; when `CI` is set they
//! panic instead, so that CI never passes by skipping.
//!
//! Each test gets its own MySQL database (`totpstore_t_<unique>`) or PostgreSQL schema, made
//! by [`MySqlServer::fresh`] / [`PostgresServer::new_schema`] (or their async forms) and dropped
//! when the returned value is dropped, also when the test panics.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Errors of set-up work.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How long the first contact with a server may take before it counts as unreachable.
const REACH_TIMEOUT: Duration = Duration::from_secs(10);

/// A server URL, split into the parts the backends' options take.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// Host name or IP address, IPv6 without brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub username: String,
    /// Password, if the URL has one.
    pub password: Option<String>,
    /// The database the URL names (the PostgreSQL schemas are made in it).
    pub database: String,
}

// The password stays out of test output.
impl std::fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{}:{}/{}",
            self.username, self.host, self.port, self.database
        )
    }
}

impl ServerUrl {
    /// Parses `scheme://[user[:password]@]host[:port][/database][?...]`; `None` on anything
    /// else. User and password may be percent-encoded.
    pub fn parse(raw: &str, scheme: &[&str], default_port: u16) -> Option<Self> {
        let (given, rest) = raw.trim().split_once("://")?;
        if !scheme.contains(&given) {
            return None;
        }
        let rest = rest.split(['?', '#']).next()?;
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (decode(user)?, Some(decode(password)?)),
                None => (decode(info)?, None),
            },
            None => ("root".to_owned(), None),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        let port = match port {
            Some(port) => port.parse().ok()?,
            None => default_port,
        };
        let database = decode(database)?;
        (!host.is_empty()).then(|| Self {
            host: host.to_owned(),
            port,
            username,
            password,
            database,
        })
    }

    /// The `address` option: `tcp://host:port`.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("tcp://[{}]:{}", self.host, self.port)
        } else {
            format!("tcp://{}:{}", self.host, self.port)
        }
    }
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether the run is CI, where a skip is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Writes a line to the process's real stderr: libtest captures `eprintln!` of passing tests,
/// and a skip must be seen.
pub fn loud(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The server named by `var`, checked once with `reach`; `None` (after one loud line) when it
/// cannot be used, a panic instead under CI.
fn decide<T, R>(
    var: &str,
    what: &str,
    example: &str,
    default_port: u16,
    schemes: &[&str],
    reach: R,
) -> Option<T>
where
    R: FnOnce(ServerUrl) -> Result<T, BoxError>,
{
    let set = format!("set {var} (e.g. {var}={example}) to run them");
    let (problem, enable) = match std::env::var(var) {
        Err(_) => (format!("{var} is not set"), set),
        Ok(raw) => match ServerUrl::parse(&raw, schemes, default_port) {
            None => (format!("{var} is not a URL of the form {example}"), set),
            Some(url) => {
                let shown = format!("{url:?}");
                match reach(url) {
                    Ok(server) => return Some(server),
                    Err(e) => (
                        format!("the {what} server at {shown} cannot be used: {e}"),
                        format!("start it, or point {var} at one that runs"),
                    ),
                }
            }
        },
    };
    if in_ci() {
        panic!("CI is set, so the {what} tests must run, but {problem}; {enable}");
    }
    loud(&format!(
        "!!! SKIPPED: the {what} tests of this binary did not run: {problem}; {enable}"
    ));
    None
}

/// A name no other test or run uses: `<prefix>_<pid>_<counter>_<nanos>`, of `[a-z0-9_]`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// Runs `future` to completion on a thread of its own with its own runtime, so that it also
/// works inside an async test and in `Drop`.
pub fn blocking<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("start a runtime")
                    .block_on(future)
            })
            .join()
            .expect("the blocking task panicked")
    })
}

#[cfg(feature = "mysql")]
#[allow(unused_imports)]
pub use self::mysql_server::*;

#[cfg(feature = "mysql")]
mod mysql_server {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;

    use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
    use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
    use totpstore::BackendOptions;

    use super::{blocking, decide, unique_name, BoxError, ServerUrl, REACH_TIMEOUT};

    /// The environment variable naming the MySQL/MariaDB server.
    pub const MYSQL_URL_VAR: &str = "TOTPSTORE_TEST_MYSQL_URL";

    /// A MySQL or MariaDB server whose user may create and drop databases.
    #[derive(Debug)]
    pub struct MySqlServer {
        /// Where it is and who to log in as.
        pub url: ServerUrl,
    }

    /// The server, or `None` (after saying so) when the tests must skip.
    pub fn mysql() -> Option<&'static MySqlServer> {
        static SERVER: OnceLock<Option<MySqlServer>> = OnceLock::new();
        SERVER
            .get_or_init(|| {
                let example = "mysql://root@127.0.0.1:3306/test";
                decide(
                    MYSQL_URL_VAR,
                    "MySQL/MariaDB",
                    example,
                    3306,
                    &["mysql", "mariadb"],
                    |url| {
                        let server = MySqlServer { url };
                        blocking(async {
                            let mut conn = server.admin().await?;
                            sqlx::query("SELECT 1").execute(&mut conn).await?;
                            conn.close().await?;
                            Ok::<_, BoxError>(())
                        })?;
                        Ok(server)
                    },
                )
            })
            .as_ref()
    }

    impl MySqlServer {
        /// A connection as the URL's user to the URL's database.
        pub async fn admin(&self) -> Result<MySqlConnection, BoxError> {
            let mut options = MySqlConnectOptions::new()
                .host(&self.url.host)
                .port(self.url.port)
                .username(&self.url.username);
            if let Some(password) = &self.url.password {
                options = options.password(password);
            }
            if !self.url.database.is_empty() {
                options = options.database(&self.url.database);
            }
            Ok(tokio::time::timeout(REACH_TIMEOUT, options.connect()).await??)
        }

        /// Runs one statement built from names this module made (of `[a-z0-9_]`).
        async fn admin_execute(&self, sql: String) -> Result<(), BoxError> {
            let mut conn = self.admin().await?;
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
            conn.close().await?;
            Ok(())
        }

        /// Creates a new empty database in the server's default-like collation
        /// (`utf8mb4_general_ci`: case-insensitive and PAD SPACE, the hard case).
        pub async fn create_database(&'static self) -> Result<FreshMySql, BoxError> {
            let name = unique_name("totpstore_t");
            self.admin_execute(format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            ))
            .await?;
            Ok(FreshMySql {
                server: self,
                database: name,
                dropped: AtomicBool::new(false),
            })
        }

        /// [`Self::create_database`] for synchronous tests.
        pub fn fresh(&'static self) -> FreshMySql {
            blocking(self.create_database()).expect("create a MySQL test database")
        }

        /// The backend's options for `database`.
        pub fn options(&self, database: &str) -> BackendOptions {
            let mut options = BackendOptions::new("mysql");
            options.set("address", self.url.address());
            options.set("database", database);
            options.set("username", self.url.username.clone());
            if let Some(password) = &self.url.password {
                options.set_secret("password", password.as_str().into());
            }
            options
        }

        /// The CLI flags selecting `database`.
        pub fn flags(&self, database: &str) -> Vec<String> {
            let mut flags = vec![
                "--mysql.address".into(),
                self.url.address(),
                "--mysql.database".into(),
                database.into(),
                "--mysql.username".into(),
                self.url.username.clone(),
            ];
            if let Some(password) = &self.url.password {
                flags.extend(["--mysql.password".into(), password.clone()]);
            }
            flags
        }
    }

    /// A database made for one test, dropped on [`FreshMySql::drop_now`] or drop.
    #[derive(Debug)]
    pub struct FreshMySql {
        /// The server it lives on.
        pub server: &'static MySqlServer,
        /// Its name.
        pub database: String,
        dropped: AtomicBool,
    }

    impl FreshMySql {
        /// The CLI flags selecting this database.
        pub fn flags(&self) -> Vec<String> {
            self.server.flags(&self.database)
        }

        /// The backend's options for this database.
        pub fn options(&self) -> BackendOptions {
            self.server.options(&self.database)
        }

        /// Drops the database; failures are ignored.
        pub async fn drop_now(&self) {
            if !self.dropped.swap(true, Ordering::SeqCst) {
                let sql = format!("DROP DATABASE IF EXISTS `{}`", self.database);
                let _ = self.server.admin_execute(sql).await;
            }
        }
    }

    impl Drop for FreshMySql {
        fn drop(&mut self) {
            if !self.dropped.load(Ordering::SeqCst) {
                blocking(self.drop_now());
            }
        }
    }
}

#[cfg(feature = "postgres")]
#[allow(unused_imports)]
pub use self::postgres_server::*;

#[cfg(feature = "postgres")]
mod postgres_server {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;

    use sqlx::postgres::{PgConnectOptions, PgConnection};
    use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
    use totpstore::BackendOptions;

    use super::{blocking, decide, unique_name, BoxError, ServerUrl, REACH_TIMEOUT};

    /// The environment variable naming the PostgreSQL server.
    pub const POSTGRES_URL_VAR: &str = "TOTPSTORE_TEST_POSTGRES_URL";

    /// A PostgreSQL server whose user may create and drop schemas in the URL's database.
    #[derive(Debug)]
    pub struct PostgresServer {
        /// Where it is and who to log in as.
        pub url: ServerUrl,
    }

    /// The server, or `None` (after saying so) when the tests must skip.
    pub fn postgres() -> Option<&'static PostgresServer> {
        static SERVER: OnceLock<Option<PostgresServer>> = OnceLock::new();
        SERVER
            .get_or_init(|| {
                let example = "postgres://postgres@127.0.0.1:5432/test";
                let schemes = ["postgres", "postgresql"];
                decide(
                    POSTGRES_URL_VAR,
                    "PostgreSQL",
                    example,
                    5432,
                    &schemes,
                    |url| {
                        let server = PostgresServer { url };
                        blocking(async {
                            let mut conn = server.admin().await?;
                            sqlx::query("SELECT 1").execute(&mut conn).await?;
                            conn.close().await?;
                            Ok::<_, BoxError>(())
                        })?;
                        Ok(server)
                    },
                )
            })
            .as_ref()
    }

    /// `"name"` with inner quotes doubled.
    pub fn quote(name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    impl PostgresServer {
        /// A connection as the URL's user to the URL's database.
        pub async fn admin(&self) -> Result<PgConnection, BoxError> {
            let mut options = PgConnectOptions::new_without_pgpass()
                .host(&self.url.host)
                .port(self.url.port)
                .username(&self.url.username)
                .database(&self.url.database);
            if let Some(password) = &self.url.password {
                options = options.password(password);
            }
            Ok(tokio::time::timeout(REACH_TIMEOUT, options.connect()).await??)
        }

        /// Runs statements built from quoted identifiers.
        pub async fn admin_execute(&self, sql: String) -> Result<(), BoxError> {
            let mut conn = self.admin().await?;
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
            conn.close().await?;
            Ok(())
        }

        /// A new schema name (not created: the store creates it on first use).
        pub fn new_schema(&'static self) -> FreshPostgres {
            self.schema_named(unique_name("totpstore_t"))
        }

        /// A schema of the given name, dropped with the returned value.
        pub fn schema_named(&'static self, schema: String) -> FreshPostgres {
            FreshPostgres {
                server: self,
                schema,
                dropped: AtomicBool::new(false),
            }
        }

        /// A new login role with a password, for the wrong-password tests (the URL's user may
        /// be trusted without one); dropped with the returned value.
        pub async fn role_with_password(&'static self) -> Result<FreshRole, BoxError> {
            let name = unique_name("totpstore_t");
            let password = unique_name("pw");
            // Both are of [a-z0-9_], so they need no escaping.
            let sql = format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'");
            self.admin_execute(sql).await?;
            Ok(FreshRole {
                server: self,
                name,
                password,
                dropped: AtomicBool::new(false),
            })
        }

        /// The backend's options for `schema`.
        pub fn options(&self, schema: &str) -> BackendOptions {
            let mut options = BackendOptions::new("postgres");
            options.set("address", self.url.address());
            options.set("database", self.url.database.clone());
            options.set("schema", schema);
            options.set("username", self.url.username.clone());
            if let Some(password) = &self.url.password {
                options.set_secret("password", password.as_str().into());
            }
            options
        }

        /// The CLI flags selecting `schema`.
        pub fn flags(&self, schema: &str) -> Vec<String> {
            let mut flags = vec![
                "--postgres.address".into(),
                self.url.address(),
                "--postgres.database".into(),
                self.url.database.clone(),
                "--postgres.schema".into(),
                schema.into(),
                "--postgres.username".into(),
                self.url.username.clone(),
            ];
            if let Some(password) = &self.url.password {
                flags.extend(["--postgres.password".into(), password.clone()]);
            }
            flags
        }
    }

    /// A schema made for one test, dropped (with everything in it) on
    /// [`FreshPostgres::drop_now`] or drop.
    #[derive(Debug)]
    pub struct FreshPostgres {
        /// The server it lives on.
        pub server: &'static PostgresServer,
        /// Its name.
        pub schema: String,
        dropped: AtomicBool,
    }

    impl FreshPostgres {
        /// The CLI flags selecting this schema.
        pub fn flags(&self) -> Vec<String> {
            self.server.flags(&self.schema)
        }

        /// The backend's options for this schema.
        pub fn options(&self) -> BackendOptions {
            self.server.options(&self.schema)
        }

        /// Drops the schema and everything in it; failures are ignored.
        pub async fn drop_now(&self) {
            if !self.dropped.swap(true, Ordering::SeqCst) {
                let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", quote(&self.schema));
                let _ = self.server.admin_execute(sql).await;
            }
        }
    }

    /// A role made for one test, dropped on [`FreshRole::drop_now`] or drop.
    #[derive(Debug)]
    pub struct FreshRole {
        /// The server it lives on.
        pub server: &'static PostgresServer,
        /// Its name.
        pub name: String,
        /// Its password.
        pub password: String,
        dropped: AtomicBool,
    }

    impl FreshRole {
        /// Drops the role; failures are ignored.
        pub async fn drop_now(&self) {
            if !self.dropped.swap(true, Ordering::SeqCst) {
                let sql = format!("DROP ROLE IF EXISTS {}", self.name);
                let _ = self.server.admin_execute(sql).await;
            }
        }
    }

    impl Drop for FreshRole {
        fn drop(&mut self) {
            if !self.dropped.load(Ordering::SeqCst) {
                blocking(self.drop_now());
            }
        }
    }

    impl Drop for FreshPostgres {
        fn drop(&mut self) {
            if !self.dropped.load(Ordering::SeqCst) {
                blocking(self.drop_now());
            }
        }
    }
}
