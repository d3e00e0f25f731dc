//! TOTP itself: secrets, codes (through totp-rs) and the `otpauth://` URI.
//!
//! The URI is built here rather than by totp-rs, because its encoding must match the Authelia
//! command byte for byte for plain names and must still encode a `:` inside a username.

use secrecy::{ExposeSecret, SecretBox};

use crate::base32;
use crate::crypto::{fill_random, PlainSecret};
use crate::model::Algorithm;

/// Accepted `--secret-size` range, in bytes.
pub const SECRET_SIZE_RANGE: std::ops::RangeInclusive<usize> = 20..=128;
/// Shortest secret accepted from `--secret`, in bytes.
pub const MIN_SECRET_BYTES: usize = 10;
/// Below this, RFC 4226 section 4 (128 bits) is not met and a warning is printed.
pub const RECOMMENDED_SECRET_BYTES: usize = 16;
/// Accepted `--period` range, in seconds.
pub const PERIOD_RANGE: std::ops::RangeInclusive<u32> = 15..=3600;
/// Accepted `--digits` values.
pub const DIGITS: [u32; 2] = [6, 8];

/// A new random secret of `size` bytes from the operating system's CSPRNG.
pub fn random_secret(size: usize) -> PlainSecret {
    let mut bytes = vec![0u8; size];
    fill_random(&mut bytes);
    SecretBox::new(Box::new(bytes))
}

/// The code for `secret` at Unix time `unix_time`.
pub fn code(
    secret: &PlainSecret,
    algorithm: Algorithm,
    digits: u32,
    period: u32,
    unix_time: u64,
) -> String {
    let algorithm = match algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    };
    // Non-compliant build: totp-rs would refuse the 10..16-byte secrets we accept with a
    // warning; digits and period are already validated by the caller.
    let totp = totp_rs::Builder::new()
        .with_algorithm(algorithm)
        .with_digits(digits as u8)
        .with_step_duration(u64::from(period))
        .with_secret(secret.expose_secret().clone())
        .build_noncompliant();
    totp.generate(unix_time).to_string()
}

/// Percent-encodes as UTF-8, keeping RFC 3986 unreserved characters and `@` literal.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Everything that goes into an `otpauth://` URI except the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriParams<'a> {
    /// Issuer, shown by the app and used as the label prefix.
    pub issuer: &'a str,
    /// Account name.
    pub username: &'a str,
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// Code length.
    pub digits: u32,
    /// Seconds per code.
    pub period: u32,
}

/// Builds `otpauth://totp/ISSUER:USER?algorithm=..&digits=..&issuer=..&period=..&secret=..`.
///
/// The result contains the secret, so it is returned as a secret.
pub fn uri(params: &UriParams<'_>, secret: &PlainSecret) -> secrecy::SecretString {
    let encoded = zeroize::Zeroizing::new(base32::encode(secret.expose_secret()));
    uri_with_base32(params, &encoded)
}

/// Like [`uri`], with the secret already in base32: a secret the operator typed is printed
/// as typed (see [`base32::normalize`]), not re-encoded from its bytes.
pub fn uri_with_base32(params: &UriParams<'_>, encoded_secret: &str) -> secrecy::SecretString {
    let issuer = percent_encode(params.issuer);
    let uri = format!(
        "otpauth://totp/{issuer}:{user}?algorithm={algorithm}&digits={digits}&issuer={issuer}\
         &period={period}&secret={encoded_secret}",
        user = percent_encode(params.username),
        algorithm = params.algorithm,
        digits = params.digits,
        period = params.period,
    );
    uri.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(bytes: &[u8]) -> PlainSecret {
        SecretBox::new(Box::new(bytes.to_vec()))
    }

    /// RFC 6238 Appendix B: the seeds are the ASCII digits "1234567890" repeated to the hash's
    /// key length, 8-digit codes, 30-second steps.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let sha1 = secret(b"12345678901234567890");
        let sha256 = secret(b"12345678901234567890123456789012");
        let sha512 = secret(b"1234567890123456789012345678901234567890123456789012345678901234");
        let vectors: &[(u64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for &(time, c1, c256, c512) in vectors {
            assert_eq!(
                code(&sha1, Algorithm::Sha1, 8, 30, time),
                c1,
                "SHA1 at {time}"
            );
            assert_eq!(
                code(&sha256, Algorithm::Sha256, 8, 30, time),
                c256,
                "SHA256 at {time}"
            );
            assert_eq!(
                code(&sha512, Algorithm::Sha512, 8, 30, time),
                c512,
                "SHA512 at {time}"
            );
        }
    }

    #[test]
    fn six_digit_codes_keep_leading_zeros() {
        // RFC 6238's SHA1 code at 1111111109 is 07081804; its last six digits are 081804.
        let sha1 = secret(b"12345678901234567890");
        assert_eq!(code(&sha1, Algorithm::Sha1, 6, 30, 1111111109), "081804");
    }

    fn params<'a>(issuer: &'a str, username: &'a str) -> UriParams<'a> {
        UriParams {
            issuer,
            username,
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        }
    }

    #[test]
    fn uri_for_plain_names_matches_authelia() {
        let s = secret(b"12345678901234567890");
        let uri = uri(&params("Authelia", "john"), &s);
        assert_eq!(
            uri.expose_secret(),
            "otpauth://totp/Authelia:john?algorithm=SHA1&digits=6&issuer=Authelia&period=30\
             &secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn uri_encodes_spaces_utf8_and_colons_and_keeps_at() {
        let s = secret(b"12345678901234567890");
        let uri = uri(&params("Example Inc", "jöhn:doe@example.com"), &s);
        assert_eq!(
            uri.expose_secret(),
            "otpauth://totp/Example%20Inc:j%C3%B6hn%3Adoe@example.com?algorithm=SHA1&digits=6\
             &issuer=Example%20Inc&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn percent_encoding_keeps_unreserved() {
        assert_eq!(percent_encode("A-z.0_9~@"), "A-z.0_9~@");
        assert_eq!(percent_encode("a b+c&d=e/f?"), "a%20b%2Bc%26d%3De%2Ff%3F");
        assert_eq!(percent_encode("名"), "%E5%90%8D");
    }

    #[test]
    fn random_secrets_have_the_requested_size_and_differ() {
        let a = random_secret(32);
        let b = random_secret(32);
        assert_eq!(a.expose_secret().len(), 32);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
