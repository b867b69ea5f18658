//! Realm tickets at a real apache2 with the built mod_sso: the ticket from
//! `ssh -T` is accepted in the `Authorization: SSO` header, and `ssotool
//! fetch` (over https, trusting the test server's throwaway certificate)
//! replaces an expired cached ticket before it sends anything. The refresh
//! after a `401 ... error="expired"` for a ticket the client still holds
//! valid needs a server clock ahead of the client's: `ssh_apache_skew.rs`.

use sso_client::TicketCache;
use sso_core::Signer;
use tests::apache::{Apache, ApacheConfig};
use tests::ssh::{
    alice_ticket, install_ca_signed_certificate, ssotool_fetch, ClientKey, Realm, Sshd,
};

const DOMAIN: &str = "example.org";
/// The service is the host the tests reach: `ssotool fetch` sends a ticket
/// only to https://HOST of the ticket's service.
const API: &str = "127.0.0.1/app/";

const ENV_CGI: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n\
echo \"REMOTE_USER=$REMOTE_USER\"\necho \"SSO_GROUPS=$SSO_GROUPS\"\n\
echo \"REQUEST_METHOD=$REQUEST_METHOD\"\necho \"HTTP_X_TEST=$HTTP_X_TEST\"\n\
echo \"BODY=$(cat)\"\n";

struct Setup {
    realm: Realm,
    key: ClientKey,
    sshd: Sshd,
    apache: Apache,
    /// The CA that signed apache's certificate (for `--cacert`).
    ca_cert: std::path::PathBuf,
    _ca_dir: tempfile::TempDir,
}

