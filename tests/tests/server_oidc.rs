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

#[test]
fn the_session_answers_silently_until_prompt_login_or_logout() {
    let (_, mut jar) = code_for("web", WEB_CB, "alice", &[]);
    let silent = get(&authorize_path("web", WEB_CB, &[("prompt", "none")]), &jar);
    param(&silent, WEB_CB, "code");
    // max_age: a password older than it is asked again (the clock must
    // have moved past the login's second for max_age=0 to be exceeded).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = get(&authorize_path("web", WEB_CB, &[("max_age", "3600")]), &jar);
    param(&fresh, WEB_CB, "code");
    let old = get(&authorize_path("web", WEB_CB, &[("max_age", "0")]), &jar);
    assert_eq!(old.status, 200, "an exceeded max_age shows the form");
    assert!(old.form_field("o").is_some());
    let forced = get(&authorize_path("web", WEB_CB, &[("prompt", "login")]), &jar);
    assert_eq!(forced.status, 200, "prompt=login shows the form");
    let back = log_in(&forced, &mut jar, "alice", "alice password");
    let code = param(&back, WEB_CB, "code");
    let (status, json) = redeem(&code, WEB_CB, None);
    assert_eq!(status, 200);
    let id_token = json["id_token"].as_str().unwrap().to_owned();
    let refresh = json["refresh_token"].as_str().unwrap().to_owned();
    // RP-initiated logout with the hint of this login: to the registered
    // URI, the session over, its refresh tokens revoked.
    let bye = get(
        &format!(
            "/oidc/logout?id_token_hint={}&post_logout_redirect_uri={}&state=s9",
            pct(&id_token),
            pct(BYE)
        ),
        &jar,
    );
    assert_eq!(bye.status, 302, "{}", bye.body);
    assert_eq!(bye.location(), Some(format!("{BYE}?state=s9").as_str()));
    jar.update(&bye);
    let after = get(&authorize_path("web", WEB_CB, &[("prompt", "none")]), &jar);
    assert_eq!(param(&after, WEB_CB, "error"), "login_required");
    let (status, json, _) = token(
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        Some(("web", SECRET)),
    );
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // A hint signed by another key (another issuer's): a page.
    let stranger = dir_key_signs(&claims_of(&id_token));
    let r = get(&logout_path(&stranger, BYE), &Cookies::new());
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.location().is_none());
    // An unregistered post-logout URI: a page, no redirect.
    let r = get(
        &logout_path(&id_token, "http://127.0.0.1:9/evil"),
        &Cookies::new(),
    );
    assert_eq!(r.status, 400);
    assert!(r.location().is_none());
}

#[test]
fn a_refresh_rechecks_the_account() {
    let (code, _) = code_for("web", WEB_CB, "carol", &[]);
    let (status, json) = redeem(&code, WEB_CB, None);
    assert_eq!(status, 200);
    let access = json["access_token"].as_str().unwrap().to_owned();
    let refresh = json["refresh_token"].as_str().unwrap().to_owned();
    let info = request(
        &format!("{}/oidc/userinfo", issuer()),
        "GET",
        &[("Authorization".into(), format!("Bearer {access}"))],
        None,
    );
    assert_eq!(info.status, 200, "{}", info.body);
    let out = Command::new(bin("sso-server"))
        .args(["user", "del", "--users-file"])
        .arg(&fixture().users)
        .arg("carol")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (status, json, _) = token(
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        Some(("web", SECRET)),
    );
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant")),
        "{json}"
    );
    let info = request(
        &format!("{}/oidc/userinfo", issuer()),
        "GET",
        &[("Authorization".into(), format!("Bearer {access}"))],
        None,
    );
    assert_eq!(info.status, 401);
}

#[test]
fn userinfo_refuses_tokens_it_did_not_sign_so() {
    let (code, _) = code_for("web", WEB_CB, "alice", &[]);
    let (_, json) = redeem(&code, WEB_CB, None);
    let access = json["access_token"].as_str().unwrap();
    let id_token = json["id_token"].as_str().unwrap();
    let parts: Vec<&str> = access.split('.').collect();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#),
        parts[1]
    );
    for (what, token) in [
        ("alg none", none.as_str()),
        ("an id_token", id_token),
        ("nothing", ""),
    ] {
        let r = request(
            &format!("{}/oidc/userinfo", issuer()),
            "GET",
            &[("Authorization".into(), format!("Bearer {token}"))],
            None,
        );
        assert_eq!(r.status, 401, "{what}");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.contains("invalid_token")),
            "{what}"
        );
    }
}

