use std::os::unix::fs::PermissionsExt;

use super::*;

struct Keys {
    dir: tempfile::TempDir,
    public: PathBuf,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("public.key");
    let sk = sso_core::SecretKey::generate();
    sso_core::keys::write_public_key(&public, &sk.public_key(), sso_core::KeyFormat::Raw, false)
        .unwrap();
    Keys { dir, public }
}

fn text(k: &Keys, routes: &str) -> String {
    format!(
        "listen = \"127.0.0.1:4180\"\nlogin_server = \"https://login.example.org/\"\n\
         domain = \"example.org\"\npublic_key_files = [{:?}]\n{routes}",
        k.public
    )
}

const APP: &str = "[[route]]\nservice = \"app.example.org/app/\"\n";

fn parse(t: &str) -> Result<Config, String> {
    Config::parse(t, Path::new("/etc/sso-gate/sso-gate.toml")).map_err(|e| e.to_string())
}

#[test]
fn a_minimal_configuration() {
    let k = keys();
    let c = parse(&text(&k, APP)).unwrap();
    assert_eq!(c.listen, Listen::Tcp("127.0.0.1:4180".parse().unwrap()));
    let r = &c.routes[0];
    assert_eq!((r.path.as_str(), r.host.as_deref()), ("/app/", None));
    let Access::Protected(s) = &r.access else {
        panic!("protected expected")
    };
    assert_eq!(s.service.as_str(), "app.example.org/app/");
    assert_eq!(s.mode, Mode::Browser);
    assert!(s.binding);
}

#[test]
fn unknown_keys_are_errors() {
    let k = keys();
    let e = parse(&text(&k, &format!("{APP}colour = \"red\"\n"))).unwrap_err();
    assert!(e.contains("colour"), "{e}");
    let e = parse(&format!("typo = 1\n{}", text(&k, APP))).unwrap_err();
    assert!(e.contains("typo"), "{e}");
}

#[test]
fn errors_name_the_route_and_key() {
    let k = keys();
    let two = format!("{APP}[[route]]\nservice = \"no-slash\"\n");
    let e = parse(&text(&k, &two)).unwrap_err();
    assert!(e.contains("`route[1].service`"), "{e}");
    let groups = format!("{APP}[[route]]\nservice = \"b.example.org/\"\ngroups = [\"a b\"]\n");
    let e = parse(&text(&k, &groups)).unwrap_err();
    assert!(e.contains("`route[1].groups`"), "{e}");
    let path = "[[route]]\nservice = \"a.example.org/app/\"\npath = \"/other/\"\n";
    let e = parse(&text(&k, path)).unwrap_err();
    assert!(e.contains("`route[0].path`"), "{e}");
    let under = "[[route]]\nservice = \"a.example.org/app/\"\npath = \"/app/admin/\"\n";
    assert_eq!(
        parse(&text(&k, under)).unwrap().routes[0].path,
        "/app/admin/"
    );
    let public = "[[route]]\nmode = \"public\"\nservice = \"a.example.org/\"\npath = \"/\"\n";
    assert!(parse(&text(&k, public))
        .unwrap_err()
        .contains("`route[0].service`"));
    let mode = "[[route]]\nservice = \"a.example.org/\"\nmode = \"open\"\n";
    assert!(parse(&text(&k, mode)).unwrap_err().contains("open"));
    let up = "[[route]]\nservice = \"a.example.org/\"\nupstream = \"ftp://x\"\n";
    assert!(parse(&text(&k, up))
        .unwrap_err()
        .contains("`route[0].upstream`"));
    let dup = format!("{APP}{APP}");
    assert!(parse(&text(&k, &dup))
        .unwrap_err()
        .contains("`route[1].path`"));
    assert!(parse(&text(&k, "")).unwrap_err().contains("`route`"));
}

#[test]
fn workers_are_read() {
    let k = keys();
    let t = text(&k, APP);
    assert_eq!(parse(&t).unwrap().workers, crate::runtime::Workers::Auto);
    let one = parse(&format!("workers = 1\n{t}")).unwrap();
    assert_eq!(one.workers.threads(), 1);
}

#[test]
fn top_level_errors_name_their_key() {
    let k = keys();
    let t = text(&k, APP);
    for (from, to, key) in [
        ("127.0.0.1:4180", "localhost", "`listen`"),
        ("127.0.0.1:4180", "unix:relative", "`listen`"),
        ("https://login.example.org/", "login", "`login_server`"),
        ("domain = \"example.org\"", "domain = \"\"", "`domain`"),
    ] {
        let e = parse(&t.replace(from, to)).unwrap_err();
        assert!(e.contains(key), "{key}: {e}");
    }
    for (extra, key) in [
        ("clock_skew = 99999\n", "`clock_skew`"),
        ("cookie_secure = \"maybe\"\n", "`cookie_secure`"),
        ("cookie_prefix = \"a b\"\n", "`cookie_prefix`"),
        ("trusted_proxies = [\"nope\"]\n", "`trusted_proxies`"),
        ("binding_store = \"etcd://x\"\n", "`binding_store`"),
        ("log_level = \"loud\"\n", "`log_level`"),
        ("workers = 0\n", "`workers`"),
        ("workers = \"many\"\n", "`workers`"),
    ] {
        let e = parse(&format!("{extra}{t}")).unwrap_err();
        assert!(e.contains(key), "{key}: {e}");
    }
}

