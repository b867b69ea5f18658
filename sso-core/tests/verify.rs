//! Every failure class of verification, key rotation and the cache.

use std::sync::Arc;

use sso_core::{
    Check, Error, KeySet, RawTicket, SecretKey, Signer, Ticket, Verifier, VerifyCache, Version,
    MAX_CLOCK_SKEW, MAX_TICKET_LEN,
};

const SERVICE: &str = "www.example.org/app/";
const DOMAIN: &str = "example.org";
const NOW: u64 = 1_700_000_000;

struct Fixture {
    signer: Signer,
    verifier: Verifier,
}

fn fixture() -> Fixture {
    let signer = Signer::new(SecretKey::generate());
    let keys = KeySet::new(&[signer.public_key()]).unwrap();
    let verifier = Verifier::new(keys, SERVICE, DOMAIN).unwrap();
    Fixture { signer, verifier }
}

fn ticket(version: Version) -> Ticket {
    Ticket {
        version,
        user: "alice".into(),
        service: SERVICE.into(),
        domain: DOMAIN.into(),
        expires: NOW + 60,
        nonce: (version == Version::V4).then(|| "abc123".to_string()),
        groups: vec!["admins".into(), "staff".into()],
    }
}

#[test]
fn valid_v3_and_v4_tickets_verify() {
    let f = fixture();
    for v in [Version::V3, Version::V4] {
        let t = ticket(v);
        let encoded = f.signer.sign(&t).unwrap();
        assert_eq!(f.verifier.verify(&encoded, &Check::at(NOW)).unwrap(), t);
        // Unpadded input is accepted too.
        let unpadded = encoded.trim_end_matches('=');
        assert_eq!(f.verifier.verify(unpadded, &Check::at(NOW)).unwrap(), t);
    }
}

#[test]
fn claim_failures_name_the_check() {
    let f = fixture();
    let encoded = f.signer.sign(&ticket(Version::V4)).unwrap();
    let groups = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let nobody = groups(&["nobody"]);
    let staff = groups(&["nobody", "staff"]);
    let check =
        |now, nonce, groups: &[String]| f.verifier.verify(&encoded, &Check { now, nonce, groups });
    assert_eq!(
        check(NOW + 60, None, &[]).map(|_| ()),
        Ok(()),
        "valid at expiry"
    );
    assert_eq!(check(NOW + 61, None, &[]).unwrap_err(), Error::Expired);
    assert_eq!(
        check(NOW, Some("abc124"), &[]).unwrap_err(),
        Error::NonceMismatch
    );
    assert_eq!(check(NOW, Some(""), &[]).unwrap_err(), Error::NonceMismatch);
    assert!(check(NOW, Some("abc123"), &[]).is_ok());
    assert_eq!(check(NOW, None, &nobody).unwrap_err(), Error::MissingGroup);
    assert!(check(NOW, None, &staff).is_ok());

    let other_service =
        Verifier::new(f.verifier.keys().clone(), "www.example.org/", DOMAIN).unwrap();
    assert_eq!(
        other_service.verify(&encoded, &Check::at(NOW)).unwrap_err(),
        Error::WrongService
    );
    let other_domain = Verifier::new(f.verifier.keys().clone(), SERVICE, "example.com").unwrap();
    assert_eq!(
        other_domain.verify(&encoded, &Check::at(NOW)).unwrap_err(),
        Error::WrongDomain
    );

    // A v3 ticket cannot satisfy an expected nonce.
    let v3 = f.signer.sign(&ticket(Version::V3)).unwrap();
    let r = f.verifier.verify(
        &v3,
        &Check {
            now: NOW,
            nonce: Some("abc123"),
            groups: &[],
        },
    );
    assert_eq!(r.unwrap_err(), Error::NonceMismatch);
}

#[test]
fn clock_skew_allowance() {
    let f = fixture();
    let encoded = f.signer.sign(&ticket(Version::V3)).unwrap();
    let lenient = f.verifier.clone().with_clock_skew(30);
    assert!(lenient.verify(&encoded, &Check::at(NOW + 90)).is_ok());
    assert_eq!(
        lenient.verify(&encoded, &Check::at(NOW + 91)).unwrap_err(),
        Error::Expired
    );
    assert_eq!(
        f.verifier
            .verify(&encoded, &Check::at(NOW + 90))
            .unwrap_err(),
        Error::Expired
    );
    // Expiry near u64::MAX must not overflow into "expired".
    let mut t = ticket(Version::V3);
    t.expires = u64::MAX;
    let far = f.signer.sign(&t).unwrap();
    assert!(lenient.verify(&far, &Check::at(NOW)).is_ok());
}

