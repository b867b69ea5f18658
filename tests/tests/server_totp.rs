//! The TOTP second factor of the real `sso-server`, over HTTP: secrets
//! enrolled with `sso-server user totp enroll`, codes computed by an
//! independent implementation (`oathtool` from Debian's oathtool package),
//! and the `[[second_factor]]` policy on both the interactive and the silent
//! ticket path.

use std::path::PathBuf;
use std::process::Command;

use tests::http::HttpResponse;
use tests::redis::RedisServer;
use tests::server::{
    add_user, redirected_ticket, run_sso_server, users_file, Cookies, Setup, SsoServer,
};
use tests::totp::{enroll, oathtool, totp_cli, wrong_code};
use tests::util::TestKeys;

const ADMIN: &str = "/?s=admin.test.example.org%2F";
const WIKI: &str = "/?s=wiki.test.example.org%2F";
const MAIL: &str = "/?s=mail.test.example.org%2F";
const PASSWORD: &str = "alice's password";

/// A server whose users are alice (staff, with a TOTP secret) and bob (no
/// group, no secret), whose `[auth] totp_file` is `totp`, with these
/// further tables.
struct Site {
    /// Kept: a reload reads the key files again.
    _keys: TestKeys,
    _dir: tempfile::TempDir,
    users: PathBuf,
    totp: PathBuf,
    secret: String,
    server: SsoServer,
    /// Replicas of `server` (same keys, secrets and files), if asked for.
    replicas: Vec<SsoServer>,
}

impl Site {
    /// alice's password for admin in a new browser: its jar and the
    /// second-factor step the answer must be.
    fn password_step(&self) -> (Cookies, HttpResponse) {
        let mut jar = Cookies::new();
        let step = self.server.login(&mut jar, ADMIN, "alice", PASSWORD);
        assert_is_step(&step);
        (jar, step)
    }

    fn start(tables: &str) -> Site {
        Site::start_replicated(tables, 0)
    }

    /// As `start`, with `replicas` more servers of the same configuration.
    /// A new Redis and the site with admin under the TOTP rule, plus one
    /// replica, both keeping their counts and used steps in that Redis;
    /// `throttle`: further `[throttle]` keys.
    fn start_sharing_redis(throttle: &str) -> (RedisServer, Site) {
        let redis = RedisServer::start();
        let store = format!("[throttle]\n{throttle}store = {:?}\n", redis.url());
        let site = Site::start_replicated(&format!("{ADMIN_NEEDS_TOTP}{store}"), 1);
        (redis, site)
    }

    fn start_replicated(tables: &str, replicas: usize) -> Site {
        let keys = TestKeys::new();
        let (dir, users) = tests::server::staff_alice(PASSWORD);
        add_user(&users, "bob", "bob's password", &[]);
        let totp = dir.path().join("totp");
        let secret = enroll(&totp, "alice");
        let mut setup = Setup::users_file(&users);
        setup.auth.push_str(&format!("totp_file = {totp:?}\n"));
        setup.tables = tables.to_owned();
        let server = SsoServer::start(&keys, &setup);
        let replicas = (0..replicas)
            .map(|_| SsoServer::start(&keys, &setup))
            .collect();
        Site {
            _keys: keys,
            _dir: dir,
            users,
            totp,
            secret,
            server,
            replicas,
        }
    }

    /// Sends `code` with the second-factor form on the page `step` (the
    /// step, or a refused code's page with the form again).
    fn send_code(&self, jar: &mut Cookies, step: &HttpResponse, code: &str) -> HttpResponse {
        send_code_to(&self.server, jar, step, code)
    }
}

/// [`Site::send_code`] to one given server.
fn send_code_to(
    server: &SsoServer,
    jar: &mut Cookies,
    step: &HttpResponse,
    code: &str,
) -> HttpResponse {
    step.assert_body_has("action=\"/second-factor\"");
    let resp = server.submit(step, "/second-factor", jar, &[("code", code)]);
    jar.update(&resp);
    resp
}

const ADMIN_NEEDS_TOTP: &str = "[[second_factor]]\nservices = ['admin\\.test\\.example\\.org/']\n";

