//! The options the MySQL/MariaDB backend owns (`--mysql.*`, `storage.mysql.*`), and their
//! checked form.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::mysql::MySqlConnectOptions;

use crate::backends::address::{self, Address};
use crate::registry::{BackendOptions, OptionSpec};
use crate::store::{StoreError, DEFAULT_LOCK_TIMEOUT, LOCK_TIMEOUT_OPTION};

use super::NAME;

/// Configuration section, named as in Authelia's configuration file.
pub const SECTION: &str = "mysql";

/// Port used when the address names none.
pub const DEFAULT_PORT: u16 = 3306;

/// Connect timeout when `timeout` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The options of this backend.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "address",
        "the MySQL/MariaDB server address: tcp://host:port, host:port, host or \
               unix:///path/to/socket",
    )
    .with_default("tcp://127.0.0.1:3306"),
    OptionSpec::new(
        "database",
        "the MySQL/MariaDB database (it must exist; the tables are created on first use)",
    )
    .with_default("authelia"),
    OptionSpec::new("username", "the MySQL/MariaDB user name").with_default("authelia"),
    OptionSpec::new("password", "the MySQL/MariaDB password").as_secret(),
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

/// The checked options. `Debug` shows whether a password is set, never the password.
pub(super) struct Settings {
    pub(super) address: Address,
    pub(super) database: String,
    pub(super) username: String,
    pub(super) password: Option<SecretString>,
    pub(super) timeout: Duration,
    /// How long a statement waits for another session's lock, in whole seconds as the server
    /// takes it (at least 1).
    pub(super) lock_wait_seconds: u64,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("address", &self.address.to_string())
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("lock_wait_seconds", &self.lock_wait_seconds)
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
        let database = value(options, "database")?.to_owned();
        // 64 characters is MySQL's and MariaDB's limit for a database name.
        if database.chars().count() > 64 || database.chars().any(char::is_control) {
            return Err(invalid(
                "database",
                "a database name has at most 64 characters and no control characters".into(),
            ));
        }
        let username = value(options, "username")?.to_owned();
        if username.chars().any(char::is_control) {
            return Err(invalid("username", "it holds control characters".into()));
        }
        let timeout = options.duration("timeout")?.unwrap_or(DEFAULT_TIMEOUT);
        let lock_timeout = options
            .duration(LOCK_TIMEOUT_OPTION)?
            .unwrap_or(DEFAULT_LOCK_TIMEOUT);
        let lock_wait_seconds = lock_timeout.as_secs_f64().ceil().max(1.0) as u64;
        Ok(Self {
            address,
            database,
            username,
            password: options.secret("password").cloned(),
            timeout,
            lock_wait_seconds,
        })
    }

    /// The driver's options. They hold the password, and the driver's `Debug` prints it: never
    /// log or format them.
    pub(super) fn connect_options(&self) -> MySqlConnectOptions {
        let mut options = MySqlConnectOptions::new()
            .username(&self.username)
            .database(&self.database)
            .charset("utf8mb4");
        options = match &self.address {
            Address::Tcp { host, port } => options.host(host).port(*port),
            Address::Unix(path) => options.socket(path),
        };
        if let Some(password) = &self.password {
            options = options.password(password.expose_secret());
        }
        options
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
        let mut raw = options(&[("database", "authelia"), ("username", "authelia")]);
        raw.set_secret("password", SecretString::from("hunter2-hunter2"));
        let settings = Settings::from_options(&raw).unwrap();
        assert_eq!(
            settings.address,
            Address::Tcp {
                host: "127.0.0.1".into(),
                port: 3306
            }
        );
        assert_eq!(settings.timeout, DEFAULT_TIMEOUT);
        assert_eq!(settings.lock_wait_seconds, DEFAULT_LOCK_TIMEOUT.as_secs());
        let shown = format!("{settings:?}");
        assert!(
            shown.contains("<set>") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn bad_options_name_the_option() {
        let raw = options(&[
            ("address", "db:99999"),
            ("database", "a"),
            ("username", "u"),
        ]);
        let err = Settings::from_options(&raw).unwrap_err().to_string();
        assert!(err.starts_with("invalid mysql option 'address'"), "{err}");

        let raw = options(&[("address", "db"), ("database", ""), ("username", "u")]);
        let err = Settings::from_options(&raw).unwrap_err().to_string();
        assert!(err.contains("'database'"), "{err}");

        let raw = options(&[("database", "d"), ("username", "u"), ("timeout", "soon")]);
        let err = Settings::from_options(&raw).unwrap_err().to_string();
        assert!(err.contains("'timeout'"), "{err}");
    }
}
