//! An OpenID Connect relying party's first step against a test
//! [`SsoServer`]: the authorization request, the login form when the
//! browser has no session yet, and the code the server redirects back with;
//! then the client's request at the token endpoint.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use crate::http::{form_urlencode, query_params, request, Cookies, HttpResponse};
use crate::server::{add_user, oidc_gen_key, SsoServer};
use crate::util::workspace_root;

/// The code `server` redirects `redirect_uri` to for `client_id` and
/// `scope`, logging `user` in with `password` first when `jar` holds no
/// session (the session answers silently after). Fails the test unless
/// the answer is a redirect to `redirect_uri` with a code.
pub fn authorization_code(
    server: &SsoServer,
    jar: &mut Cookies,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    user: &str,
    password: &str,
) -> String {
    let path = format!(
        "/oidc/authorize?{}",
        form_urlencode(&[
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", scope),
        ])
    );
    let mut resp = server.get(&path, jar);
    jar.update(&resp);
    if resp.status == 200 {
        resp = submit_login(server, &resp, jar, user, password);
        jar.update(&resp);
        let resume = resp.location().unwrap().to_owned();
        let local = resume.split_once("/oidc/").unwrap().1;
        resp = server.get(&format!("/oidc/{local}"), jar);
        jar.update(&resp);
    }
    assert_eq!(resp.status, 302, "{}", resp.body);
    let l = resp.location().unwrap();
    assert!(l.starts_with(redirect_uri), "{l}");
    query_params(l)
        .into_iter()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
}

/// The login form `page` of an authorization request posted to `server`
/// with `user` and `password`: its CSRF token and the request (`o`) ride
/// along. The answer is not followed.
pub fn submit_login(
    server: &SsoServer,
    page: &HttpResponse,
    jar: &Cookies,
    user: &str,
    password: &str,
) -> HttpResponse {
    let csrf = page.form_field("csrf").unwrap();
    let o = page
        .form_field("o")
        .expect("the authorization request rides along");
    server.post(
        "/login",
        jar,
        &[
            ("csrf", &csrf),
            ("o", &o),
            ("username", user),
            ("password", password),
        ],
    )
}

/// The path of an RP-initiated logout (`/oidc/logout`) with this
/// `id_token_hint` and `post_logout_redirect_uri`.
pub fn logout_path(id_token_hint: &str, post_logout_redirect_uri: &str) -> String {
    format!(
        "/oidc/logout?id_token_hint={}&post_logout_redirect_uri={}",
        crate::http::pct(id_token_hint),
        crate::http::pct(post_logout_redirect_uri)
    )
}

/// A request to `server`'s token endpoint with `form`, the client proven by
/// HTTP Basic `client_id`:`secret` (`client_secret_basic`): the answer and
/// its JSON (null when it is none).
pub fn token_request(
    server: &SsoServer,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (HttpResponse, Value) {
    let basic = STANDARD.encode(format!("{client_id}:{secret}"));
    let resp = request(
        &format!("http://127.0.0.1:{}/oidc/token", server.port),
        "POST",
        &[("Authorization".into(), format!("Basic {basic}"))],
        Some(&form_urlencode(form)),
    );
    let json = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
    (resp, json)
}

/// In `dir`: a users file with alice (`alice password`, no groups) and a
/// fresh signing key `oidc.pem`, the files of a provider with one user.
pub fn provider_files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let users = dir.join("users");
    add_user(&users, "alice", "alice password", &[]);
    let key = dir.join("oidc.pem");
    oidc_gen_key(&key);
    (users, key)
}

/// What Authlib (tests/oidc/authlib_rp.py) saw logging `user` in through
/// the code flow at `issuer` as client `client_id` with `secret`, coming
/// back to `redirect_uri`; fails the test with `server`'s log if it failed.
pub fn authlib_login(
    server: &SsoServer,
    issuer: &str,
    client: (&str, &str),
    redirect_uri: &str,
    user: &str,
    password: &str,
) -> Value {
    // Debian's python3-authlib is a module of the system Python (a
    // python3 earlier on PATH, a pyenv say, would not have it).
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(workspace_root().join("tests/oidc/authlib_rp.py"))
        .args([issuer, client.0, client.1, redirect_uri, user, password])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
