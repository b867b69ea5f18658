//! Configuration errors stop httpd with a message naming the directive (and
//! the key file); a location without SSOService answers 500 and says why.

mod mod_sso_common;

use mod_sso_common::*;
use sso_core::KeyFormat;
use tests::apache::{Apache, ApacheConfig, Mpm};
use tests::util::TestKeys;

fn start_err(config: String) -> String {
    match Apache::try_start(ApacheConfig {
        tls: false,
        config,
        ..ApacheConfig::default()
    }) {
        Ok(_) => panic!("apache2 started with a bad configuration"),
        Err(e) => e,
    }
}

fn base(key: &str) -> String {
    format!("SSOLoginServer {LOGIN}\nSSODomain {DOMAIN}\nSSOPublicKeyFile {key}\n")
}

#[test]
fn bad_key_files_stop_httpd_naming_directive_and_file() {
    tests::return_unless_root!("apache2 as www-data");
    let (dir, missing) = tests::util::temp_path("missing.key");
    let e = start_err(base(&missing.display().to_string()));
    assert!(
        e.contains("SSOPublicKeyFile") && e.contains(&missing.display().to_string()),
        "{e}"
    );
    assert!(e.contains("does not exist"), "{e}");

    let malformed = dir.path().join("short.key");
    std::fs::write(&malformed, b"0123456789").unwrap();
    let e = start_err(base(&malformed.display().to_string()));
    assert!(
        e.contains("SSOPublicKeyFile") && e.contains(&malformed.display().to_string()),
        "{e}"
    );
    assert!(e.contains("malformed"), "{e}");

    // A directory cannot be read as a key.
    let e = start_err(base(&dir.path().display().to_string()));
    assert!(
        e.contains("SSOPublicKeyFile") && e.contains(&dir.path().display().to_string()),
        "{e}"
    );
}

/// A key file that someone besides root could write (the file or a
/// directory above it) would let them mint tickets for every site: httpd
/// refuses to start, naming the directive, the culprit and the rule. Each
/// case is put right again to show the rule was the refusal.
#[test]
fn key_files_others_could_write_stop_httpd() {
    tests::return_unless_root!("apache2 as www-data");
    use std::os::unix::fs::PermissionsExt;
    let chmod = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    let keys = TestKeys::new();
    let key = keys.public_path.clone();
    let folder = keys.dir.path().canonicalize().unwrap();
    chmod(&folder, 0o755);
    let start = || {
        Apache::try_start(ApacheConfig {
            tls: false,
            config: site_config(&[&key]),
            files: site_files(),
            ..ApacheConfig::default()
        })
    };
    for (path, mode, said) in [
        (
            &key,
            0o664,
            format!(
                "{}: refused: is writable by its group (mode 0664)",
                key.display()
            ),
        ),
        (
            &key,
            0o646,
            format!(
                "{}: refused: is writable by others (mode 0646)",
                key.display()
            ),
        ),
        (
            &folder,
            0o775,
            format!(
                "refused: its directory {} is writable by its group",
                folder.display()
            ),
        ),
    ] {
        chmod(path, mode);
        let e = match start() {
            Ok(_) => panic!(
                "apache2 started trusting {} at mode {mode:o}",
                path.display()
            ),
            Err(e) => e,
        };
        assert!(
            e.contains(&format!("SSOPublicKeyFile: {}", key.display())),
            "{e}"
        );
        assert!(e.contains(&said), "{said:?} not in {e}");
        chmod(path, if path == &key { 0o644 } else { 0o755 });
        assert!(start().is_ok(), "mode restored for {}", path.display());
    }
    // Owned by a user who is neither root nor httpd's.
    std::os::unix::fs::chown(&key, Some(65534), None).unwrap();
    let e = start()
        .err()
        .expect("apache2 started with a key file of nobody");
    assert!(e.contains("is owned by uid 65534, not by root"), "{e}");
}

