//! Token realms over a real sshd: `ssotool realm init/add/remove`, the
//! forced command's tickets and refusals.

use std::os::unix::process::CommandExt;

use tests::ssh::{ClientKey, Realm, Sshd};
use tests::util::bin;

use tests::ssh::{REALM_API as API, REALM_DOMAIN as DOMAIN};
const WIKI: &str = "wiki.example.org/app/";

/// A realm for API with one key, alice's, and no groups: the start of most
/// tests here.
fn realm_with_alice() -> (Realm, ClientKey) {
    Realm::with_alice(DOMAIN, &[API], 600, "")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn ssh_ticket_verifies_with_the_realm_public_key() {
    tests::return_unless_root!("a system account and sshd");
    let (realm, key) = Realm::with_alice(DOMAIN, &[API, WIKI], 600, "ops,dev");
    let sshd = Sshd::start(&[&realm.name]);

    // No service asked for: the realm's default (first) service.
    let out = sshd.ssh(&key, &realm.name, None);
    assert!(
        out.status.success(),
        "ssh: {out:?}\nsshd log:\n{}",
        sshd.log()
    );
    let ticket = text(&out.stdout).trim().to_owned();
    let verified = realm.verify(&ticket, API);
    assert!(verified.status.success(), "verify: {verified:?}");
    let fields = text(&verified.stdout);
    assert!(fields.contains("user:    alice"), "{fields}");
    assert!(fields.contains("groups:  ops,dev"), "{fields}");
    assert!(fields.contains("nonce:   \n"), "v4 without nonce: {fields}");
    // Bound to its service: it does not verify for the other one.
    assert!(!realm.verify(&ticket, WIKI).status.success());

    // An allowed service asked for by name.
    let out = sshd.ssh(&key, &realm.name, Some(WIKI));
    assert!(out.status.success(), "ssh {WIKI}: {out:?}");
    let ticket = text(&out.stdout).trim().to_owned();
    let verified = realm.verify(&ticket, WIKI);
    assert!(verified.status.success(), "verify: {verified:?}");

    // The lifetime comes from the realm settings (600 s).
    let inspect = std::process::Command::new(bin("ssotool"))
        .args(["inspect", "--", &ticket])
        .output()
        .unwrap();
    let expires: u64 = text(&inspect.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("expires: "))
        .expect("expires line")
        .trim()
        .parse()
        .unwrap();
    let now = sso_core::unix_now();
    assert!(
        expires > now + 500 && expires <= now + 600,
        "expires {expires}, now {now}"
    );

    // A ticket signed by another realm's key does not verify with this one.
    // The ticket is checked to be a real one first, so that a failed ssh
    // (no ticket at all) cannot pass for a rejection.
    let other = Realm::init(DOMAIN, &[API], 600);
    let out = sshd.ssh(&key, &realm.name, None);
    assert!(out.status.success(), "ssh: {out:?}\n{}", sshd.log());
    let ticket = text(&out.stdout).trim().to_owned();
    assert!(!ticket.is_empty(), "no ticket: {out:?}");
    assert!(realm.verify(&ticket, API).status.success());
    let other_verified = other.verify(&ticket, API);
    assert!(!other_verified.status.success(), "{other_verified:?}");
    assert!(
        text(&other_verified.stderr).contains("bad signature"),
        "{other_verified:?}"
    );
}

#[test]
fn ssh_removed_key_is_refused_by_sshd() {
    tests::return_unless_root!("a system account and sshd");
    let realm = Realm::init(DOMAIN, &[API], 600);
    let alice = ClientKey::generate("alice");
    let bob = ClientKey::generate("bob");
    realm.add(&alice, "alice", "");
    realm.add(&bob, "bob", "");
    let sshd = Sshd::start(&[&realm.name]);
    assert!(sshd.ssh(&alice, &realm.name, None).status.success());

    let out = realm.admin(&["remove", &realm.name, "alice"]);
    assert!(out.status.success(), "remove: {out:?}");
    let accepted_before = sshd.accepted_logins(&realm.name);
    let out = sshd.ssh(&alice, &realm.name, None);
    assert_eq!(out.status.code(), Some(255), "ssh must fail: {out:?}");
    assert!(out.stdout.is_empty(), "no ticket: {out:?}");
    assert!(text(&out.stderr).contains("Permission denied"), "{out:?}");
    assert_eq!(sshd.accepted_logins(&realm.name), accepted_before);
    // The other user's key still works.
    let out = sshd.ssh(&bob, &realm.name, None);
    assert!(out.status.success(), "{out:?}");
    assert!(realm.verify(text(&out.stdout).trim(), API).status.success());
}

#[test]
fn ssh_disallowed_service_and_shell_command_are_refused() {
    tests::return_unless_root!("a system account and sshd");
    let (realm, key) = realm_with_alice();
    let sshd = Sshd::start(&[&realm.name]);

    let out = sshd.ssh(&key, &realm.name, Some("other.example.org/"));
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "no ticket: {out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("service other.example.org/ is not allowed"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    let marker = realm.root().join("pwned");
    for command in [
        format!("touch {}", marker.display()),
        "cat /etc/passwd".to_string(),
        "/bin/sh".to_string(),
        format!("{API};id"),
    ] {
        let out = sshd.ssh(&key, &realm.name, Some(&command));
        assert!(!out.status.success(), "{command}: {out:?}");
        assert!(out.stdout.is_empty(), "{command}: {out:?}");
        assert!(
            text(&out.stderr).contains("not a service name"),
            "{command}: {out:?}"
        );
    }
    assert!(!marker.exists(), "the command must not have run");
    // sshd did authenticate those, and ran only the forced command.
    let log = sshd.log();
    assert!(log.contains("forced-command (key-option)"), "{log}");
}

#[test]
fn ssh_unreadable_realm_key_is_refused_until_sync() {
    tests::return_unless_root!("a system account and sshd");
    let (realm, key) = realm_with_alice();
    let sshd = Sshd::start(&[&realm.name]);
    // The secret key handed to root: the realm account cannot read it.
    std::os::unix::fs::chown(realm.secret_key_path(), Some(0), Some(0)).unwrap();
    let out = sshd.ssh(&key, &realm.name, None);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("cannot use the secret key of realm"), "{err}");
    // Refused for its owner, before anyone tries to read it.
    assert!(
        err.contains(&format!("must be a file owned by {}", realm.name)),
        "{err}"
    );
    assert!(err.contains("realm sync"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    // Root could read it, but a key that is not the account's own does
    // not sign even when root runs the forced command.
    let out = realm.admin(&["issue", &realm.name, "alice"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        text(&out.stderr).contains("must be a file owned by"),
        "{out:?}"
    );
    // `realm sync` restores the owner; tickets flow again.
    let out = realm.admin(&["sync", &realm.name]);
    assert!(out.status.success(), "{out:?}");
    let out = sshd.ssh(&key, &realm.name, None);
    assert!(out.status.success(), "{out:?}");
    assert!(realm.verify(text(&out.stdout).trim(), API).status.success());
}

#[test]
fn ssh_non_utf8_command_is_refused() {
    tests::return_unless_root!("a system account and sshd");
    use std::os::unix::ffi::OsStrExt;
    let (realm, key) = realm_with_alice();
    let sshd = Sshd::start(&[&realm.name]);
    // An allowed service with one byte that is not UTF-8: it must not
    // become a request for the default service.
    let out = std::process::Command::new("ssh")
        .arg("-T")
        .args(sshd.ssh_options(&key))
        .arg(format!("{}@127.0.0.1", realm.name))
        .arg(std::ffi::OsStr::from_bytes(b"api.example.org\xff/"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}\n{}", sshd.log());
    assert!(out.stdout.is_empty(), "no ticket: {out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("the requested command is not UTF-8"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert_eq!(sshd.accepted_logins(&realm.name), 1);
}

#[test]
fn ssh_forced_command_ignores_the_root_variable_and_a_closed_stdout() {
    tests::return_unless_root!("a system account and sshd");
    let (realm, _alice) = realm_with_alice();

    // `issue` without --root is the realm under `/`, whatever
    // $SSO_REALM_ROOT says (sshd may pass a client's variables on).
    let out = std::process::Command::new(&realm.ssotool)
        .args(["realm", "issue", &realm.name, "alice"])
        .env("SSO_REALM_ROOT", realm.root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "unknown realm {} (no /etc/sso/realms/",
            realm.name
        )),
        "{err}"
    );
    // The administration commands still honour it.
    let out = std::process::Command::new(&realm.ssotool)
        .args(["realm", "list", &realm.name])
        .env("SSO_REALM_ROOT", realm.root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // A client that is gone (stdout a pipe nobody reads): a one-line
    // error and exit status 1, not a panic.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = realm
        .admin_command(&["issue", &realm.name, "alice"])
        .stdout(writer)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(err.contains("cannot write ticket"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn ssh_realm_made_under_umask_077_is_reachable() {
    tests::return_unless_root!("a system account and sshd");
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let realm = Realm::init_under_umask(DOMAIN, &[API], 600, Some("077"));
    let key = ClientKey::generate("alice");
    realm.add(&key, "alice", "");
    let sshd = Sshd::start(&[&realm.name]);
    let parents = [
        "etc",
        "etc/sso",
        "etc/sso/realms",
        "var",
        "var/lib",
        "var/lib/sso-realm",
    ];
    let check_parents = || {
        for dir in parents {
            let meta = std::fs::metadata(realm.root().join(dir)).unwrap();
            assert_eq!((dir, meta.uid(), meta.mode() & 0o7777), (dir, 0, 0o755));
        }
    };
    check_parents();
    let out = sshd.ssh(&key, &realm.name, None);
    assert!(out.status.success(), "ssh: {out:?}\n{}", sshd.log());
    assert!(realm.verify(text(&out.stdout).trim(), API).status.success());

    // `realm sync` (under the same umask) repairs the realms' parents.
    for dir in ["etc/sso/realms", "var/lib/sso-realm"] {
        std::fs::set_permissions(
            realm.root().join(dir),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
    }
    assert!(!sshd.ssh(&key, &realm.name, None).status.success());
    let out = realm
        .admin_command_under_umask("077", &["sync", &realm.name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    check_parents();
    let out = sshd.ssh(&key, &realm.name, None);
    assert!(out.status.success(), "ssh: {out:?}\n{}", sshd.log());
}

#[test]
fn ssh_realm_admin_reports_clear_errors() {
    tests::return_unless_root!("a system account and sshd");
    let (realm, key) = realm_with_alice();
    let stderr = |out: std::process::Output| {
        assert!(!out.status.success(), "must fail: {out:?}");
        text(&out.stderr)
    };

    let err = stderr(realm.admin(&["list", "ssotnosuchrealm"]));
    assert!(err.contains("unknown realm ssotnosuchrealm"), "{err}");

    let err = stderr(realm.admin(&[
        "add".as_ref(),
        realm.name.as_str().as_ref(),
        key.public.as_os_str(),
        "--user".as_ref(),
        "alice".as_ref(),
    ]));
    assert!(err.contains("user alice is already present"), "{err}");

    let other = ClientKey::generate("other");
    let err = stderr(realm.admin(&[
        "add".as_ref(),
        realm.name.as_str().as_ref(),
        other.public.as_os_str(),
        "--user".as_ref(),
        "bad user".as_ref(),
    ]));
    assert!(err.contains("invalid user name"), "{err}");

    // Options smuggled in a key file, a wrong embedded type, garbage.
    let pub_line = std::fs::read_to_string(&other.public).unwrap();
    let blob = pub_line.split_whitespace().nth(1).unwrap().to_owned();
    for bad in [
        format!("command=\"/bin/sh\" {pub_line}"),
        format!("ssh-rsa {blob} x"),
        "ssh-ed25519 not-base64!!".to_string(),
        String::new(),
    ] {
        let file = realm.root().join("bad.pub");
        std::fs::write(&file, &bad).unwrap();
        let err = stderr(realm.admin(&[
            "add".as_ref(),
            realm.name.as_str().as_ref(),
            file.as_os_str(),
            "--user".as_ref(),
            "mallory".as_ref(),
        ]));
        assert!(err.contains("malformed key"), "{bad:?}: {err}");
    }
    let users = text(&realm.admin(&["list", &realm.name]).stdout);
    assert!(!users.contains("mallory"), "{users}");

    // An existing account that is not a realm.
    let root_err = stderr(realm.admin(&["init", "root", "--domain", DOMAIN, "--service", API]));
    assert!(root_err.contains("not an SSO realm"), "{root_err}");
    let err = stderr(realm.admin(&["init", &realm.name, "--domain", DOMAIN, "--service", API]));
    assert!(err.contains("already exists"), "{err}");
    let err = stderr(realm.admin(&["init", "Bad;Name", "--domain", DOMAIN, "--service", API]));
    assert!(err.contains("invalid realm name"), "{err}");

    // Not root.
    let mut cmd = realm.admin_command(&["remove", &realm.name, "alice"]);
    cmd.uid(65534).gid(65534);
    let err = stderr(cmd.output().unwrap());
    assert!(err.contains("not root"), "{err}");
    assert!(text(&realm.admin(&["list", &realm.name]).stdout).contains("user alice"));
}

#[test]
fn ssh_managed_files_have_safe_owners_and_modes() {
    tests::return_unless_root!("a system account and sshd");
    use std::os::unix::fs::MetadataExt;
    let (realm, _key) = Realm::with_alice(DOMAIN, &[API], 600, "ops");
    let account = sso_realm::account::lookup(&realm.name)
        .unwrap()
        .expect("account");
    let secret = std::fs::metadata(realm.secret_key_path()).unwrap();
    assert_eq!(secret.uid(), account.uid);
    assert_eq!(secret.mode() & 0o777, 0o400);
    let home = realm.root().join("var/lib/sso-realm").join(&realm.name);
    assert_eq!(account.home, home);
    let ak_path = home.join(".ssh/authorized_keys");
    let ak = std::fs::metadata(&ak_path).unwrap();
    assert_eq!((ak.uid(), ak.mode() & 0o777), (0, 0o644));
    let lines: Vec<String> = std::fs::read_to_string(&ak_path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let expected = format!(
        "restrict,command=\"{} realm issue --root {} {} alice\" ",
        realm.ssotool.display(),
        realm.root().display(),
        realm.name
    );
    assert!(lines[0].starts_with(&expected), "{}\n{expected}", lines[0]);
    assert!(lines[0].ends_with(" alice@laptop"), "{}", lines[0]);

    // sync restores a tampered file.
    std::fs::write(&ak_path, "ssh-ed25519 AAAA tampered\n").unwrap();
    let out = realm.admin(&["sync", &realm.name]);
    assert!(out.status.success(), "{out:?}");
    let synced = std::fs::read_to_string(&ak_path).unwrap();
    assert!(
        synced.contains(&expected) && !synced.contains("tampered"),
        "{synced}"
    );

    // The realm account itself cannot forge: the secret key is its own,
    // but every file that decides who gets what is root's.
    let users = std::fs::metadata(
        realm
            .root()
            .join("etc/sso/realms")
            .join(&realm.name)
            .join("users"),
    )
    .unwrap();
    assert_eq!((users.uid(), users.mode() & 0o022), (0, 0));
}

#[test]
fn ssh_realm_delete_removes_the_account() {
    tests::return_unless_root!("a system account and sshd");
    let realm = Realm::init(DOMAIN, &[API], 600);
    assert!(sso_realm::account::lookup(&realm.name).unwrap().is_some());
    let out = realm.admin(&["delete", &realm.name]);
    assert!(out.status.success(), "{out:?}");
    assert!(sso_realm::account::lookup(&realm.name).unwrap().is_none());
    assert!(!realm
        .root()
        .join("etc/sso/realms")
        .join(&realm.name)
        .exists());
    assert!(!realm
        .root()
        .join("var/lib/sso-realm")
        .join(&realm.name)
        .exists());
    let out = realm.admin(&["delete", &realm.name]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown realm"),
        "{out:?}"
    );
}