#[test]
fn clock_skew_is_capped_and_a_clock_before_1970_fails_closed() {
    let f = fixture();
    let encoded = f.signer.sign(&ticket(Version::V3)).unwrap();
    let huge = f.verifier.clone().with_clock_skew(u64::MAX);
    let beyond = NOW + 60 + MAX_CLOCK_SKEW + 1;
    assert_eq!(
        huge.verify(&encoded, &Check::at(beyond)).unwrap_err(),
        Error::Expired
    );
    assert!(huge.verify(&encoded, &Check::at(beyond - 1)).is_ok());
    // `unix_now` reads 0 off a clock before 1970: nothing is valid then.
    assert_eq!(
        f.verifier.verify(&encoded, &Check::at(0)).unwrap_err(),
        Error::Expired
    );
}

#[test]
fn the_signer_refuses_what_no_verifier_would_take() {
    let f = fixture();
    let mut t = ticket(Version::V3);
    t.groups = (0..400).map(|i| format!("group{i}")).collect();
    assert_eq!(f.signer.sign(&t), Err(Error::TooLong));
    t.groups.truncate(200);
    let encoded = f.signer.sign(&t).unwrap();
    assert!(encoded.len() <= MAX_TICKET_LEN);
    f.verifier.verify(&encoded, &Check::at(NOW)).unwrap();
}

#[test]
fn a_signature_only_a_lax_verifier_accepts_is_refused() {
    use curve25519_dalek::scalar::Scalar;
    use ed25519_dalek::Verifier as _;
    use sha2::{Digest, Sha512};
    // R = the identity point (small order), s = k·a: then [s]B - [k]A is the
    // identity, so RFC 8032's cofactorless equation holds, but R is of small
    // order, which strict verification refuses.
    let seed = [42u8; 32];
    let signer = Signer::new(SecretKey::from_seed(&seed));
    let public = signer.public_key().to_raw();
    let content = ticket(Version::V3).to_content().unwrap();
    let h = Sha512::digest(seed);
    let mut a = [0u8; 32];
    a.copy_from_slice(&h[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a);
    let mut r = [0u8; 32];
    r[0] = 1;
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r)
            .chain_update(public)
            .chain_update(content.as_bytes()),
    );
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r);
    signature[32..].copy_from_slice((k * a).as_bytes());
    // The control: a lax verifier takes it, so the vector really tests
    // strictness.
    let lax = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
    assert!(lax
        .verify(
            content.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&signature)
        )
        .is_ok());
    let encoded = RawTicket {
        signature,
        content: content.into_bytes(),
    }
    .encode();
    let keys = KeySet::new(&[signer.public_key()]).unwrap();
    let verifier = Verifier::new(keys, SERVICE, DOMAIN).unwrap();
    assert_eq!(
        verifier.verify(&encoded, &Check::at(NOW)).unwrap_err(),
        Error::BadSignature
    );
}

#[test]
fn format_failures_name_the_check() {
    let f = fixture();
    let signed = |content: &str| f.signer.sign_content(content.as_bytes());
    let cases = [
        (signed("5|alice|s|d|1800000000|"), Error::BadVersion),
        (signed("3|alice|s|d|1800000000"), Error::BadFieldCount),
        (signed("4|alice|s|d|1800000000|g"), Error::BadFieldCount),
        (signed("3||s|d|1800000000|"), Error::EmptyUser),
        (signed("3|alice||d|1800000000|"), Error::EmptyService),
        (signed("3|alice|s||1800000000|"), Error::EmptyDomain),
        (signed("3|alice|s|d|soon|"), Error::BadExpiry),
        (signed("3|alice|s|d|1800000000|a,,b"), Error::BadGroups),
        (signed("3|al\0ice|s|d|1800000000|"), Error::NulByte),
        ("not base64!".to_string(), Error::BadEncoding),
        ("QUJD".to_string(), Error::TooShort),
        ("A".repeat(MAX_TICKET_LEN + 4), Error::TooLong),
    ];
    for (encoded, want) in cases {
        assert_eq!(
            f.verifier.verify(&encoded, &Check::at(NOW)).unwrap_err(),
            want
        );
    }
    let raw = RawTicket {
        signature: [0; 64],
        content: vec![0xff; 20],
    };
    assert_eq!(
        f.verifier
            .verify(&raw.encode(), &Check::at(NOW))
            .unwrap_err(),
        Error::NotUtf8
    );
}