/// The step page: a form posting to /second-factor with `code` and the
/// CSRF field, and no ticket.
fn assert_is_step(resp: &HttpResponse) {
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(redirected_ticket(resp).is_none());
    resp.assert_body_has("action=\"/second-factor\"");
    assert!(resp.form_field("csrf").is_some_and(|c| !c.is_empty()));
    resp.assert_body_has("name=\"code\"");
}

#[test]
fn a_protected_service_takes_a_password_then_an_oathtool_code() {
    let site = Site::start(ADMIN_NEEDS_TOTP);
    let (mut jar, step) = site.password_step();
    // The password-only session is set: a service without the policy gets
    // its ticket silently.
    let mail = site.server.get(MAIL, &jar);
    let t = redirected_ticket(&mail).expect("silent ticket for mail");
    assert_eq!(t.user, "alice");
    // The code, computed by oathtool, buys the ticket.
    let code = oathtool(&site.secret, None);
    let resp = site.send_code(&mut jar, &step, &code);
    let t = redirected_ticket(&resp).unwrap_or_else(|| panic!("{}: {}", resp.status, resp.body));
    assert_eq!(
        (t.user.as_str(), t.service.as_str()),
        ("alice", "admin.test.example.org/")
    );
    // The session now records the second factor: admin is silent too.
    let again = site.server.get(ADMIN, &jar);
    assert!(redirected_ticket(&again).is_some(), "{}", again.body);
    let log = site.server.log();
    assert!(
        log.contains("event=second-factor factor=\"totp\" user=\"alice\""),
        "{log}"
    );
    // Neither the secret nor the code is in the log.
    assert!(!log.contains(&site.secret) && !log.contains(&code), "{log}");
}

#[test]
fn a_replayed_code_and_a_wrong_code_are_refused() {
    let site = Site::start(ADMIN_NEEDS_TOTP);
    let mut first = Cookies::new();
    let step = site.server.login(&mut first, ADMIN, "alice", PASSWORD);
    let code = oathtool(&site.secret, None);
    let ok = site.send_code(&mut first, &step, &code);
    assert!(redirected_ticket(&ok).is_some(), "{}", ok.body);
    // Another browser with the password and the same code: refused.
    let mut second = Cookies::new();
    let step = site.server.login(&mut second, ADMIN, "alice", PASSWORD);
    assert_is_step(&step);
    let replay = site.send_code(&mut second, &step, &code);
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(redirected_ticket(&replay).is_none());
    replay.assert_body_has("name=\"code\"");
    assert!(site.server.log().contains("check=\"replayed code\""));
    // A code of no step near now: refused.
    let wrong = site.send_code(&mut second, &replay, &wrong_code(&site.secret));
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(redirected_ticket(&wrong).is_none());
    assert!(site.server.log().contains("check=\"wrong code\""));
    // Still a password-only session: the silent path gives the step.
    assert_is_step(&site.server.get(ADMIN, &second));
}

#[test]
fn a_reload_does_not_forget_the_used_codes() {
    let mut site = Site::start(ADMIN_NEEDS_TOTP);
    let mut first = Cookies::new();
    let step = site.server.login(&mut first, ADMIN, "alice", PASSWORD);
    let code = oathtool(&site.secret, None);
    assert!(redirected_ticket(&site.send_code(&mut first, &step, &code)).is_some());
    let answer = site.server.reload();
    assert!(answer.contains("event=reload "), "{answer}");
    let mut second = Cookies::new();
    let step = site.server.login(&mut second, ADMIN, "alice", PASSWORD);
    let replay = site.send_code(&mut second, &step, &code);
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(site.server.log().contains("check=\"replayed code\""));
}

