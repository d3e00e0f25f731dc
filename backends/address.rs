//! Parsing of the `address` option shared by the server backends (MySQL, PostgreSQL).
//!
//! Accepted forms, as in Authelia's configuration: `tcp://host:port`, `tcp://host`,
//! `host:port`, `host` (the backend's default port), `[::1]:port`, a bare IPv6 address, and
//! `unix:///absolute/path`. Credentials (`user:password@`) are refused rather than used, and
//! an address holding an `@` is never repeated in an error, since that part may be a password.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    /// A host name or IP address and a port.
    Tcp {
        /// Host name or IP address, IPv6 without brackets.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A unix domain socket (or, for PostgreSQL, possibly its folder).
    Unix(PathBuf),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
        }
    }
}

const FORMS: &str = "use tcp://host:port, host:port, host or unix:///path/to/socket";

/// Parses `raw`; the error is the reason, meant for `StoreError::InvalidOption`.
pub(crate) fn parse(raw: &str, default_port: u16) -> Result<Address, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(format!("it is empty; {FORMS}"));
    }
    if raw.contains('@') {
        // Not echoed: the part before '@' is probably a password.
        return Err(
            "it must not hold credentials ('@'); set the username and password options instead"
                .into(),
        );
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "'{}' holds white space or control characters",
            raw.escape_debug()
        ));
    }
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, raw),
    };
    match scheme.as_deref() {
        Some("unix") => {
            if !rest.starts_with('/') {
                return Err(format!(
                    "'{raw}' does not name an absolute socket path, as in unix:///run/db.sock"
                ));
            }
            if rest.contains(['?', '#']) {
                return Err(format!(
                    "'{raw}' has a query or fragment; give only the path"
                ));
            }
            Ok(Address::Unix(PathBuf::from(rest)))
        }
        Some("tcp") | None => parse_host_port(raw, rest, default_port),
        Some(other) => Err(format!("unknown scheme '{other}' in '{raw}'; {FORMS}")),
    }
}

fn parse_host_port(raw: &str, rest: &str, default_port: u16) -> Result<Address, String> {
    if rest.contains(['/', '?', '#', '\\']) {
        return Err(format!("'{raw}' has a path or query; {FORMS}"));
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("'{raw}' opens '[' without closing it"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("'{raw}' has text after ']' that is not ':port'")),
            },
        }
    } else if rest.matches(':').count() > 1 {
        // More than one colon without brackets: an IPv6 address, with the default port.
        (rest, None)
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(format!("'{raw}' names no host; {FORMS}"));
    }
    let port = match port {
        None => default_port,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => {
                return Err(format!(
                    "the port '{text}' in '{raw}' is not a number from 1 to 65535"
                ))
            }
        },
    };
    Ok(Address::Tcp {
        host: host.to_owned(),
        port,
    })
}

/// Whether `file_type` is a unix domain socket (on other systems there are none to check).
pub(crate) fn is_socket(file_type: &std::fs::FileType) -> bool {
    #[cfg(unix)]
    return std::os::unix::fs::FileTypeExt::is_socket(file_type);
    #[cfg(not(unix))]
    return {
        let _ = file_type;
        true
    };
}

/// The sockets in `folder` whose names `keep` accepts, sorted; empty when it cannot be read.
/// Used only to suggest an address after a connection has failed.
pub(crate) fn sockets_in(folder: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| is_socket(&t)))
        .filter(|e| e.file_name().to_str().is_some_and(&keep))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Address {
        Address::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(parse("tcp://db:3307", 3306), Ok(tcp("db", 3307)));
        assert_eq!(parse("TCP://db", 3306), Ok(tcp("db", 3306)));
        assert_eq!(
            parse("db.example.com:5433", 5432),
            Ok(tcp("db.example.com", 5433))
        );
        assert_eq!(parse(" 10.0.0.1 ", 5432), Ok(tcp("10.0.0.1", 5432)));
        assert_eq!(parse("[::1]:3307", 3306), Ok(tcp("::1", 3307)));
        assert_eq!(parse("tcp://[::1]", 3306), Ok(tcp("::1", 3306)));
        assert_eq!(parse("fe80::1", 3306), Ok(tcp("fe80::1", 3306)));
        assert_eq!(
            parse("unix:///run/mysqld/mysqld.sock", 3306),
            Ok(Address::Unix("/run/mysqld/mysqld.sock".into()))
        );
    }

    #[test]
    fn refused_forms_say_why() {
        for (raw, needle) in [
            ("", "empty"),
            ("http://db:3306", "unknown scheme 'http'"),
            ("db:0", "port '0'"),
            ("db:65536", "port '65536'"),
            ("db:port", "port 'port'"),
            ("tcp://:3306", "no host"),
            ("tcp://db:3306/authelia", "path or query"),
            ("unix://relative.sock", "absolute"),
            ("[::1", "without closing"),
            ("db host", "white space"),
        ] {
            let reason = parse(raw, 3306).expect_err(raw);
            assert!(reason.contains(needle), "{raw:?}: {reason}");
        }
    }

    #[test]
    fn credentials_are_refused_without_being_repeated() {
        let reason = parse("tcp://admin:hunter2@db:3306", 3306).unwrap_err();
        assert!(reason.contains("credentials"), "{reason}");
        assert!(!reason.contains("hunter2"), "{reason}");
    }

    #[test]
    fn display_is_a_parseable_address() {
        for raw in ["tcp://db:3306", "tcp://[::1]:3306", "unix:///run/db.sock"] {
            let parsed = parse(raw, 1).unwrap();
            assert_eq!(parsed.to_string(), raw);
            assert_eq!(parse(&parsed.to_string(), 1), Ok(parsed));
        }
    }
}
