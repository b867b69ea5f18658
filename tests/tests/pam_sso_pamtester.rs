//! pamtester, a real PAM client, against a service file installed under
//! /etc/pam.d (unique name, removed afterwards) that loads pam_sso.

use tests::pam::{installed_sso, pamtester, PrivateSyslog, DOMAIN, SERVICE};

#[test]
fn pamtester_authenticates_with_a_ticket() {
    let Some((keys, service)) = installed_sso("", "account required pam_permit.so\n") else {
        return;
    };

    let ticket = keys.ticket("carol", SERVICE, DOMAIN, 120, None, &[]);
    let (ok, out) = pamtester(&service.name, "carol", &ticket);
    assert!(ok, "valid ticket refused:\n{out}");
    assert!(out.contains("successfully authenticated"), "{out}");
    assert!(!out.contains(&ticket), "pamtester output echoes no ticket");

    let (ok, out) = pamtester(&service.name, "dave", &ticket);
    assert!(!ok, "ticket for carol accepted for dave:\n{out}");
    assert!(out.contains("Authentication failure"), "{out}");

    let expired = keys.ticket("carol", SERVICE, DOMAIN, -60, None, &[]);
    let (ok, out) = pamtester(&service.name, "carol", &expired);
    assert!(!ok, "expired ticket accepted:\n{out}");

    let (ok, out) = pamtester(&service.name, "carol", "just a password");
    assert!(!ok, "plain password accepted:\n{out}");
}

#[test]
fn pamtester_reports_a_broken_configuration() {
    let Some((keys, service)) = installed_sso("no_such_option", "") else {
        return;
    };
    let ticket = keys.ticket("carol", SERVICE, DOMAIN, 120, None, &[]);
    let (ok, out) = pamtester(&service.name, "carol", &ticket);
    assert!(!ok, "broken configuration accepted a ticket:\n{out}");
    // PAM_SERVICE_ERR's text in Linux-PAM.
    assert!(out.contains("Error in service module"), "{out}");
}

/// The refusal of an untrusted key file reaches the system log through
/// pam_syslog, naming the file and the rule it breaks.
#[test]
fn pamtester_logs_an_untrusted_key_file_with_its_rule() {
    use std::os::unix::fs::PermissionsExt;
    let Some((keys, service)) = installed_sso("", "") else {
        return;
    };
    std::fs::set_permissions(&keys.public_path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let ticket = keys.ticket("carol", SERVICE, DOMAIN, 120, None, &[]);
    let syslog = PrivateSyslog::new();
    let (ok, out) = syslog.pamtester(&service.name, "carol", &ticket);
    assert!(!ok, "a world-writable key file was trusted:\n{out}");
    assert!(out.contains("Error in service module"), "{out}");
    let line = format!(
        "configuration error: {}: refused: is writable by its group (mode 0666)",
        keys.public_path.display()
    );
    syslog.expect_logged(&service.name, &line, &ticket);
}
