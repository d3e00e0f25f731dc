//! The options the PostgreSQL backend owns (`--postgres.*`, `storage.postgres.*`), and their
//! checked form.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;

use crate::backends::address::{self, Address};
use crate::registry::{BackendOptions, OptionSpec};
use crate::store::{StoreError, DEFAULT_LOCK_TIMEOUT, LOCK_TIMEOUT_OPTION};

use super::NAME;

/// Configuration section, named as in Authelia's configuration file.
pub const SECTION: &str = "postgres";

/// Port used when the address names none.
pub const DEFAULT_PORT: u16 = 5432;

/// Connect timeout when `timeout` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The options of this backend.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "address",
        "the PostgreSQL server address: tcp://host:port, host:port, host or \
               unix:///path/to/socket-folder-or-file",
    )
    .with_default("tcp://127.0.0.1:5432"),
    OptionSpec::new("database", "the PostgreSQL database (it must exist)").with_default("authelia"),
    OptionSpec::new(
        "schema",
        "the schema that holds the tables (created on first use if missing)",
    )
    .with_default("public"),
    OptionSpec::new("username", "the PostgreSQL user name").with_default("authelia"),
    OptionSpec::new("password", "the PostgreSQL password").as_secret(),
    OptionSpec::new("timeout", "how long to wait for the server when connecting")
        .with_value_name("duration")
        .with_default("5s")
        .config_only(),
];

/// An option's value, else its declared default (a library caller may leave it unset); an
/// empty value is refused.
fn value<'a>(options: &'a BackendOptions, key: &'static str) -> Result<&'a str, StoreError> {
    let default = OPTIONS
        .iter()
        .find(|o| o.key == key)
        .and_then(|o| o.default);
    match (options.get(key), default) {
        (None, Some(default)) => Ok(default),
        _ => options.require(key),
    }
}

/// PostgreSQL's longest identifier (database, schema) in bytes; it silently truncates longer
/// ones, which would put the tables somewhere other than named.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The checked options. `Debug` shows whether a password is set, never the password.
pub(super) struct Settings {
    pub(super) address: Address,
    pub(super) database: String,
    pub(super) schema: String,
    pub(super) username: String,
    pub(super) password: Option<SecretString>,
    pub(super) timeout: Duration,
    /// How long a statement waits for another session's lock.
    pub(super) lock_timeout: Duration,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("address", &self.address.to_string())
            .field("database", &self.database)
            .field("schema", &self.schema)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("lock_timeout", &self.lock_timeout)
            .finish()
    }
}

impl Settings {
    /// Checks the options; every problem is an `InvalidOption` naming the option.
    pub(super) fn from_options(options: &BackendOptions) -> Result<Self, StoreError> {
        let invalid = |option, reason: String| StoreError::InvalidOption {
            backend: NAME,
            option,
            reason,
        };
        let address = value(options, "address")?;
        let address = address::parse(address, DEFAULT_PORT).map_err(|r| invalid("address", r))?;
        refuse_hostaddr_override(&address).map_err(|r| invalid("address", r))?;
        let identifier = |option: &'static str| -> Result<String, StoreError> {
            let name = value(options, option)?;
            if name.len() > MAX_IDENTIFIER_BYTES || name.chars().any(char::is_control) {
                return Err(invalid(
                    option,
                    format!(
                        "a PostgreSQL name has at most {MAX_IDENTIFIER_BYTES} bytes and no \
                         control characters"
                    ),
                ));
            }
            Ok(name.to_owned())
        };
        let database = identifier("database")?;
        let schema = identifier("schema")?;
        let username = value(options, "username")?.to_owned();
        if username.chars().any(char::is_control) {
            return Err(invalid("username", "it holds control characters".into()));
        }
        let timeout = options.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
        let lock_timeout = options
            .duration(LOCK_TIMEOUT_OPTION)?
            .unwrap_or(DEFAULT_LOCK_TIMEOUT);
        Ok(Self {
            address,
            database,
            schema,
            username,
            password: options.secret("password").cloned(),
            timeout,
            lock_timeout,
        })
    }

    /// The schema as a quoted identifier: used as given, so `Auth` is not `auth`.
    pub(super) fn quoted_schema(&self) -> String {
        quote_identifier(&self.schema)
    }

    /// The driver's options. They hold the password, and the driver's `Debug` prints it: never
    /// log or format them.
    ///
    /// The driver starts from libpq's environment variables and cannot be told to ignore
    /// them, so every field the configuration decides is set here over them: `PGHOST`,
    /// `PGPORT`, `PGUSER`, `PGDATABASE` and `PGAPPNAME` have no effect, and `PGHOSTADDR` is
    /// replaced by the address's own IP (a host name that it would override is refused in
    /// [`Settings::from_options`]). `PGSSLMODE`, `PGOPTIONS` (before our own options, which
    /// win) and, when no password is configured, `PGPASSWORD` still apply; `~/.pgpass` is not
    /// read.
    pub(super) fn connect_options(&self) -> PgConnectOptions {
        let mut options = PgConnectOptions::new_without_pgpass()
            .username(&self.username)
            .database(&self.database)
            .application_name("totpstore")
            // Every connection resolves unqualified table names in the configured schema only
            // (pg_catalog is always searched first); the driver escapes spaces and backslashes.
            // A lock wait, unbounded by default, gives up after `lock_timeout`. These follow
            // any PGOPTIONS, so they win over it.
            .options([
                ("search_path", self.quoted_schema()),
                (
                    "lock_timeout",
                    format!("{}ms", self.lock_timeout.as_millis().max(1)),
                ),
            ]);
        options = match &self.address {
            Address::Tcp { host, port } => {
                let options = options.host(host).port(*port);
                match host.parse::<IpAddr>() {
                    Ok(ip) => options.hostaddr(ip),
                    Err(_) => options,
                }
            }
            // The driver ignores PGHOSTADDR for a socket.
            Address::Unix(path) => {
                let (folder, port) = socket_folder_and_port(path);
                options.socket(folder).port(port)
            }
        };
        if let Some(password) = &self.password {
            options = options.password(password.expose_secret());
        }
        options
    }
}

