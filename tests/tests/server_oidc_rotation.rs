//! Rotation of the OpenID Connect signing key (docs/operations.md), with a
//! real sso-server and Authlib (python3-authlib) as the relying party's
//! verifier: after the reload the JWKS lists both keys, new tokens carry
//! the new key's `kid`, and a token signed before the rotation still
//! verifies against the JWKS and is still taken as an `id_token_hint`.

use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use tests::oidc::{authorization_code, logout_path, token_request};
use tests::server::{add_user, oidc_gen_key, Cookies, Setup, SsoServer};
use tests::util::TestKeys;

const SECRET: &str = "a-rotation-client-secret-0123456789";
const CB: &str = "http://127.0.0.1:9/cb";
const BYE: &str = "http://127.0.0.1:9/bye";

/// Verifies `token` against the JWKS at `jwks_url` with Authlib; the
/// token's `sub`.
const VERIFY: &str = r#"
import sys, requests
from authlib.jose import JsonWebKey, jwt
keys = JsonWebKey.import_key_set(requests.get(sys.argv[1]).json())
claims = jwt.decode(sys.argv[2], keys)
claims.validate()
print(claims["sub"])
"#;

fn authlib_verifies(server: &SsoServer, token: &str) -> bool {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", VERIFY])
        .arg(format!("http://127.0.0.1:{}/oidc/jwks", server.port))
        .arg(token)
        .output()
        .expect("python3");
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "alice"
}

fn kid(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let v: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

/// An id_token for alice from a code of this browser's session (the login
/// form the first time).
fn id_token(server: &SsoServer, jar: &mut Cookies) -> String {
    let code = authorization_code(server, jar, "web", CB, "openid", "alice", "alice password");
    let (resp, json) = token_request(
        server,
        "web",
        SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    json["id_token"].as_str().unwrap().to_owned()
}

#[test]
fn a_rotated_key_signs_and_the_old_one_still_verifies() {
    let keys = TestKeys::new();
    let (dir, users) = tests::util::temp_path("users");
    add_user(&users, "alice", "alice password", &[]);
    let (old, new) = (dir.path().join("old.pem"), dir.path().join("new.pem"));
    oidc_gen_key(&old);
    oidc_gen_key(&new);
    let hash = sso_oidc::token::hash_secret(SECRET).unwrap();
    let oidc = |signing: &std::path::Path, previous: &str| {
        format!(
            "[oidc]\nissuer = \"https://login.example.org\"\nsigning_key_file = {signing:?}\n\
             previous_key_files = [{previous}]\n[[oidc.client]]\nid = \"web\"\n\
             secret_hash = '{hash}'\nredirect_uris = [\"{CB}\"]\n\
             post_logout_redirect_uris = [\"{BYE}\"]\n"
        )
    };
    let mut setup = Setup::users_file(&users);
    setup.tables = oidc(&old, "");
    let mut server = SsoServer::start(&keys, &setup);
    let mut jar = Cookies::new();
    let before = id_token(&server, &mut jar);
    assert!(authlib_verifies(&server, &before));

    let text = std::fs::read_to_string(&server.config_path).unwrap();
    let rotated = text.replace(&oidc(&old, ""), &oidc(&new, &format!("{old:?}")));
    assert_ne!(text, rotated);
    server.write_config(&rotated);
    let answer = server.reload();
    assert!(answer.contains("event=reload "), "{answer}");

    let jwks: Value =
        serde_json::from_str(&server.get("/oidc/jwks", &Cookies::new()).body).unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "{jwks}");
    assert!(kids.contains(&kid(&before).as_str()));
    let after = id_token(&server, &mut jar);
    assert_ne!(kid(&after), kid(&before), "signed with the new key");
    assert!(kids.contains(&kid(&after).as_str()));
    assert!(authlib_verifies(&server, &after));
    assert!(
        authlib_verifies(&server, &before),
        "the old token still verifies"
    );
    // The old id_token is still a good hint: logout goes back to the client.
    let bye = server.get(&logout_path(&before, BYE), &Cookies::new());
    assert_eq!(bye.status, 302, "{}", bye.body);
    assert_eq!(bye.location(), Some(BYE));
}
