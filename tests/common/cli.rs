//! Helpers for the CLI end-to-end tests: run the real `totpstore` binary in a temporary
//! folder, read the SQLite file it wrote, and check what it printed with code written here
//! (base32, URI parsing, QR decoding) rather than with the crate's own.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use secrecy::{ExposeSecret, SecretString};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row as _};
use totpstore::crypto::SealingKey;
use totpstore::storage::{self, NewTotp, SchemaPolicy, Storage};
use totpstore::BackendOptions;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_totpstore");

/// An encryption key long enough to be accepted.
pub const KEY: &str = "e2e-test-encryption-key-0123456789";

/// The database file name inside each sandbox.
pub const DB: &str = "totp.sqlite3";

/// `12345678901234567890`, the RFC 6238 Appendix B seed for HMAC-SHA1.
pub const RFC_SEED_SHA1: &[u8] = b"12345678901234567890";
/// The RFC 6238 Appendix B seed for HMAC-SHA256 (32 bytes).
pub const RFC_SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
/// The RFC 6238 Appendix B seed for HMAC-SHA512 (64 bytes).
pub const RFC_SEED_SHA512: &[u8] =
    b"1234567890123456789012345678901234567890123456789012345678901234";

/// RFC 6238 Appendix B: Unix time, then the 8-digit SHA1, SHA256 and SHA512 codes.
pub const RFC6238_VECTORS: &[(u64, &str, &str, &str)] = &[
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
];

