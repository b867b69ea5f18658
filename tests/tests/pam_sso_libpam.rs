//! pam_sso loaded by the real libpam (pam_start_confdir on a private service
//! directory), one test per case of the issue, plus the exported symbols.

use std::process::Command;

use sso_core::{KeyFormat, Ticket, Version};
use tests::pam::{
    asking_line, authenticate_fresh, keys_and_account, keys_and_service, module_args, module_path,
    sso_line, user_ticket, write_conf, ServiceDir, DOMAIN, PAM_AUTHINFO_UNAVAIL, PAM_AUTH_ERR,
    PAM_SERVICE_ERR, PAM_SUCCESS, SERVICE, USER,
};
use tests::util::{self, TestKeys};

/// A service directory whose service "sso" is `auth required pam_sso ARGS`.
fn single(args: &str) -> ServiceDir {
    ServiceDir::with_module(&["sso"], args)
}

/// A ticket of the fresh keys for `user`, valid for `ttl` seconds more.
fn ticket(user: &'static str, ttl: i64) -> impl FnOnce(&TestKeys) -> Vec<u8> {
    move |keys| {
        keys.ticket(user, SERVICE, DOMAIN, ttl, None, &[])
            .into_bytes()
    }
}

#[test]
fn valid_v4_ticket_is_accepted() {
    let r = authenticate_fresh("", USER, ticket(USER, 120));
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
    assert_eq!(r.prompts, 1);
    assert_eq!(r.setcred, Some(PAM_SUCCESS), "pam_setcred after success");
}

