//! Full verification, with and without the cache, of arbitrary input against
//! a fixed key: never panics, both paths agree, and nothing but a ticket
//! signed by the key verifies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sso_core::{Check, KeySet, SecretKey, Signer, Verifier, VerifyCache};

struct Fixture {
    signer: Signer,
    verifier: Verifier,
    cache: VerifyCache,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // A fixed seed keeps runs reproducible.
        let signer = Signer::new(SecretKey::from_seed(&[7u8; 32]));
        let keys = KeySet::new(&[signer.public_key()]).unwrap();
        let verifier = Verifier::new(keys, "www.example.org/", "example.org").unwrap();
        Fixture {
            signer,
            verifier,
            cache: VerifyCache::new(64),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let check = Check::at(1_700_000_000);
    let direct = f.verifier.verify(text, &check);
    let cached = f.cache.verify(&f.verifier, text, &check);
    assert_eq!(direct.is_ok(), cached.is_ok());
    if let (Ok(a), Ok(b)) = (&direct, &cached) {
        assert_eq!(a, &**b);
        // Only the key holder can have made it: re-signing must reproduce it
        // (Ed25519 is deterministic) up to padding.
        let again = f.signer.sign(a).unwrap();
        assert_eq!(again.trim_end_matches('='), text.trim_end_matches('='));
    }
});
