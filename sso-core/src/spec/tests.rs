use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::{SecretKey, Signer, Ticket};

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A private directory with a public key file `pub.key` of seed `seed`.
fn key_dir(seed: u8) -> (tempfile::TempDir, PathBuf, SecretKey) {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o700);
    let secret = SecretKey::from_seed(&[seed; 32]);
    let path = dir.path().join("pub.key");
    std::fs::write(&path, secret.public_key().to_raw()).unwrap();
    chmod(&path, 0o644);
    (dir, path, secret)
}

fn uid() -> u32 {
    file_trust::effective_uid()
}

fn spec_with(path: &Path) -> VerifierSpec {
    VerifierSpec {
        keys: vec![KeySpec::file(path)],
        service: Some("www.example.org/app/".into()),
        domain: Some("example.org".into()),
        login_server: Some("https://login.example.org/".into()),
        ..VerifierSpec::default()
    }
}

fn fields(errors: &SpecErrors) -> Vec<Field> {
    errors.0.iter().map(|e| e.field).collect()
}

#[test]
fn a_trusted_key_file_loads() {
    let (_dir, path, secret) = key_dir(1);
    assert_eq!(load_key_file(&path, uid()).unwrap(), secret.public_key());
}

#[test]
fn a_key_file_others_could_write_is_refused() {
    let (dir, path, _) = key_dir(1);
    for mode in [0o664, 0o646] {
        chmod(&path, mode);
        let e = load_key_file(&path, uid()).unwrap_err();
        assert_eq!(e.field, Field::KeyFile);
        assert!(matches!(e.problem, Problem::Untrusted(_)), "{e}");
        assert!(e.to_string().contains("refused: is writable by"), "{e}");
    }
    chmod(&path, 0o644);
    chmod(dir.path(), 0o770);
    let e = load_key_file(&path, uid()).unwrap_err();
    assert!(e.to_string().contains("its directory"), "{e}");
}

#[test]
fn a_key_file_of_another_user_is_refused() {
    if uid() == 0 {
        // Root owns the file, and root is always trusted.
        return;
    }
    let (_dir, path, _) = key_dir(1);
    let e = load_key_file(&path, uid() + 1).unwrap_err();
    assert!(e.to_string().contains("is owned by uid"), "{e}");
}

