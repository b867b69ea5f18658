//! How pam_sso talks to the user through real libpam: the password comes
//! from `pam_get_authtok` (so stacking with modules before it works as with
//! Linux-PAM's own modules, and a failed conversation is PAM_AUTHTOK_ERR as
//! from pam_unix), and a refused ticket is told to the user unless the
//! application passed PAM_SILENT.

use std::process::{Command, Stdio};

use tests::pam::{
    asking_line, installed_sso, keys_and_account, keys_and_service, module_args, module_path,
    pamtester, sso_line, user_ticket, write_conf, Message, ServiceDir, DOMAIN, PAM_AUTH_ERR,
    PAM_ERROR_MSG, PAM_SILENT, PAM_SUCCESS, SERVICE, USER,
};
use tests::util::TestKeys;

fn error(text: &str) -> Message {
    Message {
        style: PAM_ERROR_MSG,
        text: text.to_owned(),
    }
}

#[test]
fn a_refused_ticket_is_told_to_the_user_unless_pam_silent() {
    let (keys, dir) = keys_and_service("");
    let expired = keys.ticket(USER, SERVICE, DOMAIN, -120, None, &[]);
    let r = dir.authenticate("sso", USER, expired.as_bytes());
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
    assert_eq!(r.messages, [error("Ticket refused: expired.")], "{r:?}");

    let other = keys.ticket("bob", SERVICE, DOMAIN, 120, None, &[]);
    let r = dir.authenticate("sso", USER, other.as_bytes());
    assert_eq!(r.messages, [error("Ticket refused: user mismatch.")]);

    // The same refusals under PAM_SILENT: the same answer, nothing shown.
    for ticket in [&expired, &other] {
        let r = dir.authenticate_with_flags("sso", USER, ticket.as_bytes(), PAM_SILENT);
        assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
        assert_eq!(r.prompts, 1, "PAM_SILENT still asks for the password");
        assert_eq!(r.messages, [], "PAM_SILENT shows nothing: {r:?}");
    }

    // An ordinary password (for pam_unix below) and a valid ticket: nothing.
    let r = dir.authenticate("sso", USER, b"correct horse battery staple");
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
    assert_eq!(r.messages, [], "{r:?}");
    let good = user_ticket(&keys);
    let r = dir.authenticate("sso", USER, good.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
    assert_eq!(r.messages, [], "{r:?}");
}

/// `auth sufficient pam_unix` first, then `auth required pam_sso
/// use_first_pass`: the user is asked once, by pam_unix (its
/// pam_get_authtok stores the answer); a Unix password ends the stack
/// there, and a ticket is checked by pam_sso from PAM_AUTHTOK.
#[test]
fn use_first_pass_after_pam_unix_reuses_its_password() {
    let unix_password = "a throwaway unix password";
    let Some((keys, account)) = keys_and_account(unix_password) else {
        return;
    };
    let dir = ServiceDir::with_service(
        "stack",
        &format!(
            "auth sufficient pam_unix.so nodelay\n{}",
            sso_line("required", &keys, "use_first_pass")
        ),
    );
    let ticket = keys.ticket(&account.name, SERVICE, DOMAIN, 120, None, &[]);
    let r = dir.authenticate("stack", &account.name, ticket.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "ticket after pam_unix: {r:?}");
    assert_eq!(r.prompts, 1, "pam_sso must reuse pam_unix's answer");

    let r = dir.authenticate("stack", &account.name, unix_password.as_bytes());
    assert_eq!(r.code, PAM_SUCCESS, "unix password: {r:?}");
    assert_eq!(r.prompts, 1);

    let expired = keys.ticket(&account.name, SERVICE, DOMAIN, -120, None, &[]);
    let r = dir.authenticate("stack", &account.name, expired.as_bytes());
    assert_eq!(r.code, PAM_AUTH_ERR, "{r:?}");
    assert_eq!(r.prompts, 1);
    assert_eq!(r.messages, [error("Ticket refused: expired.")], "{r:?}");
}

/// `try_first_pass` from the `conf=` file, which libpam's own option
/// lookup does not see: the password stored by the first pam_sso line is
/// reused by the second without a second prompt.
#[test]
fn try_first_pass_from_the_conf_file_reuses_the_stored_password() {
    let keys = TestKeys::new();
    let conf = write_conf(
        &keys,
        &format!("{}\n", module_args(&keys.public_path, "try_first_pass")),
    );
    let conf_line = format!(
        "auth required {} conf={}\n",
        module_path().display(),
        conf.display()
    );
    let dir = ServiceDir::with_service("sso", &(asking_line(&keys) + &conf_line));
    let r = dir.authenticate_user("sso", &keys);
    assert_eq!(r.code, PAM_SUCCESS, "{r:?}");
    assert_eq!(r.prompts, 1, "{r:?}");
}

/// A conversation that cannot answer (pamtester's, on a closed stdin):
/// pam_get_authtok's PAM_AUTHTOK_ERR, as pam_unix answers.
#[test]
fn a_failed_conversation_is_authtok_err() {
    let Some((_keys, service)) = installed_sso("", "") else {
        return;
    };
    let out = Command::new("pamtester")
        .args([service.name.as_str(), USER, "authenticate"])
        .stdin(Stdio::null())
        .output()
        .expect("run pamtester (apt package pamtester)");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    // pam_strerror(PAM_AUTHTOK_ERR); it was PAM_CONV_ERR's text before.
    assert!(
        text.contains("Authentication token manipulation error"),
        "{text}"
    );
}

/// A real client shows the refusal message.
#[test]
fn pamtester_shows_a_refused_ticket() {
    let Some((keys, service)) = installed_sso("", "") else {
        return;
    };
    let expired = keys.ticket(USER, SERVICE, DOMAIN, -60, None, &[]);
    let (ok, out) = pamtester(&service.name, USER, &expired);
    assert!(!ok, "{out}");
    assert!(out.contains("Ticket refused: expired."), "{out}");
}
