//! The options the SQLite backend owns: `--sqlite.path`, `storage.local.path`.

use crate::registry::OptionSpec;

/// Configuration section, named as in Authelia's configuration file.
pub const SECTION: &str = "local";

/// The options of this backend.
pub const OPTIONS: &[OptionSpec] = &[OptionSpec::new(
    "path",
    "the path to the SQLite database file (created if missing; not :memory: or a file: URI)",
)];
