//! The login server's PAM backend against a private PAM service (a unique
//! file in /etc/pam.d using pam_unix) and a throwaway local account.

use sso_core::decode_unverified;
use sso_integration::pam::{build_map_user_module, InstalledService, LocalUser};
use sso_integration::server::{pct, query_params, Cookies, Setup, SsoServer};
use sso_integration::util::{is_root, TestKeys};

#[test]
fn pam_backend_checks_a_real_password_and_reads_unix_groups() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, /etc/pam.d)");
        return;
    }
    let user = LocalUser::new("pam-user-password");
    let service =
        InstalledService::new("auth required pam_unix.so nodelay\naccount required pam_unix.so\n");
    let keys = TestKeys::new();
    let mut setup = Setup::users_file(std::path::Path::new("/unused"));
    setup.auth = format!("backend = \"pam\"\npam_service = {:?}\n", service.name);
    let s = SsoServer::start(&keys, &setup);
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
    if !is_root() {
        eprintln!("skipped: needs root (/etc/pam.d)");
        return;
    }
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

/// A stack that authenticates another account than the typed name (here a
/// module that maps every name to the test account, then pam_unix) gives
/// no ticket: the ticket would carry the typed name.
#[test]
fn a_stack_that_maps_the_user_to_another_account_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root (useradd, /etc/pam.d)");
        return;
    }
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
