//! `storage user totp generate`: create (or with `--force` replace) a user's TOTP
//! configuration, print its URI and optionally save its QR code.
//!
//! Every check that can fail runs before the database is touched; the PNG is written only
//! after the database write has committed.

use std::path::{Path, PathBuf};

use clap::ArgMatches;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::base32;
use crate::config::Settings;
use crate::crypto::PlainSecret;
use crate::error::Error;
use crate::model::{validate_issuer, validate_username, Algorithm, SaveMode};
use crate::otp::{self, UriParams};
use crate::qr;
use crate::registry::BackendDescriptor;
use crate::storage::{self, NewTotp, SchemaPolicy, Storage};

use super::command::generate_ids as ids;
use super::settings::{self, typed};

/// The validated inputs of one `generate` run.
struct Request {
    config: NewTotp,
    force: bool,
    png_path: Option<String>,
    /// `--secret` as the URI carries it, normalised only as the contract allows.
    typed_secret: Option<SecretString>,
}

/// Runs the command and prints its line on success.
pub async fn run(
    matches: &ArgMatches,
    backends: &[&'static BackendDescriptor],
) -> Result<(), Error> {
    let settings = settings::load(matches, backends)?;
    let request = validate(matches, &settings)?;
    let key = settings::sealing_key(&settings)?;
    let (backend, options) = settings::select_backend(&settings, backends)?;

    let config = &request.config;
    let params = UriParams {
        issuer: &config.issuer,
        username: &config.username,
        algorithm: config.algorithm,
        digits: config.digits,
        period: config.period,
    };
    let uri = match &request.typed_secret {
        Some(typed) => otp::uri_with_base32(&params, typed.expose_secret()),
        None => otp::uri(&params, &config.secret),
    };
    // Rendered, and its room reserved in a temporary file under a folder lock, before the
    // database write, so that a folder that cannot take it (read-only, full, gone) or a
    // concurrent run with the same path fails before a secret is stored.
    let png = match &request.png_path {
        Some(path) => {
            let bytes = qr::render_png(uri.expose_secret()).map_err(Error::Qr)?;
            let staged = qr::StagedPng::stage(Path::new(path), bytes).map_err(|e| match e {
                qr::QrError::Exists(_) => Error::invalid("--path", e.to_string()),
                other => Error::Qr(other),
            })?;
            Some((path, staged))
        }
        None => None,
    };

    let store = storage::connect(backend, options).await?;
    let storage = Storage::open(store, key, SchemaPolicy::InitialiseEmpty).await?;
    let mode = if request.force {
        SaveMode::Overwrite
    } else {
        SaveMode::Create
    };
    let saved = storage.save_totp(config, mode).await;
    storage.close().await;
    saved?;

    let mut line = format!(
        "Successfully generated TOTP configuration for user '{}' with URI '{}'",
        config.username,
        uri.expose_secret()
    );
    // The secret is stored now: from here on a failure must still leave it shown somewhere,
    // and say what was and was not done.
    let mut png_failure = None;
    if let Some((path, staged)) = png {
        match staged.publish() {
            Ok(()) => line.push_str(&format!(
                " and saved it as a PNG image at the path '{path}'"
            )),
            Err(e) => png_failure = Some(e),
        }
    }
    if let Err(e) = super::write_stdout(&line) {
        let mut reason = e.to_string();
        match (&png_failure, &request.png_path) {
            (Some(png), _) => reason.push_str(&format!(
                ", and the PNG was not saved either ({})",
                chain(png)
            )),
            (None, Some(path)) => reason.push_str(&format!(" (its QR code was saved at '{path}')")),
            (None, None) => {}
        }
        return Err(Error::SavedButNotPrinted {
            username: config.username.clone(),
            reason,
        });
    }
    match png_failure {
        Some(source) => Err(Error::SavedWithoutPng {
            username: config.username.clone(),
            source,
        }),
        None => Ok(()),
    }
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// A value from the flag if typed, else from the configuration, else the flag's default.
fn layered<'a>(
    matches: &'a ArgMatches,
    settings: &'a Settings,
    id: &str,
    key: &str,
) -> Option<(String, String)> {
    if typed(matches, id) {
        return matches
            .get_one::<String>(id)
            .map(|v| (v.clone(), format!("--{id}")));
    }
    if let Some(setting) = settings.get(key) {
        return Some((
            setting.value.expose().to_owned(),
            format!("{key} (from {})", setting.source),
        ));
    }
    matches
        .get_one::<String>(id)
        .map(|v| (v.clone(), format!("--{id}")))
}

/// Reads a `uint` flag or setting: decimal digits only, with no sign, space or other
/// notation, as for every number the tool reads. `expected` names the accepted values.
fn parse_uint(what: &str, raw: &str, expected: &str) -> Result<u64, Error> {
    if raw.is_empty() {
        return Err(Error::invalid(what, format!("it is empty; {expected}")));
    }
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            what,
            format!("'{raw}' is not a whole number written with the digits 0-9; {expected}"),
        ));
    }
    // Only digits are left, so the one way to fail is a number too large for 64 bits.
    raw.parse()
        .map_err(|_| Error::invalid(what, format!("{raw} is out of range; {expected}")))
}