#[test]
fn missing_malformed_and_directory_key_files_name_the_file() {
    let (dir, path, _) = key_dir(1);
    let missing = dir.path().join("missing.key");
    let e = load_key_file(&missing, uid()).unwrap_err();
    assert!(
        matches!(&e.problem, Problem::Key(k) if matches!(k.kind, crate::KeyErrorKind::NotFound))
    );
    assert!(e.to_string().contains("does not exist"), "{e}");
    std::fs::write(&path, b"0123456789").unwrap();
    let e = load_key_file(&path, uid()).unwrap_err();
    assert!(e.to_string().contains("malformed"), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    let e = load_key_file(dir.path(), uid()).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

#[test]
fn key_bytes_and_pins_are_checked() {
    let key = SecretKey::from_seed(&[2; 32]).public_key();
    assert_eq!(key_bytes(&key.to_raw()).unwrap(), key);
    assert_eq!(key_bytes(b"short").unwrap_err().field, Field::KeyBytes);
    assert!(key_services("www\\.example\\.org/.*").is_ok());
    for bad in ["", "("] {
        assert_eq!(key_services(bad).unwrap_err().field, Field::KeyServices);
    }
    assert!(key_services("(")
        .unwrap_err()
        .to_string()
        .contains("service pattern '('"));
}

#[test]
fn service_names() {
    assert_eq!(
        service("imap.example.org/").unwrap().as_str(),
        "imap.example.org/"
    );
    for bad in [
        "https://h/x/",
        "h/x",
        "",
        "/x/",
        "h/a b/",
        "h/a|b/",
        "h/../",
    ] {
        assert_eq!(service(bad).unwrap_err().field, Field::Service, "{bad:?}");
    }
}

#[test]
fn domains() {
    assert_eq!(domain("example.org").unwrap(), "example.org");
    for bad in ["", "a|b", "a\"b", "a\nb", "a\u{85}b"] {
        assert_eq!(domain(bad).unwrap_err().field, Field::Domain, "{bad:?}");
    }
}

#[test]
fn clock_skew_is_capped() {
    assert_eq!(clock_skew(MAX_CLOCK_SKEW).unwrap(), 3600);
    assert_eq!(clock_skew(3601).unwrap_err().field, Field::ClockSkew);
    assert_eq!(clock_skew_text("30").unwrap(), 30);
    for bad in ["", "-1", "1s", " 1", "3601", "99999999999999999999999"] {
        assert_eq!(
            clock_skew_text(bad).unwrap_err().field,
            Field::ClockSkew,
            "{bad:?}"
        );
    }
}

#[test]
fn group_lists() {
    let mut list = Vec::new();
    groups("staff, admins ,staff", &mut list).unwrap();
    groups("admins", &mut list).unwrap();
    assert_eq!(list, ["staff", "admins"]);
    for bad in ["", ",", "a,,b", "a,", "a|b", "a\tb", "a\u{7f}"] {
        assert_eq!(
            groups(bad, &mut list).unwrap_err().field,
            Field::Groups,
            "{bad:?}"
        );
    }
    assert!(group("a b").is_err());
    assert!(group("a,b").is_err());
}

#[test]
fn login_servers_and_cookie_prefixes() {
    assert!(login_server("https://login.example.org/").is_ok());
    for bad in [
        "login.example.org",
        "ftp://login/",
        "https:///x",
        "https://a/\"x",
    ] {
        assert_eq!(
            login_server(bad).unwrap_err().field,
            Field::LoginServer,
            "{bad:?}"
        );
    }
    assert_eq!(cookie_prefix("MyApp_-.1").unwrap(), "MyApp_-.1");
    for bad in ["", "a;b", "a b", "é"] {
        assert_eq!(
            cookie_prefix(bad).unwrap_err().field,
            Field::CookiePrefix,
            "{bad:?}"
        );
    }
}

#[test]
fn a_spec_builds_a_verifier_that_verifies() {
    let (_dir, path, secret) = key_dir(3);
    let mut spec = spec_with(&path);
    spec.clock_skew = 30;
    let verifier = spec.verifier().unwrap();
    assert_eq!(verifier.clock_skew(), 30);
    let t = Ticket::new("alice", "www.example.org/app/", "example.org", 1000);
    let encoded = Signer::new(secret).sign(&t).unwrap();
    assert!(verifier.verify(&encoded, &crate::Check::at(1020)).is_ok());
    let settings = spec.settings().unwrap();
    assert_eq!(settings.service.as_str(), "www.example.org/app/");
    assert_eq!(settings.login_server, "https://login.example.org/");
    assert!(settings.binding);
}

#[test]
fn every_error_is_reported_at_once_naming_its_field() {
    let (dir, _, _) = key_dir(3);
    let spec = VerifierSpec {
        keys: vec![
            KeySpec::file(dir.path().join("missing.key")),
            KeySpec {
                source: KeySource::Bytes(b"junk".to_vec()),
                services: Some("(".into()),
            },
        ],
        service: Some("host/x".into()),
        domain: Some("a|b".into()),
        clock_skew: 7200,
        groups: vec!["a b".into()],
        login_server: Some("login".into()),
        cookie_prefix: Some("a;b".into()),
        ..VerifierSpec::default()
    };
    let errors = spec.settings().unwrap_err();
    assert_eq!(
        fields(&errors),
        [
            Field::KeyFile,
            Field::KeyBytes,
            Field::KeyServices,
            Field::Service,
            Field::Domain,
            Field::ClockSkew,
            Field::Groups,
            Field::LoginServer,
            Field::CookiePrefix
        ]
    );
    assert!(
        errors.to_string().starts_with("public_key_files: key file"),
        "{errors}"
    );
}

#[test]
fn missing_fields_are_named() {
    let errors = VerifierSpec::default().settings().unwrap_err();
    assert_eq!(
        fields(&errors),
        [
            Field::KeyFile,
            Field::Service,
            Field::Domain,
            Field::LoginServer
        ]
    );
    assert!(errors
        .0
        .iter()
        .all(|e| matches!(e.problem, Problem::Missing)));
}

#[test]
fn an_untrusted_key_file_fails_the_spec() {
    let (_dir, path, _) = key_dir(3);
    chmod(&path, 0o666);
    let errors = spec_with(&path).verifier().unwrap_err();
    assert!(matches!(errors.0[0].problem, Problem::Untrusted(_)));
}

#[test]
fn pins_keep_keys_to_their_services() {
    let (dir, path, site) = key_dir(4);
    let realm = SecretKey::from_seed(&[5; 32]);
    let realm_path = dir.path().join("realm.key");
    std::fs::write(&realm_path, realm.public_key().to_raw()).unwrap();
    let mut spec = spec_with(&path);
    spec.keys.push(KeySpec {
        source: KeySource::File(realm_path.clone()),
        services: Some("www\\.example\\.org/realm/".into()),
    });
    let app = spec.verifier().unwrap();
    assert_eq!(app.keys_pinned_elsewhere(), 1);
    let sign = |key: &SecretKey, service: &str| {
        Signer::new(key.clone())
            .sign(&Ticket::new("alice", service, "example.org", 1000))
            .unwrap()
    };
    let check = crate::Check::at(10);
    assert_eq!(
        app.verify(&sign(&realm, "www.example.org/app/"), &check),
        Err(crate::Error::BadSignature)
    );
    assert!(app
        .verify(&sign(&site, "www.example.org/app/"), &check)
        .is_ok());
    spec.service = Some("www.example.org/realm/".into());
    let realm_verifier = spec.verifier().unwrap();
    assert!(realm_verifier
        .verify(&sign(&realm, "www.example.org/realm/"), &check)
        .is_ok());
    // Only the pinned key, for another service: no key at all.
    spec.keys.remove(0);
    spec.service = Some("www.example.org/app/".into());
    let errors = spec.verifier().unwrap_err();
    assert_eq!(fields(&errors), [Field::KeyServices]);
}

#[test]
fn verifier_for_applies_the_same_rules() {
    let key = SecretKey::from_seed(&[6; 32]).public_key();
    let keys = KeySet::new(&[key]).unwrap();
    let service = service("h/app/").unwrap();
    assert_eq!(
        verifier_for(&keys, &service, "d", 10).unwrap().clock_skew(),
        10
    );
    assert_eq!(
        verifier_for(&keys, &service, "d", 3601).unwrap_err().field,
        Field::ClockSkew
    );
}

#[test]
fn refusals_stay_on_one_line_without_control_characters() {
    // The messages go to syslog and httpd's error log: a value that holds
    // a newline or an escape must not forge or split a log line.
    let group = group("ma{\u{1f}s").unwrap_err().to_string();
    let pattern = key_services("(\n\u{1b}[31m").unwrap_err().to_string();
    for text in [group, pattern] {
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }
}
