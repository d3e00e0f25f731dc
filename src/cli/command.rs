//! The clap command tree. Backend flags are not written here: they come from the registry, so
//! a backend compiled out has no flags and a new backend's flags appear by themselves.

use clap::{Arg, ArgAction, Command};

use crate::config::DEFAULT_CONFIG;
use crate::registry::BackendDescriptor;

/// Flag ids of `storage` (inherited by every storage subcommand).
pub mod ids {
    /// `-c, --config`.
    pub const CONFIG: &str = "config";
    /// `--config.experimental.filters`.
    pub const FILTERS: &str = "config.experimental.filters";
    /// `--encryption-key`.
    pub const ENCRYPTION_KEY: &str = "encryption-key";
    /// `--log-level`.
    pub const LOG_LEVEL: &str = "log-level";
}

/// Flag ids of `generate`.
pub mod generate_ids {
    /// `<username>`.
    pub const USERNAME: &str = "username";
    /// `--algorithm`.
    pub const ALGORITHM: &str = "algorithm";
    /// `--digits`.
    pub const DIGITS: &str = "digits";
    /// `-f, --force`.
    pub const FORCE: &str = "force";
    /// `--issuer`.
    pub const ISSUER: &str = "issuer";
    /// `-p, --path`.
    pub const PATH: &str = "path";
    /// `--period`.
    pub const PERIOD: &str = "period";
    /// `--secret`.
    pub const SECRET: &str = "secret";
    /// `--secret-size`.
    pub const SECRET_SIZE: &str = "secret-size";
}

/// Help heading of the flags every `storage` subcommand inherits, as Authelia's help shows them
/// apart from the subcommand's own.
const INHERITED: &str = "Global Flags";

fn value_flag(id: &'static str, value_name: &'static str, help: &'static str) -> Arg {
    Arg::new(id)
        .long(id)
        .value_name(value_name)
        .help(help)
        .action(ArgAction::Set)
}

/// A flag holding a key, password or secret: a random one may well start with `-`, and
/// clap would otherwise take it for a flag and suggest the wrong fix.
fn secret_flag(id: &'static str, value_name: &'static str, help: &'static str) -> Arg {
    value_flag(id, value_name, help).allow_hyphen_values(true)
}

/// Builds the whole command tree for the given backends.
pub fn build(backends: &[&'static BackendDescriptor]) -> Command {
    Command::new("totpstore")
        .about("Manage the TOTP second-factor configurations of an authentication server's users")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(
            value_flag(
                ids::LOG_LEVEL,
                "level",
                "log to stderr at this level or above",
            )
            .value_parser(["off", "error", "warn", "info", "debug", "trace"])
            .default_value("off")
            .global(true)
            .help_heading(INHERITED),
        )
        .subcommand(storage(backends))
}

fn storage(backends: &[&'static BackendDescriptor]) -> Command {
    let mut storage = Command::new("storage")
        .about("Manage the storage backend")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(
            Arg::new(ids::CONFIG)
                .short('c')
                .long(ids::CONFIG)
                .value_name("strings")
                .help("configuration files or folders to load, in order (env TOTPSTORE_CONFIG)")
                .action(ArgAction::Append)
                .value_delimiter(',')
                .default_value(DEFAULT_CONFIG)
                .global(true)
                .help_heading(INHERITED),
        )
        .arg(
            Arg::new(ids::FILTERS)
                .long(ids::FILTERS)
                .value_name("strings")
                .help("filters applied to configuration files: expand-env, template")
                .action(ArgAction::Append)
                .value_delimiter(',')
                .global(true)
                .help_heading(INHERITED),
        )
        .arg(
            secret_flag(
                ids::ENCRYPTION_KEY,
                "string",
                "the storage encryption key, at least 20 characters",
            )
            .global(true)
            .help_heading(INHERITED),
        );

    for backend in backends {
        for option in backend.flag_options() {
            // Flag names must be 'static for clap; they live as long as the program anyway.
            let name: &'static str = Box::leak(backend.flag_name(option).into_boxed_str());
            let flag = if option.secret {
                secret_flag
            } else {
                value_flag
            };
            let mut arg = flag(name, option.value_name, option.help)
                .global(true)
                .help_heading(INHERITED);
            if let Some(default) = option.default {
                arg = arg.default_value(default);
            }
            storage = storage.arg(arg);
        }
    }

    storage
        .subcommand(
            Command::new("user")
                .about("Manage users' second factors")
                .subcommand_required(true)
                .arg_required_else_help(true)
                .subcommand(
                    Command::new("totp")
                        .about("Manage users' TOTP configurations")
                        .subcommand_required(true)
                        .arg_required_else_help(true)
                        .subcommand(generate()),
                ),
        )
        .subcommand(
            Command::new("migrate")
                .about("Manage the schema of the storage backend")
                .subcommand_required(true)
                .arg_required_else_help(true)
                .subcommand(Command::new("up").about("Apply every pending schema migration")),
        )
        .subcommand(Command::new("schema-info").about("Show the schema version of the storage"))
        .subcommand(
            Command::new("backends")
                .about("List the compiled-in storage backends with their flags and settings"),
        )
}

fn generate() -> Command {
    use generate_ids::*;
    Command::new("generate")
        .about("Generate a TOTP configuration for a user, store it and print its URI")
        .arg(
            Arg::new(USERNAME)
                .required(true)
                .value_name("username")
                .help("the user's name"),
        )
        .arg(
            value_flag(
                ALGORITHM,
                "string",
                "the TOTP algorithm: SHA1, SHA256 or SHA512",
            )
            .default_value("SHA1"),
        )
        .arg(value_flag(DIGITS, "uint", "the number of digits, 6 or 8").default_value("6"))
        .arg(
            Arg::new(FORCE)
                .short('f')
                .long(FORCE)
                .action(ArgAction::SetTrue)
                .help("replace the user's existing TOTP configuration"),
        )
        .arg(
            value_flag(ISSUER, "string", "the issuer shown by authenticator apps")
                .default_value("Authelia"),
        )
        .arg(
            value_flag(
                PATH,
                "string",
                "also save the QR code as a new PNG file at this path",
            )
            .short('p'),
        )
        .arg(
            value_flag(PERIOD, "uint", "seconds each code is valid, 15 to 3600")
                .default_value("30"),
        )
        .arg(secret_flag(
            SECRET,
            "string",
            "use this base32 secret instead of a random one (at least 10 bytes)",
        ))
        .arg(
            value_flag(SECRET_SIZE, "uint", "bytes of a random secret, 20 to 128")
                .default_value("32"),
        )
}
