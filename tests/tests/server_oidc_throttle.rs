//! Failed client authentication at `POST /oidc/token` goes through the
//! login throttle (sso-server/src/endpoints/oidc_token.rs): a wrong
//! client secret is `invalid_client` with 401 until the client's limit
//! from that address is reached, then `invalid_client` with 429 and
//! `Retry-After`, the right secret included, as the login form answers;
//! another client from the same address is not held back; the log names
//! the client, never the secret. Once with the memory store, once with
//! two replicas sharing a real redis-server (the lock taken on one holds
//! on the other).

use serde_json::Value;
use tests::oidc::{provider_files, token_request};
use tests::redis::RedisServer;
use tests::server::{HttpResponse, Setup, SsoServer};
use tests::util::TestKeys;

const SECRET: &str = "a-throttled-client-secret-0123456789";
const WRONG: &str = "a-guessed-client-secret-9876543210";
const CB: &str = "http://127.0.0.1:9/cb";

/// A token request of `client` proving `secret`, for a code that does not
/// exist: `invalid_grant` (400) once the client is proven.
fn attempt(server: &SsoServer, client: &str, secret: &str) -> (HttpResponse, Value) {
    token_request(
        server,
        client,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("redirect_uri", CB),
        ],
    )
}

fn setup(dir: &std::path::Path, store: &str) -> Setup {
    let (users, key) = provider_files(dir);
    let hash = sso_oidc::token::hash_secret(SECRET).unwrap();
    let mut setup = Setup::users_file(&users);
    setup.tables = format!(
        "[throttle]\n{store}max_failures_per_user_address = 3\nmax_failures_per_address = 100\n\n\
         [oidc]\nissuer = \"https://login.example.org\"\nsigning_key_file = {key:?}\n\
         [[oidc.client]]\nid = \"web\"\nsecret_hash = '{hash}'\nredirect_uris = [\"{CB}\"]\n\
         [[oidc.client]]\nid = \"other\"\nsecret_hash = '{hash}'\nredirect_uris = [\"{CB}\"]\n"
    );
    setup
}

/// Three wrong secrets at `a`, then the lock seen at `b` (the same server
/// or another replica).
fn check(a: &SsoServer, b: &SsoServer) {
    for i in 0..3 {
        let (resp, json) = attempt(a, "web", WRONG);
        assert_eq!(
            (resp.status, json["error"].as_str()),
            (401, Some("invalid_client")),
            "attempt {i}: {json}"
        );
    }
    let (resp, json) = attempt(b, "web", SECRET);
    assert_eq!(
        (resp.status, json["error"].as_str()),
        (429, Some("invalid_client")),
        "{json}\n{}",
        b.log()
    );
    assert!(
        resp.header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0)),
        "{:?}",
        resp.header("retry-after")
    );
    // Another client from the same address is proven as before.
    let (resp, json) = attempt(b, "other", SECRET);
    assert_eq!(
        (resp.status, json["error"].as_str()),
        (400, Some("invalid_grant")),
        "{json}"
    );
    for server in [a, b] {
        let log = server.log();
        assert!(!log.contains(WRONG) && !log.contains(SECRET), "{log}");
    }
    let log = format!("{}{}", a.log(), b.log());
    tests::util::assert_some_line_has(&log, &["throttled", "web"]);
}

#[test]
fn wrong_client_secrets_lock_the_client_from_that_address() {
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let server = SsoServer::start(&keys, &setup(dir.path(), ""));
    check(&server, &server);
}

#[test]
fn the_lock_holds_on_every_replica_sharing_redis() {
    let redis = RedisServer::start();
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let setup = setup(dir.path(), &format!("store = {:?}\n", redis.url()));
    let (a, b) = (
        SsoServer::start(&keys, &setup),
        SsoServer::start(&keys, &setup),
    );
    check(&a, &b);
}
