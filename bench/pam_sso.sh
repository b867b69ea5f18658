#!/usr/bin/env bash
# pam_sso benchmark: real libpam in one process, pam_sso against the
# pam_permit floor. Prints auths/s and the time pam_sso adds; never asserts.
# Usage: bench/pam_sso.sh [--quick | ITERATIONS_PER_ROUND]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
iterations="${1:-2000}"
[ "$iterations" = "--quick" ] && iterations=300
cargo build --release -q -p pam_sso
cargo build --release -q -p bench --bin pam_sso
target="${CARGO_TARGET_DIR:-target}/release"
# Figures from a loaded machine are slower: say how loaded it was.
echo "load average: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) cores"
if command -v taskset >/dev/null; then pin=(taskset -c 0); else pin=(); fi
exec "${pin[@]}" "$target/pam_sso" "$target/libpam_sso.so" "$iterations"
