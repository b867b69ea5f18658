//! `SSOPublicKeyFile PATH services=REGEX`: a key pinned to some services
//! (a realm's key) cannot mint tickets for any other site of the server.

mod mod_sso_common;

use mod_sso_common::*;
use tests::apache::{Apache, ApacheConfig, Mpm};
use tests::util::TestKeys;

#[test]
fn a_pinned_key_only_signs_for_its_services() {
    tests::return_unless_root!("apache2 as www-data");
    let site_keys = TestKeys::new();
    let realm_keys = TestKeys::new();
    let config = format!(
        "SSOLoginServer {LOGIN}\nSSODomain {DOMAIN}\nSSOPublicKeyFile {}\n\
SSOPublicKeyFile {} \"services=127\\.0\\.0\\.1:[0-9]+/realm/\"\n\
<Location /app/>\n  AuthType SSO\n  SSOService @HOSTPORT@/app/\n  Require valid-user\n</Location>\n\
<Location /realm/>\n  AuthType SSO\n  SSOService @HOSTPORT@/realm/\n  Require valid-user\n</Location>\n",
        site_keys.public_path.display(),
        realm_keys.public_path.display()
    );
    let mut files = site_files();
    files.push(("htdocs/realm/env.cgi".into(), ENV_CGI.into(), 0o755));
    let apache = Apache::start(ApacheConfig {
        mpm: Mpm::Event,
        config,
        files,
        ..ApacheConfig::default()
    });
    let host = apache.host_port();
    let get = |path: &str, t: &str| with_ticket(&apache, path, t);
    // The realm key for the realm's service: accepted.
    let realm = format!("{host}/realm/");
    let t = realm_keys.ticket("svc", &realm, DOMAIN, 600, None, &[]);
    let r = get("/realm/env.cgi", &t);
    assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("svc"), "{r:?}");
    // The realm key for the site: refused, naming the check and the pin.
    let app = format!("{host}/app/");
    let forged = realm_keys.ticket("root", &app, DOMAIN, 600, None, &[]);
    let r = get("/app/env.cgi", &forged);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.header("WWW-Authenticate")
            .is_some_and(|w| w.contains("error=\"bad signature\"")),
        "{r:?}"
    );
    let log = apache.error_log();
    assert!(
        log.contains("check 'bad signature' failed (1 key(s) pinned to other services"),
        "{log}"
    );
    // The unpinned site key still signs for both.
    for (path, service) in [("/app/env.cgi", &app), ("/realm/env.cgi", &realm)] {
        let t = site_keys.ticket("alice", service, DOMAIN, 600, None, &[]);
        assert_eq!(get(path, &t).status, 200, "{path}");
    }
}

#[test]
fn a_bad_pin_stops_httpd_naming_the_directive() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = TestKeys::new();
    for (line, says) in [
        (
            format!("SSOPublicKeyFile {} services=(", keys.public_path.display()),
            "service pattern '('",
        ),
        (
            "SSOPublicKeyFile services=x/".to_owned(),
            "services= follows the key file it pins",
        ),
        (
            format!(
                "SSOPublicKeyFile {} services=a/ services=b/",
                keys.public_path.display()
            ),
            "one services= per key file",
        ),
    ] {
        let err = Apache::try_start(ApacheConfig {
            tls: false,
            config: format!("SSOLoginServer {LOGIN}\nSSODomain {DOMAIN}\n{line}\n"),
            ..ApacheConfig::default()
        })
        .err()
        .unwrap_or_else(|| panic!("started with {line}"));
        assert!(
            err.contains("SSOPublicKeyFile") && err.contains(says),
            "{line}: {err}"
        );
    }
}