#[test]
fn a_code_used_on_one_replica_is_refused_by_the_other() {
    // Two replicas sharing a Redis store: the step used on one is used on
    // both. (With the memory store each would accept the code once.)
    let (redis, site) = Site::start_sharing_redis("");
    let (a, b) = (&site.server, &site.replicas[0]);
    let mut first = Cookies::new();
    let step = a.login(&mut first, ADMIN, "alice", PASSWORD);
    let code = oathtool(&site.secret, None);
    let ok = send_code_to(a, &mut first, &step, &code);
    assert!(redirected_ticket(&ok).is_some(), "{}", ok.body);
    let mut second = Cookies::new();
    let step = b.login(&mut second, ADMIN, "alice", PASSWORD);
    assert_is_step(&step);
    let replay = send_code_to(b, &mut second, &step, &code);
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(redirected_ticket(&replay).is_none());
    assert!(b.log().contains("check=\"replayed code\""), "{}", b.log());
    // A store that cannot answer about the step (here: Redis refuses that
    // key, while the throttle's counters still work) fails closed: 503,
    // not a ticket on this replica's word. The next step's code, which
    // this replica has not seen used.
    acl_without_used_steps(&redis);
    let mut third = Cookies::new();
    let step = a.login(&mut third, ADMIN, "alice", PASSWORD);
    assert_is_step(&step);
    let next = oathtool(&site.secret, Some(sso_core::unix_now() + 30));
    let refused = send_code_to(a, &mut third, &step, &next);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(redirected_ticket(&refused).is_none());
    assert!(a.log().contains("event=throttle-error"), "{}", a.log());
}

/// Limits Redis's default user to the throttle's counters (the password
/// ones and the second-factor count): the key of the
/// used TOTP steps is refused (NOPERM).
fn acl_without_used_steps(redis: &RedisServer) {
    let out = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string(), "ACL", "SETUSER", "default"])
        .args(["resetkeys", "~sso-throttle:v1:addr:*"])
        .args(["~sso-throttle:v1:pair:*", "~sso-throttle:v1:user:*"])
        .arg("~sso-throttle:v1:2fa:*")
        .output()
        .expect("run redis-cli (Debian package redis-tools)");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK", "{out:?}");
}

#[test]
fn wrong_codes_count_in_the_throttle() {
    let site = Site::start(&format!(
        "{ADMIN_NEEDS_TOTP}[throttle]\nmax_failures_per_user_address = 3\n"
    ));
    let mut jar = Cookies::new();
    let mut page = site.server.login(&mut jar, ADMIN, "alice", PASSWORD);
    let wrong = wrong_code(&site.secret);
    for i in 0..3 {
        page = site.send_code(&mut jar, &page, &wrong);
        assert_eq!(page.status, 401, "failure #{}: {}", i + 1, page.body);
    }
    // Locked: even the right code is refused now.
    let locked = site.send_code(&mut jar, &page, &oathtool(&site.secret, None));
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(redirected_ticket(&locked).is_none());
}

/// Logs alice in with her right password at `server` (a fresh browser)
/// and sends `code` on the step: the answer.
fn password_then_code(server: &SsoServer, code: &str) -> HttpResponse {
    let mut jar = Cookies::new();
    let step = server.login(&mut jar, ADMIN, "alice", PASSWORD);
    assert_is_step(&step);
    send_code_to(server, &mut jar, &step, code)
}

const STRICT_CODES: &str = "[throttle]\nmax_second_factor_failures = 3\n";

#[test]
fn wrong_codes_between_correct_passwords_are_locked_out() {
    // A correct password clears the password lock-out of its address,
    // not the count of wrong codes: after three, even the right code is
    // refused, however often the password is typed in between.
    let site = Site::start(&format!(
        "{ADMIN_NEEDS_TOTP}{STRICT_CODES}\n[metrics]\nenabled = true\n"
    ));
    let wrong = wrong_code(&site.secret);
    for i in 0..3 {
        let r = password_then_code(&site.server, &wrong);
        assert_eq!(r.status, 401, "wrong code #{}: {}", i + 1, r.body);
    }
    let locked = password_then_code(&site.server, &oathtool(&site.secret, None));
    assert_eq!(locked.status, 429, "{}", locked.body);
    // Counted where the login form's lock-outs are counted.
    let metrics = site.server.get("/metrics", &Cookies::new());
    assert!(
        metrics
            .body
            .lines()
            .any(|l| l == "sso_throttled_total{limit=\"second_factor\"} 1"),
        "{}",
        metrics.body
    );
    assert!(redirected_ticket(&locked).is_none());
    assert!(
        locked.header("retry-after") == Some("900"),
        "{:?}",
        locked.headers
    );
    let log = site.server.log();
    assert!(
        log.contains("check=\"too many second-factor failures for user\""),
        "{log}"
    );
    // bob's password still works: the count is alice's alone.
    let mut bob = Cookies::new();
    let r = site.server.login(&mut bob, WIKI, "bob", "bob's password");
    assert!(redirected_ticket(&r).is_some(), "{}", r.body);
}

