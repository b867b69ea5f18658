#!/usr/bin/env bash
# Instructions per warm request of the Python middleware (docs/python.md,
# "Tests and benchmark"): bench/python_warm.py under callgrind with N1 and
# N2 requests, the difference divided by N2 - N1 (start-up cancels out),
# for sso.wsgi and sso.asgi; then µs per request over the bare application
# (timeit-like, in one process). Instruction counts do not depend on what
# else the machine runs; under valgrind SHA-256 runs without the CPU's SHA
# instructions. Prints figures, never asserts.
#
# Usage: bench/python_instructions.sh       Needs: valgrind, openssl.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
N1=${N1:-200}
N2=${N2:-2000}
(cd "$ROOT" && nice -n 19 cargo build --release -q -p sso)
export SSO_LIBRARY=$TARGET/release/libsso.so PYTHONPATH=$ROOT/python/src
WORK=$(mktemp -d /tmp/python_instructions.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
SERVICE=127.0.0.1:8000/sso/
DOMAIN=bench.example
openssl genpkey -algorithm ed25519 -out "$WORK/secret.pem" 2>/dev/null
openssl pkey -in "$WORK/secret.pem" -pubout -out "$WORK/public.pem"
python3 "$ROOT/bench/mod_sso_tickets.py" sso "$WORK/warm" 1 "$WORK/secret.pem" "$SERVICE" "$DOMAIN" 36000 w
# /usr/bin/python3, not a pyenv shim (which would be measured too).
PY=/usr/bin/python3
for mode in wsgi asgi; do
    declare -A REFS=()
    for n in "$N1" "$N2"; do
        REFS[$n]=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
            "$PY" "$ROOT/bench/python_warm.py" "$mode" "$n" "$WORK/public.pem" "$WORK/warm" "$SERVICE" "$DOMAIN" 2>&1 |
            awk '/refs:/ {gsub(",", "", $NF); print $NF}')
    done
    echo "$mode: $(( (REFS[$N2] - REFS[$N1]) / (N2 - N1) )) instructions per warm request"
done
for mode in wsgi asgi; do
    "$PY" "$ROOT/bench/python_warm.py" "$mode" 20000 "$WORK/public.pem" "$WORK/warm" "$SERVICE" "$DOMAIN" --time
done
