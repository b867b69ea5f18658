#!/usr/bin/env bash
# Where a never-seen ticket's time goes in mod_sso: one `apache2 -X` under
# valgrind's callgrind (instructions counted, not seconds: the same figures
# whatever else the machine is doing), the verification cache off
# (SSOCacheSize 0), N requests with N distinct valid cookie tickets to
# /sso/ and N requests to /open/ (no module involved). Prints instructions
# per request: the whole request in httpd, the part under mod_sso's hooks,
# the part under ed25519-dalek's signature check, and the functions under
# the hooks that cost most besides it. Prints, never asserts.
#
# The cold-path goal of bench/mod_sso.sh (a never-seen ticket at >= 0.9 of
# "an /open/ request plus one signature check") needs the part of the hooks
# outside the signature check to stay small: this is where to look.
#
# WARM=1: the warm path instead (bench/mod_sso.sh's "warm"): the cache on
# and one ticket N times, so the hook's figure is all of what a logged-in
# browser's request costs in mod_sso.
#
# Usage: bench/mod_sso_profile.sh    (env: N=200, WARM=1, MOD_SSO_SO to
# profile a module built elsewhere)
# Needs: apache2, valgrind, curl, python3-cryptography, openssl; root.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
N=${N:-200}
DOMAIN=profile.example

echo "== building (release, with symbols)"
(cd "$ROOT" && cargo build --release -q -p mod_sso --lib)
SO=${MOD_SSO_SO:-$TARGET/release/libmod_sso.so}

WORK=$(mktemp -d /tmp/mod_sso_profile.XXXXXX)
chmod 755 "$WORK"
HTTPD_PID=
cleanup() {
    stop_pid "$HTTPD_PID" 600
    rm -rf "$WORK"
}
trap cleanup EXIT

openssl genpkey -algorithm ed25519 -out "$WORK/secret.pem" 2>/dev/null
openssl pkey -in "$WORK/secret.pem" -pubout -out "$WORK/public.pem"
PORT=$(free_port)
SERVICE=127.0.0.1:$PORT/sso/
mkdir -p "$WORK/run" "$WORK/htdocs/sso" "$WORK/htdocs/open"
echo hello > "$WORK/htdocs/sso/index.html"
echo hello > "$WORK/htdocs/open/index.html"
{ httpd_head "$WORK" "$PORT"; echo "LoadModule mpm_event_module $MODULES/mod_mpm_event.so"
  httpd_site "$MODULES" "$WORK" "$SO"
  sso_site "$DOMAIN" "$WORK/public.pem" "$SERVICE"
  [ -n "${WARM:-}" ] || echo "SSOCacheSize 0"
} > "$WORK/httpd.conf"
python3 - "$WORK" "$SERVICE" "$DOMAIN" "$N" "${WARM:-}" <<'EOF'
import base64, sys, time
from cryptography.hazmat.primitives import serialization
work, service, domain, n, warm = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
key = serialization.load_pem_private_key(open(f"{work}/secret.pem", "rb").read(), None)
expires = int(time.time()) + 3600
with open(f"{work}/tickets", "w") as f:
    for i in range(n):
        c = f"4|user{0 if warm else i}|{service}|{domain}|{expires}||staff".encode()
        f.write(base64.urlsafe_b64encode(key.sign(c) + c).decode() + "\n")
EOF
chmod -R a+rX "$WORK"

valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    /usr/sbin/apache2 -X -d "$WORK" -f "$WORK/httpd.conf" > "$WORK/httpd.out" 2>&1 &
HTTPD_PID=$!
for _ in $(seq 600); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/open/" && break
    kill -0 "$HTTPD_PID" 2>/dev/null || { cat "$WORK/error.log" "$WORK/httpd.out"; exit 1; }
    sleep 0.2
done
KIND=cold; [ -n "${WARM:-}" ] && KIND="warm (one ticket, cached after the first)"
echo "== $N $KIND requests to /sso/, then $N to /open/ (one curl each: the client costs nothing in httpd)"
sso_args=() open_args=()
while read -r t; do
    # --next: each request its own options (curl resets them per URL group).
    sso_args+=(--next -s -o /dev/null -w '%{http_code}\n' -H "Cookie: SSO_ticket=$t" "http://127.0.0.1:$PORT/sso/")
    open_args+=("http://127.0.0.1:$PORT/open/")
done < "$WORK/tickets"
# Counters from zero for each batch: callgrind_control dumps them
# (callgrind.out.1, .2) and starts again.
callgrind_control -z "$HTTPD_PID" > /dev/null 2>&1
curl "${sso_args[@]:1}" | sort | uniq -c | sed 's/^ */   status /' 
callgrind_control -d "$HTTPD_PID" > /dev/null 2>&1
curl -s "${open_args[@]}" > /dev/null
callgrind_control -d "$HTTPD_PID" > /dev/null 2>&1
stop_pid "$HTTPD_PID" 600
HTTPD_PID=

# inclusive FILE: "instructions<TAB>function" of every function, once (the
# annotation lists a Rust function under its file and again under ???).
inclusive() {
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null \
        | sed -n 's/^ *\([0-9,]*\) ([^)]*)  *[^:]*:\([^ ]*\).*$/\1\t\2/p' | tr -d ',' \
        | sort -t$'\t' -k2,2 -k1,1nr | sort -t$'\t' -k2,2 -u
}
inclusive "$WORK/callgrind.out.1" > "$WORK/sso.tsv"
inclusive "$WORK/callgrind.out.2" > "$WORK/open.tsv"
# per FILE REGEX: the largest inclusive count of a matching function, per request.
per() { awk -F'\t' -v re="$2" -v n="$N" '$2 ~ re && $1 > m { m = $1 } END { printf "%.0f", m / n }' "$1"; }
sso=$(per "$WORK/sso.tsv" '^ap_process_request_internal$')
open=$(per "$WORK/open.tsv" '^ap_process_request_internal$')
# The authentication hook as httpd calls it: the host layer's entry (its
# panic boundary and request record) with mod_sso's flow under it.
hooks=$(per "$WORK/sso.tsv" '^httpd::hooks::check_authn$')
verify=$(per "$WORK/sso.tsv" 'verify_strict')
row() { printf '   %-58s %10s\n' "$1" "$2"; }
row "instructions per request (ap_process_request_internal)" ""
row "/open/" "$open"
row "/sso/, $KIND" "$sso"
row "  under mod_sso's authentication hook" "$hooks"
row "    of which ed25519 verify_strict" "$verify"
row "    the rest of the hook" "$((hooks - verify))"
row "  the rest of httpd (beside /open/)" "$((sso - hooks - open))"
awk -v s="$sso" -v o="$open" -v v="$verify" \
    'BEGIN { printf "   cold vs bound in instructions: (open + verify) / sso = %.3f (target >= 0.90 in req/s, bench/mod_sso.sh)\n", (o + v) / s }'
echo "== the costliest functions under the hook besides the signature check (per request)"
grep -v 'verify_strict\|curve25519\|ed25519\|sha2::\|KeySet::verifies\|verify_signature' "$WORK/sso.tsv" \
    | grep '^[0-9]*.\(mod_sso\|httpd::\|sso_core\|alloc\|core::fmt\|apr_\|ap_\)' \
    | sort -t$'\t' -k1,1nr | awk -F'\t' -v n="$N" '$1 / n < '"$hooks"' { printf "   %10.0f  %s\n", $1 / n, substr($2, 1, 100) }' | head -25
