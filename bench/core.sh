#!/usr/bin/env bash
# sso-core figures: raw Ed25519 verification (bound), cold verification,
# cache hit, signing. Prints, never asserts. Pass --quick for a short run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p bench
if command -v taskset >/dev/null; then pin=(taskset -c 0); else pin=(); fi
exec "${pin[@]}" target/release/bench "$@"
