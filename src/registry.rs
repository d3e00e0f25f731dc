//! The backend registry: every backend submits a [`BackendDescriptor`] with
//! [`inventory::submit!`], and the CLI builds its flags, configuration sections and backend
//! choice from whatever is registered. The core never names a backend.
//!
//! A backend in another crate registers the same way; it only has to be linked into the binary
//! (see `examples/custom-backend`).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use secrecy::SecretString;

use crate::store::{StoreError, TotpStore};

/// What a backend's constructor returns.
pub type ConnectFuture =
    Pin<Box<dyn Future<Output = Result<Box<dyn TotpStore>, StoreError>> + Send + 'static>>;

/// One option a backend owns.
///
/// It appears as the flag `--<flag_prefix>.<key>` (when `flag` is set), the configuration key
/// `storage.<section>.<key>`, and the environment variable `TOTPSTORE_STORAGE_<SECTION>_<KEY>`.
///
/// Build one with [`OptionSpec::new`] and its `const` modifiers; the type is
/// `#[non_exhaustive]` so that new settings can be added without breaking backend crates.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct OptionSpec {
    /// Key inside the backend's configuration section, e.g. `path`.
    pub key: &'static str,
    /// One line of help text.
    pub help: &'static str,
    /// Placeholder shown in `--help`, e.g. `string`.
    pub value_name: &'static str,
    /// Value used when nothing sets the option. A default never selects the backend.
    pub default: Option<&'static str>,
    /// A secret (password): kept in a `SecretString`, never echoed, also read from `_FILE`.
    pub secret: bool,
    /// Whether the option also has a command-line flag (some are configuration-only).
    pub flag: bool,
}

/// A registered backend.
///
/// Build one with [`BackendDescriptor::new`] inside `inventory::submit!`; the type is
/// `#[non_exhaustive]` so that new fields can be added without breaking backend crates.
#[non_exhaustive]
pub struct BackendDescriptor {
    /// Registry name, e.g. `sqlite`.
    pub name: &'static str,
    /// Configuration section under `storage`, e.g. `local` for `storage.local.path`.
    pub section: &'static str,
    /// Prefix of its flags, e.g. `sqlite` for `--sqlite.path`.
    pub flag_prefix: &'static str,
    /// One line shown by `storage backends` and in errors.
    pub summary: &'static str,
    /// The options it owns.
    pub options: &'static [OptionSpec],
    /// Opens a store from resolved options. It connects (bounded by the backend's timeout) but
    /// must not create or migrate the schema; the core decides that.
    pub connect: fn(BackendOptions) -> ConnectFuture,
}

impl fmt::Debug for BackendDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendDescriptor")
            .field("name", &self.name)
            .field("section", &self.section)
            .field("flag_prefix", &self.flag_prefix)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl OptionSpec {
    /// A plain option with a command-line flag, shown as `<string>`, without a default.
    pub const fn new(key: &'static str, help: &'static str) -> Self {
        Self {
            key,
            help,
            value_name: "string",
            default: None,
            secret: false,
            flag: true,
        }
    }

    /// Sets the value used when nothing sets the option.
    pub const fn with_default(mut self, default: &'static str) -> Self {
        self.default = Some(default);
        self
    }

    /// Sets the placeholder shown in `--help`.
    pub const fn with_value_name(mut self, value_name: &'static str) -> Self {
        self.value_name = value_name;
        self
    }

    /// Marks the option as a secret (a password): never echoed, also read from `_FILE`.
    pub const fn as_secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Leaves the option without a command-line flag (configuration and environment only).
    pub const fn config_only(mut self) -> Self {
        self.flag = false;
        self
    }
}

impl BackendDescriptor {
    /// A descriptor; `name`, `section` and `flag_prefix` must not clash with another backend's.
    pub const fn new(
        name: &'static str,
        section: &'static str,
        flag_prefix: &'static str,
        summary: &'static str,
        options: &'static [OptionSpec],
        connect: fn(BackendOptions) -> ConnectFuture,
    ) -> Self {
        Self {
            name,
            section,
            flag_prefix,
            summary,
            options,
            connect,
        }
    }

    /// The full flag name of an option, without the leading dashes.
    pub fn flag_name(&self, option: &OptionSpec) -> String {
        format!("{}.{}", self.flag_prefix, option.key)
    }