#[test]
fn bad_arguments_stop_httpd_naming_the_directive() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = TestKeys::new();
    let k = keys.public_path.display().to_string();
    for (directive, line) in [
        (
            "SSOService",
            "<Location /x/>\nSSOService https://host/x/\n</Location>",
        ),
        (
            "SSOService",
            "<Location /x/>\nSSOService host/x\n</Location>",
        ),
        ("SSOLoginServer", "SSOLoginServer ftp://login/"),
        ("SSOClockSkew", "SSOClockSkew soon"),
        ("SSOCacheSize", "SSOCacheSize -1"),
        (
            "SSOCacheSize",
            "<VirtualHost 127.0.0.1:1>\nSSOCacheSize 10\n</VirtualHost>",
        ),
        ("SSOCookieSecure", "SSOCookieSecure maybe"),
        ("SSOMode", "SSOMode sometimes"),
        ("SSOCookiePrefix", "SSOCookiePrefix a;b"),
        ("SSOGroups", "SSOGroups a|b"),
        ("SSODomain", "SSODomain a|b"),
    ] {
        let e = start_err(base(&k) + line + "\n");
        assert!(e.contains(directive), "{line}: {e}");
    }
}

#[test]
fn pem_keys_and_all_directives_are_accepted() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = TestKeys::with_format(KeyFormat::Pem);
    let apache = Apache::start(ApacheConfig {
        mpm: Mpm::Event,
        config: format!(
            "{}SSOClockSkew 30\nSSOCacheSize 100\n<Location /app/>\nAuthType SSO\nSSOService @HOSTPORT@/app/\n\
SSOGroups staff\nSSOCookiePrefix MyApp_\nSSOCookieSecure Off\nSSOExportTicket On\nRequire valid-user\n</Location>\n",
            base(&keys.public_path.display().to_string())
        ),
        files: site_files(),
        ..ApacheConfig::default()
    });
    let service = format!("{}/app/", apache.host_port());
    let t = keys.ticket("dora", &service, DOMAIN, 600, None, &["staff"]);
    let r = apache
        .request("/app/env.cgi")
        .cookie("MyApp_ticket", &t)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(cgi_value(&r.body, "SSO_TICKET"), Some(t.as_str()));
    // The old cookie name means nothing here.
    let r = apache
        .request("/app/")
        .cookie(LEGACY_TICKET_COOKIE, &t)
        .send();
    assert_eq!(r.status, 302);
    let nonce = r
        .set_cookie_line("MyApp_nonce")
        .expect("prefixed nonce cookie");
    assert!(!nonce.contains("Secure"), "SSOCookieSecure Off: {nonce}");
    // SSOClockSkew 30: a ticket expired 10 s ago still passes.
    let late = keys.ticket("dora", &service, DOMAIN, -10, None, &["staff"]);
    let r = with_ticket(&apache, "/app/", &late);
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn api_mode_answers_401_and_never_redirects() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = TestKeys::new();
    let mut files = site_files();
    files.push(("htdocs/api/env.cgi".into(), ENV_CGI.into(), 0o755));
    files.push(("htdocs/api/index.html".into(), "protected\n".into(), 0o644));
    let apache = Apache::start(ApacheConfig {
        mpm: Mpm::Event,
        config: format!(
            "{}<Location /api/>\nAuthType SSO\nSSOService @HOSTPORT@/api/\nSSOMode API\n\
SSOCookieSecure Off\nRequire valid-user\n</Location>\n\
<Location /app/>\nAuthType SSO\nSSOService @HOSTPORT@/app/\nSSOCookieSecure Off\n\
Require valid-user\n</Location>\n",
            base(&keys.public_path.display().to_string())
        ),
        files,
        ..ApacheConfig::default()
    });
    let service = format!("{}/api/", apache.host_port());
    // No ticket, an expired one: 401 with the challenge, no Location, no
    // nonce cookie, where a browser location would redirect.
    let expired = keys.ticket("dora", &service, DOMAIN, -600, None, &[]);
    for (what, r) in [
        ("no ticket", apache.request("/api/").send()),
        ("expired", with_ticket(&apache, "/api/", &expired)),
    ] {
        assert_eq!(r.status, 401, "{what}: {r:?}");
        assert!(r.header("location").is_none(), "{what}: {r:?}");
        let wa = r.header("WWW-Authenticate").expect("WWW-Authenticate");
        assert!(wa.starts_with(&format!("SSO realm=\"{service}\"")), "{wa}");
        assert!(r.set_cookie_line("SSO_nonce").is_none(), "{what}: {r:?}");
    }
    assert_eq!(
        apache.request("/app/").send().status,
        302,
        "Browser, the default"
    );
    // A valid ticket passes as anywhere else.
    let t = keys.ticket("dora", &service, DOMAIN, 600, None, &[]);
    let r = with_ticket(&apache, "/api/env.cgi", &t);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(cgi_value(&r.body, "REMOTE_USER"), Some("dora"));
}