/// Refuses a host name when `PGHOSTADDR` is set: the driver would connect to that address
/// instead, and only an IP address can be pinned over it.
fn refuse_hostaddr_override(address: &Address) -> Result<(), String> {
    let Address::Tcp { host, .. } = address else {
        return Ok(());
    };
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    // The driver ignores a value that is not an IP address, and so does this check.
    match std::env::var("PGHOSTADDR")
        .ok()
        .map(|v| v.parse::<IpAddr>())
    {
        Some(Ok(ip)) => Err(format!(
            "the environment variable PGHOSTADDR ({ip}) would replace the address of the host \
             '{host}'; unset PGHOSTADDR, or give the server's IP address instead of its name"
        )),
        _ => Ok(()),
    }
}

/// `"name"` with inner quotes doubled: safe to place in SQL text as an identifier.
pub(super) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// PostgreSQL's socket file is `<folder>/.s.PGSQL.<port>`: an address naming the file gives
/// both; one naming a folder uses the default port.
pub(super) fn socket_folder_and_port(path: &Path) -> (PathBuf, u16) {
    let port = path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_prefix(".s.PGSQL."))
        .and_then(|port| port.parse::<u16>().ok());
    match (port, path.parent()) {
        (Some(port), Some(folder)) => (folder.to_path_buf(), port),
        _ => (path.to_path_buf(), DEFAULT_PORT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&'static str, &str)]) -> BackendOptions {
        let mut options = BackendOptions::new(NAME);
        for (key, value) in pairs {
            options.set(key, *value);
        }
        options
    }

    #[test]
    fn defaults_and_parsing() {
        let mut raw = options(&[]);
        raw.set_secret("password", SecretString::from("hunter2-hunter2"));
        let settings = Settings::from_options(&raw).unwrap();
        assert_eq!(
            settings.address,
            Address::Tcp {
                host: "127.0.0.1".into(),
                port: 5432
            }
        );
        assert_eq!(
            (settings.database.as_str(), settings.schema.as_str()),
            ("authelia", "public")
        );
        assert_eq!(settings.timeout, DEFAULT_TIMEOUT);
        assert_eq!(settings.lock_timeout, DEFAULT_LOCK_TIMEOUT);
        let shown = format!("{settings:?}");
        assert!(
            shown.contains("<set>") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn bad_options_name_the_option() {
        let raw = options(&[("address", "db:99999")]);
        let err = Settings::from_options(&raw).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid postgres option 'address'"),
            "{err}"
        );

        let raw = options(&[("schema", "")]);
        let err = Settings::from_options(&raw).unwrap_err().to_string();
        assert!(err.contains("'schema'"), "{err}");

        let long = "s".repeat(64);
        let raw = options(&[("schema", long.as_str())]);
        let err = Settings::from_options(&raw).unwrap_err().to_string();
        assert!(
            err.contains("'schema'") && err.contains("63 bytes"),
            "{err}"
        );

        let raw = options(&[("timeout", "soon")]);
        let err = Settings::from_options(&raw).unwrap_err().to_string();
        assert!(err.contains("'timeout'"), "{err}");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("public"), "\"public\"");
        assert_eq!(quote_identifier("a\"; DROP"), "\"a\"\"; DROP\"");
    }

    #[test]
    fn socket_addresses_name_a_folder_or_the_file() {
        assert_eq!(
            socket_folder_and_port(Path::new("/var/run/postgresql")),
            ("/var/run/postgresql".into(), 5432)
        );
        assert_eq!(
            socket_folder_and_port(Path::new("/tmp/.s.PGSQL.5433")),
            ("/tmp".into(), 5433)
        );
    }
}
