//! Property tests: whatever the issuer can sign, the verifier reads back
//! unchanged; whatever bytes arrive, decoding never panics.

use proptest::prelude::*;
use sso_core::{decode_unverified, Check, KeySet, SecretKey, Signer, Ticket, Verifier, Version};

fn field() -> impl Strategy<Value = String> {
    // Any non-empty text without `|` or NUL, including non-ASCII.
    "[^|\u{0}]{1,40}"
}

fn group() -> impl Strategy<Value = String> {
    "[^|,\u{0}]{1,20}"
}

fn arb_ticket() -> impl Strategy<Value = Ticket> {
    (
        any::<bool>(),
        field(),
        field(),
        field(),
        any::<u64>(),
        proptest::option::of("[^|\u{0}]{0,30}"),
        proptest::collection::vec(group(), 0..6),
    )
        .prop_map(
            |(v4, user, service, domain, expires, nonce, groups)| Ticket {
                version: if v4 { Version::V4 } else { Version::V3 },
                user,
                service,
                domain,
                expires,
                nonce: if v4 { nonce } else { None },
                groups,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sign_then_verify_round_trips(t in arb_ticket()) {
        let signer = Signer::new(SecretKey::generate());
        let encoded = signer.sign(&t).unwrap();
        prop_assert!(encoded.len().is_multiple_of(4), "issuer pads");
        let mut expected = t.clone();
        if expected.version == Version::V4 && expected.nonce.is_none() {
            expected.nonce = Some(String::new());
        }
        if encoded.len() <= sso_core::MAX_TICKET_LEN {
            let v = Verifier::new(KeySet::new(&[signer.public_key()]).unwrap(), &t.service, &t.domain).unwrap();
            prop_assert_eq!(v.verify(&encoded, &Check::at(1)).unwrap(), expected.clone());
            prop_assert_eq!(decode_unverified(encoded.trim_end_matches('=')).unwrap(), expected);
        }
    }

    #[test]
    fn content_round_trips(t in arb_ticket()) {
        let content = t.to_content().unwrap();
        let mut parsed = Ticket::parse_content(content.as_bytes()).unwrap();
        if t.version == Version::V4 && t.nonce.is_none() {
            parsed.nonce = None;
        }
        prop_assert_eq!(parsed, t);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = decode_unverified(&s);
    }

    #[test]
    fn arbitrary_content_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Ticket::parse_content(&b);
    }
}
