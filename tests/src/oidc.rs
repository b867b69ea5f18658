//! An OpenID Connect relying party's first step against a test
//! [`SsoServer`]: the authorization request, the login form when the
//! browser has no session yet, and the code the server redirects back with.

use crate::http::{form_urlencode, query_params, Cookies};
use crate::server::SsoServer;

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
        let csrf = resp.form_field("csrf").unwrap();
        let o = resp.form_field("o").unwrap();
        resp = server.post(
            "/login",
            jar,
            &[
                ("csrf", &csrf),
                ("o", &o),
                ("username", user),
                ("password", password),
            ],
        );
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
