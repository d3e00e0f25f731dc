//! Layered configuration: built-in defaults, YAML files, `TOTPSTORE_*` environment variables,
//! then command-line flags, each layer overriding the one before it.
//!
//! Every setting is addressed by its path in the Authelia configuration file
//! (`storage.encryption_key`, `storage.local.path`, `totp.issuer`, ...), so an existing
//! Authelia `configuration.yml` can be read directly. The set of known paths comes from the core
//! plus whatever backends are registered, see [`Catalogue`].

mod env;
mod file;
mod filters;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

pub use env::{env_var_name, read_env};
pub use file::{load_files, ConfigPaths};
pub use filters::Filter;

use crate::registry::BackendDescriptor;

/// Prefix of every environment variable the tool reads.
pub const ENV_PREFIX: &str = "TOTPSTORE_";
/// Default configuration file, skipped silently when missing.
pub const DEFAULT_CONFIG: &str = "configuration.yml";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A configuration file.
    File(PathBuf),
    /// An environment variable (or its `_FILE` variant), by name.
    Env(String),
    /// A command-line flag, by name.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "file '{}'", path.display()),
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::Flag(name) => write!(f, "flag --{name}"),
        }
    }
}

/// A setting's value; secrets are never shown by `Debug`.
#[derive(Clone)]
pub enum Value {
    /// An ordinary value.
    Plain(String),
    /// A key or password.
    Secret(SecretString),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(v) => write!(f, "{v:?}"),
            Self::Secret(_) => f.write_str("<secret>"),
        }
    }
}

impl Value {
    /// The value as text, secret or not; callers must not print a secret's.
    pub fn expose(&self) -> &str {
        match self {
            Self::Plain(v) => v,
            Self::Secret(s) => s.expose_secret(),
        }
    }
}

/// One resolved setting.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Its value.
    pub value: Value,
    /// Which layer set it.
    pub source: Source,
}

/// A known configuration path.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// Path such as `storage.local.path`.
    pub path: String,
    /// Whether the value is a secret (also read from `<VAR>_FILE`).
    pub secret: bool,
}

/// Every configuration path this binary understands.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    keys: Vec<KeySpec>,
    /// Sections under `storage` owned by backends this binary was built without, mapped to the
    /// backend's name; setting them is an error naming the cargo feature.
    absent_sections: BTreeMap<String, String>,
}

/// Settings of the core, outside any backend.
pub const CORE_KEYS: &[(&str, bool)] = &[
    ("storage.encryption_key", true),
    ("totp.issuer", false),
    ("totp.algorithm", false),
    ("totp.digits", false),
    ("totp.period", false),
    ("totp.secret_size", false),
];

impl Catalogue {
    /// The core's keys plus those of `backends`; `absent` names the sections of in-tree
    /// backends left out of this build.
    pub fn new(backends: &[&BackendDescriptor], absent: &[(&str, &str)]) -> Self {
        let mut keys: Vec<KeySpec> = CORE_KEYS
            .iter()
            .map(|&(path, secret)| KeySpec {
                path: path.into(),
                secret,
            })
            .collect();
        for backend in backends {
            for option in backend.options {
                keys.push(KeySpec {
                    path: backend.config_key(option),
                    secret: option.secret,
                });
            }
        }
        let absent_sections = absent
            .iter()
            .map(|&(section, name)| (section.into(), name.into()))
            .collect();
        Self {
            keys,
            absent_sections,
        }
    }

    /// Looks a path up.
    pub fn get(&self, path: &str) -> Option<&KeySpec> {
        self.keys.iter().find(|k| k.path == path)
    }

    /// All known paths.
    pub fn keys(&self) -> &[KeySpec] {
        &self.keys
    }

    /// The sections under `storage` of the registered backends.
    fn sections(&self) -> impl Iterator<Item = &str> {
        let mut sections: Vec<&str> = self
            .keys
            .iter()
            .filter_map(|k| k.path.strip_prefix("storage.")?.split_once('.'))
            .map(|(section, _)| section)
            .collect();
        sections.dedup();
        sections.into_iter()
    }

    /// Whether `section` (under `storage`) belongs to a registered backend or the core.
    fn section_known(&self, section: &str) -> bool {
        let prefix = format!("storage.{section}.");
        self.keys.iter().any(|k| k.path.starts_with(&prefix))
    }

    /// The backend name owning a section left out of this build.
    pub fn absent_backend(&self, section: &str) -> Option<&str> {
        self.absent_sections.get(section).map(String::as_str)
    }
}

/// The merged settings, plus the warnings met while reading them.
#[derive(Debug, Default)]
pub struct Settings {
    values: BTreeMap<String, Setting>,
    /// Sections of backends missing from this build that some source set, with that source.
    pub absent_sections_set: BTreeMap<String, Source>,
    /// Unknown keys and similar non-fatal findings, for the user.
    pub warnings: Vec<String>,
}

impl Settings {
    /// Sets (or overrides) one path.
    pub fn set(&mut self, path: &str, value: Value, source: Source) {
        self.values
            .insert(path.to_owned(), Setting { value, source });
    }

    /// The setting at `path`, if any layer set it.
    pub fn get(&self, path: &str) -> Option<&Setting> {
        self.values.get(path)
    }

    /// The plain text at `path`.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).map(|s| s.value.expose())
    }

    /// Every setting whose path starts with `prefix`.
    pub fn under(&self, prefix: &str) -> impl Iterator<Item = (&str, &Setting)> {
        let prefix = prefix.to_owned();
        self.values
            .iter()
            .filter(move |(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k.as_str(), v))
    }
}

