//! Zero-downtime key rotation, walking the steps of docs/operations.md
//! ("Zero-downtime key rotation") with a real sso-server, a real apache2
//! with mod_sso and pam_sso in the real libpam, while a client thread keeps
//! asking the login server for fresh tickets and using them: a ticket for
//! the web service goes to apache2 in `Authorization: SSO`, and is
//! exchanged at the login server (which verifies it with its own public
//! keys) for a ticket for the IMAP service that goes through PAM.
//!
//! No request that carried a valid ticket may be refused at any step; once
//! the old key is dropped, a fresh ticket signed with it must be refused
//! everywhere.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sso_core::{Check, KeySet, PublicKey, SecretKey, Signer, Verifier};
use tests::apache::{Apache, ApacheConfig, Request};
use tests::pam::{self, module_path, PAM_AUTH_ERR, PAM_SUCCESS};
use tests::server::{
    add_user, http, pct, redirected_ticket_text, Cookies, HttpResponse, Setup, SsoServer, DOMAIN,
};
use tests::util::{bin, TestKeys};

const USER: &str = "alice";
const PASSWORD: &str = "alice password";
const IMAP: &str = "imap.test.example.org/";
/// Short, so that step 4 (wait one ticket lifetime) is short; long enough
/// that a fresh ticket never expires between its minting and its use.
const TICKET_LIFETIME: u64 = 10;
/// The PAM service of the test's private configuration directory.
const PAM_SERVICE: &str = "imap";

/// The steps of the procedure, as the client thread records them.
const STEPS: [&str; 5] = [
    "before",
    "2 new public key added",
    "3 signing key switched",
    "4 one ticket lifetime waited",
    "5 old key dropped",
];

/// One use of a ticket by the client.
struct Use {
    step: usize,
    what: &'static str,
    /// Which key signed the ticket: "old", "new" or "?".
    signer: &'static str,
    refused: Option<String>,
}

/// What the client thread needs: addresses and paths, no handles.
#[derive(Clone)]
struct Client {
    server_port: u16,
    app_url: String,
    app_service: String,
    pam_dir: PathBuf,
    old: PathBuf,
    new: PathBuf,
    jar: Cookies,
}

impl Client {
    /// A fresh ticket from the login server's silent path.
    fn fresh_ticket(&self, service: &str) -> Result<String, String> {
        let r = http(
            self.server_port,
            "GET",
            &format!("/?s={}", pct(service)),
            &self.jar.header(),
            None,
        );
        redirected_ticket_text(&r).ok_or_else(|| format!("login server: {} {}", r.status, r.body))
    }

    fn signer(&self, ticket: &str, service: &str) -> &'static str {
        if verifies(ticket, service, &self.old) {
            "old"
        } else if verifies(ticket, service, &self.new) {
            "new"
        } else {
            "?"
        }
    }

    /// One round: web ticket to apache2, then exchanged for an IMAP ticket
    /// that goes through PAM.
    fn round(&self, step: usize, uses: &Mutex<Vec<Use>>) {
        let record = |what, signer, refused| {
            uses.lock().unwrap().push(Use {
                step,
                what,
                signer,
                refused,
            })
        };
        let web = match self.fresh_ticket(&self.app_service) {
            Ok(t) => t,
            Err(e) => return record("login server ticket", "?", Some(e)),
        };
        let signer = self.signer(&web, &self.app_service);
        let r = Request::new(&self.app_url)
            .header("Authorization", &format!("SSO {web}"))
            .send();
        let refused = (r.status != 200 || r.body != "protected\n")
            .then(|| format!("apache2: {} {}", r.status, r.body));
        record("apache2 + mod_sso", signer, refused);
        let r = exchange_for_imap(self.server_port, &web);
        if r.status != 200 {
            return record("exchange", signer, Some(format!("{} {}", r.status, r.body)));
        }
        record("exchange", signer, None);
        let imap = r.body.trim().to_owned();
        let signer = self.signer(&imap, IMAP);
        let a = pam::authenticate(Some(&self.pam_dir), PAM_SERVICE, USER, imap.as_bytes());
        let refused = (a.code != PAM_SUCCESS).then(|| format!("pam: {a:?}"));
        record("libpam + pam_sso", signer, refused);
    }
}

fn verifies(ticket: &str, service: &str, public: &Path) -> bool {
    let pk = PublicKey::from_file(public).unwrap();
    let v = Verifier::new(KeySet::new(&[pk]).unwrap(), service, DOMAIN).unwrap();
    v.verify(ticket, &Check::at(sso_core::unix_now())).is_ok()
}

fn pam_line(keys: &[&Path]) -> String {
    let keys: Vec<String> = keys
        .iter()
        .map(|k| format!("key={}", k.display()))
        .collect();
    format!(
        "auth required {} {} domain={DOMAIN} service={IMAP}\n",
        module_path().display(),
        keys.join(" ")
    )
}

fn key_lines(keys: &[&Path]) -> String {
    keys.iter()
        .map(|k| format!("SSOPublicKeyFile {}\n", k.display()))
        .collect()
}

