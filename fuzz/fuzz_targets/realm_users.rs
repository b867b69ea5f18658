//! A realm's `users` file of arbitrary text: never panics, and what is
//! accepted is written back as a file that reads as the same users.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_realm::users::{parse_users, users_text};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(users) = parse_users(text) {
        assert_eq!(parse_users(&users_text(&users)).unwrap(), users);
    }
});