#[test]
fn key_files_are_trust_checked_and_pinned() {
    let k = keys();
    std::fs::set_permissions(&k.public, std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = parse(&text(&k, APP)).unwrap_err();
    assert!(
        e.contains("`public_key_files[0]`") && e.contains("writable"),
        "{e}"
    );
    std::fs::set_permissions(&k.public, std::fs::Permissions::from_mode(0o644)).unwrap();
    let missing = text(&k, APP).replace("public.key", "gone.key");
    assert!(parse(&missing)
        .unwrap_err()
        .contains("`public_key_files[0]`"));
    let pinned = text(&k, APP).replace(
        &format!("[{:?}]", k.public),
        &format!(
            "[{{ file = {:?}, services = \"other\\\\.example\\\\.org/\" }}]",
            k.public
        ),
    );
    let e = parse(&pinned).unwrap_err();
    assert!(e.contains("route[0]") && e.contains("pinned"), "{e}");
    let bad_pin = pinned.replace("other", "(");
    assert!(parse(&bad_pin)
        .unwrap_err()
        .contains("`public_key_files[0].services`"));
    drop(k.dir);
}

#[test]
fn upstreams_and_public_routes() {
    let k = keys();
    let routes = "[[route]]\nservice = \"a.example.org/\"\nupstream = \"http://127.0.0.1:8080\"\n\
                  preserve_host = false\n\
                  [[route]]\npath = \"/static/\"\nmode = \"public\"\nupstream = \"unix:/run/app.sock\"\n\
                  [[route]]\nhost = \"B.example.org\"\nservice = \"b.example.org/\"\nmode = \"api\"\n\
                  upstream = \"http://localhost\"\n";
    let c = parse(&text(&k, routes)).unwrap();
    assert_eq!(
        c.routes[0].upstream,
        Some(Upstream::Http {
            authority: "127.0.0.1:8080".into()
        })
    );
    assert!(!c.routes[0].preserve_host);
    assert_eq!(
        c.routes[1].upstream,
        Some(Upstream::Unix("/run/app.sock".into()))
    );
    assert!(matches!(c.routes[1].access, Access::Public));
    assert_eq!(c.routes[2].host.as_deref(), Some("b.example.org"));
    assert_eq!(
        c.routes[2].upstream,
        Some(Upstream::Http {
            authority: "localhost:80".into()
        })
    );
    let Access::Protected(s) = &c.routes[2].access else {
        panic!()
    };
    assert_eq!(s.mode, Mode::Api);
    let listen = text(&k, APP).replace("127.0.0.1:4180", "unix:/run/sso-gate/sock");
    assert_eq!(
        parse(&listen).unwrap().listen,
        Listen::Unix("/run/sso-gate/sock".into())
    );
}

#[test]
fn binding_stores() {
    let k = keys();
    let t = text(&k, APP);
    assert_eq!(parse(&t).unwrap().binding_store, BindingStoreKind::Memory);
    let redis = parse(&format!("binding_store = \"redis://127.0.0.1:6379/\"\n{t}")).unwrap();
    assert_eq!(
        redis.binding_store,
        BindingStoreKind::Redis("redis://127.0.0.1:6379/".into())
    );
    let bad = parse(&format!("binding_store = \"redis://\"\n{t}")).unwrap_err();
    assert!(bad.contains("`binding_store`"), "{bad}");
}

#[test]
fn a_binding_store_url_is_never_echoed() {
    // It may hold Redis's password: not in an error, not in a debug line.
    let k = keys();
    let t = text(&k, APP);
    let good = parse(&format!(
        "binding_store = \"redis://:s3cret@127.0.0.1:6379/2\"\n{t}"
    ))
    .unwrap();
    assert!(matches!(good.binding_store, BindingStoreKind::Redis(_)));
    assert!(!format!("{good:?}").contains("s3cret"));
    for bad in [
        "redis://:s3cret@[::1/",
        "rediss://:s3cret@h/",
        "etcd://s3cret@h/",
    ] {
        let e = parse(&format!("binding_store = {bad:?}\n{t}")).unwrap_err();
        assert!(e.contains("`binding_store`"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }
}