#[test]
fn no_code_token_or_secret_reaches_the_log() {
    let (code, _) = code_for("web", WEB_CB, "alice", &[]);
    let (_, json) = redeem(&code, WEB_CB, None);
    let log = fixture().server.log();
    assert!(log.contains("event=oidc-code"), "{log}");
    for secret in [
        code.as_str(),
        SECRET,
        json["access_token"].as_str().unwrap(),
        json["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret));
    }
}

#[test]
fn a_bad_signing_key_stops_the_start_naming_the_key_and_the_file() {
    let keys = TestKeys::new();
    let (dir, users) = tests::util::temp_path("users");
    add_user(&users, "dave", "dave password", &[]);
    let ed25519 = dir.path().join("ed25519.pem");
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&ed25519)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let readable = dir.path().join("readable.pem");
    oidc_gen_key(&readable);
    std::fs::set_permissions(
        &readable,
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    let base = Setup::users_file(&users).config_text(&keys, 8080);
    for (key, why) in [
        (&ed25519, "not an RSA private key"),
        (&readable, "chmod 600"),
    ] {
        let text = format!(
            "{base}\n[oidc]\nissuer = \"https://login.example.org\"\nsigning_key_file = {key:?}\n"
        );
        let (ok, out) = SsoServer::try_config(&text);
        assert!(!ok, "{out}");
        assert!(out.contains("oidc.signing_key_file"), "{out}");
        assert!(out.contains(key.to_str().unwrap()), "{out}");
        assert!(out.contains(why), "{out}");
    }
    // A client with a bad redirect URI is refused by its key.
    let good = dir.path().join("good.pem");
    std::fs::copy(&readable, &good).unwrap();
    std::fs::set_permissions(&good, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let text = format!(
        "{base}\n[oidc]\nissuer = \"https://login.example.org\"\nsigning_key_file = {good:?}\n\
         [[oidc.client]]\nid = \"x\"\npublic = true\nredirect_uris = [\"http://evil.example/cb\"]\n"
    );
    let (ok, out) = SsoServer::try_config(&text);
    assert!(!ok, "{out}");
    assert!(out.contains("oidc.client[x].redirect_uris"), "{out}");
}

#[test]
fn a_second_factor_policy_for_oidc_client_applies_to_its_logins() {
    // A password login for a client the policy does not cover.
    let (_, mut jar) = code_for("web", WEB_CB, "erin", &[]);
    // prompt=none cannot ask for the factor.
    let r = get(
        &authorize_path("secure", SECURE_CB, &[("prompt", "none")]),
        &jar,
    );
    assert_eq!(param(&r, SECURE_CB, "error"), "interaction_required");
    // Without it: the second-factor step, carrying the request.
    let step = get(&authorize_path("secure", SECURE_CB, &[]), &jar);
    assert_eq!(step.status, 200, "{}", step.body);
    jar.update(&step);
    let csrf = step.form_field("csrf").unwrap();
    let o = step.form_field("o").expect("the request rides along");
    let code = tests::totp::oathtool(&fixture().erin_totp, None);
    let resp = fixture().server.post(
        "/second-factor",
        &jar,
        &[("csrf", &csrf), ("o", &o), ("code", &code)],
    );
    let back = follow(resp, &mut jar);
    let code = param(&back, SECURE_CB, "code");
    let (status, json, _) = token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SECURE_CB),
        ],
        Some(("secure", SECRET)),
    );
    assert_eq!(status, 200, "{json}");
    let id = claims_of(json["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp"]));
    assert_eq!(id["acr"], "2");
    assert_eq!(id["sub"], "erin");
}

/// omniauth_openid_connect (Debian's ruby-omniauth-openid-connect, the
/// strategy GitLab uses) as a third relying party (tests/oidc/omniauth_rp.rb):
/// its discovery and authorization URL; the browser's part (the login
/// form) by this test's HTTP client; then its callback phase: the code
/// exchanged, the id_token verified against the JWKS, userinfo.
#[test]
fn omniauth_openid_connect_logs_in_through_discovery_and_the_code_flow() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new("ruby")
        .arg(workspace_root().join("tests/oidc/omniauth_rp.rb"))
        .args([&issuer(), "web", SECRET, WEB_CB])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ruby");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let authorize = line.trim().to_owned();
    assert!(
        authorize.starts_with(&format!("{}/oidc/authorize?", issuer())),
        "{authorize:?}: {:?}",
        child.wait_with_output()
    );
    let asked: Vec<(String, String)> = query_params(&authorize);
    let has = |k: &str| asked.iter().any(|(n, v)| n == k && !v.is_empty());
    assert!(has("state") && has("nonce"), "{authorize}");
    let mut jar = Cookies::new();
    let page = get(&path_of(&authorize), &jar);
    let back = log_in(&page, &mut jar, "alice", "alice password");
    assert_eq!(back.status, 302, "{}", back.body);
    let callback = back.location().unwrap().to_owned();
    assert!(callback.starts_with(WEB_CB), "{callback}");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{callback}").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait_with_output().unwrap();
    assert!(
        status.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&status.stderr),
        fixture().server.log()
    );
    let seen: Value = serde_json::from_str(rest.trim()).unwrap_or_else(|e| panic!("{e}: {rest}"));
    assert_eq!(seen["uid"], "alice", "{seen}");
    assert_eq!(seen["info"]["nickname"], "alice", "{seen}");
    assert_eq!(seen["raw_info"]["sub"], "alice", "{seen}");
    assert_eq!(seen["raw_info"]["iss"], issuer(), "{seen}");
    assert_eq!(
        seen["raw_info"]["groups"],
        serde_json::json!(["staff", "dev"]),
        "{seen}"
    );
    assert_eq!(seen["has_id_token"], true, "{seen}");
}
