//! `storage user totp generate` end to end on MySQL/MariaDB and PostgreSQL: the real binary,
//! a fresh database (MySQL) or schema (PostgreSQL) per test, on the servers named by
//! `TOTPSTORE_TEST_MYSQL_URL` and `TOTPSTORE_TEST_POSTGRES_URL` (see `common/servers.rs`).
//!
//! What was stored is read back through an administrator connection and, for secrets, opened
//! through the library and compared with the secret printed in the URI, decoded here.

#![cfg(any(feature = "mysql", feature = "postgres"))]

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::servers::{blocking, loud};
use secrecy::{ExposeSecret, SecretString};
use totpstore::crypto::SealingKey;
use totpstore::storage::{SchemaPolicy, Storage};
use totpstore::BackendOptions;

const BIN: &str = env!("CARGO_BIN_EXE_totpstore");
const KEY: &str = "servers-e2e-encryption-key-0123456789";
const EXISTS: &str = "john already has a TOTP configuration, use --force to overwrite";

/// The outcome of one run of the binary.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success: status 0, one success line for `user`, an empty stderr; returns the
    /// URI.
    fn uri(&self, user: &str) -> String {
        assert_eq!(self.code, Some(0), "expected success: {self:#?}");
        assert_eq!(self.stderr, "", "{self:#?}");
        let prefix =
            format!("Successfully generated TOTP configuration for user '{user}' with URI '");
        let rest = self
            .stdout
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{self:#?}"));
        let uri = rest
            .strip_suffix("'\n")
            .unwrap_or_else(|| panic!("{self:#?}"));
        assert!(
            !uri.contains('\n') && uri.starts_with("otpauth://totp/"),
            "{self:#?}"
        );
        uri.to_owned()
    }

    /// Asserts the error form (status 1, empty stdout, one `Error: ` line); returns the message.
    fn error(&self) -> &str {
        assert_eq!(self.code, Some(1), "expected exit status 1: {self:#?}");
        assert_eq!(self.stdout, "", "{self:#?}");
        let line = self
            .stderr
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("{self:#?}"));
        assert!(!line.contains('\n'), "one line on stderr: {self:#?}");
        line.strip_prefix("Error: ")
            .unwrap_or_else(|| panic!("{self:#?}"))
    }
}

/// The binary with an environment holding only `PATH` and `env`.
fn command(args: &[String], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .args(args)
        .current_dir(std::env::temp_dir());
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.envs(env.iter().copied());
    command
}

fn generate_args(user: &str, flags: &[String], extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "storage",
        "user",
        "totp",
        "generate",
        user,
        "--encryption-key",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    args.push(KEY.into());
    args.extend(flags.iter().cloned());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn generate(user: &str, flags: &[String], extra: &[&str]) -> Run {
    Run::from(
        command(&generate_args(user, flags, extra), &[])
            .output()
            .expect("run totpstore"),
    )
}

fn spawn_generate(user: &str, flags: &[String]) -> Child {
    command(&generate_args(user, flags, &[]), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start totpstore")
}

/// RFC 4648 base32 (upper case, no padding), decoded here rather than by the crate.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in text.bytes() {
        let index = ALPHABET
            .iter()
            .position(|a| *a == c)
            .expect("a base32 character");
        value = (value << 5) | index as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
        }
    }
    out
}

/// The secret bytes of a printed URI.
fn uri_secret(uri: &str) -> Vec<u8> {
    let secret = uri.split("secret=").nth(1).expect("the URI holds a secret");
    base32_decode(secret.split('&').next().unwrap_or_default())
}

/// One backend location the binary is pointed at.
trait Target {
    /// The CLI flags selecting it.
    fn flags(&self) -> Vec<String>;
    /// The backend's options for the library.
    fn options(&self) -> BackendOptions;
    /// Registry name.
    fn backend(&self) -> &'static str;
    /// `(username, sealed secret)` of every row, read by an administrator connection.
    fn rows(&self) -> Vec<(String, Vec<u8>)>;
}

