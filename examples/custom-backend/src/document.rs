//! The JSON file's format, and its conversion to and from the core's [`TotpRecord`].
//!
//! The top-level keys mirror the tables of the SQL backends, so the same rule refuses a file
//! another program wrote: a file holding `totp_configurations` or `totpstore_metadata` without
//! our `totpstore_migrations` history is not ours.
//!
//! ```json
//! {
//!   "totpstore_migrations": [{"version": 1, "description": "...", "applied_at": "..."}],
//!   "totp_configurations": {"alice": {"issuer": "Authelia", "algorithm": "SHA1", ...}},
//!   "totpstore_metadata": {"encryption_check": "01ab..."}
//! }
//! ```
//!
//! Sealed secrets and metadata values are stored as lower-case hex; timestamps as RFC 3339 in
//! UTC with as many fraction digits as they carry, so every value round-trips exactly.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use totpstore::{Algorithm, SealedSecret, StoreError, TotpRecord};

use crate::NAME;

/// The format version this crate writes and reads.
pub const LATEST_VERSION: u32 = 1;

const LATEST_DESCRIPTION: &str = "initial format";

/// The top-level keys that hold our data; see the module documentation.
const OUR_TABLES: &[&str] = totpstore::store::OWN_TABLES;
const HISTORY: &str = "totpstore_migrations";

/// One applied format version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppliedMigration {
    /// The version.
    pub version: u32,
    /// What it changed.
    pub description: String,
    /// When it was applied, RFC 3339.
    pub applied_at: String,
}

/// One user's configuration as stored; the username is the key of the map that holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredTotp {
    issuer: String,
    algorithm: String,
    digits: u32,
    period: u32,
    secret: String,
    created_at: String,
    last_used_at: Option<String>,
}

/// The whole file at [`LATEST_VERSION`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Applied format versions, oldest first.
    pub totpstore_migrations: Vec<AppliedMigration>,
    /// Configurations by username. A `BTreeMap` compares keys exactly and iterates them in
    /// byte order, which is what lookups and paged listing need.
    #[serde(default)]
    pub totp_configurations: BTreeMap<String, StoredTotp>,
    /// Metadata values by key, hex.
    #[serde(default)]
    pub totpstore_metadata: BTreeMap<String, String>,
}

/// What a file holds.
#[derive(Debug)]
pub enum Contents {
    /// No file, or an empty one: nothing of ours yet.
    Uninitialised,
    /// A file written by a newer version of this backend; its shape is not ours to read.
    Newer(u32),
    /// Our data at a version this crate reads.
    Current(Document),
}

impl Document {
    /// A new file at the latest version.
    pub fn initial() -> Self {
        Self {
            totpstore_migrations: vec![AppliedMigration {
                version: LATEST_VERSION,
                description: LATEST_DESCRIPTION.into(),
                applied_at: timestamp(&Utc::now()),
            }],
            totp_configurations: BTreeMap::new(),
            totpstore_metadata: BTreeMap::new(),
        }
    }

    /// Serialises the file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, StoreError> {
        let mut bytes =
            serde_json::to_vec_pretty(self).map_err(|e| StoreError::backend(NAME, e))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Parses a file's bytes, refusing a file some other program wrote.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Contents, StoreError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Contents::Uninitialised);
    }
    let corrupt = |reason: String| StoreError::Corrupt {
        backend: NAME,
        reason,
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        corrupt(format!(
            "'{}' is not a JSON file totpstore wrote: {e}",
            path.display()
        ))
    })?;
    let Some(object) = value.as_object() else {
        return Err(corrupt(format!(
            "'{}' does not hold a JSON object",
            path.display()
        )));
    };
    let Some(history) = object.get(HISTORY) else {
        if let Some(table) = OUR_TABLES.iter().find(|t| object.contains_key(**t)) {
            return Err(StoreError::ForeignTable {
                table: (*table).into(),
            });
        }
        return Err(corrupt(format!(
            "'{}' holds JSON that totpstore did not write; point --jsonfile.path at a new file",
            path.display()
        )));
    };
    let history: Vec<AppliedMigration> = serde_json::from_value(history.clone())
        .map_err(|e| corrupt(format!("{HISTORY} in '{}': {e}", path.display())))?;
    let version = history.iter().map(|m| m.version).max().unwrap_or(0);
    if version > LATEST_VERSION {
        return Ok(Contents::Newer(version));
    }
    let document =
        serde_json::from_value(value).map_err(|e| corrupt(format!("'{}': {e}", path.display())))?;
    Ok(Contents::Current(document))
}

impl StoredTotp {
    /// The stored form of a record (whose username becomes the map key).
    pub fn from_record(record: &TotpRecord) -> Self {
        Self {
            issuer: record.issuer.clone(),
            algorithm: record.algorithm.as_str().into(),
            digits: record.digits,
            period: record.period,
            secret: hex_encode(&record.secret.0),
            created_at: timestamp(&record.created_at),
            last_used_at: record.last_used_at.as_ref().map(timestamp),
        }
    }

    /// The record of `username`.
    pub fn to_record(&self, username: &str) -> Result<TotpRecord, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            backend: NAME,
            reason: format!("{username:?}: {reason}"),
        };
        Ok(TotpRecord {
            username: username.to_owned(),
            issuer: self.issuer.clone(),
            algorithm: self
                .algorithm
                .parse::<Algorithm>()
                .map_err(|e| corrupt(e.to_string()))?,
            digits: self.digits,
            period: self.period,
            secret: SealedSecret(hex_decode(&self.secret).map_err(corrupt)?),
            created_at: parse_timestamp(&self.created_at).map_err(corrupt)?,
            last_used_at: self
                .last_used_at
                .as_deref()
                .map(parse_timestamp)
                .transpose()
                .map_err(corrupt)?,
        })
    }
}

fn timestamp(at: &DateTime<Utc>) -> String {
    // AutoSi keeps every fraction digit the value has, so the round trip is exact.
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("timestamp '{text}': {e}"))
}

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Decodes hex of either letter case.
pub fn hex_decode(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err("hex value of odd length".into());
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err("hex value with a character outside 0-9 and a-f".to_owned()),
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Ok(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let text = hex_encode(&all);
        assert_eq!(&text[..8], "00010203");
        assert_eq!(hex_decode(&text).unwrap(), all);
        assert_eq!(hex_decode("FFfe").unwrap(), vec![0xff, 0xfe]);
        assert!(hex_decode("abc").is_err());
        assert!(hex_decode("zz").is_err());
    }

    #[test]
    fn files_of_other_programs_are_refused() {
        let path = Path::new("x.json");
        assert!(matches!(parse(path, b"").unwrap(), Contents::Uninitialised));
        assert!(matches!(
            parse(path, b" \n").unwrap(),
            Contents::Uninitialised
        ));
        assert!(matches!(
            parse(path, br#"{"totp_configurations": []}"#),
            Err(StoreError::ForeignTable { .. })
        ));
        assert!(matches!(
            parse(path, b"{}"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            parse(path, b"[1]"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            parse(path, b"not json"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn newer_files_are_reported_not_parsed() {
        let text = br#"{"totpstore_migrations": [{"version": 9, "description": "",
            "applied_at": ""}], "something_new": true}"#;
        assert!(matches!(
            parse(Path::new("x"), text).unwrap(),
            Contents::Newer(9)
        ));
    }
}
