//! `[throttle] store = "redis://..."` with `[oidc]`: two real sso-server
//! replicas keep their authorization codes and refresh tokens in one real
//! redis-server, so a code issued by one is redeemed once across both, a
//! refresh token rotated on one is spent on the other (and its reuse
//! revokes its family everywhere), and a logout on one revokes the login's
//! refresh tokens on the other.

use serde_json::Value;
use tests::oidc::{authorization_code, provider_files, token_request};
use tests::redis::RedisServer;
use tests::server::{pct, Cookies, Setup, SsoServer};
use tests::util::TestKeys;

const SECRET: &str = "a-redis-client-secret-0123456789";
const CB: &str = "http://127.0.0.1:9/cb";

fn token(server: &SsoServer, form: &[(&str, &str)]) -> (u16, Value) {
    let (resp, json) = token_request(server, "web", SECRET, form);
    (resp.status, json)
}

fn refresh(server: &SsoServer, token_value: &str) -> (u16, Value) {
    token(
        server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token_value),
        ],
    )
}

fn redeem(server: &SsoServer, code: &str) -> (u16, Value) {
    token(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
        ],
    )
}

/// A code from `server` for alice: the login form the first time, the
/// session after.
fn code(server: &SsoServer, jar: &mut Cookies) -> String {
    authorization_code(
        server,
        jar,
        "web",
        CB,
        "openid offline_access",
        "alice",
        "alice password",
    )
}

#[test]
fn replicas_share_codes_and_refresh_tokens_through_redis() {
    let redis = RedisServer::start();
    let keys = TestKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let (users, key) = provider_files(dir.path());
    let hash = sso_oidc::token::hash_secret(SECRET).unwrap();
    let mut setup = Setup::users_file(&users);
    setup.tables = format!(
        "[throttle]\nstore = {:?}\n\n[oidc]\nissuer = \"https://login.example.org\"\n\
         signing_key_file = {key:?}\n[[oidc.client]]\nid = \"web\"\nsecret_hash = '{hash}'\n\
         redirect_uris = [\"{CB}\"]\n",
        redis.url()
    );
    let (a, b) = (
        SsoServer::start(&keys, &setup),
        SsoServer::start(&keys, &setup),
    );
    let mut jar = Cookies::new();

    // A code of replica a, redeemed at b once, then refused at a.
    let code1 = code(&a, &mut jar);
    let (status, json) = redeem(&b, &code1);
    assert_eq!(status, 200, "{json}\n{}", b.log());
    let (status, again) = redeem(&a, &code1);
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Rotated at a; the spent one reused at b revokes the family.
    let r1 = json["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = refresh(&a, &r1);
    assert_eq!(status, 200, "{rotated}");
    let r2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    let (status, reused) = refresh(&b, &r1);
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(&a, &r2);
    assert_eq!(status, 400, "the family went with the reused token");

    // A logout at a revokes what b would take.
    let code2 = code(&a, &mut jar);
    let (status, json) = redeem(&b, &code2);
    assert_eq!(status, 200, "{json}");
    let r3 = json["refresh_token"].as_str().unwrap().to_owned();
    let hint = json["id_token"].as_str().unwrap();
    let bye = a.get(&format!("/oidc/logout?id_token_hint={}", pct(hint)), &jar);
    assert_eq!(bye.status, 200, "{}", bye.body);
    bye.assert_body_has("logged out");
    let (status, json) = refresh(&b, &r3);
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant")),
        "{json}"
    );
}
