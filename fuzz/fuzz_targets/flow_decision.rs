//! The whole flow decision over arbitrary requests (method, path, query,
//! cookies, Authorization, https) against a fixed key: never panics, never
//! accepts without a ticket signed by the key for the service, never logs a
//! ticket, and every redirect goes to the login server or inside the service.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sso_core::flow::{decide, Action, MemoryBindingStore, Request, Settings};
use sso_core::web::ServiceName;
use sso_core::{KeySet, SecretKey, Signer, Verifier, VerifyCache};

const LOGIN: &str = "https://login.example.org/";

struct Fixture {
    settings: Settings,
    cache: VerifyCache,
    store: MemoryBindingStore,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let signer = Signer::new(SecretKey::from_seed(&[7u8; 32]));
        let keys = KeySet::new(&[signer.public_key()]).unwrap();
        let service = ServiceName::parse("www.example.org/app/").unwrap();
        let verifier = Verifier::new(keys, service.as_str(), "example.org").unwrap();
        Fixture {
            settings: Settings::new(service, LOGIN, verifier),
            cache: VerifyCache::new(64),
            store: MemoryBindingStore::new(64),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixture();
    // Fields separated by newlines: method, path, query, cookie, authorization.
    let mut fields = text.split('\n');
    let mut next = || fields.next().unwrap_or("");
    let (method, path, query, cookie, auth) = (next(), next(), next(), next(), next());
    let https = text.len() % 2 == 0;
    let cookies = [cookie];
    let req = Request {
        method,
        path,
        query,
        unparsed_uri: path,
        cookie_headers: &cookies,
        authorization: (!auth.is_empty()).then_some(auth),
        https,
        now: 1_700_000_000,
    };
    let d = decide(&f.settings, &req, &f.cache, &f.store);
    for line in &d.logs {
        for secret in [cookie, auth, query] {
            // The method is logged as given (httpd passes only tokens):
            // an input whose method repeats the secret proves nothing.
            if secret.len() >= 80 && !method.contains(secret) && !path.contains(secret) {
                assert!(!line.message.contains(secret), "logged: {}", line.message);
            }
        }
    }
    match &d.action {
        Action::Accept(a) => assert_eq!(a.ticket.service, "www.example.org/app/"),
        Action::Redirect { location, .. } => assert!(location.starts_with(LOGIN)),
        Action::LoginDone { target, .. } => {
            assert!(target.starts_with("https://www.example.org/app/"), "{target}")
        }
        // A refused sso_login goes to its own page, with no ticket.
        Action::LoginRefused { location } => {
            assert!(location.starts_with("/app/sso_login?error="), "{location}");
            assert!(!location.contains("t="), "{location}");
        }
        _ => {}
    }
    for (name, value) in d.headers() {
        assert!(!value.contains(['\r', '\n']), "{name}: {value:?}");
    }
});