#[test]
fn valid_v3_ticket_is_accepted() {
    let (keys, dir) = keys_and_service("");
    let mut t = Ticket::new(USER, SERVICE, DOMAIN, sso_core::unix_now() + 120);
    t.version = Version::V3;
    let ticket = keys.signer.sign(&t).unwrap();
    let r = dir.authenticate("sso", USER, ticket.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
}

#[test]
fn pem_public_key_file_works() {
    let keys = TestKeys::with_format(KeyFormat::Pem);
    let dir = single(&module_args(&keys.public_path, ""));
    let r = dir.authenticate_user("sso", &keys);
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
}

#[test]
fn ticket_for_another_user_is_refused() {
    let (keys, dir) = keys_and_service("");
    let ticket = keys.ticket("mallory", SERVICE, DOMAIN, 120, None, &[]);
    let r = dir.authenticate("sso", USER, ticket.as_bytes());
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
    // The same ticket does work for its own user: the refusal was the user.
    let r = dir.authenticate("sso", "mallory", ticket.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
}

#[test]
fn expired_ticket_is_refused() {
    let r = authenticate_fresh("", USER, ticket(USER, -120));
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
}

#[test]
fn clock_skew_accepts_a_just_expired_ticket() {
    let r = authenticate_fresh("clock_skew=600", USER, ticket(USER, -120));
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
}

#[test]
fn ticket_for_another_service_is_refused() {
    let r = authenticate_fresh("", USER, |keys| {
        let service = "webmail.example.org/";
        keys.ticket(USER, service, DOMAIN, 120, None, &[]).into()
    });
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
}

#[test]
fn ticket_for_another_domain_is_refused() {
    let r = authenticate_fresh("", USER, |keys| {
        keys.ticket(USER, SERVICE, "example.com", 120, None, &[])
            .into()
    });
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
}

#[test]
fn forged_ticket_is_refused() {
    let r = authenticate_fresh("", USER, |_| ticket(USER, 120)(&TestKeys::new()));
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
}

#[test]
fn tampered_ticket_is_refused() {
    let r = authenticate_fresh("", USER, |keys| {
        // Flip one character inside the signature part.
        let mut bytes = ticket(USER, 120)(keys);
        bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
        bytes
    });
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
}

#[test]
fn empty_password_is_refused() {
    let r = authenticate_fresh("", USER, |_| Vec::new());
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
}

#[test]
fn ten_kilobyte_password_is_refused() {
    let r = authenticate_fresh("", USER, |_| vec![b'A'; 10 * 1024]);
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
}

#[test]
fn non_utf8_password_is_refused() {
    let r = authenticate_fresh("", USER, |_| b"\xff\xfe\x80abc".to_vec());
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
}

#[test]
fn groups_option_requires_a_listed_group() {
    let (keys, dir) = keys_and_service("groups=mail,staff");
    let member = keys.ticket(USER, SERVICE, DOMAIN, 120, None, &["staff"]);
    assert_eq!(
        dir.authenticate("sso", USER, member.as_bytes()).code,
        PAM_SUCCESS
    );
    let outsider = keys.ticket(USER, SERVICE, DOMAIN, 120, None, &["web"]);
    assert_eq!(
        dir.authenticate("sso", USER, outsider.as_bytes()).code,
        PAM_AUTH_ERR
    );
    let none = user_ticket(&keys);
    assert_eq!(
        dir.authenticate("sso", USER, none.as_bytes()).code,
        PAM_AUTH_ERR
    );
}

#[test]
fn second_key_accepts_tickets_during_rotation() {
    let new = TestKeys::new();
    let old = TestKeys::new();
    let dir = single(&module_args(
        &new.public_path,
        &format!("key={}", old.public_path.display()),
    ));
    for keys in [&new, &old] {
        let ticket = user_ticket(keys);
        assert_eq!(
            dir.authenticate("sso", USER, ticket.as_bytes()).code,
            PAM_SUCCESS
        );
    }
}

#[test]
fn missing_key_file_is_authinfo_unavail() {
    let keys = TestKeys::new();
    let missing = keys.dir.path().join("no-such.key");
    let dir = single(&module_args(&missing, ""));
    let r = dir.authenticate_user("sso", &keys);
    assert_eq!(r.code, PAM_AUTHINFO_UNAVAIL, "{r:?}");
    assert_eq!(r.prompts, 0, "no prompt when nothing can be verified");
}

#[test]
fn bad_options_are_service_err() {
    let keys = TestKeys::new();
    let key = format!("key={}", keys.public_path.display());
    let ticket = user_ticket(&keys);
    let cases = [
        format!("{key} domain={DOMAIN} service={SERVICE} nullok"),
        format!("{key} service={SERVICE}"),
        format!("{key} domain={DOMAIN}"),
        format!("domain={DOMAIN} service={SERVICE}"),
        format!("key=relative.key domain={DOMAIN} service={SERVICE}"),
        format!("{key} domain={DOMAIN} service={SERVICE} clock_skew=soon"),
        format!("{key} domain={DOMAIN} service={SERVICE} groups=a,,b"),
        format!("{key} domain={DOMAIN} service={SERVICE} domain=other.org"),
        format!("{key} domain={DOMAIN} service={SERVICE} use_first_pass try_first_pass"),
        format!("{key} domain={DOMAIN} service=imap.example.org"),
    ];
    for args in cases {
        let dir = single(&args);
        let r = dir.authenticate("sso", USER, ticket.as_bytes());
        assert_eq!(r.code, PAM_SERVICE_ERR, "{args}: {r:?}");
        assert_eq!(r.prompts, 0, "{args}");
    }
}

#[test]
fn malformed_key_file_is_service_err() {
    let keys = TestKeys::new();
    let bad = keys.dir.path().join("bad.key");
    std::fs::write(&bad, b"this is not a key").unwrap();
    let dir = single(&module_args(&bad, ""));
    let ticket = user_ticket(&keys);
    assert_eq!(
        dir.authenticate("sso", USER, ticket.as_bytes()).code,
        PAM_SERVICE_ERR
    );
}

/// A public key file that a non-root user could write (the file or a
/// directory above it) would let that user mint tickets for anyone, root
/// included, under su, sudo and sshd: refused as PAM_SERVICE_ERR before any
/// prompt. Each case is put right again to show the rule was the refusal.
#[test]
fn writable_key_files_are_service_err() {
    let (keys, dir) = keys_and_service("");
    let ticket = user_ticket(&keys);
    let expect = |code: i32, case: &str| {
        let r = dir.authenticate("sso", USER, ticket.as_bytes());
        assert_eq!(r.code, code, "{case}: {r:?}");
        if code == PAM_SERVICE_ERR {
            assert_eq!(r.prompts, 0, "{case}: no prompt");
        }
    };
    let key = keys.public_path.as_path();
    let folder = keys.dir.path();
    for (path, mode, case) in [
        (key, 0o664, "group-writable file"),
        (key, 0o646, "other-writable file"),
        (folder, 0o770, "group-writable directory"),
        (folder, 0o707, "other-writable directory"),
    ] {
        chmod(path, mode);
        expect(PAM_SERVICE_ERR, case);
        chmod(path, if path == key { 0o644 } else { 0o700 });
        expect(PAM_SUCCESS, case);
    }
    // A sticky directory (as /tmp) protects the entries of others.
    chmod(folder, 0o1777);
    expect(PAM_SUCCESS, "sticky directory");
    chmod(folder, 0o700);
}

#[test]
fn key_files_owned_by_another_user_are_service_err() {
    tests::return_unless_root!("chown");
    let (keys, dir) = keys_and_service("");
    let ticket = user_ticket(&keys);
    const NOBODY: u32 = 65534;
    for path in [keys.public_path.as_path(), keys.dir.path()] {
        std::os::unix::fs::chown(path, Some(NOBODY), None).unwrap();
        let r = dir.authenticate("sso", USER, ticket.as_bytes());
        assert_eq!(r.code, PAM_SERVICE_ERR, "{}: {r:?}", path.display());
        std::os::unix::fs::chown(path, Some(0), None).unwrap();
        let r = dir.authenticate("sso", USER, ticket.as_bytes());
        assert_eq!(r.code, PAM_SUCCESS, "{}: {r:?}", path.display());
    }
}

fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn login_server_and_debug_are_accepted() {
    let r = authenticate_fresh(
        "login_server=https://login.example.org/ debug",
        USER,
        ticket(USER, 120),
    );
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
}

#[test]
fn use_first_pass_without_an_earlier_password_fails_without_asking() {
    let r = authenticate_fresh("use_first_pass", USER, ticket(USER, 120));
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
    assert_eq!(r.prompts, 0);
}

#[test]
fn use_first_pass_takes_the_password_of_an_earlier_module() {
    // The first pam_sso line (wrong service) asks and stores the answer;
    // the second, with use_first_pass, verifies the same ticket silently.
    let keys = TestKeys::new();
    let dir = ServiceDir::with_service(
        "sso",
        &(asking_line(&keys) + &sso_line("required", &keys, "use_first_pass")),
    );
    let r = dir.authenticate_user("sso", &keys);
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
    assert_eq!(r.prompts, 1);
}

/// `auth sufficient pam_sso` then `auth required pam_unix try_first_pass`
/// for a throwaway local user: a ticket or the Unix password both work,
/// the user is asked once, and a wrong password still fails.
#[test]
fn try_first_pass_stacking_with_pam_unix() {
    let unix_password = "correct horse battery staple";
    let Some((keys, account)) = keys_and_account(unix_password) else {
        return;
    };
    let dir = ServiceDir::with_service(
        "stack",
        &format!(
            "{}auth required pam_unix.so try_first_pass nodelay\n\
             account required pam_permit.so\n",
            sso_line("sufficient", &keys, "")
        ),
    );
    let ticket = keys.ticket(&account.name, SERVICE, DOMAIN, 120, None, &[]);
    let r = dir.authenticate("stack", &account.name, ticket.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "ticket: {r:?}");
    assert_eq!(r.prompts, 1);

    let r = dir.authenticate("stack", &account.name, unix_password.as_bytes());
    assert_eq!(
        r.code, PAM_SUCCESS,
        "unix password after pam_sso declined: {r:?}"
    );
    assert_eq!(
        r.prompts, 1,
        "pam_unix must reuse the answer pam_sso stored"
    );

    let r = dir.authenticate("stack", &account.name, b"wrong password");
    assert_eq!(r.code, PAM_AUTH_ERR, "wrong password: {r:?}");

    let expired = keys.ticket(&account.name, SERVICE, DOMAIN, -120, None, &[]);
    let r = dir.authenticate("stack", &account.name, expired.as_bytes());
    assert_eq!(
        r.code, PAM_AUTH_ERR,
        "expired ticket is not a Unix password: {r:?}"
    );

    // A ticket for another user must not let this one in through the stack.
    let other = keys.ticket("root", SERVICE, DOMAIN, 120, None, &[]);
    let r = dir.authenticate("stack", &account.name, other.as_bytes());
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
}

/// With its key missing, a `sufficient` pam_sso steps aside and the Unix
/// password still works (pam_unix then asks for itself).
#[test]
fn sufficient_stacking_survives_a_missing_key() {
    let unix_password = "another throwaway password";
    let Some((keys, account)) = keys_and_account(unix_password) else {
        return;
    };
    let dir = ServiceDir::with_service(
        "stack",
        &format!(
            "auth sufficient {} {}\n\
             auth required pam_unix.so try_first_pass nodelay\n",
            module_path().display(),
            module_args(&keys.dir.path().join("gone.key"), "")
        ),
    );
    let r = dir.authenticate("stack", &account.name, unix_password.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
    assert_eq!(r.prompts, 1);
}

/// The module alone as `sufficient`: a refusal must not turn into success.
#[test]
fn sufficient_alone_fails_closed() {
    let keys = TestKeys::new();
    let dir = ServiceDir::new();
    dir.add("alone", &sso_line("sufficient", &keys, ""));
    let r = dir.authenticate("alone", USER, b"not a ticket");
    assert_ne!(r.code, PAM_SUCCESS, "{r:?}");
    let ticket = user_ticket(&keys);
    assert_eq!(
        dir.authenticate("alone", USER, ticket.as_bytes()).code,
        PAM_SUCCESS
    );
}

/// Many threads of one process authenticating at once (each with its own
/// handle, as threaded servers do): every answer is still the right one.
#[test]
fn concurrent_authentications_in_threads() {
    let (keys, dir) = keys_and_service("");
    let forger = TestKeys::new();
    let good = user_ticket(&keys);
    let expired = keys.ticket(USER, SERVICE, DOMAIN, -120, None, &[]);
    let forged = forger.ticket(USER, SERVICE, DOMAIN, 120, None, &[]);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (dir, good, expired, forged) = (&dir, &good, &expired, &forged);
            scope.spawn(move || {
                for i in 0..25 {
                    let (password, expected) = match (t + i) % 3 {
                        0 => (good, PAM_SUCCESS),
                        1 => (expired, PAM_AUTH_ERR),
                        _ => (forged, PAM_AUTH_ERR),
                    };
                    let r = dir.authenticate("sso", USER, password.as_bytes());
                    assert_eq!(r.code, expected, "thread {t} round {i}: {r:?}");
                }
            });
        }
    });
}

