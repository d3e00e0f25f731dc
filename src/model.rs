//! The record type every backend stores, and the rules for the values in it.
//!
//! A backend only ever sees a [`TotpRecord`] whose secret is already sealed; the checks here
//! run in the core, before any backend is reached, so every backend stores the same values.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};

/// Longest username and issuer, in characters, on every backend.
pub const MAX_NAME_CHARS: usize = 100;

/// HMAC algorithm of a TOTP configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA1, the default and the only one every authenticator app supports.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// The name used in URIs and in storage: `SHA1`, `SHA256` or `SHA512`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input named no known algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown algorithm '{0}', expected one of SHA1, SHA256, SHA512")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Accepts any letter case, as the command line does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "SHA1" => Ok(Self::Sha1),
            "SHA256" => Ok(Self::Sha256),
            "SHA512" => Ok(Self::Sha512),
            _ => Err(UnknownAlgorithm(s.to_owned())),
        }
    }
}

/// A secret as stored: `version || nonce || ciphertext+tag`, opaque to backends.
///
/// `Debug` shows only the length, so a record can be logged without leaking ciphertext that
/// could be attacked offline.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub Vec<u8>);

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret({} bytes)", self.0.len())
    }
}

/// One user's TOTP configuration, as a backend stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// Unique, compared exactly (case and trailing spaces matter).
    pub username: String,
    /// Shown by authenticator apps beside the username.
    pub issuer: String,
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// Code length, 6 or 8.
    pub digits: u32,
    /// Seconds per code.
    pub period: u32,
    /// The sealed secret; see [`crate::crypto`].
    pub secret: SealedSecret,
    /// When the configuration was created, in UTC, at microsecond precision.
    pub created_at: DateTime<Utc>,
    /// When a code was last accepted, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The current time at the precision every backend keeps (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Whether a save may replace an existing row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// Insert only; an existing row makes the save fail with `AlreadyExists`.
    Create,
    /// Insert, or replace the existing row in the same statement.
    Overwrite,
}

/// Why a username or issuer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing given.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Over [`MAX_NAME_CHARS`].
    #[error("{what} is {chars} characters long, the limit is {MAX_NAME_CHARS}")]
    TooLong {
        /// `username` or `issuer`.
        what: &'static str,
        /// Its length in characters.
        chars: usize,
    },
    /// Leading or trailing white space, almost always a copy-and-paste accident.
    #[error("{0} must not start or end with white space")]
    OuterWhitespace(&'static str),
    /// A control character (new line, tab, escape, ...).
    #[error("{0} must not contain control characters")]
    Control(&'static str),
    /// A `:` in the issuer would be read as the label separator by authenticator apps.
    #[error("issuer must not contain ':', which separates issuer and username in the URI")]
    IssuerColon,
}

fn check_name(what: &'static str, value: &str) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty(what));
    }
    let chars = value.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong { what, chars });
    }
    if value.chars().any(char::is_control) {
        return Err(NameError::Control(what));
    }
    Ok(())
}

/// Checks a username: 1..=100 characters, no control characters, no outer white space.
pub fn validate_username(username: &str) -> Result<(), NameError> {
    check_name("username", username)?;
    if username.trim() != username {
        return Err(NameError::OuterWhitespace("username"));
    }
    Ok(())
}

/// Checks an issuer: 1..=100 characters, no control characters and no `:`.
pub fn validate_issuer(issuer: &str) -> Result<(), NameError> {
    check_name("issuer", issuer)?;
    if issuer.contains(':') {
        return Err(NameError::IssuerColon);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_parses_any_letter_case() {
        assert_eq!("sha256".parse::<Algorithm>().unwrap(), Algorithm::Sha256);
        assert_eq!("Sha512".parse::<Algorithm>().unwrap(), Algorithm::Sha512);
        assert!("MD5".parse::<Algorithm>().is_err());
    }

    #[test]
    fn usernames_are_checked() {
        assert!(validate_username("john").is_ok());
        assert!(validate_username("j:o@hn ü 名").is_ok());
        assert_eq!(validate_username(""), Err(NameError::Empty("username")));
        assert!(validate_username(&"x".repeat(100)).is_ok());
        assert!(validate_username(&"é".repeat(101)).is_err());
        assert!(validate_username(" john").is_err());
        assert!(validate_username("john\t").is_err());
        assert!(validate_username("jo\nhn").is_err());
        assert!(validate_username("jo\u{1b}hn").is_err());
    }

    #[test]
    fn issuers_are_checked() {
        assert!(validate_issuer("Example Inc").is_ok());
        assert_eq!(validate_issuer("a:b"), Err(NameError::IssuerColon));
        assert!(validate_issuer("").is_err());
        assert!(validate_issuer(&"i".repeat(101)).is_err());
    }

    #[test]
    fn sealed_secret_debug_hides_bytes() {
        let shown = format!("{:?}", SealedSecret(vec![0xAB; 3]));
        assert_eq!(shown, "SealedSecret(3 bytes)");
    }
}
