//! Key file parsing (raw and PEM) of arbitrary bytes: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_core::{PublicKey, SecretKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = PublicKey::from_bytes(data) {
        assert_eq!(PublicKey::from_bytes(&k.to_raw()).unwrap(), k);
    }
    if let Ok(k) = SecretKey::from_bytes(data) {
        assert_eq!(
            SecretKey::from_bytes(&k.to_raw()).unwrap().public_key(),
            k.public_key()
        );
    }
});
