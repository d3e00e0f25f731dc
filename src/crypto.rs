//! Sealing of TOTP secrets at rest.
//!
//! The configured encryption key (any string of at least 20 characters) is stretched with
//! HKDF-SHA256 into a 256-bit key. Each secret is sealed with XChaCha20-Poly1305 under a fresh
//! random 24-byte nonce, with associated data naming the table, column and username, so a
//! sealed value copied into another user's row (or another column) fails to open. The stored
//! form is `version || nonce || ciphertext+tag`.
//!
//! What this protects against: someone who reads the database (a dump, a backup, a replica)
//! but not the key learns no secret and cannot move one secret to another account unnoticed.
//! It does not protect against someone who holds the key, or who can run this tool.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

/// First byte of every sealed value; bumped if the format or key derivation ever changes.
pub const FORMAT_VERSION: u8 = 1;
/// Shortest accepted encryption key, in characters.
pub const MIN_KEY_CHARS: usize = 20;

const HKDF_INFO: &[u8] = b"totpstore v1 secret sealing key";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Table and column a TOTP secret is bound to.
const SECRET_TABLE: &str = crate::store::RECORDS_TABLE;
const SECRET_COLUMN: &str = "secret";
/// Metadata key and fixed plaintext of the encryption check value.
pub const CHECK_KEY: &str = "encryption_check";
const CHECK_PLAINTEXT: &[u8] = b"totpstore encryption check v1";

/// A plaintext TOTP secret; zeroed on drop and never shown by `Debug`.
pub type PlainSecret = SecretBox<Vec<u8>>;

/// Why a key was refused or a value did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// The configured key is shorter than [`MIN_KEY_CHARS`]. The key itself is never shown.
    #[error("the encryption key must be at least {MIN_KEY_CHARS} characters long, it has {0}")]
    KeyTooShort(usize),
    /// The configured key is only white space (or invisible characters): no key at all, in
    /// effect, and usually an unset variable or template. The key itself is never shown.
    #[error(
        "the encryption key is only white space; use a random string of at least \
         {MIN_KEY_CHARS} characters"
    )]
    KeyBlank,
    /// Wrong key, tampered value, or a value moved from another row.
    #[error("the value does not open with this key (wrong key, or the value was altered)")]
    Open,
    /// Unknown format version or truncated value.
    #[error("the sealed value is malformed")]
    Malformed,
}

/// The derived sealing key. Zeroed on drop; `Debug` shows nothing of it.
pub struct SealingKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

