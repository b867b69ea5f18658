//! `sso-server oidc gen-key` and `oidc hash-secret`, run as an
//! administrator runs them: the key file is private, never replaced, and
//! signs; the hash matches its secret only; a short secret is refused.

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use sso_oidc::keys::SigningKeys;
use sso_oidc::token::secret_matches;

fn sso_server(args: &[&str], stdin: &str) -> Output {
    tests::server::sso_server_with_stdin(args, stdin)
}

#[test]
fn gen_key_writes_a_private_key_that_signs_and_never_replaces_one() {
    let (_dir, path) = tests::util::temp_path("oidc.pem");
    let p = path.to_str().unwrap();
    let out = sso_server(&["oidc", "gen-key", "--output", p], "");
    assert!(out.status.success(), "{out:?}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let pem = std::fs::read(&path).unwrap();
    let keys = SigningKeys::new(&pem, &[], None).expect("a usable RSA key");
    let jwks = keys.jwks();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    // 2048 bits: 256 bytes of modulus, 342 characters of base64url.
    assert_eq!(jwks["keys"][0]["n"].as_str().unwrap().len(), 342);
    let out = sso_server(&["oidc", "gen-key", "--output", p], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exists"),
        "{out:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), pem, "the key was replaced");
}

#[test]
fn hash_secret_prints_a_hash_of_that_secret_only() {
    let secret = "0123456789abcdef-a-client-secret";
    let out = sso_server(&["oidc", "hash-secret"], &format!("{secret}\n"));
    assert!(out.status.success(), "{out:?}");
    let hash = String::from_utf8(out.stdout).unwrap();
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(secret_matches(hash, secret));
    assert!(!secret_matches(hash, &secret.replace('a', "b")));
    // The secret never reaches the output or the log.
    assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    let out = sso_server(&["oidc", "hash-secret"], "short\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("16 characters"));
}
