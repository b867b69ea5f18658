//! sso-gate serving https itself (`[tls]`) as a reverse proxy: the flow's
//! cookies get their `__Host-` names and `Secure`, as behind mod_sso, and
//! the upstream is told `X-Forwarded-Proto: https`.

use sso_core::flow::{CookieNames, CookiePolicy};
use sso_core::web::ServiceName;
use tests::gate::{echoed_headers, Echo, Gate};
use tests::server::{Cookies, DOMAIN};
use tests::util::TestKeys;

#[test]
fn https_gives_host_only_cookies() {
    let keys = TestKeys::new();
    let echo = Echo::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = tests::tls::self_signed_in(dir.path(), "127.0.0.1");
    let gate = Gate::start(&format!(
        "listen = \"127.0.0.1:{{port}}\"\nlogin_server = \"https://login.example.org/\"\n\
         domain = \"{DOMAIN}\"\npublic_key_files = [{:?}]\n\
         [tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n\
         [[route]]\nservice = \"127.0.0.1:{{port}}/app/\"\nupstream = \"http://127.0.0.1:{}\"\n",
        keys.public_path, echo.port
    ));
    let base = format!("https://127.0.0.1:{}", gate.port);
    let get = |path: &str, jar: &Cookies| {
        tests::http::request(&format!("{base}{path}"), "GET", &jar.header(), None)
    };
    let service = ServiceName::parse(&format!("127.0.0.1:{}/app/", gate.port)).expect("service");
    let names = CookieNames::for_request(&service, &CookiePolicy::default(), true);
    assert!(names.ticket.starts_with("__Host-"), "{names:?}");

    let mut jar = Cookies::new();
    let r = get("/app/page", &jar);
    assert_eq!(r.status, 302, "{r:?}\n{}", gate.log());
    let nonce = r
        .set_cookie_line(&names.nonce)
        .expect("a __Host- nonce cookie")
        .to_owned();
    assert!(
        nonce.contains("Secure") && nonce.contains("Path=/;"),
        "{nonce}"
    );
    jar.update(&r);
    let secret = jar.get(&names.nonce).expect("nonce").to_owned();
    let commitment = sso_core::web::nonce_commitment(&secret);
    let ticket = keys.ticket(
        "alice",
        service.as_str(),
        DOMAIN,
        300,
        Some(&commitment),
        &[],
    );
    let done = get(&format!("/app/sso_login?t={ticket}"), &jar);
    assert_eq!(done.status, 302, "{done:?}\n{}", gate.log());
    let set = done
        .set_cookie_line(&names.ticket)
        .expect("a __Host- ticket cookie");
    assert!(set.contains("Secure"), "{set}");
    jar.update(&done);
    let page = get("/app/page", &jar);
    assert_eq!(page.status, 200, "{page:?}\n{}", gate.log());
    let seen = echoed_headers(&page.body);
    assert!(
        seen.contains(&("remote-user".into(), "alice".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("x-forwarded-proto".into(), "https".into())),
        "{seen:?}"
    );
    // A path-scoped cookie (what a sibling host could plant) is not read.
    let mut planted = Cookies::new();
    planted.set("SSO_ticket", jar.get(&names.ticket).expect("ticket"));
    assert_eq!(get("/app/page", &planted).status, 302);
}
