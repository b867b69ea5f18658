//! The login server's configuration parser (TOML, then one validator per
//! section) and the session-secret rules, on arbitrary text: never panics,
//! and a configuration that passes holds only secrets that pass.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_server::config::Config;
use sso_server::secret;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = secret::check(text);
    if let Ok(c) = Config::parse(text, std::path::Path::new("fuzz.toml")) {
        assert!(!c.session.secrets.is_empty());
        for s in &c.session.secrets {
            assert_eq!(secret::check(s), Ok(()));
            assert!(secret::decode(s).is_some_and(|b| b.len() >= secret::MIN_SECRET_BYTES));
        }
        assert!(c.throttle.max_per_user >= c.throttle.max_per_user_address);
        let _ = c.service_allowed("wiki.example.org/");
        let _ = c.ticket_lifetime("wiki.example.org/");
        let _ = c.exchange_allowed("a.example.org/", "b.example.org/");
    }
});
