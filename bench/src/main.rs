//! sso-core benchmark: prints, never asserts.
//!
//! In one run, on one thread: raw ed25519-dalek verification of the same
//! content (the physical bound for a cold check), sso-core's verification of
//! a never-seen ticket (decode + parse + signature + claims), a cache hit,
//! and signing. Targets (issue): cold ≤ 1.10 × raw; cache hit < 1 µs.
//!
//! Each figure is the median of several rounds; rounds of the four kinds are
//! interleaved so a noisy neighbour hurts all of them alike.

use std::hint::black_box;
use std::time::Instant;

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _};
use sso_core::{Check, KeySet, RawTicket, SecretKey, Signer, Ticket, Verifier, VerifyCache};

const ROUNDS: usize = 7;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Nanoseconds per operation for `n` calls of `f`.
fn time_ns(n: usize, mut f: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n_slow = if quick { 300 } else { 3000 };
    let n_fast = if quick { 30_000 } else { 300_000 };

    let seed = [42u8; 32];
    let dalek = SigningKey::from_bytes(&seed);
    let signer = Signer::new(SecretKey::from_seed(&seed));
    let keys = KeySet::new(&[signer.public_key()]).unwrap();
    let verifier = Verifier::new(keys, "www.example.org/app/", "example.org").unwrap();
    let now = sso_core::unix_now();

    // Distinct tickets so every cold check is a never-seen ticket.
    let tickets: Vec<String> = (0..n_slow)
        .map(|i| {
            let mut t = Ticket::new(
                &format!("user{i}"),
                "www.example.org/app/",
                "example.org",
                now + 3600,
            );
            t.groups = vec!["staff".into(), "admins".into()];
            signer.sign(&t).unwrap()
        })
        .collect();
    let raws: Vec<(Vec<u8>, Signature)> = tickets
        .iter()
        .map(|t| {
            let r = RawTicket::decode(t).unwrap();
            (r.content.clone(), Signature::from_bytes(&r.signature))
        })
        .collect();
    let contents: Vec<Ticket> = tickets
        .iter()
        .map(|t| verifier.verify(t, &Check::at(now)).unwrap())
        .collect();
    let vk = dalek.verifying_key();

    let warm_cache = VerifyCache::new(sso_core::DEFAULT_CACHE_ENTRIES);
    let hot = &tickets[0];
    warm_cache.verify(&verifier, hot, &Check::at(now)).unwrap();

    let (mut raw, mut cold, mut hit, mut sign, mut raw_sign) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut raw_lax = vec![];
    for _ in 0..ROUNDS {
        raw_lax.push(time_ns(n_slow, |i| {
            let (c, s) = &raws[i];
            black_box(vk.verify(black_box(c), s).is_ok());
        }));
        raw.push(time_ns(n_slow, |i| {
            let (c, s) = &raws[i];
            black_box(vk.verify_strict(black_box(c), s).is_ok());
        }));
        cold.push(time_ns(n_slow, |i| {
            black_box(
                verifier
                    .verify(black_box(&tickets[i]), &Check::at(now))
                    .is_ok(),
            );
        }));
        hit.push(time_ns(n_fast, |_| {
            black_box(
                warm_cache
                    .verify(&verifier, black_box(hot), &Check::at(now))
                    .is_ok(),
            );
        }));
        sign.push(time_ns(n_slow, |i| {
            black_box(signer.sign(black_box(&contents[i])).unwrap());
        }));
        raw_sign.push(time_ns(n_slow, |i| {
            black_box(dalek.sign(black_box(&raws[i].0)));
        }));
    }
    let (raw, cold, hit, sign, raw_sign) = (
        median(raw),
        median(cold),
        median(hit),
        median(sign),
        median(raw_sign),
    );
    let raw_lax = median(raw_lax);
    let per_s = |ns: f64| 1e9 / ns;
    println!(
        "sso-core benchmark (one thread, median of {ROUNDS} rounds; ticket {} bytes)",
        tickets[0].len()
    );
    println!("{:<50} {:>12} {:>12}", "operation", "ns/op", "ops/s");
    println!(
        "{:<50} {:>12.0} {:>12.0}",
        "raw ed25519-dalek verify_strict (bound)",
        raw,
        per_s(raw)
    );
    println!(
        "{:<50} {:>12.0} {:>12.0}",
        "raw ed25519-dalek verify (non-strict, reference)",
        raw_lax,
        per_s(raw_lax)
    );
    println!(
        "{:<50} {:>12.0} {:>12.0}",
        "sso-core verify, never-seen ticket (cold)",
        cold,
        per_s(cold)
    );
    println!(
        "{:<50} {:>12.0} {:>12.0}",
        "sso-core verify, cache hit",
        hit,
        per_s(hit)
    );
    println!(
        "{:<50} {:>12.0} {:>12.0}",
        "raw ed25519-dalek sign",
        raw_sign,
        per_s(raw_sign)
    );
    println!(
        "{:<50} {:>12.0} {:>12.0}",
        "sso-core sign (format + sign + encode)",
        sign,
        per_s(sign)
    );
    println!();
    println!("cold / raw verify   = {:.3}   (target <= 1.10)", cold / raw);
    println!(
        "cache hit           = {:.3} us (target < 1 us)",
        hit / 1000.0
    );
    println!("hit speed-up        = {:.0}x over a cold check", cold / hit);
    println!("sign / raw sign     = {:.3}", sign / raw_sign);
}
