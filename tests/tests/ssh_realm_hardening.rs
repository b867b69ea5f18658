//! Token realms over a real sshd, the hardening side: the realm account has
//! no shell (its login shell is ssotool, which runs only the forced
//! command), the files a realm trusts pass StrictModes-style checks, and a
//! realm of the old layout (`/bin/sh`, key = value realm.conf) is migrated
//! by `ssotool realm sync`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use tests::ssh::{ClientKey, Realm, Sshd};

use tests::ssh::{REALM_API as API, REALM_DOMAIN as DOMAIN};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The login shell of `account` in the account database.
fn login_shell(account: &str) -> String {
    sso_realm::account::lookup(account)
        .unwrap()
        .expect("account")
        .shell
        .display()
        .to_string()
}

fn chmod(path: &std::path::Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A ticket came out and verifies for API.
fn assert_ticket(realm: &Realm, out: &Output, sshd: &Sshd) {
    assert!(out.status.success(), "{out:?}\nsshd log:\n{}", sshd.log());
    let ticket = text(&out.stdout).trim().to_owned();
    assert!(realm.verify(&ticket, API).status.success(), "{ticket}");
}

#[test]
fn ssh_realm_account_gets_no_shell_even_without_the_forced_command() {
    tests::return_unless_root!("a system account and sshd");
    let (realm, alice) = Realm::with_alice(DOMAIN, &[API], 600, "");
    let own = fs::canonicalize(&realm.ssotool).unwrap();
    assert_eq!(login_shell(&realm.name), own.display().to_string());

    // A key line added by hand, without `restrict,command=...`: sshd runs
    // whatever the client asks for through the account's login shell.
    let mistake = ClientKey::generate("added-by-hand");
    let authorized_keys = realm.home().join(".ssh/authorized_keys");
    let mut lines = fs::read_to_string(&authorized_keys).unwrap();
    lines.push_str(&fs::read_to_string(&mistake.public).unwrap());
    fs::write(&authorized_keys, lines).unwrap();
    let sshd = Sshd::start(&[&realm.name]);

    let marker = realm.root().join("pwned");
    let secret_key = realm.secret_key_path();
    for command in [
        None,
        Some("/bin/sh".to_string()),
        Some(format!("/bin/sh -c 'touch {}'", marker.display())),
        Some(format!("cat {}", secret_key.display())),
        Some(format!(
            "{} sign --secret-key {} --user root --service {API} --domain {DOMAIN}",
            own.display(),
            secret_key.display()
        )),
    ] {
        let out = sshd.ssh(&mistake, &realm.name, command.as_deref());
        assert_eq!(out.status.code(), Some(1), "{command:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{command:?}: {out:?}");
        assert!(
            text(&out.stderr).contains("it has no shell"),
            "{command:?}: {out:?}"
        );
    }
    assert!(!marker.exists(), "a command ran");
    // All five were logins that sshd accepted: the shell refused them.
    assert_eq!(sshd.accepted_logins(&realm.name), 5, "{}", sshd.log());

    // The only command the shell runs is the forced command itself.
    let forced = format!(
        "{} realm issue --root {} {} alice",
        own.display(),
        realm.root().display(),
        realm.name
    );
    let out = sshd.ssh(&mistake, &realm.name, Some(&forced));
    assert_ticket(&realm, &out, &sshd);
    // The managed key still works as before.
    let out = sshd.ssh(&alice, &realm.name, None);
    assert_ticket(&realm, &out, &sshd);
}

#[test]
fn ssh_realm_sync_migrates_an_old_realm() {
    tests::return_unless_root!("a system account and sshd");
    let (realm, alice) = Realm::with_alice(DOMAIN, &[API], 600, "");
    // What an older ssotool made: /bin/sh and key = value settings.
    let status = Command::new("usermod")
        .args(["--shell", "/bin/sh", "--", &realm.name])
        .status()
        .unwrap();
    assert!(status.success());
    let conf = realm.config_dir().join("realm.conf");
    fs::write(
        &conf,
        format!(
            "# SSO token realm settings, managed by `ssotool realm`.\nname = {}\n\
             domain = {DOMAIN}\nttl = 600\nissuer = {}\nservice = {API}\n",
            realm.name,
            realm.ssotool.display()
        ),
    )
    .unwrap();
    let sshd = Sshd::start(&[&realm.name]);
    let out = sshd.ssh(&alice, &realm.name, None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("old `key = value` format"), "{err}");
    assert!(err.contains("ssotool realm sync"), "{err}");

    let out = realm.admin(&["sync", &realm.name]);
    assert!(out.status.success(), "{out:?}");
    let migrated = fs::read_to_string(&conf).unwrap();
    assert!(
        migrated.contains(&format!("services = [\"{API}\"]")),
        "{migrated}"
    );
    let own = fs::canonicalize(&realm.ssotool).unwrap();
    assert_eq!(login_shell(&realm.name), own.display().to_string());
    let out = sshd.ssh(&alice, &realm.name, None);
    assert_ticket(&realm, &out, &sshd);
}

#[test]
fn ssh_realm_refuses_trusted_files_others_can_write() {
    tests::return_unless_root!("a system account and sshd");
    let (realm, alice) = Realm::with_alice(DOMAIN, &[API], 600, "");
    let sshd = Sshd::start(&[&realm.name]);
    let conf = realm.config_dir().join("realm.conf");
    let users = realm.config_dir().join("users");
    let issue = || {
        let out = sshd.ssh(&alice, &realm.name, None);
        assert!(out.stdout.is_empty(), "no ticket: {out:?}");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        text(&out.stderr)
    };

    // realm.conf and users: group-writable, or owned by someone else.
    for file in [&conf, &users] {
        chmod(file, 0o664);
        let err = issue();
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(err.contains("not writable by group or others"), "{err}");
        chmod(file, 0o644);
        std::os::unix::fs::chown(file, Some(65534), None).unwrap();
        assert!(issue().contains("owned by root"));
        std::os::unix::fs::chown(file, Some(0), None).unwrap();
    }
    // A directory above them that others may write.
    chmod(&realm.config_dir(), 0o757);
    let err = issue();
    assert!(
        err.contains(&format!(
            "{}: refused: its directory {} is writable by others (mode 0757)",
            conf.display(),
            realm.config_dir().display()
        )),
        "{err}"
    );
    chmod(&realm.config_dir(), 0o755);
    // A symlink instead of the file.
    fs::rename(&conf, realm.root().join("elsewhere.conf")).unwrap();
    std::os::unix::fs::symlink(realm.root().join("elsewhere.conf"), &conf).unwrap();
    assert!(issue().contains("is a symlink"));
    fs::remove_file(&conf).unwrap();
    fs::rename(realm.root().join("elsewhere.conf"), &conf).unwrap();
    assert_ticket(&realm, &sshd.ssh(&alice, &realm.name, None), &sshd);

    // The secret key's directory, writable by its group (sshd itself
    // would refuse the home, so root runs the forced command here).
    let issue_as_root = || realm.admin(&["issue", &realm.name, "alice"]);
    assert!(issue_as_root().status.success());
    let state_parent = realm.root().join("var/lib/sso-realm");
    chmod(&state_parent, 0o775);
    let out = issue_as_root();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("cannot use the secret key of realm"), "{err}");
    assert!(err.contains(&state_parent.display().to_string()), "{err}");
    chmod(&state_parent, 0o755);
    assert!(issue_as_root().status.success());
}
