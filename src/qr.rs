//! The QR code PNG of an `otpauth://` URI, and the careful way it is written to disk.
//!
//! The PNG holds the secret, so the file is created new with mode 0600, never replaces an
//! existing file and never follows a symbolic link at the final path.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use image::{ImageFormat, Luma};
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

/// Smallest edge of the image, in pixels.
pub const MIN_EDGE_PX: u32 = 256;

/// Why the QR code could not be produced or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The data does not fit in a QR code (over about 2 KiB at level M).
    #[error("the URI is too long for a QR code")]
    TooLong,
    /// PNG encoding failed.
    #[error("cannot encode the PNG image")]
    Encode(#[source] image::ImageError),
    /// The file could not be created or written.
    #[error("cannot write the PNG image to '{path}'")]
    Write {
        /// The path as given.
        path: String,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
}

/// Renders `data` as a PNG: error correction M, dark modules on white, the standard quiet
/// zone of four modules, at least [`MIN_EDGE_PX`] pixels on each side.
pub fn render_png(data: &str) -> Result<Zeroizing<Vec<u8>>, QrError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|_| QrError::TooLong)?;
    let image = code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .min_dimensions(MIN_EDGE_PX, MIN_EDGE_PX)
        .build();
    let mut png = Zeroizing::new(Vec::new());
    image
        .write_to(&mut io::Cursor::new(&mut *png), ImageFormat::Png)
        .map_err(QrError::Encode)?;
    Ok(png)
}

/// Creates `path` (which must not exist) with mode 0600 and writes `bytes` to it. On a failed
/// write the partial file is removed.
pub fn write_new_private_file(path: &Path, bytes: &[u8]) -> Result<(), QrError> {
    let fail = |source| QrError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // create_new is O_CREAT|O_EXCL: POSIX has it fail on any existing entry, a symbolic
        // link included, so a link planted at the path is never followed.
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(fail(e));
    }
    Ok(())
}
