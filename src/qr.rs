//! The QR code PNG of an `otpauth://` URI, and the careful way it is written to disk.
//!
//! The PNG holds the secret, so the file is created new with mode 0600, never replaces an
//! existing file and never follows a symbolic link at the final path.
//!
//! It is written in two steps around the database write, so that a failure to write it cannot
//! follow the storing of a new secret: [`StagedPng::stage`] takes an exclusive lock on the
//! target folder, checks the name is free, and fills a private temporary file there with as
//! many zero bytes as the image has (synced), which proves the folder writable with room to
//! spare without putting the secret on disk yet; [`StagedPng::publish`], after the commit,
//! writes the image over the zeros and gives it its final name with a hard link, which is
//! atomic, fails if the name exists, and does not follow a link there.
//!
//! The folder lock is held from the check to the publish, so two runs given the same `--path`
//! cannot both pass the check and both write the database: the second waits, then finds the
//! name taken before it touches the database. The lock is advisory (`flock`): it orders runs
//! of this tool, not other programs.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

use crate::crypto::fill_random;

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
    /// The final path exists (found once the folder lock was held).
    #[error("'{0}' already exists; choose a new file name")]
    Exists(String),
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
    let mut file = create_private(path).map_err(fail)?;
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(fail(e));
    }
    Ok(())
}

/// Creates `path` new, for writing, with mode 0600.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // create_new is O_CREAT|O_EXCL: POSIX has it fail on any existing entry, a symbolic
        // link included, so a link planted at the path is never followed.
        options.mode(0o600);
    }
    options.open(path)
}

/// A PNG written in full to a private temporary file next to its final path, not yet
/// published there. Dropping it removes the temporary file, whatever happened.
pub struct StagedPng {
    temp: PathBuf,
    target: PathBuf,
    bytes: Zeroizing<Vec<u8>>,
    /// The temporary file, still open, holding zeros until [`StagedPng::publish`].
    file: File,
    /// The target folder, locked exclusively until this value is dropped.
    _folder_lock: File,
}

impl StagedPng {
    /// Locks the folder of `target`, checks `target` is free, and reserves the image's size in
    /// a new temporary file with mode 0600 there (zeros, synced). `target` is not touched.
    pub fn stage(target: &Path, bytes: Zeroizing<Vec<u8>>) -> Result<Self, QrError> {
        let fail = |source| QrError::Write {
            path: target.display().to_string(),
            source,
        };
        let folder = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let folder_lock = File::open(folder).map_err(fail)?;
        folder_lock.lock().map_err(fail)?;
        if std::fs::symlink_metadata(target).is_ok() {
            return Err(QrError::Exists(target.display().to_string()));
        }

        // A random name cannot be guessed ahead by another user of a shared folder; a clash
        // is retried, though at 64 random bits one is unlikely to ever happen.
        let mut tries = 0;
        let (temp, file) = loop {
            let mut random = [0u8; 8];
            fill_random(&mut random);
            let name = format!(".totpstore-{:016x}.png.tmp", u64::from_le_bytes(random));
            let temp = folder.join(name);
            match create_private(&temp) {
                Ok(file) => break (temp, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 3 => tries += 1,
                Err(e) => return Err(fail(e)),
            }
        };
        // Made first, so that a failed write below removes the file.
        let mut staged = Self {
            temp,
            target: target.into(),
            bytes,
            file,
            _folder_lock: folder_lock,
        };
        let zeros = vec![0u8; staged.bytes.len()];
        staged
            .file
            .write_all(&zeros)
            .and_then(|()| staged.file.sync_all())
            .map_err(fail)?;
        Ok(staged)
    }

    /// Gives the PNG its final name: a hard link, which never replaces an existing file or
    /// follows a link at `target`. Where the file system has no hard links, the image is
    /// written to `target` created new instead. The temporary file is removed either way.
    pub fn publish(mut self) -> Result<(), QrError> {
        let fail = |source| QrError::Write {
            path: self.target.display().to_string(),
            source,
        };
        // Over the reserved zeros: the blocks exist already, so a full disk cannot stop this.
        self.file
            .seek(io::SeekFrom::Start(0))
            .and_then(|_| self.file.write_all(&self.bytes))
            .and_then(|()| self.file.sync_all())
            .map_err(fail)?;
        match std::fs::hard_link(&self.temp, &self.target) {
            Ok(()) => Ok(()),
            Err(e) if links_unsupported(&e) => write_new_private_file(&self.target, &self.bytes),
            Err(source) => Err(QrError::Write {
                path: self.target.display().to_string(),
                source,
            }),
        }
    }
}

/// The image encodes the secret, so `Debug` shows only where it goes.
impl std::fmt::Debug for StagedPng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedPng")
            .field("temp", &self.temp)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Drop for StagedPng {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// Whether `link` failed because the file system does not do hard links (FAT and some network
/// file systems say EPERM or EOPNOTSUPP), rather than because of the target.
fn links_unsupported(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> Zeroizing<Vec<u8>> {
        Zeroizing::new(b"not really a png".to_vec())
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn staging_writes_only_a_temporary_file_and_publishing_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("john.png");

        let staged = StagedPng::stage(&target, png()).unwrap();
        let while_staged = entries(dir.path());
        staged.publish().unwrap();

        assert_eq!(while_staged.len(), 1);
        assert!(
            while_staged[0].starts_with(".totpstore-"),
            "{while_staged:?}"
        );
        assert_eq!(entries(dir.path()), ["john.png"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"not really a png");
    }

    #[test]
    fn a_target_created_meanwhile_is_kept_and_the_temporary_file_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("john.png");
        let staged = StagedPng::stage(&target, png()).unwrap();
        std::fs::write(&target, "someone else's").unwrap();

        let err = staged.publish().unwrap_err();

        assert!(
            matches!(&err, QrError::Write { source, .. }
                if source.kind() == io::ErrorKind::AlreadyExists),
            "{err:?}"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"someone else's");
        assert_eq!(entries(dir.path()), ["john.png"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_meanwhile_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("john.png");
        let staged = StagedPng::stage(&target, png()).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &target).unwrap();

        assert!(staged.publish().is_err());

        assert!(!dir.path().join("elsewhere").exists());
    }

    #[test]
    fn debug_does_not_show_the_image() {
        let dir = tempfile::tempdir().unwrap();

        let staged = StagedPng::stage(&dir.path().join("john.png"), png()).unwrap();

        let shown = format!("{staged:?}");
        assert!(
            shown.contains("john.png") && !shown.contains("110, 111, 116"),
            "{shown}"
        );
    }

    #[test]
    fn dropping_a_staged_png_removes_its_temporary_file() {
        let dir = tempfile::tempdir().unwrap();

        drop(StagedPng::stage(&dir.path().join("john.png"), png()).unwrap());

        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn staging_in_a_missing_folder_fails_naming_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("missing/john.png");

        let err = StagedPng::stage(&target, png()).unwrap_err();

        assert!(err.to_string().contains("missing/john.png"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn the_published_file_has_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("john.png");

        StagedPng::stage(&target, png()).unwrap().publish().unwrap();

        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
