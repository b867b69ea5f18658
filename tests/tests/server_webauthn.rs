//! WebAuthn as the second factor of the real `sso-server`: enrolment and
//! login in Debian's chromium (via chromedriver) with the WebDriver virtual
//! authenticator, over https on localhost (WebAuthn needs a host name, not
//! an address); and the refusals of the JSON endpoints over plain HTTP.
//! Who may enrol, the credentials file and the ceremony caps:
//! server_webauthn_enrolment.rs.

use std::process::Command;

use tests::server::{query_params, users_file, Browser, Cookies, Setup, SsoServer};
use tests::util::TestKeys;

const PASSWORD: &str = "alice's password";

/// A certificate for localhost from a throwaway CA: (CA, cert, key).
fn localhost_cert(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let ca = tests::tls::Ca::new(dir, "webauthn test CA");
    let (cert, key) = ca.issue("localhost");
    (ca.cert, cert, key)
}

/// `sso-server webauthn enrolment-code USER` against the server's
/// configuration: the code it prints.
fn enrolment_code(server: &SsoServer, user: &str) -> String {
    let out = Command::new(tests::util::bin("sso-server"))
        .arg("--config")
        .arg(&server.config_path)
        .args(["webauthn", "enrolment-code", user])
        .output()
        .expect("run sso-server webauthn enrolment-code");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let code = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(code.len(), 19, "{code}");
    // The code goes to standard output only.
    assert!(!stderr.contains(&code), "{stderr}");
    code
}

#[test]
fn a_security_key_is_enrolled_in_chromium_with_a_one_time_code_then_is_the_second_factor() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), &[("alice", PASSWORD)]);
    let (ca, cert, key) = localhost_cert(dir.path());
    let credentials = dir.path().join("webauthn");
    std::fs::write(&credentials, "").unwrap();
    let codes = dir.path().join("enrolment-codes");
    let mut setup = Setup::users_file(&users);
    setup.allowed_services = Some(vec![r"localhost:[0-9]+/(open|admin)/".into()]);
    let tables = |origin: &str| {
        format!(
            "[tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n\
             [webauthn]\nrp_id = \"localhost\"\norigin = {origin:?}\ncredentials_file = {credentials:?}\n\
             enrolment_codes_file = {codes:?}\n\
             [[second_factor]]\nservices = ['localhost:[0-9]+/admin/']\n"
        )
    };
    // The origin names the port, which is known once the server runs.
    setup.tables = tables("https://localhost");
    let mut server = SsoServer::start(&keys, &setup);
    let base = format!("https://localhost:{}", server.port);
    setup.tables = tables(&base);
    server.write_config(&setup.config_text(&keys, server.port));
    let answer = server.reload();
    assert!(answer.contains("event=reload "), "{answer}");

    let browser = Browser::start(&[&ca]);
    let authenticator = browser.add_virtual_authenticator();
    let open = format!("localhost:{}/open/", server.port);
    let admin = format!("localhost:{}/admin/", server.port);

    // A password login to a service without the policy.
    browser.goto(&format!("{base}/?s={open}"));
    browser.type_into("#username", "alice");
    browser.type_into("#password", PASSWORD);
    browser.click("#submit");
    browser.wait_for_url(&format!("https://{open}sso_login?t="));

    // Under a [[second_factor]] table, her password alone cannot enrol a
    // key: the page asks for the administrator's code, and a made-up one
    // is refused.
    browser.goto(&format!("{base}/webauthn/register"));
    browser.wait_for_text("id=\"code\"");
    browser.type_into("#code", "AAAA-BBBB-CCCC-DDDD");
    browser.click("#register");
    browser.wait_for_text("Security key failed: invalid or expired enrolment code");
    assert!(browser.virtual_credentials(&authenticator).is_empty());

    // With the code the administrator issued: enrolled.
    let code = enrolment_code(&server, "alice");
    browser.goto(&format!("{base}/webauthn/register"));
    browser.type_into("#code", &code.to_lowercase());
    browser.click("#register");
    browser.wait_for_text("Security key registered.");
    assert_eq!(browser.virtual_credentials(&authenticator).len(), 1);
    assert!(std::fs::read_to_string(&credentials)
        .unwrap()
        .starts_with("alice\t"));
    assert!(server
        .log()
        .contains("event=webauthn-enrolled user=\"alice\" by=\"enrolment code\""));
    assert!(!server.log().contains(&code), "a code in the log");

    // The code was spent: a second use is refused.
    browser.goto(&format!("{base}/webauthn/register"));
    browser.type_into("#code", &code);
    browser.click("#register");
    browser.wait_for_text("Security key failed: invalid or expired enrolment code");
    assert!(server.log().contains(
        "event=webauthn-refused check=\"invalid or expired enrolment code\" user=\"alice\""
    ));
    assert_eq!(browser.virtual_credentials(&authenticator).len(), 1);

    // The protected service: the step offers the key (and no TOTP code:
    // there is no totp_file), and the key buys the ticket.
    browser.goto(&format!("{base}/?s={admin}"));
    let step = browser.wait_for_text("id=\"webauthn\"");
    assert!(!step.contains("name=\"code\""), "{step}");
    browser.click("#webauthn");
    let url = browser.wait_for_url(&format!("https://{admin}sso_login?t="));
    let (_, t) = query_params(&url)
        .into_iter()
        .find(|(k, _)| k == "t")
        .expect("ticket");
    let ticket = sso_core::decode_unverified(&t).expect("ticket decodes");
    assert_eq!(
        (ticket.user.as_str(), ticket.service.as_str()),
        ("alice", admin.as_str())
    );
    assert!(server
        .log()
        .contains("event=second-factor factor=\"webauthn\" user=\"alice\""));
}

