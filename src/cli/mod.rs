//! The `totpstore` command line: parsing, dispatch, and how results and errors are printed.
//!
//! [`main`] is public so that a binary linking extra backends (see `examples/custom-backend`)
//! starts exactly the same CLI with its backends registered.
//!
//! Exit status: 0 on success, 1 for an error of the command (printed as `Error: <message>`
//! with its causes on one line), 2 for usage errors reported by clap.

mod backends;
pub mod command;
mod generate;
mod schema;
mod settings;

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use tracing::level_filters::LevelFilter;

use crate::backends::IN_TREE;
use crate::error::Error;
use crate::registry::{self, BackendDescriptor};

/// Runs the CLI on the process's arguments.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs the CLI on `args` (the first being the program name), printing output and errors.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    crate::backends::keep_linked();
    let backends = registry::backends();
    if let Err(conflict) = registry::check(&backends) {
        return report(&conflict.into());
    }
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();

    if let Err(e) = refuse_flags_of_absent_backends(&args, &backends) {
        return report(&e);
    }
    let matches = match command::build(&backends).try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    init_logging(&matches);

    // Checked before anything is written anywhere: a result printed nowhere (a URI holding a
    // new secret) is a result lost.
    if stdout_is_closed() {
        return report(&Error::StdoutClosed);
    }

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = writeln!(io::stderr(), "Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(&matches, &backends)) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(output)) => match write_stdout(&output) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => report(&Error::Stdout(e)),
        },
        Err(e) => report(&e),
    }
}

/// Writes `text` and a newline to stdout and flushes it, returning a failure (a full disk, a
/// closed pipe) instead of panicking as `println!` does.
pub(crate) fn write_stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Prints a `Warning: ` line on stderr. A warning that cannot be written is dropped: there is
/// nowhere left to report that, and it must not stop (or panic) the command.
pub(crate) fn warn(message: &str) {
    let _ = writeln!(io::stderr(), "Warning: {message}");
}

/// Whether file descriptor 1 was closed when the process started.
///
/// Rust's runtime puts `/dev/null`, opened read-write, in place of a closed standard
/// descriptor, so a closed stdout shows up as a readable `/dev/null`. A shell's `>/dev/null`
/// opens it write-only: output the operator chose to discard is not refused.
#[cfg(unix)]
fn stdout_is_closed() -> bool {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() else {
        return true;
    };
    let mut file = std::fs::File::from(fd);
    let (Ok(ours), Ok(null)) = (file.metadata(), std::fs::metadata("/dev/null")) else {
        return false;
    };
    let is_null = ours.file_type().is_char_device() && ours.rdev() == null.rdev();
    // Reading /dev/null returns end of file at once and consumes nothing.
    is_null && file.read(&mut [0u8; 1]).is_ok()
}

#[cfg(not(unix))]
fn stdout_is_closed() -> bool {
    false
}

/// Runs the command; `Some` is the text to print, `None` when the command printed its own
/// result (generate, which must say what was saved when printing fails).
async fn dispatch(
    matches: &clap::ArgMatches,
    backends: &[&'static BackendDescriptor],
) -> Result<Option<String>, Error> {
    let Some(("storage", storage)) = matches.subcommand() else {
        unreachable!("clap requires the storage subcommand")
    };
    match storage.subcommand() {
        Some(("backends", _)) => Ok(Some(backends::list(backends))),
        // Said first, so that a binary without backends does not ask for a key it cannot use.
        _ if backends.is_empty() => Err(Error::NoBackendCompiled),
        Some(("user", user)) => match user.subcommand() {
            Some(("totp", totp)) => match totp.subcommand() {
                Some(("generate", m)) => generate::run(m, backends).await.map(|()| None),
                _ => unreachable!("clap requires a totp subcommand"),
            },
            _ => unreachable!("clap requires a user subcommand"),
        },
        Some(("migrate", migrate)) => match migrate.subcommand() {
            Some(("up", m)) => schema::migrate_up(m, backends).await.map(Some),
            _ => unreachable!("clap requires a migrate subcommand"),
        },
        Some(("schema-info", m)) => schema::schema_info(m, backends).await.map(Some),
        _ => unreachable!("clap requires a storage subcommand"),
    }
}

/// Prints `Error: ` and the whole cause chain on one line; returns status 1.
fn report(error: &Error) -> ExitCode {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        // Transparent wrappers repeat their inner message; print each text once.
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    // Nothing is left to tell if stderr fails too; the exit status still says it.
    let _ = writeln!(io::stderr(), "Error: {message}");
    ExitCode::FAILURE
}

/// A flag of an in-tree backend this build lacks (`--mysql.address` without the `mysql`
/// feature) is reported with the feature to enable, rather than as an unknown flag.
fn refuse_flags_of_absent_backends(
    args: &[OsString],
    backends: &[&'static BackendDescriptor],
) -> Result<(), Error> {
    for arg in args.iter().skip(1).filter_map(|a| a.to_str()) {
        if arg == "--" {
            break;
        }
        let Some(name) = arg.strip_prefix("--") else {
            continue;
        };
        for tree in IN_TREE {
            let compiled = backends.iter().any(|b| b.name == tree.name);
            if !compiled && name.starts_with(&format!("{}.", tree.flag_prefix)) {
                return Err(Error::BackendNotCompiled {
                    name: tree.name.into(),
                    feature: tree.feature.into(),
                });
            }
        }
    }
    Ok(())
}

fn init_logging(matches: &clap::ArgMatches) {
    let level = match matches
        .get_one::<String>(command::ids::LOG_LEVEL)
        .map(String::as_str)
    {
        Some("error") => LevelFilter::ERROR,
        Some("warn") => LevelFilter::WARN,
        Some("info") => LevelFilter::INFO,
        Some("debug") => LevelFilter::DEBUG,
        Some("trace") => LevelFilter::TRACE,
        _ => LevelFilter::OFF,
    };
    if level != LevelFilter::OFF {
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .try_init();
    }
}
