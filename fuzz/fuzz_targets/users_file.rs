//! The users-file parser on arbitrary text: never panics, and what it
//! reads is consistent: every entry has a valid name and argon2 hash, no
//! user is both readable and on a bad line, and the strict reading of the
//! start-up fails exactly when a line is bad, naming that line.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sso_server::auth::users_file::{parse, parse_lines, valid_user_name};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_lines(text);
    for (user, entry) in &parsed.users {
        assert!(valid_user_name(user), "{user:?}");
        assert!(entry.hash.starts_with("$argon2"), "{:?}", entry.hash);
        assert!(!parsed.errors.iter().any(|e| e.user.as_ref() == Some(user)));
    }
    let lines = text.lines().count();
    assert!(parsed.errors.iter().all(|e| e.line >= 1 && e.line <= lines));
    match (parse(text, Path::new("/u")), parsed.errors.first()) {
        (Ok(users), None) => assert_eq!(users, parsed.users),
        (Err(e), Some(first)) => assert!(e.to_string().starts_with(&format!("/u:{}:", first.line))),
        (strict, first) => panic!("strict {strict:?} but first bad line {first:?}"),
    }
});