/// A plain-http server with a users file, a TOTP file for alice, and
/// `[webauthn]` (no ceremony can complete without a browser here), with
/// the keys and the folder it must outlive.
fn plain_server(tables: &str) -> (TestKeys, tempfile::TempDir, SsoServer) {
    let keys = TestKeys::new();
    let folder = tempfile::tempdir().unwrap();
    let server = plain_server_in(folder.path(), &keys, tables);
    (keys, folder, server)
}

fn plain_server_in(dir: &std::path::Path, keys: &TestKeys, tables: &str) -> SsoServer {
    let users = users_file(dir, &[("alice", PASSWORD), ("bob", "bob's password")]);
    // The credentials file must exist (a missing one is not an empty one).
    std::fs::write(dir.join("webauthn"), "").unwrap();
    let totp = dir.join("totp");
    let (code, out) = tests::server::run_sso_server(&[
        "user".as_ref(),
        "totp".as_ref(),
        "enroll".as_ref(),
        "--totp-file".as_ref(),
        totp.as_os_str(),
        "alice".as_ref(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let mut setup = Setup::users_file(&users);
    setup.auth.push_str(&format!("totp_file = {totp:?}\n"));
    setup.tables = format!(
        "[webauthn]\nrp_id = \"localhost\"\norigin = \"https://localhost\"\n\
         credentials_file = {:?}\n{tables}",
        dir.join("webauthn")
    );
    SsoServer::start(keys, &setup)
}

#[test]
fn the_ceremony_endpoints_refuse_what_they_must() {
    let (_keys, _dir, server) = plain_server("");
    const WIKI: &str = "/?s=wiki.test.example.org%2F";
    // The script is served, from the server itself.
    let js = server.get("/webauthn.js", &Cookies::new());
    assert_eq!(js.status, 200);
    assert!(js
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/javascript"));
    let csp = js
        .header("content-security-policy")
        .unwrap_or("")
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    // bob logs in with his password (no second factor of his own).
    let mut bob = Cookies::new();
    let resp = server.login(&mut bob, WIKI, "bob", "bob's password");
    assert_eq!(resp.status, 302, "{}", resp.body);
    let page = server.get("/webauthn/register", &bob);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<script src=\"/webauthn.js\"></script>"));
    let csrf = page.form_field("csrf").unwrap();
    // Without the CSRF token: refused.
    let r = server.post("/webauthn/register/start", &bob, &[("csrf", "forged")]);
    assert_eq!(r.status, 403, "{}", r.body);
    // With it: a challenge for bob.
    let r = server.post("/webauthn/register/start", &bob, &[("csrf", &csrf)]);
    assert_eq!(r.status, 200, "{}", r.body);
    let start: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(
        start["options"]["publicKey"]["challenge"].is_string(),
        "{start}"
    );
    let id = start["id"].as_str().unwrap().to_owned();
    // A credential that is not one: refused, and the ceremony is spent.
    let finish = |id: &str, credential: &str| {
        server.post(
            "/webauthn/register/finish",
            &bob,
            &[("csrf", &csrf), ("id", id), ("credential", credential)],
        )
    };
    let r = finish(&id, "{\"not\": \"a credential\"}");
    assert_eq!(r.status, 400, "{}", r.body);
    r.assert_body_has("malformed credential");
    let r = finish(&id, "{}");
    assert_eq!(r.status, 401, "{}", r.body);
    r.assert_body_has("unknown or expired ceremony");
    // bob has no key: there is nothing to log in with.
    let r = server.post("/webauthn/login/start", &bob, &[("csrf", &csrf)]);
    assert_eq!(r.status, 403, "{}", r.body);
    r.assert_body_has("no security key enrolled");
    // No session: refused.
    let mut anonymous = Cookies::new();
    anonymous.set("__Host-sso_csrf", bob.get("__Host-sso_csrf").unwrap());
    let r = server.post("/webauthn/login/finish", &anonymous, &[("csrf", &csrf)]);
    assert_eq!(r.status, 401, "{}", r.body);

    // alice has a TOTP secret: her password alone cannot add a key.
    let mut alice = Cookies::new();
    let resp = server.login(&mut alice, WIKI, "alice", PASSWORD);
    assert_eq!(resp.status, 302, "{}", resp.body);
    let page = server.get("/webauthn/register", &alice);
    assert_eq!(page.status, 403, "{}", page.body);
    // Nor through the endpoint (a CSRF token from the logout confirmation).
    let confirm = server.get("/logout", &alice);
    alice.update(&confirm);
    let csrf = confirm.form_field("csrf").expect("logout form token");
    let r = server.post("/webauthn/register/start", &alice, &[("csrf", &csrf)]);
    assert_eq!(r.status, 403, "{}", r.body);
    r.assert_body_has("second factor required");
    assert!(!server.log().contains("webauthn-enrolled"));
}

/// bob logged in with his password (no factor of his own) at `server`:
/// his cookies and the CSRF token of his pages.
fn bob_logged_in(server: &SsoServer) -> (Cookies, String) {
    let mut bob = Cookies::new();
    let resp = server.login(
        &mut bob,
        "/?s=wiki.test.example.org%2F",
        "bob",
        "bob's password",
    );
    assert_eq!(resp.status, 302, "{}", resp.body);
    let page = server.get("/webauthn/register", &bob);
    let csrf = page.form_field("csrf").expect("csrf");
    (bob, csrf)
}

/// A security-key answer that is no answer, for a made-up ceremony.
fn failed_key_answer(
    server: &SsoServer,
    (jar, csrf): &(Cookies, String),
) -> tests::server::HttpResponse {
    server.post(
        "/webauthn/login/finish",
        jar,
        &[("csrf", csrf), ("id", "made-up"), ("credential", "{}")],
    )
}

#[test]
fn failed_key_answers_count_in_the_throttle() {
    let (_keys, _dir, server) = plain_server("[throttle]\nmax_failures_per_user_address = 2\n");
    let bob = bob_logged_in(&server);
    assert_eq!(failed_key_answer(&server, &bob).status, 401);
    assert_eq!(failed_key_answer(&server, &bob).status, 401);
    let locked = failed_key_answer(&server, &bob);
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(server.log().contains("event=throttled"));
}

#[test]
fn failed_key_answers_count_as_second_factor_failures() {
    // As for TOTP codes: a correct password clears the password throttle,
    // not the user's count of failed second factors, so typing the
    // password between tries buys no more tries.
    let (_keys, _dir, server) = plain_server("[throttle]\nmax_second_factor_failures = 3\n");
    for i in 0..3 {
        let r = failed_key_answer(&server, &bob_logged_in(&server));
        assert_eq!(r.status, 401, "failed key answer #{}: {}", i + 1, r.body);
    }
    let locked = failed_key_answer(&server, &bob_logged_in(&server));
    assert_eq!(locked.status, 429, "{}", locked.body);
    locked.assert_body_has("too many second-factor failures");
    assert_eq!(
        locked.header("retry-after"),
        Some("900"),
        "{:?}",
        locked.headers
    );
    assert!(
        server
            .log()
            .contains("check=\"too many second-factor failures for user\""),
        "{}",
        server.log()
    );
}
