//! The login server's LDAP backend against a real slapd on 127.0.0.1.

use sso_core::{decode_unverified, Ticket};
use sso_integration::server::{query_params, Cookies, Setup, Slapd, SsoServer, LDAP_SUFFIX};
use sso_integration::util::TestKeys;

const FORM: &str = "/?s=wiki.test.example.org/&g=staff,admins";

fn directory() -> Slapd {
    Slapd::start(
        &[("alice", "alice-ldap-pw"), ("bob", "bob-ldap-pw")],
        &[("staff", &["alice"]), ("admins", &["carol"])],
    )
}

fn server(keys: &TestKeys, ldap_table: &str) -> SsoServer {
    let mut setup = Setup::users_file(std::path::Path::new("/unused"));
    setup.auth = format!("backend = \"ldap\"\n\n[auth.ldap]\n{ldap_table}");
    SsoServer::start(keys, &setup)
}

fn ticket_of(resp: &sso_integration::server::HttpResponse) -> Ticket {
    assert_eq!(resp.status, 302, "{}", resp.body);
    let loc = resp.header("location").unwrap();
    let t = query_params(loc)
        .into_iter()
        .find(|(k, _)| k == "t")
        .unwrap()
        .1;
    decode_unverified(&t).unwrap()
}

#[test]
fn ldap_bind_with_a_dn_template_and_group_lookup() {
    let ldap = directory();
    let keys = TestKeys::new();
    let s = server(
        &keys,
        &format!(
            "url = \"{}\"\nuser_dn_template = \"uid={{user}},ou=people,{LDAP_SUFFIX}\"\ngroup_base = \"ou=groups,{LDAP_SUFFIX}\"\n",
            ldap.url()
        ),
    );
    let t = ticket_of(&s.login(&mut Cookies::new(), FORM, "alice", "alice-ldap-pw"));
    assert_eq!(t.user, "alice");
    assert_eq!(t.groups, vec!["staff".to_string()]);

    // Wrong password, unknown user, empty password (an unauthenticated
    // bind that LDAP would accept), DN injection: all the same refusal.
    for (user, pw) in [
        ("alice", "wrong"),
        ("nobody", "alice-ldap-pw"),
        ("alice", ""),
        ("alice,ou=people", "alice-ldap-pw"),
        ("*", "alice-ldap-pw"),
        // LDAP matches these to alice's entry and accepts her password, but
        // they are not her name: no second identity.
        ("ALICE", "alice-ldap-pw"),
        ("alice ", "alice-ldap-pw"),
        (" alice", "alice-ldap-pw"),
    ] {
        let r = s.login(&mut Cookies::new(), FORM, user, pw);
        assert_eq!(r.status, 401, "{user:?}/{pw:?}: {}", r.body);
        assert!(r.header("location").is_none());
    }

    // bob authenticates but is in neither group.
    let r = s.login(&mut Cookies::new(), FORM, "bob", "bob-ldap-pw");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(s.log().contains("event=login user=\"bob\""));
    assert!(s.log().contains("backend=\"ldap\""));
}

#[test]
fn ldap_finds_the_user_by_search() {
    let ldap = directory();
    let keys = TestKeys::new();
    let s = server(
        &keys,
        &format!(
            "url = \"{}\"\nsearch_base = \"ou=people,{LDAP_SUFFIX}\"\nsearch_filter = \"(uid={{user}})\"\n\
             bind_dn = \"cn=admin,{LDAP_SUFFIX}\"\nbind_password = \"admin-password\"\n\
             group_base = \"ou=groups,{LDAP_SUFFIX}\"\n",
            ldap.url()
        ),
    );
    let t = ticket_of(&s.login(&mut Cookies::new(), FORM, "alice", "alice-ldap-pw"));
    assert_eq!(t.user, "alice");
    assert_eq!(t.groups, vec!["staff".to_string()]);
    // Filter injection finds nobody.
    for user in ["*", "al*", "alice)(uid=*", "Alice", "alice "] {
        let r = s.login(&mut Cookies::new(), FORM, user, "alice-ldap-pw");
        assert_eq!(r.status, 401, "{user:?}");
    }
    assert_eq!(
        s.login(&mut Cookies::new(), FORM, "alice", "nope").status,
        401
    );
}

#[test]
fn an_unreachable_directory_is_an_error_not_a_refusal() {
    let keys = TestKeys::new();
    let port = sso_integration::util::free_port();
    let s = server(
        &keys,
        &format!(
            "url = \"ldap://127.0.0.1:{port}\"\nuser_dn_template = \"uid={{user}},ou=people,{LDAP_SUFFIX}\"\ntimeout_seconds = 2\n"
        ),
    );
    let r = s.login(&mut Cookies::new(), FORM, "alice", "alice-ldap-pw");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.header("location").is_none());
    assert!(s.log().contains("event=backend-error"));
}
