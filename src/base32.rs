//! RFC 4648 base32, as TOTP secrets are written in `otpauth://` URIs and typed by operators.
//!
//! Decoding is lenient where people are sloppy (letter case, spaces, `=` padding) and strict
//! where leniency would lose data: a length that no whole number of bytes can produce is
//! refused instead of silently dropping the dangling bits.

use std::fmt;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Why a base32 string could not be decoded; it never repeats the input, which may be a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A character outside the alphabet, at this 1-based position of the input.
    InvalidCharacter {
        /// 1-based position in the input as given.
        position: usize,
    },
    /// `=` padding followed by more data.
    MisplacedPadding,
    /// The number of data characters leaves 1, 3 or 6 characters past a multiple of 8.
    ImpossibleLength {
        /// Number of data characters after removing spaces and padding.
        characters: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidCharacter { position } => write!(
                f,
                "character {position} is not in the base32 alphabet (A-Z, 2-7)"
            ),
            Self::MisplacedPadding => f.write_str("'=' padding is only allowed at the end"),
            Self::ImpossibleLength { characters } => write!(
                f,
                "{characters} base32 characters cannot encode a whole number of bytes \
                 (the secret looks truncated)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Encodes `bytes` as upper-case base32 without padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        // 8 bits per byte, 5 bits per character, rounded up.
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            let index = (bits >> (35 - 5 * i)) & 0x1f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// The form of a secret the operator typed that goes into a URI: upper case, without spaces
/// or `=` padding, and otherwise as given. Unused bits in the last character are kept, since
/// rewriting them would print a secret other than the one typed (and every decoder drops
/// them, so both forms give the same bytes).
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .filter(|&c| c != ' ' && c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Decodes base32, tolerating lower case, spaces and trailing `=` padding.
pub fn decode(input: &str) -> Result<Vec<u8>, DecodeError> {
    let mut values = Vec::with_capacity(input.len());
    let mut padding_seen = false;
    for (i, c) in input.chars().enumerate() {
        match c {
            ' ' => continue,
            '=' => padding_seen = true,
            _ if padding_seen => return Err(DecodeError::MisplacedPadding),
            _ => {
                let upper = c.to_ascii_uppercase();
                let value = match upper {
                    'A'..='Z' => upper as u8 - b'A',
                    '2'..='7' => upper as u8 - b'2' + 26,
                    _ => return Err(DecodeError::InvalidCharacter { position: i + 1 }),
                };
                values.push(value);
            }
        }
    }

    let characters = values.len();
    if matches!(characters % 8, 1 | 3 | 6) {
        return Err(DecodeError::ImpossibleLength { characters });
    }

    let mut out = Vec::with_capacity(characters * 5 / 8);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for value in values {
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 section 10 test vectors.
    const RFC4648: &[(&str, &str)] = &[
        ("", ""),
        ("f", "MY======"),
        ("fo", "MZXQ===="),
        ("foo", "MZXW6==="),
        ("foob", "MZXW6YQ="),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI======"),
    ];

    #[test]
    fn encodes_rfc4648_vectors_without_padding() {
        for (plain, encoded) in RFC4648 {
            assert_eq!(
                encode(plain.as_bytes()),
                encoded.trim_end_matches('='),
                "{plain:?}"
            );
        }
    }

    #[test]
    fn decodes_rfc4648_vectors_with_and_without_padding() {
        for (plain, encoded) in RFC4648 {
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes(), "{encoded}");
            let bare = encoded.trim_end_matches('=');
            assert_eq!(decode(bare).unwrap(), plain.as_bytes(), "{bare}");
        }
    }

    #[test]
    fn tolerates_lower_case_and_spaces() {
        assert_eq!(decode("mzxw 6ytb oi").unwrap(), b"foobar");
    }

    #[test]
    fn refuses_impossible_lengths_instead_of_truncating() {
        for input in ["M", "MZX", "MZXW6Y", "MZXW6YTBO"] {
            assert!(
                matches!(decode(input), Err(DecodeError::ImpossibleLength { .. })),
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_characters_outside_the_alphabet_without_echoing_them() {
        let err = decode("MZXW1YTB").unwrap_err();
        assert_eq!(err, DecodeError::InvalidCharacter { position: 5 });
        assert!(!err.to_string().contains("MZXW"));
        assert!(matches!(
            decode("MY==MY=="),
            Err(DecodeError::MisplacedPadding)
        ));
    }

    #[test]
    fn normalizing_keeps_the_characters_as_typed() {
        assert_eq!(
            normalize("jbsw y3dp ehpk 3pxp ab======"),
            "JBSWY3DPEHPK3PXPAB"
        );
        assert_eq!(
            decode(&normalize("JBSWY3DPEHPK3PXPAB")).unwrap(),
            decode("JBSWY3DPEHPK3PXPAA").unwrap()
        );
    }

    #[test]
    fn round_trips_every_byte_value() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
    }
}