fn setup() -> Option<Setup> {
    tests::return_unless_root!("system account, sshd, apache2 as www-data", None);
    let (realm, key) = Realm::with_alice(DOMAIN, &[API], 600, "ops,dev");
    let sshd = Sshd::start(&[&realm.name]);
    // The realm's public key is one more SSOPublicKeyFile of the service.
    let mut apache = Apache::start(ApacheConfig {
        config: format!(
            "SSOLoginServer https://login.example.org/\nSSODomain {DOMAIN}\n\
             SSOPublicKeyFile {}\n\
             <Location /app/>\n  AuthType SSO\n  SSOService {API}\n  Require valid-user\n\
             </Location>\n",
            realm.public_key_path().display()
        ),
        files: vec![("htdocs/app/env.cgi".into(), ENV_CGI.into(), 0o755)],
        ..ApacheConfig::default()
    });
    // The harness's certificate is self-signed; give apache one from a CA,
    // so that the client checks a real chain.
    let ca_dir = tempfile::tempdir().unwrap();
    let ca_cert = install_ca_signed_certificate(&apache.root().join("conf"), ca_dir.path());
    apache.graceful();
    Some(Setup {
        realm,
        key,
        sshd,
        apache,
        ca_cert,
        _ca_dir: ca_dir,
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn ssh_ticket_is_accepted_by_apache_mod_sso() {
    let Some(s) = setup() else { return };
    let out = s.sshd.ssh(&s.key, &s.realm.name, None);
    assert!(out.status.success(), "{out:?}\n{}", s.sshd.log());
    let ticket = text(&out.stdout).trim().to_owned();
    let r = s
        .apache
        .request("/app/env.cgi")
        .header("Authorization", &format!("SSO {ticket}"))
        .send();
    assert_eq!(r.status, 200, "{r:?}\n{}", s.apache.error_log());
    r.assert_body_has("REMOTE_USER=alice\n");
    r.assert_body_has("SSO_GROUPS=ops,dev\n");
    // Without the ticket the same request is refused.
    let r = s.apache.request("/app/env.cgi").method("POST").send();
    assert_eq!(r.status, 401, "{r:?}");
}

/// The requests apache logged for `path`, each as `STATUS` (the access
/// log's format is `%h %u "%r" %>s`), once there are at least `expected`
/// of them: apache logs a request after the client has its response, so
/// the last line may come a moment later (waited for up to 10 s; more
/// lines than expected are returned, and fail the comparison, at once).
fn logged_statuses(apache: &Apache, path: &str, expected: usize) -> Vec<String> {
    let needle = format!(" {path} ");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let statuses: Vec<String> = std::fs::read_to_string(apache.root().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&needle))
            .filter_map(|l| l.rsplit(' ').next().map(str::to_owned))
            .collect();
        if statuses.len() >= expected || std::time::Instant::now() > deadline {
            return statuses;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn ssh_fetch_replaces_an_expired_cached_ticket_before_sending() {
    let Some(s) = setup() else { return };
    let cache_home = tempfile::tempdir().unwrap();
    let destination = format!("{}@127.0.0.1", s.realm.name);
    let cache = TicketCache::new(cache_home.path().join("sso"));
    // An expired ticket of this realm in the cache: the cache does not
    // hand it out (it needs 10 s left), so the client gets a fresh ticket
    // over ssh first and never sends the stale one; no 401, no retry.
    let signer = Signer::from_file(s.realm.secret_key_path()).unwrap();
    let stale = alice_ticket(&signer, API, DOMAIN, -30);
    cache.store(&destination, Some(API), &stale).unwrap();
    let cert = s.ca_cert.to_str().unwrap();
    let fetch = || {
        ssotool_fetch(
            &s.sshd,
            &s.key,
            &destination,
            cache_home.path(),
            &["--service", API, "--fail", "--cacert", cert],
            &s.apache.https_url("/app/env.cgi"),
        )
    };
    let out = fetch();
    assert!(
        out.status.success(),
        "{out:?}\n{}\n{}",
        s.sshd.log(),
        s.apache.error_log()
    );
    assert!(text(&out.stdout).contains("REMOTE_USER=alice\n"), "{out:?}");
    assert_eq!(s.sshd.accepted_logins(&s.realm.name), 1, "one fresh ticket");
    assert!(!text(&out.stderr).contains("refused as expired"), "{out:?}");
    assert_eq!(logged_statuses(&s.apache, "/app/env.cgi", 1), ["200"]);
    let fresh = cache
        .load(&destination, Some(API), sso_core::unix_now())
        .expect("fresh ticket cached");
    assert_ne!(fresh, stale);
    // Reused on the next request: no new ssh login.
    let out = fetch();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(s.sshd.accepted_logins(&s.realm.name), 1);
    assert_eq!(
        logged_statuses(&s.apache, "/app/env.cgi", 2),
        ["200", "200"]
    );
}

#[test]
fn ssh_fetch_returns_apache_refusal_without_refreshing() {
    let Some(s) = setup() else { return };
    let cache_home = tempfile::tempdir().unwrap();
    let destination = format!("{}@127.0.0.1", s.realm.name);
    // Locally valid, but from a key apache does not trust.
    let foreign = alice_ticket(
        &Signer::new(sso_core::SecretKey::generate()),
        API,
        DOMAIN,
        300,
    );
    TicketCache::new(cache_home.path().join("sso"))
        .store(&destination, Some(API), &foreign)
        .unwrap();
    let out = ssotool_fetch(
        &s.sshd,
        &s.key,
        &destination,
        cache_home.path(),
        &[
            "--service",
            API,
            "-i",
            "--cacert",
            s.ca_cert.to_str().unwrap(),
        ],
        &s.apache.https_url("/app/env.cgi"),
    );
    assert!(out.status.success(), "{out:?}");
    let shown = text(&out.stdout);
    assert!(shown.starts_with("HTTP 401"), "{shown}");
    assert!(shown.contains("error=\"bad signature\""), "{shown}");
    assert_eq!(s.sshd.accepted_logins(&s.realm.name), 0);
}

#[test]
fn ssh_fetch_sends_method_headers_and_body_and_writes_output() {
    let Some(s) = setup() else { return };
    let cache_home = tempfile::tempdir().unwrap();
    let destination = format!("{}@127.0.0.1", s.realm.name);
    let out_file = cache_home.path().join("out.txt");
    let url = s.apache.https_url("/app/env.cgi");
    let fetch = |extra: &[&str]| {
        let args = [&["--cacert", s.ca_cert.to_str().unwrap()][..], extra].concat();
        ssotool_fetch(
            &s.sshd,
            &s.key,
            &destination,
            cache_home.path(),
            &args,
            &url,
        )
    };
    // No --service: the realm's default service, which is this one.
    let out = fetch(&[
        "-X",
        "POST",
        "-H",
        "X-Test: 1",
        "-d",
        "payload",
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}\n{}", s.apache.error_log());
    let body = std::fs::read_to_string(&out_file).unwrap();
    for line in [
        "REMOTE_USER=alice",
        "REQUEST_METHOD=POST",
        "HTTP_X_TEST=1",
        "BODY=payload",
    ] {
        assert!(body.lines().any(|l| l == line), "{line} missing in {body}");
    }
    assert_eq!(s.sshd.accepted_logins(&s.realm.name), 1);
    // A caller's own Authorization header is refused, not silently replaced.
    let out = fetch(&["-H", "Authorization: Basic eDp5"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("Authorization"), "{out:?}");
    // An untrusted certificate is an error, not a silent downgrade.
    let out = ssotool_fetch(&s.sshd, &s.key, &destination, cache_home.path(), &[], &url);
    assert!(!out.status.success(), "{out:?}");
    assert!(text(&out.stderr).contains("certificate"), "{out:?}");
}
