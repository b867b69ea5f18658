//! The bound the cold mode of bench/mod_sso.sh is compared with: raw
//! Ed25519 verifications per second on one core (ed25519-dalek's
//! verify_strict through sso-core's KeySet, one key, a typical ticket size).
//! Prints one number (verifications/s, median of 5 rounds); never asserts.

use std::time::Instant;

use sso_core::{KeySet, RawTicket, SecretKey, Signer, Ticket};

fn main() {
    let signer = Signer::new(SecretKey::generate());
    let keys = KeySet::new(&[signer.public_key()]).expect("key set");
    let ticket = Ticket::new(
        "u-123456",
        "127.0.0.1:8080/sso/",
        "bench.example",
        4_000_000_000,
    );
    let encoded = signer.sign(&ticket).expect("sign");
    let raw = RawTicket::decode(&encoded).expect("decode");
    let n = 4000;
    let mut rates = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
            assert!(keys.verifies(std::hint::black_box(&raw.content), &raw.signature));
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    println!("{:.0}", rates[rates.len() / 2]);
}