#[test]
fn forged_and_tampered_tickets_fail_the_signature() {
    let f = fixture();
    let t = ticket(Version::V4);
    let encoded = f.signer.sign(&t).unwrap();
    let mut raw = RawTicket::decode(&encoded).unwrap();

    // Changed content, same signature.
    let mut tampered = raw.clone();
    tampered.content = t
        .to_content()
        .unwrap()
        .replace("alice", "admin")
        .into_bytes();
    assert_eq!(
        f.verifier
            .verify(&tampered.encode(), &Check::at(NOW))
            .unwrap_err(),
        Error::BadSignature
    );

    // Every single-bit flip of the signature is caught.
    for i in 0..64 * 8 {
        raw.signature[i / 8] ^= 1 << (i % 8);
        let r = f.verifier.verify(&raw.encode(), &Check::at(NOW));
        assert_eq!(r.unwrap_err(), Error::BadSignature, "bit {i}");
        raw.signature[i / 8] ^= 1 << (i % 8);
    }

    // Signed by another key.
    let other = Signer::new(SecretKey::generate());
    let foreign = other.sign(&t).unwrap();
    assert_eq!(
        f.verifier.verify(&foreign, &Check::at(NOW)).unwrap_err(),
        Error::BadSignature
    );

    // Truncations never verify.
    for cut in 1..encoded.len() {
        assert!(
            f.verifier.verify(&encoded[..cut], &Check::at(NOW)).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn key_rotation_accepts_old_and_new() {
    let old = Signer::new(SecretKey::generate());
    let new = Signer::new(SecretKey::generate());
    let keys = KeySet::new(&[old.public_key(), new.public_key()]).unwrap();
    let v = Verifier::new(keys, SERVICE, DOMAIN).unwrap();
    for s in [&old, &new] {
        assert!(v
            .verify(&s.sign(&ticket(Version::V3)).unwrap(), &Check::at(NOW))
            .is_ok());
    }
    let retired =
        Verifier::new(KeySet::new(&[new.public_key()]).unwrap(), SERVICE, DOMAIN).unwrap();
    let from_old = old.sign(&ticket(Version::V3)).unwrap();
    assert_eq!(
        retired.verify(&from_old, &Check::at(NOW)).unwrap_err(),
        Error::BadSignature
    );
}

#[test]
fn verifier_settings_are_validated() {
    let pk = SecretKey::generate().public_key();
    assert!(KeySet::new(&[]).is_err());
    let keys = KeySet::new(&[pk]).unwrap();
    assert!(Verifier::new(keys.clone(), "", DOMAIN).is_err());
    assert!(Verifier::new(keys, SERVICE, "").is_err());
}

#[test]
fn cache_hit_still_checks_every_claim() {
    let f = fixture();
    let cache = VerifyCache::new(64);
    let encoded = f.signer.sign(&ticket(Version::V4)).unwrap();
    let first = cache
        .verify(&f.verifier, &encoded, &Check::at(NOW))
        .unwrap();
    assert_eq!(cache.len(), 1);
    let second = cache
        .verify(&f.verifier, &encoded, &Check::at(NOW))
        .unwrap();
    assert!(Arc::ptr_eq(&first, &second), "second lookup is a hit");

    let nobody = vec!["nobody".to_string()];
    let hit = |v: &Verifier, check: Check<'_>| cache.verify(v, &encoded, &check).unwrap_err();
    assert_eq!(
        hit(
            &f.verifier,
            Check {
                now: NOW,
                nonce: Some("x"),
                groups: &[]
            }
        ),
        Error::NonceMismatch
    );
    assert_eq!(
        hit(
            &f.verifier,
            Check {
                now: NOW,
                nonce: None,
                groups: &nobody
            }
        ),
        Error::MissingGroup
    );
    let other_service = Verifier::new(f.verifier.keys().clone(), "x/", DOMAIN).unwrap();
    assert_eq!(hit(&other_service, Check::at(NOW)), Error::WrongService);
    let other_domain = Verifier::new(f.verifier.keys().clone(), SERVICE, "x").unwrap();
    assert_eq!(hit(&other_domain, Check::at(NOW)), Error::WrongDomain);
    assert_eq!(cache.len(), 1);
    // Expired on a hit: refused and dropped.
    assert_eq!(hit(&f.verifier, Check::at(NOW + 61)), Error::Expired);
    assert_eq!(cache.len(), 0);
}

#[test]
fn cache_never_shares_results_across_key_sets() {
    let f = fixture();
    let cache = VerifyCache::new(64);
    let encoded = f.signer.sign(&ticket(Version::V3)).unwrap();
    assert!(cache.verify(&f.verifier, &encoded, &Check::at(NOW)).is_ok());
    let stranger = Signer::new(SecretKey::generate());
    let other_keys = KeySet::new(&[stranger.public_key()]).unwrap();
    let other = Verifier::new(other_keys, SERVICE, DOMAIN).unwrap();
    assert_eq!(
        cache.verify(&other, &encoded, &Check::at(NOW)).unwrap_err(),
        Error::BadSignature
    );
}

#[test]
fn cache_does_not_store_failures_or_forgeries() {
    let f = fixture();
    let cache = VerifyCache::new(64);
    let mut raw = RawTicket::decode(&f.signer.sign(&ticket(Version::V3)).unwrap()).unwrap();
    raw.signature[0] ^= 1;
    for _ in 0..3 {
        assert_eq!(
            cache
                .verify(&f.verifier, &raw.encode(), &Check::at(NOW))
                .unwrap_err(),
            Error::BadSignature
        );
    }
    let expired = f.signer.sign(&ticket(Version::V3)).unwrap();
    assert!(cache
        .verify(&f.verifier, &expired, &Check::at(NOW + 3600))
        .is_err());
    assert_eq!(cache.len(), 0);
}

#[test]
fn cache_stays_bounded_and_sweeps_expired_entries() {
    let f = fixture();
    for capacity in [1usize, 10, 1000, 1100] {
        let cache = VerifyCache::new(capacity);
        assert!(cache.capacity() <= capacity);
        for i in 0..(capacity * 2 + 5) {
            let mut t = ticket(Version::V3);
            t.user = format!("user{i}");
            let e = f.signer.sign(&t).unwrap();
            cache.verify(&f.verifier, &e, &Check::at(NOW)).unwrap();
            assert!(cache.len() <= cache.capacity().max(1));
        }
    }
    // Expired entries are swept on later inserts even without hits.
    let cache = VerifyCache::new(4096);
    for i in 0..500 {
        let mut t = ticket(Version::V3);
        t.user = format!("short{i}");
        t.expires = NOW + 10;
        cache
            .verify(&f.verifier, &f.signer.sign(&t).unwrap(), &Check::at(NOW))
            .unwrap();
    }
    assert_eq!(cache.len(), 500);
    let later = NOW + 3600;
    for i in 0..200 {
        let mut t = ticket(Version::V3);
        t.user = format!("fresh{i}");
        t.expires = later + 60;
        cache
            .verify(&f.verifier, &f.signer.sign(&t).unwrap(), &Check::at(later))
            .unwrap();
    }
    assert_eq!(cache.len(), 200, "expired entries do not pile up");
}

#[test]
fn cache_is_thread_safe() {
    let f = Arc::new(fixture());
    let cache = Arc::new(VerifyCache::new(2048));
    let tickets: Arc<Vec<String>> = Arc::new(
        (0..64)
            .map(|i| {
                let mut t = ticket(Version::V3);
                t.user = format!("u{i}");
                f.signer.sign(&t).unwrap()
            })
            .collect(),
    );
    let threads: Vec<_> = (0..8)
        .map(|n| {
            let (f, cache, tickets) = (f.clone(), cache.clone(), tickets.clone());
            std::thread::spawn(move || {
                for round in 0..200 {
                    let i = (n * 7 + round) % tickets.len();
                    let t = cache
                        .verify(&f.verifier, &tickets[i], &Check::at(NOW))
                        .unwrap();
                    assert_eq!(t.user, format!("u{i}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(cache.len(), 64);
}

#[test]
fn disabled_cache_still_verifies() {
    let f = fixture();
    let cache = VerifyCache::new(0);
    let e = f.signer.sign(&ticket(Version::V3)).unwrap();
    assert!(cache.verify(&f.verifier, &e, &Check::at(NOW)).is_ok());
    assert_eq!(cache.len(), 0);
}