/// `user`'s plaintext secret, opened through the library with [`KEY`].
fn stored_secret(target: &dyn Target, user: &str) -> Vec<u8> {
    totpstore::backends::keep_linked();
    let options = target.options();
    let backend = target.backend();
    blocking(async move {
        let descriptor = totpstore::registry::backend(backend).expect("registered");
        let store = (descriptor.connect)(options).await.expect("connect");
        let key = SealingKey::derive(&SecretString::from(KEY)).expect("key");
        let storage = Storage::open(store, key, SchemaPolicy::InitialiseEmpty)
            .await
            .expect("open");
        let loaded = storage
            .load_totp(user)
            .await
            .expect("load")
            .expect("a stored row");
        storage.close().await;
        loaded.secret.expose_secret().clone()
    })
}

/// Create, refuse without --force, overwrite with --force, refuse a wrong key.
fn generate_create_refuse_overwrite(target: &dyn Target) {
    let flags = target.flags();
    let first = generate("john", &flags, &[]).uri("john");
    assert!(first.starts_with("otpauth://totp/Authelia:john?algorithm=SHA1&digits=6&issuer="));
    assert_eq!(stored_secret(target, "john"), uri_secret(&first));

    assert_eq!(generate("john", &flags, &[]).error(), EXISTS);
    assert_eq!(
        stored_secret(target, "john"),
        uri_secret(&first),
        "a refusal changes nothing"
    );

    let forced = generate("john", &flags, &["--force", "--digits", "8"]).uri("john");
    assert!(forced.contains("digits=8"), "{forced}");
    assert_ne!(uri_secret(&forced), uri_secret(&first));
    assert_eq!(stored_secret(target, "john"), uri_secret(&forced));
    let rows = target.rows();
    assert_eq!(rows.len(), 1, "--force leaves one row");

    let mut args = generate_args("mary", &flags, &[]);
    let key = args
        .iter()
        .position(|a| a == KEY)
        .expect("the key argument");
    args[key] = "another-encryption-key-9876543210".into();
    let run = Run::from(command(&args, &[]).output().expect("run"));
    assert!(
        run.error().starts_with("the encryption key does not match"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("another-encryption-key"), "{run:#?}");
    assert_eq!(target.rows(), rows, "a wrong key writes nothing");

    let case = generate("John", &flags, &[]).uri("John");
    assert_ne!(
        uri_secret(&case),
        uri_secret(&forced),
        "John and john are two users"
    );
    assert_eq!(target.rows().len(), 2);
}

/// How many times the concurrent first-use test runs, each time on a new database or schema:
/// a race between initialisation and the version check outside the migration lock shows
/// only now and then.
const CONCURRENT_ROUNDS: usize = 5;

/// 20 processes generate for one user of an uninitialised database at once: one wins, 19 say
/// the user exists (none that a table is foreign, or anything else), one row remains.
fn concurrent_generates(target: &dyn Target) {
    let flags = target.flags();
    let children: Vec<Child> = (0..20).map(|_| spawn_generate("john", &flags)).collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::from(c.wait_with_output().expect("wait")))
        .collect();
    let (winners, losers): (Vec<&Run>, Vec<&Run>) = runs.iter().partition(|r| r.code == Some(0));
    assert_eq!(winners.len(), 1, "exactly one winner: {runs:#?}");
    for loser in &losers {
        assert_eq!(loser.error(), EXISTS, "{loser:#?}");
    }
    let rows = target.rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        stored_secret(target, "john"),
        uri_secret(&winners[0].uri("john"))
    );
}