/// One temporary folder: the working directory of every command run in it, holding the
/// database file, configuration files and PNGs of one test.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A new empty folder.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temporary folder"),
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the folder.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The database file (absolute).
    pub fn db(&self) -> PathBuf {
        self.join(DB)
    }

    /// The database file as a string, for flags.
    pub fn db_arg(&self) -> String {
        self.db()
            .to_str()
            .expect("temporary paths are UTF-8")
            .to_owned()
    }

    /// Writes `contents` to `name` inside the folder, creating sub-folders, and returns it.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the file's folder");
        }
        std::fs::write(&path, contents).expect("write a file in the sandbox");
        path
    }

    /// The binary, run in the folder with an environment holding only `PATH`, so that no
    /// `TOTPSTORE_*` variable of the machine running the tests leaks in.
    pub fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command.current_dir(self.path()).env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command
    }

    /// Runs the binary with `args` and `env`.
    pub fn run_env<S: AsRef<OsStr>>(&self, args: &[S], env: &[(&str, &str)]) -> Run {
        let mut command = self.command();
        command.args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        Run::from(command.output().expect("run the totpstore binary"))
    }

    /// Runs the binary with `args`.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        self.run_env(args, &[])
    }

    /// The arguments of `generate <user>` on this sandbox's database with [`KEY`], then
    /// `extra`.
    pub fn generate_args(&self, user: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = ["storage", "user", "totp", "generate", user]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend([
            "--sqlite.path".into(),
            self.db_arg(),
            "--encryption-key".into(),
            KEY.into(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Runs `generate <user>` on this sandbox's database with [`KEY`] and `extra` flags.
    pub fn generate(&self, user: &str, extra: &[&str]) -> Run {
        self.run(&self.generate_args(user, extra))
    }

    /// Starts `generate <user>` without waiting for it.
    pub fn spawn_generate(&self, user: &str, extra: &[&str]) -> Child {
        self.command()
            .args(self.generate_args(user, extra))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the totpstore binary")
    }

    /// Every row of `totp_configurations`, by username; empty if the database or the table
    /// does not exist.
    pub fn rows(&self) -> BTreeMap<String, Row> {
        rows(&self.db())
    }

    /// The `totpstore_metadata` table, empty if there is none.
    pub fn metadata(&self) -> BTreeMap<String, Vec<u8>> {
        metadata(&self.db())
    }

    /// Every file of the folder whose name starts with the database's (journal, WAL, ...),
    /// concatenated.
    pub fn raw_database_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(self.path()).expect("list the sandbox") {
            let entry = entry.expect("read a folder entry");
            if entry.file_name().to_string_lossy().starts_with(DB) {
                bytes.extend(std::fs::read(entry.path()).expect("read a database file"));
            }
        }
        bytes
    }

    /// Runs `generate` for a user `seed` so that the database exists and holds one row; the
    /// baseline that a refused command must leave unchanged.
    pub fn seeded(self) -> Self {
        self.generate("seed", &[]).success();
        self
    }
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    /// Exit status, `None` if killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Run {
    /// Asserts exit status 0 and one line on stdout; returns that line without its newline.
    pub fn success(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success, got {self:#?}");
        let line = self
            .stdout
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("stdout must be one line ending with a newline: {self:#?}"));
        assert!(
            !line.contains('\n'),
            "stdout must be exactly one line: {self:#?}"
        );
        line
    }

    /// Asserts exit status 0 and an empty stderr; returns stdout, however many lines.
    pub fn success_text(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success, got {self:#?}");
        assert_eq!(
            self.stderr, "",
            "nothing must be printed on stderr: {self:#?}"
        );
        &self.stdout
    }

    /// Asserts status 0 and an empty stderr; returns the printed URI.
    pub fn quiet_uri(&self, user: &str) -> String {
        let uri = self.uri(user);
        assert_eq!(
            self.stderr, "",
            "nothing must be printed on stderr: {self:#?}"
        );
        uri
    }

    /// Asserts status 0 and the success line for `user`; returns the printed URI.
    pub fn uri(&self, user: &str) -> String {
        let line = self.success();
        let prefix =
            format!("Successfully generated TOTP configuration for user '{user}' with URI '");
        let rest = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("the success line must start with {prefix:?}: {line:?}"));
        let end = rest
            .find('\'')
            .unwrap_or_else(|| panic!("the URI must be quoted: {line:?}"));
        rest[..end].to_owned()
    }

    /// Asserts the error form: status 1, nothing on stdout, one `Error: ` line on stderr
    /// (after any `Warning: ` lines); returns the message after `Error: `.
    pub fn error(&self) -> &str {
        assert_eq!(self.code, Some(1), "expected exit status 1, got {self:#?}");
        assert_eq!(
            self.stdout, "",
            "nothing must be printed on stdout: {self:#?}"
        );
        let mut lines: Vec<&str> = self.stderr.lines().collect();
        let last = lines
            .pop()
            .unwrap_or_else(|| panic!("stderr is empty: {self:#?}"));
        for line in lines {
            assert!(
                line.starts_with("Warning: "),
                "unexpected stderr line {line:?}: {self:#?}"
            );
        }
        last.strip_prefix("Error: ")
            .unwrap_or_else(|| panic!("stderr must end with an 'Error: ' line: {self:#?}"))
    }

    /// Asserts the error form and that the message contains every one of `parts`.
    pub fn error_with(&self, parts: &[&str]) -> &str {
        let message = self.error();
        for part in parts {
            assert!(
                message.contains(part),
                "{part:?} missing from the error {message:?}"
            );
        }
        message
    }

    /// The `Warning: ` lines of stderr.
    pub fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("Warning: "))
            .collect()
    }

    /// Asserts that neither stream contains `secret`.
    pub fn assert_not_echoed(&self, secret: &str) {
        assert!(!secret.is_empty());
        assert!(
            !self.stdout.contains(secret),
            "stdout repeats a secret: {self:#?}"
        );
        assert!(
            !self.stderr.contains(secret),
            "stderr repeats a secret: {self:#?}"
        );
    }
}

/// The success line the design requires, for comparing byte for byte.
pub fn success_line(user: &str, uri: &str) -> String {
    format!("Successfully generated TOTP configuration for user '{user}' with URI '{uri}'")
}

/// Splits a printed URI into the part before `secret=` and the secret, asserting the secret
/// is the last query parameter.
pub fn split_secret(uri: &str) -> (&str, &str) {
    let at = uri
        .rfind("&secret=")
        .unwrap_or_else(|| panic!("no secret in {uri:?}"));
    (&uri[..at], &uri[at + "&secret=".len()..])
}

/// The secret of a printed URI, checked to be upper-case base32 without padding, decoded.
pub fn secret_bytes(uri: &str) -> Vec<u8> {
    base32_decode(split_secret(uri).1)
}

