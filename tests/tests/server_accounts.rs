//! The login server's silent path and its exchange re-check the account on
//! every ticket, and a users file that stops parsing fails closed: the real
//! server process with a users file edited while sessions live.

use std::path::{Path, PathBuf};

use tests::http::query_params;
use tests::server::MAIL;
use tests::server::{add_user, redirected_ticket, Cookies, HttpResponse, Setup, SsoServer};
use tests::util::TestKeys;

const FORM: &str = "/?s=wiki.test.example.org/&g=staff,admins";
const PASSWORD: &str = "correct horse battery staple";

struct World {
    _keys: TestKeys,
    _dir: tempfile::TempDir,
    users: PathBuf,
    server: SsoServer,
}

impl World {
    /// alice (staff, admins), bob (staff) and carol (staff).
    fn new() -> World {
        let keys = TestKeys::new();
        let (dir, users) = tests::util::temp_path("users");
        add_user(&users, "alice", PASSWORD, &["staff", "admins"]);
        add_user(&users, "bob", PASSWORD, &["staff"]);
        add_user(&users, "carol", PASSWORD, &["staff"]);
        let mut setup = Setup::users_file(&users);
        setup.tables =
            "[[exchange]]\nfrom = 'wiki\\.test\\.example\\.org/'\nto = 'mail\\.test\\.example\\.org/'\n"
                .into();
        let server = SsoServer::start(&keys, &setup);
        World {
            _keys: keys,
            _dir: dir,
            users,
            server,
        }
    }

    /// A session for `user` (its login gave a ticket).
    fn session(&self, user: &str) -> Cookies {
        let mut jar = Cookies::new();
        let r = self.server.login(&mut jar, FORM, user, PASSWORD);
        assert!(
            redirected_ticket(&r).is_some(),
            "{user}: {} {}",
            r.status,
            r.body
        );
        jar
    }

    fn silent(&self, jar: &Cookies) -> HttpResponse {
        self.server.get(FORM, jar)
    }

    /// Rewrites the file with `edit` applied to its text, as an editor
    /// that saves atomically would.
    fn edit(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.users).unwrap();
        replace(&self.users, &edit(text));
    }

    fn line_of(&self, user: &str) -> String {
        let text = std::fs::read_to_string(&self.users).unwrap();
        let line = text.lines().find(|l| l.starts_with(&format!("{user}:")));
        line.unwrap().to_owned()
    }
}

fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn sorted_groups(r: &HttpResponse) -> Vec<String> {
    let t = redirected_ticket(r).unwrap_or_else(|| panic!("no ticket: {} {}", r.status, r.body));
    let mut groups = t.groups;
    groups.sort();
    groups
}

/// A refused silent request: the login form, no ticket, and the session
/// cookie cleared.
fn assert_login_form_again(r: &HttpResponse) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("location").is_none());
    assert!(r.form_field("csrf").is_some(), "{}", r.body);
    let cleared = r.set_cookie_line("__Host-sso_session").unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[test]
fn a_deleted_user_gets_no_further_ticket() {
    let w = World::new();
    let alice = w.session("alice");
    let bob = w.session("bob");
    assert!(redirected_ticket(&w.silent(&alice)).is_some());
    let out = std::process::Command::new(tests::util::bin("sso-server"))
        .args(["user", "del", "--users-file"])
        .arg(&w.users)
        .arg("alice")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_login_form_again(&w.silent(&alice));
    assert!(w
        .server
        .log()
        .contains("check=\"account gone\" user=\"alice\""));
    // The others keep their sessions.
    assert_eq!(sorted_groups(&w.silent(&bob)), vec!["staff".to_string()]);
}

/// `POST /exchange` of `ticket` for the mail service, asking for `groups`.
fn exchange(w: &World, ticket: &str, groups: &str) -> HttpResponse {
    w.server.post(
        "/exchange",
        &Cookies::new(),
        &[("t", ticket), ("s", MAIL), ("g", groups)],
    )
}