/// A closed port and a server that never answers both fail fast with exit status 1.
fn unreachable_servers(flags: &[String], backend: &str, timeout_var: &str) {
    let mut closed = flags.to_vec();
    let at = closed
        .iter()
        .position(|f| f.ends_with(".address"))
        .expect("an address flag")
        + 1;
    closed[at] = "tcp://127.0.0.1:1".into();
    let run = generate("john", &closed, &[]);
    let message = run.error();
    assert!(
        message.starts_with(&format!(
            "cannot connect to the {backend} database at tcp://127.0.0.1:1"
        )),
        "{run:#?}"
    );
    assert!(message.contains("refused"), "{run:#?}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut silent = flags.to_vec();
    silent[at] = format!("tcp://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let args = generate_args("john", &silent, &[]);
    let run = Run::from(
        command(&args, &[(timeout_var, "1s")])
            .output()
            .expect("run"),
    );
    assert!(
        run.error()
            .starts_with("timed out after 1.0 s connecting to the"),
        "{run:#?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[cfg(feature = "mysql")]
mod mysql {
    use common::servers::{mysql, FreshMySql};
    use sqlx::{AssertSqlSafe, Connection};

    use super::*;

    impl Target for FreshMySql {
        fn flags(&self) -> Vec<String> {
            FreshMySql::flags(self)
        }

        fn options(&self) -> BackendOptions {
            FreshMySql::options(self)
        }

        fn backend(&self) -> &'static str {
            "mysql"
        }

        fn rows(&self) -> Vec<(String, Vec<u8>)> {
            let sql = format!(
                "SELECT username, secret FROM `{}`.totp_configurations ORDER BY username",
                self.database
            );
            blocking(async {
                let mut conn = self.server.admin().await.expect("admin connection");
                let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(AssertSqlSafe(sql))
                    .fetch_all(&mut conn)
                    .await
                    .expect("read rows");
                conn.close().await.expect("close");
                rows.into_iter()
                    .map(|(name, secret)| (String::from_utf8(name).expect("UTF-8"), secret))
                    .collect()
            })
        }
    }

    #[test]
    fn generate_create_refuse_overwrite_and_wrong_key() {
        let Some(server) = mysql() else { return };
        super::generate_create_refuse_overwrite(&server.fresh());
    }

    #[test]
    fn twenty_concurrent_generates_leave_one_row() {
        let Some(server) = mysql() else { return };
        for _ in 0..CONCURRENT_ROUNDS {
            super::concurrent_generates(&server.fresh());
        }
    }

    #[test]
    fn unreachable_server_fails_fast() {
        let Some(server) = mysql() else { return };
        let fresh = server.fresh();
        super::unreachable_servers(&fresh.flags(), "mysql", "TOTPSTORE_STORAGE_MYSQL_TIMEOUT");
    }

    /// A wrong password, given as a flag or through a `_FILE` variable, is refused with the
    /// server's reason and never repeated.
    #[test]
    fn wrong_password_is_refused_without_echo() {
        let Some(server) = mysql() else { return };
        let fresh = server.fresh();
        let password = "wrong-password-5d1f0a";
        let mut flags = fresh.flags();
        if let Some(at) = flags.iter().position(|f| f == "--mysql.password") {
            flags.drain(at..at + 2);
        }
        let mut with_flag = flags.clone();
        with_flag.extend(["--mysql.password".into(), password.into()]);
        let run = generate("john", &with_flag, &[]);
        let message = run.error();
        assert!(
            message.starts_with("cannot connect to the mysql database at"),
            "{run:#?}"
        );
        assert!(message.contains("Access denied"), "{run:#?}");
        assert!(!run.stderr.contains(password), "{run:#?}");

        let file = std::env::temp_dir().join(common::servers::unique_name("pw"));
        std::fs::write(&file, format!("{password}\n")).expect("write the password file");
        let path = file.to_string_lossy().into_owned();
        let args = generate_args("john", &flags, &[]);
        let env = [("TOTPSTORE_STORAGE_MYSQL_PASSWORD_FILE", path.as_str())];
        let run = Run::from(command(&args, &env).output().expect("run"));
        let _ = std::fs::remove_file(&file);
        assert!(run.error().contains("Access denied"), "{run:#?}");
        assert!(!run.stderr.contains(password), "{run:#?}");
        assert!(fresh.rows_if_any().is_empty(), "nothing was written");
    }

    /// The server's unix socket works as an address.
    #[test]
    fn unix_socket_address() {
        let Some(server) = mysql() else { return };
        let socket: String = blocking(async {
            let mut conn = server.admin().await.expect("admin connection");
            let socket = sqlx::query_scalar("SELECT @@socket")
                .fetch_one(&mut conn)
                .await;
            conn.close().await.expect("close");
            socket.expect("@@socket")
        });
        if !std::path::Path::new(&socket).exists() {
            loud(&format!(
                "!!! MySQL unix socket test skipped: no {socket} on this machine"
            ));
            return;
        }
        let fresh = server.fresh();
        let mut flags = fresh.flags();
        let at = flags
            .iter()
            .position(|f| f == "--mysql.address")
            .expect("address")
            + 1;
        flags[at] = format!("unix://{socket}");
        generate("john", &flags, &[]).uri("john");
        assert_eq!(fresh.rows().len(), 1);
    }

    impl FreshMySql {
        /// The rows, or none when the table was never created.
        fn rows_if_any(&self) -> Vec<(String, Vec<u8>)> {
            let sql = format!(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{}'",
                self.database
            );
            let tables: i64 = blocking(async {
                let mut conn = self.server.admin().await.expect("admin connection");
                let n = sqlx::query_scalar(AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await;
                conn.close().await.expect("close");
                n.expect("count tables")
            });
            if tables == 0 {
                Vec::new()
            } else {
                self.rows()
            }
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use common::servers::{postgres, quote, unique_name, FreshPostgres};
    use sqlx::{AssertSqlSafe, Connection};

    use super::*;

    impl Target for FreshPostgres {
        fn flags(&self) -> Vec<String> {
            FreshPostgres::flags(self)
        }

        fn options(&self) -> BackendOptions {
            FreshPostgres::options(self)
        }

        fn backend(&self) -> &'static str {
            "postgres"
        }

        fn rows(&self) -> Vec<(String, Vec<u8>)> {
            let sql = format!(
                "SELECT username, secret FROM {}.totp_configurations ORDER BY username",
                quote(&self.schema)
            );
            blocking(async {
                let mut conn = self.server.admin().await.expect("admin connection");
                let rows = sqlx::query_as(AssertSqlSafe(sql))
                    .fetch_all(&mut conn)
                    .await;
                conn.close().await.expect("close");
                rows.expect("read rows")
            })
        }
    }

    #[test]
    fn generate_create_refuse_overwrite_and_wrong_key() {
        let Some(server) = postgres() else { return };
        super::generate_create_refuse_overwrite(&server.new_schema());
    }

    /// A schema name with capitals, a space and a quote: created and used verbatim.
    #[test]
    fn non_default_schema_with_an_odd_name() {
        let Some(server) = postgres() else { return };
        let fresh = server.schema_named(format!("Auth \"{}\"", unique_name("Store")));
        super::generate_create_refuse_overwrite(&fresh);
    }

    #[test]
    fn twenty_concurrent_generates_leave_one_row() {
        let Some(server) = postgres() else { return };
        for round in 0..CONCURRENT_ROUNDS {
            // A missing schema, then one that exists and is empty, in turn.
            let fresh = server.new_schema();
            if round % 2 == 1 {
                let sql = format!("CREATE SCHEMA {}", quote(&fresh.schema));
                blocking(server.admin_execute(sql)).expect("create the schema");
            }
            super::concurrent_generates(&fresh);
        }
    }

    #[test]
    fn unreachable_server_fails_fast() {
        let Some(server) = postgres() else { return };
        let fresh = server.new_schema();
        let var = "TOTPSTORE_STORAGE_POSTGRES_TIMEOUT";
        super::unreachable_servers(&fresh.flags(), "postgres", var);
    }

    /// A wrong password is refused with the server's reason and never repeated; a server that
    /// trusts every connection (as the local test server does) cannot show it.
    #[test]
    fn wrong_password_is_refused_without_echo() {
        let Some(server) = postgres() else { return };
        let role = blocking(server.role_with_password()).expect("create a role");
        let fresh = server.new_schema();
        let password = format!("{}-wrong", role.password);
        let mut flags = fresh.flags();
        if let Some(at) = flags.iter().position(|f| f == "--postgres.password") {
            flags.drain(at..at + 2);
        }
        let at = flags
            .iter()
            .position(|f| f == "--postgres.username")
            .expect("username")
            + 1;
        flags[at] = role.name.clone();
        flags.extend(["--postgres.password".into(), password.clone()]);
        // Asked of the library first: against a server that trusts everyone the CLI would go
        // on and fail later for want of privileges, which says nothing about passwords.
        let mut options = fresh.options();
        options.set("username", role.name.clone());
        options.set_secret("password", password.as_str().into());
        let trusted = blocking(async move {
            let descriptor = totpstore::registry::backend("postgres").expect("registered");
            match (descriptor.connect)(options).await {
                Ok(store) => {
                    store.close().await;
                    true
                }
                Err(_) => false,
            }
        });
        if trusted {
            loud("!!! PostgreSQL wrong-password CLI check skipped: the server trusts everyone");
            return;
        }
        let run = generate("john", &flags, &[]);
        let message = run.error();
        assert!(
            message.starts_with("cannot connect to the postgres database at"),
            "{run:#?}"
        );
        assert!(
            message.contains("password authentication failed"),
            "{run:#?}"
        );
        assert!(!run.stderr.contains(&password), "{run:#?}");
    }

    /// libpq's environment variables, which the driver reads, never send the connection
    /// elsewhere than the configured address: an IP address is kept whatever PGHOSTADDR,
    /// PGHOST and PGPORT say, and a host name that PGHOSTADDR would override is refused.
    #[test]
    fn pg_environment_variables_do_not_redirect_the_address() {
        let Some(server) = postgres() else { return };
        if server.url.host != "127.0.0.1" {
            loud("!!! PGHOSTADDR test skipped: it needs the server at 127.0.0.1");
            return;
        }
        let fresh = server.new_schema();
        let flags = fresh.flags();
        let args = generate_args("john", &flags, &[]);
        // Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1) or on port 1.
        let env = [
            ("PGHOSTADDR", "127.0.0.2"),
            ("PGHOST", "127.0.0.2"),
            ("PGPORT", "1"),
        ];
        let run = Run::from(command(&args, &env).output().expect("run"));
        run.uri("john");
        assert_eq!(fresh.rows().len(), 1);

        let mut named = flags.clone();
        let at = named
            .iter()
            .position(|f| f == "--postgres.address")
            .expect("address")
            + 1;
        named[at] = format!("tcp://localhost:{}", server.url.port);
        let args = generate_args("mary", &named, &[]);
        let run = Run::from(
            command(&args, &[("PGHOSTADDR", "127.0.0.1")])
                .output()
                .expect("run"),
        );
        let message = run.error();
        assert!(
            message.contains("PGHOSTADDR") && message.contains("'localhost'"),
            "{run:#?}"
        );
        assert_eq!(fresh.rows().len(), 1, "nothing was written");
    }

    /// The server's socket folder works as an address.
    #[test]
    fn unix_socket_address() {
        let Some(server) = postgres() else { return };
        let (folders, port): (String, String) = blocking(async {
            let mut conn = server.admin().await.expect("admin connection");
            let folders = sqlx::query_scalar("SHOW unix_socket_directories")
                .fetch_one(&mut conn)
                .await
                .expect("unix_socket_directories");
            let port = sqlx::query_scalar("SHOW port")
                .fetch_one(&mut conn)
                .await
                .expect("port");
            conn.close().await.expect("close");
            (folders, port)
        });
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
        let mut flags = fresh.flags();
        let at = flags
            .iter()
            .position(|f| f == "--postgres.address")
            .expect("address")
            + 1;
        // The folder form implies port 5432; the file form names the port.
        flags[at] = if port == "5432" {
            format!("unix://{folder}")
        } else {
            format!("unix://{file}")
        };
        generate("john", &flags, &[]).uri("john");
        assert_eq!(fresh.rows().len(), 1);
    }
}

#[test]
fn server_urls_parse() {
    use common::servers::ServerUrl;
    let url = ServerUrl::parse("mysql://root@127.0.0.1:3306/test", &["mysql"], 1).expect("url");
    assert_eq!(
        (url.host.as_str(), url.port, url.database.as_str()),
        ("127.0.0.1", 3306, "test")
    );
    assert_eq!(
        (url.username.as_str(), url.password.as_deref()),
        ("root", None)
    );
    let url =
        ServerUrl::parse("postgres://u:p%40ss@[::1]/db?x=y", &["postgres"], 5432).expect("url");
    assert_eq!(
        (url.host.as_str(), url.port, url.password.as_deref()),
        ("::1", 5432, Some("p@ss"))
    );
    assert_eq!(url.address(), "tcp://[::1]:5432");
    assert!(ServerUrl::parse("http://x/y", &["mysql"], 1).is_none());
    assert!(
        !format!("{url:?}").contains("p@ss"),
        "Debug hides the password"
    );
}

/// A folder holding one listening unix socket named `name`, and the listener.
fn socket_folder(name: &str) -> (tempfile::TempDir, std::os::unix::net::UnixListener) {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let listener =
        std::os::unix::net::UnixListener::bind(folder.path().join(name)).expect("bind a socket");
    (folder, listener)
}

/// `generate` with only `flags` selecting the backend, and what it printed.
fn generate_at(flags: &[&str]) -> Run {
    let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
    generate("john", &flags, &[])
}

/// A unix socket address naming a folder, a missing file or a file that is no socket says
/// which, and what to give instead.
#[cfg(feature = "mysql")]
#[test]
fn mysql_unix_addresses_that_name_no_socket_say_why() {
    let (folder, _listener) = socket_folder("mysqld.sock");
    let shown = folder.path().display().to_string();

    let run = generate_at(&["--mysql.address", &format!("unix://{shown}")]);
    let message = run.error();
    assert!(
        message.contains(&format!("'{shown}' is a folder")),
        "{run:#?}"
    );
    assert!(
        message.contains(&format!("unix://{shown}/mysqld.sock")),
        "{run:#?}"
    );

    let empty = tempfile::tempdir().expect("a temporary folder");
    let run = generate_at(&[
        "--mysql.address",
        &format!("unix://{}", empty.path().display()),
    ]);
    let message = run.error();
    assert!(message.contains("is a folder"), "{run:#?}");
    assert!(message.contains("socket file"), "{run:#?}");

    let absent = format!("{shown}/absent.sock");
    let run = generate_at(&["--mysql.address", &format!("unix://{absent}")]);
    assert!(
        run.error()
            .contains(&format!("there is no socket at '{absent}'")),
        "{run:#?}"
    );

    let plain = format!("{shown}/plain.txt");
    std::fs::write(&plain, "").expect("write a file");
    let run = generate_at(&["--mysql.address", &format!("unix://{plain}")]);
    assert!(
        run.error().contains(&format!("'{plain}' is not a socket")),
        "{run:#?}"
    );
}

/// A PostgreSQL socket folder without the socket of the port says which file was looked for,
/// and names the sockets the folder does hold.
#[cfg(feature = "postgres")]
#[test]
fn postgres_unix_addresses_that_name_no_socket_say_why() {
    let (folder, _listener) = socket_folder(".s.PGSQL.5433");
    let shown = folder.path().display().to_string();

    let run = generate_at(&["--postgres.address", &format!("unix://{shown}")]);
    let message = run.error();
    assert!(
        message.contains(&format!("there is no socket '{shown}/.s.PGSQL.5432'")),
        "{run:#?}"
    );
    assert!(
        message.contains(&format!("unix://{shown}/.s.PGSQL.5433")),
        "{run:#?}"
    );

    let empty = tempfile::tempdir().expect("a temporary folder");
    let empty = empty.path().display().to_string();
    let run = generate_at(&["--postgres.address", &format!("unix://{empty}")]);
    assert!(
        run.error()
            .contains(&format!("there is no socket '{empty}/.s.PGSQL.5432'")),
        "{run:#?}"
    );

    let absent = format!("{shown}/absent");
    let run = generate_at(&["--postgres.address", &format!("unix://{absent}")]);
    assert!(
        run.error()
            .contains(&format!("the socket folder '{absent}' does not exist")),
        "{run:#?}"
    );
}
