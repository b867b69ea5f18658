//! Where a ticket may serve as a password (issue 19, item 5), through the
//! real libpam and pamtester: a browser ticket (one with a nonce, which
//! travels in `sso_login?t=` URLs) is never a password, and the PAM
//! services that escalate privilege (sudo, su, polkit, ...) do not take
//! tickets unless `pam_services=` names them.

use tests::pam::{
    installed_sso, keys_and_account, module_args, sso_line, user_ticket, write_conf,
    InstalledService, PrivateSyslog, ServiceDir, DOMAIN, PAM_AUTH_ERR, PAM_PERM_DENIED,
    PAM_SERVICE_ERR, PAM_SUCCESS, SERVICE, USER,
};
use tests::util::TestKeys;

/// A nonce as the login server's browser flow puts in (32 hex digits).
const NONCE: &str = "5f0e3c9a1b2d4e6f8091a2b3c4d5e6f7";

/// A leaked `sso_login?t=TICKET` URL whose ticket names this host's
/// service must not log its user in: the nonce marks it as a browser
/// ticket. The same claims without a nonce (what ssotool or the token
/// exchange mint for programs) still work.
#[test]
fn a_browser_ticket_is_refused_and_the_same_without_nonce_accepted() {
    let keys = TestKeys::new();
    let dir = ServiceDir::with_module(&["sshd"], &module_args(&keys.public_path, ""));
    let browser = keys.ticket(USER, SERVICE, DOMAIN, 120, Some(NONCE), &[]);
    let r = dir.authenticate("sshd", USER, browser.as_bytes());
    assert_eq!(r.code, PAM_AUTH_ERR, "browser ticket: {r:?}");

    let program = user_ticket(&keys);
    let r = dir.authenticate("sshd", USER, program.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "ticket without nonce: {r:?}");

    // Not even where every service is allowed.
    let every =
        ServiceDir::with_module(&["sudo"], &module_args(&keys.public_path, "pam_services=*"));
    let r = every.authenticate("sudo", USER, browser.as_bytes());
    assert_eq!(
        r.code, PAM_AUTH_ERR,
        "browser ticket, pam_services=*: {r:?}"
    );
}

/// The refusal is logged naming the check, with the ticket's fingerprint
/// and never the ticket.
#[test]
fn pamtester_logs_the_browser_ticket_check() {
    let Some((keys, service)) = installed_sso("", "") else {
        return;
    };
    let browser = keys.ticket("carol", SERVICE, DOMAIN, 120, Some(NONCE), &[]);
    let syslog = PrivateSyslog::new();
    let (ok, out) = syslog.pamtester(&service.name, "carol", &browser);
    assert!(!ok, "browser ticket accepted:\n{out}");
    assert!(out.contains("Authentication failure"), "{out}");
    let line = format!(
        "refused user=\"carol\" check=\"browser ticket\" ticket={}",
        sso_core::ticket_fingerprint(&browser)
    );
    syslog.expect_logged(&service.name, &line, &browser);
}

/// By default the privilege-escalating services step aside (PAM_IGNORE,
/// without asking: as the only module, libpam then fails the stack since
/// nothing succeeded), while any other service takes tickets.
/// `pam_services=` names exactly the services that take tickets.
#[test]
fn sudo_su_and_polkit_ignore_tickets_unless_named_in_pam_services() {
    let keys = TestKeys::new();
    let ticket = user_ticket(&keys);
    let names = [
        "sudo",
        "sudo-i",
        "su",
        "su-l",
        "runuser",
        "runuser-l",
        "polkit-1",
        "sshd",
    ];
    let run = |extra: &str, expect: &dyn Fn(&str) -> bool| {
        let dir = ServiceDir::with_module(&names, &module_args(&keys.public_path, extra));
        for name in names {
            let r = dir.authenticate(name, USER, ticket.as_bytes());
            if expect(name) {
                assert_eq!(r.code, PAM_SUCCESS, "{extra:?} {name}: {r:?}");
            } else {
                assert_eq!(r.code, PAM_PERM_DENIED, "{extra:?} {name}: {r:?}");
                assert_eq!(r.prompts, 0, "{extra:?} {name}: asked for a password");
            }
        }
    };
    run("", &|name| name == "sshd");
    run("pam_services=sudo", &|name| name == "sudo");
    run("pam_services=sshd,polkit-1", &|name| {
        name == "sshd" || name == "polkit-1"
    });
    run("pam_services=*", &|_| true);
}

