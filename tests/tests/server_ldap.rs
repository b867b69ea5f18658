//! The login server's LDAP backend against a real slapd on 127.0.0.1.

use std::time::{Duration, Instant};

use sso_core::Ticket;
use tests::ldap::{throwaway_ca, Slapd, LDAP_SUFFIX};
use tests::server::{redirected_ticket, Cookies, HttpResponse, Setup, SsoServer};
use tests::util::TestKeys;

const FORM: &str = "/?s=wiki.test.example.org/&g=staff,admins";

fn directory() -> Slapd {
    Slapd::start(
        &[("alice", "alice-ldap-pw"), ("bob", "bob-ldap-pw")],
        &[("staff", &["alice"]), ("admins", &["carol"])],
    )
}

/// The `[auth]` body for an LDAP backend with this `[auth.ldap]` table and
/// `[auth]` keys before it.
fn ldap_setup(auth_keys: &str, ldap_table: &str) -> Setup {
    let mut setup = Setup::users_file(std::path::Path::new("/unused"));
    setup.auth = format!("backend = \"ldap\"\n{auth_keys}\n[auth.ldap]\n{ldap_table}");
    setup
}

fn server(keys: &TestKeys, ldap_table: &str) -> SsoServer {
    SsoServer::start(keys, &ldap_setup("", ldap_table))
}

/// [`server`] with `ldap` as its directory (`url`) and these further
/// `[auth.ldap]` lines.
fn server_for(keys: &TestKeys, ldap: &Slapd, rest: &str) -> SsoServer {
    server(keys, &format!("url = \"{}\"\n{rest}", ldap.url()))
}

/// The `[auth.ldap]` lines that find alice's entry and groups.
fn entries_and_groups() -> String {
    format!(
        "user_dn_template = \"uid={{user}},ou=people,{LDAP_SUFFIX}\"\ngroup_base = \"ou=groups,{LDAP_SUFFIX}\"\n"
    )
}

fn ticket_of(resp: &HttpResponse) -> Ticket {
    redirected_ticket(resp).unwrap_or_else(|| panic!("no ticket: {} {}", resp.status, resp.body))
}

