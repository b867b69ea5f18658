//! OpenSSH public key lines given to `realm add`, of arbitrary text: never
//! panics; an accepted key round-trips, and its managed `authorized_keys`
//! line is one line whose only options are `restrict` and the forced
//! command (nothing in the key can close the quote or add an option).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_realm::authorized_keys::{authorized_line, forced_command, PublicKeyLine};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = PublicKeyLine::parse(text) else {
        return;
    };
    let public = key.to_public_line();
    assert_eq!(PublicKeyLine::parse(&public).unwrap(), key);
    let command = forced_command("/usr/bin/ssotool", "/", "api", "alice").unwrap();
    let line = authorized_line(&command, &key);
    let prefix = format!("restrict,command=\"{command}\" ");
    assert_eq!(line.strip_prefix(&prefix), Some(public.as_str()));
    assert!(!public.contains(['"', '\n', '\r', '\\', ',']));
});