/// The URI the design prescribes for plain names (no percent-encoding needed).
pub fn expected_uri(
    issuer: &str,
    user: &str,
    algorithm: &str,
    digits: u32,
    period: u32,
    secret: &str,
) -> String {
    format!(
        "otpauth://totp/{issuer}:{user}?algorithm={algorithm}&digits={digits}&issuer={issuer}\
         &period={period}&secret={secret}"
    )
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, upper case.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Strict RFC 4648 base32 decoding of upper-case text without padding; panics on anything
/// else (lower case, padding, a length no byte count produces, non-zero trailing bits).
pub fn base32_decode(text: &str) -> Vec<u8> {
    assert!(
        matches!(text.len() % 8, 0 | 2 | 4 | 5 | 7),
        "{} base32 characters cannot encode whole bytes",
        text.len()
    );
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = BASE32
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("{:?} is not upper-case base32", char::from(c)));
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    assert_eq!(buffer, 0, "base32 text has non-zero trailing bits");
    out
}

/// The code `oathtool` computes for a base32 secret at `unix_time`, or `None` when oathtool
/// is not installed. Under CI (where `.ci/run` installs it) a missing oathtool fails the test.
pub fn oathtool(
    secret: &str,
    algorithm: &str,
    digits: u32,
    period: u32,
    unix_time: u64,
) -> Option<String> {
    let output = Command::new("oathtool")
        .arg(format!("--totp={algorithm}"))
        .args(["-b", "--digits", &digits.to_string()])
        .arg(format!("--time-step-size={period}s"))
        .arg(format!("--now=@{unix_time}"))
        .arg(secret)
        .output();
    match output {
        Ok(output) => {
            assert!(output.status.success(), "oathtool failed: {output:?}");
            Some(
                String::from_utf8(output.stdout)
                    .expect("oathtool prints ASCII")
                    .trim()
                    .into(),
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but oathtool is not installed"
            );
            eprintln!("oathtool is not installed; its cross-check is skipped");
            None
        }
        Err(e) => panic!("cannot run oathtool: {e}"),
    }
}

/// One row of `totp_configurations`, as read with SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `username`.
    pub username: String,
    /// `issuer`.
    pub issuer: String,
    /// `algorithm`.
    pub algorithm: String,
    /// `digits`.
    pub digits: i64,
    /// `period`.
    pub period: i64,
    /// `secret`, the sealed value.
    pub secret: Vec<u8>,
    /// `created_at`.
    pub created_at: String,
    /// `last_used_at`.
    pub last_used_at: Option<String>,
}

/// Runs a future to completion on a fresh runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("start a runtime")
        .block_on(future)
}

async fn open(db: &Path, read_only: bool) -> sqlx::SqliteConnection {
    SqliteConnectOptions::new()
        .filename(db)
        .read_only(read_only)
        .create_if_missing(false)
        .connect()
        .await
        .expect("open the database file")
}

async fn has_table(conn: &mut sqlx::SqliteConnection, table: &str) -> bool {
    sqlx::query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
        .bind(table)
        .fetch_optional(conn)
        .await
        .expect("read sqlite_master")
        .is_some()
}

/// Every row of `totp_configurations` in `db`, by username.
pub fn rows(db: &Path) -> BTreeMap<String, Row> {
    if !db.exists() {
        return BTreeMap::new();
    }
    block_on(async {
        let mut conn = open(db, true).await;
        if !has_table(&mut conn, "totp_configurations").await {
            return BTreeMap::new();
        }
        let rows = sqlx::query(
            "SELECT username, issuer, algorithm, digits, period, secret, created_at, \
             last_used_at FROM totp_configurations",
        )
        .fetch_all(&mut conn)
        .await
        .expect("read totp_configurations");
        rows.iter()
            .map(|r| {
                let row = Row {
                    username: r.get("username"),
                    issuer: r.get("issuer"),
                    algorithm: r.get("algorithm"),
                    digits: r.get("digits"),
                    period: r.get("period"),
                    secret: r.get("secret"),
                    created_at: r.get("created_at"),
                    last_used_at: r.get("last_used_at"),
                };
                (row.username.clone(), row)
            })
            .collect()
    })
}

