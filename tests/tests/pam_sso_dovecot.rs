//! A real consumer: Dovecot's IMAP server with a PAM passdb whose service
//! file loads pam_sso. A fresh ticket logs in; a wrong or expired one does
//! not; Dovecot keeps serving afterwards.

use sso_integration::pam::{module_args, module_path, Dovecot, InstalledService, DOMAIN, SERVICE};
use sso_integration::util::{self, TestKeys};

#[test]
fn dovecot_imap_login_with_a_ticket() {
    if !util::is_root() {
        eprintln!("skipped: needs root (Dovecot, /etc/pam.d)");
        return;
    }
    let keys = TestKeys::new();
    let service = InstalledService::new(&format!(
        "auth required {} {}\naccount required pam_permit.so\n",
        module_path().display(),
        module_args(&keys.public_path, "")
    ));
    let mut dovecot = Dovecot::start(&service.name);

    let ticket = keys.ticket("erin", SERVICE, DOMAIN, 120, None, &[]);
    let reply = dovecot.imap_login("erin", &ticket);
    assert!(
        reply.starts_with("a1 OK"),
        "fresh ticket: {reply}\n{}",
        dovecot.logs()
    );

    let expired = keys.ticket("erin", SERVICE, DOMAIN, -120, None, &[]);
    let reply = dovecot.imap_login("erin", &expired);
    assert!(
        reply.starts_with("a1 NO"),
        "expired ticket: {reply}\n{}",
        dovecot.logs()
    );

    let others = keys.ticket("frank", SERVICE, DOMAIN, 120, None, &[]);
    let reply = dovecot.imap_login("erin", &others);
    assert!(
        reply.starts_with("a1 NO"),
        "another user's ticket: {reply}\n{}",
        dovecot.logs()
    );

    let forged = TestKeys::new().ticket("erin", SERVICE, DOMAIN, 120, None, &[]);
    let reply = dovecot.imap_login("erin", &forged);
    assert!(
        reply.starts_with("a1 NO"),
        "forged ticket: {reply}\n{}",
        dovecot.logs()
    );

    let reply = dovecot.imap_login("erin", "not a ticket");
    assert!(
        reply.starts_with("a1 NO"),
        "plain password: {reply}\n{}",
        dovecot.logs()
    );

    // Still alive and still accepting good tickets after the failures.
    assert!(dovecot.is_running(), "dovecot died:\n{}", dovecot.logs());
    let again = keys.ticket("erin", SERVICE, DOMAIN, 120, None, &[]);
    let reply = dovecot.imap_login("erin", &again);
    assert!(
        reply.starts_with("a1 OK"),
        "after failures: {reply}\n{}",
        dovecot.logs()
    );
    assert!(dovecot.is_running());
    assert!(
        !dovecot.logs().contains(&ticket),
        "a ticket reached Dovecot's log"
    );
}