    /// The configuration path of an option, e.g. `storage.local.path`.
    pub fn config_key(&self, option: &OptionSpec) -> String {
        format!("storage.{}.{}", self.section, option.key)
    }

    /// The options that are command-line flags.
    pub fn flag_options(&self) -> impl Iterator<Item = &OptionSpec> {
        self.options.iter().filter(|o| o.flag)
    }
}

inventory::collect!(BackendDescriptor);

/// Every registered backend, sorted by name.
pub fn backends() -> Vec<&'static BackendDescriptor> {
    let mut all: Vec<_> = inventory::iter::<BackendDescriptor>.into_iter().collect();
    all.sort_by_key(|d| d.name);
    all
}

/// Two registered backends claim the same name, configuration section or flag prefix.
///
/// Typically a backend copied from another whose descriptor was not fully renamed; without
/// this check the CLI would panic building its flags or select the wrong backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the storage backends '{first}' and '{second}' both claim the {what} '{value}'; \
     each backend needs its own"
)]
pub struct RegistryConflict {
    /// `name`, `configuration section` or `flag prefix`.
    pub what: &'static str,
    /// The value both claim.
    pub value: &'static str,
    /// One backend's name.
    pub first: &'static str,
    /// The other backend's name.
    pub second: &'static str,
}