/// The `totpstore_metadata` table of `db`.
pub fn metadata(db: &Path) -> BTreeMap<String, Vec<u8>> {
    if !db.exists() {
        return BTreeMap::new();
    }
    block_on(async {
        let mut conn = open(db, true).await;
        if !has_table(&mut conn, "totpstore_metadata").await {
            return BTreeMap::new();
        }
        let rows = sqlx::query("SELECT key, value FROM totpstore_metadata")
            .fetch_all(&mut conn)
            .await
            .expect("read totpstore_metadata");
        rows.iter()
            .map(|r| (r.get("key"), r.get("value")))
            .collect()
    })
}

/// Runs one SQL statement on `db` (to tamper with it the way an attacker with file access
/// could) and returns the number of rows changed.
pub fn execute(db: &Path, sql: &'static str) -> u64 {
    block_on(async {
        let mut conn = open(db, false).await;
        sqlx::query(sql)
            .execute(&mut conn)
            .await
            .expect("run the SQL statement")
            .rows_affected()
    })
}

/// Opens `db` through the library (schema check, key check) and loads `user`'s configuration
/// with its secret opened.
pub fn load_totp(db: &Path, key: &str, user: &str) -> Result<Option<NewTotp>, totpstore::Error> {
    totpstore::backends::keep_linked();
    block_on(async {
        let descriptor = totpstore::registry::backend("sqlite").expect("sqlite is registered");
        let mut options = BackendOptions::new("sqlite");
        options.set("path", db.to_str().expect("temporary paths are UTF-8"));
        let store = storage::connect(descriptor, options).await?;
        let key = SealingKey::derive(&SecretString::from(key))?;
        let storage = Storage::open(store, key, SchemaPolicy::InitialiseEmpty).await?;
        let loaded = storage.load_totp(user).await;
        storage.close().await;
        loaded
    })
}

/// The plaintext secret stored for `user`, opened with [`KEY`].
pub fn stored_secret(db: &Path, user: &str) -> Vec<u8> {
    let config = load_totp(db, KEY, user)
        .expect("the stored configuration opens")
        .unwrap_or_else(|| panic!("no configuration is stored for {user:?}"));
    config.secret.expose_secret().clone()
}

/// A decoded QR code PNG.
pub struct DecodedQr {
    /// Pixel width.
    pub width: u32,
    /// Pixel height.
    pub height: u32,
    /// The text it holds.
    pub text: String,
    /// Raw error-correction bits of the format information (ISO/IEC 18004: L=1, M=0, Q=3, H=2).
    pub ecc_bits: u16,
    /// Modules per side.
    pub modules: u32,
    /// Quiet zone width in modules, measured from the left edge to the first dark pixel.
    pub quiet_zone_modules: f64,
    /// The top-left pixel's luma (the quiet zone's colour).
    pub corner_luma: u8,
}

/// Decodes the PNG at `path` with `image` and the `rqrr` QR decoder.
pub fn decode_qr(path: &Path) -> DecodedQr {
    let bytes = std::fs::read(path).expect("read the PNG");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "the file must be a PNG");
    let image = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .expect("decode the PNG")
        .to_luma8();
    let (width, height) = image.dimensions();

    let dark_columns: Vec<u32> = (0..width)
        .filter(|&x| (0..height).any(|y| image.get_pixel(x, y).0[0] < 128))
        .collect();
    let (first, last) = (
        dark_columns[0],
        *dark_columns.last().expect("some dark pixel"),
    );
    let corner_luma = image.get_pixel(0, 0).0[0];

    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "the PNG must hold exactly one QR code");
    let (meta, text) = grids[0].decode().expect("decode the QR code");
    let modules = 17 + 4 * meta.version.0 as u32;
    let module_px = f64::from(last - first + 1) / f64::from(modules);

    DecodedQr {
        width,
        height,
        text,
        ecc_bits: meta.ecc_level,
        modules,
        quiet_zone_modules: f64::from(first) / module_px,
        corner_luma,
    }
}

/// The permission bits of `path`.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("stat the file")
        .permissions()
        .mode()
        & 0o777
}