#[test]
fn ldap_bind_with_a_dn_template_and_group_lookup() {
    let ldap = directory();
    let keys = TestKeys::new();
    let s = server_for(&keys, &ldap, &entries_and_groups());
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
    let s = server_for(
        &keys,
        &ldap,
        &format!(
            "search_base = \"ou=people,{LDAP_SUFFIX}\"\nsearch_filter = \"(uid={{user}})\"\n\
             bind_dn = \"cn=admin,{LDAP_SUFFIX}\"\nbind_password = \"admin-password\"\n\
             group_base = \"ou=groups,{LDAP_SUFFIX}\"\n"
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
    let port = tests::util::free_port();
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

/// A directory served over TLS with a throwaway CA, reached by ldaps:// and
/// by StartTLS.
#[test]
fn ldaps_and_starttls_with_the_configured_ca() {
    let ldap = Slapd::start_tls(&[("alice", "alice-ldap-pw")], &[("staff", &["alice"])]);
    let keys = TestKeys::new();
    let ca = ldap.ca_file().display().to_string();
    for url_and_mode in [
        format!("url = {:?}\n", ldap.ldaps_url()),
        format!("url = {:?}\nstarttls = true\n", ldap.url()),
    ] {
        let s = server(
            &keys,
            &format!("{url_and_mode}ca_file = {ca:?}\n{}", entries_and_groups()),
        );
        let t = ticket_of(&s.login(&mut Cookies::new(), FORM, "alice", "alice-ldap-pw"));
        assert_eq!(
            (t.user.as_str(), t.groups.as_slice()),
            ("alice", &["staff".to_string()][..])
        );
        let r = s.login(&mut Cookies::new(), FORM, "alice", "wrong");
        assert_eq!(r.status, 401, "{url_and_mode}: {}", r.body);
    }
    // The directory answers nothing without TLS, so the logins above did
    // not pass in cleartext.
    let s = server(
        &keys,
        &format!("url = {:?}\n{}", ldap.url(), entries_and_groups()),
    );
    let r = s.login(&mut Cookies::new(), FORM, "alice", "alice-ldap-pw");
    assert_eq!(r.status, 503, "{}", r.body);
}

/// A server certificate that does not chain to `ca_file` is refused: the
/// login answers 503 (the backend failed), never 401 or a ticket, and the
/// log says why. StartTLS that the server cannot do is refused the same
/// way, never continued in cleartext.
#[test]
fn a_certificate_from_another_ca_is_refused() {
    let ldap = Slapd::start_tls(&[("alice", "alice-ldap-pw")], &[("staff", &["alice"])]);
    let plain = directory();
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = throwaway_ca(other.path());
    let keys = TestKeys::new();
    let cases = [
        (
            format!("url = {:?}\nca_file = {other_ca:?}\n", ldap.ldaps_url()),
            "invalid peer certificate",
        ),
        (
            format!(
                "url = {:?}\nstarttls = true\nca_file = {other_ca:?}\n",
                ldap.url()
            ),
            "invalid peer certificate",
        ),
        (
            format!(
                "url = {:?}\nstarttls = true\nca_file = {:?}\n",
                plain.url(),
                ldap.ca_file()
            ),
            "cannot connect",
        ),
    ];
    for (table, why) in cases {
        let s = server(&keys, &format!("{table}{}", entries_and_groups()));
        let r = s.login(&mut Cookies::new(), FORM, "alice", "alice-ldap-pw");
        assert_eq!(r.status, 503, "{table}: {}", r.body);
        assert!(r.header("location").is_none());
        let log = s.log();
        assert!(log.contains("event=backend-error"), "{log}");
        assert!(log.contains(why), "{table}: {log}");
    }
}

/// Plain ldap:// to a host that is not loopback sends passwords in clear:
/// refused at start-up with the key named, unless allowed explicitly.
#[test]
fn cleartext_ldap_to_a_remote_host_is_refused_at_start() {
    let keys = TestKeys::new();
    let port = tests::util::free_port();
    let remote = "url = \"ldap://ldap.example.org\"\n".to_string() + &entries_and_groups();
    let text = ldap_setup("", &remote).config_text(&keys, port);
    let (ok, out) = SsoServer::try_config(&text);
    assert!(!ok, "{out}");
    assert!(out.contains("auth.ldap.allow_cleartext"), "{out}");
    let allowed = ldap_setup("", &format!("{remote}allow_cleartext = true\n"));
    let (ok, out) = SsoServer::try_config(&allowed.config_text(&keys, port));
    assert!(ok, "{out}");
    let local = ldap_setup("", &remote.replace("ldap.example.org", "127.0.0.1:389"));
    let (ok, out) = SsoServer::try_config(&local.config_text(&keys, port));
    assert!(ok, "{out}");
}

/// Silent tickets re-check the account: a change in the directory shows
/// once the cached lookup is older than `account_cache_seconds`, not
/// before (checked only when the test ran fast enough to be inside it).
#[test]
fn a_changed_directory_entry_counts_after_the_cache_time() {
    const CACHE_SECONDS: u64 = 4;
    let ldap = Slapd::start(
        &[("alice", "alice-ldap-pw")],
        &[("staff", &["alice"]), ("admins", &["alice", "carol"])],
    );
    let keys = TestKeys::new();
    let setup = ldap_setup(
        &format!("account_cache_seconds = {CACHE_SECONDS}"),
        &format!("url = \"{}\"\n{}", ldap.url(), entries_and_groups()),
    );
    let s = SsoServer::start(&keys, &setup);
    let mut jar = Cookies::new();
    let cached_at = Instant::now();
    let t = ticket_of(&s.login(&mut jar, FORM, "alice", "alice-ldap-pw"));
    let mut groups = t.groups.clone();
    groups.sort();
    assert_eq!(groups, vec!["admins".to_string(), "staff".to_string()]);

    ldap.modify(&format!(
        "dn: cn=admins,ou=groups,{LDAP_SUFFIX}\nchangetype: modify\ndelete: member\nmember: uid=alice,ou=people,{LDAP_SUFFIX}\n"
    ));
    let r = s.get(FORM, &jar);
    if cached_at.elapsed() < Duration::from_secs(CACHE_SECONDS) {
        assert_eq!(ticket_of(&r).groups.len(), 2, "the cached account counts");
    }
    let changed = |r: &HttpResponse| redirected_ticket(r).is_some_and(|t| t.groups.len() == 1);
    let r = poll_until(&s, &jar, changed);
    assert_eq!(ticket_of(&r).groups, vec!["staff".to_string()]);

    ldap.modify(&format!(
        "dn: uid=alice,ou=people,{LDAP_SUFFIX}\nchangetype: delete\n"
    ));
    let r = poll_until(&s, &jar, |r| r.status != 302);
    assert_eq!(r.status, 200, "the login form: {}", r.body);
    assert!(r.form_field("csrf").is_some(), "{}", r.body);
    assert!(r.header("location").is_none());
    let cleared = r.set_cookie_line("__Host-sso_session").unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(s.log().contains("check=\"account gone\""), "{}", s.log());
}

/// Silent ticket requests until `done` holds (at most a minute).
fn poll_until(s: &SsoServer, jar: &Cookies, done: impl Fn(&HttpResponse) -> bool) -> HttpResponse {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = s.get(FORM, jar);
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "no change: {} {}",
            r.status,
            r.body
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
