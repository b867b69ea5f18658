//! The rules for a session secret, and how to make one.
//!
//! A session secret keys the session cookies and the CSRF tokens: whoever
//! knows it can seal a session for any user. So a secret is accepted only
//! in a stated encoding that carries enough randomness (hex or base64 of at
//! least [`MIN_SECRET_BYTES`] bytes), never a placeholder a reader could
//! have copied from an example, and never a low-variety string that only
//! looks long.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use rand_core::{OsRng, RngCore};

/// Random bytes a secret must carry: 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;

/// Fewest distinct byte values in a decoded secret. 32 random bytes hold
/// about 30 distinct values; fewer than 16 happens by chance with a
/// probability far below 2^-100, and catches repeated patterns such as
/// `0123456789abcdef0123...` or `aaaa...` written in hex or base64.
const MIN_DISTINCT_BYTES: usize = 16;

/// Secrets that were shipped or documented somewhere at some time, and
/// words that mark a placeholder. Compared ignoring case.
const KNOWN_PLACEHOLDERS: &[&str] = &[
    "CHANGE-ME-to-a-long-random-string-(openssl rand -base64 33)",
    "test-session-secret-0123456789abcdef",
    "bench-session-secret-0123456789abcdef",
];
const PLACEHOLDER_WORDS: &[&str] = &["changeme", "change-me", "change_me", "replace-me"];

/// Why a secret was refused; Display is the end of a sentence that starts
/// with the key's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    Placeholder,
    NotEncoded,
    TooShort(usize),
    LowVariety,
}

impl std::fmt::Display for SecretError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretError::Placeholder => f.write_str("is a published placeholder, not a secret"),
            SecretError::NotEncoded => f.write_str("is neither hex nor base64"),
            SecretError::TooShort(n) => write!(
                f,
                "decodes to {n} bytes; at least {MIN_SECRET_BYTES} random bytes are needed"
            ),
            SecretError::LowVariety => {
                f.write_str("repeats a pattern: it does not look like random bytes")
            }
        }
    }
}

/// How to make a good secret, for error messages and docs.
pub const HOW_TO_MAKE_ONE: &str =
    "make one with `sso-server gen-secret` (or `openssl rand -base64 32`)";

/// The bytes a secret encodes: hex when it is hex (even length, hex digits
/// only), else base64 (standard or URL-safe, padded or not).
pub fn decode(secret: &str) -> Option<Vec<u8>> {
    let s = secret.trim();
    if !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
            .collect();
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok())
}

/// Checks a configured session secret.
pub fn check(secret: &str) -> Result<(), SecretError> {
    let lower = secret.to_ascii_lowercase();
    if KNOWN_PLACEHOLDERS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(secret.trim()))
        || PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w))
    {
        return Err(SecretError::Placeholder);
    }
    let bytes = decode(secret).ok_or(SecretError::NotEncoded)?;
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(SecretError::TooShort(bytes.len()));
    }
    let mut seen = [false; 256];
    for b in &bytes {
        seen[usize::from(*b)] = true;
    }
    if seen.iter().filter(|&&s| s).count() < MIN_DISTINCT_BYTES || is_periodic(&bytes) {
        return Err(SecretError::LowVariety);
    }
    Ok(())
}

/// True when the bytes repeat one shorter run (`abcabc...`): random bytes
/// of this length do so with a probability below 2^-128.
fn is_periodic(bytes: &[u8]) -> bool {
    (1..=bytes.len() / 2).any(|p| bytes.iter().enumerate().all(|(i, b)| *b == bytes[i % p]))
}

/// A fresh secret: 32 bytes from the OS, standard base64.
pub fn generate() -> String {
    let mut b = [0u8; MIN_SECRET_BYTES];
    OsRng.fill_bytes(&mut b);
    STANDARD.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_pass_and_differ() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(check(&a), Ok(()));
        assert_eq!(decode(&a).map(|v| v.len()), Some(MIN_SECRET_BYTES));
    }

    #[test]
    fn hex_and_base64_of_random_bytes_pass() {
        let bytes: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(check(&hex), Ok(()));
        assert_eq!(check(&hex.to_uppercase()), Ok(()));
        assert_eq!(check(&URL_SAFE_NO_PAD.encode(&bytes)), Ok(()));
        assert_eq!(check(&STANDARD.encode(&bytes)), Ok(()));
    }

    #[test]
    fn placeholders_and_weak_strings_are_refused() {
        for p in KNOWN_PLACEHOLDERS {
            assert_eq!(check(p), Err(SecretError::Placeholder), "{p}");
        }
        let fake = format!("ChangeMe{}", generate());
        assert_eq!(check(&fake), Err(SecretError::Placeholder));
        assert_eq!(
            check("this is a long sentence that is no secret at all!"),
            Err(SecretError::NotEncoded)
        );
        // 16 bytes of randomness is not enough.
        assert_eq!(
            check(&STANDARD.encode([7u8, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16])),
            Err(SecretError::TooShort(16))
        );
        // Long, encoded, but a pattern.
        assert_eq!(
            check(&"0123456789abcdef".repeat(4)),
            Err(SecretError::LowVariety)
        );
        assert_eq!(check(&"a".repeat(64)), Err(SecretError::LowVariety));
        // 16 distinct bytes, twice.
        assert_eq!(
            check("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
            Err(SecretError::LowVariety)
        );
        assert_eq!(
            check(&STANDARD.encode([0u8; 48])),
            Err(SecretError::LowVariety)
        );
    }
}
