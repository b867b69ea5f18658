//! Interoperability with an independent Ed25519 implementation: OpenSSL's
//! command line, run at test time. Tickets signed by OpenSSL verify here and
//! tickets signed here verify with OpenSSL; PEM and raw key files from either
//! side are read by the other.

use std::path::Path;
use std::process::Command;

use base64::Engine;
use sso_core::{Check, KeySet, PublicKey, RawTicket, SecretKey, Signer, Ticket, Verifier};

fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn openssl_signed_ticket_verifies_here() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "sk.pem"], d);
    openssl(&["pkey", "-in", "sk.pem", "-pubout", "-out", "pk.pem"], d);
    let content = format!(
        "4|carol|mail.example.org/|example.org|{}|nonce42|staff",
        sso_core::unix_now() + 300
    );
    std::fs::write(d.join("content"), &content).unwrap();
    let sig = openssl(
        &[
            "pkeyutl", "-sign", "-rawin", "-inkey", "sk.pem", "-in", "content",
        ],
        d,
    );
    assert_eq!(sig.len(), 64);
    let mut wire = sig.clone();
    wire.extend_from_slice(content.as_bytes());
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(&wire);

    let pk = PublicKey::from_file(d.join("pk.pem")).unwrap();
    let v = Verifier::new(
        KeySet::new(&[pk]).unwrap(),
        "mail.example.org/",
        "example.org",
    )
    .unwrap();
    let t = v
        .verify(
            &encoded,
            &Check {
                now: sso_core::unix_now(),
                nonce: Some("nonce42"),
                groups: &["staff".into()],
            },
        )
        .unwrap();
    assert_eq!(t.user, "carol");

    // The raw 32-byte form of OpenSSL's key (last 32 bytes of the DER SPKI)
    // is an ai-sso public key file.
    let der = openssl(&["pkey", "-pubin", "-in", "pk.pem", "-outform", "DER"], d);
    let raw = &der[der.len() - 32..];
    assert_eq!(PublicKey::from_bytes(raw).unwrap(), pk);

    // And OpenSSL's PEM secret key signs tickets here.
    restrict(&d.join("sk.pem"));
    let signer = Signer::from_file(d.join("sk.pem")).unwrap();
    assert_eq!(signer.public_key(), pk);
    // Ed25519 is deterministic: same key, same content, same signature.
    assert_eq!(
        RawTicket::decode(&signer.sign_content(content.as_bytes()))
            .unwrap()
            .signature
            .to_vec(),
        sig
    );
}

#[test]
fn ticket_signed_here_verifies_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sk = SecretKey::generate();
    std::fs::write(d.join("pk.pem"), sk.public_key().to_pem()).unwrap();
    std::fs::write(d.join("sk.pem"), sk.to_pem()).unwrap();
    restrict(&d.join("sk.pem"));

    let mut t = Ticket::new("dave", "www.example.org/", "example.org", 1_900_000_000);
    t.groups = vec!["admins".into()];
    let encoded = Signer::new(sk).sign(&t).unwrap();
    let raw = RawTicket::decode(&encoded).unwrap();
    std::fs::write(d.join("content"), &raw.content).unwrap();
    std::fs::write(d.join("sig"), raw.signature).unwrap();
    let out = openssl(
        &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "pk.pem", "-rawin", "-in", "content",
            "-sigfile", "sig",
        ],
        d,
    );
    assert!(String::from_utf8_lossy(&out).contains("Signature Verified Successfully"));

    // A tampered content fails OpenSSL's check: the test can fail.
    std::fs::write(
        d.join("content"),
        String::from_utf8(raw.content)
            .unwrap()
            .replace("dave", "eve"),
    )
    .unwrap();
    let status = Command::new("openssl")
        .args([
            "pkeyutl", "-verify", "-pubin", "-inkey", "pk.pem", "-rawin", "-in", "content",
            "-sigfile", "sig",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!status.status.success());

    // OpenSSL reads our PEM secret key and derives the same public key.
    let pub_from_openssl = openssl(&["pkey", "-in", "sk.pem", "-pubout"], d);
    assert_eq!(
        PublicKey::from_bytes(&pub_from_openssl).unwrap(),
        PublicKey::from_file(d.join("pk.pem")).unwrap()
    );
}