/// The module exports exactly the PAM service functions it implements.
#[test]
fn exports_only_pam_sm_functions() {
    let out = util::run_ok(
        Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(module_path()),
    );
    let mut symbols: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .collect();
    symbols.sort();
    assert_eq!(symbols, vec!["pam_sm_authenticate", "pam_sm_setcred"]);

    let out = Command::new("nm")
        .args(["-D", "--undefined-only"])
        .arg(module_path())
        .output()
        .expect("run nm");
    let undefined = String::from_utf8_lossy(&out.stdout);
    for f in [
        "pam_get_user",
        "pam_get_item",
        "pam_set_item",
        "pam_get_authtok",
        "pam_syslog",
    ] {
        assert!(
            undefined.contains(f),
            "{f} should come from libpam:\n{undefined}"
        );
    }
}

/// `conf=FILE` (what the pam-auth-update profile uses): the site settings
/// come from a root-owned file; a file others could write is refused like a
/// key file, and an unedited file (everything commented out) decides
/// nothing.
#[test]
fn settings_come_from_a_trusted_conf_file() {
    let keys = TestKeys::new();
    let settings = format!(
        "# site settings\nkey={}  domain={DOMAIN}\nservice={SERVICE} # this host\n",
        keys.public_path.display()
    );
    let conf = write_conf(&keys, &settings);
    let dir = single(&format!("conf={}", conf.display()));
    let ticket = user_ticket(&keys);
    let code = || dir.authenticate("sso", USER, ticket.as_bytes()).code;
    assert_eq!(code(), PAM_SUCCESS);

    // A ticket for another service is still refused: the settings apply.
    let other = keys.ticket(USER, "www.example.org/", DOMAIN, 120, None, &[]);
    assert_eq!(
        dir.authenticate("sso", USER, other.as_bytes()).code,
        PAM_AUTH_ERR
    );

    chmod(&conf, 0o664);
    assert_eq!(code(), PAM_SERVICE_ERR, "group-writable conf file");
    chmod(&conf, 0o644);
    assert_eq!(code(), PAM_SUCCESS);

    let commented: String = settings.lines().map(|l| format!("#{l}\n")).collect();
    std::fs::write(&conf, commented).unwrap();
    assert_eq!(code(), PAM_SERVICE_ERR, "unedited conf file");

    // An argument given on the line and in the file is a duplicate.
    std::fs::write(&conf, &settings).unwrap();
    let twice = single(&format!("conf={} domain={DOMAIN}", conf.display()));
    assert_eq!(
        twice.authenticate("sso", USER, ticket.as_bytes()).code,
        PAM_SERVICE_ERR
    );
    std::fs::remove_file(&conf).unwrap();
    assert_eq!(code(), PAM_SERVICE_ERR, "missing conf file");
}
