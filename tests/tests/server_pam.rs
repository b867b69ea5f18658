//! The login server's PAM backend against a private PAM service (a unique
//! file in /etc/pam.d using pam_unix) and a throwaway local account.

use sso_core::decode_unverified;
use tests::pam::{build_map_user_module, InstalledService, LocalUser};
use tests::server::{pct, query_params, redirected_ticket, Cookies, Setup, SsoServer};
use tests::util::TestKeys;

/// A throwaway account (password `pam-user-password`), a pam_unix service
/// and a server using it, with `auth_keys` added to `[auth]`; `None`
/// (skipped) unless root.
fn pam_unix_world(auth_keys: &str) -> Option<(LocalUser, InstalledService, TestKeys, SsoServer)> {
    tests::return_unless_root!("useradd, /etc/pam.d", None);
    let user = LocalUser::new("pam-user-password");
    let service =
        InstalledService::new("auth required pam_unix.so nodelay\naccount required pam_unix.so\n");
    let keys = TestKeys::new();
    let mut setup = Setup::users_file(std::path::Path::new("/unused"));
    setup.auth = format!(
        "backend = \"pam\"\npam_service = {:?}\n{auth_keys}",
        service.name
    );
    let s = SsoServer::start(&keys, &setup);
    Some((user, service, keys, s))
}

#[test]
fn pam_backend_checks_a_real_password_and_reads_unix_groups() {
    let Some((user, _service, _keys, s)) = pam_unix_world("") else {
        return;
    };
    // useradd gives the account a primary group of its own name.
    let form = format!(
        "/?s=wiki.test.example.org/&g={}",
        pct(&format!("admins,{}", user.name))
    );

    let r = s.login(&mut Cookies::new(), &form, &user.name, "pam-user-password");
    assert_eq!(r.status, 302, "{}\n{}", r.body, s.log());
    let t = query_params(r.header("location").unwrap())
        .into_iter()
        .find(|(k, _)| k == "t")
        .unwrap()
        .1;
    let ticket = decode_unverified(&t).unwrap();
    assert_eq!(ticket.user, user.name);
    assert_eq!(ticket.groups, vec![user.name.clone()]);

    for (u, pw) in [
        (user.name.as_str(), "wrong password"),
        ("no-such-account-here", "pam-user-password"),
    ] {
        let r = s.login(&mut Cookies::new(), &form, u, pw);
        assert_eq!(r.status, 401, "{u}: {}", r.body);
        assert!(r.header("location").is_none());
    }
    assert!(s.log().contains("backend=\"pam\""));
}

#[test]
fn pam_deny_refuses_everyone() {
    tests::return_unless_root!("/etc/pam.d");
    let service =
        InstalledService::new("auth required pam_deny.so\naccount required pam_deny.so\n");
    let keys = TestKeys::new();
    let mut setup = Setup::users_file(std::path::Path::new("/unused"));
    setup.auth = format!("backend = \"pam\"\npam_service = {:?}\n", service.name);
    let s = SsoServer::start(&keys, &setup);
    let r = s.login(
        &mut Cookies::new(),
        "/?s=wiki.test.example.org/",
        "root",
        "anything",
    );
    assert_eq!(r.status, 401, "{}", r.body);
}

/// Silent tickets ask PAM's account management again (no cache here): a
/// deleted Unix account gets the login form, not a ticket.
#[test]
fn pam_backend_rechecks_the_account_on_silent_tickets() {
    let Some((user, _service, _keys, s)) = pam_unix_world("account_cache_seconds = 0\n") else {
        return;
    };
    let form = format!("/?s=wiki.test.example.org/&g={}", pct(&user.name));
    let mut jar = Cookies::new();
    let r = s.login(&mut jar, &form, &user.name, "pam-user-password");
    assert_eq!(r.status, 302, "{}\n{}", r.body, s.log());
    let silent = s.get(&form, &jar);
    let ticket = redirected_ticket(&silent).expect("a silent ticket");
    assert_eq!(ticket.groups, vec![user.name.clone()]);

    let name = user.name.clone();
    drop(user);
    let r = s.get(&form, &jar);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("location").is_none());
    assert!(r.form_field("csrf").is_some(), "{}", r.body);
    let gone = format!("check=\"account gone\" user=\"{name}\"");
    assert!(s.log().contains(&gone), "{}", s.log());
}

/// A stack that authenticates another account than the typed name (here a
/// module that maps every name to the test account, then pam_unix) gives
/// no ticket: the ticket would carry the typed name.
#[test]
fn a_stack_that_maps_the_user_to_another_account_is_refused() {
    tests::return_unless_root!("useradd, /etc/pam.d");
    let user = LocalUser::new("pam-user-password");
    let build = tempfile::tempdir().unwrap();
    let map_user = build_map_user_module(build.path());
    let service = InstalledService::new(&format!(
        "auth required {} to={}\nauth required pam_unix.so nodelay\naccount required pam_unix.so\n",
        map_user.display(),
        user.name
    ));
    let keys = TestKeys::new();
    let mut setup = Setup::users_file(std::path::Path::new("/unused"));
    setup.auth = format!("backend = \"pam\"\npam_service = {:?}\n", service.name);
    let s = SsoServer::start(&keys, &setup);
    let form = "/?s=wiki.test.example.org/";

    // The account's own name passes through the mapping unchanged.
    let r = s.login(&mut Cookies::new(), form, &user.name, "pam-user-password");
    assert_eq!(r.status, 302, "{}\n{}", r.body, s.log());

    // Another name with the account's password: PAM says yes for the
    // account, the server refuses the typed name.
    for typed in ["mallory", "root"] {
        let r = s.login(&mut Cookies::new(), form, typed, "pam-user-password");
        assert_eq!(r.status, 401, "{typed}: {}\n{}", r.body, s.log());
        assert!(r.header("location").is_none(), "{typed}");
    }
}