#[test]
fn an_exchange_asks_about_the_account_again() {
    let w = World::new();
    let alice = w.session("alice");
    let r = w.silent(&alice);
    let location = r.header("location").unwrap_or_default().to_owned();
    let (_, ticket) = query_params(&location)
        .into_iter()
        .find(|(k, _)| k == "t")
        .unwrap_or_else(|| panic!("no ticket: {location}"));
    let exchanged = |r: &HttpResponse| {
        assert_eq!(r.status, 200, "{}", r.body);
        let mut groups = sso_core::decode_unverified(r.body.trim()).unwrap().groups;
        groups.sort();
        groups
    };
    assert_eq!(
        exchanged(&exchange(&w, &ticket, "staff,admins")),
        vec!["admins", "staff"]
    );
    // A group removed since the ticket was made is not carried over.
    w.edit(|text| text.replace(":staff,admins", ":staff"));
    assert_eq!(
        exchanged(&exchange(&w, &ticket, "staff,admins")),
        vec!["staff"]
    );
    assert_eq!(exchange(&w, &ticket, "admins").status, 403);
    // A deleted account buys nothing with the ticket it still holds.
    w.edit(|text| text.replace(&format!("{}\n", w.line_of("alice")), ""));
    let r = exchange(&w, &ticket, "");
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body.trim(), "account gone");
    assert!(w
        .server
        .log()
        .contains("event=exchange-refused check=\"account gone\" detail=\"alice\""));
}

#[test]
fn a_removed_group_is_missing_from_the_next_ticket() {
    let w = World::new();
    let alice = w.session("alice");
    assert_eq!(sorted_groups(&w.silent(&alice)), vec!["admins", "staff"]);
    w.edit(|text| text.replace(":staff,admins", ":staff"));
    assert_eq!(sorted_groups(&w.silent(&alice)), vec!["staff"]);
    w.edit(|text| {
        text.replace(
            &w.line_of("alice"),
            &w.line_of("alice").replace(":staff", ":"),
        )
    });
    // In none of the groups the service asks for any more.
    assert_eq!(w.silent(&alice).status, 403);
}

#[test]
fn a_users_file_that_stops_parsing_fails_closed() {
    let w = World::new();
    let (alice, bob, carol) = (w.session("alice"), w.session("bob"), w.session("carol"));
    let good = std::fs::read_to_string(&w.users).unwrap();
    // bob deleted, carol's hash mangled on line 2, alice intact.
    let broken = format!("{}\ncarol:not-a-hash:staff\n", w.line_of("alice"));
    replace(&w.users, &broken);

    // Logins: 503 for everyone until the file is fixed, not the old table.
    for user in ["alice", "bob", "carol"] {
        let r = w.server.login(&mut Cookies::new(), FORM, user, PASSWORD);
        assert_eq!(r.status, 503, "{user}: {}", r.body);
        assert!(r.header("location").is_none());
    }
    let log = w.server.log();
    let named = format!("{}:2:", w.users.display());
    assert!(log.contains(&named), "the log names file and line: {log}");
    // The deletion applies; the unreadable entry is unknown (503); the
    // readable one goes on.
    assert_login_form_again(&w.silent(&bob));
    assert_eq!(w.silent(&carol).status, 503);
    assert_eq!(sorted_groups(&w.silent(&alice)), vec!["admins", "staff"]);

    // Fixed (bob still deleted): logins work again.
    let fixed: String = good
        .lines()
        .filter(|l| !l.starts_with("bob:"))
        .map(|l| format!("{l}\n"))
        .collect();
    replace(&w.users, &fixed);
    for user in ["alice", "carol"] {
        let r = w.server.login(&mut Cookies::new(), FORM, user, PASSWORD);
        assert!(
            redirected_ticket(&r).is_some(),
            "{user}: {} {}",
            r.status,
            r.body
        );
    }
    assert!(redirected_ticket(&w.silent(&carol)).is_some());
    assert_eq!(
        w.server
            .login(&mut Cookies::new(), FORM, "bob", PASSWORD)
            .status,
        401
    );
}