#[test]
fn a_right_code_clears_the_count_of_wrong_codes() {
    let site = Site::start(&format!("{ADMIN_NEEDS_TOTP}{STRICT_CODES}"));
    let wrong = wrong_code(&site.secret);
    for _ in 0..2 {
        assert_eq!(password_then_code(&site.server, &wrong).status, 401);
    }
    let ok = password_then_code(&site.server, &oathtool(&site.secret, None));
    assert!(redirected_ticket(&ok).is_some(), "{}", ok.body);
    // Three more wrong codes fit before the lock-out.
    for i in 0..3 {
        let r = password_then_code(&site.server, &wrong);
        assert_eq!(r.status, 401, "wrong code #{} after the right one", i + 1);
    }
    assert_eq!(password_then_code(&site.server, &wrong).status, 429);
}

#[test]
fn replicas_sharing_redis_share_the_count_of_wrong_codes() {
    let (_redis, site) = Site::start_sharing_redis("max_second_factor_failures = 3\n");
    let (a, b) = (&site.server, &site.replicas[0]);
    let wrong = wrong_code(&site.secret);
    for (i, server) in [a, b, a].into_iter().enumerate() {
        let r = password_then_code(server, &wrong);
        assert_eq!(r.status, 401, "wrong code #{}: {}", i + 1, r.body);
    }
    let locked = password_then_code(b, &oathtool(&site.secret, None));
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(redirected_ticket(&locked).is_none());
}

#[test]
fn a_removed_key_gets_no_ticket() {
    let site = Site::start(ADMIN_NEEDS_TOTP);
    let (mut jar, step) = site.password_step();
    let (code, out) = totp_cli(&["remove", "alice"], &site.totp);
    assert_eq!(code, Some(0), "{out}");
    // The file is read again on change: the removed secret's code is no use.
    let resp = site.send_code(&mut jar, &step, &oathtool(&site.secret, None));
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert!(redirected_ticket(&resp).is_none());
    resp.assert_body_has("Second factor required");
    // A fresh login is refused the same way, and says why in the log.
    let mut other = Cookies::new();
    let again = site.server.login(&mut other, ADMIN, "alice", PASSWORD);
    assert_eq!(again.status, 403, "{}", again.body);
    assert!(site
        .server
        .log()
        .contains("check=\"no second factor enrolled\""));
    // Removing it twice is an error that says so.
    let (code, out) = totp_cli(&["remove", "alice"], &site.totp);
    assert_ne!(code, Some(0));
    assert!(out.contains("has no TOTP secret"), "{out}");
}

