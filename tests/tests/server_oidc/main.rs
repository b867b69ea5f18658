//! The login server as an OpenID Connect provider, one real sso-server
//! shared by every test of this file: Authlib (Debian's python3-authlib)
//! as a relying party through the code flow with PKCE, the id_token
//! checked against the JWKS, userinfo and a refresh
//! (tests/oidc/authlib_rp.py), omniauth_openid_connect (GitLab's
//! strategy, tests/oidc/omniauth_rp.rb) through discovery and the code
//! flow; then every refusal of the protocol from
//! the Rust side, each one a request the rule must turn away.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::Value;
use tests::http::{form_urlencode, request};
use tests::oidc::{authlib_login, logout_path, submit_login};
use tests::server::{
    add_user, listen_port, oidc_gen_key, pct, query_params, Cookies, HttpResponse, Setup, SsoServer,
};
use tests::util::{bin, workspace_root, TestKeys};

const SECRET: &str = "a-test-client-secret-0123456789";
const WEB_CB: &str = "http://127.0.0.1:9/cb";
const SPA_CB: &str = "http://127.0.0.1:9/spa";
const STAFF_CB: &str = "http://127.0.0.1:9/staff";
const BYE: &str = "http://127.0.0.1:9/bye";
const SECURE_CB: &str = "http://127.0.0.1:9/secure";
// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The authorization parameters of PKCE with [`CHALLENGE`] (S256).
fn pkce_s256() -> [(&'static str, &'static str); 2] {
    [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

struct Fixture {
    server: SsoServer,
    users: PathBuf,
    /// erin's TOTP secret (`[[second_factor]]` covers `oidc:secure`).
    erin_totp: String,
    _keys: TestKeys,
    _dir: tempfile::TempDir,
}

/// The pid of the shared server, killed when the test binary exits (a
/// static is never dropped).
static PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn kill_server() {
    let pid = PID.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) on the child this binary started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let keys = TestKeys::new();
        let (dir, users) = tests::util::temp_path("users");
        add_user(&users, "alice", "alice password", &["staff", "dev"]);
        add_user(&users, "bob", "bob password", &[]);
        add_user(&users, "carol", "carol password", &["staff"]);
        add_user(&users, "erin", "erin password", &[]);
        let totp = dir.path().join("totp");
        let erin_totp = tests::totp::enroll(&totp, "erin");
        let key = dir.path().join("oidc.pem");
        oidc_gen_key(&key);
        let hash = sso_oidc::token::hash_secret(SECRET).unwrap();
        let mut setup = Setup::users_file(&users);
        setup.auth.push_str(&format!("totp_file = {totp:?}\n"));
        setup.tables = "[[second_factor]]\nservices = ['oidc:secure']\n".into();
        let server = SsoServer::start_with(&keys, &setup, |text| {
            let port = listen_port(&text);
            format!(
                "{text}\n[oidc]\nissuer = \"http://127.0.0.1:{port}\"\nsigning_key_file = {key:?}\n\
                 [[oidc.client]]\nid = \"web\"\nname = \"Web App\"\nsecret_hash = '{hash}'\n\
                 redirect_uris = [\"{WEB_CB}\"]\npost_logout_redirect_uris = [\"{BYE}\"]\n\
                 [[oidc.client]]\nid = \"spa\"\npublic = true\nredirect_uris = [\"{SPA_CB}\"]\n\
                 [[oidc.client]]\nid = \"staffonly\"\nsecret_hash = '{hash}'\n\
                 redirect_uris = [\"{STAFF_CB}\"]\ngroups = [\"staff\"]\n\
                 [[oidc.client]]\nid = \"secure\"\nsecret_hash = '{hash}'\n\
                 redirect_uris = [\"{SECURE_CB}\"]\n"
            )
        });
        PID.store(server.pid() as i32, std::sync::atomic::Ordering::SeqCst);
        // SAFETY: registers a plain extern "C" function.
        unsafe { libc::atexit(kill_server) };
        Fixture {
            server,
            users,
            erin_totp,
            _keys: keys,
            _dir: dir,
        }
    })
}

fn issuer() -> String {
    format!("http://127.0.0.1:{}", fixture().server.port)
}

fn get(path: &str, jar: &Cookies) -> HttpResponse {
    fixture().server.get(path, jar)
}

/// A path on the server from an absolute URL of it.
fn path_of(url: &str) -> String {
    url.strip_prefix(&issuer()).unwrap_or(url).to_owned()
}

