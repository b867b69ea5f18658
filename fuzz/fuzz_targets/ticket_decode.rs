//! Decoding and parsing arbitrary input: never panics, and anything that
//! parses re-encodes to content that parses to the same ticket.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_core::{decode_unverified, Ticket};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_unverified(text);
    }
    if let Ok(t) = Ticket::parse_content(data) {
        let content = t.to_content().expect("a parsed ticket can be re-emitted");
        let again = Ticket::parse_content(content.as_bytes()).expect("re-emitted content parses");
        assert_eq!(again.user, t.user);
        assert_eq!(again.groups, t.groups);
        assert_eq!(again.expires, t.expires);
    }
});