/// Why the configuration could not be loaded. Never holds a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file or folder named explicitly does not exist.
    #[error("configuration file '{0}' does not exist")]
    Missing(PathBuf),
    /// A file could not be read.
    #[error("cannot read configuration file '{path}'")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// YAML syntax error.
    #[error("cannot parse '{path}'{}: {message}", at(.position))]
    Yaml {
        /// The file.
        path: PathBuf,
        /// Where, when the parser knows.
        position: Option<Position>,
        /// The parser's message, with any quoted text of the file hidden.
        message: String,
    },
    /// A file holds more than one YAML document (`---` between two of them).
    #[error(
        "cannot parse '{path}': it holds more than one YAML document (the second{}); keep one \
         document per file",
        at(.position).replacen(" at", " is at", 1)
    )]
    SeveralDocuments {
        /// The file.
        path: PathBuf,
        /// Where the second document is, when the parser knows.
        position: Option<Position>,
    },
    /// A key or password is written so that YAML reads it as a number, a boolean or a tagged
    /// value, which can change it (`1.0` becomes `1`); the value is never shown.
    #[error(
        "in '{path}'{}: '{key}' must be a plain string, but YAML reads this value as a number, \
         a boolean or a tagged value, which can change it; put the value in quotes, without a \
         tag",
        at(.position)
    )]
    SecretNotString {
        /// The file.
        path: PathBuf,
        /// The key path, e.g. `storage.encryption_key`.
        key: String,
        /// Where, when the parser knows.
        position: Option<Position>,
    },
    /// A key appears twice in one mapping.
    #[error("in '{path}'{}: '{key}' is set twice", at(.position))]
    DuplicateKey {
        /// The file.
        path: PathBuf,
        /// The key path.
        key: String,
        /// Where the second one is, when the parser knows.
        position: Option<Position>,
    },
    /// A backend section asks for TLS, which this build cannot do; going on would send the
    /// password and the secrets in plain text.
    #[error(
        "'{key}' is set in {origin}, but TLS is not supported by this build and the connection \
         would not be encrypted; use a unix socket or a trusted network and remove the tls \
         section"
    )]
    TlsUnsupported {
        /// The key path (`storage.mysql.tls`) or variable.
        key: String,
        /// Where it is set.
        origin: Source,
    },
    /// A key holds the wrong kind of value (a list where a string belongs, ...).
    #[error("in '{path}': '{key}' {reason}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// The key path.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A filter failed on a file.
    #[error("in '{path}' line {line}: {reason}")]
    Filter {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What failed.
        reason: String,
    },
    /// An unknown filter was named.
    #[error("unknown configuration filter '{0}', known filters are: expand-env, template")]
    UnknownFilter(String),
    /// Both `VAR` and `VAR_FILE` are set.
    #[error("both {0} and {0}_FILE are set; set only one of them")]
    EnvBoth(String),
    /// A `_FILE` variable names a file that cannot be read.
    #[error("cannot read the file named by {var} ('{path}')")]
    EnvFile {
        /// The variable.
        var: String,
        /// The file it names.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// An environment variable is not valid UTF-8.
    #[error("environment variable {0} is not valid UTF-8")]
    EnvNotUnicode(String),
}

/// A place in a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// ` at line L, column C`, or nothing when the position is unknown.
fn at(position: &Option<Position>) -> String {
    position.map_or_else(String::new, |p| {
        format!(" at line {}, column {}", p.line, p.column)
    })
}

/// Drops one trailing `\n` or `\r\n`, as `_FILE` variables and `secret` templates do.
pub fn trim_one_newline(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
}

/// The most a configuration file may hold.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// The most a file named by a `_FILE` variable or a `secret` template may hold.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Reads `path` as UTF-8, for `_FILE` variables and `secret` templates.
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    read_limited(path, MAX_SECRET_FILE_BYTES)
}

/// Reads at most `limit` bytes of `path` as UTF-8; a longer file (or `/dev/zero`) is an error
/// rather than a read until memory runs out.
pub(crate) fn read_limited(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        let shown = if limit >= 1024 * 1024 {
            format!("{} MiB", limit / (1024 * 1024))
        } else {
            format!("{} KiB", limit / 1024)
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("the file is larger than {shown}, the most that is read"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not valid UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_dropped() {
        assert_eq!(trim_one_newline("key\n"), "key");
        assert_eq!(trim_one_newline("key\r\n"), "key");
        assert_eq!(trim_one_newline("key\n\n"), "key\n");
        assert_eq!(trim_one_newline(" key "), " key ");
    }

    #[test]
    fn reads_are_capped_at_the_limit() {
        let path = std::env::temp_dir().join(format!("totpstore-cap-{}", std::process::id()));
        std::fs::write(&path, "x".repeat(1025)).unwrap();

        let over = read_limited(&path, 1024).unwrap_err();
        let at = read_limited(&path, 1025).unwrap();

        std::fs::remove_file(&path).unwrap();
        assert_eq!(over.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(over.to_string().contains("1 KiB"), "{over}");
        assert_eq!(at.len(), 1025);
    }

    #[test]
    fn secret_values_are_hidden_from_debug() {
        let v = Value::Secret(SecretString::from("correct-horse-battery"));
        assert_eq!(format!("{v:?}"), "<secret>");
    }
}