fn authorize_path(client: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let mut q = vec![
        ("client_id", client),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", "openid profile groups offline_access"),
        ("state", "st"),
        ("nonce", "nc"),
    ];
    q.extend_from_slice(extra);
    format!("/oidc/authorize?{}", form_urlencode(&q))
}

/// The login form of `page` filled in and posted, then the redirects
/// followed on this server: the first answer that leaves it.
fn log_in(page: &HttpResponse, jar: &mut Cookies, user: &str, password: &str) -> HttpResponse {
    assert_eq!(page.status, 200, "login form expected: {}", page.body);
    jar.update(page);
    let resp = submit_login(&fixture().server, page, jar, user, password);
    follow(resp, jar)
}

fn follow(mut resp: HttpResponse, jar: &mut Cookies) -> HttpResponse {
    loop {
        jar.update(&resp);
        match resp.location() {
            Some(l) if resp.status == 302 && l.starts_with(&issuer()) => {
                resp = get(&path_of(l), jar);
            }
            _ => return resp,
        }
    }
}

/// A code for `user` at `client`, by a fresh login.
fn code_for(client: &str, redirect: &str, user: &str, extra: &[(&str, &str)]) -> (String, Cookies) {
    let mut jar = Cookies::new();
    let page = get(&authorize_path(client, redirect, extra), &jar);
    let password = format!("{user} password");
    let back = log_in(&page, &mut jar, user, &password);
    let code = param(&back, redirect, "code");
    (code, jar)
}

/// Parameter `name` of a 302 to `redirect`.
fn param(resp: &HttpResponse, redirect: &str, name: &str) -> String {
    assert_eq!(resp.status, 302, "{}", resp.body);
    let l = resp.location().unwrap();
    assert!(l.starts_with(redirect), "{l}");
    query_params(l)
        .into_iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in {l}"))
        .1
}

fn token(form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value, HttpResponse) {
    let mut headers = Vec::new();
    if let Some((id, secret)) = basic {
        let v = STANDARD.encode(format!("{id}:{secret}"));
        headers.push(("Authorization".to_owned(), format!("Basic {v}")));
    }
    let resp = request(
        &format!("{}/oidc/token", issuer()),
        "POST",
        &headers,
        Some(&form_urlencode(form)),
    );
    let json = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
    (resp.status, json, resp)
}

fn redeem(code: &str, redirect: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let (status, json, _) = token(&form, Some(("web", SECRET)));
    (status, json)
}

