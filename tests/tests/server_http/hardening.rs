//! What a hostile request meets: escaped destinations, logs without
//! secrets, forwarded addresses, concurrent guesses, endless bodies,
//! unknown paths.

use super::*;

#[test]
fn a_hostile_destination_is_escaped_and_encoded() {
    let w = World::new();
    let s = w.start();
    let hostile = "https://wiki.test.example.org/\"><script>alert(1)</script>";
    let mut jar = Cookies::new();
    let r = s.get(&ask(WIKI, hostile, "", ""), &jar);
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("<script>alert(1)"), "{}", r.body);
    assert!(r
        .body
        .contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    let r = s.login(&mut jar, &ask(WIKI, hostile, "", ""), "alice", PASSWORD);
    let loc = r.header("location").unwrap();
    assert!(!loc.contains('<') && !loc.contains('"'), "{loc}");
    let (_, d) = redirect_ticket(&r, WIKI);
    assert_eq!(d, hostile);
    // A hostile user name is escaped in the form too.
    let r = s.login(
        &mut Cookies::new(),
        &ask(WIKI, "https://wiki.test.example.org/", "", ""),
        "<img src=x>",
        "x",
    );
    assert_eq!(r.status, 401);
    assert!(!r.body.contains("<img src=x>"));
}

#[test]
fn log_lines_name_user_service_address_and_never_secrets() {
    let w = World::new();
    let s = w.start();
    let mut jar = Cookies::new();
    let r = alice_at_wiki(&s, &mut jar);
    let (t, _) = redirect_ticket(&r, WIKI);
    s.login(
        &mut Cookies::new(),
        &ask(WIKI, "https://wiki.test.example.org/", "", ""),
        "alice",
        "a wrong password",
    );
    let session = jar.get("__Host-sso_session").unwrap().to_owned();
    logout(&s, &mut jar);
    let log = s.log();
    for needle in [
        "event=login user=\"alice\" service=\"wiki.test.example.org/\"",
        "event=ticket user=\"alice\" service=\"wiki.test.example.org/\" addr=\"127.0.0.1\"",
        "event=login-failed user=\"alice\"",
        "event=logout user=\"alice\"",
        &sso_core::ticket_fingerprint(&t),
    ] {
        assert!(log.contains(needle), "{needle:?} not in:\n{log}");
    }
    for secret in [
        PASSWORD,
        "a wrong password",
        t.as_str(),
        SECRET,
        session.as_str(),
    ] {
        assert!(!log.contains(secret), "secret in the log");
    }
}

#[test]
fn trusted_proxy_addresses_are_used_only_from_trusted_peers() {
    let w = World::new();
    let path = ask(WIKI, "https://wiki.test.example.org/", "", "");
    let xff = vec![("X-Forwarded-For".to_string(), "203.0.113.7".to_string())];
    // Untrusted peer: the header is ignored.
    let s = w.start();
    tests::server::http(s.port, "GET", &format!("{path}&s=x"), &xff, None);
    assert!(s.log().contains("addr=\"127.0.0.1\""));
    assert!(!s.log().contains("203.0.113.7"));
    // Trusted peer: the forwarded address is the client.
    let mut setup = w.setup();
    setup.top_level = "trusted_proxies = [\"127.0.0.1\"]\n".into();
    let s = SsoServer::start(&w.keys, &setup);
    tests::server::http(s.port, "GET", &format!("{path}&s=x"), &xff, None);
    assert!(s.log().contains("addr=\"203.0.113.7\""), "{}", s.log());
}

#[test]
fn forwarded_junk_never_makes_a_client_look_like_the_proxy() {
    let w = World::new();
    let path = ask(WIKI, "https://wiki.test.example.org/", "", "");
    let mut setup = w.setup();
    setup.top_level = "trusted_proxies = [\"127.0.0.1\", \"192.0.2.1\"]\n".into();
    let s = SsoServer::start(&w.keys, &setup);
    let get = |xff: &str| {
        let h = vec![("X-Forwarded-For".to_string(), xff.to_string())];
        tests::server::http(s.port, "GET", &format!("{path}&s=x"), &h, None);
        s.log().lines().last().unwrap_or_default().to_owned()
    };
    // What the client wrote is left of what the proxies appended: only the
    // right end counts, and junk stops the walk at the last trusted hop.
    assert!(get("junk, 203.0.113.7").contains("addr=\"203.0.113.7\""));
    assert!(get("198.51.100.9, 203.0.113.8, 192.0.2.1").contains("addr=\"203.0.113.8\""));
    assert!(get("203.0.113.9, junk").contains("addr=\"127.0.0.1\""));
    assert!(get("junk, 192.0.2.1").contains("addr=\"192.0.2.1\""));
}

#[test]
fn concurrent_guesses_cannot_pass_the_throttle_together() {
    let (_w, s, path) =
        throttled("max_failures_per_user_address = 3\nmax_failures_per_address = 1000\n");
    // Load every form first, then send all the guesses at once.
    let forms: Vec<(Cookies, Vec<(&str, String)>)> = (0..12)
        .map(|_| {
            let mut jar = Cookies::new();
            let form = s.get(&path, &jar);
            jar.update(&form);
            let f = |n: &str| form.form_field(n).unwrap_or_default();
            let fields = vec![
                ("csrf", f("csrf")),
                ("s", f("s")),
                ("d", f("d")),
                ("n", f("n")),
                ("g", f("g")),
                ("username", "alice".to_string()),
                ("password", "guess".to_string()),
            ];
            (jar, fields)
        })
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = forms
            .iter()
            .map(|(jar, fields)| {
                let s = &s;
                scope.spawn(move || {
                    let form: Vec<(&str, &str)> =
                        fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    s.post("/login", jar, &form).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|&&c| c == 401).count();
    let throttled = statuses.iter().filter(|&&c| c == 429).count();
    assert_eq!((checked, throttled), (3, 9), "{statuses:?}");
}

#[test]
fn a_body_that_never_ends_is_cut_off() {
    use std::io::{Read, Write};
    let w = World::new();
    let s = w.start();
    let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    // Announces 100 bytes and sends 5.
    c.write_all(
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 100\r\n\r\ncsrf=",
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = c.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[test]
fn unknown_paths_and_methods_are_refused() {
    let w = World::new();
    let s = w.start();
    assert_eq!(s.get("/nothing-here", &Cookies::new()).status, 404);
    assert_eq!(s.get("/login", &Cookies::new()).status, 405);
    assert_eq!(s.get("/exchange", &Cookies::new()).status, 405);
    let css = s.get("/style.css", &Cookies::new());
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
}