/// The common-auth shape the packaged profile produces: pam_sso with
/// default=ignore ahead of pam_unix. Under sudo the ticket is no password,
/// and the Unix password still works (pam_unix asks for it itself).
#[test]
fn sudo_falls_through_to_pam_unix_by_default() {
    let unix_password = "sudo throwaway password";
    let Some((keys, account)) = keys_and_account(unix_password) else {
        return;
    };
    let stack = |extra: &str| {
        let dir = ServiceDir::new();
        dir.add(
            "sudo",
            &format!(
                "{}auth required pam_unix.so try_first_pass nodelay\n",
                sso_line("[success=done default=ignore]", &keys, extra)
            ),
        );
        dir
    };
    let ticket = keys.ticket(&account.name, SERVICE, DOMAIN, 120, None, &[]);
    let dir = stack("");
    let r = dir.authenticate("sudo", &account.name, ticket.as_bytes());
    assert_eq!(r.code, PAM_AUTH_ERR, "ticket as a sudo password: {r:?}");
    let r = dir.authenticate("sudo", &account.name, unix_password.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "unix password under sudo: {r:?}");
    assert_eq!(r.prompts, 1, "asked once, by pam_unix");

    let r = stack("pam_services=sudo").authenticate("sudo", &account.name, ticket.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "pam_services=sudo: {r:?}");
}

/// `pam_services=` is a key of the conf file too (the packaged profile's
/// `conf=/etc/security/pam_sso.conf`), and like every other argument may
/// not be given both on the line and in the file.
#[test]
fn pam_services_in_the_conf_file() {
    let keys = TestKeys::new();
    let conf = write_conf(
        &keys,
        &format!(
            "key={} domain={DOMAIN} service={SERVICE}\npam_services=sudo,sshd\n",
            keys.public_path.display()
        ),
    );
    let ticket = user_ticket(&keys);
    let dir = ServiceDir::with_module(&["sudo", "login"], &format!("conf={}", conf.display()));
    assert_eq!(
        dir.authenticate("sudo", USER, ticket.as_bytes()).code,
        PAM_SUCCESS
    );
    assert_eq!(
        dir.authenticate("login", USER, ticket.as_bytes()).code,
        PAM_PERM_DENIED
    );
    let twice = ServiceDir::with_module(
        &["sudo"],
        &format!("conf={} pam_services=sudo", conf.display()),
    );
    assert_eq!(
        twice.authenticate("sudo", USER, ticket.as_bytes()).code,
        PAM_SERVICE_ERR
    );
}

/// A bad `pam_services=` stops the module (PAM_SERVICE_ERR, no prompt) with
/// a log line naming the option; a service outside the list is logged as
/// ignored, naming the option too.
#[test]
fn pamtester_names_pam_services_in_the_log() {
    tests::return_unless_root!("/etc/pam.d, unshare -m");
    let keys = TestKeys::new();
    let ticket = keys.ticket("carol", SERVICE, DOMAIN, 120, None, &[]);
    for (extra, expected) in [
        ("pam_services=", "malformed pam_services=: empty value"),
        (
            "pam_services=sshd,,su",
            "malformed pam_services=: empty service name",
        ),
        (
            "pam_services=*,sshd",
            "malformed pam_services=: '*' stands alone",
        ),
        ("pam_services", "malformed pam_services=: needs a value"),
        (
            "pam_services=sshd pam_services=su",
            "pam_services= given more than once",
        ),
    ] {
        let service = InstalledService::sso(&keys, extra, "");
        let syslog = PrivateSyslog::new();
        let (ok, out) = syslog.pamtester(&service.name, "carol", &ticket);
        assert!(!ok, "{extra}: accepted:\n{out}");
        assert!(out.contains("Error in service module"), "{extra}: {out}");
        let line = format!("configuration error: {expected}");
        syslog.expect_logged(&service.name, &line, &ticket);
    }

    let service = InstalledService::sso(&keys, "pam_services=sshd", "");
    let syslog = PrivateSyslog::new();
    let (ok, out) = syslog.pamtester(&service.name, "carol", &ticket);
    assert!(
        !ok,
        "service outside pam_services= accepted a ticket:\n{out}"
    );
    let line = format!(
        "ignored pam_service=\"{}\" reason=\"not in pam_services=\"",
        service.name
    );
    syslog.expect_logged(&service.name, &line, &ticket);
}