/// `claims` signed RS256 by a key of another provider.
fn dir_key_signs(claims: &Value) -> String {
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let other = sso_oidc::keys::SigningKeys::new(&out.stdout, &[], None).unwrap();
    other.sign("RS256", claims).unwrap()
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[test]
fn authlib_logs_in_validates_the_id_token_and_refreshes() {
    let seen = authlib_login(
        &fixture().server,
        &issuer(),
        ("web", SECRET),
        WEB_CB,
        "alice",
        "alice password",
    );
    assert_eq!(seen["state_matches"], true);
    assert_eq!(seen["iss_in_callback"], true);
    let id = &seen["id_token"];
    assert_eq!(id["iss"], issuer());
    assert_eq!(id["sub"], "alice");
    assert_eq!(id["aud"], "web");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["acr"], "1");
    assert_eq!(id["preferred_username"], "alice");
    assert_eq!(id["groups"], serde_json::json!(["staff", "dev"]));
    assert!(id["auth_time"].as_u64().unwrap() <= id["iat"].as_u64().unwrap());
    assert_eq!(seen["id_token_alg"], "RS256");
    assert_eq!(seen["userinfo"]["sub"], "alice");
    assert_eq!(
        seen["userinfo"]["groups"],
        serde_json::json!(["staff", "dev"])
    );
    assert_eq!(seen["silent_code"], true);
    assert_eq!(seen["refresh_rotated"], true);
    assert_eq!(seen["refreshed_sub"], "alice");
    // The refresh token Authlib spent, again: reuse, refused.
    let old = seen["old_refresh_token"].as_str().unwrap();
    let (status, json, _) = token(
        &[("grant_type", "refresh_token"), ("refresh_token", old)],
        Some(("web", SECRET)),
    );
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[test]
fn discovery_and_jwks_describe_the_provider() {
    let d: Value =
        serde_json::from_str(&get("/.well-known/openid-configuration", &Cookies::new()).body)
            .unwrap();
    assert_eq!(d["issuer"], issuer());
    assert_eq!(d["token_endpoint"], format!("{}/oidc/token", issuer()));
    let jwks: Value = serde_json::from_str(&get("/oidc/jwks", &Cookies::new()).body).unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");
}

#[test]
fn a_code_is_spent_once_and_bound_to_its_client_uri_and_verifier() {
    let pkce = pkce_s256();
    let (code, _) = code_for("web", WEB_CB, "alice", &pkce);
    let (status, json) = redeem(&code, WEB_CB, Some(VERIFIER));
    assert_eq!(status, 200, "{json}");
    assert_eq!(claims_of(json["id_token"].as_str().unwrap())["nonce"], "nc");
    // Replayed.
    let (status, json) = redeem(&code, WEB_CB, Some(VERIFIER));
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Another redirect_uri, another verifier, none: each spends the code.
    for (uri, verifier) in [
        ("http://127.0.0.1:9/other", Some(VERIFIER)),
        (WEB_CB, Some("wrong-verifier-wrong-verifier-wrong-verifier")),
        (WEB_CB, None),
    ] {
        let (code, _) = code_for("web", WEB_CB, "alice", &pkce);
        let (status, json) = redeem(&code, uri, verifier);
        assert_eq!(
            (status, json["error"].as_str()),
            (400, Some("invalid_grant")),
            "{uri} {verifier:?}"
        );
        let (status, _) = redeem(&code, WEB_CB, Some(VERIFIER));
        assert_eq!(status, 400, "a refused code stays spent");
    }
    // A code of another client.
    let (code, _) = code_for("staffonly", STAFF_CB, "alice", &[]);
    let (status, json) = redeem(&code, STAFF_CB, None);
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[test]
fn a_wrong_or_missing_secret_is_invalid_client_with_401() {
    let (code, _) = code_for("web", WEB_CB, "alice", &[]);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", WEB_CB),
    ];
    let (status, json, resp) = token(&form, Some(("web", "not-the-secret-0123456789")));
    assert_eq!(
        (status, json["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(resp
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Basic")));
    let mut post = form.to_vec();
    post.push(("client_id", "web"));
    let (status, json, _) = token(&post, None);
    assert_eq!(
        (status, json["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // client_secret_post works; the code was not spent by the refusals.
    post.push(("client_secret", SECRET));
    let (status, json, resp) = token(&post, None);
    assert_eq!(status, 200, "{json}");
    assert_eq!(resp.header("cache-control"), Some("no-store"));
}

#[test]
fn a_bad_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    for path in [
        authorize_path("nobody", WEB_CB, &[]),
        authorize_path("web", "http://127.0.0.1:9/evil", &[]),
        authorize_path("web", "http://127.0.0.1:9/cb/", &[]),
        "/oidc/authorize?response_type=code&scope=openid&client_id=web".to_owned(),
    ] {
        let r = get(&path, &Cookies::new());
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.location().is_none(), "{path}");
        r.assert_body_has("not valid");
    }
    // A genuine client's other errors go back to it, with its state.
    let r = get(
        &authorize_path("web", WEB_CB, &[("response_type", "token")]),
        &Cookies::new(),
    );
    assert_eq!(param(&r, WEB_CB, "error"), "invalid_request");
    let r = get(&authorize_path("spa", SPA_CB, &[]), &Cookies::new());
    assert_eq!(
        param(&r, SPA_CB, "error"),
        "invalid_request",
        "a public client without PKCE"
    );
    let r = get(
        &authorize_path("web", WEB_CB, &[("prompt", "none")]),
        &Cookies::new(),
    );
    assert_eq!(param(&r, WEB_CB, "error"), "login_required");
    assert_eq!(param(&r, WEB_CB, "state"), "st");
}

#[test]
fn a_public_client_redeems_with_its_verifier_only() {
    let pkce = pkce_s256();
    let (code, _) = code_for("spa", SPA_CB, "alice", &pkce);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SPA_CB),
        ("client_id", "spa"),
        ("code_verifier", VERIFIER),
    ];
    let (status, json, _) = token(&form, None);
    assert_eq!(status, 200, "{json}");
}

#[test]
fn a_client_limited_to_groups_refuses_others() {
    let mut jar = Cookies::new();
    let page = get(&authorize_path("staffonly", STAFF_CB, &[]), &jar);
    let back = log_in(&page, &mut jar, "bob", "bob password");
    assert_eq!(param(&back, STAFF_CB, "error"), "access_denied");
}

mod sessions;
