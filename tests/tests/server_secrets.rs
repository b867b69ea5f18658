//! The session secret of the real `sso-server`: the example ships none, weak
//! or published secrets are refused at start naming the key,
//! `sso-server gen-secret` makes good ones, and a session sealed with the
//! right secret but an expiry beyond the session lifetime is refused.

use sso_server::session::{Sealer, Session};
use tests::server::{add_user, run_sso_server, Cookies, Setup, SsoServer, SECRET};
use tests::util::{free_port, workspace_root, TestKeys};

const WIKI: &str = "/?s=wiki.test.example.org%2F";

fn gen_secret() -> String {
    let (code, out) = run_sso_server(&["gen-secret".as_ref()]);
    assert_eq!(code, Some(0), "{out}");
    out.trim().to_owned()
}

/// Keys, and a users file with alice (in the directory returned).
fn keys_and_users() -> (TestKeys, tempfile::TempDir, Setup) {
    let (dir, users) = tests::util::temp_path("users");
    add_user(&users, "alice", "pw", &[]);
    (TestKeys::new(), dir, Setup::users_file(&users))
}

#[test]
fn an_unedited_copy_of_the_example_refuses_to_start_and_says_how_to_fix_it() {
    let example = workspace_root().join("sso-server/examples/sso-server.toml");
    let text = std::fs::read_to_string(example).unwrap();
    let (ok, out) = SsoServer::try_config(&text);
    assert!(!ok, "the example started: {out}");
    assert!(out.contains("`session.secrets`"), "{out}");
    assert!(out.contains("sso-server gen-secret"), "{out}");
    // The secret the example shipped before is refused too.
    let old = text.replace(
        "# secrets = [\"PASTE THE OUTPUT OF sso-server gen-secret HERE\"]",
        "secrets = [\"CHANGE-ME-to-a-long-random-string-(openssl rand -base64 33)\"]",
    );
    assert_ne!(old, text);
    let (ok, out) = SsoServer::try_config(&old);
    assert!(!ok);
    assert!(
        out.contains("`session.secrets`: secret #1 is a published placeholder"),
        "{out}"
    );
}

#[test]
fn weak_secrets_are_refused_naming_the_key_and_generated_ones_start() {
    let (keys, _dir, mut setup) = keys_and_users();
    for (weak, why) in [
        (
            "test-session-secret-0123456789abcdef",
            "published placeholder",
        ),
        (
            "a sentence long enough to pass a length check",
            "neither hex nor base64",
        ),
        ("MTIzNDU2Nzg5MDEyMzQ1Ng==", "decodes to 16 bytes"),
        (
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            "repeats a pattern",
        ),
    ] {
        setup.session_secrets = vec![gen_secret(), weak.into()];
        let (ok, out) = SsoServer::try_config(&setup.config_text(&keys, free_port()));
        assert!(!ok, "{weak} accepted");
        assert!(out.contains("`session.secrets`: secret #2"), "{out}");
        assert!(out.contains(why), "{why}: {out}");
    }
    let (a, b) = (gen_secret(), gen_secret());
    assert_ne!(a, b);
    setup.session_secrets = vec![a, b];
    let s = SsoServer::start(&keys, &setup);
    assert_eq!(s.get(WIKI, &Cookies::new()).status, 200);
}

#[test]
fn a_session_sealed_beyond_the_session_lifetime_is_refused() {
    let (keys, _dir, setup) = keys_and_users();
    let s = SsoServer::start(&keys, &setup);
    // Whoever holds the secret seals what they like; a forger's sealer
    // puts no bound on the expiry.
    let forger = Sealer::new(&[SECRET.to_owned()], u64::MAX / 2);
    let forged = |expires: u64| {
        // An account the users file has: the silent path re-checks the
        // account, so only the expiry can make the difference here.
        let session = Session {
            user: "alice".into(),
            groups: vec![],
            expires,
            services: vec![],
            factors: vec![],
        };
        let mut jar = Cookies::new();
        jar.set("__Host-sso_session", &forger.seal(&session));
        s.get(WIKI, &jar)
    };
    // Within the default lifetime (12 h) the cookie opens: the test can see
    // a refusal only because of the expiry.
    let now = sso_core::unix_now();
    let r = forged(now + 3600);
    assert_eq!(r.status, 302, "{}", r.body);
    // "Until 2096": refused, the login form instead.
    let r = forged(3_976_000_000);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("name=\"password\""));
    assert!(r.header("location").is_none());
    // Just beyond now + lifetime: refused as well.
    let r = forged(now + 12 * 3600 + 120);
    assert_eq!(r.status, 200);
}