fn validate(matches: &ArgMatches, settings: &Settings) -> Result<Request, Error> {
    let username = matches
        .get_one::<String>(ids::USERNAME)
        .cloned()
        .unwrap_or_default();
    validate_username(&username).map_err(|e| Error::invalid("username", e.to_string()))?;

    let (raw, what) = layered(matches, settings, ids::ISSUER, "totp.issuer").unwrap_or_default();
    validate_issuer(&raw).map_err(|e| Error::invalid(&what, e.to_string()))?;
    let issuer = raw;

    let (raw, what) =
        layered(matches, settings, ids::ALGORITHM, "totp.algorithm").unwrap_or_default();
    let algorithm: Algorithm = raw
        .parse()
        .map_err(|e: crate::model::UnknownAlgorithm| Error::invalid(&what, e.to_string()))?;

    let (raw, what) = layered(matches, settings, ids::DIGITS, "totp.digits").unwrap_or_default();
    let digits = parse_uint(&what, &raw, "use 6 or 8")?;
    let Some(digits) = u32::try_from(digits)
        .ok()
        .filter(|d| otp::DIGITS.contains(d))
    else {
        return Err(Error::invalid(
            &what,
            format!("{digits} digits is not supported, use 6 or 8"),
        ));
    };

    let (raw, what) = layered(matches, settings, ids::PERIOD, "totp.period").unwrap_or_default();
    let period = parse_uint(&what, &raw, "use 15 to 3600 seconds")?;
    let Some(period) = u32::try_from(period)
        .ok()
        .filter(|p| otp::PERIOD_RANGE.contains(p))
    else {
        return Err(Error::invalid(
            &what,
            format!("{period} is outside 15 to 3600 seconds"),
        ));
    };

    // Checked even when --secret makes it unused: a value outside its range is a mistake
    // either way, and saying so beats ignoring it.
    let (raw, what) =
        layered(matches, settings, ids::SECRET_SIZE, "totp.secret_size").unwrap_or_default();
    let size = parse_uint(&what, &raw, "use 20 to 128 bytes")?;
    let Some(size) = usize::try_from(size)
        .ok()
        .filter(|s| otp::SECRET_SIZE_RANGE.contains(s))
    else {
        return Err(Error::invalid(
            &what,
            format!("{size} is outside 20 to 128 bytes"),
        ));
    };

    let typed_secret = matches.get_one::<String>(ids::SECRET);
    let secret = match typed_secret {
        Some(text) => secret_from_base32(text)?,
        None => otp::random_secret(size),
    };
    let typed_secret = typed_secret.map(|text| SecretString::from(base32::normalize(text)));

    let png_path = matches.get_one::<String>(ids::PATH).cloned();
    if let Some(path) = &png_path {
        check_png_path(path)?;
    }

    Ok(Request {
        config: NewTotp {
            username,
            issuer,
            algorithm,
            digits,
            period,
            secret,
        },
        force: matches.get_flag(ids::FORCE),
        png_path,
        typed_secret,
    })
}

/// Decodes `--secret`; never repeats it in an error.
fn secret_from_base32(text: &str) -> Result<PlainSecret, Error> {
    let bytes = base32::decode(text).map_err(|e| Error::invalid("--secret", e.to_string()))?;
    let secret = SecretBox::new(Box::new(bytes));
    let len = secret.expose_secret().len();
    if len < otp::MIN_SECRET_BYTES {
        return Err(Error::invalid(
            "--secret",
            format!(
                "it decodes to {len} bytes, at least {} are required",
                otp::MIN_SECRET_BYTES
            ),
        ));
    }
    if len < otp::RECOMMENDED_SECRET_BYTES {
        super::warn(&format!(
            "the secret is {len} bytes; RFC 4226 asks for at least {} bytes (128 bits)",
            otp::RECOMMENDED_SECRET_BYTES
        ));
    }
    Ok(secret)
}

/// The PNG path must name a new file in a folder that exists. Whatever the file system could
/// refuse about the name itself (too long, a file used as a folder, no search permission) is
/// found here, before the database is touched.
fn check_png_path(path: &str) -> Result<(), Error> {
    if path.is_empty() {
        return Err(Error::invalid("--path", "it is empty"));
    }
    // Path would drop a trailing '/' or '.', and 'nosuchdir/' would pass for a file name.
    let last = path.rsplit('/').next().unwrap_or(path);
    if matches!(last, "" | "." | "..") {
        return Err(Error::invalid(
            "--path",
            format!("'{path}' names a folder; give the name of a new PNG file, such as john.png"),
        ));
    }
    let p = PathBuf::from(path);
    // symlink_metadata also sees a dangling symbolic link, which must not be followed either.
    match std::fs::symlink_metadata(&p) {
        Ok(_) => {
            return Err(Error::invalid(
                "--path",
                format!("'{path}' already exists; choose a new file name"),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::invalid(
                "--path",
                format!("cannot create '{path}': {e}"),
            ))
        }
    }
    let parent = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(Error::invalid(
            "--path",
            format!("the folder '{}' does not exist", parent.display()),
        ));
    }
    Ok(())
}