/// Checks that no two of `backends` share a name, a configuration section or a flag prefix.
pub fn check(backends: &[&'static BackendDescriptor]) -> Result<(), RegistryConflict> {
    type Field = fn(&BackendDescriptor) -> &'static str;
    let fields: [(&'static str, Field); 3] = [
        ("name", |d| d.name),
        ("configuration section", |d| d.section),
        ("flag prefix", |d| d.flag_prefix),
    ];
    for (i, a) in backends.iter().enumerate() {
        for b in &backends[i + 1..] {
            for (what, field) in fields {
                if field(a) == field(b) {
                    let value = field(a);
                    return Err(RegistryConflict {
                        what,
                        value,
                        first: a.name,
                        second: b.name,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Looks a backend up by registry name.
pub fn backend(name: &str) -> Option<&'static BackendDescriptor> {
    inventory::iter::<BackendDescriptor>
        .into_iter()
        .find(|d| d.name == name)
}

/// Options handed to a backend's constructor: every option it declared, each set from the
/// configuration or from its default. Secrets are kept apart and never shown by `Debug`.
#[derive(Default)]
pub struct BackendOptions {
    backend: &'static str,
    values: BTreeMap<&'static str, String>,
    secrets: BTreeMap<&'static str, SecretString>,
    inspect_only: bool,
}

impl fmt::Debug for BackendOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendOptions")
            .field("backend", &self.backend)
            .field("values", &self.values)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BackendOptions {
    /// Empty options for the named backend.
    pub fn new(backend: &'static str) -> Self {
        Self {
            backend,
            ..Self::default()
        }
    }

    /// Sets a plain option.
    pub fn set(&mut self, key: &'static str, value: impl Into<String>) -> &mut Self {
        self.values.insert(key, value.into());
        self
    }

    /// Sets a secret option.
    pub fn set_secret(&mut self, key: &'static str, value: SecretString) -> &mut Self {
        self.secrets.insert(key, value);
        self
    }

    /// Marks the connection as one that only inspects (`storage schema-info`): a backend that
    /// would create its storage when missing (a file) reports it missing instead.
    pub fn set_inspect_only(&mut self, inspect_only: bool) -> &mut Self {
        self.inspect_only = inspect_only;
        self
    }

    /// Whether the connection only inspects; see [`BackendOptions::set_inspect_only`].
    pub fn inspect_only(&self) -> bool {
        self.inspect_only
    }

    /// A plain option's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// A plain option that must be present and non-empty.
    pub fn require(&self, key: &'static str) -> Result<&str, StoreError> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(StoreError::InvalidOption {
                backend: self.backend,
                option: key,
                reason: "it is required".into(),
            }),
        }
    }

    /// A secret option's value.
    pub fn secret(&self, key: &str) -> Option<&SecretString> {
        self.secrets.get(key)
    }

    /// A duration option such as `timeout` (`5s`, `500ms`, `1m30s`, or plain seconds).
    pub fn duration(&self, key: &'static str) -> Result<Option<Duration>, StoreError> {
        let Some(raw) = self.get(key) else {
            return Ok(None);
        };
        parse_duration(raw)
            .map(Some)
            .map_err(|reason| StoreError::InvalidOption {
                backend: self.backend,
                option: key,
                reason,
            })
    }
}

/// Parses a duration as Authelia does, in Go's notation: one or more `<number><unit>` parts
/// such as `5s`, `1500ms`, `1m30s` or `1h2m3s` (units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`;
/// numbers may have decimals, `1.5h`), or a plain number of seconds. Zero is refused, and so
/// is more than a day.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let bad = || format!("'{raw}' is not a duration such as 5s, 500ms, 1m30s or 1h2m3s");
    if raw.is_empty() {
        return Err(bad());
    }
    let mut seconds = 0.0;
    let mut rest = raw;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_end);
        if !number.bytes().any(|b| b.is_ascii_digit()) || number.matches('.').count() > 1 {
            return Err(bad());
        }
        let number: f64 = number.parse().map_err(|_| bad())?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        // A bare number is seconds, but only on its own: `1m30` is a typo, not 1m30s.
        if unit.is_empty() && (rest.len() != raw.len() || !tail.is_empty()) {
            return Err(bad());
        }
        let scale = match unit {
            "" | "s" => 1.0,
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "m" => 60.0,
            "h" => 3600.0,
            other => {
                return Err(format!(
                    "unknown unit '{other}' in '{raw}', use ns, us, ms, s, m or h"
                ))
            }
        };
        seconds += number * scale;
        rest = tail;
    }
    if !(seconds > 0.0 && seconds.is_finite() && seconds <= 86_400.0) {
        return Err(format!("'{raw}' must be more than zero and at most a day"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn compound_go_durations_parse() {
        let cases = [
            ("1m30s", Duration::from_secs(90)),
            ("1h2m3s", Duration::from_secs(3723)),
            ("2h45m", Duration::from_secs(9900)),
            ("1s500ms", Duration::from_millis(1500)),
            ("1.5h", Duration::from_secs(5400)),
            ("1m0.5s", Duration::from_millis(60_500)),
            ("300ms", Duration::from_millis(300)),
            ("1500us", Duration::from_micros(1500)),
            ("2µs", Duration::from_micros(2)),
            ("2000000ns", Duration::from_millis(2)),
            ("24h", Duration::from_secs(86_400)),
        ];

        for (raw, expected) in cases {
            assert_eq!(parse_duration(raw), Ok(expected), "{raw}");
        }
    }

    #[test]
    fn malformed_durations_are_refused() {
        for raw in [
            "1m30", "m", "1..5s", ".s", "1m 30s", " 5s", "5s ", "-5s", "+5s", "1x", "5sm", "24h1s",
            "0h0m",
        ] {
            assert!(parse_duration(raw).is_err(), "{raw}");
        }
    }

    fn descriptor(name: &'static str, section: &'static str) -> BackendDescriptor {
        BackendDescriptor::new(name, section, name, "", &[], |_| {
            Box::pin(async { Err(StoreError::Closed("test")) })
        })
    }

    #[test]
    fn conflicting_descriptors_are_reported() {
        let a: &'static _ = Box::leak(Box::new(descriptor("a", "one")));
        let b: &'static _ = Box::leak(Box::new(descriptor("b", "two")));
        let copy: &'static _ = Box::leak(Box::new(descriptor("c", "one")));
        assert_eq!(check(&[a, b]), Ok(()));
        let conflict = check(&[a, b, copy]).unwrap_err();
        assert_eq!(
            (conflict.what, conflict.value),
            ("configuration section", "one")
        );
        assert_eq!(
            conflict.to_string(),
            "the storage backends 'a' and 'c' both claim the configuration section 'one'; \
             each backend needs its own"
        );
    }

    #[test]
    fn backend_options_debug_hides_secrets() {
        let mut options = BackendOptions::new("test");
        options.set("address", "db:3306");
        options.set_secret("password", SecretString::from("hunter2-hunter2"));
        let shown = format!("{options:?}");
        assert!(shown.contains("db:3306") && shown.contains("password"));
        assert!(!shown.contains("hunter2"));
    }
}
