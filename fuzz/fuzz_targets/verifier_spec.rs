//! The one verifier configuration (sso_core::spec) on arbitrary fields:
//! the lines of the input are a service, a domain, a clock skew, a group
//! list, a login server, a cookie prefix and a key's services pattern.
//! Never panics; what a field check accepts holds its rule, and the
//! settings built from accepted fields refuse a garbage ticket cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_core::spec::{self, KeySource, KeySpec, VerifierSpec};
use sso_core::{Check, SecretKey, MAX_CLOCK_SKEW};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or("");
    let (service, domain, skew, groups, login, prefix, pin) =
        (next(), next(), next(), next(), next(), next(), next());

    if let Ok(s) = spec::service(service) {
        // A service name that passed is the same name parsed again.
        assert_eq!(spec::service(s.as_str()).unwrap().as_str(), s.as_str());
    }
    if let Ok(d) = spec::domain(domain) {
        assert!(!d.is_empty() && !d.contains(['|', '"']) && !d.chars().any(char::is_control));
    }
    if let Ok(s) = spec::clock_skew_text(skew) {
        assert!(s <= MAX_CLOCK_SKEW);
    }
    let mut names = Vec::new();
    if spec::groups(groups, &mut names).is_ok() {
        for (i, g) in names.iter().enumerate() {
            assert!(!g.is_empty() && !g.contains([',', '|']) && !g.chars().any(char::is_whitespace));
            assert!(!names[..i].contains(g), "duplicate {g}");
        }
    }
    if let Ok(p) = spec::cookie_prefix(prefix) {
        assert!(p.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)));
    }
    let _ = spec::login_server(login);
    let pattern = spec::key_services(pin).is_ok().then(|| pin.to_owned());

    let key = SecretKey::from_seed(&[7; 32]).public_key();
    let settings = VerifierSpec {
        keys: vec![KeySpec {
            source: KeySource::Loaded(key),
            services: pattern,
        }],
        service: Some(service.to_owned()),
        domain: Some(domain.to_owned()),
        clock_skew: skew.parse().unwrap_or(0),
        groups: names,
        login_server: Some(login.to_owned()),
        cookie_prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
        ..VerifierSpec::default()
    };
    if let Ok(verifier) = settings.verifier() {
        assert!(verifier.verify("AAAA", &Check::at(0)).is_err());
    }
    let _ = settings.settings();
});
