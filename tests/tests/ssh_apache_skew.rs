//! `ssotool fetch` against a real apache2 + mod_sso whose clock runs 20
//! minutes ahead (libfaketime preloaded into httpd only): a cached ticket
//! that still looks valid to the client is refused by mod_sso with `401
//! WWW-Authenticate: SSO ... error="expired"`, and the client fetches one
//! fresh ticket over ssh and retries once.
//!
//! A second realm whose tickets live only 10 minutes shows the retry
//! happens at most once: even its fresh ticket is expired for apache.
//!
//! One test in its own binary: the faketime variables are set in this
//! process's environment just for the moment apache is spawned.

use sso_client::TicketCache;
use sso_core::{Signer, Ticket};
use tests::apache::{Apache, ApacheConfig};
use tests::ssh::{alice_ticket, install_ca_signed_certificate, ssotool_fetch, Realm, Sshd};
use tests::util::preload_faketime;

const DOMAIN: &str = "example.org";
/// The service is the host the tests reach: `ssotool fetch` sends a ticket
/// only to https://HOST of the ticket's service.
const API: &str = "127.0.0.1/app/";

#[test]
fn ssh_fetch_retries_once_when_apache_says_expired() {
    tests::return_unless_root!("system account, sshd, apache2 as www-data");
    let (realm, key) = Realm::with_alice(DOMAIN, &[API], 3600, "ops");
    // Tickets of this realm are expired for apache even when fresh.
    let short = Realm::init(DOMAIN, &[API], 600);
    short.add(&key, "alice", "ops");
    let sshd = Sshd::start(&[&realm.name, &short.name]);

    preload_faketime(&[("FAKETIME", "+20m".as_ref())]);
    let mut apache = Apache::start(ApacheConfig {
        config: format!(
            "SSOLoginServer https://login.example.org/\nSSODomain {DOMAIN}\n\
             SSOPublicKeyFile {}\nSSOPublicKeyFile {}\n\
             <Location /app/>\n  AuthType SSO\n  SSOService {API}\n  Require valid-user\n\
             </Location>\n",
            realm.public_key_path().display(),
            short.public_key_path().display()
        ),
        files: vec![(
            "htdocs/app/index.html".into(),
            "protected page\n".into(),
            0o644,
        )],
        ..ApacheConfig::default()
    });
    std::env::remove_var("LD_PRELOAD");
    std::env::remove_var("FAKETIME");
    std::env::remove_var("FAKETIME_DONT_FAKE_MONOTONIC");
    let ca_dir = tempfile::tempdir().unwrap();
    let ca_cert = install_ca_signed_certificate(&apache.root().join("conf"), ca_dir.path());
    apache.graceful();

    let cache_home = tempfile::tempdir().unwrap();
    let destination = format!("{}@127.0.0.1", realm.name);
    let cache = TicketCache::new(cache_home.path().join("sso"));
    // Ten minutes left by the client's clock: reused, sent to apache.
    let signer = Signer::from_file(realm.secret_key_path()).unwrap();
    let mut cached = Ticket::new("alice", API, DOMAIN, sso_core::unix_now() + 600);
    cached.groups = vec!["ops".into()];
    let cached = signer.sign(&cached).unwrap();
    cache.store(&destination, Some(API), &cached).unwrap();

    // One ssotool fetch of apache's /app/ with the ticket cached for DESTINATION.
    let fetch = |destination: &str| {
        ssotool_fetch(
            &sshd,
            &key,
            destination,
            cache_home.path(),
            &[
                "--service",
                API,
                "--fail",
                "--cacert",
                ca_cert.to_str().unwrap(),
            ],
            &apache.https_url("/app/"),
        )
    };
    let out = fetch(&destination);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{out:?}\n{}\n{}",
        sshd.log(),
        apache.error_log()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "protected page\n");
    // The client says so once per refresh, and sshd saw one login.
    assert_eq!(stderr.matches("refused as expired").count(), 1, "{stderr}");
    assert_eq!(sshd.accepted_logins(&realm.name), 1, "exactly one refresh");
    let fresh = cache
        .load(&destination, Some(API), sso_core::unix_now())
        .expect("fresh ticket cached");
    assert_ne!(fresh, cached);
    // mod_sso said why it refused the first one.
    assert!(
        apache.error_log().contains("expired"),
        "{}",
        apache.error_log()
    );

    // The short-lived realm: one refresh, still 401, no second refresh.
    let destination = format!("{}@127.0.0.1", short.name);
    let signer = Signer::from_file(short.secret_key_path()).unwrap();
    let cached = alice_ticket(&signer, API, DOMAIN, 300);
    cache.store(&destination, Some(API), &cached).unwrap();
    let out = fetch(&destination);
    assert!(!out.status.success(), "still expired for apache: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("401"), "{out:?}");
    assert_eq!(stderr.matches("refused as expired").count(), 1, "{stderr}");
    assert_eq!(sshd.accepted_logins(&short.name), 1, "at most one refresh");
}
