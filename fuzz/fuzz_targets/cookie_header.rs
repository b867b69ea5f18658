//! `Cookie` header parsing: never panics, every value found belongs to a
//! pair of the asked name, and values never hold the pair separator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_core::web::cookie_values;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line is the cookie name, the rest the header value.
    let (name, header) = text.split_once('\n').unwrap_or(("SSO_ticket", text));
    for value in cookie_values(header, name) {
        assert!(!value.contains(';'), "{value:?}");
        assert!(header.contains(value));
    }
});
