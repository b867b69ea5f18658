//! A real consumer: Dovecot's IMAP server with a PAM passdb whose service
//! file loads pam_sso. A fresh ticket logs in; a wrong or expired one does
//! not; Dovecot keeps serving afterwards.

use tests::dovecot::Dovecot;
use tests::pam::{installed_sso, DOMAIN, SERVICE};
use tests::util::TestKeys;

#[test]
fn dovecot_imap_login_with_a_ticket() {
    let Some((keys, service)) = installed_sso("", "account required pam_permit.so\n") else {
        return;
    };
    let mut dovecot = Dovecot::start(&service.name);

    let ticket = keys.ticket("erin", SERVICE, DOMAIN, 120, None, &[]);
    dovecot.expect_login("erin", &ticket, true, "fresh ticket");

    let expired = keys.ticket("erin", SERVICE, DOMAIN, -120, None, &[]);
    dovecot.expect_login("erin", &expired, false, "expired ticket");

    let others = keys.ticket("frank", SERVICE, DOMAIN, 120, None, &[]);
    dovecot.expect_login("erin", &others, false, "another user's ticket");

    let forged = TestKeys::new().ticket("erin", SERVICE, DOMAIN, 120, None, &[]);
    dovecot.expect_login("erin", &forged, false, "forged ticket");

    dovecot.expect_login("erin", "not a ticket", false, "plain password");

    // Still alive and still accepting good tickets after the failures.
    assert!(dovecot.is_running(), "dovecot died:\n{}", dovecot.logs());
    let again = keys.ticket("erin", SERVICE, DOMAIN, 120, None, &[]);
    dovecot.expect_login("erin", &again, true, "after failures");
    assert!(dovecot.is_running());
    assert!(
        !dovecot.logs().contains(&ticket),
        "a ticket reached Dovecot's log"
    );
}
