//! Who may enrol a security key on the real `sso-server`, what a missing
//! credentials file does, and the per-user cap of the ceremonies, over
//! plain HTTP (no ceremony completes without a browser here: the
//! enrolment with a one-time code is in server_webauthn.rs).

use tests::server::{add_user, Cookies, Setup, SsoServer};
use tests::util::TestKeys;

const ADMIN: &str = "/?s=admin.test.example.org%2F";
const WIKI: &str = "/?s=wiki.test.example.org%2F";

/// `[webauthn]` with `webauthn_keys` added to the table, and a
/// `[[second_factor]]` table for the admin service.
fn config(dir: &std::path::Path, webauthn_keys: &str) -> Setup {
    let users = dir.join("users");
    if !users.exists() {
        add_user(&users, "bob", "bob's password", &[]);
        add_user(&users, "carol", "carol's password", &[]);
    }
    let mut setup = Setup::users_file(&users);
    setup.tables = format!(
        "[webauthn]\nrp_id = \"localhost\"\norigin = \"https://localhost\"\n\
         credentials_file = {:?}\n{webauthn_keys}\n\
         [[second_factor]]\nservices = ['admin\\.test\\.example\\.org/']\n",
        dir.join("webauthn")
    );
    setup
}

fn server(dir: &std::path::Path, keys: &TestKeys, webauthn_keys: &str) -> SsoServer {
    std::fs::write(dir.join("webauthn"), "").unwrap();
    SsoServer::start(keys, &config(dir, webauthn_keys))
}

/// Logs `user` in to the wiki (no second factor there) and returns the
/// jar and a CSRF token (from the logout confirmation, which any session
/// can load).
fn logged_in(server: &SsoServer, user: &str, password: &str) -> (Cookies, String) {
    let mut jar = Cookies::new();
    let resp = server.login(&mut jar, WIKI, user, password);
    assert_eq!(resp.status, 302, "{}", resp.body);
    let confirm = server.get("/logout", &jar);
    jar.update(&confirm);
    let csrf = confirm.form_field("csrf").expect("logout form token");
    (jar, csrf)
}

#[test]
fn a_password_only_user_under_a_rule_cannot_enrol_a_key_nor_log_in() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let mut server = server(dir.path(), &keys, "");
    let (bob, csrf) = logged_in(&server, "bob", "bob's password");

    // The page says why; so does the endpoint, in its JSON.
    let page = server.get("/webauthn/register", &bob);
    assert_eq!(page.status, 403, "{}", page.body);
    page.assert_body_has("Enrolment code required");
    let r = server.post("/webauthn/register/start", &bob, &[("csrf", &csrf)]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body, "{\"error\":\"enrolment code required\"}");
    // A made-up code does not open it either.
    let r = server.post(
        "/webauthn/register/start",
        &bob,
        &[("csrf", &csrf), ("code", "AAAA-BBBB-CCCC-DDDD")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    r.assert_body_has("invalid or expired enrolment code");
    assert!(server
        .log()
        .contains("event=webauthn-refused check=\"enrolment code required\" user=\"bob\""));

    // Without a key, the admin service stays closed to him.
    let step = server.get(ADMIN, &bob);
    assert_eq!(step.status, 403, "{}", step.body);
    step.assert_body_has("none enrolled");
    assert!(!server.log().contains("webauthn-enrolled"));

    // `self_enrolment = true` turns it back on, knowingly.
    let setup = config(dir.path(), "self_enrolment = true\n");
    server.write_config(&setup.config_text(&keys, server.port));
    let answer = server.reload();
    assert!(answer.contains("event=reload "), "{answer}");
    let r = server.post("/webauthn/register/start", &bob, &[("csrf", &csrf)]);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn a_missing_credentials_file_refuses_to_start_and_its_loss_answers_503() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    // A replica without the file: refused at start, naming the key.
    let setup = config(dir.path(), "");
    let (ok, out) = SsoServer::try_config(&setup.config_text(&keys, 1));
    assert!(!ok, "{out}");
    assert!(out.contains("webauthn.credentials_file"), "{out}");

    let mut server = server(dir.path(), &keys, "");
    let (bob, csrf) = logged_in(&server, "bob", "bob's password");
    std::fs::remove_file(dir.path().join("webauthn")).unwrap();
    // Not "no key enrolled": the file cannot say, so no one gets in and no
    // one enrols.
    let step = server.get(ADMIN, &bob);
    assert_eq!(step.status, 503, "{}", step.body);
    let r = server.post("/webauthn/register/start", &bob, &[("csrf", &csrf)]);
    assert_eq!(r.status, 503, "{}", r.body);
    let r = server.post("/webauthn/login/start", &bob, &[("csrf", &csrf)]);
    assert_eq!(r.status, 503, "{}", r.body);
    // A reload refuses the configuration, naming the key.
    let answer = server.reload();
    assert!(answer.contains("event=reload-refused"), "{answer}");
    assert!(answer.contains("webauthn.credentials_file"), "{answer}");
}

#[test]
fn one_users_ceremonies_do_not_crowd_out_another_users() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &keys, "self_enrolment = true\n");
    let (bob, bob_csrf) = logged_in(&server, "bob", "bob's password");
    let (carol, carol_csrf) = logged_in(&server, "carol", "carol's password");
    let start = |jar: &Cookies, csrf: &str| {
        server
            .post("/webauthn/register/start", jar, &[("csrf", csrf)])
            .status
    };
    // More ceremonies than the global cap (10,000), all bob's: each evicts
    // his own oldest, and none is refused.
    let bobs = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| s.spawn(|| (0..2501).filter(|_| start(&bob, &bob_csrf) == 200).count()))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .sum::<usize>()
    });
    assert_eq!(start(&carol, &carol_csrf), 200);
    assert_eq!(bobs, 10_004);
    assert!(!server.log().contains("too many ceremonies"));
}