#[test]
fn a_deleted_account_gets_no_ticket_for_its_code() {
    let site = Site::start(ADMIN_NEEDS_TOTP);
    let (mut jar, step) = site.password_step();
    let (code, out) = run_sso_server(&[
        "user".as_ref(),
        "del".as_ref(),
        "--users-file".as_ref(),
        site.users.as_os_str(),
        "alice".as_ref(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    // Her secret is still enrolled, and the code is right.
    let resp = site.send_code(&mut jar, &step, &oathtool(&site.secret, None));
    assert_eq!(resp.status, 401, "{}", resp.body);
    assert!(redirected_ticket(&resp).is_none());
    resp.assert_body_has("action=\"/login\"");
    assert!(site.server.log().contains("check=\"account gone\""));
}

#[test]
fn the_policy_applies_to_its_groups_and_services_only() {
    let site = Site::start(
        "[[second_factor]]\nservices = ['wiki\\.test\\.example\\.org/']\ngroups = ['staff']\n",
    );
    // bob is not in staff: the wiki is password-only for him.
    let mut bob = Cookies::new();
    let resp = site.server.login(&mut bob, WIKI, "bob", "bob's password");
    assert!(redirected_ticket(&resp).is_some(), "{}", resp.body);
    // alice is: she gets the step, at login and on the silent path after
    // a password-only login to another service.
    let mut alice = Cookies::new();
    let resp = site.server.login(&mut alice, MAIL, "alice", PASSWORD);
    assert!(redirected_ticket(&resp).is_some(), "{}", resp.body);
    let step = site.server.get(WIKI, &alice);
    assert_is_step(&step);
    let resp = site.send_code(&mut alice, &step, &oathtool(&site.secret, None));
    let t = redirected_ticket(&resp).unwrap_or_else(|| panic!("{}", resp.body));
    assert_eq!(t.service, "wiki.test.example.org/");
    // A service no table names stays silent.
    assert!(redirected_ticket(&site.server.get(MAIL, &alice)).is_some());
}

#[test]
fn exchange_does_not_skip_the_second_factor() {
    let site = Site::start(&format!(
        "{ADMIN_NEEDS_TOTP}[[exchange]]\nfrom = 'mail\\.test\\.example\\.org/'\n\
         to = '(admin|wiki)\\.test\\.example\\.org/'\n"
    ));
    let mut jar = Cookies::new();
    let resp = site.server.login(&mut jar, MAIL, "alice", PASSWORD);
    let ticket = tests::server::redirected_ticket_text(&resp).expect("ticket");
    let exchange = |service: &str| {
        site.server.post(
            "/exchange",
            &Cookies::new(),
            &[("t", &ticket), ("s", service)],
        )
    };
    let refused = exchange("admin.test.example.org/");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.body.trim(), "second factor required");
    // The same rule still works for a service without the policy.
    assert_eq!(exchange("wiki.test.example.org/").status, 200);
}

/// Both services are named by some `[[second_factor]]` table, but only the
/// target's applies to alice's groups: her mail ticket (no factor asked
/// of her) buys no admin ticket. The rule is asked with her groups as the
/// backend has them, not with the ticket's (which holds none here).
#[test]
fn exchange_asks_the_second_factor_rule_with_the_current_groups() {
    let site = Site::start(
        "[[second_factor]]\nservices = ['mail\\.test\\.example\\.org/', 'admin\\.test\\.example\\.org/']\n\
         groups = ['auditors']\n\
         [[second_factor]]\nservices = ['admin\\.test\\.example\\.org/']\ngroups = ['staff']\n\
         [[exchange]]\nfrom = 'mail\\.test\\.example\\.org/'\nto = 'admin\\.test\\.example\\.org/'\n",
    );
    let mut jar = Cookies::new();
    let resp = site.server.login(&mut jar, MAIL, "alice", PASSWORD);
    let ticket = tests::server::redirected_ticket_text(&resp)
        .unwrap_or_else(|| panic!("no mail ticket without a factor: {resp:?}"));
    let r = site.server.post(
        "/exchange",
        &Cookies::new(),
        &[("t", &ticket), ("s", "admin.test.example.org/")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body.trim(), "second factor required");
}

#[test]
fn bad_second_factor_configurations_are_refused_naming_the_key() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path(), &[("alice", PASSWORD)]);
    let totp = dir.path().join("totp");
    enroll(&totp, "alice");
    let config = |auth_extra: &str, tables: &str| {
        let mut setup = Setup::users_file(&users);
        setup.auth.push_str(auth_extra);
        setup.tables = tables.to_owned();
        setup.config_text(&keys, 1)
    };
    let with_file = format!("totp_file = {totp:?}\n");
    let (ok, out) = SsoServer::try_config(&config(&with_file, ADMIN_NEEDS_TOTP));
    assert!(ok, "{out}");
    let (ok, out) = SsoServer::try_config(&config("", ADMIN_NEEDS_TOTP));
    assert!(!ok && out.contains("`auth.totp_file`"), "{out}");
    let (ok, out) = SsoServer::try_config(&config(
        &with_file,
        "[[second_factor]]\nservices = ['(x']\n",
    ));
    assert!(!ok && out.contains("`second_factor.services`"), "{out}");
    let (ok, out) = SsoServer::try_config(&config(
        &with_file,
        "[[second_factor]]\nservices = ['x/']\ngroups = []\n",
    ));
    assert!(!ok && out.contains("`second_factor.groups`"), "{out}");
    // Secrets everyone may read: refused at start.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&totp, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, out) = SsoServer::try_config(&config(&with_file, ADMIN_NEEDS_TOTP));
    assert!(!ok && out.contains("auth.totp_file"), "{out}");
    assert!(out.contains("readable by everyone"), "{out}");
}