/// White space, controls, and the zero-width characters and byte order mark that show as
/// nothing: a key made only of these is blank.
fn is_blank(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

impl SealingKey {
    /// Derives the sealing key from the configured encryption key.
    pub fn derive(key: &SecretString) -> Result<Self, CryptoError> {
        let text = key.expose_secret();
        if !text.is_empty() && text.chars().all(is_blank) {
            return Err(CryptoError::KeyBlank);
        }
        let chars = key.expose_secret().chars().count();
        if chars < MIN_KEY_CHARS {
            return Err(CryptoError::KeyTooShort(chars));
        }
        let hkdf = Hkdf::<Sha256>::new(None, key.expose_secret().as_bytes());
        let mut okm = Zeroizing::new([0u8; 32]);
        hkdf.expand(HKDF_INFO, okm.as_mut())
            .map_err(|_| CryptoError::Malformed)?;
        let cipher =
            XChaCha20Poly1305::new_from_slice(okm.as_ref()).map_err(|_| CryptoError::Malformed)?;
        Ok(Self { cipher })
    }

    /// Seals a TOTP secret for `username`'s row.
    pub fn seal_secret(&self, username: &str, secret: &PlainSecret) -> Vec<u8> {
        self.seal(&secret_aad(username), secret.expose_secret())
    }

    /// Opens a TOTP secret sealed for `username`'s row.
    pub fn open_secret(&self, username: &str, sealed: &[u8]) -> Result<PlainSecret, CryptoError> {
        self.open(&secret_aad(username), sealed)
            .map(|v| SecretBox::new(Box::new(v)))
    }

    /// The encryption check value stored in the metadata at initialisation.
    pub fn seal_check(&self) -> Vec<u8> {
        self.seal(&check_aad(), CHECK_PLAINTEXT)
    }

    /// Whether a stored check value opens with this key.
    pub fn verify_check(&self, sealed: &[u8]) -> Result<(), CryptoError> {
        let plain = Zeroizing::new(self.open(&check_aad(), sealed)?);
        if plain.as_slice() == CHECK_PLAINTEXT {
            Ok(())
        } else {
            Err(CryptoError::Open)
        }
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        // Encryption only fails for messages past XChaCha20's 256 GiB limit, far beyond a
        // 128-byte secret, so this cannot fail here.
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .expect("XChaCha20-Poly1305 cannot fail on a short message");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != FORMAT_VERSION {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Open)
    }
}

/// Associated data for a secret: every part is length-prefixed, so no two different
/// (table, column, username) triples can produce the same bytes.
fn secret_aad(username: &str) -> Vec<u8> {
    aad(&[SECRET_TABLE, SECRET_COLUMN, username])
}

fn check_aad() -> Vec<u8> {
    aad(&["metadata", "value", CHECK_KEY])
}

fn aad(parts: &[&str]) -> Vec<u8> {
    let mut out = b"totpstore/v1".to_vec();
    for part in parts {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// Fills `buf` from the operating system's CSPRNG.
///
/// A machine whose kernel cannot supply randomness cannot generate secrets safely at all, so
/// this aborts the command rather than continuing with weak values.
pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SealingKey {
        SealingKey::derive(&SecretString::from(s)).unwrap()
    }

    fn secret(bytes: &[u8]) -> PlainSecret {
        SecretBox::new(Box::new(bytes.to_vec()))
    }

    #[test]
    fn short_keys_are_refused() {
        let err = SealingKey::derive(&SecretString::from("nineteen-characters")).unwrap_err();
        assert_eq!(err, CryptoError::KeyTooShort(19));
        assert!(!err.to_string().contains("nineteen"));
    }

    #[test]
    fn blank_keys_are_refused_whatever_their_length() {
        for blank in [
            " ".repeat(25),
            "\t \u{a0}\u{3000}\u{200b}\u{feff}\n".repeat(5),
        ] {
            let err = SealingKey::derive(&SecretString::from(blank)).unwrap_err();

            assert_eq!(err, CryptoError::KeyBlank);
        }
    }

    #[test]
    fn a_key_with_spaces_around_text_is_not_blank() {
        assert!(SealingKey::derive(&SecretString::from("   twenty-characters!   ")).is_ok());
    }

    #[test]
    fn sealed_secret_opens_for_its_own_row_only() {
        let k = key("a-long-enough-encryption-key");
        let sealed = k.seal_secret("john", &secret(b"0123456789abcdef"));
        assert_eq!(sealed[0], FORMAT_VERSION);
        assert_eq!(sealed.len(), 1 + 24 + 16 + 16);
        assert_eq!(
            k.open_secret("john", &sealed).unwrap().expose_secret(),
            b"0123456789abcdef"
        );
        assert_eq!(
            k.open_secret("John", &sealed).unwrap_err(),
            CryptoError::Open
        );
        assert_eq!(
            k.open_secret("mallory", &sealed).unwrap_err(),
            CryptoError::Open
        );
    }

    #[test]
    fn nonces_are_fresh_per_value() {
        let k = key("a-long-enough-encryption-key");
        let s = secret(b"same secret, same user");
        assert_ne!(k.seal_secret("john", &s), k.seal_secret("john", &s));
    }

    #[test]
    fn wrong_key_and_tampering_are_detected() {
        let sealed = key("a-long-enough-encryption-key").seal_check();
        assert!(key("a-long-enough-encryption-key")
            .verify_check(&sealed)
            .is_ok());
        assert_eq!(
            key("another-long-encryption-key").verify_check(&sealed),
            Err(CryptoError::Open)
        );

        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(key("a-long-enough-encryption-key")
            .verify_check(&flipped)
            .is_err());
        assert_eq!(
            key("a-long-enough-encryption-key").verify_check(&sealed[..20]),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        assert_eq!(
            format!("{:?}", key("a-long-enough-encryption-key")),
            "SealingKey(..)"
        );
    }
}
