//! Proof Key for Code Exchange (RFC 7636), `S256` only: `plain` proves
//! nothing against whoever saw the authorization request, so it is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The one method accepted.
pub const S256: &str = "S256";

/// `code_verifier` and `code_challenge` are 43 to 128 characters of
/// `[A-Za-z0-9-._~]` (RFC 7636 4.1, 4.2: an S256 challenge is 43).
fn well_formed(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks the challenge of an authorization request: `Ok(())` for a
/// well-formed `S256` challenge, else the reason.
pub fn check_challenge(challenge: &str, method: Option<&str>) -> Result<(), &'static str> {
    match method {
        Some(S256) => {}
        // RFC 7636 4.3: absent means plain.
        None | Some("plain") => return Err("code_challenge_method must be S256"),
        Some(_) => return Err("unsupported code_challenge_method"),
    }
    if challenge.len() != 43 || !well_formed(challenge) {
        return Err("malformed code_challenge");
    }
    Ok(())
}

/// BASE64URL(SHA256(verifier)) == challenge, compared in constant time;
/// false for a malformed verifier.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    if !well_formed(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// The challenge of `verifier` (for clients and tests).
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        assert_eq!(challenge_of(VERIFIER), CHALLENGE);
        assert!(verify(VERIFIER, CHALLENGE));
        assert_eq!(check_challenge(CHALLENGE, Some("S256")), Ok(()));
    }

    #[test]
    fn anything_else_does_not() {
        assert!(!verify(&VERIFIER.replace('d', "e"), CHALLENGE));
        assert!(
            !verify(CHALLENGE, CHALLENGE),
            "the challenge is no verifier"
        );
        assert!(!verify("short", &challenge_of("short")));
        assert!(!verify(&"a".repeat(129), &challenge_of(&"a".repeat(129))));
        assert!(!verify(&format!("{}+", &VERIFIER[1..]), CHALLENGE));
        assert!(check_challenge(CHALLENGE, Some("plain")).is_err());
        assert!(check_challenge(CHALLENGE, None).is_err());
        assert!(check_challenge(CHALLENGE, Some("S512")).is_err());
        assert!(check_challenge("abc", Some("S256")).is_err());
        assert!(check_challenge(&format!("{}=", &CHALLENGE[1..]), Some("S256")).is_err());
    }
}
