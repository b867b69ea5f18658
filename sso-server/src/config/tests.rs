use super::*;

const BASE: &str = r#"
domain = "example.org"
listen = "127.0.0.1:9000"
secret_key_file = "/k/secret.key"
public_key_files = ["/k/public.key"]
allowed_services = ['[a-z]+\.example\.org/']
[tickets]
default_lifetime = 600
lifetimes = [{ service = 'imap\.example\.org/', seconds = 60 }]
[session]
secrets = ["q3Jx8Zb0VvN2mY7tLc4hRk1sPw9eAg6uTn5dFo0iHyE="]
[auth]
backend = "users_file"
users_file = "/k/users"
[[exchange]]
from = 'webmail\.example\.org/'
to = 'imap\.example\.org/'
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/sso/test.toml"))
}

#[test]
fn parses_and_applies_rules() {
    let c = parse(BASE).unwrap();
    assert!(c.service_allowed("wiki.example.org/"));
    // Patterns match whole names only.
    assert!(!c.service_allowed("evil.com/wiki.example.org/"));
    assert!(!c.service_allowed("wiki.example.org/x"));
    assert_eq!(c.ticket_lifetime("imap.example.org/"), 60);
    assert_eq!(c.ticket_lifetime("wiki.example.org/"), 600);
    assert!(c.exchange_allowed("webmail.example.org/", "imap.example.org/"));
    assert!(!c.exchange_allowed("imap.example.org/", "webmail.example.org/"));
    assert_eq!(c.session.lifetime, 12 * 3600);
}

#[test]
fn every_key_and_tls_file_is_checked_for_trust() {
    let c = parse(&format!(
        "{BASE}\n[tls]\ncert_file = \"/k/cert.pem\"\nkey_file = \"/k/key.pem\"\n"
    ))
    .unwrap();
    let keys: Vec<(&str, &str)> = c
        .trusted_files()
        .into_iter()
        .map(|(k, p)| (k, p.to_str().unwrap()))
        .collect();
    assert_eq!(
        keys,
        [
            ("secret_key_file", "/k/secret.key"),
            ("public_key_files", "/k/public.key"),
            ("tls.cert_file", "/k/cert.pem"),
            ("tls.key_file", "/k/key.pem"),
        ]
    );
}

#[test]
fn missing_allowed_services_is_refused_and_says_why() {
    let text = BASE.replace("allowed_services = ['[a-z]+\\.example\\.org/']\n", "");
    let e = parse(&text).unwrap_err().to_string();
    assert!(e.contains("allowed_services"), "{e}");
    assert!(e.contains("allow_any_service"), "{e}");
    assert!(e.contains("/etc/sso/test.toml"), "{e}");
    let any = text.replace("[tickets]", "allow_any_service = true\n[tickets]");
    assert!(parse(&any).unwrap().service_allowed("anything/"));
}

#[test]
fn the_example_config_refuses_to_start_until_given_a_secret() {
    let text = include_str!("../../examples/sso-server.toml");
    let e = parse(text).unwrap_err().to_string();
    assert!(e.contains("`session.secrets`"), "{e}");
    assert!(e.contains("sso-server gen-secret"), "{e}");
    // Uncommenting the line as it stands is no better.
    let pasted = text.replace("# secrets = [", "secrets = [");
    let e = parse(&pasted).unwrap_err().to_string();
    assert!(e.contains("`session.secrets`"), "{e}");
    let edited = text.replace(
        "# secrets = [\"PASTE THE OUTPUT OF sso-server gen-secret HERE\"]",
        &format!("secrets = [{:?}]", crate::secret::generate()),
    );
    let c = parse(&edited).unwrap();
    assert_eq!(c.domain, "example.org");
    assert!(c.service_allowed("wiki.example.org/"));
    assert_eq!(c.ticket_lifetime("imap.example.org/"), 300);
    assert!(c.exchange_allowed("webmail.example.org/", "imap.example.org/"));
}

#[test]
fn the_throttle_store_is_memory_or_a_redis_url_never_echoed() {
    assert_eq!(parse(BASE).unwrap().throttle.store, StoreConfig::Memory);
    let c = parse(&format!(
        "{BASE}\n[throttle]\nstore = \"redis://:s3cret@127.0.0.1:6380/2\"\n"
    ))
    .unwrap();
    assert!(matches!(c.throttle.store, StoreConfig::Redis(_)));
    assert!(!format!("{c:?}").contains("s3cret"));
    for bad in [
        "memcache://127.0.0.1/",
        "redis://:s3cret@[::1/",
        "rediss://:s3cret@h/",
        "",
    ] {
        let e = parse(&format!("{BASE}\n[throttle]\nstore = {bad:?}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`throttle.store`"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }
}

#[test]
fn a_syntax_error_names_the_line_but_not_its_text() {
    // The excerpt toml would show holds the session secret.
    let broken = BASE.replace("E=\"]", "E=\"");
    let e = parse(&broken).unwrap_err().to_string();
    let line = BASE.lines().position(|l| l.starts_with("secrets")).unwrap();
    assert!(e.starts_with("/etc/sso/test.toml:"), "{e}");
    assert!(!e.contains("q3Jx8Zb0"), "the secret is in the error: {e}");
    let at: usize = e.split(':').nth(1).unwrap().parse().unwrap();
    assert!(at > line, "{e}");
}

#[test]
fn errors_name_the_key() {
    for weak in [
        "short",
        "CHANGE-ME-to-a-long-random-string-(openssl rand -base64 33)",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "this-is-a-long-but-not-encoded-session-secret!",
    ] {
        let e = parse(&BASE.replace("q3Jx8Zb0VvN2mY7tLc4hRk1sPw9eAg6uTn5dFo0iHyE=", weak))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`session.secrets`: secret #1"), "{e}");
        assert!(e.contains("gen-secret"), "{e}");
    }
    // Each broken configuration and the key its error names.
    for (config, key) in [
        (
            format!("{BASE}\n[throttle]\nmax_failures_per_user = 2\n"),
            "throttle.max_failures_per_user",
        ),
        (BASE.replace("users_file\"", "nosuch\""), "auth.backend"),
        (BASE.replace("127.0.0.1:9000", "nowhere"), "listen"),
        (format!("{BASE}\nbogus = 1\n"), "bogus"),
        (BASE.replace("'[a-z]+", "'[a-z"), "allowed_services"),
    ] {
        let e = parse(&config).unwrap_err().to_string();
        assert!(e.contains(key), "{e}");
    }
}