#[test]
fn location_without_sso_service_answers_500_naming_it() {
    tests::return_unless_root!("apache2 as www-data");
    let keys = TestKeys::new();
    let apache = Apache::start(ApacheConfig {
        tls: false,
        config: base(&keys.public_path.display().to_string())
            + "<Location /nosvc/>\nAuthType SSO\nRequire valid-user\n</Location>\n",
        ..ApacheConfig::default()
    });
    let r = apache.get("/nosvc/");
    assert_eq!(r.status, 500, "{r:?}");
    assert!(
        apache.error_log().contains("SSOService is not set"),
        "{}",
        apache.error_log()
    );
}

/// A location's settings (its verifier with it) are built once, at startup
/// or at the first request of a nested variant, never per request: the
/// debug line of a per-request build appears only once a location has more
/// variants than mod_sso keeps (8 per server), and every request is still
/// decided by its own settings.
#[test]
fn location_settings_are_built_once_not_per_request() {
    tests::return_unless_root!("apache2 as www-data");
    const PER_REQUEST: &str = "settings were built for the request";
    let keys = TestKeys::new();
    let mut config = base(&keys.public_path.display().to_string())
        + "<Location /app/>\nAuthType SSO\nSSOService @HOSTPORT@/app/\nRequire valid-user\n</Location>\n";
    let mut files = site_files();
    for i in 0..10 {
        config += &format!("<Location /app/g{i}/>\nSSOGroups group{i}\n</Location>\n");
        files.push((format!("htdocs/app/g{i}/index.html"), "g\n".into(), 0o644));
    }
    let apache = Apache::start(ApacheConfig {
        tls: false,
        config,
        files,
        ..ApacheConfig::default()
    });
    let service = format!("{}/app/", apache.host_port());
    let auth = |groups: &[&str]| {
        let t = keys.ticket("erin", &service, DOMAIN, 600, None, groups);
        format!("SSO {t}")
    };
    let status = |path: &str, groups: &[&str]| {
        apache
            .request(path)
            .header("Authorization", &auth(groups))
            .send()
            .status
    };
    // The section's own settings and seven nested variants: built once.
    for _ in 0..3 {
        assert_eq!(status("/app/", &[]), 200);
        assert_eq!(status("/app/alice/", &[]), 200);
        for i in 0..7 {
            let path = format!("/app/g{i}/");
            assert_eq!(status(&path, &[&format!("group{i}")]), 200, "{path}");
            assert_eq!(status(&path, &["other"]), 403, "{path}");
        }
    }
    assert!(
        !apache.error_log().contains(PER_REQUEST),
        "{}",
        apache.error_log()
    );
    // More variants than kept: still right, built per request.
    for i in 7..10 {
        let path = format!("/app/g{i}/");
        assert_eq!(status(&path, &[&format!("group{i}")]), 200, "{path}");
        assert_eq!(status(&path, &["group0"]), 403, "{path}");
    }
    assert!(apache.error_log().contains(PER_REQUEST));
}
