//! The options the SQLite backend owns: `--sqlite.path`, `storage.local.path`.

use crate::registry::OptionSpec;

/// Configuration section, named as in Authelia's configuration file.
pub const SECTION: &str = "local";

/// The options of this backend.
pub const OPTIONS: &[OptionSpec] = &[OptionSpec {
    key: "path",
    help: "the path to the SQLite database file (created if missing)",
    value_name: "string",
    default: None,
    secret: false,
    flag: true,
}];