/// Replaces the `SSOPublicKeyFile` lines of the running apache2's
/// configuration and restarts it gracefully (`apache2ctl -k graceful`).
fn apache_keys(apache: &mut Apache, from: &[&Path], to: &[&Path]) {
    let conf = apache.root().join("conf/httpd.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains(&key_lines(from)), "{text}");
    std::fs::write(&conf, text.replace(&key_lines(from), &key_lines(to))).unwrap();
    apache.graceful();
}

#[test]
fn keys_rotate_without_refusing_a_valid_ticket() {
    tests::return_unless_root!("apache2");
    let old = TestKeys::new();
    // 1. The new pair, made as the procedure says.
    let new = gen_keys();
    let (old_pub, new_pub) = (old.public_path.as_path(), new.public_path.as_path());

    let mut apache = Apache::start(ApacheConfig {
        config: format!(
            "SSOLoginServer https://login.test.example.org/\nSSODomain {DOMAIN}\n{}\
             <Location /app/>\n  AuthType SSO\n  SSOService @HOSTPORT@/app/\n  \
             Require valid-user\n</Location>\n",
            key_lines(&[old_pub])
        ),
        files: vec![("htdocs/app/index.html".into(), "protected\n".into(), 0o644)],
        ..ApacheConfig::default()
    });
    let app_service = format!("{}/app/", apache.host_port());

    let (_users_dir, users) = tests::util::temp_path("users");
    add_user(&users, USER, PASSWORD, &[]);
    let mut setup = Setup::users_file(&users);
    setup.allowed_services = Some(vec![regex_escape(&app_service), regex_escape(IMAP)]);
    setup.tables = format!(
        "[tickets]\ndefault_lifetime = {TICKET_LIFETIME}\n\n[[exchange]]\nfrom = '{}'\nto = '{}'\n",
        regex_escape(&app_service),
        regex_escape(IMAP)
    );
    let mut server = SsoServer::start(&old, &setup);
    let port = server.port;
    let server_config = |secret: &TestKeys, public: &[&Path]| {
        setup.config_text_with_keys(&secret.secret_path, public, port)
    };

    let pam_dir = pam::ServiceDir::new();
    pam_dir.add(PAM_SERVICE, &pam_line(&[old_pub]));

    let mut jar = Cookies::new();
    let r = server.login(
        &mut jar,
        &format!("/?s={}", pct(&app_service)),
        USER,
        PASSWORD,
    );
    assert_eq!(r.status, 302, "the client logs in: {}", r.body);
    let client = Client {
        server_port: server.port,
        app_url: apache.https_url("/app/"),
        app_service: app_service.clone(),
        pam_dir: pam_dir.path().to_path_buf(),
        old: old.public_path.clone(),
        new: new.public_path.clone(),
        jar,
    };

    let step = Arc::new(AtomicUsize::new(0));
    let rounds = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let uses = Arc::new(Mutex::new(Vec::new()));
    let worker = {
        let (client, step, rounds, stop, uses) = (
            client.clone(),
            step.clone(),
            rounds.clone(),
            stop.clone(),
            uses.clone(),
        );
        std::thread::spawn(move || {
            // Bounded: at most 10,000 rounds even if the main thread hangs.
            for _ in 0..10_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let now = step.load(Ordering::SeqCst);
                // The tests' HTTP client panics when it cannot connect: a
                // dropped connection is a refusal too, and is reported so.
                let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    client.round(now, &uses)
                }));
                if let Err(e) = round {
                    let what = e
                        .downcast_ref::<String>()
                        .cloned()
                        .unwrap_or_else(|| "a panic".into());
                    uses.lock().unwrap_or_else(|p| p.into_inner()).push(Use {
                        step: now,
                        what: "connection",
                        signer: "?",
                        refused: Some(what),
                    });
                }
                rounds.fetch_add(1, Ordering::SeqCst);
                // A steady client, not a load test.
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // Lets the client make a few rounds under the current state.
    let some_rounds = || {
        let target = rounds.load(Ordering::SeqCst) + 3;
        let deadline = Instant::now() + Duration::from_secs(120);
        while rounds.load(Ordering::SeqCst) < target {
            assert!(!worker.is_finished(), "the client thread ended");
            assert!(Instant::now() < deadline, "the client makes no progress");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // The next step's label, then a few rounds under it.
    let next_step = || {
        step.fetch_add(1, Ordering::SeqCst);
        some_rounds();
    };
    some_rounds();

    // 2. The new public key on every verifier, the old one kept.
    apache_keys(&mut apache, &[old_pub], &[old_pub, new_pub]);
    pam_dir.add(PAM_SERVICE, &pam_line(&[old_pub, new_pub]));
    server.write_config(&server_config(&old, &[old_pub, new_pub]));
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    next_step();
    // Every verifier takes the new key before anything is signed with it.
    let by_new = new.ticket(USER, &app_service, DOMAIN, 60, None, &[]);
    assert_eq!(apache_status(&client.app_url, &by_new), 200);
    let imap_by_new = new.ticket(USER, IMAP, DOMAIN, 60, None, &[]);
    assert_eq!(pam_code(&client.pam_dir, &imap_by_new), PAM_SUCCESS);
    let verify = Command::new(bin("ssotool"))
        .args(["verify", "--public-key"])
        .arg(old_pub)
        .arg("--public-key")
        .arg(new_pub)
        .args(["--service", IMAP, "--domain", DOMAIN, "--"])
        .arg(&imap_by_new)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");

    // 3. The server signs with the new key, by a reload.
    server.write_config(&server_config(&new, &[old_pub, new_pub]));
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    let switched = sso_core::unix_now();
    next_step();

    // 4. One ticket lifetime (clock skew 0 everywhere).
    while sso_core::unix_now() <= switched + TICKET_LIFETIME {
        std::thread::sleep(Duration::from_millis(200));
    }
    next_step();

    // 5. The old key dropped everywhere.
    apache_keys(&mut apache, &[old_pub, new_pub], &[new_pub]);
    pam_dir.add(PAM_SERVICE, &pam_line(&[new_pub]));
    server.write_config(&server_config(&new, &[new_pub]));
    let line = server.reload();
    assert!(line.contains("event=reload "), "{line}");
    next_step();
    stop.store(true, Ordering::SeqCst);
    worker.join().expect("client thread");

    let uses = uses.lock().unwrap();
    let refused: Vec<String> = uses
        .iter()
        .filter_map(|u| {
            u.refused
                .as_ref()
                .map(|e| format!("[{}] {} ({}): {e}", STEPS[u.step], u.what, u.signer))
        })
        .collect();
    assert!(
        refused.is_empty(),
        "{} of {} uses refused:\n{}\n--- server log ---\n{}\n--- apache ---\n{}",
        refused.len(),
        uses.len(),
        refused.join("\n"),
        server.log(),
        apache.error_log()
    );
    for (i, name) in STEPS.iter().enumerate() {
        let n = uses.iter().filter(|u| u.step == i).count();
        eprintln!("step {name:?}: {n} ticket uses, none refused");
    }
    // The rotation really happened: the client used tickets of both keys,
    // the old one only before the switch, and every verifier saw both.
    for what in ["apache2 + mod_sso", "exchange", "libpam + pam_sso"] {
        let signers = |step: usize| -> Vec<&str> {
            uses.iter()
                .filter(|u| u.what == what && u.step == step)
                .map(|u| u.signer)
                .collect()
        };
        assert!(signers(0).iter().all(|s| *s == "old"), "{what}");
        assert!(!signers(0).is_empty(), "{what}");
        // Rounds labelled 2 and later started after the switch's reload.
        for late in 2..STEPS.len() {
            let s = signers(late);
            assert!(
                !s.is_empty() && s.iter().all(|s| *s == "new"),
                "{what} {s:?}"
            );
        }
    }

    // After the drop, a fresh ticket of the old key is refused everywhere.
    let by_old = old.ticket(USER, &app_service, DOMAIN, 60, None, &[]);
    assert_eq!(apache_status(&client.app_url, &by_old), 401);
    let imap_by_old = old.ticket(USER, IMAP, DOMAIN, 60, None, &[]);
    assert_eq!(pam_code(&client.pam_dir, &imap_by_old), PAM_AUTH_ERR);
    let r = exchange_for_imap(server.port, &by_old);
    assert_eq!(r.status, 401, "{}", r.body);
    // And one of the new key still passes (the refusal was the key).
    let by_new = new.ticket(USER, &app_service, DOMAIN, 60, None, &[]);
    assert_eq!(apache_status(&client.app_url, &by_new), 200);
}

/// `ssotool gen-keys` into a private directory.
fn gen_keys() -> TestKeys {
    let (dir, secret_path) = tests::util::temp_path("secret.key.new");
    let public_path = dir.path().join("public.key.new");
    let out = Command::new(bin("ssotool"))
        .args(["gen-keys", "--output"])
        .arg(&public_path)
        .arg("--secret-key")
        .arg(&secret_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let signer = Signer::new(SecretKey::from_file(&secret_path).unwrap());
    TestKeys {
        dir,
        secret_path,
        public_path,
        signer,
    }
}

fn apache_status(url: &str, ticket: &str) -> u16 {
    Request::new(url)
        .header("Authorization", &format!("SSO {ticket}"))
        .send()
        .status
}

fn pam_code(dir: &Path, ticket: &str) -> i32 {
    pam::authenticate(Some(dir), PAM_SERVICE, USER, ticket.as_bytes()).code
}

/// `127.0.0.1:8443/app/` as a regular expression matching just that.
fn regex_escape(s: &str) -> String {
    s.replace('.', r"\.")
}

/// `POST /exchange` of `ticket` for the IMAP service, to the login server
/// on `port`.
fn exchange_for_imap(port: u16, ticket: &str) -> HttpResponse {
    http(
        port,
        "POST",
        "/exchange",
        &[],
        Some(&format!("t={}&s={}", pct(ticket), pct(IMAP))),
    )
}
